"""The research and review tables of note 000: one pandera model per table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.ladder.phases import PHASE_CODES, PHASE_NAMES
from sentiment_pipeline.platform.tables import period_fields, source_field
from sentiment_pipeline.research.rules import ALL_DAYS, CORRELATION_TARGETS, HORIZONS, PATH_DAYS, REGIMES

_RET = {"gt": -1, "nullable": True}
_SHARE = {"ge": 0, "le": 1}
_REGIME_ROW = {"isin": [*REGIMES, ALL_DAYS],
               "description": "bull, range or bear (domain.md §4), or 'all' for every stored day"}
_EVALUATION = " Evaluation data: reads days after t, never a signal for t."


def _fwd(index: str, h: int):
    return pa.Field(**_RET, description=f"{index} return compounded from the close of t over the next {h} trading "
                                        "day(s); null when that runs past the last stored day." + _EVALUATION)


class MarketDaily(pa.DataFrameModel):
    """research.market_daily: the market series the research tables read."""

    trade_date: dt.date = pa.Field(description="trading day")
    regime: str = pa.Field(isin=list(REGIMES), nullable=True,
                           description="market regime of the configured table (domain.md §4); null outside it")
    all_a_return: float = pa.Field(**_RET, description="whole-market return on the day")
    all_a_source: str = pa.Field(isin=["official", "simulated", "computed"],
                                 description="official: the source's all-A index; simulated: the synthetic market's "
                                             "own index; computed: float-cap weighted over the stored bars "
                                             "(previous-day weights; equal where none)")
    csi2000_return: float = pa.Field(**_RET, description="CSI 2000 (932000) return; null where not stored")
    total_amount: float = pa.Field(ge=0, nullable=True, description="the stored bars' amount traded, CNY")
    limit_up_next_day_return: float = pa.Field(
        **_RET, description="mean close-to-close return t → next trading day of t's eligible limit-up stocks that "
                            "trade that day." + _EVALUATION)
    limit_up_next_day_count: pl.Int32 = pa.Field(ge=0, description="how many of them traded the next day")
    all_a_fwd_1: float = _fwd("all-A", 1)
    all_a_fwd_5: float = _fwd("all-A", 5)
    all_a_fwd_10: float = _fwd("all-A", 10)
    all_a_fwd_20: float = _fwd("all-A", 20)
    csi2000_fwd_1: float = _fwd("CSI 2000", 1)
    csi2000_fwd_5: float = _fwd("CSI 2000", 5)
    csi2000_fwd_10: float = _fwd("CSI 2000", 10)
    csi2000_fwd_20: float = _fwd("CSI 2000", 20)

    source: str = source_field()

    class Config:
        name = "research.market_daily"
        description = ("Per trading day: regime, all-A and CSI 2000 returns, turnover, the next-day return of the "
                       "day's limit-up stocks and forward returns at 1/5/10/20 days (note 000, domain.md §4). "
                       "Forward columns fill as later days are stored: a run re-reads 21 trading days ahead.")
        strict = True
        unique = ["trade_date"]


class RegimeSummary(pa.DataFrameModel):
    """research.regime_summary: per regime."""

    regime: str = pa.Field(**_REGIME_ROW)
    first_day: dt.date = pa.Field(description="first stored day of the regime")
    last_day: dt.date = pa.Field(description="last stored day of the regime")
    days: pl.Int32 = pa.Field(ge=1, description="stored trading days")
    height_mode: pl.Int32 = pa.Field(ge=0, description="most frequent daily height (smallest on a tie)")
    height_q1: float = pa.Field(ge=0, description="daily height, first quartile")
    height_median: float = pa.Field(ge=0, description="daily height, median")
    height_q3: float = pa.Field(ge=0, description="daily height, third quartile")
    share_height_ge6: float = pa.Field(**_SHARE, description="share of days with height ≥ 6")
    rate_days: pl.Int32 = pa.Field(ge=0, description="days with a promotion rate")
    rate_median: float = pa.Field(ge=0, nullable=True, description="median promotion rate")
    share_rate_gt25: float = pa.Field(**_SHARE, nullable=True, description="share of those days with rate > 25%")
    mean_limit_up_count: float = pa.Field(ge=0, description="mean daily count of eligible limit-ups")

    source: str = source_field()
    period_start: dt.date = period_fields()[0]
    period_end: dt.date = period_fields()[1]

    class Config:
        name = "research.regime_summary"
        description = "Per market regime (and all days): height and promotion rate as note 000 describes them."
        strict = True
        unique = ["regime"]


class RegimeDistribution(pa.DataFrameModel):
    """research.regime_distribution: per regime, days per height and per 5-point rate bucket."""

    regime: str = pa.Field(**_REGIME_ROW)
    measure: str = pa.Field(isin=["max_height", "promotion_rate"], description="which distribution")
    bucket_low: float = pa.Field(ge=0, description="the height, or the rate bucket's lower bound (fraction)")
    bucket: str = pa.Field(description="label: the height, or e.g. '25–30%' (lower bound included)")
    days: pl.Int32 = pa.Field(ge=1, description="days in the bucket")
    share: float = pa.Field(**_SHARE, description="share of the regime's days with the measure")

    source: str = source_field()
    period_start: dt.date = period_fields()[0]
    period_end: dt.date = period_fields()[1]

    class Config:
        name = "research.regime_distribution"
        description = "Per regime (and all days): the distribution of daily height and of promotion rate."
        strict = True
        unique = ["regime", "measure", "bucket_low"]


class RateCorrelation(pa.DataFrameModel):
    """research.rate_correlation: day-t promotion rate against the next day."""

    regime: str = pa.Field(**_REGIME_ROW)
    target: str = pa.Field(isin=list(CORRELATION_TARGETS),
                           description="limit_up_next_day (t's limit-ups on t+1) or all_a_next_day")
    method: str = pa.Field(isin=["pearson", "spearman"], description="SciPy pearsonr or spearmanr")
    coefficient: float = pa.Field(ge=-1, le=1, nullable=True,
                                  description="null with fewer than 3 pairs or a constant series")
    n: pl.Int32 = pa.Field(ge=0, description="days with both values")
    p_value: float = pa.Field(ge=0, le=1, nullable=True, description="two-sided p-value")

    source: str = source_field()
    period_start: dt.date = period_fields()[0]
    period_end: dt.date = period_fields()[1]

    class Config:
        name = "research.rate_correlation"
        description = "Per regime (and all days): correlation of the promotion rate with the next day's returns."
        strict = True
        unique = ["regime", "target", "method"]


class PhaseForward(pa.DataFrameModel):
    """research.phase_forward: what each phase is worth later."""

    phase_code: str = pa.Field(isin=list(PHASE_CODES), description="the phase of day t")
    phase_name: str = pa.Field(isin=list(PHASE_NAMES.values()), description="its Chinese name")
    target: str = pa.Field(isin=["limit_ups", "all_a", "csi2000"],
                           description="limit_ups: t's limit-up stocks on t+1; all_a / csi2000: the index")
    horizon: pl.Int32 = pa.Field(isin=list(HORIZONS), description="trading days after t")
    days: pl.Int32 = pa.Field(ge=1, description="phase days with the forward return")
    mean_return: float = pa.Field(gt=-1, description="mean forward return")
    win_rate: float = pa.Field(**_SHARE, description="share of forward returns > 0")
    odds: float = pa.Field(ge=0, nullable=True, description="mean gain ÷ mean loss; null without a loss")

    source: str = source_field()
    period_start: dt.date = period_fields()[0]
    period_end: dt.date = period_fields()[1]

    class Config:
        name = "research.phase_forward"
        description = "Per phase: mean forward return, win rate and odds at 1/5/10/20 days (note 000)."
        strict = True
        unique = ["phase_code", "target", "horizon"]


class PhasePath(pa.DataFrameModel):
    """research.phase_path: the mean 20-day path after each phase."""

    phase_code: str = pa.Field(isin=list(PHASE_CODES), description="the phase of day t")
    phase_name: str = pa.Field(isin=list(PHASE_NAMES.values()), description="its Chinese name")
    target: str = pa.Field(isin=["all_a", "csi2000"], description="the index")
    day: pl.Int32 = pa.Field(ge=1, le=PATH_DAYS, description="trading days after t")
    days: pl.Int32 = pa.Field(ge=1, description="phase days whose whole 20-day path is stored")
    mean_cum_return: float = pa.Field(gt=-1, description="mean return from the close of t to the close of t+day")

    source: str = source_field()
    period_start: dt.date = period_fields()[0]
    period_end: dt.date = period_fields()[1]

    class Config:
        name = "research.phase_path"
        description = "Per phase and index: the mean cumulative return on each of the 20 trading days after."
        strict = True
        unique = ["phase_code", "target", "day"]


def _week_start():
    return pa.Field(description="the week's Monday (the partition key)")


class Crowding(pa.DataFrameModel):
    """review.crowding: per trading week and concept."""

    week_start: dt.date = _week_start()
    concept: str = pa.Field(description="concept board")
    amount_share: float = pa.Field(**_SHARE, description="its members' amount ÷ the market's, over the week")
    window_weeks: pl.Int32 = pa.Field(ge=1, le=52, description="weeks of its share in the trailing 52")
    crowding: float = pa.Field(ge=0, le=100, nullable=True,
                               description="percentile of amount_share among those weeks (share ≤ it, × 100); "
                                           "null with fewer than 26")
    crowding_change: float = pa.Field(nullable=True, description="crowding − the previous week's")
    rank: pl.Int32 = pa.Field(ge=1, nullable=True, description="1 = most crowded (ties: larger share first)")

    source: str = source_field()

    class Config:
        name = "review.crowding"
        description = ("Per trading week and concept: share of market turnover and its percentile in the concept's "
                       "own trailing year (crowding, note 000's weekly review).")
        strict = True
        unique = ["week_start", "concept"]


def _change(what: str):
    return pa.Field(nullable=True, description=f"{what} − the previous trading week's; null in the first week")


class WeeklyReview(pa.DataFrameModel):
    """review.weekly: note 000's weekly market review."""

    week_start: dt.date = _week_start()
    week_end: dt.date = pa.Field(description="the week's last stored trading day")
    trading_days: pl.Int32 = pa.Field(ge=1, le=5, description="stored trading days in the week")
    all_a_return: float = pa.Field(**_RET, description="all-A return over the week (compounded)")
    all_a_return_change: float = _change("all_a_return")
    avg_amount: float = pa.Field(ge=0, nullable=True, description="mean daily amount traded (成交额), CNY")
    avg_amount_change: float = _change("avg_amount")
    avg_up_count: float = pa.Field(ge=0, nullable=True, description="mean daily number of rising eligible stocks")
    avg_up_count_change: float = _change("avg_up_count")
    avg_limit_up_count: float = pa.Field(ge=0, nullable=True, description="mean daily eligible limit-up count")
    avg_limit_up_count_change: float = _change("avg_limit_up_count")
    main_net_flow: float = pa.Field(nullable=True, description="main-force net inflow summed over the week, CNY; "
                                                               "null when the source has no flows")
    main_net_flow_change: float = _change("main_net_flow")
    margin_balance: float = pa.Field(gt=0, nullable=True,
                                     description="margin balance (融资融券余额) at the week's last day with one, CNY")
    margin_balance_change: float = _change("margin_balance")
    max_height: pl.Int32 = pa.Field(ge=0, nullable=True, description="the week's highest daily height")
    phases: str = pa.Field(nullable=True, description="the week's phases with their days, in order")
    top_concepts: str = pa.Field(nullable=True, description="the five most crowded concepts with their crowding")

    source: str = source_field()

    class Config:
        name = "review.weekly"
        description = "Per trading week: note 000's market review, each figure with its change on the week before."
        strict = True
        unique = ["week_start"]


RESEARCH = [RegimeSummary, RegimeDistribution, RateCorrelation, PhaseForward, PhasePath]
TABLES = [MarketDaily, *RESEARCH, Crowding, WeeklyReview]
