"""Note 000's research (domain.md §4): market regimes, the market series with forward returns, and the tables
recomputed over the whole stored history — height and promotion rate per regime, their correlation with the
next day, and what each phase is worth 1 to 20 days later. Pure functions; SciPy does the statistics.

Forward returns are evaluation data: they are computed here for the research tables only and no rule that
scores a day reads them.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from sentiment_pipeline.platform import calendar

HORIZONS = (1, 5, 10, 20)
PATH_DAYS = 20
REGIMES = ("bull", "range", "bear")
ALL_DAYS = "all"  # the research tables' row over every stored day, labelled or not
HEIGHT_BAR = 6  # note 000: in bull markets the height stays around 6
RATE_BAR = 0.25  # … and the promotion rate mostly above 25%
RATE_BUCKET = 0.05


@dataclass(frozen=True)
class RegimePeriod:
    regime: str
    start: dt.date
    end: dt.date


# Shanghai Composite periods of note 000 (domain.md §4); days outside them are unlabelled.
DEFAULT_REGIMES = (
    RegimePeriod("bull", dt.date(2019, 1, 2), dt.date(2021, 2, 18)),
    RegimePeriod("range", dt.date(2021, 2, 19), dt.date(2021, 12, 13)),
    RegimePeriod("bear", dt.date(2021, 12, 14), dt.date(2024, 2, 6)),
    RegimePeriod("range", dt.date(2024, 2, 7), dt.date(2024, 9, 23)),
    RegimePeriod("bull", dt.date(2024, 9, 24), dt.date(2025, 9, 11)),
)


def _stats():
    """scipy.stats, imported when a statistic is computed (it costs ~0.7 s, which every command would pay)."""
    from scipy import stats

    return stats


def parse_period(line: str) -> RegimePeriod:
    """'bull 2019-01-02 2021-02-18' → RegimePeriod; the regime must be one of REGIMES."""
    parts = line.split()
    if len(parts) != 3 or parts[0] not in REGIMES:
        raise ValueError(f"regime period {line!r}: expected '<{'|'.join(REGIMES)}> <first day> <last day>'")
    start, end = dt.date.fromisoformat(parts[1]), dt.date.fromisoformat(parts[2])
    if end < start:
        raise ValueError(f"regime period {line!r} ends before it starts")
    return RegimePeriod(parts[0], start, end)


def regime_of(day: pl.Expr, periods: Sequence[RegimePeriod] = DEFAULT_REGIMES) -> pl.Expr:
    """The regime whose period (both ends included) holds the day; null outside every period."""
    expr = pl.lit(None, pl.String)
    for p in reversed(periods):
        expr = pl.when(day.is_between(p.start, p.end)).then(pl.lit(p.regime)).otherwise(expr)
    return expr


# ----------------------------------------------------------------------------------------- market series


def on_calendar(series: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """(trade_date, return) on every market trading day first..last; a day the series lacks is null."""
    days = pl.DataFrame({"trade_date": calendar.trading_days_between(first, last)}, schema={"trade_date": pl.Date})
    return days.join(series.select("trade_date", "return"), on="trade_date", how="left")


def forward_returns(series: pl.DataFrame, horizons: Sequence[int], prefix: str) -> pl.DataFrame:
    """series: (trade_date, return) on consecutive market trading days. Adds `{prefix}{h}`: the return
    compounded from the close of t over the next h days; null when the horizon runs past the series' last day
    or crosses a day without a return (never shortened)."""
    ordered = series.sort("trade_date")
    level = (1 + pl.col("return").fill_null(0)).cum_prod()
    gaps = pl.col("return").is_null().cast(pl.Int32).cum_sum()
    return ordered.with_columns(
        pl.when(gaps.shift(-h) == gaps).then(level.shift(-h) / level - 1).alias(f"{prefix}{h}") for h in horizons)


def limit_up_next_day(ladder: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """Per day t: the mean close-to-close return (ex-rights adjusted through the reference close) from t to
    the next market trading day of t's eligible limit-up stocks, over those that trade that day, and how many
    did. A stock suspended on t+1 is left out; a day whose next day is not stored has count 0 and a null mean."""
    day_no = calendar.trading_day_index()
    chosen = (ladder.filter(pl.col("eligible") & pl.col("is_limit_up")).select("trade_date", "code")
              .join(day_no, on="trade_date"))
    nxt = (bars.select("trade_date", "code", ret=pl.col("close") / pl.col("pre_close") - 1)
           .join(day_no, on="trade_date").select("code", "ret", day_no=pl.col("day_no") - 1))
    per_day = (chosen.join(nxt, on=["code", "day_no"]).group_by("trade_date")
               .agg(limit_up_next_day_return=pl.col("ret").mean(),
                    limit_up_next_day_count=pl.col("ret").is_not_null().sum().cast(pl.Int32)))
    days = ladder.select("trade_date").unique()
    return (days.join(per_day, on="trade_date", how="left")
            .with_columns(pl.col("limit_up_next_day_count").fill_null(0)).sort("trade_date"))


def market_daily(days: list[dt.date], all_a: pl.DataFrame, all_a_source: str, csi2000: pl.DataFrame,
                 amounts: pl.DataFrame, next_day: pl.DataFrame,
                 periods: Sequence[RegimePeriod] = DEFAULT_REGIMES) -> pl.DataFrame:
    """research.market_daily for `days`. all_a and csi2000: (trade_date, return) over every loaded day (the
    forward returns read up to 20 trading days past the last of `days`); amounts: (trade_date, total_amount);
    next_day: limit_up_next_day's frame."""
    last = max(d for d in [*all_a["trade_date"].to_list(), *days])
    first = min(days)
    a = forward_returns(on_calendar(all_a, first, last), HORIZONS, "all_a_fwd_").rename({"return": "all_a_return"})
    c = forward_returns(on_calendar(csi2000, first, last), HORIZONS, "csi2000_fwd_")
    if csi2000.is_empty():  # not stored: the series is null, not a run of days past its end
        c = c.with_columns(pl.lit(None, pl.Float64).alias(f"csi2000_fwd_{h}") for h in HORIZONS)
    c = c.rename({"return": "csi2000_return"})
    frame = pl.DataFrame({"trade_date": sorted(days)}, schema={"trade_date": pl.Date})
    return (frame.with_columns(regime=regime_of(pl.col("trade_date"), periods))
            .join(a, on="trade_date", how="left").join(c, on="trade_date", how="left")
            .join(amounts, on="trade_date", how="left").join(next_day, on="trade_date", how="left")
            .with_columns(all_a_source=pl.lit(all_a_source),
                          limit_up_next_day_count=pl.col("limit_up_next_day_count").fill_null(0)))


# ------------------------------------------------------------------------------------ whole-history tables


def _by_regime(days: pl.DataFrame):
    """(regime, frame) for each regime present, in REGIMES order, then every stored day as ALL_DAYS."""
    for regime in REGIMES:
        part = days.filter(pl.col("regime") == regime)
        if part.height:
            yield regime, part
    yield ALL_DAYS, days


def regime_summary(days: pl.DataFrame) -> pl.DataFrame:
    """days: trade_date, regime, max_height, promotion_rate, limit_up_count. Per regime (and all days): the
    height's mode, quartiles and share ≥ 6; the rate's median and share > 25% (days with a rate); mean count."""
    rows = []
    for regime, part in _by_regime(days):
        height = part["max_height"].to_numpy()
        rate = part["promotion_rate"].drop_nulls().to_numpy()
        q1, median, q3 = np.percentile(height, [25, 50, 75])
        rows.append({
            "regime": regime, "first_day": part["trade_date"].min(), "last_day": part["trade_date"].max(),
            "days": part.height, "height_mode": int(_stats().mode(height, keepdims=False).mode),
            "height_q1": float(q1), "height_median": float(median), "height_q3": float(q3),
            "share_height_ge6": float(np.mean(height >= HEIGHT_BAR)), "rate_days": len(rate),
            "rate_median": float(np.median(rate)) if len(rate) else None,
            "share_rate_gt25": float(np.mean(rate > RATE_BAR)) if len(rate) else None,
            "mean_limit_up_count": float(part["limit_up_count"].mean()),
        })
    # Typed even when every value is null (a first day without a promotion rate).
    return pl.DataFrame(rows, schema_overrides={"height_mode": pl.Int32, "days": pl.Int32, "rate_days": pl.Int32,
                                                "rate_median": pl.Float64, "share_rate_gt25": pl.Float64})


def regime_distribution(days: pl.DataFrame) -> pl.DataFrame:
    """Per regime (and all days): days at each height, and days in each 5-point promotion-rate bucket."""
    parts = []
    for regime, part in _by_regime(days):
        height = (part.group_by(bucket_low=pl.col("max_height").cast(pl.Float64)).len("days")
                  .with_columns(measure=pl.lit("max_height"), bucket=pl.col("bucket_low").cast(pl.Int32).cast(pl.String)))
        low = (pl.col("promotion_rate") / RATE_BUCKET + 1e-9).floor() * RATE_BUCKET
        rate = (part.filter(pl.col("promotion_rate").is_not_null()).group_by(bucket_low=low.round(2)).len("days")
                .with_columns(measure=pl.lit("promotion_rate"),
                              bucket=pl.format("{}–{}%", (pl.col("bucket_low") * 100).round(0).cast(pl.Int32),
                                               ((pl.col("bucket_low") + RATE_BUCKET) * 100).round(0).cast(pl.Int32))))
        for frame in (height, rate):
            parts.append(frame.with_columns(regime=pl.lit(regime),
                                            share=pl.col("days") / pl.col("days").sum()))
    columns = ["regime", "measure", "bucket_low", "bucket", "days", "share"]
    return (pl.concat([p.select(columns) for p in parts]).with_columns(pl.col("days").cast(pl.Int32))
            .sort("regime", "measure", "bucket_low"))


CORRELATION_TARGETS = {"limit_up_next_day": "limit_up_next_day_return", "all_a_next_day": "all_a_fwd_1"}


def _correlation(method: str, x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:  # undefined: too few pairs or a constant series
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = _stats()
        result = stats.pearsonr(x, y) if method == "pearson" else stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def rate_correlation(days: pl.DataFrame) -> pl.DataFrame:
    """Per regime (and all days), target and method: the correlation of day t's promotion rate with the
    target on t+1, over the days that have both."""
    rows = []
    for regime, part in _by_regime(days):
        for target, column in CORRELATION_TARGETS.items():
            pairs = part.select("promotion_rate", column).drop_nulls()
            x, y = pairs["promotion_rate"].to_numpy(), pairs[column].to_numpy()
            for method in ("pearson", "spearman"):
                coefficient, p_value = _correlation(method, x, y)
                rows.append({"regime": regime, "target": target, "method": method, "coefficient": coefficient,
                             "n": len(x), "p_value": p_value})
    return pl.DataFrame(rows, schema_overrides={"n": pl.Int32, "coefficient": pl.Float64, "p_value": pl.Float64})


def win_odds(values: pl.Expr) -> list[pl.Expr]:
    """days, mean_return, win_rate (share > 0) and odds (mean gain ÷ mean loss; null without a loss) of the
    non-null values."""
    v = values.drop_nulls()
    gains, losses = v.filter(v > 0), v.filter(v < 0)
    return [v.len().cast(pl.Int32).alias("days"), v.mean().alias("mean_return"),
            (gains.len() / v.len()).alias("win_rate"),
            pl.when(losses.len() > 0).then(gains.mean().fill_null(0.0) / -losses.mean()).alias("odds")]


def phase_forward(days: pl.DataFrame) -> pl.DataFrame:
    """days: phase_code, phase_name, limit_up_next_day_return, all_a_fwd_*, csi2000_fwd_*. Per phase, target
    and horizon: days, mean return, win rate and odds."""
    phased = days.filter(pl.col("phase_code").is_not_null())
    targets = [("limit_ups", 1, "limit_up_next_day_return"),
               *((index, h, f"{index}_fwd_{h}") for index in ("all_a", "csi2000") for h in HORIZONS)]
    parts = [phased.group_by("phase_code", "phase_name").agg(*win_odds(pl.col(column)))
             .with_columns(target=pl.lit(target), horizon=pl.lit(h, pl.Int32))
             for target, h, column in targets]
    return (pl.concat(parts).filter(pl.col("days") > 0)
            .select("phase_code", "phase_name", "target", "horizon", "days", "mean_return", "win_rate", "odds")
            .sort("phase_code", "target", "horizon"))


def phase_path(days: pl.DataFrame, paths: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per phase, target (each of `paths`: a frame of trade_date and path_1 … path_20, the cumulative return
    from the close of t to each of the next 20 days) and day: the mean over the phase's days whose whole
    20-day path is stored (one sample for every day of the path)."""
    phased = days.filter(pl.col("phase_code").is_not_null()).select("trade_date", "phase_code", "phase_name")
    columns = [f"path_{k}" for k in range(1, PATH_DAYS + 1)]
    parts = []
    for target, path in paths.items():
        complete = phased.join(path.drop_nulls(columns), on="trade_date")
        means = complete.group_by("phase_code", "phase_name").agg(pl.len().cast(pl.Int32).alias("days"),
                                                                  *(pl.col(c).mean() for c in columns))
        parts.append(means.unpivot(columns, index=["phase_code", "phase_name", "days"], variable_name="day",
                                   value_name="mean_cum_return")
                     .with_columns(target=pl.lit(target),
                                   day=pl.col("day").str.strip_prefix("path_").cast(pl.Int32)))
    if not parts:
        return pl.DataFrame()
    return (pl.concat(parts).select("phase_code", "phase_name", "target", "day", "days", "mean_cum_return")
            .sort("phase_code", "target", "day"))


def cumulative_paths(series: pl.DataFrame) -> pl.DataFrame:
    """(trade_date, return) on consecutive trading days → trade_date, path_1 … path_20."""
    paths = forward_returns(series, range(1, PATH_DAYS + 1), "path_")
    return paths.drop("return")
