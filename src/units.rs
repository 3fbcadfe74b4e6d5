//! Values people write in flags and config files: sizes (`64M`), time spans (`7d`), file modes (`0640`).
//!
//! Each type parses from text (`FromStr`, used by the command line) and from a TOML string or
//! integer (`Deserialize`, used by the config file), and prints back in the form it was written.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size in bytes: `1048576`, `64K`, `1M`, `2G`, `1T` (binary multiples, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

const SIZE_UNITS: [(char, u32); 4] = [('T', 40), ('G', 30), ('M', 20), ('K', 10)];

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid size {s:?}: expected a number of bytes or a number with K, M, G or T, like 64M")
        };
        let t = s.trim();
        let last = t.chars().last().ok_or_else(bad)?;
        let (digits, shift) = match SIZE_UNITS
            .iter()
            .find(|(unit, _)| last.eq_ignore_ascii_case(unit))
        {
            Some((_, shift)) => (&t[..t.len() - last.len_utf8()], *shift),
            None => (t, 0),
        };
        let digits = digits.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        n.checked_mul(1u64 << shift).map(ByteSize).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, shift) in SIZE_UNITS {
            let m = 1u64 << shift;
            if self.0 != 0 && self.0.is_multiple_of(m) {
                return write!(f, "{}{unit}", self.0 / m);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// The sum of `values`, stopping at `u64::MAX` (sizes from a manifest may be anything).
pub fn total(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0, u64::saturating_add)
}

/// `1.5 GiB`-style text for messages.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A time span: `90s`, `30min`, `12h`, `7d`, `2w`, `6mo`, `1y`, or combinations like `1d12h`
/// (a month is 30 days, a year 365). A bare number is seconds. A bare `m` is refused: it means
/// minutes to some tools and months to others (restic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub Duration);

const SPAN_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86400),
    ("mo", 30 * 86400),
    ("w", 7 * 86400),
    ("d", 86400),
    ("h", 3600),
    ("min", 60),
    ("s", 1),
];

impl Span {
    /// The span as a `Duration`.
    pub fn duration(self) -> Duration {
        self.0
    }

    /// A span of whole seconds.
    pub fn from_secs(secs: u64) -> Span {
        Span(Duration::from_secs(secs))
    }
}

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("invalid time span {s:?}: {why}");
        let t = s.trim();
        if t.is_empty() {
            return Err(bad("empty; expected e.g. 90s, 30min, 12h, 7d, 2w, 6mo, 1y"));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return t.parse().map(Span::from_secs).map_err(|_| bad("too large"));
        }
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("expected a number before each unit"));
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad("too large"))?;
            rest = &rest[digits..];
            let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = rest[..letters].to_ascii_lowercase();
            rest = &rest[letters..];
            let secs = match SPAN_UNITS.iter().find(|(u, _)| *u == unit) {
                Some((_, secs)) => *secs,
                None if unit == "m" => {
                    return Err(bad(
                        "'m' is ambiguous: write min for minutes or mo for months",
                    ))
                }
                None => return Err(bad("units are s, min, h, d, w, mo and y")),
            };
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| bad("too large"))?;
        }
        Ok(Span::from_secs(total))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in SPAN_UNITS {
            // Years only when exact; months and weeks never (30d reads better than 1mo).
            let shown = match unit {
                "y" => secs.is_multiple_of(size),
                "mo" | "w" => false,
                _ => true,
            };
            if shown && secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

/// Permission bits for the files of a dump: `0600` (the default) or wider by read bits only
/// (`0640`, `0644`). Directories get the matching search bits (`0700`, `0750`, `0755`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileMode(u32);

impl FileMode {
    /// Owner read and write only.
    pub const PRIVATE: FileMode = FileMode(0o600);

    /// The mode of files.
    pub fn file(self) -> u32 {
        self.0
    }

    /// The mode of directories: the file mode plus `x` wherever there is `r`.
    pub fn dir(self) -> u32 {
        self.0 | ((self.0 & 0o444) >> 2)
    }
}

impl Default for FileMode {
    fn default() -> Self {
        FileMode::PRIVATE
    }
}

impl FromStr for FileMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mode = u32::from_str_radix(t.strip_prefix("0o").unwrap_or(t), 8)
            .ok()
            .filter(|m| *m & !0o644 == 0 && *m & 0o600 == 0o600)
            .ok_or_else(|| {
                format!("invalid file mode {s:?}: expected 0600, or wider by read bits only (0640, 0644)")
            })?;
        Ok(FileMode(mode))
    }
}

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

/// Deserializes any of these from a TOML string, or from an integer read as its decimal text
/// (bytes, seconds; for a mode, `640` means `0640`).
macro_rules! text_serde {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw {
                    Text(String),
                    Number(u64),
                }
                let text = match Raw::deserialize(d)? {
                    Raw::Text(s) => s,
                    Raw::Number(n) => n.to_string(),
                };
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
    )*};
}

text_serde!(ByteSize, Span, FileMode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        for (s, want) in [
            ("1000", Some(1000)),
            ("64K", Some(65536)),
            ("1m", Some(1 << 20)),
            ("2G", Some(2 << 30)),
            ("1T", Some(1 << 40)),
            (" 3 M ", Some(3 << 20)),
            ("0", Some(0)),
            ("x", None),
            ("", None),
            ("-1", None),
            ("1.5G", None),
            ("M", None),
            ("99999999999999999999", None),
            ("20000000T", None),
            ("5é", None),
        ] {
            assert_eq!(s.parse::<ByteSize>().ok().map(|b| b.0), want, "{s:?}");
        }
    }

    #[test]
    fn sizes_print_as_written() {
        for s in ["64M", "1G", "1000", "0", "3K"] {
            assert_eq!(s.parse::<ByteSize>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn spans_take_units_and_refuse_a_bare_m() {
        let d = |s: u64| Some(Duration::from_secs(s));
        for (s, want) in [
            ("90", d(90)),
            ("90s", d(90)),
            ("30min", d(1800)),
            ("12h", d(43200)),
            ("7d", d(7 * 86400)),
            ("2w", d(14 * 86400)),
            ("6mo", d(180 * 86400)),
            ("1y", d(365 * 86400)),
            ("1d12h", d(86400 + 43200)),
            ("1D", d(86400)),
            ("5m", None),
            ("1y6m", None),
            ("", None),
            ("d", None),
            ("7x", None),
            ("-1d", None),
            ("1.5h", None),
            ("99999999999999999999y", None),
            ("7дн", None),
        ] {
            assert_eq!(s.parse::<Span>().ok().map(|x| x.0), want, "{s:?}");
        }
        let e = "5m".parse::<Span>().unwrap_err();
        assert!(e.contains("min") && e.contains("mo"), "{e}");
    }

    #[test]
    fn spans_print_in_their_largest_units() {
        for (s, shown) in [
            ("7d", "7d"),
            ("36h", "1d12h"),
            ("90", "1min30s"),
            ("0", "0s"),
            ("1y", "1y"),
            ("400d", "400d"),
            ("14d", "14d"),
            ("30d", "30d"),
            ("6mo", "180d"),
        ] {
            assert_eq!(s.parse::<Span>().unwrap().to_string(), shown, "{s}");
        }
    }

    #[test]
    fn file_modes_only_widen_by_read_bits() {
        for (s, want) in [
            ("0600", Some((0o600, 0o700))),
            ("600", Some((0o600, 0o700))),
            ("0640", Some((0o640, 0o750))),
            ("0644", Some((0o644, 0o755))),
            ("0o604", Some((0o604, 0o705))),
            ("0666", None),
            ("0700", None),
            ("0400", None),
            ("4600", None),
            ("rw", None),
            ("", None),
        ] {
            let got = s.parse::<FileMode>().ok().map(|m| (m.file(), m.dir()));
            assert_eq!(got, want, "{s:?}");
        }
    }

    #[test]
    fn values_come_from_toml_strings_or_numbers() {
        #[derive(Deserialize)]
        struct T {
            a: ByteSize,
            b: ByteSize,
            c: Span,
            d: Span,
            e: FileMode,
        }
        let t: T =
            toml::from_str("a = \"64M\"\nb = 4096\nc = \"7d\"\nd = 60\ne = \"0640\"\n").unwrap();
        assert_eq!(t.a.0, 64 << 20);
        assert_eq!(t.b.0, 4096);
        assert_eq!(t.c.0, Duration::from_secs(7 * 86400));
        assert_eq!(t.d.0, Duration::from_secs(60));
        assert_eq!(t.e.file(), 0o640);
        let e = toml::from_str::<T>("a = \"64Q\"\nb = 1\nc = \"1d\"\nd = 1\ne = \"0600\"\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("64Q"), "{e}");
    }

    #[test]
    fn human_bytes_reads_well() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
