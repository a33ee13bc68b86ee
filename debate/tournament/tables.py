"""Tournament tables (Markdown, LaTeX with booktabs, CSV) and the JSON of ``scaling.json``.

One function per table: :func:`elo_table`, :func:`debater_elo_table`, :func:`general_axis_table`,
:func:`general_fit_table`, :func:`nso_table` and :func:`strength_table`, each rendering ``fmt`` = 'markdown', 'latex' or 'csv'
with the writers of ``debate.reports.tables``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from debate.experiments import runfiles
from debate.reports.tables import check_fmt, csv_table, latex_escape, latex_table, markdown_table
from debate.tournament.elo import DebaterRatings, Ratings
from debate.tournament.fitting import MIN_POINTS_FOR_MODEL_CHOICE
from debate.tournament.placement import GeneralAxis

ELO_CSV_COLUMNS = tuple('protocol T role player elo ci95_low ci95_high games wins saturated anchor'.split())
DEBATER_ELO_CSV_COLUMNS = tuple(
  'judge T player elo ci95_low ci95_high honest_elo honest_ci95_low honest_ci95_high liar_elo liar_ci95_low '
  'liar_ci95_high games wins saturated anchor'.split()
)
GENERAL_AXIS_CSV_COLUMNS = tuple(
  'role player parameters verdicts_per_game log2_flops elo ci95_low ci95_high games'.split()
)
GENERAL_FIT_CSV_COLUMNS = tuple(
  'role players games chosen conclusive delta_bic linear_slope linear_slope_ci95_low linear_slope_ci95_high '
  'linear_intercept drelu_floor_x drelu_ceiling_x drelu_slope drelu_slope_ci95_low drelu_slope_ci95_high '
  'drelu_intercept drelu_share_of_samples samples'.split()
)
NSO_CSV_COLUMNS = tuple(
  'gap start_x target_x best_n best_n_ci95_low best_n_ci95_high best_probability best_probability_ci95_low '
  'best_probability_ci95_high one_step_probability one_step_probability_ci95_low '
  'one_step_probability_ci95_high'.split()
)
STRENGTH_CSV_COLUMNS = tuple(
  'protocol fit liar points games a b b_ci95_low b_ci95_high x50 x50_ci95_low x50_ci95_high deviance df skipped'.split()
)

# ----------------------------------------------------------------------------------------------
# Cells, captions and the layout shared by the tables.


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
  return text if ci is None else f'{text} [{_num(ci[0], digits, latex)}, {_num(ci[1], digits, latex)}]'


def _csv_number(value, spec: str) -> str:
  return '' if value is None or not math.isfinite(value) else format(value, spec)


def _bootstrap_words(what: str, bootstrap: str, num_seeds: int, samples: str = '') -> str:
  """How the bootstrap behind an interval ('interval') or refit ('ratings') drew its samples, for captions;
  ``samples``: e.g. '1000 samples'."""
  if bootstrap != 'seeds':
    return f'{"parametric-bootstrap" if what == "interval" else "bootstrap"} {what}' + (
      f' ({samples})' if samples else ''
    )
  seeds = (
    f'the {num_seeds} seeds, each with its judges trained anew, redrawn with replacement, then '
    'the games within each drawn seed'
  )
  return f'seed-level bootstrap {what} ({samples + ": " if samples else ""}{seeds})'


def _latex_caption(caption: str, *replacements: tuple[str, str]) -> str:
  for old, new in (('log2', r'log$_2$'), *replacements, ('%', r'\%')):
    caption = caption.replace(old, new)
  return caption


def _layout(fmt, headers, body, caption, *, right, align, label, groups=None) -> str:
  """``body`` (cells already in ``fmt``) under ``headers`` = (Markdown, LaTeX): a Markdown table with the
  columns ``right`` right-aligned, or a LaTeX one with ``align`` and ``label`` (rules between ``groups``)."""
  if fmt == 'latex':
    return latex_table(headers[1], body, align, caption, label, groups=groups)
  return markdown_table(headers[0], body, right, caption)


# ----------------------------------------------------------------------------------------------
# The tables.


def _note(row: Mapping[str, Any]) -> str:
  notes = ['anchor'] if row['anchor'] else []
  if row['saturated']:
    notes.append(
      'won every game'
      if row['wins'] == row['games']
      else 'lost every game'
      if row['wins'] == 0
      else 'every pairing a sweep'
    )
  return '; '.join(notes)


def _elo_caption(all_ratings: Sequence[Ratings], *, latex: bool) -> str:
  first = all_ratings[0] if all_ratings else None
  ts = sorted({r.T for r in all_ratings if r.T is not None})
  t_text = ', '.join(str(t) for t in ts)
  pct = f'{100 * (first.level if first else 0.95):g}' + (r'\%' if latex else '%')
  t_part = (f'$T={t_text}$' if latex else f'T={t_text}') if ts else ''
  interval = _bootstrap_words(
    'interval',
    first.bootstrap if first else 'games',
    len(first.seeds) if first else 0,
    f'{first.guard_samples.shape[0] if first else 0} samples',
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
          *(row[key] for key in ('protocol', 'T', 'role', 'player')),
          *(f'{row[key]:.2f}' for key in ('elo', 'ci_low', 'ci_high')),
          row['games'],
          row['wins'],
          int(row['saturated']),
          int(row['anchor']),
        ]
        for row in rows
      ],
    )
  latex = fmt == 'latex'
  text = latex_escape if latex else str
  body = [
    [
      text(str(row['protocol'])),
      row['role'],
      text(row['player']),
      _with_ci(row['elo'], (row['ci_low'], row['ci_high']), 0, latex),
      str(row['games']),
      text(_note(row)),
    ]
    for row in rows
  ]
  pct = f'{100 * (all_ratings[0].level if all_ratings else 0.95):g}'
  headers = (
    ['protocol', 'role', 'player', f'Elo [{pct}% CI]', 'games', 'note'],
    ['Protocol', 'Role', 'Player', rf'Elo [{pct}\% CI]', 'Games', 'Note'],
  )
  caption = _elo_caption(all_ratings, latex=latex)
  return _layout(
    fmt, headers, body, caption, right={3, 4}, align='lllrrl', label='tab:elo', groups=[row['protocol'] for row in rows]
  )


def debater_elo_table(all_ratings: Sequence[DebaterRatings], *, fmt: str, size: str = 'T') -> str:
  """Debaters per (judge, T) with their Elo and role Elo, as a ``markdown``, ``latex`` or ``csv`` table;
  ``size`` names T in the headers and caption (text: 'k', the quotes)."""
  check_fmt(fmt)
  rows = [row for r in all_ratings for row in r.rows()]
  keys = ('elo', 'ci_low', 'ci_high')
  if fmt == 'csv':
    return csv_table(
      DEBATER_ELO_CSV_COLUMNS,
      [
        [
          row['judge'],
          row['T'],
          row['player'],
          *(f'{row[f"{role}{key}"]:.2f}' for role in ('', 'honest_', 'liar_') for key in keys),
          row['games'],
          row['wins'],
          int(row['saturated']),
          int(row['anchor']),
        ]
        for row in rows
      ],
    )
  latex = fmt == 'latex'
  text = latex_escape if latex else str
  body = [
    [
      text(str(row['judge'])),
      str(row['T']),
      text(row['player']),
      *(
        _with_ci(row[f'{role}elo'], (row[f'{role}ci_low'], row[f'{role}ci_high']), 0, latex)
        for role in ('', 'honest_', 'liar_')
      ),
      str(row['games']),
      text(_note(row)),
    ]
    for row in rows
  ]
  first = all_ratings[0] if all_ratings else None
  pct = f'{100 * (first.level if first else 0.95):g}'
  headers = (
    ['judge', size, 'debater', f'Elo [{pct}% CI]', 'honest Elo', 'liar Elo', 'games', 'note'],
    ['Judge', f'${size}$', 'Debater', rf'Elo [{pct}\% CI]', 'Honest Elo', 'Liar Elo', 'Games', 'Note'],
  )
  interval = _bootstrap_words(
    'interval',
    first.roles.bootstrap if first else 'games',
    len(first.roles.seeds) if first else 0,
    f'{first.samples.shape[0] if first else 0} samples',
  )
  caption = (
    f'Debater Elo in front of each judge at each {size}: debaters play each other in both roles; role Elo '
    f"(honest, liar) by maximum likelihood, a debater's Elo the mean of its two (Khan et al. 2024); brackets: "
    f'{pct}% {interval}; every rating relative to the weakest debater of its judge (Elo 0); games: the '
    "debater's games in both roles. A debater whose every pairing was a sweep is placed by the prior."
  )
  if latex:
    caption = _latex_caption(caption)
  return _layout(
    fmt,
    headers,
    body,
    caption,
    right={1, 3, 4, 5, 6},
    align='lrlrrrrl',
    label='tab:debater_elo',
    groups=[(row['judge'], row['T']) for row in rows],
  )


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


def general_axis_table(axis: GeneralAxis, ratings: Ratings, *, fmt: str) -> str:
  """Every debate player with its place on the general axis and its Elo, as md / latex / csv."""
  check_fmt(fmt)
  rows = []  # role, player, parameters, verdicts per game, x, elo, ci_low, ci_high, games
  for role, names, x in (('guard', axis.guards, axis.guard_x), ('houdini', axis.houdinis, axis.houdini_x)):
    r = ratings.role(role)
    for i, name in enumerate(names):
      params = int(axis.guard_parameters[i]) or None if role == 'guard' else None
      verdicts = 1.0 if role == 'guard' else float(axis.houdini_verdicts[i])
      elo = [float(r[key][i]) for key in ('elo', 'ci_low', 'ci_high')]
      rows.append((role, name, params, verdicts, float(x[i]), *elo, int(r['games'][i])))
  if fmt == 'csv':
    return csv_table(
      GENERAL_AXIS_CSV_COLUMNS,
      [
        [
          role,
          name,
          '' if params is None else params,
          _csv_number(verdicts, 'g'),
          _csv_number(x, '.3f'),
          *(f'{v:.2f}' for v in elo),
          games,
        ]
        for role, name, params, verdicts, x, *elo, games in rows
      ],
    )
  latex = fmt == 'latex'
  body = [
    [
      role,
      latex_escape(name) if latex else name,
      '--' if params is None else f'{params:,}',
      '--' if not math.isfinite(verdicts) else f'{verdicts:g}',
      _num(x, 2, latex),
      _with_ci(elo, (lo, hi), 0, latex),
      str(games),
    ]
    for role, name, params, verdicts, x, elo, lo, hi, games in rows
  ]
  judge = 'judge' if axis.task == 'images' else 'checker'
  headers = (
    ['role', 'player', f'{judge} parameters', 'verdicts / game', 'log2 FLOPs', 'Elo [95% CI]', 'games'],
    [
      'Role',
      'Player',
      f'{judge.capitalize()} parameters',
      'Verdicts / game',
      r'log$_2$ FLOPs',
      r'Elo [95\% CI]',
      'Games',
    ],
  )
  caption = _axis_caption(latex, axis.task)
  return _layout(
    fmt,
    headers,
    body,
    caption,
    right={2, 3, 4, 5, 6},
    align='llrrrrr',
    label='tab:general-axis',
    groups=[row[0] for row in rows],
  )


def general_fit_table(fits: Mapping[str, Mapping[str, Any]], *, fmt: str) -> str:
  """Guard and houdini domain Elo against the general axis: both models, the BIC choice, CIs."""
  check_fmt(fmt)
  roles = [fits[r] for r in ('guard', 'houdini') if r in fits]
  if fmt == 'csv':
    return csv_table(
      GENERAL_FIT_CSV_COLUMNS,
      [
        [
          f['role'],
          len(f['points']),
          f['games'],
          f['chosen'],
          int(f['conclusive']),
          f'{f["delta_bic"]:.3f}',
          *(f'{v:.3f}' for v in (f['linear'].slope, *f['linear_slope_ci'], f['linear'].intercept)),
          *(_csv_number(v, '.3f') for v in (f['double_relu'].floor_x, f['double_relu'].ceiling_x)),
          *(f'{v:.3f}' for v in (f['double_relu'].slope, *f['double_relu_slope_ci'], f['double_relu'].intercept)),
          f'{f["double_relu_share"]:.3f}',
          len(f['samples']),
        ]
        for f in roles
      ],
    )
  latex = fmt == 'latex'
  body = [
    [
      f['role'],
      str(len(f['points'])),
      str(f['games']),
      ('double ReLU' if f['chosen'] == 'double_relu' else 'linear') + ('' if f['conclusive'] else ' (inconclusive)'),
      _num(f['delta_bic'], 1, latex),
      _with_ci(f['linear'].slope, f['linear_slope_ci'], 0, latex),
      ', '.join(
        _num(v, 2, latex) if math.isfinite(v) else 'none'
        for v in (f['double_relu'].floor_x, f['double_relu'].ceiling_x)
      ),
      _with_ci(f['double_relu'].slope, f['double_relu_slope_ci'], 0, latex),
      f'{100 * f["double_relu_share"]:.0f}' + (r'\%' if latex else '%'),
    ]
    for f in roles
  ]
  samples = len(roles[0]['samples']) if roles else 0
  refits = _bootstrap_words(
    'ratings', roles[0].get('bootstrap', 'games') if roles else 'games', roles[0].get('num_seeds', 0) if roles else 0
  )
  caption = (
    'Domain Elo in debate against general strength (log2 FLOPs per game), line against double '
    'ReLU (flat, linear, flat); chosen by BIC (Delta BIC = BIC(line) - BIC(double ReLU), '
    'positive favours the double ReLU; fewer than '
    f'{MIN_POINTS_FOR_MODEL_CHOICE} points is inconclusive). Slopes in Elo per doubling of '
    f'compute, brackets: 95% interval over {samples} refits to {refits}; last column: '
    'share of those refits that BIC gives to the double ReLU; games: games the fitted players '
    'played.'
  )
  caption = _latex_caption(caption, ('Delta BIC', r'$\Delta$BIC')) if latex else caption
  headers = (
    [
      'role',
      'players',
      'games',
      'chosen (BIC)',
      'Delta BIC',
      'line: Elo/doubling [95% CI]',
      'double ReLU: floor, ceiling',
      'double ReLU: Elo/doubling [95% CI]',
      'double ReLU share',
    ],
    [
      'Role',
      'Players',
      'Games',
      'Chosen (BIC)',
      r'$\Delta$BIC',
      r'Line: Elo/doubling [95\% CI]',
      'Floor, ceiling',
      r'Double ReLU: Elo/doubling [95\% CI]',
      r'Double ReLU share',
    ],
  )
  return _layout(fmt, headers, body, caption, right={1, 2, 4, 5, 6, 7, 8}, align='lrrlrrrrr', label='tab:general-fit')


def nso_table(
  rows: Sequence[Mapping[str, Any]], *, fmt: str, games: int | None = None, bootstrap: str = 'games', num_seeds: int = 0
) -> str:
  """The NSO curve (:func:`fitting.general_nso_curve` rows) as md / latex / csv; ``games``: behind the fits;
  ``bootstrap``, ``num_seeds``: how the ratings behind the intervals were resampled (as the fits'
  ``bootstrap`` and ``num_seeds``)."""
  check_fmt(fmt)
  if fmt == 'csv':
    return csv_table(
      NSO_CSV_COLUMNS,
      [
        [
          f'{r["gap"]:g}',
          f'{r["start"]:.3f}',
          f'{r["target_x"]:.3f}',
          r['best_n'],
          *(_csv_number(v, 'g') for v in r.get('best_n_ci', [None, None])),
          f'{r["best_probability"]:.6f}',
          *(_csv_number(v, '.6f') for v in r.get('best_probability_ci', [None, None])),
          f'{r["one_step_probability"]:.6f}',
          *(_csv_number(v, '.6f') for v in r.get('one_step_probability_ci', [None, None])),
        ]
        for r in rows
      ],
    )
  latex = fmt == 'latex'

  def pct(r, key):  # a probability as a percentage with one decimal: '51.7 [40.1, 60.2]'
    ci = r.get(f'{key}_ci')
    return _with_ci(100.0 * r[key], None if ci is None else [100.0 * c for c in ci], 1, latex)

  body = [
    [
      _num(r['gap'], 0 if float(r['gap']).is_integer() else 2, latex),
      _num(r['target_x'], 2, latex),
      _with_ci(r['best_n'], r.get('best_n_ci'), 0, latex),
      pct(r, 'best_probability'),
      pct(r, 'one_step_probability'),
    ]
    for r in rows
  ]
  start = rows[0]['start'] if rows else float('nan')
  based = f' (fits to {games} games)' if games is not None else ''
  caption = (
    f'Nested scalable oversight from the fitted guard and houdini curves{based}: the first '
    f'guard at general strength {start:.2f} (log2 FLOPs per game) must oversee a houdini '
    'a gap of that many doublings stronger, in n equal steps, each a debate won with the '
    'Elo probability of the domain-Elo difference; the success probability is the product '
    "over steps. Each curve is held flat outside its fitted players' range. Best n "
    f'maximises the success; brackets: 95% interval over refits to '
    f'{_bootstrap_words("ratings", bootstrap, num_seeds)}, each choosing its own n. Success in %.'
  )
  caption = _latex_caption(caption) if latex else caption
  headers = (
    ['gap (doublings)', 'houdini log2 FLOPs', 'best n [95% CI]', 'success, best n [95% CI]', 'success, n = 1 [95% CI]'],
    [
      'Gap (doublings)',
      r'Houdini log$_2$ FLOPs',
      r'Best $n$ [95\% CI]',
      r'Success, best $n$ [95\% CI]',
      r'Success, $n=1$ [95\% CI]',
    ],
  )
  return _layout(fmt, headers, body, caption, right={0, 1, 2, 3, 4}, align='rrrrr', label='tab:nso')


def strength_table(fits: Sequence[Mapping[str, Any]], *, fmt: str) -> str:
  """:func:`fitting.strength_fits` as md / latex / csv: logits per doubling with CIs, 50% points, G^2."""
  check_fmt(fmt)
  if fmt == 'csv':
    out = []
    for f in fits:
      ok = 'skipped' not in f
      x50_ci = f.get('x50_ci') or [None, None]
      fitted = [f'{v:.4f}' for v in (f['a'], f['b'], *f['b_ci'])] if ok else [''] * 4
      out.append(
        [
          f['protocol'],
          f['fit'],
          f['agent'] or '',
          f['points'],
          f['games'],
          *fitted,
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
  text = latex_escape if latex else str
  body = [
    [
      text(f['protocol']),
      'gap, judges pooled' if f['fit'] == 'gap' else 'judge strength',
      text('all placed' if f['agent'] is None else f['agent']),
      str(f['points']),
      str(f['games']),
      *(
        ['--', '--', '--']
        if 'skipped' in f
        else [
          _with_ci(f['b'], f['b_ci'], 2, latex),
          _with_ci(f['x50'], f['x50_ci'], 2, latex) if f.get('x50_ci') else '--',
          f'{_num(f["deviance"], 1, latex)} / {f["df"]}',
        ]
      ),
    ]
    for f in fits
  ]
  interval = _bootstrap_words(
    'interval', fits[0].get('bootstrap', 'games') if fits else 'games', fits[0].get('num_seeds', 0) if fits else 0
  )
  caption = (
    'Judge accuracy against the general axis (log2 FLOPs per game), logistic: '
    'accuracy = sigmoid(a + b x). Gap: x = houdini minus judge strength, pooled over judges '
    "and liars; judge strength: x = the judge's strength, one fit per liar. b in logits per "
    f'doubling, brackets: 95% {interval}; 50% point: x at which accuracy is '
    "one half (given when b's interval excludes 0); G^2 / df: binomial deviance against "
    'degrees of freedom (G^2 far above df: the curve misses points).'
  )
  caption = _latex_caption(caption, ('G^2', '$G^2$'), ('sigmoid(a + b x)', r'$\sigma(a + b x)$')) if latex else caption
  headers = (
    ['protocol', 'fit', 'liar', 'points', 'games', 'b per doubling [95% CI]', '50% point [95% CI]', 'G^2 / df'],
    ['Protocol', 'Fit', 'Liar', 'Points', 'Games', r'$b$ [95\% CI]', r'50\% point [95\% CI]', r'$G^2$ / df'],
  )
  return _layout(
    fmt,
    headers,
    body,
    caption,
    right={3, 4, 5, 6, 7},
    align='lllrrrrr',
    label='tab:strength',
    groups=[f['protocol'] for f in fits],
  )


# ----------------------------------------------------------------------------------------------
# JSON.


def dumps(value: Any) -> str:
  """Indented JSON of ``value`` (keys in their order, non-finite numbers as null), for scaling.json."""
  return json.dumps(runfiles.to_jsonable(value), indent=2, allow_nan=False) + '\n'
