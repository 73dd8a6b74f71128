"""`SENTIMENT_SOURCE=tdx`: daily bars from a local TongDaXin `vipdoc` folder.

The `.day` files hold unadjusted OHLC in fen, amount and volume, one 32-byte
record per traded day. They carry no reference close, turnover, float cap, ST
flag or listing date: the previous record's close stands in for the reference
close (wrong on ex-rights days), the first record of a stock that starts after
the folder's first day is taken as its listing day, and the rest is null.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import numpy as np
import polars as pl

from sentiment_pipeline.market.limits import board_of, exchange_of
from sentiment_pipeline.sources.base import RAW_QUOTE_SCHEMA, SECURITIES_SCHEMA, MarketSource, conform
from sentiment_pipeline.sources.pools import read_ths_pools

DAY_RECORD = np.dtype([("date", "<u4"), ("open", "<u4"), ("high", "<u4"), ("low", "<u4"), ("close", "<u4"),
                       ("amount", "<f4"), ("volume", "<u4"), ("reserved", "<u4")])
# A-share stock files only (indexes such as sh000001, sz399001, bj899050 are skipped).
STOCK_FILE = re.compile(r"^(sh(60|68)\d{4}|sz(00|30)\d{4}|bj(43|83|87|92)\d{4})\.day$")


@functools.lru_cache(maxsize=2)
def read_vipdoc(vipdoc: str) -> pl.DataFrame:
    """Every stock's bars in the folder, with pre_close from the previous record."""
    root = Path(vipdoc)
    files = sorted(p for m in ("sh", "sz", "bj") for p in (root / m / "lday").glob("*.day") if STOCK_FILE.match(p.name))
    if not files:
        raise FileNotFoundError(f"no TongDaXin stock files (*/lday/*.day) under {root}")
    records = [np.fromfile(p, dtype=DAY_RECORD) for p in files]
    lengths = np.array([len(r) for r in records])
    rec = np.concatenate(records)
    codes = np.repeat(np.array([p.name[2:8] for p in files]), lengths)
    date = rec["date"].astype(np.int64)
    df = pl.DataFrame({
        "code": codes,
        "trade_date": pl.Series(date // 10000 * 10000 + date % 10000, dtype=pl.Int64).cast(pl.String)
        .str.strptime(pl.Date, "%Y%m%d"),
        "open": rec["open"] / 100, "high": rec["high"] / 100, "low": rec["low"] / 100,
        "close": rec["close"] / 100, "amount": rec["amount"].astype(np.float64),
        "volume": rec["volume"].astype(np.int64),
    })
    # Files are in date order per stock; records of one file are contiguous.
    first = np.zeros(len(rec), dtype=bool)
    first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
    prev_close = np.concatenate([[np.nan], df["close"].to_numpy()[:-1]])
    prev_close[first] = np.nan
    return df.with_columns(pre_close=pl.Series(prev_close).fill_nan(None), _first=pl.Series(first))


class TdxSource(MarketSource):
    """Bars from a TongDaXin `vipdoc` folder (SENTIMENT_TDX_DIR)."""

    vipdoc_dir: str
    ths_dir: str | None = None  # optional folder of THS pool CSVs (YYYY-limit_up.csv, YYYY-broken.csv)

    def source_name(self) -> str:
        return "tdx"

    def _bars(self) -> pl.DataFrame:
        return read_vipdoc(str(Path(self.vipdoc_dir).resolve()))

    def securities(self) -> pl.DataFrame:
        bars = self._bars()
        history_start = bars["trade_date"].min()
        firsts = bars.filter(pl.col("_first")).select("code", "trade_date")
        return conform(
            firsts.with_columns(
                name=pl.lit(None, pl.String),
                exchange=exchange_of(pl.col("code")),
                board=board_of(pl.col("code")),
                list_date=pl.when(pl.col("trade_date") > history_start).then(pl.col("trade_date")),
            ),
            SECURITIES_SCHEMA,
        )

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return conform(self._bars().filter(pl.col("trade_date").is_between(start, end)), RAW_QUOTE_SCHEMA)

    def limit_up_pools(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        if not self.ths_dir:
            return super().limit_up_pools(start, end)
        return read_ths_pools(self.ths_dir, start, end)
