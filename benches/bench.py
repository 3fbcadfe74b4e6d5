#!/usr/bin/env python3
"""mybak against mydumper and mariadb-dump on a throwaway MariaDB: dump and restore, run
alternately, medians of wall seconds, client CPU, server CPU, peak RSS and output bytes. Also:
mybak at several thread counts (--scaling), and the accuracy of its progress bar's ETA (--eta).

Run it through benches/run.sh (builds mybak, installs mydumper if needed). Python 3 stdlib only.
"""

import argparse
import concurrent.futures
import datetime
import fcntl
import os
import platform
import pty
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MYBAK_BIN: another build to measure (run.sh builds target/release/mybak).
MYBAK = os.environ.get("MYBAK_BIN") or os.path.join(ROOT, "target", "release", "mybak")
DB = "bench"
TARGET = "bench_restored"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A throwaway mariadbd in its own directory, socket and port."""

    def __init__(self, base):
        """A new server in `base`/server, or the one a previous run left there (--data-dir)."""
        self.dir = os.path.join(base, "server")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        user = os.environ.get("USER") or "root"
        if not os.path.isdir(self.datadir):
            os.makedirs(self.datadir)
            subprocess.run(
                ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
                 "--auth-root-authentication-method=normal", "--skip-test-db", f"--user={user}"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        self.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--port={free_port()}", "--bind-address=127.0.0.1", "--log-bin=binlog", "--server-id=1",
             "--max-allowed-packet=1G", "--innodb-buffer-pool-size=2G",
             "--innodb-flush-log-at-trx-commit=2", "--innodb-log-file-size=512M",
             # Debian's packaged MariaDB defaults to utf8mb4; --no-defaults would leave latin1.
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
             "--skip-name-resolve", f"--user={user}",
             f"--pid-file={os.path.join(self.dir, 'mysqld.pid')}",
             f"--log-error={os.path.join(self.dir, 'error.log')}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # A reused data directory may need crash recovery after a killed run.
        deadline = time.time() + 600
        while subprocess.run(self.client(["-e", "SELECT 1"]), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode != 0:
            if time.time() > deadline or self.proc.poll() is not None:
                sys.exit("the benchmark server did not start; see " + self.dir + "/error.log")
            time.sleep(0.2)

    def client(self, args):
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot",
                "--default-character-set=utf8mb4"] + args

    def sql(self, statement):
        done = subprocess.run(self.client(["-N", "-B", "-e", statement]), capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"SQL failed: {done.stderr.strip()}\n{statement[:300]}")
        return done.stdout

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            # Shutdown flushes the dirty part of a 2 GB buffer pool.
            self.proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class S3Server:
    """A throwaway S3-compatible server (moto_server from .venv-moto, as the tests use) with one
    bucket; its CPU is reported as the server's share of a dump to it."""

    BUCKET = "bench"

    def __init__(self, work):
        binary = os.environ.get("MYBAK_MOTO_SERVER") or os.path.join(ROOT, ".venv-moto", "bin", "moto_server")
        if not os.path.exists(binary):
            binary = shutil.which("moto_server")
        if not binary:
            sys.exit("--s3 needs moto_server: run scripts/install-deps.sh")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        log = open(os.path.join(work, "moto.log"), "w")
        self.proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=log)
        deadline = time.time() + 30
        while True:
            try:
                self.request("PUT", f"/{self.BUCKET}")
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    sys.exit("moto_server did not start; see " + work + "/moto.log")
                time.sleep(0.2)
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                           "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})

    def request(self, method, path):
        import urllib.request
        req = urllib.request.Request(self.endpoint + path, method=method, headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20000101/us-east-1/s3/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


SBTEST = """CREATE TABLE {table} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
  KEY k_1 (k)) ENGINE=InnoDB"""


def sbtest_rows(table, first, last, rows):
    """Rows `first`..`last` of an sbtest table of `rows` rows (ids in order, as sysbench's)."""
    group = "LPAD(FLOOR(RAND() * 99999999999), 11, '0')"
    c = "CONCAT_WS('-', " + ", ".join([group] * 10) + ")"
    pad = "CONCAT_WS('-', " + ", ".join([group] * 5) + ")"
    return (f"INSERT INTO {table} (id, k, c, pad) SELECT seq, FLOOR(1 + RAND() * {rows}), {c}, {pad} "
            f"FROM seq_{first}_to_{last}")


WIDE = """CREATE TABLE wide (
  id INT NOT NULL PRIMARY KEY, amount DECIMAL(20,6) NOT NULL, created DATETIME(6) NOT NULL,
  ratio FLOAT, score DOUBLE, doc JSON, payload BLOB, note TEXT CHARACTER SET utf8mb4
) ENGINE=InnoDB"""


def wide_rows(table, first, last, rows):
    return f"""INSERT INTO {table} SELECT seq, ROUND(RAND() * 1e9, 6),
  '2020-01-01' + INTERVAL FLOOR(RAND() * 1e8) SECOND + INTERVAL FLOOR(RAND() * 1e6) MICROSECOND,
  RAND(), RAND() * 1e6,
  JSON_OBJECT('id', seq, 'name', CONCAT('customer ', seq % 977), 'tags', JSON_ARRAY('a', 'b', seq % 7),
              'active', seq % 2 = 0),
  RANDOM_BYTES(256),
  CONCAT(REPEAT('lorem ipsum dolor sit amet ', 1 + seq % 5), 'émile ', seq % 113, ' 👍')
FROM seq_{first}_to_{last}"""


# Rows per INSERT ... SELECT: one statement and transaction each, so no table is one huge transaction.
BATCH_ROWS = 250_000


def data_set(scale):
    """(table, CREATE statement, INSERT builder, rows) of the data set at `scale`."""
    rows = max(1000, int(500_000 * scale))
    wide = max(1000, int(200_000 * scale))
    return ([(f"sbtest{i}", SBTEST.format(table=f"sbtest{i}"), sbtest_rows, rows) for i in range(1, 9)]
            + [("wide", WIDE, wide_rows, wide)])


def total_rows(scale):
    return sum(rows for _, _, _, rows in data_set(scale))


def prepare(server, scale, binlog):
    """Generates the data set, one table per core at a time, in batches of BATCH_ROWS rows. The
    load stays out of the binary log (it would double the disk used) unless the benchmark is
    about that binlog."""
    tables = data_set(scale)
    print(f"==> generating 8 sbtest tables of {tables[0][3]:,} rows and a wide table of "
          f"{tables[-1][3]:,} rows", flush=True)
    server.sql(f"CREATE DATABASE {DB}")
    session = f"USE {DB}; " + ("" if binlog else "SET SESSION sql_log_bin = 0; ")
    start = time.monotonic()
    done = [0]
    total = sum(t[3] for t in tables)
    lock = threading.Lock()

    failed = threading.Event()

    def generate(table):
        name, create, insert, rows = table
        server.sql(session + create)
        for first in range(1, rows + 1, BATCH_ROWS):
            if failed.is_set():
                return
            last = min(rows, first + BATCH_ROWS - 1)
            server.sql(session + insert(name, first, last, rows))
            with lock:
                done[0] += last - first + 1
                elapsed = time.monotonic() - start
                print(f"  {name}: {last:,}/{rows:,} rows; all tables {done[0] / total:.0%}, "
                      f"{elapsed:.0f} s, {done[0] / elapsed:,.0f} rows/s", flush=True)

    # The wide table first: its rows are the slowest, and it should not be left alone at the end.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        for f in [pool.submit(generate, t) for t in tables[-1:] + tables[:-1]]:
            f.result()
    except BaseException:
        failed.set()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    names = ", ".join(t[0] for t in tables)
    server.sql(f"USE {DB}; ANALYZE TABLE {names}")
    print(f"==> generated {total:,} rows in {time.monotonic() - start:.0f} s", flush=True)


def dir_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for base, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(base, f)) for f in files)
    return total


def measure(server, command, output, s3=None):
    """Runs `command` (a list, or a string for sh -c); returns wall, client CPU, server CPU
    (MariaDB's, plus the S3 server's when writing there), peak RSS (MB) of the tool's process
    tree and output bytes."""
    shell = isinstance(command, str)
    before = server.cpu_seconds() + (s3.cpu_seconds() if s3 else 0)
    start = time.monotonic()
    proc = subprocess.Popen(["sh", "-c", command] if shell else command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {command}\n{stderr.decode(errors='replace')}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "server": server.cpu_seconds() + (s3.cpu_seconds() if s3 else 0) - before,
        "rss": usage.ru_maxrss / 1024,
        "bytes": dir_bytes(output) if output else 0,
    }


# The overall bars' lines (src/cli/bars.rs): the dump's counts rows, the restore's bytes of SQL.
ROWS_BAR = re.compile(r"([\d,]+)/~([\d,]+) rows .*ETA (\S+(?: \d+[smh])?)")
BYTES_BAR = re.compile(r"([\d.]+ [KMGTP]?i?B)/([\d.]+ [KMGTP]?i?B) .*ETA (\S+(?: \d+[smh])?)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def parse_count(text):
    """"1,234" or "12.50 MiB" as a number."""
    number, _, unit = text.partition(" ")
    power = {"B": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}.get(unit, 0)
    return float(number.replace(",", "")) * 1024 ** power


def parse_duration(text):
    """An ETA as indicatif or mybak prints it ("45s", "2m", "1h", "1m 05s", "00:01:05"), in seconds;
    None when unreadable."""
    if re.fullmatch(r"\d+(:\d+)+", text):
        seconds = 0
        for part in text.split(":"):
            seconds = seconds * 60 + int(part)
        return seconds
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)([smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    return sum(int(n) * units[u] for n, u in parts)


def progress_run(command, bar):
    """Runs `command` with its stderr on a pseudo-terminal (200 columns), so that mybak draws its
    bars exactly as a user sees them; returns the samples of the overall bar (seconds since
    the start, position, total, printed ETA as text) and the wall seconds of the run."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    start = time.monotonic()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env=dict(os.environ, TERM="xterm-256color"))
    os.close(slave)
    samples, tail, log = [], "", []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        now = time.monotonic() - start
        text = tail + ANSI.sub("\n", chunk.decode(errors="replace"))
        lines = re.split(r"[\r\n]", text)
        tail = lines.pop()
        for line in lines:
            m = bar.search(line)
            if m:
                samples.append((now, parse_count(m.group(1)), parse_count(m.group(2)), m.group(3)))
            elif line.strip():
                log.append(line)
    os.close(master)
    code = proc.wait()
    wall = time.monotonic() - start
    if code != 0:
        sys.exit(f"failed ({code}): {command}\n" + "\n".join(log[-20:]))
    return samples, wall


def eta_accuracy(title, samples, wall, final, unit):
    """The printed ETA against the real remaining time (the end of the run minus the moment of the
    first sample at or past 10, 50, 90% of `final`), as a table."""
    # The total before the first rows: information_schema's estimate (the restore's is exact).
    first = next((s[2] for s in samples if s[1] > 0), 0)
    lines = [f"### {title}", "",
             f"One extra run with the bars drawn on a pseudo-terminal: {wall:.2f} s wall; "
             f"{len(samples)} bar redraws read; final count {final:,.0f} {unit}"
             + (f", the bar's total at the start {first:,.0f} ({first / final - 1:+.1%})." if first else "."), "",
             "| progress | at s | printed ETA | real remaining s | error s | error % |",
             "|---|---|---|---|---|---|"]
    for share in (0.1, 0.5, 0.9):
        hit = next((s for s in samples if s[1] >= share * final), None)
        if hit is None:
            lines.append(f"| {share:.0%} | – | – | – | – | – |")
            continue
        at, _, _, printed = hit
        real = wall - at
        eta = parse_duration(printed)
        error = "–" if eta is None else f"{eta - real:+.1f}"
        pct = "–" if eta is None or real <= 0 else f"{(eta - real) / real:+.0%}"
        lines.append(f"| {share:.0%} | {at:.1f} | {printed} | {real:.1f} | {error} | {pct} |")
    return "\n".join(lines)


def with_bars(command):
    return [c if c != "never" else "always" for c in command]


def run_eta(server, args, work, source):
    """The ETA of the dump's bar and (unless --dump-only) of the restore's of that dump: one extra
    run each, after the measured ones, so that the pseudo-terminal never touches their timings."""
    out = os.path.join(work, "eta")
    os.makedirs(out)
    samples, wall = progress_run(with_bars(mybak_dump(server, args.threads)) + ["--output-dir", out],
                                 ROWS_BAR)
    parts = [eta_accuracy(f"ETA of `mybak dump --threads {args.threads}`", samples, wall,
                          total_rows(args.scale), "rows")]
    if not args.dump_only:
        drop_target(server)
        samples, wall = progress_run(with_bars(mybak_restore(server, only_dir(out), args.threads)),
                                     BYTES_BAR)
        assert checksums(server, TARGET) == source, "the restore differs from the source"
        parts.append(eta_accuracy(f"ETA of `mybak restore --no-binlog --threads {args.threads}`", samples,
                                  wall, samples[-1][2] if samples else 1, "bytes of SQL"))
    shutil.rmtree(out, ignore_errors=True)
    return "\n\n".join(parts)


def mybak_dump(server, threads):
    return [MYBAK, "dump", "--no-defaults", "-S", server.socket, "-u", "root", "--databases", DB,
            "--threads", str(threads), "--progress", "never"]


def dump_tools(server, threads, variants=(), s3=None):
    sock = server.socket
    base = mybak_dump(server, threads)
    tools = {"mybak dump": lambda out: base + ["--output-dir", out]}
    if s3:
        # Each run its own prefix; moto keeps objects in memory, so the previous run's are removed
        # by the tool itself (prune) outside the measured command.
        tools["mybak dump to S3 (moto)"] = lambda out: base + [
            "--output-dir", f"s3://{S3Server.BUCKET}/{os.path.basename(out)}", "--s3-endpoint", s3.endpoint]
    for v in variants:
        tools[f"mybak dump {v}"] = lambda out, v=v: base + v.split() + ["--output-dir", out]
    return tools | {
        "mydumper": lambda out: ["mydumper", "-S", sock, "-u", "root", "-B", DB,
                                 "-t", str(threads), "-o", out],
        "mydumper -c": lambda out: ["mydumper", "-S", sock, "-u", "root", "-B", DB,
                                    "-t", str(threads), "-c", "-o", out],
        "mariadb-dump + zstd -3": lambda out: (
            f"mkdir -p {out} && mariadb-dump --no-defaults -S {sock} -uroot --single-transaction "
            f"{DB} | zstd -3 -q > {out}/dump.sql.zst"),
    }


def alternate(server, tools, runs, base, what, s3=None):
    """Runs each tool `runs` times, alternating, each into a fresh directory below `base` (only each
    tool's last output is kept); returns the measurements and those last outputs."""
    results = {name: [] for name in tools}
    latest = {}
    for run in range(runs):
        for i, (name, command) in enumerate(tools.items()):
            out = os.path.join(base, f"{i}-{run}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            r = measure(server, command(out), out, s3 if name.endswith("(moto)") else None)
            results[name].append(r)
            print(f"  {what} run {run + 1}: {name}: {r['wall']:.2f} s, {r['bytes'] / 1e6:.0f} MB", flush=True)
            if latest.get(name):
                shutil.rmtree(latest[name], ignore_errors=True)
            latest[name] = out
    return results, latest


def binlog_tools(server):
    """Archiving the server's binlog files: mybak (compressed, hashed, indexed) against the stock
    client's raw copy, alone and followed by zstd -3 for a like-for-like output."""
    sock = server.socket
    first = server.sql("SHOW BINARY LOGS").split()[0]
    raw = (f"mariadb-binlog --no-defaults --read-from-remote-server --raw --socket={sock} -uroot "
           f"--to-last-log --result-file={{out}}/ {first}")
    return {
        "mybak binlog --once": lambda out: [MYBAK, "binlog", out, "--no-defaults", "-S", sock,
                                            "-u", "root", "--once", "--progress", "never"],
        "mariadb-binlog --raw": lambda out: raw.format(out=out),
        "mariadb-binlog --raw + zstd -3": lambda out: (
            raw.format(out=out) + f" && zstd -3 -q --rm {out}/*"),
    }


def same_binlogs(server, mybak_out, raw_out):
    """Every file mybak archived has the SHA-256 of the stock client's copy."""
    import hashlib
    import json
    archive = os.path.join(mybak_out, "binlog", "1")
    names = [n[:-5] for n in os.listdir(archive) if n.endswith(".json")]
    for name in names:
        with open(os.path.join(archive, name + ".json")) as f:
            entry = json.load(f)
        with open(os.path.join(raw_out, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"], f"{name} differs"
    return len(names)


def run_binlog(server, args, work):
    """The binlog benchmark: the data load's binlog (row events), archived by each tool in turn."""
    server.sql("FLUSH BINARY LOGS")
    tools = binlog_tools(server)
    results, latest = alternate(server, tools, args.dump_runs, os.path.join(work, "binlog"), "binlog")
    files = same_binlogs(server, latest["mybak binlog --once"], latest["mariadb-binlog --raw"])
    gb = dir_bytes(latest["mariadb-binlog --raw"]) / 1e9
    return "\n\n".join([
        table("Binlog archive", results, "mybak binlog --once", gb),
        f"mybak's {files} archived files have the SHA-256 of mariadb-binlog's raw copies.",
    ])


def only_dir(path):
    entries = [e for e in os.listdir(path) if not e.endswith(".partial")]
    return os.path.join(path, entries[0])


def mybak_restore(server, dump, threads):
    return [MYBAK, "restore", dump, "--no-defaults", "-S", server.socket, "-u", "root",
            "--threads", str(threads), "--progress", "never", "--rename-database", f"{DB}={TARGET}",
            "--no-binlog"]


def restore_tools(server, threads, dumps, variants=(), dump_variants=()):
    """The restores to run, each from the dump its tool wrote; `variants`: extra arguments for more
    `mybak restore --no-binlog` runs; `dump_variants`: also restore the dump of each `mybak dump`
    variant. A restore whose dump was skipped is left out."""
    sock = server.socket

    def mybak_restore(dump):
        return [MYBAK, "restore", dump, "--no-defaults", "-S", sock, "-u", "root", "--threads",
                str(threads), "--progress", "never", "--rename-database", f"{DB}={TARGET}"]

    tools = {}
    if "mybak dump" in dumps:
        base = mybak_restore(dumps["mybak dump"])
        # myloader keeps its restore out of the binary log unless told otherwise (--enable-binlog):
        # mybak's like-for-like is --no-binlog. mybak's default logs, as a replica-safe restore.
        tools["mybak restore --no-binlog"] = base + ["--no-binlog"]
        tools["mybak restore"] = base
        tools["mybak restore --no-binlog --no-defer-indexes"] = base + ["--no-binlog", "--no-defer-indexes"]
        for v in variants:
            tools[f"mybak restore --no-binlog {v}"] = base + ["--no-binlog"] + v.split()
    for v in dump_variants:
        if f"mybak dump {v}" in dumps:
            tools[f"mybak restore --no-binlog (dump {v})"] = (
                mybak_restore(dumps[f"mybak dump {v}"]) + ["--no-binlog"])
    if "mydumper" in dumps:
        tools["myloader"] = ["myloader", "-S", sock, "-u", "root", "-d", dumps["mydumper"],
                             "-t", str(threads), "-B", TARGET, "-o"]
    if "mariadb-dump + zstd -3" in dumps:
        tools["zstd -dc + mariadb"] = (f"zstd -dc {dumps['mariadb-dump + zstd -3']}/dump.sql.zst | "
                                       f"mariadb --no-defaults -S {sock} -uroot {TARGET}")
    return tools


def drop_target(server):
    """An empty slate for a restore: no target database, and no binary logs but a fresh one (a
    logged restore writes the whole data set there; at --scale 10 that is 10 GB a run)."""
    server.sql(f"DROP DATABASE IF EXISTS {TARGET}")
    server.sql("FLUSH BINARY LOGS")
    current = server.sql("SHOW BINARY LOGS").split()[-2]
    server.sql(f"PURGE BINARY LOGS TO '{current}'")


def alternate_restores(server, tools, runs, source):
    """Runs each restore `runs` times, alternating, each into an empty target; checks mybak's
    against the source (outside the measurement)."""
    results = {name: [] for name in tools}
    for run in range(runs):
        for name, command in tools.items():
            drop_target(server)
            if not name.startswith("mybak"):
                server.sql(f"CREATE DATABASE {TARGET}")
            r = measure(server, command, None)
            results[name].append(r)
            print(f"  restore run {run + 1}: {name}: {r['wall']:.2f} s", flush=True)
            if name.startswith("mybak"):
                assert checksums(server, TARGET) == source, f"{name} differs from the source"
    return results


def scaling_table(title, results, counts):
    """Medians per thread count, with the speed-up over the first count."""
    medians = [{k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "server", "rss")}
               for runs in results.values()]
    lines = [f"### {title}", "",
             f"| threads | wall s | speed-up over {counts[0]} | client CPU s | server CPU s | peak RSS MB |",
             "|---|---|---|---|---|---|"]
    for n, m in zip(counts, medians):
        lines.append(f"| {n} | {m['wall']:.2f} | {medians[0]['wall'] / m['wall']:.2f} | {m['cpu']:.2f} | "
                     f"{m['server']:.2f} | {m['rss']:.0f} |")
    return "\n".join(lines)


def run_scaling(server, args, work, source):
    """`mybak dump` and `mybak restore --no-binlog` at each thread count of --scaling, alternated
    between the counts."""
    counts = [int(n) for n in args.scaling.split(",")]
    dumps = {f"mybak dump --threads {n}": lambda out, n=n: mybak_dump(server, n) + ["--output-dir", out]
             for n in counts}
    dump_results, latest = alternate(server, dumps, args.dump_runs, os.path.join(work, "out"), "dump")
    dump = only_dir(latest[f"mybak dump --threads {counts[0]}"])
    restores = {f"mybak restore --no-binlog --threads {n}": mybak_restore(server, dump, n) for n in counts}
    restore_results = {} if args.dump_only else alternate_restores(server, restores, args.runs, source)
    cores = os.cpu_count()
    return "\n\n".join(
        [f"Thread scaling on this {cores}-core machine (the server shares the same {cores} cores); "
         f"{args.dump_runs} alternated dump runs and {args.runs} alternated restore runs per count, medians.",
         scaling_table("`mybak dump --threads N`", dump_results, counts)]
        + ([] if args.dump_only else
           [scaling_table("`mybak restore --no-binlog --threads N`", restore_results, counts)]))


def checksums(server, db):
    tables = [t for t in server.sql(f"SHOW TABLES FROM {db}").split() if t]
    listed = ", ".join(f"{db}.{t}" for t in tables)
    return [line.split("\t")[1] for line in server.sql(f"CHECKSUM TABLE {listed}").splitlines()]


def table(title, results, base, gb):
    """Medians of each tool's runs; `gb`: the gigabytes of data handled (the source tables'
    data_length, or the binlog's size), for client CPU seconds per GB. "paired": the median of the
    per-round ratios to the base tool's run of the same round (runs alternate, so a round's runs
    share the machine's load of the moment: steadier than the ratio of medians on a busy host)."""
    ref = {k: statistics.median(r[k] for r in results[base]) for k in ("wall", "cpu", "server", "rss", "bytes")}
    lines = [f"### {title}", "",
             "| tool | wall s | × mybak | × paired | client CPU s | client CPU s/GB | server CPU s | "
             "× paired | peak RSS MB | output MB | × mybak |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        m = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "server", "rss", "bytes")}
        out = f"{m['bytes'] / 1e6:.0f}" if m["bytes"] else "–"
        ratio = f"{m['bytes'] / ref['bytes']:.2f}" if m["bytes"] and ref["bytes"] else "–"

        def paired(k):
            pairs = [r[k] / b[k] for r, b in zip(runs, results[base]) if b[k] > 0]
            return f"{statistics.median(pairs):.2f}" if pairs else "–"

        lines.append(f"| {name} | {m['wall']:.2f} | {m['wall'] / ref['wall']:.2f} | {paired('wall')} | "
                     f"{m['cpu']:.2f} | {m['cpu'] / gb:.2f} | {m['server']:.2f} | {paired('server')} | "
                     f"{m['rss']:.0f} | {out} | {ratio} |")
    return "\n".join(lines)


def data_gb(server):
    """The gigabytes of the benchmark tables (information_schema data_length)."""
    return int(server.sql(f"SELECT SUM(data_length) FROM information_schema.tables "
                          f"WHERE table_schema = '{DB}'").strip()) / 1e9


def machine(server):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    version = server.sql("SELECT VERSION()").strip()
    tools = "; ".join(
        subprocess.run([t, "--version"], capture_output=True, text=True).stdout.strip()
        for t in ("mydumper", "mariadb-binlog") if shutil.which(t))
    mybak = subprocess.run([MYBAK, "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({cpu}), {int(mem) / 1024 / 1024:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}; MariaDB {version}; {mybak}; {tools}")


def write_results(report):
    print("\n" + report)
    results = os.path.join(ROOT, "benches", "results")
    os.makedirs(results, exist_ok=True)
    name = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ") + ".md"
    with open(os.path.join(results, name), "w") as f:
        f.write(report + "\n")
    print(f"\n(written to benches/results/{name})")


def open_data(args, work):
    """The server with the data set: generated in `work`, or kept in --data-dir (generated there by
    the first run, reused by the next ones of the same scale)."""
    if not args.data_dir:
        server = Server(work)
        try:
            prepare(server, args.scale, args.binlog)
        except BaseException:
            server.stop()
            raise
        return server
    marker = os.path.join(args.data_dir, "generated")
    wanted = f"scale {args.scale}" + (" with binlog" if args.binlog else "")
    if os.path.exists(marker):
        with open(marker) as f:
            have = f.read().strip()
        if have != wanted:
            sys.exit(f"{args.data_dir} holds the data set of {have}, not {wanted}: remove it or choose "
                     f"another --data-dir")
        print(f"==> reusing the server and data set in {args.data_dir} ({have})", flush=True)
        server = Server(args.data_dir)
        server.sql(f"DROP DATABASE IF EXISTS {TARGET}")
        return server
    shutil.rmtree(os.path.join(args.data_dir, "server"), ignore_errors=True)
    os.makedirs(args.data_dir, exist_ok=True)
    server = Server(args.data_dir)
    try:
        prepare(server, args.scale, args.binlog)
    except BaseException:
        server.stop()
        raise
    with open(marker, "w") as f:
        f.write(wanted + "\n")
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="data size factor (1 = 8 x 500,000 rows)")
    ap.add_argument("--runs", type=int, default=3, help="restore runs of each tool, alternated")
    ap.add_argument("--dump-runs", type=int, default=5, help="dump runs of each tool, alternated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dump-only", action="store_true", help="skip the restores")
    ap.add_argument("--skip", action="append", default=[], metavar="TOOL",
                    help="leave out a dump or restore tool by name, e.g. 'mydumper -c' (repeatable; "
                         "skipping a dump skips its restore)")
    ap.add_argument("--s3", action="store_true",
                    help="also dump to a local S3-compatible server (moto_server from .venv-moto)")
    ap.add_argument("--binlog", action="store_true",
                    help="instead of dumps: archive the data load's binlog (mybak binlog vs mariadb-binlog)")
    ap.add_argument("--variant", action="append", default=[], metavar="ARGS",
                    help="also run `mybak dump` with these extra arguments (repeatable), e.g. '--chunk-size 0'; "
                         "its dump is restored too")
    ap.add_argument("--scaling", metavar="N,N,...",
                    help="instead of the comparison: mybak dump and restore at each of these thread counts")
    ap.add_argument("--eta", action="store_true",
                    help="also one run of mybak dump and restore with the progress bar on a pseudo-terminal: "
                         "its printed ETA against the real remaining time at 10/50/90%%")
    ap.add_argument("--data-dir", metavar="DIR",
                    help="keep the server and generated data in DIR and reuse them in later runs of the "
                         "same --scale (default: a temporary directory, removed at the end)")
    ap.add_argument("--restore-variant", action="append", default=[], metavar="ARGS",
                    help="also run `mybak restore --no-binlog` with these extra arguments (repeatable)")
    args = ap.parse_args()
    for reference in ("mybak dump", "mybak restore --no-binlog"):
        if reference in args.skip:
            sys.exit(f"{reference!r} is the reference of its table and cannot be skipped")
    work = tempfile.mkdtemp(prefix="mybak-bench.")
    server = None
    s3 = None
    try:
        server = open_data(args, work)
        s3 = S3Server(work) if args.s3 else None
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if args.binlog:
            print("\n" + "\n\n".join([
                f"## Binlog archive, {when}", f"Machine: {machine(server)}.",
                f"Data: the binlog of loading scale {args.scale} (row events, MIXED); "
                f"{args.dump_runs} alternated runs of each tool, medians.",
                run_binlog(server, args, work)]))
            return
        source = checksums(server, DB)
        gb = data_gb(server)
        head = [f"## Results of {when}", f"Machine: {machine(server)}.",
                f"Source data: {gb:.3f} GB (data_length of the tables)."]
        if args.scaling:
            sections = [f"Data: scale {args.scale} (8 sbtest tables + wide table); server on the same host.",
                        run_scaling(server, args, work, source)]
        else:
            sections = compare(server, args, work, source, gb, s3)
        if args.eta:
            sections.append(run_eta(server, args, work, source))
        write_results("\n\n".join(s for s in head + sections if s))
    finally:
        if server:
            server.stop()
        if s3:
            s3.stop()
        shutil.rmtree(work, ignore_errors=True)


def compare(server, args, work, source, gb, s3):
    """mybak against the other tools: dumps, then restores of their outputs; the report's sections."""
    tools = {k: v for k, v in dump_tools(server, args.threads, args.variant, s3).items()
             if k not in args.skip}
    dumps_results, latest = alternate(server, tools, args.dump_runs, os.path.join(work, "out"), "dump", s3)
    dumps = {name: only_dir(out) if name.startswith("mybak dump") and not name.endswith("(moto)") else out
             for name, out in latest.items()}
    restores = {} if args.dump_only else {
        k: v for k, v in restore_tools(server, args.threads, dumps, args.restore_variant,
                                       args.variant).items() if k not in args.skip}
    restore_results = alternate_restores(server, restores, args.runs, source)
    # The outputs are no longer needed: at --scale 10 they take tens of GB.
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
    return [
        f"Data: scale {args.scale} (8 sbtest tables + wide table); {args.dump_runs} alternated "
        f"dump runs" + ("" if args.dump_only else f" and {args.runs} alternated restore runs")
        + f" of each tool, medians; {args.threads} threads; server on the same host.",
        table("Dump", dumps_results, "mybak dump", gb),
        "" if args.dump_only else table("Restore", restore_results, "mybak restore --no-binlog", gb),
        "" if args.dump_only else
        "mybak's restored database matched the source (CHECKSUM TABLE of every table).",
    ]


if __name__ == "__main__":
    main()
