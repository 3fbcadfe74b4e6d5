//! Planning, as pure functions: how many connections, which table a worker takes next, and in
//! which order views are created.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::{IndexColumn, TableInfo, TableKind};

/// How many connections a dump opens: a fixed number, or chosen when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// From the CPUs here and on the server, less the server's other running queries
    /// ([`auto_threads`]).
    #[default]
    Auto,
    /// Exactly this many (at least 1).
    Count(usize),
}

impl std::str::FromStr for Threads {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Threads::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Threads::Count(n)),
            _ => Err(format!(
                "invalid thread count {s:?}: expected a number from 1 up, or auto"
            )),
        }
    }
}

impl std::fmt::Display for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threads::Auto => f.write_str("auto"),
            Threads::Count(n) => write!(f, "{n}"),
        }
    }
}

impl serde::Serialize for Threads {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Threads::Auto => s.serialize_str("auto"),
            Threads::Count(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Threads {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) => usize::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .map(Threads::Count)
                .ok_or_else(|| serde::de::Error::custom("threads must be at least 1, or auto")),
            Raw::Word(w) => w.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The most connections [`auto_threads`] picks: past this, a dump is bound by the server's
/// disks and the client's compression, not by connections.
pub const MAX_AUTO_THREADS: usize = 8;

/// What the choice of the number of connections is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// CPUs of the machine mybak runs on.
    pub client_cpus: usize,
    /// CPUs of the server, when it says (MariaDB's `thread_pool_size` defaults to them).
    pub server_cpus: Option<usize>,
    /// Queries the server is running besides ours (`Threads_running` less one).
    pub busy: u64,
}

/// The number of connections for a dump under `load`: one per CPU the client has and the
/// server has free (its CPUs less the queries it is running for others), at least 1 and at
/// most [`MAX_AUTO_THREADS`]. Each connection keeps one server thread (reading and sending
/// rows) and one client thread (formatting, compressing, hashing) busy, so more connections
/// than free CPUs on either side only add contention; a busy production server gets fewer.
pub fn auto_threads(load: Load) -> usize {
    let server = load.server_cpus.unwrap_or(load.client_cpus);
    let busy = usize::try_from(load.busy).unwrap_or(usize::MAX);
    let free = server.saturating_sub(busy);
    load.client_cpus.min(free).clamp(1, MAX_AUTO_THREADS)
}

/// zstd threads of each file a dump writes, given the CPUs here and the connections reading:
/// each connection's thread formats and compresses its own rows, and a file gets a
/// compression thread of its own only when there are CPUs for it (one more per connection);
/// otherwise the extra thread would only add a copy of every byte and contention.
pub fn compress_workers(cpus: usize, connections: usize) -> u32 {
    u32::from(cpus >= 2 * connections.max(1))
}

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

    #[test]
    fn auto_threads_follow_free_cpus_on_both_sides() {
        let load = |client_cpus, server_cpus, busy| Load {
            client_cpus,
            server_cpus,
            busy,
        };
        let cases = [
            // (load, connections)
            (load(2, None, 0), 2),
            (load(2, Some(2), 0), 2),
            (load(16, Some(64), 0), MAX_AUTO_THREADS),
            (load(4, Some(2), 0), 2),
            (load(8, Some(8), 5), 3),
            (load(8, Some(8), 8), 1),
            (load(8, Some(8), 100), 1),
            (load(0, Some(0), 0), 1),
            (load(2, None, u64::MAX), 1),
        ];
        for (l, want) in cases {
            assert_eq!(auto_threads(l), want, "{l:?}");
        }
    }

    #[test]
    fn files_get_a_compression_thread_only_where_cpus_are_left_over() {
        let cases = [
            // (cpus, connections, workers)
            (2, 2, 0),
            (2, 1, 1),
            (4, 2, 1),
            (4, 3, 0),
            (16, 8, 1),
            (1, 1, 0),
            (8, 0, 1),
            (0, 0, 0),
        ];
        for (cpus, connections, want) in cases {
            assert_eq!(
                compress_workers(cpus, connections),
                want,
                "{cpus} {connections}"
            );
        }
    }

    #[test]
    fn threads_parse_as_a_count_or_auto() {
        assert_eq!("auto".parse::<Threads>(), Ok(Threads::Auto));
        assert_eq!("AUTO".parse::<Threads>(), Ok(Threads::Auto));
        assert_eq!("3".parse::<Threads>(), Ok(Threads::Count(3)));
        for bad in ["0", "-1", "", "two", "1.5"] {
            assert!(bad.parse::<Threads>().is_err(), "{bad}");
        }
        assert_eq!(Threads::Count(4).to_string(), "4");
        assert_eq!(Threads::Auto.to_string(), "auto");
    }
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

/// How a big table is cut into ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkKey {
    /// A single integer column: numeric ranges, sized from the rows seen.
    Integer { column: String },
    /// Any other usable key (composite, string, date…): walked in key order.
    Walk { columns: Vec<String> },
}

const INTEGER_TYPES: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
const WALKABLE_TYPES: [&str; 16] = [
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "bigint",
    "decimal",
    "char",
    "varchar",
    "binary",
    "varbinary",
    "date",
    "datetime",
    "timestamp",
    "time",
    "year",
    "uuid",
];

/// Chooses the key to cut a table by: the primary key, else a unique index on NOT NULL columns
/// (fewest columns first). `Err` says why there is none (the table is then read in one stream).
pub fn choose_key(columns: &[IndexColumn]) -> Result<ChunkKey, String> {
    let mut indexes: BTreeMap<&str, Vec<&IndexColumn>> = BTreeMap::new();
    for c in columns {
        indexes.entry(c.index.as_str()).or_default().push(c);
    }
    if indexes.is_empty() {
        return Err("it has no primary key or unique index".to_string());
    }
    let usable = |cols: &Vec<&IndexColumn>| {
        cols.iter()
            .all(|c| !c.nullable && !c.prefix && WALKABLE_TYPES.contains(&c.data_type.as_str()))
    };
    let mut candidates: Vec<(&str, &Vec<&IndexColumn>)> = indexes
        .iter()
        .filter(|(_, cols)| usable(cols))
        .map(|(name, cols)| (*name, cols))
        .collect();
    candidates.sort_by_key(|(name, cols)| (*name != "PRIMARY", cols.len()));
    let Some((_, cols)) = candidates.first() else {
        return Err(
            "no primary key or unique index on NOT NULL integer, string or temporal columns without prefix"
                .to_string(),
        );
    };
    if cols.len() == 1 && INTEGER_TYPES.contains(&cols[0].data_type.as_str()) {
        return Ok(ChunkKey::Integer {
            column: cols[0].column.clone(),
        });
    }
    Ok(ChunkKey::Walk {
        columns: cols.iter().map(|c| c.column.clone()).collect(),
    })
}

/// Rows per chunk for a table of `rows` rows and `bytes` bytes (estimates), for chunks of about
/// `chunk_bytes`; `None` when the table fits in one chunk.
pub fn chunk_rows(rows: u64, bytes: u64, chunk_bytes: u64) -> Option<u64> {
    if chunk_bytes == 0 || bytes <= chunk_bytes || rows < 2 {
        return None;
    }
    let rows_per_chunk = u128::from(rows) * u128::from(chunk_bytes) / u128::from(bytes);
    Some(u64::try_from(rows_per_chunk).unwrap_or(u64::MAX).max(1000))
}

/// Rows per chunk when `table` is cut into chunks of about `chunk_bytes` (see [`chunk_rows`]);
/// `None` when it is read in one stream: it fits in one chunk, or it is not a base table with
/// rows of its own (history rows share their key; ARCHIVE loads its rows in the order read).
pub fn chunk_target(table: &TableInfo, chunk_bytes: u64) -> Option<u64> {
    let chunkable =
        table.kind == TableKind::Base && table.rows_elsewhere().is_none() && !table.archive();
    chunk_rows(table.estimated_rows, table.estimated_bytes, chunk_bytes).filter(|_| chunkable)
}

/// The first width of an integer range: the key span spread over the estimated rows.
pub fn initial_step(min: i128, max: i128, estimated_rows: u64, target_rows: u64) -> i128 {
    let span = (max - min).max(0) + 1;
    let rows = i128::from(estimated_rows.max(1));
    (span.saturating_mul(i128::from(target_rows)) / rows).max(1)
}

/// The next width of an integer range after a range of `width` held `rows` rows: scaled towards
/// `target_rows`, at most twice as wide (4 times after an empty range) or 8 times narrower, never 0.
/// Growth is slow so a sparse stretch does not make the next dense stretch one huge chunk; the
/// dump also skips gaps with no rows (see `dump::chunk`), so empty ranges stay rare.
pub fn next_step(width: i128, rows: u64, target_rows: u64) -> i128 {
    let width = width.max(1);
    let next = if rows == 0 {
        width.saturating_mul(4)
    } else {
        let scaled = width.saturating_mul(i128::from(target_rows)) / i128::from(rows);
        scaled.clamp((width / 8).max(1), width.saturating_mul(2))
    };
    next.max(1)
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    fn col(index: &str, column: &str, ty: &str, nullable: bool) -> IndexColumn {
        IndexColumn {
            index: index.into(),
            column: column.into(),
            data_type: ty.into(),
            nullable,
            prefix: false,
        }
    }

    #[test]
    fn keys_are_chosen_primary_first_then_the_narrowest_unique() {
        let int = |c: &str| ChunkKey::Integer { column: c.into() };
        let walk = |c: &[&str]| ChunkKey::Walk {
            columns: c.iter().map(|s| s.to_string()).collect(),
        };
        let cases: Vec<(Vec<IndexColumn>, Result<ChunkKey, ()>)> = vec![
            (vec![col("PRIMARY", "id", "bigint", false)], Ok(int("id"))),
            (
                vec![
                    col("PRIMARY", "a", "int", false),
                    col("PRIMARY", "b", "varchar", false),
                ],
                Ok(walk(&["a", "b"])),
            ),
            (
                vec![col("PRIMARY", "code", "varchar", false)],
                Ok(walk(&["code"])),
            ),
            (
                vec![
                    col("u_wide", "x", "int", false),
                    col("u_wide", "y", "int", false),
                    col("u_one", "z", "int", false),
                ],
                Ok(int("z")),
            ),
            (vec![col("u_null", "x", "int", true)], Err(())),
            (vec![col("PRIMARY", "f", "double", false)], Err(())),
            (vec![], Err(())),
        ];
        for (cols, want) in cases {
            assert_eq!(choose_key(&cols).map_err(|_| ()), want, "{cols:?}");
        }
        let mut prefixed = col("PRIMARY", "name", "varchar", false);
        prefixed.prefix = true;
        assert!(choose_key(&[prefixed]).is_err());
    }

    #[test]
    fn only_tables_bigger_than_a_chunk_are_cut() {
        assert_eq!(chunk_rows(1000, 1 << 20, 64 << 20), None);
        assert_eq!(chunk_rows(1_000_000, 200 << 20, 64 << 20), Some(320_000));
        assert_eq!(chunk_rows(1_000_000, 200 << 20, 0), None);
        // Never absurdly small chunks for wide rows.
        assert_eq!(chunk_rows(10, 1 << 30, 1 << 20), Some(1000));
    }

    #[test]
    fn only_big_base_tables_with_rows_of_their_own_are_cut() {
        let table = |kind, engine: &str, bytes| TableInfo {
            database: "d".into(),
            name: "t".into(),
            kind,
            engine: Some(engine.into()),
            estimated_rows: 1_000_000,
            estimated_bytes: bytes,
        };
        let big = 200 << 20;
        let cases = [
            (TableKind::Base, "InnoDB", big, 64 << 20, Some(320_000)),
            (TableKind::Base, "InnoDB", 1 << 20, 64 << 20, None),
            (TableKind::Base, "InnoDB", big, 0, None),
            (TableKind::Base, "MyISAM", big, 64 << 20, Some(320_000)),
            (TableKind::Base, "ARCHIVE", big, 64 << 20, None),
            (TableKind::Base, "MRG_MyISAM", big, 64 << 20, None),
            (TableKind::SystemVersioned, "InnoDB", big, 64 << 20, None),
            (TableKind::Sequence, "InnoDB", big, 64 << 20, None),
            (TableKind::View, "InnoDB", big, 64 << 20, None),
        ];
        for (kind, engine, bytes, chunk_bytes, want) in cases {
            assert_eq!(
                chunk_target(&table(kind, engine, bytes), chunk_bytes),
                want,
                "{kind:?} {engine} {bytes} {chunk_bytes}"
            );
        }
    }

    #[test]
    fn integer_steps_adapt_and_sparse_keys_grow_fast() {
        assert_eq!(initial_step(1, 1_000_000, 1_000_000, 1000), 1000);
        let full = initial_step(i64::MIN.into(), i64::MAX.into(), 20_000, 1000);
        assert!(full > 0 && full < i128::from(u64::MAX));
        assert_eq!(next_step(1000, 1000, 1000), 1000);
        assert_eq!(next_step(1000, 2000, 1000), 500);
        assert_eq!(next_step(1000, 1_000_000, 1000), 125);
        assert_eq!(next_step(1000, 10, 1000), 2000);
        assert_eq!(next_step(1000, 700, 1000), 1428);
        assert_eq!(next_step(1000, 0, 1000), 4000);
        assert_eq!(next_step(1, 5, 1), 1);
        // Across the whole BIGINT range, empty ranges are logarithmic in the span.
        let (mut width, mut empties) = (1i128, 0);
        while width < i128::from(u64::MAX) {
            width = next_step(width, 0, 1000);
            empties += 1;
        }
        assert!(empties <= 33, "{empties}");
    }
}
