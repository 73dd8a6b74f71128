"""Every strategy of backtest.runs as Markdown: what it earned after costs beside its benchmark, and note 000's own
measure for the strategies that have one, split into what a buyer at the next open really gets.

    python -m sentiment_pipeline.backtest.results [DATABASE]

The documentation's result tables are this command's output (scripts/docs_samples.py --history / --real).
"""

from __future__ import annotations

import json
import sys

import duckdb
import polars as pl

from sentiment_pipeline.platform import storage
from sentiment_pipeline.platform.markdown import md_table

SIMULATED = "a simulated market: these figures test the machinery, never the real market"


def _pct(value: float | None, sign: bool = False, digits: int = 1) -> str:
    return "–" if value is None else f"{value:{'+' if sign else ''}.{digits}%}"





def returns(runs: pl.DataFrame) -> pl.DataFrame:
    """One row per strategy (best annual return first), then one per benchmark and period."""
    rows = [{
        "strategy": f"`{r['strategy']}`", "period": f"{r['start_date']} → {r['end_date']}",
        "annual": _pct(r["annual_return"]), "volatility": _pct(r["annual_volatility"]),
        "Sharpe": "–" if r["sharpe"] is None else f"{r['sharpe']:.2f}",
        "max drawdown (peak → trough)": f"{_pct(r['max_drawdown'])} ({r['max_drawdown_peak'] or '–'} → "
                                        f"{r['max_drawdown_trough'] or '–'})",
        "win rate": _pct(r["win_rate"]),
        "P/L": "–" if r["profit_loss_ratio"] is None else f"{r['profit_loss_ratio']:.2f}",
        "round trips": f"{r['round_trips']:,}", "trades": f"{r['trades']:,}", "blocked": f"{r['blocked_orders']:,}",
        "weekly hit rate": _pct(r["weekly_hit_rate"]),
        "turnover / yr": f"{r['annual_turnover']:.0f}×", "signal days": f"{r['signal_days']:,}",
        "costs": f"{r['total_costs'] / 1e6:.2f} M",
    } for r in runs.sort("annual_return", "strategy", descending=[True, False]).iter_rows(named=True)]
    benchmarks = runs.unique(["benchmark", "start_date", "end_date"]).sort("start_date", "end_date", "benchmark")
    for r in benchmarks.iter_rows(named=True):
        rows.append({
            "strategy": f"benchmark: {r['benchmark']}", "period": f"{r['start_date']} → {r['end_date']}",
            "annual": _pct(r["benchmark_annual_return"]), "volatility": _pct(r["benchmark_annual_volatility"]),
            "Sharpe": "–" if r["benchmark_sharpe"] is None else f"{r['benchmark_sharpe']:.2f}",
            "max drawdown (peak → trough)": _pct(r["benchmark_max_drawdown"]), "win rate": "", "P/L": "",
            "round trips": "", "trades": "", "blocked": "", "weekly hit rate": "", "turnover / yr": "",
            "signal days": "", "costs": ""})
    return pl.DataFrame(rows)


def by_year(runs: pl.DataFrame) -> pl.DataFrame:
    """Calendar-year returns, a column a year, in the order of returns(); the benchmarks last."""
    ordered = runs.sort("annual_return", "strategy", descending=[True, False])
    rows = [(f"`{r['strategy']}`", r["returns_by_year"]) for r in ordered.iter_rows(named=True)]
    benchmarks = runs.unique(["benchmark", "start_date", "end_date"]).sort("start_date", "end_date", "benchmark")
    rows += [(f"benchmark: {r['benchmark']}", r["benchmark_returns_by_year"]) for r in benchmarks.iter_rows(named=True)]
    parsed = [(name, json.loads(text or "{}")) for name, text in rows]
    years = sorted({year for _, returns in parsed for year in returns})
    return pl.DataFrame([{"strategy": name, **{year: _pct(returns.get(year), sign=True) for year in years}}
                         for name, returns in parsed], schema={"strategy": pl.String, **{y: pl.String for y in years}})


def signal_measures(runs: pl.DataFrame) -> pl.DataFrame:
    """Note 000 measures the chosen stocks' close-to-close return to the next day; a buyer gets the next open to
    the open after. One row per strategy that has the measure."""
    measured = runs.filter(pl.col("signal_next_day_return").is_not_null()).sort("strategy")
    return pl.DataFrame([{
        "strategy": f"`{r['strategy']}`", "signal days": f"{r['signal_days']:,}",
        "close t → close t+1 (note 000's measure)": _pct(r["signal_next_day_return"], sign=True, digits=2),
        "of which close t → open t+1": _pct(r["signal_overnight_gap"], sign=True, digits=2),
        "open t+1 → open t+2 (a buyer, before costs)": _pct(r["signal_open_to_open_return"], sign=True, digits=2),
        "mean round trip after costs": _pct(r["round_trip_mean_return"], sign=True, digits=2),
    } for r in measured.iter_rows(named=True)], schema_overrides={"signal days": pl.String})


def provenance(runs: pl.DataFrame) -> str:
    sources = sorted(runs["source"].unique().to_list())
    membership = runs["membership_date"].drop_nulls()
    line = (f"source: {', '.join(sources)} · period: {runs['start_date'].min()} → {runs['end_date'].max()}"
            + (f" · membership as of {membership.min()}"
               + (f" … {membership.max()}" if membership.max() != membership.min() else "")
               if membership.len() else " · no membership"))
    return line + (f" ({SIMULATED})" if "synthetic" in sources else "")


def markdown(conn: duckdb.DuckDBPyConnection) -> str:
    """The two tables, after a line saying where they come from."""
    runs = storage.query(conn, "select * from backtest.runs")
    if runs.is_empty():
        return "backtest.runs has no rows: run the backtests first (python -m sentiment_pipeline.cli --select " \
               "'group:backtest')"
    measures = signal_measures(runs)
    return "\n".join([
        provenance(runs), "",
        "After costs (the engine's defaults), best annual return first; each strategy beside the benchmark over "
        "its own days:", "", md_table(returns(runs)),
        "", "Returns by calendar year (the last year to the period's end):", "", md_table(by_year(runs)),
        *(["", "Note 000's measure against what a buyer at the next open gets (means over signal days):", "",
           md_table(measures)] if not measures.is_empty() else [])])


def main(argv: list[str] | None = None) -> int:
    from sentiment_pipeline.platform.resources import database_path

    args = sys.argv[1:] if argv is None else argv
    with duckdb.connect(args[0] if args else database_path(), read_only=True) as conn:
        print(markdown(conn))
    return 0


if __name__ == "__main__":
    from sentiment_pipeline.platform.commands import run_main

    raise SystemExit(run_main(main))
