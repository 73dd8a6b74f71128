"""The one source interface every implementation fulfils, and its frame contracts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

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
# Per-stock northbound data ended when HKEX moved to quarterly disclosure; later days have none by design.
NORTHBOUND_LAST_DAY = dt.date(2024, 8, 16)
ALL_A_INDEX = "all_a"  # the whole-market index every source provides under this code

MAIN_FLOW_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(), "code": pl.String(), "main_net_inflow": pl.Float64(),  # CNY
}
NORTHBOUND_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(), "code": pl.String(),
    "holding_shares": pl.Float64(),  # shares held through Stock Connect, where the source publishes them
    "northbound_net_inflow": pl.Float64(),  # CNY
}
# Attention components differ by source; each is null where the source has no such measure.
ATTENTION_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(), "code": pl.String(),
    "browse_count": pl.Int64(), "watchlist_adds": pl.Int64(), "click_count": pl.Int64(),
    "attention_index": pl.Float64(),  # East Money 关注指数
    "hot_rank": pl.Int32(),  # East Money popularity rank, 1 = most watched
    "new_follower_share": pl.Float64(), "loyal_follower_share": pl.Float64(),  # fractions
}
INDEX_MEMBERSHIP_SCHEMA: dict[str, pl.DataType] = {
    "index_code": pl.String(), "code": pl.String(), "effective_date": pl.Date(), "weight": pl.Float64(),
}
INDUSTRY_HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(), "start_date": pl.Date(), "industry_code": pl.String(), "industry_name": pl.String(),
    "taxonomy": pl.String(),  # sw2014 before 2021-07-30, sw2021 from then on
}
CONCEPT_MEMBERSHIP_SCHEMA: dict[str, pl.DataType] = {
    "concept_name": pl.String(), "code": pl.String(), "snapshot_date": pl.Date(),
}
INDEX_DAILY_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(), "index_code": pl.String(), "index_name": pl.String(), "pre_close": pl.Float64(),
    "close": pl.Float64(), "amount": pl.Float64(),
}
MARGIN_SCHEMA: dict[str, pl.DataType] = {"trade_date": pl.Date(), "margin_balance": pl.Float64()}
# A stock-day on which the exchange suspended trading: no bar; the reference close and ST flag of the day.
SUSPENSION_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(), "code": pl.String(), "pre_close": pl.Float64(), "is_st": pl.Boolean(),
}

SECURITIES_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String(),
    "name": pl.String(),
    "exchange": pl.String(),
    "board": pl.String(),
    "list_date": pl.Date(),  # null when the source does not know it (listed before its history starts)
    "delist_date": pl.Date(),
}


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """No rows, the contract's columns."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select the contract's columns in order, adding missing ones as null and casting the rest."""
    if df.width == 0:
        return empty_frame(schema)  # selecting literals from a frame without columns would make one row
    return df.select(
        (pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c)) for c, t in schema.items()
    )


DATASETS = ("securities", "daily_quotes", "limit_up_pools", "main_fund_flows", "northbound_flows", "attention",
            "index_membership", "industry_history", "concept_membership", "index_daily", "margin_balance",
            "suspensions")
# Datasets a source without them still answers, with no rows: the tables downstream are computed without them
# (no pool → the reconciliation records 'no pool' days; no flows → STMS's B is 0, b_components 'none').
EMPTY_WHEN_ABSENT = ("limit_up_pools", "main_fund_flows", "northbound_flows", "suspensions")
# Reference datasets a membership folder (SENTIMENT_MEMBERSHIP_DIR) supplies to a source without them.
MEMBERSHIP_DATASETS = ("industry_history", "index_membership", "concept_membership")


class MarketSource(dg.ConfigurableResource):
    """Market data for the pipeline. Downstream assets never know which implementation ran."""

    # A folder of membership files (sources/membership_folder.py) for the MEMBERSHIP_DATASETS this source lacks.
    membership_dir: str | None = None

    def source_name(self) -> str:
        raise NotImplementedError

    def _unsupported(self, dataset: str) -> NotImplementedError:
        return NotImplementedError(f"source {self.source_name()!r} does not provide {dataset}")

    def implements(self, dataset: str) -> bool:
        """Whether this source's own data has `dataset` (one of DATASETS)."""
        return getattr(type(self), dataset) is not getattr(MarketSource, dataset)

    def provides(self, dataset: str) -> bool:
        """Whether the pipeline gets `dataset` from this source: its own data, a membership folder, or rows-less
        answers for the EMPTY_WHEN_ABSENT datasets."""
        return (self.implements(dataset) or dataset in EMPTY_WHEN_ABSENT
                or (dataset in MEMBERSHIP_DATASETS and bool(self.membership_dir)))

    def origin(self, dataset: str) -> str:
        """Where `dataset` comes from, for metadata: the source, the membership folder, or nowhere."""
        if self.implements(dataset):
            return f"source {self.source_name()}"
        if dataset in MEMBERSHIP_DATASETS and self.membership_dir:
            return f"membership folder {self.membership_dir}"
        return f"none: source {self.source_name()} does not provide {dataset}"

    def missing_datasets(self) -> list[str]:
        return [d for d in DATASETS if not self.provides(d)]

    def securities(self) -> pl.DataFrame:
        """Securities master (SECURITIES_SCHEMA), including delisted stocks where known."""
        raise self._unsupported("securities")

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Full-market daily bars for start..end inclusive (RAW_QUOTE_SCHEMA)."""
        raise self._unsupported("daily_quotes")

    def limit_up_pools(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Published limit-up, previous-day, broken and limit-down pools (pools.POOL_SCHEMA); empty if none."""
        from sentiment_pipeline.sources.pools import empty_pools

        return empty_pools()

    def main_fund_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Per stock and day: main-force net inflow (MAIN_FLOW_SCHEMA); no rows by default."""
        return empty_frame(MAIN_FLOW_SCHEMA)

    def northbound_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Per stock and day up to 2024-08-16: northbound net inflow (NORTHBOUND_SCHEMA); no rows by default."""
        return empty_frame(NORTHBOUND_SCHEMA)

    def attention(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Per stock and day: the attention components the source has (ATTENTION_SCHEMA)."""
        raise self._unsupported("attention")

    def _membership(self, dataset: str) -> pl.DataFrame:
        if not self.membership_dir:
            raise self._unsupported(dataset)
        from sentiment_pipeline.sources import membership_folder

        return getattr(membership_folder, dataset)(self.membership_dir)

    def index_membership(self) -> pl.DataFrame:
        """CSI 300/500/1000/2000 membership snapshots (INDEX_MEMBERSHIP_SCHEMA); the membership folder's lists
        for a source without its own."""
        return self._membership("index_membership")

    def industry_history(self) -> pl.DataFrame:
        """SW level-1 classification history (INDUSTRY_HISTORY_SCHEMA); the folder's for a source without."""
        return self._membership("industry_history")

    def concept_membership(self) -> pl.DataFrame:
        """Concept board membership snapshots (CONCEPT_MEMBERSHIP_SCHEMA); the folder's for a source without."""
        return self._membership("concept_membership")

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Index series (INDEX_DAILY_SCHEMA); the whole market is index_code ALL_A_INDEX."""
        raise self._unsupported("index_daily")

    def margin_balance(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Whole-market margin balance (融资融券余额, CNY) (MARGIN_SCHEMA)."""
        raise self._unsupported("margin_balance")

    def suspensions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Suspended stock-days (SUSPENSION_SCHEMA) where the source lists them; no rows by default (a source
        without them: a suspension is a day without a bar)."""
        return empty_frame(SUSPENSION_SCHEMA)

    def quote_corrections(self, start: dt.date, end: dt.date) -> pl.DataFrame | None:
        """Per day, what reference data changed in this source's bars (a tdx folder completed by baostock's
        reference closes and ST flags): trade_date and counts; None when nothing completes the bars."""
        return None

    def is_simulated(self) -> bool:
        """A simulated market: its results are never evidence about the real one."""
        return False

    def first_day(self) -> dt.date | None:
        """The first trading day this source has bars for; None when it reaches further back than the partitions."""
        return None

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        """Long one-time work before the first fetch (simulating the synthetic market, reading a folder),
        telling `progress` how far it is; nothing by default."""

    def fetch_report(self) -> dict:
        """Counters of the last fetches (store hits, network calls, retries) for asset metadata."""
        return {}
