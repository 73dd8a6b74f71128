"""The heat tables: daily (per trading day) and weekly (per trading week, keyed by its Monday)."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.heat.rules import (CHANGE_NULL_REASONS, GROUPS, HEAT_KINDS, MIXED, MONITOR_TOPICS,
                                           PORTFOLIO_SIDES)
from sentiment_pipeline.market.tables import CODE

_HEAT = {"ge": 0, "le": 10_000}


def _week_start():
    return pa.Field(description="the week's Monday (the partition key)")


def _week_end():
    return pa.Field(description="the week's last trading day in the data")


def _day_kind():
    return pa.Field(isin=list(HEAT_KINDS), description="what the day's heat is a share of: attention counts, "
                                                       "East Money's attention index, or 1 / popularity rank")


def _week_kind():
    return pa.Field(isin=[*HEAT_KINDS, MIXED], nullable=True,
                    description="the week's heat_kind: that of all its days, mixed when they differ, null when "
                                "unknown (daily rows written before heat_kind was recorded)")


def _change_null_reason():
    return pa.Field(isin=list(CHANGE_NULL_REASONS), nullable=True,
                    description="why heat_change is null (null when it is not): no previous week, either week's "
                                "heat_kind unknown or mixed, the two weeks of different kinds (never compared), "
                                "or a previous heat of 0")


class StockHeatDaily(pa.DataFrameModel):
    """heat.stock_daily: per stock and day."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    heat_raw: float = pa.Field(ge=0, description="sum of the day's attention components (see components)")
    heat: float = pa.Field(**_HEAT, description="10,000 × heat_raw ÷ the market's total that day")
    components: str = pa.Field(description="what heat_raw sums: browse_count+watchlist_adds+click_count (or a "
                                           "subset), attention_index, or hot_rank (as 1 / rank)")

    class Config:
        name = "heat.stock_daily"
        description = "Per stock and day: its share of the market's attention (note 001), 10,000 a day in all."
        strict = True
        unique = ["trade_date", "code"]

    @pa.dataframe_check(error="heat sums to 10,000 per day")
    def sums_to_total(cls, data: pa.PolarsData) -> pl.LazyFrame:
        total = pl.col("heat").sum().over("trade_date")
        return data.lazyframe.select(((total - 10_000).abs() < 1e-6) | (pl.col("heat_raw").sum().over(
            "trade_date") == 0))


class GroupHeatDaily(pa.DataFrameModel):
    """heat.group_daily: per day and index group."""

    trade_date: dt.date = pa.Field(description="trading day")
    index_group: str = pa.Field(isin=list(GROUPS), description="CSI 300/500/1000/2000 members that day, or others")
    member_count: pl.Int32 = pa.Field(ge=0, description="stocks of the group with heat that day")
    heat: float = pa.Field(**_HEAT, description="sum of the members' heat")
    heat_kind: str = _day_kind()

    class Config:
        name = "heat.group_daily"
        description = ("Per day: the heat of each CSI index group and of the rest of the market (membership as of "
                       "the day); the five sum to 10,000.")
        strict = True
        unique = ["trade_date", "index_group"]

    @pa.dataframe_check(error="group heats sum to 10,000 per day")
    def sums_to_total(cls, data: pa.PolarsData) -> pl.LazyFrame:
        total = pl.col("heat").sum().over("trade_date")
        return data.lazyframe.select(((total - 10_000).abs() < 1e-6) | (total == 0))


class SectorHeatDaily(pa.DataFrameModel):
    """heat.sector_daily: per day and sector."""

    trade_date: dt.date = pa.Field(description="trading day")
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"], description="SW level-1 industry or concept board")
    sector: str = pa.Field(description="sector name")
    member_count: pl.Int32 = pa.Field(ge=1, description="members with heat that day (membership as of the day)")
    heat: float = pa.Field(**_HEAT, description="sum of the members' heat (a stock counts in each of its concepts)")
    heat_kind: str = _day_kind()

    class Config:
        name = "heat.sector_daily"
        description = "Per day: the heat of each SW level-1 industry and concept board."
        strict = True
        unique = ["trade_date", "sector_kind", "sector"]


_CHANGE = {"nullable": True}


class GroupHeatWeekly(pa.DataFrameModel):
    """heat.group_weekly: per trading week and index group."""

    week_start: dt.date = _week_start()
    week_end: dt.date = _week_end()
    index_group: str = pa.Field(isin=list(GROUPS), description="index group")
    heat: float = pa.Field(**_HEAT, description="mean daily heat over the week's trading days")
    heat_kind: str = _week_kind()
    heat_change: float = pa.Field(**_CHANGE, description="heat ÷ the previous trading week's − 1; null (see "
                                                         "change_null_reason) in the first week and across kinds")
    change_null_reason: str = _change_null_reason()
    heat_change_ma2: float = pa.Field(**_CHANGE, description="mean of this and the previous week's heat_change")
    rank: pl.Int32 = pa.Field(ge=1, nullable=True, description="1 = highest heat_change_ma2 that week")

    class Config:
        name = "heat.group_weekly"
        description = "Per trading week: each index group's mean heat, its change and two-week mean change."
        strict = True
        unique = ["week_start", "index_group"]


class SectorHeatWeekly(pa.DataFrameModel):
    """heat.sector_weekly: per trading week and sector."""

    week_start: dt.date = _week_start()
    week_end: dt.date = _week_end()
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"], description="SW level-1 industry or concept board")
    sector: str = pa.Field(description="sector name")
    heat: float = pa.Field(**_HEAT, description="mean daily heat over the week's trading days")
    heat_kind: str = _week_kind()
    heat_change: float = pa.Field(**_CHANGE, description="heat ÷ the previous trading week's − 1; null (see "
                                                         "change_null_reason) in the first week and across kinds")
    change_null_reason: str = _change_null_reason()
    heat_change_ma2: float = pa.Field(**_CHANGE, description="mean of this and the previous week's heat_change")
    rank: pl.Int32 = pa.Field(ge=1, nullable=True, description="1 = highest heat_change_ma2 within the kind")

    class Config:
        name = "heat.sector_weekly"
        description = "Per trading week: each industry's and concept's mean heat, change and two-week mean change."
        strict = True
        unique = ["week_start", "sector_kind", "sector"]


class HeatRotation(pa.DataFrameModel):
    """heat.rotation: per trading week."""

    week_start: dt.date = _week_start()
    week_end: dt.date = _week_end()
    leader: str = pa.Field(isin=list(GROUPS), description="the index group with the highest heat_change_ma2")
    leader_ma2: float = pa.Field(description="its heat_change_ma2")
    position: str = pa.Field(isin=[*GROUPS[:-1], "cash"],
                             description="held over the next week: the leader's index, or cash when others leads")

    class Config:
        name = "heat.rotation"
        description = "Per trading week: the broad-index heat rotation's choice for the next week (note 001)."
        strict = True
        unique = ["week_start"]


class ConceptPortfolios(pa.DataFrameModel):
    """heat.concept_portfolios: per trading week, side and stock held."""

    week_start: dt.date = _week_start()
    week_end: dt.date = pa.Field(description="the week's last trading day in the data: the day the portfolio is "
                                             "decided (membership, float caps and heat as of it), held one week")
    side: str = pa.Field(isin=list(PORTFOLIO_SIDES),
                         description="top: each concept's highest-heat members; bottom: its lowest-heat members")
    code: str = pa.Field(**CODE, description="6-digit exchange code of the stock held")
    weight: float = pa.Field(gt=0, le=1, description="equal weight: 1 ÷ the stocks of the side that week")
    heat: float = pa.Field(**_HEAT, description="the stock's heat that week: mean daily heat over its days with heat")
    float_mcap: float = pa.Field(gt=0, description="float market cap on week_end, CNY (the size cut's measure)")
    concept_rank: pl.Int32 = pa.Field(ge=1, description="best rank among the concepts it is held through (1 = "
                                                        "highest heat_change_ma2 that week)")
    concepts: str = pa.Field(description="the chosen concepts it is held through, comma-separated, best rank first")

    class Config:
        name = "heat.concept_portfolios"
        description = ("Per trading week: note 001's concept heat TOP and BOTTOM portfolios. The 5 concepts with "
                       "the highest heat_change_ma2; in each, the smallest 20% of members by float cap (rounded "
                       "down) left out; TOP holds the 10 highest-heat members of each, BOTTOM the 10 lowest; a "
                       "stock held once, equal weight, for the next week.")
        strict = True
        unique = ["week_start", "side", "code"]

    @pa.dataframe_check(error="weights sum to 1 per week and side")
    def weights_sum_to_one(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("weight").sum().over("week_start", "side") - 1).abs() < 1e-9)


class WeeklyMonitor(pa.DataFrameModel):
    """heat.weekly_monitor: the note's weekly sentences as data."""

    week_start: dt.date = _week_start()
    week_end: dt.date = _week_end()
    topic: str = pa.Field(isin=list(MONITOR_TOPICS),
                          description="group (each index group), rotation, sw_l1_up / sw_l1_down / concept_up / "
                                      "concept_down (largest heat change up or down)")
    rank: pl.Int32 = pa.Field(ge=1, description="order within the topic")
    subject: str = pa.Field(description="the group, the position held, or the sector")
    heat: float = pa.Field(nullable=True, description="the week's heat; null for the rotation")
    heat_change: float = pa.Field(nullable=True, description="heat change vs the previous week")
    heat_change_ma2: float = pa.Field(nullable=True, description="two-week mean change")
    sentence: str = pa.Field(description="the sentence in Chinese, as a weekly monitor writes it")

    class Config:
        name = "heat.weekly_monitor"
        description = "Per trading week: the monitor's sentences as rows (groups, rotation, movers)."
        strict = True
        unique = ["week_start", "topic", "rank"]


DAILY = [StockHeatDaily, GroupHeatDaily, SectorHeatDaily]
WEEKLY = [GroupHeatWeekly, SectorHeatWeekly, HeatRotation, ConceptPortfolios, WeeklyMonitor]
