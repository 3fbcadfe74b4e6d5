//! Storage engines: tables whose engine keeps no rows of its own (MERGE, BLACKHOLE, FEDERATED) are
//! dumped as definitions only, so a restore neither doubles nor misplaces rows; ARCHIVE tables load
//! back (increasing AUTO_INCREMENT values, one stream even when big); every partition keeps its rows.

mod common;

use common::client::read_manifest;
use common::dump::run_dump;
use common::{
    assert_same_databases, dump_databases, mybak_cmd, mybak_restore_cmd, unique_name, Server,
};

fn count(server: &Server, table: &str) -> String {
    server
        .query_value(&format!("SELECT COUNT(*) FROM {table}"))
        .unwrap_or_default()
}

fn definition_only(dir: &std::path::Path, db: &str) -> Vec<(String, String, String)> {
    let manifest = read_manifest(dir);
    let entry = manifest["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == db)
        .unwrap()
        .clone();
    entry["definition_only"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap().to_string(),
                        t["engine"].as_str().unwrap().to_string(),
                        t["reason"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn data_file_tables(dir: &std::path::Path) -> Vec<String> {
    read_manifest(dir)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "table-data")
        .map(|f| f["table"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn merge_and_blackhole_tables_are_dumped_without_rows_and_restore_exactly() {
    let src = Server::shared();
    let db = unique_name("mrg");
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db}; \
         CREATE TABLE p1 (id INT NOT NULL, KEY (id)) ENGINE=MyISAM; \
         CREATE TABLE p2 (id INT NOT NULL, KEY (id)) ENGINE=MyISAM; \
         INSERT INTO p1 VALUES (1),(2); INSERT INTO p2 VALUES (3); \
         CREATE TABLE m (id INT NOT NULL, KEY (id)) ENGINE=MRG_MyISAM UNION=(p1,p2) INSERT_METHOD=LAST; \
         INSERT INTO m VALUES (4); \
         CREATE TABLE bh (id INT PRIMARY KEY) ENGINE=BLACKHOLE; INSERT INTO bh VALUES (1);"
    ));
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);

    let bare = definition_only(&dir, &db);
    let names: Vec<&str> = bare.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["bh", "m"], "{bare:?}");
    assert!(bare[0].2.contains("BLACKHOLE"), "{bare:?}");
    assert!(
        bare[1].1.eq_ignore_ascii_case("MRG_MyISAM") && bare[1].2.contains("MERGE"),
        "{bare:?}"
    );
    let data = data_file_tables(&dir);
    assert!(
        !data.contains(&"m".to_string()) && !data.contains(&"bh".to_string()),
        "{data:?}"
    );

    // mybak restore: the MERGE table shows each row once (not its rows again through INSERT_METHOD).
    let dst = Server::start_new();
    run_dump(mybak_restore_cmd(&dst, &dir)).assert_code(0);
    assert_eq!(count(&dst, &format!("{db}.m")), "4");
    assert_eq!(count(&dst, &format!("{db}.p2")), "2");
    assert_same_databases(src, &db, &dst, &db);

    // The stock client, file by file in manifest order.
    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    assert_eq!(count(&dst, &format!("{db}.m")), "4");
    assert_same_databases(src, &db, &dst, &db);
}

#[test]
fn a_federated_table_does_not_copy_its_remote_rows_into_the_remote() {
    let src = Server::shared();
    let (remote, db) = (unique_name("rem"), unique_name("fed"));
    src.exec(&format!(
        "CREATE DATABASE {remote}; CREATE TABLE {remote}.t (id INT PRIMARY KEY, v VARCHAR(10)); \
         INSERT INTO {remote}.t VALUES (1,'a'),(2,'b'),(3,'c'); \
         CREATE DATABASE {db}; \
         CREATE TABLE {db}.f (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=FEDERATED \
           CONNECTION='mysql://root@127.0.0.1:{}/{remote}/t'",
        src.port()
    ));
    assert_eq!(
        count(src, &format!("{db}.f")),
        "3",
        "the FEDERATED table reads the remote"
    );
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &db, &[]);
    let bare = definition_only(&dir, &db);
    assert_eq!(bare.len(), 1, "{bare:?}");
    assert!(bare[0].2.contains("FEDERATED"), "{bare:?}");
    assert!(data_file_tables(&dir).is_empty());

    // The copy points at the same remote table; restoring it must not insert the rows there again.
    let dst = Server::start_new();
    run_dump(mybak_restore_cmd(&dst, &dir)).assert_code(0);
    assert_eq!(count(src, &format!("{remote}.t")), "3");
    assert_eq!(count(&dst, &format!("{db}.f")), "3");
    let dst = Server::start_new();
    dst.restore_with_stock_client(&dir);
    assert_eq!(count(src, &format!("{remote}.t")), "3");
}

#[test]
fn a_big_archive_table_loads_back_in_one_stream() {
    let src = Server::shared();
    let db = unique_name("arc");
    src.exec(&format!(
        "CREATE DATABASE {db}; USE {db}; \
         CREATE TABLE {db}.a (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64)) ENGINE=ARCHIVE; \
         INSERT INTO {db}.a (v) SELECT MD5(seq) FROM seq_1_to_20000; \
         CREATE TABLE {db}.nokey (n INT, v TEXT) ENGINE=ARCHIVE; \
         INSERT INTO {db}.nokey SELECT seq, REPEAT('x', seq MOD 7) FROM seq_1_to_100;"
    ));
    let root = tempfile::tempdir().unwrap();
    // Tiny chunks: an ARCHIVE table must still be one file, whose rows load in the order read.
    let dir = dump_databases(
        src,
        root.path(),
        &db,
        &["--chunk-size", "1K", "--threads", "4"],
    );
    let files = data_file_tables(&dir);
    assert_eq!(files.iter().filter(|t| *t == "a").count(), 1, "{files:?}");
    let dst = Server::start_new();
    let mut cmd = mybak_restore_cmd(&dst, &dir);
    cmd.args(["--threads", "4"]);
    run_dump(cmd).assert_code(0);
    assert_same_databases(src, &db, &dst, &db);
    // The counter continues after the highest id, as on the source.
    src.exec(&format!("INSERT INTO {db}.a (v) VALUES ('next')"));
    dst.exec(&format!("INSERT INTO {db}.a (v) VALUES ('next')"));
    let last = |s: &Server| s.query_value(&format!("SELECT MAX(id) FROM {db}.a"));
    assert_eq!(last(&dst), last(src));
    assert_eq!(last(src).as_deref(), Some("20001"));
}

#[test]
fn every_partition_of_the_fixture_holds_rows_and_restores() {
    let src = Server::shared();
    let names = common::load_full_fixture(src);
    // Each partition, or each subpartition where there are some, counted through `PARTITION (…)`.
    let parts = src.query_rows(&format!(
        "SELECT TABLE_NAME, COALESCE(SUBPARTITION_NAME, PARTITION_NAME) FROM information_schema.PARTITIONS \
         WHERE TABLE_SCHEMA = '{}' AND PARTITION_NAME IS NOT NULL AND TABLE_NAME LIKE 'parted%'",
        names.db
    ));
    assert!(parts.len() >= 15, "{parts:?}");
    let empty: Vec<_> = parts
        .into_iter()
        .filter(|r| {
            let (table, part) = (r[0].clone().unwrap(), r[1].clone().unwrap());
            count(
                src,
                &format!("`{}`.`{table}` PARTITION (`{part}`)", names.db),
            ) == "0"
        })
        .collect();
    assert!(empty.is_empty(), "partitions without rows: {empty:?}");
    let root = tempfile::tempdir().unwrap();
    let mut cmd = mybak_cmd(src);
    cmd.arg("--output-dir").arg(root.path()).args([
        "--databases",
        &names.databases(),
        "--threads",
        "2",
    ]);
    let out = run_dump(cmd);
    out.assert_code(0);
    let dir = out.dump_dir(root.path());
    let dst = Server::start_new();
    let mut cmd = mybak_restore_cmd(&dst, &dir);
    cmd.args(["--threads", "4", "--defer-min-size", "0"]);
    run_dump(cmd).assert_code(0);
    for table in [
        "parted",
        "parted_sub",
        "parted_list",
        "parted_key",
        "parted_hash",
    ] {
        let per_partition = |s: &Server| {
            s.query_rows(&format!(
                "SELECT PARTITION_NAME, SUBPARTITION_NAME, TABLE_ROWS FROM information_schema.PARTITIONS \
                 WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}' ORDER BY 1, 2",
                names.db
            ))
        };
        src.exec(&format!("ANALYZE TABLE `{}`.`{table}`", names.db));
        dst.exec(&format!("ANALYZE TABLE `{}`.`{table}`", names.db));
        assert_eq!(per_partition(&dst), per_partition(src), "{table}");
    }
    assert_same_databases(src, &names.db, &dst, &names.db);
}
