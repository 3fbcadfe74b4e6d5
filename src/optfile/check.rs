//! Warnings about option files, as data: unknown or misspelt options (which the stock
//! clients reject and mybak ignores), mybak settings put in `[mybak]`, passwords in files
//! others can read, and files the reader skipped.

use std::fmt;
use std::path::{Path, PathBuf};

use super::known::{is_known, BOOL_PREFIXES, KNOWN_OPTIONS, MYBAK_OPTIONS};
use super::values::{normalize_key, OptionEntry, Origin};
use super::MAX_INCLUDE_DEPTH;

/// The option-file group of mybak's own options.
const MYBAK_GROUP: &str = "mybak";

/// Something in the option files worth telling the user; reading went on. `Display` gives
/// a one-line message naming the file (and line, where there is one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptionWarning {
    /// An option of a read group that the stock clients do not know; mybak ignores it.
    UnknownOption {
        /// Where it was read.
        origin: Origin,
        /// The group, as written in the file.
        group: String,
        /// The option name, as written in the file; in a `key value` line whose first word
        /// looks like a password option, the rest is shown as `***`.
        key: String,
        /// What was probably meant.
        hint: Option<Hint>,
    },
    /// A key of `[mybak]` that is no client option: a mybak setting in the wrong file.
    MybakSetting {
        /// Where it was read.
        origin: Origin,
        /// The group, as written in the file.
        group: String,
        /// The option name, as written in the file.
        key: String,
    },
    /// A file holding a password (in a group that is read) that group or others may read.
    ReadablePasswordFile {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A world-writable file, ignored as the MariaDB clients do.
    WorldWritable {
        /// The file.
        path: PathBuf,
    },
    /// A standard or included file that is a FIFO, device, socket or directory; it was
    /// skipped without being read.
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, …
        kind: &'static str,
    },
    /// A standard or included file that exists but could not be read; it was skipped.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// An `!include`/`!includedir` nested deeper than [`MAX_INCLUDE_DEPTH`]; skipped.
    IncludeTooDeep {
        /// The directive.
        origin: Origin,
    },
}

/// What an unknown option name probably meant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hint {
    /// A known option spelt alike (Damerau–Levenshtein distance 1, or 2 for the options
    /// mybak reads).
    DidYouMean(String),
    /// A known option in other letter case: the MariaDB clients accept it, mybak does not.
    LetterCase(String),
    /// The option mybak reads that the key abbreviates: the MariaDB clients accept a
    /// unique prefix, mybak does not.
    Abbreviation(String),
    /// A key holding whitespace (`user bob`), from a line without `=`; with the line
    /// written as `key=value` when its first word is a known option.
    KeyValue(Option<String>),
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::DidYouMean(name) => write!(f, "did you mean '{name}'?"),
            Hint::LetterCase(name) => write!(
                f,
                "did you mean '{name}'? (mybak matches option names case-sensitively)"
            ),
            Hint::Abbreviation(name) => write!(
                f,
                "did you mean '{name}'? (mybak does not read abbreviated option names)"
            ),
            Hint::KeyValue(None) => f.write_str("options are written key=value"),
            Hint::KeyValue(Some(line)) => write!(
                f,
                "options are written key=value, did you mean '{}'?",
                Shown(line)
            ),
        }
    }
}

impl fmt::Display for OptionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionWarning::UnknownOption {
                origin,
                group,
                key,
                hint,
            } => {
                let (key, group) = (Shown(key), Shown(group));
                write!(f, "{origin}: unknown option '{key}' in [{group}] (ignored)")?;
                match hint {
                    Some(hint) => write!(f, "; {hint}"),
                    None => Ok(()),
                }
            }
            OptionWarning::MybakSetting { origin, group, key } => write!(
                f,
                "{origin}: '{}' in [{}] is not read from option files: mybak's own settings go in its config file ({})",
                Shown(key),
                Shown(group),
                crate::config::DEFAULT_CONFIG_FILE
            ),
            OptionWarning::ReadablePasswordFile { path, mode } => write!(
                f,
                "{} holds a password and is readable by group or others (mode {mode:04o}); chmod 600 {}",
                path.display(),
                shell_word(path)
            ),
            OptionWarning::WorldWritable { path } => {
                write!(f, "world-writable option file {} is ignored", path.display())
            }
            OptionWarning::NotRegular { path, kind } => write!(
                f,
                "option file {} skipped: it is {kind}, not a regular file",
                path.display()
            ),
            OptionWarning::Unreadable { path, reason } => {
                write!(f, "option file {} skipped: {reason}", path.display())
            }
            OptionWarning::IncludeTooDeep { origin } => write!(
                f,
                "{origin}: skipping include directive: includes nest deeper than {MAX_INCLUDE_DEPTH} levels (include loop?)"
            ),
        }
    }
}

/// Text from a file, with control characters escaped so a message stays one line.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A path as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Whether a (normalised) key is a password option: `password`, or MySQL's `password1`–`3`.
pub(crate) fn is_password_key(key: &str) -> bool {
    matches!(key, "password" | "password1" | "password2" | "password3")
}

/// The warning for one entry of a read group, if any: `None` for options the stock clients
/// know and for any `loose-` option.
pub(crate) fn check_entry(entry: &OptionEntry) -> Option<OptionWarning> {
    if entry.is_loose() || is_known(entry.key()) {
        return None;
    }
    let origin = entry.origin().clone();
    let group = entry.group().to_string();
    let key = entry.raw_key().to_string();
    let spaced = key.contains(char::is_whitespace);
    if !spaced && entry.group().eq_ignore_ascii_case(MYBAK_GROUP) {
        return Some(OptionWarning::MybakSetting { origin, group, key });
    }
    if !spaced {
        let hint = suggest(entry.key());
        return Some(OptionWarning::UnknownOption {
            origin,
            group,
            key,
            hint,
        });
    }
    let mut hint = key_value_hint(&key, entry.value());
    let mut key = key;
    // `password secret`: the rest of the line is the password; never show it.
    if let Some((first, _)) = key.split_once(char::is_whitespace) {
        if looks_secret(first) {
            if let Hint::KeyValue(Some(line)) = &mut hint {
                *line = format!("{first}=***");
            }
            key = format!("{first} ***");
        }
    }
    Some(OptionWarning::UnknownOption {
        origin,
        group,
        key,
        hint: Some(hint),
    })
}

/// Whether the first word of a `key value` line names a secret (`password`, `passwd`,
/// `ssl-passphrase`, `pwd`, …), so that the rest must not be shown.
fn looks_secret(word: &str) -> bool {
    let word = word.to_lowercase();
    ["pass", "pw", "secret"].iter().any(|s| word.contains(s))
}

/// The hint for a key holding whitespace: `ssl mode` → `ssl-mode`; `user bob` (no value)
/// → `user=bob`; else just the syntax.
fn key_value_hint(raw: &str, value: Option<&str>) -> Hint {
    let joined = raw.split_whitespace().collect::<Vec<_>>().join("-");
    let joined = normalize_key(&joined);
    if is_known(&joined) {
        return Hint::DidYouMean(joined);
    }
    match (raw.split_once(char::is_whitespace), value) {
        (Some((first, rest)), None) if is_known(&normalize_key(first)) => {
            Hint::KeyValue(Some(format!("{first}={}", rest.trim_start())))
        }
        _ => Hint::KeyValue(None),
    }
}

/// What an unknown (normalised) key without whitespace probably meant, if anything.
fn suggest(key: &str) -> Option<Hint> {
    let lower = key.to_lowercase();
    if lower != key && is_known(&lower) {
        return Some(Hint::LetterCase(lower));
    }
    let mut abbreviated = MYBAK_OPTIONS.iter().filter(|name| name.starts_with(key));
    if let (Some(name), None) = (abbreviated.next(), abbreviated.next()) {
        return Some(Hint::Abbreviation(name.to_string()));
    }
    if let Some(name) = closest(key) {
        return Some(Hint::DidYouMean(name.to_string()));
    }
    BOOL_PREFIXES.iter().find_map(|prefix| {
        let rest = key.strip_prefix(prefix)?;
        closest(rest).map(|name| Hint::DidYouMean(format!("{prefix}{name}")))
    })
}

/// The known name nearest to `key`: among the options mybak reads within distance 2, among
/// all known options within distance 1; the smaller distance wins, then mybak's options.
fn closest(key: &str) -> Option<&'static str> {
    let key: Vec<char> = key.chars().collect();
    let mybak = MYBAK_OPTIONS.iter().map(|name| (*name, 2));
    let all = KNOWN_OPTIONS.iter().map(|name| (*name, 1));
    let mut best: Option<(&'static str, usize)> = None;
    for (name, max) in mybak.chain(all) {
        let Some(d) = distance(&key, name, max) else {
            continue;
        };
        if best.is_none_or(|(_, best_d)| d < best_d) {
            best = Some((name, d));
        }
    }
    best.map(|(name, _)| name)
}

/// The Damerau–Levenshtein distance (optimal string alignment: insertions, deletions,
/// substitutions, transpositions of adjacent characters) between `a` and `b`, if at most
/// `max`. Compares characters, not bytes.
fn distance(a: &[char], b: &str, max: usize) -> Option<usize> {
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Rows i-2, i-1 and i of the edit matrix.
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        before = std::mem::replace(&mut prev, row);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn distances() {
        let cases: &[(&str, &str, Option<usize>)] = &[
            ("password", "password", Some(0)),
            ("pasword", "password", Some(1)),
            ("passwrod", "password", Some(1)),
            ("passwd", "password", Some(2)),
            ("Pasword", "password", Some(2)),
            ("pw", "password", None),
            ("", "ssl", None),
            ("ssl", "ssl", Some(0)),
            ("sll", "ssl", Some(1)),
            ("hsot", "host", Some(1)),
            ("hést", "host", Some(1)),
            ("ab", "ba", Some(1)),
        ];
        for (a, b, want) in cases {
            assert_eq!(distance(&chars(a), b, 2), *want, "{a} / {b}");
        }
        assert_eq!(
            distance(&chars("x".repeat(10_000).as_str()), "host", 2),
            None
        );
    }

    #[test]
    fn suggestions() {
        let cases: &[(&str, Option<Hint>)] = &[
            ("pasword", Some(Hint::DidYouMean("password".into()))),
            ("passwd", Some(Hint::DidYouMean("password".into()))),
            ("hots", Some(Hint::DidYouMean("host".into()))),
            ("ssl-mdoe", Some(Hint::DidYouMean("ssl-mode".into()))),
            ("sl", Some(Hint::DidYouMean("ssl".into()))),
            ("skip-sll", Some(Hint::DidYouMean("skip-ssl".into()))),
            ("disable-sll", Some(Hint::DidYouMean("disable-ssl".into()))),
            ("quik", Some(Hint::DidYouMean("quick".into()))),
            (
                "singel-transaction",
                Some(Hint::DidYouMean("single-transaction".into())),
            ),
            ("HOST", Some(Hint::LetterCase("host".into()))),
            ("Skip-Ssl", Some(Hint::LetterCase("skip-ssl".into()))),
            ("pass", Some(Hint::Abbreviation("password".into()))),
            (
                "ssl-v",
                Some(Hint::Abbreviation("ssl-verify-server-cert".into())),
            ),
            ("output-dir", None),
            ("threads", None),
            ("qiuck-max", None),
            ("ñ", None),
            ("x-y-z", None),
        ];
        for (key, want) in cases {
            assert_eq!(suggest(key), *want, "{key}");
        }
    }

    #[test]
    fn key_value_hints() {
        let cases: &[(&str, Option<&str>, Hint)] = &[
            (
                "user nc_bak",
                None,
                Hint::KeyValue(Some("user=nc_bak".into())),
            ),
            ("user\t a b", None, Hint::KeyValue(Some("user=a b".into()))),
            (
                "ssl mode",
                Some("REQUIRED"),
                Hint::DidYouMean("ssl-mode".into()),
            ),
            ("user name", Some("bob"), Hint::KeyValue(None)),
            ("nothing known", None, Hint::KeyValue(None)),
            ("ñ é", None, Hint::KeyValue(None)),
        ];
        for (raw, value, want) in cases {
            assert_eq!(key_value_hint(raw, *value), *want, "{raw}");
        }
    }

    #[test]
    fn shell_words() {
        let cases: &[(&str, &str)] = &[
            ("/root/.my.cnf", "/root/.my.cnf"),
            ("/tmp/a b.cnf", "'/tmp/a b.cnf'"),
            ("/tmp/it's", r"'/tmp/it'\''s'"),
        ];
        for (path, want) in cases {
            assert_eq!(shell_word(Path::new(path)), *want);
        }
    }

    #[test]
    fn messages_are_one_line() {
        let origin = Origin {
            file: PathBuf::from("/etc/my.cnf"),
            line: 3,
        };
        let w = OptionWarning::UnknownOption {
            origin,
            group: "client".into(),
            key: "a\u{1b}[2Jb\u{7}".into(),
            hint: None,
        };
        let shown = w.to_string();
        assert!(!shown.contains(|c: char| c.is_control()), "{shown}");
        assert_eq!(
            shown,
            "/etc/my.cnf:3: unknown option 'a\\u{1b}[2Jb\\u{7}' in [client] (ignored)"
        );
    }
}
