//! Tests of hooks against real shells: environment, output, exit codes, timeouts and processes
//! left in the background.

use super::*;

fn env() -> HookEnv {
    HookEnv {
        command: Command::Dump,
        status: RunStatus::Partial,
        exit_code: 1,
        dump_dir: Some(PathBuf::from("/backups/2026-01-02T03-04-05Z")),
        summary: "summary: status=partial rows=5 failed=1".to_string(),
        log_file: None,
    }
}

fn hook(command: &str, timeout_secs: u64) -> Hook {
    Hook {
        command: command.to_string(),
        timeout: Duration::from_secs(timeout_secs),
    }
}

/// A base environment with a password in it, as mybak's own may have.
fn base_with_password() -> Vec<(OsString, OsString)> {
    let mut base = vec![
        (OsString::from("MYSQL_PWD"), OsString::from("s3cret")),
        (OsString::from("OTHER"), OsString::from("kept")),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        base.push((OsString::from("PATH"), path));
    }
    base
}

#[test]
fn the_hook_is_told_the_outcome_and_not_the_password() {
    let h = hook(
        r#"printf '%s|%s|%s|%s|%s|%s|%s|%s' "$MYBAK_COMMAND" "$MYBAK_STATUS" "$MYBAK_EXIT_CODE" \
           "$MYBAK_DUMP_DIR" "$MYBAK_SUMMARY" "${MYBAK_LOG_FILE-unset}" "${MYSQL_PWD-unset}" "$OTHER""#,
        30,
    );
    let out = run_with_base_env(&h, &env(), base_with_password()).unwrap();
    assert_eq!(
        out.output,
        "dump|partial|1|/backups/2026-01-02T03-04-05Z|summary: status=partial rows=5 failed=1||unset|kept"
    );
    assert_eq!(out.exit_code, Some(0));
    assert!(out.succeeded());

    let mut e = env();
    e.dump_dir = None;
    e.log_file = Some(PathBuf::from("/var/log/mybak.log"));
    e.command = Command::Verify;
    e.status = RunStatus::Ok;
    e.exit_code = 0;
    let h = hook(
        r#"printf '%s|%s|%s|%s' "$MYBAK_COMMAND" "$MYBAK_STATUS" "${MYBAK_DUMP_DIR-unset}" "$MYBAK_LOG_FILE""#,
        30,
    );
    let out = run(&h, &e).unwrap();
    assert_eq!(out.output, "verify|ok||/var/log/mybak.log");
}

#[test]
fn run_passes_mybaks_own_environment() {
    let Some(home) = std::env::var("HOME").ok() else {
        return;
    };
    let out = run(&hook(r#"printf '%s' "$HOME""#, 30), &env()).unwrap();
    assert_eq!(out.output, home);
}

#[test]
fn a_failing_hook_reports_its_code_and_output() {
    for (command, code, output) in [
        ("echo out; echo err >&2; exit 3", Some(3), "out\nerr\n"),
        ("exit 0", Some(0), ""),
        ("cat; echo read-nothing", Some(0), "read-nothing\n"),
        ("kill -9 $$", None, ""),
        ("no-such-command-here 2>/dev/null", Some(127), ""),
    ] {
        let out = run(&hook(command, 30), &env()).unwrap();
        assert_eq!(out.exit_code, code, "{command}");
        assert_eq!(out.output, output, "{command}");
        assert!(!out.timed_out, "{command}");
        assert_eq!(out.succeeded(), code == Some(0), "{command}");
    }
}

#[test]
fn a_chatty_hook_keeps_only_the_end_of_its_output() {
    let out = run(
        &hook("i=0; while [ $i -lt 3000 ]; do echo 'ééééééééééééééééééééééééééééééééé'; i=$((i+1)); done; echo last", 60),
        &env(),
    )
    .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(out.output.len() <= OUTPUT_LIMIT);
    assert!(out.output.len() > OUTPUT_LIMIT - 100);
    assert!(out.output.ends_with("é\nlast\n"));
    assert!(!out.output.contains('\u{FFFD}'));
}

#[test]
fn the_tail_starts_at_a_character_boundary() {
    let mut tail = Tail::default();
    tail.push(b"x");
    for _ in 0..OUTPUT_LIMIT {
        tail.push("é".as_bytes());
    }
    let text = tail.text();
    assert!(text.len() <= OUTPUT_LIMIT);
    assert!(text.chars().all(|c| c == 'é'), "{:?}", text.chars().next());
    let mut small = Tail::default();
    small.push(b"\xff ok");
    assert_eq!(small.text(), "\u{FFFD} ok");
}

#[test]
fn a_hook_past_its_timeout_is_stopped() {
    for (command, name) in [
        ("echo before; sleep 60", "ends at SIGTERM"),
        ("trap '' TERM; echo before; sleep 60", "needs SIGKILL"),
    ] {
        let started = Instant::now();
        let out = run(&hook(command, 1), &env()).unwrap();
        let took = started.elapsed();
        assert!(out.timed_out, "{name}");
        assert!(!out.succeeded(), "{name}");
        assert_ne!(out.exit_code, Some(0), "{name}");
        assert_eq!(out.output, "before\n", "{name}");
        assert!(took >= Duration::from_secs(1), "{name}: {took:?}");
        assert!(took < Duration::from_secs(1 + 5 + 10), "{name}: {took:?}");
    }
}

#[test]
fn a_background_process_holding_the_pipe_does_not_hang_the_run() {
    let started = Instant::now();
    let out = run(&hook("sleep 60 & echo $$", 30), &env()).unwrap();
    let took = started.elapsed();
    let group: i32 = out.output.trim().parse().unwrap();
    // End the `sleep` this test started.
    let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    assert_eq!(out.exit_code, Some(0));
    assert!(!out.timed_out);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_command_that_cannot_be_passed_is_a_spawn_error() {
    let e = run(&hook("echo a\0b", 30), &env()).unwrap_err();
    assert!(matches!(e, HookError::Spawn { .. }), "{e}");
}
