"""Publish time of the read-only snapshot against database size (platform/snapshot.py).

    python benchmarks/snapshot_publish.py DB [DB ...] [--tries 3]

Each database is published `--tries` times with force (a full copy each time, as after a run that changed
it); prints size, tables, min–max seconds and MB/s, and beside it what a plain file copy of the same file
takes (the design not chosen: it copies free blocks too and needs a checkpointed file without a WAL). The
snapshot lands beside each database (`<name>_snapshot.duckdb`); the database itself is only read.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time

from sentiment_pipeline.platform.snapshot import publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'database':<40} {'MB':>8} {'tables':>6} {'snapshot MB':>11} {'seconds (min–max)':>18} {'MB/s':>6} {'file copy s':>11}")
    for db in args.databases:
        runs = [publish(db, force=True) for _ in range(args.tries)]
        seconds = [r.seconds for r in runs]
        last = runs[-1]
        mb = last.database_bytes / 1e6
        copies = []
        with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(db))) as tmp:
            for _ in range(args.tries):
                started = time.perf_counter()
                shutil.copyfile(db, os.path.join(tmp, "copy.duckdb"))
                copies.append(time.perf_counter() - started)
        print(f"{db:<40} {mb:>8,.0f} {last.tables:>6} {last.snapshot_bytes / 1e6:>11,.0f} "
              f"{f'{min(seconds):.1f}–{max(seconds):.1f}':>18} {mb / min(seconds):>6,.0f} {f'{min(copies):.1f}–{max(copies):.1f}':>11}")


if __name__ == "__main__":
    main()
