"""Note 002 on a database: the STMS strategies beside the all-A benchmark and the CSI 300 index file, the top
list of named days, and whether the top sectors beat the rest the next day before any cost.

    python -m sentiment_pipeline.stms.report [DATABASE] [--days 2019-02-25,2020-02-03,2021-07-30]

prints Markdown: where the figures come from (period, membership dates), then the three tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os

import duckdb
import polars as pl

from sentiment_pipeline.backtest.metrics import index_reference
from sentiment_pipeline.platform import storage

MIN_DAYS = 30  # fewer days of spreads: no verdict
NAMED_DAYS = (dt.date(2019, 2, 25), dt.date(2020, 2, 3), dt.date(2021, 7, 30))
STRATEGIES = ("stms_top_sw", "stms_top_sw_weekly", "stms_risers_sw", "stms_three_highs_sw", "stms_top_concept")


def next_day_spread(scores: pl.DataFrame, daily: pl.DataFrame, kind: str = "sw_l1", top: int = 3) -> pl.DataFrame:
    """Per scored day t: the mean return on the next trading day of the `top` sectors by STMS rank on t, the mean
    over every scored sector, and their difference (the signal before costs, bought at t's close). Days whose
    next day is not in `daily` are left out."""
    days = daily.select(pl.col("trade_date").unique().sort())
    following = days.with_columns(next_day=pl.col("trade_date").shift(-1)).drop_nulls()
    ranked = (scores.filter(pl.col("sector_kind") == kind).select("trade_date", "sector", "rank")
              .join(following, on="trade_date")
              .join(daily.filter(pl.col("sector_kind") == kind).select(next_day="trade_date", sector="sector",
                                                                          next_ret="ret"),
                    on=["next_day", "sector"]).drop_nulls("next_ret"))
    return (ranked.group_by("trade_date")
            .agg(top=pl.col("next_ret").filter(pl.col("rank") <= top).mean(), all=pl.col("next_ret").mean())
            .drop_nulls().with_columns(spread=pl.col("top") - pl.col("all")).sort("trade_date"))


def spread_test(spreads: pl.Series) -> dict:
    """One-sample t-test of the daily spreads against 0 (SciPy): mean, t, two-sided p; n/a under MIN_DAYS."""
    values = spreads.drop_nulls().to_numpy()
    if len(values) < MIN_DAYS:
        return {"days": len(values), "mean_bp": None, "t": None, "p": None, "verdict": "n/a (too few days)"}
    from scipy import stats

    test = stats.ttest_1samp(values, 0.0)
    p = float(test.pvalue)
    return {"days": len(values), "mean_bp": float(values.mean() * 1e4), "t": float(test.statistic), "p": p,
            "verdict": ("top sectors beat the rest" if test.statistic > 0 else "top sectors trail the rest")
            if p < 0.05 else "no difference at 5%"}



def provenance(conn) -> list[str]:
    lines = []
    period = conn.execute("select min(trade_date), max(trade_date), count(distinct trade_date) "
                          "from core.daily_bars").fetchone()
    lines.append(f"- bars: {period[0]} → {period[1]} ({period[2]:,} trading days)")
    if storage.table_exists(conn, "raw.industry_history"):
        latest = conn.execute("select max(start_date) from raw.industry_history").fetchone()[0]
        lines.append(f"- SW industries: classification history, latest change {latest}; SW2014 names before "
                     "2021-07-30, SW2021 from then on")
    if storage.table_exists(conn, "raw.concept_membership"):
        first, last = conn.execute("select min(snapshot_date), max(snapshot_date) "
                                   "from raw.concept_membership").fetchone()
        if first is not None:
            ahead = conn.execute("select count(distinct trade_date) from core.daily_bars where trade_date < ?",
                                 [first]).fetchone()[0]
            dated = f"- concepts: snapshot(s) {first}{'' if first == last else ' … ' + str(last)}; "
            lines.append(dated + (f"{ahead:,} trading day(s) before it use it: look-ahead and survivorship" if ahead
                                  else "no stored day precedes it"))
    return lines


def strategies(conn) -> pl.DataFrame:
    """The STMS strategies' runs, the all-A benchmark and the CSI 300 index file over the same days."""
    runs = storage.query(conn, "select strategy, start_date, end_date, annual_return, max_drawdown, sharpe, trades, "
                       "total_costs, benchmark, benchmark_annual_return, benchmark_max_drawdown, benchmark_sharpe, "
                       "returns_by_year, benchmark_returns_by_year from backtest.runs")
    runs = runs.filter(pl.col("strategy").is_in(STRATEGIES)).sort(
        pl.col("strategy").replace_strict({s: i for i, s in enumerate(STRATEGIES)}))
    if runs.is_empty():
        return pl.DataFrame()
    pct = lambda v: "–" if v is None else f"{100 * v:+.1f}%"  # noqa: E731
    years = lambda text: ", ".join(f"{y} {pct(r)}" for y, r in json.loads(text).items())  # noqa: E731
    rows = [{"portfolio": r["strategy"], "annual": pct(r["annual_return"]), "max drawdown": pct(r["max_drawdown"]),
             "Sharpe": f"{r['sharpe']:.2f}" if r["sharpe"] is not None else "–",
             "trades": f"{r['trades']:,}", "costs": f"{r['total_costs'] / 1e6:.1f} M",
             "by year": years(r["returns_by_year"])} for r in runs.iter_rows(named=True)]
    first = runs.row(0, named=True)
    rows.append({"portfolio": f"all-A ({first['benchmark']})", "annual": pct(first["benchmark_annual_return"]),
                 "max drawdown": pct(first["benchmark_max_drawdown"]),
                 "Sharpe": f"{first['benchmark_sharpe']:.2f}" if first["benchmark_sharpe"] is not None else "–",
                 "trades": "", "costs": "", "by year": years(first["benchmark_returns_by_year"])})
    if storage.table_exists(conn, "raw.index_daily"):
        index = storage.query(conn, "select trade_date, index_code, pre_close, close from raw.index_daily "
                            "where index_code = '000300' order by trade_date")
        days = storage.query(conn, "select distinct trade_date from core.daily_bars where trade_date between "
                           f"'{first['start_date']}' and '{first['end_date']}' order by 1")["trade_date"].to_list()
        ref = index_reference(index, days)
        if ref:
            rows.append({"portfolio": "CSI 300 index file (price, bought at the first close)",
                         "annual": f"{ref['index_000300_annual_return_pct']:+.1f}%",
                         "max drawdown": f"{ref['index_000300_max_drawdown_pct']:+.1f}%",
                         "Sharpe": f"{ref['index_000300_sharpe']:.2f}", "trades": "", "costs": "", "by year": ""})
    return pl.DataFrame(rows)


def named_days(conn, days: tuple[dt.date, ...], kind: str = "sw_l1", size: int = 5) -> pl.DataFrame:
    listed = ", ".join(f"'{d}'" for d in days)
    top = storage.query(conn, f"select trade_date, rank, sector, stms, score_a, score_c from stms.top_list "
                      f"where sector_kind = '{kind}' and trade_date in ({listed}) and rank <= {size} "
                      "order by trade_date, rank")
    return top.group_by("trade_date", maintain_order=True).agg(
        top=pl.format("{} {}", pl.col("sector"), pl.col("stms").round(1)).str.join(" · "))


def markdown(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return "(none)"
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width
    body = "\n".join("| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows())
    return f"{head}\n{body}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", nargs="?", default=os.environ.get("SENTIMENT_DUCKDB_PATH", "data/market.duckdb"))
    parser.add_argument("--days", default=",".join(map(str, NAMED_DAYS)),
                        help="days whose SW top list to show, comma-separated")
    args = parser.parse_args(argv)
    with duckdb.connect(args.database, read_only=True) as conn:
        print(f"# STMS (note 002) on {args.database}\n")
        print("\n".join(provenance(conn)) + "\n")
        print("## Strategies, after costs\n\n" + markdown(strategies(conn)) + "\n")
        days = tuple(dt.date.fromisoformat(d) for d in args.days.split(",") if d)
        print("## SW level-1 top 5 on named days\n\n" + markdown(named_days(conn, days)) + "\n")
        scores = storage.query(conn, "select trade_date, sector_kind, sector, rank from stms.scores")
        daily = storage.query(conn, "select trade_date, sector_kind, sector, ret from stms.sector_daily")
        ahead = (conn.execute("select count(*) from (select distinct trade_date from stms.scores) where trade_date < "
                              "(select min(snapshot_date) from raw.concept_membership)").fetchone()[0]
                 if storage.table_exists(conn, "raw.concept_membership") else 0)
        rows = []
        for kind in ("sw_l1", "concept"):
            result = spread_test(next_day_spread(scores, daily, kind)["spread"])
            fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
            rows.append({"sectors": kind, "days": result["days"], "top 3 − all, next day": fmt(result["mean_bp"], "+.1f")
                         + " bp", "t": fmt(result["t"], ".2f"), "p": fmt(result["p"], ".3f"),
                         "verdict (t-test, 5%)": result["verdict"] + (" — look-ahead membership" if kind == "concept"
                                                                      and ahead else "")})
        print("## Do the top 3 beat the rest the next day? (before costs)\n\n" + markdown(pl.DataFrame(rows)))
    return 0


if __name__ == "__main__":
    from sentiment_pipeline.platform.commands import run_main

    raise SystemExit(run_main(main))
