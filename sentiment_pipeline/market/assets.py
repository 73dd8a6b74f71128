"""Market data assets: the raw datasets as the source gives them, and the validated bars with limit prices.
Thin wiring around bars.py; the rules live there and in limits.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import datetime as dt
import os
import sys
from collections.abc import Callable

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.market import membership
from sentiment_pipeline.market import tables as t
from sentiment_pipeline.market.bars import build_daily_bars
from sentiment_pipeline.market.membership import INDEX_LIST_SIZE
from sentiment_pipeline.platform import calendar, storage
from sentiment_pipeline.platform.tables import asset_key, table_name
from sentiment_pipeline.platform.partitions import partition_dates, partition_days
from sentiment_pipeline.platform.wiring import range_label, table_asset, validated
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY, MarketSource


def network_error(exc: BaseException) -> bool:
    """A fetch that failed on the network, after the source's own request retries: FetchFailed (the akshare
    source's fetcher, looked up only once loaded: pandas comes with it), ConnectionError, TimeoutError."""
    fetch = sys.modules.get("sentiment_pipeline.sources.fetch")
    return isinstance(exc, (ConnectionError, TimeoutError)) or (fetch is not None and isinstance(exc, fetch.FetchFailed))

OWNER = "team:market-data"


def fetched(context: dg.AssetExecutionContext, table: str, call: Callable[[], pl.DataFrame]) -> pl.DataFrame:
    """The source's frame; a fetch that still fails after the source's own request retries (the network, not
    the data) asks Dagster to run the step again with exponential backoff: SENTIMENT_STEP_RETRIES times (3),
    after SENTIMENT_STEP_RETRY_DELAY seconds (60), then twice and four times that. Anything else (an upstream
    schema change, a snapshot of the wrong day, a validation failure) fails at once."""
    try:
        return call()
    except Exception as exc:
        if not network_error(exc):
            raise
        retries = int(os.environ.get("SENTIMENT_STEP_RETRIES", "3"))
        if context.retry_number >= retries:
            context.log.error(f"{table}: the fetch failed after {retries} step retries: {exc}")
            raise
        wait = float(os.environ.get("SENTIMENT_STEP_RETRY_DELAY", "60")) * 2 ** context.retry_number
        context.log.warning(f"{table}: {exc}; step retry {context.retry_number + 1} of {retries} in {wait:.0f} s")
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=wait) from exc


def _prepared(context: dg.AssetExecutionContext, market_source: MarketSource) -> MarketSource:
    """The source after its one-time work (the synthetic market's first simulation), logged as it goes."""
    market_source.prepare(context.log.info)
    return market_source


def _source_report(market_source: MarketSource) -> dict:
    return {"source": market_source.source_name(), **market_source.fetch_report()}


def _missing_days(df: pl.DataFrame, expected: list[dt.date]) -> list[dt.date]:
    return sorted(set(expected) - set(df["trade_date"].unique().to_list()))


def _warn_missing_days(context, table: str, market_source: MarketSource, df: pl.DataFrame,
                       expected: list[dt.date]) -> list[dt.date]:
    missing = _missing_days(df, expected)
    if missing:
        context.log.warning(f"{table}: source {market_source.source_name()} has no rows for {len(missing)} "
                            f"trading day(s): {', '.join(map(str, missing[:10]))}")
    return missing


def _stored_table(duckdb: DuckDBResource, table: str) -> pl.DataFrame | None:
    with duckdb.get_connection() as conn:
        return storage.query(conn, f"select * from {table}", []) if storage.table_exists(conn, table) else None


@table_asset(t.Securities, group="raw", owner=OWNER, partitioned=False)
def raw_securities(context: dg.AssetExecutionContext, market_source: MarketSource, duckdb: DuckDBResource):
    securities = fetched(context, "raw.securities", _prepared(context, market_source).securities)
    # Rewritten only when it changed: an unchanged reference table costs neither a write nor a publish.
    yield from validated(context, securities, t.Securities, run_metadata=_source_report(market_source),
                         stored=_stored_table(duckdb, "raw.securities"))


def _warn_off_calendar(context, table: str, market_source: MarketSource, df: pl.DataFrame) -> None:
    """Rows dated on days the trading calendar does not list are not stored (there is no partition for them):
    say so, with the days, instead of dropping them unseen."""
    trading = set(calendar.trading_days())
    off = sorted(d for d in df["trade_date"].unique().to_list() if d is not None and d not in trading)
    if off:
        rows = df.filter(pl.col("trade_date").is_in(off)).height
        context.log.warning(
            f"{table}: source {market_source.source_name()} has {rows:,} row(s) on {len(off)} day(s) the trading "
            f"calendar does not list: {', '.join(map(str, off[:10]))}; they are not stored (the calendar is "
            "akshare's calendar.json: if the market traded that day, upgrade akshare)")


def _no_empty_days(context, table: str, market_source: MarketSource, df: pl.DataFrame,
                   expected: list[dt.date]) -> None:
    """A trading day without a single bar is a gap in the source, not a market state: fail before anything is
    written, instead of storing an empty day that every later reference close, streak and phase would be
    computed across."""
    missing = _missing_days(df, expected)
    if missing:
        message = (f"{table}: source {market_source.source_name()} has no bars for {len(missing)} trading day(s) of "
                   f"partition(s) {range_label(context)}: {', '.join(map(str, missing[:10]))}"
                   f"{' …' if len(missing) > 10 else ''}. A trading day without bars is a gap in the source; "
                   "nothing was written. Run the days the source has, or fill the gap (tdx: download the folder "
                   "again).")
        context.log.error(message)
        raise dg.Failure(description=message, metadata={"days_without_rows": len(missing)}, allow_retries=False)


@table_asset(t.RawDailyQuotes, group="raw", owner=OWNER)
def raw_daily_quotes(context: dg.AssetExecutionContext, market_source: MarketSource):
    start, end = partition_dates(context)
    keys = partition_days(context)
    df = fetched(context, "raw.daily_quotes", lambda: _prepared(context, market_source).daily_quotes(start, end))
    _warn_off_calendar(context, "raw.daily_quotes", market_source, df)
    df = df.filter(pl.col("trade_date").is_in(keys))
    _no_empty_days(context, "raw.daily_quotes", market_source, df, keys)
    corrections = market_source.quote_corrections(start, end)
    day_metadata, totals = None, {}
    if corrections is not None:
        corrections = corrections.filter(pl.col("trade_date").is_in(keys))
        by_day = {row.pop("trade_date"): row for row in corrections.iter_rows(named=True)}
        day_metadata = lambda _df: by_day  # noqa: E731
        totals = {f"{c}_total": int(corrections[c].sum()) for c in corrections.columns if c != "trade_date"}
        context.log.info("raw.daily_quotes: " + ", ".join(f"{k.removesuffix('_total')} {v:,}" for k, v in totals.items()))
    yield from validated(context, df, t.RawDailyQuotes, day_metadata=day_metadata,
                         run_metadata={**totals, **_source_report(market_source)})


def _limit_counts(df: pl.DataFrame) -> dict:
    per_day = df.group_by("trade_date").agg(limit_ups=pl.col("is_limit_up").sum(),
                                            limit_downs=pl.col("is_limit_down").sum())
    return {d: {"limit_ups": int(u), "limit_downs": int(n)} for d, u, n in per_day.iter_rows()}


@table_asset(t.DailyBars, group="core", owner=OWNER,
             ins={"quotes": dg.AssetIn(asset_key(t.RawDailyQuotes)), "securities": dg.AssetIn(asset_key(t.Securities))})
def daily_bars(context: dg.AssetExecutionContext, quotes: pl.DataFrame, securities: pl.DataFrame):
    df = build_daily_bars(quotes, securities)
    yield from validated(context, df, t.DailyBars, day_metadata=_limit_counts, run_metadata={
        "limit_ups": int(df["is_limit_up"].sum()), "no_limit_rows": int(df["limit_up_price"].null_count())})


def _index_group_metadata(df: pl.DataFrame) -> dict:
    """Per day: each index's members without a bar that day ('000300 3 · 000905 7')."""
    days: dict = {}
    for day, index_code, missing in df.select("trade_date", "index_code", "members_without_bar").iter_rows():
        entry = days.setdefault(day, {"members_without_bar": ""})
        entry["members_without_bar"] += f"{' · ' if entry['members_without_bar'] else ''}{index_code} {missing}"
    return days


LIST_SIZE_CHECK = "csi_list_size"


@table_asset(t.IndexGroups, group="core", owner=OWNER,
             ins={"bars": dg.AssetIn(asset_key(t.DailyBars), metadata={"columns": ["trade_date", "code"]}),
                  "index_membership": dg.AssetIn(asset_key(t.IndexMembership))},
             check_specs=[dg.AssetCheckSpec(
                 LIST_SIZE_CHECK, asset=asset_key(t.IndexGroups),
                 description="the CSI 300 / 500 / 1000 list in force holds 300 / 500 / 1,000 codes every day (a "
                             "warning: a list cut short upstream, or a partial one such as a test's)")])
def index_groups(context: dg.AssetExecutionContext, bars: pl.DataFrame, index_membership: pl.DataFrame):
    df = membership.index_group_days(bars, index_membership)
    nominal = pl.col("index_code").replace_strict(INDEX_LIST_SIZE, default=None, return_dtype=pl.Int32)
    off_size = (df.filter((pl.col("index_code") != "932000") & (pl.col("list_size") != nominal))
                .select("index_code", "list_date", "list_size").unique().sort("index_code", "list_date"))
    yield dg.AssetCheckResult(
        asset_key=asset_key(t.IndexGroups), check_name=LIST_SIZE_CHECK, passed=off_size.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"lists_off_size": off_size.height,
                  "first_lists_off_size": "; ".join(f"{c} {d} {n}" for c, d, n in off_size.head(5).iter_rows())})
    missing = sorted(set(INDEX_LIST_SIZE) - set(df["index_code"].unique().to_list()))
    if missing:
        context.log.info(f"core.index_groups: no list in force for {', '.join(missing)} in "
                         f"{range_label(context)} (the source or membership folder has none)")
    yield from validated(context, df, t.IndexGroups, day_metadata=_index_group_metadata, run_metadata={
        "indexes_without_list": ", ".join(missing),
        "most_members_without_bar": int(df["members_without_bar"].max() or 0) if df.height else 0})


class RawDatasetConfig(dg.Config):
    """What to do with stored rows the source's answer lacks."""

    # False: a day (or a reference table) the source answers without rows keeps what is stored, with a warning
    # (a source that does not provide the dataset, a folder of pools not given this time). True: replaced by
    # nothing, for a source that retracted its data (`--replace-with-empty` on the main command).
    replace_with_empty: bool = False


def _keep_stored_days(context, table: str, market_source: MarketSource, df: pl.DataFrame, days: list[dt.date],
                      conn) -> tuple[pl.DataFrame, int]:
    """The answer plus the stored rows of the days it has no rows for (kept, not replaced by nothing)."""
    empty = sorted(set(days) - set(df["trade_date"].unique().to_list())) if days else []
    if not empty or not storage.table_exists(conn, table):
        return df, 0
    kept = storage.query(conn, f"select * from {table} where trade_date in (select unnest(?::date[]))", [empty])
    if kept.is_empty():
        return df, 0
    kept_days = kept["trade_date"].n_unique()
    context.log.warning(
        f"{table}: source {market_source.source_name()} has no rows for {kept_days} stored day(s) "
        f"({', '.join(map(str, sorted(kept['trade_date'].unique().to_list())[:5]))}{' …' if kept_days > 5 else ''}):"
        f" kept the {kept.height:,} stored rows. To replace them with nothing: --replace-with-empty (the main "
        "command) or the asset's config replace_with_empty: true")
    return pl.concat([df, kept.select(df.columns).cast(df.schema)], how="vertical"), kept_days


def _raw_daily_asset(model, method: str, expected_until: dt.date | None = None):
    """A daily raw dataset: the source method over the partition range, validated, stored as given; days the
    source has no rows for keep their stored rows unless the run says otherwise."""
    table = table_name(model)

    @table_asset(model, group="raw", owner=OWNER)
    def raw_daily(context: dg.AssetExecutionContext, config: RawDatasetConfig, market_source: MarketSource,
                  duckdb: DuckDBResource):
        start, end = partition_dates(context)
        keys = partition_days(context)
        df = fetched(context, table, lambda: getattr(_prepared(context, market_source), method)(start, end)).filter(
            pl.col("trade_date").is_in(keys))
        if market_source.implements(method):
            expected = [d for d in keys if expected_until is None or d <= expected_until]
            missing = _warn_missing_days(context, table, market_source, df, expected)
        else:  # by design, said once rather than as a missing day each
            context.log.info(f"{table}: source {market_source.source_name()} does not provide {method}; the table "
                             "gets no rows and what reads it is computed without it")
            missing = []
        kept_days = 0
        if not config.replace_with_empty:
            with duckdb.get_connection() as conn:
                df, kept_days = _keep_stored_days(context, table, market_source, df, keys, conn)
        yield from validated(context, df, model, run_metadata={
            "days_without_rows": len(missing), "stored_days_kept": kept_days, "origin": market_source.origin(method),
            **_source_report(market_source)})

    return raw_daily


def _reference_dates(df: pl.DataFrame) -> dict:
    """The dates a reference table's rows are known as of: its first and last snapshot or list."""
    column = next((c for c in ("snapshot_date", "effective_date", "start_date") if c in df.columns), None)
    if column is None or df.is_empty():
        return {}
    return {"membership_first_date": str(df[column].min()), "membership_as_of": str(df[column].max())}


def _raw_reference_asset(model, method: str):
    """A reference dataset the source gives whole (membership, classification history). An empty answer keeps
    the stored table unless the run says otherwise."""
    table = table_name(model)

    @table_asset(model, group="raw", owner=OWNER, partitioned=False)
    def raw_reference(context: dg.AssetExecutionContext, config: RawDatasetConfig, market_source: MarketSource,
                      duckdb: DuckDBResource):
        df = fetched(context, table, getattr(_prepared(context, market_source), method))
        stored = _stored_table(duckdb, table)
        kept = False
        if df.is_empty() and not config.replace_with_empty and stored is not None and stored.height:
            context.log.warning(
                f"{table}: source {market_source.source_name()} answered without rows: kept the {stored.height:,} "
                "stored rows. To replace them with nothing: --replace-with-empty (the main command) or the "
                "asset's config replace_with_empty: true")
            df, kept = stored, True
        yield from validated(context, df, model, stored=stored, run_metadata={
            "stored_rows_kept": kept, "origin": market_source.origin(method), **_reference_dates(df),
            **_source_report(market_source)})

    return raw_reference


raw_datasets = [
    _raw_daily_asset(t.LimitUpPools, "limit_up_pools"),
    _raw_daily_asset(t.MainFundFlows, "main_fund_flows"),
    _raw_daily_asset(t.NorthboundFlows, "northbound_flows", expected_until=NORTHBOUND_LAST_DAY),
    _raw_daily_asset(t.Attention, "attention"),
    _raw_daily_asset(t.IndexDaily, "index_daily"),
    _raw_daily_asset(t.MarginBalance, "margin_balance"),
    _raw_daily_asset(t.Suspensions, "suspensions"),
    _raw_reference_asset(t.IndexMembership, "index_membership"),
    _raw_reference_asset(t.IndustryHistory, "industry_history"),
    _raw_reference_asset(t.ConceptMembership, "concept_membership"),
]

assets = [raw_securities, raw_daily_quotes, daily_bars, index_groups, *raw_datasets]
# The datasets whose op takes RawDatasetConfig (the main command's --replace-with-empty).
RAW_SIDE_DATASETS = {key for asset in raw_datasets for key in asset.keys}
TABLES = [t.Securities, t.RawDailyQuotes, t.DailyBars, t.LimitUpPools, t.MainFundFlows, t.NorthboundFlows,
          t.Attention, t.IndexDaily, t.MarginBalance, t.IndexMembership, t.IndustryHistory, t.ConceptMembership,
          t.IndexGroups, t.Suspensions]
