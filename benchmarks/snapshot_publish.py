"""Publish time of the read-only snapshot against database size (platform/snapshot.py).

    python benchmarks/snapshot_publish.py DB [DB ...] [--tries 3]

Each database is published `--tries` times with force (a full copy each time, as after a run that changed
it); prints size, tables, min–max seconds and MB/s, and beside it what a plain file copy of the same file
takes (the method `file`: a checkpoint, then the file as it is, free blocks too). The
snapshot lands beside each database (`<name>_snapshot.duckdb`); the database itself is only read (the `file` column checkpoints it first).
"""

from __future__ import annotations

import argparse
import os
import platform

from sentiment_pipeline.platform.snapshot import publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'database':<40} {'MB':>8} {'tables':>6} {'snapshot MB':>11} {'seconds (min–max)':>18} {'MB/s':>6} {'file s':>11}")
    for db in args.databases:
        runs = [publish(db, force=True) for _ in range(args.tries)]
        seconds = [r.seconds for r in runs]
        last = runs[-1]
        mb = last.database_bytes / 1e6
        copies = [publish(db, force=True, method="file").seconds for _ in range(args.tries)]
        print(f"{db:<40} {mb:>8,.0f} {last.tables:>6} {last.snapshot_bytes / 1e6:>11,.0f} "
              f"{f'{min(seconds):.1f}–{max(seconds):.1f}':>18} {mb / min(seconds):>6,.0f} {f'{min(copies):.1f}–{max(copies):.1f}':>11}")


if __name__ == "__main__":
    main()
