import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.ladder.streaks import Universe, compute_ladder, empty_seed, ladder_daily

D = dt.date
DAYS = [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5), D(2024, 1, 8)]
LINKS = pl.DataFrame({"trade_date": DAYS, "prev_trade_date": [None, *DAYS[:-1]]},
                     schema={"trade_date": pl.Date, "prev_trade_date": pl.Date})


def bars(rows):
    """rows: (day index, code, is_limit_up[, is_st, listing_age])"""
    out = []
    for r in rows:
        d, code, lu, st, age = (*r, False, None)[:5] if len(r) == 3 else (*r, None)[:5] if len(r) == 4 else r
        out.append({"trade_date": DAYS[d], "code": code, "is_limit_up": lu, "is_st": st, "listing_age": age,
                    "is_broken": False, "is_limit_down": False, "pct_change": 0.1 if lu else -0.01})
    return pl.DataFrame(out, schema_overrides={"listing_age": pl.Int32, "is_st": pl.Boolean})


def streaks(df):
    return {(r["trade_date"], r["code"]): r["streak"] for r in df.iter_rows(named=True)}


def test_streak_counts_consecutive_limit_ups_and_survives_a_suspension():
    # 000001 limit-up, limit-up, suspended on day 2, limit-up, then breaks.
    df = compute_ladder(bars([(0, "000001", True), (1, "000001", True), (3, "000001", True), (4, "000001", False),
                              (0, "000002", False), (1, "000002", True), (2, "000002", False), (3, "000002", True)]),
                        empty_seed())
    s = streaks(df)
    assert [s[(DAYS[i], "000001")] for i in (0, 1, 3, 4)] == [1, 2, 3, 0]
    assert [s[(DAYS[i], "000002")] for i in (0, 1, 2, 3)] == [0, 1, 0, 1]


def test_seed_continues_streak_from_before_the_range_and_rows_keep_input_order():
    seed = pl.DataFrame({"code": ["000001", "000002"], "streak": [4, 2], "in_opening_run": [False, False]},
                        schema=empty_seed().schema)
    inp = bars([(1, "000002", False), (0, "000001", True), (0, "000002", True), (1, "000001", True)])
    df = compute_ladder(inp, seed)
    assert df["code"].to_list() == inp["code"].to_list()
    assert streaks(df) == {(DAYS[1], "000002"): 0, (DAYS[0], "000001"): 5, (DAYS[0], "000002"): 3,
                           (DAYS[1], "000001"): 6}


def test_exclusions_st_and_new_listing_opening_run():
    df = compute_ladder(bars([
        (0, "301001", True, False, 1), (1, "301001", True, False, 2), (2, "301001", False, False, 3),
        (3, "301001", True, False, 4),
        (0, "600001", True, True, 900),
    ]), empty_seed())
    rows = {(r["trade_date"], r["code"]): r for r in df.iter_rows(named=True)}
    assert [rows[(DAYS[i], "301001")]["exclusion_reason"] for i in range(4)] == ["new_listing", "new_listing", None, None]
    assert [rows[(DAYS[i], "301001")]["eligible"] for i in range(4)] == [False, False, True, True]
    assert rows[(DAYS[3], "301001")]["streak"] == 1
    assert rows[(DAYS[0], "600001")]["exclusion_reason"] == "st"
    everyone = compute_ladder(bars([(0, "600001", True, True, 900)]), empty_seed(), Universe(exclude_st=False))
    assert everyone["eligible"].to_list() == [True]


def test_opening_run_state_is_seeded_across_ranges():
    seed = pl.DataFrame({"code": ["301001"], "streak": [3], "in_opening_run": [True]}, schema=empty_seed().schema)
    df = compute_ladder(bars([(0, "301001", True, False, 4), (1, "301001", False, False, 5)]), seed)
    assert df["in_opening_run"].to_list() == [True, False]
    assert df["streak"].to_list() == [4, 0]


def hand_ladder():
    # Day 0: streak-1 ×4 (A, B, C, D), streak-2 ×2 (E, F), streak-4 ×1 (G via seed).
    # Day 1: A→2, B→2, C→0, D suspended; E→3; F→0; G→5; new first boards H, I.
    seed = pl.DataFrame({"code": ["000005", "000006", "000007"], "streak": [1, 1, 3],
                         "in_opening_run": [False] * 3}, schema=empty_seed().schema)
    rows = [(0, c, True) for c in ("000001", "000002", "000003", "000004", "000005", "000006", "000007")]
    rows += [(1, "000001", True), (1, "000002", True), (1, "000003", False), (1, "000005", True),
             (1, "000006", False), (1, "000007", True), (1, "000008", True), (1, "000009", True)]
    return compute_ladder(bars(rows), seed)


def test_promotion_rate_and_per_level_rates_on_a_hand_made_ladder():
    daily = ladder_daily(hand_ladder(), LINKS)
    d0, d1 = daily.row(0, named=True), daily.row(1, named=True)
    assert (d0["limit_up_count"], d0["count_h1"], d0["count_h2"], d0["count_h4"], d0["max_height"]) == (7, 4, 2, 1, 4)
    assert d0["promotion_rate"] is None and d0["has_previous_day"] is False
    assert (d1["limit_up_count"], d1["count_h1"], d1["count_h2"], d1["count_h3"], d1["count_h5"]) == (6, 2, 2, 1, 1)
    assert d1["promotion_rate"] == pytest.approx(4 / 7)  # streak ≥ 2 today (A, B, E, G) ÷ 7 limit-ups yesterday
    assert d1["rate_1to2"] == pytest.approx(2 / 4)
    assert d1["rate_2to3"] == pytest.approx(1 / 2)
    assert d1["rate_3to4"] is None  # nobody at 3 yesterday
    assert d1["rate_4plus"] == pytest.approx(1 / 1)
    assert d1["up_count"] == 6 and d1["down_count"] == 2
    assert d1["prev_limit_up_count"] == 7


def test_rates_are_null_without_previous_limit_ups():
    daily = ladder_daily(compute_ladder(bars([(0, "000001", False), (1, "000001", True)]), empty_seed()), LINKS)
    d1 = daily.row(1, named=True)
    assert d1["prev_limit_up_count"] == 0 and d1["promotion_rate"] is None and d1["seal_rate"] == 1.0


def test_a_ranges_seed_reads_a_month_and_finds_a_stock_suspended_for_longer():
    """ladder_state_before with the range's bars: stocks in the last 30 trading days come from there; a stock
    last stored 60 trading days before (a long suspension) keeps its streak; a new listing has no seed; the
    answer equals the seed read over the whole history for those stocks."""
    import duckdb

    from sentiment_pipeline.ladder.assets import SEED_WINDOW_DAYS, ladder_state_before
    from sentiment_pipeline.platform import calendar

    day = D(2024, 6, 3)
    before = [d for d in calendar.trading_days() if d < day]
    stored = pl.DataFrame({
        "trade_date": [before[-60], before[-61], before[-2], before[-1], before[-1]],
        "code": ["000001", "000001", "000002", "000002", "000003"],
        "streak": [2, 1, 1, 0, 3], "in_opening_run": [False, False, False, False, True],
    }, schema_overrides={"streak": pl.Int32})
    range_bars = pl.DataFrame({
        "trade_date": [day, day, day, day], "code": ["000001", "000002", "000003", "000004"],
        "listing_age": [800, 500, 5, 1],  # 000004 lists today
    }, schema_overrides={"listing_age": pl.Int32})
    with duckdb.connect() as conn:
        conn.execute("create schema sentiment; create table sentiment.limit_ladder as select * from stored")
        seed = ladder_state_before(conn, day, range_bars).sort("code")
        whole = ladder_state_before(conn, day).sort("code")
    assert SEED_WINDOW_DAYS == 30
    assert seed.rows() == [("000001", 2, False), ("000002", 0, False), ("000003", 3, True)]
    assert seed.equals(whole)
