//! Whether a table's `SHOW CREATE TABLE` still describes the columns information_schema listed
//! for it earlier: the check that lets a dump without a DDL guard use the columns it read for
//! every table at its start (see [`super::Details`]).
//!
//! What is compared is all a data dump takes from the columns ([`super::data_columns_of`]): their
//! names in order, each one's type as `COLUMN_TYPE` spells it, whether and how it is generated,
//! and its character set. The check errs one way only: a text it does not fully recognise
//! (another statement, an attribute it does not know right after the type, a generation clause
//! of another form, no table character set where one is needed) counts as changed, and the
//! caller reads the columns again; it never takes a changed definition for the same one.

use super::columns::{ColumnRow, Generation};

/// Words that may follow a column's type in `SHOW CREATE TABLE`. Anything else there (`unsigned`
/// after a `COLUMN_TYPE` of `int(11)`, say) means the type is not the one listed.
const ATTRIBUTES: [&str; 15] = [
    "CHARACTER",
    "COLLATE",
    "NOT",
    "NULL",
    "DEFAULT",
    "GENERATED",
    "INVISIBLE",
    "AUTO_INCREMENT",
    "ON",
    "COMMENT",
    "CHECK",
    "WITHOUT",
    "REFERENCES",
    "PRIMARY",
    "UNIQUE",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A backticked name, unquoted.
    Ident(String),
    /// A quoted string.
    Str,
    Open,
    Close,
    Comma,
    /// `/* … */`
    Comment,
    /// Anything else up to a space or one of the above: `int`, `CHARSET=utf8mb4`, `1.50`.
    Word,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Token {
    /// The token's text in `s`, the text it was read from.
    fn text<'a>(&self, s: &'a str) -> &'a str {
        s.get(self.start..self.end).unwrap_or_default()
    }
}

/// Whether a word ends before byte `i` of `b`: a space, a quote, a parenthesis, a comma or a
/// comment starts there.
fn ends_word(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        None => true,
        Some(&c) => {
            c.is_ascii_whitespace()
                || matches!(c, b'`' | b'\'' | b'"' | b'(' | b')' | b',')
                || (c == b'/' && b.get(i + 1) == Some(&b'*'))
        }
    }
}

/// The tokens of `s`; `None` when a quote or comment is not closed.
fn tokens(s: &str) -> Option<Vec<Token>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let kind = match b[i] {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'`' => {
                let mut name = Vec::new();
                i += 1;
                loop {
                    match (b.get(i)?, b.get(i + 1)) {
                        (b'`', Some(b'`')) => {
                            name.push(b'`');
                            i += 2;
                        }
                        (b'`', _) => break,
                        (&c, _) => {
                            name.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                Kind::Ident(String::from_utf8(name).ok()?)
            }
            q @ (b'\'' | b'"') => {
                i += 1;
                loop {
                    match (b.get(i)?, b.get(i + 1)) {
                        (b'\\', _) => i += 2,
                        (&c, Some(&n)) if c == q && n == q => i += 2,
                        (&c, _) if c == q => break,
                        _ => i += 1,
                    }
                }
                i += 1;
                Kind::Str
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let close = s.get(i + 2..)?.find("*/")?;
                i += 2 + close + 2;
                Kind::Comment
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            _ => {
                while i < b.len() && !ends_word(b, i) {
                    i += 1;
                }
                Kind::Word
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Some(out)
}

/// The tokens of `tokens` outside parentheses (a parenthesised group shows as its `Open`).
fn top_level(tokens: &[Token]) -> Vec<&Token> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for t in tokens {
        match t.kind {
            Kind::Open => {
                if depth == 0 {
                    out.push(t);
                }
                depth += 1;
            }
            Kind::Close => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(t),
            _ => {}
        }
    }
    out
}

/// The parts of a `CREATE TABLE` text: its definitions (columns, keys, periods, checks) and
/// the tokens of its table options.
struct Create<'a> {
    definitions: Vec<&'a [Token]>,
    options: &'a [Token],
}

fn split_create<'a>(text: &str, tokens: &'a [Token]) -> Option<Create<'a>> {
    let word = |i: usize, w: &str| {
        tokens
            .get(i)
            .is_some_and(|t| t.kind == Kind::Word && t.text(text).eq_ignore_ascii_case(w))
    };
    let named = matches!(
        tokens.get(2),
        Some(Token {
            kind: Kind::Ident(_),
            ..
        })
    );
    if !(word(0, "CREATE") && word(1, "TABLE") && named && tokens.get(3)?.kind == Kind::Open) {
        return None;
    }
    let mut definitions = Vec::new();
    let (mut depth, mut from) = (0usize, 4);
    for (i, t) in tokens.iter().enumerate().skip(4) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close if depth == 0 => {
                definitions.push(tokens.get(from..i)?);
                return Some(Create {
                    definitions,
                    options: tokens.get(i + 1..)?,
                });
            }
            Kind::Close => depth -= 1,
            Kind::Comma if depth == 0 => {
                definitions.push(tokens.get(from..i)?);
                from = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// The table's default character set (`DEFAULT CHARSET=x`); `None` when the options name none
/// or more than one.
fn table_charset<'a>(text: &'a str, options: &[Token]) -> Option<&'a str> {
    let mut found = top_level(options).into_iter().filter_map(|t| {
        let w = t.text(text);
        let (key, value) = w.split_once('=')?;
        (t.kind == Kind::Word && key.eq_ignore_ascii_case("CHARSET")).then_some(value)
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Whether `create` (a `SHOW CREATE TABLE` text) describes `columns` (information_schema rows in
/// ordinal order) as far as a data dump is concerned; see the module documentation.
pub fn matches(create: &str, columns: &[ColumnRow]) -> bool {
    let Some(tokens) = tokens(create) else {
        return false;
    };
    let Some(parts) = split_create(create, &tokens) else {
        return false;
    };
    let defined: Vec<&[Token]> = parts
        .definitions
        .iter()
        .copied()
        .filter(|d| {
            matches!(
                d.first(),
                Some(Token {
                    kind: Kind::Ident(_),
                    ..
                })
            )
        })
        .collect();
    if defined.len() != columns.len() {
        return false;
    }
    let charset = table_charset(create, parts.options);
    defined
        .iter()
        .zip(columns)
        .all(|(d, c)| column_matches(create, d, c, charset))
}

/// Whether the definition `def` (its tokens in `text`) is the column `c`, in a table whose
/// default character set is `table_charset`.
fn column_matches(text: &str, def: &[Token], c: &ColumnRow, table_charset: Option<&str>) -> bool {
    let (Some(first), Some(last)) = (def.first(), def.last()) else {
        return false;
    };
    if first.kind != Kind::Ident(c.name.clone()) {
        return false;
    }
    // The type, spelled as COLUMN_TYPE spells it, then nothing or a space.
    let after = text.get(first.end..last.end).unwrap_or_default();
    let Some(rest) = after
        .strip_prefix(' ')
        .and_then(|a| a.strip_prefix(c.column_type.as_str()))
    else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with(' '))
        || !c
            .column_type
            .to_ascii_lowercase()
            .starts_with(&c.data_type.to_ascii_lowercase())
    {
        return false;
    }
    let rest_at = last.end - rest.len();
    let attrs: Vec<&Token> = top_level(
        &def[def
            .iter()
            .position(|t| t.start >= rest_at)
            .unwrap_or(def.len())..],
    );
    let word = |t: &&Token| (t.kind == Kind::Word).then(|| t.text(text));
    let words: Vec<Option<&str>> = attrs.iter().map(word).collect();
    let is = |i: usize, w: &str| {
        words
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|x| x.eq_ignore_ascii_case(w))
    };
    if !attrs.is_empty() && !ATTRIBUTES.iter().any(|a| is(0, a)) {
        return false;
    }
    // `GENERATED ALWAYS AS ROW START|END` or `GENERATED ALWAYS AS (…)`; any other `AS` is not
    // understood.
    let generation = match (0..words.len()).find(|&i| is(i, "AS")) {
        None => Generation::Stored,
        Some(i) if i >= 2 && is(i - 2, "GENERATED") && is(i - 1, "ALWAYS") => {
            match (is(i + 1, "ROW"), attrs.get(i + 1).map(|t| &t.kind)) {
                (true, _) if is(i + 2, "START") => Generation::RowStart,
                (true, _) if is(i + 2, "END") => Generation::RowEnd,
                (false, Some(Kind::Open)) => Generation::Expression,
                _ => return false,
            }
        }
        Some(_) => return false,
    };
    if generation != c.generation() {
        return false;
    }
    let explicit = (0..words.len())
        .find(|&i| is(i, "CHARACTER") && is(i + 1, "SET"))
        .map(|i| words.get(i + 2).copied().flatten());
    match (&c.charset, explicit) {
        // `CHARACTER SET` without a name after it.
        (_, Some(None)) => false,
        (None, Some(Some(_))) => false,
        (None, None) => true,
        (Some(listed), Some(Some(now))) => listed.eq_ignore_ascii_case(now),
        (Some(listed), None) => table_charset.is_some_and(|t| listed.eq_ignore_ascii_case(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::columns::tests::row;
    use super::*;

    /// `SHOW CREATE TABLE` of a MariaDB 10.11 table with most kinds of columns, and its
    /// information_schema.COLUMNS rows.
    const WIDE: &str = "CREATE TABLE `t` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `z` int(5) unsigned zerofill DEFAULT NULL,
  `c` varchar(10) CHARACTER SET sjis COLLATE sjis_japanese_ci DEFAULT 'x,y''z',
  `cb` varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  `g` int(11) GENERATED ALWAYS AS (`z` + 1) VIRTUAL,
  `s` int(11) GENERATED ALWAYS AS (`z` * 2) STORED,
  `e` enum('a','','it''s') DEFAULT NULL,
  `st` set('x','y') CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  `h` int(11) INVISIBLE DEFAULT NULL COMMENT 'GENERATED ALWAYS AS (1), CHARACTER SET x',
  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),
  `f` float DEFAULT NULL,
  `d` decimal(10,2) DEFAULT 1.50,
  `b` blob DEFAULT NULL,
  `bt` bit(3) DEFAULT b'101',
  `ts` timestamp(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),
  `u` uuid DEFAULT NULL,
  `y` year(4) DEFAULT NULL,
  `dt` datetime DEFAULT (current_timestamp() + interval 1 day),
  `cmp` varchar(100) /*M!100301 COMPRESSED*/ DEFAULT NULL,
  `de` int(11) DEFAULT (cast('1' as signed)),
  `nl` text DEFAULT 'a\\nb\\\\c\\'d',
  `we``ird, name` char(2),
  PRIMARY KEY (`id`),
  UNIQUE KEY `uc` (`cb`),
  KEY `k` (`c`(3))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='DEFAULT CHARSET=sjis'";

    fn wide_rows() -> Vec<ColumnRow> {
        vec![
            row("id", "int", "int(10) unsigned", None, None),
            row("z", "int", "int(5) unsigned zerofill", None, None),
            row("c", "varchar", "varchar(10)", Some("sjis"), None),
            row("cb", "varchar", "varchar(10)", Some("utf8mb4"), None),
            row("g", "int", "int(11)", None, Some("`z` + 1")),
            row("s", "int", "int(11)", None, Some("`z` * 2")),
            row("e", "enum", "enum('a','','it''s')", Some("utf8mb4"), None),
            row("st", "set", "set('x','y')", Some("latin1"), None),
            row("h", "int", "int(11)", None, None),
            row("j", "longtext", "longtext", Some("utf8mb4"), None),
            row("f", "float", "float", None, None),
            row("d", "decimal", "decimal(10,2)", None, None),
            row("b", "blob", "blob", None, None),
            row("bt", "bit", "bit(3)", None, None),
            row("ts", "timestamp", "timestamp(6)", None, None),
            row("u", "uuid", "uuid", None, None),
            row("y", "year", "year(4)", None, None),
            row("dt", "datetime", "datetime", None, None),
            row(
                "cmp",
                "varchar",
                "varchar(100) /*M!100301 COMPRESSED*/",
                Some("utf8mb4"),
                None,
            ),
            row("de", "int", "int(11)", None, None),
            row("nl", "text", "text", Some("utf8mb4"), None),
            row("we`ird, name", "char", "char(2)", Some("utf8mb4"), None),
        ]
    }

    const VERSIONED: &str = "CREATE TABLE `v` (
  `id` int(11) NOT NULL,
  `rs` timestamp(6) GENERATED ALWAYS AS ROW START,
  `re` timestamp(6) GENERATED ALWAYS AS ROW END,
  `x` text DEFAULT NULL,
  PRIMARY KEY (`id`,`re`),
  PERIOD FOR SYSTEM_TIME (`rs`, `re`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci WITH SYSTEM VERSIONING";

    fn versioned_rows() -> Vec<ColumnRow> {
        vec![
            row("id", "int", "int(11)", None, None),
            row("rs", "timestamp", "timestamp(6)", None, Some("ROW START")),
            row("re", "timestamp", "timestamp(6)", None, Some("ROW END")),
            row("x", "text", "text", Some("latin1"), None),
        ]
    }

    #[test]
    fn real_definitions_match_their_columns() {
        assert!(matches(WIDE, &wide_rows()));
        assert!(matches(VERSIONED, &versioned_rows()));
        let implicit = "CREATE TABLE `w` (\n  `id` int(11) DEFAULT NULL,\n  `x` text DEFAULT NULL\n) \
                        ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci WITH SYSTEM VERSIONING";
        assert!(matches(
            implicit,
            &[
                row("id", "int", "int(11)", None, None),
                row("x", "text", "text", Some("latin1"), None)
            ]
        ));
    }

    /// Every change to the columns a dump reads, made to the listed rows, is seen.
    #[test]
    fn any_change_that_matters_is_seen() {
        type Edit = fn(&mut Vec<ColumnRow>);
        let cases: &[(&str, Edit)] = &[
            ("a column added", |r| {
                r.push(row("extra", "int", "int(11)", None, None))
            }),
            ("a column dropped", |r| {
                r.remove(3);
            }),
            ("columns reordered", |r| r.swap(0, 1)),
            ("a column renamed", |r| r[2].name = "C".into()),
            ("signedness", |r| r[0].column_type = "int(10)".into()),
            ("a wider type", |r| r[2].column_type = "varchar(1)".into()),
            ("enum members", |r| {
                r[6].column_type = "enum('a','it''s')".into()
            }),
            ("a column charset", |r| {
                r[2].charset = Some("utf8mb4".into())
            }),
            ("a charset from the table default", |r| {
                r[6].charset = Some("sjis".into())
            }),
            ("a charset where there was none", |r| r[2].charset = None),
            ("now generated", |r| r[4].generated = false),
            ("now stored", |r| {
                r[0].generated = true;
                r[0].expression = Some("1".into());
            }),
            ("the data type", |r| r[0].data_type = "bigint".into()),
            ("compression", |r| r[18].column_type = "varchar(100)".into()),
        ];
        for (what, edit) in cases {
            let mut rows = wide_rows();
            edit(&mut rows);
            assert!(!matches(WIDE, &rows), "{what} went unseen");
        }
        let mut rows = versioned_rows();
        rows[1].expression = Some("ROW END".into());
        assert!(!matches(VERSIONED, &rows), "row start taken for row end");
        let mut rows = versioned_rows();
        rows[1].generated = false;
        assert!(!matches(VERSIONED, &rows), "a period column made plain");
    }

    /// Texts not fully understood count as changed.
    #[test]
    fn what_is_not_understood_counts_as_changed() {
        let one = |ty: &str, charset: Option<&str>| {
            let data_type = ty.split('(').next().unwrap_or(ty);
            vec![row("a", data_type, ty, charset, None)]
        };
        let cases: &[(&str, Vec<ColumnRow>)] = &[
            ("", one("int(11)", None)),
            ("CREATE VIEW `v` AS select 1 AS `a`", one("int(11)", None)),
            ("CREATE TABLE `t` (\n  `a` int(11)", one("int(11)", None)),
            (
                "CREATE TABLE `t` (\n  `a` int(11) DEFAULT 'open\n)",
                one("int(11)", None),
            ),
            (
                "CREATE TABLE `t` (\n  `a` int(11) /* open\n)",
                one("int(11)", None),
            ),
            (
                "CREATE TABLE `t` (\n  `a` int(11) SIGNED\n)",
                one("int(11)", None),
            ),
            (
                "CREATE TABLE `t` (\n  `a` int(11)0\n)",
                one("int(11)", None),
            ),
            ("CREATE TABLE `t` (\n  `a` int(11) AS (1) VIRTUAL\n)", {
                let mut r = one("int(11)", None);
                r[0].generated = true;
                r
            }),
            (
                "CREATE TABLE `t` (\n  `a` int(11) GENERATED ALWAYS AS IDENTITY\n)",
                {
                    let mut r = one("int(11)", None);
                    r[0].generated = true;
                    r
                },
            ),
            // A text column whose charset the table does not say.
            (
                "CREATE TABLE `t` (\n  `a` text\n) ENGINE=InnoDB",
                one("text", Some("latin1")),
            ),
            (
                "CREATE TABLE `t` (\n  `a` text\n) DEFAULT CHARSET=latin1 CHARSET=utf8mb4",
                one("text", Some("latin1")),
            ),
            (
                "CREATE TABLE `t` (\n  `a` text CHARACTER SET\n)",
                one("text", Some("latin1")),
            ),
            ("CREATE TABLE `t` (\n  `a` int(11)\n)", vec![]),
        ];
        for (create, rows) in cases {
            assert!(!matches(create, rows), "{create:?} taken for {rows:?}");
        }
        // The table's own charset, and not one in its comment.
        let create =
            "CREATE TABLE `t` (\n  `a` text\n) DEFAULT CHARSET=latin1 COMMENT='CHARSET=sjis'";
        assert!(matches(create, &one("text", Some("latin1"))));
        assert!(!matches(create, &one("text", Some("sjis"))));
    }
}
