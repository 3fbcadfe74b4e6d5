//! Self-test of the S3 test server (moto): it starts, stores and lists what is put into it, reports
//! unfinished multipart uploads, gives clients a clean environment, and refuses connections once killed.

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::S3Server;

#[test]
fn stores_lists_and_returns_objects() {
    let s3 = S3Server::start();
    assert!(s3.endpoint().starts_with("http://127.0.0.1:"));
    s3.create_bucket("bkt");
    assert_eq!(s3.list_keys("bkt", ""), Vec::<String>::new());

    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    s3.put_object("bkt", "dumps/2024/a.sql.zst", &binary);
    s3.put_object("bkt", "dumps/2024/name with space & ümlaut+plus.txt", b"x");
    s3.put_object("bkt", "other/manifest.json", b"{}\n");
    assert_eq!(
        s3.list_keys("bkt", "dumps/"),
        [
            "dumps/2024/a.sql.zst",
            "dumps/2024/name with space & ümlaut+plus.txt"
        ]
    );
    assert_eq!(s3.list_keys("bkt", "").len(), 3);
    assert_eq!(s3.get_object("bkt", "dumps/2024/a.sql.zst"), binary);
    assert_eq!(
        s3.get_object("bkt", "dumps/2024/name with space & ümlaut+plus.txt"),
        b"x"
    );
    assert_eq!(s3.request("GET", "/bkt/missing", b"").status, 404);

    // Pages of two keys: the continuation token is followed.
    for i in 0..5 {
        s3.put_object("bkt", &format!("many/{i}"), b"");
    }
    let many: Vec<String> = (0..5).map(|i| format!("many/{i}")).collect();
    assert_eq!(s3.list_keys_paged("bkt", "many/", 2), many);
    assert!(
        s3.log_tail(5).contains("continuation-token="),
        "{}",
        s3.log_tail(5)
    );
    assert_eq!(s3.list_keys_paged("bkt", "", 2).len(), 8);

    assert_eq!(s3.list_multipart_uploads("bkt"), []);
    let started = s3.request("POST", "/bkt/big.sql.zst?uploads", b"");
    assert_eq!(started.status, 200, "{}", started.text());
    let id = common::http::xml_text(&started.text(), "UploadId").expect("UploadId");
    assert_eq!(
        s3.list_multipart_uploads("bkt"),
        [("big.sql.zst".to_string(), id)]
    );
}

#[test]
fn clients_get_a_clean_environment_and_a_killed_server_refuses() {
    let mut s3 = S3Server::start();
    let mut cmd = Command::new("env");
    s3.apply(&mut cmd);
    let out = cmd.output().expect("run env");
    let text = String::from_utf8(out.stdout).unwrap();
    let vars: Vec<&str> = text.lines().collect();
    for (k, v) in s3.env() {
        assert!(vars.contains(&format!("{k}={v}").as_str()), "{k}: {text}");
    }
    let aws = vars.iter().filter(|l| l.starts_with("AWS_")).count();
    assert_eq!(aws, s3.env().len(), "{text}");
    let home = vars
        .iter()
        .find_map(|l| l.strip_prefix("HOME="))
        .expect("HOME set");
    assert_eq!(
        std::fs::read_dir(home).unwrap().count(),
        0,
        "HOME not empty"
    );

    s3.create_bucket("gone");
    let port = s3.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    s3.kill();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "killed server still accepts connections"
    );
}

#[test]
fn a_server_with_auth_accepts_only_its_own_signed_requests() {
    // RFC 4231 test case 2: the HMAC the signatures are built on.
    let mac: String = common::s3::hmac_sha256(b"Jefe", b"what do ya want for nothing?")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        mac,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );

    let s3 = S3Server::start_with_auth();
    let (access_key, secret_key) = s3.credentials();
    assert!(access_key.starts_with("AKIA"), "{access_key}");
    assert!(s3
        .env()
        .contains(&("AWS_SECRET_ACCESS_KEY".to_string(), secret_key.clone())));
    s3.create_bucket("auth");
    s3.put_object("auth", "dir/a b.txt", b"signed");
    assert_eq!(s3.list_keys("auth", "dir/"), ["dir/a b.txt"]);
    // Sent with `/` as is, signed with `%2F` (as reqsign does): accepted like AWS would.
    let listed = s3.request("GET", "/auth?list-type=2&prefix=dir/&delimiter=/", b"");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(s3.get_object("auth", "dir/a b.txt"), b"signed");
    // Keys with bytes a web framework may leave unquoted in the path: signed as AWS canonicalizes.
    s3.put_object("auth", "dir/@schema+x=y,z:1.sql.zst", b"odd");
    assert_eq!(s3.get_object("auth", "dir/@schema+x=y,z:1.sql.zst"), b"odd");
    let started = s3.request("POST", "/auth/big?uploads", b"");
    assert_eq!(started.status, 200, "{}", started.text());
    assert_eq!(s3.list_multipart_uploads("auth").len(), 1);
    assert_eq!(s3.list_keys("auth", "dir/").len(), 2);

    let wrong_secret = s3.request_as(&access_key, "wrong", "GET", "/auth/dir/a%20b.txt", b"");
    assert_eq!(wrong_secret.status, 403);
    assert!(
        wrong_secret.text().contains("SignatureDoesNotMatch"),
        "{}",
        wrong_secret.text()
    );
    let unknown_key = s3.request_as("AKIAUNKNOWN", &secret_key, "GET", "/auth", b"");
    assert_eq!(unknown_key.status, 403);
    assert!(
        unknown_key.text().contains("InvalidAccessKeyId"),
        "{}",
        unknown_key.text()
    );
    let unsigned = common::http::request(
        "127.0.0.1",
        s3.port(),
        "GET",
        "/auth/dir/a%20b.txt",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(unsigned.status, 403, "{}", unsigned.text());
}
