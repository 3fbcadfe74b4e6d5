//! The options read from option files: ordered entries with their origin, and lookups
//! that follow `my_getopt` (last occurrence wins, `skip-`/`disable-`/`enable-` booleans).

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use super::check::{check_entry, OptionWarning};

/// Where an option was read: file and 1-based line number. Displays as `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The option file, as it was named (standard path, `--defaults-file`, include target).
    pub file: PathBuf,
    /// 1-based line number in that file.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One option line of a selected group.
#[derive(Clone, PartialEq, Eq)]
pub struct OptionEntry {
    key: String,
    raw_key: String,
    loose: bool,
    value: Option<String>,
    group: String,
    origin: Origin,
}

/// Keys whose values are never shown by `Debug`.
fn is_secret_key(key: &str) -> bool {
    key.contains("password") || key.contains("passphrase")
}

/// Normalises an option name the way `my_getopt` compares them: `_` and `-` are the same
/// (stored as `-`), and any `loose-` prefixes are dropped. Case is kept: option names are
/// case-sensitive for the MariaDB clients.
pub fn normalize_key(raw: &str) -> String {
    let mut key = raw.replace('_', "-");
    while let Some(rest) = key.strip_prefix("loose-") {
        if rest.is_empty() {
            break;
        }
        key = rest.to_string();
    }
    key
}

/// `get_bool_argument` of `my_getopt`: `true`/`on`/`1` and `false`/`off`/`0`, any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["true", "on", "1"];
    const FALSE: [&str; 3] = ["false", "off", "0"];
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// How an entry refers to an option name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `name` or `name=value`.
    Direct,
    /// `skip-name` or `disable-name`.
    Negated,
    /// `enable-name`.
    Enabled,
}

impl OptionEntry {
    /// Creates an entry; `key` is normalised with [`normalize_key`].
    pub fn new(key: &str, value: Option<&str>, group: &str, origin: Origin) -> Self {
        let normalized = normalize_key(key);
        // Normalising only shortens a key by dropping `loose-` prefixes.
        let loose = normalized.len() < key.len();
        OptionEntry {
            key: normalized,
            raw_key: key.to_string(),
            loose,
            value: value.map(str::to_string),
            group: group.to_string(),
            origin,
        }
    }

    /// The normalised option name (`ssl-ca`, `skip-ssl`, …).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The option name as written in the file (`max_allowed_packet`, `loose-ssl-ca`).
    pub fn raw_key(&self) -> &str {
        &self.raw_key
    }

    /// Whether the name was written with a `loose-` prefix (which [`key`](Self::key)
    /// drops): the clients only warn about such an option when they do not know it.
    pub fn is_loose(&self) -> bool {
        self.loose
    }

    /// The value after `=`, or `None` for a bare key.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The `[group]` the entry was read from, as written in the file.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Where the entry was read.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    fn form(&self, name: &str) -> Option<Form> {
        if self.key == name {
            return Some(Form::Direct);
        }
        let (prefix, rest) = self.key.split_once('-')?;
        if rest != name {
            return None;
        }
        match prefix {
            "skip" | "disable" => Some(Form::Negated),
            "enable" => Some(Form::Enabled),
            _ => None,
        }
    }

    /// The boolean this entry sets for option `name`, as `my_getopt` does: `name` → true,
    /// `name=V` → V (unrecognised values give `Err` with the value, which MariaDB treats as
    /// false), `skip-name`/`disable-name` → false (`=0` → true), `enable-name` → true
    /// (`=0` → false). `None` when the entry is not about `name`.
    fn flag_state(&self, name: &str) -> Option<Result<bool, &str>> {
        let form = self.form(name)?;
        let is_zero = self.value.as_deref() == Some("0");
        Some(match form {
            Form::Direct => match self.value.as_deref() {
                None => Ok(true),
                Some(v) => parse_bool(v).ok_or(v),
            },
            Form::Negated => Ok(is_zero),
            Form::Enabled => Ok(!is_zero),
        })
    }

    /// The boolean this entry sets for option `name` (normalised), or `None` if the entry
    /// is about another option. See [`OptionValues::flag`].
    pub fn as_flag(&self, name: &str) -> Option<bool> {
        let name = normalize_key(name);
        self.flag_state(&name).map(|r| r.unwrap_or(false))
    }
}

impl fmt::Debug for OptionEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match (&self.value, is_secret_key(&self.key)) {
            (Some(_), true) => Some("***"),
            (v, _) => v.as_deref(),
        };
        f.debug_struct("OptionEntry")
            .field("key", &self.key)
            .field("value", &value)
            .field("group", &self.group)
            .field("origin", &self.origin.to_string())
            .finish()
    }
}

/// The options of the selected groups of all option files read, in reading order (file
/// order, then line order). Lookups return the last occurrence, as the clients do.
///
/// `Debug` never shows the values of `password` (or any key containing `password` or
/// `passphrase`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OptionValues {
    entries: Vec<OptionEntry>,
    /// Warnings of the reader, each with the number of entries read before it.
    notes: Vec<(usize, OptionWarning)>,
}

impl OptionValues {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry (used by the reader; handy for building values in tests).
    pub fn push(&mut self, entry: OptionEntry) {
        self.entries.push(entry);
    }

    /// Records a warning of the reader (file skipped, readable password file, …) at the
    /// current reading position.
    pub(crate) fn push_warning(&mut self, warning: OptionWarning) {
        self.notes.push((self.entries.len(), warning));
    }

    /// Everything worth telling the user about the files read, in reading order: the
    /// reader's warnings (files ignored or skipped, include directives too deep, passwords
    /// in files others can read) and one warning per entry that the stock clients would
    /// reject (unknown or misspelt options; `loose-` ones excepted) or that belongs in
    /// mybak's config file (see [`OptionWarning`]). A line read more than once (a file
    /// included twice) is reported once.
    pub fn warnings(&self) -> Vec<OptionWarning> {
        let mut all = Vec::new();
        let mut notes = self.notes.iter().peekable();
        for (idx, entry) in self.entries.iter().enumerate() {
            while let Some((_, note)) = notes.next_if(|(at, _)| *at <= idx) {
                all.push(note.clone());
            }
            all.extend(check_entry(entry));
        }
        all.extend(notes.map(|(_, note)| note.clone()));
        let mut seen = HashSet::new();
        all.into_iter().filter(|w| seen.insert(w.clone())).collect()
    }

    /// All entries in reading order.
    pub fn entries(&self) -> &[OptionEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last entry that sets string option `key`: `key`, `key=value`, or `skip-key` /
    /// `disable-key` (which reset the option, as `my_getopt` does).
    fn last_setting(&self, key: &str) -> Option<(&OptionEntry, Form)> {
        let key = normalize_key(key);
        self.entries.iter().rev().find_map(|e| match e.form(&key) {
            Some(Form::Enabled) | None => None,
            Some(form) => Some((e, form)),
        })
    }

    /// The value of the last occurrence of `key` (`-` and `_` alike, `loose-` ignored).
    /// `None` if the key never occurs, if its last occurrence is bare (`key` without `=`),
    /// or if it was reset by a later `skip-key`/`disable-key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_with_origin(key).map(|(v, _)| v)
    }

    /// Like [`get`](Self::get), with where the value was read.
    pub fn get_with_origin(&self, key: &str) -> Option<(&str, &Origin)> {
        match self.last_setting(key)? {
            (e, Form::Direct) => e.value().map(|v| (v, e.origin())),
            _ => None,
        }
    }

    /// Whether the last occurrence of `key` is bare (no `=`), e.g. a lone `password`
    /// line, which makes the MariaDB clients prompt for the password.
    pub fn is_bare(&self, key: &str) -> bool {
        matches!(self.last_setting(key), Some((e, Form::Direct)) if e.value().is_none())
    }

    /// The boolean option `key` as the last entry about it sets it (see [`flag`](Self::flag)),
    /// or `None` if no entry mentions it. An unrecognised value counts as false, with a
    /// warning, as in MariaDB.
    pub fn bool_value(&self, key: &str) -> Option<bool> {
        let name = normalize_key(key);
        let (entry, state) = self
            .entries
            .iter()
            .rev()
            .find_map(|e| e.flag_state(&name).map(|s| (e, s)))?;
        Some(state.unwrap_or_else(|value| {
            log::warn!(
                "{}: boolean value '{value}' of '{}' wasn't recognized; taken as OFF",
                entry.origin(),
                entry.key()
            );
            false
        }))
    }

    /// Boolean option `key`: `key`, `key=1|on|true`, `enable-key` set it; `key=0|off|false`,
    /// `skip-key`, `disable-key` clear it (`skip-key=0` sets it); the last one wins.
    /// False when never mentioned.
    pub fn flag(&self, key: &str) -> bool {
        self.bool_value(key).unwrap_or(false)
    }
}

impl fmt::Debug for OptionValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(lines: &[(&str, Option<&str>)]) -> OptionValues {
        let mut v = OptionValues::new();
        for (i, (k, val)) in lines.iter().enumerate() {
            v.push(OptionEntry::new(
                k,
                *val,
                "client",
                Origin {
                    file: PathBuf::from("/t/my.cnf"),
                    line: i + 1,
                },
            ));
        }
        v
    }

    #[test]
    fn key_normalisation() {
        let cases = [
            ("ssl_ca", "ssl-ca"),
            ("loose-ssl-ca", "ssl-ca"),
            ("loose_ssl_ca", "ssl-ca"),
            ("loose-loose-x", "x"),
            ("loose-", "loose-"),
            ("Host", "Host"),
            ("skip_ssl", "skip-ssl"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_key(raw), want, "{raw}");
        }
    }

    #[test]
    fn get_last_wins() {
        let v = values(&[
            ("host", Some("a")),
            ("port", Some("1")),
            ("host", Some("b")),
            ("loose_host", Some("c")),
        ]);
        assert_eq!(v.get("host"), Some("c"));
        assert_eq!(v.get("port"), Some("1"));
        assert_eq!(v.get("user"), None);
        let (val, origin) = v.get_with_origin("host").unwrap();
        assert_eq!(val, "c");
        assert_eq!(origin.to_string(), "/t/my.cnf:4");
    }

    #[test]
    fn get_bare_and_reset() {
        type Case<'a> = (&'a [(&'a str, Option<&'a str>)], Option<&'a str>, bool);
        let cases: &[Case<'_>] = &[
            (&[("password", Some("x")), ("password", None)], None, true),
            (
                &[("password", None), ("password", Some("x"))],
                Some("x"),
                false,
            ),
            (
                &[("ssl-ca", Some("/a")), ("skip-ssl-ca", None)],
                None,
                false,
            ),
            (
                &[("ssl-ca", Some("/a")), ("enable-ssl-ca", None)],
                Some("/a"),
                false,
            ),
            (
                &[("ssl_ca", Some("/a")), ("ssl-capath", Some("/b"))],
                Some("/a"),
                false,
            ),
        ];
        let key = |c: &[(&str, Option<&str>)]| c[0].0.replace('_', "-");
        for (lines, want, bare) in cases {
            let v = values(lines);
            assert_eq!(v.get(&key(lines)), *want, "{lines:?}");
            assert_eq!(v.is_bare(&key(lines)), *bare, "{lines:?}");
        }
    }

    #[test]
    fn booleans() {
        type Case<'a> = (&'a [(&'a str, Option<&'a str>)], Option<bool>);
        let cases: &[Case<'_>] = &[
            (&[], None),
            (&[("ssl", None)], Some(true)),
            (&[("ssl", Some("0"))], Some(false)),
            (&[("ssl", Some("OFF"))], Some(false)),
            (&[("ssl", Some("True"))], Some(true)),
            (&[("ssl", Some("on"))], Some(true)),
            (&[("ssl", Some("maybe"))], Some(false)),
            (&[("skip-ssl", None)], Some(false)),
            (&[("skip_ssl", None)], Some(false)),
            (&[("loose-skip-ssl", None)], Some(false)),
            (&[("disable-ssl", None)], Some(false)),
            (&[("skip-ssl", Some("0"))], Some(true)),
            (&[("skip-ssl", Some("1"))], Some(false)),
            (&[("enable-ssl", None)], Some(true)),
            (&[("enable-ssl", Some("0"))], Some(false)),
            (&[("ssl", None), ("skip-ssl", None)], Some(false)),
            (&[("skip-ssl", None), ("ssl", None)], Some(true)),
            (&[("ssl", None), ("ssl-ca", Some("/x"))], Some(true)),
            (&[("skip-ssl", None), ("ssl-ca", Some("/x"))], Some(false)),
            (&[("ssl-verify-server-cert", None)], None),
        ];
        for (lines, want) in cases {
            let v = values(lines);
            assert_eq!(v.bool_value("ssl"), *want, "{lines:?}");
            assert_eq!(v.flag("ssl"), want.unwrap_or(false), "{lines:?}");
        }
    }

    #[test]
    fn debug_hides_passwords() {
        let v = values(&[
            ("password", Some("hunter2")),
            ("ssl-passphrase", Some("s3cret")),
            ("user", Some("bob")),
            ("password", None),
        ]);
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}
