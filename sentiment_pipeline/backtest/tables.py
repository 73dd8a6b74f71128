"""The backtest tables: every strategy asset replaces its own rows (`strategy` = its name) in each."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.backtest.engine import BLOCK_REASONS, TRADE_REASONS
from sentiment_pipeline.platform.tables import source_field

STRATEGY = {"str_matches": r"^[a-z][a-z0-9_]*$", "description": "strategy name (the asset's name)"}
_OPT = {"nullable": True}


class BacktestRuns(pa.DataFrameModel):
    """backtest.runs: one row per strategy."""

    strategy: str = pa.Field(**STRATEGY)
    source: str = source_field()
    description: str = pa.Field(description="what the strategy holds, in one sentence")
    params: str = pa.Field(description="the strategy's and the engine's parameters, JSON")
    start_date: dt.date = pa.Field(description="first day of the backtest (first stored day of core.daily_bars)")
    end_date: dt.date = pa.Field(description="last day of the backtest")
    membership_date: dt.date = pa.Field(
        **_OPT, description="the latest membership the strategy used, as of its last decision day: the newest "
                            "raw.concept_membership snapshot_date in force (concept strategies; the first snapshot "
                            "when the day precedes it), the latest raw.industry_history start_date on or before it "
                            "(SW industry strategies), or the latest raw.index_membership effective_date on or "
                            "before it (heat_rotation, whose index groups it is); null for strategies that use no "
                            "membership")
    days: pl.Int32 = pa.Field(ge=1, description="market trading days from start_date to end_date")
    signal_days: pl.Int32 = pa.Field(ge=0, description="decision days with at least one name to hold")
    final_nav: float = pa.Field(ge=0, description="NAV at end_date, CNY")
    total_return: float = pa.Field(description="final NAV ÷ starting capital − 1")
    annual_return: float = pa.Field(description="(1 + total_return)^(252 / days) − 1")
    annual_volatility: float = pa.Field(ge=0, description="standard deviation of daily returns × √252")
    sharpe: float = pa.Field(**_OPT, description="mean daily excess return ÷ its standard deviation × √252; "
                                                 "null for a flat NAV")
    max_drawdown: float = pa.Field(le=0, description="deepest fall from a running peak of the NAV, ≤ 0")
    max_drawdown_peak: dt.date = pa.Field(**_OPT, description="day of the peak before the deepest fall; null "
                                                                "when the peak is the starting capital")
    max_drawdown_trough: dt.date = pa.Field(**_OPT, description="day of the deepest fall's trough")
    calmar: float = pa.Field(**_OPT, description="annual_return ÷ |max_drawdown|; null without a drawdown")
    round_trips: pl.Int32 = pa.Field(ge=0, description="closed round trips (a position from zero back to zero)")
    win_rate: float = pa.Field(ge=0, le=1, **_OPT, description="share of round trips with a profit after costs")
    profit_loss_ratio: float = pa.Field(ge=0, **_OPT,
                                        description="mean profit of winning round trips ÷ mean loss of losing ones")
    round_trip_mean_return: float = pa.Field(**_OPT, description="mean return of a round trip after every cost")
    signal_next_day_return: float = pa.Field(
        **_OPT, description="what note 000 measures: mean over signal days of the chosen stocks' close-to-close "
                            "return to the next trading day, before costs; null for strategies without one")
    signal_overnight_gap: float = pa.Field(
        **_OPT, description="mean over signal days of the chosen stocks' close-to-next-open return: the part of "
                            "the note's measure a buyer at the next open cannot get")
    signal_open_to_open_return: float = pa.Field(
        **_OPT, description="mean over signal days of the chosen stocks' next open to the open after, before "
                            "costs: what the strategy can get")
    trades: pl.Int32 = pa.Field(ge=0, description="rows in backtest.trades")
    blocked_orders: pl.Int32 = pa.Field(ge=0, description="rows in backtest.blocked_orders")
    annual_turnover: float = pa.Field(ge=0, description="(buys + sells) ÷ 2 ÷ mean NAV, per 252 days")
    total_costs: float = pa.Field(ge=0, description="commission + stamp duty + slippage paid, CNY")
    returns_by_year: str = pa.Field(description="calendar-year returns, JSON {year: return}")
    ytd_return: float = pa.Field(nullable=True, description="return of the last calendar year in the period, to "
                                                            "end_date")
    weekly_hit_rate: float = pa.Field(ge=0, le=1, nullable=True,
                                      description="share of trading weeks with a gain, among the weeks with a "
                                                  "position")
    benchmark: str = pa.Field(isin=["all_a official", "all_a simulated", "all_a computed"],
                              description="the benchmark series: the source's all-A index (simulated: the "
                                          "synthetic market's own), or computed from the bars (float-cap weighted, "
                                          "previous-day caps)")
    benchmark_total_return: float = pa.Field(description="the benchmark's total return over the same days")
    benchmark_annual_return: float = pa.Field(description="the benchmark's annualised return")
    benchmark_annual_volatility: float = pa.Field(ge=0, description="the benchmark's annualised volatility")
    benchmark_sharpe: float = pa.Field(**_OPT, description="the benchmark's Sharpe ratio")
    benchmark_max_drawdown: float = pa.Field(le=0, description="the benchmark's maximum drawdown")
    benchmark_returns_by_year: str = pa.Field(description="the benchmark's calendar-year returns, JSON")
    chart_path: str = pa.Field(**_OPT, description="PNG of the equity curve, drawdown and benchmark")

    class Config:
        name = "backtest.runs"
        description = ("One row per strategy: its parameters and what it earned after costs under A-share "
                       "trading rules, beside the all-A benchmark over the same days.")
        strict = True
        unique = ["strategy"]


class BacktestNav(pa.DataFrameModel):
    """backtest.nav: per strategy and day."""

    strategy: str = pa.Field(**STRATEGY)
    source: str = source_field()
    trade_date: dt.date = pa.Field(description="trading day")
    nav: float = pa.Field(ge=0, description="cash + positions at the close, CNY")
    cash: float = pa.Field(ge=0, description="cash at the close, CNY (never negative)")
    positions_value: float = pa.Field(ge=0, description="shares × close (last close while suspended), CNY")
    drawdown: float = pa.Field(le=0, description="nav ÷ its running peak (from the starting capital) − 1")
    benchmark_nav: float = pa.Field(gt=0, **_OPT, description="the benchmark grown from the same capital; null "
                                                                "on days without a benchmark return")

    class Config:
        name = "backtest.nav"
        description = "Per strategy and day: the NAV, its cash and positions, drawdown and the benchmark's NAV."
        strict = True
        unique = ["strategy", "trade_date"]


class BacktestTrades(pa.DataFrameModel):
    """backtest.trades: the ledger."""

    strategy: str = pa.Field(**STRATEGY)
    source: str = source_field()
    trade_date: dt.date = pa.Field(description="day of the execution (at the open; a delisting at the last close)")
    code: str = pa.Field(str_matches=r"^\d{6}$|^[a-z0-9_]+$", description="stock code, or index series name")
    side: str = pa.Field(isin=["buy", "sell"], description="buy or sell")
    shares: float = pa.Field(gt=0, description="shares (whole lots for stocks; units for index series)")
    price: float = pa.Field(gt=0, description="execution price before slippage, CNY")
    amount: float = pa.Field(gt=0, description="shares × price, CNY")
    commission: float = pa.Field(ge=0, description="commission, CNY (rate × amount, at least the minimum)")
    stamp_duty: float = pa.Field(ge=0, description="stamp duty on sells at the rate of the day, CNY")
    slippage_cost: float = pa.Field(ge=0, description="slippage paid, CNY")
    reason: str = pa.Field(isin=list(TRADE_REASONS),
                           description="rebalance (a decision), retry (a blocked order) or delisted")
    position_after: float = pa.Field(ge=0, description="shares held after the trade (0: the holding is closed)")

    class Config:
        name = "backtest.trades"
        description = "The trade ledger of every strategy: one row per executed order."
        strict = True
        unique = ["strategy", "trade_date", "code", "side"]


class BlockedOrders(pa.DataFrameModel):
    """backtest.blocked_orders: orders the rules stopped."""

    strategy: str = pa.Field(**STRATEGY)
    source: str = source_field()
    trade_date: dt.date = pa.Field(description="day the order could not execute")
    code: str = pa.Field(str_matches=r"^\d{6}$|^[a-z0-9_]+$", description="stock code, or index series name")
    side: str = pa.Field(isin=["buy", "sell"], description="buy or sell")
    shares: float = pa.Field(gt=0, **_OPT, description="shares of the order; null for a buy that could not be "
                                                       "sized (no bar to price it)")
    reason: str = pa.Field(isin=list(BLOCK_REASONS),
                           description="suspended (no bar), delisted (no bar again), limit_up_open (a buy at a "
                                       "limit-up open), limit_down_open (a sell at a limit-down open)")

    class Config:
        name = "backtest.blocked_orders"
        description = "Orders the trading rules stopped, with the reason; retried at the next open unless dropped."
        strict = True
        unique = ["strategy", "trade_date", "code", "side"]


TABLES = [BacktestRuns, BacktestNav, BacktestTrades, BlockedOrders]
