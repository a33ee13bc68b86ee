"""Small statistics helpers for summarising judge accuracy (pure Python)."""

from __future__ import annotations

import math
import operator

# Two-sided 95% standard-normal quantile, Phi^{-1}(0.975).
Z_95 = 1.959963984540054


def wilson_interval(correct: int, games: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``correct / games``.

    Returns ``(low, high)`` within ``[0, 1]``; the default ``z`` gives a 95%
    interval. With no games the proportion is unconstrained: ``(0.0, 1.0)``.
    Raises ``ValueError`` on negative counts or ``correct > games``.
    """
    correct, games = operator.index(correct), operator.index(games)
    if correct < 0 or games < 0:
        raise ValueError(f"counts must be non-negative, got correct={correct}, games={games}")
    if correct > games:
        raise ValueError(f"correct ({correct}) exceeds games ({games})")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive finite number, got {z}")
    if games == 0:
        return 0.0, 1.0

    p = correct / games
    z2_n = z * z / games
    center = (p + z2_n / 2) / (1 + z2_n)
    half = z / (1 + z2_n) * math.sqrt(p * (1 - p) / games + z2_n / (4 * games))
    # At the boundaries the closed form is exactly 0 / 1; avoid rounding noise.
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == games else min(1.0, center + half)
    return low, high


def bootstrap_mean_interval(values, num_samples: int = 2000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (a 1-D sequence of numbers).

    Resamples the values with replacement ``num_samples`` times (numpy generator seeded by ``seed``, so the
    interval is reproducible). For per-image scores in [0, 1] that are not all 0/1 (a mean over seeds), where
    the Wilson interval does not apply. Raises ``ValueError`` on an empty sequence.
    """
    import numpy as np

    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("bootstrap_mean_interval needs at least one value")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(num_samples, values.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its Student-t confidence interval: ``(mean, low, high)``.

    The interval is mean +- t_{n-1} * sd / sqrt(n) with the sample standard deviation (ddof 1); it treats
    the values (e.g. one per seed) as independent draws. With one value the interval is ``(nan, nan)``.
    Raises ``ValueError`` on no values or a confidence outside (0, 1).
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("t_interval needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    from scipy import stats  # scipy comes with jax; imported here to keep this module light

    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half
