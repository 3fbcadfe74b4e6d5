//! Property tests of the splitter and the INSERT row counter: no input panics (invalid UTF-8, NUL,
//! unterminated strings and comments, `DELIMITER` lines, tokens larger than the read buffer), what
//! comes out keeps its invariants (text, offset and line of each statement, errors last), and
//! generated scripts split into exactly the statements they were made of, under every delimiter
//! and quoting; generated multi-row INSERTs count exactly their rows.
//!
//! Bounded for CI: 48 cases per property (each splitter run zero-fills a 1 MiB buffer, slow in
//! debug builds) and six large inputs, a few seconds in all; `PROPTEST_CASES=N cargo test --lib
//! props` runs N of each for a longer fuzzing session.

use proptest::prelude::*;
use proptest::sample::select;

use super::super::lex::is_space;
use super::super::*;
use super::Trickle;
use crate::sql::literal::{push_value, Introducer, ValueKind};

use crate::proptest_cases::config;

/// One statement or error as the tests compare them.
type Out = Result<Statement, String>;

/// Splits `input` read in chunks of `sizes`, with `quoting[i]` set before statement `i` (the
/// last one for the rest) and at most `max` bytes a statement.
fn run(input: &[u8], sizes: &[usize], quoting: &[Quoting], max: usize) -> Vec<Out> {
    let reader = Trickle {
        data: input,
        sizes: sizes.to_vec(),
        turn: 0,
    };
    let mut splitter = Splitter::new(reader).with_max_statement(max);
    let quoting_at = |i: usize| {
        quoting
            .get(i)
            .or(quoting.last())
            .copied()
            .unwrap_or_default()
    };
    splitter.set_quoting(quoting_at(0));
    let mut out = Vec::new();
    while let Some(r) = splitter.next() {
        out.push(r.map_err(|e| e.to_string()));
        splitter.set_quoting(quoting_at(out.len()));
    }
    assert!(
        splitter.next().is_none(),
        "a finished splitter yields again"
    );
    out
}

/// The line of stream offset `offset`.
fn line_of(input: &[u8], offset: u64) -> u64 {
    1 + input[..offset as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// What every split of every input must satisfy.
fn check_invariants(input: &[u8], out: &[Out], max: usize) -> Result<(), TestCaseError> {
    let mut end = 0u64;
    for (i, r) in out.iter().enumerate() {
        match r {
            Ok(s) => {
                let at = s.offset as usize;
                prop_assert!(!s.sql.is_empty(), "empty statement at {}", at);
                prop_assert!(!is_space(s.sql[0]) && !is_space(s.sql[s.sql.len() - 1]));
                prop_assert!(s.offset >= end, "statement {} overlaps the one before", i);
                prop_assert!(
                    s.sql.len() <= max,
                    "{} bytes past the limit {}",
                    s.sql.len(),
                    max
                );
                prop_assert_eq!(input.get(at..at + s.sql.len()), Some(&s.sql[..]));
                prop_assert_eq!(s.line, line_of(input, s.offset));
                end = s.offset + s.sql.len() as u64;
            }
            Err(e) => {
                prop_assert_eq!(i, out.len() - 1, "error {} is not the last item", e);
                prop_assert!(e.starts_with("line "), "{}", e);
            }
        }
    }
    Ok(())
}

/// Bytes heavy in everything the splitter decides on, and any byte at all.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => select(vec![
            &b"'"[..], b"\"", b"`", b"\\", b"\\\\", b"''", b"``", b";", b";;", b"$$", b"//", b"-",
            b"--", b"-- ", b"--\t", b"--\0", b"#", b"/", b"/*", b"*/", b"*", b"/*!", b"/*M!",
            b"/*M", b"\n", b"\r\n", b"\r", b" ", b"\t", b"a", b"\0", b"\x1a", b"\xff", b"\xc3\xa9",
            b"DELIMITER $$\n", b"delimiter ;\n", b"DELIMITER ;;\n", b"DELIMITER\n",
            b"DELIMITER '", b"DELIMITER \\\\\n", b"delimiter", b"\xEF\xBB\xBF", b"SELECT 1",
            b"INSERT INTO `t` VALUES (1,'a'),(2,'b')", b"(", b")", b",",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

fn quoting() -> impl Strategy<Value = Quoting> {
    (any::<bool>(), any::<bool>()).prop_map(|(no_backslash_escapes, ansi_quotes)| Quoting {
        no_backslash_escapes,
        ansi_quotes,
    })
}

proptest! {
    #![proptest_config(config(48))]

    /// Any bytes, any chunking, any quoting per statement, any limit: no panic, the invariants
    /// hold, and the chunking changes nothing.
    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop_oneof![soup(), prop::collection::vec(any::<u8>(), 0..400)],
        sizes in prop::collection::vec(1usize..9, 1..6),
        quoting in prop::collection::vec(quoting(), 1..4),
        max in prop_oneof![Just(DEFAULT_MAX_STATEMENT), 1usize..40],
    ) {
        let whole = run(&input, &[usize::MAX], &quoting, max);
        check_invariants(&input, &whole, max)?;
        let chunked = run(&input, &sizes, &quoting, max);
        // Under a limit shorter than a `DELIMITER` line, the read boundaries decide between
        // TooLarge and running it: see `delimiter_line_longer_than_the_limit`.
        let known = max != DEFAULT_MAX_STATEMENT
            && input.to_ascii_lowercase().windows(9).any(|w| w == b"delimiter");
        if !known {
            prop_assert_eq!(chunked, whole);
        }
    }

    /// Row tuples of arbitrary bytes: no panic, and what is found is a list of `(…)` groups in
    /// order, as many as counted.
    #[test]
    fn row_counting_never_panics(
        input in prop_oneof![
            soup().prop_map(|s| [&b"INSERT INTO t VALUES "[..], &s].concat()),
            soup(),
        ],
    ) {
        let counted = count_insert_rows(&input);
        match insert_rows(&input) {
            Some((table, rows)) => {
                prop_assert_eq!(counted, Some(rows.len() as u64));
                prop_assert!(!table.is_empty());
                let mut end = 0;
                for r in rows {
                    prop_assert!(r.start >= end && r.end > r.start + 1);
                    prop_assert_eq!(input[r.start], b'(');
                    prop_assert_eq!(input[r.end - 1], b')');
                    end = r.end;
                }
            }
            None => prop_assert_eq!(counted, None),
        }
    }
}

/// A `DELIMITER` line longer than the statement limit is refused however it arrives (it was run
/// when one read brought it whole, and refused when it came in pieces).
#[test]
fn delimiter_line_longer_than_the_limit() {
    let input = b"DELIMITER $$ and words after it\nSELECT 1$$";
    let whole = run(input, &[usize::MAX], &[Quoting::default()], 16);
    let bytewise = run(input, &[1], &[Quoting::default()], 16);
    assert_eq!(bytewise, whole);
}

/// Tokens larger than the read buffer (1 MiB), open and closed, read whole and in odd chunks.
#[test]
fn huge_tokens_split_alike_in_any_chunking() {
    let big = |fill: u8| vec![fill; (1 << 20) + 4099];
    let q = |open: &[u8], fill: u8, close: &[u8]| [open, &big(fill), close].concat();
    let cases: Vec<Vec<u8>> = vec![
        [&b"SELECT "[..], &q(b"'", b';', b"'"), b";SELECT 2"].concat(),
        [&b"SELECT 1 "[..], &q(b"/*", b'*', b"*/"), b";SELECT 2"].concat(),
        [&b"SELECT 1 "[..], &q(b"-- ", b';', b"\n"), b";SELECT 2"].concat(),
        [&b"DELIMITER "[..], &big(b'$'), b"\nSELECT 1", &big(b'$')].concat(),
        [&b"SELECT "[..], &big(b'\\'), b";SELECT 2"].concat(),
        [&b"SELECT `"[..], &big(b'`')].concat(),
    ];
    let one = [Quoting::default()];
    for input in &cases {
        let whole = run(input, &[usize::MAX], &one, DEFAULT_MAX_STATEMENT);
        check_invariants(input, &whole, DEFAULT_MAX_STATEMENT).unwrap();
        let odd = run(input, &[65_537, 3, 1 << 20], &one, DEFAULT_MAX_STATEMENT);
        assert!(
            odd == whole,
            "chunking changes the split of {:?}…",
            &input[..12]
        );
    }
    let limited = run(&cases[0], &[usize::MAX], &one, 1 << 20);
    check_invariants(&cases[0], &limited, 1 << 20).unwrap();
    assert!(
        matches!(&limited[..], [Err(e), ..] if e.contains("longer than")),
        "{limited:?}"
    );
}

/// One piece of generated statement text.
#[derive(Debug, Clone)]
enum Token {
    /// Code: a word, number, operator; never a delimiter, quote, comment or `$`.
    Code(&'static str),
    /// `'…'` or `"…"` string (or `"…"` identifier under ANSI_QUOTES) holding these bytes.
    Str(u8, Vec<u8>, bool),
    /// `` `…` `` identifier holding these bytes.
    Ident(Vec<u8>),
    /// `/* … */`.
    Block(Vec<u8>),
    /// `-- …` or `# …` to the end of the line.
    Line(&'static str, Vec<u8>),
    /// `/*!…*/` holding code and strings.
    Executable(Vec<Token>),
}

/// Words and operators; `;` only where the delimiter is something else.
const CODE: &[&str] = &[
    "a",
    "t1",
    "1",
    "-1",
    "1.5e-3",
    "0x1F",
    "b'01'",
    "@v",
    ":=",
    "(",
    ")",
    ",",
    "+",
    "*",
    "=",
    "<>",
    "x-1",
    "--1",
    "1/2",
    "DELIMITER",
    "delimiter",
    "BEGIN",
    "END",
    "\u{e9}t\u{e9}",
    "\\;",
    "\\'",
    "\\\\x",
    "-",
    ".",
    "\u{1F600}",
    "IF",
    "NOT",
];
const FIRST: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "CREATE", "SET", "DO", "CALL", "BEGIN", "DROP", "select",
];
const SEPARATORS: &[&str] = &[" ", "\n", "\t", "  ", "\r\n", " \n "];

fn bytes_with(special: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => select(special.to_vec()), 1 => any::<u8>()],
        0..24,
    )
}

/// Bytes quotes, comments and delimiters are made of.
const TRICKY: &[u8] = b"'\"`\\;$/*-#\n\r\0\x1a |DELIMITER";

fn token() -> impl Strategy<Value = Token> {
    let leaf = prop_oneof![
        4 => select(CODE.to_vec()).prop_map(Token::Code),
        2 => (select(vec![b'\'', b'"']), bytes_with(TRICKY), any::<bool>())
            .prop_map(|(q, b, doubled)| Token::Str(q, b, doubled)),
        1 => bytes_with(TRICKY).prop_map(Token::Ident),
        1 => bytes_with(TRICKY)
            .prop_filter("closes early or is executable", |b| {
                !b.windows(2).any(|w| w == b"*/") && !b.starts_with(b"!") && !b.starts_with(b"M!")
            })
            .prop_map(Token::Block),
        1 => (select(vec!["-- ", "#", "--\t", "--"]), bytes_with(TRICKY)).prop_map(|(open, b)| {
            let mut b: Vec<u8> = b.into_iter().filter(|&c| c != b'\n').collect();
            // `--` starts a comment inside a statement only before whitespace or NUL.
            if open == "--" && b.first().is_some_and(|&c| !is_space(c) && c != 0) {
                b.insert(0, b' ');
            }
            Token::Line(open, b)
        }),
    ];
    prop_oneof![
        12 => leaf,
        1 => prop::collection::vec(
            prop_oneof![
                select(CODE.to_vec()).prop_map(Token::Code),
                (select(vec![b'\'', b'"']), bytes_with(TRICKY), any::<bool>())
                    .prop_map(|(q, b, d)| Token::Str(q, b, d)),
            ],
            1..4,
        )
        .prop_map(Token::Executable),
    ]
}

/// Writes a string or identifier quoted by `q` holding `bytes`, as the session quotes.
fn push_quoted(out: &mut Vec<u8>, q: u8, bytes: &[u8], doubled: bool, quoting: Quoting) {
    let escapes = q != b'`' && !quoting.no_backslash_escapes && !(q == b'"' && quoting.ansi_quotes);
    out.push(q);
    for &b in bytes {
        if b == q {
            out.push(if doubled || !escapes { q } else { b'\\' });
            out.push(q);
        } else if b == b'\\' && escapes {
            out.extend_from_slice(b"\\\\");
        } else {
            out.push(b);
        }
    }
    out.push(q);
}

/// The text of one token under `quoting`, with `delimiter` current. `None` when the token cannot
/// be written there (a `;` code word under the `;` delimiter).
fn push_token(out: &mut Vec<u8>, t: &Token, quoting: Quoting, delimiter: &[u8]) -> bool {
    match t {
        Token::Code(w) => {
            let w = w.as_bytes();
            if w.windows(delimiter.len()).any(|x| x == delimiter) {
                return false;
            }
            out.extend_from_slice(w);
        }
        Token::Str(q, bytes, doubled) => push_quoted(out, *q, bytes, *doubled, quoting),
        Token::Ident(bytes) => push_quoted(out, b'`', bytes, true, quoting),
        Token::Block(bytes) => {
            out.extend_from_slice(b"/*");
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"*/");
        }
        Token::Line(open, bytes) => {
            out.extend_from_slice(open.as_bytes());
            out.extend_from_slice(bytes);
            out.push(b'\n');
        }
        Token::Executable(inner) => {
            out.extend_from_slice(b"/*!40101 ");
            for t in inner {
                if !push_token(out, t, quoting, delimiter) {
                    return false;
                }
                out.push(b' ');
            }
            out.extend_from_slice(b"*/");
        }
    }
    true
}

/// A statement: its first word, tokens with their separators, the session quoting it runs under.
#[derive(Debug, Clone)]
struct Stmt {
    first: &'static str,
    tokens: Vec<(Token, &'static str)>,
    quoting: Quoting,
}

fn stmt() -> impl Strategy<Value = Stmt> {
    (
        select(FIRST.to_vec()),
        prop::collection::vec((token(), select(SEPARATORS.to_vec())), 0..8),
        quoting(),
    )
        .prop_map(|(first, tokens, quoting)| Stmt {
            first,
            tokens,
            quoting,
        })
}

/// What may stand between statements: whitespace, comments, empty statements.
#[derive(Debug, Clone)]
enum Gap {
    Space(&'static str),
    Comment(&'static str),
    Empty,
}

fn gap() -> impl Strategy<Value = Gap> {
    prop_oneof![
        select(vec![" ", "\n", "\t\r\n", "\n\n  "]).prop_map(Gap::Space),
        select(vec![
            "-- c; 'x\n",
            "# c; \"x\n",
            "/* c; `x */",
            "--x;'\n",
            "--\n",
            "/* DELIMITER $$\n */",
        ])
        .prop_map(Gap::Comment),
        Just(Gap::Empty),
    ]
}

/// Delimiters the generated code never contains (`;` aside, which code only holds under others).
const DELIMITERS: &[&str] = &[";", ";", ";;", "$$", "//", "|", "\u{a7}\u{a7}", "END$"];

#[derive(Debug, Clone)]
struct Section {
    delimiter: &'static str,
    /// How the `DELIMITER` command is written: lowercase, trailing words, CRLF.
    command: (bool, bool, bool),
    statements: Vec<(Vec<Gap>, Stmt)>,
}

fn sections() -> impl Strategy<Value = Vec<Section>> {
    let section = (
        select(DELIMITERS.to_vec()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec((prop::collection::vec(gap(), 0..3), stmt()), 0..5),
    )
        .prop_map(|(delimiter, command, statements)| Section {
            delimiter,
            command,
            statements,
        });
    prop::collection::vec(section, 1..4)
}

/// A statement as the splitter must return it: text, offset, line; and its quoting.
type Want = (Vec<u8>, u64, u64, Quoting);

/// The script of `sections` and the statements it holds, in order.
fn script(sections: &[Section], bom: bool, last_delimited: bool) -> (Vec<u8>, Vec<Want>) {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let mut want = Vec::new();
    let mut delimiter = ";";
    for section in sections {
        if section.delimiter != delimiter {
            let (lower, words, crlf) = section.command;
            out.push(b'\n');
            out.extend_from_slice(if lower { b"delimiter " } else { b"DELIMITER " });
            out.extend_from_slice(section.delimiter.as_bytes());
            if words {
                out.extend_from_slice(b" trailing words");
            }
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            delimiter = section.delimiter;
        }
        let d = delimiter.as_bytes();
        for (gaps, s) in &section.statements {
            for g in gaps {
                match g {
                    Gap::Space(w) | Gap::Comment(w) => out.extend_from_slice(w.as_bytes()),
                    Gap::Empty => out.extend_from_slice(d),
                }
            }
            // A statement starts on a fresh line, so a `DELIMITER` in it is text.
            out.push(b'\n');
            let start = out.len();
            out.extend_from_slice(s.first.as_bytes());
            for (t, sep) in &s.tokens {
                let mark = out.len();
                out.extend_from_slice(sep.as_bytes());
                if !push_token(&mut out, t, s.quoting, d) {
                    out.truncate(mark);
                }
            }
            let mut text = out[start..].to_vec();
            while text.last().is_some_and(|&b| is_space(b)) {
                text.pop();
            }
            // An end that could begin the delimiter (`;` before `;;`, the `/` of an executable
            // comment's `*/` before `//`) would move it; a space keeps them apart.
            if text.last().is_some_and(|b| d.contains(b)) {
                out.push(b' ');
            }
            let line = line_of(&out, start as u64);
            want.push((text, start as u64, line, s.quoting));
            out.extend_from_slice(d);
        }
    }
    if !last_delimited && !want.is_empty() {
        // The last statement may end the script without its delimiter.
        let d = delimiter.len();
        if out.ends_with(delimiter.as_bytes()) {
            out.truncate(out.len() - d);
        }
    }
    (out, want)
}

proptest! {
    #![proptest_config(config(48))]

    /// Scripts made of generated statements (strings and identifiers holding delimiters, quotes,
    /// backslashes, comment openers, newlines; comments inside; executable comments; `DELIMITER`
    /// changes; quoting changed between statements) split into exactly those statements.
    #[test]
    fn generated_scripts_split_exactly(
        sections in sections(),
        bom in any::<bool>(),
        last_delimited in any::<bool>(),
        sizes in prop::collection::vec(prop_oneof![1usize..16, 16usize..4096], 1..6),
    ) {
        let (input, want) = script(&sections, bom, last_delimited);
        let quoting: Vec<Quoting> = want.iter().map(|w| w.3).collect();
        let got = run(&input, &sizes, &quoting, DEFAULT_MAX_STATEMENT);
        check_invariants(&input, &got, DEFAULT_MAX_STATEMENT)?;
        let got: Vec<(Vec<u8>, u64, u64)> = got
            .into_iter()
            .map(|r| r.map(|s| (s.sql, s.offset, s.line)))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&input))))?;
        let want: Vec<(Vec<u8>, u64, u64)> = want.into_iter().map(|(t, o, l, _)| (t, o, l)).collect();
        prop_assert_eq!(
            got.iter().map(|g| String::from_utf8_lossy(&g.0)).collect::<Vec<_>>(),
            want.iter().map(|w| String::from_utf8_lossy(&w.0)).collect::<Vec<_>>(),
            "script {:?}", String::from_utf8_lossy(&input)
        );
        prop_assert_eq!(got, want);
    }
}

/// One value of a row tuple, as a dump or a person writes it.
fn row_value() -> impl Strategy<Value = Vec<u8>> {
    let kind = select(vec![
        ValueKind::Text,
        ValueKind::Binary,
        ValueKind::Bit,
        ValueKind::Numeric,
        ValueKind::Introduced(Introducer::new("sjis").unwrap()),
    ]);
    prop_oneof![
        4 => (kind, prop::option::of(bytes_with(b"'\"\\(),;#-/*`\n"))).prop_map(|(kind, v)| {
            let mut out = Vec::new();
            push_value(&mut out, kind, v.as_deref());
            out
        }),
        1 => (bytes_with(b"'\"\\(),;#-/*`\n"), any::<bool>()).prop_map(|(b, d)| {
            let mut out = Vec::new();
            push_quoted(&mut out, b'"', &b, d, Quoting::default());
            out
        }),
        1 => select(vec![
            "-1", "1-2", "2/3", "(1+(2))", "x'AB'", "CONCAT('a)', \"b(\")", "NOW()", "- -1",
            "((('(')))", "'it''s'", "1e-5", "DEFAULT",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

/// A generated INSERT, its table as written and the byte ranges of its row tuples.
fn insert() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<std::ops::Range<usize>>)> {
    let table = prop_oneof![
        "[A-Za-z_$][A-Za-z0-9_$]{0,8}"
            .prop_filter("a keyword", |t| {
                !["ignore", "into", "value", "values"].contains(&t.to_ascii_lowercase().as_str())
            })
            .prop_map(String::into_bytes),
        "[\u{e9}\u{65e5}][a-z\u{e9}]{0,4}".prop_map(String::into_bytes),
        bytes_with(b"`.'() ").prop_map(|b| {
            let mut out = Vec::new();
            push_quoted(&mut out, b'`', &b, true, Quoting::default());
            out
        }),
    ];
    (
        select(vec![
            "INSERT INTO ",
            "insert into ",
            "INSERT IGNORE INTO ",
            "INSERT ",
            "Insert Ignore ",
        ]),
        table.clone(),
        prop::option::of(table),
        select(vec!["", " (`a`,`b`)", "(a, `b``)`)", " ( x ) "]),
        select(vec![" VALUES", "VALUES", " VALUE", "\nvalues"]),
        prop::collection::vec(
            (
                prop::collection::vec(row_value(), 1..4),
                select(vec!["", " ", "\n", " \r\n\t"]),
            ),
            1..6,
        ),
    )
        .prop_map(|(head, t1, t2, columns, values, rows)| {
            let mut sql = head.as_bytes().to_vec();
            let table_start = sql.len();
            sql.extend_from_slice(&t1);
            if let Some(t2) = t2 {
                sql.push(b'.');
                sql.extend_from_slice(&t2);
            }
            let table = sql[table_start..].to_vec();
            sql.extend_from_slice(columns.as_bytes());
            if columns.is_empty() && !values.starts_with(char::is_whitespace) {
                sql.push(b' ');
            }
            sql.extend_from_slice(values.as_bytes());
            let mut ranges = Vec::new();
            for (i, (row, space)) in rows.iter().enumerate() {
                if i > 0 {
                    sql.extend_from_slice(space.as_bytes());
                    sql.push(b',');
                }
                sql.extend_from_slice(space.as_bytes());
                let start = sql.len();
                sql.push(b'(');
                sql.extend_from_slice(&row.join(&b","[..]));
                sql.push(b')');
                ranges.push(start..sql.len());
            }
            (sql, table, ranges)
        })
}

proptest! {
    #![proptest_config(config(48))]

    /// Multi-row INSERTs: exactly their rows and tuples, their table as written; every prefix of
    /// one counts at most that many rows and never panics.
    #[test]
    fn insert_rows_are_counted_exactly((sql, table, ranges) in insert(), cut in any::<prop::sample::Index>()) {
        prop_assert_eq!(count_insert_rows(&sql), Some(ranges.len() as u64), "{}", String::from_utf8_lossy(&sql));
        let (got_table, got_ranges) = insert_rows(&sql).unwrap();
        prop_assert_eq!(got_table, &table[..]);
        prop_assert_eq!(got_ranges, ranges.clone());
        let prefix = &sql[..cut.index(sql.len() + 1)];
        if let Some(n) = count_insert_rows(prefix) {
            prop_assert!(n <= ranges.len() as u64);
        }
        // As the last statement of a script, it splits out whole and counts the same.
        let script = [&b"SET NAMES utf8mb4;\n"[..], &sql, b";\n"].concat();
        let got = run(&script, &[usize::MAX], &[Quoting::default()], DEFAULT_MAX_STATEMENT);
        let last = got.last().and_then(|r| r.as_ref().ok()).map(|s| s.sql.clone());
        prop_assert_eq!(last.as_deref(), Some(&sql[..]));
    }
}
