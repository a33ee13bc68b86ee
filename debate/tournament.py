"""Guard-vs-Houdini tournaments from result records: Elo, accuracy against Elo, scaling fits.

Every grid cell of a protocol with a liar is a match between two players:

- the **guard**: the judge together with the honest side (named by the record's ``judge``);
- the **houdini**: the liar, named by the record's ``agent``, its strength name shared across
  protocols: ``random`` (debate/random and consultancy's uniform one-error liar), ``greedy``
  (debate only), ``search:B`` (B units of search: debate/mcts:B, consultancy/search:B) and
  ``oracle`` (the exact best response). Direct judging has no liar (``agent`` is null).

The guard wins a game when the verdict is correct: guard wins = ``correct``, houdini wins =
``games - correct``. Records of several seeds of the same (protocol, judge, agent, T) are pooled by
summing ``games`` and ``correct``.

From the win counts this module fits role-specific Elo ratings (``ratings.fit_role_elo``, the
bipartite Elo model of Khan et al. 2024, arXiv 2402.06782, with guards as the honest side and one
guard, by default the first, anchored at 0), places judge accuracy of every protocol at the houdini's Elo *measured
in debate* (Khan et al.'s figure: debater strength on one axis, accuracy per protocol against it),
and fits the houdini's domain Elo against log2 of its search budget with the linear and
double-ReLU models of Engels et al. 2025 (arXiv 2504.18530), chosen by BIC, plus their nested
scalable oversight (NSO) curve. Guards and houdinis also share a general-strength axis, log2 FLOPs
spent per debate game (:func:`general_axis`): both roles' domain Elo is fitted against it
(:func:`general_scaling_fits`), NSO is computed from those fits (:func:`general_nso_curve`), and judge
accuracy is fitted against judge strength and the judge-liar gap on it (:func:`strength_fits`).

Records written before the ``agent`` field existed are read too: the agent is derived from
``liar`` and ``budget`` (one_error / random -> random, greedy, mcts:B / search:B -> search:B,
oracle); see :func:`agent_of`.

The second half of the module renders the results: Elo tables (Markdown, LaTeX with booktabs,
CSV), the accuracy-vs-Elo figure and the houdini Elo-vs-budget figure (matplotlib ``Figure`` with
``FigureCanvasAgg``, as ``debate.report``); ``launch.report`` drives them from workdirs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from debate import ratings as ratings_lib
from debate import runfiles, scaling, stats
from debate.report import latex_escape
from debate.stats import wilson_interval

Record = Mapping[str, Any]

# select_model's choice between a line (2 mean parameters) and a double ReLU (up to 4) is only
# informative with some residual degrees of freedom left: below this many points the double ReLU
# (nearly) interpolates and its BIC runs off to -infinity.
MIN_POINTS_FOR_MODEL_CHOICE = 6


# ----------------------------------------------------------------------------------------------
# Agents: canonical names and strength order.


def agent_of(record: Record) -> str | None:
  """The liar's canonical strength name of a record (``None`` for direct judging).

  Uses the record's ``agent`` field when present; older records without it are mapped from
  ``liar`` and ``budget``: ``one_error`` and ``random`` -> ``random``, ``greedy`` -> ``greedy``,
  ``mcts`` / ``search`` with budget B -> ``search:B``, ``oracle`` -> ``oracle``.
  """
  if 'agent' in record:
    agent = record['agent']
    return None if agent is None else str(agent)
  if record.get('protocol') == 'direct':
    return None
  liar = record.get('liar')
  if liar is None:
    return None
  liar = str(liar)
  if liar in ('one_error', 'random'):
    return 'random'
  if liar in ('mcts', 'search'):
    budget = record.get('budget')
    if budget is None:
      raise ValueError(f'record {record.get("cell")!r}: liar {liar!r} without a budget')
    return f'search:{int(budget)}'
  return liar


def search_budget(agent: str) -> int | None:
  """B for ``search:B``, else ``None``."""
  if agent.startswith('search:'):
    try:
      return int(agent.split(':', 1)[1])
    except ValueError:
      return None
  return None


def order_agents(agents: Iterable[str]) -> list[str]:
  """Distinct agents by strength: random < greedy < search:B (by B) < oracle < any other.

  Unknown names keep their first-appearance order after ``oracle``.
  """
  distinct = list(dict.fromkeys(agents))

  def key(item):
    index, name = item
    if name == 'random':
      return (0, 0, index)
    if name == 'greedy':
      return (1, 0, index)
    budget = search_budget(name)
    if budget is not None:
      return (2, budget, index)
    if name == 'oracle':
      return (3, 0, index)
    return (4, 0, index)

  return [name for _, name in sorted(enumerate(distinct), key=key)]


def default_budget(agent: str) -> float | None:
  """Search budget used by :func:`houdini_scaling_fit`: random = 1, search:B = B, else None."""
  if agent == 'random':
    return 1.0
  budget = search_budget(agent)
  return None if budget is None else float(budget)


# ----------------------------------------------------------------------------------------------
# Records: merging workdirs, pooling seeds.


def _cell_id(record: Record) -> tuple[str, Any]:
  # (cell, seed): cell ids written before seeds were part of them still tell seeds apart.
  return str(record['cell']), record.get('seed')


def merge_sources(sources: Sequence[tuple[str, Sequence[Record]]]) -> tuple[list[dict], list[str]]:
  """Merges the records of several workdirs; returns ``(records, notes)``.

  ``sources`` is ``[(name, records), ...]`` (name: the workdir's basename). Records of different
  workdirs *collide* when they share ``cell`` (and ``seed``, for older cell ids without it):

  - identical collisions (same ``games`` and ``correct``: the same deterministic measurement,
    e.g. a grid rerun inside a larger sweep) are kept once;
  - if any collision differs, the workdirs measured different things under one name (e.g.
    another modulus or judge training), so every record of every workdir is kept, its
    ``judge`` and ``cell`` prefixed with ``NAME/``: each workdir's judges become separate rows
    and separate guards. The names must then be distinct.

  A workdir that repeats a cell itself is an error (``ValueError``), as is a name clash.
  """
  seen: dict[tuple[str, Any], tuple[str, Record]] = {}
  identical, differing = [], []
  for name, records in sources:
    own: set[tuple[str, Any]] = set()
    for record in records:
      key = _cell_id(record)
      if key in own:
        raise ValueError(f'{name}: cell {key[0]!r} (seed {key[1]}) appears twice')
      own.add(key)
      if key in seen:
        other_name, other = seen[key]
        same = (int(other['games']), int(other['correct'])) == (int(record['games']), int(record['correct']))
        (identical if same else differing).append((key[0], other_name, name))
      else:
        seen[key] = (name, record)
  notes = []
  if differing:
    names = [name for name, _ in sources]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
      raise ValueError(
        f'workdirs {", ".join(clash)} share a name and hold different results for the same '
        f'cell ({differing[0][0]!r}); rename one so their records can be told apart'
      )
    cell, a, b = differing[0]
    notes.append(
      f'{len(differing)} cell(s) differ between workdirs (first: {cell!r} in {a} and {b}); '
      "judges are prefixed with their workdir's name and kept apart"
    )
    merged = []
    for name, records in sources:
      for record in records:
        merged.append({**record, 'judge': f'{name}/{record["judge"]}', 'cell': f'{name}/{record["cell"]}'})
    return merged, notes
  merged, kept = [], set()
  for _, records in sources:
    for record in records:
      key = _cell_id(record)
      if key not in kept:
        kept.add(key)
        merged.append(dict(record))
  if identical:
    notes.append(
      f'{len(identical)} identical cell(s) found in more than one workdir '
      f'(first: {identical[0][0]!r}) were counted once'
    )
  return merged, notes


def _seed_order(seed: Any) -> tuple:
  # Numbers by value, then anything else (None, strings) by its repr.
  if isinstance(seed, (int, float)) and not isinstance(seed, bool):
    return (0, seed, '')
  return (1, 0, repr(seed))


def pool_records(records: Iterable[Record]) -> list[dict]:
  """One record per (protocol, arm, judge, T): the seeds' ``games`` and ``correct`` summed.

  A group of one record is returned unchanged (copied). A pooled record gets the summed counts,
  ``accuracy`` and a Wilson ``ci95`` recomputed from them, ``seed`` = the sorted list of seeds,
  the seed dropped from ``cell``, the consultancy role splits summed, ``wall_s`` summed and the
  judges' measured error rates averaged. Raises ``ValueError`` if a seed repeats in a group.
  """
  groups: dict[tuple, list[Record]] = {}
  for record in records:
    key = (record.get('protocol'), str(record['arm']), str(record['judge']), int(record['T']))
    groups.setdefault(key, []).append(record)
  pooled = []
  for (_, arm, judge, t), group in groups.items():
    if len(group) == 1:
      pooled.append(dict(group[0]))
      continue
    seeds = [r.get('seed') for r in group]
    if len(set(map(repr, seeds))) != len(seeds):
      raise ValueError(f'cell {arm}|{judge}|T={t} has several records with the same seed')
    games = sum(int(r['games']) for r in group)
    correct = sum(int(r['correct']) for r in group)
    out = dict(group[0])
    out.update(
      cell='|'.join(p for p in str(group[0]['cell']).split('|') if not p.startswith('seed=')),
      games=games,
      correct=correct,
      accuracy=correct / games if games else float('nan'),
      ci95=list(wilson_interval(correct, games)),
      seed=sorted(seeds, key=_seed_order),
    )
    for role in ('honest_consultant', 'lying_consultant'):
      if all(f'games_{role}' in r for r in group):
        n = sum(int(r[f'games_{role}'] or 0) for r in group)
        k = sum(round((r.get(f'accuracy_{role}') or 0.0) * int(r[f'games_{role}'] or 0)) for r in group)
        out[f'games_{role}'] = n
        out[f'accuracy_{role}'] = k / n if n else None
    if all(isinstance(r.get('wall_s'), (int, float)) for r in group):
      out['wall_s'] = round(sum(r['wall_s'] for r in group), 3)
      out['games_per_s'] = round(games / max(out['wall_s'], 1e-9), 1)
    for field in ('judge_step_error', 'judge_pairwise_error', 'judge_exploitable_error'):
      values = [r.get(field) for r in group]
      if values and all(isinstance(v, (int, float)) for v in values):
        out[field] = float(np.mean(values))
    pooled.append(out)
  return pooled


def elo_ready_Ts(
  records: Iterable[Record], *, protocol: str = 'debate', min_guards: int = 2, min_houdinis: int = 2
) -> list[int]:
  """Sorted chain lengths T at which ``protocol`` has >= min_guards judges and >= min_houdinis agents."""
  judges: dict[int, set] = {}
  agents: dict[int, set] = {}
  for record in records:
    if record.get('protocol') != protocol:
      continue
    agent = agent_of(record)
    if agent is None:
      continue
    t = int(record['T'])
    judges.setdefault(t, set()).add(str(record['judge']))
    agents.setdefault(t, set()).add(agent)
  return sorted(t for t in judges if len(judges[t]) >= min_guards and len(agents[t]) >= min_houdinis)


# ----------------------------------------------------------------------------------------------
# Guard-vs-houdini matrix and ratings.


@dataclasses.dataclass(frozen=True)
class Matchups:
  """Pooled guard-vs-houdini results of one protocol at one chain length.

  Attributes:
    guards: [G] judge names, in order of first appearance in the records.
    houdinis: [H] agent names, weakest first (see :func:`order_agents`).
    guard_wins: [G, H] games guard ``g`` won (correct verdicts) against houdini ``h``.
    games: [G, H] games played (0 where the records have no such cell).
    protocol, T: what the matrix was built from.
    seeds: [K] the records' seeds (see :func:`record_seeds`); seed_guard_wins, seed_games:
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


def record_seeds(records: Iterable[Record], *, T: int) -> tuple:
  """The distinct seeds (numbers by value, then others, e.g. None for records without one) of the
  records at ``T`` that have a liar: the seed axis of :func:`counts_by_seed` and of the seed-level
  bootstrap."""
  seeds = {repr(r.get('seed')): r.get('seed') for r in records if int(r['T']) == int(T) and agent_of(r) is not None}
  return tuple(sorted(seeds.values(), key=_seed_order))


def counts_by_seed(
  records: Iterable[Mapping[str, Any]], *, protocol: str, T: int, seeds: Sequence[Any] | None = None
) -> tuple[tuple, dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]]:
  """``(seeds [K], {(judge, agent): (correct [K], games [K])})`` for the records of `protocol` at `T`
  that have a liar; keys in first-appearance order, zeros where a seed lacks the cell. ``seeds``
  default: :func:`record_seeds` of all the records at T (so every protocol shares one seed axis)."""
  records = list(records)
  seeds = record_seeds(records, T=T) if seeds is None else tuple(seeds)
  index = {repr(seed): k for k, seed in enumerate(seeds)}
  counts: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
  for record in records:
    if record.get('protocol') != protocol or int(record['T']) != int(T):
      continue
    agent = agent_of(record)
    if agent is None:
      continue
    k = index.get(repr(record.get('seed')))
    if k is None:
      raise ValueError(f'record {record.get("cell")!r} has seed {record.get("seed")!r}, not one of {list(seeds)}')
    correct, games = counts.setdefault(
      (str(record['judge']), agent), (np.zeros(len(seeds), np.int64), np.zeros(len(seeds), np.int64))
    )
    correct[k] += int(record['correct'])
    games[k] += int(record['games'])
  return seeds, counts


def pooled_counts(
  records: Iterable[Mapping[str, Any]], *, protocol: str, T: int
) -> dict[tuple[str, str], tuple[int, int]]:
  """(judge, agent) -> (correct, games) summed over seeds, for the records of `protocol` at `T` that
  have a liar; keys in first-appearance order."""
  _, counts = counts_by_seed(records, protocol=protocol, T=T)
  return {key: (int(correct.sum()), int(games.sum())) for key, (correct, games) in counts.items()}


def check_seed_bootstrap(records: Iterable[Record], *, T: int) -> tuple:
  """The seeds of the records at ``T`` if a seed-level bootstrap can resample them; else ``ValueError``
  saying why: fewer than ``stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP`` seeds, or a seed that lacks a
  (protocol, judge, liar) cell another seed has (resampling it could drop the cell)."""
  records = list(records)
  seeds = record_seeds(records, T=T)
  protocols = list(
    dict.fromkeys(r.get('protocol') for r in records if int(r['T']) == int(T) and agent_of(r) is not None)
  )
  if len(seeds) < stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP:  # too few seeds, whatever the cells: raises
    stats.check_seed_cells(np.zeros((len(seeds), 0)), seeds=seeds)
  for protocol in protocols:
    _, counts = counts_by_seed(records, protocol=protocol, T=T, seeds=seeds)
    keys = list(counts)
    stats.check_seed_cells(
      np.stack([counts[key][1] for key in keys], axis=1),
      seeds=seeds,
      cell_name=lambda c: f'{protocol} {keys[c[0]][0]} vs {keys[c[0]][1]} at T={T}',
    )
  return seeds


def guard_houdini_matrix(records: Iterable[Record], *, protocol: str, T: int) -> Matchups:
  """Guard wins and games [G, H] of ``protocol`` at chain length ``T``, seeds pooled.

  Raises ``ValueError`` naming what is missing (with what is available) when the records hold no
  cell of that protocol with a liar at that T.
  """
  records = list(records)
  seeds, counts = counts_by_seed(records, protocol=protocol, T=T)
  guards = dict.fromkeys(judge for judge, _ in counts)
  if not guards:
    available = sorted({(str(r.get('protocol')), int(r['T'])) for r in records if agent_of(r) is not None})
    listed = ', '.join(f'{p} T={t}' for p, t in available) or 'none'
    raise ValueError(f'no {protocol} records with a liar at T={T}; protocols and T with liars: {listed}')
  guard_names = list(guards)
  houdini_names = order_agents(dict.fromkeys(agent for _, agent in counts))
  seed_wins = np.zeros((len(seeds), len(guard_names), len(houdini_names)), dtype=np.int64)
  seed_games = np.zeros_like(seed_wins)
  for (judge, agent), (correct, n) in counts.items():
    i, j = guard_names.index(judge), houdini_names.index(agent)
    seed_wins[:, i, j] = correct
    seed_games[:, i, j] = n
  return Matchups(
    guards=guard_names,
    houdinis=houdini_names,
    guard_wins=seed_wins.sum(axis=0),
    games=seed_games.sum(axis=0),
    protocol=protocol,
    T=int(T),
    seeds=seeds,
    seed_guard_wins=seed_wins,
    seed_games=seed_games,
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

  def houdini(self, name: str) -> dict[str, Any]:
    """``{'elo', 'ci_low', 'ci_high', 'games', 'saturated'}`` of a houdini; KeyError if unrated."""
    if name not in self.houdinis:
      raise KeyError(name)
    j = self.houdinis.index(name)
    return {
      'elo': float(self.houdini_elo[j]),
      'ci_low': float(self.houdini_ci_low[j]),
      'ci_high': float(self.houdini_ci_high[j]),
      'games': int(self.houdini_games[j]),
      'saturated': bool(self.houdini_saturated[j]),
    }

  def rows(self) -> list[dict[str, Any]]:
    """One dict per player (guards first): protocol, T, role, player, elo, ci_low, ci_high,
    games, wins, saturated, anchor."""
    out = []
    for role, names, elo, lo, hi, games, wins, sat in (
      (
        'guard',
        self.guards,
        self.guard_elo,
        self.guard_ci_low,
        self.guard_ci_high,
        self.guard_games,
        self.guard_wins,
        self.guard_saturated,
      ),
      (
        'houdini',
        self.houdinis,
        self.houdini_elo,
        self.houdini_ci_low,
        self.houdini_ci_high,
        self.houdini_games,
        self.houdini_wins,
        self.houdini_saturated,
      ),
    ):
      for i, name in enumerate(names):
        out.append(
          {
            'protocol': self.protocol,
            'T': self.T,
            'role': role,
            'player': name,
            'elo': float(elo[i]),
            'ci_low': float(lo[i]),
            'ci_high': float(hi[i]),
            'games': int(games[i]),
            'wins': int(wins[i]),
            'saturated': bool(sat[i]),
            'anchor': role == 'guard' and i == self.anchor,
          }
        )
    return out


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
  wins = np.asarray(matchups.guard_wins, dtype=np.int64)
  games = np.asarray(matchups.games, dtype=np.int64)
  if bootstrap not in stats.RESAMPLE_KINDS:
    raise ValueError(f'bootstrap must be one of {stats.RESAMPLE_KINDS}, got {bootstrap!r}')
  if bootstrap == 'seeds':
    if matchups.seed_games is None:
      raise ValueError('a seed-level bootstrap needs the counts per seed: build the matchups with guard_houdini_matrix')
    stats.check_seed_cells(
      matchups.seed_games,
      seeds=matchups.seeds,
      cell_name=lambda c: f'{matchups.guards[c[0]]} vs {matchups.houdinis[c[1]]}',
    )
    fit = ratings_lib.fit_role_elo(
      matchups.seed_guard_wins,
      matchups.seed_games,
      num_samples=num_samples,
      seed=seed,
      anchor=anchor,
      anchor_rating=0.0,
      level=level,
      resample='seeds',
    )
  else:
    fit = ratings_lib.fit_role_elo(
      wins, games, num_samples=num_samples, seed=seed, anchor=anchor, anchor_rating=0.0, level=level
    )
  guard_games, guard_wins = games.sum(axis=1), wins.sum(axis=1)
  houdini_games = games.sum(axis=0)
  houdini_wins = houdini_games - wins.sum(axis=0)

  swept = _swept_pairings(wins, games)

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
    guard_wins=guard_wins,
    houdini_games=houdini_games,
    houdini_wins=houdini_wins,
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
  swept = _swept_pairings(np.asarray(matchups.guard_wins), np.asarray(matchups.games))
  rated = np.flatnonzero(~swept.all(axis=1))
  return int(rated[0]) if rated.size else 0


# ----------------------------------------------------------------------------------------------
# Accuracy against the houdini's debate Elo.


def accuracy_vs_elo(
  records: Iterable[Record], ratings: Ratings, *, T: int, protocols: Sequence[str] = ('debate', 'consultancy')
) -> list[dict[str, Any]]:
  """Judge accuracy per (protocol, judge, houdini) at the houdini's Elo measured in debate.

  ``ratings`` must be debate ratings (Khan et al. 2024: debater strength is measured in debate;
  accuracy under each protocol is then plotted against it). Rows, in protocol order, judges by
  first appearance, houdinis weakest first: protocol, T, judge, agent, elo, elo_ci_low,
  elo_ci_high, elo_saturated, games, correct, accuracy, ci_low, ci_high (Wilson 95%), seeds
  pooled, and seed_correct, seed_games: [K] the counts per seed (:func:`record_seeds` order,
  0 where a seed lacks the cell). Houdinis without a debate rating are skipped with a warning.
  """
  if ratings.protocol not in (None, 'debate'):
    raise ValueError(
      f"accuracy_vs_elo places points at the houdinis' debate Elo, but these ratings are "
      f'from {ratings.protocol!r}; pass the ratings of the debate tournament'
    )
  records = list(records)
  rows = []
  for protocol in protocols:
    _, counts = counts_by_seed(records, protocol=protocol, T=T)
    judges = list(dict.fromkeys(judge for judge, _ in counts))
    agents = order_agents(agent for _, agent in counts)
    unrated = [a for a in agents if a not in ratings.houdinis]
    if unrated:
      warnings.warn(
        f'{protocol} at T={T}: no debate Elo for {", ".join(unrated)}; skipped in accuracy vs Elo', stacklevel=2
      )
    for judge in judges:
      for agent in agents:
        if agent in unrated or (judge, agent) not in counts:
          continue
        seed_correct, seed_games = counts[judge, agent]
        correct, games = int(seed_correct.sum()), int(seed_games.sum())
        low, high = wilson_interval(correct, games)
        h = ratings.houdini(agent)
        rows.append(
          {
            'protocol': protocol,
            'T': int(T),
            'judge': judge,
            'agent': agent,
            'elo': h['elo'],
            'elo_ci_low': h['ci_low'],
            'elo_ci_high': h['ci_high'],
            'elo_saturated': h['saturated'],
            'games': games,
            'correct': correct,
            'accuracy': correct / games if games else float('nan'),
            'ci_low': low,
            'ci_high': high,
            'seed_correct': seed_correct.tolist(),
            'seed_games': seed_games.tolist(),
          }
        )
  return rows


def accuracy_slopes(
  rows: Sequence[Mapping[str, Any]], *, num_samples: int = 1000, seed: int = 0, bootstrap: str = 'games'
) -> list[dict[str, Any]]:
  """Logistic accuracy = sigmoid(a + b * elo / 400) per (protocol, judge) of accuracy_vs_elo rows.

  ``b`` (logits per 400 Elo) with its bootstrap 95% interval summarises whether accuracy rises
  or falls with houdini strength; ``bootstrap`` ('games' or 'seeds', see :func:`rate`) says how
  the samples are drawn ('seeds' reads the rows' per-seed counts). Lines whose fit does not exist
  (fewer than two Elo values, or separated data such as all-correct) get ``skipped`` with the
  reason.
  """
  lines: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
  for row in rows:
    lines.setdefault((row['protocol'], row['judge']), []).append(row)
  out = []
  for (protocol, judge), pts in lines.items():
    entry: dict[str, Any] = {
      'protocol': protocol,
      'judge': judge,
      'points': len(pts),
      'bootstrap': bootstrap,
      'num_seeds': len(pts[0].get('seed_games', [0])),
    }
    try:
      correct, games = _counts_to_resample(pts, bootstrap)
      curve = scaling.bootstrap_logistic_accuracy(
        [p['elo'] for p in pts], correct, games, num_samples=num_samples, seed=seed, resample=bootstrap
      )
    except ValueError as error:
      entry['skipped'] = str(error)
    else:
      lo, hi = np.quantile(curve.samples[:, 1], [0.025, 0.975])
      entry.update(a=curve.a, b=curve.b, b_ci95=[float(lo), float(hi)])
    out.append(entry)
  return out


def _counts_to_resample(pts: Sequence[Mapping[str, Any]], bootstrap: str) -> tuple[np.ndarray, np.ndarray]:
  """(correct, games) of rows for ``scaling.bootstrap_logistic_accuracy``: pooled [n], or [K, n]
  per seed for the seed-level bootstrap."""
  if bootstrap == 'seeds':
    if not all('seed_games' in p for p in pts):
      raise ValueError(
        'a seed-level bootstrap needs rows with per-seed counts (seed_correct, '
        'seed_games), as accuracy_vs_elo and accuracy_vs_strength write them'
      )
    return (
      np.array([p['seed_correct'] for p in pts], dtype=float).T,
      np.array([p['seed_games'] for p in pts], dtype=float).T,
    )
  return (np.array([p['correct'] for p in pts], dtype=float), np.array([p['games'] for p in pts], dtype=float))


# ----------------------------------------------------------------------------------------------
# Houdini domain Elo against search budget; nested scalable oversight.


def houdini_scaling_fit(
  ratings: Ratings, *, budget_of: Callable[[str], float | None] | None = None, exclude_saturated: bool = False
) -> dict[str, Any]:
  """Houdini domain Elo against log2 of its search budget: linear vs double ReLU by BIC.

  ``budget_of(name)`` gives a houdini's budget, or ``None`` to leave it out; the default
  (:func:`default_budget`) puts random at 1 and search:B at B and leaves out greedy and oracle
  (pass e.g. ``lambda a: 4096 if a == 'oracle' else default_budget(a)`` to place the oracle).
  Points are unweighted (Engels et al.), saturated ones included unless ``exclude_saturated``.

  Returns ``scaling.select_model``'s dict (``linear``, ``double_relu``, ``chosen``,
  ``chosen_fit``, ``delta_bic``, ``chosen_by_aic``, ``delta_aic``) plus ``points`` (houdini,
  budget, log2_budget, elo, ci_low, ci_high, saturated), ``excluded`` (names), ``conclusive``
  (False below ``MIN_POINTS_FOR_MODEL_CHOICE`` points, where the double ReLU nearly interpolates
  and the BIC choice means little) and ``note``. Raises ``ValueError`` with fewer than three
  distinct budgets.
  """
  budget_of = default_budget if budget_of is None else budget_of
  points, excluded = [], []
  for j, name in enumerate(ratings.houdinis):
    budget = budget_of(name)
    saturated = bool(ratings.houdini_saturated[j])
    if budget is None or (exclude_saturated and saturated):
      excluded.append(name)
      continue
    budget = float(budget)
    if not (math.isfinite(budget) and budget > 0):
      raise ValueError(f'budget of {name!r} must be a positive number, got {budget}')
    points.append(
      {
        'houdini': name,
        'budget': budget,
        'log2_budget': math.log2(budget),
        'elo': float(ratings.houdini_elo[j]),
        'ci_low': float(ratings.houdini_ci_low[j]),
        'ci_high': float(ratings.houdini_ci_high[j]),
        'saturated': saturated,
      }
    )
  distinct = {p['log2_budget'] for p in points}
  if len(distinct) < 3:
    raise ValueError(
      f'need houdinis at three or more distinct search budgets to compare a line with a '
      f'double ReLU; have {", ".join(p["houdini"] for p in points) or "none"}'
      + (f' (left out: {", ".join(excluded)})' if excluded else '')
    )
  result = _select_model_with_note([p['log2_budget'] for p in points], [p['elo'] for p in points])
  result.update(points=points, excluded=excluded, protocol=ratings.protocol, T=ratings.T, level=ratings.level)
  return result


def _select_model_with_note(x, y) -> dict[str, Any]:
  """``scaling.select_model(x [n], y [n])`` plus ``conclusive`` and its ``note``."""
  result = dict(scaling.select_model(np.asarray(x, dtype=float), np.asarray(y, dtype=float)))
  n = len(x)
  result['conclusive'] = n >= MIN_POINTS_FOR_MODEL_CHOICE
  result['note'] = (
    ''
    if result['conclusive']
    else (
      f'only {n} points: the double ReLU (up to 4 parameters) nearly interpolates them, so the '
      'BIC choice is inconclusive'
    )
  )
  return result


def nso_curve(
  guard_fn: scaling.ArrayFn,
  houdini_fn: scaling.ArrayFn,
  total_gaps: Iterable[float],
  max_steps: int = 20,
  start_elo: float = 0.0,
  *,
  samples: Sequence[tuple[scaling.ArrayFn, scaling.ArrayFn]] = (),
  level: float = 0.95,
) -> list[dict[str, Any]]:
  """Optimal nested scalable oversight per total general-strength gap (``scaling.optimal_nso``).

  Rows: gap, best_n, best_probability (with best_n steps), one_step_probability (n = 1). With
  ``samples`` ([(guard_fn, houdini_fn), ...], e.g. fits to bootstrap ratings) each row also has
  percentile intervals at ``level`` over the samples, each sample choosing its own best n:
  best_n_ci, best_probability_ci, one_step_probability_ci.
  """
  alpha = (1.0 - level) / 2.0
  rows = []
  for gap in total_gaps:
    best_n, best_p, probs = scaling.optimal_nso(
      float(gap), guard_fn, houdini_fn, max_steps=max_steps, start_elo=start_elo
    )
    row = {
      'gap': float(gap),
      'best_n': int(best_n),
      'best_probability': float(best_p),
      'one_step_probability': float(probs[0]),
    }
    if samples:
      draws = np.array(
        [
          (n, p, ps[0])
          for n, p, ps in (
            scaling.optimal_nso(float(gap), g, h, max_steps=max_steps, start_elo=start_elo) for g, h in samples
          )
        ]
      )  # [S, 3]
      lo, hi = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
      row.update(
        best_n_ci=[float(lo[0]), float(hi[0])],
        best_probability_ci=[float(lo[1]), float(hi[1])],
        one_step_probability_ci=[float(lo[2]), float(hi[2])],
      )
    rows.append(row)
  return rows


# ----------------------------------------------------------------------------------------------
# A general-strength axis shared by guards and houdinis: log2 FLOPs spent per game.
#
# Engels et al. fit each role's domain Elo against a general Elo that both roles share. Here the
# guards (learned checkers) and houdinis (searching liars) are different kinds of player, so the
# shared axis is the compute each spends on a debate game, in FLOPs of checker forward passes:
#
# - a guard's verdict scores the two claimed results of the disputed step: 2 forward passes of its
#   checker, 2 FLOPs (multiply, add) per parameter: 4 P FLOPs per game for P parameters;
# - a houdini makes R = ceil(log2 T) moves, each worth E verdicts of the checker it plays against
#   (search:B: one judged rollout per simulation, E = B; greedy: one per claim, E = m; random:
#   E = 1 by the same convention as default_budget): R E 4 P_guard FLOPs in that game. Its general
#   strength is the mean of log2 of that over the games it played (games-weighted over guards).
#
# Training compute is left out: every judge trains for the same steps and batch, so it would add
# the same log2(6 * steps * batch / 4) doublings to every guard, which moves the NSO offset but not
# the fitted slopes.

CHECKER_DEPTH = 2  # hidden layers of judges.chain_checkers.CheckerMLP (no config changes it)
FLOPS_PER_VERDICT_PER_PARAMETER = 4.0


def checker_parameters(judge: str, modulus: int, depth: int = CHECKER_DEPTH) -> int | None:
  """Parameters of a ``learned:W`` checker, the MLP 4m -> W (-> W) * (depth - 1) -> 1.

  ``None`` for judges without parameters (exact, noisy) or other names. A workdir prefix
  (``run2/learned:64``, see :func:`merge_sources`) is ignored.
  """
  name = str(judge).rsplit('/', 1)[-1]
  if not name.startswith('learned:'):
    return None
  try:
    width = int(name.split(':', 1)[1])
  except ValueError:
    return None
  return (4 * modulus + 1) * width + (depth - 1) * (width + 1) * width + width + 1


def debate_rounds(T: int) -> int:
  """Bisection rounds of a debate over T steps, ceil(log2 T): the liar's moves per game."""
  return max(0, (int(T) - 1).bit_length())


def liar_verdicts_per_move(agent: str, modulus: int) -> float | None:
  """Judge verdicts a debate liar spends per move: search:B -> B, greedy -> m, random -> 1.

  ``None`` for the oracle (an exact best response by enumeration, not a budgeted search) and
  unknown names.
  """
  if agent == 'greedy':
    return float(modulus)
  budget = default_budget(agent)
  return None if budget is None else float(budget)


@dataclasses.dataclass(frozen=True)
class GeneralAxis:
  """General strength of the players of one debate tournament: log2 FLOPs spent per game.

  Attributes:
    guards: [G] names; guard_x: [G] log2 of the guard's FLOPs per verdict (a chain checker of P
      parameters: 4 P; an image judge: one forward pass) (nan: not placed).
    guard_parameters: [G] the judge's parameters P (0 where not placed).
    houdinis: [H] names; houdini_x: [H] games-weighted mean of log2(E x the guard's FLOPs per
      verdict) over the houdini's games against placed guards (nan: not a budgeted search, or no
      such games).
    houdini_verdicts: [H] E, judge verdicts per game (nan where not placed).
    T, modulus: the tournament's chain length (pixels k on images) and modulus (None on images).
    task: 'chain' or 'images' (the captions say how each prices a game).
  """

  guards: tuple[str, ...]
  guard_x: np.ndarray
  guard_parameters: np.ndarray
  houdinis: tuple[str, ...]
  houdini_x: np.ndarray
  houdini_verdicts: np.ndarray
  T: int
  modulus: int | None
  task: str = 'chain'

  def x_of(self, role: str, name: str) -> float:
    """A guard's or houdini's general strength (nan if it is not placed); KeyError if absent."""
    names, x = (self.guards, self.guard_x) if role == 'guard' else (self.houdinis, self.houdini_x)
    if name not in names:
      raise KeyError(name)
    return float(x[names.index(name)])


def place_players(
  matchups: Matchups,
  *,
  guard_verdict_flops: Sequence[float],
  guard_parameters: Sequence[float],
  houdini_verdicts: Sequence[float | None],
  modulus: int | None,
  task: str,
) -> GeneralAxis:
  """The general axis from each guard's FLOPs per verdict [G] (0: not placed) and each houdini's
  judge verdicts per game [H] (None: not placed); a houdini's FLOPs per game are priced at the
  guards it played, log2 averaged over its games."""
  if matchups.T is None:
    raise ValueError('the matchups must come from one chain length T (guard_houdini_matrix)')
  verdict_flops = np.asarray(guard_verdict_flops, dtype=float)
  placed = verdict_flops > 0
  guard_x = np.where(placed, np.log2(np.where(placed, verdict_flops, 1.0)), np.nan)
  games = np.asarray(matchups.games, dtype=float)
  houdini_x = np.full(len(matchups.houdinis), np.nan)
  verdicts = np.full(len(matchups.houdinis), np.nan)
  for j, per_game in enumerate(houdini_verdicts):
    weight = games[:, j] * placed
    if per_game is None or not per_game > 0 or weight.sum() == 0:
      continue
    verdicts[j] = per_game
    houdini_x[j] = float(np.sum(weight * (np.log2(per_game) + np.where(placed, guard_x, 0.0))) / weight.sum())
  return GeneralAxis(
    guards=tuple(matchups.guards),
    guard_x=guard_x,
    guard_parameters=np.where(placed, np.asarray(guard_parameters, dtype=float), 0.0),
    houdinis=tuple(matchups.houdinis),
    houdini_x=houdini_x,
    houdini_verdicts=verdicts,
    T=int(matchups.T),
    modulus=None if modulus is None else int(modulus),
    task=task,
  )


def general_axis(matchups: Matchups, *, modulus: int) -> GeneralAxis:
  """Places the guards and houdinis of a chain debate tournament on the log2-FLOPs axis (see above)."""
  if matchups.T is None:
    raise ValueError('the matchups must come from one chain length T (guard_houdini_matrix)')
  params = np.array([checker_parameters(g, modulus) or 0 for g in matchups.guards], dtype=float)
  rounds = debate_rounds(matchups.T)
  verdicts = []
  for agent in matchups.houdinis:
    per_move = liar_verdicts_per_move(agent, modulus)
    verdicts.append(None if per_move is None or rounds == 0 else rounds * per_move)
  return place_players(
    matchups,
    guard_verdict_flops=FLOPS_PER_VERDICT_PER_PARAMETER * params,
    guard_parameters=params,
    houdini_verdicts=verdicts,
    modulus=modulus,
    task='chain',
  )


def image_axis(matchups: Matchups, records: Iterable[Record]) -> GeneralAxis:
  """Places the players of an image tournament (records from image_experiment.tournament_records): a
  guard's verdict is one forward pass of its judge (``judge_forward_flops``), a houdini spends
  ``liar_evaluations_per_game`` of them. ValueError when the records do not carry these fields."""
  flops, params, evaluations = {}, {}, {}
  for record in records:
    if record.get('protocol') != matchups.protocol or int(record['T']) != matchups.T:
      continue
    if record.get('judge_forward_flops') is not None:
      flops[str(record['judge'])] = float(record['judge_forward_flops'])
      params[str(record['judge'])] = float(record.get('judge_parameters') or 0)
    agent = agent_of(record)
    if agent is not None and record.get('liar_evaluations_per_game') is not None:
      evaluations.setdefault(agent, []).append(float(record['liar_evaluations_per_game']))
  if not flops:
    raise ValueError(
      'the image records carry no judge_forward_flops (written by runs since the '
      'general axis came to images); rerun the ladder to place its players'
    )
  return place_players(
    matchups,
    guard_verdict_flops=[flops.get(g, 0.0) for g in matchups.guards],
    guard_parameters=[params.get(g, 0.0) for g in matchups.guards],
    houdini_verdicts=[float(np.mean(evaluations[h])) if h in evaluations else None for h in matchups.houdinis],
    modulus=None,
    task='images',
  )


def tournament_modulus(records: Iterable[Record], *, protocol: str = 'debate', T: int) -> int:
  """The modulus of the records of ``protocol`` at ``T`` with a liar; ValueError unless exactly one."""
  moduli = {
    int(r['modulus'])
    for r in records
    if r.get('protocol') == protocol
    and int(r['T']) == int(T)
    and agent_of(r) is not None
    and r.get('modulus') is not None
  }
  if len(moduli) != 1:
    raise ValueError(
      f'{protocol} records at T={T} must share one modulus to be placed on the '
      f'compute axis; found {sorted(moduli) or "none"}'
    )
  return moduli.pop()


def general_scaling_fits(
  ratings: Ratings, axis: GeneralAxis, *, num_samples: int | None = None
) -> dict[str, dict[str, Any]]:
  """Guard and houdini domain Elo (debate ratings) against the general axis: line vs double ReLU.

  For each role (``'guard'``, ``'houdini'``) the placed players' ratings are fitted with
  ``scaling.select_model`` (BIC), as :func:`houdini_scaling_fit`, and refitted (model choice
  included) on the first ``num_samples`` (default all) bootstrap samples of the ratings, which
  vary both roles jointly. Returns per role the select_model dict plus ``points`` (player, x,
  elo, ci_low, ci_high, games, saturated), ``excluded`` (names) and ``unplaced`` (their player,
  elo, ci_low, ci_high), ``conclusive``, ``note``,
  ``bootstrap`` and ``num_seeds`` (how the ratings were resampled, see :func:`rate`),
  ``samples`` ([S] chosen fits), ``linear_slope_ci`` and ``double_relu_slope_ci`` (percentile
  intervals at the ratings' level of each model's slope), ``double_relu_share`` (fraction of samples choosing it) and
  ``games`` (games the fitted players played). Raises ``ValueError`` if a role has fewer than
  three placed players.
  """
  if (tuple(ratings.guards), tuple(ratings.houdinis)) != (axis.guards, axis.houdinis):
    raise ValueError('ratings and axis must come from the same matchups')
  total = ratings.guard_samples.shape[0]
  num = total if num_samples is None else min(int(num_samples), total)
  alpha = (1.0 - ratings.level) / 2.0
  fits = {}
  for role, names, x, elo, lo, hi, games, sat, draws in (
    (
      'guard',
      ratings.guards,
      axis.guard_x,
      ratings.guard_elo,
      ratings.guard_ci_low,
      ratings.guard_ci_high,
      ratings.guard_games,
      ratings.guard_saturated,
      ratings.guard_samples,
    ),
    (
      'houdini',
      ratings.houdinis,
      axis.houdini_x,
      ratings.houdini_elo,
      ratings.houdini_ci_low,
      ratings.houdini_ci_high,
      ratings.houdini_games,
      ratings.houdini_saturated,
      ratings.houdini_samples,
    ),
  ):
    use = np.flatnonzero(np.isfinite(x))
    if np.unique(x[use]).size < 3:
      raise ValueError(
        f'need {role}s at three or more distinct general strengths to compare a line with '
        f'a double ReLU; placed: {", ".join(names[i] for i in use) or "none"}'
      )
    fit = _select_model_with_note(x[use], elo[use])
    sample_fits = [scaling.select_model(x[use], draws[s, use]) for s in range(num)]
    linear_slopes = [f['linear'].slope for f in sample_fits]
    drelu_slopes = [f['double_relu'].slope for f in sample_fits]
    fit.update(
      role=role,
      level=ratings.level,
      bootstrap=ratings.bootstrap,
      num_seeds=len(ratings.seeds),
      points=[
        {
          'player': names[i],
          'x': float(x[i]),
          'elo': float(elo[i]),
          'ci_low': float(lo[i]),
          'ci_high': float(hi[i]),
          'games': int(games[i]),
          'saturated': bool(sat[i]),
        }
        for i in use
      ],
      excluded=[names[i] for i in range(len(names)) if i not in use],
      unplaced=[
        {'player': names[i], 'elo': float(elo[i]), 'ci_low': float(lo[i]), 'ci_high': float(hi[i])}
        for i in range(len(names))
        if i not in use
      ],
      samples=[f['chosen_fit'] for f in sample_fits],
      linear_slope_ci=[float(v) for v in np.quantile(linear_slopes, [alpha, 1 - alpha])],
      double_relu_slope_ci=[float(v) for v in np.quantile(drelu_slopes, [alpha, 1 - alpha])],
      double_relu_share=float(np.mean([f['chosen'] == 'double_relu' for f in sample_fits])),
      games=int(np.sum(games[use])),
    )
    fits[role] = fit
  return fits


def general_nso_curve(
  fits: Mapping[str, Mapping[str, Any]], total_gaps: Iterable[float], *, max_steps: int = 20, start: float | None = None
) -> list[dict[str, Any]]:
  """NSO from the fitted guard and houdini curves on the general axis, with bootstrap intervals.

  Each role's curve (its BIC-chosen fit, and each bootstrap refit) is used inside the range of
  its fitted players and held flat outside it: no extrapolation. On `chain` the plateaus are
  measured, not assumed, below the random liar (no search) and at both ends of the judge ladder
  (learned checkers of width 16 and 32, and of 128 and 256, have the same error rates at the
  default training budget); above the strongest searching liar the flat curve understates the
  liar (the oracle is stronger), so success there is an upper bound.

  ``start``: the general strength of the first (trusted) guard; default the weakest fitted
  guard. Each row (:func:`nso_curve`) also gets ``start`` and ``target_x`` = start + gap, the
  general strength of the houdini to be overseen.
  """
  guard, houdini = fits['guard'], fits['houdini']
  if start is None:
    start = min(p['x'] for p in guard['points'])

  def held(fit, role):
    xs = [p['x'] for p in fits[role]['points']]
    lo, hi = min(xs), max(xs)
    return lambda x: fit.predict(np.clip(x, lo, hi))

  samples = [(held(g, 'guard'), held(h, 'houdini')) for g, h in zip(guard['samples'], houdini['samples'])]
  rows = nso_curve(
    held(guard['chosen_fit'], 'guard'),
    held(houdini['chosen_fit'], 'houdini'),
    total_gaps,
    max_steps=max_steps,
    start_elo=float(start),
    samples=samples,
    level=float(guard.get('level', 0.95)),
  )
  for row in rows:
    row.update(start=float(start), target_x=float(start) + row['gap'])
  return rows


# ----------------------------------------------------------------------------------------------
# Accuracy against judge strength and the judge-liar gap on the general axis.


def accuracy_vs_strength(
  records: Iterable[Record], axis: GeneralAxis, *, T: int, protocols: Sequence[str] = ('debate', 'consultancy')
) -> list[dict[str, Any]]:
  """Judge accuracy per (protocol, judge, houdini) with the players' general strengths.

  As :func:`accuracy_vs_elo`, houdinis are placed at their strength *measured in debate* (the
  axis of the debate tournament), judges at their checker's. Rows (judges with a place on the
  axis only): protocol, T, judge, agent, judge_x, agent_x (nan: the liar has no place, e.g. the
  oracle), gap = agent_x - judge_x, games, correct, accuracy, ci_low, ci_high (Wilson 95%),
  seed_correct, seed_games ([K] per seed, as :func:`accuracy_vs_elo`).
  """
  records = list(records)
  rows = []
  for protocol in protocols:
    _, counts = counts_by_seed(records, protocol=protocol, T=T)
    judges = list(dict.fromkeys(judge for judge, _ in counts))
    agents = order_agents(agent for _, agent in counts)
    for judge in judges:
      if judge not in axis.guards or not np.isfinite(axis.x_of('guard', judge)):
        continue
      judge_x = axis.x_of('guard', judge)
      for agent in agents:
        if (judge, agent) not in counts:
          continue
        agent_x = axis.x_of('houdini', agent) if agent in axis.houdinis else float('nan')
        seed_correct, seed_games = counts[judge, agent]
        correct, games = int(seed_correct.sum()), int(seed_games.sum())
        low, high = wilson_interval(correct, games)
        rows.append(
          {
            'protocol': protocol,
            'T': int(T),
            'judge': judge,
            'agent': agent,
            'judge_x': judge_x,
            'agent_x': agent_x,
            'gap': agent_x - judge_x,
            'games': games,
            'correct': correct,
            'accuracy': correct / games if games else float('nan'),
            'ci_low': low,
            'ci_high': high,
            'seed_correct': seed_correct.tolist(),
            'seed_games': seed_games.tolist(),
          }
        )
  return rows


def strength_fits(
  rows: Sequence[Mapping[str, Any]], *, num_samples: int = 1000, seed: int = 0, bootstrap: str = 'games'
) -> list[dict[str, Any]]:
  """Logistic accuracy fits on the general axis, from :func:`accuracy_vs_strength` rows.

  Per protocol, in this order:

  - ``fit='gap'``: accuracy = sigmoid(a + b * gap), pooled over judges and liars (points with a
    finite gap); b is logits per doubling of the liar's compute over the judge's;
  - ``fit='judge'``, one per liar: accuracy = sigmoid(a + b * judge_x); b is logits per doubling
    of the judge's compute.

  Each entry: protocol, fit, agent (None for 'gap'), points, games, a, b, b_ci (bootstrap 95%),
  x50 = -a / b (the gap or judge strength of 50% accuracy) with x50_ci when b's interval excludes
  0 (else None), deviance G^2 and df = points - 2 (G^2 well above df: the curve misses points;
  for 'gap', the gap alone does not set accuracy), and ``curve`` (x, accuracy, ci_low, ci_high on
  101 points) for figures. A line whose fit does not exist gets ``skipped`` with the reason.
  ``bootstrap`` ('games' or 'seeds', see :func:`rate`; also in each entry) says how the samples
  are drawn.
  """
  groups: dict[tuple[str, str, str | None], list[Mapping[str, Any]]] = {}
  for row in rows:
    if math.isfinite(row['gap']):
      groups.setdefault((row['protocol'], 'gap', None), []).append(row)
  for row in rows:
    groups.setdefault((row['protocol'], 'judge', row['agent']), []).append(row)
  order = list(dict.fromkeys(row['protocol'] for row in rows))
  keys = sorted(groups, key=lambda k: (order.index(k[0]), k[1] != 'gap'))
  out = []
  for protocol, fit, agent in keys:
    pts = groups[protocol, fit, agent]
    x = np.array([p['gap'] if fit == 'gap' else p['judge_x'] for p in pts])
    correct = np.array([p['correct'] for p in pts])
    games = np.array([p['games'] for p in pts])
    entry: dict[str, Any] = {
      'protocol': protocol,
      'fit': fit,
      'agent': agent,
      'points': len(pts),
      'games': int(games.sum()),
      'bootstrap': bootstrap,
      'num_seeds': len(pts[0].get('seed_games', [0])),
    }
    try:
      curve = scaling.bootstrap_logistic_accuracy(
        x, *_counts_to_resample(pts, bootstrap), num_samples=num_samples, seed=seed, scale=1.0, resample=bootstrap
      )
    except ValueError as error:
      entry['skipped'] = str(error)
      out.append(entry)
      continue
    a_s, b_s = curve.samples[:, 0], curve.samples[:, 1]
    b_ci = [float(v) for v in np.quantile(b_s, [0.025, 0.975])]
    x50_ci = None
    if b_ci[0] > 0 or b_ci[1] < 0:
      x50_ci = [float(v) for v in np.quantile(-a_s / b_s, [0.025, 0.975])]
    entry.update(
      a=curve.a,
      b=curve.b,
      b_ci=b_ci,
      x50=-curve.a / curve.b if curve.b else None,
      x50_ci=x50_ci,
      deviance=scaling.logistic_deviance(x, correct, games, curve.a, curve.b, scale=1.0),
      df=len(pts) - 2,
      curve={'x': curve.elo_grid, 'accuracy': curve.accuracy, 'ci_low': curve.ci_low, 'ci_high': curve.ci_high},
    )
    out.append(entry)
  return out


# ----------------------------------------------------------------------------------------------
# Rendering: Elo tables.

ELO_CSV_COLUMNS = (
  'protocol',
  'T',
  'role',
  'player',
  'elo',
  'ci95_low',
  'ci95_high',
  'games',
  'wins',
  'saturated',
  'anchor',
)


def _int_text(value: float) -> str:
  text = f'{value:.0f}'
  return '0' if text == '-0' else text


def _note(row: Mapping[str, Any]) -> str:
  notes = []
  if row['anchor']:
    notes.append('anchor')
  if row['saturated']:
    notes.append(
      'won every game'
      if row['wins'] == row['games']
      else 'lost every game'
      if row['wins'] == 0
      else 'every pairing a sweep'
    )
  return '; '.join(notes)


def _seed_words(bootstrap: str, num_seeds: int) -> str:
  """How a seed-level bootstrap drew its samples, for captions ('' for the game-level one)."""
  if bootstrap != 'seeds':
    return ''
  return (
    f'the {num_seeds} seeds, each with its judges trained anew, redrawn with replacement, then '
    'the games within each drawn seed'
  )


def _elo_caption(all_ratings: Sequence[Ratings], *, latex: bool) -> str:
  level = all_ratings[0].level if all_ratings else 0.95
  samples = all_ratings[0].guard_samples.shape[0] if all_ratings else 0
  ts = sorted({r.T for r in all_ratings if r.T is not None})
  t_text = ', '.join(str(t) for t in ts)
  pct = f'{100 * level:g}' + (r'\%' if latex else '%')
  t_part = (f'$T={t_text}$' if latex else f'T={t_text}') if ts else ''
  seeds = _seed_words(all_ratings[0].bootstrap, len(all_ratings[0].seeds)) if all_ratings else ''
  interval = (
    f'seed-level bootstrap interval ({samples} samples: {seeds})'
    if seeds
    else f'parametric-bootstrap interval ({samples} samples)'
  )
  return (
    f'Guard (judge with the honest side) and houdini (liar) Elo{" at " + t_part if ts else ""}: '
    f'maximum likelihood, brackets: {pct} {interval}, '
    'relative to the anchor guard of each protocol (rated 0); games: games the '
    'player played. A player whose every pairing was a sweep (won or lost all its games) is '
    'placed by the prior (virtual draws), not by data.'
  )


def _markdown_table(header: Sequence[str], body: Sequence[Sequence[str]], right: set[int], caption: str) -> str:
  """A Markdown table (columns in ``right`` right-aligned, '|' escaped), a blank line, the caption."""
  body = [[c.replace('|', r'\|') for c in line] for line in body]
  widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

  def line(cells):
    return (
      '| ' + ' | '.join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))) + ' |'
    )

  rule = '|' + '|'.join('-' * (w + 1) + ':' if i in right else ':' + '-' * (w + 1) for i, w in enumerate(widths)) + '|'
  return '\n'.join([line(header), rule, *(line(b) for b in body), '', caption]) + '\n'


def _latex_table(
  header: Sequence[str],
  body: Sequence[Sequence[str]],
  align: str,
  caption: str,
  label: str,
  groups: Sequence[Any] | None = None,
) -> str:
  """A booktabs table; cells are LaTeX already. A rule separates rows whose ``groups`` differ."""
  lines = [
    r'\begin{table}[t]',
    r'\centering',
    r'\small',
    rf'\caption{{{caption}}}',
    rf'\label{{{label}}}',
    rf'\begin{{tabular}}{{{align}}}',
    r'\toprule',
    ' & '.join(header) + r' \\',
  ]
  previous = object()
  for i, cells in enumerate(body):
    group = groups[i] if groups is not None else None
    if i == 0 or group != previous:
      lines.append(r'\midrule')
    previous = group
    lines.append(' & '.join(cells) + r' \\')
  lines += [r'\bottomrule', r'\end{tabular}', r'\end{table}']
  return '\n'.join(lines) + '\n'


def _csv_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator='\n')
  writer.writerow(header)
  writer.writerows(rows)
  return buffer.getvalue()


def _check_fmt(fmt: str) -> None:
  if fmt not in ('markdown', 'latex', 'csv'):
    raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


def elo_table(all_ratings: Sequence[Ratings], *, fmt: str) -> str:
  """Guards and houdinis of each protocol as a ``markdown``, ``latex`` or ``csv`` table."""
  _check_fmt(fmt)
  rows = [row for r in all_ratings for row in r.rows()]
  if fmt == 'csv':
    return _csv_table(
      ELO_CSV_COLUMNS,
      [
        [
          row['protocol'],
          row['T'],
          row['role'],
          row['player'],
          f'{row["elo"]:.2f}',
          f'{row["ci_low"]:.2f}',
          f'{row["ci_high"]:.2f}',
          row['games'],
          row['wins'],
          int(row['saturated']),
          int(row['anchor']),
        ]
        for row in rows
      ],
    )
  level = all_ratings[0].level if all_ratings else 0.95
  if fmt == 'markdown':
    header = ['protocol', 'role', 'player', 'Elo [95% CI]', 'games', 'note']
    if level != 0.95:
      header[3] = f'Elo [{100 * level:g}% CI]'
    body = [
      [
        str(row['protocol']),
        row['role'],
        row['player'],
        f'{_int_text(row["elo"])} [{_int_text(row["ci_low"])}, {_int_text(row["ci_high"])}]',
        str(row['games']),
        _note(row),
      ]
      for row in rows
    ]
    return _markdown_table(header, body, {3, 4}, _elo_caption(all_ratings, latex=False))
  body = [
    [
      latex_escape(str(row['protocol'])),
      row['role'],
      latex_escape(row['player']),
      f'${_int_text(row["elo"])}$ [${_int_text(row["ci_low"])}$, ${_int_text(row["ci_high"])}$]',
      str(row['games']),
      latex_escape(_note(row)),
    ]
    for row in rows
  ]
  header = ['Protocol', 'Role', 'Player', rf'Elo [{100 * level:g}\% CI]', 'Games', 'Note']
  return _latex_table(
    header, body, 'lllrrl', _elo_caption(all_ratings, latex=True), 'tab:elo', groups=[row['protocol'] for row in rows]
  )


# ----------------------------------------------------------------------------------------------
# Rendering: the general axis, the guard/houdini fits, NSO, accuracy against strength.


def _num(value: float | None, digits: int, latex: bool) -> str:
  """A number with ``digits`` decimals ('--' for None/nan), in $...$ for LaTeX; no '-0'."""
  if value is None or not math.isfinite(value):
    return '--'
  text = f'{value:.{digits}f}'
  if float(text) == 0.0:
    text = text.lstrip('-')
  return f'${text}$' if latex else text


def _with_ci(value, ci, digits: int, latex: bool) -> str:
  """'value [low, high]' ('value' alone when ci is None)."""
  text = _num(value, digits, latex)
  if ci is None:
    return text
  return f'{text} [{_num(ci[0], digits, latex)}, {_num(ci[1], digits, latex)}]'


def _pct_with_ci(value, ci, latex: bool) -> str:
  """Probability as a percentage with one decimal: '51.7 [40.1, 60.2]'."""
  return _with_ci(100.0 * value, None if ci is None else [100.0 * c for c in ci], 1, latex)


def _axis_caption(latex: bool, task: str = 'chain') -> str:
  flops = 'log$_2$ FLOPs' if latex else 'log2 FLOPs'
  if task == 'images':
    return (
      f"General strength: {flops} spent per debate game. A guard's verdict is one forward "
      "pass of its judge (XLA's FLOP count); a houdini spends judge evaluations on its "
      'moves (mcts:B: B per move, greedy: one per candidate pixel, random: 1), priced at '
      'the judge it plays (mean over its games). T is the pixels k.'
    )
  return (
    f'General strength: {flops} spent per debate game. A guard scores the two claims of the '
    'disputed step with its checker (2 forward passes, 2 FLOPs per parameter); a houdini '
    'spends its verdicts per move (search:B: B, greedy: m, random: 1) in each of the '
    'log2 T rounds, priced at the checker it plays (mean over its games). Players without '
    'a place (the oracle, judges without parameters) are not fitted.'
  )


GENERAL_AXIS_CSV_COLUMNS = (
  'role',
  'player',
  'parameters',
  'verdicts_per_game',
  'log2_flops',
  'elo',
  'ci95_low',
  'ci95_high',
  'games',
)


def general_axis_table(axis: GeneralAxis, ratings: Ratings, *, fmt: str) -> str:
  """Every debate player with its place on the general axis and its Elo, as md / latex / csv."""
  _check_fmt(fmt)
  rows = []
  for role, names, x, elo, lo, hi, games in (
    (
      'guard',
      axis.guards,
      axis.guard_x,
      ratings.guard_elo,
      ratings.guard_ci_low,
      ratings.guard_ci_high,
      ratings.guard_games,
    ),
    (
      'houdini',
      axis.houdinis,
      axis.houdini_x,
      ratings.houdini_elo,
      ratings.houdini_ci_low,
      ratings.houdini_ci_high,
      ratings.houdini_games,
    ),
  ):
    for i, name in enumerate(names):
      params = int(axis.guard_parameters[i]) if role == 'guard' else None
      verdicts = 1.0 if role == 'guard' else float(axis.houdini_verdicts[i])
      rows.append(
        (role, name, params or None, verdicts, float(x[i]), float(elo[i]), float(lo[i]), float(hi[i]), int(games[i]))
      )
  if fmt == 'csv':
    return _csv_table(
      GENERAL_AXIS_CSV_COLUMNS,
      [
        [
          r[0],
          r[1],
          '' if r[2] is None else r[2],
          '' if not math.isfinite(r[3]) else f'{r[3]:g}',
          '' if not math.isfinite(r[4]) else f'{r[4]:.3f}',
          f'{r[5]:.2f}',
          f'{r[6]:.2f}',
          f'{r[7]:.2f}',
          r[8],
        ]
        for r in rows
      ],
    )
  latex = fmt == 'latex'
  judge_word = 'judge' if axis.task == 'images' else 'checker'
  body = []
  for role, name, params, verdicts, x, elo, lo, hi, games in rows:
    body.append(
      [
        role,
        latex_escape(name) if latex else name,
        '--' if params is None else f'{params:,}',
        '--' if not math.isfinite(verdicts) else f'{verdicts:g}',
        _num(x, 2, latex),
        _with_ci(elo, (lo, hi), 0, latex),
        str(games),
      ]
    )
  if latex:
    header = [
      'Role',
      'Player',
      f'{judge_word.capitalize()} parameters',
      'Verdicts / game',
      r'log$_2$ FLOPs',
      r'Elo [95\% CI]',
      'Games',
    ]
    return _latex_table(
      header, body, 'llrrrrr', _axis_caption(True, axis.task), 'tab:general-axis', groups=[r[0] for r in rows]
    )
  header = ['role', 'player', f'{judge_word} parameters', 'verdicts / game', 'log2 FLOPs', 'Elo [95% CI]', 'games']
  return _markdown_table(header, body, {2, 3, 4, 5, 6}, _axis_caption(False, axis.task))


GENERAL_FIT_CSV_COLUMNS = (
  'role',
  'players',
  'games',
  'chosen',
  'conclusive',
  'delta_bic',
  'linear_slope',
  'linear_slope_ci95_low',
  'linear_slope_ci95_high',
  'linear_intercept',
  'drelu_floor_x',
  'drelu_ceiling_x',
  'drelu_slope',
  'drelu_slope_ci95_low',
  'drelu_slope_ci95_high',
  'drelu_intercept',
  'drelu_share_of_samples',
  'samples',
)


def general_fit_table(fits: Mapping[str, Mapping[str, Any]], *, fmt: str) -> str:
  """Guard and houdini domain Elo against the general axis: both models, the BIC choice, CIs."""
  _check_fmt(fmt)
  roles = [fits[r] for r in ('guard', 'houdini') if r in fits]
  if fmt == 'csv':
    rows = []
    for f in roles:
      lin, dr = f['linear'], f['double_relu']
      rows.append(
        [
          f['role'],
          len(f['points']),
          f['games'],
          f['chosen'],
          int(f['conclusive']),
          f'{f["delta_bic"]:.3f}',
          f'{lin.slope:.3f}',
          f'{f["linear_slope_ci"][0]:.3f}',
          f'{f["linear_slope_ci"][1]:.3f}',
          f'{lin.intercept:.3f}',
          '' if not math.isfinite(dr.floor_x) else f'{dr.floor_x:.3f}',
          '' if not math.isfinite(dr.ceiling_x) else f'{dr.ceiling_x:.3f}',
          f'{dr.slope:.3f}',
          f'{f["double_relu_slope_ci"][0]:.3f}',
          f'{f["double_relu_slope_ci"][1]:.3f}',
          f'{dr.intercept:.3f}',
          f'{f["double_relu_share"]:.3f}',
          len(f['samples']),
        ]
      )
    return _csv_table(GENERAL_FIT_CSV_COLUMNS, rows)
  latex = fmt == 'latex'
  body = []
  for f in roles:
    dr = f['double_relu']
    chosen = 'double ReLU' if f['chosen'] == 'double_relu' else 'linear'
    if not f['conclusive']:
      chosen += ' (inconclusive)'
    breaks = ', '.join('none' if not math.isfinite(v) else _num(v, 2, latex) for v in (dr.floor_x, dr.ceiling_x))
    body.append(
      [
        f['role'],
        str(len(f['points'])),
        str(f['games']),
        chosen,
        _num(f['delta_bic'], 1, latex),
        _with_ci(f['linear'].slope, f['linear_slope_ci'], 0, latex),
        breaks,
        _with_ci(dr.slope, f['double_relu_slope_ci'], 0, latex),
        f'{100 * f["double_relu_share"]:.0f}' + (r'\%' if latex else '%'),
      ]
    )
  samples = len(roles[0]['samples']) if roles else 0
  seeds = _seed_words(roles[0].get('bootstrap', 'games'), roles[0].get('num_seeds', 0)) if roles else ''
  refits = f'seed-level bootstrap ratings ({seeds})' if seeds else 'bootstrap ratings'
  caption = (
    'Domain Elo in debate against general strength (log2 FLOPs per game), line against double '
    'ReLU (flat, linear, flat); chosen by BIC (Delta BIC = BIC(line) - BIC(double ReLU), '
    'positive favours the double ReLU; fewer than '
    f'{MIN_POINTS_FOR_MODEL_CHOICE} points is inconclusive). Slopes in Elo per doubling of '
    f'compute, brackets: 95% interval over {samples} refits to {refits}; last column: '
    'share of those refits that BIC gives to the double ReLU; games: games the fitted players '
    'played.'
  )
  if latex:
    caption = caption.replace('log2', r'log$_2$').replace('Delta BIC', r'$\Delta$BIC').replace('%', r'\%')
    header = [
      'Role',
      'Players',
      'Games',
      'Chosen (BIC)',
      r'$\Delta$BIC',
      r'Line: Elo/doubling [95\% CI]',
      'Floor, ceiling',
      r'Double ReLU: Elo/doubling [95\% CI]',
      r'Double ReLU share',
    ]
    return _latex_table(header, body, 'lrrlrrrrr', caption, 'tab:general-fit')
  header = [
    'role',
    'players',
    'games',
    'chosen (BIC)',
    'Delta BIC',
    'line: Elo/doubling [95% CI]',
    'double ReLU: floor, ceiling',
    'double ReLU: Elo/doubling [95% CI]',
    'double ReLU share',
  ]
  return _markdown_table(header, body, {1, 2, 4, 5, 6, 7, 8}, caption)


NSO_CSV_COLUMNS = (
  'gap',
  'start_x',
  'target_x',
  'best_n',
  'best_n_ci95_low',
  'best_n_ci95_high',
  'best_probability',
  'best_probability_ci95_low',
  'best_probability_ci95_high',
  'one_step_probability',
  'one_step_probability_ci95_low',
  'one_step_probability_ci95_high',
)


def nso_table(
  rows: Sequence[Mapping[str, Any]], *, fmt: str, games: int | None = None, bootstrap: str = 'games', num_seeds: int = 0
) -> str:
  """The NSO curve (:func:`general_nso_curve` rows) as md / latex / csv; ``games``: behind the fits;
  ``bootstrap``, ``num_seeds``: how the ratings behind the intervals were resampled (as the fits'
  ``bootstrap`` and ``num_seeds``)."""
  _check_fmt(fmt)
  if fmt == 'csv':
    out = []
    for r in rows:
      n_ci = r.get('best_n_ci', [None, None])
      p_ci = r.get('best_probability_ci', [None, None])
      one_ci = r.get('one_step_probability_ci', [None, None])
      out.append(
        [
          f'{r["gap"]:g}',
          f'{r["start"]:.3f}',
          f'{r["target_x"]:.3f}',
          r['best_n'],
          _csv_number(n_ci[0], 'g'),
          _csv_number(n_ci[1], 'g'),
          f'{r["best_probability"]:.6f}',
          _csv_number(p_ci[0], '.6f'),
          _csv_number(p_ci[1], '.6f'),
          f'{r["one_step_probability"]:.6f}',
          _csv_number(one_ci[0], '.6f'),
          _csv_number(one_ci[1], '.6f'),
        ]
      )
    return _csv_table(NSO_CSV_COLUMNS, out)
  latex = fmt == 'latex'
  body = []
  for r in rows:
    n_ci = r.get('best_n_ci')
    body.append(
      [
        _num(r['gap'], 0 if float(r['gap']).is_integer() else 2, latex),
        _num(r['target_x'], 2, latex),
        _with_ci(r['best_n'], n_ci, 0, latex),
        _pct_with_ci(r['best_probability'], r.get('best_probability_ci'), latex),
        _pct_with_ci(r['one_step_probability'], r.get('one_step_probability_ci'), latex),
      ]
    )
  start = rows[0]['start'] if rows else float('nan')
  based = f' (fits to {games} games)' if games is not None else ''
  seeds = _seed_words(bootstrap, num_seeds)
  refits = f'seed-level bootstrap ratings ({seeds})' if seeds else 'bootstrap ratings'
  caption = (
    f'Nested scalable oversight from the fitted guard and houdini curves{based}: the first '
    f'guard at general strength {start:.2f} (log2 FLOPs per game) must oversee a houdini '
    'a gap of that many doublings stronger, in n equal steps, each a debate won with the '
    'Elo probability of the domain-Elo difference; the success probability is the product '
    "over steps. Each curve is held flat outside its fitted players' range. Best n "
    f'maximises the success; brackets: 95% interval over refits to {refits}, each '
    'choosing its own n. Success in %.'
  )
  if latex:
    caption = caption.replace('log2', r'log$_2$').replace('%', r'\%')
    header = [
      'Gap (doublings)',
      r'Houdini log$_2$ FLOPs',
      r'Best $n$ [95\% CI]',
      r'Success, best $n$ [95\% CI]',
      r'Success, $n=1$ [95\% CI]',
    ]
    return _latex_table(header, body, 'rrrrr', caption, 'tab:nso')
  header = [
    'gap (doublings)',
    'houdini log2 FLOPs',
    'best n [95% CI]',
    'success, best n [95% CI]',
    'success, n = 1 [95% CI]',
  ]
  return _markdown_table(header, body, {0, 1, 2, 3, 4}, caption)


def _csv_number(value, spec: str) -> str:
  return '' if value is None or not math.isfinite(value) else format(value, spec)


STRENGTH_CSV_COLUMNS = (
  'protocol',
  'fit',
  'liar',
  'points',
  'games',
  'a',
  'b',
  'b_ci95_low',
  'b_ci95_high',
  'x50',
  'x50_ci95_low',
  'x50_ci95_high',
  'deviance',
  'df',
  'skipped',
)


def strength_table(fits: Sequence[Mapping[str, Any]], *, fmt: str) -> str:
  """:func:`strength_fits` as md / latex / csv: logits per doubling with CIs, 50% points, G^2."""
  _check_fmt(fmt)
  if fmt == 'csv':
    out = []
    for f in fits:
      ok = 'skipped' not in f
      x50_ci = f.get('x50_ci') or [None, None]
      out.append(
        [
          f['protocol'],
          f['fit'],
          f['agent'] or '',
          f['points'],
          f['games'],
          f'{f["a"]:.4f}' if ok else '',
          f'{f["b"]:.4f}' if ok else '',
          f'{f["b_ci"][0]:.4f}' if ok else '',
          f'{f["b_ci"][1]:.4f}' if ok else '',
          _csv_number(f.get('x50'), '.4f') if ok and f.get('x50_ci') else '',
          _csv_number(x50_ci[0], '.4f'),
          _csv_number(x50_ci[1], '.4f'),
          f'{f["deviance"]:.2f}' if ok else '',
          f['df'] if ok else '',
          f.get('skipped', ''),
        ]
      )
    return _csv_table(STRENGTH_CSV_COLUMNS, out)
  latex = fmt == 'latex'
  body = []
  for f in fits:
    what = 'gap, judges pooled' if f['fit'] == 'gap' else 'judge strength'
    liar = 'all placed' if f['agent'] is None else f['agent']
    if 'skipped' in f:
      cells = ['--', '--', '--']
    else:
      x50 = _with_ci(f['x50'], f['x50_ci'], 2, latex) if f.get('x50_ci') else '--'
      cells = [_with_ci(f['b'], f['b_ci'], 2, latex), x50, f'{_num(f["deviance"], 1, latex)} / {f["df"]}']
    body.append(
      [
        latex_escape(f['protocol']) if latex else f['protocol'],
        what,
        latex_escape(liar) if latex else liar,
        str(f['points']),
        str(f['games']),
        *cells,
      ]
    )
  seeds = _seed_words(fits[0].get('bootstrap', 'games'), fits[0].get('num_seeds', 0)) if fits else ''
  interval = f'seed-level bootstrap interval ({seeds})' if seeds else 'parametric-bootstrap interval'
  caption = (
    'Judge accuracy against the general axis (log2 FLOPs per game), logistic: '
    'accuracy = sigmoid(a + b x). Gap: x = houdini minus judge strength, pooled over judges '
    "and liars; judge strength: x = the judge's strength, one fit per liar. b in logits per "
    f'doubling, brackets: 95% {interval}; 50% point: x at which accuracy is '
    "one half (given when b's interval excludes 0); G^2 / df: binomial deviance against "
    'degrees of freedom (G^2 far above df: the curve misses points).'
  )
  if latex:
    caption = (
      caption.replace('log2', r'log$_2$')
      .replace('%', r'\%')
      .replace('G^2', '$G^2$')
      .replace('sigmoid(a + b x)', r'$\sigma(a + b x)$')
    )
    header = ['Protocol', 'Fit', 'Liar', 'Points', 'Games', r'$b$ [95\% CI]', r'50\% point [95\% CI]', r'$G^2$ / df']
    return _latex_table(header, body, 'lllrrrrr', caption, 'tab:strength', groups=[f['protocol'] for f in fits])
  header = ['protocol', 'fit', 'liar', 'points', 'games', 'b per doubling [95% CI]', '50% point [95% CI]', 'G^2 / df']
  return _markdown_table(header, body, {3, 4, 5, 6, 7}, caption)


# ----------------------------------------------------------------------------------------------
# Rendering: figures.

_PROTOCOL_STYLE = {'debate': ('-', 'o'), 'consultancy': ('--', 's')}
_OTHER_STYLES = ((':', '^'), ('-.', 'D'), ((0, (5, 1, 1, 1)), 'v'))


def _new_figure(width: float, height: float):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(width, height), layout='constrained')
  FigureCanvasAgg(fig)
  return fig


def _save(fig, path: str) -> None:
  fig.savefig(path, dpi=150, format='pdf' if path.lower().endswith('.pdf') else 'png')


def accuracy_vs_elo_figure(rows: Sequence[Mapping[str, Any]], ratings: Ratings, path: str) -> None:
  """Judge accuracy against houdini debate Elo: one line per (protocol, judge).

  Colour: judge; line style and marker: protocol; vertical bars: Wilson 95% intervals; filled
  markers at houdinis rated from data, hollow ones at saturated (prior-rated) houdinis. The top
  axis names the houdinis at their Elo. Saves PNG (150 dpi) or PDF by extension.
  """
  from matplotlib.lines import Line2D

  if not rows:
    raise ValueError('no accuracy-vs-Elo points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  colors = {j: f'C{i % 10}' for i, j in enumerate(judges)}
  styles = {}
  for i, p in enumerate(p for p in protocols if p not in _PROTOCOL_STYLE):
    styles[p] = _OTHER_STYLES[i % len(_OTHER_STYLES)]
  styles.update({p: s for p, s in _PROTOCOL_STYLE.items() if p in protocols})

  fig = _new_figure(8.4, 4.8)
  ax = fig.add_subplot()
  elos = [r['elo'] for r in rows]
  span = max(max(elos) - min(elos), 50.0)
  # Dodge the lines apart horizontally so that CI bars at one houdini overlap less.
  lines_keys = [(p, j) for p in protocols for j in judges if any(r['protocol'] == p and r['judge'] == j for r in rows)]
  # The whole spread stays within 1.5% of the axis, so points sit visibly at their houdini.
  step = 0.015 * span / max(len(lines_keys) - 1, 1)
  dodge = {key: (k - (len(lines_keys) - 1) / 2) * min(step, 0.004 * span) for k, key in enumerate(lines_keys)}
  for protocol, judge in lines_keys:
    pts = sorted((r for r in rows if r['protocol'] == protocol and r['judge'] == judge), key=lambda r: r['elo'])
    x = np.array([r['elo'] for r in pts]) + dodge[protocol, judge]
    y = np.array([r['accuracy'] for r in pts])
    err = np.array([[r['accuracy'] - r['ci_low'] for r in pts], [r['ci_high'] - r['accuracy'] for r in pts]])
    linestyle, marker = styles[protocol]
    color = colors[judge]
    ax.plot(x, y, linestyle=linestyle, color=color, linewidth=1.5, zorder=2)
    ax.errorbar(x, y, yerr=err, fmt='none', ecolor=color, elinewidth=1, capsize=3, zorder=2)
    for xi, yi, r in zip(x, y, pts):
      ax.plot(
        [xi],
        [yi],
        marker=marker,
        markersize=6,
        color=color,
        linestyle='none',
        markerfacecolor='white' if r['elo_saturated'] else color,
        zorder=3,
      )
  ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1, zorder=1)
  ax.set_ylim(-0.02, 1.04)
  pad = 0.06 * span
  ax.set_xlim(min(elos) - pad, max(elos) + pad)
  ax.set_xlabel('Liar (houdini) Elo, measured in debate')
  ax.set_ylabel('Judge accuracy')
  ax.grid(True, alpha=0.3)
  t_text = f' (T = {rows[0]["T"]})' if len({r['T'] for r in rows}) == 1 else ''
  ax.set_title(f'Judge accuracy vs liar strength{t_text}', fontsize='medium')

  # Houdini names at their Elo on a top axis; skip names that would collide with a neighbour.
  # Houdinis closer than ~3% of the axis share one tick ("greedy / search:16").
  shown = sorted({(r['elo'], r['agent']) for r in rows})
  top = ax.secondary_xaxis('top')
  groups: list[list[tuple[float, str]]] = []
  for elo, agent in shown:
    if groups and elo - groups[-1][0][0] < 0.03 * span:
      groups[-1].append((elo, agent))
    else:
      groups.append([(elo, agent)])
  ticks = [float(np.mean([e for e, _ in g])) for g in groups]
  labels = [' / '.join(a for _, a in g) for g in groups]
  top.set_xticks(ticks, labels=labels, rotation=60, ha='left', rotation_mode='anchor', fontsize='small')
  top.tick_params(axis='x', length=3)

  handles = [Line2D([], [], color=colors[j], linewidth=2, label=f'judge {j}') for j in judges]
  handles += [Line2D([], [], color='0.3', linestyle=styles[p][0], marker=styles[p][1], label=p) for p in protocols]
  if any(r['elo_saturated'] for r in rows):
    handles.append(
      Line2D(
        [],
        [],
        color='0.3',
        marker='o',
        markerfacecolor='white',
        linestyle='none',
        label='liar placed by prior\n(every pairing a sweep)',
      )
    )
  handles.append(Line2D([], [], color='0.5', linestyle=':', label='chance'))
  fig.legend(handles=handles, loc='outside right center', frameon=False, fontsize='small')
  _save(fig, path)


def houdini_elo_fit_figure(fit: Mapping[str, Any], path: str) -> None:
  """Houdini domain Elo against log2 search budget with the linear and double-ReLU fits.

  Points carry their bootstrap CI bars (hollow: saturated houdini); the chosen model is drawn
  solid and labelled with its BIC, the other dashed. Saves PNG (150 dpi) or PDF by extension.
  """
  points = fit['points']
  x = np.array([p['log2_budget'] for p in points])
  y = np.array([p['elo'] for p in points])
  fig = _new_figure(7.2, 4.6)
  ax = fig.add_subplot()
  grid = np.linspace(x.min() - 0.25, x.max() + 0.25, 400)
  chosen = fit['chosen']
  verdict = 'chosen by BIC' if fit.get('conclusive', True) else 'lower BIC; too few points'
  models = [('linear', 'linear'), ('double_relu', 'double ReLU')]
  models.sort(key=lambda m: m[0] != chosen)  # the chosen model first in the legend
  for name, label in models:
    model = fit[name]
    is_chosen = name == chosen
    text = f'{label}, BIC = {model.bic:.1f}' + (f' ({verdict})' if is_chosen else '')
    ax.plot(
      grid,
      model.predict(grid),
      color='C0' if is_chosen else 'C1',
      linestyle='-' if is_chosen else '--',
      linewidth=2.0 if is_chosen else 1.4,
      label=text,
      zorder=2,
    )
  err = np.array([[p['elo'] - p['ci_low'] for p in points], [p['ci_high'] - p['elo'] for p in points]])
  ax.errorbar(x, y, yerr=err, fmt='none', ecolor='0.2', elinewidth=1, capsize=3, zorder=3)
  sat = np.array([p['saturated'] for p in points])
  ax.plot(
    x[~sat],
    y[~sat],
    'o',
    color='0.15',
    markersize=6,
    zorder=4,
    label=f'houdini Elo ({100 * _level(fit):g}% bootstrap CI)',
  )
  if sat.any():
    ax.plot(
      x[sat],
      y[sat],
      'o',
      color='0.15',
      markerfacecolor='white',
      markersize=6,
      zorder=4,
      label='saturated (rated by prior)',
    )
  ticks = sorted({(p['log2_budget'], p['houdini']) for p in points})
  ax.set_xticks([t for t, _ in ticks], labels=[f'{t:g}\n{name}' for t, name in ticks], fontsize='small')
  ax.set_xlim(grid[0], grid[-1])
  ax.set_xlabel('log2 search budget (random liar = budget 1)')
  ax.set_ylabel('Houdini domain Elo (debate)')
  where = f' at T = {fit["T"]}' if fit.get('T') is not None else ''
  excluded = f'; not placed: {", ".join(fit["excluded"])}' if fit.get('excluded') else ''
  ax.set_title(f'Liar Elo vs search budget{where}{excluded}', fontsize='medium')
  ax.grid(True, alpha=0.3)
  ax.legend(loc='best', fontsize='small', framealpha=0.9)
  _save(fig, path)


def _band(fits: Sequence[Any], grid: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
  """Pointwise percentile band [m] of fitted curves (objects with ``predict``) on grid [m]."""
  curves = np.array([f.predict(grid) for f in fits])
  alpha = (1.0 - level) / 2.0
  return np.quantile(curves, alpha, axis=0), np.quantile(curves, 1.0 - alpha, axis=0)


_ROLE_STYLE = {'guard': ('C0', 's', 'guards (judge + honest side)'), 'houdini': ('C3', 'o', 'houdinis (liars)')}


def general_fit_figure(fits: Mapping[str, Mapping[str, Any]], path: str) -> None:
  """Guard and houdini domain Elo against general strength, with the BIC-chosen fits.

  Points: Elo with bootstrap CI bars, named; lines: each role's chosen model, with the 95% band
  of its bootstrap refits; dotted horizontal lines: unplaced players (e.g. the oracle) at their
  Elo. Saves PNG (150 dpi) or PDF by extension.
  """
  fig = _new_figure(8.0, 5.0)
  ax = fig.add_subplot()
  xs = [p['x'] for f in fits.values() for p in f['points']]
  lo_x, hi_x = min(xs), max(xs)
  grid = np.linspace(lo_x - 0.5, hi_x + 0.5, 300)
  for role in ('guard', 'houdini'):
    if role not in fits:
      continue
    fit = fits[role]
    color, marker, label = _ROLE_STYLE[role]
    pts = fit['points']
    own = np.linspace(min(p['x'] for p in pts) - 0.5, max(p['x'] for p in pts) + 0.5, 200)
    model = fit['chosen_fit']
    name = 'double ReLU' if fit['chosen'] == 'double_relu' else 'line'
    slope = f'{model.slope:.0f} Elo/doubling'
    ax.plot(
      own,
      model.predict(own),
      color=color,
      linewidth=2,
      label=f'{role} fit: {name} by BIC, {slope}' + ('' if fit['conclusive'] else ' (inconclusive)'),
    )
    if fit['samples']:
      band_lo, band_hi = _band(fit['samples'], own, _level(fit))
      ax.fill_between(own, band_lo, band_hi, color=color, alpha=0.18, linewidth=0)
    x = np.array([p['x'] for p in pts])
    y = np.array([p['elo'] for p in pts])
    err = np.array([[p['elo'] - p['ci_low'] for p in pts], [p['ci_high'] - p['elo'] for p in pts]])
    ax.errorbar(x, y, yerr=err, fmt=marker, color=color, markersize=6, capsize=3, elinewidth=1, label=label, zorder=3)
    for p in pts:
      ax.annotate(
        p['player'],
        (p['x'], p['elo']),
        textcoords='offset points',
        xytext=(5, -11 if role == 'guard' else 5),
        fontsize='x-small',
        color=color,
      )
    for p in fit.get('unplaced', []):
      ax.axhline(p['elo'], color=color, linestyle=':', linewidth=1)
      ax.annotate(
        f'{p["player"]} (not a budgeted search): {p["elo"]:.0f}',
        (grid[0], p['elo']),
        textcoords='offset points',
        xytext=(2, 3),
        fontsize='x-small',
        color=color,
      )
  ax.set_xlim(grid[0], grid[-1])
  ax.set_xlabel('General strength: log2 FLOPs spent per debate game')
  ax.set_ylabel('Domain Elo in debate (95% bootstrap CI)')
  ax.set_title('Guard and houdini Elo against compute', fontsize='medium')
  ax.grid(True, alpha=0.3)
  ax.legend(loc='best', fontsize='small', framealpha=0.9)
  _save(fig, path)


def nso_figure(rows: Sequence[Mapping[str, Any]], path: str) -> None:
  """NSO success against the total gap (best n and one step, 95% bands) over the best n."""
  gap = np.array([r['gap'] for r in rows])
  fig = _new_figure(7.2, 5.6)
  top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
  for key, label, style, color in (
    ('best_probability', 'best n steps', '-', 'C2'),
    ('one_step_probability', 'one step (n = 1)', '--', 'C1'),
  ):
    y = np.array([r[key] for r in rows])
    top.plot(gap, y, linestyle=style, marker='o', markersize=3, color=color, label=label)
    if all(f'{key}_ci' in r for r in rows):
      ci = np.array([r[f'{key}_ci'] for r in rows])
      top.fill_between(gap, ci[:, 0], ci[:, 1], color=color, alpha=0.2, linewidth=0)
  top.set_ylim(-0.02, 1.02)
  top.set_ylabel('P(oversight succeeds)')
  top.grid(True, alpha=0.3)
  top.legend(loc='best', fontsize='small', title='95% bootstrap bands', title_fontsize='small')
  start = rows[0]['start'] if rows else float('nan')
  top.set_title(
    f'Nested scalable oversight from the fitted curves (first guard at {start:.1f} log2 FLOPs)', fontsize='medium'
  )
  best = np.array([r['best_n'] for r in rows])
  bottom.step(gap, best, where='mid', color='C2', label='best n')
  if all('best_n_ci' in r for r in rows):
    ci = np.array([r['best_n_ci'] for r in rows])
    bottom.fill_between(gap, ci[:, 0], ci[:, 1], step='mid', color='C2', alpha=0.2, linewidth=0, label='95% interval')
  bottom.set_ylabel('Best number of steps n')
  bottom.set_xlabel('Total general-strength gap (doublings of compute per game)')
  bottom.grid(True, alpha=0.3)
  bottom.legend(loc='upper left', fontsize='small')
  _save(fig, path)


def _protocol_panels(protocols: Sequence[str], height: float = 4.2):
  fig = _new_figure(5.2 * len(protocols) + 1.8, height)
  axes = fig.subplots(1, len(protocols), sharey=True, squeeze=False)[0]
  return fig, axes


def _wilson_err(pts: Sequence[Mapping[str, Any]]) -> np.ndarray:
  return np.array([[p['accuracy'] - p['ci_low'] for p in pts], [p['ci_high'] - p['accuracy'] for p in pts]])


def accuracy_vs_judge_figure(rows: Sequence[Mapping[str, Any]], fits: Sequence[Mapping[str, Any]], path: str) -> None:
  """Judge accuracy against judge strength, one panel per protocol, one line per liar.

  Points with Wilson 95% bars; curves: the per-liar logistic fits with their 95% bootstrap band.
  The top axis names the judges. Saves PNG (150 dpi) or PDF by extension.
  """
  if not rows:
    raise ValueError('no accuracy-vs-judge points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  agents = order_agents(r['agent'] for r in rows)
  colors = {a: f'C{i % 10}' for i, a in enumerate(agents)}
  curves = {(f['protocol'], f['agent']): f for f in fits if f['fit'] == 'judge' and 'skipped' not in f}
  fig, axes = _protocol_panels(protocols)
  for ax, protocol in zip(axes, protocols):
    for agent in agents:
      pts = sorted((r for r in rows if r['protocol'] == protocol and r['agent'] == agent), key=lambda r: r['judge_x'])
      if not pts:
        continue
      color = colors[agent]
      x = np.array([p['judge_x'] for p in pts])
      ax.errorbar(
        x,
        [p['accuracy'] for p in pts],
        yerr=_wilson_err(pts),
        fmt='o',
        color=color,
        markersize=4,
        capsize=2,
        elinewidth=1,
        label=agent,
      )
      fit = curves.get((protocol, agent))
      if fit is not None:
        c = fit['curve']
        ax.plot(c['x'], c['accuracy'], color=color, linewidth=1.3)
        ax.fill_between(c['x'], c['ci_low'], c['ci_high'], color=color, alpha=0.15, linewidth=0)
    ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel('Judge strength: log2 FLOPs per verdict')
    ax.set_title(protocol, fontsize='medium')
    ax.grid(True, alpha=0.3)
    judges = sorted({(r['judge_x'], r['judge']) for r in rows if r['protocol'] == protocol})
    top = ax.secondary_xaxis('top')
    top.set_xticks(
      [x for x, _ in judges],
      labels=[j for _, j in judges],
      rotation=45,
      ha='left',
      rotation_mode='anchor',
      fontsize='x-small',
    )
  axes[0].set_ylabel('Judge accuracy (Wilson 95% CI)')
  handles, labels = axes[0].get_legend_handles_labels()
  for ax in axes[1:]:
    for h, l in zip(*ax.get_legend_handles_labels()):
      if l not in labels:
        handles.append(h)
        labels.append(l)
  fig.legend(
    handles, labels, loc='outside right center', frameon=False, fontsize='small', title='liar', title_fontsize='small'
  )
  _save(fig, path)


def accuracy_vs_gap_figure(rows: Sequence[Mapping[str, Any]], fits: Sequence[Mapping[str, Any]], path: str) -> None:
  """Judge accuracy against the judge-liar gap, one panel per protocol, points coloured by judge.

  Points with Wilson 95% bars; curve: the logistic fit pooled over judges with its 95% bootstrap
  band. Saves PNG (150 dpi) or PDF by extension.
  """
  rows = [r for r in rows if math.isfinite(r['gap'])]
  if not rows:
    raise ValueError('no accuracy-vs-gap points to plot')
  protocols = list(dict.fromkeys(r['protocol'] for r in rows))
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  colors = {j: f'C{i % 10}' for i, j in enumerate(judges)}
  pooled = {f['protocol']: f for f in fits if f['fit'] == 'gap' and 'skipped' not in f}
  fig, axes = _protocol_panels(protocols)
  for ax, protocol in zip(axes, protocols):
    fit = pooled.get(protocol)
    if fit is not None:
      c = fit['curve']
      ax.plot(
        c['x'],
        c['accuracy'],
        color='0.15',
        linewidth=1.8,
        label=f'logistic, judges pooled: b = {fit["b"]:.2f} / doubling',
      )
      ax.fill_between(
        c['x'], c['ci_low'], c['ci_high'], color='0.3', alpha=0.2, linewidth=0, label='95% bootstrap band'
      )
    for judge in judges:
      pts = [r for r in rows if r['protocol'] == protocol and r['judge'] == judge]
      if pts:
        ax.errorbar(
          [p['gap'] for p in pts],
          [p['accuracy'] for p in pts],
          yerr=_wilson_err(pts),
          fmt='o',
          color=colors[judge],
          markersize=4,
          capsize=2,
          elinewidth=1,
          label=f'judge {judge}',
        )
    ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel('Gap: liar minus judge general strength (doublings of compute)')
    ax.set_title(protocol, fontsize='medium')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower left', fontsize='x-small', framealpha=0.9)
  axes[0].set_ylabel('Judge accuracy (Wilson 95% CI)')
  _save(fig, path)


def _level(fit: Mapping[str, Any]) -> float:
  return float(fit.get('level', 0.95))


# ----------------------------------------------------------------------------------------------
# JSON.


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


def dumps(value: Any) -> str:
  return json.dumps(runfiles.to_jsonable(value), indent=2, allow_nan=False) + '\n'


__all__ = [
  'GeneralAxis',
  'Matchups',
  'Ratings',
  'accuracy_slopes',
  'accuracy_vs_elo',
  'accuracy_vs_elo_figure',
  'accuracy_vs_gap_figure',
  'accuracy_vs_judge_figure',
  'accuracy_vs_strength',
  'agent_of',
  'check_seed_bootstrap',
  'checker_parameters',
  'counts_by_seed',
  'debate_rounds',
  'default_anchor',
  'default_budget',
  'elo_ready_Ts',
  'elo_table',
  'general_axis',
  'general_axis_table',
  'general_fit_figure',
  'general_fit_table',
  'general_nso_curve',
  'general_scaling_fits',
  'guard_houdini_matrix',
  'houdini_elo_fit_figure',
  'houdini_scaling_fit',
  'liar_verdicts_per_move',
  'merge_sources',
  'nso_curve',
  'nso_figure',
  'nso_table',
  'order_agents',
  'pool_records',
  'pooled_counts',
  'rate',
  'ratings_json',
  'record_seeds',
  'search_budget',
  'strength_fits',
  'strength_table',
  'tournament_modulus',
]
