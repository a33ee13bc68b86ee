"""Tournament records: the liars' canonical names, merging workdirs, pooling seeds, counts per seed.

A record is one grid cell of one run (a line of a workdir's ``results.jsonl``). Every cell of a
protocol with a liar is a match between a guard (the judge with the honest side, named by the
record's ``judge``) and a houdini (the liar, named by :func:`agent_of`). This module turns the
records of one or more workdirs into the counts the ratings and fits of the other modules of
``debate.tournament`` read: :func:`merge_sources` and :func:`pool_records` across workdirs and seeds,
:func:`counts_by_seed` per (judge, agent), and the checks that decide whether a seed-level bootstrap
is possible (:func:`check_seed_bootstrap`). :func:`tournament_records` turns image records, and
:func:`text_tournament_records` text records, into tournament records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from debate.analysis import stats
from debate.analysis.stats import wilson_interval
from debate.rollouts import images as image_rollout
from debate.rollouts import text as text_rollout

Record = Mapping[str, Any]


# ----------------------------------------------------------------------------------------------
# Agents: canonical names and strength order.


def agent_of(record: Record) -> str | None:
  """The liar's canonical strength name of a record (``None`` for direct judging).

  Uses the record's ``agent`` field when present; older records without it are mapped from
  ``liar`` and ``budget``: ``one_error`` and ``random`` -> ``random``, ``greedy`` -> ``greedy``,
  ``mcts`` / ``search`` with budget B -> ``search:B``, ``oracle`` -> ``oracle``.
  """
  if 'agent' in record:
    return None if record['agent'] is None else str(record['agent'])
  if record.get('protocol') == 'direct' or record.get('liar') is None:
    return None
  liar = str(record['liar'])
  if liar in ('one_error', 'random'):
    return 'random'
  if liar in ('mcts', 'search'):
    if record.get('budget') is None:
      raise ValueError(f'record {record.get("cell")!r}: liar {liar!r} without a budget')
    return f'search:{int(record["budget"])}'
  return liar


def name_number(name: str, kind: str) -> int | None:
  """N of a name ``KIND:N`` (``search:16`` -> 16 for kind 'search'), else ``None``."""
  try:
    return int(name.split(':', 1)[1]) if name.startswith(f'{kind}:') else None
  except ValueError:
    return None


def order_agents(agents: Iterable[str]) -> list[str]:
  """Distinct agents by strength: random < greedy < search:B (by B) < oracle < any other.

  Unknown names keep their first-appearance order after ``oracle``.
  """
  ranks = {'random': 0, 'greedy': 1, 'oracle': 3}

  def key(item):
    index, name = item
    budget = name_number(name, 'search')
    return (2, budget, index) if budget is not None else (ranks.get(name, 4), 0, index)

  return [name for _, name in sorted(enumerate(dict.fromkeys(agents)), key=key)]


def default_budget(agent: str) -> float | None:
  """Search budget used by :func:`fitting.houdini_scaling_fit`: random = 1, search:B = B, else None."""
  budget = 1 if agent == 'random' else name_number(agent, 'search')
  return None if budget is None else float(budget)


# ----------------------------------------------------------------------------------------------
# Records: merging workdirs, pooling seeds.


def group_by(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list]:
  """``{key(item): [the items with that key, in order]}``, keys in order of first appearance."""
  groups: dict[Any, list] = {}
  for item in items:
    groups.setdefault(key(item), []).append(item)
  return groups


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
  if differing:
    names = [name for name, _ in sources]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
      raise ValueError(
        f'workdirs {", ".join(clash)} share a name and hold different results for the same '
        f'cell ({differing[0][0]!r}); rename one so their records can be told apart'
      )
    cell, a, b = differing[0]
    merged = [
      {**record, 'judge': f'{name}/{record["judge"]}', 'cell': f'{name}/{record["cell"]}'}
      for name, records in sources
      for record in records
    ]
    return merged, [
      f'{len(differing)} cell(s) differ between workdirs (first: {cell!r} in {a} and {b}); '
      "judges are prefixed with their workdir's name and kept apart"
    ]
  notes = [
    f'{len(identical)} identical cell(s) found in more than one workdir (first: {cell!r}) were counted once'
    for cell, _, _ in identical[:1]
  ]
  return [dict(record) for _, record in seen.values()], notes


def _seed_order(seed: Any) -> tuple:
  # Numbers by value, then anything else (None, strings) by its repr.
  if isinstance(seed, (int, float)) and not isinstance(seed, bool):
    return (0, seed, '')
  return (1, 0, repr(seed))


def _mean_or_none(values: list) -> float | None:
  return float(np.mean(values)) if values and all(isinstance(v, (int, float)) for v in values) else None


def pool_records(records: Iterable[Record]) -> list[dict]:
  """One record per (protocol, arm, judge, T): the seeds' ``games`` and ``correct`` summed.

  A group of one record is returned unchanged (copied). A pooled record gets the summed counts,
  ``accuracy`` and a Wilson ``ci95`` recomputed from them, ``seed`` = the sorted list of seeds,
  the seed dropped from ``cell``, the consultancy role splits summed, ``wall_s`` summed and the
  judges' measured error rates averaged. Raises ``ValueError`` if a seed repeats in a group.
  """
  groups = group_by(records, lambda r: (r.get('protocol'), str(r['arm']), str(r['judge']), int(r['T'])))
  pooled = []
  for (_, arm, judge, t), group in groups.items():
    out = dict(group[0])
    pooled.append(out)
    if len(group) == 1:
      continue
    seeds = [r.get('seed') for r in group]
    if len(set(map(repr, seeds))) != len(seeds):
      raise ValueError(f'cell {arm}|{judge}|T={t} has several records with the same seed')
    games = sum(int(r['games']) for r in group)
    correct = sum(int(r['correct']) for r in group)
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
        out[f'games_{role}'], out[f'accuracy_{role}'] = n, k / n if n else None
    if all(isinstance(r.get('wall_s'), (int, float)) for r in group):
      out['wall_s'] = round(sum(r['wall_s'] for r in group), 3)
      out['games_per_s'] = round(games / max(out['wall_s'], 1e-9), 1)
    for field in ('judge_step_error', 'judge_pairwise_error', 'judge_exploitable_error'):
      mean = _mean_or_none([r.get(field) for r in group])
      if mean is not None:
        out[field] = mean
  return pooled


def liar_records(records: Iterable[Record], *, T: int | None = None, protocol: str | None = None) -> list[Record]:
  """The records with a liar (at chain length ``T`` and of ``protocol``, where given)."""
  return [
    r
    for r in records
    if protocol in (None, r.get('protocol')) and (T is None or int(r['T']) == int(T)) and agent_of(r) is not None
  ]


def elo_ready_Ts(
  records: Iterable[Record], *, protocol: str = 'debate', min_guards: int = 2, min_houdinis: int = 2
) -> list[int]:
  """Sorted chain lengths T at which ``protocol`` has >= min_guards judges and >= min_houdinis agents."""
  by_T = group_by(liar_records(records, protocol=protocol), lambda r: int(r['T']))
  return sorted(
    t
    for t, at_t in by_T.items()
    if len({str(r['judge']) for r in at_t}) >= min_guards and len({agent_of(r) for r in at_t}) >= min_houdinis
  )


def record_seeds(records: Iterable[Record], *, T: int) -> tuple:
  """The distinct seeds (numbers by value, then others, e.g. None for records without one) of the
  records at ``T`` that have a liar: the seed axis of :func:`counts_by_seed` and of the seed-level
  bootstrap."""
  seeds = {repr(r.get('seed')): r.get('seed') for r in liar_records(records, T=T)}
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
  for record in liar_records(records, T=T, protocol=protocol):
    k = index.get(repr(record.get('seed')))
    if k is None:
      raise ValueError(f'record {record.get("cell")!r} has seed {record.get("seed")!r}, not one of {list(seeds)}')
    correct, games = counts.setdefault(
      (str(record['judge']), agent_of(record)), (np.zeros(len(seeds), np.int64), np.zeros(len(seeds), np.int64))
    )
    correct[k] += int(record['correct'])
    games[k] += int(record['games'])
  return seeds, counts


def check_seed_bootstrap(records: Iterable[Record], *, T: int) -> tuple:
  """The seeds of the records at ``T`` if a seed-level bootstrap can resample them; else ``ValueError``
  saying why: fewer than ``stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP`` seeds, or a seed that lacks a
  (protocol, judge, liar) cell another seed has (resampling it could drop the cell)."""
  records = list(records)
  seeds = record_seeds(records, T=T)
  if len(seeds) < stats.MIN_SEEDS_FOR_SEED_BOOTSTRAP:  # too few seeds, whatever the cells: raises
    stats.check_seed_cells(np.zeros((len(seeds), 0)), seeds=seeds)
  for protocol in dict.fromkeys(r.get('protocol') for r in liar_records(records, T=T)):
    _, counts = counts_by_seed(records, protocol=protocol, T=T, seeds=seeds)
    keys = list(counts)
    stats.check_seed_cells(
      np.stack([counts[key][1] for key in keys], axis=1),
      seeds=seeds,
      cell_name=lambda c: f'{protocol} {keys[c[0]][0]} vs {keys[c[0]][1]} at T={T}',
    )
  return seeds


# ----------------------------------------------------------------------------------------------
# Image records.


def tournament_records(records: list[dict]) -> tuple[list[dict], list[str]]:
  """Image records -> records of the guard-vs-houdini tournament (`debate.tournament`); (records, notes).

  A guard is the judge, named `MODEL/kK/STEP`, with (in debate) its ladder's honest debater: the honest
  agent that met the most liars with that judge (the budget curve's self-play cells, whose honest debater
  changes with the liar, are left out with a note). A houdini is the liar (the consultant in consultancy),
  by the tournament's strength names: random, greedy, search:B for mcts:B, az:STEP[@S]. Both first players of a cell
  are pooled: `games` = images x first players, `correct` = images the honest side won. Precommit debate
  is protocol `debate`, debate without precommit `debate_no_precommit`; `T` holds the pixels k. Records
  whose image scores are not 0/1 (seeds_per_lie > 1) cannot be counted as won and lost games and are left
  out with a note.
  """
  notes, converted = [], []
  groups = group_by(
    (r for r in records if r.get('task') == 'images' and r.get('protocol') in ('debate', 'consultancy')),
    lambda r: tuple(r[k] for k in ('arm', 'judge', 'judge_k', 'judge_step', 'k', 'images')) + (r.get('seed'),),
  )
  for (arm_name, model, judge_k, step, k, images, seed), group in groups.items():
    scores = np.concatenate([np.asarray(r['image_scores'], float) for r in group])
    if not np.all((scores == 0) | (scores == 1)):
      notes.append(
        f'{arm_name} (judge {model}, k={k}): image scores are not 0/1 (several seeds per lie); '
        'left out of the tournament'
      )
      continue
    arm = image_rollout.parse_image_arm(arm_name)
    houdini = arm.liar if arm.protocol == 'debate' else arm.honest
    converted.append(
      {
        'cell': f'{model}/k{judge_k}/{step}|{arm_name}|k={k}|images={images}|seed={seed}',
        'task': 'images',
        'protocol': arm.protocol if arm.protocol == 'consultancy' or arm.precommit else 'debate_no_precommit',
        'arm': arm_name,
        'judge': f'{model}/k{judge_k}/{step}',
        'honest': arm.honest.name if arm.protocol == 'debate' else None,
        'agent': houdini.agent,  # search:B for mcts:B, az:STEP[@S], random, greedy.
        'T': int(k),
        'k': int(k),
        'images': int(images),
        'first': sorted(str(r['first']) for r in group),
        'games': int(scores.size),
        'correct': int(scores.sum()),
        'accuracy': float(scores.mean()),
        'ci95': list(wilson_interval(int(scores.sum()), int(scores.size))),
        'seed': seed,
        'wall_s': round(sum(float(r.get('wall_s') or 0.0) for r in group), 3),
        'judge_parameters': group[0].get('judge_parameters'),
        'judge_forward_flops': group[0].get('judge_forward_flops'),
        'liar_evaluations_per_game': _mean_or_none([r.get('liar_evaluations_per_game') for r in group]),
      }
    )

  def ladder(r, *extra):  # a judge's ladder: its (protocol, judge, T, seed)
    return (*extra, r['protocol'], r['judge'], r['T'], r['seed'])

  liars: dict[tuple, dict[str, set]] = {}
  for r in converted:
    if r['honest'] is not None:
      liars.setdefault(ladder(r), {}).setdefault(r['honest'], set()).add(r['agent'])
  ladder_honest = {key: max(by_honest, key=lambda h: len(by_honest[h])) for key, by_honest in liars.items()}
  kept = [r for r in converted if r['honest'] is None or r['honest'] == ladder_honest[ladder(r)]]
  # One record per (protocol, arm, judge, k, seed): the one on the most images (a budget curve may repeat an
  # arm on fewer images); and a judge must have met two liars in a protocol to be rated there (a Table 2
  # run's self-play cells are not a ladder).
  arms = group_by(kept, lambda r: ladder(r, r['arm']))
  largest = {key: max(cells, key=lambda r: r['images']) for key, cells in arms.items()}
  kept = [r for r in kept if largest[ladder(r, r['arm'])] is r]
  met = group_by(kept, ladder)
  kept = [r for r in kept if len({m['agent'] for m in met[ladder(r)]}) >= 2]
  if len(kept) < len(converted):
    dropped = [r['arm'] for r in converted if r not in kept]
    notes.append(
      f'{len(dropped)} image cell(s) are not ladder cells (another honest debater, a repeat on '
      'fewer images, or a judge that met one liar) and are not rated: '
      + ', '.join(dropped[:4])
      + (' ...' if len(dropped) > 4 else '')
    )
  return kept, notes


# ----------------------------------------------------------------------------------------------
# Text records.


def text_tournament_records(records: Iterable[Record]) -> list[dict]:
  """Text records -> tournament records of the debaters' cross-play (``elo.debater_matrix``).

  Keeps the plain debate and consultancy cells (no unverified claims, flags shown). ``T`` holds the quotes k;
  ``agent`` is the liar's (the consultant's) strength name and ``honest`` the honest debater's (None in
  consultancy), named as ``AgentSpec.agent`` (search:B for mcts:B); ``judge`` stays the text judge. Of several
  records of one (arm, judge, k, seed), from several workdirs playing the same stories, the one with the most
  games is kept.
  """
  kept: dict[tuple, Record] = {}
  for r in records:
    plain = r.get('task') == 'text' and not r.get('claims') and r.get('show_verified', True)
    if plain and r.get('protocol') in ('debate', 'consultancy'):
      key = (r['arm'], str(r['judge']), int(r['k']), repr(r.get('seed')))
      if key not in kept or int(r['games']) > int(kept[key]['games']):
        kept[key] = r
  converted = []
  for (arm_name, judge, k, _), r in kept.items():
    arm = text_rollout.parse_text_arm(arm_name)
    converted.append(
      {
        'cell': r['cell'],
        'task': 'text',
        'protocol': arm.protocol,
        'arm': arm_name,
        'judge': judge,
        'honest': arm.honest.agent if arm.protocol == 'debate' else None,
        'agent': arm.strong.agent,
        'T': k,
        'k': k,
        'games': int(r['games']),
        'correct': int(r['correct']),
        'seed': r.get('seed'),
      }
    )
  return converted
