//! `mybak restore --rename-database`: views, routines, triggers, events and MERGE tables of the
//! renamed copies read and write the copies, never the originals; events come back disabled.

mod common;

use std::path::Path;

use common::dump::run_dump;
use common::{dump_databases, mybak_restore_cmd, unique_name, Server};

fn restore(server: &Server, dir: &Path, extra: &[&str]) -> common::dump::DumpOutput {
    let mut cmd = mybak_restore_cmd(server, dir);
    cmd.args(extra);
    run_dump(cmd)
}

fn value(server: &Server, sql: &str) -> String {
    server.query_value(sql).unwrap_or_default()
}

/// Two databases whose objects name their databases qualified, quoted and not.
fn source(server: &Server) -> (String, String) {
    let (a, b) = (unique_name("ra"), unique_name("rb"));
    server.exec(&format!(
        "CREATE DATABASE {a}; USE {a};
         CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
         CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100));
         CREATE TABLE p1 (id INT NOT NULL) ENGINE=MyISAM;
         INSERT INTO t VALUES (1, 'src'); INSERT INTO p1 VALUES (1);
         CREATE VIEW v AS SELECT id, v FROM `{a}`.t;
         CREATE PROCEDURE p(x INT) BEGIN
           -- writes {a}.t
           INSERT INTO {a}.t VALUES (x, 'proc');
           INSERT INTO `{a}`.log (msg) VALUES ('called; {a}.t named in a string');
         END;
         CREATE FUNCTION f() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM {a}.t);
         CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW
           INSERT INTO `{a}`.log (msg) VALUES (CONCAT('trigger ', NEW.id));
         CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00'
           DO INSERT INTO {a}.log (msg) VALUES ('event');
         CREATE DATABASE {b}; USE {b};
         CREATE VIEW vb AS SELECT id FROM {a}.t;
         CREATE TABLE m (id INT NOT NULL) ENGINE=MRG_MyISAM UNION=({a}.p1);"
    ));
    (a, b)
}

fn event_status(server: &Server, db: &str) -> String {
    value(
        server,
        &format!("SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{db}'"),
    )
}

#[test]
fn renamed_copies_read_and_write_the_copies() {
    let src = Server::shared();
    let (a, b) = source(src);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &format!("{a},{b}"), &[]);
    let (a2, b2) = (format!("{a}_c"), format!("{b}_c"));
    let out = restore(
        src,
        &dir,
        &[
            "--rename-database",
            &format!("{a}={a2}"),
            "--rename-database",
            &format!("{b}={b2}"),
        ],
    );
    out.assert_code(0);
    // The string in the procedure still names the old database: said, not changed.
    assert!(
        out.stderr.contains("still names the old database") && out.stderr.contains("@routines"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("restored DISABLED") && out.stderr.contains("`ev`"),
        "{}",
        out.stderr
    );
    assert_eq!(event_status(src, &a), "ENABLED");
    assert_eq!(event_status(src, &a2), "DISABLED");
    let definition = value(
        src,
        &format!(
            "SELECT EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{a2}'"
        ),
    );
    assert!(definition.contains(&format!("`{a2}`.log")), "{definition}");

    // The procedure writes the copy, whose trigger logs into the copy.
    src.exec(&format!("CALL `{a2}`.p(2)"));
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{a2}`.t")), "2");
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{a}`.t")), "1");
    assert_eq!(
        value(
            src,
            &format!("SELECT GROUP_CONCAT(msg ORDER BY id) FROM `{a2}`.log")
        ),
        format!("trigger 2,called; {a}.t named in a string")
    );
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{a}`.log")), "0");
    // The function and the views read the copy; the second copy's view reads the first copy.
    assert_eq!(value(src, &format!("SELECT `{a2}`.f()")), "2");
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{a2}`.v")), "2");
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{b2}`.vb")), "2");
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{b}`.vb")), "1");
    // The MERGE table of the second copy merges the first copy's table.
    src.exec(&format!("INSERT INTO `{a2}`.p1 VALUES (2)"));
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{b2}`.m")), "2");
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{b}`.m")), "1");
    let create = src.query_rows(&format!("SHOW CREATE TABLE `{b2}`.m"))[0][1]
        .clone()
        .unwrap();
    assert!(create.contains(&format!("`{a2}`.`p1`")), "{create}");

    // With --keep-events-enabled the copy's event is as dumped.
    let (a3, b3) = (format!("{a}_k"), format!("{b}_k"));
    let out = restore(
        src,
        &dir,
        &[
            "--rename-database",
            &format!("{a}={a3}"),
            "--rename-database",
            &format!("{b}={b3}"),
            "--keep-events-enabled",
        ],
    );
    out.assert_code(0);
    assert!(!out.stderr.contains("DISABLED"), "{}", out.stderr);
    assert_eq!(event_status(src, &a3), "ENABLED");
}

#[test]
fn events_of_a_test_restore_never_run() {
    let src = Server::shared();
    let (a, b) = source(src);
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(src, root.path(), &format!("{a},{b}"), &[]);
    let mut cmd = common::mybak_verify_cmd(&dir);
    cmd.args([
        "--restore-test",
        "--keep",
        "--no-defaults",
        "--user",
        "root",
    ])
    .arg("--socket")
    .arg(src.socket());
    let out = run_dump(cmd);
    out.assert_code(0);
    let statuses = src.query_rows(&format!(
        "SELECT EVENT_SCHEMA, STATUS FROM information_schema.EVENTS \
         WHERE EVENT_SCHEMA LIKE '{a}\\_vt%'"
    ));
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0][1].as_deref(), Some("DISABLED"));
    // The kept copies read themselves, not the source.
    let copy = statuses[0][0].clone().unwrap();
    src.exec(&format!("CALL `{copy}`.p(5)"));
    assert_eq!(value(src, &format!("SELECT COUNT(*) FROM `{a}`.t")), "1");
}
