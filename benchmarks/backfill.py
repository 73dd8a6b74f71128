"""Benchmark: the synthetic full-market backfill 2019-01-02 → 2025-12-31 of every asset (days, weeks, research
tables, backtests, the snapshot) through the README's main command, then one more trading day (every daily and
weekly asset and the publish) three times, and the ladder transform on the real TDX bars next to a pandas
day-by-day loop.

    python benchmarks/backfill.py                     # all, with the project's instance (dagster.yaml)
    python benchmarks/backfill.py --instance stock    # the same backfill on Dagster's stock SQLite storage
    python benchmarks/backfill.py --days-per-run 490  # another split of the range into runs
    python benchmarks/backfill.py --ladder            # ladder transform only

Runs `python -m sentiment_pipeline.cli` (what `bash scripts/run.sh` runs) against a fresh temporary DuckDB
file and Dagster instance, the machine otherwise idle (run nothing beside it); prints wall time, peak RSS (the
largest process), the steps' own seconds per part (from the command's progress lines) and rows per table.
"""

import argparse
import datetime as dt
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
TDX = ROOT.parent / "shared" / "data" / "real" / "tdx" / "vipdoc"
RANGE = "2019-01-02...2025-12-31"
NEXT_DAY = "2026-01-05"  # a Monday: its day and its week (the whole-history assets run after a week's last day)
STOCK_INSTANCE = "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\ntelemetry:\n  enabled: false\n"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _main_command(env: dict, args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GiB) and output of one main command, run the way scripts/run.sh runs it. The peak
    is the command's own largest process (GNU time's %M; without it, the largest child since the benchmark
    started)."""
    timer = ["/usr/bin/time", "-f", "peak-kb %M"] if Path("/usr/bin/time").exists() else []
    t = time.perf_counter()
    done = subprocess.run([*timer, sys.executable, "-m", "sentiment_pipeline.cli", *args], env=env, cwd=ROOT,
                          check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    found = re.search(r"^peak-kb (\d+)$", done.stderr, re.M)
    peak = (int(found.group(1)) if found else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2
    return wall, peak, done.stdout


def _parts(output: str) -> str:
    """The steps' own seconds per run kind, and the publish, from the command's progress lines."""
    sums: dict[str, float] = {}
    kind = "?"
    for line in output.splitlines():
        if line.startswith("run "):
            kind = "weekly" if line.startswith("run weekly") else "whole history" if "whole_history" in line \
                else "daily runs"
        elif found := re.search(r"\((\d+\.\d) s\)$", line):
            sums[kind] = sums.get(kind, 0.0) + float(found.group(1))
    published = re.search(r"^published .* in ([\d.]+) s$", output, re.M)
    if published:
        sums["publish"] = float(published.group(1))
    return ", ".join(f"{k} {v:.1f} s" for k, v in sums.items())


def backfill(instance: str, days_per_run: int | None) -> None:
    from sentiment_pipeline.sources.synthetic_market import ensure_cached

    cache = Path(os.environ.get("SENTIMENT_CACHE_DIR", ROOT / "data" / "cache"))
    t = time.perf_counter()
    ensure_cached(cache, 7)
    print(f"synthetic market simulation (one-time, cached as Parquet): {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        home, db = Path(tmp, "home"), Path(tmp, "data", "market.duckdb")
        home.mkdir()
        env = {**os.environ, "SENTIMENT_SOURCE": "synthetic", "SENTIMENT_CACHE_DIR": str(cache),
               "SENTIMENT_DUCKDB_PATH": str(db), "DAGSTER_HOME": str(home)}
        if instance == "stock":
            (home / "dagster.yaml").write_text(STOCK_INSTANCE)
        else:
            (home / "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
        split = ["--days-per-run", str(days_per_run)] if days_per_run is not None else []
        wall, peak, out = _main_command(env, [RANGE, *split])
        print(f"full backfill {RANGE}, every asset ({instance} instance{', ' + ' '.join(split) if split else ''}): "
              f"{wall:.1f} s wall, peak RSS {peak:.2f} GiB; steps: {_parts(out)}", flush=True)
        for i in range(3):
            wall, peak, out = _main_command(env, [NEXT_DAY])
            print(f"one more day {NEXT_DAY}, every daily and weekly asset and the publish (try {i + 1}): "
                  f"{wall:.1f} s wall, peak RSS {peak:.2f} GiB; steps: {_parts(out)}", flush=True)
        with duckdb.connect(str(db), read_only=True) as conn:
            for (table,) in conn.execute("select table_schema || '.' || table_name from information_schema.tables "
                                         "where table_schema not like '\\_%' escape '\\' order by 1").fetchall():
                print(f"  {table}: {conn.execute(f'select count(*) from {table}').fetchone()[0]:,} rows")
        size = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
        print(f"instance storage after the backfill: {size / 1024**2:.0f} MiB; database {db.stat().st_size / 1e9:.2f} GB, "
              f"snapshot {sum(f.stat().st_size for f in db.parent.rglob('*.parquet')) / 1e9:.2f} GB")


def pandas_day_loop(bars):
    """The straightforward way: walk the days, carry each stock's streak in a dict-like Series."""
    import pandas as pd

    streak = pd.Series(dtype="int64")
    out = []
    for _, day in bars.groupby("trade_date", sort=True):
        prev = streak.reindex(day["code"]).fillna(0).to_numpy()
        today = pd.Series((prev + 1) * day["is_limit_up"].to_numpy(), index=day["code"].to_numpy())
        streak = pd.concat([streak[~streak.index.isin(today.index)], today])
        out.append(today)
    return pd.concat(out)


def ladder() -> None:
    from sentiment_pipeline.market.bars import build_daily_bars
    from sentiment_pipeline.ladder.streaks import compute_ladder, empty_seed
    from sentiment_pipeline.sources.tdx import TdxSource

    if not TDX.is_dir():
        print("ladder benchmark skipped: ../shared/data/real/tdx is absent")
        return
    src = TdxSource(vipdoc_dir=str(TDX))
    quotes = src.daily_quotes(dt.date(2018, 1, 1), dt.date(2023, 12, 31))
    bars = build_daily_bars(quotes, src.securities()).select("trade_date", "code", "is_st", "listing_age", "is_limit_up")
    bars = bars.sort("trade_date", "code")
    n = bars.height
    best = min(_timed(lambda: compute_ladder(bars, empty_seed())) for _ in range(5))
    print(f"ladder transform on real TDX bars: {n:,} stock-days in {best:.3f} s = {n / best / 1e6:.1f} M stock-days/s")
    pdf = bars.select("trade_date", "code", "is_limit_up").to_pandas()
    loop = _timed(lambda: pandas_day_loop(pdf))
    print(f"pandas day-by-day loop on the same bars: {loop:.1f} s = {n / loop / 1e6:.2f} M stock-days/s "
          f"({loop / best:.0f}× slower)")
    ours = compute_ladder(bars, empty_seed())["streak"].sum()
    theirs = int(pandas_day_loop(pdf).sum())
    assert ours == theirs, (ours, theirs)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ladder", action="store_true", help="only the ladder transform")
    parser.add_argument("--instance", choices=["project", "stock"], default="project",
                        help="the project's dagster.yaml (default) or Dagster's stock SQLite storage")
    parser.add_argument("--days-per-run", type=int, default=None, help="passed to the main command")
    parser.add_argument("--no-ladder", action="store_true", help="skip the ladder transform")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if not args.ladder:
        backfill(args.instance, args.days_per_run)
    if not args.no_ladder:
        ladder()
