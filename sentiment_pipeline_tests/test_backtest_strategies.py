"""The strategies' target weights and the benchmark on hand-computed inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.backtest import strategies
from sentiment_pipeline.market import indices


DAYS = [dt.date(2023, 8, 28), dt.date(2023, 8, 29), dt.date(2023, 8, 30), dt.date(2023, 8, 31),
        dt.date(2023, 9, 1), dt.date(2023, 9, 4), dt.date(2023, 9, 5)]


def test_weekly_decisions_fall_on_each_weeks_last_trading_day():
    # The week of 2023-09-04 ends on 09-08, which is not among the days: no decision yet.
    assert strategies.decision_days(DAYS, "weekly") == [dt.date(2023, 9, 1)]
    # Holiday weeks: 2023-09-28 (Thursday) is the last trading day before the National Day week.
    assert strategies.decision_days([dt.date(2023, 9, 27), dt.date(2023, 9, 28), dt.date(2023, 10, 9)],
                                    "weekly") == [dt.date(2023, 9, 28)]
    assert strategies.decision_days(DAYS[::-1], "daily") == DAYS
    with pytest.raises(ValueError, match="rebalance"):
        strategies.decision_days(DAYS, "monthly")


def scores() -> pl.DataFrame:
    rows = [("sw_l1", f"S{r}", r, r in (2, 4), r == 1) for r in range(1, 6)] + [("concept", "K1", 1, True, True)]
    return pl.DataFrame([{"trade_date": DAYS[0], "sector_kind": k, "sector": s, "rank": r, "is_riser": riser,
                          "is_three_high": high} for k, s, r, riser, high in rows])


@pytest.mark.parametrize(("signal", "top_n", "expected"), [
    ("stms", 2, ["S1", "S2"]),
    ("risers", 1, ["S2"]),  # the best-ranked riser
    ("risers", 5, ["S2", "S4"]),
    ("three_highs", 3, ["S1"]),
])
def test_sector_selection(signal, top_n, expected):
    chosen = strategies.select_sectors(scores(), kind="sw_l1", signal=signal, top_n=top_n)
    assert chosen["sector"].to_list() == expected
    with pytest.raises(ValueError, match="signal"):
        strategies.select_sectors(scores(), kind="sw_l1", signal="momentum", top_n=1)


def test_baskets_weight_members_by_float_cap_and_sectors_equally():
    day = DAYS[1]
    bars = pl.DataFrame({"trade_date": [day] * 6, "code": ["000001", "000002", "000003", "000004", "000005",
                                                           "000006"],
                         "float_mcap": [100.0, 300.0, 50.0, None, 10.0, 20.0]})
    industry = pl.DataFrame({"code": ["000001", "000002", "000003", "000004", "000005", "000006"],
                             "start_date": [dt.date(2021, 7, 30)] * 5 + [dt.date(2023, 8, 30)],
                             "industry_code": ["480000", "480000", "270000", "270000", "280000", "480000"],
                             "industry_name": ["银行", "银行", "电子", "电子", "汽车", "银行"],
                             "taxonomy": ["sw2021"] * 6})
    concepts = pl.DataFrame({"concept_name": ["K1", "K1"], "code": ["000005", "000001"],
                             "snapshot_date": [dt.date(2023, 8, 1)] * 2})
    chosen = pl.DataFrame({"trade_date": [day] * 3, "sector_kind": ["sw_l1", "sw_l1", "concept"],
                           "sector": ["银行", "电子", "K1"], "rank": [1, 2, 1]})
    weights = dict(strategies.sector_baskets(chosen, bars, industry, concepts).select("code", "weight").iter_rows())
    # 银行: 000001 and 000002 by cap 100:300 (000006 joins only on 08-30); 电子: 000004 has no cap → equal;
    # K1: 000005 and 000001 by cap 10:100. Each sector a third.
    assert weights == pytest.approx({"000001": 1 / 3 * 100 / 400 + 1 / 3 * 100 / 110, "000002": 1 / 3 * 300 / 400,
                                     "000003": 1 / 6, "000004": 1 / 6, "000005": 1 / 3 * 10 / 110})
    assert sum(weights.values()) == pytest.approx(1.0)


def ladder() -> pl.DataFrame:
    rows = [  # day, code, eligible, limit-up, pct_change
        (0, "000001", True, True, 0.1), (0, "000002", True, True, 0.1), (0, "000003", False, True, 0.1),
        (1, "000001", True, False, 0.02), (1, "000004", True, True, 0.1),  # 000002 suspended on day 1
        (2, "000004", True, False, -0.03), (2, "000002", True, True, 0.1),
        (3, "000002", True, False, 0.05),
    ]
    return pl.DataFrame([{"trade_date": DAYS[d], "code": c, "eligible": e, "is_limit_up": u, "pct_change": p}
                         for d, c, e, u, p in rows])


def phases() -> pl.DataFrame:
    return pl.DataFrame({"trade_date": DAYS[:4], "phase_name": ["冰点低迷期", "主线加速期", "高潮分化期", None]})


def test_limit_up_follow_holds_eligible_limit_ups_of_strong_phase_days():
    plan = strategies.limit_up_follow_plan(phases(), ladder())
    assert plan.targets.rows() == [(DAYS[0], "000001", 0.5), (DAYS[0], "000002", 0.5), (DAYS[2], "000002", 1.0)]
    assert plan.decision_days == DAYS[:4]  # every day decides: cash after a one-day hold
    assert plan.signal_days == 2


def test_the_notes_measure_beside_what_the_next_open_can_get():
    plan = strategies.limit_up_follow_plan(phases(), ladder())
    # Day 0 picks 000001 and 000002; day 2 picks 000002. Bars: (day, code, open, close, pre_close).
    bars = pl.DataFrame([{"trade_date": DAYS[d], "code": c, "open": o, "close": cl, "pre_close": p}
                         for d, c, o, cl, p in [
                             (1, "000001", 10.5, 10.2, 10.0), (2, "000001", 10.4, 10.0, 10.2),
                             # 000002 did not trade on day 1: not counted for day 0.
                             (3, "000002", 11.0, 11.5, 10.0), (4, "000002", 11.6, 11.0, 11.5),
                             # an ex-rights day 4 for 000003 would not matter: not chosen.
                         ]])
    measured = strategies.next_day_returns(plan.targets, bars)
    assert measured.rows() == [
        # close t → close t+1 = 10.2/10.0; close → open = 10.5/10.0; open t+1 → open t+2 = 10.4/10.5
        (DAYS[0], pytest.approx(0.02), pytest.approx(0.05), pytest.approx(10.4 / 10.5 - 1), 1),
        (DAYS[2], pytest.approx(0.15), pytest.approx(0.10), pytest.approx(11.6 / 11.0 - 1), 1),
    ]


def test_official_all_a_series_wins():
    index = pl.DataFrame({"trade_date": DAYS[:3], "index_code": ["all_a"] * 3, "pre_close": [None, 100.0, 110.0],
                          "close": [100.0, 110.0, 99.0]})
    series, label = indices.all_a_returns(index, pl.DataFrame())
    assert label == "official"
    assert series.rows() == [(DAYS[1], pytest.approx(0.1)), (DAYS[2], pytest.approx(-0.1))]


def test_computed_all_a_weights_by_previous_day_float_cap_else_equal():
    bars = pl.DataFrame({
        "trade_date": [DAYS[0], DAYS[0], DAYS[1], DAYS[1], DAYS[2], DAYS[2], DAYS[2]],
        "code": ["000001", "000002", "000001", "000002", "000001", "000002", "000003"],
        "close": [10.0, 20.0, 11.0, 19.0, 11.0, 19.0, 5.5],
        "pre_close": [10.0, 20.0, 10.0, 20.0, 11.0, 19.0, 5.0],
        "float_mcap": [100.0, 300.0, 110.0, 285.0, 110.0, 285.0, 50.0],
    })
    series, label = indices.all_a_returns(pl.DataFrame(), bars)
    assert label == "computed"
    returns = dict(series.iter_rows())
    assert returns[DAYS[1]] == pytest.approx((0.1 * 100 - 0.05 * 300) / 400)
    # 000003 is new on day 2 (no previous-day cap): it joins the weights the next day.
    assert returns[DAYS[2]] == pytest.approx(0.0)
    # Without any float cap (a TongDaXin folder), equal weights.
    series, _ = indices.all_a_returns(pl.DataFrame(), bars.with_columns(pl.lit(None, pl.Float64).alias("float_mcap")))
    assert dict(series.iter_rows())[DAYS[2]] == pytest.approx(0.1 / 3)
    # 000003's day 2 as its listing day (its return over the offer price): in neither average
    listed = bars.with_columns(float_mcap=pl.lit(None, pl.Float64),
                               listing_age=pl.when(pl.col("code") == "000003").then(1).otherwise(100).cast(pl.Int32))
    assert dict(indices.all_a_returns(pl.DataFrame(), listed)[0].iter_rows())[DAYS[2]] == pytest.approx(0.0)
