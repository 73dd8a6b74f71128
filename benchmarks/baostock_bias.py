"""The bias of TongDaXin bars without the exchange's reference closes and ST flags, measured on real data: the
main command over 2019-01-02 → 2022-02-11 on the TongDaXin folder with the real membership, once as it is and
once completed by baostock's Shenzhen output (SENTIMENT_BAOSTOCK_DIR: 2020-01-02 → 2022-02-11), then per rule
the limit-ups each finds, the ladder and phase days that change, and two backtests.

    python benchmarks/baostock_bias.py            # about 3 minutes; needs ../shared/data/real

Prints Markdown tables (the README's "Reference closes and ST flags, measured").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"
RANGE = "2019-01-02...2022-02-11"
COVERED = ("2020-01-02", "2022-02-11")  # baostock's Shenzhen span
STRATEGIES = ("phase_limit_up_follow", "stms_top_sw_weekly")


def run(workdir: Path, name: str, baostock: bool) -> Path:
    db = workdir / f"{name}.duckdb"
    home = workdir / f"{name}_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "SENTIMENT_SOURCE": "tdx",
           "SENTIMENT_TDX_DIR": str(REAL / "tdx" / "vipdoc"), "SENTIMENT_MEMBERSHIP_DIR": str(REAL / "membership"),
           "SENTIMENT_DUCKDB_PATH": str(db)}
    env.pop("SENTIMENT_BAOSTOCK_DIR", None)
    if baostock:
        env["SENTIMENT_BAOSTOCK_DIR"] = str(REAL / "baostock")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sentiment_pipeline.cli", RANGE, "--select",
                           "not group:review and not group:research"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(f"<!-- {name}: {time.perf_counter() - started:.0f} s -->")
    return db


def read(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


def limit_ups(db: Path) -> pl.DataFrame:
    return read(db, f"select trade_date, code, board, is_st, pre_close, is_limit_up, limit_up_price from core.daily_bars "
                    f"where trade_date between '{COVERED[0]}' and '{COVERED[1]}' and code similar to '(00|30).*'")


def table(rows: list[dict]) -> str:
    head = "| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0])
    return head + "\n" + "\n".join("| " + " | ".join(str(v) for v in r.values()) + " |" for r in rows)


def main() -> int:
    if not REAL.is_dir():
        raise SystemExit(f"{REAL} is absent")
    workdir = Path(tempfile.mkdtemp(prefix="baostock-bias-"))
    try:
        bare, completed = run(workdir, "tdx", False), run(workdir, "tdx_baostock", True)
        a, b = limit_ups(bare), limit_ups(completed)
        both = a.join(b, on=["trade_date", "code"], how="full", suffix="_b", coalesce=True)
        corrected = (pl.col("pre_close") - pl.col("pre_close_b")).abs() >= 0.005
        rules = {
            "ST stocks (±5%; ChiNext ST ±20% from 2020-08-24)": pl.col("is_st_b").fill_null(False),
            "ChiNext from 2020-08-24 (±20%), not ST": (pl.col("board_b") == "chinext")
            & (pl.col("trade_date") >= pl.date(2020, 8, 24)) & ~pl.col("is_st_b").fill_null(False),
            "ex-rights days (reference close ≠ previous close)": corrected.fill_null(False),
            "days baostock lists as suspended (dropped)": pl.col("is_limit_up_b").is_null(),
            "every Shenzhen stock-day": pl.lit(True),
        }
        rows = []
        for rule, where in rules.items():
            part = both.filter(where)
            rows.append({"rule": rule, "stock-days": f"{part.height:,}",
                         "limit-ups, TDX alone": f"{int(part['is_limit_up'].fill_null(False).sum()):,}",
                         "limit-ups, with baostock": f"{int(part['is_limit_up_b'].fill_null(False).sum()):,}",
                         "found only with baostock": f"{int((part['is_limit_up_b'].fill_null(False) & ~part['is_limit_up'].fill_null(False)).sum()):,}",
                         "gone with baostock": f"{int((part['is_limit_up'].fill_null(False) & ~part['is_limit_up_b'].fill_null(False)).sum()):,}"})
        print("### Limit-ups per rule, Shenzhen " + " → ".join(COVERED) + "\n\n" + table(rows) + "\n")
        no_limit = (int(both["limit_up_price"].is_null().sum() - both["is_limit_up"].is_null().sum()),
                    int(both["limit_up_price_b"].is_null().sum() - both["is_limit_up_b"].is_null().sum()))
        print(f"Stock-days without a price limit (registration IPOs' first five days, and listing days): "
              f"{no_limit[0]:,} on TongDaXin alone, {no_limit[1]:,} with baostock.\n")
        days = {}
        for name, db in (("a", bare), ("b", completed)):
            days[name] = read(db, "select l.trade_date, l.max_height, l.promotion_rate, l.limit_up_count, p.phase_name as phase "
                                  "from sentiment.ladder_daily l join sentiment.phase_daily p using (trade_date) "
                                  f"where trade_date between '{COVERED[0]}' and '{COVERED[1]}'")
        d = days["a"].join(days["b"], on="trade_date", suffix="_b")
        changed = {
            "limit-up count": (d["limit_up_count"] != d["limit_up_count_b"]).sum(),
            "highest streak": (d["max_height"] != d["max_height_b"]).sum(),
            "promotion rate": ((d["promotion_rate"] - d["promotion_rate_b"]).abs() > 1e-12).fill_null(True).sum(),
            "phase": (d["phase"].fill_null("") != d["phase_b"].fill_null("")).sum(),
        }
        print(f"### Days that change ({d.height} trading days, the whole market)\n\n" + table(
            [{"figure": k, "days changed": int(v)} for k, v in changed.items()]) + "\n")
        rows = []
        for strategy in STRATEGIES:
            r = {}
            for label, db in (("TDX alone", bare), ("with baostock", completed)):
                run_row = read(db, "select annual_return, max_drawdown, sharpe, benchmark_annual_return from "
                                   f"backtest.runs where strategy = '{strategy}'").row(0, named=True)
                r[label] = run_row
            rows.append({"strategy": strategy,
                         "annual, TDX alone": f"{100 * r['TDX alone']['annual_return']:+.1f}%",
                         "annual, with baostock": f"{100 * r['with baostock']['annual_return']:+.1f}%",
                         "all-A, TDX alone": f"{100 * r['TDX alone']['benchmark_annual_return']:+.1f}%",
                         "all-A, with baostock": f"{100 * r['with baostock']['benchmark_annual_return']:+.1f}%"})
        print(f"### Backtests {RANGE.replace('...', ' → ')} (baostock covers Shenzhen "
              + " → ".join(COVERED) + ")\n\n" + table(rows))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
