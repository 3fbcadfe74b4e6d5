//! The longer help texts: what stdout and stderr carry, exit codes, files read, examples.

/// Shown after `mybak --help`.
pub const MAIN: &str = "\
Output:
  stdout   dump, copy: the path of the finished dump (one line); verify --json, list --json: JSON
  stderr   messages, then one last line: summary: status=… … bytes=… sql_bytes=… seconds=…
           (bytes: on disk, compressed; sql_bytes: the SQL inside). Not on a terminal, every
           line starts with a UTC timestamp. --log-file appends the same lines to a file.

Exit codes:
  0    everything done
  1    finished, but some objects failed (a partial dump, a damaged verify), or an error after
       writing started
  2    usage, configuration, connection or selection error, or no space: nothing was written
  3    another mybak run holds the output root's lock: nothing was done
  130  interrupted by SIGINT, 143 by SIGTERM (a dump is left as NAME.partial)

Files read:
  --config FILE, else /etc/mybak/mybak.toml when it exists: every setting of every command
  (`mybak config check` shows the effective settings). Command-line flags win over it.
  Option files as the stock clients read them, for the connection only: /etc/my.cnf,
  /etc/mysql/my.cnf, --defaults-extra-file, ~/.my.cnf (or only --defaults-file; none with
  --no-defaults), groups [client] [client-server] [client-mariadb] [mysqldump] [mybak]
  (later ones win); then MYSQL_PWD. Keep the password in a chmod 600 file.
  s3:// locations: credentials from [s3] in the config file, AWS_ACCESS_KEY_ID/
  AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, or ~/.aws/credentials and ~/.aws/config
  (--s3-profile or AWS_PROFILE); never from flags.

Examples:
  mybak dump --output-dir /db_backups                      every database but the system ones
  mybak dump --databases 'shop,blog_*' --users --prune --keep-daily 7 --keep-monthly 12
  mybak list /db_backups
  mybak verify /db_backups/2026-11-26T00-00-00
  mybak restore /db_backups/2026-11-26T00-00-00 --databases shop --rename-database shop=shop_copy
  mybak prune /db_backups --keep-daily 30 --dry-run
  mybak copy /db_backups/2026-11-26T00-00-00 s3://backups/mysql --s3-endpoint https://minio:9000
  mybak dump --output-dir s3://backups/mysql --encrypt-to age1...
  mybak help dump";

/// Shown after `mybak dump --help`.
pub const DUMP: &str = "\
Writes ROOT/NAME.partial, renamed to ROOT/NAME when every file is on disk; prints ROOT/NAME on
stdout. The output root is locked for the run (a second run on it exits 3). Files are 0600 and
directories 0700 whatever the umask (--file-mode to widen).

Examples:
  mybak dump --output-dir /db_backups
  mybak dump --name '%Y/%m/%d/%H%M%S' --utc
  mybak dump --databases 'shop,blog_*' --exclude-tables 'shop.log_*' --threads 4
  mybak dump --prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12
  mybak dump --log-file /var/log/mybak/mybak.log --metrics-file /var/lib/node_exporter/mybak.prom \\
             --on-failure 'mail -s \"mybak: $MYBAK_STATUS\" root < \"$MYBAK_LOG_FILE\"'";

/// Shown after `mybak restore --help`.
pub const RESTORE: &str = "\
Every file is checked (size, SHA-256, manifest) before any SQL is sent; a target database that
exists and holds anything needs --drop-existing. With --rename-database, qualified references to
renamed databases in views, routines, triggers, events and tables follow the rename, and the
copy's events are created DISABLED (--keep-events-enabled: as dumped). With --users, accounts that
exist on the target stop the restore before anything is sent (--users=fail, the default), stay as
they are (--users=skip) or are dropped and recreated from the dump (--users=replace). Exit 0 when
all was restored, 1 when something failed, 2 when nothing was sent.

Secondary indexes are added once each table's rows are in, where that is safe: InnoDB tables of
--defer-min-size (4M of SQL) or more that no foreign key involves and that are not
system-versioned; FULLTEXT and SPATIAL indexes, UNIQUE ones of a table without a primary key and
the index an AUTO_INCREMENT column needs stay in the CREATE TABLE. A deferred UNIQUE index the
rows break fails that table (its rows are in). --no-defer-indexes creates every table with all
its indexes.

With --until TARGET the argument is the output root: the newest complete dump taken before TARGET
is restored, then the binlog archived by mybak binlog (ROOT/binlog/<server>) is replayed from the
dump's position up to TARGET, whole transactions only, stopping just before the transaction at
TARGET (--inclusive: just after it). Before anything is sent, the archive must be seen to reach
TARGET; --dry-run shows that plan. --databases and --rename-database apply to the replay too
(rows by their table's database, statements by their default database).

Examples:
  mybak restore /db_backups/2026-11-26T00-00-00 --threads 4
  mybak restore DUMP --databases shop --rename-database shop=shop_copy
  mybak restore DUMP --no-binlog --drop-existing --no-defer-indexes
  mybak restore DUMP --users=skip
  mybak restore /db_backups --until '2026-12-04 14:32:05' --dry-run
  mybak restore /db_backups --until 0-1-4711 --drop-existing";

/// Shown after `mybak verify --help`.
pub const VERIFY: &str = "\
Offline: hashes, sizes, every file decompresses and parses, row counts. With --restore-test the
dump is restored on the given server under temporary names and every table compared with the
fingerprint taken at dump time. Exit 0: no problem; 1: problems (each printed); 2: the dump
cannot be opened or the server reached.

A binlog archive directory (ROOT/binlog/<server>, as mybak binlog writes it) is verified
offline too: each archived file's stored size and SHA-256, decompressed the server's size and
SHA-256, every event's length and CRC32, and how it ends, all as its index entry NAME.json says;
that each file names the next (a missing or purged file is a gap) and the GTID state carries on;
and that every dump of ROOT taken from that server can be rolled forward from its binlog
position to the newest file. The file being received (NAME.open) is scanned and reported, not
counted as a problem.

Examples:
  mybak verify /db_backups/2026-11-26T00-00-00
  mybak verify DUMP --json
  mybak verify /db_backups/binlog/1
  mybak verify DUMP --restore-test -h scratch-db -u verifier";

/// Shown after `mybak prune --help`.
pub const PRUNE: &str = "\
Keeps dumps by grandfather-father-son rules, as restic does: --keep-daily 7 keeps the newest
dump of each of the last 7 days that have dumps; a dump kept by any rule stays. Only mybak
dumps count. The newest complete dump is never removed; partial dumps are kept while younger
than --keep-partial; NAME.partial left by dead runs goes after a day. Nothing mybak did not
write is touched. Each dump is printed with keep/remove and the reason.

Examples:
  mybak prune /db_backups --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 3
  mybak prune /db_backups --keep-within 30d --dry-run";

/// Shown after `mybak copy --help`.
pub const COPY: &str = "\
Copies a finished dump into another output root under its own name: local disk to S3 for a
two-stage nightly, S3 to local disk to restore elsewhere. Every file is hashed on the way and
must match the manifest; the copy is written like a dump (unfinished until its manifest is
there), so an interrupted copy is never taken for a dump. A dump already there, identical, is
left alone; an encrypted dump is copied as it is (no key needed). Exit 0: copied (or already
there); 1: a file failed on the way (nothing is left at the destination); 2: bad source or
destination.

Examples:
  mybak copy /db_backups/2026-11-26T00-00-00 s3://backups/mysql
  mybak copy \"$(mybak dump -q)\" s3://backups/mysql --s3-endpoint https://minio.example:9000
  mybak copy s3://backups/mysql/2026-11-26T00-00-00 /srv/restore";

/// Shown after `mybak list --help`.
pub const BINLOG: &str = "\
Connects as a replica and keeps byte-identical copies of the server's binlog files under
ROOT/binlog/<server>/ (server_uuid on MySQL, server_id on MariaDB): each file zstd-compressed
with its SHA-256 and an index entry (NAME.json: first and last event time, GTID range) once the
server moves on to the next one. The file being received stays in the spool as NAME.open. It
follows the server until SIGTERM, reconnecting with backoff after a restart or a broken link,
and resumes where it stopped (a cut transaction is received again). Binlog files purged on the
server before they were archived are a gap: logged as an error, counted in mybak_binlog_gaps,
the --on-failure hook runs, and archiving goes on from the oldest file left. The account needs
REPLICATION SLAVE and BINLOG MONITOR (REPLICATION CLIENT on MySQL).
Exit 0: stopped by SIGTERM/SIGINT, or --once caught up; 1: a gap, or the server failed for
good; 2: bad settings, access denied, binlog off; 3: another archiver holds the spool.

Examples:
  mybak binlog /db_backups --user=backup
  mybak binlog /db_backups --once --metrics-file /var/lib/node_exporter/mybak.prom
  mybak binlog s3://backups/mysql --spool-dir /var/lib/mybak/spool";

pub const LIST: &str = "\
One line per dump, oldest first: name, status, size on disk, duration, databases, consistency,
binlog position and GTID. Unfinished and unreadable dumps are listed too.

Examples:
  mybak list /db_backups
  mybak list /db_backups --json | jq '.[] | select(.status == \"complete\") | .name'";
