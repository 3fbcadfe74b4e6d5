//! Planning, as pure functions: which table a worker takes next, and in which order views are created.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::TableInfo;

/// Indices of `tables` with the largest (estimated) first, so the longest job starts first and
/// small ones fill the gaps at the end; ties keep name order.
pub fn largest_first(tables: &[TableInfo]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (&tables[a], &tables[b]);
        tb.estimated_bytes
            .cmp(&ta.estimated_bytes)
            .then_with(|| (&ta.database, &ta.name).cmp(&(&tb.database, &tb.name)))
    });
    order
}

/// A view and the text of its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewDef<'a> {
    pub database: &'a str,
    pub name: &'a str,
    /// The `CREATE VIEW` text as the server shows it (names fully qualified in backticks).
    pub definition: &'a str,
}

fn backticked(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Orders views so that every view comes after the views its definition names (across databases).
/// A view names another when its definition contains `` `db`.`name` ``, as the server writes it.
/// Views in a cycle (only possible through a false match) keep their name order at the end.
pub fn order_views(views: &[ViewDef<'_>]) -> Vec<usize> {
    let keys: Vec<String> = views
        .iter()
        .map(|v| format!("{}.{}", backticked(v.database), backticked(v.name)))
        .collect();
    let mut deps: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let body = v
            .definition
            .find(" AS ")
            .map_or(v.definition, |p| &v.definition[p..]);
        let mut set = BTreeSet::new();
        for (j, key) in keys.iter().enumerate() {
            let unqualified = backticked(views[j].name);
            let same_db_short = views[j].database == v.database && body.contains(&unqualified);
            if i != j && (body.contains(key.as_str()) || same_db_short) {
                set.insert(j);
            }
        }
        deps.insert(i, set);
    }
    let mut names: Vec<usize> = (0..views.len()).collect();
    names.sort_by_key(|&i| (views[i].database, views[i].name));
    let mut done = vec![false; views.len()];
    let mut order = Vec::with_capacity(views.len());
    loop {
        let ready: Vec<usize> = names
            .iter()
            .copied()
            .filter(|&i| !done[i] && deps[&i].iter().all(|&d| done[d]))
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            done[i] = true;
            order.push(i);
        }
    }
    order.extend(names.into_iter().filter(|&i| !done[i]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::TableKind;

    fn table(db: &str, name: &str, bytes: u64) -> TableInfo {
        TableInfo {
            database: db.into(),
            name: name.into(),
            kind: TableKind::Base,
            engine: Some("InnoDB".into()),
            estimated_rows: 0,
            estimated_bytes: bytes,
        }
    }

    #[test]
    fn largest_tables_go_first() {
        let t = [
            table("a", "small", 10),
            table("a", "big", 1000),
            table("b", "mid", 100),
            table("a", "mid", 100),
        ];
        assert_eq!(largest_first(&t), vec![1, 3, 2, 0]);
    }

    #[test]
    fn views_follow_what_they_read() {
        let defs = [
            (
                "d",
                "a_top",
                "CREATE VIEW `d`.`a_top` AS select `d`.`m_mid`.`x` from `d`.`m_mid`",
            ),
            (
                "d",
                "m_mid",
                "CREATE VIEW `d`.`m_mid` AS select `e`.`z_base`.`x` from `e`.`z_base`",
            ),
            ("e", "z_base", "CREATE VIEW `e`.`z_base` AS select 1 AS `x`"),
            ("d", "lone", "CREATE VIEW `d`.`lone` AS select 2 AS `y`"),
        ];
        let views: Vec<ViewDef> = defs
            .iter()
            .map(|(d, n, def)| ViewDef {
                database: d,
                name: n,
                definition: def,
            })
            .collect();
        let order: Vec<&str> = order_views(&views)
            .into_iter()
            .map(|i| views[i].name)
            .collect();
        assert_eq!(order, vec!["lone", "z_base", "m_mid", "a_top"]);
    }

    #[test]
    fn a_cycle_still_lists_every_view_once() {
        let views = [
            ViewDef {
                database: "d",
                name: "a",
                definition: "CREATE VIEW `d`.`a` AS select 1 from `d`.`b`",
            },
            ViewDef {
                database: "d",
                name: "b",
                definition: "CREATE VIEW `d`.`b` AS select 1 from `d`.`a`",
            },
        ];
        let mut order = order_views(&views);
        order.sort();
        assert_eq!(order, vec![0, 1]);
    }
}
