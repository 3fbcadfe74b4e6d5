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
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}

    /// A fresh key pair: the recipient and an identity file holding the secret key.
    fn key_pair(dir: &Path, name: &str) -> (Recipient, PathBuf) {
        let secret = age::x25519::Identity::generate();
        let public = secret.to_public().to_string();
        let path = dir.join(name);
        let text = format!(
            "# created: 2024-01-01T00:00:00Z\n# public key: {public}\n{}\n",
            secret.to_string().expose_secret()
        );
        std::fs::write(&path, text).unwrap();
        (Recipient::parse(&public).unwrap(), path)
    }

    fn encrypt(recipients: &[Recipient], plain: &[u8]) -> Vec<u8> {
        let mut w = encrypting(recipients, Vec::new()).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap()
    }

    /// Decrypts all of `data`: the error of opening it, or of reading it.
    fn decrypt(ids: &Identities, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut r = ids.decrypting(data).map_err(|e| format!("open: {e}"))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|e| format!("read: {:?}: {e}", e.kind()))?;
        Ok(out)
    }

    /// Bytes that compress somewhat, like SQL text with numbers.
    fn sql_like(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(
                format!("INSERT INTO `t` VALUES ({x},'{:x}');\n", x >> 40).as_bytes(),
            );
        }
        out.truncate(len);
        out
    }

    #[test]
    fn writers_readers_and_keys_are_send() {
        // age's own stream types are Send when what they wrap is, so ours are.
        assert_send::<StreamWriter<std::fs::File>>();
        assert_send::<StreamReader<std::fs::File>>();
        assert_send::<Encrypting<io::BufWriter<std::fs::File>>>();
        assert_send::<Decrypting<io::BufReader<std::fs::File>>>();
        assert_send::<Recipient>();
        assert_sync::<Recipient>();
        assert_send::<Identities>();
        assert_sync::<Identities>();
        assert_send::<CryptError>();
        assert_sync::<CryptError>();
    }

    #[test]
    fn zstd_then_age_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (recipient, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        for len in [0, 1, 100, 64 * 1024, 5 << 20] {
            let sql = sql_like(len);
            let mut zstd = zstd::stream::write::Encoder::new(
                encrypting(std::slice::from_ref(&recipient), Vec::new()).unwrap(),
                3,
            )
            .unwrap();
            zstd.write_all(&sql).unwrap();
            let stored = zstd.finish().unwrap().finish().unwrap();
            assert!(is_age(&stored), "{len}");
            let compressed = decrypt(&ids, &stored).unwrap();
            assert_eq!(zstd::decode_all(&compressed[..]).unwrap(), sql, "{len}");
            // The decrypting reader can feed zstd directly.
            let reader = ids.decrypting(&stored[..]).unwrap();
            assert_eq!(zstd::decode_all(reader).unwrap(), sql, "{len}");
        }
    }

    #[test]
    fn plaintexts_at_chunk_boundaries_round_trip() {
        // age's chunks are 64 KiB; a last chunk that is full is a special case of its reader.
        let dir = tempfile::tempdir().unwrap();
        let (recipient, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        for len in [65535, 65536, 65537, 2 * 65536, 3 * 65536 + 1] {
            let plain = sql_like(len);
            let stored = encrypt(std::slice::from_ref(&recipient), &plain);
            assert_eq!(decrypt(&ids, &stored).unwrap(), plain, "{len}");
        }
    }

    #[test]
    fn any_of_several_recipients_decrypts() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_path) = key_pair(dir.path(), "a.txt");
        let (b, b_path) = key_pair(dir.path(), "b.txt");
        let stored = encrypt(&[a, b], b"hello");
        for path in [a_path, b_path] {
            let ids = Identities::from_file(&path).unwrap();
            assert_eq!(decrypt(&ids, &stored).unwrap(), b"hello");
        }
    }

    #[test]
    fn the_wrong_identity_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let (recipient, _) = key_pair(dir.path(), "right.txt");
        let (_, wrong) = key_pair(dir.path(), "wrong.txt");
        let ids = Identities::from_file(&wrong).unwrap();
        let e = ids
            .decrypting(&encrypt(&[recipient], b"x")[..])
            .err()
            .unwrap();
        assert!(matches!(e, CryptError::NoMatchingIdentity { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "the file is encrypted to a key that identity file {} does not hold",
                wrong.display()
            )
        );
    }

    #[test]
    fn a_passphrase_file_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let (_, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        let mut scrypt = age::scrypt::Recipient::new("pass".to_string().into());
        scrypt.set_work_factor(1);
        let enc = age::Encryptor::with_recipients(std::iter::once(&scrypt as _)).unwrap();
        let mut w = enc.wrap_output(Vec::new()).unwrap();
        w.write_all(b"x").unwrap();
        let stored = w.finish().unwrap();
        let e = ids.decrypting(&stored[..]).err().unwrap();
        assert!(matches!(e, CryptError::Passphrase), "{e:?}");
    }

    #[test]
    fn truncated_or_altered_files_fail_without_panic() {
        let dir = tempfile::tempdir().unwrap();
        let (recipient, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        let plain = sql_like(200_000); // four chunks
        let stored = encrypt(&[recipient], &plain);
        let header_end = stored.windows(4).position(|w| w == b"\n---").unwrap();
        let payload = header_end
            + stored[header_end + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap()
            + 2
            + 16;
        let n = stored.len();
        // Truncations: inside the magic line, the stanza, the MAC line, the nonce, the
        // payload (at and off chunk boundaries), one byte short.
        for cut in [
            5,
            30,
            header_end + 10,
            payload - 8,
            payload,
            payload + 1000,
            payload + 65536 + 16,
            n - 17,
            n - 1,
        ] {
            let e = decrypt(&ids, &stored[..cut]).unwrap_err();
            assert!(!e.is_empty(), "{cut}");
        }
        let short = decrypt(&ids, &stored[..n - 1]).unwrap_err();
        assert!(
            short.starts_with("read: InvalidData") || short.starts_with("read: UnexpectedEof"),
            "{short}"
        );
        let mut chunk_cut = stored.clone();
        chunk_cut.truncate(payload + 65536 + 16);
        let e = decrypt(&ids, &chunk_cut).unwrap_err();
        assert!(e.starts_with("read: "), "{e}");
        // One flipped bit: in the magic, a stanza argument, its body, the MAC, the nonce, the
        // payload's first and last chunks.
        let stanza_body = stored[..header_end]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            - 5;
        for (at, stage) in [
            (3, "open: not an age-encrypted file"),
            (40, "open: "),
            (stanza_body, "open: "),
            (header_end + 10, "open: corrupt age header"),
            (payload - 3, "read: InvalidData"),
            (payload + 7, "read: InvalidData"),
            (n - 1, "read: InvalidData"),
        ] {
            let mut bad = stored.clone();
            bad[at] ^= 0x01;
            let e = decrypt(&ids, &bad).unwrap_err();
            assert!(e.starts_with(stage), "byte {at}: {e}");
        }
        // Appended bytes are refused too.
        let mut longer = stored.clone();
        longer.extend_from_slice(b"more");
        assert!(decrypt(&ids, &longer).is_err());
    }

    #[test]
    fn long_headers_are_refused_quickly() {
        let dir = tempfile::tempdir().unwrap();
        let (_, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        let header = |stanzas: usize| {
            let mut data = AGE_MAGIC.to_vec();
            for _ in 0..stanzas {
                data.extend_from_slice(b"-> a\n\n");
            }
            data.extend_from_slice(b"--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
            data.extend_from_slice(&[0; 100]);
            data
        };
        // Just under the line limit, age parses it (and finds no stanza for the key); over it,
        // it is not read. Unbounded, age took 75 s for 16000 such stanzas.
        for (stanzas, message) in [
            (250, "the file is encrypted to a key"),
            (300, "corrupt age header: longer than 16 KiB or 512 lines"),
            (16000, "corrupt age header: longer than 16 KiB or 512 lines"),
        ] {
            let started = std::time::Instant::now();
            let e = ids.decrypting(&header(stanzas)[..]).err().unwrap();
            assert!(e.to_string().starts_with(message), "{stanzas}: {e}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{stanzas}"
            );
        }
        let mut long_line = AGE_MAGIC.to_vec();
        long_line.extend_from_slice(&[b'a'; 1 << 20]);
        let e = ids.decrypting(&long_line[..]).err().unwrap();
        assert!(e.to_string().contains("longer than 16 KiB"), "{e}");
    }

    #[test]
    fn a_hundred_recipients_fit_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let pairs: Vec<_> = (0..100)
            .map(|i| key_pair(dir.path(), &format!("k{i}")))
            .collect();
        let recipients: Vec<_> = pairs.iter().map(|(r, _)| r.clone()).collect();
        let stored = encrypt(&recipients, b"many");
        let ids = Identities::from_file(&pairs[99].1).unwrap();
        assert_eq!(decrypt(&ids, &stored).unwrap(), b"many");
    }

    #[test]
    fn what_is_not_age_says_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let (_, id_path) = key_pair(dir.path(), "key.txt");
        let ids = Identities::from_file(&id_path).unwrap();
        let zstd = zstd::encode_all(&b"SELECT 1;"[..], 3).unwrap();
        for (input, message) in [
            (&b""[..], "not an age-encrypted file: it is empty"),
            (&zstd[..], "not an age-encrypted file: it is a plain zstd stream (not encrypted)"),
            (
                &b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"[..],
                "not an age-encrypted file: it is ASCII-armored age, which is not read (binary age only)",
            ),
            (&b"age-encryption"[..], "not an age-encrypted file: it ends inside the age header"),
            (&b"age-encryption.org/v2\nstuff"[..], "unsupported age format (not age-encryption.org/v1)"),
            (&b"age-encryption.org/v1\n"[..], "corrupt age header: truncated"),
            (&b"age-encryption.org/v1\n-> X25519\n"[..], "corrupt age header: truncated"),
            (&b"age-encryption.org/v1\n--- !!!\n"[..], "corrupt age header: malformed"),
            (&b"CREATE TABLE"[..], "not an age-encrypted file: it does not start with the age header"),
        ] {
            let e = ids.decrypting(input).err().unwrap();
            assert_eq!(e.to_string(), message);
        }
    }

    #[test]
    fn is_age_tells_encrypted_from_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let (recipient, _) = key_pair(dir.path(), "key.txt");
        let zstd = zstd::encode_all(&b"SELECT 1;"[..], 3).unwrap();
        let stored = encrypt(&[recipient], &zstd);
        assert!(is_age(&stored));
        assert!(is_age(&stored[..AGE_MAGIC.len()]));
        assert!(!is_age(&stored[..AGE_MAGIC.len() - 1]));
        assert!(!is_age(&zstd));
        assert!(!is_age(b""));
    }

    #[test]
    fn recipients_parse_or_say_why_not() {
        let public = age::x25519::Identity::generate().to_public().to_string();
        let secret = age::x25519::Identity::generate().to_string();
        let secret = secret.expose_secret();
        let r = Recipient::parse(&format!("  {public}\n")).unwrap();
        assert_eq!(r.to_string(), public);
        assert_eq!(public.parse::<Recipient>().unwrap(), r);
        assert_eq!(Recipient::parse(&public.to_uppercase()).unwrap(), r);
        let long = "x".repeat(5 << 20);
        let mut damaged = public.clone();
        damaged.pop();
        damaged.push(if public.ends_with('q') { 'p' } else { 'q' });
        for (input, message) in [
            ("", r#""" is not an age public key (age1…): it is empty"#.to_string()),
            ("  \n", r#""" is not an age public key (age1…): it is empty"#.to_string()),
            ("hello", r#""hello" is not an age public key (age1…)"#.to_string()),
            ("ssh-ed25519 AAAA", r#""ssh-ed25519 AAAA" is not an age public key (age1…): SSH keys are not supported"#.to_string()),
            (&damaged, format!("{} is not an age public key (age1…): invalid Bech32 encoding", echo(&damaged))),
            ("age1", r#""age1" is not an age public key (age1…): invalid Bech32 encoding"#.to_string()),
            (&long, format!("\"{}\"… is not an age public key (age1…)", "x".repeat(MAX_ECHO_CHARS))),
            ("é".repeat(100).as_str(), format!("\"{}\"… is not an age public key (age1…)", "é".repeat(MAX_ECHO_CHARS))),
        ] {
            assert_eq!(Recipient::parse(input).unwrap_err().to_string(), message);
        }
        for input in [
            secret.to_string(),
            secret.to_lowercase(),
            format!(" {secret} "),
        ] {
            let e = Recipient::parse(&input).unwrap_err();
            assert!(matches!(e, CryptError::SecretKeyAsRecipient), "{e:?}");
            assert!(!e.to_string().contains(&secret[15..]), "{e}");
            assert!(e.to_string().contains("secret key"), "{e}");
        }
        assert!(matches!(
            encrypting(&[], Vec::new()).err().unwrap(),
            CryptError::NoRecipients
        ));
    }

    #[test]
    fn identity_files_take_comments_blank_lines_and_several_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (a, a_path) = key_pair(dir.path(), "a.txt");
        let (b, b_path) = key_pair(dir.path(), "b.txt");
        let both = dir.path().join("both.txt");
        let text = format!(
            "\n# first\r\n{}\r\n\n   \n  # second, indented\n\t{}  \n\n",
            std::fs::read_to_string(&a_path).unwrap().trim(),
            std::fs::read_to_string(&b_path).unwrap().trim(),
        );
        std::fs::write(&both, text).unwrap();
        let ids = Identities::from_file(&both).unwrap();
        assert_eq!(ids.keys.len(), 2);
        assert_eq!(ids.path(), both);
        assert!(!format!("{ids:?}").contains("AGE-SECRET"));
        for r in [a, b] {
            assert_eq!(decrypt(&ids, &encrypt(&[r], b"ok")).unwrap(), b"ok");
        }
    }

    #[test]
    fn identity_files_that_cannot_be_used_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (public, good) = key_pair(dir.path(), "good.txt");
        let secret_line = std::fs::read_to_string(&good)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .unwrap()
            .to_string();
        let mut damaged = secret_line.clone();
        damaged.pop();
        damaged.push(if secret_line.ends_with('Q') { 'P' } else { 'Q' });
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let cases: Vec<(PathBuf, &str)> = vec![
            (dir.path().join("missing"), "No such file or directory"),
            (
                dir.path().to_path_buf(),
                "is a directory, not a regular file",
            ),
            (
                write("empty", b""),
                "holds no age secret key (AGE-SECRET-KEY-1…)",
            ),
            (
                write("comments", b"# only\n\n# comments\n"),
                "holds no age secret key (AGE-SECRET-KEY-1…)",
            ),
            (
                write("public", format!("{public}\n").as_bytes()),
                "line 1 is a public key (age1…): restore needs the secret key (AGE-SECRET-KEY-1…)",
            ),
            (
                write(
                    "garbage",
                    format!("# k\n{secret_line}\nnot a key\n").as_bytes(),
                ),
                "line 3 is not an age secret key (AGE-SECRET-KEY-1…) nor a # comment",
            ),
            (
                write("damaged", format!("{damaged}\n").as_bytes()),
                "line 1 is a damaged age secret key (invalid Bech32 encoding)",
            ),
            (
                write("plugin", b"AGE-PLUGIN-YUBIKEY-1XYZ\n"),
                "line 1: plugin identities are not supported",
            ),
            (
                write("binary", b"# k\n\xff\xfe\n"),
                "line 2 is not UTF-8 text",
            ),
            (
                write("large", &vec![b'#'; (MAX_IDENTITY_FILE_BYTES + 1) as usize]),
                "is larger than",
            ),
        ];
        for (path, message) in cases {
            let e = Identities::from_file(&path).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("identity file {}: ", path.display())),
                "{text}"
            );
            assert!(text.contains(message), "{text}");
            assert!(!text.contains(&secret_line[16..]), "{text}");
            assert!(!text.contains(&damaged[16..]), "{text}");
        }
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = Identities::from_file(&fifo).unwrap_err().to_string();
        assert!(e.ends_with("is a FIFO, not a regular file"), "{e}");
    }
}
