"""Point-in-time sector membership: SW level-1 industries (2014 and 2021 taxonomies on one set of names)
and concept boards from membership snapshots. A stock's sector on day t is the one known on day t."""

from __future__ import annotations

import datetime as dt

import polars as pl

SW_TAXONOMY_CHANGE = dt.date(2021, 7, 30)
# SW level-1 by the first two digits of the industry code: (2014 taxonomy name, 2021 taxonomy name).
SW_L1_BY_PREFIX = {
    "11": ("农林牧渔", "农林牧渔"), "21": ("采掘", None), "22": ("化工", "基础化工"), "23": ("钢铁", "钢铁"),
    "24": ("有色金属", "有色金属"), "27": ("电子", "电子"), "28": ("汽车", "汽车"), "33": ("家用电器", "家用电器"),
    "34": ("食品饮料", "食品饮料"), "35": ("纺织服装", "纺织服饰"), "36": ("轻工制造", "轻工制造"),
    "37": ("医药生物", "医药生物"), "41": ("公用事业", "公用事业"), "42": ("交通运输", "交通运输"),
    "43": ("房地产", "房地产"), "45": ("商业贸易", "商贸零售"), "46": ("休闲服务", "社会服务"), "48": ("银行", "银行"),
    "49": ("非银金融", "非银金融"), "51": ("综合", "综合"), "61": ("建筑材料", "建筑材料"),
    "62": ("建筑装饰", "建筑装饰"), "63": ("电气设备", "电力设备"), "64": ("机械设备", "机械设备"),
    "65": ("国防军工", "国防军工"), "71": ("计算机", "计算机"), "72": ("传媒", "传媒"), "73": ("通信", "通信"),
    "74": (None, "煤炭"), "75": (None, "石油石化"), "76": (None, "环保"), "77": (None, "美容护理"),
}
# 2014 names renamed in 2021. 采掘 was split: its oil sub-industries (2101 开采, 2104 服务) went to 石油石化, the
# rest to 煤炭; without a level-2 code it maps to 煤炭. 化工 and 公用事业 also lost parts (美容护理, 环保),
# which therefore have no members before 2021-07-30.
SW_2014_TO_2021 = {"化工": "基础化工", "纺织服装": "纺织服饰", "商业贸易": "商贸零售", "休闲服务": "社会服务",
                   "电气设备": "电力设备", "采掘": "煤炭"}
OIL_SUBINDUSTRIES = ("2101", "2104")

MEMBER_SCHEMA = {"trade_date": pl.Date, "code": pl.String, "sector_kind": pl.String, "sector": pl.String}


def sw_l1_name_2021() -> pl.Expr:
    """The industry_name of an industry_history row on the 2021 set of names."""
    name = pl.col("industry_name")
    oil = pl.col("industry_code").fill_null("").str.slice(0, 4).is_in(list(OIL_SUBINDUSTRIES))
    return (pl.when((name == "采掘") & oil).then(pl.lit("石油石化"))
            .otherwise(name.replace(SW_2014_TO_2021)))


def sw_l1_members(stock_days: pl.DataFrame, industry_history: pl.DataFrame) -> pl.DataFrame:
    """(trade_date, code) → its SW level-1 industry known that day: the latest classification starting on or
    before it. Stocks without one are left out."""
    history = (industry_history.select("code", "start_date", sector=sw_l1_name_2021())
               .drop_nulls().unique(["code", "start_date"], keep="last").sort("code", "start_date"))
    joined = stock_days.select("trade_date", "code").sort("code", "trade_date").join_asof(
        history, left_on="trade_date", right_on="start_date", by="code", strategy="backward",
        check_sortedness=False)
    return joined.filter(pl.col("sector").is_not_null()).select(
        "trade_date", "code", sector_kind=pl.lit("sw_l1"), sector="sector").cast(MEMBER_SCHEMA)


# A board whose latest snapshot is this much older than the newest snapshot known that day has left upstream.
CONCEPT_STALE_DAYS = 31


def concept_members(stock_days: pl.DataFrame, concept_membership: pl.DataFrame,
                    only: pl.DataFrame | None = None) -> pl.DataFrame:
    """(trade_date, code) → every concept board it belongs to in that board's latest snapshot taken on or
    before the day (boards are snapshotted one by one, so their dates differ). A board missing from the
    snapshots for more than CONCEPT_STALE_DAYS before the newest one is gone. No members before the first.
    `only` (trade_date, concept_name) restricts the answer to those boards on those days."""
    boards = concept_membership.select("concept_name", "snapshot_date").unique().sort("concept_name", "snapshot_date")
    days = stock_days.select(pl.col("trade_date").unique().sort())
    if boards.is_empty() or days.is_empty():
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    newest = days.join_asof(boards.select(pl.col("snapshot_date").unique().sort().alias("newest")),
                            left_on="trade_date", right_on="newest", strategy="backward")
    pairs = (days.join(boards.select("concept_name").unique(), how="cross") if only is None
             else only.select("trade_date", "concept_name").unique())
    per_board = (pairs.sort("concept_name", "trade_date")
                 .join_asof(boards.rename({"snapshot_date": "snap"}), left_on="trade_date", right_on="snap",
                            by="concept_name", strategy="backward", check_sortedness=False)
                 .join(newest, on="trade_date")
                 .filter(pl.col("snap").is_not_null()
                         & (pl.col("snap") >= pl.col("newest") - pl.duration(days=CONCEPT_STALE_DAYS))))
    return (per_board.join(concept_membership.select("concept_name", "code", snap="snapshot_date"),
                           on=["concept_name", "snap"])
            .join(stock_days.select("trade_date", "code"), on=["trade_date", "code"])
            .select("trade_date", "code", sector_kind=pl.lit("concept"), sector="concept_name").cast(MEMBER_SCHEMA))


def members(stock_days: pl.DataFrame, industry_history: pl.DataFrame,
            concept_membership: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([sw_l1_members(stock_days, industry_history),
                      concept_members(stock_days, concept_membership)])
