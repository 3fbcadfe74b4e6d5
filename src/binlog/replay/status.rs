//! A Query event's status variables — the session context its statement ran in on the source —
//! and the one `SET` that gives the replay session that context, naming only what changed
//! since the last statement (as `mariadb-binlog` prints it).

/// The status variables replay uses; `None`: not in the event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub flags2: Option<u32>,
    pub sql_mode: Option<u64>,
    /// `auto_increment_increment`, `auto_increment_offset`.
    pub auto_increment: Option<(u16, u16)>,
    /// `character_set_client`, `collation_connection`, `collation_server` as collation ids.
    pub charset: Option<[u16; 3]>,
    pub time_zone: Option<Vec<u8>>,
    pub lc_time_names: Option<u16>,
    pub charset_database: Option<u16>,
    /// The fractional part of the statement's timestamp.
    pub microseconds: Option<u32>,
    /// MySQL's own status variable for `explicit_defaults_for_timestamp`.
    pub explicit_defaults: Option<bool>,
    /// MariaDB 11.2+ `character_set_collations`: (a character set's default collation id, the
    /// collation id used instead).
    pub character_set_collations: Option<Vec<(u16, u16)>>,
}

/// A little-endian reader over status variable bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "status variables truncated: {n} bytes wanted at offset {}",
                self.at
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let b = self.take(n)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(self.uint(2)? as u16)
    }

    /// A string preceded by its one-byte length.
    fn short_string(&mut self) -> Result<&'a [u8], String> {
        let n = self.uint(1)? as usize;
        self.take(n)
    }
}

/// MariaDB's Query event flags (`Q_GTID_FLAGS3`) that carry an 8-byte sequence number.
const ALTER_PHASE_FLAGS: u64 = 0x04 | 0x08;

/// Parses the status variables of a Query event. Codes are MySQL's 0–20 and MariaDB's 128–131;
/// an unknown code ends the parse, the rest being ignored, as the server does.
pub(crate) fn parse_status(raw: &[u8]) -> Result<Status, String> {
    let mut r = Reader { bytes: raw, at: 0 };
    let mut s = Status::default();
    while r.at < raw.len() {
        let code = r.uint(1)?;
        match code {
            0 => s.flags2 = Some(r.uint(4)? as u32),
            1 => s.sql_mode = Some(r.uint(8)?),
            // Q_CATALOG: length, bytes, NUL.
            2 => {
                let n = r.uint(1)? as usize;
                r.take(n + 1)?;
            }
            3 => s.auto_increment = Some((r.u16()?, r.u16()?)),
            4 => s.charset = Some([r.u16()?, r.u16()?, r.u16()?]),
            5 => s.time_zone = Some(r.short_string()?.to_vec()),
            6 => {
                r.short_string()?;
            }
            7 => s.lc_time_names = Some(r.u16()?),
            8 => s.charset_database = Some(r.u16()?),
            9 => {
                r.take(8)?;
            }
            10 => {
                r.take(4)?;
            }
            // Q_INVOKER: user and host, each with a length byte.
            11 => {
                r.short_string()?;
                r.short_string()?;
            }
            // Q_UPDATED_DB_NAMES: a count, then that many NUL-terminated names (254: none).
            12 => {
                let count = r.uint(1)?;
                if count != 254 {
                    for _ in 0..count {
                        while r.uint(1)? != 0 {}
                    }
                }
            }
            13 | 128 => s.microseconds = Some(r.uint(3)? as u32),
            16 => s.explicit_defaults = Some(r.uint(1)? != 0),
            17 | 129 => {
                r.take(8)?;
            }
            18 => {
                r.take(2)?;
            }
            19 | 20 => {
                r.take(1)?;
            }
            130 => {
                if r.uint(1)? & ALTER_PHASE_FLAGS != 0 {
                    r.take(8)?;
                }
            }
            131 => {
                let count = r.uint(1)? as usize;
                let mut map = Vec::with_capacity(count);
                for _ in 0..count {
                    map.push((r.u16()?, r.u16()?));
                }
                s.character_set_collations = Some(map);
            }
            _ => break,
        }
    }
    Ok(s)
}

/// Looks up a collation of the target server by id.
pub(crate) trait Collations {
    /// The (character set, collation) names of collation `id`.
    fn names(&mut self, id: u32) -> Result<(String, String), String>;
}

/// Q_FLAGS2 bits and the session variables they stand for: (bit, variable, value when the bit is
/// set, MariaDB only).
const FLAGS2: [(u32, &str, bool, bool); 8] = [
    (1 << 26, "foreign_key_checks", false, false),
    (1 << 14, "sql_auto_is_null", true, false),
    (1 << 27, "unique_checks", false, false),
    (1 << 19, "autocommit", false, false),
    (1 << 15, "check_constraint_checks", false, true),
    (1 << 28, "sql_if_exists", true, true),
    (1 << 24, "explicit_defaults_for_timestamp", true, true),
    (1 << 30, "system_versioning_insert_history", true, true),
];

/// The statement a Query event's context is taken from.
pub(crate) struct Context<'a> {
    pub timestamp: u32,
    pub thread_id: u32,
    pub status: &'a Status,
    /// The source is MariaDB (its Q_FLAGS2 carries MariaDB's own options).
    pub mariadb: bool,
    /// A transaction is open: `autocommit` is left alone (setting it would commit).
    pub in_transaction: bool,
}

/// What the replay session has been given so far; `None`: not set by the replay yet.
#[derive(Debug, Default, Clone)]
pub(crate) struct Session {
    timestamp: Option<(u32, u32)>,
    thread_id: Option<u32>,
    flags: Vec<(&'static str, bool)>,
    sql_mode: Option<u64>,
    auto_increment: Option<(u16, u16)>,
    charset: Option<[u16; 3]>,
    time_zone: Option<Vec<u8>>,
    lc_time_names: Option<u16>,
    charset_database: Option<Option<u16>>,
    explicit_defaults: Option<bool>,
    character_set_collations: Option<Vec<(u16, u16)>>,
}

impl Session {
    /// The assignments (`@@session.sql_mode=…`) that give the session `ctx`, for one `SET`.
    pub(crate) fn assignments(
        &mut self,
        ctx: &Context<'_>,
        collations: &mut dyn Collations,
    ) -> Result<Vec<String>, String> {
        let s = ctx.status;
        let mut out = Vec::new();
        let ts = (ctx.timestamp, s.microseconds.unwrap_or(0));
        if self.timestamp.replace(ts) != Some(ts) {
            out.push(match ts.1 {
                0 => format!("@@session.timestamp={}", ts.0),
                us => format!("@@session.timestamp={}.{us:06}", ts.0),
            });
        }
        if self.thread_id.replace(ctx.thread_id) != Some(ctx.thread_id) {
            out.push(format!("@@session.pseudo_thread_id={}", ctx.thread_id));
        }
        if let Some(flags2) = s.flags2 {
            self.flags2(flags2, ctx, &mut out);
        }
        if let Some(mode) = s.sql_mode {
            if self.sql_mode.replace(mode) != Some(mode) {
                out.push(format!("@@session.sql_mode={mode}"));
            }
        }
        let (inc, off) = s.auto_increment.unwrap_or((1, 1));
        if self.auto_increment.replace((inc, off)) != Some((inc, off)) {
            out.push(format!(
                "@@session.auto_increment_increment={inc}, @@session.auto_increment_offset={off}"
            ));
        }
        if let Some(cs @ [client, connection, server]) = s.charset {
            if self.charset.replace(cs) != Some(cs) {
                out.push(format!(
                    "@@session.character_set_client={client}, \
                     @@session.collation_connection={connection}, \
                     @@session.collation_server={server}"
                ));
            }
        }
        if let Some(tz) = &s.time_zone {
            if self.time_zone.as_ref() != Some(tz) {
                self.time_zone = Some(tz.clone());
                let name = std::str::from_utf8(tz).map_err(|_| "a time zone name in bytes")?;
                out.push(format!("@@session.time_zone={}", literal(name)?));
            }
        }
        self.locale_and_database(s, &mut out);
        if let Some(on) = s.explicit_defaults {
            if self.explicit_defaults.replace(on) != Some(on) {
                out.push(format!(
                    "@@session.explicit_defaults_for_timestamp={}",
                    u8::from(on)
                ));
            }
        }
        if let Some(map) = &s.character_set_collations {
            if self.character_set_collations.as_ref() != Some(map) {
                self.character_set_collations = Some(map.clone());
                out.push(character_set_collations(map, collations)?);
            }
        }
        Ok(out)
    }

    fn flags2(&mut self, flags2: u32, ctx: &Context<'_>, out: &mut Vec<String>) {
        for (bit, name, when_set, mariadb_only) in FLAGS2 {
            if (mariadb_only && !ctx.mariadb) || (ctx.in_transaction && name == "autocommit") {
                continue;
            }
            let value = if flags2 & bit != 0 {
                when_set
            } else {
                !when_set
            };
            match self.flags.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) if *v == value => continue,
                Some((_, v)) => *v = value,
                None => self.flags.push((name, value)),
            }
            out.push(format!("@@session.{name}={}", u8::from(value)));
        }
    }

    fn locale_and_database(&mut self, s: &Status, out: &mut Vec<String>) {
        let lc = s.lc_time_names.unwrap_or(0);
        if self.lc_time_names.replace(lc) != Some(lc) {
            out.push(format!("@@session.lc_time_names={lc}"));
        }
        if self.charset_database.replace(s.charset_database) != Some(s.charset_database) {
            out.push(match s.charset_database {
                Some(id) => format!("@@session.collation_database={id}"),
                None => "@@session.collation_database=DEFAULT".to_string(),
            });
        }
    }
}

fn character_set_collations(
    map: &[(u16, u16)],
    collations: &mut dyn Collations,
) -> Result<String, String> {
    let mut pairs = Vec::with_capacity(map.len());
    for (from, to) in map {
        let (charset, _) = collations.names(u32::from(*from))?;
        let (_, collation) = collations.names(u32::from(*to))?;
        pairs.push(format!("{charset}={collation}"));
    }
    Ok(format!(
        "@@session.character_set_collations={}",
        literal(&pairs.join(","))?
    ))
}

/// `'text'`, written so that it reads the same with and without `NO_BACKSLASH_ESCAPES` (the
/// replayed `sql_mode` may have it): text with a quote or a backslash is refused.
pub(crate) fn literal(text: &str) -> Result<String, String> {
    if text.contains(['\'', '\\']) || text.chars().any(char::is_control) {
        return Err(format!("unexpected characters in {text:?}"));
    }
    Ok(format!("'{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names;
    impl Collations for Names {
        fn names(&mut self, id: u32) -> Result<(String, String), String> {
            match id {
                45 => Ok(("utf8mb4".into(), "utf8mb4_general_ci".into())),
                2304 => Ok(("utf8mb4".into(), "utf8mb4_uca1400_ai_ci".into())),
                _ => Err(format!("no collation {id}")),
            }
        }
    }

    #[test]
    fn status_variables_parse() {
        let tz = [5, 6, b'+', b'0', b'5', b':', b'0', b'0'];
        let cases: Vec<(Vec<u8>, Result<Status, ()>)> = vec![
            (vec![], Ok(Status::default())),
            // MariaDB 10.11: flags2, sql_mode, catalog "std", charset.
            (
                [
                    &[0, 0, 0, 0, 1][..],
                    &[1, 0, 0, 0x20, 0x54, 0, 0, 0, 0],
                    &[6, 3, b's', b't', b'd'],
                    &[4, 0x21, 0, 0x21, 0, 8, 0],
                ]
                .concat(),
                Ok(Status {
                    flags2: Some(0x0100_0000),
                    sql_mode: Some(1_411_383_296),
                    charset: Some([33, 33, 8]),
                    ..Status::default()
                }),
            ),
            (
                [
                    &tz[..],
                    &[
                        7, 4, 0, 8, 9, 0, 128, 0x40, 0xe2, 0x01, 129, 1, 0, 0, 0, 0, 0, 0, 0,
                    ],
                ]
                .concat(),
                Ok(Status {
                    time_zone: Some(b"+05:00".to_vec()),
                    lc_time_names: Some(4),
                    charset_database: Some(9),
                    microseconds: Some(123_456),
                    ..Status::default()
                }),
            ),
            // Invoker, updated db names, GTID flags with and without the ALTER sequence number.
            (
                [
                    &[
                        11, 4, b'r', b'o', b'o', b't', 9, b'l', b'o', b'c', b'a', b'l', b'h', b'o',
                        b's', b't',
                    ][..],
                    &[12, 2, b'a', 0, b'b', b'c', 0],
                    &[130, 0],
                    &[130, 4, 1, 2, 3, 4, 5, 6, 7, 8],
                    &[3, 2, 0, 1, 0],
                ]
                .concat(),
                Ok(Status {
                    auto_increment: Some((2, 1)),
                    ..Status::default()
                }),
            ),
            (
                vec![131, 1, 45, 0, 0, 9],
                Ok(Status {
                    character_set_collations: Some(vec![(45, 2304)]),
                    ..Status::default()
                }),
            ),
            // MySQL 8: explicit_defaults_for_timestamp, default utf8mb4 collation, require PK.
            (
                vec![16, 1, 18, 0xff, 0, 19, 0, 20, 0],
                Ok(Status {
                    explicit_defaults: Some(true),
                    ..Status::default()
                }),
            ),
            // An unknown code ends the parse; what came before counts.
            (
                vec![7, 4, 0, 200, 1, 2, 3],
                Ok(Status {
                    lc_time_names: Some(4),
                    ..Status::default()
                }),
            ),
            (vec![0, 1, 2], Err(())),
            (vec![5, 10, b'+'], Err(())),
            (vec![12, 1, b'a'], Err(())),
            (vec![131, 2, 45, 0, 0, 9], Err(())),
        ];
        for (raw, want) in cases {
            let got = parse_status(&raw);
            match want {
                Ok(want) => assert_eq!(got, Ok(want), "{raw:?}"),
                Err(()) => assert!(got.is_err(), "{raw:?}: {got:?}"),
            }
        }
    }

    fn context(status: &Status, timestamp: u32, in_transaction: bool) -> Context<'_> {
        Context {
            timestamp,
            thread_id: 5,
            status,
            mariadb: true,
            in_transaction,
        }
    }

    #[test]
    fn only_changes_are_set() {
        let mut session = Session::default();
        let first = Status {
            flags2: Some(1 << 24),
            sql_mode: Some(7),
            charset: Some([33, 33, 8]),
            ..Status::default()
        };
        let got = session
            .assignments(&context(&first, 100, false), &mut Names)
            .unwrap();
        assert_eq!(
            got,
            vec![
                "@@session.timestamp=100",
                "@@session.pseudo_thread_id=5",
                "@@session.foreign_key_checks=1",
                "@@session.sql_auto_is_null=0",
                "@@session.unique_checks=1",
                "@@session.autocommit=1",
                "@@session.check_constraint_checks=1",
                "@@session.sql_if_exists=0",
                "@@session.explicit_defaults_for_timestamp=1",
                "@@session.system_versioning_insert_history=0",
                "@@session.sql_mode=7",
                "@@session.auto_increment_increment=1, @@session.auto_increment_offset=1",
                "@@session.character_set_client=33, @@session.collation_connection=33, \
                 @@session.collation_server=8",
                "@@session.lc_time_names=0",
                "@@session.collation_database=DEFAULT",
            ]
        );
        assert!(session
            .assignments(&context(&first, 100, false), &mut Names)
            .unwrap()
            .is_empty());
        let second = Status {
            flags2: Some(1 << 24 | 1 << 26 | 1 << 19),
            microseconds: Some(42),
            time_zone: Some(b"Europe/Berlin".to_vec()),
            character_set_collations: Some(vec![(45, 2304)]),
            ..first.clone()
        };
        let got = session
            .assignments(&context(&second, 100, true), &mut Names)
            .unwrap();
        assert_eq!(
            got,
            vec![
                "@@session.timestamp=100.000042",
                "@@session.foreign_key_checks=0",
                "@@session.time_zone='Europe/Berlin'",
                "@@session.character_set_collations='utf8mb4=utf8mb4_uca1400_ai_ci'",
            ]
        );
        // Out of the transaction, autocommit follows the source again.
        let got = session
            .assignments(&context(&second, 100, false), &mut Names)
            .unwrap();
        assert_eq!(got, vec!["@@session.autocommit=0"]);
        let unknown = Status {
            character_set_collations: Some(vec![(1, 2)]),
            ..Status::default()
        };
        assert!(session
            .assignments(&context(&unknown, 1, false), &mut Names)
            .is_err());
    }

    #[test]
    fn mysql_sources_set_only_mysql_options() {
        let mut session = Session::default();
        let status = Status {
            flags2: Some(0),
            explicit_defaults: Some(false),
            ..Status::default()
        };
        let ctx = Context {
            mariadb: false,
            ..context(&status, 1, false)
        };
        let got = session.assignments(&ctx, &mut Names).unwrap();
        assert!(got.contains(&"@@session.explicit_defaults_for_timestamp=0".to_string()));
        assert!(!got.iter().any(|a| a.contains("check_constraint_checks")));
    }
}
