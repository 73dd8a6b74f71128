"""Publish time against history length: the snapshot after one more trading day, on databases holding 1, 3 and
7 years of the synthetic market, beside what copying the whole database would cost on the same file (the two
designs before this one: DuckDB's COPY FROM DATABASE, and a checkpoint plus a file copy).

    python benchmarks/snapshot_publish.py                 # 1, 3 and 7 years (about 10 minutes)
    python benchmarks/snapshot_publish.py --years 1 3     # fewer

For each length: a fresh instance and database, the main command over 2019-01-02 → the year's last trading day
(the daily and weekly assets, no whole-history ones: they do not change with a day), then the main command for
the next trading day; its publish line is the figure. Prints one row per length.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = re.compile(r"^published .*: (\d+) of (\d+) tables changed, ([\d,]+) file\(s\), ([\d,]+) rows, "
                       r"([\d.,]+) MB in ([\d.]+) s$", re.M)


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main_command(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sentiment_pipeline.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"main command {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def whole_copies(db: Path) -> tuple[float, float]:
    """Seconds of the two whole-database copies on this file: COPY FROM DATABASE, checkpoint + file copy."""
    target = db.with_name("copy.duckdb")
    started = time.perf_counter()
    with duckdb.connect() as conn:
        conn.execute(f"attach '{db}' as live (read_only)")
        conn.execute(f"attach '{target}' as copy")
        conn.execute("copy from database live to copy")
    copy_database = time.perf_counter() - started
    target.unlink()
    started = time.perf_counter()
    with duckdb.connect(str(db)) as conn:
        conn.execute("checkpoint")
    shutil.copyfile(db, target)
    with open(target, "rb") as f:
        os.fsync(f.fileno())
    file_copy = time.perf_counter() - started
    target.unlink()
    return copy_database, file_copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3, 7])
    args = parser.parse_args()
    cache = os.environ.get("SENTIMENT_CACHE_DIR", str(ROOT / "data" / "cache"))
    print(f"machine: {machine()}")
    print(f"{'history':<28} {'database':>9} {'publish of the next day':>24} {'tables':>7} {'files':>6} {'rows':>9} "
          f"{'MB':>6} {'COPY FROM DATABASE':>19} {'file copy':>10}")
    from sentiment_pipeline.platform.calendar import trading_days

    days = trading_days()
    for years in args.years:
        last_year = 2018 + years
        last = max(d for d in days if d.year == last_year)
        next_day = min(d for d in days if d > last)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "market.duckdb"
            env = {**os.environ, "SENTIMENT_SOURCE": "synthetic", "SENTIMENT_CACHE_DIR": cache,
                   "SENTIMENT_DUCKDB_PATH": str(db), "DAGSTER_HOME": tmp}
            Path(tmp, "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
            main_command(env, f"2019-01-02...{last}", "--select", "not group:backtest", "--no-history")
            out = main_command(env, str(next_day), "--select", "not group:backtest", "--no-history")
            found = PUBLISHED.search(out)
            if not found:
                raise SystemExit(f"no publish line in:\n{out[-3000:]}")
            changed, total, files, rows, mb, seconds = found.groups()
            size = db.stat().st_size / 1e9
            copy_database, file_copy = whole_copies(db)
            print(f"{f'{years} year(s), 2019 → {last_year}':<28} {size:>7.2f} GB {f'{float(seconds):.2f} s':>24} "
                  f"{f'{changed}/{total}':>7} {files:>6} {rows:>9} {mb:>6} {f'{copy_database:.1f} s':>19} "
                  f"{f'{file_copy:.1f} s':>10}", flush=True)


if __name__ == "__main__":
    main()
