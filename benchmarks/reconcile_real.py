"""Reconciliation figures on the real data: TDX bars 2022-12-01 → 2023-02-24 against THS's limit-up pool
2023-01-03 → 2023-02-24 (../shared/data/real). The same code path as quality.limit_up_reconciliation.

    python benchmarks/reconcile_real.py
"""

import datetime as dt
import time
from pathlib import Path

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.bars import build_daily_bars
from sentiment_pipeline.ladder.streaks import Universe, compute_ladder, empty_seed
from sentiment_pipeline.quality.reconcile import reconcile_limit_ups, summarize
from sentiment_pipeline.sources.tdx import TdxSource

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
START, END = dt.date(2023, 1, 3), dt.date(2023, 2, 24)


def main() -> None:
    t = time.perf_counter()
    source = TdxSource(vipdoc_dir=str(REAL / "tdx" / "vipdoc"), ths_dir=str(REAL / "ths"))
    bars = build_daily_bars(source.daily_quotes(dt.date(2022, 12, 1), END), source.securities())
    ladder = compute_ladder(bars, empty_seed(), Universe())
    pools = source.limit_up_pools(dt.date(2022, 12, 30), END)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    daily, details = reconcile_limit_ups(bars.filter(pl.col("trade_date") >= START), ladder, pools,
                                         calendar.trading_days_between(START, END))
    print(f"load {loaded:.1f} s, reconcile {time.perf_counter() - t:.2f} s")
    for k, v in summarize(daily).items():
        print(f"  {k}: {v:.4f}" if isinstance(v, float) else f"  {k}: {v}")
    print(details.group_by("kind", "reason").len().sort("kind", "len", descending=[False, True]))


if __name__ == "__main__":
    main()
