"""The one source interface every implementation fulfils, and its frame contracts."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

# The columns (and types) of every source's daily bars; absent data is null.
RAW_QUOTE_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "code": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "pre_close": pl.Float64(),  # the exchange reference close (ex-rights adjusted) where the source has it
    "volume": pl.Int64(),  # shares
    "amount": pl.Float64(),  # CNY
    "turnover_rate": pl.Float64(),  # fraction of float shares
    "float_mcap": pl.Float64(),  # CNY
    "is_st": pl.Boolean(),
}
SECURITIES_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "name": pl.String(),
    "exchange": pl.String(),
    "board": pl.String(),
    "list_date": pl.Date(),  # null when the source does not know it (listed before its history starts)
    "delist_date": pl.Date(),
}


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select the contract's columns in order, adding missing ones as null and casting the rest."""
    return df.select(
        (pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c)) for c, t in schema.items()
    )


class MarketSource(dg.ConfigurableResource):
    """Market data for the pipeline. Downstream assets never know which implementation ran."""

    def source_name(self) -> str:
        raise NotImplementedError

    def _unsupported(self, dataset: str) -> NotImplementedError:
        return NotImplementedError(f"source {self.source_name()!r} does not provide {dataset}")

    def securities(self) -> pl.DataFrame:
        """Securities master (SECURITIES_SCHEMA), including delisted stocks where known."""
        raise self._unsupported("securities")

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Full-market daily bars for start..end inclusive (RAW_QUOTE_SCHEMA)."""
        raise self._unsupported("daily_quotes")

    def fund_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Per stock and day: main_net_inflow, northbound_net_inflow (CNY; northbound null after 2024-08-16)."""
        raise self._unsupported("fund_flows")

    def attention(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Per stock and day: browse_count, watchlist_adds, click_count."""
        raise self._unsupported("attention")

    def index_membership(self) -> pl.DataFrame:
        """CSI 300/500/1000/2000 membership snapshots: index_code, code, effective_date."""
        raise self._unsupported("index_membership")

    def industry_history(self) -> pl.DataFrame:
        """SW level-1 classification history: code, start_date, industry_name, taxonomy."""
        raise self._unsupported("industry_history")

    def concept_membership(self) -> pl.DataFrame:
        """Concept board membership snapshot: concept_name, code."""
        raise self._unsupported("concept_membership")

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Index series: trade_date, index_code, index_name, pre_close, close, amount."""
        raise self._unsupported("index_daily")

    def margin_balance(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Whole-market margin balance (融资融券余额, CNY): trade_date, margin_balance."""
        raise self._unsupported("margin_balance")
