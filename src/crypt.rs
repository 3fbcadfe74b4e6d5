//! Encryption at rest of dump files with age (X25519 recipients): a file is `age(zstd(sql))`.
//!
//! The host that dumps holds only recipient public keys (`age1…`); restore and verify are given
//! an identity file (`age-keygen`'s format). Encryption comes after compression, and the hash
//! recorded for a file is of the bytes stored, so integrity is checked without the key.
//! Only the binary age format is written and read (not the ASCII armor).

use std::fmt;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::stream::{StreamReader, StreamWriter};

use crate::regular_file::{self, Links};

/// The first line of a binary age file, version 1.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The most of an identity file that is read.
const MAX_IDENTITY_FILE_BYTES: u64 = 1 << 20;

/// The most bytes and lines of an age header that are read: about 160 recipients.
const MAX_HEADER_BYTES: usize = 16 << 10;
const MAX_HEADER_LINES: usize = 512;

/// The most characters of a rejected input echoed back in an error.
const MAX_ECHO_CHARS: usize = 40;

/// Why a key, an identity file or an encrypted file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// A recipient is not an age X25519 public key.
    #[error("{input} is not an age public key (age1…){reason}")]
    BadRecipient {
        /// The input, quoted and cut short.
        input: String,
        /// What is wrong, with a leading `: `, or empty.
        reason: String,
    },
    /// A secret key was given where a recipient (public key) belongs; the key is not echoed.
    #[error(
        "an age secret key (AGE-SECRET-KEY-1…) was given as a recipient: give its public key \
         (age1…, printed by `age-keygen -y`); the secret key belongs only where dumps are read"
    )]
    SecretKeyAsRecipient,
    /// Encryption was asked for without a recipient.
    #[error("no age recipient given")]
    NoRecipients,
    /// The recipients cannot be used together (age's reason).
    #[error("cannot encrypt to these recipients: {0}")]
    Encrypt(String),
    /// An identity file cannot be read or holds something other than age secret keys.
    #[error("identity file {}: {message}", path.display())]
    IdentityFile {
        /// The file as given.
        path: PathBuf,
        /// What is wrong; never key material.
        message: String,
    },
    /// The data does not start with the binary age header.
    #[error("not an age-encrypted file: {0}")]
    NotAge(&'static str),
    /// An age header of a version other than v1.
    #[error("unsupported age format (not age-encryption.org/v1)")]
    UnsupportedVersion,
    /// The file is encrypted with a passphrase, not to recipient keys.
    #[error("the file is encrypted with a passphrase, not to an age key")]
    Passphrase,
    /// None of the identities opens the file.
    #[error("the file is encrypted to a key that identity file {} does not hold", path.display())]
    NoMatchingIdentity {
        /// The identity file.
        path: PathBuf,
    },
    /// The age header is malformed, truncated or fails its MAC.
    #[error("corrupt age header: {0}")]
    CorruptHeader(&'static str),
    /// Another reason age gives for not decrypting (the enum is open).
    #[error("cannot decrypt: {0}")]
    Decrypt(String),
    /// Reading or writing the underlying stream failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// `input` quoted for an error message, cut after [`MAX_ECHO_CHARS`] characters.
fn echo(input: &str) -> String {
    let mut chars = input.chars();
    let head: String = chars.by_ref().take(MAX_ECHO_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// Whether `s` looks like an age secret key (either case), so it is never echoed.
fn is_secret_key(s: &str) -> bool {
    s.get(..15)
        .is_some_and(|p| p.eq_ignore_ascii_case("AGE-SECRET-KEY-"))
}

/// An age X25519 recipient: the public key files are encrypted to.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(age::x25519::Recipient);

impl Recipient {
    /// Parses an `age1…` public key (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Recipient, CryptError> {
        let s = s.trim();
        if is_secret_key(s) {
            return Err(CryptError::SecretKeyAsRecipient);
        }
        let reason = if s.is_empty() {
            ": it is empty".to_string()
        } else if s.starts_with("ssh-") {
            ": SSH keys are not supported".to_string()
        } else if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("age1")) {
            match age::x25519::Recipient::from_str(s) {
                Ok(r) => return Ok(Recipient(r)),
                Err(why) => format!(": {why}"),
            }
        } else {
            String::new()
        };
        Err(CryptError::BadRecipient {
            input: echo(s),
            reason,
        })
    }
}

impl FromStr for Recipient {
    type Err = CryptError;

    fn from_str(s: &str) -> Result<Recipient, CryptError> {
        Recipient::parse(s)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

/// A writer that encrypts what is written to it into `W`; [`finish`](Encrypting::finish) it.
pub struct Encrypting<W: Write>(StreamWriter<W>);

/// Starts an age file to `recipients` on `inner` (its header is written at once).
pub fn encrypting<W: Write>(
    recipients: &[Recipient],
    inner: W,
) -> Result<Encrypting<W>, CryptError> {
    if recipients.is_empty() {
        return Err(CryptError::NoRecipients);
    }
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| &r.0 as &dyn age::Recipient))
            .map_err(|e| match e {
                age::EncryptError::MissingRecipients => CryptError::NoRecipients,
                age::EncryptError::Io(e) => CryptError::Io(e),
                other => CryptError::Encrypt(other.to_string()),
            })?;
    Ok(Encrypting(encryptor.wrap_output(inner)?))
}

impl<W: Write> Encrypting<W> {
    /// Writes the last chunk and returns the inner writer (not flushed). Without it the file
    /// is truncated and will not decrypt.
    pub fn finish(self) -> io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> Write for Encrypting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Whether `prefix` starts with the binary age v1 header (no key needed to tell).
pub fn is_age(prefix: &[u8]) -> bool {
    prefix.starts_with(AGE_MAGIC)
}

/// The age secret keys of an identity file, to decrypt with.
pub struct Identities {
    path: PathBuf,
    keys: Vec<age::x25519::Identity>,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("path", &self.path)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Identities {
    /// Reads an identity file as `age-keygen` writes it: `AGE-SECRET-KEY-1…` lines, `#` comments
    /// and blank lines. It must be a regular file of at most 1 MiB with at least one key.
    pub fn from_file(path: &Path) -> Result<Identities, CryptError> {
        let bad = |message: String| CryptError::IdentityFile {
            path: path.to_path_buf(),
            message,
        };
        let (bytes, _) = regular_file::read(path, Links::Follow, MAX_IDENTITY_FILE_BYTES)
            .map_err(|e| bad(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            bad(format!("line {line} is not UTF-8 text"))
        })?;
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = i + 1;
            match age::x25519::Identity::from_str(line) {
                Ok(key) => keys.push(key),
                Err(why) if is_secret_key(line) => {
                    return Err(bad(format!("line {n} is a damaged age secret key ({why})")))
                }
                Err(_) if line.starts_with("age1") => {
                    return Err(bad(format!(
                        "line {n} is a public key (age1…): restore needs the secret key \
                         (AGE-SECRET-KEY-1…)"
                    )))
                }
                Err(_) if line.starts_with("AGE-PLUGIN-") => {
                    return Err(bad(format!(
                        "line {n}: plugin identities are not supported"
                    )))
                }
                Err(_) => {
                    return Err(bad(format!(
                        "line {n} is not an age secret key (AGE-SECRET-KEY-1…) nor a # comment"
                    )))
                }
            }
        }
        if keys.is_empty() {
            return Err(bad(
                "holds no age secret key (AGE-SECRET-KEY-1…)".to_string()
            ));
        }
        Ok(Identities {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// The identity file these keys were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the age file on `inner`: reads its header and finds the key. Reading the returned
    /// reader gives the plaintext; a truncated or altered file fails a read with an
    /// [`io::Error`] (never silently short).
    pub fn decrypting<R: Read>(&self, inner: R) -> Result<Decrypting<R>, CryptError> {
        let mut inner = BufReader::new(inner);
        let header = read_header(&mut inner)?;
        let decryptor = age::Decryptor::new_buffered(Cursor::new(header).chain(inner))
            .map_err(|e| self.decrypt_error(e))?;
        if decryptor.is_scrypt() {
            return Err(CryptError::Passphrase);
        }
        let reader = decryptor
            .decrypt(self.keys.iter().map(|k| k as &dyn age::Identity))
            .map_err(|e| self.decrypt_error(e))?;
        Ok(Decrypting(reader))
    }

    fn decrypt_error(&self, e: age::DecryptError) -> CryptError {
        use age::DecryptError as D;
        match e {
            D::NoMatchingKeys => CryptError::NoMatchingIdentity {
                path: self.path.clone(),
            },
            // The first line was checked to be v1: age says "unknown format" for a v1 header
            // it cannot parse.
            D::InvalidHeader | D::UnknownFormat => CryptError::CorruptHeader("malformed"),
            D::InvalidMac => CryptError::CorruptHeader("its MAC does not match"),
            D::DecryptionFailed | D::KeyDecryptionFailed => {
                CryptError::CorruptHeader("the file key does not decrypt")
            }
            D::ExcessiveWork { .. } => CryptError::Passphrase,
            D::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                CryptError::CorruptHeader("truncated")
            }
            D::Io(e) => CryptError::Io(e),
            other => CryptError::Decrypt(other.to_string()),
        }
    }
}

/// Reads an age header up to and including its MAC line (`--- …`), within
/// [`MAX_HEADER_BYTES`] and [`MAX_HEADER_LINES`].
///
/// age parses the header again from its start each time it reads more of it, which takes
/// minutes for a crafted header of 100 KB; the bound keeps that to milliseconds.
fn read_header(r: &mut impl BufRead) -> Result<Vec<u8>, CryptError> {
    let mut header = Vec::with_capacity(256);
    r.take(AGE_MAGIC.len() as u64).read_to_end(&mut header)?;
    if !is_age(&header) {
        return Err(not_age(&header));
    }
    for _ in 1..MAX_HEADER_LINES {
        let start = header.len();
        let room = MAX_HEADER_BYTES.saturating_sub(start);
        r.take(room as u64).read_until(b'\n', &mut header)?;
        let line = &header[start..];
        if !line.ends_with(b"\n") {
            return Err(if header.len() >= MAX_HEADER_BYTES {
                too_large_header()
            } else {
                CryptError::CorruptHeader("truncated")
            });
        }
        if line.starts_with(b"---") {
            return Ok(header);
        }
    }
    Err(too_large_header())
}

fn too_large_header() -> CryptError {
    CryptError::CorruptHeader(
        "longer than 16 KiB or 512 lines (a file mybak writes has a short one)",
    )
}

/// Why data starting with `head` (not the age header) is not an age file.
fn not_age(head: &[u8]) -> CryptError {
    const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
    const ARMOR: &[u8] = b"-----BEGIN AGE";
    let why = if head.is_empty() {
        "it is empty"
    } else if head.starts_with(ZSTD_MAGIC) {
        "it is a plain zstd stream (not encrypted)"
    } else if head.starts_with(ARMOR) {
        "it is ASCII-armored age, which is not read (binary age only)"
    } else if AGE_MAGIC.starts_with(head) {
        "it ends inside the age header"
    } else if head.starts_with(b"age-encryption.org/") {
        return CryptError::UnsupportedVersion;
    } else {
        "it does not start with the age header"
    };
    CryptError::NotAge(why)
}

/// The plaintext of an age file being read (see [`Identities::decrypting`]).
pub struct Decrypting<R>(StreamReader<Chain<Cursor<Vec<u8>>, BufReader<R>>>);

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

#[cfg(test)]
mod tests;
