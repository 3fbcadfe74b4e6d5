//! Self-contained SQL scripts: each dump file sets its own session, so it loads alone or in any client.

use crate::sql::ident::{quote_ident, quote_string};

/// The sql_mode a dump file runs under: permissive enough for every stored value (zero dates, 0 in
/// AUTO_INCREMENT columns), with backslash escapes and backtick quoting as the dump writes them.
pub const RESTORE_SQL_MODE: &str = "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION";

/// What a script's session needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Session<'a> {
    /// The database to `USE`, if any.
    pub database: Option<&'a str>,
    /// The file loads rows: turn off FK, unique and CHECK constraint checks.
    pub data: bool,
    /// The rows include system-versioning history (MariaDB ≥ 10.11).
    pub history: bool,
}

/// The opening lines of every dump file: a comment naming it, then the session it needs.
pub fn header(title: &str, session: Session<'_>) -> String {
    let mut s = String::with_capacity(512);
    s.push_str("-- ");
    s.push_str(&title.replace(['\n', '\r'], " "));
    s.push('\n');
    s.push_str("-- written by mybak ");
    s.push_str(env!("CARGO_PKG_VERSION"));
    s.push_str("; load with: zstd -dc FILE | mariadb --binary-mode\n");
    s.push_str("SET NAMES utf8mb4;\n");
    s.push_str("SET time_zone = '+00:00';\n");
    s.push_str(&format!("SET sql_mode = '{RESTORE_SQL_MODE}';\n"));
    s.push_str("SET foreign_key_checks = 0;\n");
    if session.data {
        // Each INSERT commits, even where the server's default is autocommit=0 (whose open
        // transaction the client's disconnect would roll back).
        s.push_str("SET autocommit = 1;\n");
        s.push_str("SET unique_checks = 0;\n");
        s.push_str("/*M!100201 SET check_constraint_checks = 0 */;\n");
    }
    if session.history {
        s.push_str("SET system_versioning_insert_history = 1;\n");
    }
    if let Some(db) = session.database {
        s.push_str(&format!("USE {};\n", quote_ident(db)));
    }
    s
}

/// A character set or collation name as a bare word (they are `[a-z0-9_]`); anything else is dropped.
fn bare(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// A statement terminator that does not occur in `body`, for a `DELIMITER` block.
pub fn delimiter_for(body: &str) -> String {
    for d in [";;", "$$", "//", "@@", "%%"] {
        if !body.contains(d) {
            return d.to_string();
        }
    }
    let mut n = 1u32;
    loop {
        let d = format!(";;{n};;");
        if !body.contains(&d) {
            return d;
        }
        n += 1;
    }
}

/// The session a stored object was created under, as the server reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSession {
    pub sql_mode: String,
    pub character_set_client: String,
    pub collation_connection: String,
    /// The database collation the object was created under (routines, triggers, events).
    pub database_collation: Option<String>,
    /// The current default collation of the object's database (to switch back after).
    pub current_database_collation: Option<String>,
    /// Events: the time zone they were created in.
    pub time_zone: Option<String>,
}

/// Creates a stored object (`CREATE …` text from `SHOW CREATE`) in the session it was created under,
/// inside a `DELIMITER` block, then puts the file's session back.
pub fn object_block(database: &str, create: &str, session: &ObjectSession) -> String {
    let mut s = String::with_capacity(create.len() + 512);
    let collation_switch = match (
        &session.database_collation,
        &session.current_database_collation,
    ) {
        (Some(then), Some(now)) if then != now && !then.is_empty() => Some((then, now)),
        _ => None,
    };
    if let Some((then, _)) = collation_switch {
        s.push_str(&format!(
            "ALTER DATABASE {} COLLATE {};\n",
            quote_ident(database),
            bare(then)
        ));
    }
    if let Some(tz) = &session.time_zone {
        s.push_str(&format!("SET time_zone = {};\n", quote_string(tz)));
    }
    s.push_str(&format!(
        "SET sql_mode = {};\n",
        quote_string(&session.sql_mode)
    ));
    if !session.character_set_client.is_empty() {
        s.push_str(&format!(
            "SET character_set_client = {};\nSET character_set_results = {};\n",
            bare(&session.character_set_client),
            bare(&session.character_set_client)
        ));
    }
    if !session.collation_connection.is_empty() {
        s.push_str(&format!(
            "SET collation_connection = {};\n",
            bare(&session.collation_connection)
        ));
    }
    let delimiter = delimiter_for(create);
    s.push_str(&format!("DELIMITER {delimiter}\n"));
    s.push_str(create);
    s.push('\n');
    s.push_str(&delimiter);
    s.push_str("\nDELIMITER ;\n");
    s.push_str("SET NAMES utf8mb4;\n");
    s.push_str(&format!("SET sql_mode = '{RESTORE_SQL_MODE}';\n"));
    if session.time_zone.is_some() {
        s.push_str("SET time_zone = '+00:00';\n");
    }
    if let Some((_, now)) = collation_switch {
        s.push_str(&format!(
            "ALTER DATABASE {} COLLATE {};\n",
            quote_ident(database),
            bare(now)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_never_occurs_in_the_body() {
        let cases = [
            ("BEGIN SELECT 1; END", ";;"),
            ("BEGIN SELECT ';;'; END", "$$"),
            ("BEGIN SELECT ';;$$//@@%%'; END", ";;1;;"),
            ("BEGIN SELECT ';;$$//@@%%;;1;;'; END", ";;2;;"),
        ];
        for (body, want) in cases {
            assert_eq!(delimiter_for(body), want, "{body}");
        }
    }

    #[test]
    fn header_sets_the_whole_session() {
        insta::assert_snapshot!(header(
            "table data `shop`.`orders`",
            Session {
                database: Some("shop"),
                data: true,
                history: true
            }
        ));
    }

    #[test]
    fn object_block_restores_the_creation_session() {
        let session = ObjectSession {
            sql_mode: "STRICT_TRANS_TABLES,ANSI_QUOTES".into(),
            character_set_client: "latin1".into(),
            collation_connection: "latin1_swedish_ci".into(),
            database_collation: Some("utf8mb4_general_ci".into()),
            current_database_collation: Some("utf8mb4_unicode_ci".into()),
            time_zone: Some("Europe/Paris".into()),
        };
        insta::assert_snapshot!(object_block(
            "shop",
            "CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN SELECT ';;'; END",
            &session
        ));
    }
}
