"""SSE/SZSE trading calendar, read offline from akshare's bundled calendar file."""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import json
from pathlib import Path

import polars as pl

FIRST_PARTITION = dt.date(2019, 1, 2)


def _calendar_file() -> Path:
    # find_spec locates the package without importing it (importing akshare takes seconds).
    spec = importlib.util.find_spec("akshare")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("akshare is not installed: its bundled calendar.json is the trading calendar")
    return Path(spec.submodule_search_locations[0]) / "file_fold" / "calendar.json"


@functools.cache
def trading_days() -> tuple[dt.date, ...]:
    """Every exchange trading day in akshare's bundled calendar (1990-12-19 onwards)."""
    raw = json.loads(_calendar_file().read_text())
    return tuple(sorted(dt.date(int(s[:4]), int(s[4:6]), int(s[6:])) for s in raw))


def trading_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [d for d in trading_days() if start <= d <= end]


def calendar_end() -> dt.date:
    return trading_days()[-1]


def holidays_since(start: dt.date) -> list[dt.date]:
    """Weekdays without trading from `start` to the calendar's last day."""
    open_days = set(trading_days())
    out, day = [], start
    while day <= calendar_end():
        if day.weekday() < 5 and day not in open_days:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def last_trading_day_of_week(day: dt.date) -> dt.date | None:
    """The last trading day of `day`'s week (Monday to Sunday), or None for a week without one."""
    monday = day - dt.timedelta(days=day.weekday())
    days = [d for d in trading_days_between(monday, monday + dt.timedelta(days=6))]
    return days[-1] if days else None


def trading_day_index() -> pl.DataFrame:
    """trade_date → day_no (0, 1, 2, … in calendar order): trading-day arithmetic as a join."""
    days = trading_days()
    return pl.DataFrame({"trade_date": list(days), "day_no": range(len(days))},
                        schema={"trade_date": pl.Date, "day_no": pl.Int32})


def previous_day_links() -> pl.DataFrame:
    """trade_date → prev_trade_date (the market's previous trading day)."""
    days = pl.Series(trading_days(), dtype=pl.Date)
    return pl.DataFrame({"trade_date": days, "prev_trade_date": days.shift(1)})
