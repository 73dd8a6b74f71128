"""Price limits (涨跌停价) and the per-day limit flags, domain.md §1.

The rules are data: a change of rule is a new row, not new code. Percentages are
integer basis points and prices integer fen, so rounding is exact half-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import numpy as np

BOARDS = ("main", "chinext", "star", "bse")
FAR_PAST = dt.date(1990, 1, 1)
FAR_FUTURE = dt.date(2999, 12, 31)

# Main-board ST/*ST limits go from 5% to 10%: announced by SSE/SZSE on 2025-06-27,
# effective 2025-07-07. Change this date (one place) if the effective date differs.
ST_MAIN_BOARD_10PCT_FROM = dt.date(2025, 7, 7)
CHINEXT_REFORM = dt.date(2020, 8, 24)
STAR_OPEN = dt.date(2019, 7, 22)
BSE_OPEN = dt.date(2021, 11, 15)
MAIN_BOARD_REGISTRATION = dt.date(2023, 4, 10)


@dataclass(frozen=True)
class LimitRule:
    board: str
    is_st: bool | None  # None: applies to ST and non-ST alike
    valid_from: dt.date
    valid_to: dt.date  # inclusive
    limit_bp: int  # 1000 = 10%


PRICE_LIMIT_RULES: tuple[LimitRule, ...] = (
    LimitRule("main", False, FAR_PAST, FAR_FUTURE, 1000),
    LimitRule("main", True, FAR_PAST, ST_MAIN_BOARD_10PCT_FROM - dt.timedelta(days=1), 500),
    LimitRule("main", True, ST_MAIN_BOARD_10PCT_FROM, FAR_FUTURE, 1000),
    LimitRule("chinext", False, FAR_PAST, CHINEXT_REFORM - dt.timedelta(days=1), 1000),
    LimitRule("chinext", True, FAR_PAST, CHINEXT_REFORM - dt.timedelta(days=1), 500),
    LimitRule("chinext", None, CHINEXT_REFORM, FAR_FUTURE, 2000),
    LimitRule("star", None, STAR_OPEN, FAR_FUTURE, 2000),
    LimitRule("bse", None, BSE_OPEN, FAR_FUTURE, 3000),
)


@dataclass(frozen=True)
class ListingRule:
    """How a new listing's first days are limited, by board and listing date."""

    board: str
    listed_from: dt.date
    listed_to: dt.date  # inclusive
    no_limit_days: int  # first N trading days without any limit
    day1_up_bp: int | None = None  # day-1 cap relative to the offer price (old regime)
    day1_down_bp: int | None = None


LISTING_RULES: tuple[ListingRule, ...] = (
    ListingRule("main", FAR_PAST, MAIN_BOARD_REGISTRATION - dt.timedelta(days=1), 0, 4400, 3600),
    ListingRule("main", MAIN_BOARD_REGISTRATION, FAR_FUTURE, 5),
    ListingRule("chinext", FAR_PAST, CHINEXT_REFORM - dt.timedelta(days=1), 0, 4400, 3600),
    ListingRule("chinext", CHINEXT_REFORM, FAR_FUTURE, 5),
    ListingRule("star", STAR_OPEN, FAR_FUTURE, 5),
    ListingRule("bse", BSE_OPEN, FAR_FUTURE, 1),
)


def board_of(code: pl.Expr) -> pl.Expr:
    """Board from the 6-digit code."""
    return (
        pl.when(code.str.starts_with("688") | code.str.starts_with("689")).then(pl.lit("star"))
        .when(code.str.starts_with("300") | code.str.starts_with("301") | code.str.starts_with("302"))
        .then(pl.lit("chinext"))
        .when(code.str.starts_with("4") | code.str.starts_with("8") | code.str.starts_with("92"))
        .then(pl.lit("bse"))
        .otherwise(pl.lit("main"))
    )


def exchange_of(code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code.str.starts_with("6")).then(pl.lit("SH"))
        .when(code.str.starts_with("0") | code.str.starts_with("3")).then(pl.lit("SZ"))
        .otherwise(pl.lit("BJ"))
    )


def to_fen(price: pl.Expr) -> pl.Expr:
    """Yuan with two decimals → exact integer fen."""
    return (price * 100).round(0).cast(pl.Int64)


def _limit_bp(board: pl.Expr, is_st: pl.Expr, day: pl.Expr, rules: tuple[LimitRule, ...]) -> pl.Expr:
    expr = None
    for r in rules:
        cond = (board == r.board) & day.is_between(pl.lit(r.valid_from), pl.lit(r.valid_to))
        if r.is_st is not None:
            cond = cond & (is_st == r.is_st)
        expr = (pl.when(cond) if expr is None else expr.when(cond)).then(pl.lit(r.limit_bp))
    return expr.otherwise(pl.lit(None)).cast(pl.Int64)


def _listing_rule_expr(board: pl.Expr, list_date: pl.Expr, field: str, rules: tuple[ListingRule, ...]) -> pl.Expr:
    expr = None
    for r in rules:
        cond = (board == r.board) & list_date.is_between(pl.lit(r.listed_from), pl.lit(r.listed_to))
        expr = (pl.when(cond) if expr is None else expr.when(cond)).then(pl.lit(getattr(r, field)))
    return expr.otherwise(pl.lit(None)).cast(pl.Int64)


def limit_prices(
    rules: tuple[LimitRule, ...] = PRICE_LIMIT_RULES,
    listing_rules: tuple[ListingRule, ...] = LISTING_RULES,
) -> list[pl.Expr]:
    """Expressions for `limit_up_price` and `limit_down_price` (CNY, null = no limit).

    Needs columns trade_date, board, is_st (null = not ST), list_date (null =
    listed long ago), listing_age (1 on the listing day) and pre_close (the
    exchange reference close; on day 1 the offer price).
    """
    board, day = pl.col("board"), pl.col("trade_date")
    is_st = pl.col("is_st").fill_null(False)
    age = pl.col("listing_age")
    no_limit_days = _listing_rule_expr(board, pl.col("list_date"), "no_limit_days", listing_rules).fill_null(0)
    day1_up = _listing_rule_expr(board, pl.col("list_date"), "day1_up_bp", listing_rules)
    day1_down = _listing_rule_expr(board, pl.col("list_date"), "day1_down_bp", listing_rules)
    regular = _limit_bp(board, is_st, day, rules)
    is_day1 = age == 1
    up_bp = (
        pl.when(age.is_not_null() & (age <= no_limit_days)).then(pl.lit(None, pl.Int64))
        .when(is_day1 & day1_up.is_not_null()).then(day1_up)
        .otherwise(regular)
    )
    down_bp = (
        pl.when(age.is_not_null() & (age <= no_limit_days)).then(pl.lit(None, pl.Int64))
        .when(is_day1 & day1_down.is_not_null()).then(day1_down)
        .otherwise(regular)
    )
    ref = to_fen(pl.col("pre_close"))
    # Half-up on non-negative integers: (x + 5000) // 10000.
    up_fen = (ref * (10_000 + up_bp) + 5_000) // 10_000
    down_fen = (ref * (10_000 - down_bp) + 5_000) // 10_000
    return [(up_fen / 100).alias("limit_up_price"), (down_fen / 100).alias("limit_down_price")]


def limit_flags() -> list[pl.Expr]:
    """is_limit_up, is_broken, is_one_word, is_limit_down from prices and limit prices (fen-exact)."""
    up, down = to_fen(pl.col("limit_up_price")), to_fen(pl.col("limit_down_price"))
    o, h, l, c = (to_fen(pl.col(x)) for x in ("open", "high", "low", "close"))
    return [
        (c == up).fill_null(False).alias("is_limit_up"),
        ((h == up) & (c < up)).fill_null(False).alias("is_broken"),
        ((o == up) & (h == up) & (l == up) & (c == up)).fill_null(False).alias("is_one_word"),
        (c == down).fill_null(False).alias("is_limit_down"),
    ]


def limit_bp_arrays(
    board: "np.ndarray",
    is_st: "np.ndarray",
    day: dt.date,
    list_date: "np.ndarray",
    listing_age: "np.ndarray",
    rules: tuple[LimitRule, ...] = PRICE_LIMIT_RULES,
    listing_rules: tuple[ListingRule, ...] = LISTING_RULES,
) -> tuple["np.ndarray", "np.ndarray"]:
    """The same rule tables for one day of a numpy simulation: (up_bp, down_bp), −1 = no limit.

    `board` holds indexes into BOARDS, `list_date` numpy datetime64[D].
    """
    import numpy as np

    up = np.full(board.shape, -1, dtype=np.int64)
    for r in rules:
        if r.valid_from <= day <= r.valid_to:
            m = board == BOARDS.index(r.board)
            if r.is_st is not None:
                m &= is_st == r.is_st
            up = np.where(m & (up < 0), r.limit_bp, up)
    down = up.copy()
    for lr in listing_rules:
        m = (
            (board == BOARDS.index(lr.board))
            & (list_date >= np.datetime64(lr.listed_from))
            & (list_date <= np.datetime64(lr.listed_to))
        )
        no_limit = m & (listing_age <= lr.no_limit_days)
        up = np.where(no_limit, -1, up)
        down = np.where(no_limit, -1, down)
        if lr.day1_up_bp is not None:
            first = m & (listing_age == 1)
            up = np.where(first, lr.day1_up_bp, up)
            down = np.where(first, lr.day1_down_bp, down)
    return up, down


def limit_fen(ref_fen: "np.ndarray", bp: "np.ndarray", sign: int) -> "np.ndarray":
    """Half-up limit price in fen; sign +1 for the upper limit, −1 for the lower."""
    return (ref_fen * (10_000 + sign * bp) + 5_000) // 10_000
