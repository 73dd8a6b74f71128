"""pandera.polars schemas for every table, and validation that names table, column, partition and rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from sentiment_pipeline.phases import PHASE_CODES, PHASE_NAMES
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY


class Securities(pa.DataFrameModel):
    """raw.securities: the source's securities master."""

    code: str = pa.Field(str_matches=r"^\d{6}$", unique=True)
    name: str = pa.Field(nullable=True)
    exchange: str = pa.Field(isin=["SH", "SZ", "BJ"])
    board: str = pa.Field(isin=["main", "chinext", "star", "bse"])
    list_date: dt.date = pa.Field(nullable=True)
    delist_date: dt.date = pa.Field(nullable=True)

    class Config:
        strict = True


class RawDailyQuotes(pa.DataFrameModel):
    """raw.daily_quotes: the source's bars as given (types, keys and price sanity only)."""

    trade_date: dt.date = pa.Field(nullable=False)
    code: str = pa.Field(str_matches=r"^\d{6}$")
    open: float = pa.Field(gt=0)
    high: float = pa.Field(gt=0)
    low: float = pa.Field(gt=0)
    close: float = pa.Field(gt=0)
    pre_close: float = pa.Field(gt=0, nullable=True)  # null only where the source lacks it (TDX first record)
    volume: int = pa.Field(ge=0, nullable=True)
    amount: float = pa.Field(ge=0, nullable=True)
    turnover_rate: float = pa.Field(ge=0, nullable=True)
    float_mcap: float = pa.Field(gt=0, nullable=True)
    is_st: bool = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code"]

    @pa.dataframe_check(error="low <= open, close <= high")
    def ohlc_consistent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        o, h, l, c = (pl.col(x) for x in ("open", "high", "low", "close"))
        return data.lazyframe.select((l <= o) & (o <= h) & (l <= c) & (c <= h))


class DailyBars(RawDailyQuotes):
    """core.daily_bars: validated bars with board, listing age, limit prices and flags."""

    exchange: str = pa.Field(isin=["SH", "SZ", "BJ"])
    board: str = pa.Field(isin=["main", "chinext", "star", "bse"])
    list_date: dt.date = pa.Field(nullable=True)
    listing_age: pl.Int32 = pa.Field(ge=1, nullable=True)
    limit_up_price: float = pa.Field(gt=0, nullable=True)
    limit_down_price: float = pa.Field(gt=0, nullable=True)
    is_limit_up: bool
    is_broken: bool
    is_one_word: bool
    is_limit_down: bool


class LimitLadder(pa.DataFrameModel):
    """sentiment.limit_ladder: per stock and day."""

    trade_date: dt.date
    code: str = pa.Field(str_matches=r"^\d{6}$")
    is_st: bool = pa.Field(nullable=True)
    listing_age: pl.Int32 = pa.Field(ge=1, nullable=True)
    is_limit_up: bool
    is_broken: bool
    is_limit_down: bool
    pct_change: float = pa.Field(nullable=True)
    streak: pl.Int32 = pa.Field(ge=0)
    in_opening_run: bool
    eligible: bool
    exclusion_reason: str = pa.Field(isin=["st", "new_listing", "st+new_listing"], nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code"]

    @pa.dataframe_check(error="streak > 0 exactly on limit-up days")
    def streak_on_limit_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("streak") > 0) == pl.col("is_limit_up"))


_RATE = {"ge": 0, "nullable": True}


class LadderDaily(pa.DataFrameModel):
    """sentiment.ladder_daily: per day."""

    trade_date: dt.date = pa.Field(unique=True)
    limit_up_count: pl.Int32 = pa.Field(ge=0)
    broken_count: pl.Int32 = pa.Field(ge=0)
    limit_down_count: pl.Int32 = pa.Field(ge=0)
    up_count: pl.Int32 = pa.Field(ge=0)
    down_count: pl.Int32 = pa.Field(ge=0)
    seal_rate: float = pa.Field(ge=0, le=1, nullable=True)
    max_height: pl.Int32 = pa.Field(ge=0)
    count_h1: pl.Int32 = pa.Field(ge=0)
    count_h2: pl.Int32 = pa.Field(ge=0)
    count_h3: pl.Int32 = pa.Field(ge=0)
    count_h4: pl.Int32 = pa.Field(ge=0)
    count_h5: pl.Int32 = pa.Field(ge=0)
    count_h6: pl.Int32 = pa.Field(ge=0)
    count_h7: pl.Int32 = pa.Field(ge=0)
    count_h8: pl.Int32 = pa.Field(ge=0)
    count_h9: pl.Int32 = pa.Field(ge=0)
    count_h10_plus: pl.Int32 = pa.Field(ge=0)
    prev_trade_date: dt.date = pa.Field(nullable=True)
    prev_limit_up_count: pl.Int32 = pa.Field(ge=0, nullable=True)
    has_previous_day: bool
    promotion_rate: float = pa.Field(**_RATE)
    rate_1to2: float = pa.Field(**_RATE)
    rate_2to3: float = pa.Field(**_RATE)
    rate_3to4: float = pa.Field(**_RATE)
    rate_4plus: float = pa.Field(**_RATE)

    class Config:
        strict = True

    @pa.dataframe_check(error="sum of count_h* equals limit_up_count")
    def heights_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        total = pl.sum_horizontal(pl.col("^count_h.*$"))
        return data.lazyframe.select(total == pl.col("limit_up_count"))


class PhaseDaily(pa.DataFrameModel):
    """sentiment.phase_daily: per day."""

    trade_date: dt.date = pa.Field(unique=True)
    max_height: pl.Int32 = pa.Field(ge=0)
    promotion_rate: float = pa.Field(ge=0, nullable=True)
    phase_code: str = pa.Field(isin=list(PHASE_CODES), nullable=True)
    phase_name: str = pa.Field(isin=list(PHASE_NAMES.values()), nullable=True)
    no_phase_reason: str = pa.Field(
        isin=["previous_day_missing", "no_limit_up_previous_day", "max_height_below_2"], nullable=True
    )

    class Config:
        strict = True

    @pa.dataframe_check(error="exactly one of phase_code and no_phase_reason is set")
    def phase_or_reason(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("phase_code").is_null() != pl.col("no_phase_reason").is_null())


_CODE = {"str_matches": r"^\d{6}$"}


class LimitUpPools(pa.DataFrameModel):
    """raw.limit_up_pools: the publisher's pools as given (limit-up, previous day's, broken, limit-down)."""

    trade_date: dt.date
    pool: str = pa.Field(isin=["limit_up", "previous", "broken", "limit_down"])
    code: str = pa.Field(**_CODE)
    name: str = pa.Field(nullable=True)
    close: float = pa.Field(gt=0, nullable=True)
    pct_change: float = pa.Field(nullable=True)
    amount: float = pa.Field(ge=0, nullable=True)
    float_mcap: float = pa.Field(ge=0, nullable=True)
    turnover_rate: float = pa.Field(ge=0, nullable=True)
    sealed_amount: float = pa.Field(ge=0, nullable=True)
    first_seal_time: str = pa.Field(nullable=True)
    last_seal_time: str = pa.Field(nullable=True)
    broken_count: pl.Int32 = pa.Field(ge=0, nullable=True)
    streak: pl.Int32 = pa.Field(ge=1, nullable=True)
    limit_up_stat: str = pa.Field(nullable=True)
    is_new_listing: bool = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "pool", "code"]


class MainFundFlows(pa.DataFrameModel):
    """raw.main_fund_flows: main-force (super-large + large orders) net inflow per stock and day, CNY."""

    trade_date: dt.date
    code: str = pa.Field(**_CODE)
    main_net_inflow: float = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code"]


class NorthboundFlows(pa.DataFrameModel):
    """raw.northbound_flows: Stock Connect holdings and net inflow per stock and day, until 2024-08-16."""

    trade_date: dt.date = pa.Field(le=NORTHBOUND_LAST_DAY)
    code: str = pa.Field(**_CODE)
    holding_shares: float = pa.Field(ge=0, nullable=True)
    northbound_net_inflow: float = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code"]


class Attention(pa.DataFrameModel):
    """raw.attention: per stock and day, the attention components the source has (the rest null)."""

    trade_date: dt.date
    code: str = pa.Field(**_CODE)
    browse_count: int = pa.Field(ge=0, nullable=True)
    watchlist_adds: int = pa.Field(ge=0, nullable=True)
    click_count: int = pa.Field(ge=0, nullable=True)
    attention_index: float = pa.Field(ge=0, nullable=True)
    hot_rank: pl.Int32 = pa.Field(ge=1, nullable=True)
    new_follower_share: float = pa.Field(ge=0, le=1, nullable=True)
    loyal_follower_share: float = pa.Field(ge=0, le=1, nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code"]


class IndexDaily(pa.DataFrameModel):
    """raw.index_daily: index closes and amounts; the whole market is index_code 'all_a'."""

    trade_date: dt.date
    index_code: str
    index_name: str = pa.Field(nullable=True)
    pre_close: float = pa.Field(gt=0, nullable=True)
    close: float = pa.Field(gt=0)
    amount: float = pa.Field(ge=0, nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "index_code"]


class MarginBalance(pa.DataFrameModel):
    """raw.margin_balance: whole-market margin balance (融资融券余额), CNY."""

    trade_date: dt.date = pa.Field(unique=True)
    margin_balance: float = pa.Field(gt=0)

    class Config:
        strict = True


class IndexMembership(pa.DataFrameModel):
    """raw.index_membership: CSI 300/500/1000/2000 members from the snapshot effective on effective_date."""

    index_code: str = pa.Field(isin=["000300", "000905", "000852", "932000"])
    code: str = pa.Field(**_CODE)
    effective_date: dt.date
    weight: float = pa.Field(ge=0, le=1, nullable=True)

    class Config:
        strict = True
        unique = ["index_code", "code", "effective_date"]


class IndustryHistory(pa.DataFrameModel):
    """raw.industry_history: SW level-1 industry of each stock from start_date on, in that date's taxonomy."""

    code: str = pa.Field(**_CODE)
    start_date: dt.date
    industry_code: str = pa.Field(nullable=True)
    industry_name: str
    taxonomy: str = pa.Field(isin=["sw2014", "sw2021"])

    class Config:
        strict = True
        unique = ["code", "start_date", "taxonomy"]


class ConceptMembership(pa.DataFrameModel):
    """raw.concept_membership: concept board members as seen in the snapshot of snapshot_date."""

    concept_name: str
    code: str = pa.Field(**_CODE)
    snapshot_date: dt.date

    class Config:
        strict = True
        unique = ["concept_name", "code", "snapshot_date"]


_SHARE = {"ge": 0, "le": 1, "nullable": True}
_COUNT = {"ge": 0, "nullable": True}


class LimitUpReconciliation(pa.DataFrameModel):
    """quality.limit_up_reconciliation: per day, our limit-ups against the published pool."""

    trade_date: dt.date = pa.Field(unique=True)
    pool_available: bool
    pool_count: pl.Int32 = pa.Field(**_COUNT)
    ours_count: pl.Int32 = pa.Field(**_COUNT)
    both_count: pl.Int32 = pa.Field(**_COUNT)
    only_ours_count: pl.Int32 = pa.Field(**_COUNT)
    only_pool_count: pl.Int32 = pa.Field(**_COUNT)
    found_share: float = pa.Field(**_SHARE)
    streak_compared: pl.Int32 = pa.Field(**_COUNT)
    streak_agree_count: pl.Int32 = pa.Field(**_COUNT)
    streak_agreement: float = pa.Field(**_SHARE)
    disagreement_count: pl.Int32 = pa.Field(**_COUNT)

    class Config:
        strict = True


class LimitUpDisagreements(pa.DataFrameModel):
    """quality.limit_up_disagreements: every stock-day where we and the pool disagree, with its reason."""

    trade_date: dt.date
    code: str = pa.Field(**_CODE)
    kind: str = pa.Field(isin=["only_ours", "only_pool", "streak"])
    our_streak: pl.Int32 = pa.Field(nullable=True)
    pool_streak: pl.Int32 = pa.Field(nullable=True)
    reason: str = pa.Field(isin=["st", "new_listing", "board_not_in_pool", "absent_from_pool", "missing_bar",
                                 "price_mismatch", "reference_close", "suspension", "history_start",
                                 "previous_day_not_in_pool", "streak_definition"])
    detail: str = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "code", "kind"]


_SCORE = {"ge": 0, "le": 100}
_FRACTION = {"ge": 0, "le": 1, "nullable": True}


class SectorDaily(pa.DataFrameModel):
    """stms.sector_daily: per sector and day, float-cap weighted figures and their 5/20-day windows."""

    trade_date: dt.date
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"])
    sector: str
    member_count: pl.Int32 = pa.Field(ge=1)
    ret: float = pa.Field(gt=-1, nullable=True)
    ret_5d: float = pa.Field(gt=-1, nullable=True)
    ret_20d: float = pa.Field(gt=-1, nullable=True)
    turnover: float = pa.Field(ge=0, nullable=True)
    turnover_5d: float = pa.Field(ge=0, nullable=True)
    turnover_20d: float = pa.Field(ge=0, nullable=True)
    amount: float = pa.Field(ge=0, nullable=True)
    amount_5d: float = pa.Field(ge=0, nullable=True)
    main_inflow_5d: float = pa.Field(nullable=True)
    north_inflow_5d: float = pa.Field(nullable=True)
    main_inflow_share_5d: float = pa.Field(nullable=True)
    north_inflow_share_5d: float = pa.Field(nullable=True)
    limit_up_count: pl.Int32 = pa.Field(ge=0)
    limit_up_share: float = pa.Field(ge=0, le=1)
    above_ma20_share: float = pa.Field(**_FRACTION)
    ma20_excluded_count: pl.Int32 = pa.Field(ge=0)
    window_days: pl.Int32 = pa.Field(ge=0, le=21)
    window_status: str = pa.Field(isin=["complete", "before_first_partition", "short_window"])

    class Config:
        strict = True
        unique = ["trade_date", "sector_kind", "sector"]

    @pa.dataframe_check(error="20-day figures only on complete windows")
    def long_window_complete(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("ret_20d").is_null() | (pl.col("window_status") == "complete"))


class StmsScores(pa.DataFrameModel):
    """stms.scores: per sector and day with a complete window: sub-scores, STMS, rank and signals."""

    trade_date: dt.date
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"])
    sector: str
    a1: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0])
    a2: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0])
    b1: float = pa.Field(**_SCORE)
    b2: float = pa.Field(**_SCORE)
    c1: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0])
    c2: float = pa.Field(isin=[0.0, 25.0, 75.0, 100.0])
    score_a: float = pa.Field(**_SCORE)
    score_b: float = pa.Field(**_SCORE)
    score_c: float = pa.Field(**_SCORE)
    stms: float = pa.Field(**_SCORE)
    rank: pl.Int32 = pa.Field(ge=1)
    sector_count: pl.Int32 = pa.Field(ge=1)
    b_components: str = pa.Field(isin=["north+main", "main", "north", "none"])
    rank_change_1d: pl.Int32 = pa.Field(nullable=True)
    rank_change_2d: pl.Int32 = pa.Field(nullable=True)
    rank_change_3d: pl.Int32 = pa.Field(nullable=True)
    is_riser: bool
    riser_days: pl.Int32 = pa.Field(isin=[1, 2, 3], nullable=True)
    is_three_high: bool
    structure: str = pa.Field(isin=["hot_money_theme", "institution_led_trend", "pure_sentiment_spike",
                                    "momentum_without_funds", "fund_led_bottoming"], nullable=True)
    structure_note: str = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "sector_kind", "sector"]

    @pa.dataframe_check(error="ranks are 1..sector_count")
    def rank_within_count(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("rank") <= pl.col("sector_count"))


class StmsTopList(pa.DataFrameModel):
    """stms.top_list: the daily top sectors per kind."""

    trade_date: dt.date
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"])
    rank: pl.Int32 = pa.Field(ge=1)
    sector: str
    stms: float = pa.Field(**_SCORE)
    score_a: float = pa.Field(**_SCORE)
    score_b: float = pa.Field(**_SCORE)
    score_c: float = pa.Field(**_SCORE)
    rank_change_1d: pl.Int32 = pa.Field(nullable=True)
    is_riser: bool
    is_three_high: bool
    structure: str = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["trade_date", "sector_kind", "rank"]


@dataclass
class ValidationReport:
    table: str
    partitions: str
    rows: int
    failures: pl.DataFrame  # one row per failure: column, check, failure_case, row index, trade_date, code

    @property
    def passed(self) -> bool:
        return self.failures.height == 0

    def message(self, limit: int = 10) -> str:
        head = f"{self.table} failed validation for partition(s) {self.partitions}: {self.failures.height} failure(s)"
        lines = [
            f"  column={r['column']!s} check={r['check']!s} value={str(r['failure_case'])[:160]}"
            + (f" row: trade_date={r.get('trade_date')} code={r.get('code')}" if r.get("trade_date") is not None else "")
            for r in self.failures.head(limit).iter_rows(named=True)
        ]
        more = [f"  … and {self.failures.height - limit} more"] if self.failures.height > limit else []
        return "\n".join([head, *lines, *more])


def validate(df: pl.DataFrame, model: type[pa.DataFrameModel], table: str, partitions: str) -> ValidationReport:
    """Validate lazily (all failures at once); failures carry the offending rows' keys."""
    try:
        model.validate(df, lazy=True)
        return ValidationReport(table, partitions, df.height, pl.DataFrame())
    except SchemaErrors as err:
        cases = err.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
        keys = [k for k in ("trade_date", "code") if k in df.columns]
        if keys and "index" in cases.columns:
            rows = df.select(keys).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
            cases = cases.with_columns(pl.col("index").cast(pl.Int64)).join(rows, on="index", how="left")
        cols = [c for c in ("column", "check", "failure_case", "index", *keys) if c in cases.columns]
        return ValidationReport(table, partitions, df.height, cases.select(cols))
