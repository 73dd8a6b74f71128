"""Daily partitions on exchange trading days (Asia/Shanghai): partition N−1 is the previous trading day."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from sentiment_pipeline.platform import calendar

TIMEZONE = "Asia/Shanghai"
# Input metadata of a window that is a statistic over the stored history (e.g. a year of weekly crowding), not a
# window a day's figures need: the main command's warm-up does not store that much history before a new range.
NOT_WARMED_UP = {"warm_up": False}

trading_day_partitions = dg.DailyPartitionsDefinition(
    start_date=calendar.FIRST_PARTITION.isoformat(),
    timezone=TIMEZONE,
    # Today's partition exists from midnight: the daily run after the close fills it.
    end_offset=1,
    exclusions=["0 0 * * 6,0", *(dt.datetime.combine(d, dt.time()) for d in calendar.holidays_since(calendar.FIRST_PARTITION))],
)


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """Every trading day of the run's partition range."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]


def partition_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last trading day of the run's partition range."""
    keys = context.partition_keys
    return dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])


def _first_monday() -> dt.date:
    return calendar.FIRST_PARTITION - dt.timedelta(days=calendar.FIRST_PARTITION.weekday())


def _closed_weeks() -> list[dt.date]:
    """Mondays of the weeks without a single trading day (a Spring Festival or National Day week)."""
    open_weeks = {d - dt.timedelta(days=d.weekday()) for d in calendar.trading_days() if d >= _first_monday()}
    monday, closed = _first_monday(), []
    while monday <= calendar.calendar_end():
        if monday not in open_weeks:
            closed.append(monday)
        monday += dt.timedelta(days=7)
    return closed


# Trading weeks, keyed by their Monday (Asia/Shanghai). A week without trading days is not a partition; a
# holiday-shortened week maps to the trading days it has. The current week exists from its Monday.
trading_week_partitions = dg.WeeklyPartitionsDefinition(
    start_date=_first_monday().isoformat(), timezone=TIMEZONE, day_offset=1, end_offset=1,
    exclusions=[dt.datetime.combine(d, dt.time()) for d in _closed_weeks()],
)


def week_start(day: pl.Expr) -> pl.Expr:
    """The Monday of a day's week."""
    return day.dt.truncate("1w")


def partition_weeks(context: dg.AssetExecutionContext) -> list[dt.date]:
    """Every week (its Monday) of the run's weekly partition range."""
    return [dt.date.fromisoformat(k) for k in context.partition_keys]
