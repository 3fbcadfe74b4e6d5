//! A password typed on the command line does not stay visible in `ps` while the dump runs.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{mybak_bare, unique_name, Server};

#[test]
fn ps_of_a_running_dump_does_not_show_the_password() {
    let server = Server::shared();
    let db = unique_name("ps");
    let user = unique_name("psu");
    let secret = format!("Ps-Secret-{}", std::process::id());
    server.exec(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.m (x INT) ENGINE=MyISAM; INSERT INTO `{db}`.m VALUES (1);
         CREATE USER '{user}'@'localhost' IDENTIFIED BY '{secret}';
         GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS, BINLOG MONITOR ON *.* TO '{user}'@'localhost';"
    ));
    let root = tempfile::tempdir().unwrap();
    for password_arg in [format!("-p{secret}"), format!("--password={secret}")] {
        // Keep the dump waiting for its global lock, so it is running while we look.
        let blocker = {
            let mut conn = server.conn();
            let db = db.clone();
            std::thread::spawn(move || {
                use mysql::prelude::Queryable;
                conn.query_drop(format!("UPDATE `{db}`.m SET x = x + SLEEP(4)"))
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        let mut cmd = mybak_bare();
        cmd.args([
            "dump",
            "--no-defaults",
            "--progress",
            "never",
            "--user",
            &user,
            &password_arg,
        ])
        .arg("--socket")
        .arg(server.socket())
        .args(["--databases", &db, "--lock-wait-timeout", "30"])
        .arg("--output-dir")
        .arg(root.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        // Running: it holds the root's lock, and waits for the server's behind the UPDATE.
        let holder = format!("pid {pid} ");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && !fs::read_to_string(root.path().join(".mybak.lock"))
                .is_ok_and(|t| t.starts_with(&holder))
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let ps = std::process::Command::new("ps")
            .args(["-o", "args=", "-p", &pid.to_string()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(shown.contains("--user"), "cmdline not read: {shown}");
        assert!(
            !shown.contains(&secret),
            "cmdline shows the password: {shown}"
        );
        assert!(!ps.contains(&secret), "ps shows the password: {ps}");
        assert!(!stderr.contains(&secret), "{stderr}");
        let _ = fs::remove_dir_all(root.path().join(out_name(&out.stdout)));
        blocker.join().unwrap().unwrap();
    }
}

fn out_name(stdout: &[u8]) -> String {
    let path = String::from_utf8_lossy(stdout).trim().to_string();
    std::path::Path::new(&path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
