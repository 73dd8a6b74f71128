"""The backtest engine on hand-computed markets: every rule fires once, frictionless equivalence, the metrics
against empyrical's."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from sentiment_pipeline.backtest import engine, metrics
from sentiment_pipeline.backtest.engine import Rules

D = [dt.date(2023, 8, d) for d in (23, 24, 25, 28, 29, 30, 31)]
A, B, C = "600001", "600002", "600003"


def bar(day: int, code: str, open_: float, close: float, pre: float) -> dict:
    return {"trade_date": D[day], "code": code, "open": open_, "close": close, "pre_close": pre,
            "limit_up_price": round(pre * 1.1, 2), "limit_down_price": round(pre * 0.9, 2)}


def three_stock_market() -> pl.DataFrame:
    rows = [
        # A: bought on 08-25 (4,855.98 shares wanted → 4,800); opens at its limit-down 9.36 on 08-29 (blocked
        # sell), sold on the retry of 08-30 at 0.05% stamp duty.
        bar(0, A, 10.00, 10.00, 10.00), bar(1, A, 10.00, 10.00, 10.00), bar(2, A, 10.30, 10.50, 10.00),
        bar(3, A, 10.60, 10.40, 10.50), bar(4, A, 9.36, 9.50, 10.40), bar(5, A, 9.60, 9.70, 9.50),
        bar(6, A, 9.70, 9.80, 9.70),
        # B: a one-word limit-up on 08-25 (buy blocked), bought on the retry of 08-28 (re-sized at its open),
        # suspended on 08-29 (held at 10.90), last bar on 08-30, delisting date 08-31: sold at the last close on
        # 08-31.
        bar(0, B, 10.00, 10.00, 10.00), bar(1, B, 9.90, 10.00, 10.00), bar(2, B, 11.00, 11.00, 10.00),
        bar(3, B, 10.80, 10.90, 11.00), bar(5, B, 11.00, 11.20, 10.90),
        # C: 222.2 shares wanted → 200, the minimum commission on both sides, sold on 08-25 at 0.1% stamp duty.
        bar(0, C, 9.00, 9.00, 9.00), bar(1, C, 9.00, 9.10, 9.00), bar(2, C, 9.20, 9.30, 9.10),
        bar(3, C, 9.30, 9.30, 9.30), bar(4, C, 9.30, 9.40, 9.30), bar(5, C, 9.40, 9.40, 9.40),
        bar(6, C, 9.40, 9.50, 9.40),
    ]
    return pl.DataFrame(rows)


def targets(rows: list[tuple[int, str, float]]) -> pl.DataFrame:
    return pl.DataFrame({"trade_date": [D[d] for d, _, _ in rows], "code": [c for _, c, _ in rows],
                         "weight": [w for _, _, w in rows]}, schema={"trade_date": pl.Date, "code": pl.String,
                                                                     "weight": pl.Float64})


RULES = Rules(capital=100_000.0, slippage_bps=10.0)
DECISIONS = targets([(0, C, 0.02), (1, A, 0.5), (1, B, 0.3), (3, B, 0.3)])
DECISION_DAYS = [D[0], D[1], D[3]]  # on 08-28 A and C have weight 0
DELISTINGS = pl.DataFrame({"code": [A, B, C], "delist_date": [None, D[6], None]})


def run_three(rules: Rules = RULES) -> engine.Result:
    return engine.run(three_stock_market(), DECISIONS, rules, decision_days=DECISION_DAYS, delistings=DELISTINGS)


def test_every_rule_once_by_hand():
    result = run_three()
    ledger = [tuple(round(v, 6) if isinstance(v, float) else v for v in row)
              for row in result.trades.sort("trade_date", "side", descending=[False, True]).iter_rows()]
    assert ledger == [
        # trade_date, code, side, shares, price, amount, commission, stamp_duty, slippage_cost, reason,
        # position_after
        (D[1], C, "buy", 200.0, 9.0, 1800.0, 5.0, 0.0, 1.8, "rebalance", 200.0),  # 0.45 → the 5 CNY minimum
        (D[2], C, "sell", 200.0, 9.2, 1840.0, 5.0, 1.84, 1.84, "rebalance", 0.0),  # 0.1% before 2023-08-28
        (D[2], A, "buy", 4800.0, 10.3, 49440.0, 12.36, 0.0, 49.44, "rebalance", 4800.0),
        # 0.3 × (50,522.72 + 4,800 × 10.60) / 10.80 = 2,816.7 → 2,800 (2,700 was its size at 08-25's open)
        (D[3], B, "buy", 2800.0, 10.8, 30240.0, 7.56, 0.0, 30.24, "retry", 2800.0),
        (D[5], A, "sell", 4800.0, 9.6, 46080.0, 11.52, 23.04, 46.08, "retry", 0.0),  # 0.05% from 2023-08-28
        (D[6], B, "sell", 2800.0, 11.2, 31360.0, 7.84, 15.68, 0.0, "delisted", 0.0),  # last close, no slippage
    ]
    assert result.blocked.rows() == [(D[2], B, "buy", 2700.0, "limit_up_open"),
                                     (D[4], A, "sell", 4800.0, "limit_down_open")]
    cash = [100_000.0, 98_193.2, 50_522.72, 20_244.92, 20_244.92, 66_244.28, 97_580.76]
    nav = [100_000.0,
           98_193.2 + 200 * 9.10,
           50_522.72 + 4800 * 10.50,
           20_244.92 + 4800 * 10.40 + 2800 * 10.90,
           20_244.92 + 4800 * 9.50 + 2800 * 10.90,  # B suspended: held at its last close
           66_244.28 + 2800 * 11.20,
           97_580.76]
    assert result.nav["cash"].to_list() == pytest.approx(cash, abs=1e-6)
    assert result.nav["nav"].to_list() == pytest.approx(nav, abs=1e-6)
    assert (result.nav["cash"] >= 0).all()

    trips = metrics.round_trips(result.trades)
    assert trips.select("code", "pnl").rows() == [
        (C, pytest.approx(1840 - 1.84 - 5 - 1.84 - (1800 + 1.8 + 5))),
        (A, pytest.approx(46080 - 46.08 - 11.52 - 23.04 - (49440 + 49.44 + 12.36))),
        (B, pytest.approx(31360 - 7.84 - 15.68 - (30240 + 30.24 + 7.56))),
    ]
    trip = metrics.trip_metrics(trips)
    assert trip.win_rate == pytest.approx(2 / 3)
    assert trip.profit_loss_ratio == pytest.approx((24.52 + 1058.68) / 2 / 3502.44)


def test_dropped_orders_are_not_retried():
    result = run_three(Rules(capital=100_000.0, slippage_bps=10.0, blocked="drop"))
    # B, never bought, is a blocked buy while suspended on 08-29 (weight 0.3 decided 08-28).
    assert result.blocked["reason"].to_list() == ["limit_up_open", "limit_down_open", "suspended"]
    assert set(result.trades["reason"]) == {"rebalance"}
    assert result.trades.filter(pl.col("code") == B).is_empty()  # never bought
    assert result.nav["positions_value"][-1] == pytest.approx(4800 * 9.80)  # A still held


def test_a_new_decision_replaces_a_pending_retry():
    # B blocked on 08-25; a decision on 08-25 (weight 0 for everything) cancels the retry of 08-28.
    decisions = targets([(0, C, 0.02), (1, A, 0.5), (1, B, 0.3)])
    result = engine.run(three_stock_market(), decisions, RULES, decision_days=[D[0], D[1], D[2]],
                        delistings=DELISTINGS)
    assert result.trades.filter(pl.col("code") == B).is_empty()
    assert result.trades.filter(pl.col("code") == A)["trade_date"].to_list() == [D[2], D[3]]


def test_buying_a_suspended_or_delisted_name_is_blocked():
    # Weight on B decided 08-28: B has no bar on 08-29 (suspended, retried and bought on 08-30); after its
    # last bar it is delisted and never retried.
    result = engine.run(three_stock_market(), targets([(3, B, 0.5), (5, B, 0.5)]), RULES, delistings=DELISTINGS)
    assert result.blocked.rows() == [(D[4], B, "buy", None, "suspended"), (D[6], B, "buy", None, "delisted")]
    buys = result.trades.filter(pl.col("side") == "buy")
    assert buys.select("trade_date", "shares", "reason").rows() == [(D[5], 4500.0, "retry")]  # 50,000 / 11.00 = 4,545 → 45 lots


def test_without_a_delisting_date_a_name_without_bars_is_held_suspended():
    # The end of B's bars alone says nothing on 08-31 (it may resume): held at its last close, no sale.
    result = run_three(RULES).trades.filter(pl.col("reason") == "delisted")
    assert result.height == 1
    undated = engine.run(three_stock_market(), DECISIONS, RULES, decision_days=DECISION_DAYS)
    assert undated.trades.filter(pl.col("code") == B)["side"].to_list() == ["buy"]
    assert undated.nav["positions_value"][-1] == pytest.approx(2800 * 11.20)


def test_ex_rights_day_keeps_the_holding_value():
    # 10-for-10 bonus: the reference close 5.00 is half the previous close; the holding doubles.
    panel = pl.DataFrame({"trade_date": D[:3], "code": [A] * 3, "open": [10.0, 10.0, 5.0],
                          "close": [10.0, 10.0, 5.0], "pre_close": [10.0, 10.0, 5.0]})
    result = engine.run(panel, targets([(0, A, 1.0)]), engine.INDEX_RULES)
    assert result.nav["nav"].to_list() == pytest.approx([1e7, 1e7, 1e7])


def test_cash_never_goes_negative_with_the_minimum_commission():
    # Every name at weight 0.5 with lots: the buys are scaled down until amount + slippage + fees fit.
    panel = three_stock_market()
    result = engine.run(panel, targets([(0, A, 0.5), (0, B, 0.5), (0, C, 0.5)]), RULES, delistings=DELISTINGS)
    assert (result.nav["cash"] >= 0).all()
    assert (result.trades["shares"] % 100 == 0).all()


def random_market(days: int = 60, stocks: int = 8, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    calendar = pl.date_range(dt.date(2021, 1, 1), dt.date(2021, 12, 31), "1d", eager=True)[:days]
    close = 10 * np.cumprod(1 + rng.normal(0, 0.02, (days, stocks)), axis=0)
    open_ = close * (1 + rng.normal(0, 0.01, (days, stocks)))
    d, c = np.divmod(np.arange(days * stocks), stocks)
    return pl.DataFrame({"trade_date": calendar.gather(d), "code": [f"{i:06d}" for i in c],
                         "open": open_[d, c], "close": close[d, c]})


def test_frictionless_nav_equals_the_vectorised_return():
    panel = random_market()
    rng = np.random.default_rng(5)
    days = panel["trade_date"].unique().sort().to_list()
    codes = sorted(panel["code"].unique())
    w = rng.random((len(days), len(codes)))
    w /= w.sum(axis=1, keepdims=True)
    decided = pl.DataFrame({"trade_date": pl.Series(days).gather(np.repeat(np.arange(len(days)), len(codes))),
                            "code": codes * len(days), "weight": w.ravel()})
    result = engine.run(panel, decided, engine.INDEX_RULES)
    open_ = panel.pivot("code", index="trade_date", values="open").sort("trade_date").select(codes).to_numpy()
    close = panel.pivot("code", index="trade_date", values="close").sort("trade_date").select(codes).to_numpy()
    expected = [1e7]
    value_at_open = 1e7
    for d in range(1, len(days)):
        if d >= 2:  # the portfolio set at d-1's open, carried to d's open, then rebalanced
            value_at_open *= (w[d - 2] * open_[d] / open_[d - 1]).sum()
        expected.append(value_at_open * (w[d - 1] * close[d] / open_[d]).sum())
    assert result.nav["nav"].to_numpy() == pytest.approx(np.array(expected), rel=1e-12)


def test_metrics_equal_empyricals():
    empyrical = pytest.importorskip("empyrical")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    days = pl.date_range(dt.date(2019, 1, 1), dt.date(2021, 12, 31), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5).to_list()
    r = rng.normal(0.0004, 0.012, len(days))
    r[0] = 0.01  # empyrical's drawdown starts at the first day's value; ours at the capital: same when r0 > 0
    series = pd.Series(r, index=pd.DatetimeIndex(days))
    m = metrics.return_metrics(days, r, risk_free=0.02)
    assert m.total_return == pytest.approx(empyrical.cum_returns_final(series))
    assert m.annual_return == pytest.approx(empyrical.annual_return(series))
    assert m.annual_volatility == pytest.approx(empyrical.annual_volatility(series))
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(series, risk_free=0.02 / 252))
    assert m.max_drawdown == pytest.approx(empyrical.max_drawdown(series))
    assert m.calmar == pytest.approx(empyrical.calmar_ratio(series))
    yearly = empyrical.aggregate_returns(series, "yearly")
    assert m.returns_by_year == pytest.approx({str(y): v for y, v in yearly.items()})
    wealth = np.cumprod(1 + r)
    trough = int(np.argmin(wealth / np.maximum.accumulate(wealth)))
    assert m.max_drawdown_trough == days[trough]
    assert m.max_drawdown_peak == days[int(np.argmax(wealth[:trough + 1]))]


def test_the_drawdown_peak_is_the_last_day_at_the_peak():
    m = metrics.return_metrics(D[:5], np.array([0.01, 0.0, 0.0, -0.1, 0.02]))
    assert (m.max_drawdown_peak, m.max_drawdown_trough) == (D[2], D[3])


def test_metrics_of_a_flat_series():
    m = metrics.return_metrics(D[:3], np.zeros(3))
    assert (m.total_return, m.max_drawdown, m.sharpe, m.calmar, m.max_drawdown_peak) == (0.0, 0.0, None, None, None)


def test_stamp_duty_table_boundaries():
    rules = Rules()
    assert rules.stamp_rate(dt.date(2023, 8, 25)) == 0.001
    assert rules.stamp_rate(dt.date(2023, 8, 28)) == 0.0005
    assert rules.stamp_rate(dt.date(2008, 9, 19)) == 0.001  # the first dated row
    with pytest.raises(ValueError, match="2008-09-18.*2008-09-19"):  # before it: no rate is known
        rules.stamp_rate(dt.date(2008, 9, 18))
    assert Rules(stamp_duty=()).stamp_rate(dt.date(2000, 1, 1)) == 0.0  # no table: no duty
    with pytest.raises(ValueError, match="retry"):
        Rules(blocked="later")


def test_a_sell_before_the_stamp_duty_table_is_refused():
    days = [dt.date(2008, 9, 16), dt.date(2008, 9, 17), dt.date(2008, 9, 18)]
    panel = pl.DataFrame({"trade_date": days, "code": [A] * 3, "open": [10.0] * 3, "close": [10.0] * 3})
    decided = pl.DataFrame({"trade_date": [days[0]], "code": [A], "weight": [0.5]})
    with pytest.raises(ValueError, match="2008-09-18.*2008-09-19"):  # bought on 09-17, sold on 09-18
        engine.run(panel, decided, Rules(), decision_days=days[:2])


def test_annual_turnover():
    trades = pl.DataFrame({"amount": [100.0, 100.0]})
    assert metrics.annual_turnover(trades, np.full(252, 100.0)) == pytest.approx(1.0)
    assert math.isclose(metrics.annual_turnover(trades.clear(), np.full(2, 1.0)), 0.0)


def test_an_ex_rights_day_keeps_whole_shares_and_the_round_trip_closes():
    # 1,000 shares of A bought at 10.00 on 08-24; on 08-25 a cash dividend: reference close 9.50 for a previous
    # close of 10.00, so the holding becomes 1,052.63 shares: 1,052 kept, 0.63 × 9.50 paid in cash. Weight 0.6
    # decided 08-25 buys whole lots on 08-28; weight 0 on 08-28 sells everything (an odd lot) on 08-29.
    panel = pl.DataFrame({"trade_date": D[:5], "code": [A] * 5, "open": [10.0, 10.0, 9.5, 9.5, 9.5],
                          "close": [10.0, 10.0, 9.5, 9.5, 9.5], "pre_close": [10.0, 10.0, 9.5, 9.5, 9.5]})
    rules = Rules(capital=20_000.0, commission_rate=0.0, min_commission=0.0, slippage_bps=0.0, stamp_duty=())
    decisions = targets([(0, A, 0.5), (2, A, 0.6)])
    result = engine.run(panel, decisions, rules, decision_days=[D[0], D[2], D[3]])
    assert result.trades.select("trade_date", "side", "shares", "position_after").rows() == [
        (D[1], "buy", 1000.0, 1000.0),
        # 0.6 × 20,000 / 9.50 = 1,263 → 1,200 shares; 148 more (not a lot) become one lot: 100.
        (D[3], "buy", 100.0, 1152.0),
        (D[4], "sell", 1152.0, 0.0)]
    assert result.nav["cash"][2] == pytest.approx(10_000.0 + 0.63157894736842 * 9.5, abs=1e-6)
    trips = metrics.round_trips(result.trades)
    assert trips.height == 1 and trips["closed"].item() == D[4]


@pytest.mark.parametrize("weight_b", [0.17, 0.34])
def test_cash_never_goes_negative_when_costs_exceed_a_tiny_sell(weight_b):
    # Nearly all the cash is spent; a cent of dividend on A then calls for re-weighting sells of a few CNY,
    # which would cost more (the 5 CNY minimum) than they bring: they are not made.
    days = D[:4]
    panel = pl.DataFrame({"trade_date": days * 2, "code": [A] * 4 + [B] * 4,
                          "open": [50.0] * 4 + [10.0] * 4, "close": [50.0] * 4 + [10.0] * 4,
                          "pre_close": [50.0, 50.0, 49.99, 50.0] + [10.0] * 4})
    capital = 100 * 50 * 1.0005 + 5 + 100 * 10 * 1.0005 + 5
    decided = targets([(0, A, 0.84), (0, B, 0.17), (2, A, 0.84), (2, B, weight_b)])
    result = engine.run(panel, decided, Rules(capital=capital, rebalance_band=0.0))
    assert (result.nav["cash"] >= 0).all()
    sells = result.trades.filter(pl.col("side") == "sell")
    assert (sells["amount"] - sells["commission"] - sells["slippage_cost"] - sells["stamp_duty"] > 0).all()


def test_re_weighting_below_the_band_is_skipped():
    # Two names held at 0.5; the decision of 08-24 asks for 0.51 / 0.49: 1% of NAV each way. A band of 2% skips
    # both orders; a band of 0.5% trades them.
    panel = pl.DataFrame({"trade_date": D[:3] * 2, "code": [A] * 3 + [B] * 3, "open": [10.0] * 6,
                          "close": [10.0] * 6})
    decided = targets([(0, A, 0.5), (0, B, 0.5), (1, A, 0.51), (1, B, 0.49)])
    wide = engine.run(panel, decided, Rules(rebalance_band=0.02))
    narrow = engine.run(panel, decided, Rules(rebalance_band=0.005))
    assert wide.trades["trade_date"].to_list() == [D[1], D[1]]
    assert narrow.trades.filter(pl.col("trade_date") == D[2]).select("code", "side").sort("code").rows() == [
        (A, "buy"), (B, "sell")]


# Frictionless, with lots: shares and cash by hand.
FREE = dict(commission_rate=0.0, min_commission=0.0, slippage_bps=0.0, stamp_duty=(), rebalance_band=0.0)


@pytest.mark.parametrize("suspended", [False, True])
def test_a_retried_closing_sell_sells_the_holding_after_a_bonus_issue(suspended):
    # 1,000 shares bought on 08-24; weight 0 decided that day. On 08-25 A opens at its limit-down (or has no
    # bar): blocked. On 08-28 a 10-for-10 bonus (reference close half the last close) makes the holding 2,000:
    # the retry sells all 2,000.
    second = [] if suspended else [bar(2, A, 9.0, 9.0, 10.0)]
    open3 = 5.1 if suspended else 4.6
    panel = pl.DataFrame([bar(0, A, 10.0, 10.0, 10.0), bar(1, A, 10.0, 10.0, 10.0), *second,
                          bar(3, A, open3, open3, open3 - 0.1), bar(4, A, open3, open3, open3)])
    result = engine.run(panel, targets([(0, A, 0.5)]), Rules(capital=20_000.0, **FREE),
                        decision_days=[D[0], D[1]], days=D[:5])
    assert result.blocked.rows() == [(D[2], A, "sell", 1000.0, "suspended" if suspended else "limit_down_open")]
    assert result.trades.select("trade_date", "side", "shares", "price", "reason", "position_after").rows() == [
        (D[1], "buy", 1000.0, 10.0, "rebalance", 1000.0),
        (D[3], "sell", 2000.0, open3, "retry", 0.0)]
    assert result.nav["cash"][-1] == pytest.approx(10_000.0 + 2000 * open3, abs=1e-9)
    assert result.nav["positions_value"][-1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("pre2, open2, bought", [(11.0, 10.0, 5000.0), (5.5, 5.0, 10_000.0)])
def test_a_retried_buy_is_sized_at_the_open_it_executes(pre2, open2, bought):
    # Weight 0.5 of 100,000 decided 08-23; A opens at its limit-up 11.00 on 08-24: blocked, sized there at
    # 50,000 / 11.00 = 4,545 → 4,500. Retried on 08-25 at 10.00: 50,000 / 10.00 = 5,000 shares; after a
    # 10-for-10 bonus (reference close 5.50), at 5.00: 10,000 shares.
    panel = pl.DataFrame([bar(0, A, 10.0, 10.0, 10.0), bar(1, A, 11.0, 11.0, 10.0), bar(2, A, open2, open2, pre2)])
    result = engine.run(panel, targets([(0, A, 0.5)]), Rules(capital=100_000.0, **FREE))
    assert result.blocked.rows() == [(D[1], A, "buy", 4500.0, "limit_up_open")]
    assert result.trades.select("trade_date", "side", "shares", "price", "reason").rows() == [
        (D[2], "buy", bought, open2, "retry")]
    assert result.nav["cash"][-1] == pytest.approx(50_000.0, abs=1e-9)


def test_a_retried_partial_sell_is_resized_from_its_weight():
    # 1,000 held; weight 0.25 decided 08-24. 08-25 opens at the limit-down 9.00: value 19,000, target
    # 0.25 × 19,000 / 9.00 = 527 → 500, a sell of 500, blocked. 08-28: a 10-for-10 bonus makes 2,000 shares at
    # 4.50 (value 19,000): target 0.25 × 19,000 / 4.50 = 1,055 → 1,000, so the retry sells 1,000 (not 500).
    panel = pl.DataFrame([bar(0, A, 10.0, 10.0, 10.0), bar(1, A, 10.0, 10.0, 10.0), bar(2, A, 9.0, 9.0, 10.0),
                          bar(3, A, 4.5, 4.5, 4.5)])
    result = engine.run(panel, targets([(0, A, 0.5), (1, A, 0.25)]), Rules(capital=20_000.0, **FREE))
    assert result.blocked.rows() == [(D[2], A, "sell", 500.0, "limit_down_open")]
    assert result.trades.select("trade_date", "side", "shares", "reason", "position_after").rows() == [
        (D[1], "buy", 1000.0, "rebalance", 1000.0), (D[3], "sell", 1000.0, "retry", 1000.0)]
    assert result.nav["cash"][-1] == pytest.approx(10_000.0 + 1000 * 4.5, abs=1e-9)


def flat(code: str, days: int = 3, price: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame([bar(d, code, price, price, price) for d in range(days)])


@pytest.mark.parametrize("code, wanted, bought", [
    # main board and ChiNext: multiples of 100
    ("600001", 99, 0), ("600001", 100, 100), ("600001", 199, 100), ("600001", 200, 200), ("600001", 201, 200),
    ("000001", 201, 200), ("300001", 199, 100), ("300001", 200, 200), ("301001", 201, 200),
    # STAR: at least 200, then 1-share steps
    ("688001", 199, 0), ("688001", 200, 200), ("688001", 201, 201), ("689009", 201, 201),
    # BSE: at least 100, then 1-share steps
    ("830001", 99, 0), ("830001", 100, 100), ("830001", 101, 101), ("430001", 101, 101), ("870001", 101, 101),
    ("920001", 99, 0), ("920001", 101, 101),
])
def test_a_buy_follows_its_boards_lots(code, wanted, bought):
    capital = wanted * 10.0  # weight 1 at 10.00: `wanted` shares
    result = engine.run(flat(code), targets([(0, code, 1.0)]), Rules(capital=capital, **FREE))
    assert result.trades["shares"].to_list() == ([float(bought)] if bought else [])
    assert result.nav["cash"][-1] == pytest.approx(capital - bought * 10.0, abs=1e-9)


@pytest.mark.parametrize("code, minimum", [("688001", 200), ("830001", 100)])
def test_star_and_bse_orders_after_the_first_buy(code, minimum):
    # m = the board's minimum order, capital 20·m at 10.00 (2·m shares). A top-up of m − 1 is not made, of m is;
    # a partial sell of m − 1 is not made, of m + 1 is; the whole holding (m − 1, below the minimum) is sold.
    m = minimum
    weights = [0.5, (2 * m - 1) / (2 * m), 1.0, (m + 1) / (2 * m), (m - 1) / (2 * m), 0.0]
    decided = targets([(d, code, w) for d, w in enumerate(weights) if w])
    result = engine.run(flat(code, days=7), decided, Rules(capital=20.0 * m, **FREE), decision_days=D[:6])
    assert result.trades.select("trade_date", "side", "shares", "position_after").rows() == [
        (D[1], "buy", m, m), (D[3], "buy", m, 2 * m), (D[5], "sell", m + 1, m - 1), (D[6], "sell", m - 1, 0)]
    assert result.nav["cash"][-1] == pytest.approx(20.0 * m, abs=1e-9)


@pytest.mark.parametrize("capital, bought", [(2004.0, 0.0), (2005.0, 200.0), (2510.0, 250.0)])
def test_a_star_buy_scaled_down_to_the_cash_keeps_the_boards_lots(capital, bought):
    # Weight 1 at 10.00 with the 5 CNY minimum commission: 200.4 shares cost 2,005 > 2,004, and 199 is below
    # STAR's minimum: nothing; 2,005 buys 200 exactly; 251 shares (2,515) do not fit in 2,510, 250 (2,505) do.
    rules = Rules(capital=capital, slippage_bps=0.0, stamp_duty=(), rebalance_band=0.0)
    result = engine.run(flat("688001"), targets([(0, "688001", 1.0)]), rules)
    assert result.trades["shares"].to_list() == ([bought] if bought else [])
    assert result.nav["cash"][-1] == pytest.approx(capital - bought * 10.0 - (5.0 if bought else 0.0), abs=1e-9)
