//! Accounts in SQL text: which ones belong to the server itself, and which account a `CREATE
//! USER`/`CREATE ROLE`, `GRANT … TO` or `SET DEFAULT ROLE … FOR` line of a dump names.

use std::fmt;

/// A user (`'name'@'host'`) or a role (`'name'`, no host).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Account {
    pub user: String,
    /// `None` for a role.
    pub host: Option<String>,
}

impl Account {
    /// Whether this is `user`@`host` (`host` empty for a role); host names compare without case.
    pub fn is(&self, user: &str, host: &str) -> bool {
        self.user == user
            && self
                .host
                .as_deref()
                .unwrap_or("")
                .eq_ignore_ascii_case(host)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        match &self.host {
            Some(h) => write!(f, "{}@{}", q(&self.user), q(h)),
            None => f.write_str(&q(&self.user)),
        }
    }
}

/// Whether an account belongs to the server itself and is never dumped: `root` (any host), the
/// system users (`mariadb.sys`, `mysql.sys`, `mysql.session`, `mysql.infoschema`), the `PUBLIC`
/// role, Debian's `debian-sys-maint` and the `mysql`@`localhost` that `mariadb-install-db` creates
/// for the service user. Another server has its own; restoring them would fail or take it over.
pub fn is_system_account(user: &str, host: &str) -> bool {
    const ANY_HOST: [&str; 7] = [
        "root",
        "mariadb.sys",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "PUBLIC",
        "debian-sys-maint",
    ];
    ANY_HOST.contains(&user) || (user == "mysql" && host.eq_ignore_ascii_case("localhost"))
}

/// Reads one name part: `` `…` ``, `'…'`, `"…"` (doubled quotes and, in strings, backslashes
/// escape) or a bare word up to `@`, a space or `;`. Returns it and the rest.
fn name_part(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if matches!(first, '`' | '\'' | '"') {
        let mut name = String::new();
        let mut escaped = false;
        let mut pending_quote = false;
        for (i, c) in chars {
            if pending_quote {
                if c == first {
                    name.push(c);
                    pending_quote = false;
                    continue;
                }
                return Some((name, s.get(i..)?));
            }
            if escaped {
                name.push(c);
                escaped = false;
            } else if c == '\\' && first != '`' {
                escaped = true;
            } else if c == first {
                pending_quote = true;
            } else {
                name.push(c);
            }
        }
        return pending_quote.then_some((name, ""));
    }
    let end = s
        .char_indices()
        .find(|&(_, c)| c == '@' || c == ';' || c == ',' || c.is_whitespace())
        .map_or(s.len(), |(i, _)| i);
    let word = s.get(..end)?;
    (!word.is_empty()).then(|| (word.to_string(), s.get(end..).unwrap_or("")))
}

/// An account at the start of `s`: `user@host`, or a role name alone.
fn account(s: &str) -> Option<Account> {
    let (user, rest) = name_part(s.trim_start())?;
    let host = match rest.strip_prefix('@') {
        Some(after) => Some(name_part(after)?.0),
        None => None,
    };
    Some(Account { user, host })
}

/// Strips `prefix` (ASCII, any case) and the spaces after it.
fn strip_word<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
        .map(str::trim_start)
}

/// The account a `CREATE USER` or `CREATE ROLE` creates, and whether it is a role.
pub fn created_account(sql: &str) -> Option<(Account, bool)> {
    let rest = strip_word(sql.trim_start(), "CREATE ")?;
    let rest = strip_word(rest, "OR REPLACE ").unwrap_or(rest);
    let (rest, role) = match strip_word(rest, "USER ") {
        Some(r) => (r, false),
        None => (strip_word(rest, "ROLE ")?, true),
    };
    let rest = strip_word(rest, "IF NOT EXISTS ").unwrap_or(rest);
    let mut a = account(rest)?;
    if role {
        a.host = None;
    }
    Some((a, role))
}

/// The byte offset just past the top-level ` word ` of `line` (outside quotes and parentheses).
fn top_level(line: &str, word: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0usize, None::<char>);
    let mut found = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '`' | '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ' ' if depth == 0 => {
                    let after = line.get(i + 1..)?;
                    if after
                        .get(..word.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(word))
                        && after.get(word.len()..)?.starts_with(' ')
                    {
                        found = Some(i + 1 + word.len() + 1);
                        break;
                    }
                }
                _ => {}
            },
        }
    }
    found
}

/// The account a `GRANT … TO account` or `SET DEFAULT ROLE … FOR account` line applies to.
pub fn grantee(line: &str) -> Option<Account> {
    let line = line.trim_start();
    let word = if strip_word(line, "GRANT ").is_some() {
        "TO"
    } else if strip_word(line, "SET DEFAULT ROLE ").is_some() {
        "FOR"
    } else {
        return None;
    };
    account(line.get(top_level(line, word)?..)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(u: &str, h: &str) -> Account {
        Account {
            user: u.into(),
            host: Some(h.into()),
        }
    }

    fn role(r: &str) -> Account {
        Account {
            user: r.into(),
            host: None,
        }
    }

    #[test]
    fn system_accounts_are_recognised() {
        let cases = [
            ("root", "localhost", true),
            ("root", "%", true),
            ("mariadb.sys", "localhost", true),
            ("mysql.sys", "localhost", true),
            ("mysql.session", "localhost", true),
            ("mysql.infoschema", "localhost", true),
            ("PUBLIC", "", true),
            ("debian-sys-maint", "localhost", true),
            ("mysql", "localhost", true),
            ("mysql", "LOCALHOST", true),
            ("mysql", "%", false),
            ("mysql", "10.0.0.1", false),
            ("app", "localhost", false),
            ("Root", "localhost", false),
            ("public", "", false),
            ("", "localhost", false),
        ];
        for (u, h, want) in cases {
            assert_eq!(is_system_account(u, h), want, "{u}@{h}");
        }
    }

    #[test]
    fn created_accounts_are_read() {
        let cases = [
            (
                "CREATE USER `app`@`localhost` IDENTIFIED BY PASSWORD '*AB'",
                Some((user("app", "localhost"), false)),
            ),
            (
                "CREATE USER 'o''k'@'%' IDENTIFIED VIA unix_socket",
                Some((user("o'k", "%"), false)),
            ),
            ("CREATE ROLE `r``x`", Some((role("r`x"), true))),
            (
                "create role r1 WITH ADMIN CURRENT_USER",
                Some((role("r1"), true)),
            ),
            (
                "CREATE USER IF NOT EXISTS u@h",
                Some((user("u", "h"), false)),
            ),
            ("CREATE USER `表`@`日本`", Some((user("表", "日本"), false))),
            ("CREATE TABLE t (a int)", None),
            ("CREATE USER `unterminated", None),
            ("CREATE USER ", None),
        ];
        for (sql, want) in cases {
            assert_eq!(created_account(sql), want, "{sql}");
        }
    }

    #[test]
    fn grantees_are_read() {
        let cases = [
            (
                "GRANT USAGE ON *.* TO `gx`@`localhost` IDENTIFIED BY PASSWORD '*x'",
                Some(user("gx", "localhost")),
            ),
            (
                "GRANT SELECT (`a to b`) ON `d`.`t` TO `u`@`%` WITH GRANT OPTION",
                Some(user("u", "%")),
            ),
            (
                "GRANT `role1` TO `gx`@`localhost`",
                Some(user("gx", "localhost")),
            ),
            ("GRANT SELECT ON `d`.* TO `r`", Some(role("r"))),
            (
                "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
                Some(user("root", "localhost")),
            ),
            ("SET DEFAULT ROLE `r` FOR `u`@`h`", Some(user("u", "h"))),
            (
                "GRANT SELECT ON `to to`.* TO `表`@`%`",
                Some(user("表", "%")),
            ),
            ("INSERT INTO t VALUES (1)", None),
            ("GRANT SELECT ON `é", None),
        ];
        for (line, want) in cases {
            assert_eq!(grantee(line), want, "{line}");
        }
        assert_eq!(user("o'k", "%").to_string(), "'o\\'k'@'%'");
        assert_eq!(role("r").to_string(), "'r'");
        assert!(role("r").is("r", ""));
        assert!(user("u", "LocalHost").is("u", "localhost"));
    }
}
