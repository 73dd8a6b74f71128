"""An engine result, its benchmark and its plan as rows of the backtest tables."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from sentiment_pipeline.backtest import engine, metrics
from sentiment_pipeline.backtest.tables import BacktestNav, BacktestRuns, BacktestTrades, BlockedOrders


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    params: dict


def tables(strategy: Strategy, result: engine.Result, benchmark: pl.DataFrame, benchmark_label: str, *,
           source: str, signal_days: int, membership_date: dt.date | None = None,
           signal_returns: dict | None = None, risk_free: float = 0.0,
           chart_path: str | None = None) -> dict[type, pl.DataFrame]:
    """The strategy's rows of backtest.runs, .nav, .trades and .blocked_orders, each with `source` (the market
    source's name). `benchmark` is (trade_date, return); the benchmark starts from the same capital on the first
    day. `membership_date`: strategies.Plan's. `signal_returns`: the means of strategies.next_day_returns, for a
    strategy that has them."""
    capital = result.rules.capital
    nav = result.nav
    days = nav["trade_date"].to_list()
    values = nav["nav"].to_numpy()
    mine = metrics.return_metrics(days, metrics.daily_returns(values, capital), risk_free)
    bench = nav.select("trade_date").join(benchmark, on="trade_date", how="left")
    bench_r = bench["return"].fill_null(0.0).to_numpy().copy()
    bench_r[0] = 0.0  # the benchmark is bought at the first close, as the strategy starts there in cash
    theirs = metrics.return_metrics(days, bench_r, risk_free)
    bench_nav = capital * np.cumprod(1.0 + bench_r)
    trips = metrics.trip_metrics(metrics.round_trips(result.trades))
    costs = result.trades.select(pl.sum_horizontal("commission", "stamp_duty", "slippage_cost").sum()).item()
    peak = np.maximum.accumulate(np.concatenate([[capital], values]))[1:]

    nav_rows = nav.with_columns(
        strategy=pl.lit(strategy.name), source=pl.lit(source),
        drawdown=pl.Series(values / peak - 1.0).clip(upper_bound=0.0),
        benchmark_nav=pl.when(bench["return"].is_not_null() | (pl.int_range(pl.len()) == 0))
        .then(pl.Series(bench_nav)))
    run = {
        "strategy": strategy.name, "source": source, "description": strategy.description,
        "params": json.dumps({**strategy.params, "engine": result.rules.as_dict(), "risk_free": risk_free},
                             ensure_ascii=False, sort_keys=True),
        "start_date": days[0], "end_date": days[-1],
        "membership_date": membership_date, "days": len(days), "signal_days": signal_days,
        "final_nav": float(values[-1]), "total_return": mine.total_return, "annual_return": mine.annual_return,
        "annual_volatility": mine.annual_volatility, "sharpe": mine.sharpe, "max_drawdown": mine.max_drawdown,
        "max_drawdown_peak": mine.max_drawdown_peak, "max_drawdown_trough": mine.max_drawdown_trough,
        "calmar": mine.calmar, "round_trips": trips.round_trips, "win_rate": trips.win_rate,
        "profit_loss_ratio": trips.profit_loss_ratio, "round_trip_mean_return": trips.round_trip_mean_return,
        "signal_next_day_return": (signal_returns or {}).get("close_to_close"),
        "signal_overnight_gap": (signal_returns or {}).get("overnight_gap"),
        "signal_open_to_open_return": (signal_returns or {}).get("open_to_open"),
        "trades": result.trades.height, "blocked_orders": result.blocked.height,
        "annual_turnover": metrics.annual_turnover(result.trades, values), "total_costs": float(costs or 0.0),
        "returns_by_year": json.dumps(mine.returns_by_year),
        "ytd_return": mine.returns_by_year.get(str(days[-1].year)), "weekly_hit_rate": weekly_hit_rate(nav),
        "benchmark": benchmark_label,
        "benchmark_total_return": theirs.total_return, "benchmark_annual_return": theirs.annual_return,
        "benchmark_annual_volatility": theirs.annual_volatility, "benchmark_sharpe": theirs.sharpe,
        "benchmark_max_drawdown": theirs.max_drawdown,
        "benchmark_returns_by_year": json.dumps(theirs.returns_by_year), "chart_path": chart_path,
    }
    schema = BacktestRuns.to_schema()
    runs = pl.DataFrame([run], schema={k: c.dtype.type for k, c in schema.columns.items()})
    named = (pl.lit(strategy.name).alias("strategy"), pl.lit(source).alias("source"))
    return {
        BacktestRuns: runs,
        BacktestNav: nav_rows.select(list(BacktestNav.to_schema().columns)),
        BacktestTrades: result.trades.select(*named, pl.all()).select(list(BacktestTrades.to_schema().columns)),
        BlockedOrders: result.blocked.select(*named, pl.all()).select(list(BlockedOrders.to_schema().columns)),
    }


def weekly_hit_rate(nav: pl.DataFrame) -> float | None:
    """Share of trading weeks whose NAV rose (last close of the week against the previous week's), among the
    weeks with a position at some close."""
    weeks = (nav.group_by(week=pl.col("trade_date").dt.truncate("1w"))
             .agg(nav=pl.col("nav").sort_by("trade_date").last(), invested=(pl.col("positions_value") > 0).any())
             .sort("week").with_columns(change=pl.col("nav") / pl.col("nav").shift(1) - 1)
             .filter(pl.col("invested") & pl.col("change").is_not_null()))
    return float((weeks["change"] > 0).mean()) if weeks.height else None
