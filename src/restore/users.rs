//! `restore --users`: what happens to an account of the dump that exists already on the target
//! (`--users=fail|skip|replace`), decided for every account before any statement runs.

use crate::store::read::Source;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use mysql::prelude::Queryable;
use mysql::Conn;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::{FileKind, ManifestFile};
use crate::sql::account::{created_account, grantee, is_system_account, Account};
use crate::sql::ident::{quote_ident, quote_string};

use super::load::read_statements;

/// What `restore --users` does with an account of the dump that exists on the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UsersMode {
    /// Stop before anything is restored, naming the accounts (exit 2).
    #[default]
    Fail,
    /// Leave the existing account and its grants as they are; the dump's lines for it are skipped.
    Skip,
    /// Drop the existing account, then create it and apply its grants from the dump.
    Replace,
}

impl UsersMode {
    /// The accepted words.
    pub const WORDS: [&'static str; 3] = ["fail", "skip", "replace"];
}

impl FromStr for UsersMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" => Ok(UsersMode::Fail),
            "skip" => Ok(UsersMode::Skip),
            "replace" => Ok(UsersMode::Replace),
            _ => Err(format!(
                "invalid --users mode {s:?}: expected one of fail, skip, replace"
            )),
        }
    }
}

impl fmt::Display for UsersMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::WORDS[*self as usize])
    }
}

/// What is done with the accounts of the dump, decided before the restore starts.
#[derive(Debug, Default)]
pub(super) struct AccountPlan {
    /// Accounts whose lines are skipped: existing ones under `skip`, system accounts always.
    pub skip: BTreeSet<Account>,
    /// Existing accounts dropped before the dump's are created (`replace`), and whether each is a role.
    pub replace: Vec<(Account, bool)>,
    /// Said once the restore is done.
    pub warnings: Vec<String>,
}

impl AccountPlan {
    /// Whether a statement of the accounts file is for an account left alone.
    pub fn skips(&self, sql: &str) -> bool {
        if self.skip.is_empty() {
            return false;
        }
        let account = created_account(sql)
            .map(|(a, _)| a)
            .or_else(|| grantee(sql));
        account.is_some_and(|a| self.skip.contains(&a))
    }
}

/// The accounts (with whether each is a role) the accounts file creates.
fn dumped_accounts(dump: Source<'_>, file: &ManifestFile) -> Result<Vec<(Account, bool)>> {
    let statements = read_statements(dump, file).map_err(|e| Error::Settings(e.to_string()))?;
    Ok(statements
        .iter()
        .filter_map(|(_, _, sql)| created_account(sql))
        .collect())
}

/// The accounts that exist on the target, as (user, host); a role has host `''`.
fn existing_accounts(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    conn.query("SELECT User, Host FROM mysql.user")
        .map_err(|e| {
            Error::Settings(format!(
                "--users: cannot read the target's accounts to check which exist ({}); it needs \
                 SELECT on mysql.user; nothing was restored",
                crate::error::server_message(&e)
            ))
        })
}

/// Decides, before any statement runs, what happens to each account of the dump: system accounts
/// (in dumps taken before they were left out) are skipped; existing accounts stop the restore
/// under `fail` (naming them all), are skipped under `skip`, dropped and recreated under `replace`.
pub(super) fn plan_accounts(
    conn: &mut Conn,
    dump: Source<'_>,
    files: &[&ManifestFile],
    mode: UsersMode,
) -> Result<AccountPlan> {
    let mut plan = AccountPlan::default();
    let Some(file) = files.iter().find(|f| f.kind == FileKind::Users) else {
        return Ok(plan);
    };
    let dumped = dumped_accounts(dump, file)?;
    let existing = existing_accounts(conn)?;
    let exists = |a: &Account| existing.iter().any(|(u, h)| a.is(u, h));
    let mut clashing = Vec::new();
    for (account, role) in dumped {
        let host = account.host.clone().unwrap_or_default();
        if is_system_account(&account.user, &host) {
            plan.warnings.push(format!(
                "{account}: a system account of the source server, left alone (the target has its own)"
            ));
            plan.skip.insert(account);
        } else if exists(&account) {
            clashing.push((account, role));
        }
    }
    match mode {
        UsersMode::Fail if !clashing.is_empty() => {
            let names: Vec<String> = clashing.iter().map(|(a, _)| a.to_string()).collect();
            return Err(Error::Settings(format!(
                "--users: {} exist already on the target: {}; nothing was restored. Keep them as \
                 they are with --users=skip, or drop and recreate them from the dump with \
                 --users=replace",
                if names.len() == 1 {
                    "this account"
                } else {
                    "these accounts"
                },
                names.join(", ")
            )));
        }
        UsersMode::Fail => {}
        UsersMode::Skip => {
            for (account, _) in clashing {
                plan.warnings.push(format!(
                    "{account} exists on the target: left as it is with its grants (--users=skip); \
                     the dump's CREATE and GRANT lines for it were skipped"
                ));
                plan.skip.insert(account);
            }
        }
        UsersMode::Replace => plan.replace = clashing,
    }
    Ok(plan)
}

/// Drops the accounts `replace` recreates, just before the accounts file loads. Returns the
/// failures, as (account, error).
pub(super) fn drop_replaced(conn: &mut Conn, plan: &AccountPlan) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    for (account, role) in &plan.replace {
        let sql = match &account.host {
            Some(host) if !role => format!(
                "DROP USER {}@{}",
                quote_string(&account.user),
                quote_string(host)
            ),
            _ => format!("DROP ROLE {}", quote_ident(&account.user)),
        };
        log::info!("--users=replace: {sql}");
        if let Err(e) = conn.query_drop(&sql) {
            failures.push((account.to_string(), crate::error::server_message(&e)));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print_the_same_words() {
        for word in UsersMode::WORDS {
            let m: UsersMode = word.parse().unwrap();
            assert_eq!(m.to_string(), word);
        }
        assert_eq!(UsersMode::default(), UsersMode::Fail);
        assert!("merge"
            .parse::<UsersMode>()
            .unwrap_err()
            .contains("replace"));
    }

    #[test]
    fn the_lines_of_skipped_accounts_are_skipped() {
        let mut plan = AccountPlan::default();
        assert!(!plan.skips("CREATE USER `app`@`%`"));
        plan.skip.insert(Account {
            user: "app".into(),
            host: Some("%".into()),
        });
        plan.skip.insert(Account {
            user: "r".into(),
            host: None,
        });
        for (sql, want) in [
            ("CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*X'", true),
            ("GRANT SELECT ON `d`.* TO `app`@`%`", true),
            ("GRANT `r` TO `app`@`%`", true),
            ("GRANT `r` TO `other`@`%`", false),
            ("GRANT USAGE ON *.* TO `r`", true),
            ("CREATE ROLE `r`", true),
            ("SET DEFAULT ROLE `r` FOR `app`@`%`", true),
            ("CREATE USER `app`@`localhost`", false),
            ("FLUSH PRIVILEGES", false),
        ] {
            assert_eq!(plan.skips(sql), want, "{sql}");
        }
    }
}
