"""Our limit-up detection on the real TDX bars against THS's published limit-up pool (skipped without ../shared)."""

import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.bars import build_daily_bars
from sentiment_pipeline.sources.tdx import TdxSource

from .conftest import REAL_DATA

pytestmark = pytest.mark.skipif(not (REAL_DATA / "tdx" / "vipdoc").is_dir(), reason="../shared/data/real is absent")
START, END = dt.date(2023, 1, 3), dt.date(2023, 2, 24)


def test_limit_up_counts_match_the_ths_pool():
    source = TdxSource(vipdoc_dir=str(REAL_DATA / "tdx" / "vipdoc"))
    bars = build_daily_bars(source.daily_quotes(START, END), source.securities())
    ours = bars.filter("is_limit_up").select("trade_date", "code")
    ths = (
        pl.read_csv(REAL_DATA / "ths" / "2023-limit_up.csv", infer_schema_length=0)
        .select(trade_date=pl.col("涨停日期").str.to_date(), code=pl.col("股票代码").str.slice(0, 6))
        .filter(pl.col("trade_date").is_between(START, END))
    )
    ths_days = ths["trade_date"].unique()
    ours = ours.filter(pl.col("trade_date").is_in(ths_days.implode()))
    found = ths.join(ours, on=["trade_date", "code"]).height / ths.height
    assert found >= 0.99, f"only {found:.2%} of THS limit-ups detected"
    per_day = (
        ths.group_by("trade_date").len("ths")
        .join(ours.group_by("trade_date").len("ours"), on="trade_date", how="left")
    )
    assert per_day.height >= 30
    # THS leaves out unopened new listings; everything else should agree within a few stocks a day.
    assert (per_day["ours"] - per_day["ths"]).abs().max() <= 6, per_day.sort("trade_date")
