"""STMS assets (note 002): sector figures, scores with signals, the daily top list. Thin wiring around
market/membership.py and scores.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.market import membership
from sentiment_pipeline.market import tables as market
from sentiment_pipeline.platform.partitions import partition_days
from sentiment_pipeline.platform.tables import asset_key
from sentiment_pipeline.platform.wiring import table_asset, validated
from sentiment_pipeline.stms import scores as stms
from sentiment_pipeline.stms import tables as t

OWNER = "team:sector-research"
SECTOR_DAILY = asset_key(t.SectorDaily)
SCORES = asset_key(t.StmsScores)
TOP_LIST = asset_key(t.StmsTopList)
WINDOW_CHECK = "complete_windows"
TAXONOMY_CHECK = "sw_l1_taxonomy"
COMPLETE_CHECK = "sw_l1_complete"
# Trading days of bars loaded before a range: 20 for the windows (plus the weights' previous day), the
# rest so that a member suspended within them still has 20 bars for its MA20.
BARS_LOOKBACK_DAYS = stms.MA20_LOOKBACK_DAYS


@table_asset(
    t.SectorDaily, group="stms", owner=OWNER,
    check_specs=[dg.AssetCheckSpec(
        WINDOW_CHECK, asset=SECTOR_DAILY, blocking=True,
        description="every day whose 20-day window lies after the database's first day of bars has all 20 days "
                    "loaded; "
                    "a short window fails here (and stops the scores) instead of scoring on fewer days"),
        dg.AssetCheckSpec(
            TAXONOMY_CHECK, asset=SECTOR_DAILY, blocking=True,
            description="every day's SW level-1 sectors are its taxonomy's: the SW2014 industries before "
                        "2021-07-30, the SW2021 ones from then on (a name from the other taxonomy stops the run)"),
        dg.AssetCheckSpec(
            COMPLETE_CHECK, asset=SECTOR_DAILY,
            description="every day has all its taxonomy's SW level-1 sectors: 28 before 2021-07-30, 31 from then on "
                        "(a warning: a source covering part of the market has fewer)")],
    ins={
        "bars": dg.AssetIn(asset_key(market.DailyBars), metadata={"columns": stms.BARS_COLUMNS},
                           partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-BARS_LOOKBACK_DAYS)),
        "main_flows": dg.AssetIn(asset_key(market.MainFundFlows),
                                 partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(stms.SHORT - 1))),
        "north_flows": dg.AssetIn(asset_key(market.NorthboundFlows),
                                  partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(stms.SHORT - 1))),
        "industry_history": dg.AssetIn(asset_key(market.IndustryHistory)),
        "concept_membership": dg.AssetIn(asset_key(market.ConceptMembership)),
    },
)
def sector_daily(context: dg.AssetExecutionContext, bars: pl.DataFrame, main_flows: pl.DataFrame,
                 north_flows: pl.DataFrame, industry_history: pl.DataFrame, concept_membership: pl.DataFrame,
                 duckdb: DuckDBResource):
    days = partition_days(context)
    with duckdb.get_connection() as conn:  # windows reaching before it have nothing to load: no score, no failure
        history_start = conn.execute("select min(trade_date) from core.daily_bars").fetchone()[0]
    # Every loaded bar for the members' MA20; sector figures only from the days the range's windows reach (a
    # day's run loads 61 days of bars and needs 21 days of sector figures).
    features = stms.stock_features(bars).filter(pl.col("trade_date") >= stms.window_start(days[0]))
    members = membership.members(features.select("trade_date", "code"), industry_history, concept_membership)
    values = stms.sector_day_values(features, members, main_flows, north_flows)
    loaded = bars["trade_date"].unique().to_list()
    status = stms.window_status(loaded, days, history_start or days[0])
    daily = stms.sector_daily(values, status)
    short = status.filter(pl.col("window_status") == "short_window")
    counts = dict(status.group_by("window_status").len().iter_rows())
    missing = stms.missing_window_days(loaded, short["trade_date"].to_list())
    if short.height:
        context.log.error(f"stms.sector_daily: {short.height} day(s) of {context.partition_key_range.start}..."
                          f"{context.partition_key_range.end} lack loaded days in their 20-day window: "
                          f"{', '.join(map(str, short['trade_date'].to_list()[:10]))}. core.daily_bars has no "
                          f"bars on {len(missing)} trading day(s) of those windows: "
                          f"{', '.join(map(str, missing[:10]))}{' …' if len(missing) > 10 else ''}; "
                          "materialize them first")
    yield dg.AssetCheckResult(
        asset_key=SECTOR_DAILY, check_name=WINDOW_CHECK, passed=short.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"short_window_days": short.height, "days_by_status": dg.MetadataValue.json(counts),
                  "first_short_days": ", ".join(map(str, short["trade_date"].to_list()[:10])),
                  "days_without_bars": ", ".join(map(str, missing[:10]))})
    mismatches = stms.taxonomy_mismatches(daily)
    wrong = mismatches.filter(pl.col("unknown") != "").drop("absent")
    if wrong.height:
        context.log.error(f"stms.sector_daily: {wrong.height} day(s) with SW level-1 sectors outside their taxonomy: "
                          f"{md_lines(wrong.head(5))}")
    yield dg.AssetCheckResult(
        asset_key=SECTOR_DAILY, check_name=TAXONOMY_CHECK, passed=wrong.is_empty(), severity=dg.AssetCheckSeverity.ERROR,
        metadata={"days_wrong": wrong.height, "first_days_wrong": md_lines(wrong.head(5))})
    incomplete = mismatches.filter(pl.col("absent") != "").drop("unknown")
    yield dg.AssetCheckResult(
        asset_key=SECTOR_DAILY, check_name=COMPLETE_CHECK, passed=incomplete.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"days_incomplete": incomplete.height, "first_days_incomplete": md_lines(incomplete.head(3))})
    unclassified = membership.unclassified_days(features.select("trade_date", "code"), members).filter(
        pl.col("trade_date").is_in(days))
    looked_ahead = membership.concept_look_ahead(days, concept_membership)
    yield from validated(context, daily, t.SectorDaily, day_metadata=_day_counts(unclassified), run_metadata={
        "sectors": dg.MetadataValue.json(dict(daily.group_by("sector_kind").agg(pl.col("sector").n_unique())
                                              .iter_rows())),
        "days_by_window_status": dg.MetadataValue.json(counts),
        "return_weighting": dg.MetadataValue.json(dict(daily.group_by("return_weighting").len().fill_null("none")
                                                       .iter_rows())),
        "unclassified_stock_days": int(unclassified["unclassified"].sum()),
        **looked_ahead})


def md_lines(frame: pl.DataFrame) -> str:
    return "; ".join(", ".join(f"{c}={v}" for c, v in row.items()) for row in frame.iter_rows(named=True))


def _day_counts(unclassified: pl.DataFrame):
    """Per day: SW level-1 sectors and the stocks with a bar but no industry that day."""
    by_day = dict(unclassified.iter_rows())

    def per_day(daily: pl.DataFrame) -> dict:
        sw = daily.filter(pl.col("sector_kind") == "sw_l1").group_by("trade_date").len()
        return {d: {"sw_l1_sectors": n, "unclassified_stocks": by_day.get(d, 0)} for d, n in sw.iter_rows()}

    return per_day


class StmsConfig(dg.Config):
    """Thresholds of the signals (note 002 §4)."""

    top_n: int = 5  # the top group: rank ≤ top_n (risers end here; three-highs are here on every score)
    riser_from_share: float = 1 / 3  # a riser's rank 1–3 days earlier was below this share of the sectors
    high: float = 70.0  # sub-score ≥ high is "high" (structure labels)
    low: float = 40.0  # sub-score ≤ low is "low"
    very_high: float = 87.5  # sentiment ≥ very_high is "extremely high"


@table_asset(
    t.StmsScores, group="stms", owner=OWNER,
    ins={"daily": dg.AssetIn(SECTOR_DAILY, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-3))},
)
def scores(context: dg.AssetExecutionContext, config: StmsConfig, daily: pl.DataFrame):
    days = partition_days(context)
    rules = stms.SignalRules(config.top_n, config.riser_from_share, config.high, config.low, config.very_high)
    scored = stms.add_signals(stms.score_sectors(daily), rules).filter(pl.col("trade_date").is_in(days))
    no_score = sorted(set(days) - set(scored["trade_date"].unique().to_list()))
    if no_score:
        context.log.info(f"stms.scores: no score on {len(no_score)} day(s) whose 20-day window reaches before "
                         f"the first partition or is short: {', '.join(map(str, no_score[:10]))}")
    b_used = dict(scored.group_by("b_components").len().iter_rows())
    if set(b_used) == {"none"}:
        context.log.info("stms.scores: no fund flows from the source: B is 0 for every sector, ranks come from A "
                         "and C (STMS = 0.4 A + 0.3 C)")
    yield from validated(context, scored, t.StmsScores, day_metadata=top_three, run_metadata={
        "days_without_score": len(no_score), "risers": int(scored["is_riser"].sum()),
        "three_highs": int(scored["is_three_high"].sum()),
        "b_components": dg.MetadataValue.json(b_used),
        "a2_basis": dg.MetadataValue.json(dict(scored.group_by("a2_basis").len().iter_rows()))})


class TopListConfig(dg.Config):
    size: int = 10  # sectors per kind and day


@table_asset(
    t.StmsTopList, group="stms", owner=OWNER,
    ins={"scored": dg.AssetIn(SCORES)},
)
def top_list(context: dg.AssetExecutionContext, config: TopListConfig, scored: pl.DataFrame):
    table = stms.top_list(scored, config.size)
    yield from validated(context, table, t.StmsTopList, day_metadata=top_three)


def top_three(df: pl.DataFrame) -> dict:
    """Per day and sector kind, the three best sectors with their STMS: '房地产 93.4 · 汽车 89.6 · …'."""
    days: dict = {}
    top = df.filter(pl.col("rank") <= 3).sort("trade_date", "sector_kind", "rank")
    for day, kind, sector, value in top.select("trade_date", "sector_kind", "sector", "stms").iter_rows():
        entry = days.setdefault(day, {})
        key = f"top3_{kind}"
        entry[key] = f"{entry[key]} · " if key in entry else ""
        entry[key] += f"{sector} {value:.1f}"
    return days


assets = [sector_daily, scores, top_list]
TABLES = [t.SectorDaily, t.StmsScores, t.StmsTopList]
