//! Property: whatever a database holds survives `mybak dump` → `mybak verify` → `mybak restore`
//! onto another server exactly (definitions and bytes, as the harness comparator sees them).
//!
//! Generated with a fixed seed, so every run tries the same cases (`MYBAK_ROUNDTRIP_SEED` and
//! `MYBAK_ROUNDTRIP_CASES` pick others): databases, tables, columns and indexes named by random
//! identifiers (any character MariaDB 10.11 takes in a name: quotes, backticks, dots, spaces,
//! control characters, any BMP character, up to 64 characters; what the server refuses is left
//! out by construction, see [`server_takes`]), tables with columns of every type (integers of
//! each width signed and unsigned, DECIMAL, FLOAT, DOUBLE, BIT, DATE, TIME, DATETIME, TIMESTAMP,
//! YEAR, CHAR/VARCHAR/TEXT in utf8mb4 and latin1, BINARY/VARBINARY/BLOB, ENUM, SET, JSON,
//! GEOMETRY, INET4, INET6, UUID) and random values with NULLs and the edges (minimum, maximum,
//! zero dates, FLOAT max, subnormals, empty strings, the bytes 0x00 0x5C 0x27 0xFF, every latin1
//! byte, 4-byte UTF-8). Restores run with indexes deferred in every table (`--defer-min-size 0`)
//! and as by default (small tables: inline).
//!
//! Text columns come in character sets without a lossless round trip through utf8mb4 too (sjis,
//! cp932, big5, gbk, ujis, eucjpms, ascii, ucs2, utf16, utf32: issue 9), holding characters whose
//! last byte is 0x5C or 0x27 and supplementary characters (see [`POOLS`]). Tables whose every
//! column is generated are tested in `roundtrip_exactness.rs`. Left out, each where it is generated, with the reason: characters outside the BMP in
//! ENUM/SET members (the server shows them as `?`, see [`members`]).
//!
//! A failure prints the SQL that made the case; proptest then shrinks it for up to two minutes.

mod common;

use std::fmt::Write as _;

use mysql::prelude::Queryable;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use common::compare::{ident, quote};
use common::dump::run_dump;
use common::{compare_databases, mybak_cmd, mybak_restore_cmd, mybak_verify_cmd, Server};

/// Cases per run: each creates, dumps, verifies, restores and compares one to six tables in a
/// fraction of a second.
const CASES: u32 = 32;
const SEED: u64 = 0x6d79_6261_6b5f_7274;

// ---------------------------------------------------------------------------------------------
// Names

/// The bytes MariaDB's file-name encoding spends on `c` at most: letters, digits and `_` are
/// kept, most letters of the Latin, Greek, Cyrillic, Armenian and fullwidth blocks take 3 bytes
/// (`@0j`; the ranges measured one by one), anything else 5 (`@xxxx`). Database and table names must encode to 250 bytes or
/// fewer (the file name and its extension fit 255); measured on 10.11.
fn encoded_len(c: char) -> usize {
    const THREE: &[(u32, u32)] = &[
        (0xC0, 0xD6),
        (0xD8, 0xF6),
        (0xF8, 0x12F),
        (0x131, 0x1BE),
        (0x1C4, 0x1C4),
        (0x1C6, 0x1C7),
        (0x1C9, 0x1CA),
        (0x1CC, 0x1F1),
        (0x1F3, 0x1F6),
        (0x1F8, 0x241),
        (0x386, 0x386),
        (0x388, 0x38A),
        (0x38C, 0x38C),
        (0x38E, 0x3A1),
        (0x3A3, 0x3CE),
        (0x3D0, 0x3D7),
        (0x3D9, 0x3F3),
        (0x3F5, 0x3F6),
        (0x3F8, 0x3F8),
        (0x3FB, 0x481),
        (0x48A, 0x4CE),
        (0x4D0, 0x4F9),
        (0x500, 0x50F),
        (0x531, 0x555),
        (0x561, 0x585),
        (0xFF21, 0xFF3A),
        (0xFF41, 0xFF5A),
    ];
    let u = c as u32;
    if c.is_ascii_alphanumeric() || c == '_' {
        1
    } else if THREE.iter().any(|&(a, b)| (a..=b).contains(&u)) {
        3
    } else {
        5
    }
}

/// Whitespace a name may not end in (`my_isspace`).
fn is_end_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Database,
    Table,
    Column,
    Index,
}

/// Whether MariaDB 10.11 takes `name` as a name of this kind: 1 to 64 characters of the Basic
/// Multilingual Plane but NUL (utf8mb3), not ending in whitespace; database and table names not
/// starting with `#mysql50#` and encoding to at most 250 bytes of file name; no index called
/// PRIMARY. (System databases are also left out: a dump never holds them.)
fn server_takes(name: &str, kind: NameKind) -> bool {
    let count = name.chars().count();
    let files = matches!(kind, NameKind::Database | NameKind::Table);
    (1..=64).contains(&count)
        && name.chars().all(|c| c != '\0' && (c as u32) <= 0xFFFF)
        && !name.ends_with(is_end_space)
        && !(files && name.starts_with("#mysql50#"))
        && !(files && name.chars().map(encoded_len).sum::<usize>() > 250)
        && !(kind == NameKind::Index && name.eq_ignore_ascii_case("PRIMARY"))
        && !(kind == NameKind::Database
            && ["mysql", "information_schema", "performance_schema", "sys"]
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s)))
}

/// A character of a name: everything that needs quoting or encoding, often.
fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select("`'\".@ \\/;,-=~!#$%^&*()[]{}<>?|+:_".chars().collect::<Vec<_>>()),
        3 => prop::char::range('a', 'z'),
        1 => prop::char::range('A', 'Z'),
        1 => prop::char::range('0', '9'),
        1 => prop::char::range('\u{1}', '\u{1f}'),
        1 => prop::char::range('\u{7f}', '\u{ff}'),
        1 => prop::char::range('\u{391}', '\u{44f}'),
        1 => prop::char::range('\u{4e00}', '\u{9fff}'),
        1 => select(vec!['\u{feff}', '\u{ffff}', '\u{200b}', '\u{2028}', '\u{a0}', '\u{3000}']),
        1 => prop::char::range('\u{1}', '\u{ffff}'),
    ]
}

/// A name the server takes, made from random characters: cut to what fits, never empty.
fn name(kind: NameKind, max_chars: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(name_char(), 1..=max_chars),
        1 => prop::collection::vec(name_char(), max_chars..=max_chars),
    ]
    .prop_map(move |chars| {
        let mut name: String = chars.into_iter().collect();
        loop {
            while name.ends_with(is_end_space) {
                name.pop();
            }
            if name.is_empty() {
                name.push('x');
            }
            if server_takes(&name, kind) || name.chars().count() == 1 {
                break;
            }
            name.pop();
        }
        if !server_takes(&name, kind) {
            name = format!("x{name}");
        }
        assert!(server_takes(&name, kind), "{name:?}");
        name
    })
}

// ---------------------------------------------------------------------------------------------
// Types and values

#[derive(Debug, Clone, Copy)]
enum Charset {
    Utf8mb4(&'static str),
    Latin1(&'static str),
    /// A character set without a lossless round trip through utf8mb4, and the characters (hex)
    /// its values are made of.
    Lossy(&'static str, &'static [&'static str]),
}

impl Charset {
    fn clause(self) -> String {
        match self {
            Charset::Utf8mb4(c) => format!("CHARACTER SET utf8mb4 COLLATE {c}"),
            Charset::Latin1(c) => format!("CHARACTER SET latin1 COLLATE {c}"),
            Charset::Lossy(cs, _) => format!("CHARACTER SET {cs}"),
        }
    }
}

/// Characters (as hex, each complete) of character sets whose conversion through utf8mb4 is not
/// the identity: multibyte characters whose last byte is 0x5C (sjis ソ 0x835C, 表 0x955C, big5
/// 許 0xB35C), the byte 0x5C itself (sjis maps it to U+005C and back to 0x815F), quotes, NUL,
/// bytes above 0x7F in ascii, supplementary characters in UTF-16/32.
const POOLS: &[(&str, &[&str])] = &[
    (
        "sjis",
        &[
            "835C", "955C", "815F", "5C", "27", "41", "00", "0A", "8160", "B1",
        ],
    ),
    (
        "cp932",
        &["835C", "8794", "ED40", "815F", "5C", "27", "8160"],
    ),
    ("big5", &["B35C", "A45C", "A15C", "5C", "27", "41"]),
    ("gbk", &["815C", "A15C", "8140", "5C", "27", "41"]),
    ("ujis", &["8FA2AF", "A1C0", "8EB1", "5C", "27", "41"]),
    ("eucjpms", &["8FA2B7", "A1C1", "8EB1", "5C", "27"]),
    ("ascii", &["80", "FF", "5C", "27", "41", "00"]),
    ("ucs2", &["005C", "0027", "FF3C", "0000", "3042"]),
    ("utf16", &["D83DDE00", "DBFFDFFF", "005C", "0027", "FF3C"]),
    ("utf32", &["0001F600", "0010FFFF", "0000005C", "00000027"]),
];

#[derive(Debug, Clone)]
enum Ty {
    Int {
        name: &'static str,
        bits: u32,
        unsigned: bool,
    },
    Decimal(u32, u32),
    Float,
    Double,
    Bit(u32),
    Date,
    Time(u32),
    DateTime(u32),
    Timestamp(u32),
    Year,
    Char(u32, Charset),
    VarChar(u32, Charset),
    Text(Charset),
    Binary(u32),
    VarBinary(u32),
    Blob,
    Enum(Vec<String>),
    Set(Vec<String>),
    Json,
    Geometry,
    Inet4,
    Inet6,
    Uuid,
}

impl Ty {
    fn ddl(&self) -> String {
        let fsp = |n: &u32| {
            if *n > 0 {
                format!("({n})")
            } else {
                String::new()
            }
        };
        let members = |m: &[String]| m.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",");
        match self {
            Ty::Int { name, unsigned, .. } => {
                format!("{name}{}", if *unsigned { " UNSIGNED" } else { "" })
            }
            Ty::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            Ty::Float => "FLOAT".into(),
            Ty::Double => "DOUBLE".into(),
            Ty::Bit(n) => format!("BIT({n})"),
            Ty::Date => "DATE".into(),
            Ty::Time(n) => format!("TIME{}", fsp(n)),
            Ty::DateTime(n) => format!("DATETIME{}", fsp(n)),
            Ty::Timestamp(n) => format!("TIMESTAMP{} NULL DEFAULT NULL", fsp(n)),
            Ty::Year => "YEAR".into(),
            Ty::Char(n, cs) => format!("CHAR({n}) {}", cs.clause()),
            Ty::VarChar(n, cs) => format!("VARCHAR({n}) {}", cs.clause()),
            Ty::Text(cs) => format!("TEXT {}", cs.clause()),
            Ty::Binary(n) => format!("BINARY({n})"),
            Ty::VarBinary(n) => format!("VARBINARY({n})"),
            Ty::Blob => "BLOB".into(),
            Ty::Enum(m) => format!(
                "ENUM({}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                members(m)
            ),
            Ty::Set(m) => format!(
                "SET({}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                members(m)
            ),
            Ty::Json => "JSON".into(),
            Ty::Geometry => "GEOMETRY".into(),
            Ty::Inet4 => "INET4".into(),
            Ty::Inet6 => "INET6".into(),
            Ty::Uuid => "UUID".into(),
        }
    }
}

/// Distinct ENUM/SET members: a distinct digit first (members compare by collation), then any
/// characters (a SET member has no comma). All-space tails give the `''` member.
///
/// No characters outside the Basic Multilingual Plane: MariaDB 10.11 shows them as `?` in the
/// member list of `SHOW CREATE TABLE`, so a restored table has a `?`
/// member where the source had `😀`, and the value reads as the error value `''` there. Found
/// by this test: `CREATE TABLE t (e ENUM('x😀') CHARACTER SET utf8mb4)`, value `'x😀'`.
fn members(set: bool) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::collection::vec(
                prop_oneof![
                    3 => name_char(),
                    1 => select(vec!['\u{FFFF}', '\0', '\'', '\\', ' ']),
                ],
                0..8,
            ),
            1 => Just(vec![' ', ' ']),
        ],
        1..6,
    )
    .prop_map(move |tails| {
        tails
            .into_iter()
            .enumerate()
            .map(|(i, tail)| {
                let tail: String = tail.into_iter().filter(|&c| !(set && c == ',')).collect();
                if tail.trim_matches(' ').is_empty() && !set && i == 0 {
                    // The `''` member (trailing spaces go): only the first, so no duplicates.
                    return tail;
                }
                // The server drops a member's trailing spaces; a SET value must name it without.
                format!("{i}{tail}").trim_end_matches(' ').to_string()
            })
            .collect()
    })
}

fn ty() -> impl Strategy<Value = Ty> {
    let int = (
        select(vec![
            ("TINYINT", 8),
            ("SMALLINT", 16),
            ("MEDIUMINT", 24),
            ("INT", 32),
            ("BIGINT", 64),
        ]),
        any::<bool>(),
    )
        .prop_map(|((name, bits), unsigned)| Ty::Int {
            name,
            bits,
            unsigned,
        });
    let utf8 = select(vec![
        "utf8mb4_bin",
        "utf8mb4_general_ci",
        "utf8mb4_unicode_ci",
        "utf8mb4_nopad_bin",
    ])
    .prop_map(Charset::Utf8mb4);
    let latin1 = select(vec!["latin1_swedish_ci", "latin1_bin"]).prop_map(Charset::Latin1);
    let lossy = select(POOLS.to_vec()).prop_map(|(cs, pool)| Charset::Lossy(cs, pool));
    let charset = prop_oneof![2 => utf8, 1 => latin1, 1 => lossy];
    prop_oneof![
        4 => int,
        1 => (1u32..=65).prop_flat_map(|p| (Just(p), 0..=p.min(38)))
            .prop_map(|(p, s)| Ty::Decimal(p, s)),
        1 => Just(Ty::Float),
        1 => Just(Ty::Double),
        1 => (1u32..=64).prop_map(Ty::Bit),
        1 => Just(Ty::Date),
        1 => (0u32..=6).prop_map(Ty::Time),
        1 => (0u32..=6).prop_map(Ty::DateTime),
        1 => (0u32..=6).prop_map(Ty::Timestamp),
        1 => Just(Ty::Year),
        1 => (1u32..=30, charset.clone()).prop_map(|(n, c)| Ty::Char(n, c)),
        2 => (1u32..=60, charset.clone()).prop_map(|(n, c)| Ty::VarChar(n, c)),
        2 => charset.prop_map(Ty::Text),
        1 => (1u32..=16).prop_map(Ty::Binary),
        1 => (1u32..=40).prop_map(Ty::VarBinary),
        2 => Just(Ty::Blob),
        1 => members(false).prop_map(Ty::Enum),
        1 => members(true).prop_map(Ty::Set),
        1 => Just(Ty::Json),
        1 => Just(Ty::Geometry),
        1 => Just(Ty::Inet4),
        1 => Just(Ty::Inet6),
        1 => Just(Ty::Uuid),
    ]
}

/// A value to insert: SQL text, and whether it needs a non-strict session (the ENUM error value).
#[derive(Debug, Clone)]
struct Value {
    sql: Option<String>,
    lenient: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::from("X'"), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    }) + "'"
}

/// Bytes with the ones that need escaping often.
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<u8>(),
            2 => select(vec![0u8, 0x5C, 0x27, 0xFF, 0x22, 0x0A, 0x0D, 0x1A, 0x20, 0x80, 0x81]),
        ],
        0..=max,
    )
}

/// Text with the characters that need care often, all of Unicode sometimes.
fn text(max_chars: usize, latin1: bool) -> BoxedStrategy<Vec<u8>> {
    if latin1 {
        // Any latin1 byte (MariaDB's latin1 maps all 256), written as `_latin1 X'…'`.
        return bytes(max_chars).boxed();
    }
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => select(vec!['\0', '\'', '\\', '"', '\n', '\r', '\u{1a}', ' ', '%', '_', '\u{1F600}',
                '\u{FEFF}', '\u{FFFF}', '\u{10FFFF}', '\u{e9}', ';', '`']),
            2 => prop::char::range('a', 'z'),
        ],
        0..=max_chars,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>().into_bytes())
    .boxed()
}

/// A text literal for `bytes` in `charset`: hex with an introducer, or an escaped string.
fn text_literal(bytes: &[u8], latin1: bool, escaped: bool) -> String {
    if latin1 {
        return format!("_latin1 {}", hex(bytes));
    }
    if !escaped {
        return format!("_utf8mb4 {}", hex(bytes));
    }
    let mut out = String::from("'");
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Up to `max` characters of `pool` as a `_charset X'…'` literal.
fn lossy_text(
    cs: &'static str,
    pool: &'static [&'static str],
    max: usize,
) -> BoxedStrategy<String> {
    prop::collection::vec(select(pool.to_vec()), 0..=max)
        .prop_map(move |chars| format!("_{cs} X'{}'", chars.concat()))
        .boxed()
}

fn int_value(bits: u32, unsigned: bool) -> BoxedStrategy<String> {
    if unsigned {
        let max = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        prop_oneof![Just(0), Just(max), Just(1), 0..=max]
            .prop_map(|v| v.to_string())
            .boxed()
    } else {
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        let min = -max - 1;
        prop_oneof![Just(min), Just(max), Just(0), Just(-1), min..=max]
            .prop_map(|v| v.to_string())
            .boxed()
    }
}

fn digits(n: u32) -> BoxedStrategy<String> {
    prop_oneof![
        1 => Just("9".repeat(n as usize)),
        3 => prop::collection::vec(0u8..10, n as usize)
            .prop_map(|d| d.into_iter().map(|d| char::from(b'0' + d)).collect()),
    ]
    .boxed()
}

fn float_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<f32>().prop_filter("finite", |f| f.is_finite()),
        1 => select(vec![0.0f32, -0.0, f32::MAX, -f32::MAX, f32::MIN_POSITIVE, 1.0e-45, 0.1, 1.0 / 3.0]),
    ]
    .prop_map(|f| format!("{:e}", f64::from(f)))
    .boxed()
}

fn double_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<f64>().prop_filter("finite", |f| f.is_finite()),
        1 => select(vec![0.0f64, -0.0, f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 5e-324, 0.1, 1.0 / 3.0]),
    ]
    .prop_map(|f| format!("{f:e}"))
    .boxed()
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1000u32..=9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => select(vec!["0000-00-00", "2020-00-00", "2020-02-00", "0001-01-01", "1000-01-01",
            "9999-12-31", "2024-02-29"]).prop_map(str::to_string),
    ]
}

fn fraction(fsp: u32) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, fsp as usize).prop_map(|d| {
        if d.is_empty() {
            String::new()
        } else {
            format!(
                ".{}",
                d.into_iter()
                    .map(|d| char::from(b'0' + d))
                    .collect::<String>()
            )
        }
    })
}

fn clock() -> impl Strategy<Value = String> {
    (0u32..24, 0u32..60, 0u32..60).prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}"))
}

fn value_of(ty: &Ty) -> BoxedStrategy<Value> {
    let quoted = |s: BoxedStrategy<String>| s.prop_map(|s| format!("'{s}'")).boxed();
    let sql: BoxedStrategy<String> = match ty.clone() {
        Ty::Int { bits, unsigned, .. } => int_value(bits, unsigned),
        Ty::Decimal(p, s) => (any::<bool>(), digits(p - s), digits(s))
            .prop_map(move |(neg, i, f)| {
                let i = if i.is_empty() { "0".to_string() } else { i };
                let sign = if neg { "-" } else { "" };
                if s == 0 { format!("{sign}{i}") } else { format!("{sign}{i}.{f}") }
            })
            .boxed(),
        Ty::Float => float_value(),
        Ty::Double => double_value(),
        Ty::Bit(n) => any::<u64>()
            .prop_map(move |v| {
                let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                format!("b'{v:b}'")
            })
            .boxed(),
        Ty::Date => quoted(date().boxed()),
        Ty::Time(fsp) => quoted(
            prop_oneof![
                4 => (any::<bool>(), 0u32..=838, 0u32..60, 0u32..60, fraction(fsp)).prop_map(
                    |(neg, h, m, s, f)| format!("{}{h}:{m:02}:{s:02}{f}", if neg { "-" } else { "" })
                ),
                1 => select(vec!["838:59:59", "-838:59:59", "00:00:00", "-00:00:01"]).prop_map(str::to_string),
            ]
            .boxed(),
        ),
        Ty::DateTime(fsp) => quoted(
            prop_oneof![
                4 => (date(), clock(), fraction(fsp)).prop_map(|(d, c, f)| format!("{d} {c}{f}")),
                1 => select(vec!["0000-00-00 00:00:00", "9999-12-31 23:59:59", "1000-01-01 00:00:00"])
                    .prop_map(str::to_string),
            ]
            .boxed(),
        ),
        // In UTC (the inserting session's time zone): 1970-01-01 00:00:01 to 2038-01-19 03:14:07.
        Ty::Timestamp(fsp) => quoted(
            prop_oneof![
                4 => (1971u32..=2037, 1u32..=12, 1u32..=28, clock(), fraction(fsp))
                    .prop_map(|(y, m, d, c, f)| format!("{y:04}-{m:02}-{d:02} {c}{f}")),
                1 => select(vec!["0000-00-00 00:00:00", "1970-01-01 00:00:01", "2038-01-19 03:14:07"])
                    .prop_map(str::to_string),
            ]
            .boxed(),
        ),
        Ty::Year => prop_oneof![Just(0u32), 1901u32..=2155]
            .prop_map(|y| y.to_string())
            .boxed(),
        Ty::Char(n, Charset::Lossy(cs, pool)) | Ty::VarChar(n, Charset::Lossy(cs, pool)) => {
            lossy_text(cs, pool, n as usize)
        }
        Ty::Text(Charset::Lossy(cs, pool)) => lossy_text(cs, pool, 60),
        Ty::Char(n, cs) | Ty::VarChar(n, cs) => {
            let latin1 = matches!(cs, Charset::Latin1(_));
            (text(n as usize, latin1), any::<bool>())
                .prop_map(move |(b, esc)| text_literal(&b, latin1, esc))
                .boxed()
        }
        Ty::Text(cs) => {
            let latin1 = matches!(cs, Charset::Latin1(_));
            (text(120, latin1), any::<bool>())
                .prop_map(move |(b, esc)| text_literal(&b, latin1, esc))
                .boxed()
        }
        Ty::Binary(n) | Ty::VarBinary(n) => bytes(n as usize).prop_map(|b| hex(&b)).boxed(),
        Ty::Blob => bytes(300).prop_map(|b| hex(&b)).boxed(),
        Ty::Enum(m) => {
            // Index 0 is the error value, which only a non-strict session stores.
            let n = m.len();
            return prop_oneof![
                6 => (0..n).prop_map(move |i| Value { sql: Some(quote(&m[i])), lenient: false }),
                1 => Just(Value { sql: Some("0".into()), lenient: true }),
                1 => Just(Value { sql: None, lenient: false }),
            ]
            .boxed();
        }
        Ty::Set(m) => prop::collection::vec(any::<bool>(), m.len())
            .prop_map(move |pick| {
                let chosen: Vec<&str> = m
                    .iter()
                    .zip(pick)
                    .filter(|(_, p)| *p)
                    .map(|(s, _)| s.as_str())
                    .collect();
                quote(&chosen.join(","))
            })
            .boxed(),
        Ty::Json => json_value()
            .prop_map(|v| quote(&v.to_string()))
            .boxed(),
        Ty::Geometry => prop_oneof![
            (double_value(), double_value()).prop_map(|(x, y)| format!("ST_GeomFromText('POINT({x} {y})')")),
            prop::collection::vec((-1e9f64..1e9, -1e9f64..1e9), 2..5).prop_map(|pts| {
                let pts: Vec<String> = pts.iter().map(|(x, y)| format!("{x:e} {y:e}")).collect();
                format!("ST_GeomFromText('LINESTRING({})')", pts.join(","))
            }),
        ]
        .boxed(),
        Ty::Inet4 => any::<[u8; 4]>()
            .prop_map(|b| format!("'{}.{}.{}.{}'", b[0], b[1], b[2], b[3]))
            .boxed(),
        Ty::Inet6 => prop_oneof![
            any::<[u16; 8]>().prop_map(|w| {
                let w: Vec<String> = w.iter().map(|x| format!("{x:x}")).collect();
                format!("'{}'", w.join(":"))
            }),
            any::<[u8; 4]>().prop_map(|b| format!("'::ffff:{}.{}.{}.{}'", b[0], b[1], b[2], b[3])),
            select(vec!["'::'", "'::1'"]).prop_map(str::to_string),
        ]
        .boxed(),
        // 10.11 refuses a version nibble of 8 or more unless byte 8 is 0x81 or more (measured).
        Ty::Uuid => any::<[u8; 16]>()
            .prop_map(|mut b| {
                if b[6] >= 0x80 {
                    b[8] = b[8].max(0x81);
                }
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("'{}-{}-{}-{}-{}'", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
            })
            .boxed(),
    };
    prop_oneof![
        6 => sql.prop_map(|s| Value { sql: Some(s), lenient: false }),
        1 => Just(Value { sql: None, lenient: false }),
    ]
    .boxed()
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e300f64..1e300).prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::String),
        text(12, false).prop_map(|b| serde_json::Value::String(String::from_utf8(b).unwrap())),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Databases

#[derive(Debug, Clone)]
struct Column {
    name: String,
    ty: Ty,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    /// A first column `INT PRIMARY KEY` with the row numbers.
    primary_key: Option<String>,
    columns: Vec<Column>,
    /// A secondary index: its name and the column it covers.
    index: Option<(String, usize)>,
    rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone)]
struct Database {
    name: String,
    latin1: bool,
    tables: Vec<Table>,
}

/// Column names: a distinct uppercase letter or digit first (names compare case-insensitively),
/// then anything.
const COLUMN_MARKS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn table() -> impl Strategy<Value = Table> {
    (
        name(NameKind::Table, 64),
        prop::option::of(name(NameKind::Column, 63)),
        prop::collection::vec((name(NameKind::Column, 63), ty()), 1..10),
        prop::option::of((name(NameKind::Index, 64), any::<prop::sample::Index>())),
    )
        .prop_flat_map(|(name, primary_key, columns, index)| {
            let columns: Vec<Column> = columns
                .into_iter()
                .enumerate()
                .map(|(i, (n, ty))| {
                    let mut name = format!("{}{n}", char::from(COLUMN_MARKS[i + 1]));
                    while name.chars().count() > 64 {
                        name.pop();
                    }
                    while name.ends_with(is_end_space) {
                        name.pop();
                    }
                    Column { name, ty }
                })
                .collect();
            let primary_key = primary_key.map(|n| {
                let mut name = format!("{}{n}", char::from(COLUMN_MARKS[0]));
                while name.ends_with(is_end_space) {
                    name.pop();
                }
                name
            });
            // Index a column the server can index without a prefix length.
            let indexable: Vec<usize> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| !matches!(c.ty, Ty::Text(_) | Ty::Blob | Ty::Json | Ty::Geometry))
                .map(|(i, _)| i)
                .collect();
            let index = index.and_then(|(n, at)| {
                (!indexable.is_empty()).then(|| (n, indexable[at.index(indexable.len())]))
            });
            let row: Vec<BoxedStrategy<Value>> = columns.iter().map(|c| value_of(&c.ty)).collect();
            let rows = prop::collection::vec(row, 0..10);
            (
                Just(name),
                Just(primary_key),
                Just(columns),
                Just(index),
                rows,
            )
        })
        .prop_map(|(name, primary_key, columns, index, rows)| Table {
            name,
            primary_key,
            columns,
            index,
            rows,
        })
}

fn databases() -> impl Strategy<Value = Vec<Database>> {
    let database = (
        name(NameKind::Database, 64),
        any::<bool>(),
        prop::collection::vec(table(), 1..4),
    )
        .prop_map(|(name, latin1, mut tables)| {
            let mut seen = std::collections::HashSet::new();
            tables.retain(|t| seen.insert(t.name.clone()));
            Database {
                name,
                latin1,
                tables,
            }
        });
    prop::collection::vec(database, 1..3).prop_map(|mut dbs| {
        let mut seen = std::collections::HashSet::new();
        dbs.retain(|d| seen.insert(d.name.clone()));
        dbs
    })
}

/// The statements that create and fill `db`: (SQL, whether it runs in a non-strict session).
fn statements(db: &Database) -> Vec<(String, bool)> {
    let d = ident(&db.name);
    let charset = if db.latin1 { "latin1" } else { "utf8mb4" };
    let mut out = vec![(
        format!("CREATE DATABASE {d} CHARACTER SET {charset}"),
        false,
    )];
    for t in &db.tables {
        let table = format!("{d}.{}", ident(&t.name));
        let mut defs: Vec<String> = Vec::new();
        if let Some(pk) = &t.primary_key {
            defs.push(format!("{} INT NOT NULL PRIMARY KEY", ident(pk)));
        }
        for c in &t.columns {
            defs.push(format!("{} {}", ident(&c.name), c.ty.ddl()));
        }
        if let Some((name, at)) = &t.index {
            defs.push(format!(
                "KEY {} ({})",
                ident(name),
                ident(&t.columns[*at].name)
            ));
        }
        out.push((
            format!(
                "CREATE TABLE {table} (\n  {}\n) ENGINE=InnoDB",
                defs.join(",\n  ")
            ),
            false,
        ));
        let mut names: Vec<String> = t.primary_key.iter().map(|n| ident(n)).collect();
        names.extend(t.columns.iter().map(|c| ident(&c.name)));
        let head = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
        let (mut strict, mut lenient) = (Vec::new(), Vec::new());
        for (i, row) in t.rows.iter().enumerate() {
            let mut values: Vec<String> = t.primary_key.iter().map(|_| i.to_string()).collect();
            values.extend(
                row.iter()
                    .map(|v| v.sql.clone().unwrap_or_else(|| "NULL".into())),
            );
            let tuple = format!("({})", values.join(", "));
            if row.iter().any(|v| v.lenient) {
                lenient.push(tuple);
            } else {
                strict.push(tuple);
            }
        }
        if !strict.is_empty() {
            out.push((format!("{head}{}", strict.join(",\n")), false));
        }
        for tuple in lenient {
            out.push((format!("{head}{tuple}"), true));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The property

fn fail(msg: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(msg.into())
}

/// Creates `dbs` on `src`; the SQL of everything for the failure message.
fn create(src: &Server, dbs: &[Database]) -> Result<String, TestCaseError> {
    let mut conn = src.conn();
    conn.query_drop("SET NAMES utf8mb4; SET time_zone = '+00:00'")
        .map_err(|e| fail(e.to_string()))?;
    let mut script = String::new();
    for db in dbs {
        for (sql, lenient) in statements(db) {
            let mode = if lenient { "''" } else { "DEFAULT" };
            conn.query_drop(format!("SET SESSION sql_mode = {mode}"))
                .map_err(|e| fail(e.to_string()))?;
            let _ = writeln!(script, "SET SESSION sql_mode = {mode};\n{sql};");
            if let Err(e) = conn.query_drop(&sql) {
                return Err(fail(format!(
                    "the server refused generated SQL: {e}\n{sql}"
                )));
            }
        }
    }
    Ok(script)
}

fn drop_all(server: &Server, dbs: &[Database]) {
    let mut conn = server.conn();
    for db in dbs {
        let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(&db.name)));
    }
}

/// Dump, verify, restore onto `dst`, compare: every difference, with the SQL that made the case.
fn round_trip(
    src: &Server,
    dst: &Server,
    dbs: &[Database],
    restore_args: &[&str],
) -> Result<(), TestCaseError> {
    let script = create(src, dbs)?;
    let context = |what: String| fail(format!("{what}\n--- SQL of the case ---\n{script}"));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(src);
    cmd.arg("--output-dir").arg(root.path());
    let out = run_dump(cmd);
    if out.code != Some(0) {
        return Err(context(format!(
            "dump exit {:?}:\n{}",
            out.code, out.stderr
        )));
    }
    let dir = out.dump_dir(root.path());
    let out = run_dump(mybak_verify_cmd(&dir));
    if out.code != Some(0) {
        return Err(context(format!(
            "verify exit {:?}:\n{}{}",
            out.code, out.stdout, out.stderr
        )));
    }
    let mut cmd = mybak_restore_cmd(dst, &dir);
    cmd.args(restore_args);
    let out = run_dump(cmd);
    if out.code != Some(0) {
        return Err(context(format!(
            "restore {restore_args:?} exit {:?}:\n{}",
            out.code, out.stderr
        )));
    }
    let mut diffs = Vec::new();
    for db in dbs {
        if let Err(e) = compare_databases(src, &db.name, dst, &db.name) {
            diffs.push(format!("database {}:\n{e}", ident(&db.name)));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(context(format!(
            "restore {restore_args:?}: {}",
            diffs.join("\n")
        )))
    }
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_databases_survive_dump_and_restore() {
    let src = Server::shared();
    let dst = Server::start_new();
    let config = Config {
        cases: env_or("MYBAK_ROUNDTRIP_CASES", CASES),
        rng_seed: RngSeed::Fixed(env_or("MYBAK_ROUNDTRIP_SEED", SEED)),
        failure_persistence: None,
        max_shrink_iters: 24,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (
        databases(),
        select(vec![
            &[][..],
            &["--defer-min-size", "0"][..],
            &["--threads", "3"][..],
        ]),
    );
    let result = runner.run(&strategy, |(dbs, args)| {
        let tables: Vec<&Table> = dbs.iter().flat_map(|d| &d.tables).collect();
        let start = std::time::Instant::now();
        let result = round_trip(src, &dst, &dbs, args);
        eprintln!(
            "case: {} databases, {} tables, {} columns, {} rows, restore {args:?}: {} in {:.1?}",
            dbs.len(),
            tables.len(),
            tables.iter().map(|t| t.columns.len()).sum::<usize>(),
            tables.iter().map(|t| t.rows.len()).sum::<usize>(),
            if result.is_ok() { "same" } else { "DIFFERENT" },
            start.elapsed()
        );
        drop_all(src, &dbs);
        drop_all(&dst, &dbs);
        result
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Deferring indexes cuts `SHOW CREATE TABLE` into definitions at line ends: a line end inside a
/// quoted name (the index's, an indexed column's, or any column's followed by `  KEY ` or `)`)
/// must not cut a definition in two. Found by the property above.
#[test]
fn defer_indexes_with_a_newline_in_a_name() {
    // A server of its own: the property above dumps every database of the shared one.
    let src = &Server::start_new();
    let dst = Server::start_new();
    let mut failed = Vec::new();
    for columns in [
        "a INT, KEY `k\nx` (a)",
        "`a\nb` INT, KEY k (`a\nb`)",
        "a INT, `b\n  KEY c` INT, KEY k (a)",
        "a INT, `b\n) c` INT, KEY k (a)",
    ] {
        let db = common::unique_name("nl");
        src.exec(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t ({columns}); INSERT INTO {db}.t VALUES ()"
        ));
        let root = tempfile::tempdir().unwrap();
        let dir = common::dump_databases(src, root.path(), &db, &[]);
        let mut cmd = mybak_restore_cmd(&dst, &dir);
        cmd.args(["--defer-min-size", "0"]);
        let out = run_dump(cmd);
        if out.code != Some(0) {
            failed.push(format!("{columns:?}: {}", out.stderr));
        } else if let Err(e) = compare_databases(src, &db, &dst, &db) {
            failed.push(format!("{columns:?}: {e}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
