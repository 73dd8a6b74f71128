"""Market heat (note 001, domain.md §6): how much of the market's attention each stock, index group and
sector holds, and how that changes week over week. Pure Polars."""

from __future__ import annotations

import polars as pl

from sentiment_pipeline.market import membership as point_in_time
from sentiment_pipeline.platform.partitions import week_start

TOTAL = 10_000.0
# Attention components, best first. Counts (views, watchlist adds, clicks) are summed; a source without
# counts falls back to East Money's attention index, then to its popularity rank (heat ∝ 1 / rank).
COUNT_COMPONENTS = ("browse_count", "watchlist_adds", "click_count")
INDEX_GROUPS = {"000300": "csi300", "000905": "csi500", "000852": "csi1000", "932000": "csi2000"}
GROUPS = (*INDEX_GROUPS.values(), "others")
# What a day's heat is a share of: attention counts, the attention index, or 1 / popularity rank. Heats of
# different kinds are not comparable: a week's change across kinds is null (CHANGE_NULL_REASONS).
HEAT_KINDS = ("counts", "attention_index", "hot_rank")
MIXED = "mixed"  # a week whose days are of more than one kind
CHANGE_NULL_REASONS = ("no_previous_week", "components_unknown", "components_mixed", "components_changed",
                       "previous_heat_zero")


def stock_heat(attention: pl.DataFrame) -> pl.DataFrame:
    """Per stock and day: heat_raw from the best components the day has, and heat = 10,000 × its share of the
    day's total. `components` names what was used ('browse_count+watchlist_adds+click_count', 'attention_index'
    or 'hot_rank'); one kind per day, so shares compare like with like."""
    present = [c for c in COUNT_COMPONENTS if c in attention.columns]
    counts = pl.sum_horizontal(*present) if present else pl.lit(None, pl.Float64)
    has_counts = pl.any_horizontal(*(pl.col(c).is_not_null() for c in present)) if present else pl.lit(False)
    names = pl.concat_str([pl.when(pl.col(c).is_not_null()).then(pl.lit(c)) for c in present], separator="+",
                          ignore_nulls=True) if present else pl.lit(None, pl.String)
    index = pl.col("attention_index") if "attention_index" in attention.columns else pl.lit(None, pl.Float64)
    rank = (1.0 / pl.col("hot_rank")) if "hot_rank" in attention.columns else pl.lit(None, pl.Float64)
    kinds = attention.select(
        "trade_date", "code",
        raw_counts=pl.when(has_counts).then(counts.cast(pl.Float64)), names=names,
        raw_index=index.cast(pl.Float64), raw_rank=rank.cast(pl.Float64))
    # The day's kind: counts if any stock has them, else the attention index, else the rank.
    kind = (pl.when(pl.col("raw_counts").is_not_null().any().over("trade_date")).then(pl.lit("counts"))
            .when(pl.col("raw_index").is_not_null().any().over("trade_date")).then(pl.lit("attention_index"))
            .when(pl.col("raw_rank").is_not_null().any().over("trade_date")).then(pl.lit("hot_rank")))
    chosen = kinds.with_columns(kind=kind).with_columns(
        heat_raw=pl.when(pl.col("kind") == "counts").then("raw_counts")
        .when(pl.col("kind") == "attention_index").then("raw_index").otherwise("raw_rank"),
        components=pl.when(pl.col("kind") == "counts").then("names").otherwise("kind"))
    chosen = chosen.filter(pl.col("heat_raw").is_not_null())
    total = pl.col("heat_raw").sum().over("trade_date")
    return (chosen.select("trade_date", "code", "heat_raw",
                          heat=pl.when(total > 0).then(TOTAL * pl.col("heat_raw") / total).otherwise(0.0),
                          components="components")
            .sort("trade_date", "code"))


def heat_kind(components: pl.Expr) -> pl.Expr:
    """The kind of heat a stock_heat `components` value names: 'attention_index', 'hot_rank', else 'counts'
    (any sum of browse_count, watchlist_adds and click_count)."""
    return (pl.when(components.is_in(["attention_index", "hot_rank"])).then(components)
            .when(components.is_not_null()).then(pl.lit("counts")))


def day_kinds(heat: pl.DataFrame) -> pl.DataFrame:
    """Per day of stock heat (trade_date, code, components): heat_kind, the day's one kind (stock_heat gives
    one a day; a day of several would be 'mixed', which the daily tables reject)."""
    kind = heat_kind(pl.col("components"))
    return heat.group_by("trade_date").agg(
        heat_kind=pl.when(kind.n_unique() == 1).then(kind.first()).otherwise(pl.lit(MIXED)))


def index_groups(stock_days: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """(trade_date, code) → its index group that day: the CSI index whose latest snapshot on or before the day
    lists it (300 before 500 before 1000 before 2000 if snapshots overlap), else 'others'. Rows as in
    `stock_days`."""
    snapshots = (membership.select("index_code", "effective_date").unique()
                 .sort("index_code", "effective_date"))
    if snapshots.is_empty():
        return stock_days.select("trade_date", "code", index_group=pl.lit("others"))
    # Groups change only on effective dates: settle each code's group from each such date on (a few thousand
    # codes × a few dozen dates), then look every stock-day up under the latest such date before it.
    changes = snapshots.get_column("effective_date").drop_nulls().unique().sort()
    current = (changes.to_frame("trade_date").join(snapshots.select("index_code").unique(), how="cross")
               .sort("index_code", "trade_date")
               .join_asof(snapshots, left_on="trade_date", right_on="effective_date", by="index_code",
                          strategy="backward", check_sortedness=False)
               .filter(pl.col("effective_date").is_not_null()))
    priority = {c: i for i, c in enumerate(INDEX_GROUPS)}
    settled = (current.join(membership.select("index_code", "code", "effective_date"),
                            on=["index_code", "effective_date"])
               .group_by("trade_date", "code")
               .agg(priority=pl.col("index_code").replace_strict(priority, return_dtype=pl.UInt32).min()))
    after = pl.lit(changes).search_sorted(pl.col("trade_date"), side="right").cast(pl.Int64)
    since = pl.when(after > 0).then(pl.lit(changes).gather((after - 1).clip(lower_bound=0)))
    row = stock_days.select(trade_date=since, code="code").select(point_in_time.stock_day_row(settled)).to_series()
    group = pl.lit(pl.Series(GROUPS)).gather(settled.get_column("priority").gather(row))
    return stock_days.select("trade_date", "code", index_group=group.fill_null("others"))


def group_heat_daily(heat: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """Per day and index group: member_count (stocks with heat), heat (their sum) and heat_kind (the day's, from
    the stock heat's components). The groups partition the market, so the five heats sum to 10,000 each day; a
    group without members that day has heat 0."""
    grouped = (heat.select("trade_date", "code", "heat")
               .with_columns(index_groups(heat, membership).get_column("index_group"))
               .drop_nulls(["trade_date", "code"]))
    sums = grouped.group_by("trade_date", "index_group").agg(member_count=pl.len().cast(pl.Int32),
                                                              heat=pl.col("heat").sum())
    frame = (heat.select(pl.col("trade_date").unique())
             .join(pl.DataFrame({"index_group": list(GROUPS)}), how="cross"))
    return (frame.join(sums, on=["trade_date", "index_group"], how="left")
            .with_columns(pl.col("member_count").fill_null(0), pl.col("heat").fill_null(0.0))
            .join(day_kinds(heat), on="trade_date", how="left")
            .sort("trade_date", pl.col("index_group").replace_strict({g: i for i, g in enumerate(GROUPS)})))


def sector_heat_daily(heat: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Per day and sector (members as of the day: market.membership.members): member_count, heat (their sum)
    and heat_kind (the day's, from the stock heat's components). A stock in several concepts counts in each."""
    kinds = day_kinds(heat)
    return _sector_sums(heat.drop("components"), members).join(kinds, on="trade_date", how="left",
                                                               maintain_order="left")


def _sector_sums(heat: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    keys = ["trade_date", "sector_kind", "sector"]
    # Each member's heat is read from a day × code grid of the heat (no join on the (date, code) pair), and
    # members are grouped on one number per sector-day unless a key is missing.
    days, numbers = point_in_time.grid_days(heat), point_in_time.code_numbers(heat.get_column("code"))
    cell = point_in_time.grid_cell(days, numbers)
    filled = heat.select(cell=cell, heat="heat").drop_nulls("cell")
    heat_at = pl.repeat(None, days.len() * numbers.categories.len(), dtype=heat.schema["heat"], eager=True)
    heat_at.scatter(filled["cell"], filled["heat"])
    has_heat = pl.repeat(False, heat_at.len(), dtype=pl.Boolean, eager=True)
    has_heat.scatter(filled["cell"], True)
    by_number = not any(members.get_column(k).has_nulls() for k in keys)
    number, sector_day = point_in_time.sector_day_number(members, days) if by_number else (None, {})
    # The sums add up in the order a join on the pair gives (it walks the longer frame: members, or heat if
    # that is longer), so they agree with it to the last bit.
    heat_order = {"row": point_in_time.stock_day_row(heat)} if heat.height > members.height else {}
    each = (members.lazy()
            .select(*([number] if by_number else keys), heat=pl.lit(heat_at).gather(cell),
                    has_heat=pl.lit(has_heat).gather(cell).fill_null(False), **heat_order)
            .collect(engine="in-memory"))
    if not each.get_column("has_heat").all():  # members without heat that day
        each = each.filter("has_heat")
    if heat_order:
        each = each.sort("row", maintain_order=True)
    sums = dict(member_count=pl.len().cast(pl.Int32), heat=pl.col("heat").sum())
    if not by_number:
        return each.group_by(keys, maintain_order=True).agg(**sums).sort(keys)
    grouped = each.group_by("number", maintain_order=True).agg(**sums).sort("number")
    return grouped.select(**sector_day, member_count="member_count", heat="heat")


def weekly(daily: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per trading week and key: heat = mean daily heat over the week's days in `daily` (a holiday week uses
    the days it has), heat_kind = its days' heat_kind ('mixed' if they differ, null if any is unknown),
    heat_change = heat ÷ the previous week's − 1 (the previous week with days), its MA2 = mean of this and the
    previous week's change, and rank (1 = highest MA2 within the week and `keys[:-1]`).

    heat_change is null, with change_null_reason, when it would not compare like with like: no previous week,
    either week's kind unknown or mixed, the two weeks of different kinds (counts, attention index, 1 / rank),
    or a previous heat of 0. The MA2 is null when either change is."""
    kinds = pl.col("heat_kind")
    weeks = (daily.with_columns(week_start=week_start(pl.col("trade_date")))
             .group_by("week_start", *keys)
             .agg(week_end=pl.col("trade_date").max(), heat=pl.col("heat").mean(),
                  heat_kind=pl.when(kinds.null_count() > 0).then(pl.lit(None, pl.String))
                  .when(kinds.n_unique() > 1).then(pl.lit(MIXED)).otherwise(kinds.first()))
             .sort(*keys, "week_start"))

    def previous(column: str) -> pl.Expr:
        return pl.col(column).shift(1).over(keys)

    kind, before = pl.col("heat_kind"), previous("heat_kind")
    reason = (pl.when(previous("week_start").is_null()).then(pl.lit("no_previous_week"))
              .when(kind.is_null() | before.is_null()).then(pl.lit("components_unknown"))
              .when((kind == MIXED) | (before == MIXED)).then(pl.lit("components_mixed"))
              .when(kind != before).then(pl.lit("components_changed"))
              .when(previous("heat").fill_null(0) <= 0).then(pl.lit("previous_heat_zero")))
    weeks = (weeks.with_columns(change_null_reason=reason)
             .with_columns(heat_change=pl.when(pl.col("change_null_reason").is_null())
                           .then(pl.col("heat") / previous("heat") - 1)))
    weeks = weeks.with_columns(heat_change_ma2=(pl.col("heat_change") + pl.col("heat_change").shift(1).over(keys)) / 2)
    within = ["week_start", *keys[:-1]]
    rank = (pl.col("heat_change_ma2").rank("ordinal", descending=True).over(within)
            if keys[:-1] else pl.col("heat_change_ma2").rank("ordinal", descending=True).over("week_start"))
    return (weeks.sort("week_start", *keys)
            .with_columns(rank=pl.when(pl.col("heat_change_ma2").is_not_null()).then(rank).cast(pl.Int32))
            .select("week_start", "week_end", *keys, "heat", "heat_kind", "heat_change", "change_null_reason",
                    "heat_change_ma2", "rank"))


def rotation(group_weekly: pl.DataFrame) -> pl.DataFrame:
    """Per week with an MA2 for every group: the leader (highest heat_change_ma2; ties by group order) and the
    position held over the next week: that group, or 'cash' when 'others' leads."""
    order = {g: i for i, g in enumerate(GROUPS)}
    scored = group_weekly.filter(pl.col("heat_change_ma2").is_not_null())
    complete = scored.group_by("week_start").len().filter(pl.col("len") == len(GROUPS)).select("week_start")
    leaders = (scored.join(complete, on="week_start")
               .sort("week_start", pl.col("heat_change_ma2"), pl.col("index_group").replace_strict(order),
                     descending=[False, True, False])
               .unique("week_start", keep="first"))
    return (leaders.select("week_start", "week_end", leader="index_group", leader_ma2="heat_change_ma2")
            .with_columns(position=pl.when(pl.col("leader") == "others").then(pl.lit("cash"))
                          .otherwise("leader"))
            .sort("week_start"))


# Note 001's concept heat portfolios (domain.md §6): the concepts taken each week, the share of each concept's
# members (smallest by float cap) left out, and the members held per concept and side.
PORTFOLIO_CONCEPTS = 5
SMALL_CAP_CUT_PERCENT = 20
PER_CONCEPT = 10
PORTFOLIO_SIDES = ("top", "bottom")
PORTFOLIO_SCHEMA = {"week_start": pl.Date, "week_end": pl.Date, "side": pl.String, "code": pl.String,
                    "weight": pl.Float64, "heat": pl.Float64, "float_mcap": pl.Float64, "concept_rank": pl.Int32,
                    "concepts": pl.String}


def concept_portfolios(sector_weekly: pl.DataFrame, heat: pl.DataFrame, bars: pl.DataFrame,
                       concept_membership: pl.DataFrame, *, concepts: int = PORTFOLIO_CONCEPTS,
                       cut_percent: int = SMALL_CAP_CUT_PERCENT, per_concept: int = PER_CONCEPT) -> pl.DataFrame:
    """Note 001's concept heat TOP and BOTTOM portfolios, decided at each week's last trading day (week_end):

    1. the `concepts` concepts with the highest heat_change_ma2 that week (ties: concept name; a concept
       without an MA2 is not a candidate; a week with fewer candidates takes those it has);
    2. each one's members as of week_end (market.membership.concept_members) with a bar and a float cap that
       day; the smallest floor(n × cut_percent / 100) of its n such members by float cap are left out
       (ties: code), so 5 members → 1 out, 4 → 0, 10 → 2;
    3. of the rest, those with heat that week (mean daily heat over the week's days up to week_end): TOP holds
       the `per_concept` with the highest heat, BOTTOM the `per_concept` with the lowest (ties: code); a
       concept with fewer holds them all, and no other concept fills in;
    4. a stock chosen through several concepts is held once; equal weight over the side's stocks.

    Reads nothing after week_end: heat (trade_date, code, heat) of the week's days, bars (trade_date, code,
    float_mcap) of week_end, concept snapshots taken by then (before the first snapshot, the first: look-ahead,
    as everywhere concepts are used). One row per week, side and stock held."""
    chosen = (sector_weekly.filter((pl.col("sector_kind") == "concept") & pl.col("heat_change_ma2").is_not_null())
              .sort("week_start", "heat_change_ma2", "sector", descending=[False, True, False])
              .with_columns(concept_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("week_start"))
              .filter(pl.col("concept_rank") <= concepts)
              .select("week_start", "week_end", "sector", "concept_rank"))
    decision = bars.join(chosen.select(trade_date="week_end").unique(), on="trade_date", how="semi")
    members = point_in_time.concept_members(decision.select("trade_date", "code"), concept_membership,
                                            only=chosen.select(trade_date="week_end", concept_name="sector"))
    by_concept = ["week_start", "sector"]
    sized = (members.select("trade_date", "code", "sector")
             .join(chosen, left_on=["trade_date", "sector"], right_on=["week_end", "sector"])
             .join(decision.select("trade_date", "code", "float_mcap"), on=["trade_date", "code"])
             .filter(pl.col("float_mcap").is_not_null())
             .sort(*by_concept, "float_mcap", "code"))
    kept = sized.filter(pl.int_range(pl.len()).over(by_concept) >= pl.len().over(by_concept) * cut_percent // 100)
    weeks = chosen.select("week_start", "week_end").unique()
    week_heat = (heat.select("trade_date", "code", "heat", week_start=week_start(pl.col("trade_date")))
                 .join(weeks, on="week_start")
                 .filter(pl.col("trade_date") <= pl.col("week_end"))
                 .group_by("week_start", "code").agg(pl.col("heat").mean()))
    eligible = kept.join(week_heat, on=["week_start", "code"]).rename({"trade_date": "week_end"})
    picks = [eligible.sort(*by_concept, "heat", "code", descending=[False, False, side == "top", False])
             .filter(pl.int_range(pl.len()).over(by_concept) < per_concept)
             .with_columns(side=pl.lit(side))
             for side in PORTFOLIO_SIDES]
    held = (pl.concat(picks).sort("week_start", "side", "code", "concept_rank")
            .group_by("week_start", "week_end", "side", "code", maintain_order=True)
            .agg(heat=pl.col("heat").first(), float_mcap=pl.col("float_mcap").first(),
                 concept_rank=pl.col("concept_rank").min(), concepts=pl.col("sector").str.join(",")))
    return (held.with_columns(weight=1.0 / pl.len().over("week_start", "side"))
            .select(*PORTFOLIO_SCHEMA).cast(PORTFOLIO_SCHEMA)
            .sort("week_start", pl.col("side").replace_strict({s: i for i, s in enumerate(PORTFOLIO_SIDES)}),
                  "concept_rank", "code"))


MONITOR_TOPICS = ("group", "rotation", "sw_l1_up", "sw_l1_down", "concept_up", "concept_down")
GROUP_NAMES = {"csi300": "沪深300", "csi500": "中证500", "csi1000": "中证1000", "csi2000": "中证2000",
               "others": "其他", "cash": "现金"}


def _pct(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_null()).then(pl.lit("–")).otherwise(
        pl.when(value >= 0).then(pl.lit("+")).otherwise(pl.lit("")) + (value * 100).round(1).cast(pl.String) + "%")


def weekly_monitor(group_weekly: pl.DataFrame, sector_weekly: pl.DataFrame, rotation_weeks: pl.DataFrame,
                   top: int = 3) -> pl.DataFrame:
    """The note's weekly sentences as rows: each index group's change; the rotation's choice; the `top`
    industries and concepts whose heat rose most and fell most (by heat_change). Columns week_start,
    week_end, topic, rank, subject, heat, heat_change, heat_change_ma2, sentence (Chinese)."""
    groups = group_weekly.select(
        "week_start", "week_end", topic=pl.lit("group"),
        rank=pl.col("index_group").replace_strict({g: i + 1 for i, g in enumerate(GROUPS)}, return_dtype=pl.Int32),
        subject="index_group", heat="heat", heat_change="heat_change", heat_change_ma2="heat_change_ma2",
        sentence=pl.col("index_group").replace_strict(GROUP_NAMES) + "热度" + pl.col("heat").round(0)
        .cast(pl.Int64).cast(pl.String) + ",环比" + _pct(pl.col("heat_change")) + ",两周均值" +
        _pct(pl.col("heat_change_ma2")))
    chosen = rotation_weeks.select(
        "week_start", "week_end", topic=pl.lit("rotation"), rank=pl.lit(1, pl.Int32), subject="position",
        heat=pl.lit(None, pl.Float64), heat_change=pl.lit(None, pl.Float64), heat_change_ma2="leader_ma2",
        sentence="热度轮动:" + pl.col("leader").replace_strict(GROUP_NAMES) + "热度变化两周均值最高(" +
        _pct(pl.col("leader_ma2")) + "),下周持有" + pl.col("position").replace_strict(GROUP_NAMES))
    parts = [groups, chosen]
    movers = sector_weekly.filter(pl.col("heat_change").is_not_null())
    for kind, label in (("sw_l1", "行业"), ("concept", "概念")):
        for direction, descending, word in (("up", True, "升温"), ("down", False, "降温")):
            ranked = (movers.filter(pl.col("sector_kind") == kind)
                      .with_columns(rank=pl.col("heat_change").rank("ordinal", descending=descending)
                                    .over("week_start").cast(pl.Int32))
                      .filter(pl.col("rank") <= top))
            parts.append(ranked.select(
                "week_start", "week_end", topic=pl.lit(f"{kind}_{direction}"), rank="rank", subject="sector",
                heat="heat", heat_change="heat_change", heat_change_ma2="heat_change_ma2",
                sentence=pl.lit(f"{label}{word}第") + pl.col("rank").cast(pl.String) + ":" + pl.col("sector") +
                ",热度环比" + _pct(pl.col("heat_change"))))
    return pl.concat(parts).sort("week_start", pl.col("topic").replace_strict(
        {t: i for i, t in enumerate(MONITOR_TOPICS)}), "rank")
