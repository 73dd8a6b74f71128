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
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.baostock_source import quotes_and_suspensions, read_folder, six_digits
from sentiment_pipeline.sources.base import (INDEX_DAILY_SCHEMA, RAW_QUOTE_SCHEMA, SECURITIES_SCHEMA, MarketSource,
                                             conform)
from sentiment_pipeline.sources.pools import read_ths_pools

DAY_RECORD = np.dtype([("date", "<u4"), ("open", "<u4"), ("high", "<u4"), ("low", "<u4"), ("close", "<u4"),
                       ("amount", "<f4"), ("volume", "<u4"), ("reserved", "<u4")])
# The index files read as raw.index_daily. The folder has no all-A index (000985) and no CSI 2000 (932000):
# the all-A return is then computed from the bars, and CSI 2000 figures are null.
INDEX_FILES = {"sh000001": "上证指数", "sh000300": "沪深300", "sh000905": "中证500", "sh000852": "中证1000"}
# A-share stock files only (indexes such as sh000001, sz399001, bj899050 are skipped).
STOCK_FILE = re.compile(r"^(sh(60|68)\d{4}|sz(00|30)\d{4}|bj(43|83|87|92)\d{4})\.day$")


@functools.lru_cache(maxsize=2)
def read_vipdoc(vipdoc: str) -> pl.DataFrame:
    """Every stock's bars in the folder, with pre_close from the previous record."""
    root = Path(vipdoc)
    files = sorted(p for m in ("sh", "sz", "bj") for p in (root / m / "lday").glob("*.day") if STOCK_FILE.match(p.name))
    if not files:
        raise FileNotFoundError(f"no TongDaXin stock files (*/lday/*.day) under {root}")
    return _read_day_files(files)


def read_index_files(vipdoc: str) -> pl.DataFrame:
    """The INDEX_FILES present in the folder as (trade_date, index_code, index_name, pre_close, close, amount)."""
    root = Path(vipdoc)
    files = [p for name in INDEX_FILES if (p := root / name[:2] / "lday" / f"{name}.day").exists()]
    if not files:
        return pl.DataFrame()
    bars = _read_day_files(files)
    names = {name[2:]: label for name, label in INDEX_FILES.items()}
    return bars.select("trade_date", index_code="code", index_name=pl.col("code").replace_strict(names),
                       pre_close="pre_close", close="close", amount="amount")


# A reference close this far from the previous record's close is a correction (prices are in fen).
PRICE_TOLERANCE = 0.005


def completed_by_baostock(quotes: pl.DataFrame, baostock_rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """TongDaXin bars with baostock's reference close and ST flag where baostock has the stock-day, and without
    the stock-days baostock lists as suspended; and per day what changed: covered (stock-days baostock has),
    pre_close_corrected (a reference close other than the previous record's close: ex-rights days, or a
    previous record the folder lacks), st_flagged, suspended_dropped."""
    ref = baostock_rows.select(trade_date="date", code=six_digits(pl.col("code")),
                               bs_pre_close="preclose", bs_st=pl.col("isST") == 1, bs_suspended=pl.col("tradestatus") == 0)
    joined = quotes.join(ref, on=["trade_date", "code"], how="left")
    covered = pl.col("bs_pre_close").is_not_null() | pl.col("bs_suspended").is_not_null()
    corrected = (pl.col("bs_pre_close").is_not_null() & ~pl.col("bs_suspended").fill_null(False)
                 & ((pl.col("pre_close") - pl.col("bs_pre_close")).abs() >= PRICE_TOLERANCE).fill_null(True))
    flagged = joined.with_columns(covered=covered, corrected=corrected,
                                  suspended=pl.col("bs_suspended").fill_null(False),
                                  st=pl.col("bs_st").fill_null(False) & ~pl.col("bs_suspended").fill_null(False))
    report = (flagged.group_by("trade_date").agg(
        covered=pl.col("covered").sum().cast(pl.Int64), pre_close_corrected=pl.col("corrected").sum().cast(pl.Int64),
        st_flagged=pl.col("st").sum().cast(pl.Int64), suspended_dropped=pl.col("suspended").sum().cast(pl.Int64))
        .sort("trade_date"))
    completed = (flagged.filter(~pl.col("suspended"))
                 # the folder has no ST flags: baostock's where it covers the stock-day, unknown elsewhere
                 .with_columns(pre_close=pl.coalesce("bs_pre_close", "pre_close"),
                               is_st=pl.when(pl.col("covered")).then(pl.col("bs_st")))
                 .drop("bs_pre_close", "bs_st", "bs_suspended", "covered", "corrected", "suspended", "st"))
    return completed, report


class TdxFolderError(ValueError):
    """The TongDaXin folder itself is damaged or incomplete."""


def _read_day_files(files: list[Path]) -> pl.DataFrame:
    # np.fromfile silently drops a trailing partial record: a file cut short would lose its last day unseen.
    truncated = [(p, size) for p in files if (size := p.stat().st_size) % DAY_RECORD.itemsize]
    if truncated:
        listed = "; ".join(f"{p.parent.parent.name}/{p.parent.name}/{p.name} ({size:,} bytes = "
                           f"{size // DAY_RECORD.itemsize:,} records + {size % DAY_RECORD.itemsize} bytes)"
                           for p, size in truncated[:5])
        more = f" and {len(truncated) - 5} more" if len(truncated) > 5 else ""
        raise TdxFolderError(
            f"{len(truncated)} TongDaXin file(s) under {files[0].parents[2]} are not a whole number of "
            f"{DAY_RECORD.itemsize}-byte day records (cut short while copied or downloaded): {listed}{more}. "
            "Download them again (TongDaXin: 盘后数据下载); nothing was read.")
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
    # optional folder of baostock output: the exchange's reference closes and ST flags where it covers a
    # stock-day, and its suspended days (not traded bars)
    baostock_dir: str | None = None

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

    def first_day(self) -> dt.date | None:
        return self._bars()["trade_date"].min()

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        bars = self._bars()
        self._check_no_missing_days(bars, start, end)
        quotes = bars.filter(pl.col("trade_date").is_between(start, end))
        if self.baostock_dir:
            quotes = completed_by_baostock(quotes, self._baostock(start, end))[0]
        return conform(quotes, RAW_QUOTE_SCHEMA)

    def _baostock(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        rows = read_folder(str(Path(self.baostock_dir).resolve()))
        return rows.filter(pl.col("date").is_between(start, end))

    def suspensions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        if not self.baostock_dir:
            return super().suspensions(start, end)
        return quotes_and_suspensions(self._baostock(start, end))[1]

    def quote_corrections(self, start: dt.date, end: dt.date) -> pl.DataFrame | None:
        if not self.baostock_dir:
            return None
        quotes = self._bars().filter(pl.col("trade_date").is_between(start, end))
        return completed_by_baostock(quotes, self._baostock(start, end))[1]

    def _check_no_missing_days(self, bars: pl.DataFrame, start: dt.date, end: dt.date) -> None:
        """A trading day inside the folder's span that no stock file has is a gap in the folder (a suspension is
        one stock's gap, never every stock's): the day's bars are missing, and the next day's reference close
        would be taken from the day before the gap. From the trading day before `start` (its close is the
        reference of `start`) to `end`; days after the folder's last one are not its gap (it is not updated
        yet)."""
        first, last = bars["trade_date"].min(), bars["trade_date"].max()
        days = calendar.trading_days()
        before = [d for d in days if d < start]
        lo, hi = max(first, before[-1] if before else start), min(last, end)
        if lo > hi:
            return
        present = set(bars.filter(pl.col("trade_date").is_between(lo, hi))["trade_date"].unique().to_list())
        missing = [d for d in calendar.trading_days_between(lo, hi) if d not in present]
        if missing:
            raise TdxFolderError(
                f"TongDaXin folder {self.vipdoc_dir} has no bar on {len(missing)} trading day(s) inside its span "
                f"{first} → {last}: {', '.join(map(str, missing[:10]))}{' …' if len(missing) > 10 else ''} (no "
                "stock file has a record for them, though the trading calendar lists them). Their bars are missing "
                "and the next day's reference close would come from the day before; download the folder again "
                "(TongDaXin: 盘后数据下载), or, if the market was closed that day, the calendar (akshare's "
                "calendar.json) is wrong.")

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        """Shanghai Composite, CSI 300, 500 and 1000 from the folder's index files (pre_close: the previous
        record's close). No all-A and no CSI 2000: the folder has neither."""
        indexes = read_index_files(str(Path(self.vipdoc_dir).resolve()))
        if indexes.is_empty():
            return conform(indexes, INDEX_DAILY_SCHEMA)
        return conform(indexes.filter(pl.col("trade_date").is_between(start, end)), INDEX_DAILY_SCHEMA)

    def limit_up_pools(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        if not self.ths_dir:
            return super().limit_up_pools(start, end)
        return read_ths_pools(self.ths_dir, start, end)
