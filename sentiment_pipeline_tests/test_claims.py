"""Note 000's claims (research/claims.py) and their statistics (research/statistics.py) on hand-built daily data
whose verdict is known: each test at its threshold's boundary, and one run of the command on a small database."""

from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
import sys

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.regression.linear_model import OLS

from sentiment_pipeline.ladder.phases import classify_phases
from sentiment_pipeline.ladder.streaks import compute_ladder, empty_seed, ladder_daily
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.research import claims, rules
from sentiment_pipeline.research import statistics as st

FWD = [f"{i}_fwd_{h}" for i in ("all_a", "csi2000") for h in rules.HORIZONS]
STATUSES = (claims.HOLDS, claims.FAILS, claims.NA, claims.NOT_SHOWN, claims.NOT_REJECTED, claims.NOT_DISTINGUISHABLE)


def trading_days(first: dt.date, n: int) -> list[dt.date]:
    return [d for d in calendar.trading_days() if d >= first][:n]


def make_days(n: int, first: dt.date = dt.date(2019, 1, 2), **columns) -> pl.DataFrame:
    """load_days' frame: n trading days from `first` with their default regime; columns not given are null."""
    frame = pl.DataFrame({"trade_date": trading_days(first, n)}).with_columns(
        regime=rules.regime_of(pl.col("trade_date")))
    defaults = {"max_height": pl.Int32, "promotion_rate": pl.Float64, "phase_name": pl.String,
                "limit_up_next_day_return": pl.Float64, **{c: pl.Float64 for c in FWD}}
    return frame.with_columns(pl.Series(name, columns[name], dtype=dtype) if name in columns
                              else pl.lit(None, dtype).alias(name) for name, dtype in defaults.items())


def regimes(**parts: pl.DataFrame) -> pl.DataFrame:
    """Frames labelled by regime, one after the other in time (the labels, not the dates, make the regime)."""
    days = trading_days(dt.date(2000, 1, 4), sum(f.height for f in parts.values()))
    out, start = [], 0
    for regime, frame in parts.items():
        out.append(frame.with_columns(trade_date=pl.Series(days[start:start + frame.height]), regime=pl.lit(regime)))
        start += frame.height
    return pl.concat(out)


def correlated(n: int, r: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y with a sample Pearson correlation of exactly r (y's noise made orthogonal to x)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.6, n)
    noise = rng.normal(size=n)
    xc = x - x.mean()
    noise = noise - noise.mean() - (noise @ xc) / (xc @ xc) * xc
    y = r * xc / xc.std() + math.sqrt(1 - r * r) * noise / noise.std()
    return x, 0.01 * y


# -------------------------------------------------------------------------------------------- statistics


def test_hac_mean_and_difference_are_statsmodels_newey_west():
    rng = np.random.default_rng(1)
    y = np.convolve(rng.normal(size=205), np.ones(5), "valid")  # overlapping 5-day sums: MA(4)
    fit = OLS(y, np.ones((len(y), 1))).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    mean = st.hac_mean(y, 4, null=0.0)
    assert mean.value == pytest.approx(fit.params[0]) and mean.se == pytest.approx(fit.bse[0])
    # statsmodels' z, read against Student's t with n − 1 degrees of freedom
    assert mean.p_value == pytest.approx(2 * stats.t.sf(abs(fit.tvalues[0]), len(y) - 1))
    crit = stats.t.ppf(0.975, len(y) - 1)
    half = crit * fit.bse[0]
    assert (mean.low, mean.high) == pytest.approx((fit.params[0] - half, fit.params[0] + half))
    assert st.hac_mean(y, 4, null=0.5).p_value == pytest.approx(
        2 * stats.t.sf(abs(y.mean() - 0.5) / fit.bse[0], len(y) - 1))
    group = np.zeros(len(y), dtype=bool)
    group[50:90] = True
    fit = OLS(y, np.column_stack([np.ones(len(y)), group])).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    diff = st.hac_difference(y, group, 4)
    assert diff.value == pytest.approx(y[group].mean() - y[~group].mean())
    assert diff.se == pytest.approx(fit.bse[1])
    assert diff.p_value == pytest.approx(2 * stats.t.sf(abs(fit.tvalues[1]), 40 - 1))  # the smaller side: 40 days
    # the overlap is allowed for: the HAC error exceeds the one that assumes independent days
    assert diff.se > st.hac_difference(y, group, 0).se


def test_hac_on_a_constant_series_is_exact():
    assert st.hac_mean(np.ones(10), 3, null=0.5) == st.Estimate(1.0, 0.0, 1.0, 1.0, 0.0, 10)
    assert st.hac_mean(np.full(10, 0.5), 3, null=0.5).p_value == 1.0


@pytest.mark.parametrize("n, lags", [(0, 0), (50, 3), (100, 4), (215, 4), (500, 5)])
def test_newey_west_rule_of_thumb(n, lags):
    assert st.newey_west_lags(n) == lags


def test_fisher_z_difference_by_hand():
    first, second = (st.Correlation("pearson", r, 0.0, n, 0, 0, 0, 0) for r, n in ((0.5, 103), (0.2, 53)))
    z = (0.5 * math.log(1.5 / 0.5) - 0.5 * math.log(1.2 / 0.8)) / math.sqrt(1 / 100 + 1 / 50)
    assert z == pytest.approx(2.000944, abs=1e-6)  # 0.346574 / 0.173205
    assert st.fisher_z_difference(first, second) == pytest.approx((z, 2 * (1 - stats.norm.cdf(z))))
    spearman = [st.Correlation("spearman", c.r, 0.0, c.n, 0, 0, 0, 0) for c in (first, second)]
    assert st.fisher_z_difference(*spearman)[0] == pytest.approx(z / math.sqrt(1.06))
    with pytest.raises(ValueError):
        st.fisher_z_difference(first, spearman[1])


def test_correlation_intervals_are_fisher_z_and_scipy():
    x, y = correlated(200, 0.3, seed=2)
    c = st.correlation(x, y, "pearson", serial=False)  # independent pairs: n_eff = n, SciPy's own figures
    scipy_ci = stats.pearsonr(x, y).confidence_interval(0.95)
    assert c.r == pytest.approx(0.3) and (c.low, c.high) == pytest.approx((scipy_ci.low, scipy_ci.high))
    assert (c.low90, c.high90) == pytest.approx(tuple(stats.pearsonr(x, y).confidence_interval(0.90)))
    assert c.p_value == pytest.approx(stats.pearsonr(x, y).pvalue) and c.n_eff == 200
    s = st.correlation(x, y, "spearman", serial=False)
    assert s.r == pytest.approx(stats.spearmanr(x, y).statistic)
    # Spearman's p from the same Fisher z as its interval (variance 1.06 / (n − 3)): p < 0.05 ⟺ 0 outside it
    assert s.p_value == pytest.approx(2 * stats.norm.sf(abs(math.atanh(s.r)) / math.sqrt(1.06 / 197)))
    half = 1.959964 * math.sqrt(1.06 / 197)
    assert (s.low, s.high) == pytest.approx((math.tanh(math.atanh(s.r) - half), math.tanh(math.atanh(s.r) + half)))
    assert st.correlation(x[:3], y[:3], "pearson") is None and st.correlation(np.ones(9), y[:9], "pearson") is None


def test_effective_pairs_by_hand():
    # n = 100, both autocorrelations 1, 0.5, 0.25: 1/n_eff = 0.01 + 0.02 (0.99 · 0.25 + 0.98 · 0.0625) = 0.016175
    acf = np.array([1.0, 0.5, 0.25])
    assert st.effective_pairs(100, acf, acf) == pytest.approx(1 / 0.016175)
    assert st.effective_pairs(100, acf, np.array([1.0, -0.5, 0.0])) == 100  # never more pairs than days
    assert st.effective_pairs(10, np.ones(9), np.ones(9)) == st.MIN_EFFECTIVE_PAIRS  # Fisher's z needs n − 3 > 0
    assert st.effective_pairs(100, acf, np.array([1.0])) == 100  # no lag given: independent


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(n + 100)
    x = np.zeros(n + 100)
    for i in range(1, n + 100):
        x[i] = phi * x[i - 1] + noise[i]
    return x[100:]


def test_persistent_series_are_not_over_trusted():
    """Two independent AR(1) series with φ = 0.8 (a promotion rate persists like this): the textbook test calls
    about a third of them correlated at 5%; on the effective number of pairs the rate is near 5%, and n_eff is
    near Bartlett's n (1 − φ²)/(1 + φ²) = 44 of 200 days. White noise keeps its n."""
    rng = np.random.default_rng(0)
    naive = corrected = 0
    pairs = []
    for _ in range(400):
        x, y = ar1(200, 0.8, rng), ar1(200, 0.8, rng)
        naive += st.correlation(x, y, "pearson", serial=False).p_value < 0.05
        c = st.correlation(x, y, "pearson")
        corrected += c.p_value < 0.05
        pairs.append(c.n_eff)
    assert naive / 400 > 0.25 and corrected / 400 < 0.09
    assert 35 < np.mean(pairs) < 65
    white = st.correlation(rng.standard_normal(300), rng.standard_normal(300), "spearman")
    assert white.n_eff > 250


def test_benjamini_hochberg_on_known_p_values():
    assert st.benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05] * 5)
    assert st.benjamini_hochberg([0.001, 0.01, 0.04, 0.3]) == pytest.approx([0.004, 0.02, 0.04 * 4 / 3, 0.3])
    assert st.benjamini_hochberg([0.3, 0.001]) == pytest.approx([0.3, 0.002])  # order kept
    assert st.benjamini_hochberg([]) == []


def test_odds_is_mean_gain_over_mean_loss():
    assert st.odds(np.array([0.02, -0.01, 0.04, -0.03])) == pytest.approx(1.5)
    assert st.odds(np.array([-0.01, -0.02])) == 0.0
    assert np.isnan(st.odds(np.array([0.01, 0.02])))
    assert st.odds(np.array([[0.02, -0.01], [0.03, -0.01]])) == pytest.approx([2.0, 3.0])


def test_block_bootstrap_of_a_difference_of_odds():
    rng = np.random.default_rng(3)
    better = np.where(rng.random(120) < 0.5, 0.03, -0.01) * rng.uniform(0.5, 1.5, 120)  # odds ≈ 3
    worse = np.where(rng.random(400) < 0.5, 0.01, -0.01) * rng.uniform(0.5, 1.5, 400)  # odds ≈ 1
    found = st.block_bootstrap_difference(better, worse, st.odds, horizon=5)
    assert found.value == pytest.approx(st.odds(better) - st.odds(worse))
    assert found.low > 0 and found.p_value < 0.05
    assert found == st.block_bootstrap_difference(better, worse, st.odds, horizon=5)  # seeded
    same = st.block_bootstrap_difference(worse[:200], worse[200:], st.odds, horizon=5)
    assert same.low < 0 < same.high and same.p_value > 0.05
    assert st.block_bootstrap_difference(np.full(10, 0.01), worse, st.odds, horizon=5) is None  # no loss


@pytest.mark.parametrize("n, horizon, block", [(400, 1, 5), (400, 20, 20), (40, 20, 10), (5, 5, 1)])
def test_bootstrap_block_covers_the_overlap_but_leaves_several_blocks(n, horizon, block):
    assert st.bootstrap_block(n, horizon) == block


def test_statsmodels_is_not_imported_with_the_claims_module():
    code = "import sys, sentiment_pipeline.research.claims; print('statsmodels' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# ----------------------------------------------------------------------------------------- verdict logic


@pytest.mark.parametrize("n, verdict", [(0, "n/a (no 冰点低迷期 days)"), (1, "n/a (冰点低迷期 seen on 1 day < 5)"),
                                        (4, "n/a (冰点低迷期 seen on 4 days < 5)"), (5, None)])
def test_too_few_days_is_na_below_five(n, verdict):
    found = claims.too_few("冰点低迷期", n)
    assert (str(found) if found else None) == verdict


def test_parts_combine_failure_first_then_na_then_undecided():
    V = claims.Verdict
    holds, fails, na = V(claims.HOLDS), V(claims.FAILS, "x"), V(claims.NA, "y")
    undecided = V(claims.NOT_DISTINGUISHABLE)
    assert claims.all_of([holds, na, fails]) == V(claims.FAILS, "x")
    assert claims.all_of([holds, undecided, na]) == V(claims.NA, "y")
    assert claims.all_of([holds, undecided]) == undecided and claims.all_of([holds, holds]) == holds
    text, short = claims.per_method({"pearson": holds, "spearman": V(claims.FAILS)})
    assert text == short == "holds (Pearson) / does not hold (Spearman)"
    assert claims.per_method({"pearson": na, "spearman": na}) == ("n/a (y)", "n/a (y)")


def test_positive_correlation_holds_is_ruled_out_or_not_shown():
    strong = st.correlation(*correlated(100, 0.4, seed=4), "pearson")
    assert claims._positive(strong).status == claims.HOLDS
    # r = 0 exactly at n = 400: the 90% interval's upper end (+0.08) is below 0.10 — ruled out, not just unshown
    zero = st.correlation(*correlated(400, 0.0, seed=4), "pearson")
    assert zero.high90 < claims.NEGLIGIBLE_R and claims._positive(zero).status == claims.FAILS
    small = st.correlation(*correlated(60, 0.0, seed=4), "pearson")
    assert claims._positive(small).status == claims.NOT_SHOWN
    negative = st.correlation(*correlated(100, -0.4, seed=4), "pearson")
    assert claims._positive(negative) == claims.Verdict(claims.FAILS, "r < 0")


def test_absence_of_correlation_needs_equivalence_not_a_large_p_value():
    zero = st.correlation(*correlated(400, 0.0, seed=5), "pearson")
    assert claims._absent(zero, zero.p_value).status == claims.HOLDS  # 90% CI inside ±0.10
    small = st.correlation(*correlated(60, 0.0, seed=5), "pearson")
    assert small.p_value > 0.9 and claims._absent(small, small.p_value) == claims.Verdict(claims.NOT_REJECTED, "n = 60")
    assert claims._absent(small, 0.049).status == claims.FAILS


# ---------------------------------------------------------------------------------------- regime claims


@pytest.mark.parametrize("n, verdict", [(4, "n/a (bull seen on 4 days < 5)"), (5, "holds")])
def test_bull_height_na_at_four_days_verdict_at_five(n, verdict):
    assert claims.claim_bull_height(make_days(n, max_height=[6] * n)).verdict == verdict


def test_bull_height_median_in_five_to_seven():
    rng = np.random.default_rng(6)
    around = make_days(300, max_height=rng.choice([5, 6, 7], 300).tolist())
    assert claims.claim_bull_height(around).verdict == "holds"
    low = claims.claim_bull_height(make_days(300, max_height=rng.choice([3, 4, 5], 300, p=[.4, .4, .2]).tolist()))
    assert low.verdict == "does not hold (median < 5)"
    assert low.measured.startswith("bull: mode 3, median 4, ≥ 5 on 2")
    even = make_days(300, max_height=[4, 5] * 150)  # ≥ 5 on exactly half the days
    assert claims.claim_bull_height(even).verdict == "not shown"  # a claimed effect neither shown nor ruled out


def test_bull_rate_above_25_percent_on_most_days():
    high = make_days(200, promotion_rate=[0.3] * 160 + [0.2] * 40)
    assert claims.claim_bull_rate(high).verdict == "holds"
    low = make_days(200, promotion_rate=[0.3] * 40 + [0.2] * 160)
    assert claims.claim_bull_rate(low).verdict == "does not hold (median rate ≤ 25%)"
    # 25% itself is not above 25%
    assert claims.claim_bull_rate(make_days(50, promotion_rate=[0.25] * 50)).verdict.startswith("does not hold")


def test_range_and_bear_mostly_five_and_below_bull():
    rng = np.random.default_rng(7)

    def market(heights, rates, n=150):
        return make_days(n, max_height=rng.choice(heights[0], n, p=heights[1]).tolist(),
                         promotion_rate=rng.normal(rates, 0.03, n).tolist())

    bull = market(([6, 7, 8], [.3, .4, .3]), 0.30)
    five = ([4, 5, 6], [.2, .6, .2])
    result = claims.claim_weaker_regimes(regimes(bull=bull, range=market(five, 0.20), bear=market(five, 0.15)))
    assert result.verdict == "holds", result.measured
    assert "range (150 days): mode 5 (" in result.measured
    # a bear market whose commonest height is 3 breaks "多为 5 板", even with rate and height below the bull's
    threes = market(([3, 5], [.7, .3]), 0.15)
    result = claims.claim_weaker_regimes(regimes(bull=bull, range=market(five, 0.20), bear=threes))
    assert result.verdict == "does not hold (bear: 3 more frequent than 5)"
    # no bear days: n/a, not "does not hold"
    result = claims.claim_weaker_regimes(regimes(bull=bull, range=market(five, 0.20)))
    assert result.verdict == "n/a (no bear days)"


# ----------------------------------------------------------------------------------- correlation claims


def correlation_days(bull: tuple, range_: tuple | None = None, bear: tuple | None = None,
                     column: str = "limit_up_next_day_return") -> pl.DataFrame:
    parts = {}
    for regime, pair in (("bull", bull), ("range", range_), ("bear", bear)):
        if pair is not None:
            parts[regime] = make_days(len(pair[0]), promotion_rate=pair[0].tolist(), **{column: pair[1].tolist()})
    return regimes(**parts)


def test_a_verdict_that_depends_on_the_method_says_so():
    x, y = correlated(120, 0.5, seed=8)
    y[np.argmax(x)] = -1.0  # one crash on the highest-rate day: Pearson turns negative, the ranks barely move
    result = claims.claim_bull_correlation(correlation_days((x, y)))
    assert "(Pearson" in result.verdict and result.verdict.endswith("holds (Spearman)"), result.verdict
    assert result.measured.startswith("bull: Pearson r = ") and "Spearman ρ = " in result.measured


def test_two_spells_of_a_regime_at_different_levels_make_no_correlation():
    # The bull market in two spells (as 2019–21 and 2024–25), a range between them; within each spell rate and
    # next-day return are independent, but the second spell has both a higher rate and a higher return. Pooled
    # raw, r ≈ +0.7 from two points; each spell less its mean, nothing.
    rng = np.random.default_rng(23)
    spells = []
    for regime, n, rate, ret in (("bull", 150, 0.20, 0.00), ("range", 60, 0.25, 0.0), ("bull", 150, 0.40, 0.02)):
        spells.append(make_days(n, promotion_rate=(rate + 0.02 * rng.standard_normal(n)).tolist(),
                                limit_up_next_day_return=(ret + 0.01 * rng.standard_normal(n)).tolist())
                      .with_columns(regime=pl.lit(regime)))
    days = pl.concat(spells).with_columns(trade_date=pl.Series(trading_days(dt.date(2000, 1, 4), 360)))
    raw = days.filter(pl.col("regime") == "bull")
    assert stats.pearsonr(raw["promotion_rate"], raw["limit_up_next_day_return"]).statistic > 0.6
    result = claims.claim_bull_correlation(days)
    assert "holds" not in result.verdict.replace("does not hold", ""), result.measured  # by neither method
    assert re.search(r"Pearson r = [+-]0\.0\d", result.measured), result.measured


def test_correlation_weakens_in_range_and_disappears_in_bear():
    days = correlation_days(correlated(300, 0.5, seed=9), correlated(300, 0.2, seed=10), correlated(1500, 0.0, seed=11))
    result = claims.claim_correlation_fades(days)
    assert result.verdict == "holds", result.measured
    assert "vs bull z = +" in result.measured


def test_no_bull_correlation_to_weaken_and_a_negative_bear_correlation_do_not_hold():
    # the case: bull r ≈ 0, a range r below it, a significant negative bear r
    days = correlation_days(correlated(400, 0.0, seed=12), correlated(200, -0.13, seed=13),
                            correlated(130, -0.22, seed=14))
    verdict = claims.claim_correlation_fades(days).verdict
    assert verdict.startswith("does not hold") and "no bull correlation to weaken" in verdict
    assert "bear r = -0.22 ≠ 0" in verdict


def test_weakening_needs_a_significant_difference_of_correlations():
    # bull 0.30 → range 0.25 at n = 200 each: z ≈ 0.55, not a weakening the data can show
    days = correlation_days(correlated(200, 0.3, seed=15), correlated(200, 0.25, seed=16),
                            correlated(1500, 0.0, seed=17))
    assert claims.claim_correlation_fades(days).verdict == "not distinguishable"
    # bear with too few days: n/a, whatever the others say
    days = correlation_days(correlated(300, 0.5, seed=9), correlated(300, 0.2, seed=10), correlated(4, 0.0, seed=18))
    assert claims.claim_correlation_fades(days).verdict == "n/a (bear seen on 4 days < 5)"


def test_absence_of_all_a_correlation_by_equivalence_with_bh_over_regimes():
    zero = [correlated(1500, 0.0, seed=s) for s in (19, 20, 21)]
    assert claims.claim_no_all_a_correlation(correlation_days(*zero, column="all_a_fwd_1")).verdict == "holds"
    few = [correlated(150, 0.0, seed=s) for s in (19, 20, 21)]
    verdict = claims.claim_no_all_a_correlation(correlation_days(*few, column="all_a_fwd_1")).verdict
    assert verdict.startswith("not rejected (r inside ±0.10 not shown: bull n = 150, range n = 150")
    strong = [correlated(150, 0.4, seed=22), *few[1:]]
    verdict = claims.claim_no_all_a_correlation(correlation_days(*strong, column="all_a_fwd_1")).verdict
    assert verdict.startswith("does not hold (") and "bull: r = +0.40" in verdict
    # p = 0.03 in one regime out of three is not enough after Benjamini–Hochberg (q = 0.09)
    target = stats.norm.isf(0.015) / math.sqrt(150)  # r with p ≈ 0.03 at n = 150
    borderline = [correlated(150, target, seed=24), few[1], few[2]]
    found = claims.claim_no_all_a_correlation(correlation_days(*borderline, column="all_a_fwd_1"))
    assert "bull r = " in found.measured and "p = 0.03" in found.measured
    assert found.verdict.startswith("not rejected")


# ----------------------------------------------------------------------------------------- phase claims


def phase_days(phases: list[str | None], returns: np.ndarray, horizon_column: str = "limit_up_next_day_return"):
    return make_days(len(phases), phase_name=phases, **{horizon_column: returns.tolist()})


def test_phase_na_at_four_days_and_a_verdict_at_five():
    rng = np.random.default_rng(25)
    for seen, verdict in ((4, "n/a (冰点低迷期 seen on 4 days < 5)"), (5, "not distinguishable")):
        phases = ["冰点低迷期"] * seen + ["混沌降温期"] * 100
        found = claims.compare_phases(phase_days(phases, rng.normal(0, 0.01, len(phases))), "limit_ups", 1, "mean")
        assert str(found["冰点低迷期"].verdict) == verdict
        assert found["高潮亢奋期"].verdict == claims.Verdict(claims.NA, "no 高潮亢奋期 days")


def test_a_phase_whose_days_lack_the_longer_return_says_so():
    rng = np.random.default_rng(29)
    phases = ["冰点低迷期"] * 6 + ["混沌降温期"] * 100
    returns = rng.normal(0, 0.01, 106)
    days = phase_days(phases, returns, "all_a_fwd_5").with_columns(
        pl.when(pl.int_range(pl.len()) < 2).then(None).otherwise(pl.col("all_a_fwd_5")).alias("all_a_fwd_5"))
    found = claims.compare_phases(days, "all_a", 5, "mean")["冰点低迷期"]
    assert str(found.verdict) == "n/a (冰点低迷期: 4 of its 6 days have a 5-day return, < 5)"


def test_separate_windows_by_hand():
    assert st.separate_windows(np.arange(10), 5) == 2  # days 0 and 5
    assert st.separate_windows(np.array([0, 20, 40, 60, 80]), 20) == 5
    assert st.separate_windows(np.array([0, 19, 39, 58]), 20) == 2  # 0, then 39 (19 shares day 19 with 0's window)
    assert st.separate_windows(np.arange(7), 1) == 7 and st.separate_windows(np.array([], dtype=int), 20) == 0


def test_a_phase_of_consecutive_days_is_few_observations_at_long_horizons():
    # 12 consecutive days of one phase: twelve 1-day observations, but their 20-day windows overlap: one
    # observation, n/a; spread over the history (a day every 25), the same 12 days are tested.
    rng = np.random.default_rng(31)
    for spread, horizon, verdict in ((False, 20, "n/a (冰点低迷期: 1 separate 20-day window < 5)"),
                                     (False, 1, "not distinguishable"), (True, 20, "not distinguishable")):
        phases = ["混沌降温期"] * 300
        for i in range(12):
            phases[i * 25 if spread else 100 + i] = "冰点低迷期"
        column = "limit_up_next_day_return" if horizon == 1 else f"all_a_fwd_{horizon}"
        days = phase_days(phases, rng.normal(0, 0.01, 300), column)
        target = "limit_ups" if horizon == 1 else "all_a"
        assert str(claims.compare_phases(days, target, horizon, "mean")["冰点低迷期"].verdict) == verdict


def test_a_better_phase_holds_after_benjamini_hochberg_with_a_newey_west_error():
    rng = np.random.default_rng(26)
    names = ["冰点低迷期", "混沌降温期", "混沌拉锯期", "主线分歧期"]
    phases = [names[i % 4] for i in range(400)]
    returns = rng.normal(0, 0.01, 400) + np.array([0.01 if p == "冰点低迷期" else 0 for p in phases])
    days = phase_days(phases, returns, "all_a_fwd_5")
    found = claims.compare_phases(days, "all_a", 5, "mean")
    best = found["冰点低迷期"]
    assert best.verdict.status == claims.HOLDS and best.rank == 1 and best.ranked == 4
    mine = np.array(phases) == "冰点低迷期"
    fit = OLS(returns, np.column_stack([np.ones(400), mine])).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    assert best.difference.se == pytest.approx(fit.bse[1])  # lags = horizon − 1
    raw = [found[n].difference.p_value for n in names]
    assert [found[n].q_value for n in names] == pytest.approx(st.benjamini_hochberg(raw))
    worst = claims.compare_phases(days.with_columns(-pl.col("all_a_fwd_5")), "all_a", 5, "mean")["冰点低迷期"]
    assert worst.verdict == claims.Verdict(claims.FAILS, "冰点低迷期 below the rest")


def test_win_rate_and_odds_are_both_tested_for_the_short_term_claim():
    rng = np.random.default_rng(27)
    names = ["混沌活跃期", "冰点蓄势期", "混沌降温期", "主线分歧期"]
    phases = [names[i % 4] for i in range(800)]
    good = np.isin(phases, names[:2])
    # the two named phases win as often as the others but win bigger: win rate even, odds higher
    up = rng.random(800) < 0.5
    returns = np.where(up, np.where(good, 0.03, 0.01), -0.01) * rng.uniform(0.8, 1.2, 800)
    days = make_days(800, phase_name=phases, **{f"all_a_fwd_{h}": returns.tolist() for h in (1, 5)})
    result, tests = claims.claim_phases(days, claims.PHASE_CLAIMS[1], {})
    assert {(t.horizon, t.measure) for t in tests} == {(1, "win rate"), (1, "odds"), (5, "win rate"), (5, "odds")}
    assert all(t.verdict.status == claims.HOLDS for t in tests if t.measure == "odds")
    assert result.verdict == "not distinguishable"  # the win rate part is not shown
    assert "1 d win rate: 混沌活跃期 #" in result.measured and "5 d odds: " in result.measured


def test_claim_without_a_csi2000_series_is_na():
    days = make_days(30, phase_name=["冰点蓄势期"] * 30)
    result, tests = claims.claim_phases(days, claims.PHASE_CLAIMS[3], {})
    assert (result.measured, result.verdict, tests) == ("no CSI 2000 series stored", "n/a (no CSI 2000 series stored)",
                                                         [])


# -------------------------------------------------------------------------------------------- the command


def small_database(path, with_source: bool) -> None:
    """Two years of a small market (2020-11 → 2021-03: bull then range), built through the ladder's own rules, with
    one new listing whose opening run of limit-ups the stored universe leaves out."""
    rng = np.random.default_rng(28)
    days = trading_days(dt.date(2020, 11, 2), 90)
    codes = [f"{600000 + i:06d}" for i in range(40)]
    rows = []
    for code in codes:
        close = 10.0
        for i, day in enumerate(days):
            up = rng.random() < 0.12 + 0.5 * (i % 7 < 3)  # runs of limit-ups
            pre, close = close, round(close * (1.1 if up else rng.uniform(0.95, 1.04)), 2)
            rows.append({"trade_date": day, "code": code, "pre_close": pre, "close": close, "is_limit_up": up,
                         "is_st": False, "listing_age": 100 + i})
    new = "688001"  # listed on day 10, limit-up on its first six days
    for i, day in enumerate(days[10:]):
        rows.append({"trade_date": day, "code": new, "pre_close": 20.0 * 1.1 ** max(i - 1, 0),
                     "close": 20.0 * 1.1 ** min(i, 6), "is_limit_up": i < 6, "is_st": False, "listing_age": i + 1})
    bars = (pl.DataFrame(rows).sort("trade_date", "code")
            .with_columns(is_broken=pl.lit(False), is_limit_down=pl.lit(False),
                          pct_change=pl.col("close") / pl.col("pre_close") - 1))
    ladder = compute_ladder(bars, empty_seed())
    daily = ladder_daily(ladder, calendar.previous_day_links())
    phases = classify_phases(daily)
    next_day = rules.limit_up_next_day(ladder, bars)
    market = (pl.DataFrame({"trade_date": days}).with_columns(regime=rules.regime_of(pl.col("trade_date")))
              .join(next_day, on="trade_date", how="left")
              .with_columns(pl.lit(None, pl.Float64).alias(c) for c in FWD))
    returns = rng.normal(0, 0.01, len(days))
    for h in rules.HORIZONS:
        market = market.with_columns(pl.Series(f"all_a_fwd_{h}", [
            float(np.prod(1 + returns[i + 1:i + 1 + h]) - 1) if i + h < len(days) else None for i in range(len(days))]))
    if with_source:
        market = market.with_columns(source=pl.lit("synthetic"))
    with duckdb.connect(str(path)) as conn:
        for schema in ("research", "sentiment", "core"):
            conn.execute(f"create schema {schema}")
        for table, frame in (("research.market_daily", market), ("sentiment.phase_daily", phases),
                             ("sentiment.ladder_daily", daily), ("sentiment.limit_ladder", ladder),
                             ("core.daily_bars", bars)):
            conn.register("frame", frame.to_arrow())
            conn.execute(f"create table {table} as select * from frame")
            conn.unregister("frame")


@pytest.mark.parametrize("with_source, source", [(True, "synthetic"), (False, "unknown")])
def test_main_prints_provenance_claims_robustness_and_phase_tests(tmp_path, capsys, with_source, source):
    db = tmp_path / "small.duckdb"
    small_database(db, with_source)
    assert claims.main([str(db)]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    last = trading_days(dt.date(2020, 11, 2), 90)[-1]
    assert first.startswith(f"source: {source} · period: 2020-11-02 → {last} (90 days")
    assert first.endswith("never evidence about the real market") == (source == "synthetic")
    tables = [block for block in out.split("\n\n") if block.startswith("|")]
    assert len(tables) == 3
    main_table, by, phases = ([line.split(" | ") for line in t.splitlines()[2:]] for t in tables)
    assert tables[0].splitlines()[0] == "| note 000 says | measured | test | verdict |" and len(main_table) == 11
    assert tables[1].splitlines()[0] == ("| note 000 says | all days | 2020 | 2021 | with new listings' opening runs |")
    assert len(by) == 11 and all(len(row) == 5 for row in by)
    for cell in [row[-1].rstrip(" |") for row in main_table] + [c.rstrip(" |") for row in by for c in row[1:]]:
        assert any(part.strip().startswith(STATUSES) for part in cell.split(" / ")), cell
    assert "| 中证2000:主线加速期与冰点蓄势期短期胜率较高 | no CSI 2000 series stored |" in out
    assert tables[2].splitlines()[0].startswith("| phase | target | horizon | measure | days |") and phases
    # the opening run counts in the wider universe: its bull heights reach the new listing's six boards
    with duckdb.connect(str(db), read_only=True) as conn:
        days = claims.load_days(conn)
        widened = claims.with_new_listings(conn, days)
    assert widened.height == days.height
    assert widened["max_height"].max() >= 6 and (widened["max_height"] >= days["max_height"]).all()
    if with_source:  # a ladder that excludes no opening run has one universe
        with duckdb.connect(str(db)) as conn:
            conn.execute("update sentiment.limit_ladder set eligible = true, exclusion_reason = null "
                         "where exclusion_reason = 'new_listing'")
            assert claims.with_new_listings(conn, days) is None
        claims.main([str(db)])
        out = capsys.readouterr().out
        assert "(the stored ladder excludes no opening run: one universe)" in out
        assert "| note 000 says | all days | 2020 | 2021 |\n" in out
