//! How many connections a dump opens: `--threads auto` (the default) follows the CPUs here and
//! on the server and backs off while the server is busy with other queries; a number is taken
//! as it is; nonsense is refused before anything is written.

mod common;

use std::thread;

use common::{dump_into, root_entries, unique_name, Server, ServerOptions};

/// A database of `n` small tables.
fn tables(server: &Server, n: usize) -> String {
    let db = unique_name("threads");
    server.exec(&format!("CREATE DATABASE {db}"));
    for i in 0..n {
        server.exec(&format!(
            "CREATE TABLE {db}.t{i} (id INT PRIMARY KEY); INSERT INTO {db}.t{i} VALUES (1), (2)"
        ));
    }
    db
}

/// The dump's stderr at info level, after checking it succeeded.
fn dump_log(server: &Server, db: &str, extra: &[&str]) -> String {
    let root = tempfile::tempdir().unwrap();
    let out = dump_into(server, root.path(), db, extra)
        .arg("-v")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

fn cpus_here() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn auto_threads_follow_the_cpus_and_back_off_while_the_server_is_busy() {
    // MariaDB's thread_pool_size defaults to the server's CPUs; 3 stands for a 3-CPU server.
    let server = Server::start_with(ServerOptions::default().arg("--thread-pool-size=3"));
    let db = tables(&server, 12);
    let idle = dump_log(&server, &db, &[]);
    let expected = cpus_here().min(3);
    let line = format!(
        "{expected} connection{} (auto: {} CPUs here, 3 on the server, 0 other queries running)",
        if expected == 1 { "" } else { "s" },
        cpus_here()
    );
    assert!(idle.contains(&line), "expected {line:?} in:\n{idle}");

    // Running 2 other queries, it has one CPU left for the dump.
    let busy: Vec<_> = (0..2)
        .map(|_| server.start_sleeping("SELECT SLEEP(60)"))
        .collect();
    let log = dump_log(&server, &db, &[]);
    assert!(
        log.contains("1 connection (auto: ")
            && log.contains("3 on the server, 2 other queries running"),
        "{log}"
    );
    for (id, handle) in busy {
        server.exec(&format!("KILL QUERY {id}"));
        handle.join().unwrap();
    }

    // A number is taken as given, and nothing is said about it.
    let fixed = dump_log(&server, &db, &["--threads", "3"]);
    assert!(!fixed.contains("(auto:"), "{fixed}");
}

#[test]
fn bad_thread_counts_are_refused_with_one_line() {
    let server = Server::shared();
    for bad in ["0", "-2", "many", ""] {
        let root = tempfile::tempdir().unwrap();
        let out = dump_into(server, root.path(), "mysql", &[&format!("--threads={bad}")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--threads {bad:?}: {stderr}");
        assert!(stderr.contains("--threads"), "{stderr}");
        assert!(
            root_entries(root.path()).is_empty(),
            "--threads {bad:?} wrote something"
        );
    }
}
