//! A dump reads the columns and keys of its tables from information_schema in a few queries, not
//! in one or two per table (counted in the server's general log), with and without the DDL guard,
//! and the rows it writes are those a per-table read gives; without the guard, a table altered
//! before its turn is dumped with its new columns.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::client::{exec_on, read_manifest};
use common::dump::{run_dump, run_within};
use common::{mybak_cmd, mybak_cmd_as, mybak_verify_cmd, unique_name, Server};

/// Databases and tables per database of the many-tables test.
const DATABASES: usize = 3;
const TABLES: usize = 100;

/// The `i`-th table of a database: every kind of column the dump treats apart, a few rows each
/// (history rows for the system-versioned ones).
fn table_sql(i: usize) -> String {
    let (columns, options, rows) = match i % 10 {
        0 => ("id INT PRIMARY KEY, v VARCHAR(20)", "", "(1, 'a'), (2, NULL)"),
        1 => (
            "id INT PRIMARY KEY, g INT AS (id * 2) VIRTUAL, s INT AS (id + 1) PERSISTENT, v TEXT",
            "",
            "(1, DEFAULT, DEFAULT, 'x'), (2, DEFAULT, DEFAULT, 'y')",
        ),
        2 => (
            "id INT PRIMARY KEY, h INT INVISIBLE DEFAULT 7, v INT",
            "",
            "(1, 1), (2, 2)",
        ),
        3 => (
            "id INT PRIMARY KEY, e ENUM('a','','b'), st SET('x','y')",
            "",
            "(1, 'a', 'x,y'), (2, '', ''), (3, 0, 'y')",
        ),
        4 => (
            "id INT PRIMARY KEY, c VARCHAR(10) CHARACTER SET sjis, e ENUM('p','q') CHARACTER SET big5",
            "",
            "(1, _utf8mb4'日本', 'q'), (2, 'ascii', 'p')",
        ),
        5 => (
            "id INT PRIMARY KEY, f FLOAT, d DOUBLE, n DECIMAL(10,3)",
            "",
            "(1, 3.14159265, 2.718281828459045, 1.5), (2, -0.1, 1e300, NULL)",
        ),
        6 => ("id INT, x TEXT", "WITH SYSTEM VERSIONING", "(1, 'v1'), (2, 'w1')"),
        7 => (
            "id INT, x TEXT, rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START, \
             re TIMESTAMP(6) GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME(rs, re)",
            "WITH SYSTEM VERSIONING",
            "(1, 'p1', DEFAULT, DEFAULT)",
        ),
        8 => (
            "id BIGINT UNSIGNED PRIMARY KEY, b BLOB, j JSON",
            "",
            "(18446744073709551615, 0x00FF, '{\"k\": [1, 2]}'), (1, NULL, NULL)",
        ),
        _ => ("a INT, b VARCHAR(5)", "ENGINE=MyISAM", "(1, 'm'), (1, 'm')"),
    };
    let t = format!("t{i:03}");
    let mut sql = format!("CREATE TABLE {t} ({columns}) {options}; INSERT INTO {t} VALUES {rows};");
    if !options.is_empty() && options.contains("VERSIONING") {
        sql.push_str(&format!("UPDATE {t} SET x = CONCAT(x, '+') WHERE id = 1;"));
    }
    sql
}

/// The number of statements in the general log whose text contains `needle` (the log is off
/// while this runs, so the count never includes itself).
fn logged(server: &Server, needle: &str) -> usize {
    server
        .query_value(&format!(
            "SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Query' \
             AND argument LIKE '%{needle}%'"
        ))
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs `cmd` with the general log on; returns the dump directory and how many statements read
/// information_schema.COLUMNS, information_schema.STATISTICS, and ran SHOW CREATE TABLE.
fn counted(
    server: &Server,
    root: &Path,
    cmd: std::process::Command,
) -> (std::path::PathBuf, [usize; 3]) {
    server.exec("TRUNCATE TABLE mysql.general_log; SET GLOBAL general_log = 1");
    let out = run_dump(cmd);
    server.exec("SET GLOBAL general_log = 0");
    out.assert_code(0);
    let counts = [
        logged(server, "information_schema.COLUMNS"),
        logged(server, "information_schema.STATISTICS"),
        logged(server, "SHOW CREATE TABLE"),
    ];
    eprintln!("COLUMNS, STATISTICS, SHOW CREATE TABLE queries: {counts:?}");
    (out.dump_dir(root), counts)
}

/// (database, table) → (rows, fingerprint) of a manifest.
fn fingerprints(dir: &Path) -> Vec<(String, String, u64, String)> {
    let mut out = Vec::new();
    for db in read_manifest(dir)["databases"].as_array().unwrap() {
        for t in db["tables"].as_array().unwrap() {
            out.push((
                db["name"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
                t["fingerprint"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn columns_and_keys_of_many_tables_are_read_in_a_few_queries() {
    let server = Server::start_new();
    server.exec("SET GLOBAL log_output = 'TABLE'");
    let dbs: Vec<String> = (0..DATABASES).map(|d| format!("many{d}")).collect();
    for db in &dbs {
        let tables: String = (0..TABLES).map(table_sql).collect();
        server.exec(&format!(
            "SET SESSION sql_mode = ''; CREATE DATABASE {db}; USE {db}; {tables}"
        ));
    }
    // Two tables big enough to be cut into chunks of 64K: their keys are read in the batch.
    server.exec(
        "USE many0;
         CREATE TABLE big_int (id INT PRIMARY KEY, pad CHAR(100));
         INSERT INTO big_int SELECT seq, REPEAT('i', 100) FROM seq_1_to_4000;
         CREATE TABLE big_walk (a INT NOT NULL, b VARCHAR(20) NOT NULL, pad CHAR(100), UNIQUE KEY (a, b));
         INSERT INTO big_walk SELECT seq % 7, CONCAT('k', seq), REPEAT('w', 100) FROM seq_1_to_4000;
         ANALYZE TABLE big_int, big_walk;
         CREATE USER 'noreload'@'localhost' IDENTIFIED BY 'pw';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO 'noreload'@'localhost';",
    );
    let tables = DATABASES * TABLES + 2;
    let databases = dbs.join(",");

    // With the DDL guard (root): one COLUMNS and one STATISTICS query for all the tables.
    let guarded_root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(&server);
    cmd.arg("--output-dir").arg(guarded_root.path()).args([
        "--databases",
        &databases,
        "--chunk-size",
        "64K",
        "--threads",
        "2",
    ]);
    let (guarded, counts) = counted(&server, guarded_root.path(), cmd);
    assert_eq!(counts[0], 1, "COLUMNS queries for {tables} tables");
    assert_eq!(
        counts[1], 1,
        "STATISTICS queries for 2 tables cut into chunks"
    );
    assert_eq!(counts[2], tables, "SHOW CREATE TABLE once per table");
    let files = read_manifest(&guarded)["files"].to_string();
    for big in ["big_int", "big_walk"] {
        assert!(
            files.contains(&format!("many0/{big}.00002.sql.zst")),
            "{big} was not cut into chunks"
        );
    }

    // Without it (an account without RELOAD, per-table): still one COLUMNS query, and no
    // table reads its columns again, since none changed.
    let per_table_root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd_as(&server, "noreload");
    cmd.env("MYSQL_PWD", "pw")
        .arg("--output-dir")
        .arg(per_table_root.path())
        .args(["--databases", &databases, "--consistency", "per-table"]);
    let (per_table, counts) = counted(&server, per_table_root.path(), cmd);
    assert_eq!(
        counts,
        [1, 0, tables],
        "COLUMNS, STATISTICS, SHOW CREATE TABLE queries"
    );
    assert_eq!(read_manifest(&per_table)["consistency"], "per-table");

    // Both read the same rows, and those a per-table read of the columns gives: the test
    // restore fingerprints every table with the columns read on their own.
    let (a, b) = (fingerprints(&guarded), fingerprints(&per_table));
    assert_eq!(a.len(), tables);
    assert_eq!(a, b);
    let out = run_dump({
        let mut c = mybak_verify_cmd(&guarded);
        c.arg("--restore-test")
            .arg("--no-defaults")
            .arg("--socket")
            .arg(server.socket())
            .args(["--user", "root"]);
        c
    });
    out.assert_code(0);
    assert!(
        out.stderr.contains(&format!("tables_compared={tables} ")),
        "{}",
        out.stderr
    );
}

/// Without the DDL guard, a table altered after the dump read every table's columns but before
/// its own turn is dumped with its columns as they are under its lock: the new column is in
/// its INSERTs with its values.
#[test]
fn a_column_added_before_a_tables_turn_is_dumped() {
    let server = Server::shared();
    let db = unique_name("late");
    let user = unique_name("lu");
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE early (id INT PRIMARY KEY); INSERT INTO early VALUES (1);
         CREATE TABLE late (id INT PRIMARY KEY, v INT); INSERT INTO late VALUES (1, 10), (2, 20);
         CREATE USER '{user}'@'localhost' IDENTIFIED BY 'pw';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {db}.* TO '{user}'@'localhost';"
    ));
    // The table is locked: the dump lists it and reads its columns, then waits for its lock.
    let mut holder = server.conn();
    exec_on(&mut holder, &format!("LOCK TABLES {db}.late WRITE"));
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd_as(server, &user);
    cmd.env("MYSQL_PWD", "pw")
        .arg("--output-dir")
        .arg(root.path())
        .args([
            "--databases",
            &db,
            "--consistency",
            "per-table",
            "--threads",
            "1",
        ]);
    let dump = std::thread::spawn(move || run_within(cmd, Duration::from_secs(120)).0);
    let waiting = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}' \
         AND STATE = 'Waiting for table metadata lock' AND INFO LIKE '%`late`%'"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.query_value(&waiting).as_deref() != Some("1") {
        assert!(
            Instant::now() < deadline,
            "the dump never waited for `late`"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    exec_on(
        &mut holder,
        &format!(
            "ALTER TABLE {db}.late ADD COLUMN extra INT NOT NULL DEFAULT 0;
             UPDATE {db}.late SET extra = id * 100; UNLOCK TABLES"
        ),
    );
    let out = dump.join().unwrap();
    out.assert_code(0);
    let dir = out.dump_dir(root.path());
    let read = |kind: &str| {
        let file = read_manifest(&dir)["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind && f["table"] == "late")
            .map(|f| f["path"].as_str().unwrap().to_string())
            .unwrap();
        String::from_utf8(zstd::decode_all(&std::fs::read(dir.join(file)).unwrap()[..]).unwrap())
            .unwrap()
    };
    assert!(read("table-schema").contains("`extra` int(11) NOT NULL DEFAULT 0"));
    let data = read("table-data");
    assert!(
        data.contains("INSERT INTO `late` (`id`,`v`,`extra`) VALUES\n(1,10,100),\n(2,20,200);"),
        "{data}"
    );
}
