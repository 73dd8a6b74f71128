"""`SENTIMENT_SOURCE=akshare`: the live market through akshare, every response kept in the raw store.

Which akshare function serves which dataset follows docs/akshare.md. Two
facts shape this module: whole-market quotes exist for "now" only (so the
daily run takes a snapshot after the close and the trade date is checked, not
assumed), and history comes one stock per request (so a backfill is thousands
of throttled calls, each stored, so an interrupted backfill resumes).

Parsers are pure functions from akshare's pandas frames to the source
contracts; the source class only decides which responses a date range needs.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import zoneinfo
from collections.abc import Callable

import pandas as pd
import polars as pl
from pydantic import PrivateAttr

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.limits import board_of, exchange_of
from sentiment_pipeline.market.membership import SW_L1_BY_PREFIX, SW_TAXONOMY_CHANGE
from sentiment_pipeline.sources.akshare_schema import UPSTREAM_COLUMNS
from sentiment_pipeline.sources.base import (
    ALL_A_INDEX,
    ATTENTION_SCHEMA,
    CONCEPT_MEMBERSHIP_SCHEMA,
    INDEX_DAILY_SCHEMA,
    INDEX_MEMBERSHIP_SCHEMA,
    INDUSTRY_HISTORY_SCHEMA,
    MAIN_FLOW_SCHEMA,
    MARGIN_SCHEMA,
    NORTHBOUND_LAST_DAY,
    NORTHBOUND_SCHEMA,
    RAW_QUOTE_SCHEMA,
    SECURITIES_SCHEMA,
    MarketSource,
    conform,
    empty_frame,
)
from sentiment_pipeline.sources.fetch import Clock, Fetcher, FetchStats, RetryPolicy, StaleSnapshot, UpstreamError
from sentiment_pipeline.sources.pools import POOL_SCHEMA, empty_pools
from sentiment_pipeline.sources.raw_store import RawKey, RawStore

log = logging.getLogger(__name__)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CSI_INDEXES = ("000300", "000905", "000852", "932000")
INDEX_SERIES = {"000300": "000300", "000905": "000905", "000852": "000852", "932000": "932000",
                "000985": ALL_A_INDEX}  # 中证全指 stands in for the all-A index
POOL_MAX_AGE_DAYS = 30  # broken and limit-down pools are refused upstream beyond this many calendar days
POOL_FUNCTIONS = {"limit_up": "stock_zt_pool_em", "previous": "stock_zt_pool_previous_em",
                  "broken": "stock_zt_pool_zbgc_em", "limit_down": "stock_zt_pool_dtgc_em"}


def akshare_api():
    """The akshare module; tests replace this function with one returning a fake."""
    return importlib.import_module("akshare")


# akshare caches some answers for the life of the process (functools.lru_cache): a long-lived daemon or code server
# would store yesterday's listing as today's. The caches behind each function, cleared before every call.
AKSHARE_CACHES = {
    "stock_info_sh_name_code": (), "stock_info_sz_name_code": (), "stock_info_bj_name_code": (),
    "stock_board_concept_name_em": (("akshare.stock.stock_board_concept_em", "__stock_board_concept_name_em"),),
}


def clear_akshare_caches(api, function: str) -> None:
    """Forget what akshare cached for `function` (its own lru_cache and the private ones behind it)."""
    if function not in AKSHARE_CACHES:
        return
    cached = [getattr(api, function, None)]
    for module, name in AKSHARE_CACHES[function]:
        try:
            cached.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    for fn in cached:
        clear = getattr(fn, "cache_clear", None)
        if clear is not None:
            clear()


def make_clock() -> Clock:
    """The clock of throttling and backoff; tests replace it with a fake that never sleeps."""
    return Clock()


def now_shanghai() -> dt.datetime:
    """The wall clock in Asia/Shanghai; tests replace it to pin the time of a snapshot."""
    return dt.datetime.now(SHANGHAI)


# ---------------------------------------------------------------------------------------------- trading-day logic


def snapshot_trade_date(now: dt.datetime, ready: dt.time) -> dt.date | None:
    """The trading day a whole-market "now" snapshot taken at `now` describes, or None while a session runs.

    After `ready` on a trading day the day is final; before the 09:15 auction,
    or on a weekend or holiday, quotes still show the previous trading day.
    """
    now = now.astimezone(SHANGHAI)
    today = now.date()
    days = calendar.trading_days()
    if today in set(days):
        if now.time() >= ready:
            return today
        if now.time() >= dt.time(9, 15):
            return None
    earlier = [d for d in days if d < today]
    return earlier[-1] if earlier else None


def day_is_closed(day: dt.date, now: dt.datetime, ready: dt.time) -> bool:
    now = now.astimezone(SHANGHAI)
    return day < now.date() or (day == now.date() and now.time() >= ready)


# ---------------------------------------------------------------------------------------------------- parsing


def to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    """akshare frame → polars; object columns (dates, or text mixed with '-') pass through as given."""
    if frame.empty and len(frame.columns) == 0:
        return pl.DataFrame()
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            sample = frame[col].dropna()
            if len(sample) and not all(isinstance(v, (dt.date, dt.datetime)) for v in sample.head(50)):
                frame[col] = frame[col].map(lambda v: None if v is None or v != v else str(v))
    return pl.from_pandas(frame)


def num(col: str) -> pl.Expr:
    """A numeric upstream column as Float64; '-' and other text become null."""
    return pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).fill_nan(None)


def day(col: str) -> pl.Expr:
    """A date column that may arrive as date objects, datetimes or 'YYYY-MM-DD'/'YYYYMMDD' text."""
    text = pl.col(col).cast(pl.String).str.slice(0, 10).str.replace_all("-", "")
    return text.str.to_date("%Y%m%d", strict=False)


def code6(col: str) -> pl.Expr:
    """Six-digit code from "600000", "SH600000", or a number read from Excel (2 or 2.0 for 000002: akshare pads
    SZSE's codes only when the sheet has more than ten rows)."""
    return pl.col(col).cast(pl.String).str.replace(r"\.0+$", "").str.extract(r"(\d{1,6})$", 1).str.zfill(6)


# A-share stock codes (SSE main/STAR, SZSE main/ChiNext, BSE); B shares (200xxx, 900xxx) and funds are not.
A_SHARE_CODE = r"^(60|68|00|30|43|83|87|92)\d{4}$"


def a_shares(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("code").str.contains(A_SHARE_CODE))


def parse_spot(frame: pd.DataFrame, trade_date: dt.date) -> pl.DataFrame:
    """stock_zh_a_spot_em → raw quotes for `trade_date`; suspended stocks (no price or no volume) are dropped."""
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(RAW_QUOTE_SCHEMA)
    out = df.select(
        trade_date=pl.lit(trade_date), code=code6("代码"), open=num("今开"), high=num("最高"), low=num("最低"),
        close=num("最新价"), pre_close=num("昨收"), volume=(num("成交量") * 100).round(0).cast(pl.Int64),
        amount=num("成交额"), turnover_rate=num("换手率") / 100, float_mcap=num("流通市值"),
        is_st=pl.col("名称").cast(pl.String).str.contains("ST"),
    )
    return conform(a_shares(out).filter(pl.col("close").is_not_null() & (pl.col("volume") > 0)), RAW_QUOTE_SCHEMA)


def reference_close(raw_close: pl.Expr, raw_change: pl.Expr, hfq_close: pl.Expr, hfq_change: pl.Expr) -> pl.Expr:
    """The exchange's reference close, from the unadjusted and back-adjusted (后复权) series. On an ex-rights day
    the adjustment factor changes, and the reference close is the previous raw close times the old factor over
    the new one: raw close × previous adjusted close ÷ adjusted close (East Money's 涨跌额 is against the previous
    bar of the same series, so the previous adjusted close is close − change). The adjusted prices are rounded to
    the fen, so that ratio carries up to raw × ½ fen × (1/previous + 1/current) of error: within it the day is
    not ex-rights and the raw previous close (close − change, exact) is the reference."""
    previous_raw = raw_close - raw_change
    derived = raw_close * (hfq_close - hfq_change) / hfq_close
    rounding = raw_close * 0.005 * (1 / (hfq_close - hfq_change) + 1 / hfq_close) + 1e-9
    return pl.when((derived - previous_raw).abs() <= rounding).then(previous_raw.round(3)).otherwise(derived.round(2))


def parse_hist(frames: dict[str, pd.DataFrame], hfq: dict[str, pd.DataFrame] | None = None) -> pl.DataFrame:
    """stock_zh_a_hist per code → raw quotes: the unadjusted series (adjust=''), with the reference close from
    the back-adjusted one (adjust='hfq') where it is given. East Money's unadjusted 涨跌额 is against the raw
    previous close, so 收盘 − 涨跌额 is wrong on ex-rights days; it stands in only where no adjusted bar is.
    Float cap implied by turnover (volume ÷ turnover = float shares)."""
    parts = [to_polars(f).with_columns(_code=pl.lit(c)) for c, f in frames.items() if not f.empty]
    if not parts:
        return empty_frame(RAW_QUOTE_SCHEMA)
    df = pl.concat(parts, how="diagonal_relaxed")
    adjusted = [to_polars(f).select(_code=pl.lit(c), _day=day("日期"), _hfq_close=num("收盘"), _hfq_change=num("涨跌额"))
                for c, f in (hfq or {}).items() if not f.empty]
    df = df.with_columns(_day=day("日期"))
    if adjusted:
        df = df.join(pl.concat(adjusted), on=["_code", "_day"], how="left")
    else:
        df = df.with_columns(_hfq_close=pl.lit(None, pl.Float64), _hfq_change=pl.lit(None, pl.Float64))
    out = df.select(
        trade_date=day("日期"), code=pl.col("_code"), open=num("开盘"), high=num("最高"), low=num("最低"),
        close=num("收盘"),
        pre_close=pl.coalesce(reference_close(num("收盘"), num("涨跌额"), pl.col("_hfq_close"), pl.col("_hfq_change")),
                              (num("收盘") - num("涨跌额")).round(3)),
        volume=(num("成交量") * 100).round(0).cast(pl.Int64), amount=num("成交额"),
        turnover_rate=num("换手率") / 100,
    ).with_columns(
        # No float cap in the history: turnover is volume ÷ float shares, so float cap = close × volume ÷ turnover.
        float_mcap=pl.when(pl.col("turnover_rate") > 0)
        .then(pl.col("close") * pl.col("volume") / pl.col("turnover_rate")),
    )
    return conform(out.filter(pl.col("volume") > 0), RAW_QUOTE_SCHEMA)


ST_CHANGE_SCHEMA = {"code": pl.String(), "start_date": pl.Date(), "is_st": pl.Boolean()}


def parse_st_changes(frame: pd.DataFrame) -> pl.DataFrame:
    """SZSE short-name changes → from each 变更日期 on, ST or not by the new name (before the first change,
    by the old one)."""
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(ST_CHANGE_SCHEMA)
    changes = df.select(code=code6("证券代码"), start_date=day("变更日期"),
                        before=pl.col("变更前简称").cast(pl.String), after=pl.col("变更后简称").cast(pl.String))
    changes = changes.drop_nulls(["code", "start_date"]).sort("code", "start_date")
    first = changes.group_by("code", maintain_order=True).first().select(
        "code", start_date=pl.lit(dt.date(1990, 1, 1)), is_st=pl.col("before").str.contains("ST"))
    later = changes.select("code", "start_date", is_st=pl.col("after").str.contains("ST"))
    return pl.concat([first, later]).cast(ST_CHANGE_SCHEMA).unique(["code", "start_date"], keep="last").sort(
        "code", "start_date")


def apply_st_history(quotes: pl.DataFrame, sz_changes: pl.DataFrame, st_lists: pl.DataFrame) -> pl.DataFrame:
    """ST flags for history bars: SZSE stocks from the dated name changes (never renamed → not ST); other
    stocks from a stored ST-board snapshot of that day (stock_zh_a_st_em), else unknown (null)."""
    listed_days = st_lists["trade_date"].unique().implode()
    df = quotes.sort("code", "trade_date").join_asof(
        sz_changes.sort("code", "start_date").rename({"is_st": "st_by_name"}),
        left_on="trade_date", right_on="start_date", by="code", strategy="backward", check_sortedness=False,
    ).join(st_lists.select("trade_date", "code", on_st_board=pl.lit(True)), on=["trade_date", "code"], how="left")
    sz = exchange_of(pl.col("code")) == "SZ"
    return df.with_columns(is_st=pl.when(sz).then(pl.col("st_by_name").fill_null(False))
                           .when(pl.col("trade_date").is_in(listed_days)).then(pl.col("on_st_board").fill_null(False))
                           .otherwise(pl.lit(None, pl.Boolean))).select(quotes.columns)


def parse_st_list(frame: pd.DataFrame, trade_date: dt.date) -> pl.DataFrame:
    df = to_polars(frame)
    if df.is_empty():
        return pl.DataFrame(schema={"trade_date": pl.Date, "code": pl.String})
    return a_shares(df.select(trade_date=pl.lit(trade_date), code=code6("代码")))


# Columns of each listing/delisting list: code, name, listing date, delisting date (None: still listed).
SECURITIES_LIST_COLUMNS = {
    "stock_info_sz_name_code": ("A股代码", "A股简称", "A股上市日期", None),
    "stock_info_sh_delist": ("公司代码", "公司简称", "上市日期", "暂停上市日期"),
    "stock_info_sz_delist": ("证券代码", "证券简称", "上市日期", "终止上市日期"),
}
DEFAULT_LIST_COLUMNS = ("证券代码", "证券简称", "上市日期", None)  # SSE and BSE listing lists


def parse_securities(listed: dict[str, pd.DataFrame], delisted: dict[str, pd.DataFrame]) -> pl.DataFrame:
    """Exchange listing and delisting lists (keyed "function[:argument]") → securities master; delisted rows
    keep their delisting date."""
    rows = []
    for key, frame in {**listed, **delisted}.items():
        df = to_polars(frame)
        if df.is_empty():
            continue
        code, name, listed_on, delisted_on = SECURITIES_LIST_COLUMNS.get(key.split(":")[0], DEFAULT_LIST_COLUMNS)
        rows.append(df.select(code=code6(code), name=pl.col(name).cast(pl.String), list_date=day(listed_on),
                              delist_date=day(delisted_on) if delisted_on else pl.lit(None, pl.Date)))
    if not rows:
        return empty_frame(SECURITIES_SCHEMA)
    df = pl.concat(rows, how="diagonal_relaxed").filter(pl.col("code").is_not_null())
    df = df.with_columns(exchange=exchange_of(pl.col("code")), board=board_of(pl.col("code")))
    # Only A-share stock codes (delisting lists also carry B shares).
    df = a_shares(df)
    # A code both listed and delisted (re-listed after a delisting) keeps the current listing.
    df = df.sort(pl.col("delist_date").is_null(), "code").unique("code", keep="last", maintain_order=True)
    return conform(df.sort("code"), SECURITIES_SCHEMA)


def parse_pool(frame: pd.DataFrame, pool: str, trade_date: dt.date) -> pl.DataFrame:
    """One East Money pool response → POOL_SCHEMA rows."""
    df = to_polars(frame)
    if df.is_empty():
        return empty_pools()

    def hhmmss(col: str) -> pl.Expr:
        t = pl.col(col).cast(pl.String).str.zfill(6)
        return t.str.slice(0, 2) + ":" + t.str.slice(2, 2) + ":" + t.str.slice(4, 2)

    cols = set(df.columns)
    exprs = {
        "trade_date": pl.lit(trade_date), "pool": pl.lit(pool), "code": code6("代码"),
        "name": pl.col("名称").cast(pl.String), "close": num("最新价"), "pct_change": num("涨跌幅") / 100,
        "amount": num("成交额"), "float_mcap": num("流通市值"), "turnover_rate": num("换手率") / 100,
    }
    if "封板资金" in cols:
        exprs["sealed_amount"] = num("封板资金")
    elif "封单资金" in cols:
        exprs["sealed_amount"] = num("封单资金")
    for target, source in (("first_seal_time", "首次封板时间"), ("last_seal_time", "最后封板时间")):
        if source in cols:
            exprs[target] = hhmmss(source)
    if "昨日封板时间" in cols:
        exprs["last_seal_time"] = hhmmss("昨日封板时间")
    for source in ("炸板次数", "开板次数"):
        if source in cols:
            exprs["broken_count"] = num(source).cast(pl.Int32)
    if "连板数" in cols:
        exprs["streak"] = num("连板数").cast(pl.Int32)
    elif "昨日连板数" in cols:
        exprs["streak"] = num("昨日连板数").cast(pl.Int32)  # the previous day's height
    if "涨停统计" in cols:
        exprs["limit_up_stat"] = pl.col("涨停统计").cast(pl.String)
    out = df.select(**exprs)
    return conform(out, POOL_SCHEMA).filter(pl.col("code").is_not_null())


def parse_main_flow_snapshot(frame: pd.DataFrame, trade_date: dt.date) -> pl.DataFrame:
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(MAIN_FLOW_SCHEMA)
    return conform(a_shares(df.select(trade_date=pl.lit(trade_date), code=code6("代码"),
                                      main_net_inflow=num("今日主力净流入-净额"))), MAIN_FLOW_SCHEMA)


def parse_main_flow_history(frames: dict[str, pd.DataFrame]) -> pl.DataFrame:
    parts = [to_polars(f).select(trade_date=day("日期"), code=pl.lit(c), main_net_inflow=num("主力净流入-净额"))
             for c, f in frames.items() if not f.empty]
    return conform(pl.concat(parts) if parts else pl.DataFrame(), MAIN_FLOW_SCHEMA)


def parse_northbound(frames: dict[dt.date, pd.DataFrame]) -> pl.DataFrame:
    """Daily northbound holdings → net inflow ≈ change in the held share of the company × shares × close.

    The share of issued shares (持股数量占发行股百分比) does not move on bonus issues and splits, where the
    number of shares held does: inflow = (pct_t − pct_{t−1}) / pct_t × shares_t × close_t.
    """
    parts = [to_polars(f).select(trade_date=day("持股日期"), code=code6("股票代码"), holding_shares=num("持股数量"),
                                 value=num("持股市值"), pct=num("持股数量占发行股百分比"), close=num("当日收盘价"))
             for f in frames.values() if not f.empty]
    if not parts:
        return empty_frame(NORTHBOUND_SCHEMA)
    df = pl.concat(parts).unique(["trade_date", "code"], keep="last").sort("code", "trade_date")
    # akshare's docs give 持股数量 in 万股, East Money's page in shares: the answer says which, through 持股市值 (CNY)
    # ÷ (持股数量 × close), 1 for shares, 10,000 for 万股.
    ratio = df.select((pl.col("value") / (pl.col("holding_shares") * pl.col("close"))).median()).item()
    if ratio is not None and ratio > 1000:
        log.info("northbound: 持股数量 is in 万股 (持股市值 ÷ 持股数量 ÷ close ≈ %.0f): scaled to shares", ratio)
        df = df.with_columns(holding_shares=pl.col("holding_shares") * 10_000)
    df = df.with_columns(
        northbound_net_inflow=pl.when(pl.col("pct") > 0).then(
            (pl.col("pct") - pl.col("pct").shift(1).over("code")) / pl.col("pct")
            * pl.col("holding_shares") * pl.col("close"))
    )
    return conform(df, NORTHBOUND_SCHEMA)


def parse_attention_snapshot(frame: pd.DataFrame) -> pl.DataFrame:
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(ATTENTION_SCHEMA)
    # 目前排名 ranks the 千股千评 composite score, not attention: only 关注指数 is kept.
    return conform(df.select(trade_date=day("交易日"), code=code6("代码"), attention_index=num("关注指数")),
                   ATTENTION_SCHEMA)


def parse_hot_rank_history(frames: dict[str, pd.DataFrame]) -> pl.DataFrame:
    parts = [to_polars(f).select(trade_date=day("时间"), code=pl.lit(c), hot_rank=num("排名").cast(pl.Int32),
                                 new_follower_share=num("新晋粉丝"), loyal_follower_share=num("铁杆粉丝"))
             for c, f in frames.items() if not f.empty]
    return conform(pl.concat(parts) if parts else pl.DataFrame(), ATTENTION_SCHEMA)


def parse_index_membership(frames: list[tuple[str, pd.DataFrame]]) -> pl.DataFrame:
    """CSIndex weight files (one per index and snapshot) → membership with the weights' effective date."""
    parts = [to_polars(f).select(index_code=pl.lit(index), code=code6("成分券代码"), effective_date=day("日期"),
                                 weight=num("权重") / 100)
             for index, f in frames if not f.empty]
    return conform(pl.concat(parts) if parts else pl.DataFrame(), INDEX_MEMBERSHIP_SCHEMA)


def parse_industry_history(frame: pd.DataFrame) -> pl.DataFrame:
    """SW classification history → level-1 industry per stock and start date, named in its own taxonomy."""
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(INDUSTRY_HISTORY_SCHEMA)
    old = {k: v[0] for k, v in SW_L1_BY_PREFIX.items() if v[0]}
    new = {k: v[1] for k, v in SW_L1_BY_PREFIX.items() if v[1]}
    df = df.select(code=code6("symbol"), start_date=day("start_date"),
                   industry_code=pl.col("industry_code").cast(pl.String)).with_columns(
        taxonomy=pl.when(pl.col("start_date") < SW_TAXONOMY_CHANGE).then(pl.lit("sw2014")).otherwise(pl.lit("sw2021")),
    )
    # A classification in force across 2021-07-30 (Shenwan starts no row there when the industry stayed) goes on
    # under its SW2021 name from then on.
    at_switch = (df.filter(pl.col("start_date") < SW_TAXONOMY_CHANGE).sort("code", "start_date")
                 .group_by("code").last()
                 .join(df.filter(pl.col("start_date") == SW_TAXONOMY_CHANGE), on="code", how="anti")
                 .with_columns(start_date=pl.lit(SW_TAXONOMY_CHANGE), taxonomy=pl.lit("sw2021")))
    p = pl.col("industry_code").str.slice(0, 2)
    df = pl.concat([df, at_switch.select(df.columns)]).with_columns(
        industry_name=pl.when(pl.col("taxonomy") == "sw2014")
        .then(p.replace_strict(old, default=None)).otherwise(p.replace_strict(new, default=None)))
    return conform(df.sort("code", "start_date"), INDUSTRY_HISTORY_SCHEMA)


def parse_concepts(frames: dict[str, pd.DataFrame], names: dict[str, str], snapshot: dt.date) -> pl.DataFrame:
    parts = [to_polars(f).select(concept_name=pl.lit(names.get(board, board)), code=code6("代码"),
                                 snapshot_date=pl.lit(snapshot))
             for board, f in frames.items() if not f.empty]
    return conform(pl.concat(parts) if parts else pl.DataFrame(), CONCEPT_MEMBERSHIP_SCHEMA)


def parse_index_daily(frames: dict[str, pd.DataFrame]) -> pl.DataFrame:
    parts = [to_polars(f).select(trade_date=day("日期"), index_code=pl.lit(INDEX_SERIES[s]),
                                 index_name=pl.col("指数中文简称").cast(pl.String),
                                 pre_close=num("收盘") - num("涨跌"), close=num("收盘"),
                                 amount=num("成交金额") * 1e8)  # CSIndex reports 成交金额 in 亿元
             for s, f in frames.items() if not f.empty]
    return conform(pl.concat(parts) if parts else pl.DataFrame(), INDEX_DAILY_SCHEMA)


def parse_margin(frame: pd.DataFrame) -> pl.DataFrame:
    df = to_polars(frame)
    if df.is_empty():
        return empty_frame(MARGIN_SCHEMA)
    # East Money's whole-market margin account figures are in 亿元.
    return conform(df.select(trade_date=day("日期"),
                             margin_balance=(num("融资余额") + num("融券余额").fill_null(0)) * 1e8), MARGIN_SCHEMA)


# ------------------------------------------------------------------------------------------------------ source


class AkshareSource(MarketSource):
    """Live A-share data through akshare; every response lands in the raw store before it is parsed."""

    store_dir: str = "data/raw"
    mode: str = "live"  # "live": store first, then the network; "replay": the store only
    eastmoney_rate: float = 0.5  # requests per second to each East Money host
    other_rate: float = 1.0  # requests per second to every other host (exchanges, CSIndex, SWS)
    max_attempts: int = 6
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 120.0
    http_timeout: float = 30.0  # seconds for each HTTP request (akshare's functions mostly set none)
    snapshot_ready: str = "16:00"  # Asia/Shanghai time after which a trading day's snapshot is final
    concept_refresh_days: int = 7  # reuse a concept membership snapshot younger than this (≈500 requests each)

    _fetcher: Fetcher | None = PrivateAttr(default=None)

    def source_name(self) -> str:
        return "akshare"

    # -- plumbing

    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            if self.mode not in ("live", "replay"):
                raise ValueError(f"akshare mode {self.mode!r} is not 'live' or 'replay'")
            from sentiment_pipeline.sources.fetch import FUNCTION_HOSTS

            rates = {h: (self.eastmoney_rate if h.endswith("eastmoney.com") else self.other_rate)
                     for h in set(FUNCTION_HOSTS.values())}
            self._fetcher = Fetcher(
                RawStore(self.store_dir), replay=self.mode == "replay", rates=rates,
                retry=RetryPolicy(self.max_attempts, self.backoff_base_seconds, self.backoff_max_seconds),
                clock=self.clock(), expected_columns=UPSTREAM_COLUMNS, timeout=self.http_timeout)
        return self._fetcher

    def clock(self) -> Clock:
        return make_clock()

    def fetch_report(self) -> dict:
        """Counters since the last report, so each asset's metadata shows its own requests."""
        if self._fetcher is None:
            return {}
        report = self._fetcher.stats.as_metadata()
        self._fetcher.stats = FetchStats()
        return report

    def _ready(self) -> dt.time:
        return dt.time.fromisoformat(self.snapshot_ready)

    def _call(self, key: RawKey, function: str, store_empty: bool = True, accept=None, keep=None,
              **kwargs) -> pd.DataFrame:
        api = akshare_api()

        def call() -> pd.DataFrame:
            clear_akshare_caches(api, function)
            return getattr(api, function)(**kwargs)

        return self.fetcher().fetch(key, function, call, schema=schema_key(function, kwargs), store_empty=store_empty,
                                    accept=accept, keep=keep)

    def _as_of(self) -> dt.date:
        return now_shanghai().date()

    def _reference(self, function: str, key_symbol: str | None = None, /, max_age_days: int = 0,
                   fetched_after: dt.date | None = None, **kwargs) -> pd.DataFrame:
        """A "now" response: a stored copy young enough (or fetched after `fetched_after`, for histories that
        must reach that day), the newest in replay, else fetched and kept under today's date."""
        store = self.fetcher().store
        today = self._as_of()
        key = store.latest_as_of(function, key_symbol, today)
        fresh_enough = key is not None and (
            (today - key.as_of).days <= max_age_days or (fetched_after is not None and key.as_of > fetched_after))
        if key is None or (not fresh_enough and self.mode == "live"):
            key = RawKey(function, as_of=today, symbol=key_symbol)
        return self._call(key, function, **kwargs)

    def _snapshot_day(self) -> dt.date | None:
        return snapshot_trade_date(now_shanghai(), self._ready())

    def _stored_or_snapshot(self, function: str, d: dt.date, table: str, accept=None,
                            **kwargs) -> pd.DataFrame | None:
        """The day's stored snapshot, a fresh one when `d` is the day a snapshot now describes, else None
        (the caller then falls back to per-stock history). A day not yet over is refused."""
        key = RawKey(function, trade_date=d)
        if self.fetcher().store.has(key):
            return self._call(key, function, **kwargs)
        now = now_shanghai()
        if self.mode == "live" and not day_is_closed(d, now, self._ready()):
            raise StaleSnapshot(f"{table} partition {d}: the trading day is not over at {now:%Y-%m-%d %H:%M} "
                                f"Asia/Shanghai (final after {self.snapshot_ready}); nothing was stored")
        if self.mode == "live" and self._snapshot_day() == d:
            return self._call(key, function, store_empty=False, accept=accept, **kwargs)
        return None

    # -- reference data

    def securities(self) -> pl.DataFrame:
        listed = {
            "stock_info_sh_name_code:主板A股": self._reference("stock_info_sh_name_code", "主板A股", symbol="主板A股"),
            "stock_info_sh_name_code:科创板": self._reference("stock_info_sh_name_code", "科创板", symbol="科创板"),
            "stock_info_sz_name_code:A股列表": self._reference("stock_info_sz_name_code", "A股列表", symbol="A股列表"),
            "stock_info_bj_name_code": self._reference("stock_info_bj_name_code"),
        }
        delisted = {
            "stock_info_sh_delist:全部": self._reference("stock_info_sh_delist", "全部", symbol="全部"),
            "stock_info_sz_delist:终止上市公司": self._reference("stock_info_sz_delist", "终止上市公司",
                                                             symbol="终止上市公司"),
        }
        return parse_securities(listed, delisted)

    def _codes_between(self, start: dt.date, end: dt.date) -> list[str]:
        sec = self.securities()
        alive = sec.filter((pl.col("list_date").is_null() | (pl.col("list_date") <= end))
                           & (pl.col("delist_date").is_null() | (pl.col("delist_date") >= start)))
        return alive["code"].to_list()

    # -- daily datasets

    def daily_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        days = calendar.trading_days_between(start, end)
        frames, history_days = [], []
        for d in days:
            snap = self._stored_or_snapshot("stock_zh_a_spot_em", d, "raw.daily_quotes",
                                            accept=lambda frame, d=d: self._verify_against_pool(
                                                frame, d, "raw.daily_quotes"))
            if snap is None:
                history_days.append(d)
                continue
            quotes = parse_spot(snap, d)
            # The risk-warning board of the same evening, kept so the day's ST list exists later too.
            st_list = self._stored_or_snapshot("stock_zh_a_st_em", d, "raw.daily_quotes")
            if st_list is not None:
                on_board = parse_st_list(st_list, d)["code"].implode()
                quotes = quotes.with_columns(is_st=pl.col("is_st") | pl.col("code").is_in(on_board))
            frames.append(quotes)
        if history_days:
            history = self._history_quotes(history_days[0], history_days[-1]).filter(
                pl.col("trade_date").is_in(history_days))
            frames.append(apply_st_history(history, self._sz_st_changes(), self._stored_st_lists(history_days)))
        return pl.concat(frames) if frames else empty_frame(RAW_QUOTE_SCHEMA)

    def _sz_st_changes(self) -> pl.DataFrame:
        return parse_st_changes(self._reference("stock_info_sz_change_name", "简称变更", symbol="简称变更"))

    def _stored_st_lists(self, days: list[dt.date]) -> pl.DataFrame:
        store = self.fetcher().store
        lists = [parse_st_list(self._call(RawKey("stock_zh_a_st_em", trade_date=d), "stock_zh_a_st_em"), d)
                 for d in days if store.has(RawKey("stock_zh_a_st_em", trade_date=d))]
        return pl.concat(lists) if lists else pl.DataFrame(schema={"trade_date": pl.Date, "code": pl.String})

    def _verify_against_pool(self, snapshot: pd.DataFrame, d: dt.date, table: str) -> None:
        """A "now" snapshot (代码, 最新价) that repeats an older day disagrees with the dated limit-up pool of `d`."""
        pool = parse_pool(self._pool_response("limit_up", d), "limit_up", d)
        if pool.is_empty():
            log.warning("%s %s: no limit-up pool to confirm the snapshot's trade date", table, d)
            return
        quotes = to_polars(snapshot).select(code=code6("代码"), close_snap=num("最新价"))
        matched = pool.join(quotes, on="code")
        agree = matched.filter((pl.col("close") - pl.col("close_snap")).abs() < 0.0051).height
        if matched.height and agree / matched.height < 0.9:
            raise StaleSnapshot(
                f"{table} partition {d}: the snapshot's prices match the {d} limit-up pool for only {agree} of "
                f"{matched.height} stocks; it describes another day and was not stored.")

    def _history_quotes(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        frames, adjusted = {}, {}
        for code in self._codes_between(start, end):
            args = dict(symbol=code, period="daily", start_date=f"{start:%Y%m%d}", end_date=f"{end:%Y%m%d}")
            frames[code] = self._range_response("stock_zh_a_hist", code, start, end, adjust="", **args)
            # The back-adjusted series gives the exchange's reference close on ex-rights days (a second call per
            # stock and range, stored under its own name).
            adjusted[code] = self._range_response("stock_zh_a_hist", code, start, end, dataset="stock_zh_a_hist_hfq",
                                                  adjust="hfq", **args)
        return parse_hist(frames, adjusted).filter(pl.col("trade_date").is_between(start, end))

    def _range_response(self, function: str, key_symbol: str, start: dt.date, end: dt.date, /, keep=None,
                        dataset: str | None = None, **kwargs) -> pd.DataFrame:
        store = self.fetcher().store
        dataset = dataset or function
        key = store.covering(dataset, key_symbol, start, end) or RawKey(dataset, start=start, end=end,
                                                                         symbol=key_symbol)
        closed = day_is_closed(end, now_shanghai(), self._ready())
        return self._call(key, function, store_empty=closed, keep=keep, **kwargs)

    def _pool_response(self, pool: str, d: dt.date) -> pd.DataFrame:
        function = POOL_FUNCTIONS[pool]
        key = RawKey(function, trade_date=d)
        store = self.fetcher().store
        now = now_shanghai()
        if store.has(key) or self.mode == "replay":
            if not store.has(key) and pool in ("broken", "limit_down"):
                return pd.DataFrame()  # never kept: upstream refuses these pools beyond 30 days
            if not store.has(key) and pool in ("limit_up", "previous"):
                log.warning("%s %s: no stored pool (an empty answer is never kept): no rows in replay", function, d)
                return pd.DataFrame()
            return self._call(key, function, date=f"{d:%Y%m%d}")
        if not day_is_closed(d, now, self._ready()):
            raise StaleSnapshot(f"raw.limit_up_pools partition {d}: the trading day is not over "
                                f"(pools are final after {self.snapshot_ready} Asia/Shanghai); nothing was stored")
        if pool in ("broken", "limit_down") and (now.date() - d).days > POOL_MAX_AGE_DAYS:
            return pd.DataFrame()  # upstream refuses these pools for older days: none to keep
        try:
            # A trading day always has limit-ups: an empty limit-up (or previous-day) pool is a day older than
            # upstream serves or a failed answer, not a fact to keep; it is asked again by a later run.
            settled = pool not in ("limit_up", "previous")
            frame = self._call(key, function, store_empty=settled, date=f"{d:%Y%m%d}")
            if frame.empty and not settled:
                log.warning("%s %s: upstream answered no %s pool (older than it serves, or a failed answer); "
                            "nothing stored", function, d, pool)
            return frame
        except TypeError:
            if pool != "limit_down":
                raise
            # stock_zt_pool_dtgc_em fails inside akshare on an empty answer: keep it as akshare's "no data".
            log.info("stock_zt_pool_dtgc_em %s: no limit-down pool (empty upstream answer)", d)
            store.put(key, pd.DataFrame(), request={"function": function, "note": "TypeError inside akshare"})
            return pd.DataFrame()

    def limit_up_pools(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        parts = [parse_pool(self._pool_response(pool, d), pool, d)
                 for d in calendar.trading_days_between(start, end) for pool in POOL_FUNCTIONS]
        parts = [p for p in parts if p.height]
        return pl.concat(parts) if parts else empty_pools()

    def main_fund_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        days = calendar.trading_days_between(start, end)
        frames, history_days = [], []
        for d in days:
            snap = self._stored_or_snapshot(
                "stock_individual_fund_flow_rank", d, "raw.main_fund_flows", indicator="今日",
                accept=lambda frame, d=d: self._verify_against_pool(frame, d, "raw.main_fund_flows"))
            if snap is None:
                history_days.append(d)
            else:
                frames.append(parse_main_flow_snapshot(snap, d))
        if history_days:
            # Per-stock flow history reaches back about 100 trading days from the day it is fetched.
            responses = {code: self._reference("stock_individual_fund_flow", code, fetched_after=history_days[-1],
                                               stock=code, market=exchange_market(code))
                         for code in self._codes_between(history_days[0], history_days[-1])}
            frames.append(parse_main_flow_history(responses).filter(pl.col("trade_date").is_in(history_days)))
        return pl.concat(frames) if frames else empty_frame(MAIN_FLOW_SCHEMA)

    def northbound_flows(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        days = [d for d in calendar.trading_days_between(start, end) if d <= NORTHBOUND_LAST_DAY]
        if not days:
            return empty_frame(NORTHBOUND_SCHEMA)  # HKEX stopped daily disclosure: absent by design
        previous = dict(calendar.previous_day_links().iter_rows()).get(days[0])
        wanted = ([previous] if previous else []) + days
        responses = {}
        for d in wanted:
            ymd = f"{d:%Y%m%d}"
            responses[d] = self._call(RawKey("stock_hsgt_stock_statistics_em", trade_date=d),
                                      "stock_hsgt_stock_statistics_em", symbol="北向持股", start_date=ymd,
                                      end_date=ymd)
        return parse_northbound(responses).filter(pl.col("trade_date").is_in(days))

    def attention(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        days = calendar.trading_days_between(start, end)
        frames, history_days = [], []
        for d in days:
            snap = self._stored_or_snapshot("stock_comment_em", d, "raw.attention",
                                            accept=lambda frame, d=d: require_stamped_day(frame, d))
            if snap is None:
                history_days.append(d)
                continue
            frames.append(parse_attention_snapshot(snap))
        if history_days:
            # Hot-rank history (about a year) stands in for the whole-market attention index in a backfill.
            responses = {code: self._reference("stock_hot_rank_detail_em", code, fetched_after=history_days[-1],
                                               symbol=f"{exchange_of_code(code)}{code}")
                         for code in self._codes_between(history_days[0], history_days[-1])}
            frames.append(parse_hot_rank_history(responses).filter(pl.col("trade_date").is_in(history_days)))
        return pl.concat(frames, how="diagonal_relaxed") if frames else empty_frame(ATTENTION_SCHEMA)

    def index_membership(self) -> pl.DataFrame:
        store = self.fetcher().store
        frames = []
        for index in CSI_INDEXES:
            if self.mode == "live":
                self._reference("index_stock_cons_weight_csindex", index, symbol=index)
            # Every stored snapshot is kept: the membership history grows by one snapshot per day it runs.
            for as_of in store.as_of_dates("index_stock_cons_weight_csindex", index):
                key = RawKey("index_stock_cons_weight_csindex", as_of=as_of, symbol=index)
                frames.append((index, self._call(key, "index_stock_cons_weight_csindex", symbol=index)))
        return parse_index_membership(frames).unique(["index_code", "code", "effective_date"], keep="last").sort(
            "index_code", "effective_date", "code")

    def industry_history(self) -> pl.DataFrame:
        return parse_industry_history(self._reference("stock_industry_clf_hist_sw"))

    def concept_membership(self) -> pl.DataFrame:
        boards = to_polars(self._reference("stock_board_concept_name_em", max_age_days=self.concept_refresh_days))
        names = dict(zip(boards["板块代码"].to_list(), boards["板块名称"].to_list())) if boards.height else {}
        store = self.fetcher().store
        parts = []
        for board in names:
            key = store.latest_as_of("stock_board_concept_cons_em", board, self._as_of())
            if key is None or (self.mode == "live" and (self._as_of() - key.as_of).days > self.concept_refresh_days):
                key = RawKey("stock_board_concept_cons_em", as_of=self._as_of(), symbol=board)
            frame = self._call(key, "stock_board_concept_cons_em", symbol=board)
            parts.append(parse_concepts({board: frame}, names, key.as_of))
        return pl.concat(parts) if parts else empty_frame(CONCEPT_MEMBERSHIP_SCHEMA)

    def index_daily(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        # An index series that does not reach `end` yet (CSIndex not updated) is used but not kept.
        def reaches_end(frame: pd.DataFrame) -> bool:
            return not frame.empty and parse_index_daily({"000300": frame})["trade_date"].max() >= end

        frames = {s: self._range_response("stock_zh_index_hist_csindex", s, start, end, keep=reaches_end, symbol=s,
                                          start_date=f"{start:%Y%m%d}", end_date=f"{end:%Y%m%d}")
                  for s in INDEX_SERIES}
        return parse_index_daily(frames).filter(pl.col("trade_date").is_between(start, end))

    def margin_balance(self, start: dt.date, end: dt.date) -> pl.DataFrame:
        # Published the next morning; a whole history per call, refreshed when the stored one ends too early.
        store = self.fetcher().store
        key = store.latest_as_of("stock_margin_account_info", None, self._as_of())
        frame = self._call(key, "stock_margin_account_info") if key else None
        if frame is None or (self.mode == "live" and parse_margin(frame)["trade_date"].max() < end
                             and key.as_of < self._as_of()):
            frame = self._call(RawKey("stock_margin_account_info", as_of=self._as_of()),
                               "stock_margin_account_info", store_empty=False)
        return parse_margin(frame).filter(pl.col("trade_date").is_between(start, end))


def require_stamped_day(frame: pd.DataFrame, d: dt.date) -> None:
    """stock_comment_em carries its own 交易日: it must be the partition's day."""
    stamped = parse_attention_snapshot(frame)["trade_date"].drop_nulls().unique().sort().to_list()
    if stamped != [d]:
        raise StaleSnapshot(f"raw.attention partition {d}: stock_comment_em is stamped 交易日 "
                            f"{', '.join(map(str, stamped)) or 'none'}, not {d}; it was not stored")


def schema_key(function: str, kwargs: dict) -> str:
    """The UPSTREAM_COLUMNS entry of a call: "function:argument" where the columns depend on the argument."""
    for arg in ("symbol", "indicator"):
        if f"{function}:{kwargs.get(arg)}" in UPSTREAM_COLUMNS:
            return f"{function}:{kwargs[arg]}"
    return function


def exchange_market(code: str) -> str:
    """akshare's `market` argument of per-stock flow history."""
    return {"SH": "sh", "SZ": "sz", "BJ": "bj"}[exchange_of_code(code)]


def exchange_of_code(code: str) -> str:
    return pl.select(exchange_of(pl.lit(code))).item()


__all__ = ["AkshareSource", "UpstreamError"]
