"""The statistical tests behind note 000's claims (claims.py): means, shares and differences of daily series with
Newey–West (HAC) standard errors, correlations tested on their effective number of pairs with Fisher-z
intervals, the difference of two independent correlations, forward windows that do not overlap,
Benjamini–Hochberg, and a block bootstrap for a ratio (the odds). statsmodels and SciPy do the
work; they are imported when a test runs, not with this module (statsmodels costs ~1 s)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
# Fisher's z of a Spearman coefficient has variance 1.06 / (n − 3) (Fieller, Hartley & Pearson 1957).
FISHER_VARIANCE = {"pearson": 1.0, "spearman": 1.06}
BOOTSTRAP_RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class Estimate:
    """An estimate with its standard error, 95% interval and two-sided p-value against the null tested."""

    value: float
    se: float
    low: float
    high: float
    p_value: float
    n: int


@dataclass(frozen=True)
class Correlation:
    method: str
    r: float
    p_value: float  # two-sided, against 0, on n_eff: Pearson Student's t (SciPy's when n_eff = n), Spearman Fisher z
    n: int
    low: float  # 95% interval (Fisher z, on n_eff)
    high: float
    low90: float  # 90% interval: inside ±bound ⟺ the two one-sided tests (TOST) of |r| < bound pass at 5%
    high90: float
    n_eff: float = 0.0  # the effective number of pairs (effective_pairs); n when the series are not serial


def _norm():
    from scipy.stats import norm

    return norm


def _student():
    from scipy.stats import t

    return t


def newey_west_lags(n: int) -> int:
    """Newey and West's (1994) rule of thumb, floor(4 (n/100)^(2/9)), for daily series without overlap."""
    return int(math.floor(4 * (n / 100) ** (2 / 9))) if n > 0 else 0


def _degenerate(value: float, null: float, n: int) -> Estimate:
    # No variation left to estimate an error from: the estimate is exact.
    return Estimate(value, 0.0, value, value, 0.0 if value != null else 1.0, n)


def _hac_fit(y: np.ndarray, x: np.ndarray, lags: int):
    from statsmodels.regression.linear_model import OLS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags})


def _from_fit(value: float, se: float, null: float, n: int, df: int) -> Estimate:
    """Interval and p-value from Student's t with `df` degrees of freedom: the normal of the HAC theory is
    too liberal for a phase seen on a handful of days."""
    if not np.isfinite(se) or se == 0:
        return _degenerate(value, null, n)
    t = _student()
    crit = t.ppf(1 - ALPHA / 2, df)
    return Estimate(value, se, float(value - crit * se), float(value + crit * se),
                    float(2 * t.sf(abs(value - null) / se, df)), n)


def hac_mean(values: np.ndarray, lags: int, null: float = 0.0) -> Estimate:
    """The mean of a daily series (in time order) against `null`, with a Newey–West standard error over `lags`
    lags (statsmodels OLS on a constant, cov_type='HAC') and t with n − 1 degrees of freedom. A share is the mean
    of a 0/1 series."""
    y = np.asarray(values, dtype=float)
    if np.ptp(y) == 0:
        return _degenerate(float(y[0]), null, len(y))
    fit = _hac_fit(y, np.ones((len(y), 1)), lags)
    return _from_fit(float(fit.params[0]), float(fit.bse[0]), null, len(y), len(y) - 1)


def hac_difference(values: np.ndarray, in_group: np.ndarray, lags: int) -> Estimate:
    """The group's mean minus the others' (days in time order), with a Newey–West standard error: the slope of
    values on a 0/1 group dummy (statsmodels OLS, cov_type='HAC'); t with (the smaller side's days − 1) degrees
    of freedom, the conservative end of Welch's."""
    y = np.asarray(values, dtype=float)
    group = np.asarray(in_group, dtype=float)
    diff = float(y[group == 1].mean() - y[group == 0].mean())
    if np.ptp(y) == 0:
        return _degenerate(diff, 0.0, len(y))
    fit = _hac_fit(y, np.column_stack([np.ones(len(y)), group]), lags)
    smaller = int(min(group.sum(), len(group) - group.sum()))
    return _from_fit(float(fit.params[1]), float(fit.bse[1]), 0.0, len(y), max(smaller - 1, 1))


MIN_EFFECTIVE_PAIRS = 4.0  # Fisher's z needs n − 3 > 0


def effective_pairs(n: int, acf_x: np.ndarray, acf_y: np.ndarray) -> float:
    """The effective number of independent pairs behind a correlation of two serially correlated daily series
    (Bartlett's variance of r under no cross-correlation; Pyper & Peterman 1998, eq. 1):
    1/n_eff = 1/n + (2/n) Σ_j (n − j)/n · ρ_x(j) ρ_y(j), over the lags of the autocorrelations given (index 0 is
    lag 0). Capped at n (never more pairs than days) and floored at MIN_EFFECTIVE_PAIRS."""
    lags = np.arange(1, min(len(acf_x), len(acf_y)))
    products = np.asarray(acf_x, dtype=float)[lags] * np.asarray(acf_y, dtype=float)[lags]
    inverse = 1.0 / n + 2.0 / n * float(np.sum((n - lags) / n * products))
    return float(min(n, max(MIN_EFFECTIVE_PAIRS, 1.0 / inverse if inverse > 0 else n)))


def _acf(values: np.ndarray, lags: int) -> np.ndarray:
    from statsmodels.tsa.stattools import acf

    return acf(values, nlags=lags, fft=True, adjusted=True)  # n/(n − j), as Pyper & Peterman estimate them


def correlation(x: np.ndarray, y: np.ndarray, method: str, serial: bool = True) -> Correlation | None:
    """Pearson's r (SciPy's pearsonr) or Spearman's ρ (spearmanr) of two daily series in time order, with Fisher-z
    intervals and a t-test on the effective number of pairs: a persistent series (the promotion rate is one)
    carries fewer independent pairs than days, and the textbook test would be too confident. The
    autocorrelations (of the ranks, for Spearman) are taken to n/5 lags (Pyper & Peterman's choice).
    `serial=False`: the pairs are independent (n_eff = n: SciPy's p-value and Fisher's interval).
    None with fewer than 4 pairs or a constant series."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.pearsonr(x, y) if method == "pearson" else stats.spearmanr(x, y)
    r = float(result.statistic)
    n_eff = float(n)
    if serial and n // 5 >= 1:
        a, b = (x, y) if method == "pearson" else (stats.rankdata(x), stats.rankdata(y))
        n_eff = effective_pairs(n, _acf(a, n // 5), _acf(b, n // 5))
    z, se = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)), math.sqrt(FISHER_VARIANCE[method] / (n_eff - 3))
    norm = _norm()
    if method == "pearson":  # SciPy's t-test of r, on n_eff − 2 degrees of freedom
        df = n_eff - 2
        p_value = float(2 * _student().sf(abs(r) * math.sqrt(df / max(1 - r * r, 1e-300)), df))
    else:  # Fisher's z with the Spearman variance, so that p < 0.05 ⟺ the 95% interval excludes 0
        p_value = float(2 * norm.sf(abs(z) / se))
    q95, q90 = norm.ppf(1 - ALPHA / 2), norm.ppf(1 - ALPHA)
    return Correlation(method, r, p_value, n, float(np.tanh(z - q95 * se)), float(np.tanh(z + q95 * se)),
                       float(np.tanh(z - q90 * se)), float(np.tanh(z + q90 * se)), n_eff)


def fisher_z_difference(first: Correlation, second: Correlation) -> tuple[float, float]:
    """z and two-sided p-value of first.r − second.r, correlations from independent samples (Fisher's z), each on
    its effective number of pairs."""
    if first.method != second.method:
        raise ValueError("compare correlations of the same method")
    c = FISHER_VARIANCE[first.method]
    z_first, z_second = (np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)) for r in (first.r, second.r))
    pairs = [x.n_eff or x.n for x in (first, second)]
    z = float((z_first - z_second) / math.sqrt(c / (pairs[0] - 3) + c / (pairs[1] - 3)))
    return z, float(2 * _norm().sf(abs(z)))


def separate_windows(positions: np.ndarray, horizon: int) -> int:
    """How many of the days at these trading-day `positions` (ascending) have forward windows of `horizon` days
    that share no day with one another, counted greedily from the first: 20-day windows of ten consecutive days
    are one observation, not ten, however the errors are computed."""
    count, free_from = 0, None
    for position in np.asarray(positions):
        if free_from is None or position >= free_from:
            count += 1
            free_from = position + horizon
    return count


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q), statsmodels' multipletests(method='fdr_bh')."""
    if not len(p_values):
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(q) for q in multipletests(list(p_values), alpha=ALPHA, method="fdr_bh")[1]]


def odds(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean gain ÷ mean loss along `axis` (research.phase_forward's odds): 0 without a gain, NaN without a loss."""
    v = np.asarray(values, dtype=float)
    win, lose = v > 0, v < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(win.any(axis), np.where(win, v, 0).sum(axis) / win.sum(axis), 0.0)
        loss = -np.where(lose, v, 0).sum(axis) / lose.sum(axis)
        return np.where(lose.any(axis), gain / loss, np.nan)


def bootstrap_block(n: int, horizon: int) -> int:
    """Block length: the horizon (overlapping windows are dependent over it), at least 5 days, and at most a
    quarter of the sample so that a resample draws several blocks."""
    return max(1, min(max(horizon, 5), n // 4))


def block_bootstrap_difference(first: np.ndarray, second: np.ndarray, statistic: Callable[..., np.ndarray],
                               horizon: int, seed: int = SEED) -> Estimate | None:
    """statistic(first) − statistic(second) for two daily series (each in time order), with a circular block
    bootstrap of each series on its own (blocks of bootstrap_block days), drawn by SciPy's bootstrap. 95%
    percentile interval and p = twice the smaller tail of the resampled differences beyond 0. None when the
    statistic is undefined on the data or on more than a tenth of the resamples."""
    from scipy import stats

    samples = [np.asarray(s, dtype=float) for s in (first, second)]
    observed = float(statistic(samples[0]) - statistic(samples[1]))
    if not np.isfinite(observed):
        return None
    blocks = [bootstrap_block(len(s), horizon) for s in samples]

    def resampled(series: np.ndarray, starts: np.ndarray, block: int) -> np.ndarray:
        # SciPy resamples the block starts with replacement; enough of them to cover the series, wrapped around.
        count = -(-len(series) // block)
        index = (starts[..., :count, None] + np.arange(block)) % len(series)
        return series[index.reshape(*starts.shape[:-1], count * block)[..., :len(series)].astype(int)]

    def difference(starts_first, starts_second, axis=-1):
        return (statistic(resampled(samples[0], starts_first, blocks[0]))
                - statistic(resampled(samples[1], starts_second, blocks[1])))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap((np.arange(len(samples[0])), np.arange(len(samples[1]))), difference,
                                 n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True, method="percentile",
                                 rng=np.random.default_rng(seed))
    draws = np.asarray(result.bootstrap_distribution)
    draws = draws[np.isfinite(draws)]
    if len(draws) < 0.9 * BOOTSTRAP_RESAMPLES:
        return None
    low, high = np.percentile(draws, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    p = min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0)))
    return Estimate(observed, float(np.std(draws, ddof=1)), float(low), float(high), float(p), len(samples[0]))
