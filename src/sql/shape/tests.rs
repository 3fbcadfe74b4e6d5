use super::*;
use FileKind::*;

const DB: Option<&str> = Some("shop");

/// (kind, table, statement, allowed)
fn cases() -> Vec<(FileKind, Option<&'static str>, &'static str, bool)> {
    vec![
        // Every file: its session and its database.
        (TableData, Some("t"), "SET NAMES utf8mb4", true),
        (TableData, Some("t"), "SET time_zone = '+00:00'", true),
        (TableData, Some("t"), "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'", true),
        (TableData, Some("t"), "SET foreign_key_checks = 0", true),
        (TableData, Some("t"), "SET unique_checks = 0", true),
        (TableData, Some("t"), "SET autocommit = 1", true),
        (TableData, Some("t"), "/*M!100201 SET check_constraint_checks = 0 */", true),
        (TableData, Some("t"), "SET system_versioning_insert_history = 1", true),
        (Routines, None, "SET character_set_client = utf8mb4", true),
        (Routines, None, "SET collation_connection = utf8mb4_general_ci", true),
        (TableData, Some("t"), "USE `shop`", true),
        (TableData, Some("t"), "USE `mysql`", false),
        (TableData, Some("t"), "SET GLOBAL max_connections = 1", false),
        (TableData, Some("t"), "SET @@global.read_only = 1", false),
        (TableData, Some("t"), "SET sql_log_bin = 0", false),
        (TableData, Some("t"), "SET time_zone = (SELECT 1)", false),
        (TableData, Some("t"), "SET foreign_key_checks = 0, GLOBAL read_only = 1", false),
        (TableData, Some("t"), "SET PASSWORD = PASSWORD('x')", false),
        (TableData, Some("t"), "/*!50000 DROP DATABASE mysql */", false),
        // Data files: literal rows into their table.
        (TableData, Some("t"), "INSERT INTO `t` (`id`,`s`) VALUES\n(1,'a'),\n(2,'b;\\'c')", true),
        (TableData, Some("t"), "INSERT INTO `t` (`a`,`b`,`c`,`d`) VALUES (NULL,0x00FF,b'0101',-1.5E-7)", true),
        (TableData, Some("t"), "INSERT INTO `t` (`a`) VALUES (_latin1 0xE9),(_binary'x'),(X'0A')", true),
        (TableData, Some("t"), "INSERT INTO `t` VALUES (1)", true),
        (TableData, Some("a(b"), "INSERT INTO `a(b` (`c)d`,`e``f`) VALUES (1,2)", true),
        (TableData, Some("a(b"), "INSERT INTO `a(b` (`c`) SELECT 1 VALUES (1)", false),
        (TableData, Some("t"), "INSERT INTO `t` () VALUES (),()", true),
        (TableData, Some("t"), "INSERT INTO `t` () VALUES\n(),\n(),\n()", true),
        (TableData, Some("t"), "INSERT INTO `t` (`a`,`b`,`c`) VALUES (_sjis 0x835C5C27,_utf32 0x0001F600,_sjis ''),(_ucs2 0x0041,NULL,_big5 '')", true),
        (TableData, Some("t"), "INSERT INTO `t` (`a`) VALUES (_sjis 0x835C5C27 OR 1)", false),
        (TableData, Some("t"), "INSERT INTO `t` (`a`) VALUES (_sjis LOAD_FILE('/etc/passwd'))", false),
        (TableData, Some("t"), "INSERT INTO `u` (`id`) VALUES (1)", false),
        (TableData, Some("t"), "INSERT INTO `mysql`.`user` (`id`) VALUES (1)", false),
        (TableData, Some("t"), "INSERT INTO `t` (`id`) VALUES ((SELECT 1))", false),
        (TableData, Some("t"), "INSERT INTO `t` (`id`) VALUES (LOAD_FILE('/etc/passwd'))", false),
        (TableData, Some("t"), "INSERT INTO `t` (`id`) VALUES (1) ON DUPLICATE KEY UPDATE id = 2", false),
        (TableData, Some("t"), "INSERT INTO `t` (`id`) SELECT 1", false),
        (TableData, Some("t"), "INSERT INTO `t` (`id`) VALUES (0x1g)", false),
        (TableData, Some("t"), "DROP DATABASE mysql", false),
        (TableData, Some("t"), "CREATE USER 'evil'@'%' IDENTIFIED BY 'x'", false),
        (TableData, Some("t"), "GRANT ALL ON *.* TO 'evil'@'%'", false),
        (TableData, Some("t"), "DELETE FROM `t`", false),
        // Definitions.
        (Database, None, "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", true),
        (Database, None, "CREATE DATABASE `other`", false),
        (TableSchema, Some("t"), "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB COMMENT='SELECT me'", true),
        (TableSchema, Some("t"), "CREATE TABLE `t` (`a` int) WITH SYSTEM VERSIONING", true),
        (TableSchema, Some("t"), "CREATE TABLE `t` (`a` int) AS SELECT 1", false),
        (TableSchema, Some("t"), "CREATE TABLE `t` (`a` int) SELECT * FROM mysql.user", false),
        (TableSchema, Some("t"), "CREATE TABLE `t` LIKE `mysql`.`user`", false),
        (TableSchema, Some("t"), "CREATE TABLE `other` (`a` int)", false),
        (TableSchema, Some("t"), "ALTER TABLE `t` ADD COLUMN x INT", false),
        (Sequence, Some("s"), "CREATE SEQUENCE `s` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB", true),
        (Sequence, Some("s"), "DO SETVAL(`s`, 1001, 0, 0)", true),
        (Sequence, Some("s"), "DO SETVAL(`s`, (SELECT 1), 0, 0)", false),
        (Sequence, Some("s"), "DO SLEEP(100)", false),
        (Routines, None, "CREATE DEFINER=`root`@`localhost` FUNCTION `gross`(net DECIMAL(10,2)) RETURNS decimal(12,2)\n DETERMINISTIC\nRETURN ROUND(net * 1.19, 2)", true),
        (Routines, None, "CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN SELECT 1; END", true),
        (Routines, None, "CREATE DEFINER=`a b`@`%` PACKAGE BODY `pk` AS BEGIN END", true),
        (Routines, None, "ALTER DATABASE `shop` COLLATE latin1_swedish_ci", true),
        (Routines, None, "ALTER DATABASE `mysql` COLLATE latin1_swedish_ci", false),
        (Routines, None, "CALL p()", false),
        (View, Some("v"), "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `shop`.`v` AS select 1", true),
        (View, Some("v"), "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY INVOKER VIEW `v` AS select 1", true),
        (View, Some("v"), "CREATE VIEW `mysql`.`v` AS select 1", false),
        (View, Some("v"), "CREATE VIEW `w` AS select 1", false),
        (Triggers, Some("orders"), "CREATE DEFINER=`root`@`localhost` TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW\n  INSERT INTO order_log (order_id) VALUES (NEW.id)", true),
        (Triggers, Some("orders"), "CREATE DEFINER=`root`@`localhost` TRIGGER `t1` BEFORE UPDATE ON `shop`.`orders` FOR EACH ROW SET NEW.a = 1", true),
        (Triggers, Some("orders"), "CREATE TRIGGER t1 BEFORE UPDATE ON `users` FOR EACH ROW SET NEW.a = 1", false),
        (Events, None, "CREATE DEFINER=`root`@`localhost` EVENT `e` ON SCHEDULE EVERY 1 DAY DO DELETE FROM t", true),
        (Events, None, "DROP EVENT `e`", false),
        (Users, None, "CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*ABC'", true),
        (Users, None, "CREATE ROLE `r`", true),
        (Users, None, "GRANT SELECT ON `shop`.* TO `u`@`%`", true),
        (Users, None, "SET DEFAULT ROLE `r` FOR `u`@`%`", true),
        (Users, None, "FLUSH PRIVILEGES", true),
        (Users, None, "DROP USER `root`@`localhost`", false),
        (Users, None, "USE `shop`", false),
        (Database, None, "", false),
    ]
}

#[test]
fn each_kind_of_file_holds_only_its_shapes() {
    for (kind, table, sql, allowed) in cases() {
        let got = check(kind, DB, table, sql.as_bytes());
        assert_eq!(got.is_ok(), allowed, "{kind:?} {sql:?}: {got:?}");
    }
}

#[test]
fn refusals_say_what_the_file_may_hold() {
    let e = check(TableData, DB, Some("t"), b"DROP DATABASE mysql").unwrap_err();
    assert!(e.contains("INSERT of literal rows into its table"), "{e}");
    let e = check(TableData, DB, Some("t"), b"INSERT INTO `u` VALUES (1)").unwrap_err();
    assert!(e.contains("`u`"), "{e}");
}

#[test]
fn odd_bytes_never_panic() {
    for sql in [
        &b"\xff\xfe"[..],
        b"`",
        b"'",
        b"INSERT INTO `t",
        b"SET x = '",
        b"CREATE DEFINER=",
        b"/*!",
        b"INSERT INTO `t` VALUES (_",
        b"\xd0\xb6\xd0",
    ] {
        for kind in [
            Database,
            TableSchema,
            Sequence,
            TableData,
            Routines,
            View,
            Triggers,
            Events,
            Users,
        ] {
            let _ = check(kind, DB, Some("t"), sql);
        }
    }
}
