"""`SENTIMENT_SOURCE=synthetic`: the simulated market of synthetic_market.py, read from its Parquet cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from sentiment_pipeline.sources.base import RAW_QUOTE_SCHEMA, SECURITIES_SCHEMA, MarketSource, conform
from sentiment_pipeline.sources.synthetic_market import ensure_cached


class SyntheticSource(MarketSource):
    """Deterministic simulated A-share market; the same seed gives the same market."""

    seed: int = 7
    cache_dir: str = "data/cache"

    def source_name(self) -> str:
        return "synthetic"

    def _scan(self, dataset: str) -> pl.LazyFrame:
        return pl.scan_parquet(ensure_cached(Path(self.cache_dir), self.seed) / f"{dataset}.parquet")

    def _range(self, dataset: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._scan(dataset).filter(pl.col("trade_date").is_between(start, end)).collect()

    def securities(self) -> pl.DataFrame:
        return conform(self._scan("securities").collect(), SECURITIES_SCHEMA)

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._range("daily_quotes", start, end), RAW_QUOTE_SCHEMA)

    def fund_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._range("fund_flows", start, end)

    def attention(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._range("attention", start, end)

    def index_membership(self) -> pl.DataFrame:
        return self._scan("index_membership").collect()

    def industry_history(self) -> pl.DataFrame:
        return self._scan("industry_history").collect()

    def concept_membership(self) -> pl.DataFrame:
        return self._scan("concept_membership").collect()

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._range("index_daily", start, end)

    def margin_balance(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return self._range("margin_balance", start, end)
