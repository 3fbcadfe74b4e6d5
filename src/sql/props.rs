//! Property tests of the pure SQL text functions on names of any Unicode up to 64 characters
//! (backticks, quotes, dots, `@`, NUL, control characters, emoji): identifiers quote and read
//! back, file names stay safe, short and distinct, literal decoders never panic and agree with
//! the encoders, the restore's database rename rewrites exactly the name.
//!
//! Bounded for CI: 16 to 256 cases per property, well under a second each;
//! `PROPTEST_CASES=N cargo test --lib props` runs N of each for a longer fuzzing session.

use proptest::prelude::*;
use proptest::sample::select;

use super::ident::{
    decode_file_name, file_name, push_ident, qualified, quote_ident, quote_string, read_backticked,
};
use super::literal::{
    decode_bit_literal, decode_hex_literal, push_value, unescape_string_literal, ValueKind,
};
use super::split::Splitter;
use crate::restore::rewrite::{
    defer_indexes, disable_event, may_occur, names_database, referenced_tables, rename_statement,
    rewrite_references, Dialect, Rename,
};

use crate::proptest_cases::config;

/// A name of up to 64 characters of any kind, heavy in the ones that need care.
fn name() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => select(vec![
            '`', '\'', '"', '.', '@', '\0', '\\', '/', ' ', '\n', '\t', ';', '~', '-', '_', 'a',
            'S', '0', '\u{e9}', '\u{65e5}', '\u{1F600}', '\u{FEFF}', '\u{FFFF}', '\u{80}',
        ]),
        3 => any::<char>(),
        2 => prop::char::range('a', 'z'),
    ];
    prop_oneof![
        4 => prop::collection::vec(c.clone(), 0..=64),
        1 => prop::collection::vec(c, 64..=64),
        1 => (select(vec!['.', '`', '@', '\u{1F600}', '\u{65e5}', 'x']), 60usize..=64)
            .prop_map(|(c, n)| vec![c; n]),
    ]
    .prop_map(|cs| cs.into_iter().collect())
}

/// A name with one character changed, inserted, removed or its case flipped.
fn near(name: &str, at: prop::sample::Index, c: char, how: u8) -> String {
    let mut cs: Vec<char> = name.chars().collect();
    let i = at.index(cs.len() + 1);
    match how {
        0 if i < cs.len() => cs[i] = c,
        1 if i < cs.len() => {
            cs.remove(i);
        }
        2 if i < cs.len() => {
            let flipped: Vec<char> = if cs[i].is_uppercase() {
                cs[i].to_lowercase().collect()
            } else {
                cs[i].to_uppercase().collect()
            };
            cs.splice(i..=i, flipped);
        }
        _ => cs.insert(i, c),
    }
    cs.into_iter().collect()
}

proptest! {
    #![proptest_config(config(16))]

    /// Quoted identifiers read back as the names, alone, qualified and followed by more text,
    /// and are one token each to the splitter (a script of them all, split once).
    #[test]
    fn identifiers_read_back(
        names in prop::collection::vec((name(), name(), "([ .;,)(][ .;,)(`]{0,2})?"), 1..8),
    ) {
        let mut script = String::new();
        let mut want = Vec::new();
        for (db, table, tail) in &names {
            let quoted = quote_ident(db);
            let mut pushed = Vec::new();
            push_ident(&mut pushed, db);
            prop_assert_eq!(&pushed, quoted.as_bytes());
            prop_assert_eq!(read_backticked(&quoted), Some((db.clone(), "")));
            let both = qualified(db, table);
            let (first, rest) = read_backticked(&both).unwrap();
            prop_assert_eq!(&first, db);
            let rest = rest.strip_prefix('.').unwrap();
            prop_assert_eq!(read_backticked(rest), Some((table.clone(), "")));
            let followed = format!("{quoted}{tail}");
            prop_assert_eq!(read_backticked(&followed), Some((db.clone(), tail.as_str())));
            script.push_str(&format!("SELECT 1 FROM {both};\nSELECT {};\n", quote_string(table)));
            want.push(format!("SELECT 1 FROM {both}").into_bytes());
            want.push(format!("SELECT {}", quote_string(table)).into_bytes());
        }
        let statements: Vec<Vec<u8>> = Splitter::new(script.as_bytes())
            .map(|r| r.map(|s| s.sql))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(statements, want);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// File names of names up to 64 characters: safe, at most 197 bytes, never a dump file's
    /// name, reversible when not cut and a prefix with a hash when cut.
    #[test]
    fn file_names_are_safe_and_reversible(name in name()) {
        let encoded = file_name(&name);
        prop_assert!(!encoded.contains(['.', '/', '\\', '\0', ' ', '\n']), "{:?}", encoded);
        prop_assert!(encoded.len() <= 197, "{} bytes: {:?}", encoded.len(), encoded);
        prop_assert!(!encoded.eq_ignore_ascii_case("SHA256SUMS"));
        prop_assert_eq!(encoded.is_empty(), name.is_empty());
        let bytes = encoded.as_bytes();
        for (i, _) in encoded.match_indices('@') {
            prop_assert!(bytes.len() > i + 2 && bytes[i + 1..i + 3].iter().all(u8::is_ascii_hexdigit));
        }
        match encoded.rsplit_once('~') {
            Some((head, hash)) => {
                prop_assert_eq!(hash.len(), 16);
                let prefix = decode_file_name(head);
                prop_assert!(prefix.as_ref().is_some_and(|p| name.starts_with(p.as_str())), "{:?}", encoded);
            }
            None => prop_assert_eq!(decode_file_name(&encoded), Some(name)),
        }
    }

    /// Names that differ (by one character, or in letter case) get different file names.
    #[test]
    fn file_names_are_injective(
        name in name(),
        other in name(),
        at in any::<prop::sample::Index>(),
        c in prop_oneof![any::<char>(), select(vec!['@', '.', 'A', 'a', '\u{1F600}'])],
        how in 0u8..4,
    ) {
        for b in [other, near(&name, at, c, how)] {
            if b != name {
                prop_assert_ne!(file_name(&name), file_name(&b), "{:?} / {:?}", name, b);
            }
        }
    }

    /// The literal decoders never panic, and whatever they decode encodes back to a literal that
    /// decodes the same.
    #[test]
    fn literal_decoders_never_panic(
        body in prop::collection::vec(
            prop_oneof![any::<u8>(), select(b"'\\01xXbB\"%_".to_vec())],
            0..40,
        ),
        prefix in select(vec!["", "'", "0x", "X'", "x'", "b'", "B'", "0b"]),
        close in any::<bool>(),
    ) {
        let lit = [prefix.as_bytes(), &body, if close { b"'" } else { b"" }].concat();
        let reencode = |kind, v: &[u8]| {
            let mut out = Vec::new();
            push_value(&mut out, kind, Some(v));
            out
        };
        if let Some(v) = unescape_string_literal(&lit) {
            prop_assert_eq!(unescape_string_literal(&reencode(ValueKind::Text, &v)), Some(v));
        }
        if let Some(v) = decode_hex_literal(&lit) {
            prop_assert_eq!(decode_hex_literal(&reencode(ValueKind::Binary, &v)), Some(v));
        }
        if let Some(v) = decode_bit_literal(&lit) {
            prop_assert_eq!(decode_bit_literal(&reencode(ValueKind::Bit, &v)), Some(v));
        }
    }

    /// A `_charset 0x…` literal is the introducer and the hex literal of exactly the raw bytes.
    #[test]
    fn introduced_literals_are_the_charset_and_the_hex_of_the_bytes(
        charset in select(vec!["sjis", "cp932", "big5", "ucs2", "utf32", "gb18030"]),
        bytes in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let Some(cs) = crate::sql::literal::Introducer::new(charset) else {
            return Err(TestCaseError::fail("a valid name refused"));
        };
        let mut lit = Vec::new();
        push_value(&mut lit, ValueKind::Introduced(cs), Some(&bytes));
        let prefix = format!("_{charset} ");
        prop_assert!(lit.starts_with(prefix.as_bytes()));
        prop_assert_eq!(decode_hex_literal(&lit[prefix.len()..]), Some(bytes));
    }

    /// A database rename rewrites exactly the name in the statements that name the database,
    /// and the pure restore rewrites never panic on any text.
    #[test]
    fn renames_rewrite_exactly_the_name(
        from in name(),
        to in name(),
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                select(vec![
                    "CREATE TABLE `t` (\n", "  `a` int,\n", "  KEY `k` (`a`),\n", "  KEY ",
                    "  UNIQUE KEY `u` (`a`)\n", ") ENGINE=InnoDB", " REFERENCES `", "`.`", "`",
                    "\n  CONSTRAINT ", " FOREIGN KEY ", ",", "\n", ")", "\u{e9}", "\u{1F600}",
                ]),
                0..12,
            )
            .prop_map(|p| p.concat()),
        ],
    ) {
        let r = Rename { from: from.clone(), to: to.clone() };
        for (sql, want) in [
            (format!("CREATE DATABASE {} /*!40100 x */", quote_ident(&from)),
             format!("CREATE DATABASE {} /*!40100 x */", quote_ident(&to))),
            (format!("USE {}", quote_ident(&from)), format!("USE {}", quote_ident(&to))),
            (format!("ALTER DATABASE  {} CHARACTER SET x", quote_ident(&from)),
             format!("ALTER DATABASE  {} CHARACTER SET x", quote_ident(&to))),
        ] {
            let got = rename_statement(&sql, &r).unwrap_or(sql.clone());
            prop_assert_eq!(got, want);
        }
        let _ = (rename_statement(&text, &r), names_database(&text, &from));
        let _ = (referenced_tables(&text), defer_indexes(&text).map(|d| d.alter(&quote_ident(&to))));
    }
}

/// SQL-ish text: quotes, comments, executable comments, dots, variables, multi-byte characters.
fn sqlish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(
            select(vec![
                "`",
                "``",
                "'",
                "''",
                "\"",
                "\\",
                ".",
                " ",
                "\n",
                "-- ",
                "--",
                "#",
                "/*",
                "*/",
                "/*!50003 ",
                "/*M!100100 ",
                "@",
                "@@",
                "shop",
                "SHOP",
                "`shop`",
                "x",
                "1",
                "DO ",
                "ENABLE ",
                "DISABLE ",
                "ON SLAVE ",
                "CREATE ",
                "EVENT ",
                "\u{e9}",
                "\u{8868}",
                "\u{1F600}",
                "\u{0}",
            ]),
            0..24,
        )
        .prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// The token-aware reference rewrite and the event edit never panic on any text; where the
    /// old name does not occur the text stays as it is; a rewrite never leaves `` `from`. ``
    /// where the text had none outside strings, and the result only grows by the names.
    #[test]
    fn reference_rewrites_never_panic(
        text in sqlish(),
        from in prop_oneof![Just("shop".to_string()), name()],
        to in name(),
        ansi_quotes in any::<bool>(),
        no_backslash_escapes in any::<bool>(),
    ) {
        let dialect = Dialect { ansi_quotes, no_backslash_escapes };
        let renames = [Rename { from: from.clone(), to: to.clone() }];
        let got = rewrite_references(&text, &renames, dialect);
        if !may_occur(&text, &from) {
            prop_assert_eq!(got.as_deref(), None);
        }
        if let Some(out) = got {
            prop_assert_ne!(&out, &text);
        }
        // A quoted qualified reference always follows, whatever the names hold.
        if !from.is_empty() && from != to {
            let q = format!("SELECT {}.t, 'x' FROM y", quote_ident(&from));
            prop_assert_eq!(
                rewrite_references(&q, &renames, dialect),
                Some(format!("SELECT {}.t, 'x' FROM y", quote_ident(&to)))
            );
        }
        let _ = disable_event(&text, dialect);
        let mut d = Dialect::default();
        d.observe(&text);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The GRANT-line classifier and the CREATE TABLE option edit never panic on any text, and
    /// the edit only ever removes the `AUTO_INCREMENT=n` option.
    #[test]
    fn grant_and_create_edits_never_panic(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                select(vec![
                    "GRANT ", "SELECT ", " ON ", "PACKAGE ", "PACKAGE BODY ", "PROCEDURE ", "TABLE ",
                    "`", "``", ".", "*", " TO ", "(", ")", "'", "\"", "\\", " AUTO_INCREMENT=",
                    "12", "CREATE TABLE ", ") ENGINE=ARCHIVE", "\u{e9}", "\u{8868}", "\u{1F600}",
                ]),
                0..16,
            )
            .prop_map(|p| p.concat()),
        ],
    ) {
        let _ = super::grant::grant_target(&text);
        let _ = (super::account::grantee(&text), super::account::created_account(&text));
        let edited = super::create::without_auto_increment_option(&text);
        if edited != text {
            prop_assert!(edited.len() < text.len());
            prop_assert!(text.contains(" AUTO_INCREMENT="));
        }
    }
}
