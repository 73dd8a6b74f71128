"""Freshness on the exchange calendar: a daily table is late when the partition of the last closed trading day is
missing by 18:00 Asia/Shanghai.

The rule at a time T (Asia/Shanghai): the days whose 18:00 deadline has passed are those up to T's date from
18:00 on, up to the day before until then; the expected partition is the last trading day among them. So after
18:00 on a trading day it is that day, before 18:00 the previous trading day, and on a weekend or an exchange
holiday (any hour) the last trading day before it: a day without trading never makes a table late.

Whether a partition exists is what this Dagster instance recorded (its materialized partitions of the asset, the
partition view the UI shows), not the table's max(trade_date): the check then agrees with the asset's partition
bar, never opens the DuckDB file (whose writer a read-only reader would block), and counts a day whose slice
was legitimately empty as present.

`evaluate` gives one asset's verdict; automation.py reports it through the asset check `trading_day_fresh`
(run on demand and at the end of the UI's runs) and the `trading_day_freshness` sensor (18:00 daily, and when a
verdict changes).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.platform.partitions import TIMEZONE, trading_day_partitions

CHECK_NAME = "trading_day_fresh"
DEADLINE = dt.time(18, 0)
SHANGHAI = ZoneInfo(TIMEZONE)


def now() -> dt.datetime:
    """The evaluation time (tests replace it)."""
    return dt.datetime.now(SHANGHAI)


def _local(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at.astimezone(SHANGHAI)


def closed_through(at: dt.datetime) -> dt.date:
    """The last calendar day whose 18:00 deadline has passed at `at`."""
    local = _local(at)
    return local.date() if local.time() >= DEADLINE else local.date() - dt.timedelta(days=1)


def deadline(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, DEADLINE, SHANGHAI)


def past_calendar(at: dt.datetime) -> bool:
    """True when the days closed by `at` reach past the trading calendar (akshare's bundled calendar.json)."""
    return closed_through(at) > calendar.calendar_end()


def expected_partition(at: dt.datetime) -> dt.date | None:
    """The trading day whose partition every daily table must hold at `at`: the last trading day whose 18:00
    deadline has passed (None before the first partition's deadline). Past the calendar's end: its last day."""
    days = calendar.trading_days()
    i = bisect.bisect_right(days, closed_through(at))
    if i == 0 or days[i - 1] < calendar.FIRST_PARTITION:
        return None
    return days[i - 1]


def trading_days_after(newest: dt.date | None, expected: dt.date) -> int:
    """How many trading days from the newest stored one (exclusive) to the expected one (inclusive)."""
    start = calendar.FIRST_PARTITION if newest is None else newest + dt.timedelta(days=1)
    return len(calendar.trading_days_between(start, expected))


def _no_trading_note(day: dt.date) -> str:
    if day.weekday() >= 5:
        return f"; {day} is a {day:%A}"
    if day <= calendar.calendar_end() and day not in set(calendar.trading_days()):
        return f"; {day} is an exchange holiday"
    return ""


@dataclass(frozen=True)
class Verdict:
    """One daily table's freshness at one time."""

    asset_key: dg.AssetKey
    at: dt.datetime
    expected: dt.date | None
    newest: dt.date | None
    expected_status: str  # materialized, failed, in progress, missing (the partition's status in the UI)
    passed: bool
    severity: dg.AssetCheckSeverity
    description: str

    @property
    def signature(self) -> str:
        """What a change of verdict is judged on (the sensor reports a change)."""
        return f"{self.expected}:{'pass' if self.passed else 'fail'}:{self.severity.value}"

    def metadata(self) -> dict:
        behind = 0 if self.passed or self.expected is None else trading_days_after(self.newest, self.expected)
        meta = {
            "expected_partition": dg.MetadataValue.text(str(self.expected or "none")),
            "newest_partition": dg.MetadataValue.text(str(self.newest or "none")),
            "expected_partition_status": dg.MetadataValue.text(self.expected_status),
            "trading_days_behind": dg.MetadataValue.int(behind),
            "evaluated_at": dg.MetadataValue.timestamp(_local(self.at)),
        }
        if self.expected is not None:
            meta["deadline"] = dg.MetadataValue.timestamp(deadline(self.expected))
        return meta

    def check_result(self) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=self.asset_key, check_name=CHECK_NAME, passed=self.passed,
                                   severity=self.severity, description=self.description, metadata=self.metadata())

    def evaluation(self) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(asset_key=self.asset_key, check_name=CHECK_NAME, passed=self.passed,
                                       severity=self.severity, description=self.description,
                                       metadata=self.metadata(), blocking=False)


def _status(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str, materialized: set[str]) -> str:
    statuses = instance.get_status_by_partition(key, [partition], trading_day_partitions) or {}
    status = statuses.get(partition)
    if status is not None and status.value in ("FAILED", "IN_PROGRESS"):
        return status.value.lower().replace("_", " ")  # its last attempt
    return "materialized" if partition in materialized else "missing"


def evaluate(instance: dg.DagsterInstance, key: dg.AssetKey, at: dt.datetime) -> Verdict:
    """Is the expected partition of `key` materialized in `instance` at `at`?"""
    materialized = instance.get_materialized_partitions(key)
    newest = dt.date.fromisoformat(max(materialized)) if materialized else None
    expected = expected_partition(at)
    local = _local(at)
    when = f"{local:%Y-%m-%d %H:%M} Asia/Shanghai"
    stored = f"the newest materialized is {newest}" if newest else "the asset has never been materialized"
    if expected is None:
        return Verdict(key, at, None, newest, "none", True, dg.AssetCheckSeverity.WARN,
                       f"No trading day has closed by {when}; {stored}.")
    status = _status(instance, key, expected.isoformat(), materialized)
    if past_calendar(at):
        return Verdict(
            key, at, expected, newest, status, False, dg.AssetCheckSeverity.WARN,
            f"{when} is past the trading calendar's last day {calendar.calendar_end()}: which days trade is "
            f"unknown (update akshare, whose bundled calendar.json it is); {stored}.")
    if expected.isoformat() in materialized:  # stored, even if a later attempt failed or is running
        return Verdict(key, at, expected, newest, status, True, dg.AssetCheckSeverity.ERROR,
                       f"{expected} is materialized: at {when} it is the last trading day past its 18:00 "
                       f"deadline{_no_trading_note(local.date())}.")
    behind = trading_days_after(newest, expected)
    return Verdict(
        key, at, expected, newest, status, False, dg.AssetCheckSeverity.ERROR,
        f"{expected} is {status}: it was due by {expected} 18:00 Asia/Shanghai (evaluated at {when}); {stored}, "
        f"{behind} trading day(s) behind.")
