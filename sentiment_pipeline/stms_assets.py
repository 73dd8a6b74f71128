"""Dagster assets of the STMS sector scores: thin wiring around sectors.py and stms.py."""



import dagster as dg
import polars as pl

from sentiment_pipeline import sectors, stms
from sentiment_pipeline.assets import DAILY_BARS, PARTITIONED, _check, _per_day_metadata, _validated
from sentiment_pipeline.partitions import partition_days
from sentiment_pipeline.schemas import SectorDaily, StmsScores, StmsTopList

SECTOR_DAILY = dg.AssetKey(["stms", "sector_daily"])
SCORES = dg.AssetKey(["stms", "scores"])
TOP_LIST = dg.AssetKey(["stms", "top_list"])
WINDOW_CHECK = "complete_windows"
# Trading days of bars loaded before a range: 20 for the windows (plus the weights' previous day), the
# rest so that a member suspended within them still has 20 bars for its MA20.
BARS_LOOKBACK_DAYS = stms.MA20_LOOKBACK_DAYS


@dg.asset(
    key=SECTOR_DAILY, group_name="stms", **PARTITIONED,
    check_specs=[*_check(SECTOR_DAILY), dg.AssetCheckSpec(
        WINDOW_CHECK, asset=SECTOR_DAILY, blocking=True,
        description="every day whose 20-day window lies after the first partition has all 20 days loaded; "
                    "a short window fails here (and stops the scores) instead of scoring on fewer days")],
    ins={
        "bars": dg.AssetIn(DAILY_BARS, metadata={"columns": stms.BARS_COLUMNS},
                           partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-BARS_LOOKBACK_DAYS)),
        "main_flows": dg.AssetIn(dg.AssetKey(["raw", "main_fund_flows"]),
                                 partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(stms.SHORT - 1))),
        "north_flows": dg.AssetIn(dg.AssetKey(["raw", "northbound_flows"]),
                                  partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(stms.SHORT - 1))),
        "industry_history": dg.AssetIn(dg.AssetKey(["raw", "industry_history"])),
        "concept_membership": dg.AssetIn(dg.AssetKey(["raw", "concept_membership"])),
    },
    description="Per sector (SW level-1 on the 2021 names, concept boards) and day: members as known that day, "
                "float-cap weighted return and turnover (weights: the previous day's float cap) with 5/20-day "
                "windows, amount, main-force and northbound 5-day net inflow and their shares of the 5-day "
                "amount, limit-up share, share above MA20.",
)
def sector_daily(context: dg.AssetExecutionContext, bars: pl.DataFrame, main_flows: pl.DataFrame,
                 north_flows: pl.DataFrame, industry_history: pl.DataFrame, concept_membership: pl.DataFrame):
    days = partition_days(context)
    members = sectors.members(bars.select("trade_date", "code"), industry_history, concept_membership)
    values = stms.sector_day_values(stms.stock_features(bars), members, main_flows, north_flows)
    status = stms.window_status(bars["trade_date"].unique().to_list(), days)
    daily = stms.sector_daily(values, status)
    short = status.filter(pl.col("window_status") == "short_window")
    counts = dict(status.group_by("window_status").len().iter_rows())
    if short.height:
        context.log.error(f"stms.sector_daily: {short.height} day(s) of {context.partition_key_range.start}..."
                          f"{context.partition_key_range.end} lack loaded days in their 20-day window (materialize "
                          f"core/daily_bars for the {BARS_LOOKBACK_DAYS} trading days before the range): "
                          f"{', '.join(map(str, short['trade_date'].to_list()[:10]))}")
    yield dg.AssetCheckResult(
        asset_key=SECTOR_DAILY, check_name=WINDOW_CHECK, passed=short.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"short_window_days": short.height, "days_by_status": dg.MetadataValue.json(counts),
                  "first_short_days": ", ".join(map(str, short["trade_date"].to_list()[:10]))})
    yield from _validated(context, daily, SectorDaily, "stms.sector_daily", SECTOR_DAILY, {
        "sectors": dg.MetadataValue.json(dict(daily.group_by("sector_kind").agg(pl.col("sector").n_unique())
                                              .iter_rows())),
        "days_by_window_status": dg.MetadataValue.json(counts), **_per_day_metadata(daily)})


class StmsConfig(dg.Config):
    """Thresholds of the signals (note 002 §4)."""

    top_n: int = 5  # the top group: rank ≤ top_n (risers end here; three-highs are here on every score)
    riser_from_share: float = 1 / 3  # a riser's rank 1–3 days earlier was below this share of the sectors
    high: float = 70.0  # sub-score ≥ high is "high" (structure labels)
    low: float = 40.0  # sub-score ≤ low is "low"
    very_high: float = 87.5  # sentiment ≥ very_high is "extremely high"


@dg.asset(
    key=SCORES, group_name="stms", check_specs=_check(SCORES), **PARTITIONED,
    ins={"daily": dg.AssetIn(SECTOR_DAILY, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-3))},
    description="Per sector and day with a complete 20-day window: A1, A2, B1, B2, C1, C2, A, B, C, STMS "
                "(domain.md §7), rank within the kind (1 = best), rank changes over 1–3 days, riser, three-high "
                "and the structure label of note 002 §4.4. B uses only the main-force part when there is no "
                "northbound data (after 2024-08-16): see b_components.",
)
def scores(context: dg.AssetExecutionContext, config: StmsConfig, daily: pl.DataFrame):
    days = partition_days(context)
    rules = stms.SignalRules(config.top_n, config.riser_from_share, config.high, config.low, config.very_high)
    scored = stms.add_signals(stms.score_sectors(daily), rules).filter(pl.col("trade_date").is_in(days))
    no_score = sorted(set(days) - set(scored["trade_date"].unique().to_list()))
    if no_score:
        context.log.info(f"stms.scores: no score on {len(no_score)} day(s) whose 20-day window reaches before "
                         f"the first partition or is short: {', '.join(map(str, no_score[:10]))}")
    yield from _validated(context, scored, StmsScores, "stms.scores", SCORES, {
        "days_without_score": len(no_score), "risers": int(scored["is_riser"].sum()),
        "three_highs": int(scored["is_three_high"].sum()), **_per_day_metadata(scored)})


class TopListConfig(dg.Config):
    size: int = 10  # sectors per kind and day


@dg.asset(
    key=TOP_LIST, group_name="stms", check_specs=_check(TOP_LIST), **PARTITIONED,
    ins={"scored": dg.AssetIn(SCORES)},
    description="The daily top sectors per kind (SW level-1, concepts) with their scores and signals.",
)
def top_list(context: dg.AssetExecutionContext, config: TopListConfig, scored: pl.DataFrame):
    table = stms.top_list(scored, config.size)
    yield from _validated(context, table, StmsTopList, "stms.top_list", TOP_LIST, _per_day_metadata(table))


stms_assets = [sector_daily, scores, top_list]
