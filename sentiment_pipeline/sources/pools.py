"""The limit-up pool contract (涨停池 and its siblings) and the loader for THS's published pool CSVs.

Pools are what exchanges' data vendors publish as the day's limit-up list; the
reconciliation compares them with our own limit flags and streaks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

POOL_KINDS = ("limit_up", "previous", "broken", "limit_down")

POOL_SCHEMA: dict[str, pl.DataType] = {
    "trade_date": pl.Date(),
    "pool": pl.String(),  # one of POOL_KINDS
    "code": pl.String(),
    "name": pl.String(),
    "close": pl.Float64(),
    "pct_change": pl.Float64(),  # fraction
    "amount": pl.Float64(),  # CNY
    "float_mcap": pl.Float64(),  # CNY
    "turnover_rate": pl.Float64(),  # fraction
    "sealed_amount": pl.Float64(),  # CNY on the bid at the close (封单额 / 封板资金)
    "first_seal_time": pl.String(),  # HH:MM:SS
    "last_seal_time": pl.String(),
    "broken_count": pl.Int32(),  # times the seal opened (炸板次数 / 开板次数)
    "streak": pl.Int32(),  # consecutive limit-up days per the publisher; null when it does not say
    "limit_up_stat": pl.String(),  # the publisher's "boards in days" text, e.g. 3天2板 or 3/2
    "is_new_listing": pl.Boolean(),  # the publisher flags it as a new listing
}

# 亿 and 万 suffixes of THS amounts; 手 (lots of 100 shares) on volumes is dropped with 万.
_UNIT = {"亿": 1e8, "万": 1e4}
THS_FILES = {"limit_up": "{year}-limit_up.csv", "broken": "{year}-broken.csv"}
# The columns parse_ths_pool reads; THS files carry more (涨停原因, 封单量, …), which are ignored.
THS_COLUMNS = ("涨停日期", "股票代码", "股票名称", "收盘价", "涨幅", "成交金额", "流通市值", "换手率", "封单额",
               "首次涨停时间", "最后涨停时间", "开板次数", "连板情况", "是否新股")


class ThsFileChanged(ValueError):
    """A THS pool CSV without the columns the parser reads (renamed or dropped by the exporter)."""


def empty_pools() -> pl.DataFrame:
    return pl.DataFrame(schema=POOL_SCHEMA)


def parse_cn_amount(col: str) -> pl.Expr:
    """'1.119亿' → 111_900_000.0, '1785万' → 17_850_000.0, '532' → 532.0; anything else → null."""
    text = pl.col(col).str.strip_chars().str.replace_all(r"万手$", "万").str.replace_all(r"手$", "")
    number = text.str.extract(r"^(-?\d+(?:\.\d+)?)", 1).cast(pl.Float64, strict=False)
    unit = text.str.extract(r"([亿万])$", 1).replace_strict(_UNIT, default=1.0, return_dtype=pl.Float64)
    return number * unit


def parse_ths_streak(col: str) -> pl.Expr:
    """'首板' → 1, '3天3板' → 3; 'X天Y板' with X ≠ Y is not a consecutive run, so the streak is unknown (null)."""
    days = pl.col(col).str.extract(r"^(\d+)天", 1).cast(pl.Int32, strict=False)
    boards = pl.col(col).str.extract(r"(\d+)板$", 1).cast(pl.Int32, strict=False)
    return (
        pl.when(pl.col(col) == "首板").then(pl.lit(1, pl.Int32))
        .when(days == boards).then(boards)
        .otherwise(pl.lit(None, pl.Int32))
    )


def parse_ths_pool(raw: pl.DataFrame, pool: str) -> pl.DataFrame:
    """One THS CSV (every column read as text) → POOL_SCHEMA rows; rows without a six-digit code are dropped."""
    df = raw.select(
        trade_date=pl.col("涨停日期").str.to_date("%Y-%m-%d", strict=False),
        pool=pl.lit(pool),
        code=pl.col("股票代码").str.extract(r"^(\d{6})\.[A-Z]{2}$", 1),
        name=pl.col("股票名称"),
        close=pl.col("收盘价").cast(pl.Float64, strict=False),
        pct_change=pl.col("涨幅").cast(pl.Float64, strict=False) / 100,
        amount=parse_cn_amount("成交金额"),
        float_mcap=parse_cn_amount("流通市值"),
        turnover_rate=pl.col("换手率").cast(pl.Float64, strict=False) / 100,
        sealed_amount=parse_cn_amount("封单额"),
        first_seal_time=pl.col("首次涨停时间"),
        last_seal_time=pl.col("最后涨停时间"),
        broken_count=pl.col("开板次数").cast(pl.Float64, strict=False).fill_null(0).cast(pl.Int32),
        streak=parse_ths_streak("连板情况"),
        limit_up_stat=pl.col("连板情况"),
        # 是否新股 holds 0 or the number of days since listing; null when THS left it blank.
        is_new_listing=pl.col("是否新股").cast(pl.Float64, strict=False) > 0,
    )
    return df.filter(pl.col("code").is_not_null() & pl.col("trade_date").is_not_null()).select(
        (pl.col(c).cast(t) for c, t in POOL_SCHEMA.items())
    )


def read_ths_pools(ths_dir: str | Path, start: dt.date, end: dt.date) -> pl.DataFrame:
    """THS limit-up and broken pools for start..end from `YYYY-limit_up.csv` / `YYYY-broken.csv` files."""
    root = Path(ths_dir)
    frames = []
    for year in range(start.year, end.year + 1):
        for pool, pattern in THS_FILES.items():
            path = root / pattern.format(year=year)
            if path.exists():
                raw = pl.read_csv(path, infer_schema_length=0)
                missing = [c for c in THS_COLUMNS if c not in raw.columns]
                if missing:
                    raise ThsFileChanged(
                        f"THS pool file {path}: missing column(s) {missing} (columns found: {raw.columns}); the "
                        f"parser reads {list(THS_COLUMNS)}: fix the export or sources/pools.py")
                frames.append(parse_ths_pool(raw, pool).filter(pl.col("trade_date").is_between(start, end)))
    if not frames:
        return empty_pools()
    # THS occasionally lists a stock twice on a day; keep one row per (day, pool, code).
    return pl.concat(frames).unique(["trade_date", "pool", "code"], keep="first", maintain_order=True)
