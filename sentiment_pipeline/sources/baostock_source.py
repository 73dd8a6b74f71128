"""`SENTIMENT_SOURCE=baostock`: daily bars with the exchange's reference close (前收盘), ST flags and
suspensions, live through the `baostock` package or offline from a folder of its output.

- Live: `login`, `query_history_k_data_plus` per stock and range (unadjusted, daily: date, code, OHLC, preclose,
  volume, amount, turn, tradestatus, pctChg, isST), `query_stock_basic` (names, listing and delisting dates),
  `query_hs300_stocks` / `query_zz500_stocks` on each review's effective day. Every answer is kept in the raw
  store as received (strings), calls are throttled and network failures retried (sources/fetch.py), and an
  answer with an error code fails naming the call and the code. Rows are read with `next()` /
  `get_row_data()`: baostock's own `get_data()` pages with `DataFrame.append`, which pandas 2 removed.
- Offline (`SENTIMENT_BAOSTOCK_DIR`): every `*.parquet` of the folder, in the layout of
  `../shared/data/real/baostock/` (baostock's fields, typed), through the same conversion.

A suspended day (`tradestatus` 0: a row with volume 0 and the previous close) is not a traded bar: it goes to
`raw.suspensions`, not `raw.daily_quotes`. `turn` is in percent; the float cap is implied from it (close ×
volume ÷ turn), as for akshare's history.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import polars as pl

from sentiment_pipeline.market.limits import board_of, exchange_of
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.base import (INDEX_MEMBERSHIP_SCHEMA, RAW_QUOTE_SCHEMA, SECURITIES_SCHEMA,
                                             SUSPENSION_SCHEMA, MarketSource, conform)

K_FIELDS = ("date", "code", "open", "high", "low", "close", "preclose", "volume", "amount", "turn", "tradestatus",
            "pctChg", "isST")
BASIC_FIELDS = ("code", "code_name", "ipoDate", "outDate", "type", "status")
INDEX_FIELDS = ("updateDate", "code", "code_name")
# baostock's field types, as its own parquet output has them (the offline folder's layout).
K_TYPES = {"date": pl.Date, "code": pl.String, "open": pl.Float64, "high": pl.Float64, "low": pl.Float64,
           "close": pl.Float64, "preclose": pl.Float64, "volume": pl.Int64, "amount": pl.Float64, "turn": pl.Float64,
           "tradestatus": pl.Int8, "pctChg": pl.Float64, "isST": pl.Int8}
# baostock's error codes for a failed network exchange: worth a retry (baostock/common/contants.py).
NETWORK_ERRORS = {"10002001", "10002002", "10002003", "10002005", "10002006", "10002007", "10002008"}
INDEX_QUERIES = {"000300": "query_hs300_stocks", "000905": "query_zz500_stocks"}


class BaostockAnswerError(RuntimeError):
    """baostock answered with an error code."""

    def __init__(self, call: str, code: str, message: str):
        self.call, self.code = call, code
        super().__init__(f"baostock.{call} answered error {code}: {message}")


class BaostockNetworkError(BaostockAnswerError, ConnectionError):
    """An error code for a failed network exchange (retried by the fetcher)."""


def answer_frame(result, call: str):
    """The rows of a baostock ResultData as a pandas frame of strings (as baostock returns them); an error code
    raises, naming the call and the code."""
    import pandas as pd

    if result is None:  # baostock returns None for a malformed date
        raise BaostockAnswerError(call, "none", "no answer (a malformed argument)")
    if result.error_code != "0":
        error = BaostockNetworkError if result.error_code in NETWORK_ERRORS else BaostockAnswerError
        raise error(call, result.error_code, result.error_msg)
    rows = []
    while result.error_code == "0" and result.next():
        rows.append(result.get_row_data())
    if result.error_code != "0":  # a later page failed
        raise BaostockAnswerError(call, result.error_code, result.error_msg)
    return pd.DataFrame(rows, columns=list(result.fields) if result.fields else None, dtype=str)


def typed_k_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """baostock's k rows (strings as answered, or typed as in its parquet output) with baostock's types; an empty
    string is null (a suspended day's turnover)."""
    def cast(column: str, dtype) -> pl.Expr:
        col = pl.col(column)
        if frame.schema[column] != pl.String:
            return col.cast(dtype)
        text = pl.when(col.str.strip_chars() == "").then(None).otherwise(col.str.strip_chars())
        if dtype == pl.Date:
            return text.str.to_date("%Y-%m-%d")
        if dtype in (pl.Int8, pl.Int64):
            return text.cast(pl.Float64).cast(dtype)  # volumes may come as "1234.0"
        return text.cast(dtype)

    missing = [c for c in K_FIELDS if c not in frame.columns]
    if missing:
        raise ValueError(f"baostock k rows without column(s) {', '.join(missing)} (found {', '.join(frame.columns)})")
    return frame.select(cast(c, t).alias(c) for c, t in K_TYPES.items())


def six_digits(code: pl.Expr) -> pl.Expr:
    """'sz.000001' → '000001'."""
    return code.str.split(".").list.last()


def quotes_and_suspensions(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed k rows → (RAW_QUOTE_SCHEMA bars of the traded days, SUSPENSION_SCHEMA rows of the suspended ones)."""
    rows = rows.with_columns(code=six_digits(pl.col("code")))
    traded = rows.filter(pl.col("tradestatus") == 1)
    turnover = pl.col("turn") / 100
    quotes = traded.select(
        trade_date="date", code="code", open="open", high="high", low="low", close="close", pre_close="preclose",
        volume="volume", amount="amount", turnover_rate=turnover,
        float_mcap=pl.when(turnover > 0).then(pl.col("close") * pl.col("volume") / turnover),
        is_st=pl.col("isST") == 1)
    suspended = rows.filter(pl.col("tradestatus") == 0).select(
        trade_date="date", code="code", pre_close="preclose", is_st=pl.col("isST") == 1)
    return conform(quotes, RAW_QUOTE_SCHEMA), conform(suspended, SUSPENSION_SCHEMA)


@functools.lru_cache(maxsize=2)
def read_folder(folder: str) -> pl.DataFrame:
    """Every `*.parquet` of a folder of baostock output, typed; one row per stock-day."""
    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no baostock parquet files in {folder} (SENTIMENT_BAOSTOCK_DIR)")
    frames = [typed_k_rows(pl.read_parquet(p)) for p in files]
    return pl.concat(frames).unique(["date", "code"], keep="last").sort("code", "date")


class BaostockSource(MarketSource):
    """Bars with reference closes, ST flags and suspensions from baostock (live) or a folder of its output."""

    data_dir: str | None = None  # SENTIMENT_BAOSTOCK_DIR: offline, from the folder
    store_dir: str = "data/raw/baostock"  # live: every answer as received
    mode: str = "live"  # live (the store, then the network) or replay (the store only)
    rate: float = 2.0  # live: calls per second

    def source_name(self) -> str:
        return "baostock"

    # ------------------------------------------------------------------------------------------- offline / live

    def _rows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        if self.data_dir:
            rows = read_folder(str(Path(self.data_dir).resolve()))
            return rows.filter(pl.col("date").is_between(start, end))
        codes = self._live_codes()
        frames = [self._live_k(code, start, end) for code in codes]
        frames = [f for f in frames if f.height]
        return pl.concat(frames) if frames else typed_k_rows(pl.DataFrame(schema={c: pl.String for c in K_FIELDS}))

    def securities(self) -> pl.DataFrame:
        if self.data_dir:
            rows = read_folder(str(Path(self.data_dir).resolve()))
            first_day = rows["date"].min()
            firsts = rows.group_by("code").agg(first=pl.col("date").min()).with_columns(code=six_digits(pl.col("code")))
            return conform(firsts.select(
                "code", name=pl.lit(None, pl.String), exchange=exchange_of(pl.col("code")),
                board=board_of(pl.col("code")),
                list_date=pl.when(pl.col("first") > first_day).then(pl.col("first"))).sort("code"), SECURITIES_SCHEMA)
        basic = self._live_basic()
        return conform(basic.select(
            code=six_digits(pl.col("code")), name="code_name", exchange=exchange_of(six_digits(pl.col("code"))),
            board=board_of(six_digits(pl.col("code"))), list_date=pl.col("ipoDate").str.to_date(strict=False),
            delist_date=pl.col("outDate").str.to_date(strict=False)).sort("code"), SECURITIES_SCHEMA)

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return quotes_and_suspensions(self._rows(start, end))[0]

    def suspensions(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        return quotes_and_suspensions(self._rows(start, end))[1]

    def implements(self, dataset: str) -> bool:
        # A folder of k rows has no index lists: offline, they come from a membership folder or not at all.
        if dataset == "index_membership" and self.data_dir:
            return False
        return super().implements(dataset)

    def index_membership(self) -> pl.DataFrame:
        """Live: CSI 300 and 500 lists on each review's effective day since the first partition (baostock has no
        CSI 1000 or 2000 query); offline: the membership folder's, if one is set."""
        if self.data_dir:
            return super().index_membership()
        from sentiment_pipeline.sources.membership_folder import effective_date

        today = dt.date.today()
        reviews = [effective_date(dt.date(y, m, 28)) for y in range(calendar.FIRST_PARTITION.year, today.year + 1)
                   for m in (6, 12) if effective_date(dt.date(y, m, 28)) <= today]
        frames = []
        for index_code, call in INDEX_QUERIES.items():
            for day in reviews:
                listed = self._live_index(call, day)
                if listed.height:
                    frames.append(listed.select(index_code=pl.lit(index_code), code=six_digits(pl.col("code")),
                                                effective_date=pl.lit(day), weight=pl.lit(None, pl.Float64)))
        return conform(pl.concat(frames) if frames else pl.DataFrame(), INDEX_MEMBERSHIP_SCHEMA)

    # ------------------------------------------------------------------------------------------- live plumbing

    def _fetcher(self):
        return _fetcher(str(Path(self.store_dir).resolve()), self.mode == "replay", self.rate)

    def _call(self, key, call: str, function):
        """One baostock call through the raw store and the fetcher (throttle, retries; a login before the first
        call that reaches the network); a frame of strings."""
        def on_the_network():
            _logged_in()
            return function()

        return pl.from_pandas(self._fetcher().fetch(key, call, on_the_network))

    def _live_k(self, code: str, start: dt.date, end: dt.date) -> pl.DataFrame:
        import baostock as bs

        from sentiment_pipeline.sources.raw_store import RawKey

        key = RawKey("query_history_k_data_plus", start=start, end=end, symbol=code)
        frame = self._call(key, "query_history_k_data_plus", lambda: answer_frame(bs.query_history_k_data_plus(
            code, ",".join(K_FIELDS), start_date=start.isoformat(), end_date=end.isoformat(), frequency="d",
            adjustflag="3"), f"query_history_k_data_plus({code}, {start}…{end})"))
        if frame.is_empty():
            return typed_k_rows(pl.DataFrame(schema={c: pl.String for c in K_FIELDS}))
        return typed_k_rows(frame.cast(pl.String))

    def _live_basic(self) -> pl.DataFrame:
        import baostock as bs

        from sentiment_pipeline.sources.raw_store import RawKey

        key = RawKey("query_stock_basic", as_of=dt.date.today())
        frame = self._call(key, "query_stock_basic", lambda: answer_frame(bs.query_stock_basic(), "query_stock_basic"))
        # type 1 is a stock (2 an index, 3 other, 4 convertible, 5 ETF)
        return frame.filter(pl.col("type") == "1")

    def _live_codes(self) -> list[str]:
        return self._live_basic()["code"].to_list()

    def _live_index(self, call: str, day: dt.date) -> pl.DataFrame:
        import baostock as bs

        from sentiment_pipeline.sources.raw_store import RawKey

        key = RawKey(call, as_of=day)
        return self._call(key, call, lambda: answer_frame(getattr(bs, call)(date=day.isoformat()), f"{call}({day})"))

    def fetch_report(self) -> dict:
        return {} if self.data_dir else self._fetcher().stats.as_metadata()


@functools.cache
def _fetcher(store_dir: str, replay: bool, rate: float):
    from sentiment_pipeline.sources.fetch import Fetcher
    from sentiment_pipeline.sources.raw_store import RawStore

    return Fetcher(RawStore(store_dir), replay=replay, rates={"baostock.com": rate})


@functools.cache
def _logged_in() -> None:
    """One anonymous login per process (baostock keeps the session in its own module state)."""
    import baostock as bs

    answer = bs.login()
    if answer.error_code != "0":
        error = BaostockNetworkError if answer.error_code in NETWORK_ERRORS else BaostockAnswerError
        raise error("login", answer.error_code, answer.error_msg)


