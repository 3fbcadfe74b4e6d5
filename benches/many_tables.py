#!/usr/bin/env python3
"""Dumps of many small tables: wall seconds, client CPU, server CPU and the SELECTs the server
ran (Com_select), for one or more mybak binaries run alternately, with the DDL guard (root,
--consistency=snapshot) and without it (an account without RELOAD, --consistency=per-table).
Shows what reading information_schema once per dump instead of once per table saves.

    python3 benches/many_tables.py [--tables 2000] [--databases 4] [--runs 3] BINARY...

Python 3 stdlib only; the throwaway server is bench.py's.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, measure  # noqa: E402


def prepare(server, tables, databases):
    """`tables` small tables spread over `databases` databases, a few kinds of columns, two rows each."""
    kinds = [
        ("id INT PRIMARY KEY, v VARCHAR(20)", "(1, 'a'), (2, NULL)"),
        ("id INT PRIMARY KEY, g INT AS (id * 2) VIRTUAL, v TEXT", "(1, DEFAULT, 'x'), (2, DEFAULT, 'y')"),
        ("id INT PRIMARY KEY, e ENUM('a','','b'), f FLOAT", "(1, 'a', 1.5), (2, '', NULL)"),
        ("id BIGINT PRIMARY KEY, c VARCHAR(10) CHARACTER SET latin1, d DECIMAL(10,2)", "(1, 'x', 1.25), (2, 'y', NULL)"),
    ]
    for d in range(databases):
        server.sql(f"CREATE DATABASE many{d}")
        names = list(range(d, tables, databases))
        for at in range(0, len(names), 100):
            sql = [f"USE many{d}"]
            for t in names[at:at + 100]:
                columns, rows = kinds[t % len(kinds)]
                sql.append(f"CREATE TABLE t{t:05} ({columns})")
                sql.append(f"INSERT INTO t{t:05} VALUES {rows}")
            server.sql(";\n".join(sql))
    server.sql("CREATE USER 'noreload'@'localhost' IDENTIFIED BY 'pw';"
               "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO 'noreload'@'localhost'")


def com_select(server):
    return int(server.sql("SHOW GLOBAL STATUS LIKE 'Com_select'").split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=2000)
    ap.add_argument("--databases", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("binaries", nargs="+", metavar="BINARY")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mybak-many.")
    server = Server(work)
    try:
        prepare(server, args.tables, args.databases)
        dbs = ",".join(f"many{d}" for d in range(args.databases))
        modes = {
            "snapshot (root, DDL guard)": (["-u", "root"], {}),
            "per-table (no RELOAD, no guard)": (["-u", "noreload", "--consistency", "per-table"],
                                                {"MYSQL_PWD": "pw"}),
        }
        results = {}
        for run in range(args.runs):
            for mode, (extra, env) in modes.items():
                for binary in args.binaries:
                    out = os.path.join(work, "out")
                    shutil.rmtree(out, ignore_errors=True)
                    os.makedirs(out)
                    command = [binary, "dump", "--no-defaults", "-S", server.socket, "--databases", dbs,
                               "--threads", str(args.threads), "--progress", "never",
                               "--output-dir", out] + extra
                    # `env` execs mybak: the measured process is still the tool itself.
                    command = ["env"] + [f"{k}={v}" for k, v in env.items()] + command
                    selects = com_select(server)
                    r = measure(server, command, None)
                    r["selects"] = com_select(server) - selects - 1
                    results.setdefault((mode, binary), []).append(r)
                    print(f"  run {run + 1}: {mode}: {binary}: {r['wall']:.2f} s, "
                          f"server {r['server']:.2f} s, {r['selects']} SELECTs", flush=True)
        print(f"\n{args.tables} tables in {args.databases} databases, {args.threads} threads, "
              f"{args.runs} alternated runs, medians\n")
        print("| mode | binary | wall s | client CPU s | server CPU s | SELECTs |")
        print("|---|---|---|---|---|---|")
        for (mode, binary), runs in results.items():
            m = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "server", "selects")}
            print(f"| {mode} | {binary} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['server']:.2f} | "
                  f"{m['selects']:.0f} |")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
