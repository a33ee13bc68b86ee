"""Fits on tournament ratings: accuracy against Elo and general strength, domain Elo scaling, NSO.

- judge accuracy of every protocol placed at the houdini's Elo *measured in debate* (Khan et al.
  2024's figure) and its logistic slope (:func:`accuracy_vs_elo`, :func:`accuracy_slopes`);
- the houdini's domain Elo against log2 of its search budget, and both roles' domain Elo against
  the general axis of ``debate.tournament.placement``, with the linear and double-ReLU models of
  Engels et al. 2025 (arXiv 2504.18530) chosen by BIC (:func:`houdini_scaling_fit`,
  :func:`general_scaling_fits`), and their nested scalable oversight curves (:func:`nso_curve`,
  :func:`general_nso_curve`);
- judge accuracy against judge strength and the judge-liar gap on that axis
  (:func:`accuracy_vs_strength`, :func:`strength_fits`).

The models themselves are in ``debate.analysis.scaling``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from debate.analysis import scaling, stats
from debate.analysis.stats import wilson_interval
from debate.tournament.elo import DebaterRatings, Ratings
from debate.tournament.placement import GeneralAxis
from debate.tournament.pooling import Record, counts_by_seed, default_budget, group_by, order_agents

# select_model's choice between a line (2 mean parameters) and a double ReLU (up to 4) is only
# informative with some residual degrees of freedom left: below this many points the double ReLU
# (nearly) interpolates and its BIC runs off to -infinity.
MIN_POINTS_FOR_MODEL_CHOICE = 6


# ----------------------------------------------------------------------------------------------
# Accuracy per cell, and its logistic fits.


def _protocol_cells(records: Iterable[Record], T: int, protocols: Sequence[str]):
  """Per protocol: (protocol, houdinis weakest first, cells): cells [(judge, agent, counts_by_seed's counts)],
  judges by first appearance, each judge's houdinis weakest first."""
  records = list(records)
  for protocol in protocols:
    _, counts = counts_by_seed(records, protocol=protocol, T=T)
    agents = order_agents(a for _, a in counts)
    judges = dict.fromkeys(judge for judge, _ in counts)
    yield protocol, agents, [(j, a, counts[j, a]) for j in judges for a in agents if (j, a) in counts]


def _cell_row(protocol: str, T: int, judge: str, agent: str, placed: dict, seed_counts) -> dict[str, Any]:
  """protocol, T, judge, agent, the ``placed`` fields, then games, correct, accuracy, ci_low, ci_high (Wilson
  95%), seeds pooled, and seed_correct, seed_games: [K] the counts per seed."""
  seed_correct, seed_games = seed_counts
  correct, games = int(seed_correct.sum()), int(seed_games.sum())
  low, high = wilson_interval(correct, games)
  return {
    'protocol': protocol,
    'T': int(T),
    'judge': judge,
    'agent': agent,
    **placed,
    'games': games,
    'correct': correct,
    'accuracy': correct / games if games else float('nan'),
    'ci_low': low,
    'ci_high': high,
    'seed_correct': seed_correct.tolist(),
    'seed_games': seed_games.tolist(),
  }


def _bootstrap_logistic(entry: dict, pts: Sequence[Mapping[str, Any]], x, *, bootstrap: str, scale: float, **kwargs):
  """``scaling.bootstrap_logistic_accuracy`` of rows ``pts`` at x [n]: their pooled counts, or [K, n] per seed
  for ``bootstrap='seeds'``. ``entry`` gets ``bootstrap`` and ``num_seeds``, and ``skipped`` with the reason
  (then None is returned) when the fit does not exist."""
  entry.update(bootstrap=bootstrap, num_seeds=len(pts[0].get('seed_games', [0])))
  try:
    if bootstrap == 'seeds' and not all('seed_games' in p for p in pts):
      raise ValueError(
        'a seed-level bootstrap needs rows with per-seed counts (seed_correct, '
        'seed_games), as accuracy_vs_elo and accuracy_vs_strength write them'
      )
    keys = ('seed_correct', 'seed_games') if bootstrap == 'seeds' else ('correct', 'games')
    counts = [np.array([p[key] for p in pts], dtype=float).T for key in keys]  # [n] or [K, n]
    return scaling.bootstrap_logistic_accuracy(x, *counts, scale=scale, resample=bootstrap, **kwargs)
  except ValueError as error:
    entry['skipped'] = str(error)
    return None


def accuracy_vs_elo(
  records: Iterable[Record],
  ratings: Ratings | DebaterRatings,
  *,
  T: int,
  protocols: Sequence[str] = ('debate', 'consultancy'),
) -> list[dict[str, Any]]:
  """Judge accuracy per (protocol, judge, houdini) at the houdini's Elo measured in debate.

  ``ratings`` must be debate ratings (Khan et al. 2024: debater strength is measured in debate;
  accuracy under each protocol is then plotted against it): the houdinis' (:class:`Ratings`), or the
  debaters' (:class:`DebaterRatings`, which place each agent at its debater Elo). Rows, in protocol order, judges by
  first appearance, houdinis weakest first: protocol, T, judge, agent, elo, elo_ci_low,
  elo_ci_high, elo_saturated, games, correct, accuracy, ci_low, ci_high (Wilson 95%), seeds
  pooled, and seed_correct, seed_games: [K] the counts per seed (:func:`pooling.record_seeds` order,
  0 where a seed lacks the cell). Houdinis without a debate rating are skipped with a warning.
  """
  if ratings.protocol not in (None, 'debate'):
    raise ValueError(
      f"accuracy_vs_elo places points at the houdinis' debate Elo, but these ratings are "
      f'from {ratings.protocol!r}; pass the ratings of the debate tournament'
    )
  rated, place = (
    (ratings.names, ratings.debater) if isinstance(ratings, DebaterRatings) else (ratings.houdinis, ratings.houdini)
  )
  rows = []
  for protocol, agents, cells in _protocol_cells(records, T, protocols):
    unrated = [a for a in agents if a not in rated]
    if unrated:
      warnings.warn(
        f'{protocol} at T={T}: no debate Elo for {", ".join(unrated)}; skipped in accuracy vs Elo', stacklevel=2
      )
    for judge, agent, seed_counts in cells:
      if agent not in unrated:
        h = place(agent)
        placed = {
          'elo': h['elo'],
          'elo_ci_low': h['ci_low'],
          'elo_ci_high': h['ci_high'],
          'elo_saturated': h['saturated'],
        }
        rows.append(_cell_row(protocol, T, judge, agent, placed, seed_counts))
  return rows


def accuracy_slopes(
  rows: Sequence[Mapping[str, Any]], *, num_samples: int = 1000, seed: int = 0, bootstrap: str = 'games'
) -> list[dict[str, Any]]:
  """Logistic accuracy = sigmoid(a + b * elo / 400) per (protocol, judge) of accuracy_vs_elo rows.

  ``b`` (logits per 400 Elo) with its bootstrap 95% interval summarises whether accuracy rises
  or falls with houdini strength; ``bootstrap`` ('games' or 'seeds', see :func:`elo.rate`) says how
  the samples are drawn ('seeds' reads the rows' per-seed counts). Lines whose fit does not exist
  (fewer than two Elo values, or separated data such as all-correct) get ``skipped`` with the
  reason.
  """
  out = []
  for (protocol, judge), pts in group_by(rows, lambda row: (row['protocol'], row['judge'])).items():
    out.append({'protocol': protocol, 'judge': judge, 'points': len(pts)})
    curve = _bootstrap_logistic(
      out[-1], pts, [p['elo'] for p in pts], bootstrap=bootstrap, scale=400.0, num_samples=num_samples, seed=seed
    )
    if curve is not None:
      lo, hi = np.quantile(curve.samples[:, 1], [0.025, 0.975])
      out[-1].update(a=curve.a, b=curve.b, b_ci95=[float(lo), float(hi)])
  return out


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
  rows = []
  for protocol, _, cells in _protocol_cells(records, T, protocols):
    for judge, agent, seed_counts in cells:
      if judge in axis.guards and np.isfinite(axis.x_of('guard', judge)):
        judge_x = axis.x_of('guard', judge)
        agent_x = axis.x_of('houdini', agent) if agent in axis.houdinis else float('nan')
        placed = {'judge_x': judge_x, 'agent_x': agent_x, 'gap': agent_x - judge_x}
        rows.append(_cell_row(protocol, T, judge, agent, placed, seed_counts))
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
  ``bootstrap`` ('games' or 'seeds', see :func:`elo.rate`; also in each entry) says how the samples
  are drawn.
  """
  groups = {
    **group_by((row for row in rows if math.isfinite(row['gap'])), lambda row: (row['protocol'], 'gap', None)),
    **group_by(rows, lambda row: (row['protocol'], 'judge', row['agent'])),
  }
  order = list(dict.fromkeys(row['protocol'] for row in rows))
  out = []
  for protocol, fit, agent in sorted(groups, key=lambda k: (order.index(k[0]), k[1] != 'gap')):
    pts = groups[protocol, fit, agent]
    x = np.array([p['gap'] if fit == 'gap' else p['judge_x'] for p in pts])
    correct, games = (np.array([p[key] for p in pts]) for key in ('correct', 'games'))
    out.append({'protocol': protocol, 'fit': fit, 'agent': agent, 'points': len(pts), 'games': int(games.sum())})
    curve = _bootstrap_logistic(out[-1], pts, x, bootstrap=bootstrap, scale=1.0, num_samples=num_samples, seed=seed)
    if curve is None:
      continue
    a_s, b_s = curve.samples[:, 0], curve.samples[:, 1]
    b_ci = [float(v) for v in np.quantile(b_s, [0.025, 0.975])]
    out[-1].update(
      a=curve.a,
      b=curve.b,
      b_ci=b_ci,
      x50=-curve.a / curve.b if curve.b else None,
      x50_ci=[float(v) for v in np.quantile(-a_s / b_s, [0.025, 0.975])] if b_ci[0] > 0 or b_ci[1] < 0 else None,
      deviance=scaling.logistic_deviance(x, correct, games, curve.a, curve.b, scale=1.0),
      df=len(pts) - 2,
      curve={'x': curve.elo_grid, 'accuracy': curve.accuracy, 'ci_low': curve.ci_low, 'ci_high': curve.ci_high},
    )
  return out


# ----------------------------------------------------------------------------------------------
# Domain Elo scaling fits; nested scalable oversight.


def _select_model_with_note(x, y, **fields) -> dict[str, Any]:
  """``scaling.select_model(x [n], y [n])`` plus ``conclusive``, its ``note`` and ``fields``."""
  conclusive = len(x) >= MIN_POINTS_FOR_MODEL_CHOICE
  note = (
    f'only {len(x)} points: the double ReLU (up to 4 parameters) nearly interpolates them, so the '
    'BIC choice is inconclusive'
  )
  return {**scaling.select_model(x, y), 'conclusive': conclusive, 'note': '' if conclusive else note, **fields}


def houdini_scaling_fit(
  ratings: Ratings, *, budget_of: Callable[[str], float | None] = default_budget
) -> dict[str, Any]:
  """Houdini domain Elo against log2 of its search budget: linear vs double ReLU by BIC.

  ``budget_of(name)`` gives a houdini's budget, or ``None`` to leave it out; the default
  (:func:`pooling.default_budget`) puts random at 1 and search:B at B and leaves out greedy and oracle
  (pass e.g. ``lambda a: 4096 if a == 'oracle' else default_budget(a)`` to place the oracle).
  Points are unweighted (Engels et al.), saturated ones included.

  Returns ``scaling.select_model``'s dict (``linear``, ``double_relu``, ``chosen``,
  ``chosen_fit``, ``delta_bic``, ``chosen_by_aic``, ``delta_aic``) plus ``points`` (houdini,
  budget, log2_budget, elo, ci_low, ci_high, saturated), ``excluded`` (names), ``conclusive``
  (False below ``MIN_POINTS_FOR_MODEL_CHOICE`` points, where the double ReLU nearly interpolates
  and the BIC choice means little) and ``note``. Raises ``ValueError`` with fewer than three
  distinct budgets.
  """
  points, excluded = [], []
  for name in ratings.houdinis:
    budget = budget_of(name)
    if budget is None:
      excluded.append(name)
      continue
    budget = float(budget)
    if not (math.isfinite(budget) and budget > 0):
      raise ValueError(f'budget of {name!r} must be a positive number, got {budget}')
    points.append({'houdini': name, 'budget': budget, 'log2_budget': math.log2(budget), **ratings.houdini(name)})
  if len({p['log2_budget'] for p in points}) < 3:
    raise ValueError(
      f'need houdinis at three or more distinct search budgets to compare a line with a '
      f'double ReLU; have {", ".join(p["houdini"] for p in points) or "none"}'
      + (f' (left out: {", ".join(excluded)})' if excluded else '')
    )
  return _select_model_with_note(
    [p['log2_budget'] for p in points],
    [p['elo'] for p in points],
    points=points,
    excluded=excluded,
    protocol=ratings.protocol,
    T=ratings.T,
    level=ratings.level,
  )


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
  rows = []
  for gap in total_gaps:
    draws = [
      scaling.optimal_nso(float(gap), g, h, max_steps=max_steps, start_elo=start_elo)
      for g, h in [(guard_fn, houdini_fn), *samples]
    ]
    values = np.array([(n, p, probs[0]) for n, p, probs in draws])  # [1 + S, 3]
    rows.append(
      {
        'gap': float(gap),
        'best_n': int(values[0, 0]),
        'best_probability': float(values[0, 1]),
        'one_step_probability': float(values[0, 2]),
      }
    )
    if samples:
      lo, hi = stats.percentiles(values[1:], level, axis=0)
      keys = ('best_n_ci', 'best_probability_ci', 'one_step_probability_ci')
      rows[-1].update({key: [float(lo[i]), float(hi[i])] for i, key in enumerate(keys)})
  return rows


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
  ``bootstrap`` and ``num_seeds`` (how the ratings were resampled, see :func:`elo.rate`),
  ``samples`` ([S] chosen fits), ``linear_slope_ci`` and ``double_relu_slope_ci`` (percentile
  intervals at the ratings' level of each model's slope), ``double_relu_share`` (fraction of samples choosing it) and
  ``games`` (games the fitted players played). Raises ``ValueError`` if a role has fewer than
  three placed players.
  """
  if (tuple(ratings.guards), tuple(ratings.houdinis)) != (axis.guards, axis.houdinis):
    raise ValueError('ratings and axis must come from the same matchups')
  num = ratings.guard_samples.shape[0] if num_samples is None else min(int(num_samples), ratings.guard_samples.shape[0])
  fits = {}
  for role, x in (('guard', axis.guard_x), ('houdini', axis.houdini_x)):
    players = [row for row in ratings.rows() if row['role'] == role]
    arrays = ratings.role(role)
    use = np.flatnonzero(np.isfinite(x))
    if np.unique(x[use]).size < 3:
      raise ValueError(
        f'need {role}s at three or more distinct general strengths to compare a line with '
        f'a double ReLU; placed: {", ".join(players[i]["player"] for i in use) or "none"}'
      )
    sample_fits = [scaling.select_model(x[use], arrays['samples'][s, use]) for s in range(num)]

    def slope_ci(model):
      return [float(v) for v in stats.percentiles([f[model].slope for f in sample_fits], ratings.level)]

    fits[role] = _select_model_with_note(
      x[use],
      arrays['elo'][use],
      role=role,
      level=ratings.level,
      bootstrap=ratings.bootstrap,
      num_seeds=len(ratings.seeds),
      points=[
        {
          'player': p['player'],
          'x': float(x[i]),
          **{k: p[k] for k in ('elo', 'ci_low', 'ci_high', 'games', 'saturated')},
        }
        for i, p in enumerate(players)
        if i in use
      ],
      excluded=[p['player'] for i, p in enumerate(players) if i not in use],
      unplaced=[
        {k: p[k] for k in ('player', 'elo', 'ci_low', 'ci_high')} for i, p in enumerate(players) if i not in use
      ],
      samples=[f['chosen_fit'] for f in sample_fits],
      linear_slope_ci=slope_ci('linear'),
      double_relu_slope_ci=slope_ci('double_relu'),
      double_relu_share=float(np.mean([f['chosen'] == 'double_relu' for f in sample_fits])),
      games=sum(players[i]['games'] for i in use),
    )
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
  start = min(p['x'] for p in guard['points']) if start is None else start

  def held(fit, role):
    xs = [p['x'] for p in fits[role]['points']]
    return lambda x: fit.predict(np.clip(x, min(xs), max(xs)))

  rows = nso_curve(
    held(guard['chosen_fit'], 'guard'),
    held(houdini['chosen_fit'], 'houdini'),
    total_gaps,
    max_steps=max_steps,
    start_elo=float(start),
    samples=[(held(g, 'guard'), held(h, 'houdini')) for g, h in zip(guard['samples'], houdini['samples'])],
    level=float(guard.get('level', 0.95)),
  )
  for row in rows:
    row.update(start=float(start), target_x=float(start) + row['gap'])
  return rows
