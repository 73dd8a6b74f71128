"""What a backtest earned: return metrics of a NAV series (empyrical's conventions: 252 days a year, sample
standard deviation, drawdown as a negative fraction) and round-trip statistics from the trade ledger."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from sentiment_pipeline.market.indices import index_returns

DAYS_PER_YEAR = 252


@dataclass(frozen=True)
class ReturnMetrics:
    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe: float | None
    max_drawdown: float  # ≤ 0
    max_drawdown_peak: dt.date | None
    max_drawdown_trough: dt.date | None
    calmar: float | None
    returns_by_year: dict[str, float]

    def as_dict(self, prefix: str = "") -> dict:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def daily_returns(nav: np.ndarray, start_value: float) -> np.ndarray:
    """Day-over-day returns; the first day's against the starting value."""
    previous = np.concatenate([[start_value], nav[:-1]])
    return nav / previous - 1.0


def return_metrics(days: list[dt.date], returns: np.ndarray, risk_free: float = 0.0) -> ReturnMetrics:
    """`risk_free` is an annual rate, taken off each day as risk_free / 252 for the Sharpe ratio."""
    r = np.asarray(returns, dtype=float)
    n = r.size
    wealth = np.cumprod(1.0 + r)
    total = float(wealth[-1] - 1.0) if n else 0.0
    annual = float(wealth[-1] ** (DAYS_PER_YEAR / n) - 1.0) if n else 0.0
    vol = float(np.std(r, ddof=1) * math.sqrt(DAYS_PER_YEAR)) if n > 1 else 0.0
    excess = r - risk_free / DAYS_PER_YEAR
    sd = np.std(excess, ddof=1) if n > 1 else 0.0
    sharpe = float(np.mean(excess) / sd * math.sqrt(DAYS_PER_YEAR)) if sd > 0 else None
    peak_wealth = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    drawdown = wealth / peak_wealth - 1.0
    trough = int(np.argmin(drawdown)) if n else 0
    max_dd = float(min(drawdown.min(), 0.0)) if n else 0.0
    peak_day = trough_day = None
    if max_dd < 0:
        before = wealth[: trough + 1]
        peak = trough - int(np.argmax(before[::-1]))  # the last day at the peak (pyfolio's convention)
        # The starting capital is the peak when nothing before the trough exceeded it.
        peak_day = days[peak] if before[peak] >= 1.0 else None
        trough_day = days[trough]
    calmar = float(annual / -max_dd) if max_dd < 0 else None
    years: dict[str, float] = {}
    if n:
        frame = pl.DataFrame({"year": [d.year for d in days], "r": r})
        for year, growth in frame.group_by("year").agg((pl.col("r") + 1).product()).sort("year").iter_rows():
            years[str(year)] = float(growth - 1.0)
    return ReturnMetrics(total, annual, vol, sharpe, max_dd, peak_day, trough_day, calmar, years)


def round_trips(trades: pl.DataFrame) -> pl.DataFrame:
    """One row per closed round trip (a holding from zero back to zero, by the ledger's `position_after`, which
    follows the engine's holding through ex-rights days): code, open and close days, cost, proceeds, pnl and
    return after every cost. A cash payout of a fractional share on an ex-rights day is not in the ledger."""
    empty = pl.DataFrame(schema={"code": pl.String, "opened": pl.Date, "closed": pl.Date, "cost": pl.Float64,
                                 "proceeds": pl.Float64, "pnl": pl.Float64, "return": pl.Float64})
    if trades.is_empty():
        return empty
    fees = pl.col("commission") + pl.col("stamp_duty") + pl.col("slippage_cost")
    t = (trades.with_row_index("_seq")
         .with_columns(cash=pl.when(pl.col("side") == "buy").then(-(pl.col("amount") + fees))
                       .otherwise(pl.col("amount") - fees),
                       closes=pl.col("position_after") <= 1e-9)
         .sort("code", "_seq"))  # the ledger is in execution order
    t = t.with_columns(trip=pl.col("closes").cast(pl.Int32).cum_sum().shift(1, fill_value=0).over("code"))
    trips = (t.group_by("code", "trip")
             .agg(opened=pl.col("trade_date").first(), closed=pl.col("trade_date").last(),
                  cost=-pl.col("cash").filter(pl.col("cash") < 0).sum(),
                  proceeds=pl.col("cash").filter(pl.col("cash") > 0).sum(),
                  pnl=pl.col("cash").sum(), done=pl.col("closes").last())
             .filter(pl.col("done"))
             .with_columns(**{"return": pl.col("pnl") / pl.col("cost")})
             .sort("closed", "code"))
    return trips.select(empty.columns)


@dataclass(frozen=True)
class TripMetrics:
    round_trips: int
    win_rate: float | None  # share of round trips with pnl > 0
    profit_loss_ratio: float | None  # mean winning pnl ÷ mean losing |pnl|
    round_trip_mean_return: float | None


def trip_metrics(trips: pl.DataFrame) -> TripMetrics:
    if trips.is_empty():
        return TripMetrics(0, None, None, None)
    pnl = trips["pnl"].to_numpy()
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    ratio = float(wins.mean() / -losses.mean()) if wins.size and losses.size else None
    return TripMetrics(trips.height, float((pnl > 0).mean()), ratio, float(trips["return"].mean()))


def annual_turnover(trades: pl.DataFrame, nav: np.ndarray) -> float:
    """One-sided turnover a year: (buys + sells) ÷ 2 ÷ mean NAV, scaled to 252 days."""
    if not nav.size or trades.is_empty():
        return 0.0
    return float(trades["amount"].sum() / 2 / nav.mean() * DAYS_PER_YEAR / nav.size)


def index_reference(index_daily: pl.DataFrame, days: list, code: str = "000300") -> dict:
    """Buying a stored index (the CSI 300 by default, its price series without dividends) over the backtest's days,
    bought at the first close as the benchmark is: its annual return, drawdown and Sharpe; {} when not stored."""
    series = index_returns(index_daily, code)
    if series.is_empty() or not days:
        return {}
    on_days = pl.DataFrame({"trade_date": days}).join(series, on="trade_date", how="left")
    returns = on_days["return"].fill_null(0.0).to_numpy().copy()
    returns[0] = 0.0
    m = return_metrics(days, returns)
    pct = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
    return {f"index_{code}_annual_return_pct": pct(m.annual_return), f"index_{code}_max_drawdown_pct": pct(m.max_drawdown),
            f"index_{code}_sharpe": None if m.sharpe is None else round(m.sharpe, 3),
            f"index_{code}_days_without_close": int(on_days["return"][1:].null_count())}
