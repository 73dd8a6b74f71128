"""raw quotes + securities master → core.daily_bars (board, listing age, limit prices and flags)."""

from __future__ import annotations

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.limits import board_of, exchange_of, limit_flags, limit_prices

CORE_COLUMNS = (
    "trade_date", "code", "exchange", "board", "is_st", "open", "high", "low", "close", "pre_close", "volume",
    "amount", "turnover_rate", "float_mcap", "list_date", "listing_age", "limit_up_price", "limit_down_price",
    "is_limit_up", "is_broken", "is_one_word", "is_limit_down",
)


def listing_day_numbers(securities: pl.DataFrame) -> pl.DataFrame:
    """code → exchange, board, list_date and the trading-day number of the listing (first trading day on or after it)."""
    days = pl.Series(calendar.trading_days(), dtype=pl.Date)
    listed = securities.select("code", "list_date").unique("code", keep="last")
    return listed.with_columns(
        exchange=exchange_of(pl.col("code")),
        board=board_of(pl.col("code")),
        list_day_no=pl.when(pl.col("list_date").is_not_null())
        .then(days.search_sorted(listed["list_date"], side="left").cast(pl.Int32))
    )


def build_daily_bars(raw: pl.DataFrame, securities: pl.DataFrame) -> pl.DataFrame:
    """Enrich the source's bars; every rule used here lives in limits.py."""
    day_no = calendar.trading_day_index()
    df = (
        raw.join(day_no, on="trade_date", how="left")
        .join(listing_day_numbers(securities), on="code", how="left")
        .with_columns(
            listing_age=(pl.col("day_no") - pl.col("list_day_no") + 1).cast(pl.Int32),
        )
    )
    df = df.with_columns(limit_prices()).with_columns(limit_flags())
    return df.select(CORE_COLUMNS)
