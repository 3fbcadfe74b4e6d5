//! Which statements each kind of dump file may hold, by shape: restore and verify refuse a dump
//! that holds anything else (a dump cannot make its restorer run arbitrary SQL).
//!
//! Every file may set its session (`SET NAMES`, `time_zone`, `sql_mode`, checks; values are
//! literals) and `USE` its own database. Then, by kind: the database file `CREATE DATABASE` of
//! its database; a table file `CREATE TABLE` of its table (not `… SELECT`, not `… LIKE`); a
//! sequence file `CREATE SEQUENCE` of its sequence and `DO SETVAL` of it with numbers; a data file
//! `INSERT INTO` its table with a column list and rows of literals only; object files the
//! `CREATE` of their object kind (routines, the view, triggers on the file's table, events) and
//! `ALTER DATABASE` of their database's collation; the accounts file `CREATE USER`/`ROLE`,
//! `GRANT`, `SET DEFAULT ROLE`, `FLUSH PRIVILEGES`. What a routine, trigger or view *body* does is
//! not judged: creating it runs nothing.

use crate::manifest::FileKind;
use crate::sql::split::insert_rows;

/// Session variables a dump file may set.
const SESSION_VARIABLES: [&str; 10] = [
    "autocommit",
    "time_zone",
    "sql_mode",
    "foreign_key_checks",
    "unique_checks",
    "check_constraint_checks",
    "system_versioning_insert_history",
    "character_set_client",
    "character_set_results",
    "collation_connection",
];

/// A cursor over statement bytes.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a [u8]) -> Self {
        let mut c = Cur { s, i: 0 };
        c.space();
        c
    }

    fn space(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn rest(&self) -> &'a [u8] {
        self.s.get(self.i..).unwrap_or_default()
    }

    /// Consumes keyword `word` (case-insensitive, followed by a non-word byte) and the space after.
    fn word(&mut self, word: &str) -> bool {
        let w = word.as_bytes();
        let Some(head) = self.s.get(self.i..self.i + w.len()) else {
            return false;
        };
        let next = self.s.get(self.i + w.len()).copied();
        if head.eq_ignore_ascii_case(w) && !next.is_some_and(is_word_byte) {
            self.i += w.len();
            self.space();
            true
        } else {
            false
        }
    }

    /// Consumes byte `b` and the space after.
    fn byte(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            self.space();
            true
        } else {
            false
        }
    }

    /// An identifier, backquoted or bare; returns its name.
    fn ident(&mut self) -> Option<Vec<u8>> {
        let name = if self.s.get(self.i) == Some(&b'`') {
            let mut name = Vec::new();
            let mut j = self.i + 1;
            loop {
                match self.s.get(j)? {
                    b'`' if self.s.get(j + 1) == Some(&b'`') => {
                        name.push(b'`');
                        j += 2;
                    }
                    b'`' => break,
                    &b => {
                        name.push(b);
                        j += 1;
                    }
                }
            }
            self.i = j + 1;
            name
        } else {
            let start = self.i;
            while self.s.get(self.i).is_some_and(|&b| is_word_byte(b)) {
                self.i += 1;
            }
            if self.i == start {
                return None;
            }
            self.s.get(start..self.i)?.to_vec()
        };
        self.space();
        Some(name)
    }

    /// `name` or `db`.`name`: (database, name).
    fn qualified(&mut self) -> Option<(Option<Vec<u8>>, Vec<u8>)> {
        let first = self.ident()?;
        if self.byte(b'.') {
            let second = self.ident()?;
            Some((Some(first), second))
        } else {
            Some((None, first))
        }
    }

    /// A quoted string (`'…'` or `"…"`, backslash escapes, doubled quotes).
    fn string(&mut self) -> bool {
        let Some(&q) = self.s.get(self.i).filter(|&&b| b == b'\'' || b == b'"') else {
            return false;
        };
        let mut j = self.i + 1;
        loop {
            match self.s.get(j) {
                None => return false,
                Some(b'\\') => j += 2,
                Some(&b) if b == q && self.s.get(j + 1) == Some(&q) => j += 2,
                Some(&b) if b == q => break,
                Some(_) => j += 1,
            }
        }
        self.i = j + 1;
        self.space();
        true
    }

    /// An account after `DEFINER =`: `user`@`host`, a role, or CURRENT_USER.
    fn account(&mut self) -> bool {
        if self.word("CURRENT_USER") {
            if self.byte(b'(') {
                return self.byte(b')');
            }
            return true;
        }
        if self.ident().is_none() && !self.string() {
            return false;
        }
        if self.byte(b'@') {
            return self.ident().is_some() || self.string();
        }
        true
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether `sql` sets a session variable a dump file may set, to a literal.
fn is_session_set(sql: &[u8]) -> bool {
    let inner = executable_comment(sql).unwrap_or(sql);
    let mut c = Cur::new(inner);
    if !c.word("SET") {
        return false;
    }
    if c.word("NAMES") {
        if c.ident().is_none() && !c.string() {
            return false;
        }
        if c.word("COLLATE") && c.ident().is_none() && !c.string() {
            return false;
        }
        return c.at_end();
    }
    c.word("SESSION");
    let Some(var) = c.ident() else { return false };
    let known = SESSION_VARIABLES
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(&var));
    if !known || !c.byte(b'=') {
        return false;
    }
    if !c.string() && c.ident().is_none() {
        return false;
    }
    c.at_end()
}

/// The inside of `/*!40101 …*/` or `/*M!100201 …*/`.
fn executable_comment(sql: &[u8]) -> Option<&[u8]> {
    let body = sql
        .strip_prefix(b"/*M!")
        .or_else(|| sql.strip_prefix(b"/*!"))?
        .strip_suffix(b"*/")?;
    let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
    body.get(digits..)
}

/// Whether `sql` is `USE` of database `db`.
fn is_use(sql: &[u8], db: Option<&str>) -> bool {
    let mut c = Cur::new(sql);
    c.word("USE")
        && matches!((c.ident(), db), (Some(n), Some(d)) if n == d.as_bytes())
        && c.at_end()
}

/// `ALTER DATABASE db COLLATE x` / `CHARACTER SET x` (an object created under another collation).
fn is_alter_collation(sql: &[u8], db: Option<&str>) -> bool {
    let mut c = Cur::new(sql);
    if !(c.word("ALTER") && c.word("DATABASE")) {
        return false;
    }
    if !matches!((c.ident(), db), (Some(n), Some(d)) if n == d.as_bytes()) {
        return false;
    }
    c.word("DEFAULT");
    let clause = c.word("COLLATE") || (c.word("CHARACTER") && c.word("SET"));
    c.byte(b'=');
    clause && c.ident().is_some() && c.at_end()
}

/// Whether name `got` (maybe qualified) is `want` in database `db`.
fn names(got: &(Option<Vec<u8>>, Vec<u8>), db: Option<&str>, want: Option<&str>) -> bool {
    let db_ok = match (&got.0, db) {
        (None, _) => true,
        (Some(g), Some(d)) => g.as_slice() == d.as_bytes(),
        (Some(_), None) => false,
    };
    db_ok && want.is_some_and(|w| got.1 == w.as_bytes())
}

/// Whether the text after a table's name has a `SELECT` or `LIKE` outside parentheses and quotes.
fn has_top_level_query(rest: &[u8]) -> bool {
    let mut depth = 0i32;
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'\'' | b'"' | b'`' => {
                let mut c = Cur { s: rest, i };
                if b == b'`' {
                    if c.ident().is_none() {
                        return true;
                    }
                } else if !c.string() {
                    return true;
                }
                i = c.i;
                continue;
            }
            _ if depth == 0 && is_word_byte(b) => {
                let start = i;
                while rest.get(i).is_some_and(|&b| is_word_byte(b)) {
                    i += 1;
                }
                let word = rest.get(start..i).unwrap_or_default();
                if word.eq_ignore_ascii_case(b"SELECT") || word.eq_ignore_ascii_case(b"LIKE") {
                    return true;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// `CREATE TABLE t (…) options`, without a query.
fn is_create_table(sql: &[u8], db: Option<&str>, table: Option<&str>) -> bool {
    let mut c = Cur::new(sql);
    if !(c.word("CREATE") && c.word("TABLE")) {
        return false;
    }
    let Some(name) = c.qualified() else {
        return false;
    };
    names(&name, db, table) && c.rest().first() == Some(&b'(') && !has_top_level_query(c.rest())
}

/// `CREATE SEQUENCE s …` or `DO SETVAL(s, n, 0, n)`.
fn is_sequence_statement(sql: &[u8], db: Option<&str>, table: Option<&str>) -> bool {
    let mut c = Cur::new(sql);
    if c.word("CREATE") && c.word("SEQUENCE") {
        return c.qualified().is_some_and(|n| names(&n, db, table));
    }
    let mut c = Cur::new(sql);
    if !(c.word("DO") && c.word("SETVAL") && c.byte(b'(')) {
        return false;
    }
    if !c.qualified().is_some_and(|n| names(&n, db, table)) {
        return false;
    }
    for _ in 0..3 {
        if !c.byte(b',') || !number(&mut c) {
            return false;
        }
    }
    c.byte(b')') && c.at_end()
}

/// An optionally signed integer.
fn number(c: &mut Cur<'_>) -> bool {
    let start = c.i;
    if matches!(c.s.get(c.i), Some(b'-' | b'+')) {
        c.i += 1;
    }
    let digits = c.rest().iter().take_while(|b| b.is_ascii_digit()).count();
    c.i += digits;
    c.space();
    digits > 0 || {
        c.i = start;
        false
    }
}

/// `INSERT INTO t (cols) VALUES (literals), …` into this file's table.
fn is_insert(sql: &[u8], db: Option<&str>, table: Option<&str>) -> Result<(), String> {
    let (name, rows) = insert_rows(sql).ok_or("not a plain INSERT … VALUES")?;
    let mut c = Cur::new(name);
    let target = c.qualified().ok_or("no table name")?;
    if !names(&target, db, table) {
        return Err(format!(
            "an INSERT into {}, not into this file's table",
            String::from_utf8_lossy(name)
        ));
    }
    let head_end = rows.first().map_or(sql.len(), |r| r.start);
    if !column_list_only(sql.get(..head_end).unwrap_or_default()) {
        return Err("an INSERT with more than a column list".to_string());
    }
    for r in rows {
        let tuple = sql
            .get(r.start + 1..r.end.saturating_sub(1))
            .unwrap_or_default();
        if !literals_only(tuple) {
            return Err("a row holds something other than literal values".to_string());
        }
    }
    Ok(())
}

/// The INSERT head: keywords, the table, `(` identifiers `)`, `VALUES`.
fn column_list_only(head: &[u8]) -> bool {
    let mut c = Cur::new(head);
    if !c.word("INSERT") {
        return false;
    }
    c.word("IGNORE");
    c.word("INTO");
    if c.qualified().is_none() {
        return false;
    }
    let values = |c: &mut Cur<'_>| (c.word("VALUES") || c.word("VALUE")) && c.at_end();
    if !c.byte(b'(') {
        return values(&mut c);
    }
    if c.byte(b')') {
        return values(&mut c);
    }
    loop {
        if c.ident().is_none() {
            return false;
        }
        if c.byte(b')') {
            return values(&mut c);
        }
        if !c.byte(b',') {
            return false;
        }
    }
}

/// A comma-separated list of literals: NULL, DEFAULT, numbers, strings (optionally with a
/// `_charset` introducer), `0x…`, `X'…'`, `b'…'`.
fn literals_only(tuple: &[u8]) -> bool {
    let mut c = Cur::new(tuple);
    if c.at_end() {
        return true;
    }
    loop {
        if !literal(&mut c) {
            return false;
        }
        if c.at_end() {
            return true;
        }
        if !c.byte(b',') {
            return false;
        }
    }
}

fn literal(c: &mut Cur<'_>) -> bool {
    if c.word("NULL") || c.word("DEFAULT") || c.string() {
        return true;
    }
    let rest = c.rest();
    if rest.first() == Some(&b'_') {
        // `_utf8mb4'…'`, `_latin1 0x…`: a character set introducer and a literal.
        let n = rest.iter().take_while(|&&b| is_word_byte(b)).count();
        c.i += n;
        c.space();
        return c.string() || hex_or_bits(c);
    }
    if hex_or_bits(c) {
        return true;
    }
    let n = rest
        .iter()
        .take_while(|&&b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        .count();
    let ok = n > 0 && rest.iter().take(n).any(u8::is_ascii_digit);
    if ok {
        c.i += n;
        c.space();
    }
    ok
}

/// `0x0A1B`, `X'0A1B'`, `b'0101'`.
fn hex_or_bits(c: &mut Cur<'_>) -> bool {
    let rest = c.rest();
    let n = if let Some(digits) = rest.strip_prefix(b"0x") {
        let d = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        (d > 0).then_some(2 + d)
    } else if let Some(body) = [&b"X'"[..], b"x'", b"b'", b"B'"]
        .iter()
        .find_map(|p| rest.strip_prefix(*p))
    {
        let d = body.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        (body.get(d) == Some(&b'\'')).then_some(2 + d + 1)
    } else {
        None
    };
    let Some(n) = n else { return false };
    if rest.get(n).is_some_and(|&b| is_word_byte(b)) {
        return false;
    }
    c.i += n;
    c.space();
    true
}

/// `CREATE [DEFINER=…] [ALGORITHM=…] [SQL SECURITY …] KIND`: where the text after the object
/// keyword starts, when `sql` creates one of `kinds`.
fn create_of(sql: &[u8], kinds: &[&str]) -> Option<usize> {
    let mut c = Cur::new(sql);
    if !c.word("CREATE") {
        return None;
    }
    loop {
        if kinds.iter().any(|k| c.word(k)) {
            return Some(c.i);
        }
        let ok = if c.word("DEFINER") {
            c.byte(b'=') && c.account()
        } else if c.word("ALGORITHM") {
            c.byte(b'=') && c.ident().is_some()
        } else if c.word("SQL") {
            c.word("SECURITY") && c.ident().is_some()
        } else {
            false
        };
        if !ok {
            return None;
        }
    }
}

/// `CREATE … VIEW name` of this file's view.
fn is_create_view(sql: &[u8], db: Option<&str>, table: Option<&str>) -> bool {
    let Some(at) = create_of(sql, &["VIEW"]) else {
        return false;
    };
    let mut c = Cur { s: sql, i: at };
    c.qualified().is_some_and(|n| names(&n, db, table))
}

/// `CREATE … TRIGGER name BEFORE|AFTER event [OR event …] ON table`: a trigger of this file's table.
fn is_create_trigger(sql: &[u8], db: Option<&str>, table: Option<&str>) -> bool {
    let Some(at) = create_of(sql, &["TRIGGER"]) else {
        return false;
    };
    let mut c = Cur { s: sql, i: at };
    if c.qualified().is_none() {
        return false;
    }
    for _ in 0..8 {
        if c.word("ON") {
            return c.qualified().is_some_and(|n| names(&n, db, table));
        }
        if c.ident().is_none() {
            return false;
        }
    }
    false
}

/// What an accounts file may hold.
fn is_account_statement(sql: &[u8]) -> bool {
    let mut c = Cur::new(sql);
    if c.word("CREATE") {
        return c.word("USER") || c.word("ROLE");
    }
    let mut c = Cur::new(sql);
    if c.word("GRANT") {
        return true;
    }
    let mut c = Cur::new(sql);
    if c.word("SET") {
        return c.word("DEFAULT") && c.word("ROLE");
    }
    let mut c = Cur::new(sql);
    c.word("FLUSH") && c.word("PRIVILEGES") && c.at_end()
}

/// Checks that `sql` may stand in a file of `kind` for `database`.`table` (as the manifest names
/// them); the error says what the statement is not.
pub fn check(
    kind: FileKind,
    database: Option<&str>,
    table: Option<&str>,
    sql: &[u8],
) -> Result<(), String> {
    if is_session_set(sql) {
        return Ok(());
    }
    if kind != FileKind::Users && is_use(sql, database) {
        return Ok(());
    }
    let allowed = match kind {
        FileKind::Database => {
            let mut c = Cur::new(sql);
            c.word("CREATE")
                && c.word("DATABASE")
                && matches!((c.ident(), database), (Some(n), Some(d)) if n == d.as_bytes())
        }
        FileKind::TableSchema => is_create_table(sql, database, table),
        FileKind::Sequence => is_sequence_statement(sql, database, table),
        FileKind::TableData => {
            return is_insert(sql, database, table).map_err(|why| refusal(kind, &why))
        }
        FileKind::Routines => {
            is_alter_collation(sql, database)
                || create_of(sql, &["FUNCTION", "PROCEDURE", "PACKAGE", "AGGREGATE"]).is_some()
        }
        FileKind::View => is_alter_collation(sql, database) || is_create_view(sql, database, table),
        FileKind::Triggers => {
            is_alter_collation(sql, database) || is_create_trigger(sql, database, table)
        }
        FileKind::Events => {
            is_alter_collation(sql, database) || create_of(sql, &["EVENT"]).is_some()
        }
        FileKind::Users => is_account_statement(sql),
    };
    if allowed {
        Ok(())
    } else {
        Err(refusal(kind, "a statement of another shape"))
    }
}

fn refusal(kind: FileKind, what: &str) -> String {
    let expected = match kind {
        FileKind::Database => "CREATE DATABASE of its database",
        FileKind::TableSchema => "CREATE TABLE of its table",
        FileKind::Sequence => "CREATE SEQUENCE and SETVAL of its sequence",
        FileKind::TableData => "INSERT of literal rows into its table",
        FileKind::Routines => "CREATE FUNCTION/PROCEDURE/PACKAGE",
        FileKind::View => "CREATE VIEW of its view",
        FileKind::Triggers => "CREATE TRIGGER on its table",
        FileKind::Events => "CREATE EVENT",
        FileKind::Users => "CREATE USER/ROLE, GRANT, SET DEFAULT ROLE",
    };
    format!("{what}: a {} file holds only session settings, USE of its database and {expected}; this dump was not written by mybak as it is", kind_name(kind))
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Database => "database",
        FileKind::TableSchema => "table definition",
        FileKind::Sequence => "sequence",
        FileKind::TableData => "data",
        FileKind::Routines => "routines",
        FileKind::View => "view",
        FileKind::Triggers => "triggers",
        FileKind::Events => "events",
        FileKind::Users => "accounts",
    }
}

#[cfg(test)]
mod tests;
