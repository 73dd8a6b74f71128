"""Limit-up streaks (连板), eligibility and the daily ladder statistics, domain.md §2.

Everything here is vectorised over a whole date range: rows are ordered by
(stock, day) once through one integer sort key, and streaks come from global
cumulative sums plus a forward fill: no group-by, no loop over days or stocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

MAX_SEPARATE_HEIGHT = 9  # count_h1 … count_h9, then count_h10_plus

LADDER_STATE_SCHEMA = {"code": pl.String, "streak": pl.Int32, "in_opening_run": pl.Boolean}


@dataclass(frozen=True)
class Universe:
    """Which stocks count in the sentiment statistics (the per-stock ladder keeps all)."""

    exclude_st: bool = True
    exclude_new_listing_run: bool = True


def empty_seed() -> pl.DataFrame:
    return pl.DataFrame(schema=LADDER_STATE_SCHEMA)


def _forward_fill(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each position takes the value of the last valid position at or before it."""
    last = np.arange(len(values), dtype=np.int32)
    last[~valid] = 0
    np.maximum.accumulate(last, out=last)
    return values[last]


def compute_ladder(bars: pl.DataFrame, seed: pl.DataFrame, universe: Universe = Universe()) -> pl.DataFrame:
    """Per stock and day: streak, opening-run flag, eligibility and exclusion reason.

    `bars` needs trade_date, code, is_limit_up, is_st, listing_age (1 on the
    listing day, null when unknown). `seed` holds each stock's state on its
    last trading day before the range (code, streak, in_opening_run), so a
    suspension never breaks a streak. Rows come back in the input order.
    """
    n = bars.height
    # Order rows by (stock, day) through integer stock ids, far cheaper than sorting code strings.
    stock_id = bars["code"].cast(pl.Categorical).to_physical().to_numpy()
    days = bars["trade_date"].cast(pl.Int32).to_numpy()
    if n and stock_id.max() < 1 << 16 and (n < 2 or bool((days[1:] >= days[:-1]).all())):
        order = np.argsort(stock_id.astype(np.uint16), kind="stable")  # radix sort; dates already ordered
    else:
        order = np.lexsort((days, stock_id))
    sid = stock_id[order]
    lu = bars["is_limit_up"].to_numpy()[order]
    listing_day = (bars["listing_age"] == 1).fill_null(False).to_numpy()[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sid[1:] != sid[:-1]
    first_rows = np.nonzero(first)[0]
    seeded = (
        pl.DataFrame({"row": first_rows, "code": bars["code"].gather(order[first_rows])})
        .join(seed, on="code", how="left")
        .sort("row")
    )

    # streak = limit-ups since the stock's last non-limit-up day (+ the seed on its first row).
    cum = np.cumsum(lu, dtype=np.int32)
    base = cum - lu  # equals cum on non-limit-up rows, where the streak resets
    base[first_rows] -= seeded["streak"].fill_null(0).to_numpy().astype(np.int32) * lu[first_rows]
    streak_sorted = cum - _forward_fill(base, ~lu | first)
    # A new listing's opening run: its listing day and every limit-up straight after it.
    run_at = listing_day.copy()
    run_at[first_rows] |= seeded["in_opening_run"].fill_null(False).to_numpy() & lu[first_rows]
    run_sorted = _forward_fill(run_at, listing_day | ~lu | first)

    streak = np.empty(n, dtype=np.int32)
    streak[order] = streak_sorted
    in_run = np.empty(n, dtype=bool)
    in_run[order] = run_sorted

    st = pl.col("is_st").fill_null(False) & universe.exclude_st
    run = pl.col("in_opening_run") & universe.exclude_new_listing_run
    reason = (
        pl.when(st & run).then(pl.lit("st+new_listing"))
        .when(st).then(pl.lit("st"))
        .when(run).then(pl.lit("new_listing"))
        .otherwise(pl.lit(None, pl.String))
    )
    return bars.with_columns(
        streak=pl.Series(streak), in_opening_run=pl.Series(in_run)
    ).with_columns(eligible=~(st | run), exclusion_reason=reason)


def _daily_counts(ladder: pl.DataFrame) -> pl.DataFrame:
    e = pl.col("eligible")
    s = pl.col("streak")
    height_counts = [
        (e & (s == h)).sum().cast(pl.Int32).alias(f"count_h{h}") for h in range(1, MAX_SEPARATE_HEIGHT + 1)
    ]
    return ladder.group_by("trade_date").agg(
        limit_up_count=(e & pl.col("is_limit_up")).sum().cast(pl.Int32),
        broken_count=(e & pl.col("is_broken")).sum().cast(pl.Int32),
        limit_down_count=(e & pl.col("is_limit_down")).sum().cast(pl.Int32),
        up_count=(e & (pl.col("pct_change") > 0)).sum().cast(pl.Int32),
        down_count=(e & (pl.col("pct_change") < 0)).sum().cast(pl.Int32),
        max_height=pl.when(e).then(s).otherwise(0).max().cast(pl.Int32),
        *height_counts,
        count_h10_plus=(e & (s > MAX_SEPARATE_HEIGHT)).sum().cast(pl.Int32),
        _ge2=(e & (s >= 2)).sum(),
        _ge4=(e & (s >= 4)).sum(),
        _ge5=(e & (s >= 5)).sum(),
    )


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def ladder_daily(ladder: pl.DataFrame, trading_days: pl.DataFrame) -> pl.DataFrame:
    """Daily ladder statistics for every day of `ladder`.

    `trading_days` maps trade_date → prev_trade_date (the market's previous
    trading day). Rates on a day whose previous day is absent from `ladder`
    are null, with `has_previous_day` false.
    """
    daily = _daily_counts(ladder)
    prev = daily.select(
        pl.col("trade_date").alias("prev_trade_date"),
        pl.col("limit_up_count").alias("prev_limit_up_count"),
        pl.col("count_h1").alias("_p1"),
        pl.col("count_h2").alias("_p2"),
        pl.col("count_h3").alias("_p3"),
        pl.col("_ge4").alias("_p4"),
    )
    out = (
        daily.join(trading_days.select("trade_date", "prev_trade_date"), on="trade_date", how="left")
        .join(prev, on="prev_trade_date", how="left")
        .with_columns(
            has_previous_day=pl.col("prev_limit_up_count").is_not_null(),
            seal_rate=_ratio(pl.col("limit_up_count"), pl.col("limit_up_count") + pl.col("broken_count")),
            promotion_rate=_ratio(pl.col("_ge2"), pl.col("prev_limit_up_count")),
            rate_1to2=_ratio(pl.col("count_h2"), pl.col("_p1")),
            rate_2to3=_ratio(pl.col("count_h3"), pl.col("_p2")),
            rate_3to4=_ratio(pl.col("count_h4"), pl.col("_p3")),
            rate_4plus=_ratio(pl.col("_ge5"), pl.col("_p4")),
        )
    )
    heights = [f"count_h{h}" for h in range(1, MAX_SEPARATE_HEIGHT + 1)] + ["count_h10_plus"]
    return out.select(
        "trade_date", "limit_up_count", "broken_count", "limit_down_count", "up_count", "down_count",
        "seal_rate", "max_height", *heights, "prev_trade_date", "prev_limit_up_count", "has_previous_day",
        "promotion_rate", "rate_1to2", "rate_2to3", "rate_3to4", "rate_4plus",
    ).sort("trade_date")


def latest_state(rows: pl.DataFrame) -> pl.DataFrame:
    """Per code, the ladder state of its latest row (the seed of the days after `rows`)."""
    return rows.sort("trade_date").group_by("code").last().select(empty_seed().columns).cast(empty_seed().schema)
