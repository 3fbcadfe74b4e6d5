//! Tests of ranking and wording the sessions that block the global lock.

use super::*;

const WAITER: u64 = 100;

fn probe(lock: GlobalLock) -> Probe {
    Probe {
        lock,
        statement: match lock {
            GlobalLock::BackupStage => "BACKUP STAGE BLOCK_COMMIT",
            GlobalLock::ReadLock => "FLUSH TABLES WITH READ LOCK",
            GlobalLock::Instance => "LOCK INSTANCE FOR BACKUP",
        },
        waiter: WAITER,
        ours: vec![101],
        mariadb: true,
    }
}

fn running(id: u64, secs: u64, sql: &str) -> Session {
    Session {
        id,
        user: "app".into(),
        host: "localhost".into(),
        command: "Query".into(),
        time_ms: secs * 1000,
        state: "User sleep".into(),
        info: Some(sql.into()),
        trx: None,
    }
}

fn idle(id: u64, secs: u64, trx: Option<Trx>) -> Session {
    Session {
        command: "Sleep".into(),
        state: String::new(),
        info: None,
        trx,
        ..running(id, secs, "")
    }
}

fn waiter(state: &str) -> Session {
    Session {
        state: state.into(),
        ..running(WAITER, 0, "BACKUP STAGE BLOCK_COMMIT")
    }
}

fn scene(sessions: Vec<Session>) -> Scene {
    Scene {
        sessions,
        held: None,
        precise: true,
    }
}

fn held(thread: u64, mode: &str, kind: &str, table: &str) -> HeldLock {
    HeldLock {
        thread,
        mode: mode.into(),
        kind: kind.into(),
        schema: if table.is_empty() { "" } else { "d" }.into(),
        table: table.into(),
    }
}

const WAITED: Duration = Duration::from_millis(750);

#[test]
fn a_running_myisam_write_is_named_and_a_long_select_is_not() {
    let s = scene(vec![
        waiter("Waiting for backup lock"),
        running(7, 30, "SELECT SLEEP(30)"),
        running(8, 3, "UPDATE d.m SET x = x + SLEEP(6)"),
    ]);
    for lock in [GlobalLock::BackupStage, GlobalLock::ReadLock] {
        let r = rank(&probe(lock), &s, WAITED);
        assert!(!r.confirmed);
        assert_eq!(
            r.blockers,
            ["id 8 (app@localhost, Query for 3 s: UPDATE d.m SET x = x + SLEEP(6))"]
        );
    }
}

#[test]
fn a_transactional_write_holds_up_only_the_read_lock() {
    let mut w = running(8, 3, "UPDATE d.i SET x = x + SLEEP(6)");
    w.trx = Some(Trx {
        rows_modified: 0,
        tables_in_use: 1,
    });
    let s = scene(vec![w]);
    assert!(rank(&probe(GlobalLock::BackupStage), &s, WAITED)
        .blockers
        .is_empty());
    assert_eq!(
        rank(&probe(GlobalLock::ReadLock), &s, WAITED)
            .blockers
            .len(),
        1
    );
}

#[test]
fn idle_sessions_are_named_only_with_tables_locked() {
    let written = Trx {
        rows_modified: 5,
        tables_in_use: 0,
    };
    let locked = Trx {
        rows_modified: 0,
        tables_in_use: 2,
    };
    let s = scene(vec![
        idle(5, 50, None),
        idle(6, 40, Some(written)),
        idle(7, 30, Some(locked)),
        running(8, 3, "DELETE FROM d.m"),
    ]);
    let r = rank(&probe(GlobalLock::BackupStage), &s, WAITED);
    assert_eq!(
        r.blockers,
        [
            "id 7 (app@localhost, Sleep for 30 s: idle in transaction, 2 tables locked (LOCK TABLES))",
            "id 8 (app@localhost, Query for 3 s: DELETE FROM d.m)",
        ]
    );
}

#[test]
fn ours_queued_and_later_statements_are_left_out() {
    let s = scene(vec![
        waiter("Waiting for backup lock"),
        running(101, 9, "INSERT INTO d.m VALUES (1)"),
        Session {
            state: "Waiting for backup lock".into(),
            ..running(9, 0, "INSERT INTO d.m VALUES (2)")
        },
        Session {
            time_ms: 100,
            ..running(10, 0, "ALTER TABLE d.m ADD y INT")
        },
        Session {
            time_ms: 600,
            ..running(11, 0, "ALTER TABLE d.n ADD y INT")
        },
    ]);
    let r = rank(&probe(GlobalLock::BackupStage), &s, WAITED);
    assert_eq!(
        r.blockers,
        ["id 11 (app@localhost, Query for 0 s: ALTER TABLE d.n ADD y INT)"]
    );
}

#[test]
fn reads_are_named_only_when_the_wait_is_a_table_flush() {
    let read = running(7, 30, "SELECT COUNT(*) FROM d.big");
    let flush = scene(vec![waiter("Waiting for table flush"), read.clone()]);
    let global = scene(vec![waiter("Waiting for global read lock"), read]);
    let p = Probe {
        mariadb: false,
        ..probe(GlobalLock::ReadLock)
    };
    assert_eq!(rank(&p, &flush, WAITED).blockers.len(), 1);
    assert!(rank(&p, &global, WAITED).blockers.is_empty());
}

#[test]
fn the_lock_table_names_the_holder_alone() {
    let mut s = scene(vec![
        waiter("Waiting for backup lock"),
        running(7, 30, "SELECT SLEEP(30)"),
        running(8, 3, "UPDATE d.i SET x = 1"),
        idle(12, 20, None),
    ]);
    s.held = Some(vec![
        held(12, "MDL_BACKUP_DDL", "Backup lock", ""),
        held(12, "MDL_BACKUP_DML", "Backup lock", ""),
        held(12, "MDL_SHARED_NO_READ_WRITE", "Table metadata lock", "t"),
        held(8, "MDL_BACKUP_TRANS_DML", "Backup lock", ""),
        held(WAITER, "MDL_BACKUP_FLUSH", "Backup lock", ""),
    ]);
    let r = rank(&probe(GlobalLock::BackupStage), &s, WAITED);
    assert!(r.confirmed);
    assert_eq!(
        r.blockers,
        ["id 12 (app@localhost, Sleep for 20 s: idle, holding LOCK TABLES … WRITE on d.t)"]
    );
    // FLUSH TABLES WITH READ LOCK also waits for the running transactional write.
    let r = rank(&probe(GlobalLock::ReadLock), &s, WAITED);
    assert_eq!(r.blockers.len(), 2);
    assert!(r.blockers[0].starts_with("id 12 "), "{:?}", r.blockers);
}

#[test]
fn holders_that_wait_themselves_come_last() {
    let mut s = scene(vec![
        Session {
            state: "Waiting for table metadata lock".into(),
            ..running(8, 9, "UPDATE d.m SET x = 1")
        },
        idle(12, 2, None),
    ]);
    s.held = Some(vec![
        held(8, "MDL_BACKUP_DML", "Backup lock", ""),
        held(12, "MDL_BACKUP_START", "Backup lock", ""),
        held(13, "MDL_BACKUP_FTWRL2", "Backup lock", ""),
    ]);
    let r = rank(&probe(GlobalLock::BackupStage), &s, WAITED);
    assert_eq!(
        r.blockers,
        [
            "id 12 (app@localhost, Sleep for 2 s: idle, holding a BACKUP STAGE)",
            "id 8 (app@localhost, Query for 9 s: UPDATE d.m SET x = 1)",
        ]
    );
}

#[test]
fn which_held_locks_conflict() {
    let b = |mode: &str| held(1, mode, "Backup lock", "");
    let stage = GlobalLock::BackupStage;
    let ftwrl = GlobalLock::ReadLock;
    assert!(conflicts(stage, &b("MDL_BACKUP_DML")));
    assert!(conflicts(stage, &b("MDL_BACKUP_DDL")));
    assert!(conflicts(stage, &b("MDL_BACKUP_START")));
    assert!(conflicts(stage, &b("MDL_BACKUP_COMMIT")));
    assert!(!conflicts(stage, &b("MDL_BACKUP_TRANS_DML")));
    assert!(!conflicts(stage, &b("MDL_BACKUP_FTWRL2")));
    assert!(conflicts(ftwrl, &b("MDL_BACKUP_TRANS_DML")));
    assert!(!conflicts(ftwrl, &b("MDL_BACKUP_START")));
    assert!(!conflicts(ftwrl, &b("MDL_BACKUP_FTWRL1")));
    let old = |mode: &str| held(1, mode, "Global read lock", "");
    assert!(conflicts(ftwrl, &old("MDL_INTENTION_EXCLUSIVE")));
    assert!(!conflicts(ftwrl, &old("MDL_SHARED")));
    assert!(!conflicts(
        stage,
        &held(1, "MDL_SHARED_NO_READ_WRITE", "Table metadata lock", "t")
    ));
}

#[test]
fn statements_are_told_apart_by_their_first_word() {
    let cases = [
        ("update t set x = 1", Kind::Dml),
        ("  /* app */ INSERT INTO t VALUES (1)", Kind::Dml),
        ("-- note\n# more\nDELETE FROM t", Kind::Dml),
        ("(SELECT 1) UNION (SELECT 2)", Kind::Other),
        ("ALTER TABLE t ENGINE=InnoDB", Kind::Ddl),
        ("commit", Kind::Commit),
        ("SELECT SLEEP(30)", Kind::Other),
        ("/* never closed", Kind::Other),
        ("ÄNDERN t", Kind::Other),
        ("", Kind::Other),
    ];
    for (sql, want) in cases {
        assert_eq!(statement_kind(sql), want, "{sql:?}");
    }
}

#[test]
fn statements_are_cut_at_characters_on_one_line() {
    assert_eq!(one_line("SELECT\n\t1,\r\n  2\0"), "SELECT 1, 2");
    let long = "é".repeat(201);
    let cut = one_line(&long);
    assert_eq!(cut.chars().count(), 201);
    assert!(cut.ends_with('…') && cut.starts_with("éé"));
    assert_eq!(one_line(&"ü".repeat(200)), "ü".repeat(200));
}

#[test]
fn the_report_names_three_and_counts_the_rest() {
    let sessions: Vec<Session> = (1..=5)
        .map(|i| running(i, 10 + i, &format!("INSERT INTO d.t{i} VALUES (1)")))
        .chain([waiter("Waiting for backup lock")])
        .collect();
    let s = scene(sessions);
    let p = probe(GlobalLock::BackupStage);
    let report = render(&p, &s, rank(&p, &s, WAITED), &["d.m".to_string()]);
    let text = report.to_string();
    assert!(
        text.starts_with(
            " (BACKUP STAGE BLOCK_COMMIT: Waiting for backup lock); probably blocked by id 5 "
        ),
        "{text}"
    );
    assert!(
        text.contains("INSERT INTO d.t3 VALUES (1)) and 2 more; if none of these"),
        "{text}"
    );
    assert!(
        text.contains("(tables in use: d.m); the metadata_lock_info plugin"),
        "{text}"
    );
    assert!(!text.contains("d.t2 "), "{text}");
}

#[test]
fn with_nobody_to_name_the_report_points_at_idle_lock_holders() {
    let s = scene(vec![idle(5, 50, None), running(7, 30, "SELECT SLEEP(30)")]);
    let p = Probe {
        mariadb: false,
        ..probe(GlobalLock::ReadLock)
    };
    let report = render(&p, &s, rank(&p, &s, WAITED), &[]);
    assert_eq!(
        report.to_string(),
        " (FLUSH TABLES WITH READ LOCK); no running statement holds it: a session idle under \
         LOCK TABLES … WRITE may; performance_schema.metadata_locks names it"
    );
}

#[test]
fn lists_read_naturally() {
    let v = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
    assert_eq!(list(&v(0), 0), "");
    assert_eq!(list(&v(1), 0), "1");
    assert_eq!(list(&v(2), 0), "1 and 2");
    assert_eq!(list(&v(3), 0), "1, 2 and 3");
    assert_eq!(list(&v(3), 4), "1, 2, 3 and 4 more");
}
