//! Which character sets survive the trip through the dump's utf8mb4 connection byte for byte.
//!
//! The dump reads rows with `SET NAMES utf8mb4`, so a text column in another character set is
//! converted to utf8mb4 on the way out and back on the way in. For most character sets that is
//! not the identity: in `sjis` the byte 0x5C comes out as U+005C and goes back in as 0x815F, in
//! `ascii` every byte above 0x7F (which the server stores) comes out as `?`. Columns in such
//! character sets are read as raw bytes and written as `_charset 0x…` literals instead, which
//! the server takes as exactly those bytes.
//!
//! Checked against MariaDB 10.11: every byte 0x00–0xFF of `latin1` converts to utf8mb4 and back
//! unchanged (its 0x81, 0x8D, 0x8F, 0x90, 0x9D map to the C1 controls); `utf8mb3` is a subset of
//! utf8mb4; `ascii` loses every byte above 0x7F. Any character set not listed here is treated as
//! lossy: hex is always exact.

/// Whether text in `charset` (a name as information_schema spells it) converts to utf8mb4 and
/// back to exactly the same bytes, for every value a column in it can hold.
pub fn lossless_through_utf8mb4(charset: &str) -> bool {
    matches!(
        charset.to_ascii_lowercase().as_str(),
        "utf8mb4" | "utf8mb3" | "utf8" | "latin1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_verified_charsets_are_lossless() {
        for cs in ["utf8mb4", "UTF8MB4", "utf8mb3", "utf8", "latin1"] {
            assert!(lossless_through_utf8mb4(cs), "{cs}");
        }
        for cs in [
            "ascii", "sjis", "cp932", "ujis", "eucjpms", "big5", "gbk", "gb2312", "euckr", "ucs2",
            "utf16", "utf16le", "utf32", "latin2", "cp1250", "koi8r", "swe7", "binary", "", "x",
            "utf8mb4 ",
        ] {
            assert!(!lossless_through_utf8mb4(cs), "{cs}");
        }
    }
}
