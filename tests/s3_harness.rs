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
