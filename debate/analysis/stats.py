"""Statistics helpers: binomial and mean intervals, bootstrap draws of counts, batched Newton ascent."""

from __future__ import annotations

import math
import operator

import numpy as np

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
    raise ValueError(f'counts must be non-negative, got correct={correct}, games={games}')
  if correct > games:
    raise ValueError(f'correct ({correct}) exceeds games ({games})')
  if not (math.isfinite(z) and z > 0):
    raise ValueError(f'z must be a positive finite number, got {z}')
  if games == 0:
    return 0.0, 1.0
  p = correct / games
  z2_n = z * z / games
  center = (p + z2_n / 2) / (1 + z2_n)
  half = z / (1 + z2_n) * math.sqrt(p * (1 - p) / games + z2_n / (4 * games))
  # At the boundaries the closed form is exactly 0 / 1; avoid rounding noise.
  return 0.0 if correct == 0 else max(0.0, center - half), 1.0 if correct == games else min(1.0, center + half)


def percentiles(samples, level: float, axis=None) -> np.ndarray:
  """The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of ``samples`` (stacked on a new first axis)."""
  if not 0.0 < level < 1.0:
    raise ValueError(f'level must be in (0, 1), got {level}')
  alpha = (1.0 - level) / 2.0
  return np.quantile(samples, [alpha, 1.0 - alpha], axis=axis)


def bootstrap_mean_interval(values, num_samples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
  """Percentile bootstrap interval of the mean of ``values`` (a 1-D sequence of numbers).

  Resamples the values with replacement ``num_samples`` times (numpy generator seeded by ``seed``, so the
  interval is reproducible). For per-image scores in [0, 1] that are not all 0/1 (a mean over seeds), where
  the Wilson interval does not apply. Raises ``ValueError`` on an empty sequence.
  """
  values = np.asarray(values, dtype=np.float64).reshape(-1)
  if values.size == 0:
    raise ValueError('bootstrap_mean_interval needs at least one value')
  rng = np.random.default_rng(seed)
  low, high = percentiles(values[rng.integers(0, values.size, size=(num_samples, values.size))].mean(axis=1), level)
  return float(low), float(high)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
  """Mean of ``values`` and its Student-t confidence interval: ``(mean, low, high)``.

  The interval is mean +- t_{n-1} * sd / sqrt(n) with the sample standard deviation (ddof 1); it treats
  the values (e.g. one per seed) as independent draws. With one value the interval is ``(nan, nan)``.
  Raises ``ValueError`` on no values or a confidence outside (0, 1).
  """
  values = [float(v) for v in values]
  if not values:
    raise ValueError('t_interval needs at least one value')
  if not 0 < confidence < 1:
    raise ValueError(f'confidence must be in (0, 1), got {confidence}')
  n = len(values)
  mean = math.fsum(values) / n
  if n < 2:
    return mean, math.nan, math.nan
  from scipy import stats  # scipy comes with jax; imported here to keep this module light

  sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
  half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
  return mean, mean - half, mean + half


# A seed-level bootstrap  needs between-seed variation to resample: at least two seeds. With few seeds it is
# still optimistic: resampling K seeds with replacement shrinks the between-seed variance by (1 - 1/K) and
# gives only C(2K - 1, K) distinct seed sets (3 for K = 2, 10 for K = 3, 126 for K = 5).
MIN_SEEDS_FOR_SEED_BOOTSTRAP = 2
FEW_SEEDS = 5
RESAMPLE_KINDS = ('games', 'seeds')


def check_counts(successes, trials, names: tuple[str, str] = ('successes', 'trials')) -> None:
  """Raises ``ValueError`` unless successes and trials [...] (called ``names`` in the message) are finite counts
  with 0 <= successes <= trials; the message names the first cell where successes exceed trials."""
  successes, trials = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
  a, b = names
  if not (np.all(np.isfinite(successes)) and np.all(np.isfinite(trials))):
    raise ValueError(f'{a} and {b} must be finite')
  if np.any(successes < 0) or np.any(trials < 0):
    raise ValueError(f'{a} and {b} must be non-negative counts')
  bad = np.argwhere(successes > trials)
  if bad.size:
    index = tuple(bad[0])
    raise ValueError(f'{a} exceed {b} at {list(map(int, index))}: {successes[index]:g} {a} in {trials[index]:g} {b}')


def per_seed(successes, trials, *, names: tuple[str, str], shape: str) -> tuple[np.ndarray, np.ndarray]:
  """Checked counts (:func:`check_counts`) as float [K, ...] arrays: inputs of ``shape`` (e.g. '[n]') are one seed,
  inputs of one more dimension are K >= 1 seeds."""
  successes, trials = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
  seed_axes = successes.ndim - (shape.count(',') + 1)  # 1: [K, ...] counts per seed, 0: one seed
  if successes.shape != trials.shape or seed_axes not in (0, 1) or (seed_axes and successes.shape[0] < 1):
    raise ValueError(
      f'{names[0]} and {names[1]} must both be {shape} or [K, {shape[1:]} (K seeds); got shapes {successes.shape} '
      f'and {trials.shape}'
    )
  check_counts(successes, trials, names)
  return (successes, trials) if seed_axes else (successes[None], trials[None])


def resample_counts(successes, trials, *, num_samples: int, rng, resample: str = 'games'):
  """Parametric-bootstrap draws of binomial counts, pooled (``'games'``) or two-stage over seeds (``'seeds'``).

  Args:
      successes, trials: [K, ...] counts per seed (K >= 1 seeds; the same cells, ``...``, in every seed). The
          trials must be integers.
      num_samples: S, the number of draws.
      rng: a ``numpy.random.Generator``.
      resample: ``'games'``: the seeds are pooled and every cell redraws its successes from
          Binomial(pooled trials, pooled rate); the trials stay fixed. ``'seeds'``: each draw first picks K seeds
          with replacement (one pick for all cells, so a seed's judges move every cell they play together), then
          redraws each picked seed's cells from Binomial(trials_k, rate_k) and sums over the picks; the trials are
          the picked seeds' sum.

  Returns ``(successes* [S, ...], trials* [S, ...])``. For K = 1 and ``'games'`` the draws are
  ``rng.binomial(trials, rate, size=(S, ...))``, so they match a plain parametric bootstrap of the same
  counts. Raises ``ValueError`` for ``'seeds'`` with fewer than ``MIN_SEEDS_FOR_SEED_BOOTSTRAP`` seeds or
  with seeds that do not play the same cells (a picked set could then miss a cell entirely).
  """
  successes, trials = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
  if successes.shape != trials.shape or successes.ndim < 1 or successes.shape[0] < 1:
    raise ValueError(
      f'successes and trials must be [K, ...] with K >= 1 seeds and the same shape; got '
      f'{successes.shape} and {trials.shape}'
    )
  if resample not in RESAMPLE_KINDS:
    raise ValueError(f'resample must be one of {RESAMPLE_KINDS}, got {resample!r}')
  if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
    raise ValueError(f'num_samples must be a positive integer, got {num_samples!r}')
  if not np.array_equal(trials, np.round(trials)):
    raise ValueError('the bootstrap resamples binomial counts, so trials must be integers')
  check_counts(successes, trials)
  if resample == 'games':
    n = trials.sum(axis=0)
    p = np.divide(successes.sum(axis=0), n, out=np.zeros(n.shape), where=n > 0)
    drawn = rng.binomial(n.astype(np.int64), p, size=(num_samples,) + n.shape).astype(float)
    return drawn, np.broadcast_to(n, drawn.shape).copy()
  check_seed_cells(trials)
  p = np.divide(successes, trials, out=np.zeros(trials.shape), where=trials > 0)
  picks = rng.integers(0, successes.shape[0], size=(num_samples, successes.shape[0]))  # [S, K]
  picked_trials = trials[picks]  # [S, K, ...]
  drawn = rng.binomial(picked_trials.astype(np.int64), p[picks]).astype(float)
  return drawn.sum(axis=1), picked_trials.sum(axis=1)


def check_seed_cells(trials, *, seeds=None, cell_name=None) -> None:
  """Raises ``ValueError`` unless trials [K, ...] has K >= MIN_SEEDS_FOR_SEED_BOOTSTRAP seeds that all play
  the same cells (trials > 0 in the same places). For the message: ``seeds`` [K] labels the seeds and
  ``cell_name(index tuple)`` names a cell."""
  trials = np.asarray(trials)
  if trials.shape[0] < MIN_SEEDS_FOR_SEED_BOOTSTRAP:
    raise ValueError(
      f'a seed-level bootstrap needs at least {MIN_SEEDS_FOR_SEED_BOOTSTRAP} seeds (it resamples the '
      f'between-seed variation), got {trials.shape[0]}; use the game-level bootstrap'
    )
  played = trials > 0
  missing = np.argwhere(played.any(axis=0) & ~played)
  if missing.size:
    k, cell = int(missing[0][0]), tuple(int(i) for i in missing[0][1:])
    seed_text = f'seed {seeds[k]}' if seeds is not None else f'seed index {k}'
    cell_text = cell_name(cell) if cell_name is not None else f'cell {cell}'
    raise ValueError(
      f'a seed-level bootstrap needs every seed to play the same cells, but {seed_text} has no games in '
      f'{cell_text} ({len(missing)} missing seed-cell(s) in all); finish or drop that seed, or use the '
      'game-level bootstrap'
    )


# ----------------------------------------------------------------------------------------------
# Maximum likelihood by batched Newton ascent (the Elo and logistic fits).


def sigmoid(x):
  return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def newton_ascent(theta, objective, newton_step, converged, *, max_steps: int):
  """Maximises a concave objective for every row of theta [B, p] at once, Newton steps with step halving.

  ``objective(rows, theta_rows)`` -> [b] values of theta_rows [b, p], the rows ``rows`` [b] of the batch;
  ``newton_step(rows, theta_rows)`` -> (step [b, p], gradient [b, p]); ``converged(step, gradient, value)`` ->
  [b] bool. Each step takes the largest ``theta + 2^-k step`` (k = 0, 1, ..., 39) that does not lower the
  objective; a row stops once converged or when no halving improves it (it is at the optimum to floating-point
  precision). Returns (theta [B, p], converged [B]).
  """
  value = objective(np.arange(theta.shape[0]), theta)
  active = np.arange(theta.shape[0])
  for _ in range(max_steps):
    current = theta[active]
    step, grad = newton_step(active, current)
    new, new_value = current.copy(), value[active]
    pending = np.ones(active.size, dtype=bool)
    for t in 0.5 ** np.arange(40):
      idx = np.flatnonzero(pending)
      cand = current[idx] + t * step[idx]
      cand_value = objective(active[idx], cand)
      ok = cand_value >= value[active][idx]
      new[idx[ok]], new_value[idx[ok]] = cand[ok], cand_value[ok]
      pending[idx[ok]] = False
      if not pending.any():
        break
    theta[active], value[active] = new, new_value
    active = active[~(converged(step, grad, new_value) | pending)]
    if active.size == 0:
      break
  return theta, ~np.isin(np.arange(theta.shape[0]), active)
