"""The statistical tests behind note 000's claims (claims.py): means, shares and differences of daily series with
Newey–West (HAC) standard errors, correlations with Fisher-z intervals, the difference of two independent
correlations, Benjamini–Hochberg, and a block bootstrap for a ratio (the odds). statsmodels and SciPy do the
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
    p_value: float  # SciPy's, two-sided, against 0
    n: int
    low: float  # 95% interval (Fisher z)
    high: float
    low90: float  # 90% interval: inside ±bound ⟺ the two one-sided tests (TOST) of |r| < bound pass at 5%
    high90: float


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


def correlation(x: np.ndarray, y: np.ndarray, method: str) -> Correlation | None:
    """SciPy's pearsonr or spearmanr with Fisher-z intervals; None with fewer than 4 pairs or a constant series."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.pearsonr(x, y) if method == "pearson" else stats.spearmanr(x, y)
    r = float(result.statistic)
    z, se = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)), math.sqrt(FISHER_VARIANCE[method] / (n - 3))
    norm = _norm()
    q95, q90 = norm.ppf(1 - ALPHA / 2), norm.ppf(1 - ALPHA)
    return Correlation(method, r, float(result.pvalue), n, float(np.tanh(z - q95 * se)), float(np.tanh(z + q95 * se)),
                       float(np.tanh(z - q90 * se)), float(np.tanh(z + q90 * se)))


def fisher_z_difference(first: Correlation, second: Correlation) -> tuple[float, float]:
    """z and two-sided p-value of first.r − second.r, correlations from independent samples (Fisher's z)."""
    if first.method != second.method:
        raise ValueError("compare correlations of the same method")
    c = FISHER_VARIANCE[first.method]
    z_first, z_second = (np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)) for r in (first.r, second.r))
    z = float((z_first - z_second) / math.sqrt(c / (first.n - 3) + c / (second.n - 3)))
    return z, float(2 * _norm().sf(abs(z)))


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
