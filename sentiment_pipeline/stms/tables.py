"""The stms tables: one pandera model per table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

WINDOW_STATUS = ("complete", "before_history", "short_window")

_SCORE = {"ge": 0, "le": 100}


_FRACTION = {"ge": 0, "le": 1, "nullable": True}


class SectorDaily(pa.DataFrameModel):
    """stms.sector_daily: per sector and day, float-cap weighted figures and their 5/20-day windows."""

    trade_date: dt.date = pa.Field(description="trading day")
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"], description="SW level-1 industry or concept board")
    sector: str = pa.Field(description="sector name, e.g. '银行', '人工智能'")
    member_count: pl.Int32 = pa.Field(ge=1, description="members with a bar that day")
    ret: float = pa.Field(
        gt=-1, nullable=True,
        description="return: float-cap weighted (weights: float cap on the previous trading day), or equal-weighted "
                    "over the members that traded the day before when no member has a float cap (return_weighting)",
    )
    return_weighting: str = pa.Field(
        isin=["float_cap", "equal"], nullable=True,
        description="how ret weights the members: 'float_cap' where the source has float caps, 'equal' where it "
                    "has none (TongDaXin); null without a member that traded the day before",
    )
    ret_5d: float = pa.Field(gt=-1, nullable=True,
                             description="ret compounded over the last 5 trading days; null unless all 5 exist")
    ret_20d: float = pa.Field(
        gt=-1, nullable=True,
        description="ret compounded over the last 20 trading days; null unless the window is complete and all "
                    "20 exist",
    )
    turnover: float = pa.Field(ge=0, nullable=True,
                               description="float-cap weighted turnover, fraction; null without a weighted member")
    turnover_5d: float = pa.Field(ge=0, nullable=True,
                                  description="mean turnover over 5 trading days; null unless all 5 exist")
    turnover_20d: float = pa.Field(
        ge=0, nullable=True,
        description="mean turnover over 20 trading days; null unless the window is complete and all 20 exist",
    )
    amount: float = pa.Field(ge=0, nullable=True, description="members' amount traded, CNY")
    amount_5d: float = pa.Field(ge=0, nullable=True,
                                description="amount over 5 trading days, CNY; null unless all 5 exist")
    amount_20d: float = pa.Field(
        ge=0, nullable=True,
        description="amount over 20 trading days, CNY; null unless the window is complete and all 20 exist")
    main_inflow_5d: float = pa.Field(
        nullable=True, description="main-force net inflow over 5 trading days, CNY; null unless all 5 have data"
    )
    north_inflow_5d: float = pa.Field(
        nullable=True, description="northbound net inflow over 5 trading days, CNY; null unless all 5 have data"
    )
    main_inflow_share_5d: float = pa.Field(nullable=True,
                                           description="main_inflow_5d / amount_5d; null when either is missing")
    north_inflow_share_5d: float = pa.Field(nullable=True,
                                            description="north_inflow_5d / amount_5d; null after 2024-08-16")
    limit_up_count: pl.Int32 = pa.Field(ge=0, description="members closing limit-up")
    limit_up_share: float = pa.Field(ge=0, le=1, description="limit_up_count / member_count")
    above_ma20_share: float = pa.Field(
        **_FRACTION,
        description="members closing above their MA20 (back-adjusted) / members with 20 bars in 60 trading days; "
                    "null when no member has them",
    )
    ma20_excluded_count: pl.Int32 = pa.Field(
        ge=0,
        description="members left out of above_ma20_share (their last 20 bars span more than 60 trading days)",
    )
    window_days: pl.Int32 = pa.Field(ge=0, le=21,
                                     description="loaded trading days among the 21 the 20-day window needs")
    window_status: str = pa.Field(
        isin=list(WINDOW_STATUS),
        description="state of the 20-day window; only complete windows get 20-day figures and scores",
    )

    class Config:
        name = "stms.sector_daily"
        description = (
            "Per sector and day: the float-cap weighted figures of STMS, the sector trend momentum score of note "
            "002 (domain.md §7), and their 5/20-day windows. Sectors are SW level-1 industries named in the "
            "taxonomy of the day (28 SW2014 industries before 2021-07-30, 31 SW2021 ones from then on) and concept "
            "boards, with membership as known that day (concepts before their first snapshot: that snapshot, "
            "look-ahead, said in the metadata); windows "
            "count trading days, and a day whose 20-day window (21 days of bars) reaches before the first "
            "partition has no score, by design."
        )
        strict = True
        unique = ["trade_date", "sector_kind", "sector"]

    @pa.dataframe_check(error="20-day figures only on complete windows")
    def long_window_complete(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("ret_20d").is_null() | (pl.col("window_status") == "complete"))


class StmsScores(pa.DataFrameModel):
    """stms.scores: per sector and day with a complete window: sub-scores, STMS, rank and signals."""

    trade_date: dt.date = pa.Field(description="trading day")
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"], description="SW level-1 industry or concept board")
    sector: str = pa.Field(description="sector name")
    a1: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0], description="band from ret_5d vs ret_20d")
    a2: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0],
                         description="band from turnover_5d / turnover_20d, or from the mean amounts' ratio "
                                     "(a2_basis)")
    a2_basis: str = pa.Field(
        isin=["turnover", "amount"],
        description="what a2 compares: 'turnover' (the note's rule), or 'amount' (the 5-day over the 20-day mean "
                    "amount) where the source has no turnover rate: float-cap weighted turnover is amount over float "
                    "cap, so with the float cap steady over 20 days the two ratios agree")
    b1: float = pa.Field(
        **_SCORE,
        description="north_inflow_share_5d > 0: its ascending percentile rank among the kind × 100, else 0",
    )
    b2: float = pa.Field(
        **_SCORE,
        description="main_inflow_share_5d, the same (a sector without flow data ranks as zero)",
    )
    c1: float = pa.Field(isin=[0.0, 50.0, 75.0, 100.0], description="band from limit_up_share")
    c2: float = pa.Field(isin=[0.0, 25.0, 75.0, 100.0], description="band from above_ma20_share")
    score_a: float = pa.Field(**_SCORE, description="momentum score A = (a1 + a2) / 2")
    score_b: float = pa.Field(
        **_SCORE, description="fund-flow score B: the mean of the components in b_components, 0 when none"
    )
    score_c: float = pa.Field(**_SCORE, description="sentiment score C = (c1 + c2) / 2")
    stms: float = pa.Field(**_SCORE, description="STMS = 0.4 A + 0.3 B + 0.3 C")
    rank: pl.Int32 = pa.Field(ge=1, description="1 = best within the kind that day; ties broken by sector name")
    sector_count: pl.Int32 = pa.Field(ge=1, description="sectors of the kind ranked that day")
    b_components: str = pa.Field(isin=["north+main", "main", "north", "none"],
                                 description="the flows with data that day, which score_b averages")
    rank_change_1d: pl.Int32 = pa.Field(
        nullable=True,
        description="rank 1 trading day earlier − rank today (positive = rose); null when not ranked then",
    )
    rank_change_2d: pl.Int32 = pa.Field(
        nullable=True, description="rank 2 trading days earlier − rank today; null when not ranked then"
    )
    rank_change_3d: pl.Int32 = pa.Field(
        nullable=True, description="rank 3 trading days earlier − rank today; null when not ranked then"
    )
    is_riser: bool = pa.Field(
        description="in the top group now, below the top third of the ranking 1–3 trading days earlier"
    )
    riser_days: pl.Int32 = pa.Field(isin=[1, 2, 3], nullable=True,
                                    description="the smallest such number of days; null unless is_riser")
    is_three_high: bool = pa.Field(description="total, A, B and C all in the top group (ties count)")
    structure: str = pa.Field(isin=["hot_money_theme", "institution_led_trend", "pure_sentiment_spike",
                                    "momentum_without_funds", "fund_led_bottoming"], nullable=True,
                              description="the pattern of note 002 §4.4; null when none applies")
    structure_note: str = pa.Field(nullable=True,
                                   description="the sub-scores and the note's reading; null without a structure")

    class Config:
        name = "stms.scores"
        description = ("Per sector and day with a complete window and its 5/20-day figures: sub-scores, STMS, "
                       "rank within the kind, rank changes and signals.")
        strict = True
        unique = ["trade_date", "sector_kind", "sector"]

    @pa.dataframe_check(error="ranks are 1..sector_count")
    def rank_within_count(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("rank") <= pl.col("sector_count"))


class StmsTopList(pa.DataFrameModel):
    """stms.top_list: the daily top sectors per kind."""

    trade_date: dt.date = pa.Field(description="trading day")
    sector_kind: str = pa.Field(isin=["sw_l1", "concept"], description="SW level-1 industry or concept board")
    rank: pl.Int32 = pa.Field(ge=1, description="rank within the kind that day, 1 = best")
    sector: str = pa.Field(description="sector name")
    stms: float = pa.Field(**_SCORE, description="STMS = 0.4 A + 0.3 B + 0.3 C")
    score_a: float = pa.Field(**_SCORE, description="momentum score A")
    score_b: float = pa.Field(**_SCORE, description="fund-flow score B")
    score_c: float = pa.Field(**_SCORE, description="sentiment score C")
    rank_change_1d: pl.Int32 = pa.Field(
        nullable=True,
        description="rank 1 trading day earlier − rank today (positive = rose); null when not ranked then",
    )
    is_riser: bool = pa.Field(description="a riser in stms.scores")
    is_three_high: bool = pa.Field(description="a three-high in stms.scores")
    structure: str = pa.Field(nullable=True,
                              description="the pattern of note 002 §4.4 (see stms.scores); null when none applies")

    class Config:
        name = "stms.top_list"
        description = "The daily top list per kind: the best-ranked sectors of stms.scores (run config size, 10)."
        strict = True
        unique = ["trade_date", "sector_kind", "rank"]
