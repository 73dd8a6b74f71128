"""Heat assets (note 001, group `heat`): daily stock, index-group and sector heat; weekly changes, the rotation,
the concept heat portfolios and the monitor on trading-week partitions. Thin wiring around rules.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import warnings

import dagster as dg
import polars as pl

from sentiment_pipeline.heat import rules
from sentiment_pipeline.heat import tables as t
from sentiment_pipeline.market import membership
from sentiment_pipeline.market import tables as market
from sentiment_pipeline.platform.partitions import partition_weeks
from sentiment_pipeline.platform.tables import asset_key
from sentiment_pipeline.platform.wiring import table_asset, validated

OWNER = "team:market-heat"
GROUP = "heat"
# A week's change needs the week before it, and its MA2 the change of the week before that.
WEEKS_BEFORE = dg.TimeWindowPartitionMapping(start_offset=-2)
# The week's own days; the first week starts before the first trading-day partition (the parameter is beta).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    WEEK_DAYS = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def _top_stocks(df: pl.DataFrame) -> dict:
    """Per day: the three hottest stocks and the components used."""
    out = {}
    for (day,), part in df.sort("heat", descending=True).group_by("trade_date", maintain_order=True):
        top = part.head(3)
        out[day] = {"top3": " · ".join(f"{c} {h:.1f}" for c, h in top.select("code", "heat").iter_rows()),
                    "components": top["components"][0]}
    return out


@table_asset(t.StockHeatDaily, group=GROUP, owner=OWNER,
             ins={"attention": dg.AssetIn(asset_key(market.Attention))})
def stock_daily(context: dg.AssetExecutionContext, attention: pl.DataFrame):
    heat = rules.stock_heat(attention)
    yield from validated(context, heat, t.StockHeatDaily, day_metadata=_top_stocks, run_metadata={
        "components": dg.MetadataValue.json(dict(heat.group_by("components").len().iter_rows()))})


def _groups(df: pl.DataFrame) -> dict:
    out: dict = {}
    for day, group, heat in df.select("trade_date", "index_group", "heat").iter_rows():
        out.setdefault(day, {})[f"heat_{group}"] = round(heat, 1)
    return out


@table_asset(t.GroupHeatDaily, group=GROUP, owner=OWNER,
             ins={"heat": dg.AssetIn(asset_key(t.StockHeatDaily),
                                     metadata={"columns": ["trade_date", "code", "heat", "components"]}),
                  "index_membership": dg.AssetIn(asset_key(market.IndexMembership))})
def group_daily(context: dg.AssetExecutionContext, heat: pl.DataFrame, index_membership: pl.DataFrame):
    yield from validated(context, rules.group_heat_daily(heat, index_membership), t.GroupHeatDaily,
                         day_metadata=_groups)


@table_asset(t.SectorHeatDaily, group=GROUP, owner=OWNER,
             ins={"heat": dg.AssetIn(asset_key(t.StockHeatDaily),
                                     metadata={"columns": ["trade_date", "code", "heat", "components"]}),
                  "industry_history": dg.AssetIn(asset_key(market.IndustryHistory)),
                  "concept_membership": dg.AssetIn(asset_key(market.ConceptMembership))})
def sector_daily(context: dg.AssetExecutionContext, heat: pl.DataFrame, industry_history: pl.DataFrame,
                 concept_membership: pl.DataFrame):
    members = membership.members(heat.select("trade_date", "code"), industry_history, concept_membership)
    table = rules.sector_heat_daily(heat, members)
    yield from validated(context, table, t.SectorHeatDaily, run_metadata={
        "sectors": dg.MetadataValue.json(dict(table.group_by("sector_kind").agg(pl.col("sector").n_unique())
                                              .iter_rows())),
        **membership.concept_look_ahead(sorted(heat["trade_date"].unique().to_list()), concept_membership)})


def _this_run(context: dg.AssetExecutionContext, weekly: pl.DataFrame) -> pl.DataFrame:
    return weekly.filter(pl.col("week_start").is_in(partition_weeks(context)))


def _ranked(df: pl.DataFrame, name: str) -> dict:
    """Per week: the first three by rank."""
    out: dict = {}
    for (week,), part in df.filter(pl.col("rank") <= 3).sort("rank").group_by("week_start", maintain_order=True):
        out[week] = {"top3": " · ".join(f"{s} {m:+.1%}" for s, m in part.select(name, "heat_change_ma2").iter_rows())}
    return out


@table_asset(t.GroupHeatWeekly, group=GROUP, owner=OWNER, weekly=True,
             ins={"daily": dg.AssetIn(asset_key(t.GroupHeatDaily), partition_mapping=WEEKS_BEFORE)})
def group_weekly(context: dg.AssetExecutionContext, daily: pl.DataFrame):
    table = _this_run(context, rules.weekly(daily, ["index_group"]))
    yield from validated(context, table, t.GroupHeatWeekly,
                         day_metadata=lambda df: _ranked(df, "index_group"))


@table_asset(t.SectorHeatWeekly, group=GROUP, owner=OWNER, weekly=True,
             ins={"daily": dg.AssetIn(asset_key(t.SectorHeatDaily), partition_mapping=WEEKS_BEFORE,
                                      metadata={"columns": ["trade_date", "sector_kind", "sector", "heat",
                                                            "heat_kind"]})})
def sector_weekly(context: dg.AssetExecutionContext, daily: pl.DataFrame):
    table = _this_run(context, rules.weekly(daily, ["sector_kind", "sector"]))
    yield from validated(context, table, t.SectorHeatWeekly,
                         day_metadata=lambda df: _ranked(df.filter(pl.col("sector_kind") == "sw_l1"), "sector"))


@table_asset(t.HeatRotation, group=GROUP, owner=OWNER, weekly=True,
             ins={"group_weeks": dg.AssetIn(asset_key(t.GroupHeatWeekly))})
def rotation(context: dg.AssetExecutionContext, group_weeks: pl.DataFrame):
    table = rules.rotation(group_weeks)
    yield from validated(context, table, t.HeatRotation, day_metadata=lambda df: {
        w: {"leader": leader, "position": position}
        for w, leader, position in df.select("week_start", "leader", "position").iter_rows()})


def _portfolios(df: pl.DataFrame) -> dict:
    """Per week: the concepts taken and the stocks each side holds."""
    out: dict = {}
    for (week,), part in df.group_by("week_start", maintain_order=True):
        chosen = part.select("concept_rank", "concepts").unique().sort("concept_rank")
        names = dict.fromkeys(n for c in chosen["concepts"] for n in c.split(","))
        out[week] = {"concepts": " · ".join(names),
                     **{side: int((part["side"] == side).sum()) for side in rules.PORTFOLIO_SIDES}}
    return out


@table_asset(t.ConceptPortfolios, group=GROUP, owner=OWNER, weekly=True,
             ins={"sector_weeks": dg.AssetIn(asset_key(t.SectorHeatWeekly), metadata={"columns": [
                      "week_start", "week_end", "sector_kind", "sector", "heat_change_ma2"]}),
                  "heat": dg.AssetIn(asset_key(t.StockHeatDaily), partition_mapping=WEEK_DAYS,
                                     metadata={"columns": ["trade_date", "code", "heat"]}),
                  "bars": dg.AssetIn(asset_key(market.DailyBars), partition_mapping=WEEK_DAYS,
                                     metadata={"columns": ["trade_date", "code", "float_mcap"]}),
                  "concept_membership": dg.AssetIn(asset_key(market.ConceptMembership))})
def concept_portfolios(context: dg.AssetExecutionContext, sector_weeks: pl.DataFrame, heat: pl.DataFrame,
                       bars: pl.DataFrame, concept_membership: pl.DataFrame):
    table = _this_run(context, rules.concept_portfolios(sector_weeks, heat, bars, concept_membership))
    yield from validated(context, table, t.ConceptPortfolios, day_metadata=_portfolios, run_metadata=(
        membership.concept_look_ahead(sorted(table["week_end"].unique().to_list()), concept_membership)))


@table_asset(t.WeeklyMonitor, group=GROUP, owner=OWNER, weekly=True,
             ins={"group_weeks": dg.AssetIn(asset_key(t.GroupHeatWeekly)),
                  "sector_weeks": dg.AssetIn(asset_key(t.SectorHeatWeekly)),
                  "rotation_weeks": dg.AssetIn(asset_key(t.HeatRotation))})
def weekly_monitor(context: dg.AssetExecutionContext, group_weeks: pl.DataFrame, sector_weeks: pl.DataFrame,
                   rotation_weeks: pl.DataFrame):
    table = rules.weekly_monitor(group_weeks, sector_weeks, rotation_weeks)
    yield from validated(context, table, t.WeeklyMonitor, day_metadata=lambda df: {
        w: {"monitor": dg.MetadataValue.md("\n".join(f"- {s}" for s in part["sentence"]))}
        for (w,), part in df.group_by("week_start", maintain_order=True)})


assets = [stock_daily, group_daily, sector_daily, group_weekly, sector_weekly, rotation, concept_portfolios,
          weekly_monitor]
TABLES = [*t.DAILY, *t.WEEKLY]
