"""The backtest engine alone: 5,000 stocks × 1,700 days, a weekly top-50 rebalance, every rule on (limits,
suspensions, delistings, lots, commissions with a minimum, dated stamp duty, slippage, retries).

    python benchmarks/backtest_engine.py [--stocks 5000] [--days 1700]

Prints the engine's wall time and the process's resident memory: before the engine (the panel and targets
held) and its peak while the engine runs (sampled every 10 ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import threading
import time

import numpy as np
import polars as pl
import psutil

from sentiment_pipeline.backtest import engine


def market(stocks: int, days: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A random-walk market with limits, ~1% suspended stock-days, some late listings and delistings."""
    rng = np.random.default_rng(seed)
    calendar = pl.Series(pl.date_range(dt.date(2016, 1, 4), dt.date(2030, 1, 1), "1d", eager=True))
    calendar = calendar.filter(calendar.dt.weekday() <= 5)[:days]
    ret = np.clip(rng.normal(0.0003, 0.025, (days, stocks)), -0.1, 0.1)
    close = 10 * np.exp(np.cumsum(np.log1p(ret), axis=0))
    pre = np.vstack([close[:1] / (1 + ret[:1]), close[:-1]])
    open_ = pre * (1 + np.clip(rng.normal(0, 0.01, (days, stocks)), -0.1, 0.1))
    limit_up, limit_down = np.round(pre * 1.1, 2), np.round(pre * 0.9, 2)
    open_ = np.clip(np.round(open_, 2), limit_down, limit_up)
    gaps = rng.random((days, stocks))  # some opens at the limits, so both limit blocks fire
    open_ = np.where(gaps < 0.02, limit_up, np.where(gaps > 0.99, limit_down, open_))
    close = np.clip(np.round(close, 2), limit_down, limit_up)
    live = rng.random((days, stocks)) > 0.01
    listed = rng.integers(-days, days, stocks).clip(0)  # a third list during the sample
    delisted = np.where(rng.random(stocks) < 0.05, rng.integers(0, days, stocks), days)
    rows = np.arange(days)[:, None]
    live &= (rows >= listed) & (rows < np.maximum(delisted, listed + 1))
    d, c = np.nonzero(live)
    panel = pl.DataFrame({"trade_date": calendar.gather(d), "code": [f"{i:06d}" for i in c],
                         "open": open_[d, c], "close": close[d, c], "pre_close": pre[d, c],
                         "limit_up_price": limit_up[d, c], "limit_down_price": limit_down[d, c],
                         "score": rng.random(d.size)})
    gone = np.flatnonzero(delisted < days)
    delistings = pl.DataFrame({"code": [f"{i:06d}" for i in gone], "delist_date": calendar.gather(delisted[gone])})
    return panel, delistings


def weekly_top(panel: pl.DataFrame, n: int) -> pl.DataFrame:
    last_of_week = (panel.select("trade_date").unique()
                    .group_by(week=pl.col("trade_date").dt.truncate("1w")).agg(pl.col("trade_date").max())["trade_date"])
    top = (panel.filter(pl.col("trade_date").is_in(last_of_week.implode()))
           .filter(pl.col("score").rank("ordinal", descending=True).over("trade_date") <= n))
    return top.select("trade_date", "code", weight=pl.lit(1.0 / n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stocks", type=int, default=5000)
    parser.add_argument("--days", type=int, default=1700)
    args = parser.parse_args()
    t0 = time.perf_counter()
    panel, delistings = market(args.stocks, args.days)
    targets = weekly_top(panel, 50)
    built = time.perf_counter() - t0
    gc.collect()
    process = psutil.Process()
    baseline = peak = process.memory_info().rss
    running = True

    def sample():
        nonlocal peak
        while running:
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    result = engine.run(panel, targets, delistings=delistings)
    took = time.perf_counter() - t0
    running = False
    sampler.join()
    print(f"panel {panel.height:,} stock-days ({args.stocks} × {args.days}), built in {built:.1f} s; "
          f"{targets['trade_date'].n_unique()} rebalances")
    print(f"engine: {took:.2f} s; RSS {baseline / 2**30:.2f} GiB before it (panel held), peak "
          f"{peak / 2**30:.2f} GiB while it ran; {result.trades.height:,} trades, "
          f"{result.blocked.height:,} blocked orders, final NAV {result.nav['nav'][-1]:,.0f}")
    print(result.blocked.group_by("reason").len().sort("reason"))
    print(result.trades.group_by("reason").len().sort("reason"))


if __name__ == "__main__":
    main()
