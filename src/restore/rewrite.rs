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

/// A `CREATE TABLE` split for deferred indexes: the table with the indexes that stay, and the
/// secondary indexes added once its rows are in, in their original order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredIndexes {
    pub create: String,
    /// The definitions held back, as `SHOW CREATE TABLE` writes them (`KEY `k` (`a`)`).
    pub keys: Vec<String>,
}

impl DeferredIndexes {
    /// The `ALTER TABLE` that adds all the held-back indexes in one pass over the rows.
    pub fn alter(&self, table: &str) -> String {
        alter_adding(table, &self.keys)
    }
}

/// `ALTER TABLE table ADD key, ADD key…`; `table` already quoted.
pub fn alter_adding(table: &str, keys: &[String]) -> String {
    let adds: Vec<String> = keys.iter().map(|k| format!("ADD {k}")).collect();
    format!("ALTER TABLE {table} {}", adds.join(", "))
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

/// Why a table keeps all its indexes in its `CREATE TABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    /// Not a `CREATE TABLE` as `SHOW CREATE TABLE` writes it.
    NotATable,
    /// Only InnoDB builds an added index in place by sorting; MyISAM and Aria have bulk-insert
    /// paths of their own, and copy the whole table for an `ALTER TABLE … ADD KEY`.
    NotInnoDb,
    /// Foreign keys need their indexes when they are created (InnoDB would invent one of its own).
    ForeignKeys,
    /// `ALTER TABLE` of a system-versioned table is refused (`system_versioning_alter_history`).
    SystemVersioned,
    /// No secondary index may be deferred.
    NothingToDefer,
}

impl std::fmt::Display for KeepReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeepReason::NotATable => "not a CREATE TABLE as SHOW CREATE TABLE writes it",
            KeepReason::NotInnoDb => "not InnoDB",
            KeepReason::ForeignKeys => "it has foreign keys",
            KeepReason::SystemVersioned => "it is system-versioned",
            KeepReason::NothingToDefer => "no secondary index that may be deferred",
        })
    }
}

/// The storage engine a `SHOW CREATE TABLE` names in its table options (`) ENGINE=InnoDB …`).
fn engine(close: &str) -> Option<&str> {
    let rest = close.strip_prefix(") ENGINE=")?;
    Some(rest.split(' ').next().unwrap_or(rest))
}

/// A secondary index definition line: its kind (`KEY`, `UNIQUE KEY`, `FULLTEXT KEY`, `SPATIAL
/// KEY`) and the rest (`` `name` (`a`,`b`) … ``).
fn secondary_key(line: &str) -> Option<(&'static str, &str)> {
    ["KEY", "UNIQUE KEY", "FULLTEXT KEY", "SPATIAL KEY"]
        .into_iter()
        .find_map(|kind| {
            let rest = line.strip_prefix("  ")?.strip_prefix(kind)?;
            Some((kind, rest.strip_prefix(' ')?))
        })
}

/// The first column of an index definition's rest (`` `name` (`a`(10),`b`) ``).
fn first_column(rest: &str) -> Option<String> {
    let (_, after) = read_backticked(rest)?;
    let cols = after.trim_start().strip_prefix('(')?;
    read_backticked(cols).map(|(c, _)| c)
}

/// Whether an index of this kind may be added after the rows instead of with the table.
/// FULLTEXT and SPATIAL indexes stay: InnoDB rebuilds the whole table to add a first FULLTEXT
/// index (for its hidden `FTS_DOC_ID` column) and builds SPATIAL ones row by row anyway. A UNIQUE
/// index stays in a table without a primary key (InnoDB may cluster the rows on it: adding it
/// later would rebuild the table) and when it is a long one `USING HASH` (its hidden hash column
/// makes the ALTER a copy). An index that starts with the AUTO_INCREMENT column stays: the table
/// cannot be created without it.
fn deferrable(kind: &str, rest: &str, has_primary_key: bool, auto_increment: &[String]) -> bool {
    let unique = kind == "UNIQUE KEY";
    if !(kind == "KEY" || unique) {
        return false;
    }
    if unique && (!has_primary_key || rest.contains(" USING HASH")) {
        return false;
    }
    match first_column(rest) {
        Some(c) => !auto_increment.contains(&c),
        None => false,
    }
}

/// Splits a `CREATE TABLE` as `SHOW CREATE TABLE` writes it (one definition per line) into the
/// table with its primary key and the indexes that must stay, and the secondary indexes to add
/// once its rows are in. Returns why not when nothing is deferred: see [`KeepReason`] and
/// `deferrable`. Partitioned tables are split like any other (the ALTER builds every
/// partition's index).
pub fn defer_indexes(create: &str) -> Result<DeferredIndexes, KeepReason> {
    if strip_prefix_ci(create, "CREATE TABLE ").is_none() {
        return Err(KeepReason::NotATable);
    }
    let lines = definition_lines(create);
    let close = lines
        .iter()
        .position(|l| l.starts_with(')'))
        .filter(|&i| i > 0)
        .ok_or(KeepReason::NotATable)?;
    if !engine(lines[close]).is_some_and(|e| e.eq_ignore_ascii_case("InnoDB")) {
        return Err(KeepReason::NotInnoDb);
    }
    let body = &lines[1..close];
    if body
        .iter()
        .any(|l| l.starts_with("  CONSTRAINT ") && l.contains(" FOREIGN KEY "))
    {
        return Err(KeepReason::ForeignKeys);
    }
    // Options, or a column's `WITH SYSTEM VERSIONING`; a comment that says so only keeps the
    // indexes where they are.
    if create.contains("WITH SYSTEM VERSIONING") {
        return Err(KeepReason::SystemVersioned);
    }
    let has_primary_key = body.iter().any(|l| l.starts_with("  PRIMARY KEY "));
    // A comment that mentions AUTO_INCREMENT only keeps an index where it is.
    let auto_increment: Vec<String> = body
        .iter()
        .filter(|l| l.contains(" AUTO_INCREMENT"))
        .filter_map(|l| l.strip_prefix("  ").and_then(read_backticked))
        .map(|(name, _)| name)
        .collect();
    let mut kept: Vec<String> = vec![lines[0].to_string()];
    let mut keys: Vec<String> = Vec::new();
    for line in body {
        match secondary_key(line) {
            Some((kind, rest)) if deferrable(kind, rest, has_primary_key, &auto_increment) => {
                keys.push(line.trim().trim_end_matches(',').to_string());
            }
            _ => kept.push((*line).to_string()),
        }
    }
    if keys.is_empty() {
        return Err(KeepReason::NothingToDefer);
    }
    // The last definition before the closing `) ENGINE…` line must not end in a comma any more.
    if let Some(last) = kept.last_mut() {
        if let Some(stripped) = last.strip_suffix(',') {
            *last = stripped.to_string();
        }
    }
    kept.extend(lines[close..].iter().map(|l| l.to_string()));
    Ok(DeferredIndexes {
        create: kept.join("\n"),
        keys,
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
        let d = defer_indexes(create).unwrap();
        assert_eq!(d.alter("`t`"), "ALTER TABLE `t` ADD KEY `k\nx` (`a\nb`)");
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
        let d = defer_indexes(CREATE).unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `c` text DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  FULLTEXT KEY `fc` (`c`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(
            d.alter("`t`"),
            "ALTER TABLE `t` ADD UNIQUE KEY `ua` (`a`), ADD KEY `ka` (`a`,`id`)"
        );
        assert_eq!(
            alter_adding("`d`.`t`", &d.keys[1..]),
            "ALTER TABLE `d`.`t` ADD KEY `ka` (`a`,`id`)"
        );
    }

    #[test]
    fn tables_that_keep_all_their_indexes_say_why() {
        let cases = [
            (
                "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB",
                KeepReason::NothingToDefer,
            ),
            (
                "CREATE TABLE `c` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `fp` (`p`),\n  CONSTRAINT `fp` FOREIGN KEY (`p`) REFERENCES `p` (`id`)\n) ENGINE=InnoDB",
                KeepReason::ForeignKeys,
            ),
            (
                "CREATE TABLE `m` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `ka` (`a`)\n) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4",
                KeepReason::NotInnoDb,
            ),
            (
                "CREATE TABLE `m` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `ka` (`a`)\n) ENGINE=Aria DEFAULT CHARSET=utf8mb4 PAGE_CHECKSUM=1",
                KeepReason::NotInnoDb,
            ),
            (
                "CREATE TABLE `v` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `ka` (`a`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 WITH SYSTEM VERSIONING",
                KeepReason::SystemVersioned,
            ),
            (
                "CREATE TABLE `f` (\n  `id` int(11) NOT NULL,\n  `c` text DEFAULT NULL,\n  `g` point NOT NULL,\n  PRIMARY KEY (`id`),\n  FULLTEXT KEY `fc` (`c`),\n  SPATIAL KEY `sg` (`g`)\n) ENGINE=InnoDB",
                KeepReason::NothingToDefer,
            ),
            (
                "CREATE TABLE `h` (\n  `id` int(11) NOT NULL,\n  `b` blob DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `ub` (`b`) USING HASH\n) ENGINE=InnoDB",
                KeepReason::NothingToDefer,
            ),
            ("CREATE TABLE `x` (`a` int, KEY (`a`))", KeepReason::NotATable),
            ("CREATE VIEW `v` AS SELECT 1", KeepReason::NotATable),
        ];
        for (create, why) in cases {
            assert_eq!(defer_indexes(create), Err(why), "{create}");
        }
    }

    #[test]
    fn a_table_without_primary_key_keeps_its_unique_indexes() {
        // InnoDB clusters the rows on the first UNIQUE NOT NULL index: added later, it would
        // rebuild the table. A plain index may wait.
        let no_pk = "CREATE TABLE `n` (\n  `a` int(11) NOT NULL,\n  `b` int(11) DEFAULT NULL,\n  UNIQUE KEY `ua` (`a`),\n  KEY `kb` (`b`)\n) ENGINE=InnoDB";
        let d = defer_indexes(no_pk).unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `n` (\n  `a` int(11) NOT NULL,\n  `b` int(11) DEFAULT NULL,\n  UNIQUE KEY `ua` (`a`)\n) ENGINE=InnoDB"
        );
        assert_eq!(d.alter("`n`"), "ALTER TABLE `n` ADD KEY `kb` (`b`)");
    }

    #[test]
    fn an_index_starting_with_the_auto_increment_column_stays() {
        // Without it the table cannot be created: an AUTO_INCREMENT column must lead an index.
        let create = "CREATE TABLE `a` (\n  `g` int(11) NOT NULL,\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `x` int(11) DEFAULT NULL,\n  PRIMARY KEY (`g`,`id`),\n  KEY `kid` (`id`),\n  KEY `kx` (`x`,`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=7";
        let d = defer_indexes(create).unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `a` (\n  `g` int(11) NOT NULL,\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `x` int(11) DEFAULT NULL,\n  PRIMARY KEY (`g`,`id`),\n  KEY `kid` (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=7"
        );
        assert_eq!(d.keys, ["KEY `kx` (`x`,`id`)"]);
    }

    #[test]
    fn a_partitioned_table_is_split_before_its_partitions() {
        let create = "CREATE TABLE `p` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `ui` (`id`,`a`),\n  KEY `ka` (`a`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4\n PARTITION BY RANGE (`id`)\n(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,\n PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)";
        let d = defer_indexes(create).unwrap();
        assert_eq!(
            d.create,
            "CREATE TABLE `p` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4\n PARTITION BY RANGE (`id`)\n(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,\n PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)"
        );
        assert_eq!(d.keys, ["UNIQUE KEY `ui` (`id`,`a`)", "KEY `ka` (`a`)"]);
    }
}
