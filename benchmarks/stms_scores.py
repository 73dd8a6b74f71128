"""Benchmark: STMS for the SW level-1 industries and the synthetic market's 300 concept boards over
2019-01-02 → 2025-12-31, computed in one pass by the same functions the Dagster assets call.

    python benchmarks/stms_scores.py

Prints wall time per stage, rows, and the peak RSS of the process (the whole seven years at once; the
assets do the same per run range).
"""

import datetime as dt
import os
import platform
import resource
import time
from pathlib import Path

import polars as pl

from sentiment_pipeline.market import membership
from sentiment_pipeline.market.bars import build_daily_bars
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.stms import scores as stms
from sentiment_pipeline.sources.synthetic import SyntheticSource

ROOT = Path(__file__).resolve().parents[1]
START, END = dt.date(2019, 1, 2), dt.date(2025, 12, 31)


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    source = SyntheticSource(cache_dir=os.environ.get("SENTIMENT_CACHE_DIR", str(ROOT / "data" / "cache")))
    source.securities()  # simulate once if needed, outside the timing
    t0 = t = time.perf_counter()
    bars = build_daily_bars(source.daily_quotes(START, END), source.securities()).select(stms.BARS_COLUMNS)
    main_flows, north_flows = source.main_fund_flows(START, END), source.northbound_flows(START, END)
    history, concepts = source.industry_history(), source.concept_membership()
    print(f"  load bars and flows ({bars.height:,} stock-days): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    members = membership.members(bars.select("trade_date", "code"), history, concepts)
    print(f"  point-in-time membership ({members.height:,} member-days): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    values = stms.sector_day_values(stms.stock_features(bars), members, main_flows, north_flows)
    days = calendar.trading_days_between(START, END)
    daily = stms.sector_daily(values, stms.window_status(days, days))
    print(f"  stms.sector_daily ({daily.height:,} rows): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    scores = stms.add_signals(stms.score_sectors(daily))
    top = stms.top_list(scores)
    print(f"  stms.scores + signals + top list ({scores.height:,} / {top.height:,} rows): "
          f"{time.perf_counter() - t:.1f} s")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    kinds = scores.group_by("sector_kind").agg(pl.col("sector").n_unique().alias("sectors")).sort("sector_kind")
    print(f"STMS 2019-01-02 → 2025-12-31: {wall:.1f} s wall, peak RSS {peak:.2f} GiB; sectors scored: "
          f"{dict(kinds.iter_rows())}")


if __name__ == "__main__":
    main()
