//! S3-compatible object storage as a [`Storage`], through `opendal` (kept behind this file).
//!
//! Files stream to multipart uploads while they are written: at most [`PART_BYTES`] ×
//! ([`PARTS_IN_FLIGHT`] + 1) bytes are buffered per open file, nothing is staged on local disk.
//! Requests are retried with exponential backoff ([`RETRIES`] times) and time out; an upload that
//! fails or is dropped unfinished is aborted, so no object appears under its name. "Directories"
//! are key prefixes: they exist while something is stored below them.

use std::future::IntoFuture;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{ErrorKind, Operator};

use super::location::S3Settings;
use super::s3_uploads::Uploads;
use super::{is_inside, read_limited, Entry, EntryKind, Storage, Upload};
use crate::error::{Error, Result};
use crate::regular_file::ReadError;

/// Size of one part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_BYTES: usize = 8 << 20;

/// Parts of one file uploaded at the same time.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Bytes read ahead per file being read (restore, verify, copy), in parallel ranged requests.
const READ_CHUNK: usize = 8 << 20;

/// How often a failed request is retried (with backoff from 0.5 s up to 30 s).
pub const RETRIES: usize = 6;

/// A bucket and key prefix.
pub struct S3Storage {
    bucket: String,
    prefix: String,
    op: Operator,
    /// Reads go through opendal's blocking adapter over the same operator.
    blocking: opendal::blocking::Operator,
    /// The same operator without retries: clean-up after a failure (deleting what a failed run
    /// wrote) is tried once, not for minutes against a dead endpoint.
    once: Operator,
    /// A request failed after all its retries: the service is unreachable or refusing, so
    /// clean-up is tried once and unfinished uploads are left to `prune`.
    broken: Arc<AtomicBool>,
    runtime: Arc<tokio::runtime::Runtime>,
    /// Lists and aborts multipart uploads, which opendal cannot.
    uploads: Uploads,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Storage(s3://{}/{})", self.bucket, self.prefix)
    }
}

/// The region to use when the settings name none.
fn default_region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "us-east-1".to_string())
}

impl S3Storage {
    /// The storage at `s3://bucket/prefix`. Nothing is sent yet: see [`S3Storage::check`].
    pub fn new(bucket: &str, prefix: &str, settings: &S3Settings) -> Result<S3Storage> {
        let location = format!("s3://{bucket}/{prefix}");
        let config = |e: String| Error::OutputRoot {
            path: PathBuf::from(&location),
            message: e,
        };
        // The HTTP client (reqwest over rustls with ring, the process's one TLS provider);
        // idempotent, installed by the first storage.
        // ring, as the MySQL connections use; an error only says one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal_http_transport_reqwest::install_default();
        let region = settings.region.clone().unwrap_or_else(default_region);
        let mut builder = opendal::services::S3::default()
            .bucket(bucket)
            .root(&format!("/{prefix}"))
            .region(&region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.endpoint(endpoint);
        }
        let path_style = settings.path_style.unwrap_or(settings.endpoint.is_some());
        if !path_style {
            builder = builder.enable_virtual_host_style();
        }
        if let Some(profile) = &settings.profile {
            builder = builder.profile(profile);
        }
        if let Some(key) = &settings.key {
            builder = builder
                .access_key_id(&key.id)
                .secret_access_key(&key.secret);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mybak-s3")
            .enable_all()
            .build()
            .map_err(|e| config(format!("cannot start the S3 client: {e}")))?;
        let once = Operator::new(builder)
            .map_err(|e| config(one_line(&e)))?
            .layer(TimeoutLayer::new().with_io_timeout(Duration::from_secs(60)));
        let op = once.clone().layer(
            RetryLayer::new()
                .with_max_times(RETRIES)
                .with_min_delay(Duration::from_millis(500))
                .with_max_delay(Duration::from_secs(30))
                .with_jitter(),
        );
        let blocking = {
            let _entered = runtime.enter();
            opendal::blocking::Operator::new(op.clone()).map_err(|e| config(one_line(&e)))?
        };
        Ok(S3Storage {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            op,
            blocking,
            once,
            broken: Arc::new(AtomicBool::new(false)),
            runtime: Arc::new(runtime),
            uploads: Uploads::new(bucket, &region, settings),
        })
    }

    fn dir_key(dir: &str) -> String {
        if dir.is_empty() {
            "/".to_string()
        } else {
            format!("{dir}/")
        }
    }
}

/// The `code` and `message` of the S3 error document quoted in an opendal message.
fn s3_error(text: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        let start = text.find(&format!("{name}: \""))? + name.len() + 3;
        let rest = text.get(start..)?;
        Some(rest.get(..rest.find('"')?)?.to_string())
    };
    Some((field("code")?, field("message").unwrap_or_default()))
}

/// An opendal error as one line: what went wrong, without request dumps.
fn one_line(e: &opendal::Error) -> String {
    if let Some((code, message)) = s3_error(e.message()) {
        let hint = match code.as_str() {
            "NoSuchBucket" => " (create the bucket first, or check the URL and --s3-endpoint)",
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" => {
                " (check the credentials in the AWS environment variables or profile)"
            }
            _ => "",
        };
        let message: String = message.chars().take(300).collect();
        return format!("{message} ({code}){hint}");
    }
    let hint = match e.kind() {
        ErrorKind::PermissionDenied => {
            " (access denied: check the credentials in the AWS environment variables or profile)"
        }
        ErrorKind::NotFound => " (no such bucket or key)",
        ErrorKind::ConfigInvalid => " (invalid S3 settings)",
        _ => "",
    };
    let message: String = e
        .message()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    // The innermost cause says what the network did ("Connection refused", a timeout).
    let mut cause = std::error::Error::source(e);
    let mut root = None;
    while let Some(c) = cause {
        root = Some(c.to_string());
        cause = c.source();
    }
    let root: String = root
        .filter(|r| !message.contains(r.as_str()))
        .map(|r| format!(": {}", r.lines().next().unwrap_or_default()))
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    format!("{}: {message}{root}{hint}", e.kind())
}

/// An opendal error as an I/O error of the matching kind, its message in one line.
fn io_error(e: opendal::Error) -> io::Error {
    let kind = match e.kind() {
        ErrorKind::NotFound => io::ErrorKind::NotFound,
        ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
        ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
        ErrorKind::Unsupported => io::ErrorKind::Unsupported,
        ErrorKind::ConfigInvalid => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, one_line(&e))
}

fn time_of(meta: &opendal::Metadata) -> Option<DateTime<Utc>> {
    let text = meta.last_modified()?.to_string();
    DateTime::parse_from_rfc3339(&text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A file streaming to a multipart upload.
struct S3Upload {
    writer: Option<opendal::Writer>,
    runtime: Arc<tokio::runtime::Runtime>,
    /// The storage's failure flag (see [`S3Storage`]).
    broken: Arc<AtomicBool>,
}

impl S3Upload {
    /// `e` as an I/O error, noting on the storage that requests fail.
    fn failed(&self, e: opendal::Error) -> io::Error {
        self.broken.store(true, Ordering::Relaxed);
        io_error(e)
    }
}

impl Write for S3Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the upload was aborted"))?;
        let bytes = bytes_of(buf);
        let written = self.runtime.block_on(writer.write(bytes));
        written.map_err(|e| self.failed(e))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bytes_of(buf: &[u8]) -> opendal::Buffer {
    opendal::Buffer::from(buf.to_vec())
}

impl Upload for S3Upload {
    fn finish(mut self: Box<Self>) -> io::Result<Option<String>> {
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("the upload was aborted"))?;
        match self.runtime.block_on(writer.close()) {
            Ok(meta) => Ok(meta.etag().map(|t| t.trim_matches('"').to_string())),
            Err(e) => {
                let e = self.failed(e);
                self.writer = Some(writer);
                Err(e)
            }
        }
    }
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            // Unfinished: the parts uploaded so far are discarded, nothing appears. When the
            // service failed already, the upload is left for `prune` rather than retried.
            if !self.broken.load(Ordering::Relaxed) {
                let _ = self.runtime.block_on(writer.abort());
            }
        }
    }
}

impl Storage for S3Storage {
    fn display(&self, rel: &str) -> PathBuf {
        let key = super::join(&self.prefix, rel);
        if key.is_empty() {
            PathBuf::from(format!("s3://{}", self.bucket))
        } else {
            PathBuf::from(format!("s3://{}/{key}", self.bucket))
        }
    }

    fn local_dir(&self) -> Option<&Path> {
        None
    }

    fn renames_dirs(&self) -> bool {
        false
    }

    fn list(&self, dir: &str) -> io::Result<Vec<Entry>> {
        let base = Self::dir_key(dir);
        let entries = self
            .runtime
            .block_on(self.op.list_with(&base).recursive(false).into_future())
            .map_err(io_error)?;
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.path().trim_start_matches('/');
            let Some(rest) = path.strip_prefix(base.trim_start_matches('/')) else {
                continue;
            };
            let name = rest.trim_end_matches('/');
            if name.is_empty() || name.contains('/') {
                continue;
            }
            let meta = entry.metadata();
            out.push(Entry {
                name: name.to_string(),
                kind: if meta.is_dir() {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                },
                bytes: if meta.is_dir() {
                    0
                } else {
                    meta.content_length()
                },
                modified: time_of(meta),
            });
        }
        Ok(out)
    }

    fn stat(&self, rel: &str) -> io::Result<Option<Entry>> {
        match self.runtime.block_on(self.op.stat(rel)) {
            Ok(meta) => Ok(Some(Entry {
                name: rel.rsplit('/').next().unwrap_or(rel).to_string(),
                kind: EntryKind::File,
                bytes: meta.content_length(),
                modified: time_of(&meta),
            })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    fn open(&self, rel: &str) -> Result<Box<dyn Read + Send>, String> {
        if !is_inside(rel) {
            return Err("its path leaves the dump directory".to_string());
        }
        let missing = |e: opendal::Error| match e.kind() {
            ErrorKind::NotFound => "missing".to_string(),
            _ => format!("cannot be read: {}", one_line(&e)),
        };
        let size = self.blocking.stat(rel).map_err(missing)?.content_length();
        let reader = self
            .blocking
            .reader_options(
                rel,
                opendal::options::ReaderOptions {
                    chunk: Some(READ_CHUNK),
                    concurrent: 2,
                    ..Default::default()
                },
            )
            .map_err(missing)?
            .into_std_read(0..size)
            .map_err(missing)?;
        Ok(Box::new(reader))
    }

    fn read_small(&self, rel: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
        let size = match self.blocking.stat(rel) {
            Ok(m) => m.content_length(),
            Err(e) => return Err(ReadError::Io(io_error(e))),
        };
        if size > limit {
            return Err(ReadError::TooLarge { limit });
        }
        let bytes = self
            .blocking
            .read(rel)
            .map_err(|e| ReadError::Io(io_error(e)))?;
        read_limited(&bytes.to_vec()[..], limit)
    }

    fn create(&self, rel: &str) -> io::Result<Box<dyn Upload>> {
        let writer = self
            .runtime
            .block_on(
                self.op
                    .writer_with(rel)
                    .chunk(PART_BYTES)
                    .concurrent(PARTS_IN_FLIGHT)
                    .into_future(),
            )
            .map_err(io_error)?;
        Ok(Box::new(S3Upload {
            writer: Some(writer),
            runtime: self.runtime.clone(),
            broken: self.broken.clone(),
        }))
    }

    fn make_dir(&self, rel: &str) -> io::Result<()> {
        let taken = self
            .runtime
            .block_on(
                self.op
                    .list_with(&Self::dir_key(rel))
                    .limit(1)
                    .into_future(),
            )
            .map_err(io_error)?;
        if taken.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "objects exist under this prefix",
            ))
        }
    }

    fn remove_file(&self, rel: &str) -> io::Result<()> {
        let op = if self.broken.load(Ordering::Relaxed) {
            &self.once
        } else {
            &self.op
        };
        match self.runtime.block_on(op.delete(rel)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    fn remove_dir(&self, _rel: &str) -> io::Result<()> {
        Ok(())
    }

    fn rename_dir(&self, _from: &str, _to: &str) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "object storage cannot rename a directory",
        ))
    }

    /// Lists (at most one key of) the prefix: fails when the bucket does not exist, the
    /// credentials are wrong or missing, or the service cannot be reached.
    fn probe(&self) -> io::Result<()> {
        self.runtime
            .block_on(self.op.list_with("/").limit(1).into_future())
            .map(drop)
            .map_err(io_error)
    }

    fn abort_abandoned_uploads(&self, before: DateTime<Utc>, dry_run: bool) -> io::Result<usize> {
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        self.runtime.block_on(async {
            let old: Vec<_> = self
                .uploads
                .list(&prefix)
                .await?
                .into_iter()
                .filter(|u| u.initiated.is_some_and(|t| t < before))
                .collect();
            if !dry_run {
                for upload in &old {
                    self.uploads.abort(upload).await?;
                }
            }
            Ok(old.len())
        })
    }

    fn sync_tree(&self, _rel: &str) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_documents_are_read_from_opendal_messages() {
        let text = r#"S3Error { code: "NoSuchBucket", message: "The specified bucket does not exist", resource: "" }"#;
        assert_eq!(
            s3_error(text),
            Some((
                "NoSuchBucket".to_string(),
                "The specified bucket does not exist".to_string()
            ))
        );
        assert_eq!(s3_error("send http request"), None);
        assert_eq!(s3_error(r#"code: "unterminated"#), None);
        assert_eq!(s3_error("code: \"é"), None);
    }
}
