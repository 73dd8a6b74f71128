"""Ladder and phase assets (note 000): per-stock streaks, the daily ladder statistics, the daily phase.
Thin wiring around streaks.py and phases.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.ladder import tables as t
from sentiment_pipeline.ladder.phases import classify_phases
from sentiment_pipeline.ladder.streaks import Universe, compute_ladder, empty_seed, ladder_daily, latest_state
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.tables import DailyBars
from sentiment_pipeline.platform import storage
from sentiment_pipeline.platform.partitions import partition_dates, partition_days
from sentiment_pipeline.platform.tables import asset_key
from sentiment_pipeline.platform.wiring import table_asset, validated

OWNER = "team:sentiment"
LIMIT_LADDER = asset_key(t.LimitLadder)
LADDER_DAILY = asset_key(t.LadderDaily)


class LadderConfig(dg.Config):
    """Universe of the sentiment statistics (the per-stock ladder keeps every stock)."""

    exclude_st: bool = True
    exclude_new_listing_run: bool = True


LADDER_INPUT_COLUMNS = ["trade_date", "code", "is_st", "listing_age", "is_limit_up", "is_broken", "is_limit_down",
                        "close", "pre_close"]
LADDER_INPUT_COLUMNS_STORED = ["trade_date", "code", "is_st", "listing_age", "is_limit_up", "is_broken",
                               "is_limit_down", "pct_change", "streak", "in_opening_run", "eligible",
                               "exclusion_reason"]


# A seed reads this many trading days before a range first; a stock of the range not found there (suspended
# longer) is looked up in the rest of the history, alone. A day's run then reads a month, not every stored day.
SEED_WINDOW_DAYS = 30


def ladder_state_before(conn, day: dt.date, bars: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each stock's ladder state on its last stored trading day before `day` (the seed of a range); with `bars`
    (trade_date, code, listing_age), of the stocks those bars hold only."""
    if not storage.table_exists(conn, "sentiment.limit_ladder"):
        return empty_seed()
    state = """select code, arg_max(streak, trade_date) as streak,
                      arg_max(in_opening_run, trade_date) as in_opening_run
               from sentiment.limit_ladder where trade_date < ? and trade_date >= ? {only} group by code"""
    index = calendar.trading_day_index()
    before = index.filter(pl.col("trade_date") < day)
    if bars is None or before.height < SEED_WINDOW_DAYS:
        df = storage.query(conn, state.format(only=""), [day, dt.date.min])
    else:
        recent_from, recent_no = before.row(-SEED_WINDOW_DAYS)
        conn.register("seed_codes", bars.select(pl.col("code").unique()).to_arrow())
        df = storage.query(conn, state.format(only="and code in (select code from seed_codes)"), [day, recent_from])
        # Stocks of the range without a row in the window that were listed before it (or whose listing is
        # unknown): suspended for longer; new listings have no earlier rows to look for.
        older = (bars.join(index, on="trade_date")
                 .group_by("code").agg(listed_no=(pl.col("day_no") - pl.col("listing_age") + 1).min())
                 .filter(pl.col("listed_no").is_null() | (pl.col("listed_no") < recent_no))
                 .join(df.select("code"), on="code", how="anti"))
        if older.height:
            conn.register("seed_codes", older.select("code").to_arrow())
            df = pl.concat([df, storage.query(conn, state.format(only="and code in (select code from seed_codes)"),
                                              [recent_from, dt.date.min])])
        conn.unregister("seed_codes")
    return df.cast(empty_seed().schema) if df.height else empty_seed()


def _ladder_rows(bars: pl.DataFrame, seed: pl.DataFrame, universe: Universe) -> pl.DataFrame:
    bars = bars.with_columns(pct_change=pl.col("close") / pl.col("pre_close") - 1).drop("close", "pre_close")
    return compute_ladder(bars, seed, universe).select(list(t.LimitLadder.to_schema().columns))


def _ladder_day(df: pl.DataFrame, seeded: bool) -> dict:
    """The day's highest streak, and whether it is only a lower bound: without stored days before the range, a
    streak running since its first day may have begun earlier (a new listing's run began at its listing)."""
    day_no = calendar.trading_day_index()
    since_start = (pl.col("day_no") - pl.col("day_no").min() + 1)
    per_day = (df.join(day_no, on="trade_date")
               .with_columns(open_ended=pl.lit(not seeded) & (pl.col("streak") == since_start)
                             & (pl.col("listing_age").is_null() | (pl.col("listing_age") > pl.col("streak"))))
               .group_by("trade_date").agg(max_streak=pl.col("streak").max(),
                                           lower_bound=(pl.col("open_ended") & (pl.col("streak") > 0)).any()))
    return {d: {"max_streak": int(m or 0), **({"max_streak_is_lower_bound": True} if low else {})}
            for d, m, low in per_day.iter_rows()}


@table_asset(t.LimitLadder, group="sentiment", owner=OWNER,
             ins={"bars": dg.AssetIn(asset_key(DailyBars), metadata={"columns": LADDER_INPUT_COLUMNS})},
             deps=[dg.AssetDep(LIMIT_LADDER, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1,
                                                                                             end_offset=-1))])
def limit_ladder(context: dg.AssetExecutionContext, config: LadderConfig, bars: pl.DataFrame, duckdb: DuckDBResource):
    start, end = partition_dates(context)
    universe = Universe(config.exclude_st, config.exclude_new_listing_run)
    with duckdb.get_connection() as conn:
        # The seed of the range's stocks only, unless stored days after the range need every stock's end state.
        appending = not storage.stored_days_after(conn, "sentiment.limit_ladder", end, limit=1)
        seed = ladder_state_before(conn, start, bars if appending else None)
        ladder = _ladder_rows(bars, seed, universe)
        # Stored days after the range depend on its last state: recompute them, rewrite only if they changed.
        later = storage.read_after(conn, "sentiment.limit_ladder", end, LADDER_INPUT_COLUMNS_STORED)
        later_changed = 0
        if later.height:
            end_state = latest_state(pl.concat([seed.with_columns(trade_date=pl.lit(start - dt.timedelta(1))),
                                                ladder.select(seed.columns + ["trade_date"])],
                                               how="diagonal_relaxed"))
            recomputed = compute_ladder(later.drop("streak", "in_opening_run", "eligible", "exclusion_reason"),
                                        end_state, universe).select(later.columns)
            later_changed = storage.count_changed(later, recomputed)
            if later_changed:
                storage.replace_days(conn, "sentiment.limit_ladder", recomputed)
                context.log.warning(f"sentiment.limit_ladder: {later_changed} stored row(s) after {end} changed "
                                    "with this range and were recomputed")
    seeded = seed.height > 0
    if not seeded:
        context.log.info(f"sentiment.limit_ladder: no stored day before {start} seeds the streaks; heights that run "
                         "back to it are lower bounds (the main command's warm-up stores the days before)")
    yield from validated(context, ladder, t.LimitLadder, day_metadata=lambda df: _ladder_day(df, seeded), run_metadata={
        "seeded_stocks": seed.height, "later_rows_checked": later.height, "later_rows_recomputed": later_changed,
        "max_streak": int(ladder["streak"].max() or 0)})


def _daily_stats(ladder: pl.DataFrame, days: list[dt.date]) -> pl.DataFrame:
    return ladder_daily(ladder, calendar.previous_day_links()).filter(pl.col("trade_date").is_in(days))


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


def _rate(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _stats_day(df: pl.DataFrame) -> dict:
    return {r["trade_date"]: {"limit_up_count": r["limit_up_count"], "max_height": r["max_height"],
                              "promotion_rate": _rate(r["promotion_rate"]), "seal_rate": _rate(r["seal_rate"])}
            for r in df.iter_rows(named=True)}


@table_asset(t.LadderDaily, group="sentiment", owner=OWNER,
             ins={"ladder": dg.AssetIn(
                 LIMIT_LADDER, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1),
                 metadata={"columns": ["trade_date", "code", "streak", "eligible", "is_limit_up", "is_broken",
                                       "is_limit_down", "pct_change"]})})
def ladder_daily_asset(context: dg.AssetExecutionContext, ladder: pl.DataFrame, duckdb: DuckDBResource):
    _, end = partition_dates(context)
    daily = _daily_stats(ladder, partition_days(context))
    with duckdb.get_connection() as conn:
        later_changed = _refresh_later_days(
            context, conn, "sentiment.ladder_daily", end,
            lambda: _daily_stats(storage.read_from(conn, "sentiment.limit_ladder", end, list(ladder.columns)),
                                 storage.stored_days_after(conn, "sentiment.ladder_daily", end)),
        )
    yield from validated(context, daily, t.LadderDaily, day_metadata=_stats_day, run_metadata={
        "later_days_recomputed": later_changed, "mean_limit_up_count": float(daily["limit_up_count"].mean() or 0)})


def _phase_day(df: pl.DataFrame) -> dict:
    return {r["trade_date"]: {"phase": f"{r['phase_name']} ({r['phase_code']})" if r["phase_code"]
                              else f"none: {r['no_phase_reason']}",
                              "max_height": r["max_height"], "promotion_rate": _rate(r["promotion_rate"])}
            for r in df.iter_rows(named=True)}


@table_asset(t.PhaseDaily, group="sentiment", owner=OWNER, ins={"daily": dg.AssetIn(LADDER_DAILY)})
def phase_daily(context: dg.AssetExecutionContext, daily: pl.DataFrame, duckdb: DuckDBResource):
    _, end = partition_dates(context)
    phases = classify_phases(daily)
    with duckdb.get_connection() as conn:
        later_changed = _refresh_later_days(
            context, conn, "sentiment.phase_daily", end,
            lambda: classify_phases(storage.read_after(conn, "sentiment.ladder_daily", end)),
        )
    yield from validated(context, phases, t.PhaseDaily, day_metadata=_phase_day, run_metadata={
        "later_days_recomputed": later_changed,
        "phases": dg.MetadataValue.json(phases["phase_code"].value_counts().sort("phase_code").to_dicts())})


assets = [limit_ladder, ladder_daily_asset, phase_daily]
TABLES = [t.LimitLadder, t.LadderDaily, t.PhaseDaily]
