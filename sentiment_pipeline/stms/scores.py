"""STMS, the sector trend momentum score of note 002 (domain.md §7): sector figures, scores, rankings, signals.

Everything is vectorised over a date range: sector figures come from one group-by over (day, sector) and
rolling windows over trading-day numbers; nothing loops over days or stocks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from sentiment_pipeline.market import membership
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY

SHORT, LONG = 5, 20  # trading-day windows
MA20_LOOKBACK_DAYS = 60  # a member's 20 bars for its MA20 must lie within this many trading days
KEY = ["trade_date", "sector_kind", "sector"]
BARS_COLUMNS = ["trade_date", "code", "close", "pre_close", "turnover_rate", "float_mcap", "amount", "is_limit_up"]


# ------------------------------------------------------------------------------------------------ per stock


def stock_features(bars: pl.DataFrame) -> pl.DataFrame:
    """Per stock and day: return, weight (its float cap on the previous trading day) and whether it closes above
    its MA20.

    MA20 is over the stock's last 20 bars of back-adjusted closes (adjusted through the reference close, so
    ex-rights days do not look like falls), counted only when those 20 bars lie within the last
    MA20_LOOKBACK_DAYS trading days, so the flag does not depend on how much history a run loaded.
    A stock that did not trade the previous trading day (resuming from a suspension) has no weight.
    """
    trading_days = pl.Series(calendar.trading_days(), dtype=pl.Date)
    df = (bars.select(BARS_COLUMNS).with_columns(day_no=membership.day_number(trading_days).cast(pl.Int32))
          .drop_nulls("day_no"))
    # Sorted on one integer per (code, day) rather than on the string and the date. With the rows by code, a
    # stock's earlier rows are the frame's earlier rows while the code is the same, so shifts need no window;
    # the cumulative and rolling figures keep theirs (over a run number, cheaper than over the string) and
    # add up in the same order as before.
    numbers = membership.code_numbers(df.get_column("code"))
    df = df.sort(membership.code_number("code", numbers).cast(pl.Int64) * 2**32 + pl.col("day_no"), nulls_last=False)
    code = pl.col("code")

    def earlier(column: str, rows: int) -> pl.Expr:
        return pl.when(code.shift(rows).eq_missing(code)).then(pl.col(column).shift(rows))

    step = (earlier("close", 1) / pl.col("pre_close")).fill_null(1.0).fill_nan(1.0)
    traded_yesterday = earlier("day_no", 1) == pl.col("day_no") - 1
    df = df.with_columns(
        ret=pl.col("close") / pl.col("pre_close") - 1,
        weight=pl.when(traded_yesterday).then(earlier("float_mcap", 1)),
        traded_yesterday=traded_yesterday.fill_null(False),
        log_step=step.log(),
        twentieth_bar_day=earlier("day_no", LONG - 1),
        stock=code.rle_id(),
    ).with_columns(adj_close=pl.col("close") * pl.col("log_step").cum_sum().over("stock").exp())
    ma20 = pl.col("adj_close").rolling_mean(LONG).over("stock")
    recent_enough = pl.col("twentieth_bar_day") > pl.col("day_no") - MA20_LOOKBACK_DAYS
    return df.with_columns(
        above_ma20=pl.when(recent_enough).then(pl.col("adj_close") > ma20),
    ).drop("log_step", "stock", "adj_close", "twentieth_bar_day", "day_no")


# ---------------------------------------------------------------------------------------------- per sector


def sector_day_values(features: pl.DataFrame, members: pl.DataFrame, main_flows: pl.DataFrame,
                      north_flows: pl.DataFrame) -> pl.DataFrame:
    """Per (day, sector): members, float-cap weighted return and turnover, amount, flows, limit-ups, MA20."""
    # Flows are attached per stock-day first: the member join multiplies rows by the sectors per stock. Every
    # stock-day is found by its row number in per_stock (membership.stock_day_row), not by hashing (date, code).
    per_stock = features.select("trade_date", "code", "ret", "weight", "traded_yesterday", "turnover_rate",
                                "amount", "is_limit_up", "above_ma20")
    row = membership.stock_day_row(per_stock)

    def on_stock_rows(flows: pl.DataFrame, column: str) -> pl.Series:
        """flows' column on per_stock's rows, null where a stock-day has none (a left join)."""
        found = flows.select(row, column).drop_nulls("row")
        values = pl.repeat(None, per_stock.height, dtype=flows.schema[column], eager=True)
        values.scatter(found["row"], found[column])
        return values

    per_stock = per_stock.with_columns(main_net_inflow=on_stock_rows(main_flows, "main_net_inflow"),
                                       northbound_net_inflow=on_stock_rows(north_flows, "northbound_net_inflow"))
    # What the sums need, per stock-day (cheaper than per member row), then fetched for each member by row number.
    weighted = pl.col("weight").is_not_null() & pl.col("ret").is_not_null()
    w = pl.when(weighted).then(pl.col("weight"))
    wt = pl.when(pl.col("weight").is_not_null() & pl.col("turnover_rate").is_not_null()).then(pl.col("weight"))
    # Equal weights stand in where no member has a float cap (a source without them): members that traded the
    # day before, as the float-cap weights count them.
    e = pl.when(pl.col("traded_yesterday") & pl.col("ret").is_not_null()).then(1.0)
    figures = per_stock.select(w_ret=w * pl.col("ret"), w=w, e_ret=e * pl.col("ret"), e=e,
                               wt_turnover=wt * pl.col("turnover_rate"), wt=wt,
                               amount="amount", main="main_net_inflow", north="northbound_net_inflow",
                               is_limit_up="is_limit_up", above_ma20="above_ma20")
    # Streamed, as before (it keeps memory down): the float sums may differ in their last bits from run to run.
    df = (members.lazy().select(*KEY, row).drop_nulls("row")
          .with_columns(pl.lit(figures.get_column(c)).gather(pl.col("row")) for c in figures.columns))
    sums = df.group_by(KEY).agg(
        pl.len().cast(pl.Int32).alias("member_count"),
        *(pl.col(c).sum() for c in ("w_ret", "w", "e_ret", "e", "wt_turnover", "wt", "amount", "main", "north")),
        # count() counts the non-null values
        main_known=pl.col("main").count(), north_known=pl.col("north").count(),
        limit_up_count=pl.col("is_limit_up").sum().cast(pl.Int32),
        ma20_member_count=pl.col("above_ma20").count().cast(pl.Int32),
        above_ma20_count=pl.col("above_ma20").sum().cast(pl.Int32),
    )
    return sums.select(
        *KEY, "member_count",
        # An empty weight sum (no member with yesterday's float cap) is no return, not 0/0.
        ret=pl.when(pl.col("w") > 0).then(pl.col("w_ret") / pl.col("w"))
        .when(pl.col("e") > 0).then(pl.col("e_ret") / pl.col("e")),
        return_weighting=pl.when(pl.col("w") > 0).then(pl.lit("float_cap")).when(pl.col("e") > 0).then(pl.lit("equal")),
        turnover=(pl.col("wt_turnover") / pl.col("wt")).fill_nan(None),
        amount="amount",
        main_inflow=pl.when(pl.col("main_known") > 0).then("main"),
        north_inflow=pl.when(pl.col("north_known") > 0).then("north"),
        limit_up_count="limit_up_count", ma20_member_count="ma20_member_count", above_ma20_count="above_ma20_count",
    ).collect(engine="streaming")


def window_start(first_day: dt.date) -> dt.date:
    """The first day whose sector figures the windows of `first_day` and later need: LONG trading days before it
    (20 returns, each weighted by the day before's float cap). The bars before it serve the members' MA20 only."""
    days = calendar.trading_days()
    return days[max(0, days.index(first_day) - LONG)]


def window_status(loaded_days: list[dt.date], days: list[dt.date],
                  history_start: dt.date = calendar.FIRST_PARTITION) -> pl.DataFrame:
    """Per day: whether its 20-trading-day window is fully loaded ('complete'), would reach before the database's
    first day of bars `history_start` ('before_history', no score by design: nothing earlier exists to load) or
    misses loaded days after it ('short_window', a gap).

    20 daily returns need 21 days of bars: each return is weighted by the previous day's float cap."""
    all_days = calendar.trading_days()
    index = {d: i for i, d in enumerate(all_days)}
    first = index[max(history_start, calendar.FIRST_PARTITION)]
    loaded = np.array(sorted(index[d] for d in loaded_days), dtype=np.int64)
    rows = []
    for d in days:
        i = index[d]
        present = int(np.searchsorted(loaded, i, "right") - np.searchsorted(loaded, i - LONG, "left"))
        status = ("before_history" if i - LONG < first else
                  "complete" if present == LONG + 1 else "short_window")
        rows.append((d, present, status))
    return pl.DataFrame(rows, schema={"trade_date": pl.Date, "window_days": pl.Int32, "window_status": pl.String},
                        orient="row")


def missing_window_days(loaded_days: list[dt.date], short_days: list[dt.date]) -> list[dt.date]:
    """The trading days inside the 21-day windows of `short_days` that have no loaded bars: what to load."""
    all_days = calendar.trading_days()
    index = {d: i for i, d in enumerate(all_days)}
    loaded = set(loaded_days)
    wanted = {all_days[j] for d in short_days for j in range(max(0, index[d] - LONG), index[d] + 1)}
    return sorted(wanted - loaded)


def sector_daily(values: pl.DataFrame, status: pl.DataFrame) -> pl.DataFrame:
    """Rolling 5/20-day figures per sector. A sector needs a value on every day of a window, else null."""
    day_no = calendar.trading_day_index()
    df = values.join(day_no, on="trade_date").sort("sector_kind", "sector", "day_no")
    log_ret = pl.col("ret").log1p()

    def window(n: int) -> list[pl.Expr]:
        full = (pl.len() == n) & (pl.col("ret").null_count() == 0)
        suffix = f"_{n}d"
        return [
            pl.when(full).then(log_ret.sum().exp() - 1).alias("ret" + suffix),
            pl.when((pl.len() == n) & (pl.col("turnover").null_count() == 0)).then(pl.col("turnover").mean())
            .alias("turnover" + suffix),
            pl.when((pl.len() == n) & (pl.col("amount").null_count() == 0)).then(pl.col("amount").sum())
            .alias("amount" + suffix),
            pl.when((pl.len() == n) & (pl.col("main_inflow").null_count() == 0)).then(pl.col("main_inflow").sum())
            .alias("main_inflow" + suffix),
            pl.when((pl.len() == n) & (pl.col("north_inflow").null_count() == 0)).then(pl.col("north_inflow").sum())
            .alias("north_inflow" + suffix),
        ]

    rolled = []
    for n in (SHORT, LONG):
        rolled.append(df.rolling(index_column="day_no", period=f"{n}i", group_by=["sector_kind", "sector"])
                      .agg(window(n)))
    out = (df.join(rolled[0], on=["sector_kind", "sector", "day_no"])
           .join(rolled[1].select("sector_kind", "sector", "day_no", "ret_20d", "turnover_20d", "amount_20d"),
                 on=["sector_kind", "sector", "day_no"])
           .join(status, on="trade_date"))
    complete = pl.col("window_status") == "complete"
    share = lambda num, den: pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))  # noqa: E731
    out = out.with_columns(
        ret_20d=pl.when(complete).then(pl.col("ret_20d")),
        turnover_20d=pl.when(complete).then(pl.col("turnover_20d")),
        amount_20d=pl.when(complete).then(pl.col("amount_20d")),
        main_inflow_share_5d=share("main_inflow_5d", "amount_5d"),
        # Per-stock northbound data ended on 2024-08-16: no share afterwards, by design.
        north_inflow_share_5d=pl.when(pl.col("trade_date") <= NORTHBOUND_LAST_DAY)
        .then(share("north_inflow_5d", "amount_5d")),
        limit_up_share=pl.col("limit_up_count") / pl.col("member_count"),
        above_ma20_share=share("above_ma20_count", "ma20_member_count"),
        ma20_excluded_count=(pl.col("member_count") - pl.col("ma20_member_count")).cast(pl.Int32),
    )
    return out.select(SECTOR_DAILY_COLUMNS).sort(KEY)


SECTOR_DAILY_COLUMNS = [
    "trade_date", "sector_kind", "sector", "member_count", "ret", "return_weighting", "ret_5d", "ret_20d", "turnover",
    "turnover_5d", "turnover_20d", "amount", "amount_5d", "amount_20d", "main_inflow_5d", "north_inflow_5d", "main_inflow_share_5d",
    "north_inflow_share_5d", "limit_up_count", "limit_up_share", "above_ma20_share", "ma20_excluded_count",
    "window_days", "window_status",
]


# ------------------------------------------------------------------------------------------------------ scores


def band_a1(r5: pl.Expr, r20: pl.Expr) -> pl.Expr:
    return (pl.when((r5 > r20) & (r5 > 0)).then(100).when((r5 > r20) & (r5 <= 0)).then(75)
            .when((r5 <= r20) & (r5 > 0)).then(50).otherwise(0)).cast(pl.Float64)


def band_a2(x: pl.Expr) -> pl.Expr:
    return pl.when(x > 1.5).then(100).when(x > 1.2).then(75).when(x > 1.0).then(50).otherwise(0).cast(pl.Float64)


def band_c1(share: pl.Expr) -> pl.Expr:
    return (pl.when(share >= 0.05).then(100).when(share >= 0.02).then(75).when(share > 0).then(50)
            .otherwise(0).cast(pl.Float64))


def band_c2(share: pl.Expr) -> pl.Expr:
    return (pl.when(share >= 0.7).then(100).when(share >= 0.5).then(75).when(share >= 0.3).then(25)
            .otherwise(0).cast(pl.Float64))


def percentile_rank(col: str) -> pl.Expr:
    """Ascending rank (ties get their average rank) ÷ the number of sectors of that kind that day. A sector
    without the figure (no flow data for it) ranks as zero inflow."""
    value = pl.col(col).fill_null(0.0)
    return value.rank("average").over("trade_date", "sector_kind") / pl.len().over("trade_date", "sector_kind")


def inflow_score(col: str) -> pl.Expr:
    return pl.when(pl.col(col) > 0).then(percentile_rank(col) * 100).otherwise(0.0)


WINDOW_FIGURES = ["ret_5d", "ret_20d"]
TURNOVER_KNOWN = pl.col("turnover_5d").is_not_null() & pl.col("turnover_20d").is_not_null()
AMOUNT_KNOWN = pl.col("amount_5d").is_not_null() & (pl.col("amount_20d") > 0)


def score_sectors(daily: pl.DataFrame) -> pl.DataFrame:
    """A1…C2, A, B, C and STMS for each sector-day with a complete window; rank 1 = best within the kind.

    A sector without its 5/20-day figures (one that has not existed for 20 trading days, or has no weighted
    member) is not scored rather than scored on missing data."""
    df = daily.filter((pl.col("window_status") == "complete") & pl.all_horizontal(
        pl.col(c).is_not_null() for c in WINDOW_FIGURES) & (TURNOVER_KNOWN | AMOUNT_KNOWN))
    # A2 compares turnover where the source has it, else the mean amounts (float-cap weighted turnover is amount
    # over float cap: with the float cap steady over 20 days the two ratios agree).
    a2_basis = pl.when(TURNOVER_KNOWN).then(pl.lit("turnover")).otherwise(pl.lit("amount"))
    a2_ratio = pl.when(TURNOVER_KNOWN).then(pl.col("turnover_5d") / pl.col("turnover_20d")).otherwise(
        (pl.col("amount_5d") / SHORT) / (pl.col("amount_20d") / LONG))
    known = {flow: pl.col(f"{flow}_inflow_share_5d").is_not_null().any().over("trade_date", "sector_kind")
             for flow in ("north", "main")}
    df = df.with_columns(
        a1=band_a1(pl.col("ret_5d"), pl.col("ret_20d")),
        a2=band_a2(a2_ratio),
        a2_basis=a2_basis,
        b1=inflow_score("north_inflow_share_5d"),
        b2=inflow_score("main_inflow_share_5d"),
        c1=band_c1(pl.col("limit_up_share")),
        c2=band_c2(pl.col("above_ma20_share")),
        # B averages the flows there are data for that day: after 2024-08-16 the main-force part alone.
        b_components=pl.when(known["north"] & known["main"]).then(pl.lit("north+main"))
        .when(known["main"]).then(pl.lit("main")).when(known["north"]).then(pl.lit("north"))
        .otherwise(pl.lit("none")),
    ).with_columns(
        score_a=(pl.col("a1") + pl.col("a2")) / 2,
        score_b=pl.when(pl.col("b_components") == "north+main").then((pl.col("b1") + pl.col("b2")) / 2)
        .when(pl.col("b_components") == "main").then(pl.col("b2"))
        .when(pl.col("b_components") == "north").then(pl.col("b1")).otherwise(0.0),
        score_c=(pl.col("c1") + pl.col("c2")) / 2,
    ).with_columns(
        stms=0.4 * pl.col("score_a") + 0.3 * pl.col("score_b") + 0.3 * pl.col("score_c"),
    )
    # Ties on the total are broken by sector name, so every rank is unique and a top list is well defined.
    df = df.sort("trade_date", "sector_kind", pl.col("stms"), "sector", descending=[False, False, True, False])
    return df.with_columns(rank=pl.int_range(1, pl.len() + 1).over("trade_date", "sector_kind").cast(pl.Int32),
                           sector_count=pl.len().over("trade_date", "sector_kind").cast(pl.Int32))


# ----------------------------------------------------------------------------------------------------- signals


@dataclass(frozen=True)
class SignalRules:
    top_n: int = 5  # the top group: rank ≤ top_n
    riser_from_share: float = 1 / 3  # a riser came from below the top third (rank > share × sectors)
    high: float = 70.0  # a sub-score this high or higher is "high"
    low: float = 40.0  # … this low or lower is "low"
    very_high: float = 87.5  # a sentiment score this high is "extremely high"


STRUCTURES = {
    "hot_money_theme": "动量与情绪分高,资金分低: hot-money theme, fast and volatile",
    "institution_led_trend": "动量与资金分高,情绪分低: institution-led trend, steady",
    "pure_sentiment_spike": "情绪分极高,动量与资金分一般: sentiment spike without trend or money, may reverse",
    "momentum_without_funds": "动量分高,资金分低: rally without new money, may fade",
    "fund_led_bottoming": "资金分高,动量分低: money positioning before price moves",
}


def add_signals(scores: pl.DataFrame, rules: SignalRules = SignalRules()) -> pl.DataFrame:
    """Rank changes over 1–3 trading days, risers, three-highs and the structure label of note 002 §4.4.

    `scores` must hold the three trading days before the first day to be signalled."""
    day_no = calendar.trading_day_index()
    df = scores.join(day_no, on="trade_date")
    for k in (1, 2, 3):
        past = df.select("sector_kind", "sector", day_no=pl.col("day_no") + k,
                         **{f"rank_{k}d_ago": pl.col("rank"), f"count_{k}d_ago": pl.col("sector_count")})
        df = df.join(past, on=["sector_kind", "sector", "day_no"], how="left")
        df = df.with_columns((pl.col(f"rank_{k}d_ago") - pl.col("rank")).cast(pl.Int32).alias(f"rank_change_{k}d"))
    # "Below the top third" is judged within that earlier day's own ranking.
    came_from = [pl.col(f"rank_{k}d_ago") > pl.col(f"count_{k}d_ago") * rules.riser_from_share for k in (1, 2, 3)]
    in_top = pl.col("rank") <= rules.top_n
    riser_days = pl.when(in_top & came_from[0]).then(1).when(in_top & came_from[1]).then(2) \
        .when(in_top & came_from[2]).then(3)
    sub_rank = {s: pl.col(s).rank("min", descending=True).over("trade_date", "sector_kind") for s in
                ("score_a", "score_b", "score_c")}
    high = {s: pl.col(s) >= rules.high for s in ("score_a", "score_b", "score_c")}
    low = {s: pl.col(s) <= rules.low for s in ("score_a", "score_b", "score_c")}
    middling = {s: ~high[s] & ~low[s] for s in ("score_a", "score_b", "score_c")}
    a, b, c = "score_a", "score_b", "score_c"
    structure = (
        pl.when(high[a] & high[c] & low[b]).then(pl.lit("hot_money_theme"))
        .when(high[a] & high[b] & low[c]).then(pl.lit("institution_led_trend"))
        .when((pl.col(c) >= rules.very_high) & middling[a] & middling[b]).then(pl.lit("pure_sentiment_spike"))
        .when(high[a] & low[b]).then(pl.lit("momentum_without_funds"))
        .when(high[b] & low[a]).then(pl.lit("fund_led_bottoming"))
    )
    df = df.with_columns(
        riser_days=riser_days.cast(pl.Int32),
        is_three_high=in_top & pl.all_horizontal(r <= rules.top_n for r in sub_rank.values()),
        structure=structure,
    ).with_columns(
        is_riser=pl.col("riser_days").is_not_null(),
        structure_note=pl.when(pl.col("structure").is_not_null()).then(pl.format(
            "A {} B {} C {}: {}", pl.col(a).round(1), pl.col(b).round(1), pl.col(c).round(1),
            pl.col("structure").replace_strict(STRUCTURES, default=None))),
    )
    return df.select(SCORE_COLUMNS).sort("trade_date", "sector_kind", "rank")


SCORE_COLUMNS = [
    "trade_date", "sector_kind", "sector", "a1", "a2", "a2_basis", "b1", "b2", "c1", "c2", "score_a", "score_b", "score_c",
    "stms", "rank", "sector_count", "b_components", "rank_change_1d", "rank_change_2d", "rank_change_3d",
    "is_riser", "riser_days", "is_three_high", "structure", "structure_note",
]
TOP_LIST_COLUMNS = ["trade_date", "sector_kind", "rank", "sector", "stms", "score_a", "score_b", "score_c",
                    "rank_change_1d", "is_riser", "is_three_high", "structure"]


def top_list(scores: pl.DataFrame, size: int = 10) -> pl.DataFrame:
    """The daily top `size` per kind, as a consumer reads it."""
    return scores.filter(pl.col("rank") <= size).select(TOP_LIST_COLUMNS).sort("trade_date", "sector_kind", "rank")


def taxonomy_mismatches(daily: pl.DataFrame) -> pl.DataFrame:
    """Days whose SW level-1 sectors are not exactly their taxonomy's (28 SW2014 industries before 2021-07-30,
    31 SW2021 ones from then on): trade_date, sectors, unknown (names outside it), absent (its names missing)."""
    sw = daily.filter(pl.col("sector_kind") == "sw_l1")
    if sw.is_empty():
        return pl.DataFrame(schema={"trade_date": pl.Date, "sectors": pl.UInt32, "unknown": pl.String,
                                    "absent": pl.String})
    taxonomy = membership.sw_taxonomy_of(pl.col("trade_date"))
    expected = pl.when(taxonomy == "sw2014").then(pl.lit(sorted(membership.SW2014_L1))).otherwise(
        pl.lit(sorted(membership.SW2021_L1)))
    per_day = sw.group_by("trade_date").agg(names=pl.col("sector").unique().sort()).with_columns(expected=expected)
    return (per_day.with_columns(sectors=pl.col("names").list.len(),
                                 unknown=pl.col("names").list.set_difference("expected").list.join(" "),
                                 absent=pl.col("expected").list.set_difference("names").list.join(" "))
            .filter((pl.col("unknown") != "") | (pl.col("absent") != ""))
            .select("trade_date", "sectors", "unknown", "absent").sort("trade_date"))
