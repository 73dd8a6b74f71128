"""Our limit-up flags and streaks against a publisher's limit-up pool, with a reason for every disagreement.

A day is compared only when the pool has rows for it (pools exist for recent
days only). Three kinds of disagreement: `only_ours` (we flag a limit-up the
pool does not list), `only_pool` (the pool lists a stock we do not flag) and
`streak` (both agree on the limit-up but not on its height, where the pool
states a consecutive height). Reasons, checked in this order:

only_ours   st · new_listing · history_start · board_not_in_pool · absent_from_pool
only_pool   missing_bar · st (ours or the pool's name) · new_listing · price_mismatch · reference_close
streak      new_listing · suspension · history_start · previous_day_not_in_pool · st · streak_definition
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.limits import board_of

NEW_LISTING_DAYS = 5  # listing days on which publishers treat limits differently (no limit, or left out)
PRICE_TOLERANCE = 0.005  # CNY: prices are in fen

BARS_COLUMNS = ["trade_date", "code", "board", "is_st", "listing_age", "close", "pre_close", "limit_up_price",
                "is_limit_up"]
LADDER_COLUMNS = ["trade_date", "code", "streak", "in_opening_run"]

DAILY_SCHEMA = {
    "trade_date": pl.Date, "pool_available": pl.Boolean, "pool_count": pl.Int32, "ours_count": pl.Int32,
    "both_count": pl.Int32, "only_ours_count": pl.Int32, "only_pool_count": pl.Int32, "found_share": pl.Float64,
    "streak_compared": pl.Int32, "streak_agree_count": pl.Int32, "streak_agreement": pl.Float64,
    "disagreement_count": pl.Int32,
}
DETAIL_SCHEMA = {
    "trade_date": pl.Date, "code": pl.String, "kind": pl.String, "our_streak": pl.Int32, "pool_streak": pl.Int32,
    "reason": pl.String, "detail": pl.String,
}


def run_starts(ladder: pl.DataFrame) -> pl.DataFrame:
    """Per stock-day on a limit-up: the trading-day number of the first day of its run and of the stock's first
    row in `ladder` (so a run that began before the loaded history can be told apart)."""
    day_no = calendar.trading_day_index()
    df = ladder.select(LADDER_COLUMNS).join(day_no, on="trade_date", how="left").sort("code", "trade_date")
    return df.with_columns(
        run_start_day_no=pl.when(pl.col("streak") == 1).then(pl.col("day_no")).forward_fill().over("code"),
        first_row_day_no=pl.col("day_no").min().over("code"),
    )


def reconcile_limit_ups(bars: pl.DataFrame, ladder: pl.DataFrame, pools: pl.DataFrame,
                        days: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per day agreement counts and per stock-day disagreements with their reasons.

    `bars`: core.daily_bars rows of `days`. `ladder`: sentiment.limit_ladder rows of `days` and some trading
    days before (for runs and suspensions). `pools`: raw.limit_up_pools rows of `days` and the day before.
    """
    pool = pools.filter(pl.col("pool") == "limit_up").select(
        "trade_date", "code", "close", pool_streak="streak",
        pool_says_st=pl.col("name").str.contains("ST").fill_null(False))
    covered = pool.filter(pl.col("trade_date").is_in(days))["trade_date"].unique()
    links = calendar.previous_day_links()
    runs = run_starts(ladder).filter(pl.col("trade_date").is_in(days))
    ours = (bars.filter(pl.col("trade_date").is_in(covered.implode()))
            .join(runs, on=["trade_date", "code"], how="left"))
    flagged = ours.filter("is_limit_up")
    today_pool = pool.filter(pl.col("trade_date").is_in(covered.implode()))
    # Boards the publisher covered that day (THS lists almost no BSE stocks).
    pool_boards = today_pool.select("trade_date", board=board_of(pl.col("code"))).unique().with_columns(board_in_pool=pl.lit(True))

    only_ours = flagged.join(today_pool, on=["trade_date", "code"], how="anti").join(
        pool_boards, on=["trade_date", "board"], how="left").with_columns(
        kind=pl.lit("only_ours"), our_streak=pl.col("streak"), pool_streak=pl.lit(None, pl.Int32),
        reason=pl.when(pl.col("is_st").fill_null(False)).then(pl.lit("st"))
        .when(pl.col("in_opening_run").fill_null(False) | (pl.col("listing_age") <= NEW_LISTING_DAYS))
        .then(pl.lit("new_listing"))
        .when(_run_predates_history()).then(pl.lit("history_start"))
        .when(pl.col("board_in_pool").is_null()).then(pl.lit("board_not_in_pool"))
        .otherwise(pl.lit("absent_from_pool")),
        detail=pl.format("closes at {} = our limit price from reference close {}", pl.col("close"),
                         pl.col("pre_close")),
    )

    pool_side = today_pool.join(ours, on=["trade_date", "code"], how="left", suffix="_ours")
    only_pool = pool_side.filter(~pl.col("is_limit_up").fill_null(False)).with_columns(
        kind=pl.lit("only_pool"), our_streak=pl.lit(None, pl.Int32),
        reason=pl.when(pl.col("close_ours").is_null()).then(pl.lit("missing_bar"))
        .when(pl.col("is_st").fill_null(False) | pl.col("pool_says_st")).then(pl.lit("st"))
        .when((pl.col("listing_age") <= NEW_LISTING_DAYS) | pl.col("limit_up_price").is_null())
        .then(pl.lit("new_listing"))
        .when((pl.col("close") - pl.col("close_ours")).abs() > PRICE_TOLERANCE).then(pl.lit("price_mismatch"))
        .otherwise(pl.lit("reference_close")),
        detail=pl.format("pool close {}, our close {}, our limit price {} from reference close {}", pl.col("close"),
                         pl.col("close_ours"), pl.col("limit_up_price"), pl.col("pre_close")),
    )

    prev_pool = pool.join(links.rename({"trade_date": "next_day", "prev_trade_date": "trade_date"}), on="trade_date")
    prev_covered = prev_pool["trade_date"].unique()
    both = (pool_side.filter(pl.col("is_limit_up").fill_null(False))
            .join(links, on="trade_date", how="left")
            .join(prev_pool.select(trade_date="next_day", code="code", in_prev_pool=pl.lit(True)),
                  on=["trade_date", "code"], how="left"))
    streak = both.filter(pl.col("pool_streak").is_not_null() & (pl.col("pool_streak") != pl.col("streak")))
    streak = streak.with_columns(
        kind=pl.lit("streak"), our_streak=pl.col("streak"),
        reason=pl.when(pl.col("listing_age") <= pl.max_horizontal("streak", "pool_streak") + 1)
        .then(pl.lit("new_listing"))
        .when(pl.col("day_no") - pl.col("run_start_day_no") + 1 > pl.col("streak")).then(pl.lit("suspension"))
        # No bar in the whole lookback before today, yet a run: it spans a long suspension.
        .when((pl.col("first_row_day_no") == pl.col("day_no")) & (pl.col("streak") > 1)).then(pl.lit("suspension"))
        .when((pl.col("pool_streak") > pl.col("streak")) & _run_predates_history()).then(pl.lit("history_start"))
        .when((pl.col("pool_streak") < pl.col("streak")) & pl.col("prev_trade_date").is_in(prev_covered.implode())
              & pl.col("in_prev_pool").is_null())
        .then(pl.lit("previous_day_not_in_pool"))
        .when(pl.col("is_st").fill_null(False)).then(pl.lit("st"))
        .otherwise(pl.lit("streak_definition")),
        detail=pl.format("pool height {}, ours {}", pl.col("pool_streak"), pl.col("streak")),
    )

    details = pl.concat([d.select(list(DETAIL_SCHEMA)).cast(DETAIL_SCHEMA) for d in (only_ours, only_pool, streak)])
    details = details.sort("trade_date", "kind", "code")
    daily = _daily_counts(days, covered, today_pool, flagged, only_ours, only_pool, both, details)
    return daily, details


def _run_predates_history() -> pl.Expr:
    """The run reaches back to the stock's first loaded ladder row: it (or the listing) may have begun earlier."""
    return pl.col("run_start_day_no").is_null() | (pl.col("run_start_day_no") <= pl.col("first_row_day_no"))


def _daily_counts(days, covered, pool, flagged, only_ours, only_pool, both, details) -> pl.DataFrame:
    def per_day(df: pl.DataFrame, name: str) -> pl.DataFrame:
        return df.group_by("trade_date").agg(pl.len().cast(pl.Int32).alias(name))

    compared = both.filter(pl.col("pool_streak").is_not_null())
    agree = compared.filter(pl.col("pool_streak") == pl.col("streak"))
    frame = pl.DataFrame({"trade_date": days}, schema={"trade_date": pl.Date})
    for df, name in ((pool, "pool_count"), (flagged, "ours_count"), (both, "both_count"),
                     (only_ours, "only_ours_count"), (only_pool, "only_pool_count"),
                     (compared, "streak_compared"), (agree, "streak_agree_count"), (details, "disagreement_count")):
        frame = frame.join(per_day(df, name), on="trade_date", how="left")
    available = pl.col("trade_date").is_in(covered.implode())
    counts = [c for c in DAILY_SCHEMA if c.endswith("_count") or c == "streak_compared"]
    frame = frame.with_columns(
        # Days without a pool have no comparison: their counts are null, not zero.
        [pl.when(available).then(pl.col(c).fill_null(0)).alias(c) for c in counts],
        pool_available=available,
    ).with_columns(
        found_share=pl.when(pl.col("pool_count") > 0).then(pl.col("both_count") / pl.col("pool_count")),
        streak_agreement=pl.when(pl.col("streak_compared") > 0)
        .then(pl.col("streak_agree_count") / pl.col("streak_compared")),
    )
    return frame.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA).sort("trade_date")


def summarize(daily: pl.DataFrame) -> dict:
    """Totals over the compared days: the figures an operator (and the asset check) looks at."""
    compared = daily.filter("pool_available")
    pool = int(compared["pool_count"].sum() or 0)
    both = int(compared["both_count"].sum() or 0)
    streaks = int(compared["streak_compared"].sum() or 0)
    agree = int(compared["streak_agree_count"].sum() or 0)
    return {
        "days_compared": compared.height, "pool_limit_ups": pool, "found_by_both": both,
        "only_ours": int(compared["only_ours_count"].sum() or 0),
        "only_pool": int(compared["only_pool_count"].sum() or 0),
        "found_share": both / pool if pool else None,
        "streaks_compared": streaks, "streak_agreement": agree / streaks if streaks else None,
    }
