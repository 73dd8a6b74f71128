"""The strategies of notes 000, 001 and 002 as target weights decided at each day's close, and the benchmark.

Each function reads only what its decision day knows: the day's scores, phase, ladder, bars and the
membership known that day. The engine executes at the next open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from sentiment_pipeline.market import membership
from sentiment_pipeline.platform import calendar

TARGET_SCHEMA = {"trade_date": pl.Date, "code": pl.String, "weight": pl.Float64}
SIGNALS = ("stms", "risers", "three_highs")
REBALANCES = ("daily", "weekly")
PORTFOLIO_SIDES = ("top", "bottom")  # heat.concept_portfolios' sides
# The phases note 000 names as strong for limit-up stocks the next day.
STRONG_NEXT_DAY_PHASES = ("冰点低迷期", "混沌活跃期", "高潮分化期")


@dataclass(frozen=True)
class Plan:
    """What a strategy hands the engine: targets and the days it decides (a decision day without targets
    means cash)."""

    targets: pl.DataFrame
    decision_days: list[dt.date]
    signal_days: int  # decision days with at least one target
    # The latest membership in force on the last decision day, for a strategy built on membership (the
    # *_as_of functions below); None for one that uses none.
    membership_date: dt.date | None = None


def decision_days(days: Sequence[dt.date], rebalance: str) -> list[dt.date]:
    """Every day, or the last trading day of each week by the exchange calendar (known in advance, so a week
    whose last day is not stored yet has no decision: the end of the stored days is not the end of a week)."""
    if rebalance not in REBALANCES:
        raise ValueError(f"rebalance must be one of {REBALANCES}, not {rebalance!r}")
    if rebalance == "daily":
        return sorted(days)
    frame = pl.DataFrame({"trade_date": calendar.trading_days()}, schema={"trade_date": pl.Date})
    week = pl.col("trade_date").dt.truncate("1w")
    ends = set(frame.group_by(week.alias("week")).agg(pl.col("trade_date").max())["trade_date"].to_list())
    return sorted(d for d in days if d in ends)


def select_sectors(scores: pl.DataFrame, *, kind: str, signal: str, top_n: int) -> pl.DataFrame:
    """Per day, the sectors to hold: the top_n by STMS rank, or the best-ranked top_n of the day's risers or
    three-highs. Columns trade_date, sector_kind, sector, rank."""
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {SIGNALS}, not {signal!r}")
    pool = scores.filter(pl.col("sector_kind") == kind)
    if signal == "risers":
        pool = pool.filter(pl.col("is_riser"))
    elif signal == "three_highs":
        pool = pool.filter(pl.col("is_three_high"))
    return (pool.filter(pl.col("rank").rank("ordinal").over("trade_date") <= top_n)
            .select("trade_date", "sector_kind", "sector", "rank").sort("trade_date", "rank"))


def sector_baskets(chosen: pl.DataFrame, bars: pl.DataFrame, industry_history: pl.DataFrame,
                   concept_membership: pl.DataFrame) -> pl.DataFrame:
    """Each chosen (day, sector) as its members trading that day, weighted by that day's float cap (equal
    weights in a sector where any member lacks one); the sectors share the portfolio equally."""
    stock_days = bars.filter(pl.col("trade_date").is_in(chosen["trade_date"].unique().implode())).select(
        "trade_date", "code", "float_mcap")
    industry = chosen.filter(pl.col("sector_kind") == "sw_l1")
    concept = chosen.filter(pl.col("sector_kind") == "concept")
    parts = []
    if industry.height:
        # Only the stock-days of stocks ever classified in a sector chosen that day: a fraction of the market,
        # where classifying every stock of every chosen day held ~0.5 GiB at once over seven years.
        ever_in = (industry_history.select("code", sector="industry_name").drop_nulls().unique()
                   .join(industry.select("trade_date", "sector"), on="sector").select("trade_date", "code").unique())
        parts.append(membership.sw_l1_members(stock_days.join(ever_in, on=["trade_date", "code"], how="semi"),
                                              industry_history))
    if concept.height:
        parts.append(membership.concept_members(stock_days, concept_membership,
                                                only=concept.select("trade_date", concept_name="sector")))
    if not parts:
        return pl.DataFrame(schema=TARGET_SCHEMA)
    members = (pl.concat(parts).join(chosen.select("trade_date", "sector_kind", "sector"),
                                     on=["trade_date", "sector_kind", "sector"])
               .join(stock_days, on=["trade_date", "code"]))
    per_sector = ["trade_date", "sector_kind", "sector"]
    share = 1.0 / pl.col("sector").n_unique().over("trade_date")
    cap_weight = pl.col("float_mcap") / pl.col("float_mcap").sum().over(per_sector)
    equal_weight = 1.0 / pl.len().over(per_sector)
    weight = pl.when(pl.col("float_mcap").null_count().over(per_sector) > 0).then(equal_weight).otherwise(cap_weight)
    return (members.with_columns(weight=share * weight)
            .group_by("trade_date", "code").agg(pl.col("weight").sum())
            .sort("trade_date", "code").cast(TARGET_SCHEMA))


def stms_sector_plan(scores: pl.DataFrame, bars: pl.DataFrame, industry_history: pl.DataFrame,
                     concept_membership: pl.DataFrame, *, kind: str = "sw_l1", signal: str = "stms",
                     top_n: int = 3, rebalance: str = "daily") -> Plan:
    days = decision_days(bars["trade_date"].unique().to_list(), rebalance)
    chosen = select_sectors(scores.filter(pl.col("trade_date").is_in(days)), kind=kind, signal=signal, top_n=top_n)
    targets = sector_baskets(chosen, bars, industry_history, concept_membership)
    return Plan(targets, days, targets["trade_date"].n_unique(),
                _basket_membership_date(kind, days, industry_history, concept_membership))


# ------------------------------------------------------------------------------- membership dates (provenance)

def concept_snapshot_as_of(day: dt.date | None, concept_membership: pl.DataFrame) -> dt.date | None:
    """The newest concept snapshot in force on `day`, as membership.concept_members reads boards: the latest
    snapshot_date on or before it, the first snapshot when the day precedes every one (look-ahead)."""
    first = concept_membership["snapshot_date"].min() if concept_membership.height else None
    return None if day is None or first is None else _latest_on_or_before(max(day, first), concept_membership,
                                                                          "snapshot_date")


def _latest_on_or_before(day: dt.date | None, frame: pl.DataFrame, column: str) -> dt.date | None:
    if day is None or frame.is_empty():
        return None
    dates = frame[column].drop_nulls()
    return dates.filter(dates <= day).max()


def industry_start_as_of(day: dt.date | None, industry_history: pl.DataFrame) -> dt.date | None:
    """The latest SW classification start (raw.industry_history.start_date) on or before `day`."""
    return _latest_on_or_before(day, industry_history, "start_date")


def index_list_as_of(day: dt.date | None, index_membership: pl.DataFrame) -> dt.date | None:
    """The latest CSI list effective date (raw.index_membership.effective_date) on or before `day`; None
    before the first list (every stock is then in 'others')."""
    return _latest_on_or_before(day, index_membership, "effective_date")


def _basket_membership_date(kind: str, days: Sequence[dt.date], industry_history: pl.DataFrame,
                            concept_membership: pl.DataFrame) -> dt.date | None:
    last = max(days, default=None)
    return (concept_snapshot_as_of(last, concept_membership) if kind == "concept"
            else industry_start_as_of(last, industry_history))


def limit_up_follow_plan(phases: pl.DataFrame, ladder: pl.DataFrame,
                         phase_names: Sequence[str] = STRONG_NEXT_DAY_PHASES) -> Plan:
    """On a day whose phase is in `phase_names`, that day's eligible limit-up stocks in equal weights; every
    other day, cash. Decided daily: bought at the next open, sold at the open after (unless chosen again)."""
    signal_days = phases.filter(pl.col("phase_name").is_in(list(phase_names))).select("trade_date")
    targets = (ladder.filter(pl.col("eligible") & pl.col("is_limit_up"))
               .join(signal_days, on="trade_date")
               .select("trade_date", "code", weight=1.0 / pl.len().over("trade_date"))
               .sort("trade_date", "code").cast(TARGET_SCHEMA))
    return Plan(targets, sorted(phases["trade_date"].to_list()), targets["trade_date"].n_unique())


def next_day_returns(targets: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """What note 000 measures and what a trader gets, per signal day t, as means over day t's chosen stocks
    that trade on the next two market days (ex-rights adjusted through the reference close):
    `close_to_close` (t → t+1, the note's measure), `overnight_gap` (close t → open t+1) and `open_to_open`
    (open t+1 → open t+2, what buying at the next open and selling at the open after earns before costs).
    Evaluation only: it reads days after t."""
    day_no = calendar.trading_day_index()
    legs = (bars.select("trade_date", "code", gap=pl.col("open") / pl.col("pre_close"),
                        intraday=pl.col("close") / pl.col("open"))
            .join(day_no, on="trade_date").drop("trade_date"))
    chosen = targets.select("trade_date", "code").join(day_no, on="trade_date")
    one = legs.rename({"gap": "gap1", "intraday": "intraday1"}).with_columns(pl.col("day_no") - 1)
    two = legs.select("code", "day_no", gap2="gap").with_columns(pl.col("day_no") - 2)
    joined = chosen.join(one, on=["code", "day_no"]).join(two, on=["code", "day_no"])
    return (joined.group_by("trade_date")
            .agg(close_to_close=(pl.col("gap1") * pl.col("intraday1") - 1).mean(),
                 overnight_gap=(pl.col("gap1") - 1).mean(),
                 open_to_open=(pl.col("intraday1") * pl.col("gap2") - 1).mean(), stocks=pl.len())
            .sort("trade_date"))


# ------------------------------------------------------------------------------------------ heat (note 001)

INDEX_OF_GROUP = {"csi300": "000300", "csi500": "000905", "csi1000": "000852", "csi2000": "932000"}


def index_panel(index_daily: pl.DataFrame) -> pl.DataFrame:
    """The CSI 300/500/1000/2000 series as an engine panel, one instrument per index group. Index series have no
    open: the next open is taken as the previous close (an index fund opens near it)."""
    codes = {v: k for k, v in INDEX_OF_GROUP.items()}
    series = (index_daily.filter(pl.col("index_code").is_in(list(codes))).sort("index_code", "trade_date")
              .with_columns(previous=pl.coalesce("pre_close", pl.col("close").shift(1).over("index_code"))))
    return series.select("trade_date", code=pl.col("index_code").replace_strict(codes),
                         open=pl.coalesce("previous", "close"), close="close", pre_close="previous")


def _week_end_decisions(weeks: pl.DataFrame) -> list[dt.date]:
    """The weeks' last trading days that are the exchange calendar's (a week still running decides nothing)."""
    return decision_days(weeks["week_end"].unique().to_list(), "weekly")


def heat_rotation_plan(rotation: pl.DataFrame) -> Plan:
    """At each week's last trading day, the whole portfolio in the index whose group leads the heat rotation,
    or cash when 'others' leads; held over the next week."""
    days = _week_end_decisions(rotation)
    held = rotation.filter(pl.col("week_end").is_in(days) & (pl.col("position") != "cash"))
    targets = held.select(trade_date="week_end", code="position", weight=pl.lit(1.0)).cast(TARGET_SCHEMA)
    return Plan(targets.sort("trade_date"), days, targets.height)


def hold_plan(panel: pl.DataFrame, code: str) -> Plan:
    """Buy-and-hold of one instrument from the first day."""
    first = panel["trade_date"].min()
    targets = pl.DataFrame({"trade_date": [first], "code": [code], "weight": [1.0]}, schema=TARGET_SCHEMA)
    return Plan(targets, [first], 1)


def concept_heat_baskets_plan(sector_weekly: pl.DataFrame, bars: pl.DataFrame, industry_history: pl.DataFrame,
                              concept_membership: pl.DataFrame, *, side: str = "top", n: int = 5) -> Plan:
    """At each week's last trading day, the `n` concepts with the highest (`top`) or lowest (`bottom`)
    heat_change_ma2, equal shares, each as its float-cap weighted member basket; held one week. Not note 001's
    portfolios (concept_portfolio_plan): the whole concepts, a reference for them."""
    if side not in PORTFOLIO_SIDES:
        raise ValueError(f"side must be one of {PORTFOLIO_SIDES}, not {side!r}")
    weeks = sector_weekly.filter((pl.col("sector_kind") == "concept") & pl.col("heat_change_ma2").is_not_null())
    days = _week_end_decisions(weeks)
    order = pl.col("heat_change_ma2").rank("ordinal", descending=side == "top").over("week_end")
    chosen = (weeks.filter(pl.col("week_end").is_in(days)).filter(order <= n)
              .select(trade_date="week_end", sector_kind="sector_kind", sector="sector", rank=order))
    targets = sector_baskets(chosen, bars, industry_history, concept_membership)
    return Plan(targets, days, targets["trade_date"].n_unique(),
                _basket_membership_date("concept", days, industry_history, concept_membership))


def concept_portfolio_plan(portfolios: pl.DataFrame, weeks: pl.DataFrame, *, side: str = "top") -> Plan:
    """Note 001's concept heat TOP or BOTTOM portfolio as heat.concept_portfolios stores it (week_start,
    week_end, side, code, weight): each week's `side` rows as target weights decided on its week_end.

    Every week_end of `weeks` (a heat weekly table: week_start, week_end) that is the exchange calendar's last
    trading day of its week decides (a week still running decides nothing), so a week without portfolio rows
    is held in cash. The portfolios read nothing after week_end (heat/rules.py); neither does this."""
    if side not in PORTFOLIO_SIDES:
        raise ValueError(f"side must be one of {PORTFOLIO_SIDES}, not {side!r}")
    days = _week_end_decisions(weeks)
    held = portfolios.filter((pl.col("side") == side) & pl.col("week_end").is_in(days))
    targets = held.select(trade_date="week_end", code="code", weight="weight").sort("trade_date", "code")
    return Plan(targets.cast(TARGET_SCHEMA), days, targets["trade_date"].n_unique())
