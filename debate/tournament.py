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
scalable oversight (NSO) curve.

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
from debate import runfiles, scaling
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
            raise ValueError(f"record {record.get('cell')!r}: liar {liar!r} without a budget")
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
                raise ValueError(f"{name}: cell {key[0]!r} (seed {key[1]}) appears twice")
            own.add(key)
            if key in seen:
                other_name, other = seen[key]
                same = (int(other['games']), int(other['correct'])) == (
                    int(record['games']), int(record['correct']))
                (identical if same else differing).append((key[0], other_name, name))
            else:
                seen[key] = (name, record)
    notes = []
    if differing:
        names = [name for name, _ in sources]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ValueError(
                f"workdirs {', '.join(clash)} share a name and hold different results for the same "
                f"cell ({differing[0][0]!r}); rename one so their records can be told apart")
        cell, a, b = differing[0]
        notes.append(
            f"{len(differing)} cell(s) differ between workdirs (first: {cell!r} in {a} and {b}); "
            "judges are prefixed with their workdir's name and kept apart")
        merged = []
        for name, records in sources:
            for record in records:
                merged.append({**record, 'judge': f"{name}/{record['judge']}",
                               'cell': f"{name}/{record['cell']}"})
        return merged, notes
    merged, kept = [], set()
    for _, records in sources:
        for record in records:
            key = _cell_id(record)
            if key not in kept:
                kept.add(key)
                merged.append(dict(record))
    if identical:
        notes.append(f"{len(identical)} identical cell(s) found in more than one workdir "
                     f"(first: {identical[0][0]!r}) were counted once")
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
            raise ValueError(f"cell {arm}|{judge}|T={t} has several records with the same seed")
        games = sum(int(r['games']) for r in group)
        correct = sum(int(r['correct']) for r in group)
        out = dict(group[0])
        out.update(
            cell='|'.join(p for p in str(group[0]['cell']).split('|') if not p.startswith('seed=')),
            games=games, correct=correct, accuracy=correct / games if games else float('nan'),
            ci95=list(wilson_interval(correct, games)),
            seed=sorted(seeds, key=_seed_order))
        for role in ('honest_consultant', 'lying_consultant'):
            if all(f'games_{role}' in r for r in group):
                n = sum(int(r[f'games_{role}'] or 0) for r in group)
                k = sum(round((r.get(f'accuracy_{role}') or 0.0) * int(r[f'games_{role}'] or 0))
                        for r in group)
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


def elo_ready_Ts(records: Iterable[Record], *, protocol: str = 'debate', min_guards: int = 2,
                 min_houdinis: int = 2) -> list[int]:
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
    return sorted(t for t in judges
                  if len(judges[t]) >= min_guards and len(agents[t]) >= min_houdinis)


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
    """

    guards: list[str]
    houdinis: list[str]
    guard_wins: np.ndarray
    games: np.ndarray
    protocol: str | None = None
    T: int | None = None


def pooled_counts(records: Iterable[Mapping[str, Any]], *, protocol: str, T: int
                  ) -> dict[tuple[str, str], tuple[int, int]]:
    """(judge, agent) -> (correct, games) summed over seeds, for the records of `protocol` at `T` that
    have a liar; keys in first-appearance order."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for record in records:
        if record.get('protocol') != protocol or int(record['T']) != int(T):
            continue
        agent = agent_of(record)
        if agent is None:
            continue
        key = (str(record['judge']), agent)
        correct, games = counts.get(key, (0, 0))
        counts[key] = (correct + int(record['correct']), games + int(record['games']))
    return counts


def guard_houdini_matrix(records: Iterable[Record], *, protocol: str, T: int) -> Matchups:
    """Guard wins and games [G, H] of ``protocol`` at chain length ``T``, seeds pooled.

    Raises ``ValueError`` naming what is missing (with what is available) when the records hold no
    cell of that protocol with a liar at that T.
    """
    records = list(records)
    counts = pooled_counts(records, protocol=protocol, T=T)
    guards = dict.fromkeys(judge for judge, _ in counts)
    if not guards:
        available = sorted({(str(r.get('protocol')), int(r['T'])) for r in records
                            if agent_of(r) is not None})
        listed = ', '.join(f'{p} T={t}' for p, t in available) or 'none'
        raise ValueError(
            f"no {protocol} records with a liar at T={T}; protocols and T with liars: {listed}")
    guard_names = list(guards)
    houdini_names = order_agents(dict.fromkeys(agent for _, agent in counts))
    guard_wins = np.zeros((len(guard_names), len(houdini_names)), dtype=np.int64)
    game_counts = np.zeros_like(guard_wins)
    for (judge, agent), (correct, n) in counts.items():
        i, j = guard_names.index(judge), houdini_names.index(agent)
        guard_wins[i, j] = correct
        game_counts[i, j] = n
    return Matchups(guards=guard_names, houdinis=houdini_names, guard_wins=guard_wins,
                    games=game_counts, protocol=protocol, T=int(T))


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

    def houdini(self, name: str) -> dict[str, Any]:
        """``{'elo', 'ci_low', 'ci_high', 'games', 'saturated'}`` of a houdini; KeyError if unrated."""
        if name not in self.houdinis:
            raise KeyError(name)
        j = self.houdinis.index(name)
        return {'elo': float(self.houdini_elo[j]), 'ci_low': float(self.houdini_ci_low[j]),
                'ci_high': float(self.houdini_ci_high[j]), 'games': int(self.houdini_games[j]),
                'saturated': bool(self.houdini_saturated[j])}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per player (guards first): protocol, T, role, player, elo, ci_low, ci_high,
        games, wins, saturated, anchor."""
        out = []
        for role, names, elo, lo, hi, games, wins, sat in (
                ('guard', self.guards, self.guard_elo, self.guard_ci_low, self.guard_ci_high,
                 self.guard_games, self.guard_wins, self.guard_saturated),
                ('houdini', self.houdinis, self.houdini_elo, self.houdini_ci_low,
                 self.houdini_ci_high, self.houdini_games, self.houdini_wins,
                 self.houdini_saturated)):
            for i, name in enumerate(names):
                out.append({'protocol': self.protocol, 'T': self.T, 'role': role, 'player': name,
                            'elo': float(elo[i]), 'ci_low': float(lo[i]), 'ci_high': float(hi[i]),
                            'games': int(games[i]), 'wins': int(wins[i]),
                            'saturated': bool(sat[i]),
                            'anchor': role == 'guard' and i == self.anchor})
        return out


def rate(matchups: Matchups, *, num_samples: int = 1000, seed: int = 0,
         level: float = 0.95, anchor: int | str = 0) -> Ratings:
    """Role Elo of guards (the 'honest' side) and houdinis with bootstrap CIs.

    Wraps ``ratings.fit_role_elo(guard_wins, games)`` anchored at guard ``anchor`` (an index or a
    name; default the first guard) rated 0, so every interval is relative to that guard. Raises
    ``ValueError`` if a player has no chain of games to the anchor. Anchoring at a saturated guard
    (one that won every game) is allowed but puts the whole scale at an offset set by the prior;
    :func:`default_anchor` picks the first guard rated from data.
    """
    if isinstance(anchor, str):
        if anchor not in matchups.guards:
            raise ValueError(f"anchor {anchor!r} is not a guard; guards: {matchups.guards}")
        anchor = list(matchups.guards).index(anchor)
    wins = np.asarray(matchups.guard_wins, dtype=np.int64)
    games = np.asarray(matchups.games, dtype=np.int64)
    fit = ratings_lib.fit_role_elo(wins, games, num_samples=num_samples, seed=seed,
                                   anchor=anchor, anchor_rating=0.0, level=level)
    guard_games, guard_wins = games.sum(axis=1), wins.sum(axis=1)
    houdini_games = games.sum(axis=0)
    houdini_wins = houdini_games - wins.sum(axis=0)

    swept = _swept_pairings(wins, games)

    return Ratings(
        guards=tuple(matchups.guards), houdinis=tuple(matchups.houdinis),
        guard_elo=fit.honest.ratings, guard_ci_low=fit.honest.ci_low,
        guard_ci_high=fit.honest.ci_high, houdini_elo=fit.liar.ratings,
        houdini_ci_low=fit.liar.ci_low, houdini_ci_high=fit.liar.ci_high,
        guard_games=guard_games, guard_wins=guard_wins, houdini_games=houdini_games,
        houdini_wins=houdini_wins, guard_saturated=(guard_games > 0) & swept.all(axis=1),
        houdini_saturated=(houdini_games > 0) & swept.all(axis=0),
        guard_samples=fit.honest.samples, houdini_samples=fit.liar.samples, level=fit.honest.level,
        protocol=matchups.protocol, T=matchups.T, anchor=int(anchor))


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


def accuracy_vs_elo(records: Iterable[Record], ratings: Ratings, *, T: int,
                    protocols: Sequence[str] = ('debate', 'consultancy')) -> list[dict[str, Any]]:
    """Judge accuracy per (protocol, judge, houdini) at the houdini's Elo measured in debate.

    ``ratings`` must be debate ratings (Khan et al. 2024: debater strength is measured in debate;
    accuracy under each protocol is then plotted against it). Rows, in protocol order, judges by
    first appearance, houdinis weakest first: protocol, T, judge, agent, elo, elo_ci_low,
    elo_ci_high, elo_saturated, games, correct, accuracy, ci_low, ci_high (Wilson 95%), seeds
    pooled. Houdinis without a debate rating are skipped with a warning.
    """
    if ratings.protocol not in (None, 'debate'):
        raise ValueError(
            f"accuracy_vs_elo places points at the houdinis' debate Elo, but these ratings are "
            f"from {ratings.protocol!r}; pass the ratings of the debate tournament")
    records = list(records)
    rows = []
    for protocol in protocols:
        counts = pooled_counts(records, protocol=protocol, T=T)
        judges = list(dict.fromkeys(judge for judge, _ in counts))
        agents = order_agents(agent for _, agent in counts)
        unrated = [a for a in agents if a not in ratings.houdinis]
        if unrated:
            warnings.warn(f"{protocol} at T={T}: no debate Elo for {', '.join(unrated)}; "
                          "skipped in accuracy vs Elo", stacklevel=2)
        for judge in judges:
            for agent in agents:
                if agent in unrated or (judge, agent) not in counts:
                    continue
                correct, games = counts[judge, agent]
                low, high = wilson_interval(correct, games)
                h = ratings.houdini(agent)
                rows.append({
                    'protocol': protocol, 'T': int(T), 'judge': judge, 'agent': agent,
                    'elo': h['elo'], 'elo_ci_low': h['ci_low'], 'elo_ci_high': h['ci_high'],
                    'elo_saturated': h['saturated'], 'games': games, 'correct': correct,
                    'accuracy': correct / games if games else float('nan'),
                    'ci_low': low, 'ci_high': high})
    return rows


def accuracy_slopes(rows: Sequence[Mapping[str, Any]], *, num_samples: int = 1000,
                    seed: int = 0) -> list[dict[str, Any]]:
    """Logistic accuracy = sigmoid(a + b * elo / 400) per (protocol, judge) of accuracy_vs_elo rows.

    ``b`` (logits per 400 Elo) with its bootstrap 95% interval summarises whether accuracy rises
    or falls with houdini strength. Lines whose fit does not exist (fewer than two Elo values,
    or separated data such as all-correct) get ``skipped`` with the reason.
    """
    lines: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        lines.setdefault((row['protocol'], row['judge']), []).append(row)
    out = []
    for (protocol, judge), pts in lines.items():
        entry: dict[str, Any] = {'protocol': protocol, 'judge': judge, 'points': len(pts)}
        try:
            curve = scaling.bootstrap_logistic_accuracy(
                [p['elo'] for p in pts], [p['correct'] for p in pts], [p['games'] for p in pts],
                num_samples=num_samples, seed=seed)
        except ValueError as error:
            entry['skipped'] = str(error)
        else:
            lo, hi = np.quantile(curve.samples[:, 1], [0.025, 0.975])
            entry.update(a=curve.a, b=curve.b, b_ci95=[float(lo), float(hi)])
        out.append(entry)
    return out


# ----------------------------------------------------------------------------------------------
# Houdini domain Elo against search budget; nested scalable oversight.


def houdini_scaling_fit(ratings: Ratings, *,
                        budget_of: Callable[[str], float | None] | None = None,
                        exclude_saturated: bool = False) -> dict[str, Any]:
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
            raise ValueError(f"budget of {name!r} must be a positive number, got {budget}")
        points.append({'houdini': name, 'budget': budget, 'log2_budget': math.log2(budget),
                       'elo': float(ratings.houdini_elo[j]),
                       'ci_low': float(ratings.houdini_ci_low[j]),
                       'ci_high': float(ratings.houdini_ci_high[j]), 'saturated': saturated})
    distinct = {p['log2_budget'] for p in points}
    if len(distinct) < 3:
        raise ValueError(
            f"need houdinis at three or more distinct search budgets to compare a line with a "
            f"double ReLU; have {', '.join(p['houdini'] for p in points) or 'none'}"
            + (f" (left out: {', '.join(excluded)})" if excluded else ''))
    x = np.array([p['log2_budget'] for p in points])
    y = np.array([p['elo'] for p in points])
    result = dict(scaling.select_model(x, y))
    n = len(points)
    result.update(points=points, excluded=excluded, conclusive=n >= MIN_POINTS_FOR_MODEL_CHOICE,
                  protocol=ratings.protocol, T=ratings.T, level=ratings.level)
    result['note'] = '' if result['conclusive'] else (
        f"only {n} points: the double ReLU (up to 4 parameters) nearly interpolates them, so the "
        "BIC choice is inconclusive")
    return result


def nso_curve(guard_fn: scaling.ArrayFn, houdini_fn: scaling.ArrayFn,
              total_gaps: Iterable[float], max_steps: int = 20,
              start_elo: float = 0.0) -> list[dict[str, Any]]:
    """Optimal nested scalable oversight per total general-Elo gap (``scaling.optimal_nso``).

    Rows: gap, best_n, best_probability (with best_n steps), one_step_probability (n = 1).
    """
    rows = []
    for gap in total_gaps:
        best_n, best_p, probs = scaling.optimal_nso(float(gap), guard_fn, houdini_fn,
                                                    max_steps=max_steps, start_elo=start_elo)
        rows.append({'gap': float(gap), 'best_n': int(best_n), 'best_probability': float(best_p),
                     'one_step_probability': float(probs[0])})
    return rows


# ----------------------------------------------------------------------------------------------
# Rendering: Elo tables.

ELO_CSV_COLUMNS = ('protocol', 'T', 'role', 'player', 'elo', 'ci95_low', 'ci95_high', 'games',
                   'wins', 'saturated', 'anchor')


def _int_text(value: float) -> str:
    text = f'{value:.0f}'
    return '0' if text == '-0' else text


def _note(row: Mapping[str, Any]) -> str:
    notes = []
    if row['anchor']:
        notes.append('anchor')
    if row['saturated']:
        notes.append('won every game' if row['wins'] == row['games'] else
                     'lost every game' if row['wins'] == 0 else 'every pairing a sweep')
    return '; '.join(notes)


def _elo_caption(all_ratings: Sequence[Ratings], *, latex: bool) -> str:
    level = all_ratings[0].level if all_ratings else 0.95
    samples = all_ratings[0].guard_samples.shape[0] if all_ratings else 0
    ts = sorted({r.T for r in all_ratings if r.T is not None})
    t_text = ', '.join(str(t) for t in ts)
    pct = f'{100 * level:g}' + (r'\%' if latex else '%')
    t_part = (f'$T={t_text}$' if latex else f'T={t_text}') if ts else ''
    return (
        f"Guard (judge with the honest side) and houdini (liar) Elo{' at ' + t_part if ts else ''}: "
        f"maximum likelihood, brackets: {pct} parametric-bootstrap interval ({samples} samples), "
        "relative to the anchor guard of each protocol (rated 0); games: games the "
        "player played. A player whose every pairing was a sweep (won or lost all its games) is "
        "placed by the prior (virtual draws), not by data.")


def elo_table(all_ratings: Sequence[Ratings], *, fmt: str) -> str:
    """Guards and houdinis of each protocol as a ``markdown``, ``latex`` or ``csv`` table."""
    rows = [row for r in all_ratings for row in r.rows()]
    if fmt == 'csv':
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator='\n')
        writer.writerow(ELO_CSV_COLUMNS)
        for row in rows:
            writer.writerow([row['protocol'], row['T'], row['role'], row['player'],
                             f"{row['elo']:.2f}", f"{row['ci_low']:.2f}", f"{row['ci_high']:.2f}",
                             row['games'], row['wins'], int(row['saturated']),
                             int(row['anchor'])])
        return buffer.getvalue()
    if fmt == 'markdown':
        header = ['protocol', 'role', 'player', 'Elo [95% CI]', 'games', 'note']
        if all_ratings and all_ratings[0].level != 0.95:
            header[3] = f'Elo [{100 * all_ratings[0].level:g}% CI]'
        body = [[str(row['protocol']), row['role'], row['player'],
                 f"{_int_text(row['elo'])} [{_int_text(row['ci_low'])}, "
                 f"{_int_text(row['ci_high'])}]", str(row['games']), _note(row)]
                for row in rows]
        body = [[c.replace('|', r'\|') for c in line] for line in body]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        right = {3, 4}

        def line(cells):
            return '| ' + ' | '.join(c.rjust(w) if i in right else c.ljust(w)
                                     for i, (c, w) in enumerate(zip(cells, widths))) + ' |'

        rule = '|' + '|'.join('-' * (w + 1) + ':' if i in right else ':' + '-' * (w + 1)
                              for i, w in enumerate(widths)) + '|'
        return '\n'.join([line(header), rule, *(line(b) for b in body), '',
                          _elo_caption(all_ratings, latex=False)]) + '\n'
    if fmt == 'latex':
        level = all_ratings[0].level if all_ratings else 0.95
        lines = [
            r'\begin{table}[t]', r'\centering', r'\small',
            rf'\caption{{{_elo_caption(all_ratings, latex=True)}}}', r'\label{tab:elo}',
            r'\begin{tabular}{lllrrl}', r'\toprule',
            rf'Protocol & Role & Player & Elo [{100 * level:g}\% CI] & Games & Note \\',
        ]
        previous = object()
        for row in rows:
            lines.append(r'\midrule' if row['protocol'] != previous else '')
            previous = row['protocol']
            elo = (f"${_int_text(row['elo'])}$ [${_int_text(row['ci_low'])}$, "
                   f"${_int_text(row['ci_high'])}$]")
            lines.append(' & '.join([latex_escape(str(row['protocol'])), row['role'],
                                     latex_escape(row['player']), elo, str(row['games']),
                                     latex_escape(_note(row))]) + r' \\')
        lines += [r'\bottomrule', r'\end{tabular}', r'\end{table}']
        return '\n'.join(line for line in lines if line) + '\n'
    raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


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


def accuracy_vs_elo_figure(rows: Sequence[Mapping[str, Any]], ratings: Ratings,
                           path: str) -> None:
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
    lines_keys = [(p, j) for p in protocols for j in judges
                  if any(r['protocol'] == p and r['judge'] == j for r in rows)]
    # The whole spread stays within 1.5% of the axis, so points sit visibly at their houdini.
    step = 0.015 * span / max(len(lines_keys) - 1, 1)
    dodge = {key: (k - (len(lines_keys) - 1) / 2) * min(step, 0.004 * span)
             for k, key in enumerate(lines_keys)}
    for protocol, judge in lines_keys:
        pts = sorted((r for r in rows if r['protocol'] == protocol and r['judge'] == judge),
                     key=lambda r: r['elo'])
        x = np.array([r['elo'] for r in pts]) + dodge[protocol, judge]
        y = np.array([r['accuracy'] for r in pts])
        err = np.array([[r['accuracy'] - r['ci_low'] for r in pts],
                        [r['ci_high'] - r['accuracy'] for r in pts]])
        linestyle, marker = styles[protocol]
        color = colors[judge]
        ax.plot(x, y, linestyle=linestyle, color=color, linewidth=1.5, zorder=2)
        ax.errorbar(x, y, yerr=err, fmt='none', ecolor=color, elinewidth=1, capsize=3, zorder=2)
        for xi, yi, r in zip(x, y, pts):
            ax.plot([xi], [yi], marker=marker, markersize=6, color=color, linestyle='none',
                    markerfacecolor='white' if r['elo_saturated'] else color, zorder=3)
    ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1, zorder=1)
    ax.set_ylim(-0.02, 1.04)
    pad = 0.06 * span
    ax.set_xlim(min(elos) - pad, max(elos) + pad)
    ax.set_xlabel('Liar (houdini) Elo, measured in debate')
    ax.set_ylabel('Judge accuracy')
    ax.grid(True, alpha=0.3)
    t_text = f' (T = {rows[0]["T"]})' if len({r["T"] for r in rows}) == 1 else ''
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
    top.set_xticks(ticks, labels=labels, rotation=60, ha='left', rotation_mode='anchor',
                   fontsize='small')
    top.tick_params(axis='x', length=3)

    handles = [Line2D([], [], color=colors[j], linewidth=2, label=f'judge {j}') for j in judges]
    handles += [Line2D([], [], color='0.3', linestyle=styles[p][0], marker=styles[p][1],
                       label=p) for p in protocols]
    if any(r['elo_saturated'] for r in rows):
        handles.append(Line2D([], [], color='0.3', marker='o', markerfacecolor='white',
                              linestyle='none', label='liar placed by prior\n(every pairing a sweep)'))
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
        text = f"{label}, BIC = {model.bic:.1f}" + (f' ({verdict})' if is_chosen else '')
        ax.plot(grid, model.predict(grid), color='C0' if is_chosen else 'C1',
                linestyle='-' if is_chosen else '--', linewidth=2.0 if is_chosen else 1.4,
                label=text, zorder=2)
    err = np.array([[p['elo'] - p['ci_low'] for p in points],
                    [p['ci_high'] - p['elo'] for p in points]])
    ax.errorbar(x, y, yerr=err, fmt='none', ecolor='0.2', elinewidth=1, capsize=3, zorder=3)
    sat = np.array([p['saturated'] for p in points])
    ax.plot(x[~sat], y[~sat], 'o', color='0.15', markersize=6, zorder=4,
            label=f"houdini Elo ({100 * _level(fit):g}% bootstrap CI)")
    if sat.any():
        ax.plot(x[sat], y[sat], 'o', color='0.15', markerfacecolor='white', markersize=6,
                zorder=4, label='saturated (rated by prior)')
    ticks = sorted({(p['log2_budget'], p['houdini']) for p in points})
    ax.set_xticks([t for t, _ in ticks],
                  labels=[f"{t:g}\n{name}" for t, name in ticks], fontsize='small')
    ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel('log2 search budget (random liar = budget 1)')
    ax.set_ylabel('Houdini domain Elo (debate)')
    where = f" at T = {fit['T']}" if fit.get('T') is not None else ''
    excluded = f"; not placed: {', '.join(fit['excluded'])}" if fit.get('excluded') else ''
    ax.set_title(f"Liar Elo vs search budget{where}{excluded}", fontsize='medium')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='best', fontsize='small', framealpha=0.9)
    _save(fig, path)


def _level(fit: Mapping[str, Any]) -> float:
    return float(fit.get('level', 0.95))


# ----------------------------------------------------------------------------------------------
# JSON.


def ratings_json(r: Ratings) -> dict[str, Any]:
    """Ratings without the bootstrap samples, for scaling.json."""
    return {'protocol': r.protocol, 'T': r.T, 'level': r.level,
            'num_samples': int(r.guard_samples.shape[0]), 'players': r.rows()}


def dumps(value: Any) -> str:
    return json.dumps(runfiles.to_jsonable(value), indent=2, allow_nan=False) + '\n'


__all__ = [
    'Matchups', 'Ratings', 'accuracy_slopes', 'accuracy_vs_elo', 'accuracy_vs_elo_figure',
    'agent_of', 'default_budget', 'elo_ready_Ts', 'elo_table', 'guard_houdini_matrix',
    'houdini_elo_fit_figure', 'houdini_scaling_fit', 'merge_sources', 'nso_curve',
    'order_agents', 'pool_records', 'pooled_counts', 'default_anchor', 'rate', 'ratings_json',
    'search_budget',
]
