"""Two sources of the same bars side by side: where a TongDaXin folder and baostock both have a stock-day, do the
prices, volume and amount agree, and is every reference-close difference an ex-rights day?

    python -m sentiment_pipeline.quality.cross_source TDX_VIPDOC BAOSTOCK_DIR [START END]

prints the agreement per field, the reference-close differences by kind, and the first differing stock-days.
"""

from __future__ import annotations

import argparse
import datetime as dt

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.baostock_source import read_folder, six_digits
from sentiment_pipeline.sources.tdx import read_vipdoc

PRICE_TOLERANCE = 0.005  # CNY: both sources quote in fen
AMOUNT_TOLERANCE = 1e-6  # relative: TongDaXin stores the amount as a 32-bit float
# relative: baostock's volumes above 2^24 shares carry a 32-bit float's rounding (364,974,144 for 364,974,148)
VOLUME_TOLERANCE = 1e-7
FIELDS = ("open", "high", "low", "close", "volume", "amount")


def field_differences(both: pl.DataFrame) -> pl.DataFrame:
    """Stock-days both have (baostock's traded days only) whose open/high/low/close (beyond a fen), volume
    (beyond a 32-bit float's rounding) or amount (beyond a millionth) differ: trade_date, code, field, tdx,
    baostock. `both` is side_by_side's frame."""
    parts = []
    for field in FIELDS:
        a, b = pl.col(field), pl.col(f"bs_{field}")
        if field in ("volume", "amount"):
            tolerance = VOLUME_TOLERANCE if field == "volume" else AMOUNT_TOLERANCE
            # and a yuan: baostock gives small amounts in whole yuan (486,815 for 486,815.84)
            differs = (a - b).abs() > pl.max_horizontal(tolerance * pl.max_horizontal(a.abs(), b.abs()), pl.lit(1.0))
        else:
            differs = (a - b).abs() >= PRICE_TOLERANCE
        parts.append(both.filter(differs).select("trade_date", "code", field=pl.lit(field),
                                                 tdx=a.cast(pl.Float64), baostock=b.cast(pl.Float64)))
    return pl.concat(parts).sort("trade_date", "code", "field")


def reference_close_differences(both: pl.DataFrame) -> pl.DataFrame:
    """Stock-days whose exchange reference close (baostock) is not the previous TongDaXin record's close, each with
    its kind: 'ex_rights' (the reference is lower: a dividend or bonus issue takes value out of the share),
    'previous_record_missing' (the folder has no record the trading day before), or 'unexplained' (higher).
    `both` is side_by_side's frame."""
    differs = both.filter((pl.col("pre_close").is_null())
                          | ((pl.col("pre_close") - pl.col("bs_preclose")).abs() >= PRICE_TOLERANCE))
    kind = (pl.when(pl.col("pre_close").is_null() | ~pl.col("previous_record_yesterday"))
            .then(pl.lit("previous_record_missing"))
            .when(pl.col("bs_preclose") < pl.col("pre_close")).then(pl.lit("ex_rights"))
            .otherwise(pl.lit("unexplained")))
    return differs.select("trade_date", "code", tdx_previous_close="pre_close", reference_close="bs_preclose",
                          kind=kind).sort("trade_date", "code")


def side_by_side(tdx: pl.DataFrame, baostock: pl.DataFrame) -> pl.DataFrame:
    """The stock-days both sources have (baostock's traded days), TongDaXin's columns beside baostock's (bs_…) and
    whether the folder has a record the trading day before."""
    days = calendar.trading_day_index()
    tdx = (tdx.join(days, on="trade_date", how="left").sort("code", "trade_date")
           .with_columns(previous_record_yesterday=(pl.col("day_no").shift(1).over("code") == pl.col("day_no") - 1)
                         .fill_null(False)))
    ref = baostock.filter(pl.col("tradestatus") == 1).select(
        trade_date="date", code=six_digits(pl.col("code")),
        **{f"bs_{f}": f for f in (*FIELDS, "preclose")})
    return tdx.join(ref, on=["trade_date", "code"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vipdoc")
    parser.add_argument("baostock")
    parser.add_argument("start", nargs="?", type=dt.date.fromisoformat)
    parser.add_argument("end", nargs="?", type=dt.date.fromisoformat)
    args = parser.parse_args(argv)
    baostock = read_folder(args.baostock)
    start, end = args.start or baostock["date"].min(), args.end or baostock["date"].max()
    baostock = baostock.filter(pl.col("date").is_between(start, end))
    tdx = read_vipdoc(args.vipdoc).filter(pl.col("trade_date").is_between(start, end))
    both = side_by_side(tdx, baostock)
    fields = field_differences(both)
    refs = reference_close_differences(both)
    print(f"{start} → {end}: {both.height:,} stock-days in both sources")
    counts = dict(fields.group_by("field").len().iter_rows())
    print("fields that differ: " + ", ".join(f"{f} {counts.get(f, 0):,}" for f in FIELDS))
    kinds = dict(refs.group_by("kind").len().iter_rows())
    print("reference close ≠ previous TongDaXin close: " + ", ".join(
        f"{k} {kinds.get(k, 0):,}" for k in ("ex_rights", "previous_record_missing", "unexplained")))
    if fields.height:
        print("first differing stock-days:\n" + str(fields.head(10)))
    if kinds.get("unexplained"):
        print("unexplained reference closes:\n" + str(refs.filter(pl.col("kind") == "unexplained").head(10)))
    return 0


if __name__ == "__main__":
    from sentiment_pipeline.platform.commands import run_main

    raise SystemExit(run_main(main))
