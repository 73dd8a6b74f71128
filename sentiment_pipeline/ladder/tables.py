"""The ladder tables: one pandera model per table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.ladder.phases import PHASE_CODES, PHASE_NAMES


class LimitLadder(pa.DataFrameModel):
    """sentiment.limit_ladder: per stock and day."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(str_matches=r"^\d{6}$", description="6-digit exchange code")
    is_st: bool = pa.Field(nullable=True,
                           description="ST/*ST that day, from core.daily_bars; null where the source cannot tell "
                                       "(counted as not ST)")
    listing_age: pl.Int32 = pa.Field(
        ge=1, nullable=True,
        description="exchange trading days since listing, 1 on the listing day; null if unknown",
    )
    is_limit_up: bool = pa.Field(description="closes at the limit-up price (涨停)")
    is_broken: bool = pa.Field(description="touches the limit-up price and closes below it (炸板)")
    is_limit_down: bool = pa.Field(description="closes at the limit-down price (跌停)")
    pct_change: float = pa.Field(nullable=True, description="close / pre_close - 1; null without a pre_close")
    streak: pl.Int32 = pa.Field(
        ge=0,
        description="consecutive limit-up days (连板), 0 on other days; the stock's previous trading day counts "
                    "(suspensions do not break it)",
    )
    in_opening_run: bool = pa.Field(description="a new listing's listing day and the limit-ups straight after it")
    eligible: bool = pa.Field(description="counted in the sentiment statistics")
    exclusion_reason: str = pa.Field(isin=["st", "new_listing", "st+new_listing"], nullable=True,
                                     description="why the stock is left out of the statistics; null when eligible")

    class Config:
        name = "sentiment.limit_ladder"
        description = ("Per stock and day: the ladder (连板): limit flags, streak, opening-run flag and "
                       "eligibility for the sentiment statistics.")
        strict = True
        unique = ["trade_date", "code"]

    @pa.dataframe_check(error="streak > 0 exactly on limit-up days")
    def streak_on_limit_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("streak") > 0) == pl.col("is_limit_up"))


_RATE = {"ge": 0, "nullable": True}


class LadderDaily(pa.DataFrameModel):
    """sentiment.ladder_daily: per day."""

    trade_date: dt.date = pa.Field(description="trading day")
    limit_up_count: pl.Int32 = pa.Field(ge=0, description="eligible stocks closing limit-up (涨停)")
    broken_count: pl.Int32 = pa.Field(ge=0, description="eligible stocks with a broken board (炸板)")
    limit_down_count: pl.Int32 = pa.Field(ge=0, description="eligible stocks closing limit-down (跌停)")
    up_count: pl.Int32 = pa.Field(ge=0, description="eligible stocks with close > pre_close")
    down_count: pl.Int32 = pa.Field(ge=0, description="eligible stocks with close < pre_close")
    seal_rate: float = pa.Field(ge=0, le=1, nullable=True,
                                description="limit_up / (limit_up + broken), fraction; null when both are 0")
    max_height: pl.Int32 = pa.Field(ge=0, description="highest streak (最高连板); 0 without limit-ups")
    count_h1: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 1 (首板)")
    count_h2: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 2")
    count_h3: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 3")
    count_h4: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 4")
    count_h5: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 5")
    count_h6: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 6")
    count_h7: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 7")
    count_h8: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 8")
    count_h9: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak 9")
    count_h10_plus: pl.Int32 = pa.Field(ge=0, description="eligible stocks with streak >= 10")
    prev_trade_date: dt.date = pa.Field(nullable=True,
                                        description="the market's previous trading day; null when the calendar "
                                                    "has none")
    prev_limit_up_count: pl.Int32 = pa.Field(
        ge=0, nullable=True, description="limit_up_count on prev_trade_date; null when that day is not stored"
    )
    has_previous_day: bool = pa.Field(description="prev_trade_date is stored, so the rates can be computed")
    promotion_rate: float = pa.Field(
        **_RATE,
        description="晋级率: streak >= 2 today / limit-ups on prev_trade_date; null without a stored previous day "
                    "or when it had no limit-ups",
    )
    rate_1to2: float = pa.Field(
        **_RATE, description="streak 2 today / streak 1 on prev_trade_date; null when that count is 0 or missing"
    )
    rate_2to3: float = pa.Field(
        **_RATE, description="streak 3 today / streak 2 on prev_trade_date; null when that count is 0 or missing"
    )
    rate_3to4: float = pa.Field(
        **_RATE, description="streak 4 today / streak 3 on prev_trade_date; null when that count is 0 or missing"
    )
    rate_4plus: float = pa.Field(
        **_RATE,
        description="streak >= 5 today / streak >= 4 on prev_trade_date; null when that count is 0 or missing",
    )

    class Config:
        name = "sentiment.ladder_daily"
        description = ("Per day, over the eligible universe: counts, seal rate, height, the ladder by streak, "
                       "promotion rate (晋级率) and per-level rates.")
        strict = True
        unique = ["trade_date"]

    @pa.dataframe_check(error="sum of count_h* equals limit_up_count")
    def heights_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        total = pl.sum_horizontal(pl.col("^count_h.*$"))
        return data.lazyframe.select(total == pl.col("limit_up_count"))


class PhaseDaily(pa.DataFrameModel):
    """sentiment.phase_daily: per day."""

    trade_date: dt.date = pa.Field(description="trading day")
    max_height: pl.Int32 = pa.Field(ge=0, description="highest streak (最高连板), from sentiment.ladder_daily")
    promotion_rate: float = pa.Field(
        ge=0, nullable=True, description="晋级率, fraction, from sentiment.ladder_daily; null when it has none"
    )
    phase_code: str = pa.Field(isin=list(PHASE_CODES), nullable=True,
                               description="the phase's stable English code; null when the day has no phase")
    phase_name: str = pa.Field(isin=list(PHASE_NAMES.values()), nullable=True,
                               description="the phase's Chinese name; null when the day has no phase")
    no_phase_reason: str = pa.Field(
        isin=["previous_day_missing", "no_limit_up_previous_day", "max_height_below_2"], nullable=True,
        description="why the day has no phase; null when it has one",
    )

    class Config:
        name = "sentiment.phase_daily"
        description = ("Per day: the sentiment phase of note 000 (height band × promotion-rate band, 12 phases), "
                       "or the reason there is none.")
        strict = True
        unique = ["trade_date"]

    @pa.dataframe_check(error="exactly one of phase_code and no_phase_reason is set")
    def phase_or_reason(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("phase_code").is_null() != pl.col("no_phase_reason").is_null())
