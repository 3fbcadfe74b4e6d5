//! Throwaway MariaDB servers for tests: one `mariadb-install-db` template per process, copied for every server.
//!
//! Every `mariadbd` is spawned by one dedicated thread that never exits, with `PR_SET_PDEATHSIG(SIGKILL)`, so the
//! servers die with the test process even when tests panic or the runner is killed.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "install mariadb-server-core (apt-get install mariadb-server-core mariadb-client)";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Unix socket paths are limited to 108 bytes; longer ones go to the temp dir.
const MAX_SOCKET_PATH: usize = 100;

static SERVER_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Extra settings for [`Server::start_with`]: additional `mariadbd` arguments and environment variables
/// (for example `("TZ", "Europe/Berlin")` to give the server a system time zone with DST).
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ServerOptions {
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// One running (or stopped) throwaway server with its own datadir, socket and TCP port.
pub struct Server {
    dir: PathBuf,
    datadir: PathBuf,
    socket: PathBuf,
    port: Mutex<u16>,
    options: ServerOptions,
    child: Mutex<Option<Child>>,
    shared: bool,
}

impl Server {
    /// The server shared by all tests of this process, started on first use and killed when the process ends.
    pub fn shared() -> &'static Server {
        static SHARED: OnceLock<Server> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut server = Server::create(ServerOptions::default());
            server.shared = true;
            server
        })
    }

    /// A new server owned by the caller; shut down and deleted on drop.
    pub fn start_new() -> Server {
        Server::create(ServerOptions::default())
    }

    /// Like [`Server::start_new`], with extra `mariadbd` arguments or environment.
    pub fn start_with(options: ServerOptions) -> Server {
        Server::create(options)
    }

    fn create(options: ServerOptions) -> Server {
        let template = template_datadir();
        let n = SERVER_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}-{}", std::process::id(), n);
        let dir = servers_root().join(&name);
        let _ = fs::remove_dir_all(&dir);
        let datadir = dir.join("data");
        copy_dir(template, &datadir).unwrap_or_else(|e| {
            panic!(
                "copy template {} to {}: {e}",
                template.display(),
                datadir.display()
            )
        });
        fs::create_dir_all(dir.join("tmp")).expect("create server tmp dir");
        let mut socket = dir.join("mysqld.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            socket = std::env::temp_dir().join(format!("mybak-test-{name}.sock"));
        }
        let server = Server {
            dir,
            datadir,
            socket,
            port: Mutex::new(0),
            options,
            child: Mutex::new(None),
            shared: false,
        };
        server.launch();
        server
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn socket_str(&self) -> &str {
        self.socket.to_str().expect("socket path is UTF-8")
    }

    pub fn port(&self) -> u16 {
        *self.port.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// The server's own directory (datadir, tmp dir, pid file); free for tests to put files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// SIGSTOP: the server stops answering but keeps its sockets, so the kernel still accepts
    /// connections; [`Server::resume`] (or [`Server::stop`]) lets it go on.
    pub fn pause(&self) {
        let guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(child) = guard.as_ref() {
            signal(child, libc::SIGSTOP);
        }
    }

    /// SIGCONT after [`Server::pause`].
    pub fn resume(&self) {
        let guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(child) = guard.as_ref() {
            signal(child, libc::SIGCONT);
        }
    }

    /// Clean shutdown (SIGTERM, wait); SIGKILL if it takes longer than a minute. A paused
    /// server is resumed first.
    pub fn stop(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = guard.take() {
            signal(&child, libc::SIGCONT);
            signal(&child, libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }

    /// SIGKILL, like a crash; the datadir stays for [`Server::restart`].
    pub fn kill(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut child) = guard.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop (cleanly if still running) and start again on the same datadir, socket and port.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// The last `lines` lines of the server's error log.
    pub fn error_log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.datadir.join("error.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn launch(&self) {
        let mut last_error = String::new();
        for attempt in 0..5 {
            let port = {
                let mut guard = self.port.lock().unwrap_or_else(|p| p.into_inner());
                if *guard == 0 || attempt > 0 {
                    *guard = free_port();
                }
                *guard
            };
            let _ = fs::remove_file(&self.socket);
            let mut cmd = mariadbd_command(
                &self.datadir,
                &self.socket,
                port,
                &self.dir.join("mysqld.pid"),
            );
            cmd.args(&self.options.args);
            for (k, v) in &self.options.env {
                cmd.env(k, v);
            }
            let child = spawn_dying_with_process(cmd)
                .unwrap_or_else(|e| panic!("spawn mariadbd for {}: {e}", self.datadir.display()));
            *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
            match self.wait_ready() {
                Ok(()) => return,
                Err(e) => {
                    self.kill();
                    let tail = self.error_log_tail(30);
                    if tail.contains("Address already in use") {
                        last_error = format!("{e}\n{tail}");
                        continue;
                    }
                    panic!(
                        "mariadbd in {} did not start: {e}\n--- error.log tail ---\n{tail}",
                        self.datadir.display()
                    );
                }
            }
        }
        panic!(
            "mariadbd in {} could not bind a free port: {last_error}",
            self.datadir.display()
        );
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            {
                let mut guard = self.child.lock().unwrap_or_else(|p| p.into_inner());
                let child = guard.as_mut().ok_or("server child missing")?;
                if let Ok(Some(status)) = child.try_wait() {
                    guard.take();
                    return Err(format!("mariadbd exited with {status}"));
                }
            }
            if self.socket.exists() && ping(&self.socket).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let why = ping(&self.socket).err().unwrap_or_default();
                return Err(format!(
                    "no answer to SELECT 1 within {START_TIMEOUT:?}: {why}"
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if !self.shared && !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        if !self.socket.starts_with(&self.dir) {
            let _ = fs::remove_file(&self.socket);
        }
    }
}

fn ping(socket: &Path) -> Result<(), String> {
    use mysql::prelude::Queryable;
    let opts = mysql::OptsBuilder::new()
        .socket(Some(socket.to_string_lossy().into_owned()))
        .user(Some("root"))
        .prefer_socket(false);
    let mut conn = mysql::Conn::new(opts).map_err(|e| e.to_string())?;
    conn.query_drop("SELECT 1").map_err(|e| e.to_string())
}

fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: plain kill(2) on our own child's pid, which has not been reaped yet.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// `<CARGO_TARGET_TMPDIR or target>/test-servers`, created (and purged of dead processes' dirs) once per process.
pub fn servers_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = option_env!("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"));
        let root = base.join("test-servers");
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("create {}: {e}", root.display()));
        remove_stale_dirs(&root);
        root
    })
}

/// Removes `<pid>-…` entries whose process no longer runs.
fn remove_stale_dirs(root: &Path) {
    let own = std::process::id();
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != own && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The per-process template datadir: `mariadb-install-db` once, plus the time zone tables when available.
fn template_datadir() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = servers_root().join(format!("{}-template", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let datadir = dir.join("data");
        fs::create_dir_all(&dir).expect("create template dir");
        let log = dir.join("install.log");
        let log_file = fs::File::create(&log).expect("create install.log");
        let status = Command::new(find_binary("mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .arg(format!("--user={}", current_user()))
            .args(INNODB_ARGS)
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .status()
            .unwrap_or_else(|e| panic!("run mariadb-install-db: {e}; {INSTALL_HINT}"));
        if !status.success() {
            let text = fs::read_to_string(&log).unwrap_or_default();
            panic!("mariadb-install-db failed ({status}):\n{text}");
        }
        load_time_zone_tables(&dir, &datadir);
        let _ = fs::remove_file(datadir.join("error.log"));
        datadir
    })
}

/// Storage engines the fixtures use that Debian ships as plugins of `mariadb-server` (not built in):
/// ARCHIVE, BLACKHOLE and FEDERATED(X).
const ENGINE_PLUGINS: &[&str] = &["ha_archive.so", "ha_blackhole.so", "ha_federatedx.so"];

/// `--plugin-load-add=…` for each of [`ENGINE_PLUGINS`] in the server's plugin directory. A missing one
/// is left out: loading `fixtures/full.sql` then fails naming the engine (`scripts/install-deps.sh`
/// installs them).
fn engine_plugins() -> &'static [String] {
    static ARGS: OnceLock<Vec<String>> = OnceLock::new();
    ARGS.get_or_init(|| {
        let help = Command::new(find_binary("mariadbd"))
            .args(["--no-defaults", "--verbose", "--help"])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let dir = help
            .lines()
            .find_map(|l| l.strip_prefix("plugin-dir"))
            .map(|rest| PathBuf::from(rest.trim()))
            .unwrap_or_else(|| PathBuf::from("/usr/lib/mysql/plugin"));
        ENGINE_PLUGINS
            .iter()
            .filter(|p| dir.join(p).exists())
            .map(|p| format!("--plugin-load-add={p}"))
            .collect()
    })
}

const INNODB_ARGS: &[&str] = &[
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
];

/// Boots the template once without binlog and loads `mariadb-tzinfo-to-sql /usr/share/zoneinfo` so named
/// time zones (with DST) work in every server. Skipped with a note when the tools or tzdata are missing.
fn load_time_zone_tables(dir: &Path, datadir: &Path) {
    let zoneinfo = Path::new("/usr/share/zoneinfo");
    let Some(tzinfo) =
        try_find_binary("mariadb-tzinfo-to-sql").or_else(|| try_find_binary("mysql_tzinfo_to_sql"))
    else {
        eprintln!(
            "note: mariadb-tzinfo-to-sql missing; named time zones unavailable in test servers"
        );
        return;
    };
    if !zoneinfo.is_dir() {
        eprintln!(
            "note: /usr/share/zoneinfo missing (install tzdata); named time zones unavailable"
        );
        return;
    }
    let sql = Command::new(tzinfo)
        .arg(zoneinfo)
        .stderr(Stdio::null())
        .output()
        .expect("run mariadb-tzinfo-to-sql");
    let socket = dir.join("boot.sock");
    let mut cmd = mariadbd_command(datadir, &socket, 0, &dir.join("boot.pid"));
    cmd.arg("--skip-log-bin").arg("--skip-networking");
    let mut child = spawn_dying_with_process(cmd).expect("spawn template mariadbd");
    let deadline = Instant::now() + START_TIMEOUT;
    while ping(&socket).is_err() {
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let log = fs::read_to_string(datadir.join("error.log")).unwrap_or_default();
            panic!("template mariadbd did not start:\n{log}");
        }
        thread::sleep(Duration::from_millis(100));
    }
    let out = crate::common::client::run_stock_client(&socket, Some("mysql"), &sql.stdout);
    if !out.status.success() {
        eprintln!(
            "note: loading time zone tables failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    signal(&child, libc::SIGTERM);
    let _ = child.wait();
}

fn mariadbd_command(datadir: &Path, socket: &Path, port: u16, pid_file: &Path) -> Command {
    let mut cmd = Command::new(find_binary("mariadbd"));
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--log-bin=mariadb-bin")
        .arg("--server-id=1")
        .arg("--max-allowed-packet=1G")
        .args(INNODB_ARGS)
        .arg("--innodb-flush-log-at-trx-commit=2")
        .arg("--sync-binlog=0")
        .arg("--event-scheduler=OFF")
        .args(engine_plugins())
        .arg(format!("--user={}", current_user()))
        .arg(format!("--pid-file={}", pid_file.display()))
        .arg(format!(
            "--log-error={}",
            datadir.join("error.log").display()
        ))
        .arg(format!(
            "--tmpdir={}",
            datadir.parent().unwrap_or(datadir).join("tmp").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _ = fs::create_dir_all(datadir.parent().unwrap_or(datadir).join("tmp"));
    cmd
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from the never-exiting spawner thread with `PR_SET_PDEATHSIG(SIGKILL)`, so the child dies
/// with this process (PDEATHSIG fires when the spawning *thread* exits).
pub fn spawn_dying_with_process(mut cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure only calls async-signal-safe functions (prctl, getppid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::other("parent died before exec"));
            }
            Ok(())
        });
    }
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("mariadbd-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                loop {
                    thread::park();
                }
            })
            .expect("start spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("spawner thread gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("spawner thread gone"))?
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// The user name of the effective uid (mariadbd needs `--user=root` when run as root).
pub fn current_user() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the name out immediately.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return std::env::var("USER").unwrap_or_else(|_| "root".into());
        }
        CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned()
    }
}

/// `name` in PATH, /usr/sbin or /usr/libexec, or `None`.
pub fn try_find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/usr/libexec", "/usr/local/sbin", "/usr/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Like [`try_find_binary`], panicking with the install hint when missing.
pub fn find_binary(name: &str) -> PathBuf {
    try_find_binary(name).unwrap_or_else(|| panic!("{name} not found; {INSTALL_HINT}"))
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
