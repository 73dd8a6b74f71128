"""Note 000's weekly market review (domain.md §5): per trading week the market's figures with their change
against the previous week, the week's phases, and the five most crowded concepts (or why a week has none).
Pure functions."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from sentiment_pipeline.platform.partitions import week_start

CROWDING_WEEKS = 52  # a concept's own past year, in trading weeks (this week included)
CROWDING_MIN_WEEKS = 26  # fewer weeks of history: no percentile
TOP_CONCEPTS = 5
FIGURES = ("all_a_return", "avg_amount", "avg_up_count", "avg_limit_up_count", "main_net_flow", "margin_balance")


def _week_index(weeks: pl.Series) -> pl.DataFrame:
    """week_start → week_no over the weeks present (consecutive trading weeks)."""
    return (pl.DataFrame({"week_start": weeks.unique().sort()})
            .with_row_index("week_no").with_columns(pl.col("week_no").cast(pl.Int32)))


def crowding(concept_amounts: pl.DataFrame, market_amounts: pl.DataFrame,
             weeks: list | None = None) -> pl.DataFrame:
    """concept_amounts: trade_date, concept, amount; market_amounts: trade_date, total_amount. Per week and
    concept: its share of the market's turnover that week, and `crowding`, the percentile (0–100, SciPy's
    'weak' kind: share of the values ≤ this one) of that share among the concept's weekly shares of the last
    52 trading weeks including this one; null with fewer than 26 of them. With its change on the week before
    and the rank (1 = most crowded). `weeks` (their Mondays): only those are scored (and the week before each,
    for the change), not every week the inputs hold."""
    market = (market_amounts.with_columns(week_start=week_start(pl.col("trade_date")))
              .group_by("week_start").agg(market_amount=pl.col("total_amount").sum()))
    weekly = (concept_amounts.with_columns(week_start=week_start(pl.col("trade_date")))
              .group_by("week_start", "concept").agg(amount=pl.col("amount").sum())
              .join(market, on="week_start")
              .with_columns(amount_share=pl.col("amount") / pl.col("market_amount")))
    weekly = weekly.join(_week_index(weekly["week_start"]), on="week_start")
    offsets = pl.DataFrame({"offset": list(range(CROWDING_WEEKS))}, schema={"offset": pl.Int32})
    window = (weekly.select("concept", "week_no", "amount_share").join(offsets, how="cross")
              .with_columns(target_no=pl.col("week_no") + pl.col("offset"))
              .select("concept", "target_no", past_share="amount_share"))
    if weeks is not None:
        wanted = weekly.filter(pl.col("week_start").is_in(weeks))["week_no"].unique()
        window = window.filter(pl.col("target_no").is_in(pl.concat([wanted, wanted - 1]).implode()))
    scored = (weekly.join(window, left_on=["concept", "week_no"], right_on=["concept", "target_no"])
              .group_by("week_start", "week_no", "concept", "amount_share")
              .agg(window_weeks=pl.len().cast(pl.Int32),
                   at_or_below=(pl.col("past_share") <= pl.col("amount_share")).sum()))
    scored = (scored.with_columns(crowding=pl.when(pl.col("window_weeks") >= CROWDING_MIN_WEEKS)
                                  .then(100.0 * pl.col("at_or_below") / pl.col("window_weeks")))
              .sort("concept", "week_no")
              .with_columns(crowding_change=pl.when(pl.col("week_no").shift(1).over("concept") == pl.col("week_no") - 1)
                            .then(pl.col("crowding") - pl.col("crowding").shift(1).over("concept"))))
    ranked = scored.with_columns(
        rank=pl.when(pl.col("crowding").is_not_null())
        .then(pl.struct(pl.col("crowding"), pl.col("amount_share")).rank("ordinal", descending=True)
              .over("week_start").cast(pl.Int32)))
    if weeks is not None:
        ranked = ranked.filter(pl.col("week_start").is_in(weeks))
    return (ranked.select("week_start", "concept", "amount_share", "window_weeks", "crowding", "crowding_change",
                          "rank")
            .sort("week_start", "rank", "concept", nulls_last=True))


class CrowdingGap(NamedTuple):
    """Why a week has no crowded concepts: a short label (the chart's) and the sentence (the report's)."""

    label: str
    text: str


def crowding_gap(crowded: pl.DataFrame, week) -> CrowdingGap | None:
    """Why `week` (its Monday) has no crowded concepts; None when it has some. crowded: crowding()'s rows (of
    any weeks)."""
    rows = crowded.filter(pl.col("week_start") == week) if crowded.height else crowded
    if rows.is_empty():
        return CrowdingGap("无概念成交数据", "无概念成交数据:本周没有概念板块的成交额(stms.sector_daily;数据源未提供,"
                                             "或尚未计算),无法计算拥挤度。")
    if rows["rank"].is_not_null().any():
        return None
    history = int(rows["window_weeks"].max())
    if history < CROWDING_MIN_WEEKS:
        return CrowdingGap(
            f"概念成交历史仅 {history} 周\n(满 {CROWDING_MIN_WEEKS} 周才有分位)",
            f"有 {rows.height} 个概念的成交数据,但历史仅 {history} 周:拥挤度是本周成交占比在近 {CROWDING_WEEKS} 周"
            f"中的分位,至少需要 {CROWDING_MIN_WEEKS} 周(还差 {CROWDING_MIN_WEEKS - history} 周),本周不排名。")
    return CrowdingGap("本周无拥挤度", f"{rows.height} 个概念本周均无拥挤度分位。")  # not reached: ≥ 26 weeks rank


def _phases_text(phases: pl.DataFrame) -> pl.DataFrame:
    """Per week: its phases in order of first appearance with their days, e.g. '混沌拉锯期×3 · 主线稳健期×2'."""
    counted = (phases.filter(pl.col("phase_name").is_not_null())
               .group_by("week_start", "phase_name").agg(days=pl.len(), first=pl.col("trade_date").min())
               .sort("week_start", "first"))
    return counted.group_by("week_start", maintain_order=True).agg(
        phases=pl.format("{}×{}", "phase_name", "days").str.join(" · "))


def weekly_review(market: pl.DataFrame, ladder: pl.DataFrame, phases: pl.DataFrame, flows: pl.DataFrame,
                  margin: pl.DataFrame, crowded: pl.DataFrame) -> pl.DataFrame:
    """Per week of `market` (trade_date, all_a_return, total_amount): the review's figures, each with its change
    (this week's value − the previous trading week's). ladder: trade_date, up_count, limit_up_count,
    max_height; phases: trade_date, phase_name; flows: trade_date, main_net_inflow (per stock or summed);
    margin: trade_date, margin_balance; crowded: crowding()'s frame. Flows and margin may be empty."""
    wk = week_start(pl.col("trade_date"))
    days = (market.join(ladder, on="trade_date", how="left")
            .join(flows.group_by("trade_date").agg(main_net_flow=pl.col("main_net_inflow").sum()),
                  on="trade_date", how="left")
            .join(margin.select("trade_date", "margin_balance"), on="trade_date", how="left")
            .with_columns(week_start=wk).sort("trade_date"))
    weeks = days.group_by("week_start").agg(
        week_end=pl.col("trade_date").max(), trading_days=pl.len().cast(pl.Int32),
        all_a_return=pl.when(pl.col("all_a_return").is_not_null().all())
        .then((1 + pl.col("all_a_return")).product() - 1),
        avg_amount=pl.col("total_amount").mean(), avg_up_count=pl.col("up_count").mean(),
        avg_limit_up_count=pl.col("limit_up_count").mean(), max_height=pl.col("max_height").max().cast(pl.Int32),
        main_net_flow=pl.when(pl.col("main_net_flow").is_not_null().any()).then(pl.col("main_net_flow").sum()),
        margin_balance=pl.col("margin_balance").drop_nulls().last(),
    ).sort("week_start")
    weeks = weeks.with_columns(
        (pl.col(f) - pl.col(f).shift(1)).alias(f"{f}_change") for f in FIGURES)
    top = (crowded.filter(pl.col("rank") <= TOP_CONCEPTS).sort("week_start", "rank")
           .group_by("week_start", maintain_order=True)
           .agg(top_concepts=pl.format("{} {}", "concept", pl.col("crowding").round(0).cast(pl.Int32)).str.join(" · ")))
    phase_text = _phases_text(phases.with_columns(week_start=wk))
    columns = ["week_start", "week_end", "trading_days"]
    for f in FIGURES:
        columns += [f, f"{f}_change"]
    return (weeks.join(top, on="week_start", how="left").join(phase_text, on="week_start", how="left")
            .select(*columns, "max_height", "phases", "top_concepts"))
