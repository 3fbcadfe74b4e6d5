//! Files of the objects that are not table rows: databases, routines, views, triggers, events and accounts.

use std::collections::BTreeMap;

use mysql::prelude::Queryable;
use mysql::{Conn, Row};

use crate::dump::DumpedFile;
use crate::error::{Error, QueryContext, Result};
use crate::manifest::{Failure, FileKind};
use crate::schema::{self, Catalog, TableInfo};
use crate::sql::account::{is_system_account, Account};
use crate::sql::grant::{grant_target, GrantTarget};
use crate::sql::ident::{file_name, qualified, quote_ident, quote_string};
use crate::sql::script::{header, object_block, ObjectSession, Session};
use crate::store::DumpDir;

/// Writes object files and collects the objects that failed.
pub struct ObjectWriter<'a> {
    pub conn: &'a mut Conn,
    pub dir: &'a DumpDir,
    pub files: Vec<DumpedFile>,
    pub failures: Vec<Failure>,
    /// Current default collation of each database.
    collations: BTreeMap<String, String>,
    /// The server's own accounts, left out of `users.sql.zst`, as `'user'@'host'`.
    pub system_accounts: Vec<String>,
}

fn failure(kind: &str, database: Option<&str>, name: &str, error: String) -> Failure {
    Failure {
        kind: kind.to_string(),
        database: database.map(str::to_string),
        name: name.to_string(),
        error,
    }
}

impl<'a> ObjectWriter<'a> {
    /// Prepares to write into `dir`.
    pub fn new(conn: &'a mut Conn, dir: &'a DumpDir) -> ObjectWriter<'a> {
        ObjectWriter {
            conn,
            dir,
            files: Vec::new(),
            failures: Vec::new(),
            collations: BTreeMap::new(),
            system_accounts: Vec::new(),
        }
    }

    /// Records `e` as the failure of one object and goes on, unless it broke the connection:
    /// then it is returned, and no more objects are read on that connection.
    fn failed(&mut self, kind: &str, db: Option<&str>, name: &str, e: Error) -> Result<()> {
        if e.broken_connection().is_some() {
            return Err(e);
        }
        self.failures.push(failure(kind, db, name, e.detail()));
        Ok(())
    }

    fn write(
        &mut self,
        rel: String,
        text: &str,
        kind: FileKind,
        database: Option<&str>,
        table: Option<&str>,
    ) -> Result<()> {
        let mut file = self.dir.sql_file(&rel)?;
        file.write_all(text.as_bytes())?;
        self.files.push(DumpedFile {
            record: file.finish()?,
            kind,
            database: database.map(str::to_string),
            table: table.map(str::to_string),
            rows: None,
            max_statement_bytes: None,
        });
        Ok(())
    }

    /// A file of object blocks of database `db` (and `table`) under a session header; nothing when
    /// there are no blocks.
    fn write_blocks(
        &mut self,
        title: &str,
        rel: String,
        blocks: &str,
        kind: FileKind,
        (db, table): (&str, Option<&str>),
    ) -> Result<()> {
        if blocks.is_empty() {
            return Ok(());
        }
        let mut text = header(
            title,
            Session {
                database: Some(db),
                ..Session::default()
            },
        );
        text.push_str(blocks);
        self.write(rel, &text, kind, Some(db), table)
    }

    /// `CREATE DATABASE` files, one per database. A database that vanished is a failure.
    pub fn databases(&mut self, catalog: &Catalog) -> Result<()> {
        let rows: Vec<(String, String)> = self
            .conn
            .query("SELECT SCHEMA_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA")
            .context(|| "reading database collations".to_string())?;
        self.collations = rows.into_iter().collect();
        for db in &catalog.databases {
            match schema::create_database(self.conn, db) {
                Ok(create) => {
                    let mut text =
                        header(&format!("database {}", quote_ident(db)), Session::default());
                    text.push_str(&create);
                    text.push_str(";\n");
                    self.write(
                        format!("{}/@schema.sql.zst", file_name(db)),
                        &text,
                        FileKind::Database,
                        Some(db),
                        None,
                    )?;
                }
                Err(e) => self.failed("database", Some(db), db, e)?,
            }
        }
        Ok(())
    }

    fn session_of(&self, row: &Row, db: &str) -> ObjectSession {
        ObjectSession {
            sql_mode: schema::named_text(row, "sql_mode").unwrap_or_default(),
            character_set_client: schema::named_text(row, "character_set_client")
                .unwrap_or_default(),
            collation_connection: schema::named_text(row, "collation_connection")
                .unwrap_or_default(),
            database_collation: schema::named_text(row, "Database Collation"),
            current_database_collation: self.collations.get(db).cloned(),
            time_zone: schema::named_text(row, "time_zone"),
        }
    }

    /// One `SHOW CREATE …` turned into a block, or a failure recorded (`None`); `Err` when
    /// the connection broke.
    fn block(
        &mut self,
        kind: &str,
        keyword: &str,
        db: &str,
        name: &str,
        column: &str,
    ) -> Result<Option<String>> {
        let object = format!("{kind} {}", qualified(db, name));
        let statement = format!("SHOW CREATE {keyword} {}", qualified(db, name));
        let row = match schema::show_create(self.conn, &statement, &object) {
            Ok(row) => row,
            Err(e) => {
                self.failed(kind, Some(db), name, e)?;
                return Ok(None);
            }
        };
        let Some(create) = schema::named_text(&row, column) else {
            self.failures.push(failure(
                kind,
                Some(db),
                name,
                "the server did not show its definition (missing privilege?)".to_string(),
            ));
            return Ok(None);
        };
        Ok(Some(object_block(db, &create, &self.session_of(&row, db))))
    }

    /// Procedures, functions and packages: one file per database.
    pub fn routines(&mut self, catalog: &Catalog) -> Result<()> {
        for db in &catalog.databases {
            let mut text = String::new();
            for r in catalog.routines.iter().filter(|r| &r.database == db) {
                let column = format!("Create {}", title_case(&r.kind));
                if let Some(block) = self.block("routine", &r.kind, db, &r.name, &column)? {
                    text.push_str(&block);
                }
            }
            self.write_blocks(
                &format!("routines of {}", quote_ident(db)),
                format!("{}/@routines.sql.zst", file_name(db)),
                &text,
                FileKind::Routines,
                (db, None),
            )?;
        }
        Ok(())
    }

    /// One file per view, in dependency order across databases. A view that cannot be opened (its base
    /// table was dropped, say) is a failure and is left out: it would stop the restore.
    pub fn views(&mut self, views: &[&TableInfo]) -> Result<()> {
        let mut defs: Vec<(usize, String, String)> = Vec::new();
        for (i, v) in views.iter().enumerate() {
            let object = format!("view {}", v.qualified());
            if let Err(e) = self
                .conn
                .query_drop(format!("SHOW COLUMNS FROM {}", v.qualified()))
            {
                self.failed("view", Some(&v.database), &v.name, Error::object(object, e))?;
                continue;
            }
            let row = match schema::show_create(
                self.conn,
                &format!("SHOW CREATE VIEW {}", v.qualified()),
                &object,
            ) {
                Ok(row) => row,
                Err(e) => {
                    self.failed("view", Some(&v.database), &v.name, e)?;
                    continue;
                }
            };
            let Some(create) = schema::named_text(&row, "Create View") else {
                self.failures.push(failure(
                    "view",
                    Some(&v.database),
                    &v.name,
                    "no definition shown".to_string(),
                ));
                continue;
            };
            let mut session = self.session_of(&row, &v.database);
            session.sql_mode = String::new();
            defs.push((
                i,
                create.clone(),
                object_block(&v.database, &create, &session),
            ));
        }
        let plan: Vec<crate::plan::ViewDef> = defs
            .iter()
            .map(|(i, create, _)| crate::plan::ViewDef {
                database: &views[*i].database,
                name: &views[*i].name,
                definition: create,
            })
            .collect();
        for k in crate::plan::order_views(&plan) {
            let (i, _, block) = &defs[k];
            let v = views[*i];
            let mut text = header(
                &format!("view {}", v.qualified()),
                Session {
                    database: Some(&v.database),
                    ..Session::default()
                },
            );
            text.push_str(block);
            self.write(
                format!(
                    "{}/{}.view.sql.zst",
                    file_name(&v.database),
                    file_name(&v.name)
                ),
                &text,
                FileKind::View,
                Some(&v.database),
                Some(&v.name),
            )?;
        }
        Ok(())
    }

    /// Triggers: one file per table, in firing order.
    /// Triggers and events the account cannot see are not listed by the server at all: without
    /// the TRIGGER or EVENT privilege on a database its dump would silently lack them. Such a
    /// database's triggers (events) are recorded as failed instead.
    pub fn invisible(&mut self, catalog: &Catalog) -> Result<()> {
        for db in &catalog.databases {
            match self.conn.query_drop(format!("SHOW EVENTS FROM {}", quote_ident(db))) {
                Ok(()) => {}
                Err(e) if crate::conn::is_broken(&e) => return Err(Error::query("SHOW EVENTS", e)),
                Err(e) => self.failures.push(failure(
                    "events",
                    Some(db),
                    "events",
                    format!(
                        "not visible to this account (the EVENT privilege on the database is missing): {}",
                        crate::error::server_message(&e)
                    ),
                )),
            }
            let q = quote_string(db);
            let visible: Option<u64> = self
                .conn
                .query_first(format!(
                    "SELECT COUNT(*) FROM (\
                       SELECT GRANTEE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE IN ('TRIGGER', 'ALL PRIVILEGES') \
                       UNION ALL SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES \
                         WHERE PRIVILEGE_TYPE IN ('TRIGGER', 'ALL PRIVILEGES') AND {q} LIKE TABLE_SCHEMA) p \
                     WHERE p.GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') \
                        OR p.GRANTEE IN (SELECT CONCAT('''', ROLE_NAME, '''') FROM information_schema.ENABLED_ROLES)"
                ))
                .context(|| "reading the account's privileges".to_string())?;
            if visible == Some(0) {
                self.failures.push(failure(
                    "triggers",
                    Some(db),
                    "triggers",
                    "not visible to this account (the TRIGGER privilege on the database is missing)".to_string(),
                ));
            }
        }
        Ok(())
    }

    pub fn triggers(&mut self, catalog: &Catalog) -> Result<()> {
        let mut by_table: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for t in &catalog.triggers {
            by_table
                .entry((&t.database, &t.table))
                .or_default()
                .push(&t.name);
        }
        for ((db, table), names) in by_table {
            let mut text = String::new();
            for name in names {
                if let Some(block) =
                    self.block("trigger", "TRIGGER", db, name, "SQL Original Statement")?
                {
                    text.push_str(&block);
                }
            }
            self.write_blocks(
                &format!("triggers of {}", qualified(db, table)),
                format!("{}/{}.triggers.sql.zst", file_name(db), file_name(table)),
                &text,
                FileKind::Triggers,
                (db, Some(table)),
            )?;
        }
        Ok(())
    }

    /// Events: one file per database.
    pub fn events(&mut self, catalog: &Catalog) -> Result<()> {
        for db in &catalog.databases {
            let mut text = String::new();
            for e in catalog.events.iter().filter(|e| &e.database == db) {
                if let Some(block) = self.block("event", "EVENT", db, &e.name, "Create Event")? {
                    text.push_str(&block);
                }
            }
            self.write_blocks(
                &format!("events of {}", quote_ident(db)),
                format!("{}/@events.sql.zst", file_name(db)),
                &text,
                FileKind::Events,
                (db, None),
            )?;
        }
        Ok(())
    }

    /// Accounts and roles with their grants, the server's own accounts left out (see
    /// [`is_system_account`]; they are listed in the manifest). Grants on tables
    /// or routines that are not in this dump are left out too (they cannot be restored without their
    /// object); the file names each one in a comment.
    pub fn users(&mut self, catalog: &Catalog) -> Result<()> {
        let accounts = match list_accounts(self.conn) {
            Ok((accounts, system)) => {
                for a in &system {
                    log::info!("a system account, left out of users.sql: {a}");
                }
                self.system_accounts = system;
                accounts
            }
            Err(e) => {
                self.failed("users", None, "accounts", e)?;
                return Ok(());
            }
        };
        let mut creates = String::new();
        let mut grants = String::new();
        for (user, host, is_role) in &accounts {
            let account = if *is_role {
                quote_ident(user)
            } else {
                format!("{}@{}", quote_string(user), quote_string(host))
            };
            if *is_role {
                creates.push_str(&format!("CREATE ROLE {account};\n"));
            } else {
                match self
                    .conn
                    .query_first::<String, _>(format!("SHOW CREATE USER {account}"))
                {
                    Ok(Some(create)) => {
                        creates.push_str(&create);
                        creates.push_str(";\n");
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        self.failed("user", None, &account, Error::object(&account, e))?;
                        continue;
                    }
                }
            }
            match self
                .conn
                .query::<String, _>(format!("SHOW GRANTS FOR {account}"))
            {
                Ok(lines) => {
                    for g in lines {
                        if dumped(catalog, &grant_target(&g)) {
                            grants.push_str(&g);
                            grants.push_str(";\n");
                        } else {
                            log::info!("not in this dump, so left out: {g}");
                            grants.push_str("-- object not in this dump: ");
                            grants.push_str(&g.replace(['\n', '\r'], " "));
                            grants.push('\n');
                        }
                    }
                }
                Err(e) => self.failed("user", None, &account, Error::object(&account, e))?,
            }
        }
        let mut text = header("accounts, roles and grants", Session::default());
        text.push_str(&creates);
        text.push_str(&grants);
        text.push_str("FLUSH PRIVILEGES;\n");
        self.write(
            "users.sql.zst".to_string(),
            &text,
            FileKind::Users,
            None,
            None,
        )
    }
}

/// Whether the object a grant needs is part of this dump.
fn dumped(catalog: &Catalog, target: &GrantTarget) -> bool {
    match target {
        GrantTarget::NoObject => true,
        GrantTarget::Object {
            routine: true,
            database,
            name,
        } => catalog
            .routines
            .iter()
            .any(|r| &r.database == database && r.name.eq_ignore_ascii_case(name)),
        GrantTarget::Object {
            routine: false,
            database,
            name,
        } => catalog
            .tables
            .iter()
            .any(|t| &t.database == database && &t.name == name),
    }
}

/// An account to dump: user, host, whether it is a role.
type AccountRow = (String, String, bool);

/// Every account of the server: those to dump (user, host, is a role) and the system accounts
/// left out, as `'user'@'host'`.
fn list_accounts(conn: &mut Conn) -> Result<(Vec<AccountRow>, Vec<String>)> {
    let rows: Vec<Row> = conn
        .query("SELECT User, Host, is_role FROM mysql.user ORDER BY is_role DESC, User, Host")
        .or_else(|e| {
            // Servers without roles have no is_role column; a broken connection is not retried.
            if crate::conn::is_broken(&e) {
                return Err(e);
            }
            conn.query("SELECT User, Host, 'N' FROM mysql.user ORDER BY User, Host")
        })
        .map_err(|e| Error::object("accounts (mysql.user)", e))?;
    let (mut dumped, mut system) = (Vec::new(), Vec::new());
    for r in &rows {
        let user = schema::text(r, 0);
        let host = schema::text(r, 1);
        let role = schema::text(r, 2).eq_ignore_ascii_case("Y");
        if is_system_account(&user, &host) {
            let account = Account {
                user,
                host: (!role).then_some(host),
            };
            system.push(account.to_string());
        } else {
            dumped.push((user, host, role));
        }
    }
    Ok((dumped, system))
}

/// `PACKAGE BODY` → `Package Body`, the column name `SHOW CREATE` uses.
fn title_case(kind: &str) -> String {
    kind.split(' ')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_create_columns_are_title_case() {
        for (kind, want) in [
            ("PROCEDURE", "Procedure"),
            ("FUNCTION", "Function"),
            ("PACKAGE BODY", "Package Body"),
        ] {
            assert_eq!(title_case(kind), want);
        }
    }
}
