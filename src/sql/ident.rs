//! SQL identifiers and names: backtick quoting, string literals for generated SQL, and file names.

use sha2::{Digest, Sha256};

use super::literal::text_escape;

/// Appends `` `name` `` to `out`, doubling every backtick inside.
pub fn push_ident(out: &mut Vec<u8>, name: &str) {
    out.reserve(name.len() + 2);
    out.push(b'`');
    let mut rest = name.as_bytes();
    while let Some(pos) = rest.iter().position(|&b| b == b'`') {
        out.extend_from_slice(&rest[..=pos]);
        out.push(b'`');
        rest = &rest[pos + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'`');
}

/// `` `name` ``, with every backtick inside doubled.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// `` `db`.`name` ``.
pub fn qualified(db: &str, name: &str) -> String {
    let mut out = quote_ident(db);
    out.push('.');
    out.push_str(&quote_ident(name));
    out
}

/// A single-quoted SQL string literal for generated SQL text (`SET sql_mode='…'`, DEFINER hosts):
/// `\`, `'`, NUL, CR, LF and ctrl-Z are backslash-escaped as by `mysql_real_escape_string`.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match u8::try_from(c).ok().and_then(text_escape) {
            Some(letter) => {
                out.push('\\');
                out.push(char::from(letter));
            }
            None => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Encodings longer than this many bytes are cut and get a hash suffix.
const MAX_PLAIN: usize = 200;
/// A cut encoding keeps at most this many bytes before the `~` and the hash.
const CUT_AT: usize = 180;
/// Names that would collide with the files of a dump directory when kept as they are.
/// (`manifest.json` needs no entry: an encoded name never contains `.`.)
const RESERVED: &[&str] = &["SHA256SUMS"];

/// Encodes a database or table name into one safe file-name component.
///
/// ASCII letters, digits and `_` and every non-ASCII character stay as they are; every other
/// ASCII byte (`.`, `-`, `/`, space, `@`, control bytes, …) becomes `@` and two uppercase hex
/// digits (`a.b` → `a@2Eb`). So the result never contains `.` or `/`, and every `@` is followed
/// by two of `[0-9A-F]`, which makes the encoding reversible and therefore injective.
///
/// A name equal to `SHA256SUMS` (ignoring ASCII case, for case-insensitive file systems) would
/// be kept whole and collide with the dump's checksum file, so its first letter is encoded too
/// (`@53HA256SUMS`). That stays injective: decoding `@53` gives back `S`, i.e. the same name,
/// and no other name encodes to it. `manifest.json` cannot collide since `.` is always encoded.
///
/// An encoding longer than 200 bytes is cut at a character (and escape) boundary to at most
/// 180 bytes and gets `~` and 16 hex digits of the SHA-256 of the full name, so the result is
/// at most 197 bytes. `~` is ASCII and therefore never kept, so a cut name never equals an
/// uncut one.
pub fn file_name(name: &str) -> String {
    let reserved = RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r));
    let mut out = String::with_capacity(name.len());
    let mut cut = 0;
    for (i, c) in name.chars().enumerate() {
        if out.len() <= CUT_AT {
            cut = out.len();
        }
        let kept = c == '_' || !c.is_ascii() || c.is_ascii_alphanumeric() && !(reserved && i == 0);
        match u8::try_from(c) {
            Ok(b) if !kept => push_escape(&mut out, b),
            _ => out.push(c),
        }
    }
    if out.len() <= MAX_PLAIN {
        return out;
    }
    out.truncate(cut);
    out.push('~');
    let digest = Sha256::digest(name.as_bytes());
    for &b in &digest[..8] {
        push_escape_digits(&mut out, b);
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `@` and the two uppercase hex digits of `b`.
/// Reads a backtick-quoted identifier at the start of `s` (doubled backticks inside); returns
/// the name and the rest of `s`, or `None` when `s` does not start with a complete one.
pub fn read_backticked(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('`')?;
    let mut name = String::new();
    let mut iter = rest.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '`' {
            if matches!(iter.peek(), Some((_, '`'))) {
                iter.next();
                name.push('`');
            } else {
                return Some((name, &rest[i + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

fn push_escape(out: &mut String, b: u8) {
    out.push('@');
    push_escape_digits(out, b);
}

/// Appends the two uppercase hex digits of `b`.
fn push_escape_digits(out: &mut String, b: u8) {
    out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
    out.push(char::from(HEX_DIGITS[usize::from(b & 15)]));
}

/// Inverse of [`file_name`] for names that were not cut (for tests).
#[cfg(test)]
pub(crate) fn decode_file_name(encoded: &str) -> Option<String> {
    let mut out = Vec::new();
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_names_are_read_back() {
        let cases = [
            ("`a`.`b`", Some(("a", ".`b`"))),
            ("`we``ird` rest", Some(("we`ird", " rest"))),
            ("``", Some(("", ""))),
            ("`open", None),
            ("plain", None),
        ];
        for (input, want) in cases {
            let got = read_backticked(input);
            assert_eq!(got.as_ref().map(|(n, r)| (n.as_str(), *r)), want, "{input}");
        }
    }
    use crate::sql::literal::unescape_string_literal;
    use proptest::prelude::*;

    #[test]
    fn idents() {
        let cases = [
            ("t", "`t`"),
            ("", "``"),
            ("a`b", "`a``b`"),
            ("``", "``````"),
            ("my table.x", "`my table.x`"),
            ("\u{e9}t\u{e9}", "`\u{e9}t\u{e9}`"),
            ("x'\"\\", "`x'\"\\`"),
        ];
        for (name, want) in cases {
            assert_eq!(quote_ident(name), want);
            let mut out = b"<".to_vec();
            push_ident(&mut out, name);
            assert_eq!(out, format!("<{want}").into_bytes());
        }
        assert_eq!(qualified("db", "t"), "`db`.`t`");
        assert_eq!(qualified("a`b", "c.d"), "`a``b`.`c.d`");
    }

    #[test]
    fn quoted_strings() {
        let cases = [
            ("", "''"),
            ("localhost", "'localhost'"),
            ("it's", "'it\\'s'"),
            ("a\\b", "'a\\\\b'"),
            ("\0\r\n\x1A", "'\\0\\r\\n\\Z'"),
            ("\"%_\t", "'\"%_\t'"),
            (
                "STRICT_TRANS_TABLES,NO_ZERO_DATE",
                "'STRICT_TRANS_TABLES,NO_ZERO_DATE'",
            ),
            ("h\u{e9}\u{1F600}'", "'h\u{e9}\u{1F600}\\''"),
        ];
        for (s, want) in cases {
            assert_eq!(quote_string(s), want);
        }
    }

    #[test]
    fn file_names() {
        let cases = [
            ("sbtest1", "sbtest1"),
            ("Some_Table_9", "Some_Table_9"),
            ("a.b", "a@2Eb"),
            ("a-b c", "a@2Db@20c"),
            ("a/b", "a@2Fb"),
            ("a@b", "a@40b"),
            ("@40", "@4040"),
            ("tab\tnl\n\0", "tab@09nl@0A@00"),
            ("..", "@2E@2E"),
            ("~x", "@7Ex"),
            ("caf\u{e9}", "caf\u{e9}"),
            ("\u{65e5}\u{672c}.\u{1F600}", "\u{65e5}\u{672c}@2E\u{1F600}"),
            ("SHA256SUMS", "@53HA256SUMS"),
            ("sha256sums", "@73ha256sums"),
            ("Sha256Sums", "@53ha256Sums"),
            ("SHA256SUMS2", "SHA256SUMS2"),
            ("manifest.json", "manifest@2Ejson"),
            ("MANIFEST.JSON", "MANIFEST@2EJSON"),
        ];
        for (name, want) in cases {
            assert_eq!(file_name(name), want, "{name:?}");
            assert_eq!(decode_file_name(want).as_deref(), Some(name));
        }
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let names = [
            "x".repeat(200),
            "x".repeat(201),
            ".".repeat(64),
            "\u{1F600}".repeat(64),
            format!("{}{}", "a".repeat(179), ".".repeat(40)),
            format!("{}{}", "a".repeat(178), "\u{1F600}".repeat(20)),
        ];
        for name in &names {
            let encoded = file_name(name);
            let full_len: usize = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || !c.is_ascii() {
                        c.len_utf8()
                    } else {
                        3
                    }
                })
                .sum();
            if full_len <= MAX_PLAIN {
                assert_eq!(decode_file_name(&encoded).as_deref(), Some(name.as_str()));
                continue;
            }
            let (head, hash) = encoded.rsplit_once('~').expect("a cut name has a ~");
            assert!(head.len() <= CUT_AT && head.len() > CUT_AT - 4, "{encoded}");
            assert_eq!(hash.len(), 16);
            assert!(hash.bytes().all(|b| HEX_DIGITS.contains(&b)));
            assert!(
                decode_file_name(head).is_some(),
                "cut inside an escape: {encoded}"
            );
            assert!(name.starts_with(&decode_file_name(head).unwrap_or_default()));
        }
        assert_eq!(file_name(&"x".repeat(200)), "x".repeat(200));
        assert_ne!(file_name(&"x".repeat(201)), file_name(&"x".repeat(202)));
    }

    /// Short names from characters that exercise every rule.
    fn names() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec![
                    'a', 'S', '_', '0', '.', '@', '~', '-', '`', '\'', '\u{e9}'
                ]),
                any::<char>(),
            ],
            0..12,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn file_names_are_injective(a in names(), b in names()) {
            prop_assume!(a != b);
            prop_assert_ne!(file_name(&a), file_name(&b));
        }

        #[test]
        fn file_names_are_safe_and_reversible(name in names()) {
            let encoded = file_name(&name);
            prop_assert!(!encoded.contains(['.', '/', '\\', '\0', ' ']));
            prop_assert!(encoded.len() <= 255);
            let bytes = encoded.as_bytes();
            for (i, _) in encoded.match_indices('@') {
                prop_assert!(bytes.len() > i + 2);
                prop_assert!(HEX_DIGITS.contains(&bytes[i + 1]) && HEX_DIGITS.contains(&bytes[i + 2]));
            }
            prop_assert_eq!(decode_file_name(&encoded), Some(name));
        }

        #[test]
        fn quoted_strings_round_trip(s in any::<String>()) {
            let quoted = quote_string(&s);
            prop_assert_eq!(unescape_string_literal(quoted.as_bytes()), Some(s.into_bytes()));
        }

        #[test]
        fn idents_round_trip(name in names()) {
            let quoted = quote_ident(&name);
            let inner = &quoted[1..quoted.len() - 1];
            prop_assert_eq!(inner.replace("``", "`"), name);
        }
    }
}
