"""Point-in-time membership, the market's reference data every domain above it reads: SW level-1 industries
(SW2014 names before 2021-07-30, SW2021 names from then on) and concept boards from membership snapshots. A
stock's sector on day t is the one known on day t, except that days before the first concept snapshot take
that snapshot (look-ahead, labelled where it is used)."""

from __future__ import annotations

import datetime as dt

import polars as pl

SW_TAXONOMY_CHANGE = dt.date(2021, 7, 30)
# SW level-1 by the first two digits of the industry code: (SW2014 name, SW2021 name).
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
SW2014_L1 = frozenset(old for old, _ in SW_L1_BY_PREFIX.values() if old)  # 28 industries
SW2021_L1 = frozenset(new for _, new in SW_L1_BY_PREFIX.values() if new)  # 31 industries


def sw_taxonomy_of(day: pl.Expr) -> pl.Expr:
    """The SW taxonomy in force on `day`: 'sw2014' before 2021-07-30, 'sw2021' from then on."""
    return pl.when(day < SW_TAXONOMY_CHANGE).then(pl.lit("sw2014")).otherwise(pl.lit("sw2021"))


MEMBER_SCHEMA = {"trade_date": pl.Date, "code": pl.String, "sector_kind": pl.String, "sector": pl.String}


def code_numbers(codes: pl.Series) -> pl.Enum:
    """The distinct codes, sorted, as an Enum: casting to it numbers codes 0, 1, 2, … in string order."""
    return pl.Enum(codes.drop_nulls().unique().sort())


def code_number(column: str, numbers: pl.Enum) -> pl.Expr:
    """A code's number in `numbers`, null for a code not among them."""
    return pl.col(column).cast(numbers, strict=False).to_physical().cast(pl.UInt32)


def grid_days(frame: pl.DataFrame) -> pl.Series:
    """The distinct trading days of `frame`, sorted: the day axis of a day × code grid."""
    return frame.get_column("trade_date").drop_nulls().unique().sort()


def day_number(days: pl.Series) -> pl.Expr:
    """trade_date's position in the sorted `days`, null for a day not among them: read from a table over every
    calendar day between the first and the last (cheaper than a search per row)."""
    if days.is_empty():
        return pl.lit(None, pl.UInt32)
    since_first = days.cast(pl.Int32) - days.cast(pl.Int32)[0]
    last = since_first[-1]
    by_offset = pl.repeat(None, last + 1, dtype=pl.UInt32, eager=True)
    by_offset.scatter(since_first, pl.int_range(days.len(), dtype=pl.UInt32, eager=True))
    offset = pl.col("trade_date").cast(pl.Int32) - days.cast(pl.Int32)[0]
    return pl.when(offset.is_between(0, last)).then(pl.lit(by_offset).gather(offset.clip(0, last)))


def grid_cell(days: pl.Series, numbers: pl.Enum) -> pl.Expr:
    """A (trade_date, code) row's cell in a day × code grid: day number × codes + code number. Lookups by
    stock-day through such a grid (a few MB for a year of the market) replace joins on the (date, string)
    pair, which hash every row's pair."""
    codes = numbers.categories.len()
    return day_number(days).cast(pl.UInt64) * codes + code_number("code", numbers)


def stock_day_row(table: pl.DataFrame) -> pl.Expr:
    """For a frame with trade_date and code: the number of the row of `table` with the same stock-day, or null.
    `table` holds each stock-day once, so this is a join on the pair (inner when the nulls are dropped, left
    when kept) without hashing the pairs."""
    days, numbers = grid_days(table), code_numbers(table.get_column("code"))
    cell = grid_cell(days, numbers)
    rows = pl.repeat(None, days.len() * numbers.categories.len(), dtype=pl.UInt32, eager=True)
    filled = table.select(cell=cell, row=pl.int_range(pl.len(), dtype=pl.UInt32)).drop_nulls("cell")
    rows.scatter(filled["cell"], filled["row"])
    return pl.lit(rows).gather(cell).alias("row")


def run_numbers(column: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct values of `column` (no nulls), sorted, and each row's number among them, looked up once per
    run of equal values: members come in long runs of one sector, so few strings are hashed."""
    runs = column.rle().struct.field("value")
    values = runs.unique().sort()
    return values, runs.cast(pl.Enum(values)).to_physical().cast(pl.UInt64).gather(column.rle_id())


def sector_day_number(members: pl.DataFrame, days: pl.Series) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """For the rows of `members` (no nulls in the sector columns): one number per (trade_date, sector_kind,
    sector), ordered as the three sort (null for a day not in `days`), and the expressions turning a column
    `number` back into the three. Grouping ten million member rows on the number rather than on two strings
    and a date takes a fraction of the time and memory."""
    kinds, kind = run_numbers(members.get_column("sector_kind"))
    names, name = run_numbers(members.get_column("sector"))
    number = (day_number(days).cast(pl.UInt64) * kinds.len() + pl.lit(kind)) * names.len() + pl.lit(name)
    return number.alias("number"), {
        "trade_date": pl.lit(days).gather(pl.col("number") // (kinds.len() * names.len())),
        "sector_kind": pl.lit(kinds).gather(pl.col("number") // names.len() % kinds.len()),
        "sector": pl.lit(names).gather(pl.col("number") % names.len()),
    }


def sw_l1_members(stock_days: pl.DataFrame, industry_history: pl.DataFrame) -> pl.DataFrame:
    """(trade_date, code) → its SW level-1 industry that day: the latest classification starting on or before
    it, named in the taxonomy of that day. A stock whose latest row has no industry, or a row of the other
    taxonomy (an SW2014 row still in force after 2021-07-30), is unclassified that day and left out, not
    guessed. Rows come by code, then day."""
    history = (industry_history.select("code", "start_date", sector="industry_name", taxonomy="taxonomy")
               .drop_nulls(["code", "start_date"]).unique(["code", "start_date"], keep="last"))
    numbers = code_numbers(stock_days.get_column("code"))

    # One integer per (code, date) in that order, so the as-of join needs no `by` (hashing every code); a
    # match from another code (a day before the stock's first classification) is dropped below.
    def key(date: str) -> pl.Expr:
        return code_number("code", numbers).cast(pl.Int64) * 2**32 + pl.col(date).cast(pl.Int32) + 2**31

    days = stock_days.select("trade_date", "code", key=key("trade_date")).drop_nulls("key").sort("key")
    known = history.select(known=key("start_date"), sector="sector", taxonomy="taxonomy").drop_nulls("known").sort(
        "known")
    joined = days.join_asof(known, left_on="key", right_on="known", strategy="backward")
    same_code = pl.col("known") // 2**32 == pl.col("key") // 2**32
    in_force = same_code & pl.col("sector").is_not_null() & (pl.col("taxonomy") == sw_taxonomy_of(pl.col("trade_date")))
    return joined.filter(in_force).select(
        "trade_date", "code", sector_kind=pl.lit("sw_l1"), sector="sector").cast(MEMBER_SCHEMA)


def unclassified_days(stock_days: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Per day: the stock-days of `stock_days` without an SW level-1 industry in `members` (trade_date,
    unclassified)."""
    classified = members.filter(pl.col("sector_kind") == "sw_l1").group_by("trade_date").len("classified")
    return (stock_days.group_by("trade_date").len("stocks").join(classified, on="trade_date", how="left")
            .select("trade_date", unclassified=(pl.col("stocks") - pl.col("classified").fill_null(0)).cast(pl.Int64))
            .sort("trade_date"))


# A board whose latest snapshot is this much older than the newest snapshot known that day has left upstream.
CONCEPT_STALE_DAYS = 31


def concept_members(stock_days: pl.DataFrame, concept_membership: pl.DataFrame,
                    only: pl.DataFrame | None = None) -> pl.DataFrame:
    """(trade_date, code) → every concept board it belongs to in that board's latest snapshot taken on or
    before the day (boards are snapshotted one by one, so their dates differ). A board missing from the
    snapshots for more than CONCEPT_STALE_DAYS before the newest one is gone. Days before the first snapshot
    take the first (membership from the future: look-ahead, which concept_look_ahead counts for labels).
    `only` (trade_date, concept_name) restricts the answer to those boards on those days."""
    boards = concept_membership.select("concept_name", "snapshot_date").unique().sort("concept_name", "snapshot_date")
    days = stock_days.select(pl.col("trade_date").unique().sort())
    if boards.is_empty() or days.is_empty():
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    as_of = pl.max_horizontal("trade_date", pl.lit(boards["snapshot_date"].min()))
    newest = days.with_columns(as_of=as_of).join_asof(
        boards.select(pl.col("snapshot_date").unique().sort().alias("newest")),
        left_on="as_of", right_on="newest", strategy="backward").drop("as_of")
    pairs = (days.join(boards.select("concept_name").unique(), how="cross") if only is None
             else only.select("trade_date", "concept_name").unique())
    per_board = (pairs.sort("concept_name", "trade_date").with_columns(as_of=as_of)
                 .join_asof(boards.rename({"snapshot_date": "snap"}), left_on="as_of", right_on="snap",
                            by="concept_name", strategy="backward", check_sortedness=False).drop("as_of")
                 .join(newest, on="trade_date", maintain_order="left")
                 .filter(pl.col("snap").is_not_null()
                         & (pl.col("snap") >= pl.col("newest") - pl.duration(days=CONCEPT_STALE_DAYS))))
    # Rows come by board, day and snapshot row, as the joins this replaces gave them, except where those joins
    # (which walk the longer side) gave another order: sums over members add up in row order, so keeping it
    # keeps them equal to the last bit. When the pairs' snapshot rows (traded or not) are no more than the
    # stock-days, rows follow stock_days, a stock-day's boards by membership row if those outnumber the pairs.
    snapshot_rows = (per_board.join(concept_membership.group_by("concept_name", snap="snapshot_date").len(),
                                    on=["concept_name", "snap"])["len"].sum())
    by_stock_day = snapshot_rows <= stock_days.height
    ties = "membership_row" if per_board.height <= concept_membership.height else "pair"
    # (board, day) pairs are few, their members many: expand each pair to its snapshot's code numbers (in
    # the snapshot's order), keep those that traded that day, and only then turn numbers back into strings.
    grid, numbers = grid_days(stock_days), code_numbers(stock_days.get_column("code"))
    traded = pl.repeat(False, grid.len() * numbers.categories.len(), dtype=pl.Boolean, eager=True)
    traded.scatter(stock_days.select(grid_cell(grid, numbers)).to_series().drop_nulls(), True)
    lists = ["number", "membership_row"] if by_stock_day else ["number"]
    listed = (concept_membership.with_row_index("membership_row")
              .select("concept_name", "membership_row", snap="snapshot_date", number=code_number("code", numbers))
              .drop_nulls("number").group_by("concept_name", "snap", maintain_order=True).agg(lists))
    per_board = per_board.join(listed, on=["concept_name", "snap"], maintain_order="left")
    first_cell = day_number(grid).cast(pl.UInt64) * numbers.categories.len()
    expanded = (per_board.select(*lists, pair=pl.int_range(pl.len(), dtype=pl.UInt32), cell=first_cell)
                .explode(lists)
                .filter(pl.lit(traded).gather(pl.col("cell") + pl.col("number"))))
    found = expanded.select(
        trade_date=pl.lit(per_board["trade_date"]).gather("pair"),
        code=pl.lit(numbers.categories).gather("number"),
        sector_kind=pl.lit("concept"),
        sector=pl.lit(per_board["concept_name"]).gather("pair"),
    ).cast(MEMBER_SCHEMA)
    if by_stock_day:
        found = (found.with_columns(row=stock_day_row(stock_days), ties=expanded[ties])
                 .sort("row", "ties").drop("row", "ties"))
    return found


def concept_look_ahead(days: list[dt.date], concept_membership: pl.DataFrame) -> dict:
    """Labels for results built on concept membership over `days`: the snapshot dates used and how many of the
    days precede the first snapshot (their membership is from the future)."""
    if concept_membership.is_empty() or not days:
        return {}
    first, last = concept_membership["snapshot_date"].min(), concept_membership["snapshot_date"].max()
    before = sum(d < first for d in days)
    return {"concept_membership_as_of": str(last) if first == last else f"{first} … {last}",
            "concept_look_ahead_days": before,
            **({"concept_look_ahead": f"{before} of {len(days)} day(s) precede the first concept snapshot "
                f"({first}): their concept membership is from the future (look-ahead and survivorship)"}
               if before else {})}


def members(stock_days: pl.DataFrame, industry_history: pl.DataFrame,
            concept_membership: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([sw_l1_members(stock_days, industry_history),
                      concept_members(stock_days, concept_membership)])


# The CSI indexes' list sizes (CSI 2000 only where a source has its list).
INDEX_LIST_SIZE = {"000300": 300, "000905": 500, "000852": 1000, "932000": 2000}


def index_group_days(stock_days: pl.DataFrame, index_membership: pl.DataFrame) -> pl.DataFrame:
    """Per trading day of `stock_days` and CSI index with a list in force: the list's effective date, its size
    and how many of its members have a bar that day (the rest are suspended or gone)."""
    days = stock_days.select(pl.col("trade_date").unique().sort())
    lists = index_membership.group_by("index_code", "effective_date").agg(list_size=pl.len().cast(pl.Int32))
    if days.is_empty() or lists.is_empty():
        return pl.DataFrame(schema={"trade_date": pl.Date, "index_code": pl.String, "list_date": pl.Date,
                                    "list_size": pl.Int32, "members_with_bar": pl.Int32,
                                    "members_without_bar": pl.Int32})
    in_force = (days.join(lists.select("index_code").unique(), how="cross").sort("index_code", "trade_date")
                .join_asof(lists.sort("index_code", "effective_date"), left_on="trade_date",
                           right_on="effective_date", by="index_code", strategy="backward", check_sortedness=False)
                .drop_nulls("effective_date"))
    with_bar = (in_force.join(index_membership.select("index_code", "effective_date", "code"),
                              on=["index_code", "effective_date"])
                .join(stock_days.select("trade_date", "code"), on=["trade_date", "code"], how="semi")
                .group_by("trade_date", "index_code").agg(members_with_bar=pl.len().cast(pl.Int32)))
    return (in_force.join(with_bar, on=["trade_date", "index_code"], how="left")
            .select("trade_date", "index_code", list_date="effective_date", list_size="list_size",
                    members_with_bar=pl.col("members_with_bar").fill_null(0),
                    members_without_bar=pl.col("list_size") - pl.col("members_with_bar").fill_null(0))
            .sort("trade_date", "index_code"))
