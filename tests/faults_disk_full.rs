//! A full disk is a failed run: exit 1, the error names ENOSPC and the file, the dump stays
//! `.partial` — never a finished-looking dump with the tables that did not fit marked as failed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::run_dump;
use common::{mybak_cmd, root_entries, unique_name, Server};

/// A small tmpfs mounted on a temp directory for the test's life (needs root; `None` where
/// mounting is not allowed, e.g. an unprivileged container).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn dump(server: &Server, root: &Path, db: &str) -> common::dump::DumpOutput {
    let mut cmd = mybak_cmd(server);
    cmd.arg("--output-dir").arg(root).args([
        "--databases",
        db,
        "--threads",
        "2",
        "--compress-level",
        "1",
    ]);
    run_dump(cmd)
}

#[test]
fn a_full_disk_fails_the_run_and_leaves_it_partial() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("cannot mount a tmpfs here (not root?): disk-full behaviour not tested");
        return;
    };
    let server = Server::shared();
    let db = unique_name("full");
    // First, data that compresses to almost nothing: the root learns a tiny ratio, so the space
    // check before the next run lets it start.
    server.exec(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE a (id INT PRIMARY KEY, c TEXT) ENGINE=MyISAM;
         INSERT INTO a SELECT seq, REPEAT('a', 2000) FROM seq_1_to_4000;
         CREATE TABLE b LIKE a; INSERT INTO b SELECT * FROM a;"
    ));
    // (Dumped elsewhere first: the small disk's space check refuses it without a ratio to go by.)
    let elsewhere = tempfile::tempdir().unwrap();
    let first = dump(server, elsewhere.path(), &db);
    first.assert_code(0);
    let copied = Command::new("cp")
        .arg("-a")
        .arg(first.dump_dir(elsewhere.path()))
        .arg(disk.path())
        .status()
        .unwrap();
    assert!(copied.success());
    // Then the same size of data that does not compress: it cannot fit.
    server.exec(&format!(
        "USE {db};
         UPDATE a SET c = (SELECT GROUP_CONCAT(MD5(RAND() + seq) SEPARATOR '') FROM seq_1_to_62);
         UPDATE b SET c = (SELECT GROUP_CONCAT(MD5(RAND() + seq) SEPARATOR '') FROM seq_1_to_62);"
    ));
    let out = dump(server, disk.path(), &db);
    out.assert_code(1);
    assert!(
        out.stderr.contains("No space left on device (os error 28)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(".partial/"),
        "the file is not named: {}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "a dump was announced: {}",
        out.stdout
    );
    let last = out.stderr.lines().last().unwrap();
    assert!(last.contains("summary: status=failed"), "{last}");
    let names = root_entries(disk.path());
    let partial: Vec<&String> = names.iter().filter(|n| n.ends_with(".partial")).collect();
    assert_eq!(partial.len(), 1, "{names:?}");
    let unfinished: PathBuf = disk.path().join(partial[0]);
    assert!(
        !unfinished.join("manifest.json").exists(),
        "the unfinished dump has a manifest"
    );
    assert_eq!(
        names.len(),
        2,
        "only the first dump and the unfinished one: {names:?}"
    );
}
