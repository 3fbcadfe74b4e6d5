mod common;
use common::{assert_same_databases, mybak_cmd, unique_name, Server};
#[test]
fn scratch() {
    let src = Server::shared();
    let (db, db2, user) = (unique_name("fx"), unique_name("fy"), unique_name("u"));
    src.load_sql_file(
        common::fixture("full.sql"),
        &[("db", &db), ("db2", &db2), ("user", &user)],
    );
    let root = tempfile::tempdir().unwrap();
    let out = mybak_cmd(src)
        .arg("--output-dir")
        .arg(root.path())
        .arg("--databases")
        .arg(format!("{db},{db2}"))
        .arg("--threads")
        .arg("4")
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    let dir = String::from_utf8(out.stdout).unwrap();
    let dir = dir.trim();
    let dst = Server::start_new();
    dst.exec(&format!("CREATE USER '{user}'@'localhost'"));
    dst.restore_with_stock_client(dir);
    assert_same_databases(src, &db, &dst, &db);
    assert_same_databases(src, &db2, &dst, &db2);
}
