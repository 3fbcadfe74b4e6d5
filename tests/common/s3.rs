//! A throwaway S3-compatible server for tests: `moto_server` (PyPI `moto[server]`, installed into
//! `.venv-moto/` by `scripts/install-deps.sh`) on a free 127.0.0.1 port, spawned like the MariaDB servers
//! so it dies with the test process, and killed on drop. moto keeps everything in memory: a killed server
//! has lost its buckets.
//!
//! Besides starting it, [`S3Server`] reads the bucket back over plain HTTP (keys, objects, unfinished
//! multipart uploads) so tests can check what `mybak` left there. moto checks no signatures but treats a
//! request without `Authorization` as anonymous (403 on private objects), so these requests carry a dummy
//! SigV4 header.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{self, Response};
use super::server::{free_port, servers_root, spawn_dying_with_process, try_find_binary};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const HOST: &str = "127.0.0.1";
const INSTALL_HINT: &str = "run scripts/install-deps.sh (it makes .venv-moto with moto[server]), \
     put moto_server on PATH, or set MYBAK_MOTO_SERVER to its path";
/// The credentials and region every client of the test server uses.
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20000101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

static S3_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One running (or killed) `moto_server` with its own directory (log file, empty `HOME`).
pub struct S3Server {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl S3Server {
    /// Starts a new server and waits (up to 30 s) until it answers HTTP; panics with its log otherwise.
    pub fn start() -> S3Server {
        let binary = moto_server_binary();
        let n = S3_COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = servers_root().join(format!("{}-s3-{n}", std::process::id()));
        let mut last_error = String::new();
        for _attempt in 0..5 {
            // (A failed attempt's drop removed the directory.)
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("home"))
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
            let mut server = S3Server {
                dir: dir.clone(),
                port: free_port(),
                child: None,
            };
            let log = fs::File::create(server.log_path()).expect("create moto.log");
            let mut cmd = Command::new(&binary);
            cmd.arg("-H")
                .arg(HOST)
                .arg("-p")
                .arg(server.port.to_string())
                .current_dir(&dir)
                .env("HOME", dir.join("home"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log);
            let child = spawn_dying_with_process(cmd)
                .unwrap_or_else(|e| panic!("spawn {}: {e}; {INSTALL_HINT}", binary.display()));
            server.child = Some(child);
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) => {
                    server.kill();
                    let log = server.log_tail(30);
                    if log.contains("Address already in use") {
                        last_error = format!("{e}\n{log}");
                        continue;
                    }
                    panic!(
                        "{} did not start: {e}\n--- moto.log tail ---\n{log}",
                        binary.display()
                    );
                }
            }
        }
        panic!("moto_server could not bind a free port: {last_error}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's own directory (log file, empty home); free for tests to put files in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of the server's output (one line per request).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL now (an S3 endpoint vanishing mid-upload); the endpoint then refuses connections and
    /// everything stored is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The environment a client of this server needs: test credentials, region, no EC2 metadata lookups.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Gives `cmd` [`S3Server::env`], no other `AWS_*` variable of the test environment, and an empty
    /// `HOME`, so no `~/.aws` files of the machine leak in.
    pub fn apply(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env()).env("HOME", self.dir.join("home"));
    }

    /// One raw request (`target`: path and query, percent-encoded) with the dummy `Authorization`.
    pub fn request(&self, method: &str, target: &str, body: &[u8]) -> Response {
        let headers = [
            ("Authorization", AUTHORIZATION),
            // Without it moto's web framework would take a PUT body for form data and store nothing.
            ("Content-Type", "application/octet-stream"),
        ];
        http::request(HOST, self.port, method, target, &headers, body)
            .unwrap_or_else(|e| panic!("{method} {}{target}: {e}", self.endpoint()))
    }

    /// `request`, panicking unless the status is 2xx.
    fn request_ok(&self, method: &str, target: &str, body: &[u8]) -> Response {
        let response = self.request(method, target, body);
        assert!(
            (200..300).contains(&response.status),
            "{method} {}{target}: HTTP {}\n{}",
            self.endpoint(),
            response.status,
            response.text()
        );
        response
    }

    /// CreateBucket.
    pub fn create_bucket(&self, name: &str) {
        self.request_ok("PUT", &format!("/{}", http::encode(name, false)), b"");
    }

    /// PutObject.
    pub fn put_object(&self, bucket: &str, key: &str, data: &[u8]) {
        self.request_ok("PUT", &object_path(bucket, key), data);
    }

    /// GetObject; panics unless it exists.
    pub fn get_object(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.request_ok("GET", &object_path(bucket, key), b"").body
    }

    /// Every key under `prefix` (ListObjectsV2, all pages), in S3's order.
    pub fn list_keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.list_keys_paged(bucket, prefix, 1000)
    }

    /// [`S3Server::list_keys`] asking for pages of `max_keys` keys (to test the paging itself).
    pub fn list_keys_paged(&self, bucket: &str, prefix: &str, max_keys: usize) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut target = format!(
                "/{}?list-type=2&max-keys={max_keys}&prefix={}",
                http::encode(bucket, false),
                http::encode(prefix, false)
            );
            if let Some(t) = &token {
                target.push_str(&format!("&continuation-token={}", http::encode(t, false)));
            }
            let xml = self.request_ok("GET", &target, b"").text();
            keys.extend(http::xml_texts(&xml, "Key"));
            token = http::xml_text(&xml, "NextContinuationToken");
            if http::xml_text(&xml, "IsTruncated").as_deref() != Some("true") || token.is_none() {
                return keys;
            }
        }
    }

    /// The unfinished multipart uploads in `bucket` as `(key, upload id)` (ListMultipartUploads, all pages;
    /// moto 5.2 lists them all in one).
    pub fn list_multipart_uploads(&self, bucket: &str) -> Vec<(String, String)> {
        let mut uploads = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut target = format!("/{}?uploads", http::encode(bucket, false));
            if let Some((key, id)) = &markers {
                target.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    http::encode(key, false),
                    http::encode(id, false)
                ));
            }
            let xml = self.request_ok("GET", &target, b"").text();
            for upload in http::xml_texts(&xml, "Upload") {
                let key = http::xml_text(&upload, "Key").unwrap_or_default();
                let id = http::xml_text(&upload, "UploadId").unwrap_or_default();
                uploads.push((key, id));
            }
            if http::xml_text(&xml, "IsTruncated").as_deref() != Some("true") {
                return uploads;
            }
            markers = Some((
                http::xml_text(&xml, "NextKeyMarker").unwrap_or_default(),
                http::xml_text(&xml, "NextUploadIdMarker").unwrap_or_default(),
            ));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("moto.log")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let child = self.child.as_mut().ok_or("server child missing")?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("moto_server exited with {status}"));
            }
            match answers_http(self.port) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("no HTTP answer within {START_TIMEOUT:?}: {e}"))
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn object_path(bucket: &str, key: &str) -> String {
    format!(
        "/{}/{}",
        http::encode(bucket, false),
        http::encode(key, true)
    )
}

/// `GET / HTTP/1.0` gets an HTTP status line back.
fn answers_http(port: u16) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect((HOST, port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| e.to_string())?;
    if head.starts_with(b"HTTP/1.") {
        Ok(())
    } else {
        Err(format!("not HTTP: {:?}", String::from_utf8_lossy(&head)))
    }
}

/// `MYBAK_MOTO_SERVER`, else `.venv-moto/bin/moto_server` in the source tree, else `moto_server` on PATH.
pub fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MYBAK_MOTO_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MYBAK_MOTO_SERVER={} is not a file; {INSTALL_HINT}",
            path.display()
        );
        return path;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-moto/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    try_find_binary("moto_server")
        .unwrap_or_else(|| panic!("moto_server not found; {INSTALL_HINT}"))
}
