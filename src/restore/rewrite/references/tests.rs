use super::*;

fn rn(from: &str, to: &str) -> Rename {
    Rename {
        from: from.into(),
        to: to.into(),
    }
}

#[test]
fn qualified_references_follow_the_rename_and_nothing_else_does() {
    let renames = [rn("shop", "shop_copy"), rn("blog", "blog_copy")];
    // (text, expected; None: unchanged)
    let cases: &[(&str, Option<&str>)] = &[
        (
            "select `shop`.`t`.`a` AS `a` from `shop`.`t`",
            Some("select `shop_copy`.`t`.`a` AS `a` from `shop_copy`.`t`"),
        ),
        (
            "BEGIN INSERT INTO shop.log VALUES (1); END",
            Some("BEGIN INSERT INTO `shop_copy`.log VALUES (1); END"),
        ),
        // Spaces around the dot are allowed by the parser.
        ("SELECT * FROM shop . t", Some("SELECT * FROM `shop_copy` . t")),
        // Column position: `t.shop.x` is not the database.
        ("SELECT t.shop.x FROM t", None),
        ("SELECT `t`.`shop`.`x` FROM t", None),
        // Not followed by a dot: a table or column that happens to share the name.
        ("SELECT shop FROM shop", None),
        // Case-sensitive names, and prefixes or suffixes are other names.
        ("SELECT * FROM SHOP.t, myshop.t, shop_x.t, `Shop`.t", None),
        // Strings and comments are left alone.
        ("SELECT 'shop.t', \"shop.t\" FROM x", None),
        ("SELECT 'it''s shop.t', 'a\\'shop.t' FROM x", None),
        ("SELECT 1 -- shop.t\nFROM x", None),
        ("SELECT 1 # shop.t\nFROM x", None),
        ("SELECT 1 /* shop.t */ FROM x", None),
        // `--` without a space is no comment: `1--shop.t` is arithmetic.
        ("SELECT 1--shop.t", Some("SELECT 1--`shop_copy`.t")),
        // Executable comments hold code.
        (
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO shop.log VALUES (1) */",
            Some("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO `shop_copy`.log VALUES (1) */"),
        ),
        ("/*M!100100 SELECT `shop`.x */", Some("/*M!100100 SELECT `shop_copy`.x */")),
        // Variables are no names.
        ("SET @shop.t = 1, @@session.sql_mode = ''", None),
        ("SET @`shop`.t = 1", None),
        // Several renamed databases; a reference to another database stays.
        (
            "SELECT * FROM `shop`.a JOIN blog.b JOIN other.c",
            Some("SELECT * FROM `shop_copy`.a JOIN `blog_copy`.b JOIN other.c"),
        ),
        // Numbers are no names.
        ("SELECT 1.5", None),
        // Unterminated quotes and comments run to the end without harm.
        ("SELECT 'shop.t", None),
        ("SELECT `shop", None),
        ("SELECT 1 /* shop.t", None),
        // Non-ASCII text around the names.
        (
            "SELECT 'é' FROM shop.表 WHERE x = '日本'",
            Some("SELECT 'é' FROM `shop_copy`.表 WHERE x = '日本'"),
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(
            rewrite_references(sql, &renames, Dialect::default()).as_deref(),
            *want,
            "{sql}"
        );
    }
}

#[test]
fn names_that_need_quoting_and_chains_are_rewritten_once() {
    let odd = [rn("we`ird db", "x`y")];
    assert_eq!(
        rewrite_references("SELECT * FROM `we``ird db`.t", &odd, Dialect::default()).as_deref(),
        Some("SELECT * FROM `x``y`.t")
    );
    let chain = [rn("a", "b"), rn("b", "c")];
    assert_eq!(
        rewrite_references("SELECT * FROM a.t JOIN b.t", &chain, Dialect::default()).as_deref(),
        Some("SELECT * FROM `b`.t JOIN `c`.t")
    );
    let db = [rn("日本", "copy")];
    assert_eq!(
        rewrite_references("SELECT * FROM 日本.t", &db, Dialect::default()).as_deref(),
        Some("SELECT * FROM `copy`.t")
    );
}

#[test]
fn the_sql_mode_decides_what_quotes_mean() {
    let renames = [rn("shop", "s2")];
    let mut d = Dialect::default();
    d.observe("SET sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'");
    assert!(d.ansi_quotes && !d.no_backslash_escapes);
    assert_eq!(
        rewrite_references("SELECT * FROM \"shop\".t", &renames, d).as_deref(),
        Some("SELECT * FROM `s2`.t")
    );
    d.observe("SET NAMES utf8mb4");
    assert!(d.ansi_quotes, "other statements change nothing");
    d.observe("INSERT INTO t VALUES ('SET sql_mode = ''x''')");
    assert!(d.ansi_quotes, "other statements change nothing");
    d.observe("set\tSESSION sql_mode='ANSI'");
    assert!(d.ansi_quotes, "lower case and tabs are read too");
    d.observe("SET sql_mode = 'STRICT_ALL_TABLES'");
    assert!(!d.ansi_quotes);
    d.observe("set\tSESSION sql_mode='ANSI'");
    assert!(d.ansi_quotes, "lower case and tabs are read too");
    d.observe("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
    assert!(!d.ansi_quotes && d.no_backslash_escapes);
    // Without backslash escapes, 'a\' ends at the second quote: shop.t is code.
    assert_eq!(
        rewrite_references("SELECT 'a\\', shop.t", &renames, d).as_deref(),
        Some("SELECT 'a\\', `s2`.t")
    );
    assert_eq!(
        rewrite_references("SELECT \"shop\".t", &renames, Dialect::default()),
        None
    );
}

#[test]
fn events_are_created_disabled() {
    let d = Dialect::default();
    let head = "CREATE DEFINER=`root`@`localhost` EVENT `ev` ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE";
    let body = "COMMENT 'ENABLE DO it' DO INSERT INTO t VALUES ('ENABLE')";
    let cases = [
        ("ENABLE", Some("DISABLE")),
        ("DISABLE ON SLAVE", Some("DISABLE")),
        ("DISABLE ON REPLICA", Some("DISABLE")),
        ("DISABLE", None),
    ];
    for (status, want) in cases {
        let sql = format!("{head} {status} {body}");
        let got = disable_event(&sql, d);
        match want {
            Some(w) => {
                let got = got.unwrap();
                assert_eq!(got.sql, format!("{head} {w} {body}"), "{status}");
                assert_eq!(got.name, "ev");
            }
            None => assert_eq!(got, None, "{status}"),
        }
    }
    let bare = "CREATE EVENT shop.`e``v` ON SCHEDULE AT '2037-01-01' DO SELECT 1";
    assert_eq!(
        disable_event(bare, d),
        Some(DisabledEvent {
            sql: "CREATE EVENT shop.`e``v` ON SCHEDULE AT '2037-01-01' DISABLE DO SELECT 1".into(),
            name: "e`v".into(),
        })
    );
    assert_eq!(disable_event("CREATE TABLE t (a int)", d), None);
    assert_eq!(disable_event("SET sql_mode = ''", d), None);
}
