"""Scaling fits: double-ReLU domain Elo, accuracy-vs-Elo curves, nested scalable oversight.

Follows Engels, Baek, Kantamneni & Tegmark 2025, "Scaling Laws for Scalable Oversight"
(arXiv 2504.18530): a player's *domain* Elo is a piecewise-linear ("double ReLU") function of its
*general* Elo, flat below a floor and above a ceiling; a Guard beats a Houdini with the Elo
probability of their domain-Elo difference; nested scalable oversight (NSO) bridges a general-Elo
gap in ``n`` equal Guard-vs-Houdini steps and succeeds if every step does.

Information criteria use the Gaussian log-likelihood with the noise variance profiled out:
``AIC = n log(SSE / n) + 2 k`` and ``BIC = n log(SSE / n) + k log n``, where ``k`` counts the
intercept, the slope, each *finite* breakpoint and the noise variance. With weights, SSE is the
weighted sum of squares (weights are relative inverse variances, e.g. games per point).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from debate.analysis import stats
from debate.analysis.ratings import ELO_SCALE, win_probability

ArrayFn = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class LinearFit:
  """Least-squares line y = intercept + slope * x."""

  slope: float
  intercept: float
  sse: float
  aic: float
  bic: float
  n: int

  def predict(self, x) -> np.ndarray:
    """Fitted values for x [...]."""
    return self.intercept + self.slope * np.asarray(x, dtype=float)


@dataclasses.dataclass(frozen=True)
class DoubleReluFit:
  """Least-squares double ReLU; ``floor_x = -inf`` / ``ceiling_x = inf`` mean no floor / ceiling."""

  floor_x: float
  ceiling_x: float
  slope: float
  intercept: float
  sse: float
  aic: float
  bic: float
  n: int

  @property
  def num_params(self) -> int:
    """Intercept, slope, finite breakpoints and the noise variance."""
    return 3 + int(np.isfinite(self.floor_x)) + int(np.isfinite(self.ceiling_x))

  def predict(self, x) -> np.ndarray:
    """Domain Elo for general Elo x [...] (usable as ``guard_fn`` / ``houdini_fn``)."""
    return double_relu(x, floor_x=self.floor_x, ceiling_x=self.ceiling_x, slope=self.slope, intercept=self.intercept)


@dataclasses.dataclass(frozen=True)
class AccuracyCurve:
  """Logistic accuracy-vs-strength fit with a bootstrap band.

  Attributes:
    a, b: maximum-likelihood parameters of accuracy = sigmoid(a + b * elo / scale).
    elo_grid: [m] strengths (Elo, or the fit's other axis) at which the curve is evaluated.
    accuracy: [m] fitted accuracy on ``elo_grid``.
    ci_low, ci_high: [m] percentile bounds of the bootstrap curves.
    samples: [num_samples, 2] bootstrap (a, b).
    level: confidence level of the band.
    resample: 'games' or 'seeds', how the samples were drawn (see
      :func:`bootstrap_logistic_accuracy`).
  """

  a: float
  b: float
  elo_grid: np.ndarray
  accuracy: np.ndarray
  ci_low: np.ndarray
  ci_high: np.ndarray
  samples: np.ndarray
  level: float
  scale: float = 400.0
  resample: str = 'games'


# ----------------------------------------------------------------------------------------------
# Double ReLU and linear fits.


def double_relu(general_elo, *, floor_x: float, ceiling_x: float, slope: float, intercept: float) -> np.ndarray:
  """Domain Elo [...] = intercept + slope * clip(general_elo, floor_x, ceiling_x).

  Flat below ``floor_x``, linear in between, flat above ``ceiling_x``; pass ``-inf`` / ``inf``
  for no floor / no ceiling.
  """
  if not floor_x <= ceiling_x:
    raise ValueError(f'floor_x ({floor_x}) must not exceed ceiling_x ({ceiling_x})')
  return intercept + slope * np.clip(np.asarray(general_elo, dtype=float), floor_x, ceiling_x)


def fit_linear(x, y, weights=None) -> LinearFit:
  """Weighted least-squares line through points x [n], y [n] (weights [n], default ones)."""
  x, y, w = _check_xy(x, y, weights, min_points=2)
  slope, intercept, sse = _wls_line(x, y, w)
  return LinearFit(slope, intercept, sse, *_information_criteria(sse, x.size, 3), x.size)


def fit_double_relu(x, y, weights=None, *, grid_size: int = 101, refine_rounds: int = 3) -> DoubleReluFit:
  """Least-squares double ReLU through x [n], y [n] (weights [n], default ones).

  Breakpoint candidates: 'none' (-inf floor / +inf ceiling), the distinct x values strictly
  inside the data range (or ``grid_size`` quantiles of x when there are more), and a uniform
  grid of ``grid_size`` points over the range. For every (floor, ceiling) pair the intercept and
  slope are solved in closed form; the best pair is then refined on successively finer local
  grids (``refine_rounds`` rounds, each 10x finer). Ties in SSE go to fewer breakpoints.
  """
  x, y, w = _check_xy(x, y, weights, min_points=3)
  lo, hi = float(x.min()), float(x.max())
  distinct = np.unique(x)
  if distinct.size > grid_size:
    distinct = np.quantile(x, np.linspace(0.0, 1.0, grid_size))
  cands = np.unique(np.concatenate([distinct, np.linspace(lo, hi, grid_size)]))
  cands = cands[(cands > lo) & (cands < hi)]
  best = _search_breakpoints(x, y, w, np.concatenate([[-np.inf], cands]), np.concatenate([[np.inf], cands]))
  spacing = (hi - lo) / max(grid_size - 1, 1)

  def local(v):  # v and the distinct points within one spacing of it strictly inside (lo, hi)
    if not np.isfinite(v):
      return np.array([v])
    values = v + np.linspace(-spacing, spacing, 21)
    return np.unique(np.concatenate([values[(values > lo) & (values < hi)], [v]]))

  for _ in range(refine_rounds):
    best = min(best, _search_breakpoints(x, y, w, local(best[1]), local(best[2])), key=lambda r: r[0])
    spacing /= 10.0
  _, floor_x, ceiling_x = best
  slope, intercept, sse = _wls_line(np.clip(x, floor_x, ceiling_x), y, w)
  k = 3 + int(np.isfinite(floor_x)) + int(np.isfinite(ceiling_x))
  return DoubleReluFit(
    float(floor_x), float(ceiling_x), slope, intercept, sse, *_information_criteria(sse, x.size, k), x.size
  )


def select_model(x, y, weights=None) -> dict:
  """Compares a line and a double ReLU on x [n], y [n] by BIC (and AIC).

  Returns a dict with ``linear`` (LinearFit), ``double_relu`` (DoubleReluFit), ``chosen``
  ('linear' or 'double_relu', by BIC), ``chosen_fit``, ``delta_bic`` = BIC(linear) -
  BIC(double ReLU) (positive favours the double ReLU), and the same for AIC as
  ``chosen_by_aic`` and ``delta_aic``.
  """
  linear, drelu = fit_linear(x, y, weights), fit_double_relu(x, y, weights)
  delta_bic, delta_aic = linear.bic - drelu.bic, linear.aic - drelu.aic
  return {
    'linear': linear,
    'double_relu': drelu,
    'chosen': 'double_relu' if delta_bic > 0 else 'linear',
    'chosen_fit': drelu if delta_bic > 0 else linear,
    'delta_bic': float(delta_bic),
    'chosen_by_aic': 'double_relu' if delta_aic > 0 else 'linear',
    'delta_aic': float(delta_aic),
  }


def _points(names: str, *arrays) -> list[np.ndarray]:
  """Float copies of ``arrays``, checked to be finite and 1-D of one length [n] (``names`` names them in errors)."""
  arrays = [np.asarray(a, dtype=float) for a in arrays]
  if arrays[0].ndim != 1 or any(a.shape != arrays[0].shape for a in arrays):
    raise ValueError(f'{names} must be 1-D of the same length, got shapes {", ".join(str(a.shape) for a in arrays)}')
  if not all(np.all(np.isfinite(a)) for a in arrays):
    raise ValueError(f'{names} must be finite')
  return arrays


def _check_xy(x, y, weights, *, min_points: int):
  x, y, w = _points('x, y and weights', x, y, np.ones(np.shape(x)) if weights is None else weights)
  if np.any(w < 0):
    raise ValueError('weights must be non-negative')
  distinct = np.unique(x[w > 0]).size
  if distinct < min_points:
    raise ValueError(f'need at least {min_points} distinct x values with positive weight, got {distinct}')
  return x, y, w


def _wls_line(z, y, w):
  """Weighted least-squares line of y [n] on z [n]: (slope, intercept, sse)."""
  sw = w.sum()
  zm, ym = (w * z).sum() / sw, (w * y).sum() / sw
  szz = (w * (z - zm) ** 2).sum()
  slope = (w * (z - zm) * (y - ym)).sum() / szz if szz > 0 else 0.0
  intercept = ym - slope * zm
  return float(slope), float(intercept), float((w * (y - intercept - slope * z) ** 2).sum())


def _search_breakpoints(x, y, w, floors, ceilings):
  """Best (score, floor, ceiling) over pairs floor < ceiling, each line solved in closed form.

  floors [F], ceilings [C]; every pair is scored at once on a [F, C, n] grid. score = SSE plus a
  negligible 1e-9 * SST per finite breakpoint, so that numerically tied fits prefer fewer
  breakpoints (e.g. no floor rather than a floor below every point); exact ties go to the first
  pair in (floor, ceiling) order.
  """
  sw = w.sum()
  ym = (w * y).sum() / sw
  syy = (w * (y - ym) ** 2).sum()
  tie = 1e-9 * max(syy, 1e-300)
  f, c = floors[:, None, None], ceilings[None, :, None]
  z = np.clip(x[None, None, :], f, c)  # [F, C, n]
  dz = z - (z * w).sum(axis=2, keepdims=True) / sw
  szz = (w * dz * dz).sum(axis=2)
  szy = (w * dz * (y - ym)).sum(axis=2)
  ok = (szz > 1e-12 * max(1.0, float(np.abs(x).max())) ** 2 * sw) & (c[..., 0] > f[..., 0])
  sse = np.where(ok, syy - szy**2 / np.where(ok, szz, 1.0), np.inf)
  score = np.maximum(sse, 0.0) + tie * (np.isfinite(f[..., 0]) + np.isfinite(c[..., 0]))
  i, j = np.unravel_index(int(np.argmin(score)), score.shape)
  if not np.isfinite(score[i, j]):
    return (np.inf, -np.inf, np.inf)
  return (float(score[i, j]), float(floors[i]), float(ceilings[j]))


def _information_criteria(sse: float, n: int, k: int) -> tuple[float, float]:
  loglik_term = n * np.log(max(sse / n, 1e-300))
  return float(loglik_term + 2 * k), float(loglik_term + k * np.log(n))


# ----------------------------------------------------------------------------------------------
# Accuracy against Elo.


def fit_logistic_accuracy(elo, correct, games, *, scale: float = 400.0) -> tuple[float, float]:
  """Maximum-likelihood (a, b) of accuracy = sigmoid(a + b * elo / scale).

  Args:
    elo: [n] strength of each point: Elo of the debaters in that cell (``scale`` 400: ``b`` is
      logits per 400 Elo), or any other axis, e.g. a gap in doublings of compute (``scale`` 1).
    correct: [n] correct verdicts in that cell; games: [n] games in that cell.

  Binomial likelihood maximised by Newton's method with step halving. Raises ``ValueError``
  when the maximum likelihood estimate does not exist (fewer than two distinct Elo values with
  games, or successes and failures separated by a threshold on the axis, including all-correct
  and all-wrong data).
  """
  elo, correct, games = _check_accuracy_data(elo, correct, games)
  scale = _check_scale(scale)
  succ, fail = elo[correct > 0], elo[games - correct > 0]
  if succ.size == 0 or fail.size == 0 or fail.max() <= succ.min() or succ.max() <= fail.min():
    raise ValueError(
      'correct and incorrect games are separated by a threshold on the strength axis (or '
      'all games are correct, or all wrong), so the logistic maximum likelihood estimate is '
      'infinite; add games or cells that overlap'
    )
  params, converged = _newton_logistic(elo / scale, correct[None], games)
  if not converged[0]:
    raise ValueError('logistic fit did not converge')
  return float(params[0, 0]), float(params[0, 1])


def bootstrap_logistic_accuracy(
  elo,
  correct,
  games,
  *,
  elo_grid=None,
  num_samples: int = 1000,
  seed: int = 0,
  level: float = 0.95,
  scale: float = 400.0,
  resample: str = 'games',
) -> AccuracyCurve:
  """Logistic accuracy = sigmoid(a + b * elo / scale) with a parametric-bootstrap percentile band.

  ``correct`` and ``games`` are [n], or [K, n] counts per seed (K seeds); the curve is fitted to
  their sum over seeds. Each sample redraws the counts with ``stats.resample_counts`` and refits:
  ``resample='games'`` redraws ``correct*[k] ~ Binomial(games[k], correct[k] / games[k])`` from
  the pooled counts; ``'seeds'`` first draws K seeds with replacement (the same draw for every
  point), then each drawn seed's points from its own rates, so the band includes the
  between-seed variation (needs K >= 2 seeds with games at the same points). The band is the
  pointwise percentile interval of the resampled curves on ``elo_grid`` [m] (default: 101
  points spanning the data). A resample that happens to be separated has no finite MLE; its
  Newton iterations stop at a capped count, giving a near-step curve, which is the limit of its
  likelihood maximisers.
  """
  seed_correct, seed_games = stats.per_seed(correct, games, names=('correct', 'games'), shape='[n]')
  elo, correct, games = _check_accuracy_data(elo, seed_correct.sum(axis=0), seed_games.sum(axis=0))
  a, b = fit_logistic_accuracy(elo, correct, games, scale=scale)
  elo_grid = np.asarray(np.linspace(elo.min(), elo.max(), 101) if elo_grid is None else elo_grid, dtype=float)
  rng = np.random.default_rng(seed)
  boot, boot_games = stats.resample_counts(
    seed_correct, seed_games, num_samples=num_samples, rng=rng, resample=resample
  )
  samples, _ = _newton_logistic(elo / scale, boot, boot_games, max_steps=50)
  curves = stats.sigmoid(samples[:, :1] + samples[:, 1:] * elo_grid[None, :] / scale)
  ci_low, ci_high = stats.percentiles(curves, level, axis=0)
  accuracy = stats.sigmoid(a + b * elo_grid / scale)
  return AccuracyCurve(a, b, elo_grid, accuracy, ci_low, ci_high, samples, float(level), scale, resample)


def _check_accuracy_data(elo, correct, games):
  elo, correct, games = _points('elo, correct and games', elo, correct, games)
  stats.check_counts(correct, games, ('correct', 'games'))
  if np.unique(elo[games > 0]).size < 2:
    raise ValueError('need games at two or more distinct Elo values to fit a slope')
  return elo, correct, games


def _check_scale(scale) -> float:
  if not (np.isfinite(scale) and scale > 0):
    raise ValueError(f'scale must be a positive number, got {scale!r}')
  return float(scale)


def logistic_deviance(elo, correct, games, a: float, b: float, *, scale: float = 400.0) -> float:
  """Binomial deviance G^2 of accuracy = sigmoid(a + b * elo / scale) against the saturated model.

  elo, correct, games: [n]. Under the model, G^2 is about chi-square with n - 2 degrees of
  freedom (for a and b fitted to these points), so G^2 >> n - 2 says the curve misses points.
  """
  elo, correct, games = (np.asarray(v, dtype=float) for v in (elo, correct, games))
  p = stats.sigmoid(a + b * elo / _check_scale(scale))

  def term(k, expected):
    return np.where(k > 0, k * (np.log(np.where(k > 0, k, 1.0)) - np.log(expected)), 0.0)

  return float(2.0 * np.sum(term(correct, games * p) + term(games - correct, games * (1.0 - p))))


def _newton_logistic(x, correct, games, max_steps: int = 100):
  """Batched logistic fits (``stats.newton_ascent``): x [n], correct [B, n], games [n] or [B, n] ->
  (params [B, 2], converged [B])."""
  design = np.stack([np.ones_like(x), x], axis=1)  # [n, 2]
  games = np.broadcast_to(games, correct.shape)

  def objective(rows, theta):
    eta = theta @ design.T  # [b, n]
    return np.sum(
      correct[rows] * stats.log_sigmoid(eta) + (games[rows] - correct[rows]) * stats.log_sigmoid(-eta), axis=1
    )

  def newton_step(rows, theta):
    p = stats.sigmoid(theta @ design.T)
    grad = (correct[rows] - games[rows] * p) @ design  # [b, 2]
    info = np.einsum('bn,ni,nj->bij', games[rows] * p * (1.0 - p), design, design) + 1e-12 * np.eye(2)
    return np.linalg.solve(info, grad[..., None])[..., 0], grad

  def converged(step, grad, value):
    # Newton decrement grad . step (twice the predicted gain): below float noise of the
    # log-likelihood, no step can improve it, so the fit has converged.
    return np.sum(grad * step, axis=1) < 1e-12 * (1.0 + np.abs(value))

  return stats.newton_ascent(np.zeros((correct.shape[0], 2)), objective, newton_step, converged, max_steps=max_steps)


# ----------------------------------------------------------------------------------------------
# Nested scalable oversight.

guard_win_probability = win_probability  # P(Guard wins) = 1 / (1 + 10^((houdini - guard) / 400)), domain Elos


def nso_success_probability(
  total_gap: float, n_steps: int, guard_fn: ArrayFn, houdini_fn: ArrayFn, start_elo: float = 0.0
) -> float:
  """Probability that the Guard wins all ``n_steps`` nested games (product over steps).

  At step k = 0..n-1 the Guard has general Elo ``start + k * gap / n`` and the Houdini
  ``start + (k + 1) * gap / n``; their domain Elos are ``guard_fn`` / ``houdini_fn`` of those
  (callables mapping an array of general Elos [m] to domain Elos [m], e.g.
  ``DoubleReluFit.predict``; scalar-only callables are applied elementwise).
  """
  if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
    raise ValueError(f'n_steps must be a positive integer, got {n_steps!r}')
  return float(optimal_nso(total_gap, guard_fn, houdini_fn, max_steps=n_steps, start_elo=start_elo)[2][-1])


def optimal_nso(
  total_gap: float, guard_fn: ArrayFn, houdini_fn: ArrayFn, max_steps: int = 50, start_elo: float = 0.0
) -> tuple[int, float, np.ndarray]:
  """Best number of nested steps in 1..max_steps.

  Returns ``(best_n, best_probability, probabilities [max_steps])`` with
  ``probabilities[n - 1]`` the success probability with ``n`` steps (see :func:`nso_success_probability`);
  ties go to the smallest n. All ``max_steps (max_steps + 1) / 2`` games are evaluated with one call of
  each of ``guard_fn`` and ``houdini_fn``.
  """
  if not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
    raise ValueError(f'max_steps must be a positive integer, got {max_steps!r}')
  if not (np.isfinite(total_gap) and np.isfinite(start_elo)):
    raise ValueError('total_gap and start_elo must be finite')
  counts = np.arange(1, max_steps + 1)
  n = np.repeat(counts, counts).astype(float)  # [N]: steps of each game
  k = np.concatenate([np.arange(m, dtype=float) for m in counts])  # [N]: its step index
  step = total_gap / n
  guard = _apply(guard_fn, start_elo + k * step)
  houdini = _apply(houdini_fn, start_elo + (k + 1.0) * step)
  log_p = stats.log_sigmoid((guard - houdini) * ELO_SCALE)  # no underflow for hopeless (p ~ 0) settings
  probs = np.exp(np.bincount(n.astype(np.int64) - 1, weights=log_p, minlength=max_steps))
  best = int(np.argmax(probs))
  return best + 1, float(probs[best]), probs


def _apply(fn: ArrayFn, x: np.ndarray) -> np.ndarray:
  """fn applied to x [m]; falls back to elementwise calls for scalar-only callables."""
  try:
    out = np.asarray(fn(x), dtype=float)
  except (TypeError, ValueError):
    out = None
  if out is None or out.shape != x.shape:
    out = np.array([float(fn(float(v))) for v in x])
  return out
