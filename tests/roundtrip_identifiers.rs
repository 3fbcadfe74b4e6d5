//! Identifiers in every script, at the 64-character limit where the server can store them (database,
//! table, view and trigger names are files on the server too, so their limit can be lower): dump →
//! stock client restore → compare, dump → `mybak restore` → compare, `verify --restore-test`.

mod common;

use common::client::try_query_raw;
use common::dump::{run_dump, verify_dump_dir};
use common::{
    assert_same_databases, dump_databases, mybak_restore_cmd, mybak_verify_cmd, unique_name, Server,
};

/// Sample letters of each script (identifiers are utf8mb3 in MariaDB: the Basic Multilingual Plane).
const SCRIPTS: &[(&str, &str)] = &[
    ("latin", "éàçøßæœñüÿ"),
    ("latin_ext", "łśžčğışőűŧ"),
    ("greek", "αβγδεζηθλμ"),
    ("cyrillic", "жщыэюяёйфц"),
    ("armenian", "աբգդեզէըթժ"),
    ("georgian", "აბგდევზთიკ"),
    ("hebrew", "אבגדהוזחטי"),
    ("arabic", "عربيةكتابمن"),
    ("devanagari", "कखगघङचछजझञ"),
    ("bengali", "কখগঘঙচছজঝঞ"),
    ("thai", "กขฃคฅฆงจฉช"),
    ("ethiopic", "ሀሁሂሃሄህሆለሉሊ"),
    ("hangul", "한국어문자표기"),
    ("kana", "あいうえおカキクケコ"),
    ("cjk", "表字漢語中文日本"),
    ("fullwidth", "ＡＢＣ１２３ｘｙｚ"),
    ("punctuation", "a.b-c d/e\\f'g\"h`i@j#k$l%m&n*"),
];

/// `head` followed by `letters` repeated, `n` characters in all.
fn name_of(head: &str, letters: &str, n: usize) -> String {
    head.chars()
        .chain(letters.chars().cycle())
        .take(n)
        .collect()
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Runs `sql(name)` with the longest name (≤ 64 characters) the server accepts; returns that name.
/// Only "name too long for a file" errors make it try a shorter one.
fn create_longest(
    conn: &mut mysql::Conn,
    head: &str,
    letters: &str,
    sql: impl Fn(&str) -> String,
) -> String {
    for n in (8..=64).rev() {
        let name = name_of(head, letters, n);
        match try_query_raw(conn, &sql(&name)) {
            Ok(_) => return name,
            // Name too long for a file (path over 512, ENAMETOOLONG, or a file that cannot be created).
            Err(e)
                if [
                    "too long",
                    "1860",
                    "Errcode: 36",
                    "Can't create/write to file",
                    "Can't get stat",
                ]
                .iter()
                .any(|m| e.contains(m)) => {}
            Err(e) => panic!("{e}\nin SQL: {}", sql(&name)),
        }
    }
    panic!("no name of 8 to 64 characters accepted for {head}…");
}

/// One database per script holding a table, a second table whose name differs only in its last
/// character, a view, a procedure, a function, a trigger and an event, with 64-character column,
/// index and routine names; returns the database names.
fn load_scripts(server: &Server, prefix: &str) -> Vec<String> {
    let mut conn = server.conn();
    let mut dbs = Vec::new();
    for (tag, letters) in SCRIPTS {
        let head = format!("{prefix}_{tag}_");
        let db = create_longest(&mut conn, &head, letters, |n| {
            format!("CREATE DATABASE {} CHARACTER SET utf8mb4", ident(n))
        });
        let q = |name: &str| format!("{}.{}", ident(&db), ident(name));
        let col_a = name_of("", letters, 64);
        let col_b = name_of("b", letters, 64);
        let index = name_of("i", letters, 64);
        let table = create_longest(&mut conn, "", letters, |n| {
            format!(
                "CREATE TABLE {} ({} INT NOT NULL PRIMARY KEY, {} VARCHAR(64), KEY {} ({}))",
                q(n),
                ident(&col_a),
                ident(&col_b),
                ident(&index),
                ident(&col_b)
            )
        });
        // Same name but the last character: the file names must stay apart.
        let mut twin: Vec<char> = table.chars().collect();
        if let Some(last) = twin.last_mut() {
            *last = if *last == 'Z' { 'Y' } else { 'Z' };
        }
        let twin: String = twin.into_iter().collect();
        common::client::exec_on(
            &mut conn,
            &format!("CREATE TABLE {} LIKE {}", q(&twin), q(&table)),
        );
        common::client::exec_on(
            &mut conn,
            &format!(
                "INSERT INTO {} VALUES (1, '{col_b}'), (2, NULL); INSERT INTO {} VALUES (3, '{tag}')",
                q(&table),
                q(&twin),
                col_b = col_b.replace('\\', "\\\\").replace('\'', "''"),
            ),
        );
        create_longest(&mut conn, "v", letters, |n| {
            format!(
                "CREATE VIEW {} AS SELECT {} AS {} FROM {}",
                q(n),
                ident(&col_b),
                ident(&name_of("x", letters, 64)),
                q(&table)
            )
        });
        // A trigger is a file `<name>.TRN`; MariaDB cuts a longer encoded name short instead of
        // refusing it (then no other server can create it): 50 characters at 5 bytes each fit.
        common::client::exec_on(&mut conn, &{
            let n = &name_of("t", letters, 50);
            format!(
                "CREATE TRIGGER {} BEFORE INSERT ON {} FOR EACH ROW SET NEW.{} = CONCAT('trg:', NEW.{})",
                q(n),
                q(&table),
                ident(&col_b),
                ident(&col_b)
            )
        });
        let routine = name_of("p", letters, 64);
        common::client::exec_on(
            &mut conn,
            &format!(
                "CREATE PROCEDURE {} () SELECT COUNT(*) FROM {}; \
                 CREATE FUNCTION {} () RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM {}); \
                 CREATE EVENT {} ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM {} WHERE {} < 0",
                q(&routine),
                q(&table),
                q(&name_of("f", letters, 64)),
                q(&twin),
                q(&name_of("e", letters, 64)),
                q(&table),
                ident(&col_a),
            ),
        );
        dbs.push(db);
    }
    dbs
}

#[test]
fn identifiers_in_every_script_at_the_length_limit_round_trip() {
    let src = Server::shared();
    // Selected by a prefix glob: names with `\\`, `*`, `?` or `[` are glob syntax in --databases.
    let prefix = unique_name("id");
    let dbs = load_scripts(src, &prefix);
    let at_limit = dbs.iter().filter(|d| d.chars().count() == 64).count();
    assert!(
        at_limit >= 5,
        "few database names at 64 characters: {dbs:?}"
    );
    let root = tempfile::tempdir().unwrap();
    let dir = dump_databases(
        src,
        root.path(),
        &format!("{prefix}_*"),
        &["--threads", "4"],
    );
    verify_dump_dir(&dir);

    let stock = Server::start_new();
    stock.restore_with_stock_client(&dir);
    let restored = Server::start_new();
    let mut cmd = mybak_restore_cmd(&restored, &dir);
    cmd.args(["--threads", "4"]);
    run_dump(cmd).assert_code(0);
    for db in &dbs {
        assert_same_databases(src, db, &stock, db);
        assert_same_databases(src, db, &restored, db);
    }

    let scratch = Server::start_new();
    let before = scratch.query_rows("SHOW DATABASES");
    let mut cmd = mybak_verify_cmd(&dir);
    cmd.args(["--restore-test", "--no-defaults", "--socket"])
        .arg(scratch.socket())
        .args(["--user", "root"]);
    let out = run_dump(cmd);
    out.assert_code(0);
    let tables = 2 * SCRIPTS.len();
    assert!(
        out.stderr.contains(&format!("tables_compared={tables}")),
        "{}",
        out.stderr
    );
    assert_eq!(scratch.query_rows("SHOW DATABASES"), before);
}
