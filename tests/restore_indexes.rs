//! `mybak restore` holds secondary indexes back until a table's rows are in, by default and only
//! where that is safe; `--no-defer-indexes` keeps every index inline; a deferred UNIQUE index the
//! rows break is that table's failure, named in one line.
//!
//! One server of its own with the general log in a table: what the restore sent (the `CREATE
//! TABLE` without the indexes, the `ALTER TABLE` that adds them) is read back from it.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::compare::compare_databases_renamed;
use common::dump::{run_dump, DumpOutput};
use common::{dump_databases, mybak_restore_cmd, unique_name, Server, ServerOptions};

/// Rows enough for deferral to be worth it by default (from 4 MiB of SQL per table).
const ROWS: u32 = 20_000;

/// Rows of the tables restored with `--defer-min-size 0`, where size does not matter.
const FEW: u32 = 300;

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::start_with(
            ServerOptions::default()
                .arg("--general-log=1")
                .arg("--log-output=TABLE"),
        )
    })
}

fn restore_as(server: &Server, dir: &Path, from: &str, to: &str, extra: &[&str]) -> DumpOutput {
    let mut cmd = mybak_restore_cmd(server, dir);
    cmd.args([
        "--threads",
        "2",
        "--rename-database",
        &format!("{from}={to}"),
    ]);
    cmd.args(extra);
    run_dump(cmd)
}

/// The statements the server logged that start with `head` and name `` `db`.`table` `` or, after
/// `USE db`, just `` `table` ``, in order.
fn logged(server: &Server, head: &str, table: &str) -> Vec<String> {
    let q = format!(
        "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log \
         WHERE command_type = 'Query' AND argument LIKE '{head}%' AND argument LIKE '%`{table}`%' \
         ORDER BY event_time"
    );
    server
        .query_rows(&q)
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

fn show_create(server: &Server, db: &str, table: &str) -> String {
    let rows = server.query_rows(&format!("SHOW CREATE TABLE `{db}`.`{table}`"));
    rows[0][1].clone().unwrap()
}

/// `INSERT … SELECT` of `rows` rows of about 245 bytes of SQL each ([`ROWS`]: 4.9 MB) into
/// `db`.`table` (columns `id`, `k`, `u`, `c`), `id` from 1.
fn fill(server: &Server, db: &str, table: &str, rows: u32) {
    server.exec(&format!(
        "INSERT INTO `{db}`.`{table}` (id, k, u, c) SELECT seq, seq % 97, seq, \
         CONCAT(REPEAT('x', 220), seq) FROM `{db}`.seq_1_to_{rows}"
    ));
}

#[test]
fn default_restore_defers_the_indexes_of_a_plain_table_and_ends_identical() {
    let server = server();
    let db = unique_name("defer");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE plain (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, u INT, c VARCHAR(250),
           UNIQUE KEY u (u), KEY k (k), KEY kc (k, c(20)) COMMENT 'two columns') ENGINE=InnoDB;
         CREATE TABLE part (id INT NOT NULL, k INT NOT NULL, u INT, c VARCHAR(250),
           PRIMARY KEY (id), KEY k (k)) ENGINE=InnoDB
           PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (8000), PARTITION p1 VALUES LESS THAN MAXVALUE);
         CREATE TABLE small (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, u INT, c VARCHAR(250),
           KEY k (k)) ENGINE=InnoDB;"
    ));
    fill(server, &db, "plain", ROWS);
    fill(server, &db, "part", ROWS);
    fill(server, &db, "small", FEW);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    let copy = unique_name("defer_copy");
    let out = restore_as(server, &dir, &db, &copy, &[]);
    out.assert_code(0);

    let creates = logged(server, "CREATE TABLE", "plain");
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert!(
        !creates[0].contains("KEY `k`") && !creates[0].contains("UNIQUE"),
        "the restore's CREATE TABLE still holds the indexes: {}",
        creates[0]
    );
    let alters = logged(server, "ALTER TABLE", "plain");
    assert_eq!(
        alters,
        [format!(
            "ALTER TABLE `{copy}`.`plain` ADD UNIQUE KEY `u` (`u`), ADD KEY `k` (`k`), \
             ADD KEY `kc` (`k`,`c`(20)) COMMENT 'two columns'"
        )]
    );
    assert_eq!(logged(server, "ALTER TABLE", "part").len(), 1);
    // Less than 4 MiB: not worth an ALTER.
    assert_eq!(
        logged(server, &format!("ALTER TABLE `{copy}`"), "small"),
        Vec::<String>::new()
    );
    for table in ["plain", "part", "small"] {
        assert_eq!(
            show_create(server, &db, table),
            show_create(server, &copy, table)
        );
    }
    compare_databases_renamed(server, &db, server, &copy, &[]).unwrap();
}

#[test]
fn tables_where_deferral_is_unsafe_keep_their_indexes_inline() {
    let server = server();
    let db = unique_name("inline");
    let columns = "id INT NOT NULL, k INT NOT NULL, u INT NOT NULL, c VARCHAR(250)";
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE parent ({columns}, PRIMARY KEY (id), KEY k (k)) ENGINE=InnoDB;
         CREATE TABLE child ({columns}, PRIMARY KEY (id), KEY k (k),
           CONSTRAINT fk FOREIGN KEY (u) REFERENCES parent (id)) ENGINE=InnoDB;
         CREATE TABLE myisam ({columns}, PRIMARY KEY (id), KEY k (k)) ENGINE=MyISAM;
         CREATE TABLE aria ({columns}, PRIMARY KEY (id), KEY k (k)) ENGINE=Aria;
         CREATE TABLE versioned ({columns}, PRIMARY KEY (id), KEY k (k)) ENGINE=InnoDB
           WITH SYSTEM VERSIONING;
         CREATE TABLE nopk ({columns}, UNIQUE KEY u (u), KEY k (k)) ENGINE=InnoDB;
         CREATE TABLE autoinc (g INT NOT NULL DEFAULT 0, id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL,
           u INT NOT NULL, c VARCHAR(250), PRIMARY KEY (g, id), KEY ai (id), KEY k (k)) ENGINE=InnoDB;
         CREATE TABLE ft ({columns}, PRIMARY KEY (id), FULLTEXT KEY fc (c)) ENGINE=InnoDB;
         CREATE TABLE empty ({columns}, PRIMARY KEY (id), KEY k (k)) ENGINE=InnoDB;"
    ));
    for t in [
        "parent",
        "child",
        "myisam",
        "aria",
        "versioned",
        "nopk",
        "autoinc",
        "ft",
    ] {
        fill(server, &db, t, FEW);
    }
    server.exec(&format!(
        "UPDATE {db}.versioned SET k = k + 1 WHERE id <= 100"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    let copy = unique_name("inline_copy");
    let out = restore_as(server, &dir, &db, &copy, &["--defer-min-size", "0"]);
    out.assert_code(0);

    for t in ["parent", "child", "myisam", "aria", "versioned", "ft"] {
        assert_eq!(
            logged(server, &format!("ALTER TABLE `{copy}`"), t),
            Vec::<String>::new(),
            "{t}: indexes added after the rows"
        );
    }
    // Without a primary key the UNIQUE NOT NULL index clusters the rows: it stays, the plain
    // index may wait.
    assert_eq!(
        logged(server, &format!("ALTER TABLE `{copy}`"), "nopk"),
        [format!("ALTER TABLE `{copy}`.`nopk` ADD KEY `k` (`k`)")]
    );
    // The AUTO_INCREMENT column's index stays; the other may wait.
    assert_eq!(
        logged(server, &format!("ALTER TABLE `{copy}`"), "autoinc"),
        [format!("ALTER TABLE `{copy}`.`autoinc` ADD KEY `k` (`k`)")]
    );
    // With a minimum of 0 even a table without rows waits.
    assert_eq!(
        logged(server, &format!("ALTER TABLE `{copy}`"), "empty"),
        [format!("ALTER TABLE `{copy}`.`empty` ADD KEY `k` (`k`)")]
    );
    compare_databases_renamed(server, &db, server, &copy, &[]).unwrap();
}

#[test]
fn no_defer_indexes_restores_every_index_inline() {
    let server = server();
    let db = unique_name("nodefer");
    server.exec(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.nd (id INT NOT NULL PRIMARY KEY, k INT NOT NULL,
           u INT, c VARCHAR(250), UNIQUE KEY u (u), KEY k (k)) ENGINE=InnoDB"
    ));
    fill(server, &db, "nd", FEW);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    let copy = unique_name("nodefer_copy");
    let out = restore_as(
        server,
        &dir,
        &db,
        &copy,
        &["--defer-min-size", "0", "--no-defer-indexes"],
    );
    out.assert_code(0);
    assert_eq!(
        logged(server, &format!("ALTER TABLE `{copy}`"), "nd"),
        Vec::<String>::new()
    );
    let creates = logged(server, "CREATE TABLE", "nd");
    assert!(
        creates.last().unwrap().contains("UNIQUE KEY `u`"),
        "{creates:?}"
    );
    assert_eq!(
        show_create(server, &db, "nd"),
        show_create(server, &copy, "nd")
    );
    compare_databases_renamed(server, &db, server, &copy, &[]).unwrap();
}

#[test]
fn a_deferred_unique_index_the_rows_break_is_that_tables_failure_in_one_line() {
    let server = server();
    let db = unique_name("dup");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE dupt (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, u INT, c VARCHAR(250),
           KEY k (k)) ENGINE=InnoDB;
         CREATE TABLE fine (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, u INT, c VARCHAR(250),
           KEY k (k)) ENGINE=InnoDB;"
    ));
    fill(server, &db, "dupt", FEW);
    fill(server, &db, "fine", FEW);
    // Two rows share u = 7.
    server.exec(&format!("UPDATE {db}.dupt SET u = 7 WHERE id = 8"));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(server, root.path(), &db, &[]);
    // The dump now says `u` is UNIQUE, as a dump taken without a consistent snapshot might.
    let manifest = common::client::read_manifest(&dir);
    let schema = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "table-schema" && f["table"] == "dupt")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .unwrap();
    let path = dir.join(&schema);
    let sql =
        String::from_utf8(zstd::decode_all(&std::fs::read(&path).unwrap()[..]).unwrap()).unwrap();
    let edited = sql.replacen(
        "  KEY `k` (`k`)",
        "  UNIQUE KEY `u` (`u`),\n  KEY `k` (`k`)",
        1,
    );
    assert_ne!(edited, sql);
    let packed = zstd::encode_all(edited.as_bytes(), 1).unwrap();
    std::fs::write(&path, &packed).unwrap();
    common::rechecksum(&dir, &schema, &packed);

    let copy = unique_name("dup_copy");
    let out = restore_as(server, &dir, &db, &copy, &["--defer-min-size", "0"]);
    out.assert_code(1);
    let want = format!(
        "{schema}: table `{copy}`.`dupt`: its rows are in, but 1 of its 2 deferred indexes could not \
         be added: UNIQUE KEY `u` (`u`): ERROR 1062 (23000): Duplicate entry '7' for key 'u'"
    );
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains(&want)).collect();
    assert_eq!(
        lines.len(),
        1,
        "want one line with {want:?} in\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("status=partial"), "{}", out.stderr);
    assert!(out.stderr.contains("failed=1"), "{}", out.stderr);
    // All rows are in, with the index that could be added; the other table is whole.
    assert_eq!(
        server
            .query_value(&format!("SELECT COUNT(*) FROM `{copy}`.dupt"))
            .unwrap(),
        FEW.to_string()
    );
    let created = show_create(server, &copy, "dupt");
    assert!(created.contains("KEY `k` (`k`)"), "{created}");
    assert!(!created.contains("UNIQUE"), "{created}");
    assert_eq!(
        show_create(server, &db, "fine"),
        show_create(server, &copy, "fine")
    );
}
