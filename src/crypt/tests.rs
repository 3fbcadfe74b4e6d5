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
        (
            "",
            r#""" is not an age public key (age1…): it is empty"#.to_string(),
        ),
        (
            "  \n",
            r#""" is not an age public key (age1…): it is empty"#.to_string(),
        ),
        (
            "hello",
            r#""hello" is not an age public key (age1…)"#.to_string(),
        ),
        (
            "ssh-ed25519 AAAA",
            r#""ssh-ed25519 AAAA" is not an age public key (age1…): SSH keys are not supported"#
                .to_string(),
        ),
        (
            &damaged,
            format!(
                "{} is not an age public key (age1…): invalid Bech32 encoding",
                echo(&damaged)
            ),
        ),
        (
            "age1",
            r#""age1" is not an age public key (age1…): invalid Bech32 encoding"#.to_string(),
        ),
        (
            &long,
            format!(
                "\"{}\"… is not an age public key (age1…)",
                "x".repeat(MAX_ECHO_CHARS)
            ),
        ),
        (
            "é".repeat(100).as_str(),
            format!(
                "\"{}\"… is not an age public key (age1…)",
                "é".repeat(MAX_ECHO_CHARS)
            ),
        ),
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
