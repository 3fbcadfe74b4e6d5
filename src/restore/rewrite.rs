//! Statement rewrites a restore makes, as pure functions: another database name, and secondary
//! indexes held back until a table's rows are in.

mod references;

pub use references::{disable_event, may_occur, rewrite_references, Dialect, DisabledEvent};

use crate::sql::ident::{quote_ident, read_backticked};

/// Restores database `from` under the name `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Rewrites the statements of a dump that name the database itself: `CREATE DATABASE`, `ALTER
/// DATABASE`, `USE`. Returns `None` when `sql` needs no change. References to the database inside
/// other statements (a view's name and body, a routine's, `nextval(`db`.…)`, a MERGE table's
/// `UNION=(…)`) are [`rewrite_references`]' work.
pub fn rename_statement(sql: &str, rename: &Rename) -> Option<String> {
    let old = quote_ident(&rename.from);
    let new = quote_ident(&rename.to);
    for head in ["CREATE DATABASE ", "ALTER DATABASE ", "USE "] {
        if let Some(rest) = strip_prefix_ci(sql, head) {
            let rest_trim = rest.trim_start();
            let kept = sql.get(..sql.len() - rest_trim.len())?;
            return rest_trim
                .strip_prefix(old.as_str())
                .map(|tail| format!("{kept}{new}{tail}"));
        }
    }
    None
}

/// Whether a stored object's definition names `database` (as `` `db`. `` or `db.`), so that after a
/// rename it still reads from or writes to the old database.
pub fn names_database(definition: &str, database: &str) -> bool {
    let quoted = format!("{}.", quote_ident(database));
    if definition.contains(&quoted) {
        return true;
    }
    let plain = format!("{database}.");
    definition.match_indices(&plain).any(|(i, _)| {
        definition[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '$'))
    })
}

/// The tables a `CREATE TABLE` references through foreign keys, as (database or None, table).
pub fn referenced_tables(create: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for (i, _) in create.match_indices(" REFERENCES `") {
        let rest = &create[i + " REFERENCES ".len()..];
        let Some((first, after)) = read_backticked(rest) else {
            continue;
        };
        match after.strip_prefix('.').and_then(read_backticked) {
            Some((second, _)) => out.push((Some(first), second)),
            None => out.push((None, first)),
        }
    }
    out
}

/// A `CREATE TABLE` split for `--defer-indexes`: the table with its primary key only, and the
/// `ALTER TABLE` that adds the secondary indexes afterwards, in their original order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredIndexes {
    pub create: String,
    pub alter: String,
}

/// The lines of a `CREATE TABLE`: split at line ends outside quoted names and strings (a name
/// may hold a line end).
fn definition_lines(create: &str) -> Vec<&str> {
    let bytes = create.as_bytes();
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    let mut quote: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        match quote {
            Some(q) if b == q && bytes.get(i + 1) == Some(&q) => i += 1,
            Some(q) if b == q => quote = None,
            Some(b'`') => {}
            Some(_) if b == b'\\' => i += 1,
            Some(_) => {}
            None if matches!(b, b'`' | b'\'' | b'"') => quote = Some(b),
            None if b == b'\n' => {
                lines.push(create.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            None => {}
        }
        i += 1;
    }
    lines.push(create.get(start..).unwrap_or_default());
    lines
}

/// Splits a `CREATE TABLE` as `SHOW CREATE TABLE` writes it (one definition per line). Returns
/// `None` when there is nothing to defer or deferring could change the table: foreign keys need
/// their indexes at creation (InnoDB would invent one of its own).
/// `table` is the name the ALTER uses, already quoted (`` `t` `` or `` `db`.`t` ``).
pub fn defer_indexes(create: &str, table: &str) -> Option<DeferredIndexes> {
    let has_foreign_keys = create.contains("\n  CONSTRAINT ") && create.contains(" FOREIGN KEY ");
    if strip_prefix_ci(create, "CREATE TABLE ").is_none() || has_foreign_keys {
        return None;
    }
    let lines = definition_lines(create);
    let secondary = |l: &str| {
        [
            "  KEY ",
            "  UNIQUE KEY ",
            "  FULLTEXT KEY ",
            "  SPATIAL KEY ",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    };
    let mut kept: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for line in &lines {
        if secondary(line) {
            keys.push(line.trim().trim_end_matches(',').to_string());
        } else {
            kept.push((*line).to_string());
        }
    }
    if keys.is_empty() {
        return None;
    }
    // The definition before the closing `) ENGINE…` line must not end in a comma any more.
    let close = kept.iter().position(|l| l.starts_with(')'))?;
    if close == 0 {
        return None;
    }
    let last = &mut kept[close - 1];
    if let Some(stripped) = last.strip_suffix(',') {
        *last = stripped.to_string();
    }
    let alter = format!(
        "ALTER TABLE {table} {}",
        keys.iter()
            .map(|k| format!("ADD {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Some(DeferredIndexes {
        create: kept.join("\n"),
        alter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_inside_names_do_not_split_definitions() {
        let create = "CREATE TABLE `t` (\n  `a\nb` int(11) DEFAULT NULL COMMENT 'x\ny',\n  KEY `k\nx` (`a\nb`)\n) ENGINE=InnoDB";
        assert_eq!(
            definition_lines(create),
            vec![
                "CREATE TABLE `t` (",
                "  `a\nb` int(11) DEFAULT NULL COMMENT 'x\ny',",
                "  KEY `k\nx` (`a\nb`)",
                ") ENGINE=InnoDB"
            ]
        );
        let d = defer_indexes(create, "`t`").unwrap();
        assert_eq!(d.alter, "ALTER TABLE `t` ADD KEY `k\nx` (`a\nb`)");
        assert!(d.create.contains("COMMENT 'x\ny'\n)"), "{}", d.create);
    }

    fn rn(from: &str, to: &str) -> Rename {
        Rename {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn statements_naming_the_database_are_renamed() {
        let r = rn("shop", "shop_copy");
        let cases = [
            (
                "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
                Some("CREATE DATABASE `shop_copy` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"),
            ),
            ("USE `shop`", Some("USE `shop_copy`")),
            ("use `shop`", Some("use `shop_copy`")),
            ("USE `shopping`", None),
            (
                "ALTER DATABASE `shop` COLLATE utf8mb4_bin",
                Some("ALTER DATABASE `shop_copy` COLLATE utf8mb4_bin"),
            ),
            ("INSERT INTO `t` VALUES ('USE `shop`')", None),
            ("CREATE TABLE `t` (`a` int)", None),
        ];
        for (sql, want) in cases {
            assert_eq!(rename_statement(sql, &r).as_deref(), want, "{sql}");
        }
        let odd = rn("we`ird", "x");
        assert_eq!(
            rename_statement("USE `we``ird`", &odd).as_deref(),
            Some("USE `x`")
        );
    }

    #[test]
    fn definitions_and_tables_follow_every_rename() {
        let renames = [rn("shop", "shop_copy"), rn("other", "other_copy")];
        let cases = [
            (
                "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `shop`.`v` AS select `shop`.`t`.`a` AS `a` from `shop`.`t` join `other`.`u`",
                Some("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `shop_copy`.`v` AS select `shop_copy`.`t`.`a` AS `a` from `shop_copy`.`t` join `other_copy`.`u`"),
            ),
            (
                "CREATE TABLE `o` (\n  `id` bigint(20) NOT NULL DEFAULT nextval(`shop`.`seq`)\n)",
                Some("CREATE TABLE `o` (\n  `id` bigint(20) NOT NULL DEFAULT nextval(`shop_copy`.`seq`)\n)"),
            ),
            // A MERGE table's underlying tables, qualified.
            (
                "CREATE TABLE `m` (\n  `id` int(11) NOT NULL\n) ENGINE=MRG_MyISAM DEFAULT CHARSET=utf8mb4 INSERT_METHOD=LAST UNION=(`shop`.`p1`,`other`.`p2`) COMMENT 'shop.p1'",
                Some("CREATE TABLE `m` (\n  `id` int(11) NOT NULL\n) ENGINE=MRG_MyISAM DEFAULT CHARSET=utf8mb4 INSERT_METHOD=LAST UNION=(`shop_copy`.`p1`,`other_copy`.`p2`) COMMENT 'shop.p1'"),
            ),
            // A foreign key into another renamed database.
            (
                "CREATE TABLE `c` (\n  `p` int,\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `other`.`t` (`id`)\n)",
                Some("CREATE TABLE `c` (\n  `p` int,\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `other_copy`.`t` (`id`)\n)"),
            ),
            ("CREATE TABLE `t` (`a` int COMMENT 'shop.a')", None),
        ];
        for (sql, want) in cases {
            assert_eq!(
                rewrite_references(sql, &renames, Dialect::default()).as_deref(),
                want,
                "{sql}"
            );
        }
    }

    #[test]
    fn foreign_key_targets_are_listed() {
        let c = "CREATE TABLE `c` (\n  `p` int,\n  CONSTRAINT `f1` FOREIGN KEY (`p`) REFERENCES `par``ent` (`id`),\n  CONSTRAINT `f2` FOREIGN KEY (`p`) REFERENCES `other`.`t` (`id`)\n)";
        assert_eq!(
            referenced_tables(c),
            vec![
                (None, "par`ent".to_string()),
                (Some("other".to_string()), "t".to_string())
            ]
        );
    }

    #[test]
    fn definitions_naming_the_database_are_found() {
        assert!(names_database(
            "select `shop`.`t`.`a` from `shop`.`t`",
            "shop"
        ));
        assert!(names_database(
            "BEGIN INSERT INTO shop.log VALUES (1); END",
            "shop"
        ));
        assert!(!names_database(
            "BEGIN INSERT INTO myshop.log VALUES (1); END",
            "shop"
        ));
        assert!(!names_database(
            "BEGIN INSERT INTO log VALUES (1); END",
            "shop"
        ));
    }

    const CREATE: &str = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `c` text DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `ua` (`a`),\n  KEY `ka` (`a`,`id`),\n  FULLTEXT KEY `fc` (`c`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

    #[test]
    fn secondary_indexes_move_to_an_alter_in_order() {
        let d = defer_indexes(CREATE, "`t`").unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `c` text DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(
            d.alter,
            "ALTER TABLE `t` ADD UNIQUE KEY `ua` (`a`), ADD KEY `ka` (`a`,`id`), ADD FULLTEXT KEY `fc` (`c`)"
        );
    }

    #[test]
    fn nothing_is_deferred_without_secondary_indexes_or_with_foreign_keys() {
        assert_eq!(
            defer_indexes("CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB", "`t`"),
            None
        );
        let fk = "CREATE TABLE `c` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `fp` (`p`),\n  CONSTRAINT `fp` FOREIGN KEY (`p`) REFERENCES `p` (`id`)\n) ENGINE=InnoDB";
        assert_eq!(defer_indexes(fk, "`c`"), None);
        let no_pk =
            "CREATE TABLE `n` (\n  `a` int(11) DEFAULT NULL,\n  KEY `ka` (`a`)\n) ENGINE=InnoDB";
        let d = defer_indexes(no_pk, "`n`").unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `n` (\n  `a` int(11) DEFAULT NULL\n) ENGINE=InnoDB"
        );
        assert_eq!(d.alter, "ALTER TABLE `n` ADD KEY `ka` (`a`)");
    }
}
