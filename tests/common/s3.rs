//! A throwaway S3-compatible server for tests: `moto_server` (PyPI `moto[server]`, installed into
//! `.venv-moto/` by `scripts/install-deps.sh`) on a free 127.0.0.1 port, spawned like the MariaDB servers
//! so it dies with the test process, and killed on drop. moto keeps everything in memory: a killed server
//! has lost its buckets.
//!
//! Besides starting it, [`S3Server`] reads the bucket back over plain HTTP (keys, objects, unfinished
//! multipart uploads) so tests can check what `mybak` left there. These requests are signed (AWS SigV4)
//! with the server's credentials: [`S3Server::start`] checks no signatures (but treats a request without
//! `Authorization` as anonymous: 403 on private objects), [`S3Server::start_with_auth`] checks them all.
//!
//! Enforcing credentials: moto authenticates nothing while its `INITIAL_NO_AUTH_ACTION_COUNT` setting is
//! infinite (the default). `start_with_auth` creates an IAM user with an access key and an `s3:*` inline
//! policy through moto's IAM API, then sets the count to 0 (`POST /moto-api/reset-auth`): from then on
//! every request must be signed by a known access key with a matching signature (`InvalidAccessKeyId`,
//! `SignatureDoesNotMatch`, both HTTP 403).

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
/// The credentials of a server that checks none ([`S3Server::start`]), and the region of every server.
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";

/// Imported by the Python of a [`S3Server::start_with_auth`] server (via `PYTHONPATH`). moto (5.2)
/// recomputes a request's signature over the path and query string as its web framework re-quoted
/// them, where AWS canonicalizes both (every byte but `A-Za-z0-9-_.~` percent-encoded, `/` kept in the
/// path, `%2F` in the query). A client that sends `prefix=a/&delimiter=/` or `/@schema.sql.zst` and
/// signs `prefix=a%2F&delimiter=%2F` or `/%40schema.sql.zst` (reqsign, so mybak) would get
/// `SignatureDoesNotMatch` with the right secret; this makes moto canonicalize like AWS.
const SITECUSTOMIZE: &str = r#"
from urllib.parse import quote, unquote

import botocore.auth


def _canonical_query_string_url(self, parts):
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        key, _, value = pair.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _s3_canonical_path(self, path):
    return quote(unquote(path), safe="/-_.~")


botocore.auth.SigV4Auth._canonical_query_string_url = _canonical_query_string_url
botocore.auth.S3SigV4Auth._normalize_url_path = _s3_canonical_path
"#;

static S3_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One running (or killed) `moto_server` with its own directory (log file, empty `HOME`).
pub struct S3Server {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    access_key: String,
    secret_key: String,
}

impl S3Server {
    /// Starts a new server and waits (up to 30 s) until it answers HTTP; panics with its log otherwise.
    pub fn start() -> S3Server {
        S3Server::spawn(false)
    }

    /// [`S3Server::start`]; with `patched`, moto's signature check canonicalizes query strings as
    /// AWS does (see [`SITECUSTOMIZE`]).
    fn spawn(patched: bool) -> S3Server {
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
                access_key: ACCESS_KEY.to_string(),
                secret_key: SECRET_KEY.to_string(),
            };
            let log = fs::File::create(server.log_path()).expect("create moto.log");
            let mut cmd = Command::new(&binary);
            if patched {
                let lib = dir.join("python");
                fs::create_dir_all(&lib).expect("create python dir");
                fs::write(lib.join("sitecustomize.py"), SITECUSTOMIZE)
                    .expect("write sitecustomize");
                let mut path = lib.into_os_string();
                if let Some(old) = std::env::var_os("PYTHONPATH") {
                    path.push(":");
                    path.push(old);
                }
                cmd.env("PYTHONPATH", path);
            }
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

    /// Like [`S3Server::start`], but every request must then be signed with [`S3Server::credentials`]
    /// (an IAM user of moto allowed `s3:*`); any other key or secret gets HTTP 403.
    pub fn start_with_auth() -> S3Server {
        let mut server = S3Server::spawn(true);
        let iam = |params: &str| {
            let body = format!("{params}&Version=2010-05-08");
            let response = server.signed_request(
                "iam",
                "POST",
                "/",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
            );
            assert_eq!(
                response.status,
                200,
                "IAM {params}: HTTP {}\n{}",
                response.status,
                response.text()
            );
            response.text()
        };
        iam("Action=CreateUser&UserName=mybak");
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        iam(&format!(
            "Action=PutUserPolicy&UserName=mybak&PolicyName=s3-all&PolicyDocument={}",
            http::encode(policy, false)
        ));
        let key = iam("Action=CreateAccessKey&UserName=mybak");
        let access_key = http::xml_text(&key, "AccessKeyId").expect("AccessKeyId");
        let secret_key = http::xml_text(&key, "SecretAccessKey").expect("SecretAccessKey");
        // From now on every request is authenticated.
        let response = server.signed_request(
            "s3",
            "POST",
            "/moto-api/reset-auth",
            &[("Content-Type", "application/octet-stream")],
            b"0",
        );
        assert_eq!(response.status, 200, "reset-auth: {}", response.text());
        server.access_key = access_key;
        server.secret_key = secret_key;
        // The old test credentials are refused now, the new ones accepted.
        let old = server.request_as(ACCESS_KEY, SECRET_KEY, "GET", "/", b"");
        assert_eq!(old.status, 403, "moto does not enforce credentials");
        server.request_ok("GET", "/", b"");
        server
    }

    /// The access key id and secret key clients of this server use.
    pub fn credentials(&self) -> (String, String) {
        (self.access_key.clone(), self.secret_key.clone())
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

    /// The environment a client of this server needs: its credentials, region, no EC2 metadata lookups.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.as_str()),
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

    /// [`S3Server::apply`] with other credentials (wrong ones, to test refusals).
    pub fn apply_credentials(&self, cmd: &mut Command, access_key: &str, secret_key: &str) {
        self.apply(cmd);
        cmd.env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key);
    }

    /// One raw S3 request (`target`: path and query, percent-encoded), signed with the server's
    /// credentials.
    pub fn request(&self, method: &str, target: &str, body: &[u8]) -> Response {
        self.request_as(&self.access_key, &self.secret_key, method, target, body)
    }

    /// [`S3Server::request`] signed with other credentials.
    pub fn request_as(
        &self,
        access_key: &str,
        secret_key: &str,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Response {
        // Without it moto's web framework would take a PUT body for form data and store nothing.
        let headers = [("Content-Type", "application/octet-stream")];
        self.signed_request_as(access_key, secret_key, "s3", method, target, &headers, body)
    }

    /// One request to `service` (`s3`, `iam`: moto tells them apart by the signature's scope) with
    /// `headers`, signed with the server's credentials.
    fn signed_request(
        &self,
        service: &str,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let (access_key, secret_key) = self.credentials();
        self.signed_request_as(
            &access_key,
            &secret_key,
            service,
            method,
            target,
            headers,
            body,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn signed_request_as(
        &self,
        access_key: &str,
        secret_key: &str,
        service: &str,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let host = format!("{HOST}:{}", self.port);
        let signed = sigv4_headers(access_key, secret_key, service, method, &host, target, body);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        http::request(HOST, self.port, method, target, &all, body)
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

    /// The names of all buckets (ListBuckets).
    pub fn bucket_names(&self) -> Vec<String> {
        let xml = self.request_ok("GET", "/", b"").text();
        http::xml_texts(&xml, "Name")
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

/// The `X-Amz-Date`, `X-Amz-Content-SHA256` and `Authorization` headers that sign a request (AWS
/// Signature Version 4; signed headers: host and those two) for `host` (as sent in `Host`). `target` is
/// the percent-encoded path and query, sent as is.
fn sigv4_headers(
    access_key: &str,
    secret_key: &str,
    service: &str,
    method: &str,
    host: &str,
    target: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let now = chrono::Utc::now();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let canonical = |s: &str| http::encode(&http::decode(s), false);
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .map(|(k, v)| (canonical(k), canonical(v)))
        .collect();
    pairs.sort();
    let canonical_query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let payload = sha256_hex(body);
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "{method}\n{path}\n{}\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\n\
         {signed_headers}\n{payload}",
        canonical_query.join("&")
    );
    let scope = format!("{date}/{REGION}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    for part in [REGION, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature: String = hmac_sha256(&key, to_sign.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    vec![
        ("X-Amz-Date".to_string(), amz_date.clone()),
        ("X-Amz-Content-SHA256".to_string(), payload),
        (
            "Authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, \
                 Signature={signature}"
            ),
        ),
    ]
}

fn sha256_hex(data: &[u8]) -> String {
    super::dump::sha256_hex(data)
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
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
