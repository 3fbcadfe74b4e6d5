//! Least privilege: a dump needs exactly the privileges the README lists for its mode. With
//! them it is the same as root's; without any one of them something fails or goes missing,
//! and mybak says so.

mod common;

use common::dump::run_dump;
use common::{load_full_fixture, mybak_cmd, mybak_cmd_as, unique_name, Server};

/// The privileges of `--consistency=snapshot` (README, "Reliability and security").
const SNAPSHOT: [&str; 7] = [
    "SELECT",
    "SHOW VIEW",
    "EXECUTE",
    "TRIGGER",
    "EVENT",
    "RELOAD",
    "BINLOG MONITOR",
];

/// Dumps the fixture's databases as `user` (password in MYSQL_PWD); returns (exit code,
/// manifest or Null, stderr).
fn dump_as(
    server: &Server,
    user: Option<&str>,
    databases: &str,
    extra: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = match user {
        Some(u) => {
            let mut c = mybak_cmd_as(server, u);
            c.env("MYSQL_PWD", "least-privilege-pw");
            c
        }
        None => mybak_cmd(server),
    };
    cmd.arg("--output-dir")
        .arg(root.path())
        .args(["--databases", databases])
        .args(extra);
    let out = run_dump(cmd);
    let manifest = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.path().join("manifest.json"))
        .find(|p| p.is_file())
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out.code, manifest, out.stderr)
}

fn account(server: &Server, privileges: &[&str], on: &str) -> String {
    let user = unique_name("lp");
    server.exec(&format!(
        "CREATE USER '{user}'@'localhost' IDENTIFIED BY 'least-privilege-pw';
         GRANT {} ON {on} TO '{user}'@'localhost';",
        privileges.join(", ")
    ));
    user
}

/// What must match root's dump: every file's path and the rows and fingerprint of every table.
fn content(manifest: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let mut files: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    let mut tables: Vec<String> = manifest["databases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["tables"].as_array().unwrap().iter())
        .map(|t| format!("{} {} {}", t["name"], t["rows"], t["fingerprint"]))
        .collect();
    tables.sort();
    (files, tables)
}

#[test]
fn a_snapshot_dump_needs_exactly_the_listed_privileges() {
    let server = Server::shared();
    let names = load_full_fixture(server);
    let dbs = names.databases();
    let (code, full, stderr) = dump_as(server, None, &dbs, &[]);
    assert_eq!(code, Some(0), "{stderr}");

    let user = account(server, &SNAPSHOT, "*.*");
    let (code, least, stderr) = dump_as(server, Some(&user), &dbs, &[]);
    assert_eq!(code, Some(0), "with the listed privileges: {stderr}");
    assert_eq!(least["status"], "complete");
    assert_eq!(
        content(&least),
        content(&full),
        "not the same dump as root's"
    );
    assert_eq!(least["binlog"]["file"], full["binlog"]["file"]);

    // Each privilege is needed: without it something fails, with a message saying what.
    for (i, missing) in SNAPSHOT.iter().enumerate() {
        let mut fewer = SNAPSHOT.to_vec();
        fewer.remove(i);
        let user = account(server, &fewer, "*.*");
        let (code, manifest, stderr) = dump_as(server, Some(&user), &dbs, &[]);
        let noticed = match *missing {
            "RELOAD" => code == Some(2) && stderr.contains("RELOAD"),
            "BINLOG MONITOR" => {
                code == Some(0)
                    && manifest["binlog"].is_null()
                    && stderr.contains("binlog coordinates not recorded")
            }
            "SELECT" => code.is_some_and(|c| c > 0) && stderr.contains("SELECT privilege"),
            _ => code == Some(1) && manifest["status"] == "partial",
        };
        assert!(noticed, "without {missing}: exit {code:?}, {stderr}");
    }
}

#[test]
fn a_per_table_dump_needs_only_database_level_privileges() {
    let server = Server::shared();
    let names = load_full_fixture(server);
    let user = account(
        server,
        &["SELECT", "SHOW VIEW", "EXECUTE", "TRIGGER", "EVENT"],
        &format!("`{}`.*", names.db),
    );
    server.exec(&format!(
        "GRANT SELECT, SHOW VIEW, EXECUTE, TRIGGER, EVENT ON `{}`.* TO '{user}'@'localhost';
         GRANT SELECT ON mysql.proc TO '{user}'@'localhost';",
        names.db2
    ));
    let (code, least, stderr) = dump_as(
        server,
        Some(&user),
        &names.databases(),
        &["--consistency", "per-table"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (_, full, _) = dump_as(
        server,
        None,
        &names.databases(),
        &["--consistency", "per-table"],
    );
    assert_eq!(content(&least), content(&full));
}
