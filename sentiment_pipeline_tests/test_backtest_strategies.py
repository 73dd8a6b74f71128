"""The strategies' target weights and the benchmark on hand-computed inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.backtest import engine, strategies
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


# ------------------------------------------------------------------------------------- note 001's concept heat

def test_concept_portfolios_trade_the_stored_side_and_hold_cash_in_a_week_without_rows():
    # Week of 03-04 has both sides; week of 03-11 has no rows (cash); the week of 03-18 is still running (its
    # week_end 03-19 is not the calendar's last day of the week): it decides nothing.
    weeks = pl.DataFrame({"week_start": [dt.date(2024, 3, 4), dt.date(2024, 3, 11), dt.date(2024, 3, 18)],
                          "week_end": [dt.date(2024, 3, 8), dt.date(2024, 3, 15), dt.date(2024, 3, 19)]})
    portfolios = pl.DataFrame([
        {"week_start": dt.date(2024, 3, 4), "week_end": dt.date(2024, 3, 8), "side": s, "code": c, "weight": w}
        for s, c, w in [("top", "000001", 0.5), ("top", "000002", 0.5), ("bottom", "000003", 1.0)]] + [
        {"week_start": dt.date(2024, 3, 18), "week_end": dt.date(2024, 3, 19), "side": "top", "code": "000003",
         "weight": 1.0}])
    top = strategies.concept_portfolio_plan(portfolios, weeks, side="top")
    bottom = strategies.concept_portfolio_plan(portfolios, weeks, side="bottom")
    assert top.targets.rows() == [(dt.date(2024, 3, 8), "000001", 0.5), (dt.date(2024, 3, 8), "000002", 0.5)]
    assert bottom.targets.rows() == [(dt.date(2024, 3, 8), "000003", 1.0)]
    assert top.decision_days == bottom.decision_days == [dt.date(2024, 3, 8), dt.date(2024, 3, 15)]
    assert (top.signal_days, top.membership_date) == (1, None)  # the asset adds the snapshot it was built on
    with pytest.raises(ValueError, match="side"):
        strategies.concept_portfolio_plan(portfolios, weeks, side="middle")

    # Through the engine: bought at the open after 03-08 (5 M each, scaled by 10 M / 10,007,500 for slippage and
    # commission, rounded down to lots), sold at the open after 03-15 (a week without a portfolio: cash).
    days = [dt.date(2024, 3, d) for d in (8, 11, 12, 15, 18, 19)]
    panel = pl.DataFrame([{"trade_date": d, "code": c, "open": p, "close": p}
                          for d in days for c, p in (("000001", 10.0), ("000002", 20.0), ("000003", 40.0))])
    result = engine.run(panel, top.targets, engine.Rules(), decision_days=top.decision_days)
    assert result.trades.select("trade_date", "code", "side", "shares").rows() == [
        (dt.date(2024, 3, 11), "000001", "buy", 499_600.0), (dt.date(2024, 3, 11), "000002", "buy", 249_800.0),
        (dt.date(2024, 3, 18), "000001", "sell", 499_600.0), (dt.date(2024, 3, 18), "000002", "sell", 249_800.0)]
    nav = dict(result.nav.select("trade_date", "nav").iter_rows())
    # Bought 2 × 4,996,000 + 0.05% slippage + 2 × 1,249 commission: 506 left. Each sell pays 2,498 slippage,
    # 1,249 commission and 2,498 stamp duty (0.05% since 2023-08-28).
    assert nav[dt.date(2024, 3, 8)] == 10_000_000
    assert nav[dt.date(2024, 3, 15)] == pytest.approx(506 + 2 * 4_996_000)
    assert nav[dt.date(2024, 3, 18)] == nav[dt.date(2024, 3, 19)] == pytest.approx(506 + 2 * 4_989_755)


def test_concept_heat_baskets_pick_the_extremes_of_the_two_week_change():
    day = dt.date(2024, 3, 8)  # a Friday: the week's last trading day
    weekly = pl.DataFrame({"week_start": [dt.date(2024, 3, 4)] * 4, "week_end": [day] * 4,
                           "sector_kind": ["concept"] * 3 + ["sw_l1"], "sector": ["K1", "K2", "K3", "银行"],
                           "heat_change_ma2": [0.3, -0.2, 0.1, 0.9]})
    bars = pl.DataFrame({"trade_date": [day] * 3, "code": ["000001", "000002", "000003"],
                         "float_mcap": [1.0, 1.0, 1.0]})
    concepts = pl.DataFrame({"concept_name": ["K1", "K2", "K3"], "code": ["000001", "000002", "000003"],
                             "snapshot_date": [dt.date(2024, 1, 2)] * 3})
    industry = pl.DataFrame(schema={"code": pl.String, "start_date": pl.Date, "industry_code": pl.String,
                                    "industry_name": pl.String})
    top = strategies.concept_heat_baskets_plan(weekly, bars, industry, concepts, side="top", n=2)
    bottom = strategies.concept_heat_baskets_plan(weekly, bars, industry, concepts, side="bottom", n=1)
    assert top.targets.select("code", "weight").rows() == [("000001", 0.5), ("000003", 0.5)]
    assert bottom.targets.select("code", "weight").rows() == [("000002", 1.0)]
    assert top.membership_date == bottom.membership_date == dt.date(2024, 1, 2)

    # Through the engine: bought at the next week's first open, half each, in whole lots. 500,000 and 125,000
    # shares would cost 10,007,500 with slippage and commission: scaled by 10 M / 10,007,500 and rounded down.
    monday = dt.date(2024, 3, 11)
    panel = pl.DataFrame({"trade_date": [day] * 3 + [monday] * 3, "code": ["000001", "000002", "000003"] * 2,
                          "open": [10.0, 20.0, 40.0] * 2, "close": [10.0, 20.0, 40.0] * 2})
    result = engine.run(panel, top.targets, engine.Rules(), decision_days=top.decision_days)
    assert result.trades.select("trade_date", "code", "shares").rows() == [
        (monday, "000001", 499_600.0), (monday, "000003", 124_900.0)]


def test_membership_dates_are_the_ones_in_force_on_the_day():
    concepts = pl.DataFrame({"concept_name": ["K1", "K1", "K2"], "code": ["000001"] * 3,
                             "snapshot_date": [dt.date(2023, 8, 1), dt.date(2023, 9, 1), dt.date(2023, 8, 15)]})
    as_of = lambda day: strategies.concept_snapshot_as_of(day, concepts)  # noqa: E731
    # Before the first snapshot, the first (membership.concept_members' look-ahead); then the newest by the day.
    assert [as_of(dt.date(2023, 7, 3)), as_of(dt.date(2023, 8, 14)), as_of(dt.date(2023, 8, 31)),
            as_of(dt.date(2023, 9, 1))] == [dt.date(2023, 8, 1), dt.date(2023, 8, 1), dt.date(2023, 8, 15),
                                            dt.date(2023, 9, 1)]
    assert as_of(None) is None and strategies.concept_snapshot_as_of(DAYS[0], concepts.clear()) is None
    industry = pl.DataFrame({"code": ["000001", "000002"], "start_date": [dt.date(2021, 7, 30), dt.date(2023, 8, 30)]})
    assert [strategies.industry_start_as_of(d, industry) for d in (dt.date(2020, 1, 2), DAYS[1], DAYS[2])] == [
        None, dt.date(2021, 7, 30), dt.date(2023, 8, 30)]
    lists = pl.DataFrame({"index_code": ["000300"] * 2,
                          "effective_date": [dt.date(2019, 6, 17), dt.date(2019, 12, 16)]})
    assert [strategies.index_list_as_of(d, lists) for d in (dt.date(2019, 6, 14), dt.date(2019, 12, 16))] == [
        None, dt.date(2019, 12, 16)]

    # A plan's date is the one in force on its last decision day.
    bars = pl.DataFrame({"trade_date": DAYS[:3], "code": ["000001"] * 3, "float_mcap": [1.0] * 3})
    plan = strategies.stms_sector_plan(scores(), bars, industry.with_columns(industry_name=pl.lit("银行"),
                                                                             taxonomy=pl.lit("sw2021")),
                                       concepts, kind="sw_l1", top_n=1)
    assert plan.decision_days[-1] == DAYS[2] and plan.membership_date == dt.date(2023, 8, 30)
    assert strategies.stms_sector_plan(scores(), bars, industry, concepts, kind="concept",
                                       top_n=1).membership_date == dt.date(2023, 8, 15)  # K2's, by 08-30
