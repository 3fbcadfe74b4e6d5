//! Property tests of option-file reading: no line and no file makes the reader panic, lines keep
//! their shape, and generated `key = value` lines read back exactly when written the way
//! `my_default.c` reads them (a double- or single-quoted value with `\\ \" \' \n \r \t \b`
//! escapes, or a plain value without `#`, `\` and surrounding whitespace).
//!
//! Bounded for CI: 64 to 256 cases per property, well under a second each;
//! `PROPTEST_CASES=N cargo test --lib props` runs N of each for a longer fuzzing session.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::select;
use tempfile::TempDir;

use super::line::{classify, decode_value, parse_option, strip_end_comment, Line};
use super::*;

use crate::proptest_cases::config;

const GROUPS: [&str; 5] = [
    "client",
    "client-server",
    "client-mariadb",
    "mysqldump",
    "mybak",
];

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_start(s: &[u8]) -> &[u8] {
    &s[s.iter().position(|&b| !is_space(b)).unwrap_or(s.len())..]
}

/// Bytes heavy in what the line parser decides on.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        2 => any::<u8>().prop_map(|b| vec![b]),
        3 => select(vec![
            &b"["[..], b"]", b"!", b"!include", b"!includedir", b"!include ", b"#", b";", b"=",
            b" = ", b"'", b"\"", b"\\", b"\\\"", b"\\'", b"\\\\", b" ", b"\t", b"\r", b"\x0b",
            b"\x0c", b"\0", b"\xff", b"\xc3\xa9", b"key", b"loose-", b"skip-", b"password",
            b"client",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// An option name that reads back as written: no `=`, `#`, quotes, line end or NUL, not starting
/// like a comment, group or directive, no whitespace at either end (inner spaces are kept).
fn key() -> impl Strategy<Value = String> {
    let first = prop_oneof![
        select(vec![
            'a', 'z', 'U', '_', '-', '0', '\u{e9}', '\u{65e5}', '.', '\\'
        ]),
        any::<char>(),
    ]
    .prop_filter("not a key start", |c| {
        !matches!(c, '#' | ';' | '[' | '!' | '=' | '\'' | '"' | '\0') && !is_ascii_space(*c)
    });
    let rest = prop_oneof![
        select(vec![
            'a', '-', '_', ' ', '\t', ']', ';', '!', '\\', '\u{e9}'
        ]),
        any::<char>(),
    ]
    .prop_filter("not in a key", |c| {
        !matches!(c, '#' | '=' | '\'' | '"' | '\0' | '\n')
    });
    (first, prop::collection::vec(rest, 0..20)).prop_map(|(first, rest)| {
        let mut key: String = std::iter::once(first).chain(rest).collect();
        while key.ends_with(is_ascii_space) {
            key.pop();
        }
        key
    })
}

fn is_ascii_space(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// Any value but NUL (a C string ends there), heavy in what quoting and escaping must handle.
fn value() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => select(vec![
            '"', '\'', '\\', '#', '=', ';', ' ', '\t', '\r', '\n', '\u{8}', '\u{b}', '\u{c}', 's',
            'n', 'b', '[', ']', '!', '\u{e9}', '\u{1F600}',
        ]),
        2 => any::<char>(),
    ]
    .prop_filter("no NUL", |&c| c != '\0');
    prop::collection::vec(c, 0..30).prop_map(|cs| cs.into_iter().collect())
}

/// `value` inside `quote`s, escaped as `decode_value` resolves it.
fn quoted(value: &str, quote: char) -> String {
    let mut out = String::from(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A value written without quotes reads back as is: no `#` (a comment), `\` (an escape),
/// line end, NUL or surrounding whitespace, and not wrapped in a pair of quotes.
fn plain_value() -> impl Strategy<Value = String> {
    value().prop_filter("not plain", |v| {
        let b = v.as_bytes();
        let wrapped = b.len() > 1 && matches!(b[0], b'"' | b'\'') && b[0] == b[b.len() - 1];
        !v.contains(['#', '\\', '\n'])
            && !v.starts_with(is_ascii_space)
            && !v.ends_with(is_ascii_space)
            && !wrapped
    })
}

/// How one option line writes its value.
#[derive(Debug, Clone)]
enum Written {
    Bare,
    Plain(String),
    Double(String),
    Single(String),
}

impl Written {
    fn value(&self) -> Option<&str> {
        match self {
            Written::Bare => None,
            Written::Plain(v) | Written::Double(v) | Written::Single(v) => Some(v),
        }
    }
}

fn written() -> impl Strategy<Value = Written> {
    prop_oneof![
        1 => Just(Written::Bare),
        2 => plain_value().prop_map(Written::Plain),
        3 => value().prop_map(Written::Double),
        3 => value().prop_map(Written::Single),
    ]
}

/// One line as a file would hold it: indentation, spacing around `=`, a trailing comment.
fn option_line(key: &str, value: &Written, style: (u8, u8, bool)) -> String {
    let (indent, around, comment) = style;
    let pad = |n: u8| [" ", "\t", "  ", "\x0b"][usize::from(n % 4)];
    let mut line = format!("{}{key}", if indent % 2 == 1 { pad(indent) } else { "" });
    let eq = if around % 3 == 0 {
        "=".to_string()
    } else {
        format!("{}={}", pad(around), pad(around / 3))
    };
    match value {
        Written::Bare => {}
        Written::Plain(v) => line.push_str(&format!("{eq}{v}")),
        Written::Double(v) => line.push_str(&format!("{eq}{}", quoted(v, '"'))),
        Written::Single(v) => line.push_str(&format!("{eq}{}", quoted(v, '\''))),
    }
    // A plain value's quotes would hide the comment's `#`, as in MariaDB: no comment then.
    let quotes = matches!(value, Written::Plain(v) if v.contains(['\'', '"']));
    if comment && !quotes {
        line.push_str(" # it's a \"comment\" = x");
    } else if around % 2 == 1 {
        line.push_str(pad(around));
    }
    line
}

fn style() -> impl Strategy<Value = (u8, u8, bool)> {
    (any::<u8>(), any::<u8>(), any::<bool>())
}

/// One section of a generated file.
#[derive(Debug, Clone)]
struct Section {
    /// The text between `[` and `]`.
    header: String,
    items: Vec<Item>,
}

#[derive(Debug, Clone)]
enum Item {
    Option(String, Written, (u8, u8, bool)),
    /// A `#` or `;` comment line, or a blank one.
    Filler(String),
    /// `!include` of the second generated file.
    Include,
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        // Selected groups in any letter case, with trailing whitespace (dropped).
        (
            select(GROUPS.to_vec()),
            any::<u64>(),
            select(vec!["", " ", "\t "])
        )
            .prop_map(|(g, mask, tail)| {
                let cased: String = g
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if mask >> (i % 64) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                format!("{cased}{tail}")
            }),
        // Groups that are not read: leading whitespace counts, others are other programs'.
        select(vec![
            " client", "mysqld", "client-", "mariadb", "", "clïent", "mybak2"
        ])
        .prop_map(str::to_string),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => (key(), written(), style()).prop_map(|(k, v, s)| Item::Option(k, v, s)),
        2 => select(vec![
            "", "  ", "\t", "# comment = x", "; also \"a comment", "  # [client]", "!unknown x",
            "\r",
        ])
        .prop_map(|s| Item::Filler(s.to_string())),
        1 => Just(Item::Include),
    ]
}

fn sections() -> impl Strategy<Value = Vec<Section>> {
    prop::collection::vec(
        (header(), prop::collection::vec(item(), 0..6))
            .prop_map(|(header, items)| Section { header, items }),
        0..4,
    )
}

/// An entry as read: normalised key, raw key, value, group, file and line.
type Read = (String, String, Option<String>, String, PathBuf, usize);

/// What a written file holds for the reader: entries, and where it includes the second file.
#[derive(Debug, Clone)]
enum Slot {
    Entry(Read),
    Include,
}

/// Writes `sections` to `path` (`crlf`: CRLF line ends, `include`: the file `!include` names);
/// returns what must be read from it.
fn write_sections(path: &Path, sections: &[Section], crlf: bool, include: &Path) -> Vec<Slot> {
    let mut text = String::new();
    let mut slots = Vec::new();
    let mut line = 0;
    let push = |text: &mut String, s: &str| {
        text.push_str(s);
        text.push_str(if crlf { "\r\n" } else { "\n" });
    };
    for section in sections {
        push(&mut text, &format!("[{}] trailing text", section.header));
        line += 1;
        let name = section.header.trim_end_matches(is_ascii_space);
        let read = GROUPS.iter().any(|g| g.eq_ignore_ascii_case(name));
        for item in &section.items {
            line += 1;
            match item {
                Item::Option(key, value, style) => {
                    push(&mut text, &option_line(key, value, *style));
                    if read {
                        slots.push(Slot::Entry((
                            normalize_key(key),
                            key.clone(),
                            value.value().map(str::to_string),
                            name.to_string(),
                            path.to_path_buf(),
                            line,
                        )));
                    }
                }
                Item::Filler(s) => push(&mut text, s),
                Item::Include => {
                    push(&mut text, &format!("!include {}", include.display()));
                    slots.push(Slot::Include);
                }
            }
        }
    }
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    slots
}

/// The entries of a file read at include depth `depth` whose `!include`s name a file holding
/// `included`, down to the depth limit.
fn expand(slots: &[Slot], included: &[Slot], depth: usize) -> Vec<Read> {
    let mut out = Vec::new();
    for slot in slots {
        match slot {
            Slot::Entry(read) => out.push(read.clone()),
            Slot::Include if depth < MAX_INCLUDE_DEPTH => {
                out.extend(expand(included, included, depth + 1));
            }
            Slot::Include => {}
        }
    }
    out
}

fn read_file(path: &Path) -> Result<OptionValues, OptionFileError> {
    let spec = DefaultsSpec {
        defaults_file: Some(path.to_path_buf()),
        ..DefaultsSpec::default()
    };
    read_options_from(&spec, &GROUPS, &[])
}

/// Everything a caller does with what was read; none of it may panic.
fn use_values(values: &OptionValues) {
    for w in values.warnings() {
        assert!(!w.to_string().contains('\n'), "{w}");
    }
    for key in ["user", "password", "ssl", "host", "key"] {
        let _ = (values.get(key), values.flag(key), values.is_bare(key));
    }
    for e in values.entries() {
        let _ = (format!("{e:?}"), e.as_flag(e.key()), e.is_loose());
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any line: no panic, and what it is classified as has the shape the reader relies on.
    #[test]
    fn lines_never_panic_and_keep_their_shape(raw in line_bytes()) {
        let trimmed = trim_start(&raw);
        prop_assert!(raw.starts_with(strip_end_comment(&raw)));
        prop_assert!(decode_value(&raw).len() <= raw.len());
        match classify(&raw) {
            Ok(Line::Blank) => prop_assert!(matches!(trimmed.first(), None | Some(b'#' | b';'))),
            Ok(Line::Include(arg) | Line::IncludeDir(arg)) => {
                prop_assert_eq!(trimmed.first(), Some(&b'!'));
                prop_assert!(!arg.is_empty() && !is_space(arg[0]) && !is_space(arg[arg.len() - 1]));
            }
            Ok(Line::OtherDirective) => prop_assert_eq!(trimmed.first(), Some(&b'!')),
            Ok(Line::Group(name)) => {
                prop_assert_eq!(trimmed.first(), Some(&b'['));
                prop_assert!(!name.contains(&b']'));
                prop_assert!(name.last().is_none_or(|&b| !is_space(b)));
            }
            Ok(Line::Option(s)) => {
                prop_assert_eq!(s, trimmed);
                prop_assert!(!matches!(s[0], b'#' | b';' | b'!' | b'['));
                match parse_option(s) {
                    Ok(o) => {
                        prop_assert!(!o.key.is_empty() && s.starts_with(o.key));
                        prop_assert!(!o.key.contains(&b'='));
                        prop_assert!(!is_space(o.key[o.key.len() - 1]));
                        prop_assert!(o.value.as_ref().is_none_or(|v| v.len() < s.len()));
                    }
                    Err(e) => prop_assert_eq!(e, SyntaxError::EmptyKey),
                }
            }
            Err(SyntaxError::UnterminatedGroup) => {
                prop_assert_eq!(trimmed.first(), Some(&b'['));
                prop_assert!(!trimmed.contains(&b']'));
            }
            Err(SyntaxError::EmptyDirective(_)) => prop_assert_eq!(trimmed.first(), Some(&b'!')),
            Err(e) => prop_assert!(false, "classify gave {e:?}"),
        }
    }

    /// `key = value` lines read back exactly, however the value is written.
    #[test]
    fn option_lines_round_trip(key in key(), value in written(), style in style()) {
        let line = option_line(&key, &value, style);
        let Ok(Line::Option(s)) = classify(line.as_bytes()) else {
            return Err(TestCaseError::fail(format!("{line:?} is no option line")));
        };
        let got = parse_option(s).map_err(|e| TestCaseError::fail(format!("{line:?}: {e}")))?;
        prop_assert_eq!(got.key, key.as_bytes(), "line {:?}", line);
        prop_assert_eq!(got.value.as_deref(), value.value().map(str::as_bytes), "line {:?}", line);
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Whole files (CRLF or LF, comments, unread groups, an `!include`) read back entry by
    /// entry, with group, file and line; then lookups and warnings do not panic.
    #[test]
    fn files_read_back(
        main in sections(),
        mut inc in sections(),
        crlf in any::<bool>(),
    ) {
        // inc.cnf includes itself at most once, down to the depth limit (a warning ends it).
        let mut seen = false;
        for s in &mut inc {
            s.items.retain(|i| !matches!(i, Item::Include) || !std::mem::replace(&mut seen, true));
        }
        let dir = TempDir::new().unwrap();
        let main_path = dir.path().join("my.cnf");
        let inc_path = dir.path().join("inc.cnf");
        let included = write_sections(&inc_path, &inc, crlf, &inc_path);
        let written = write_sections(&main_path, &main, crlf, &inc_path);
        let want = expand(&written, &included, 0);
        let got = read_file(&main_path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        use_values(&got);
        let read: Vec<Read> = got
            .entries()
            .iter()
            .map(|e| (
                e.key().to_string(),
                e.raw_key().to_string(),
                e.value().map(str::to_string),
                e.group().to_string(),
                e.origin().file.clone(),
                e.origin().line,
            ))
            .collect();
        prop_assert_eq!(read, want);
        let too_deep = got
            .warnings()
            .iter()
            .any(|w| matches!(w, OptionWarning::IncludeTooDeep { .. }));
        let loops = seen && written.iter().any(|s| matches!(s, Slot::Include));
        prop_assert_eq!(too_deep, loops);
    }

    /// Files of arbitrary bytes (and one include of themselves or of their directory, which
    /// nests down to the depth limit): an error or values, never a panic.
    #[test]
    fn arbitrary_files_never_panic(
        mut lines in prop::collection::vec(
            prop_oneof![4 => line_bytes(), 1 => Just(b"[client]".to_vec())],
            0..24,
        ),
        directive in select(vec![
            "", "!include @DIR@/my.cnf", "!includedir @DIR@", "!include ~/my.cnf", "!include ~",
        ]),
        at in any::<prop::sample::Index>(),
        crlf in any::<bool>(),
    ) {
        let dir = TempDir::new().unwrap();
        let d = dir.path().display().to_string();
        // Each file holds at most one include, or the reads multiply at every level.
        for line in &mut lines {
            if trim_start(line).starts_with(b"!include") {
                line.clear();
            }
        }
        let directive = directive.replace("@DIR@", &d).into_bytes();
        lines.insert(at.index(lines.len() + 1), directive);
        let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let path = dir.path().join("my.cnf");
        fs::write(&path, lines.join(end)).unwrap();
        fs::write(dir.path().join("my.txt"), b"[client\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let spec = DefaultsSpec {
            defaults_file: Some(path.clone()),
            home: Some(dir.path().to_path_buf()),
            ..DefaultsSpec::default()
        };
        match read_options_from(&spec, &GROUPS, &[]) {
            Ok(values) => use_values(&values),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
