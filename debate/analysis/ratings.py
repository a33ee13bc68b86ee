"""Elo ratings from cross-play results (maximum likelihood, bootstrap CIs).

The model is the Elo / Bradley-Terry model used by Khan et al. 2024 (arXiv 2402.06782):

    P(i beats j) = 1 / (1 + 10^((r_j - r_i) / 400)).

Inputs are count matrices: ``wins[i, j]`` is the number of games agent ``i`` won against agent
``j`` and ``games[i, j]`` the number of games played between them (symmetric, zero diagonal), so
``wins[i, j] + wins[j, i] == games[i, j]``. Draws are not modelled; a caller with draws may count
each as half a win each way (fractional wins are accepted by :func:`fit_elo`).

Regularisation. Each agent gets one *virtual draw* (half a win and half a loss) against a virtual
opponent rated at the mean of all ratings. This adds, in natural units ``s = r ln(10) / 400``,

    sum_i 0.5 * [log sigmoid(s_i - mean(s)) + log sigmoid(mean(s) - s_i)]

to the log-likelihood. It is concave, translation invariant (so the anchor only shifts the
ratings), worth about 1/4 of a game of Fisher information per agent (a prior s.d. of roughly
350 Elo near the mean), and its logistic tails keep the rating of an agent that won (or lost)
every game finite. With hundreds of games per pair its effect is far below the sampling error.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from debate.analysis import stats

# Natural-log units per Elo point: s = r * ELO_SCALE makes P(i beats j) = sigmoid(s_i - s_j).
ELO_SCALE = np.log(10.0) / 400.0
# Half a win and half a loss per agent against a virtual opponent at the mean rating.
VIRTUAL_DRAW_GAMES = 1.0

_MAX_NEWTON_STEPS = 100
_MAX_HALVINGS = 40
_STEP_TOL = 1e-10


@dataclasses.dataclass(frozen=True)
class EloFit:
  """Ratings with parametric-bootstrap percentile intervals.

  Attributes:
    ratings: [n] maximum-likelihood (lightly regularised) ratings, anchored.
    ci_low: [n] lower percentile bound at the requested level.
    ci_high: [n] upper percentile bound.
    samples: [num_samples, n] bootstrap ratings, anchored the same way.
    level: the two-sided confidence level of ``ci_low`` / ``ci_high``.
    resample: how the samples were drawn: 'games' (pooled binomial) or 'seeds' (seeds, then
      games; see :func:`bootstrap_elo`).
    num_seeds: the seeds the counts came from.
  """

  ratings: np.ndarray
  ci_low: np.ndarray
  ci_high: np.ndarray
  samples: np.ndarray
  level: float
  resample: str = 'games'
  num_seeds: int = 1


@dataclasses.dataclass(frozen=True)
class RoleEloFit:
  """Role-specific ratings (honest players and liars) on one Elo scale.

  Attributes:
    honest: ratings of the honest players, [n_honest] (samples [num_samples, n_honest]).
    liar: ratings of the liars, [n_liar] (samples [num_samples, n_liar]).
  """

  honest: EloFit
  liar: EloFit


def win_probability(r_a, r_b):
  """P(a beats b) = 1 / (1 + 10^((r_b - r_a) / 400)); broadcasts over array inputs."""
  diff = (np.asarray(r_a, dtype=float) - np.asarray(r_b, dtype=float)) * ELO_SCALE
  return _sigmoid(diff)


def expected_wins(ratings: np.ndarray, games: np.ndarray) -> np.ndarray:
  """Expected wins [n, n] of row agent over column agent, given ratings [n] and games [n, n]."""
  ratings = np.asarray(ratings, dtype=float)
  games = np.asarray(games, dtype=float)
  if ratings.ndim != 1 or games.shape != (ratings.size, ratings.size):
    raise ValueError(f'ratings must be [n] and games [n, n]; got {ratings.shape} and {games.shape}')
  return games * win_probability(ratings[:, None], ratings[None, :])


def fit_elo(wins: np.ndarray, games: np.ndarray, *, anchor: int = 0, anchor_rating: float = 0.0) -> np.ndarray:
  """Maximum-likelihood Elo ratings [n] from wins [n, n] and games [n, n].

  Maximises the Elo log-likelihood plus one virtual draw per agent (see the module docstring)
  by Newton's method with step halving. The result has ``ratings[anchor] == anchor_rating``
  exactly. Raises ``ValueError`` on malformed counts or when an agent has no chain of games
  connecting it to the anchor (its rating would be unidentified).
  """
  wins, games = _validate_counts(wins, games, anchor=anchor, anchor_rating=anchor_rating)
  s = _newton_elo(wins[None], games, anchor)[0]
  return _to_elo(s, anchor, anchor_rating)


def bootstrap_elo(
  wins: np.ndarray,
  games: np.ndarray,
  *,
  num_samples: int = 1000,
  seed: int = 0,
  anchor: int = 0,
  anchor_rating: float = 0.0,
  level: float = 0.95,
  resample: str = 'games',
) -> EloFit:
  """Ratings with parametric-bootstrap percentile intervals.

  ``wins`` and ``games`` are [n, n], or [K, n, n] counts per seed (K seeds, e.g. replicates with
  judges trained anew); the ratings are always fitted to the counts summed over seeds. Each
  bootstrap sample redraws the upper-triangle pairs with ``stats.resample_counts`` and sets
  ``wins*[j, i] = games*[i, j] - wins*[i, j]``, then refits (all samples at once, batched Newton):

  - ``resample='games'``: ``wins*[i, j] ~ Binomial(games[i, j], wins[i, j] / games[i, j])`` on
    the pooled counts (games-level noise only);
  - ``resample='seeds'``: a two-stage bootstrap that first draws K seeds with replacement, then
    redraws each drawn seed's pairs from its own win rates; the intervals then include the
    between-seed variation. Needs K >= 2 seeds playing the same pairs.

  ``games`` must be integer-valued. Intervals are the ``(1 - level) / 2`` and
  ``(1 + level) / 2`` percentiles of the anchored sample ratings, so the anchor's interval has
  zero width and every other interval is for the rating *relative to the anchor*.

  Caveat: a pair with a 0% or 100% win rate never varies across resamples, so the intervals of
  an agent that won (or lost) every game reflect only the other pairs' noise and understate
  its uncertainty; its point rating is held finite by the virtual draws.
  """
  seed_wins, seed_games = _per_seed_counts(wins, games)
  for k in range(seed_wins.shape[0]):
    _check_count_values(seed_wins[k], seed_games[k])
  wins, games = _validate_counts(
    seed_wins.sum(axis=0), seed_games.sum(axis=0), anchor=anchor, anchor_rating=anchor_rating
  )
  num_samples = _check_positive_int(num_samples, 'num_samples')
  if not 0.0 < level < 1.0:
    raise ValueError(f'level must be in (0, 1), got {level}')
  if not np.array_equal(seed_games, np.round(seed_games)):
    raise ValueError('bootstrap_elo resamples binomial counts, so games must be integers')

  n = games.shape[0]
  ratings = _to_elo(_newton_elo(wins[None], games, anchor)[0], anchor, anchor_rating)

  rng = np.random.default_rng(seed)
  iu, ju = np.triu_indices(n, k=1)
  drawn, pair_games = stats.resample_counts(
    seed_wins[:, iu, ju], seed_games[:, iu, ju], num_samples=num_samples, rng=rng, resample=resample
  )
  boot_wins = np.zeros((num_samples, n, n))
  boot_wins[:, iu, ju] = drawn
  boot_wins[:, ju, iu] = pair_games - drawn
  if resample == 'games':
    boot_games = games  # the same games in every sample
  else:
    boot_games = np.zeros((num_samples, n, n))
    boot_games[:, iu, ju] = pair_games
    boot_games[:, ju, iu] = pair_games

  samples = _to_elo(_newton_elo(boot_wins, boot_games, anchor), anchor, anchor_rating)
  alpha = (1.0 - level) / 2.0
  ci_low, ci_high = np.quantile(samples, [alpha, 1.0 - alpha], axis=0)
  return EloFit(
    ratings=ratings,
    ci_low=ci_low,
    ci_high=ci_high,
    samples=samples,
    level=float(level),
    resample=resample,
    num_seeds=int(seed_wins.shape[0]),
  )


def _per_seed_counts(wins, games) -> tuple[np.ndarray, np.ndarray]:
  """(wins, games) as float [K, n, n] arrays: [n, n] inputs become one seed."""
  wins = np.asarray(wins, dtype=float)
  games = np.asarray(games, dtype=float)
  if wins.shape != games.shape:
    raise ValueError(f'wins and games must have the same shape, got {wins.shape} and {games.shape}')
  if wins.ndim == 2:
    return wins[None], games[None]
  if wins.ndim != 3 or wins.shape[0] < 1:
    raise ValueError(f'wins and games must be [n, n] or [K, n, n] (K seeds), got {wins.shape}')
  return wins, games


def fit_role_elo(
  honest_wins: np.ndarray,
  games: np.ndarray,
  *,
  num_samples: int = 1000,
  seed: int = 0,
  anchor: int = 0,
  anchor_rating: float = 0.0,
  level: float = 0.95,
  resample: str = 'games',
) -> RoleEloFit:
  """Role-specific ratings for honest players and liars (Khan et al. 2024), with bootstrap CIs.

  Args:
    honest_wins: [n_honest, n_liar] games honest player ``i`` won against liar ``j``, or
      [K, n_honest, n_liar] per seed (see :func:`bootstrap_elo`).
    games: [n_honest, n_liar] (or [K, n_honest, n_liar]) games played between honest player
      ``i`` and liar ``j``.
    anchor: index of the honest player fixed at ``anchor_rating``.
    resample: 'games' or 'seeds', as :func:`bootstrap_elo`.

  The model is the bipartite Elo model P(honest i beats liar j) = 1 / (1 + 10^((l_j - h_i) / 400)),
  fitted as :func:`bootstrap_elo` on the (n_honest + n_liar) square embedding, with the same
  virtual-draw regularisation.
  """
  honest_wins = np.asarray(honest_wins, dtype=float)
  games = np.asarray(games, dtype=float)
  if (
    honest_wins.ndim not in (2, 3)
    or honest_wins.shape != games.shape
    or (honest_wins.ndim == 3 and honest_wins.shape[0] < 1)
  ):
    raise ValueError(
      'honest_wins and games must both be [n_honest, n_liar] (or [K, n_honest, n_liar] for K '
      f'seeds); got shapes {honest_wins.shape} and {games.shape}'
    )
  seed_wins = honest_wins if honest_wins.ndim == 3 else honest_wins[None]
  seed_games = games if games.ndim == 3 else games[None]
  for k in range(seed_wins.shape[0]):
    _check_count_values(seed_wins[k], seed_games[k])
  _, n_h, n_l = seed_games.shape
  if not (isinstance(anchor, (int, np.integer)) and 0 <= anchor < n_h):
    raise ValueError(f'anchor must index an honest player in [0, {n_h}), got {anchor}')

  n = n_h + n_l
  big_wins = np.zeros((seed_games.shape[0], n, n))
  big_games = np.zeros_like(big_wins)
  big_wins[:, :n_h, n_h:] = seed_wins
  big_wins[:, n_h:, :n_h] = (seed_games - seed_wins).transpose(0, 2, 1)
  big_games[:, :n_h, n_h:] = seed_games
  big_games[:, n_h:, :n_h] = seed_games.transpose(0, 2, 1)
  names = [f'honest player {i}' for i in range(n_h)] + [f'liar {j}' for j in range(n_l)]
  _check_connected(big_games.sum(axis=0), anchor, names)

  fit = bootstrap_elo(
    big_wins,
    big_games,
    num_samples=num_samples,
    seed=seed,
    anchor=anchor,
    anchor_rating=anchor_rating,
    level=level,
    resample=resample,
  )

  def part(sl: slice) -> EloFit:
    return dataclasses.replace(
      fit, ratings=fit.ratings[sl], ci_low=fit.ci_low[sl], ci_high=fit.ci_high[sl], samples=fit.samples[:, sl]
    )

  return RoleEloFit(honest=part(slice(0, n_h)), liar=part(slice(n_h, n)))


# ----------------------------------------------------------------------------------------------
# Internals.


def _sigmoid(x: np.ndarray) -> np.ndarray:
  return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
  return -np.logaddexp(0.0, -x)


def _to_elo(s: np.ndarray, anchor: int, anchor_rating: float) -> np.ndarray:
  """Natural units [..., n] -> Elo anchored so that [..., anchor] == anchor_rating exactly."""
  r = s / ELO_SCALE
  r = r - r[..., anchor : anchor + 1]
  r[..., anchor] = 0.0
  return r + anchor_rating


def _objective(s: np.ndarray, wins: np.ndarray) -> np.ndarray:
  """Penalised log-likelihood [B] of natural-unit ratings s [B, n] given wins [B, n, n]."""
  diff = s[:, :, None] - s[:, None, :]
  loglik = np.sum(wins * _log_sigmoid(diff), axis=(1, 2))
  d = s - s.mean(axis=1, keepdims=True)
  half = 0.5 * VIRTUAL_DRAW_GAMES
  prior = half * np.sum(_log_sigmoid(d) + _log_sigmoid(-d), axis=1)
  return loglik + prior


def _newton_elo(wins: np.ndarray, games: np.ndarray, anchor: int) -> np.ndarray:
  """Batched Newton ascent: wins [B, n, n], games [n, n] or [B, n, n] -> natural-unit ratings [B, n].

  The anchor's rating is held at 0; the objective is strictly concave in the others (the
  comparison graph is connected and the prior is strictly concave off the all-equal direction).
  A sample stops once its Newton step is below tolerance or no halving improves it (it is at
  the optimum to floating-point precision).
  """
  batch, n, _ = wins.shape
  s = np.zeros((batch, n))
  if n == 1:
    return s
  free = np.flatnonzero(np.arange(n) != anchor)
  eye = np.eye(n)
  half = 0.5 * VIRTUAL_DRAW_GAMES
  value = _objective(s, wins)
  active = np.arange(batch)
  for _ in range(_MAX_NEWTON_STEPS):
    sa, wa = s[active], wins[active]
    ga = games[active] if games.ndim == 3 else games
    p = _sigmoid(sa[:, :, None] - sa[:, None, :])  # [B, n, n]
    grad = np.sum(wa - ga * p, axis=2)  # [B, n]
    a = ga * p * (1.0 - p)
    hess = a - eye * a.sum(axis=2)[:, :, None]  # [B, n, n]
    # Virtual draw against the mean: gradient C v, Hessian -C diag(w) C, C = I - 11^T / n.
    q = _sigmoid(sa - sa.mean(axis=1, keepdims=True))
    v = half * (1.0 - 2.0 * q)
    grad += v - v.mean(axis=1, keepdims=True)
    w = 2.0 * half * q * (1.0 - q)
    cw = w[:, :, None] * eye - w[:, :, None] / n  # diag(w) C
    hess -= cw - cw.mean(axis=1, keepdims=True)  # C diag(w) C
    neg_h = -hess[:, free[:, None], free[None, :]]
    step = np.zeros_like(sa)
    step[:, free] = np.linalg.solve(neg_h, grad[:, free][..., None])[..., 0]

    new_s, new_value, moved = _halving_update(sa, step, value[active], wa)
    s[active], value[active] = new_s, new_value
    done = (np.max(np.abs(step), axis=1) < _STEP_TOL) | ~moved
    active = active[~done]
    if active.size == 0:
      break
  return s


def _halving_update(s, step, value, wins):
  """Largest s + 2^-k step (k = 0, 1, ...) that does not lower the objective, per sample.

  Returns (new_s [B, n], new_value [B], moved [B]); where no halving helps, s is kept.
  """
  new_s, new_value = s.copy(), value.copy()
  pending = np.ones(s.shape[0], dtype=bool)
  t = 1.0
  for _ in range(_MAX_HALVINGS):
    idx = np.flatnonzero(pending)
    cand = s[idx] + t * step[idx]
    cand_value = _objective(cand, wins[idx])
    ok = cand_value >= value[idx]
    new_s[idx[ok]] = cand[ok]
    new_value[idx[ok]] = cand_value[ok]
    pending[idx[ok]] = False
    if not pending.any():
      break
    t *= 0.5
  return new_s, new_value, ~pending


def _check_positive_int(value, name: str) -> int:
  if not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f'{name} must be a positive integer, got {value!r}')
  return int(value)


def _check_count_values(wins: np.ndarray, games: np.ndarray) -> None:
  if not (np.all(np.isfinite(wins)) and np.all(np.isfinite(games))):
    raise ValueError('wins and games must be finite')
  if np.any(wins < 0) or np.any(games < 0):
    raise ValueError('wins and games must be non-negative counts')
  bad = np.argwhere(wins > games)
  if bad.size:
    i, j = bad[0]
    raise ValueError(f'wins exceed games at [{i}, {j}]: {wins[i, j]:g} wins in {games[i, j]:g} games')


def _validate_counts(wins, games, *, anchor, anchor_rating):
  """Checks a square cross-play result and returns float copies of (wins, games)."""
  wins = np.asarray(wins, dtype=float)
  games = np.asarray(games, dtype=float)
  if wins.ndim != 2 or wins.shape[0] != wins.shape[1]:
    raise ValueError(f'wins must be a square [n, n] matrix, got shape {wins.shape}')
  if games.shape != wins.shape:
    raise ValueError(f'wins and games must have the same shape, got {wins.shape} and {games.shape}')
  n = wins.shape[0]
  if n == 0:
    raise ValueError('need at least one agent')
  _check_count_values(wins, games)
  if np.any(np.diag(games) != 0) or np.any(np.diag(wins) != 0):
    raise ValueError('an agent cannot play itself: the diagonals of wins and games must be 0')
  if not np.array_equal(games, games.T):
    raise ValueError('games must be symmetric: games[i, j] == games[j, i]')
  tol = 1e-9 * max(1.0, float(games.max()))
  mismatch = np.argwhere(np.abs(wins + wins.T - games) > tol)
  if mismatch.size:
    i, j = mismatch[0]
    raise ValueError(
      f'wins[{i}, {j}] + wins[{j}, {i}] = {wins[i, j] + wins[j, i]:g} but games[{i}, {j}] = '
      f'{games[i, j]:g}; every game needs exactly one winner (draws are not modelled: count a '
      'draw as half a win each way)'
    )
  if not (isinstance(anchor, (int, np.integer)) and 0 <= anchor < n):
    raise ValueError(f'anchor must be an agent index in [0, {n}), got {anchor!r}')
  if not np.isfinite(anchor_rating):
    raise ValueError(f'anchor_rating must be finite, got {anchor_rating}')
  _check_connected(games, anchor, [f'agent {i}' for i in range(n)])
  return wins, games


def _check_connected(games: np.ndarray, anchor: int, names: list[str]) -> None:
  """Raises ValueError naming the agents with no chain of games to the anchor."""
  n = games.shape[0]
  adjacent = games > 0
  reached = np.zeros(n, dtype=bool)
  reached[anchor] = True
  frontier = reached.copy()
  while frontier.any():
    frontier = adjacent[frontier].any(axis=0) & ~reached
    reached |= frontier
  if not reached.all():
    missing = ', '.join(names[i] for i in np.flatnonzero(~reached))
    raise ValueError(
      f'the comparison graph is disconnected: {missing} have no chain of games to the '
      f'anchor ({names[anchor]}), so their ratings are not identified; add games that '
      'connect them or rate each connected group separately'
    )
