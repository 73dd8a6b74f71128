"""Note 000's claims tested on a database's daily data, under our definitions.

    python -m sentiment_pipeline.research.claims [DATABASE]   # default: $SENTIMENT_DUCKDB_PATH

prints the source and period, one Markdown row per claim (what was measured, the test, the verdict), the
verdicts per calendar year and per universe, and the per-phase tests behind the phase claims. Each claim's test
is written beside it below; statistics.py holds the statistics. The tests read the days themselves
(research.market_daily joined with sentiment.phase_daily and sentiment.ladder_daily, as the research tables do),
not the aggregate tables, because standard errors need the daily observations.

Verdicts at α = 0.05: holds / does not hold; not shown (an effect is claimed and neither shown nor ruled out),
not rejected (an absence is claimed and neither shown nor ruled out), not distinguishable (a comparison the data
cannot decide); n/a (the reason) where the days are too few to test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from sentiment_pipeline.ladder.phases import PHASE_NAMES
from sentiment_pipeline.platform import storage
from sentiment_pipeline.research import rules
from sentiment_pipeline.research import statistics as st

MIN_DAYS = 5  # fewer days (or pairs) than this: n/a, never a verdict
NEGLIGIBLE_R = 0.10  # |r| below this is "no correlation" (Cohen's small effect); the equivalence bound
AROUND_SIX = (5, 7)  # "6 板左右": 5 to 7 boards
MODE_HEIGHT = 5  # "多为 5 板"
METHODS = {"pearson": "Pearson", "spearman": "Spearman"}

HOLDS, FAILS, NA = "holds", "does not hold", "n/a"
NOT_SHOWN, NOT_REJECTED, NOT_DISTINGUISHABLE = "not shown", "not rejected", "not distinguishable"


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.status} ({self.reason})" if self.reason else self.status

    @property
    def short(self) -> str:
        """For the robustness table: the status, with its reason only when n/a."""
        return str(self) if self.status == NA else self.status


def all_of(parts: Iterable[Verdict]) -> Verdict:
    """A claim made of parts: does not hold if any part does not, n/a if any cannot be tested, holds if all hold,
    else the first undecided part's status."""
    parts = list(parts)
    if not parts:
        return Verdict(NA, "nothing to test")
    for status in (FAILS, NA):
        hit = [p.reason for p in parts if p.status == status and p.reason]
        if any(p.status == status for p in parts):
            return Verdict(status, "; ".join(dict.fromkeys(hit)))
    undecided = [p for p in parts if p.status != HOLDS]
    if not undecided:
        return Verdict(HOLDS)
    first = undecided[0].status
    return Verdict(first, "; ".join(dict.fromkeys(p.reason for p in undecided if p.status == first and p.reason)))


def per_method(verdicts: dict[str, Verdict]) -> tuple[str, str]:
    """(text, short) of a verdict taken with Pearson and with Spearman: one verdict when they agree, else each
    labelled, e.g. 'holds (Pearson) / does not hold (Spearman)'."""
    first = next(iter(verdicts.values()))
    if len({(v.status, v.reason) for v in verdicts.values()}) == 1:
        return str(first), first.short
    if len({v.status for v in verdicts.values()}) == 1:
        reasons = "; ".join(f"{METHODS[m]}: {v.reason}" for m, v in verdicts.items() if v.reason)
        return f"{first.status} ({reasons})", first.status
    text = " / ".join(f"{v.status} ({METHODS[m]}{': ' + v.reason if v.reason else ''})" for m, v in verdicts.items())
    return text, " / ".join(f"{v.short} ({METHODS[m]})" for m, v in verdicts.items())


def too_few(what: str, n: int, unit: str = "days") -> Verdict | None:
    """n/a when `what` has fewer than MIN_DAYS days (or other units), else None."""
    if n >= MIN_DAYS:
        return None
    if not n:
        return Verdict(NA, f"no {what} {unit}")
    unit = unit.replace("days", "day") if n == 1 else unit
    return Verdict(NA, f"{what} seen on {n} {unit} < {MIN_DAYS}" if unit.startswith("day") else
                   f"{what}: {n} {unit} < {MIN_DAYS}")


def effect(estimate: st.Estimate, higher: bool, null: float = 0.0, opposite: str = "") -> Verdict:
    """A claimed direction (`higher`: above `null`): holds when significant that way, does not hold (because
    `opposite`) when significant the other way, else not shown (a claimed effect the data neither show nor rule
    out; "not distinguishable" is kept for the phase comparisons)."""
    if estimate.p_value >= st.ALPHA:
        return Verdict(NOT_SHOWN)
    return Verdict(HOLDS) if (estimate.value > null) == higher else Verdict(FAILS, opposite)


@dataclass(frozen=True)
class ClaimResult:
    claim: str
    measured: str
    test: str
    verdict: str
    short: str  # the robustness table's cell

    @classmethod
    def of(cls, claim: str, measured: str, test: str, verdict: Verdict | tuple[str, str]) -> ClaimResult:
        text, short = (str(verdict), verdict.short) if isinstance(verdict, Verdict) else verdict
        return cls(claim, measured, test, text, short)


@dataclass(frozen=True)
class PhaseTest:
    """One phase against the other phases' days at one target, horizon and measure."""

    phase: str
    target: str
    horizon: int
    measure: str  # "mean", "win rate" or "odds"
    days: int
    value: float | None  # the phase's own mean, win rate or odds
    rank: int | None
    ranked: int  # phases with enough days (and a defined value) ranked
    difference: st.Estimate | None  # the phase's value − the other phases'
    q_value: float | None  # Benjamini–Hochberg over the phases tested at this target, horizon and measure
    verdict: Verdict


# --------------------------------------------------------------------------------------------- daily data



def load_days(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every day with research.market_daily, sentiment.phase_daily and sentiment.ladder_daily rows (the research
    tables' days): market columns (regime, forward returns, the next-day return of the limit-ups, `source` where
    stored) with the day's max_height, promotion_rate and phase_name."""
    market = storage.query(conn, "select * from research.market_daily")
    phases = storage.query(conn, "select trade_date, max_height, promotion_rate, phase_name from sentiment.phase_daily")
    # a column market_daily carries itself is read from it
    phases = phases.select("trade_date", *(c for c in phases.columns[1:] if c not in market.columns))
    ladder_days = storage.query(conn, "select trade_date from sentiment.ladder_daily")
    return market.join(phases, on="trade_date").join(ladder_days, on="trade_date").sort("trade_date")


def with_new_listings(conn: duckdb.DuckDBPyConnection, days: pl.DataFrame) -> pl.DataFrame | None:
    """`days` recomputed over the stored universe plus the new listings' opening runs (the ladder rows excluded
    only as 'new_listing'): height, promotion rate and phase by the ladder's rules, the limit-ups' next day by
    rules.limit_up_next_day. None when the stored ladder excludes no opening run (the universes are the same)."""
    from sentiment_pipeline.ladder.phases import classify_phases
    from sentiment_pipeline.ladder.streaks import ladder_daily
    from sentiment_pipeline.platform import calendar

    excluded = conn.execute("select count(*) from sentiment.limit_ladder where exclusion_reason = 'new_listing'")
    if not excluded.fetchone()[0]:
        return None
    ladder = storage.query(conn, "select trade_date, code, is_limit_up, is_broken, is_limit_down, pct_change, streak, "
                         "eligible or coalesce(exclusion_reason = 'new_listing', false) as eligible "
                         "from sentiment.limit_ladder order by trade_date, code")
    phased = classify_phases(ladder_daily(ladder, calendar.previous_day_links()))
    bars = storage.query(conn, "select trade_date, code, close, pre_close from core.daily_bars")
    next_day = rules.limit_up_next_day(ladder, bars).select("trade_date", "limit_up_next_day_return")
    recomputed = ["max_height", "promotion_rate", "phase_name", "limit_up_next_day_return"]
    return (days.drop(recomputed)
            .join(phased.select("trade_date", "max_height", "promotion_rate", "phase_name"), on="trade_date")
            .join(next_day, on="trade_date", how="left").sort("trade_date"))


def provenance(days: pl.DataFrame) -> str:
    """The first line of the output: source (research.market_daily.source where the column exists) and period."""
    sources = sorted(days["source"].drop_nulls().unique().to_list()) if "source" in days.columns else []
    source = ", ".join(sources) if sources else "unknown"
    warning = (" · a simulated market built from note 000's regimes and ladder statistics: a 'holds' here is by "
               "construction, never evidence about the real market" if "synthetic" in sources else "")
    if days.is_empty():
        return f"source: {source} · period: no day has market, phase and ladder rows{warning}"
    return (f"source: {source} · period: {days['trade_date'].min()} → {days['trade_date'].max()} ({days.height} "
            f"days with research.market_daily, sentiment.phase_daily and sentiment.ladder_daily rows){warning}")


# ------------------------------------------------------------------------------------------------ helpers


def _regime(days: pl.DataFrame, regime: str) -> pl.DataFrame:
    return days.filter(pl.col("regime") == regime).sort("trade_date")


def _mode(values: np.ndarray) -> int:
    """The most frequent value, the smallest on a tie (as research.regime_summary)."""
    found, counts = np.unique(values, return_counts=True)
    return int(found[np.argmax(counts)])


def _share(e: st.Estimate) -> str:
    return f"{e.value:.0%} [{e.low:.0%}, {e.high:.0%}]"


# The promotion rate persists from day to day: its correlations are tested on the pairs that are independent.
SERIAL = "t and Fisher-z intervals on n_eff, the pairs left after both series' autocorrelation (Bartlett, n/5 lags)"


def _r(c: st.Correlation) -> str:
    return (f"{'r' if c.method == 'pearson' else 'ρ'} = {c.r:+.2f} [{c.low:+.2f}, {c.high:+.2f}], "
            f"p = {c.p_value:.2g}, n_eff = {c.n_eff:.0f}")


def _pairs(days: pl.DataFrame, regime: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The regime's (promotion rate, `column`) pairs in date order, each less its spell's mean: a regime can be
    several spells (the bull market of 2019–21 and of 2024–25), and spells whose levels differ in both series
    would otherwise make a correlation out of two or three points. The claims are about day-to-day co-movement."""
    spells = days.sort("trade_date").with_columns(
        spell=(pl.col("regime") != pl.col("regime").shift()).fill_null(True).cum_sum())
    pairs = (spells.filter(pl.col("regime") == regime).select("spell", "promotion_rate", column).drop_nulls()
             .with_columns((pl.col(c) - pl.col(c).mean().over("spell")) for c in ("promotion_rate", column)))
    return pairs["promotion_rate"].to_numpy(), pairs[column].to_numpy()


def _correlation(days: pl.DataFrame, regime: str, column: str, method: str) -> st.Correlation | Verdict:
    """The correlation of the day's promotion rate with `column`, or n/a."""
    if (na := too_few(regime, _regime(days, regime).height)) is not None:
        return na
    x, y = _pairs(days, regime, column)
    if (na := too_few(regime, len(x), "days with both values")) is not None:
        return na
    c = st.correlation(x, y, method)
    return c if c is not None else Verdict(NA, f"{regime}: a constant series")


def _absent(c: st.Correlation, q_value: float) -> Verdict:
    """An absence of correlation, as an equivalence statement: holds when the 90% interval of r lies inside
    ±NEGLIGIBLE_R (two one-sided tests at 5%), does not hold when r ≠ 0 (q < α), else not rejected."""
    if q_value < st.ALPHA:
        return Verdict(FAILS, f"r = {c.r:+.2f}, q = {q_value:.2g}")
    if -NEGLIGIBLE_R < c.low90 and c.high90 < NEGLIGIBLE_R:
        return Verdict(HOLDS)
    return Verdict(NOT_REJECTED, f"n = {c.n}")


def _positive(c: st.Correlation | Verdict) -> Verdict:
    """A positive correlation: holds when r > 0 at p < α; does not hold when r < 0 at p < α or when r is shown
    below NEGLIGIBLE_R (the 90% interval's upper end: one-sided 5%); else not shown."""
    if isinstance(c, Verdict):
        return c
    if c.p_value < st.ALPHA:
        return Verdict(HOLDS) if c.r > 0 else Verdict(FAILS, "r < 0")
    if c.high90 < NEGLIGIBLE_R:
        return Verdict(FAILS, f"r < {NEGLIGIBLE_R:.2f} at 95%")
    return Verdict(NOT_SHOWN)


# ------------------------------------------------------------------------------------------ regime claims


def claim_bull_height(days: pl.DataFrame) -> ClaimResult:
    # "Around 6" = 5–7 boards; "generally" = on most days: the median lies in 5–7, i.e. the share of days ≥ 5 and
    # the share ≤ 7 both exceed 50%. Daily heights persist, so the shares' errors are Newey–West (HAC).
    claim = "牛市最高连板普遍维持在 6 板左右"
    low, high = AROUND_SIX
    bull = _regime(days, "bull")["max_height"].to_numpy()
    lags = st.newey_west_lags(len(bull))
    test = (f"median in {low}–{high}: share of days ≥ {low} and share ≤ {high} each > 50% (HAC t-test, Newey–West "
            f"lags {lags}); either < 50% → does not hold")
    if (na := too_few("bull", len(bull))) is not None:
        return ClaimResult.of(claim, "–", test, na)
    at_least = st.hac_mean(bull >= low, lags, 0.5)
    at_most = st.hac_mean(bull <= high, lags, 0.5)
    measured = (f"bull: mode {_mode(bull)}, median {float(np.median(bull)):g}, ≥ {low} on {_share(at_least)}, "
                f"≤ {high} on {_share(at_most)} of {len(bull)} days")
    return ClaimResult.of(claim, measured, test, all_of([effect(at_least, True, 0.5, f"median < {low}"),
                                                         effect(at_most, True, 0.5, f"median > {high}")]))


def claim_bull_rate(days: pl.DataFrame) -> ClaimResult:
    # "多数超过 25%" = on most days: the share of bull days with a rate > 25% exceeds 50% (HAC, as above).
    claim = "牛市晋级率多数超过 25%"
    rate = _regime(days, "bull")["promotion_rate"].drop_nulls().to_numpy()
    lags = st.newey_west_lags(len(rate))
    test = f"share of days with rate > 25% vs 50% (HAC t-test, Newey–West lags {lags})"
    if (na := too_few("bull", len(rate), "days with a rate")) is not None:
        return ClaimResult.of(claim, "–", test, na)
    above = st.hac_mean(rate > rules.RATE_BAR, lags, 0.5)
    measured = f"bull: rate > 25% on {_share(above)} of {len(rate)} days, median {float(np.median(rate)):.1%}"
    return ClaimResult.of(claim, measured, test, effect(above, True, 0.5, "median rate ≤ 25%"))


def _below_bull(days: pl.DataFrame, regime: str, column: str) -> tuple[st.Estimate, float, float]:
    """The regime's mean of `column` minus the bull market's (HAC over both regimes' days in time order)."""
    both = days.filter(pl.col("regime").is_in(["bull", regime])).drop_nulls(column).sort("trade_date")
    values, in_regime = both[column].to_numpy().astype(float), (both["regime"] == regime).to_numpy()
    diff = st.hac_difference(values, in_regime, st.newey_west_lags(len(values)))
    return diff, float(values[in_regime].mean()), float(values[~in_regime].mean())


def claim_weaker_regimes(days: pl.DataFrame) -> ClaimResult:
    # Three parts per regime (range, bear): "多为 5 板" = 5 is the most frequent height, tested as its share minus
    # the runner-up's (HAC); "晋级率与高度整体低于牛市" = the mean rate and the mean height below the bull
    # market's (HAC difference of means).
    claim = "震荡市和熊市最高连板多为 5 板,晋级率与高度整体低于牛市"
    test = ("per regime: share at 5 − runner-up's share > 0; mean rate and mean height − bull's < 0 (HAC t-tests, "
            "Newey–West lags ⌊4(n/100)^(2/9)⌋); all six parts must hold")
    parts, measured = [], []
    if (na := too_few("bull", _regime(days, "bull").height)) is not None:
        return ClaimResult.of(claim, "–", test, na)
    for regime in ("range", "bear"):
        height = _regime(days, regime)["max_height"].to_numpy()
        if (na := too_few(regime, len(height))) is not None:
            parts.append(na)
            continue
        lags = st.newey_west_lags(len(height))
        mode, others = _mode(height), height[height != MODE_HEIGHT]
        rival = mode if mode != MODE_HEIGHT else _mode(others) if len(others) else None  # the runner-up
        lead = st.hac_mean((height == MODE_HEIGHT).astype(float) - (height == rival), lags)  # share at 5 − rival's
        parts.append(effect(lead, True, opposite=f"{regime}: {rival} more frequent than 5"))
        rate, rate_mean, bull_rate = _below_bull(days, regime, "promotion_rate")
        tall, height_mean, bull_height = _below_bull(days, regime, "max_height")
        parts += [effect(rate, False, opposite=f"{regime} rate above bull's"),
                  effect(tall, False, opposite=f"{regime} height above bull's")]
        shares = f"{np.mean(height == MODE_HEIGHT):.0%} at 5" + (
            f" vs {np.mean(height == rival):.0%} at {rival}, p = {lead.p_value:.2g}" if rival is not None else "")
        measured.append(f"{regime} ({len(height)} days): mode {mode} ({shares}); mean rate {rate_mean:.1%} vs bull "
                        f"{bull_rate:.1%} (p = {rate.p_value:.2g}); mean height {height_mean:.1f} vs "
                        f"{bull_height:.1f} (p = {tall.p_value:.2g})")
    return ClaimResult.of(claim, "; ".join(measured) or "–", test, all_of(parts))


# ------------------------------------------------------------------------------------- correlation claims


def claim_bull_correlation(days: pl.DataFrame) -> ClaimResult:
    # "明显正相关": r > 0 at p < 0.05 (SciPy pearsonr / spearmanr, tested on n_eff); ruled out when r < 0 significantly or when r
    # is shown below 0.10 (the upper end of its 90% interval).
    claim = "牛市 T 期晋级率与涨停股 T+1 表现明显正相关"
    test = (f"{SERIAL}; r > 0 at p < 0.05 → holds; r < 0 at p < 0.05 or upper 90% bound < {NEGLIGIBLE_R:.2f} → "
            "does not hold; else not shown")
    found = {m: _correlation(days, "bull", "limit_up_next_day_return", m) for m in METHODS}
    measured = "bull: " + "; ".join(f"{METHODS[m]} {_r(c)}" for m, c in found.items()
                                    if isinstance(c, st.Correlation))
    n = len(_pairs(days, "bull", "limit_up_next_day_return")[0])
    return ClaimResult.of(claim, f"{measured}, n = {n}" if n >= MIN_DAYS else "–", test,
                          per_method({m: _positive(c) for m, c in found.items()}))


def claim_correlation_fades(days: pl.DataFrame) -> ClaimResult:
    # Three parts, per method. Premise: the bull correlation is positive (the claim above). "震荡市减弱": the
    # range r is below the bull r by Fisher's z for independent correlations (two-sided p < 0.05) and is not
    # itself significantly negative (that would be a reversal). "熊市基本消失": the bear r is equivalent to 0
    # (90% interval inside ±0.10); a significant bear r of either sign does not hold; else not rejected.
    claim = "该相关性在震荡市减弱,熊市基本消失"
    test = (f"{SERIAL}; bull r > 0 (above); range r < bull r (Fisher z, p < 0.05) and range r not < 0 at p < 0.05; "
            f"bear r inside ±{NEGLIGIBLE_R:.2f} (TOST, 90% CI), bear r ≠ 0 at p < 0.05 → does not hold")
    column = "limit_up_next_day_return"
    verdicts, measured = {}, []
    for method, name in METHODS.items():
        bull, range_, bear = (_correlation(days, r, column, method) for r in ("bull", "range", "bear"))
        premise = _positive(bull)
        premise = premise if premise.status != FAILS else Verdict(FAILS, "no bull correlation to weaken")
        parts, text = [premise], []
        if isinstance(range_, Verdict):
            parts.append(range_)
        elif isinstance(bull, st.Correlation):
            z, p = st.fisher_z_difference(bull, range_)
            if range_.p_value < st.ALPHA and range_.r < 0:
                parts.append(Verdict(FAILS, "range r < 0: reversed"))
            elif p < st.ALPHA:
                parts.append(Verdict(HOLDS) if range_.r < bull.r else Verdict(FAILS, "range r > bull r"))
            else:
                parts.append(Verdict(NOT_DISTINGUISHABLE))
            text.append(f"range {_r(range_)}, vs bull z = {z:+.2f} (p = {p:.2g})")
        if isinstance(bear, Verdict):
            parts.append(bear)
        else:
            part = _absent(bear, bear.p_value)
            parts.append(Verdict(part.status, f"bear r inside ±{NEGLIGIBLE_R:.2f} not shown, n = {bear.n}"
                                 if part.status == NOT_REJECTED else
                                 f"bear r = {bear.r:+.2f} ≠ 0" if part.status == FAILS else ""))
            text.append(f"bear {_r(bear)}, n = {bear.n}")
        verdicts[method] = all_of(parts)
        if text:
            measured.append(f"{name}: " + "; ".join(text))
    return ClaimResult.of(claim, " · ".join(measured) or "–", test, per_method(verdicts))


def claim_no_all_a_correlation(days: pl.DataFrame) -> ClaimResult:
    # An absence, stated as equivalence: in every regime the 90% interval of r lies inside ±0.10 (TOST at 5%).
    # It does not hold when some regime's r ≠ 0 after Benjamini–Hochberg over the three regimes (the family the
    # claim's "均" spans); otherwise "not rejected": no correlation found, but none ruled out either.
    claim = "晋级率与次日全A涨跌均无显著相关"
    test = (f"{SERIAL}; equivalence: each regime's 90% CI of r inside ±{NEGLIGIBLE_R:.2f} → holds; any r ≠ 0 at BH q < 0.05 "
            "over the 3 regimes → does not hold; else not rejected")
    verdicts, measured = {}, []
    for method, name in METHODS.items():
        found = {r: _correlation(days, r, "all_a_fwd_1", method) for r in rules.REGIMES}
        tested = {r: c for r, c in found.items() if isinstance(c, st.Correlation)}
        q = dict(zip(tested, st.benjamini_hochberg([c.p_value for c in tested.values()])))
        parts = [c if isinstance(c, Verdict) else _absent(c, q[r]) for r, c in found.items()]
        parts = [Verdict(p.status, f"{r}{':' if p.status == FAILS else ''} {p.reason}")
                 if p.status in (FAILS, NOT_REJECTED) else p
                 for r, p in zip(found, parts)]
        verdict = all_of(parts)
        if verdict.status == NOT_REJECTED:
            shown = verdict.reason.replace(";", ",")
            verdict = Verdict(NOT_REJECTED, f"r inside ±{NEGLIGIBLE_R:.2f} not shown: {shown}")
        verdicts[method] = verdict
        if tested:
            measured.append(f"{name}: " + "; ".join(f"{r} {_r(c)}, q = {q[r]:.2g}, n = {c.n}"
                                                    for r, c in tested.items()))
    return ClaimResult.of(claim, " · ".join(measured) or "–", test, per_method(verdicts))


# ---------------------------------------------------------------------------------------------- phase claims

# The note's reasons are explanations of its figures, not figures: nothing here can measure them.
UNTESTED = ("the note's reasons — 增量资金与乐观情绪 (why the bull correlation would exist), 自身资金博弈 (why the "
            "all-A one would not), 主题持续性 (why it would fade).")

TARGETS = {"limit_ups": "limit_up_next_day_return", "all_a": "all_a_fwd_{h}", "csi2000": "csi2000_fwd_{h}"}
TARGET_NAMES = {"limit_ups": "limit-ups next day", "all_a": "all-A", "csi2000": "CSI 2000"}


def compare_phases(days: pl.DataFrame, target: str, horizon: int, measure: str) -> dict[str, PhaseTest]:
    """Every phase against the other phases' days: the difference of the mean return or of the win rate (share
    > 0) with Newey–West errors over horizon − 1 lags (the forward windows overlap by that much), or of the odds
    with a block bootstrap; q-values by Benjamini–Hochberg over the phases tested (the family a "best phases"
    claim was picked from). A phase or the rest with fewer than MIN_DAYS days is n/a, and so is a phase whose
    days give fewer than MIN_DAYS forward windows that do not overlap (st.separate_windows): a phase seen on
    one run of eight days is one 20-day observation."""
    column = TARGETS[target].format(h=horizon)
    data = (days.sort("trade_date").with_row_index("position")
            .filter(pl.col("phase_name").is_not_null() & pl.col(column).is_not_null()))
    phase, values = data["phase_name"].to_numpy(), data[column].to_numpy().astype(float)
    counts = {name: int((phase == name).sum()) for name in PHASE_NAMES.values()}
    positions = data["position"].to_numpy()
    windows = {name: st.separate_windows(positions[phase == name], horizon) for name in counts}
    seen = days["phase_name"].value_counts()
    seen = dict(zip(seen["phase_name"], seen["count"]))
    own, tested = {}, {}
    for name, n in counts.items():
        if n < MIN_DAYS or len(values) - n < MIN_DAYS or windows[name] < MIN_DAYS:
            continue
        mine = phase == name
        if measure == "odds":
            own[name] = float(st.odds(values[mine]))
            diff = st.block_bootstrap_difference(values[mine], values[~mine], st.odds, horizon)
        else:
            series = values if measure == "mean" else (values > 0).astype(float)
            own[name] = float(series[mine].mean())
            diff = st.hac_difference(series, mine, horizon - 1)
        if diff is not None:
            tested[name] = diff
    q = dict(zip(tested, st.benjamini_hochberg([d.p_value for d in tested.values()])))
    ranking = sorted((n for n, v in own.items() if np.isfinite(v)), key=lambda n: -own[n])
    out = {}
    for name, n in counts.items():
        if (na := too_few(name, n)) is not None:
            # near the last stored day a phase's days can lack the longer forward returns
            verdict = na if n == seen.get(name, 0) else Verdict(
                NA, f"{name}: {n} of its {seen[name]} days have a {horizon}-day return, < {MIN_DAYS}")
        elif len(values) - n < MIN_DAYS:
            verdict = Verdict(NA, f"other phases seen on {len(values) - n} days < {MIN_DAYS}")
        elif windows[name] < MIN_DAYS:
            verdict = Verdict(NA, f"{name}: {windows[name]} separate {horizon}-day "
                                f"window{'' if windows[name] == 1 else 's'} < {MIN_DAYS}")
        elif name not in tested:
            verdict = Verdict(NA, f"{name}: odds undefined (too few losing days)")
        elif q[name] < st.ALPHA:
            verdict = Verdict(HOLDS) if tested[name].value > 0 else Verdict(FAILS, f"{name} below the rest")
        else:
            verdict = Verdict(NOT_DISTINGUISHABLE)
        out[name] = PhaseTest(name, target, horizon, measure, n, own.get(name),
                              ranking.index(name) + 1 if name in ranking else None, len(ranking), tested.get(name),
                              q.get(name), verdict)
    return out


def _difference(t: PhaseTest) -> str:
    d = t.difference
    if t.measure == "odds":
        return f"{d.value:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"
    scale, digits = (100, 2) if t.measure == "mean" else (100, 0)
    return f"{d.value * scale:+.{digits}f} pp [{d.low * scale:+.{digits}f}, {d.high * scale:+.{digits}f}]"


def _phase_text(t: PhaseTest) -> str:
    if t.difference is None:
        return f"{t.phase} n/a ({t.verdict.reason.replace(t.phase + ' ', '')})"
    return f"{t.phase} #{t.rank}/{t.ranked}, {_difference(t).split(' [')[0]} vs rest (q = {t.q_value:.2g})"


@dataclass(frozen=True)
class PhaseClaim:
    claim: str
    target: str
    horizons: tuple[int, ...]
    measures: tuple[str, ...]
    phases: tuple[str, ...]
    reading: str = ""  # how a word of the claim is read, where it is not plain


# Each: the named phases beat the other phases' days at every horizon and measure the claim names ("胜率与赔率"
# = win rate and odds; "表现较好" and "较强" = the mean return).
PHASE_CLAIMS = (
    PhaseClaim("冰点低迷期、混沌活跃期、高潮分化期的涨停股次日表现较好", "limit_ups", (1,), ("mean",),
               ("冰点低迷期", "混沌活跃期", "高潮分化期"), "通常…较好 read as a higher mean"),
    PhaseClaim("全A:混沌活跃期和冰点蓄势期短期占优", "all_a", (1, 5), ("win rate", "odds"), ("混沌活跃期", "冰点蓄势期")),
    PhaseClaim("全A:高潮亢奋期中长期胜率与赔率更佳", "all_a", (10, 20), ("win rate", "odds"), ("高潮亢奋期",)),
    PhaseClaim("中证2000:主线加速期与冰点蓄势期短期胜率较高", "csi2000", (1, 5), ("win rate",), ("主线加速期", "冰点蓄势期")),
    # the 20-day path's strength = its end, the mean 20-day return
    PhaseClaim("20 日平均走势:混沌降温期、混沌拉锯期、主线分歧期、主线稳健期较强", "all_a", (20,), ("mean",),
               ("混沌降温期", "混沌拉锯期", "主线分歧期", "主线稳健期"), "the path's strength read as its day-20 end"),
)


def claim_phases(days: pl.DataFrame, spec: PhaseClaim, cache: dict) -> tuple[ClaimResult, list[PhaseTest]]:
    test = (f"{' and '.join(spec.measures)} at {'/'.join(map(str, spec.horizons))} d, each phase vs the other phases' "
            "days: Newey–West lags h−1, t with the smaller side's days − 1 df"
            + (" (odds: block bootstrap)" if "odds" in spec.measures else "")
            + "; BH over the phases; holds if all higher at q < 0.05" + (f" ({spec.reading})" if spec.reading else ""))
    if days[TARGETS[spec.target].format(h=spec.horizons[0])].is_null().all():
        why = "no CSI 2000 series stored" if spec.target == "csi2000" else f"no {TARGET_NAMES[spec.target]} series"
        return ClaimResult.of(spec.claim, why, test, Verdict(NA, why)), []
    tests, measured = [], []
    for horizon in spec.horizons:
        for measure in spec.measures:
            key = (spec.target, horizon, measure)
            if key not in cache:
                cache[key] = compare_phases(days, *key)
            found = [cache[key][p] for p in spec.phases]
            tests += found
            label = "mean return" if measure == "mean" else measure
            measured.append(f"{horizon} d {label}: " + "; ".join(map(_phase_text, found)))
    return ClaimResult.of(spec.claim, " · ".join(measured), test, all_of(t.verdict for t in tests)), tests


# -------------------------------------------------------------------------------------------------- output


def evaluate(days: pl.DataFrame) -> tuple[list[ClaimResult], list[PhaseTest]]:
    """Every claim of note 000 on `days` (load_days' frame), in the note's order, and the phase tests."""
    results = [claim_bull_height(days), claim_bull_rate(days), claim_weaker_regimes(days),
               claim_bull_correlation(days), claim_correlation_fades(days), claim_no_all_a_correlation(days)]
    cache, phase_tests = {}, []
    for spec in PHASE_CLAIMS:
        result, tests = claim_phases(days, spec, cache)
        results.append(result)
        phase_tests += tests
    return results, phase_tests


def _frame(results: list[ClaimResult]) -> pl.DataFrame:
    return pl.DataFrame([{"claim": r.claim, "measured": r.measured, "test": r.test, "verdict": r.verdict}
                         for r in results])


def measure(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per claim: claim, measured, test, verdict."""
    return _frame(evaluate(load_days(conn))[0])


def robustness(days: pl.DataFrame, widened: pl.DataFrame | None,
               overall: list[ClaimResult] | None = None) -> pl.DataFrame:
    """The verdicts over all days, per calendar year, and with the new listings' opening runs counted."""
    columns = {"all days": overall or evaluate(days)[0]}
    for year in sorted(days["trade_date"].dt.year().unique().to_list()):
        columns[str(year)] = evaluate(days.filter(pl.col("trade_date").dt.year() == year))[0]
    if widened is not None:
        columns["with new listings' opening runs"] = evaluate(widened)[0]
    rows = [{"claim": r.claim} for r in columns["all days"]]
    for name, results in columns.items():
        for row, result in zip(rows, results):
            row[name] = result.short
    return pl.DataFrame(rows)


def _table(frame: pl.DataFrame, header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("–" if v is None else str(v).replace("|", "\\|") for v in row) + " |"
              for row in frame.iter_rows()]
    return "\n".join(lines)


def markdown(table: pl.DataFrame) -> str:
    columns = ["claim", "measured", "test", "verdict"]
    return _table(table.select(columns), ["note 000 says", "measured", "test", "verdict"])


def phase_table(tests: list[PhaseTest]) -> pl.DataFrame:
    def value(t: PhaseTest) -> str | None:
        if t.value is None or not np.isfinite(t.value):
            return None
        return {"odds": f"{t.value:.2f}", "mean": f"{t.value:.2%}"}.get(t.measure, f"{t.value:.0%}")

    return pl.DataFrame([{
        "phase": t.phase, "target": TARGET_NAMES[t.target], "horizon": f"{t.horizon} d", "measure": t.measure,
        "days": t.days, "value": value(t), "rank": f"#{t.rank}/{t.ranked}" if t.rank else None,
        "vs rest [95% CI]": _difference(t) if t.difference else None,
        "p": f"{t.difference.p_value:.2g}" if t.difference else None,
        "q (BH)": f"{t.q_value:.2g}" if t.q_value is not None else None, "verdict": str(t.verdict)}
        for t in tests], schema_overrides={"days": pl.Int64})


def main(argv: list[str] | None = None) -> int:
    from sentiment_pipeline.platform.resources import database_path

    args = sys.argv[1:] if argv is None else argv
    with duckdb.connect(args[0] if args else database_path(), read_only=True) as conn:
        days = load_days(conn)
        widened = with_new_listings(conn, days)
    results, tests = evaluate(days)
    by = robustness(days, widened, results)
    print(provenance(days))
    print(f"universe: the stored ladder's eligible stocks; verdicts at α = {st.ALPHA}; n/a below {MIN_DAYS} "
          "days\n")
    print(markdown(_frame(results)))
    print(f"\nNot tested: {UNTESTED}")
    print("\nVerdicts per calendar year and per universe"
          + ("" if widened is not None else " (the stored ladder excludes no opening run: one universe)") + "\n")
    print(_table(by, ["note 000 says", *by.columns[1:]]))
    print("\nThe named phases against the other phases' days (value: the phase's own; rank among phases with "
          f"≥ {MIN_DAYS} days)\n")
    phases = phase_table(tests)
    print(_table(phases, phases.columns) if tests else "no phase tested")
    return 0


if __name__ == "__main__":
    from sentiment_pipeline.platform.commands import run_main

    raise SystemExit(run_main(main))
