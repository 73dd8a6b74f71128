"""Research and review assets of note 000 (groups `research` and `review`): the daily market series, the
whole-history research tables, and the weekly review with its HTML report. Thin wiring around rules.py,
review.py and report.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import datetime as dt
import time
from contextlib import closing
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.ladder import tables as ladder
from sentiment_pipeline.ladder.phases import PHASE_CODES
from sentiment_pipeline.market import indices
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market import tables as market
from sentiment_pipeline.platform import storage
from sentiment_pipeline.platform.io_manager import replace_tables
from sentiment_pipeline.platform.partitions import NOT_WARMED_UP, partition_days, partition_weeks
from sentiment_pipeline.platform.tables import asset_key, empty_frame
from sentiment_pipeline.platform.wiring import (DUCKDB_POOL, output_name, schema_check, table_asset, table_out,
                                                validated)
from sentiment_pipeline.research import report, review, rules
from sentiment_pipeline.research import tables as t
from sentiment_pipeline.sources.base import MarketSource

OWNER = "team:sentiment-research"
CSI2000 = "932000"
# Forward returns read 20 trading days past t (the next day's limit-ups are within them). The 20 stored days before
# a range read into it: the asset refreshes them in the same step, so it loads 20 days before the range, and one
# more for the computed all-A return of the first of them (its previous day's float caps).
FORWARD_DAYS = 21
HORIZON = max(rules.HORIZONS)
with warnings.catch_warnings():  # the parameter is beta; it lets the last days' window pass today
    warnings.simplefilter("ignore", dg.BetaWarning)
    AROUND_THE_DAY = dg.TimeWindowPartitionMapping(start_offset=-(HORIZON + 1), end_offset=FORWARD_DAYS,
                                                   allow_nonexistent_upstream_partitions=True)


class MarketDailyConfig(dg.Config):
    """The regime table (domain.md §4) as "regime first-day last-day" lines; days outside every period are
    unlabelled."""

    regimes: list[str] = [f"{p.regime} {p.start} {p.end}" for p in rules.DEFAULT_REGIMES]

    def periods(self) -> list[rules.RegimePeriod]:
        return [rules.parse_period(line) for line in self.regimes]


@table_asset(t.MarketDaily, group="research", owner=OWNER, ins={
    "bars": dg.AssetIn(asset_key(market.DailyBars), partition_mapping=AROUND_THE_DAY,
                       metadata={"columns": ["trade_date", "code", "close", "pre_close", "float_mcap", "amount",
                                                     "listing_age"]}),
    "index_daily": dg.AssetIn(asset_key(market.IndexDaily), partition_mapping=AROUND_THE_DAY),
    "limit_ladder": dg.AssetIn(asset_key(ladder.LimitLadder), partition_mapping=AROUND_THE_DAY,
                               metadata={"columns": ["trade_date", "code", "eligible", "is_limit_up"]}),
})
def market_daily(context: dg.AssetExecutionContext, config: MarketDailyConfig, bars: pl.DataFrame,
                 index_daily: pl.DataFrame, limit_ladder: pl.DataFrame, duckdb: DuckDBResource,
                 market_source: MarketSource):
    stored = set(bars["trade_date"].unique().to_list())
    first = partition_days(context)[0]
    days = [d for d in partition_days(context) if d in stored]  # a day without bars has no row
    all_a, source = indices.all_a_returns(index_daily, bars)
    if source == "official" and market_source.is_simulated():
        source = "simulated"  # the synthetic market's own index is no official series
    csi2000 = indices.index_returns(index_daily, CSI2000)
    amounts = bars.group_by("trade_date").agg(total_amount=pl.col("amount").sum())
    next_day = rules.limit_up_next_day(limit_ladder, bars)

    def build(for_days: list) -> pl.DataFrame:
        return (rules.market_daily(for_days, all_a, source, csi2000, amounts, next_day, config.periods())
                .with_columns(source=pl.lit(market_source.source_name())) if for_days else empty_frame(t.MarketDaily))

    table = build(days)
    # The stored days whose forward windows reach into this range (the 20 before it): recomputed now, in this
    # step, so that no later run is needed to complete them; rows that come out unchanged are left alone.
    before = sorted(d for d in stored if d < first)[-HORIZON:]
    earlier_changed = 0
    if before:
        with duckdb.get_connection() as conn:
            if storage.table_exists(conn, "research.market_daily"):
                old = storage.query(conn, "select * from research.market_daily where trade_date between ? and ? "
                                          "order by trade_date", [before[0], before[-1]])
                if old.height:
                    fresh = build(old["trade_date"].to_list()).select(old.columns)  # a new column: next time
                    earlier_changed = storage.count_changed(old, fresh)
                    if earlier_changed:
                        storage.replace_days(conn, "research.market_daily", fresh)
                        context.log.info(f"research.market_daily: {earlier_changed} stored day(s) before {first} "
                                         "recomputed (their forward windows reach into this range)")
    stored_to = bars["trade_date"].max()
    if csi2000.is_empty():
        context.log.warning(f"research.market_daily: the source stored no CSI 2000 ({CSI2000}) series; "
                            "csi2000 columns are null")
    yield from validated(context, table, t.MarketDaily, run_metadata={
        "all_a_source": source, "csi2000_stored": not csi2000.is_empty(), "bars_stored_to": str(stored_to),
        "days_without_fwd_20": int(table["all_a_fwd_20"].null_count()), "earlier_days_recomputed": earlier_changed},
        day_metadata=lambda df: {d: {"regime": r or "—", "all_a_return": round(a, 5) if a is not None else None}
                                 for d, r, a in df.select("trade_date", "regime", "all_a_return").iter_rows()})


RESEARCH_INS = {
    "market_days": dg.AssetIn(asset_key(t.MarketDaily)),
    "phases": dg.AssetIn(asset_key(ladder.PhaseDaily),
                         metadata={"columns": ["trade_date", "max_height", "promotion_rate", "phase_code",
                                               "phase_name"]}),
    "ladder_days": dg.AssetIn(asset_key(ladder.LadderDaily), metadata={"columns": ["trade_date", "limit_up_count"]}),
}


def _paths(days: pl.DataFrame) -> pl.DataFrame:
    paths = {}
    for target, column in (("all_a", "all_a_return"), ("csi2000", "csi2000_return")):
        if days[column].is_not_null().any():
            series = rules.on_calendar(days.select("trade_date", pl.col(column).alias("return")),
                                       days["trade_date"].min(), days["trade_date"].max())
            paths[target] = rules.cumulative_paths(series)
    return rules.phase_path(days, paths)


def _cell(value, spec: str | None) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if spec and isinstance(value, int | float):
        return format(value, spec)
    return str(value).replace("|", "\\|")


def _summary(df: pl.DataFrame, formats: dict[str, str] | None = None) -> dg.MetadataValue:
    """df as a Markdown table for a materialization: each column in its `formats` spec ('.1%', '.3f'; integers
    with thousands separators, other floats '.3g'), dates as 2019-01-02, nulls as —; numbers right-aligned."""
    formats = formats or {}
    specs = [formats.get(c, ",d" if dtype.is_integer() else ".3g" if dtype.is_float() else None)
             for c, dtype in df.schema.items()]
    lines = ["| " + " | ".join(df.columns) + " |",
             "|" + "|".join("---:" if dtype.is_numeric() else ":---" for dtype in df.dtypes) + "|"]
    lines += ["| " + " | ".join(_cell(v, spec) for v, spec in zip(row, specs)) + " |" for row in df.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))


def _phase_order(df: pl.DataFrame) -> pl.DataFrame:
    """Rows in the phases' own order (冰点 → 高潮)."""
    order = {code: i for i, code in enumerate(PHASE_CODES)}
    return df.sort(pl.col("phase_code").replace_strict(order, default=len(order)),
                   *(["target"] if "target" in df.columns else []))


def _forward_summary(df: pl.DataFrame) -> dict:
    """Per phase: the limit-ups' next day and the all-A 5 and 20 days later (mean), with the 20-day odds."""
    def at(target, horizon, **columns):
        return (df.filter((pl.col("target") == target) & (pl.col("horizon") == horizon))
                .select("phase_code", "phase_name", **columns))
    table = at("all_a", 20, days_20d="days", all_a_20d="mean_return", win_rate_20d="win_rate", odds_20d="odds")
    for target, horizon, name in (("all_a", 5, "all_a_5d"), ("limit_ups", 1, "limit_ups_next_day")):
        table = table.join(at(target, horizon, **{name: "mean_return"}), on=["phase_code", "phase_name"],
                           how="full", coalesce=True)
    table = _phase_order(table).select("phase_name", "days_20d", "limit_ups_next_day", "all_a_5d", "all_a_20d",
                                       "win_rate_20d", "odds_20d")
    return {"summary": _summary(table, {"limit_ups_next_day": "+.2%", "all_a_5d": "+.2%", "all_a_20d": "+.2%",
                                        "win_rate_20d": ".0%", "odds_20d": ".2f"})}


def _path_summary(df: pl.DataFrame) -> dict:
    """Per phase and index: the mean cumulative return 1, 5, 10 and 20 days after."""
    wide = (df.filter(pl.col("day").is_in([1, 5, 10, 20]))
            .pivot("day", index=["phase_code", "phase_name", "target"], values="mean_cum_return")
            .rename(lambda c: f"day_{c}" if c.isdigit() else c))
    days = df.group_by("phase_code", "target").agg(days=pl.col("days").max())
    table = _phase_order(wide.join(days, on=["phase_code", "target"])).select(
        "phase_name", "target", "days", *[c for c in ("day_1", "day_5", "day_10", "day_20") if c in wide.columns])
    return {"summary": _summary(table, {c: "+.2%" for c in ("day_1", "day_5", "day_10", "day_20")})}


# Each table: its rule over the joined days, and the summary its own materialization shows in the UI.
RESEARCH_TABLES = {
    t.RegimeSummary: (rules.regime_summary, lambda df: {"summary": _summary(
        df.select("regime", "first_day", "last_day", "days", "height_mode", "height_q1", "height_median",
                  "height_q3", "share_height_ge6", "rate_median", "share_rate_gt25", "mean_limit_up_count"),
        {"height_q1": ".1f", "height_median": ".1f", "height_q3": ".1f", "share_height_ge6": ".1%",
         "rate_median": ".1%", "share_rate_gt25": ".1%", "mean_limit_up_count": ".1f"})}),
    t.RegimeDistribution: (rules.regime_distribution, lambda df: {"summary": _summary(
        df.filter(pl.col("regime") == rules.ALL_DAYS).sort("measure", "bucket_low")
        .select("measure", "bucket", "days", "share"), {"share": ".1%"})}),
    t.RateCorrelation: (rules.rate_correlation, lambda df: {"summary": _summary(
        df.select("regime", "target", "method", "coefficient", "n", "p_value"),
        {"coefficient": "+.3f", "p_value": ".3f"})}),
    t.PhaseForward: (rules.phase_forward, _forward_summary),
    t.PhasePath: (_paths, _path_summary),
}


@dg.multi_asset(
    outs={output_name(m): table_out(m, group="research", owner=OWNER, partitioned=False) for m in RESEARCH_TABLES},
    ins=RESEARCH_INS, check_specs=[schema_check(m) for m in RESEARCH_TABLES], pool=DUCKDB_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(), name="research_tables",
)
def research_tables(context: dg.AssetExecutionContext, market_days: pl.DataFrame, phases: pl.DataFrame,
                    ladder_days: pl.DataFrame, duckdb: DuckDBResource, market_source: MarketSource):
    """The whole-history tables of note 000 over every stored day with a market, a phase and a ladder row, written
    together: validated first (one invalid table writes none), then replaced in one transaction (a run killed
    in the middle leaves all five as they were), not one commit per output."""
    days = market_days.join(phases, on="trade_date").join(ladder_days, on="trade_date").sort("trade_date")
    if days.is_empty():
        raise dg.Failure("research tables: no stored day has research.market_daily, sentiment.phase_daily and "
                         "sentiment.ladder_daily; materialize them first")
    stored = {"stored_days": days.height, "first_day": str(days["trade_date"].min()),
              "last_day": str(days["trade_date"].max())}
    events, frames = [], {}
    provenance = {"source": market_source.source_name(), "period_start": days["trade_date"].min(),
                  "period_end": days["trade_date"].max()}
    for model, (build, metadata) in RESEARCH_TABLES.items():
        table = build(days).with_columns(**{k: pl.lit(v) for k, v in provenance.items()})
        try:
            for event in validated(context, table, model, run_metadata=stored, multi_output=True):
                if isinstance(event, dg.Output):  # the table's own summary on its own materialization
                    frames[model] = event.value
                    event = dg.Output(None, output_name=event.output_name, metadata={
                        **event.metadata, "dagster/row_count": event.value.height, **metadata(event.value),
                        "period": f"{stored['first_day']} → {stored['last_day']} ({stored['stored_days']:,} days)"})
                events.append(event)
        except dg.Failure:
            yield from (e for e in events if isinstance(e, dg.AssetCheckResult))
            raise
    # closing(): dagster-duckdb closes its connection only when the block ends without an exception.
    with duckdb.get_connection() as conn, closing(conn):
        replace_tables(conn, frames)
    yield from events


# ----------------------------------------------------------------------------------------------- review

YEAR_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-(review.CROWDING_WEEKS - 1))
CHART_WEEKS_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-13)  # ≥ 60 trading days and the week before


def _optional(conn, table: str, sql: str, first: dt.date, last: dt.date) -> pl.DataFrame:
    # Read when the source stored it, not declared as inputs: a source without flows, margin or concepts
    # (tdx) still gets its review, with those figures null.
    return storage.query(conn, sql, [first, last]) if storage.table_exists(conn, table) else pl.DataFrame()


@table_asset(t.Crowding, group="review", owner=OWNER, weekly=True, ins={
    "market_days": dg.AssetIn(asset_key(t.MarketDaily), partition_mapping=YEAR_BEFORE,
                              metadata={"columns": ["trade_date", "total_amount"], **NOT_WARMED_UP})})
def crowding(context: dg.AssetExecutionContext, market_days: pl.DataFrame, duckdb: DuckDBResource,
             market_source: MarketSource):
    first, last = market_days["trade_date"].min(), market_days["trade_date"].max()
    with duckdb.get_connection() as conn:
        concepts = _optional(conn, "stms.sector_daily",
                             "select trade_date, sector as concept, amount from stms.sector_daily "
                             "where sector_kind = 'concept' and amount is not null and trade_date between ? and ?",
                             first, last)
        membership = _optional(conn, "raw.concept_membership", "select min(snapshot_date) as first_snapshot, "
                               "max(snapshot_date) as last_snapshot from raw.concept_membership where ? <= ?", first, last)
    weeks = partition_weeks(context)
    if concepts.is_empty():
        context.log.warning("review.crowding: no concept amounts stored (stms.sector_daily); no rows")
        table = empty_frame(t.Crowding)
    else:
        table = review.crowding(concepts, market_days, weeks).with_columns(source=pl.lit(market_source.source_name()))
    labels = {}
    if membership.height and membership["first_snapshot"][0] is not None:
        # weeks with days before the first snapshot: their concept membership is from the future
        ahead = sum(w < membership["first_snapshot"][0] for w in weeks)
        labels = {"concept_membership_as_of": str(membership["last_snapshot"][0]), "concept_look_ahead_weeks": ahead}
    unranked = [w for w in weeks if review.crowding_gap(table, w)]
    if unranked and table.height:  # say why, not only "no rows": fewer than 26 weeks of history leaves every concept unranked
        context.log.info(f"review.crowding: {len(unranked)} week(s) without a ranking, e.g. {unranked[-1]}: "
                         f"{review.crowding_gap(table, unranked[-1]).text}")
    yield from validated(context, table, t.Crowding, run_metadata=labels, day_metadata=lambda df: {
        **{w: {"top5": "—", "why_no_ranking": review.crowding_gap(df, w).text} for w in unranked},
        **{w: {"top5": " · ".join(f"{c} {v:.0f}" for c, v in part.head(5).select("concept", "crowding").iter_rows())}
           for (w,), part in df.filter(pl.col("rank").is_not_null()).sort("rank")
           .group_by("week_start", maintain_order=True)}})


class ReviewConfig(dg.Config):
    """A report takes ~0.3 s (its charts) and ~1 s with matplotlib's import: it is rendered for a complete week
    (its last trading day stored), so the daily runs inside a week do not pay for it, and a backfill of years
    renders only its latest weeks. Any other week gets its report when its partition runs again (the UI, or the
    CLI over that week's days)."""

    report_weeks: int = 13  # the run's last N complete weeks get an HTML report beside the database; 0: every week


@table_asset(t.WeeklyReview, group="review", owner=OWNER, weekly=True, ins={
    "market_days": dg.AssetIn(asset_key(t.MarketDaily), partition_mapping=CHART_WEEKS_BEFORE,
                              metadata={"columns": ["trade_date", "all_a_return", "all_a_source", "total_amount"]}),
    "ladder_days": dg.AssetIn(asset_key(ladder.LadderDaily), partition_mapping=CHART_WEEKS_BEFORE,
                              metadata={"columns": ["trade_date", "up_count", "down_count", "limit_up_count",
                                                    "max_height", "promotion_rate"]}),
    "phases": dg.AssetIn(asset_key(ladder.PhaseDaily), partition_mapping=CHART_WEEKS_BEFORE,
                         metadata={"columns": ["trade_date", "phase_name"]}),
    "crowded": dg.AssetIn(asset_key(t.Crowding)),
})
def weekly(context: dg.AssetExecutionContext, config: ReviewConfig, market_days: pl.DataFrame,
           ladder_days: pl.DataFrame, phases: pl.DataFrame, crowded: pl.DataFrame, duckdb: DuckDBResource,
           market_source: MarketSource):
    first, last = market_days["trade_date"].min(), market_days["trade_date"].max()
    with duckdb.get_connection() as conn:
        flows = _optional(conn, "raw.main_fund_flows", "select trade_date, sum(main_net_inflow) as main_net_inflow "
                          "from raw.main_fund_flows where trade_date between ? and ? group by trade_date",
                          first, last)
        margin = _optional(conn, "raw.margin_balance", "select trade_date, margin_balance from raw.margin_balance "
                           "where trade_date between ? and ?", first, last)
        snapshots = _optional(conn, "raw.concept_membership", "select min(snapshot_date) as first_snapshot from "
                              "raw.concept_membership where ? <= ?", first, last)
    first_snapshot = snapshots["first_snapshot"][0] if snapshots.height else None
    flows = flows if flows.height else pl.DataFrame(schema={"trade_date": pl.Date, "main_net_inflow": pl.Float64})
    margin = margin if margin.height else empty_frame(market.MarginBalance)
    crowded = crowded if crowded.height else empty_frame(t.Crowding)
    weeks = partition_weeks(context)
    ladder_cols = ladder_days.select("trade_date", "up_count", "limit_up_count", "max_height")
    table = (review.weekly_review(market_days, ladder_cols, phases, flows, margin, crowded)
             .filter(pl.col("week_start").is_in(weeks)).with_columns(source=pl.lit(market_source.source_name())))
    summaries, started = {}, time.perf_counter()
    folder = Path(duckdb.database).parent / "reports" / "review"
    days = (market_days.join(ladder_days, on="trade_date", how="left").join(phases, on="trade_date", how="left")
            .join(margin, on="trade_date", how="left").sort("trade_date"))
    source = market_days["all_a_source"].drop_nulls().last() if market_days.height else "computed"
    complete = sorted(w for w, end in table.select("week_start", "week_end").iter_rows()
                      if end == calendar.last_trading_day_of_week(w))
    rendered = set(complete[-config.report_weeks:] if config.report_weeks else complete)
    gaps = {}
    for week in table.iter_rows(named=True):
        top = crowded.filter((pl.col("week_start") == week["week_start"]) & (pl.col("rank") <= review.TOP_CONCEPTS)
                             ).sort("rank")
        notes = [report.look_ahead_note(week["week_end"], first_snapshot),
                 report.tie_note(crowded.filter(pl.col("week_start") == week["week_start"]), review.TOP_CONCEPTS)]
        note = " ".join(n for n in notes if n) or None
        gap = gaps[week["week_start"]] = review.crowding_gap(crowded, week["week_start"])
        path, images = None, None
        if week["week_start"] in rendered:
            window = days.filter(pl.col("trade_date") <= week["week_end"]).tail(report.CHART_DAYS)
            images = report.charts(window, top, (week["week_start"], week["week_end"]), gap)
            path = folder / f"{week['week_start']}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report.html_report(week, top, window, source, note, gap, images), encoding="utf-8")
        summaries[week["week_start"]] = {
            "review": dg.MetadataValue.md(report.markdown(week, top, str(path) if path else None, note, gap)),
            "report": dg.MetadataValue.path(str(path)) if path else
            ("rendered when the week is complete" if week["week_start"] not in complete else
             f"not rendered (not among the run's last {config.report_weeks} complete weeks)"),
            # the UI renders Markdown images (data URIs) and url links; a browser may refuse file:// from http://
            **({"report_url": dg.MetadataValue.url(path.resolve().as_uri()),
                "charts": dg.MetadataValue.md(report.charts_markdown(images))} if path else {})}
    if rendered:
        context.log.info(f"review.weekly: {len(rendered)} report(s) in {folder} in "
                         f"{time.perf_counter() - started:.1f} s (the run's last {len(rendered)} week(s))")
    without = [w for w, g in sorted(gaps.items()) if g]
    if without:
        context.log.info(f"review.weekly: {len(without)} of {len(gaps)} week(s) without crowded concepts; "
                         f"{without[-1]}: {gaps[without[-1]].text}")
    yield from validated(context, table, t.WeeklyReview, day_metadata=lambda df: summaries)


assets = [market_daily, research_tables, crowding, weekly]
TABLES = t.TABLES
