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
  """Role-specific ratings on one Elo scale: honest players [n_honest] and liars [n_liar]."""

  honest: EloFit
  liar: EloFit


def win_probability(r_a, r_b):
  """P(a beats b) = 1 / (1 + 10^((r_b - r_a) / 400)); broadcasts over array inputs."""
  return stats.sigmoid((np.asarray(r_a, dtype=float) - np.asarray(r_b, dtype=float)) * ELO_SCALE)


def expected_wins(ratings: np.ndarray, games: np.ndarray) -> np.ndarray:
  """Expected wins [n, n] of row agent over column agent, given ratings [n] and games [n, n]."""
  ratings, games = np.asarray(ratings, dtype=float), np.asarray(games, dtype=float)
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
  return _to_elo(_newton_elo(wins[None], games[None], anchor)[0], anchor, anchor_rating)


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
  seed_wins, seed_games = stats.per_seed(wins, games, names=('wins', 'games'), shape='[n, n]')
  ratings = fit_elo(seed_wins.sum(axis=0), seed_games.sum(axis=0), anchor=anchor, anchor_rating=anchor_rating)
  n = ratings.size
  iu, ju = np.triu_indices(n, k=1)
  drawn, pair_games = stats.resample_counts(
    seed_wins[:, iu, ju],
    seed_games[:, iu, ju],
    num_samples=num_samples,
    rng=np.random.default_rng(seed),
    resample=resample,
  )

  def square(upper, lower):  # [S, n, n] from the pairs' counts
    out = np.zeros((num_samples, n, n))
    out[:, iu, ju], out[:, ju, iu] = upper, lower
    return out

  boot_wins, boot_games = square(drawn, pair_games - drawn), square(pair_games, pair_games)
  samples = _to_elo(_newton_elo(boot_wins, boot_games, anchor), anchor, anchor_rating)
  ci_low, ci_high = stats.percentiles(samples, level, axis=0)
  return EloFit(ratings, ci_low, ci_high, samples, float(level), resample, int(seed_wins.shape[0]))


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
  seed_wins, seed_games = stats.per_seed(honest_wins, games, names=('honest_wins', 'games'), shape='[n_honest, n_liar]')
  num_seeds, n_h, n_l = seed_games.shape
  if not (isinstance(anchor, (int, np.integer)) and 0 <= anchor < n_h):
    raise ValueError(f'anchor must index an honest player in [0, {n_h}), got {anchor}')
  n = n_h + n_l
  big_wins, big_games = np.zeros((2, num_seeds, n, n))
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


def _to_elo(s: np.ndarray, anchor: int, anchor_rating: float) -> np.ndarray:
  """Natural units [..., n] -> Elo anchored so that [..., anchor] == anchor_rating exactly."""
  r = s / ELO_SCALE
  r = r - r[..., anchor : anchor + 1]
  r[..., anchor] = 0.0
  return r + anchor_rating


def _newton_elo(wins: np.ndarray, games: np.ndarray, anchor: int) -> np.ndarray:
  """Batched Newton ascent (``stats.newton_ascent``): wins, games [B, n, n] -> natural-unit ratings [B, n].

  The anchor's rating is held at 0; the objective is strictly concave in the others (the
  comparison graph is connected and the prior is strictly concave off the all-equal direction).
  """
  batch, n, _ = wins.shape
  if n == 1:
    return np.zeros((batch, n))
  free = np.flatnonzero(np.arange(n) != anchor)
  eye = np.eye(n)
  half = 0.5 * VIRTUAL_DRAW_GAMES

  def objective(rows, s):  # penalised log-likelihood [b] of s [b, n]
    loglik = np.sum(wins[rows] * stats.log_sigmoid(s[:, :, None] - s[:, None, :]), axis=(1, 2))
    d = s - s.mean(axis=1, keepdims=True)
    return loglik + half * np.sum(stats.log_sigmoid(d) + stats.log_sigmoid(-d), axis=1)

  def newton_step(rows, s):
    ga = games[rows]
    p = stats.sigmoid(s[:, :, None] - s[:, None, :])  # [b, n, n]
    grad = np.sum(wins[rows] - ga * p, axis=2)  # [b, n]
    a = ga * p * (1.0 - p)
    hess = a - eye * a.sum(axis=2)[:, :, None]  # [b, n, n]
    # Virtual draw against the mean: gradient C v, Hessian -C diag(w) C, C = I - 11^T / n.
    q = stats.sigmoid(s - s.mean(axis=1, keepdims=True))
    v = half * (1.0 - 2.0 * q)
    grad += v - v.mean(axis=1, keepdims=True)
    w = 2.0 * half * q * (1.0 - q)
    cw = w[:, :, None] * eye - w[:, :, None] / n  # diag(w) C
    hess -= cw - cw.mean(axis=1, keepdims=True)  # C diag(w) C
    step = np.zeros_like(s)
    step[:, free] = np.linalg.solve(-hess[:, free[:, None], free[None, :]], grad[:, free][..., None])[..., 0]
    return step, grad

  def converged(step, grad, value):
    return np.max(np.abs(step), axis=1) < _STEP_TOL

  return stats.newton_ascent(np.zeros((batch, n)), objective, newton_step, converged, max_steps=_MAX_NEWTON_STEPS)[0]


def _validate_counts(wins, games, *, anchor, anchor_rating):
  """Checks a square cross-play result and returns float copies of (wins, games)."""
  wins, games = np.asarray(wins, dtype=float), np.asarray(games, dtype=float)
  if wins.ndim != 2 or wins.shape[0] != wins.shape[1]:
    raise ValueError(f'wins must be a square [n, n] matrix, got shape {wins.shape}')
  if games.shape != wins.shape:
    raise ValueError(f'wins and games must have the same shape, got {wins.shape} and {games.shape}')
  n = wins.shape[0]
  if n == 0:
    raise ValueError('need at least one agent')
  stats.check_counts(wins, games, ('wins', 'games'))
  if np.any(np.diag(games) != 0) or np.any(np.diag(wins) != 0):
    raise ValueError('an agent cannot play itself: the diagonals of wins and games must be 0')
  if not np.array_equal(games, games.T):
    raise ValueError('games must be symmetric: games[i, j] == games[j, i]')
  mismatch = np.argwhere(np.abs(wins + wins.T - games) > 1e-9 * max(1.0, float(games.max())))
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
  reached = np.arange(games.shape[0]) == anchor
  frontier = reached.copy()
  while frontier.any():
    frontier = (games[frontier] > 0).any(axis=0) & ~reached
    reached |= frontier
  if not reached.all():
    missing = ', '.join(names[i] for i in np.flatnonzero(~reached))
    raise ValueError(
      f'the comparison graph is disconnected: {missing} have no chain of games to the '
      f'anchor ({names[anchor]}), so their ratings are not identified; add games that '
      'connect them or rate each connected group separately'
    )
