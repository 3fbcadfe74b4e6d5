//! Where a root or a dump is: a local path, or `s3://bucket/prefix`, and how to reach S3.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::local::LocalStorage;
use super::s3::S3Storage;
use super::SharedStorage;
use crate::error::{Error, Result};
use crate::units::FileMode;

/// The URL scheme of S3-compatible object storage.
pub const S3_SCHEME: &str = "s3://";

/// A place given by the user (`--output-dir`, a dump to restore, a root to list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 {
        bucket: String,
        /// Key prefix without leading or trailing `/` (empty: the whole bucket).
        prefix: String,
    },
}

/// How S3 is reached. Credentials are never here: they come from the AWS environment variables,
/// `~/.aws/credentials` and `~/.aws/config` (the profile named here or by `AWS_PROFILE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The service's URL (`http://127.0.0.1:9000` for MinIO); AWS when unset.
    pub endpoint: Option<String>,
    /// The region; else `AWS_REGION`/`AWS_DEFAULT_REGION`, the profile's, or `us-east-1`.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`); unset: path style with a custom endpoint,
    /// virtual-hosted style on AWS.
    pub path_style: Option<bool>,
    /// The AWS profile to take credentials from.
    pub profile: Option<String>,
    /// A key pair from mybak's config file (`[s3] access-key-id`, `secret-access-key`), used
    /// before the environment and the AWS files.
    pub key: Option<S3Key>,
}

/// An access key pair. `Debug` never shows the secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Key {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for S3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Key {{ id: {:?}, secret: *** }}", self.id)
    }
}

impl Location {
    /// Parses `text`: an `s3://bucket[/prefix]` URL, else a local path.
    pub fn parse(text: &str) -> Result<Location> {
        let Some(rest) = text.strip_prefix(S3_SCHEME) else {
            if text.contains("://") {
                return Err(Error::Settings(format!(
                    "{text}: unknown storage URL (a local path, or s3://bucket/prefix)"
                )));
            }
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket_name(bucket) {
            return Err(Error::Settings(format!(
                "{text}: {bucket:?} is not a valid bucket name (3 to 63 lower-case letters, digits, \
                 dots and hyphens)"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && !super::is_inside(prefix) {
            return Err(Error::Settings(format!(
                "{text}: the key prefix may not hold empty, `.` or `..` parts"
            )));
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// A local path as a location (`Location::parse` of a path that is not valid UTF-8).
    pub fn from_path(path: &Path) -> Result<Location> {
        match path.to_str() {
            Some(text) => Location::parse(text),
            None => Ok(Location::Local(path.to_path_buf())),
        }
    }

    /// The location `rel` below this one.
    pub fn child(&self, rel: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(rel)),
            Location::S3 { bucket, prefix } => Location::S3 {
                bucket: bucket.clone(),
                prefix: super::join(prefix, rel),
            },
        }
    }

    /// The last part of the path or key prefix: a dump's name in its root.
    pub fn name(&self) -> Option<String> {
        match self {
            Location::Local(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| n != "." && n != ".."),
            Location::S3 { prefix, .. } => prefix
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        }
    }

    /// The location one level up; `None` at the top (`/`, a bucket's root). A relative local
    /// path goes up lexically: [`resolved`](Self::resolved) first for `.` and `..`.
    pub fn parent(&self) -> Option<Location> {
        match self {
            Location::Local(p) => p
                .parent()
                .map(|up| Location::Local(up.to_path_buf()))
                .filter(|up| !matches!(up, Location::Local(p) if p.as_os_str().is_empty())),
            Location::S3 { .. } if self.name().is_none() => None,
            Location::S3 { bucket, prefix } => Some(Location::S3 {
                bucket: bucket.clone(),
                prefix: prefix
                    .rsplit_once('/')
                    .map(|(up, _)| up.to_string())
                    .unwrap_or_default(),
            }),
        }
    }

    /// A local path made absolute, with `.`, `..` and symbolic links resolved when it exists;
    /// an S3 location as it is.
    pub fn resolved(&self) -> Location {
        match self {
            Location::Local(p) => Location::Local(
                p.canonicalize()
                    .or_else(|_| std::path::absolute(p))
                    .unwrap_or_else(|_| p.clone()),
            ),
            s3 => s3.clone(),
        }
    }

    /// Whether this is object storage.
    pub fn is_remote(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }

    /// The storage rooted here; files and directories created on disk get `mode`.
    pub fn open(&self, mode: FileMode, s3: &S3Settings) -> Result<SharedStorage> {
        Ok(match self {
            Location::Local(path) => Arc::new(LocalStorage::new(path, mode)),
            Location::S3 { bucket, prefix } => Arc::new(S3Storage::new(bucket, prefix, s3)?),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// S3's bucket naming rules, loosely: 3–63 characters of `a-z0-9.-`, starting and ending with a
/// letter or digit.
fn is_bucket_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.chars().all(ok_char)
        && edge(name.chars().next())
        && edge(name.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_s3_urls() {
        let s3 = |b: &str, p: &str| Location::S3 {
            bucket: b.to_string(),
            prefix: p.to_string(),
        };
        for (text, want) in [
            ("/var/backups", Location::Local("/var/backups".into())),
            ("backups", Location::Local("backups".into())),
            ("s3://bucket", s3("bucket", "")),
            ("s3://bucket/", s3("bucket", "")),
            (
                "s3://my.bucket-1/mysql/nightly/",
                s3("my.bucket-1", "mysql/nightly"),
            ),
        ] {
            assert_eq!(Location::parse(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn refuses_bad_urls_in_one_line() {
        for text in [
            "s3://",
            "s3://Bucket/x",
            "s3://ab/x",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
            "gs://bucket/x",
            "s3://-bucket",
        ] {
            let e = Location::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(text) && !e.contains('\n'), "{text}: {e}");
        }
    }

    #[test]
    fn parents_go_up_one_level() {
        let up = |text: &str| {
            Location::parse(text)
                .unwrap()
                .parent()
                .map(|l| l.to_string())
        };
        assert_eq!(up("/r/binlog/1").as_deref(), Some("/r/binlog"));
        assert_eq!(up("/").as_deref(), None);
        assert_eq!(up("binlog").as_deref(), None);
        assert_eq!(
            up("s3://b-1/a/binlog/1").as_deref(),
            Some("s3://b-1/a/binlog")
        );
        assert_eq!(up("s3://b-1/binlog").as_deref(), Some("s3://b-1"));
        assert_eq!(up("s3://b-1").as_deref(), None);
        let here = Location::parse(".").unwrap().resolved();
        assert_eq!(
            here,
            Location::Local(std::env::current_dir().unwrap().canonicalize().unwrap())
        );
    }

    #[test]
    fn displays_as_given() {
        for text in ["s3://bucket", "s3://bucket/a/b", "/tmp/x"] {
            assert_eq!(Location::parse(text).unwrap().to_string(), text);
        }
        let root = Location::parse("s3://bucket").unwrap();
        assert_eq!(root.child("d/e").to_string(), "s3://bucket/d/e");
        assert_eq!(root.name(), None);
        assert_eq!(root.child("d/e").name().as_deref(), Some("e"));
        assert_eq!(
            Location::parse("/a/b/").unwrap().name().as_deref(),
            Some("b")
        );
        assert_eq!(Location::parse("/").unwrap().name(), None);
    }
}
