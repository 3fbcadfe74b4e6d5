//! Tests of the splitter: the client's rules case by case, chunk boundaries, dump scripts, speed.

use super::*;
use crate::sql::literal::{push_value, Introducer, ValueKind};
use proptest::prelude::*;

/// Property tests: no input panics, generated scripts split exactly (`split/props.rs`).
#[path = "props.rs"]
mod props;

/// A reader that hands out its bytes in chunks of the given sizes, in turn.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()].max(1);
        self.turn += 1;
        let n = size.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Every statement or error, as `text` or `ERR display`.
fn split_with(input: &[u8], sizes: &[usize]) -> Vec<Result<Statement, String>> {
    let reader = Trickle {
        data: input,
        sizes: sizes.to_vec(),
        turn: 0,
    };
    Splitter::new(reader)
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

/// The texts, checked to be the same whole and read 1 to 7 bytes at a time.
fn texts(input: &[u8]) -> Vec<String> {
    let whole = split_with(input, &[usize::MAX]);
    for sizes in [&[1][..], &[2], &[3, 1, 7, 2, 5, 4, 6]] {
        assert_eq!(split_with(input, sizes), whole, "chunks {sizes:?}");
    }
    whole
        .into_iter()
        .map(|r| match r {
            Ok(s) => String::from_utf8_lossy(&s.sql).into_owned(),
            Err(e) => format!("ERR {e}"),
        })
        .collect()
}

#[test]
fn statements_as_the_client_splits_them() {
    let cases: &[(&str, &[&str])] = &[
        ("SELECT 1;\nSELECT 2;\n", &["SELECT 1", "SELECT 2"]),
        ("  SELECT 1 ;  SELECT\n 2\n;", &["SELECT 1", "SELECT\n 2"]),
        // DELIMITER blocks.
        (
            "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;;\nDELIMITER ;\nSELECT 2;",
            &["CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2"],
        ),
        (
            "delimiter $$\nBEGIN SELECT ';;'; END\n$$\n  DeLiMiTeR ;\nSELECT 2;",
            &["BEGIN SELECT ';;'; END", "SELECT 2"],
        ),
        (
            "DELIMITER //\nCREATE TRIGGER t BEGIN SET @a = 1/2; END//\nDELIMITER ;\n",
            &["CREATE TRIGGER t BEGIN SET @a = 1/2; END"],
        ),
        ("DELIMITER ;;1;;\nA;B;;1;;C;;1;;", &["A;B", "C"]),
        ("DELIMITER '$ $' x\nSELECT 1$ $2", &["SELECT 1", "2"]),
        ("DELIMITER $$ trailing words\nSELECT 1$$", &["SELECT 1"]),
        // A DELIMITER word inside a statement is text.
        ("SELECT\nDELIMITER;", &["SELECT\nDELIMITER"]),
        ("SELECT 'x\nDELIMITER $$\n';", &["SELECT 'x\nDELIMITER $$\n'"]),
        // A statement that starts with the word is a command when it ends (client quirk).
        ("/* c */ DELIMITER $$ ;SELECT 1$$", &["SELECT 1"]),
        // Quotes.
        ("SELECT 'a;b', \"c;d\", `e;f`;", &["SELECT 'a;b', \"c;d\", `e;f`"]),
        ("SELECT 'it\\'s;';SELECT 2", &["SELECT 'it\\'s;'", "SELECT 2"]),
        ("SELECT 'it''s;';", &["SELECT 'it''s;'"]),
        ("SELECT 'a\\\\';SELECT 2;", &["SELECT 'a\\\\'", "SELECT 2"]),
        ("SELECT \"a\\\";\";", &["SELECT \"a\\\";\""]),
        ("SELECT `a\\`;SELECT 2;", &["SELECT `a\\`", "SELECT 2"]),
        ("SELECT `a``;`;", &["SELECT `a``;`"]),
        ("SELECT 'a\\\nb;';", &["SELECT 'a\\\nb;'"]),
        // Backslash outside strings takes the next byte.
        ("SELECT 1\\;2;", &["SELECT 1\\;2"]),
        // Comments of each kind, with quotes and delimiters inside.
        ("-- it's; a comment\nSELECT 1;", &["SELECT 1"]),
        ("# it's; a comment\nSELECT 1;", &["SELECT 1"]),
        ("/* it's;\n a comment */ SELECT 1;", &["SELECT 1"]),
        ("SELECT 1 -- it's;\n;", &["SELECT 1 -- it's;"]),
        ("SELECT 1 # it's;\n, 2;", &["SELECT 1 # it's;\n, 2"]),
        ("SELECT /* it's; */ 1;", &["SELECT /* it's; */ 1"]),
        ("SELECT 1 --\tx;\n;", &["SELECT 1 --\tx;"]),
        ("SELECT 1 --", &["SELECT 1 --"]),
        ("SELECT '/*', 1;", &["SELECT '/*', 1"]),
        ("/* a */ /* b */ -- c\n# d\n", &[]),
        ("SELECT 1/*/;*/;", &["SELECT 1/*/;*/"]),
        // `--x` is not a comment inside a statement, but is at its start (client rule).
        ("SELECT 1 --1;", &["SELECT 1 --1"]),
        ("SELECT 1--x;", &["SELECT 1--x"]),
        ("--x;'\nSELECT 1;", &["SELECT 1"]),
        // Executable comments are statements, and the delimiter still ends them.
        ("/*!40101 SET NAMES utf8 */;", &["/*!40101 SET NAMES utf8 */"]),
        (
            "/*M!100201 SET check_constraint_checks = 0 */;",
            &["/*M!100201 SET check_constraint_checks = 0 */"],
        ),
        ("/*!50003 SET @a=';' */;", &["/*!50003 SET @a=';' */"]),
        ("/*!50003 SET a=1; SET b=2 */;", &["/*!50003 SET a=1", "SET b=2 */"]),
        ("/*M SELECT 1; */SELECT 2;", &["SELECT 2"]),
        // CRLF line ends.
        (
            "SELECT 1;\r\nDELIMITER $$\r\nCREATE P BEGIN X; END$$\r\nDELIMITER ;\r\nSELECT 2;\r\n",
            &["SELECT 1", "CREATE P BEGIN X; END", "SELECT 2"],
        ),
        ("-- c\r\nSELECT 1 -- c\r\n;", &["SELECT 1 -- c"]),
        // Empty statements, final statement without delimiter.
        (";;;\nSELECT 1;;\n ; ", &["SELECT 1"]),
        ("SELECT 1;\nSELECT 2\n", &["SELECT 1", "SELECT 2"]),
        ("", &[]),
        (" \n\t", &[]),
        // A byte order mark at the start is skipped.
        ("\u{FEFF}SELECT 1;", &["SELECT 1"]),
        ("\u{FEFF}DELIMITER $$\nSELECT 1$$", &["SELECT 1"]),
        // The end of the script inside a string or comment.
        ("SELECT 1;\nSELECT 'abc;\n", &["SELECT 1", "ERR line 2: unterminated string at the end of the script (it starts at byte 17)"]),
        ("SELECT `a", &["ERR line 1: unterminated identifier at the end of the script (it starts at byte 7)"]),
        ("SELECT 1;\n\n/* abc", &["SELECT 1", "ERR line 3: unterminated comment at the end of the script (it starts at byte 11)"]),
        ("SELECT 'a\\", &["ERR line 1: unterminated string at the end of the script (it starts at byte 7)"]),
        ("SELECT 'a''", &["ERR line 1: unterminated string at the end of the script (it starts at byte 7)"]),
        // DELIMITER without a usable argument.
        ("SELECT 1;\nDELIMITER\nSELECT 2;", &["SELECT 1", "ERR line 2: DELIMITER needs a delimiter without backslashes (byte 10)"]),
        ("DELIMITER \\\\\n", &["ERR line 1: DELIMITER needs a delimiter without backslashes (byte 0)"]),
    ];
    for &(input, want) in cases {
        assert_eq!(texts(input.as_bytes()), want, "{input:?}");
    }
}

#[test]
fn binary_bytes_are_statement_text() {
    let input = b"INSERT INTO t VALUES ('\0\r\n\x1a\xff\xfe;\\'');\nSELECT 0x00;";
    let got = texts(input);
    assert_eq!(got.len(), 2);
    let first = split_with(input, &[3]).remove(0).unwrap();
    assert_eq!(first.sql, &input[..input.len() - 14]);
}

#[test]
fn offsets_and_lines() {
    let input = b"-- c\n\nSELECT 1;  SELECT\n2;\n/* x\n*/ SELECT 3;\nDELIMITER $$\n\n'a'$$ b";
    let want: &[(&[u8], u64, u64)] = &[
        (b"SELECT 1", 6, 3),
        (b"SELECT\n2", 17, 3),
        (b"SELECT 3", 35, 6),
        (b"'a'", 59, 9),
        (b"b", 65, 9),
    ];
    for sizes in [&[usize::MAX][..], &[1], &[5, 2]] {
        let got: Vec<(Vec<u8>, u64, u64)> = split_with(input, sizes)
            .into_iter()
            .map(|r| r.map(|s| (s.sql, s.offset, s.line)).unwrap())
            .collect();
        let want: Vec<(Vec<u8>, u64, u64)> =
            want.iter().map(|&(s, o, l)| (s.to_vec(), o, l)).collect();
        assert_eq!(got, want, "chunks {sizes:?}");
    }
}

#[test]
fn quoting_follows_the_session() {
    let input = b"SELECT 'a\\';\nSELECT \"b\\\";\nSELECT 'c\\';";
    let mut s = Splitter::new(&input[..]);
    s.set_quoting(Quoting::from_status_flags(0x0200));
    assert_eq!(s.next().unwrap().unwrap().sql, b"SELECT 'a\\'");
    s.set_quoting(Quoting::from_status_flags(0x8000));
    assert!(s.quoting().ansi_quotes);
    assert_eq!(s.next().unwrap().unwrap().sql, b"SELECT \"b\\\"");
    s.set_quoting(Quoting::default());
    let err = s.next().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            SplitError::Unterminated {
                what: "string",
                line: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(s.next().is_none());
}

#[test]
fn too_large_statements_are_refused() {
    let input = b"SELECT 1;\nSELECT 1234567890;\nSELECT 2;";
    for sizes in [&[usize::MAX][..], &[1]] {
        let reader = Trickle {
            data: input,
            sizes: sizes.to_vec(),
            turn: 0,
        };
        let got: Vec<_> = Splitter::new(reader).with_max_statement(10).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].as_ref().unwrap().sql, b"SELECT 1");
        assert!(
            matches!(
                got[1],
                Err(SplitError::TooLarge {
                    line: 2,
                    offset: 10,
                    limit: 10
                })
            ),
            "{:?}",
            got[1]
        );
    }
    let exact: Vec<_> = Splitter::new(&b"SELECT 123;"[..])
        .with_max_statement(10)
        .collect();
    assert_eq!(exact[0].as_ref().unwrap().sql, b"SELECT 123");
}

#[test]
fn read_errors_carry_the_offset() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.min(out.len());
            out[..n].fill(b' ');
            self.0 -= n;
            Ok(n)
        }
    }
    let got: Vec<_> = Splitter::new(Failing(5)).collect();
    assert!(
        matches!(got[..], [Err(SplitError::Io { offset: 5, .. })]),
        "{got:?}"
    );
}

#[test]
fn huge_statements_take_the_buffer() {
    let mut input = b"-- x\nINSERT INTO t VALUES ('".to_vec();
    input.resize(input.len() + HAND_OVER + 10, b'a');
    input.extend_from_slice(b"');\n\nSELECT 2;");
    let got: Vec<Statement> = Splitter::new(&input[..]).map(Result::unwrap).collect();
    assert_eq!(got.len(), 2);
    let want = &input[5..input.len() - 12];
    assert_eq!(
        (got[0].sql.len(), got[0].sql.ends_with(b"')")),
        (want.len(), true)
    );
    assert!(got[0].sql == want);
    assert_eq!(
        (got[1].sql.as_slice(), got[1].line, got[1].offset),
        (&b"SELECT 2"[..], 4, input.len() as u64 - 9)
    );
}

#[test]
fn splits_what_the_dump_writes() {
    use crate::sql::script::{header, object_block, ObjectSession, Session};
    let create = "CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN SELECT ';;'; -- x\nEND";
    let session = ObjectSession {
        sql_mode: "ANSI_QUOTES".into(),
        time_zone: Some("+01:00".into()),
        ..ObjectSession::default()
    };
    let mut script = header(
        "t",
        Session {
            database: Some("d`b"),
            data: true,
            history: true,
        },
    );
    script.push_str(&object_block("d`b", create, &session));
    script.push_str("INSERT INTO `t` (`a`) VALUES\n(1),\n('x;y');\n");
    let got = texts(script.as_bytes());
    assert_eq!(got.len(), 16, "{got:#?}");
    assert_eq!(got[0], "SET NAMES utf8mb4");
    assert_eq!(got[4], "SET autocommit = 1");
    assert_eq!(got[6], "/*M!100201 SET check_constraint_checks = 0 */");
    assert_eq!(got[8], "USE `d``b`");
    assert!(got.contains(&create.to_string()));
    assert_eq!(got[15], "INSERT INTO `t` (`a`) VALUES\n(1),\n('x;y')");
}

#[test]
fn delimiter_is_cut_as_the_client_cuts_it() {
    let mut s = Splitter::new(&b"DELIMITER 0123456789abcdefgh\nA0123456789abcdeB"[..]);
    assert_eq!(s.next().unwrap().unwrap().sql, b"A");
    assert_eq!(s.delimiter(), b"0123456789abcde");
}

/// One value as the dump writes it.
fn literal() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop::sample::select(vec![
        ValueKind::Text,
        ValueKind::Binary,
        ValueKind::Bit,
        ValueKind::Numeric,
        ValueKind::Introduced(Introducer::new("sjis").unwrap()),
    ]);
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"';\\\"`$/*-#\n\r\0\x1a DELIMITER".to_vec()),
    ];
    (kind, prop::option::of(prop::collection::vec(byte, 0..40))).prop_map(|(kind, value)| {
        let mut out = Vec::new();
        push_value(&mut out, kind, value.as_deref());
        out
    })
}

/// An INSERT as the dump writes it, with its number of rows.
fn insert() -> impl Strategy<Value = (Vec<u8>, u64)> {
    prop::collection::vec(prop::collection::vec(literal(), 1..4), 1..5).prop_map(|rows| {
        let mut sql = b"INSERT INTO `t;` (`a`,`b`) VALUES".to_vec();
        for (i, row) in rows.iter().enumerate() {
            sql.extend_from_slice(if i == 0 { b"\n(" } else { b",\n(" });
            sql.extend_from_slice(&row.join(&b","[..]));
            sql.push(b')');
        }
        (sql, rows.len() as u64)
    })
}

/// Bytes heavy in everything the splitter decides on.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"'"[..],
        b"\"",
        b"`",
        b"\\",
        b";",
        b";;",
        b"$$",
        b"-",
        b"--",
        b"-- ",
        b"#",
        b"/",
        b"/*",
        b"*/",
        b"/*!",
        b"/*M!",
        b"\n",
        b"\r\n",
        b" ",
        b"a",
        b"\0",
        b"DELIMITER $$\n",
        b"delimiter ;\n",
        b"DELIMITER ;;\n",
        b"\xEF\xBB\xBF",
        b"SELECT 1",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn dump_statements_round_trip(
        statements in prop::collection::vec(insert(), 0..6),
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let sqls: Vec<&[u8]> = statements.iter().map(|(s, _)| s.as_slice()).collect();
        let script = [sqls.join(&b";\n"[..]), b";\n".to_vec()].concat();
        let got: Vec<Vec<u8>> = split_with(&script, &sizes)
            .into_iter()
            .map(|r| r.map(|s| s.sql))
            .collect::<Result<_, _>>()
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(&got, &sqls);
        for (sql, (_, rows)) in got.iter().zip(&statements) {
            prop_assert_eq!(count_insert_rows(sql), Some(*rows));
            let (table, ranges) = insert_rows(sql).unwrap();
            prop_assert_eq!(table, b"`t;`");
            prop_assert_eq!(ranges.len() as u64, *rows);
        }
    }

    #[test]
    fn chunking_never_changes_the_result(
        input in soup(),
        sizes in prop::collection::vec(1usize..9, 1..8),
    ) {
        prop_assert_eq!(split_with(&input, &sizes), split_with(&input, &[usize::MAX]));
    }
}

/// 200 MB of one INSERT of 5000 rows made by `row`, repeated.
fn bench_script(row: impl Fn(u64) -> String) -> Vec<u8> {
    let mut statement = b"INSERT INTO `sbtest1` (`id`,`k`,`c`,`pad`) VALUES".to_vec();
    for id in 1..=5000u64 {
        statement.extend_from_slice(if id == 1 { b"\n" } else { b",\n" });
        statement.extend_from_slice(row(id).as_bytes());
    }
    statement.extend_from_slice(b";\n");
    statement.repeat((200 << 20) / statement.len() + 1)
}

/// `cargo test --release --lib -- --ignored --nocapture split::tests::throughput`
#[test]
#[ignore]
fn throughput() {
    let num = |id: u64, k: u64| format!("{:011}", (id * 7919 + k * 104_729) % 99_999_999_999);
    let sbtest = bench_script(|id| {
        let c: Vec<String> = (0..10).map(|k| num(id, k)).collect();
        let pad: Vec<String> = (10..15).map(|k| num(id, k)).collect();
        format!(
            "({id},{},'{}','{}')",
            id % 50021,
            c.join("-"),
            pad.join("-")
        )
    });
    let numeric = bench_script(|id| {
        let hex: String = (0..8).map(|k| num(id, k)).collect();
        format!("({id},-{},0x{hex},NULL,{}.5e-3)", id % 50021, id * 3)
    });
    for (name, script) in [("sbtest", &sbtest), ("hex and numbers", &numeric)] {
        let mb = script.len() as f64 / 1e6;
        for count in [false, true] {
            let start = std::time::Instant::now();
            let (mut statements, mut rows) = (0u64, 0u64);
            for s in Splitter::new(&script[..]) {
                let s = s.unwrap();
                statements += 1;
                if count {
                    rows += count_insert_rows(&s.sql).unwrap();
                }
            }
            let secs = start.elapsed().as_secs_f64();
            assert!(!count || rows == statements * 5000);
            let what = if count {
                "split + count_insert_rows"
            } else {
                "split"
            };
            eprintln!(
                "{name}: {mb:.0} MB, {statements} statements: {what} {:.0} MB/s",
                mb / secs
            );
        }
    }
}
