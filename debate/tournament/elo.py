"""Guard-vs-houdini matrices and their role-specific Elo ratings.

:func:`guard_houdini_matrix` turns the records of one protocol at one chain length into pooled (and
per-seed) guard wins and games; :func:`rate` fits guard and houdini Elo to them with
``ratings.fit_role_elo`` (the bipartite Elo model of Khan et al. 2024, arXiv 2402.06782, guards as
the honest side, one guard anchored at 0), with game- or seed-level bootstrap intervals.

:func:`debater_matrix` and :func:`rate_debaters` rate debaters that play each other in both roles in
front of one judge (the text task's cross-play): the same role Elo, honest debaters as guards, and
each debater's Elo the mean of its two roles (Khan et al.'s debater Elo).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from debate.analysis import ratings as ratings_lib
from debate.analysis import stats
from debate.tournament.pooling import Record, counts_by_seed, liar_records, order_agents


@dataclasses.dataclass(frozen=True)
class Matchups:
  """Pooled guard-vs-houdini results of one protocol at one chain length.

  Attributes:
    guards: [G] judge names, in order of first appearance in the records.
    houdinis: [H] agent names, weakest first (see :func:`pooling.order_agents`).
    guard_wins: [G, H] games guard ``g`` won (correct verdicts) against houdini ``h``.
    games: [G, H] games played (0 where the records have no such cell).
    protocol, T: what the matrix was built from.
    seeds: [K] the records' seeds (see :func:`pooling.record_seeds`); seed_guard_wins, seed_games:
      [K, G, H] the same counts per seed (they sum to guard_wins and games), for the seed-level
      bootstrap of :func:`rate`; None when the matrix was not built from records.
  """

  guards: list[str]
  houdinis: list[str]
  guard_wins: np.ndarray
  games: np.ndarray
  protocol: str | None = None
  T: int | None = None
  seeds: tuple = ()
  seed_guard_wins: np.ndarray | None = None
  seed_games: np.ndarray | None = None


def guard_houdini_matrix(records: Iterable[Record], *, protocol: str, T: int) -> Matchups:
  """Guard wins and games [G, H] of ``protocol`` at chain length ``T``, seeds pooled.

  Raises ``ValueError`` naming what is missing (with what is available) when the records hold no
  cell of that protocol with a liar at that T.
  """
  records = list(records)
  seeds, counts = counts_by_seed(records, protocol=protocol, T=T)
  guards = list(dict.fromkeys(judge for judge, _ in counts))
  if not guards:
    available = sorted({(str(r.get('protocol')), int(r['T'])) for r in liar_records(records)})
    listed = ', '.join(f'{p} T={t}' for p, t in available) or 'none'
    raise ValueError(f'no {protocol} records with a liar at T={T}; protocols and T with liars: {listed}')
  houdinis = order_agents(agent for _, agent in counts)
  stacked = np.zeros((2, len(seeds), len(guards), len(houdinis)), dtype=np.int64)  # (correct, games) per seed
  for (judge, agent), seed_counts in counts.items():
    stacked[:, :, guards.index(judge), houdinis.index(agent)] = seed_counts
  seed_wins, seed_games = stacked
  return Matchups(
    guards, houdinis, seed_wins.sum(axis=0), seed_games.sum(axis=0), protocol, int(T), seeds, seed_wins, seed_games
  )


@dataclasses.dataclass(frozen=True, eq=False)
class Ratings:
  """Guard and houdini Elo of one protocol, anchored at one guard (rating 0; default the first).

  Attributes:
    guards: [G] names; houdinis: [H] names (weakest first).
    guard_elo, guard_ci_low, guard_ci_high: [G] rating and bootstrap percentile interval.
    houdini_elo, houdini_ci_low, houdini_ci_high: [H] the same for houdinis.
    guard_games, guard_wins: [G] games played and won; houdini_games, houdini_wins: [H].
    guard_saturated, houdini_saturated: [G] / [H] bool: every pairing the player played was a
      sweep (it won all of that pairing's games or lost all of them); in particular a player
      that won or lost every game it played. The data then only bound its rating; the value is
      set by the prior of ``ratings.py`` (virtual draws), and its bootstrap interval, which
      cannot vary a sweep, understates the uncertainty.
    guard_samples: [num_samples, G]; houdini_samples: [num_samples, H] bootstrap ratings.
    level: confidence level of the intervals; protocol, T: what was rated.
    anchor: index of the guard fixed at rating 0.
    bootstrap: 'games' (the pooled games redrawn) or 'seeds' (the seeds redrawn, then their
      games; see :func:`rate`); seeds: [K] the seeds behind the counts.
  """

  guards: tuple[str, ...]
  houdinis: tuple[str, ...]
  guard_elo: np.ndarray
  guard_ci_low: np.ndarray
  guard_ci_high: np.ndarray
  houdini_elo: np.ndarray
  houdini_ci_low: np.ndarray
  houdini_ci_high: np.ndarray
  guard_games: np.ndarray
  guard_wins: np.ndarray
  houdini_games: np.ndarray
  houdini_wins: np.ndarray
  guard_saturated: np.ndarray
  houdini_saturated: np.ndarray
  guard_samples: np.ndarray
  houdini_samples: np.ndarray
  level: float
  protocol: str | None = None
  T: int | None = None
  anchor: int = 0
  bootstrap: str = 'games'
  seeds: tuple = ()

  def role(self, role: str) -> dict[str, Any]:
    """A role's ('guard' or 'houdini') names and arrays: names, elo, ci_low, ci_high, games, wins,
    saturated, samples."""
    fields = ('elo', 'ci_low', 'ci_high', 'games', 'wins', 'saturated', 'samples')
    return {'names': getattr(self, f'{role}s'), **{f: getattr(self, f'{role}_{f}') for f in fields}}

  def houdini(self, name: str) -> dict[str, Any]:
    """``{'elo', 'ci_low', 'ci_high', 'saturated'}`` of a houdini; KeyError if unrated."""
    row = {row['player']: row for row in self.rows() if row['role'] == 'houdini'}[name]
    return {key: row[key] for key in ('elo', 'ci_low', 'ci_high', 'saturated')}

  def rows(self) -> list[dict[str, Any]]:
    """One dict per player (guards first): protocol, T, role, player, elo, ci_low, ci_high,
    games, wins, saturated, anchor."""
    return [
      {
        'protocol': self.protocol,
        'T': self.T,
        'role': role,
        'player': name,
        **{key: float(r[key][i]) for key in ('elo', 'ci_low', 'ci_high')},
        'games': int(r['games'][i]),
        'wins': int(r['wins'][i]),
        'saturated': bool(r['saturated'][i]),
        'anchor': role == 'guard' and i == self.anchor,
      }
      for role in ('guard', 'houdini')
      for r in [self.role(role)]
      for i, name in enumerate(r['names'])
    ]


def rate(
  matchups: Matchups,
  *,
  num_samples: int = 1000,
  seed: int = 0,
  level: float = 0.95,
  anchor: int | str = 0,
  bootstrap: str = 'games',
) -> Ratings:
  """Role Elo of guards (the 'honest' side) and houdinis with bootstrap CIs.

  Wraps ``ratings.fit_role_elo(guard_wins, games)`` anchored at guard ``anchor`` (an index or a
  name; default the first guard) rated 0, so every interval is relative to that guard. Raises
  ``ValueError`` if a player has no chain of games to the anchor. Anchoring at a saturated guard
  (one that won every game) is allowed but puts the whole scale at an offset set by the prior;
  :func:`default_anchor` picks the first guard rated from data.

  ``bootstrap='games'`` redraws the games of the seeds pooled; ``'seeds'`` (a two-stage
  bootstrap) redraws the seeds with replacement, then the games within each, so the intervals
  include the between-seed variation (each seed trains its judges anew). The ratings themselves
  are the pooled fit either way. ``'seeds'`` needs matchups from :func:`guard_houdini_matrix` with
  at least ``stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP`` seeds that all play the same pairings
  (``ValueError`` naming the first missing one otherwise).
  """
  if isinstance(anchor, str):
    if anchor not in matchups.guards:
      raise ValueError(f'anchor {anchor!r} is not a guard; guards: {matchups.guards}')
    anchor = list(matchups.guards).index(anchor)
  wins, games = (np.asarray(counts, dtype=np.int64) for counts in (matchups.guard_wins, matchups.games))
  if bootstrap not in stats.RESAMPLE_KINDS:
    raise ValueError(f'bootstrap must be one of {stats.RESAMPLE_KINDS}, got {bootstrap!r}')
  counts = (wins, games)
  if bootstrap == 'seeds':
    if matchups.seed_games is None:
      raise ValueError('a seed-level bootstrap needs the counts per seed: build the matchups with guard_houdini_matrix')
    stats.check_seed_cells(
      matchups.seed_games,
      seeds=matchups.seeds,
      cell_name=lambda c: f'{matchups.guards[c[0]]} vs {matchups.houdinis[c[1]]}',
    )
    counts = (matchups.seed_guard_wins, matchups.seed_games)
  fit = ratings_lib.fit_role_elo(
    *counts, num_samples=num_samples, seed=seed, anchor=anchor, anchor_rating=0.0, level=level, resample=bootstrap
  )
  swept = _swept_pairings(wins, games)
  guard_games, houdini_games = games.sum(axis=1), games.sum(axis=0)
  return Ratings(
    guards=tuple(matchups.guards),
    houdinis=tuple(matchups.houdinis),
    guard_elo=fit.honest.ratings,
    guard_ci_low=fit.honest.ci_low,
    guard_ci_high=fit.honest.ci_high,
    houdini_elo=fit.liar.ratings,
    houdini_ci_low=fit.liar.ci_low,
    houdini_ci_high=fit.liar.ci_high,
    guard_games=guard_games,
    guard_wins=wins.sum(axis=1),
    houdini_games=houdini_games,
    houdini_wins=houdini_games - wins.sum(axis=0),
    guard_saturated=(guard_games > 0) & swept.all(axis=1),
    houdini_saturated=(houdini_games > 0) & swept.all(axis=0),
    guard_samples=fit.honest.samples,
    houdini_samples=fit.liar.samples,
    level=fit.honest.level,
    protocol=matchups.protocol,
    T=matchups.T,
    anchor=int(anchor),
    bootstrap=bootstrap,
    seeds=tuple(matchups.seeds),
  )


def _swept_pairings(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
  """[G, H] True where a pairing was a sweep (all won or all lost) or was not played."""
  return (games == 0) | (wins == 0) | (wins == games)


def default_anchor(matchups: Matchups) -> int:
  """Index of the first guard rated from data (not every pairing a sweep); 0 if none is."""
  rated = np.flatnonzero(~_swept_pairings(np.asarray(matchups.guard_wins), np.asarray(matchups.games)).all(axis=1))
  return int(rated[0]) if rated.size else 0


# ----------------------------------------------------------------------------------------------
# Debaters in both roles (cross-play in front of one judge).


def debater_matrix(records: Iterable[Record], *, judge: str, T: int) -> Matchups:
  """Honest debaters [G] x liar debaters [H] of the debate cells judged by ``judge`` at ``T``.

  ``records``: tournament records with an ``honest`` debater (``pooling.text_tournament_records``); the
  guard of a cell is its honest debater (the judge is fixed), the houdini its liar; guard wins = games the
  judge decided for the truth. Only debaters that play both roles against another debater (a cell
  ``honest != agent`` in each role) take part, with every cell among them (self-play included); a
  debater seen only in self-play is left out. ``ValueError`` when fewer than two remain.
  """
  cells = [
    r
    for r in records
    if r.get('protocol') == 'debate' and r.get('honest') is not None and str(r['judge']) == judge and int(r['T']) == T
  ]
  cross = [r for r in cells if r['honest'] != r['agent']]
  debaters = {r['honest'] for r in cross} & {r['agent'] for r in cross}
  if len(debaters) < 2:
    raise ValueError(
      f'judge {judge} at T={T}: debater Elo needs two or more debaters that each play both roles against '
      f'another (arms debate/X/liar=Y and debate/Y/liar=X); have {", ".join(sorted(debaters)) or "none"}'
    )
  crossed = [{**r, 'judge': r['honest']} for r in cells if r['honest'] in debaters and r['agent'] in debaters]
  return guard_houdini_matrix(crossed, protocol='debate', T=T)


@dataclasses.dataclass(frozen=True, eq=False)
class DebaterRatings:
  """Debater Elo in front of one judge: the mean of a debater's honest and liar role Elo (Khan et al. 2024).

  Every rating here is shifted so that the debater ``names[anchor]`` (the weakest) has Elo 0.

  Attributes:
    names: [n] debaters, weakest first (``pooling.order_agents``).
    elo, ci_low, ci_high: [n] the mean of the two role ratings and its bootstrap percentile interval.
    honest_elo, honest_ci_low, honest_ci_high, liar_elo, liar_ci_low, liar_ci_high: [n] the role ratings.
    games, wins: [n] games played (both roles) and won (honest: the judge chose the truth; liar: it did not).
    saturated: [n] bool: every pairing of both roles was a sweep (placed by the prior, see :class:`Ratings`).
    samples: [num_samples, n] bootstrap debater Elo.
    roles: the role :class:`Ratings` behind them (guards: honest debaters, houdinis: liars).
    judge: the judge; T: the game size (text: quotes k); protocol: 'debate'.
  """

  names: tuple[str, ...]
  elo: np.ndarray
  ci_low: np.ndarray
  ci_high: np.ndarray
  honest_elo: np.ndarray
  honest_ci_low: np.ndarray
  honest_ci_high: np.ndarray
  liar_elo: np.ndarray
  liar_ci_low: np.ndarray
  liar_ci_high: np.ndarray
  games: np.ndarray
  wins: np.ndarray
  saturated: np.ndarray
  samples: np.ndarray
  roles: Ratings
  judge: str
  T: int | None = None
  protocol: str = 'debate'
  anchor: int = 0

  @property
  def level(self) -> float:
    return self.roles.level

  def debater(self, name: str) -> dict[str, Any]:
    """``{'elo', 'ci_low', 'ci_high', 'saturated'}`` of a debater; KeyError if unrated."""
    if name not in self.names:
      raise KeyError(name)
    i = self.names.index(name)
    return {
      'elo': float(self.elo[i]),
      'ci_low': float(self.ci_low[i]),
      'ci_high': float(self.ci_high[i]),
      'saturated': bool(self.saturated[i]),
    }

  def rows(self) -> list[dict[str, Any]]:
    """One dict per debater: judge, T, player, elo, ci_low, ci_high, honest_/liar_ elo, ci_low, ci_high,
    games, wins, saturated, anchor."""
    keys = ('elo', 'ci_low', 'ci_high')
    return [
      {
        'judge': self.judge,
        'T': self.T,
        'player': name,
        **{key: float(getattr(self, key)[i]) for key in keys},
        **{f'{role}_{key}': float(getattr(self, f'{role}_{key}')[i]) for role in ('honest', 'liar') for key in keys},
        'games': int(self.games[i]),
        'wins': int(self.wins[i]),
        'saturated': bool(self.saturated[i]),
        'anchor': i == self.anchor,
      }
      for i, name in enumerate(self.names)
    ]


def rate_debaters(
  matchups: Matchups,
  *,
  judge: str,
  num_samples: int = 1000,
  seed: int = 0,
  level: float = 0.95,
  bootstrap: str = 'games',
) -> DebaterRatings:
  """Debater Elo from :func:`debater_matrix`'s matchups: :func:`rate`'s role Elo, each debater's Elo the mean
  of its two roles, shifted (point and every bootstrap sample) so the weakest debater has Elo 0.

  ``ValueError`` when a debater lacks a role, or as :func:`rate`.
  """
  names = order_agents([*matchups.guards, *matchups.houdinis])
  lacking = [n for n in names if n not in matchups.guards or n not in matchups.houdinis]
  if lacking:
    raise ValueError(f'debater Elo needs every debater in both roles; {", ".join(lacking)} played one')
  g = np.array([list(matchups.guards).index(n) for n in names])
  h = np.array([list(matchups.houdinis).index(n) for n in names])
  roles = rate(matchups, num_samples=num_samples, seed=seed, level=level, anchor=int(g[0]), bootstrap=bootstrap)
  offset = (roles.guard_elo[g[0]] + roles.houdini_elo[h[0]]) / 2  # [] the anchor's mean
  sample_offset = (roles.guard_samples[:, g[:1]] + roles.houdini_samples[:, h[:1]]) / 2  # [S, 1]

  def shifted(point, samples):  # (point [n], low [n], high [n], samples [S, n]), the anchor's mean at 0
    samples = samples - sample_offset
    low, high = stats.percentiles(samples, roles.level, axis=0)
    return point - offset, low, high, samples

  mean = shifted(
    (roles.guard_elo[g] + roles.houdini_elo[h]) / 2, (roles.guard_samples[:, g] + roles.houdini_samples[:, h]) / 2
  )
  honest = shifted(roles.guard_elo[g], roles.guard_samples[:, g])
  liar = shifted(roles.houdini_elo[h], roles.houdini_samples[:, h])
  return DebaterRatings(
    names=tuple(names),
    elo=mean[0],
    ci_low=mean[1],
    ci_high=mean[2],
    honest_elo=honest[0],
    honest_ci_low=honest[1],
    honest_ci_high=honest[2],
    liar_elo=liar[0],
    liar_ci_low=liar[1],
    liar_ci_high=liar[2],
    games=roles.guard_games[g] + roles.houdini_games[h],
    wins=roles.guard_wins[g] + roles.houdini_wins[h],
    saturated=roles.guard_saturated[g] & roles.houdini_saturated[h],
    samples=mean[3],
    roles=roles,
    judge=judge,
    T=matchups.T,
  )


def ratings_json(r: Ratings) -> dict[str, Any]:
  """Ratings without the bootstrap samples, for scaling.json."""
  return {
    'protocol': r.protocol,
    'T': r.T,
    'level': r.level,
    'num_samples': int(r.guard_samples.shape[0]),
    'bootstrap': r.bootstrap,
    'seeds': list(r.seeds),
    'players': r.rows(),
  }
