"""Index return series: a stored index's daily returns, and the whole market's (official or computed from the
bars). Shared by the backtests (benchmark) and the research tables."""

from __future__ import annotations

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.base import ALL_A_INDEX


def index_returns(index_daily: pl.DataFrame, code: str) -> pl.DataFrame:
    """(trade_date, return) of one stored index: close over the published previous close, else over the
    previous stored close. Empty when the index is not stored."""
    if not index_daily.height:
        return pl.DataFrame(schema={"trade_date": pl.Date, "return": pl.Float64})
    series = index_daily.filter(pl.col("index_code") == code).sort("trade_date")
    previous = pl.coalesce("pre_close", pl.col("close").shift(1))
    return series.select("trade_date", ret=pl.col("close") / previous - 1).drop_nulls().rename({"ret": "return"})


def all_a_returns(index_daily: pl.DataFrame, bars: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Daily returns of the whole market: the source's all-A index when stored ('official'), else computed
    from the bars ('computed'): float-cap weighted over the stocks with a previous-day float cap (a new listing
    or a resumed stock joins the next day), equal-weighted on a day where no stock has one (a source without
    float caps). Returns (trade_date, return) and the source label."""
    official = index_returns(index_daily, ALL_A_INDEX)
    if official.height:
        return official, "official"
    day_no = calendar.trading_day_index()
    # A listing day's return is over the offer price (a source with reference closes has it, e.g. +200% for a
    # registration IPO): an index adds a new listing later, so neither average counts it.
    listing_day = (pl.col("listing_age") == 1).fill_null(False) if "listing_age" in bars.columns else pl.lit(False)
    stocks = (bars.select("trade_date", "code", "close", "pre_close", "float_mcap", listing_day=listing_day)
              .join(day_no, on="trade_date").sort("code", "trade_date")
              .with_columns(ret=pl.col("close") / pl.col("pre_close") - 1,
                            weight=pl.when(pl.col("day_no").shift(1).over("code") == pl.col("day_no") - 1)
                            .then(pl.col("float_mcap").shift(1).over("code")))
              .filter(pl.col("ret").is_not_null() & ~pl.col("listing_day")))
    daily = stocks.group_by("trade_date").agg(
        weighted=(pl.col("ret") * pl.col("weight")).sum() / pl.col("weight").sum(),
        equal=pl.col("ret").mean(), weighed=pl.col("weight").is_not_null().any())
    series = daily.select("trade_date", ret=pl.when(pl.col("weighed")).then("weighted").otherwise("equal"))
    return series.sort("trade_date").rename({"ret": "return"}), "computed"


