import datetime as dt

import numpy as np
import polars as pl
import pytest

from sentiment_pipeline.market.limits import BOARDS, limit_bp_arrays, limit_flags, limit_prices

D = dt.date


def limits(board, pre_close, day, is_st=False, list_date=None, listing_age=None):
    df = pl.DataFrame(
        {"trade_date": [day], "board": [board], "is_st": [is_st], "list_date": [list_date],
         "listing_age": [listing_age], "pre_close": [pre_close]},
        schema={"trade_date": pl.Date, "board": pl.String, "is_st": pl.Boolean, "list_date": pl.Date,
                "listing_age": pl.Int32, "pre_close": pl.Float64},
    )
    row = df.select(limit_prices()).row(0)
    return row


def test_half_up_in_fen_not_bankers_rounding():
    # 10.05 × 1.1 = 11.055 → 11.06; 10.05 × 0.9 = 9.045 → 9.05 (binary floats or round() give 11.05 / 9.04)
    assert limits("main", 10.05, D(2024, 1, 2)) == (11.06, 9.05)
    assert limits("main", 1.0, D(2024, 1, 2)) == (1.1, 0.9)
    assert limits("main", 2.25, D(2024, 1, 2)) == (2.48, 2.03)  # 2.475 → 2.48, 2.025 → 2.03


def test_chinext_moves_from_10_to_20_percent_on_2020_08_24():
    assert limits("chinext", 10.0, D(2020, 8, 21)) == (11.0, 9.0)
    assert limits("chinext", 10.0, D(2020, 8, 24)) == (12.0, 8.0)
    assert limits("chinext", 10.0, D(2020, 8, 21), is_st=True) == (10.5, 9.5)
    assert limits("chinext", 10.0, D(2020, 8, 24), is_st=True) == (12.0, 8.0)


def test_star_bse_and_main_board_st():
    assert limits("star", 10.0, D(2021, 3, 1)) == (12.0, 8.0)
    assert limits("star", 10.0, D(2021, 3, 1), is_st=True) == (12.0, 8.0)
    assert limits("bse", 10.0, D(2022, 3, 1)) == (13.0, 7.0)
    assert limits("main", 10.0, D(2022, 3, 1), is_st=True) == (10.5, 9.5)
    assert limits("main", 3.33, D(2022, 3, 1), is_st=True) == (3.5, 3.16)  # 3.4965 → 3.50, 3.1635 → 3.16


def test_main_board_st_limit_is_a_rule_date():
    assert limits("main", 10.0, D(2025, 7, 4), is_st=True) == (10.5, 9.5)
    assert limits("main", 10.0, D(2025, 7, 7), is_st=True) == (11.0, 9.0)


@pytest.mark.parametrize(
    "board,list_date,no_limit_days",
    [("star", D(2021, 5, 6), 5), ("chinext", D(2020, 8, 24), 5), ("main", D(2023, 4, 10), 5), ("bse", D(2022, 1, 5), 1)],
)
def test_no_limit_windows_of_registration_listings(board, list_date, no_limit_days):
    for age in range(1, no_limit_days + 1):
        assert limits(board, 10.0, D(2024, 1, 2), list_date=list_date, listing_age=age) == (None, None)
    assert limits(board, 10.0, D(2024, 1, 2), list_date=list_date, listing_age=no_limit_days + 1) != (None, None)


def test_old_regime_listing_day_is_capped_at_plus_44_minus_36():
    assert limits("main", 10.0, D(2023, 4, 7), list_date=D(2023, 4, 7), listing_age=1) == (14.4, 6.4)
    assert limits("main", 10.0, D(2023, 4, 10), list_date=D(2023, 4, 7), listing_age=2) == (11.0, 9.0)
    assert limits("chinext", 10.0, D(2019, 5, 6), list_date=D(2019, 5, 6), listing_age=1) == (14.4, 6.4)


def test_flags_are_fen_exact():
    df = pl.DataFrame({
        "open": [11.0, 10.2, 11.0, 9.5],
        "high": [11.0, 11.0, 11.0, 9.8],
        "low": [10.5, 10.1, 11.0, 9.0],
        "close": [11.0, 10.99, 11.0, 9.0],
        "limit_up_price": [11.0, 11.0, 11.0, 11.0],
        "limit_down_price": [9.0, 9.0, 9.0, 9.0],
    }).with_columns((pl.col("close") * 1.0000000001).alias("close"))  # float noise must not matter
    flags = df.select(limit_flags()).to_dicts()
    assert flags[0] == {"is_limit_up": True, "is_broken": False, "is_one_word": False, "is_limit_down": False}
    assert flags[1] == {"is_limit_up": False, "is_broken": True, "is_one_word": False, "is_limit_down": False}
    assert flags[2] == {"is_limit_up": True, "is_broken": False, "is_one_word": True, "is_limit_down": False}
    assert flags[3] == {"is_limit_up": False, "is_broken": False, "is_one_word": False, "is_limit_down": True}
    no_limit = pl.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0],
                             "limit_up_price": [None], "limit_down_price": [None]},
                            schema_overrides={"limit_up_price": pl.Float64, "limit_down_price": pl.Float64})
    assert not any(no_limit.select(limit_flags()).row(0))


def test_simulation_uses_the_same_rule_tables():
    """The numpy path of the synthetic market and the Polars path agree on every board/ST/age case."""
    cases = [(b, st, ld, age) for b in BOARDS for st in (False, True)
             for ld, age in ((D(2010, 1, 4), 3000), (D(2021, 11, 15), 1), (D(2021, 11, 15), 3), (D(2021, 11, 15), 7))]
    for day in (D(2019, 3, 1), D(2020, 8, 24), D(2022, 6, 1), D(2025, 7, 7)):
        board = np.array([BOARDS.index(c[0]) for c in cases])
        up_bp, _ = limit_bp_arrays(board, np.array([c[1] for c in cases]), day,
                                   np.array([c[2] for c in cases], dtype="datetime64[D]"), np.array([c[3] for c in cases]))
        for (b, st, ld, age), bp in zip(cases, up_bp):
            up, _ = limits(b, 10.0, day, is_st=st, list_date=ld, listing_age=age)
            expected = None if bp < 0 else round(10.0 * (1 + bp / 10_000), 2)
            assert up == expected, (b, st, ld, age, day)
