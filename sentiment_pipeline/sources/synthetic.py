"""`SENTIMENT_SOURCE=synthetic`: the simulated market of synthetic_market.py, read from its Parquet cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.base import (
    ATTENTION_SCHEMA,
    CONCEPT_MEMBERSHIP_SCHEMA,
    INDEX_DAILY_SCHEMA,
    INDEX_MEMBERSHIP_SCHEMA,
    INDUSTRY_HISTORY_SCHEMA,
    MAIN_FLOW_SCHEMA,
    MARGIN_SCHEMA,
    NORTHBOUND_LAST_DAY,
    NORTHBOUND_SCHEMA,
    RAW_QUOTE_SCHEMA,
    SECURITIES_SCHEMA,
    MarketSource,
    conform,
)
from sentiment_pipeline.sources.pools import POOL_SCHEMA, empty_pools
from sentiment_pipeline.sources.synthetic_market import ensure_cached

# The simulated vendor's pools carry streaks counted over this many trading days before the range.
POOL_LOOKBACK_DAYS = 40


class SyntheticSource(MarketSource):
    """Deterministic simulated A-share market; the same seed gives the same market."""

    seed: int = 7
    cache_dir: str = "data/cache"

    def source_name(self) -> str:
        return "synthetic"

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        ensure_cached(Path(self.cache_dir), self.seed, progress)

    def is_simulated(self) -> bool:
        return True

    def first_day(self) -> dt.date | None:
        return self._scan("daily_quotes").select(pl.col("trade_date").min()).collect().item()

    def _scan(self, dataset: str) -> pl.LazyFrame:
        return pl.scan_parquet(ensure_cached(Path(self.cache_dir), self.seed) / f"{dataset}.parquet")

    def _range(self, dataset: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._scan(dataset).filter(pl.col("trade_date").is_between(start, end)).collect()

    def securities(self) -> pl.DataFrame:
        return conform(self._scan("securities").collect(), SECURITIES_SCHEMA)

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("daily_quotes", start, end), RAW_QUOTE_SCHEMA)

    def limit_up_pools(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Pools as a vendor would publish them for the simulated market: limit-up (without new listings'
        unopened runs, as East Money does), the previous day's limit-ups, broken and limit-down."""
        from sentiment_pipeline.market.bars import build_daily_bars
        from sentiment_pipeline.ladder.streaks import Universe, compute_ladder, empty_seed

        days = calendar.trading_days()
        first = days[max(0, days.index(calendar.trading_days_between(start, end)[0]) - POOL_LOOKBACK_DAYS)]
        bars = build_daily_bars(self.daily_quotes(first, end), self.securities())
        ladder = compute_ladder(bars, empty_seed(), Universe(exclude_st=False, exclude_new_listing_run=False))
        df = bars.with_columns(streak=ladder["streak"], in_opening_run=ladder["in_opening_run"],
                               pct_change=pl.col("close") / pl.col("pre_close") - 1, name=pl.lit(None, pl.String))
        links = calendar.previous_day_links()
        limit_up = df.filter(pl.col("is_limit_up") & ~pl.col("in_opening_run")).with_columns(pool=pl.lit("limit_up"))
        # Day t's "previous" pool lists day t-1's limit-ups with their height then.
        previous = limit_up.join(links.rename({"trade_date": "next_day", "prev_trade_date": "trade_date"}),
                                 on="trade_date").with_columns(trade_date=pl.col("next_day"), pool=pl.lit("previous"))
        broken = df.filter("is_broken").with_columns(pool=pl.lit("broken"), streak=pl.lit(None, pl.Int32))
        limit_down = df.filter("is_limit_down").with_columns(pool=pl.lit("limit_down"), streak=pl.lit(None, pl.Int32))
        pools = pl.concat([conform(p, POOL_SCHEMA) for p in (limit_up, previous, broken, limit_down)])
        return pools.filter(pl.col("trade_date").is_between(start, end)) if pools.height else empty_pools()

    def main_fund_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("fund_flows", start, end), MAIN_FLOW_SCHEMA)

    def northbound_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        flows = self._range("fund_flows", start, min(end, NORTHBOUND_LAST_DAY))
        return conform(flows.filter(pl.col("northbound_net_inflow").is_not_null()), NORTHBOUND_SCHEMA)

    def attention(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("attention", start, end), ATTENTION_SCHEMA)

    def index_membership(self) -> pl.DataFrame:
        return conform(self._scan("index_membership").collect(), INDEX_MEMBERSHIP_SCHEMA)

    def industry_history(self) -> pl.DataFrame:
        return conform(self._scan("industry_history").collect(), INDUSTRY_HISTORY_SCHEMA)

    def concept_membership(self) -> pl.DataFrame:
        # The simulated concepts never change: one snapshot valid from the first partition on.
        return conform(self._scan("concept_membership").collect().with_columns(
            snapshot_date=pl.lit(calendar.FIRST_PARTITION)), CONCEPT_MEMBERSHIP_SCHEMA)

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("index_daily", start, end), INDEX_DAILY_SCHEMA)

    def margin_balance(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("margin_balance", start, end), MARGIN_SCHEMA)
