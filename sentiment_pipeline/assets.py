"""Dagster assets: thin wiring around the pure functions in bars.py, ladder.py and phases.py.

Every partitioned asset runs a whole partition range in one run (single-run
backfill policy), validates its frame with pandera before returning it, and
reports the validation as an asset check. A failed validation raises, so the
IO manager writes nothing for the range and downstream assets do not run.
"""


import datetime as dt
import warnings

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline import calendar, storage
from sentiment_pipeline.bars import build_daily_bars
from sentiment_pipeline.ladder import Universe, compute_ladder, ladder_daily
from sentiment_pipeline.partitions import partition_dates, partition_days, trading_day_partitions
from sentiment_pipeline.phases import classify_phases
from sentiment_pipeline.reconcile import BARS_COLUMNS, LADDER_COLUMNS, reconcile_limit_ups, summarize
from sentiment_pipeline.schemas import (
    Attention,
    ConceptMembership,
    DailyBars,
    IndexDaily,
    IndexMembership,
    IndustryHistory,
    LimitUpDisagreements,
    LimitUpPools,
    LimitUpReconciliation,
    MainFundFlows,
    MarginBalance,
    NorthboundFlows,
    LadderDaily,
    LimitLadder,
    PhaseDaily,
    RawDailyQuotes,
    Securities,
    validate,
)
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY, MarketSource

# Single-run backfill policies are what the pipeline relies on (docs/dagster.md); the beta notice is noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")

SCHEMA_CHECK = "schema_valid"
PARTITIONED = {
    "partitions_def": trading_day_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "metadata": {"partition_expr": "trade_date"},
    "pool": "duckdb",
}

RAW_SECURITIES = dg.AssetKey(["raw", "securities"])
RAW_DAILY_QUOTES = dg.AssetKey(["raw", "daily_quotes"])
DAILY_BARS = dg.AssetKey(["core", "daily_bars"])
LIMIT_LADDER = dg.AssetKey(["sentiment", "limit_ladder"])
LADDER_DAILY = dg.AssetKey(["sentiment", "ladder_daily"])
PHASE_DAILY = dg.AssetKey(["sentiment", "phase_daily"])


def _check(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(SCHEMA_CHECK, asset=key, description="pandera schema validation before the write")]


def _range_label(context: dg.AssetExecutionContext) -> str:
    if not context.has_partition_key_range:
        return "(unpartitioned)"
    r = context.partition_key_range
    return r.start if r.start == r.end else f"{r.start}...{r.end}"


def _validated(context: dg.AssetExecutionContext, df: pl.DataFrame, model, table: str, key: dg.AssetKey, metadata=None,
               output_name: str = "result"):
    """Yield the check result, then either the output or a failure naming table, column, partition and rows."""
    report = validate(df, model, table, _range_label(context))
    check_meta = {"rows": report.rows, "failures": report.failures.height}
    if not report.passed:
        check_meta["failure_cases"] = dg.MetadataValue.md(report.failures.head(20).to_pandas().to_markdown(index=False))
    yield dg.AssetCheckResult(
        asset_key=key, check_name=SCHEMA_CHECK, passed=report.passed, metadata=check_meta,
        severity=dg.AssetCheckSeverity.ERROR,
    )
    if not report.passed:
        context.log.error(report.message())
        raise dg.Failure(description=report.message(), metadata={"failures": report.failures.height})
    yield dg.Output(df, output_name=output_name, metadata={"rows": df.height, **(metadata or {})})


def _per_day_metadata(df: pl.DataFrame) -> dict:
    if df.is_empty():
        return {"days": 0}
    days = df["trade_date"]
    return {"days": days.n_unique(), "first_day": str(days.min()), "last_day": str(days.max())}


@dg.asset(
    key=RAW_SECURITIES, group_name="raw", pool="duckdb", check_specs=_check(RAW_SECURITIES),
    # Unpartitioned, but the policy lets `--partition-range` runs select the whole graph.
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Securities master from the source: code, name, exchange, board, listing and delisting dates.",
)
def raw_securities(context: dg.AssetExecutionContext, market_source: MarketSource):
    df = market_source.securities()
    yield from _validated(context, df, Securities, "raw.securities", RAW_SECURITIES,
                          {"source": market_source.source_name(), **market_source.fetch_report()})


@dg.asset(
    key=RAW_DAILY_QUOTES, group_name="raw", check_specs=_check(RAW_DAILY_QUOTES), **PARTITIONED,
    description="The source's daily bars as given, one row per stock and trading day (suspended days absent).",
)
def raw_daily_quotes(context: dg.AssetExecutionContext, market_source: MarketSource):
    start, end = partition_dates(context)
    keys = partition_days(context)
    df = market_source.daily_quotes(start, end).filter(pl.col("trade_date").is_in(keys))
    missing = sorted(set(keys) - set(df["trade_date"].unique().to_list()))
    if missing:
        context.log.warning(f"raw.daily_quotes: source {market_source.source_name()} has no bars for {len(missing)} "
                            f"trading day(s): {', '.join(map(str, missing[:10]))}")
    yield from _validated(context, df, RawDailyQuotes, "raw.daily_quotes", RAW_DAILY_QUOTES, {
        "source": market_source.source_name(), "days_without_bars": len(missing), **_per_day_metadata(df),
        **market_source.fetch_report()})


@dg.asset(
    key=DAILY_BARS, group_name="core", check_specs=_check(DAILY_BARS), **PARTITIONED,
    ins={"quotes": dg.AssetIn(RAW_DAILY_QUOTES), "securities": dg.AssetIn(RAW_SECURITIES)},
    description="Validated bars with board, ST flag, listing age, limit prices (rule table, fen half-up) and "
                "limit flags: is_limit_up, is_broken, is_one_word, is_limit_down.",
)
def daily_bars(context: dg.AssetExecutionContext, quotes: pl.DataFrame, securities: pl.DataFrame):
    df = build_daily_bars(quotes, securities)
    yield from _validated(context, df, DailyBars, "core.daily_bars", DAILY_BARS, {
        "limit_ups": int(df["is_limit_up"].sum()), "no_limit_rows": int(df["limit_up_price"].null_count()),
        **_per_day_metadata(df)})


class LadderConfig(dg.Config):
    """Universe of the sentiment statistics (the per-stock ladder keeps every stock)."""

    exclude_st: bool = True
    exclude_new_listing_run: bool = True


LADDER_INPUT_COLUMNS = ["trade_date", "code", "is_st", "listing_age", "is_limit_up", "is_broken", "is_limit_down",
                        "close", "pre_close"]


LADDER_INPUT_COLUMNS_STORED = ["trade_date", "code", "is_st", "listing_age", "is_limit_up", "is_broken",
                               "is_limit_down", "pct_change", "streak", "in_opening_run", "eligible",
                               "exclusion_reason"]


def _ladder_rows(bars: pl.DataFrame, seed: pl.DataFrame, universe: Universe) -> pl.DataFrame:
    bars = bars.with_columns(pct_change=pl.col("close") / pl.col("pre_close") - 1).drop("close", "pre_close")
    return compute_ladder(bars, seed, universe).select(list(LimitLadder.to_schema().columns))


@dg.asset(
    key=LIMIT_LADDER, group_name="sentiment", check_specs=_check(LIMIT_LADDER), **PARTITIONED,
    ins={"bars": dg.AssetIn(DAILY_BARS, metadata={"columns": LADDER_INPUT_COLUMNS})},
    deps=[dg.AssetDep(LIMIT_LADDER, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1))],
    description="Per stock and day: limit-up streak (连板, suspensions do not break it), eligibility for the "
                "sentiment statistics and the exclusion reason (ST, new listing's opening run).",
)
def limit_ladder(context: dg.AssetExecutionContext, config: LadderConfig, bars: pl.DataFrame, duckdb: DuckDBResource):
    start, end = partition_dates(context)
    universe = Universe(config.exclude_st, config.exclude_new_listing_run)
    with duckdb.get_connection() as conn:
        seed = storage.ladder_state_before(conn, start)
        ladder = _ladder_rows(bars, seed, universe)
        # Stored days after the range depend on its last state: recompute them, rewrite only if they changed.
        later = storage.read_after(conn, "sentiment.limit_ladder", end, LADDER_INPUT_COLUMNS_STORED)
        later_changed = 0
        if later.height:
            end_state = storage.latest_state(pl.concat([seed.with_columns(trade_date=pl.lit(start - dt.timedelta(1))),
                                                         ladder.select(seed.columns + ["trade_date"])],
                                                        how="diagonal_relaxed"))
            recomputed = compute_ladder(later.drop("streak", "in_opening_run", "eligible", "exclusion_reason"),
                                        end_state, universe).select(later.columns)
            later_changed = storage.count_changed(later, recomputed)
            if later_changed:
                storage.replace_days(conn, "sentiment.limit_ladder", recomputed)
                context.log.warning(f"sentiment.limit_ladder: {later_changed} stored row(s) after {end} changed "
                                    "with this range and were recomputed")
    yield from _validated(context, ladder, LimitLadder, "sentiment.limit_ladder", LIMIT_LADDER, {
        "seeded_stocks": seed.height, "later_rows_checked": later.height, "later_rows_recomputed": later_changed,
        "max_streak": int(ladder["streak"].max() or 0), **_per_day_metadata(ladder)})


def _daily_stats(ladder: pl.DataFrame, days: list[dt.date]) -> pl.DataFrame:
    return ladder_daily(ladder, calendar.previous_day_links()).filter(pl.col("trade_date").is_in(days))


@dg.asset(
    key=LADDER_DAILY, group_name="sentiment", check_specs=_check(LADDER_DAILY), **PARTITIONED,
    ins={"ladder": dg.AssetIn(
        LIMIT_LADDER, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1),
        metadata={"columns": ["trade_date", "code", "streak", "eligible", "is_limit_up", "is_broken",
                              "is_limit_down", "pct_change"]})},
    description="Per day: limit-up, broken and limit-down counts, up/down counts, seal rate, max height, count "
                "at each height, promotion rate (晋级率) and the per-level rates, over the eligible universe.",
)
def ladder_daily_asset(context: dg.AssetExecutionContext, ladder: pl.DataFrame, duckdb: DuckDBResource):
    start, end = partition_dates(context)
    days = partition_days(context)
    daily = _daily_stats(ladder, days)
    with duckdb.get_connection() as conn:
        later_changed = _refresh_later_days(
            context, conn, "sentiment.ladder_daily", end,
            lambda: _daily_stats(storage.read_from(conn, "sentiment.limit_ladder", end, list(ladder.columns)),
                                 storage.stored_days_after(conn, "sentiment.ladder_daily", end)),
        )
    yield from _validated(context, daily, LadderDaily, "sentiment.ladder_daily", LADDER_DAILY, {
        "later_days_recomputed": later_changed,
        "mean_limit_up_count": float(daily["limit_up_count"].mean() or 0), **_per_day_metadata(daily)})


@dg.asset(
    key=PHASE_DAILY, group_name="sentiment", check_specs=_check(PHASE_DAILY), **PARTITIONED,
    ins={"daily": dg.AssetIn(LADDER_DAILY)},
    description="Per day: the sentiment phase of note 000 (height band × promotion-rate band; 12 phases) with a "
                "stable English code and the Chinese name, or the reason there is none.",
)
def phase_daily(context: dg.AssetExecutionContext, daily: pl.DataFrame, duckdb: DuckDBResource):
    start, end = partition_dates(context)
    phases = classify_phases(daily)
    with duckdb.get_connection() as conn:
        later_changed = _refresh_later_days(
            context, conn, "sentiment.phase_daily", end,
            lambda: classify_phases(storage.read_after(conn, "sentiment.ladder_daily", end)),
        )
    yield from _validated(context, phases, PhaseDaily, "sentiment.phase_daily", PHASE_DAILY, {
        "later_days_recomputed": later_changed,
        "phases": dg.MetadataValue.json(phases["phase_code"].value_counts().sort("phase_code").to_dicts()),
        **_per_day_metadata(phases)})


def _refresh_later_days(context, conn, table: str, end: dt.date, recompute) -> int:
    """Rewrite stored days after `end` whose values change with the new range; return how many changed."""
    stored = storage.read_after(conn, table, end)
    if stored.is_empty():
        return 0
    fresh = recompute().select(stored.columns)
    changed = storage.count_changed(stored, fresh)
    if changed:
        storage.replace_days(conn, table, fresh)
        context.log.warning(f"{table}: {changed} stored day(s) after {end} changed with this range and were recomputed")
    return changed


def _raw_daily_asset(name: str, model, description: str, expected_until: dt.date | None = None):
    """A daily raw dataset: the source method `name` over the partition range, validated, stored as given."""
    key = dg.AssetKey(["raw", name])
    table = f"raw.{name}"

    @dg.asset(key=key, group_name="raw", check_specs=_check(key), description=description, **PARTITIONED)
    def raw_daily(context: dg.AssetExecutionContext, market_source: MarketSource):
        start, end = partition_dates(context)
        keys = partition_days(context)
        df = getattr(market_source, name)(start, end).filter(pl.col("trade_date").is_in(keys))
        expected = [d for d in keys if expected_until is None or d <= expected_until]
        missing = sorted(set(expected) - set(df["trade_date"].unique().to_list()))
        if missing:
            context.log.warning(f"{table}: source {market_source.source_name()} has no rows for {len(missing)} "
                                f"trading day(s): {', '.join(map(str, missing[:10]))}")
        yield from _validated(context, df, model, table, key, {
            "source": market_source.source_name(), "days_without_rows": len(missing), **_per_day_metadata(df),
            **market_source.fetch_report()})

    return raw_daily


def _raw_reference_asset(name: str, model, description: str):
    """A reference dataset the source gives whole (membership, classification history)."""
    key = dg.AssetKey(["raw", name])

    @dg.asset(key=key, group_name="raw", pool="duckdb", check_specs=_check(key), description=description,
              backfill_policy=dg.BackfillPolicy.single_run())
    def raw_reference(context: dg.AssetExecutionContext, market_source: MarketSource):
        df = getattr(market_source, name)()
        yield from _validated(context, df, model, f"raw.{name}", key,
                              {"source": market_source.source_name(), **market_source.fetch_report()})

    return raw_reference


RAW_LIMIT_UP_POOLS = dg.AssetKey(["raw", "limit_up_pools"])
raw_datasets = [
    _raw_daily_asset("limit_up_pools", LimitUpPools,
                     "The publisher's limit-up, previous-day, broken and limit-down pools, kept every day (upstream "
                     "keeps recent days only); empty where the source has none."),
    _raw_daily_asset("main_fund_flows", MainFundFlows, "Main-force net inflow per stock and day (CNY)."),
    _raw_daily_asset("northbound_flows", NorthboundFlows,
                     "Stock Connect (northbound) holdings and net inflow per stock and day; none after 2024-08-16, "
                     "when HKEX stopped daily disclosure.", expected_until=NORTHBOUND_LAST_DAY),
    _raw_daily_asset("attention", Attention,
                     "Attention per stock and day: the components the source has (browse/watchlist/click counts, "
                     "East Money attention index, hot rank, follower shares); the rest null."),
    _raw_daily_asset("index_daily", IndexDaily, "Index closes and amounts (CSI 300/500/1000/2000, all-A as 'all_a')."),
    _raw_daily_asset("margin_balance", MarginBalance, "Whole-market margin balance (融资融券余额), CNY."),
    _raw_reference_asset("index_membership", IndexMembership,
                         "CSI 300/500/1000/2000 membership, one snapshot per effective date (live: from now on)."),
    _raw_reference_asset("industry_history", IndustryHistory,
                         "SW level-1 classification history per stock, in the taxonomy of each start date."),
    _raw_reference_asset("concept_membership", ConceptMembership,
                         "Concept board membership snapshots (live: refreshed weekly by default)."),
]


class ReconciliationConfig(dg.Config):
    """Agreement below these shares (over the run's compared days) makes the check warn."""

    min_found_share: float = 0.99
    min_streak_agreement: float = 0.95


RECONCILIATION = dg.AssetKey(["quality", "limit_up_reconciliation"])
DISAGREEMENTS = dg.AssetKey(["quality", "limit_up_disagreements"])
AGREEMENT_CHECK = "limit_up_agreement"
LADDER_LOOKBACK_DAYS = 30  # trading days of ladder history to tell suspensions and pre-history runs apart


@dg.multi_asset(
    outs={
        RECONCILIATION.to_python_identifier(): dg.AssetOut(
            key=RECONCILIATION, group_name="quality", metadata={"partition_expr": "trade_date"},
            description="Per day: the published limit-up pool against our limit-up flags and streaks: found by "
                        "both, only ours, only the pool, streak agreement."),
        DISAGREEMENTS.to_python_identifier(): dg.AssetOut(
            key=DISAGREEMENTS, group_name="quality", metadata={"partition_expr": "trade_date"},
            description="Every stock-day where we and the pool disagree, with the reason (ST, new listing, "
                        "suspension, missing bar, …)."),
    },
    ins={
        "bars": dg.AssetIn(DAILY_BARS, metadata={"columns": BARS_COLUMNS}),
        "ladder": dg.AssetIn(LIMIT_LADDER, metadata={"columns": LADDER_COLUMNS},
                             partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-LADDER_LOOKBACK_DAYS)),
        "pools": dg.AssetIn(RAW_LIMIT_UP_POOLS, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1)),
    },
    check_specs=[
        *_check(RECONCILIATION), *_check(DISAGREEMENTS),
        dg.AssetCheckSpec(AGREEMENT_CHECK, asset=RECONCILIATION,
                          description="share of pool limit-ups we also flag, and of streak heights we agree on"),
    ],
    partitions_def=trading_day_partitions, backfill_policy=dg.BackfillPolicy.single_run(), pool="duckdb",
)
def limit_up_reconciliation(context: dg.AssetExecutionContext, config: ReconciliationConfig, bars: pl.DataFrame,
                            ladder: pl.DataFrame, pools: pl.DataFrame):
    days = partition_days(context)
    daily, details = reconcile_limit_ups(bars, ladder, pools, days)
    totals = summarize(daily)
    reasons = details.group_by("kind", "reason").len().sort("kind", "reason")
    found, streaks = totals["found_share"], totals["streak_agreement"]
    passed = (found is None or found >= config.min_found_share) and (
        streaks is None or streaks >= config.min_streak_agreement)
    check_meta = {**{k: v for k, v in totals.items() if v is not None},
                  "min_found_share": config.min_found_share, "min_streak_agreement": config.min_streak_agreement}
    if not totals["days_compared"]:
        context.log.info("quality.limit_up_reconciliation: no published pool for these days; nothing to compare")
    elif not passed:
        context.log.warning(f"quality.limit_up_reconciliation: agreement below threshold: {totals}")
    yield dg.AssetCheckResult(asset_key=RECONCILIATION, check_name=AGREEMENT_CHECK, passed=passed,
                              severity=dg.AssetCheckSeverity.WARN, metadata=check_meta)
    yield from _validated(context, daily, LimitUpReconciliation, "quality.limit_up_reconciliation", RECONCILIATION,
                          {**check_meta, **_per_day_metadata(daily)},
                          output_name=RECONCILIATION.to_python_identifier())
    yield from _validated(context, details, LimitUpDisagreements, "quality.limit_up_disagreements", DISAGREEMENTS,
                          {"reasons": dg.MetadataValue.md(reasons.to_pandas().to_markdown(index=False))
                           if reasons.height else "none"},
                          output_name=DISAGREEMENTS.to_python_identifier())


assets = [raw_securities, raw_daily_quotes, daily_bars, limit_ladder, ladder_daily_asset, phase_daily,
          *raw_datasets, limit_up_reconciliation]
