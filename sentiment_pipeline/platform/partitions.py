"""Daily partitions on exchange trading days (Asia/Shanghai): partition N−1 is the previous trading day."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from sentiment_pipeline.market import calendar

TIMEZONE = "Asia/Shanghai"

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
