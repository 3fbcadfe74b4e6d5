#!/usr/bin/env python3
"""What deferring secondary indexes costs or saves per table, by table size: restores of sbtest-shaped
tables (a primary key and one secondary index) with every index deferred (`--defer-min-size 0`)
against every index inline (`--no-defer-indexes`), alternated, medians of wall and server CPU
seconds, per table. It sets restore's default `--defer-min-size`.

Run after `cargo build --release`: python3 benches/defer_threshold.py [--runs 5] [--sizes 100:100,...]
(Python 3 stdlib; the throwaway server is bench.py's).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

MODES = {"deferred": ["--defer-min-size", "0"], "inline": ["--no-defer-indexes"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="100:100,1000:60,5000:24,20000:8,80000:3",
                    help="ROWS:TABLES,… (one database per size class)")
    args = ap.parse_args()
    classes = [tuple(int(x) for x in c.split(":")) for c in args.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="mybak-defer.")
    server = bench.Server(work)
    try:
        dumps = {}
        for rows, tables in classes:
            db = f"s{rows}"
            server.sql(f"CREATE DATABASE {db}")
            for i in range(tables):
                server.sql(f"USE {db}; " + bench.sbtest_sql(f"t{i}", rows))
            out = os.path.join(work, db)
            os.makedirs(out)
            subprocess.run([bench.MYBAK, "dump", "--no-defaults", "-S", server.socket, "-u", "root",
                            "--databases", db, "--threads", "2", "--progress", "never", "--output-dir", out],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            dumps[rows] = bench.only_dir(out)
            sql = int(server.sql(f"SELECT SUM(data_length) FROM information_schema.tables "
                                 f"WHERE table_schema = '{db}'").strip())
            print(f"{db}: {tables} tables of {rows} rows ({sql / tables / 1e6:.2f} MB data_length each)",
                  flush=True)
        results = {}
        for run in range(args.runs):
            for rows, tables in classes:
                for mode, extra in MODES.items():
                    target = f"r{rows}"
                    server.sql(f"DROP DATABASE IF EXISTS {target}")
                    cmd = [bench.MYBAK, "restore", dumps[rows], "--no-defaults", "-S", server.socket,
                           "-u", "root", "--threads", "2", "--progress", "never", "--no-binlog",
                           "--rename-database", f"s{rows}={target}"] + extra
                    cpu = server.cpu_seconds()
                    start = time.monotonic()
                    done = subprocess.run(cmd, capture_output=True, text=True)
                    wall = time.monotonic() - start
                    if done.returncode != 0:
                        sys.exit(f"failed: {cmd}\n{done.stderr}")
                    results.setdefault((rows, mode), []).append((wall, server.cpu_seconds() - cpu))
            print(f"  run {run + 1} of {args.runs} done", flush=True)
        print("\n| rows per table | tables | wall s deferred | inline | deferred − inline per table | "
              "server CPU s deferred | inline | per table |")
        print("|---|---|---|---|---|---|---|---|")
        for rows, tables in classes:
            d, i = results[(rows, "deferred")], results[(rows, "inline")]
            dw, iw = (statistics.median(r[0] for r in x) for x in (d, i))
            dc, ic = (statistics.median(r[1] for r in x) for x in (d, i))
            print(f"| {rows} | {tables} | {dw:.2f} | {iw:.2f} | {(dw - iw) / tables * 1000:+.0f} ms | "
                  f"{dc:.2f} | {ic:.2f} | {(dc - ic) / tables * 1000:+.0f} ms |")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
