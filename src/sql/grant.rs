//! Which `GRANT` lines of `SHOW GRANTS` a dump can restore: object-level grants need their object.

use crate::sql::ident::read_backticked;

/// What a `GRANT … ON target TO …` line applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// `*.*`, `db.*`, a role grant, a proxy grant or anything else that needs no object.
    NoObject,
    /// A table (or view, or its columns), or a routine (`PROCEDURE`, `FUNCTION`, `PACKAGE`…).
    Object {
        routine: bool,
        database: String,
        name: String,
    },
}

/// Finds the top-level ` ON ` of a GRANT line (outside backticks and parentheses).
fn on_keyword(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let (mut depth, mut in_tick) = (0usize, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => in_tick = !in_tick,
            b'(' if !in_tick => depth += 1,
            b')' if !in_tick => depth = depth.saturating_sub(1),
            b' ' if !in_tick
                && depth == 0
                && bytes.len() >= i + 4
                && bytes[i + 1..i + 4].eq_ignore_ascii_case(b"ON ") =>
            {
                return Some(i + 4);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Classifies one line of `SHOW GRANTS` output.
pub fn grant_target(line: &str) -> GrantTarget {
    if !line.starts_with("GRANT ") {
        return GrantTarget::NoObject;
    }
    let Some(start) = on_keyword(line) else {
        return GrantTarget::NoObject;
    };
    let mut rest = line[start..].trim_start();
    let mut routine = false;
    for kw in [
        "PACKAGE BODY ",
        "PACKAGE ",
        "PROCEDURE ",
        "FUNCTION ",
        "TABLE ",
    ] {
        // `get`: the text after ON may start with a multi-byte name inside the keyword's length.
        if let Some(after) = rest
            .get(..kw.len())
            .filter(|head| head.eq_ignore_ascii_case(kw))
            .and_then(|_| rest.get(kw.len()..))
        {
            routine = kw != "TABLE ";
            rest = after.trim_start();
            break;
        }
    }
    let Some((database, after)) = read_backticked(rest) else {
        return GrantTarget::NoObject;
    };
    let Some(after) = after.strip_prefix('.') else {
        return GrantTarget::NoObject;
    };
    match read_backticked(after) {
        Some((name, _)) => GrantTarget::Object {
            routine,
            database,
            name,
        },
        None => GrantTarget::NoObject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(routine: bool, db: &str, name: &str) -> GrantTarget {
        GrantTarget::Object {
            routine,
            database: db.into(),
            name: name.into(),
        }
    }

    #[test]
    fn grant_lines_are_classified() {
        let cases = [
            (
                "GRANT USAGE ON *.* TO `gx`@`localhost`",
                GrantTarget::NoObject,
            ),
            (
                "GRANT SELECT ON `demo1`.* TO `gx`@`localhost`",
                GrantTarget::NoObject,
            ),
            (
                "GRANT SELECT (`id`), UPDATE ON `demo1`.`t` TO `gx`@`localhost`",
                obj(false, "demo1", "t"),
            ),
            (
                "GRANT SELECT (`a on b`, `c``d`) ON `my db`.`t``x` TO `u`@`%`",
                obj(false, "my db", "t`x"),
            ),
            (
                "GRANT EXECUTE ON PROCEDURE `demo2`.`p` TO `gx`@`localhost`",
                obj(true, "demo2", "p"),
            ),
            (
                "GRANT EXECUTE ON FUNCTION `d`.`f` TO `r`",
                obj(true, "d", "f"),
            ),
            ("GRANT `role1` TO `gx`@`localhost`", GrantTarget::NoObject),
            (
                "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
                GrantTarget::NoObject,
            ),
            ("SET DEFAULT ROLE `r` FOR `u`@`h`", GrantTarget::NoObject),
            // Multi-byte names where a keyword's length ends inside a character.
            (
                "GRANT SELECT ON `表表表`.`表` TO `u`@`%`",
                obj(false, "表表表", "表"),
            ),
            (
                "GRANT EXECUTE ON PROCEDURE `ж`.`表表表表表` TO `u`@`%`",
                obj(true, "ж", "表表表表表"),
            ),
            ("GRANT SELECT ON `é", GrantTarget::NoObject),
        ];
        for (line, want) in cases {
            assert_eq!(grant_target(line), want, "{line}");
        }
    }
}
