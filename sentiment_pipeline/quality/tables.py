"""The quality tables: one pandera model per table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.market.tables import CODE


_SHARE = {"ge": 0, "le": 1, "nullable": True}


_COUNT = {"ge": 0, "nullable": True}


class LimitUpReconciliation(pa.DataFrameModel):
    """quality.limit_up_reconciliation: per day, our limit-ups against the published pool."""

    trade_date: dt.date = pa.Field(description="trading day")
    pool_available: bool = pa.Field(description="the source has a limit-up pool for the day")
    pool_count: pl.Int32 = pa.Field(**_COUNT, description="stocks in the pool")
    ours_count: pl.Int32 = pa.Field(
        **_COUNT, description="stocks core.daily_bars flags as limit-up (every stock, ST included)"
    )
    both_count: pl.Int32 = pa.Field(**_COUNT, description="limit-ups in the pool and flagged by us")
    only_ours_count: pl.Int32 = pa.Field(**_COUNT, description="limit-ups we flag that the pool does not list")
    only_pool_count: pl.Int32 = pa.Field(**_COUNT, description="limit-ups the pool lists that we do not flag")
    found_share: float = pa.Field(**_SHARE, description="both_count / pool_count; null when pool_count is 0")
    streak_compared: pl.Int32 = pa.Field(
        **_COUNT, description="limit-ups found by both where the pool states a consecutive height"
    )
    streak_agree_count: pl.Int32 = pa.Field(
        **_COUNT, description="of streak_compared, those where the pool's height equals our streak"
    )
    streak_agreement: float = pa.Field(
        **_SHARE, description="streak_agree_count / streak_compared; null when streak_compared is 0"
    )
    disagreement_count: pl.Int32 = pa.Field(
        **_COUNT, description="rows in quality.limit_up_disagreements that day"
    )

    class Config:
        name = "quality.limit_up_reconciliation"
        description = ("Per day: the published limit-up pool against our flags and streaks. Counts are null on "
                       "days without a pool (pool_available false): nothing was compared.")
        strict = True
        unique = ["trade_date"]


class LimitUpDisagreements(pa.DataFrameModel):
    """quality.limit_up_disagreements: every stock-day where we and the pool disagree, with its reason."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    kind: str = pa.Field(
        isin=["only_ours", "only_pool", "streak"],
        description="a limit-up only in our flags, only in the pool, or in both with different heights",
    )
    our_streak: pl.Int32 = pa.Field(nullable=True, description="our streak that day; null for only_pool")
    pool_streak: pl.Int32 = pa.Field(nullable=True,
                                     description="the pool's consecutive height; null for only_ours")
    reason: str = pa.Field(isin=["st", "new_listing", "board_not_in_pool", "absent_from_pool", "missing_bar",
                                 "price_mismatch", "reference_close", "suspension", "history_start",
                                 "previous_day_not_in_pool", "streak_definition"],
                           description="the first explanation that applies, in README order; README "
                                       "\"Reconciliation\" says what each means")
    detail: str = pa.Field(nullable=True, description="the prices or heights behind the reason")

    class Config:
        name = "quality.limit_up_disagreements"
        description = ("Every disagreement between the published limit-up pool and our flags or streaks, with its "
                       "reason.")
        strict = True
        unique = ["trade_date", "code", "kind"]
