"""Tournament tables (Markdown, LaTeX with booktabs, CSV) and the JSON of ``scaling.json``.

One function per table: :func:`elo_table`, :func:`general_axis_table`, :func:`general_fit_table`,
:func:`nso_table` and :func:`strength_table`, each rendering ``fmt`` = 'markdown', 'latex' or 'csv'
with the writers of ``debate.reports.tables``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from debate.experiments import runfiles
from debate.reports.tables import check_fmt, csv_table, latex_escape, latex_table, markdown_table
from debate.tournament.elo import Ratings
from debate.tournament.fitting import MIN_POINTS_FOR_MODEL_CHOICE
from debate.tournament.placement import GeneralAxis

# ----------------------------------------------------------------------------------------------
# Cells and the Elo table.

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


def _csv_number(value, spec: str) -> str:
  return '' if value is None or not math.isfinite(value) else format(value, spec)


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


def elo_table(all_ratings: Sequence[Ratings], *, fmt: str) -> str:
  """Guards and houdinis of each protocol as a ``markdown``, ``latex`` or ``csv`` table."""
  check_fmt(fmt)
  rows = [row for r in all_ratings for row in r.rows()]
  if fmt == 'csv':
    return csv_table(
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
        _with_ci(row['elo'], (row['ci_low'], row['ci_high']), 0, latex=False),
        str(row['games']),
        _note(row),
      ]
      for row in rows
    ]
    return markdown_table(header, body, {3, 4}, _elo_caption(all_ratings, latex=False))
  body = [
    [
      latex_escape(str(row['protocol'])),
      row['role'],
      latex_escape(row['player']),
      _with_ci(row['elo'], (row['ci_low'], row['ci_high']), 0, latex=True),
      str(row['games']),
      latex_escape(_note(row)),
    ]
    for row in rows
  ]
  header = ['Protocol', 'Role', 'Player', rf'Elo [{100 * level:g}\% CI]', 'Games', 'Note']
  return latex_table(
    header, body, 'lllrrl', _elo_caption(all_ratings, latex=True), 'tab:elo', groups=[row['protocol'] for row in rows]
  )


# ----------------------------------------------------------------------------------------------
# The general axis, the guard/houdini fits, NSO, accuracy against strength.


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
  check_fmt(fmt)
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
    return csv_table(
      GENERAL_AXIS_CSV_COLUMNS,
      [
        [
          r[0],
          r[1],
          '' if r[2] is None else r[2],
          _csv_number(r[3], 'g'),
          _csv_number(r[4], '.3f'),
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
    return latex_table(
      header, body, 'llrrrrr', _axis_caption(True, axis.task), 'tab:general-axis', groups=[r[0] for r in rows]
    )
  header = ['role', 'player', f'{judge_word} parameters', 'verdicts / game', 'log2 FLOPs', 'Elo [95% CI]', 'games']
  return markdown_table(header, body, {2, 3, 4, 5, 6}, _axis_caption(False, axis.task))


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
  check_fmt(fmt)
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
          _csv_number(dr.floor_x, '.3f'),
          _csv_number(dr.ceiling_x, '.3f'),
          f'{dr.slope:.3f}',
          f'{f["double_relu_slope_ci"][0]:.3f}',
          f'{f["double_relu_slope_ci"][1]:.3f}',
          f'{dr.intercept:.3f}',
          f'{f["double_relu_share"]:.3f}',
          len(f['samples']),
        ]
      )
    return csv_table(GENERAL_FIT_CSV_COLUMNS, rows)
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
    return latex_table(header, body, 'lrrlrrrrr', caption, 'tab:general-fit')
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
  return markdown_table(header, body, {1, 2, 4, 5, 6, 7, 8}, caption)


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
  """The NSO curve (:func:`fitting.general_nso_curve` rows) as md / latex / csv; ``games``: behind the fits;
  ``bootstrap``, ``num_seeds``: how the ratings behind the intervals were resampled (as the fits'
  ``bootstrap`` and ``num_seeds``)."""
  check_fmt(fmt)
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
    return csv_table(NSO_CSV_COLUMNS, out)
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
    return latex_table(header, body, 'rrrrr', caption, 'tab:nso')
  header = [
    'gap (doublings)',
    'houdini log2 FLOPs',
    'best n [95% CI]',
    'success, best n [95% CI]',
    'success, n = 1 [95% CI]',
  ]
  return markdown_table(header, body, {0, 1, 2, 3, 4}, caption)


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
  """:func:`fitting.strength_fits` as md / latex / csv: logits per doubling with CIs, 50% points, G^2."""
  check_fmt(fmt)
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
    return csv_table(STRENGTH_CSV_COLUMNS, out)
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
    return latex_table(header, body, 'lllrrrrr', caption, 'tab:strength', groups=[f['protocol'] for f in fits])
  header = ['protocol', 'fit', 'liar', 'points', 'games', 'b per doubling [95% CI]', '50% point [95% CI]', 'G^2 / df']
  return markdown_table(header, body, {3, 4, 5, 6, 7}, caption)


# ----------------------------------------------------------------------------------------------
# JSON.


def dumps(value: Any) -> str:
  """Indented JSON of ``value`` (keys in their order, non-finite numbers as null), for scaling.json."""
  return json.dumps(runfiles.to_jsonable(value), indent=2, allow_nan=False) + '\n'
