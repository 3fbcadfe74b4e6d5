//! Runs an `--on-success` / `--on-failure` command after a run: `/bin/sh -c CMD` in its own
//! process group, told the outcome by `MYBAK_*` variables (never the password), stopped at its
//! timeout, its output captured (the last 64 KiB).

use std::ffi::OsString;
use std::io::{PipeReader, PipeWriter, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::summary::{Command, RunStatus};

/// The most output kept: the last this many bytes.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long a hook has between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long the output is read after the shell is gone: a background process may hold the pipe.
const READ_GRACE: Duration = Duration::from_millis(500);
/// The variable that holds the password; a hook never sees it.
const PASSWORD_VAR: &str = "MYSQL_PWD";

/// A command to run after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Shell text, run by `/bin/sh -c`.
    pub command: String,
    /// When to stop it: SIGTERM to its process group, SIGKILL 5 s later.
    pub timeout: Duration,
}

/// What a hook is told about the run, as `MYBAK_*` environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEnv {
    /// `MYBAK_COMMAND`: `dump`, `verify`, …
    pub command: Command,
    /// `MYBAK_STATUS`: the status word of the summary line.
    pub status: RunStatus,
    /// `MYBAK_EXIT_CODE`.
    pub exit_code: u8,
    /// `MYBAK_DUMP_DIR`; empty when none.
    pub dump_dir: Option<PathBuf>,
    /// `MYBAK_SUMMARY`: the `summary:` line.
    pub summary: String,
    /// `MYBAK_LOG_FILE`; empty when none.
    pub log_file: Option<PathBuf>,
}

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOutcome {
    /// The shell's exit code; `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// Whether it ran past its timeout and was stopped.
    pub timed_out: bool,
    /// Its stdout and stderr as they came, the last [`OUTPUT_LIMIT`] bytes at most (invalid
    /// UTF-8 replaced).
    pub output: String,
    pub elapsed: Duration,
}

impl HookOutcome {
    /// Whether the hook exited with 0 in time.
    pub fn succeeded(&self) -> bool {
        !self.timed_out && self.exit_code == Some(0)
    }
}

/// Why a hook could not be run.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("could not make a pipe for the hook's output: {0}")]
    Pipe(#[source] std::io::Error),
    #[error("could not start a thread to read the hook's output: {0}")]
    Thread(#[source] std::io::Error),
    #[error("could not start the hook {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the hook failed: {0}")]
    Wait(#[source] std::io::Error),
    #[error("the hook (pid {pid}) is still running after SIGKILL")]
    Unkillable { pid: u32 },
}

/// Runs `hook` with mybak's environment (without `MYSQL_PWD`) plus the `MYBAK_*` variables of `env`.
pub fn run(hook: &Hook, env: &HookEnv) -> Result<HookOutcome, HookError> {
    run_with_base_env(hook, env, std::env::vars_os())
}

/// Runs `hook` with the environment `base` (without `MYSQL_PWD`) plus the `MYBAK_*` variables
/// of `env`. Returns when the shell has exited (or was killed at its timeout) and its output was
/// read, or a moment later if a process it left in the background still holds the output pipe.
pub fn run_with_base_env(
    hook: &Hook,
    env: &HookEnv,
    base: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<HookOutcome, HookError> {
    let started = Instant::now();
    let (reader, writer) = std::io::pipe().map_err(HookError::Pipe)?;
    let tail = Arc::new(Mutex::new(Tail::default()));
    let (done_tx, done_rx) = mpsc::channel();
    spawn_reader(reader, Arc::clone(&tail), done_tx)?;
    // The command holds our copies of the pipe's write end; it goes before we wait for EOF.
    let mut child = shell(hook, env, base, writer)?
        .spawn()
        .map_err(|source| HookError::Spawn {
            command: hook.command.clone(),
            source,
        })?;
    let deadline = started.checked_add(hook.timeout);
    let (status, timed_out) = match wait_until(&mut child, deadline)? {
        Some(status) => (status, false),
        None => (stop(&mut child)?, true),
    };
    let _ = done_rx.recv_timeout(READ_GRACE);
    let output = lock(&tail).text();
    Ok(HookOutcome {
        exit_code: status.code(),
        timed_out,
        output,
        elapsed: started.elapsed(),
    })
}

/// `/bin/sh -c CMD` in a new process group, stdin from /dev/null, stdout and stderr to `out`.
fn shell(
    hook: &Hook,
    env: &HookEnv,
    base: impl IntoIterator<Item = (OsString, OsString)>,
    out: PipeWriter,
) -> Result<std::process::Command, HookError> {
    let path_var = |p: &Option<PathBuf>| {
        p.as_deref()
            .map(Path::as_os_str)
            .unwrap_or_default()
            .to_os_string()
    };
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&hook.command)
        .env_clear()
        .envs(base.into_iter().filter(|(k, _)| k != PASSWORD_VAR))
        .env("MYBAK_COMMAND", env.command.as_str())
        .env("MYBAK_STATUS", env.status.as_str())
        .env("MYBAK_EXIT_CODE", env.exit_code.to_string())
        .env("MYBAK_DUMP_DIR", path_var(&env.dump_dir))
        .env("MYBAK_SUMMARY", &env.summary)
        .env("MYBAK_LOG_FILE", path_var(&env.log_file))
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(HookError::Pipe)?)
        .stderr(out)
        .process_group(0);
    Ok(cmd)
}

/// Waits for the shell until `deadline` (forever if `None`); `None` if it still runs then.
fn wait_until(
    child: &mut Child,
    deadline: Option<Instant>,
) -> Result<Option<ExitStatus>, HookError> {
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(status) = child.try_wait().map_err(HookError::Wait)? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        let left = match deadline {
            Some(d) if d <= now => return Ok(None),
            Some(d) => d - now,
            None => Duration::MAX,
        };
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Stops the hook's process group: SIGTERM, then SIGKILL to what is left after [`KILL_GRACE`].
/// Returns the shell's exit status.
fn stop(child: &mut Child) -> Result<ExitStatus, HookError> {
    let group = i32::try_from(child.id()).ok().map(Pid::from_raw);
    let signal = |sig| group.is_some_and(|g| killpg(g, sig).is_ok());
    signal(Signal::SIGTERM);
    let grace_end = Instant::now() + KILL_GRACE;
    let mut status = wait_until(child, Some(grace_end))?;
    // The shell may have gone while others of its group still run; they get the same grace.
    while status.is_some()
        && group.is_some_and(|g| killpg(g, None).is_ok())
        && Instant::now() < grace_end
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let group_left = group.is_some_and(|g| killpg(g, None).is_ok());
    if status.is_none() || group_left {
        let killed = signal(Signal::SIGKILL);
        if !killed && status.is_none() {
            let _ = child.kill();
        }
    }
    if status.is_none() {
        status = wait_until(child, Some(Instant::now() + KILL_GRACE))?;
    }
    status.ok_or(HookError::Unkillable { pid: child.id() })
}

/// Reads the hook's output into `tail` until EOF, then says so on `done`.
fn spawn_reader(
    mut reader: PipeReader,
    tail: Arc<Mutex<Tail>>,
    done: mpsc::Sender<()>,
) -> Result<(), HookError> {
    std::thread::Builder::new()
        .name("hook-output".to_string())
        .spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => lock(&tail).push(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = done.send(());
        })
        .map(drop)
        .map_err(HookError::Thread)
}

fn lock(tail: &Mutex<Tail>) -> MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The last [`OUTPUT_LIMIT`] bytes of a stream, in at most twice that much memory.
#[derive(Debug, Default)]
struct Tail {
    buf: Vec<u8>,
    /// Whether bytes were dropped from the front.
    cut: bool,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        if self.buf.len() > 2 * OUTPUT_LIMIT {
            let cut = self.buf.len() - OUTPUT_LIMIT;
            self.buf.drain(..cut);
            self.cut = true;
        }
    }

    /// The kept bytes as text, starting at a character boundary when the start was cut.
    fn text(&self) -> String {
        let start = self.buf.len().saturating_sub(OUTPUT_LIMIT);
        let mut kept = &self.buf[start..];
        if start > 0 || self.cut {
            let continuation = kept
                .iter()
                .take(3)
                .take_while(|b| **b & 0xC0 == 0x80)
                .count();
            kept = &kept[continuation..];
        }
        String::from_utf8_lossy(kept).into_owned()
    }
}

#[cfg(test)]
mod tests;
