"""Tables and figures of the text experiment, rendered only from its records (results.jsonl, task 'text'), so
`launch.report` renders several workdirs alike.

Files (`write_text_reports`; Markdown, LaTeX (booktabs) and CSV for each table, PNG and PDF for the figure):
  text_accuracy      judge accuracy per arm (rows) x judge and k (columns), Wilson 95% CI, games.
  text_by_hops       the same per hop count h of the question (rows arm x judge x k, columns h).
  text_verification  what verification is worth: the liar's win rate in debates with claims, flags shown vs
                     hidden, their difference, and the claims per game the liar made.
  text_open          the open protocols (Kenton et al.): how often the consultant (protagonist) chose the true
                     answer, and the judge's accuracy when it argued the truth and when it lied.
  text_accuracy_vs_strength  judge accuracy against the debaters' strength (random, greedy, then MCTS by
                     budget), debate and consultancy one line each (per k), one panel per judge.
  text_elo           where debaters play each other in both roles (arms debate/X/liar=Y and debate/Y/liar=X):
                     each debater's Elo in front of each judge at each k (debate.tournament.elo.rate_debaters:
                     the mean of its honest and liar role Elo, the weakest debater at 0, bootstrap 95% CI).
  text_accuracy_vs_elo_JUDGE_kK  Khan et al.'s figure: judge accuracy in debate (both debaters the same agent)
                     and consultancy against the agent's debater Elo, Wilson 95% intervals (figures.py).
  text_elo.json      the ratings, the figure's points and the logistic slopes of accuracy per 400 Elo
                     (debate.tournament.fitting.accuracy_slopes).
Seeds of a cell are pooled (games and correct summed; intervals recomputed); a seed's stories count once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from debate.analysis.stats import wilson_interval
from debate.experiments.runfiles import text_writer, write_files
from debate.reports.tables import (
  check_fmt,
  csv_table,
  figure_writers,
  latex_escape,
  latex_table,
  markdown_table,
  new_figure,
  percent,
  save_figure,
  table_writers,
)
from debate.tournament import elo, fitting, pooling
from debate.tournament.figures import accuracy_vs_elo_figure
from debate.tournament.tables import debater_elo_table, dumps

Record = dict[str, Any]
_COUNTS = ('games', 'correct', 'liar_wins_games', 'liar_wins_correct')
_SIDES = ('honest_consultant', 'lying_consultant', 'honest_protagonist', 'lying_protagonist')


def text_records(records: Sequence[Record]) -> list[Record]:
  return [r for r in records if r.get('task') == 'text']


def _interval(correct: int, games: int) -> dict:
  return {
    'games': games,
    'correct': correct,
    'accuracy': correct / games if games else float('nan'),
    'ci95': list(wilson_interval(correct, games)),
  }


def pool(records: Sequence[Record]) -> list[Record]:
  """One record per (arm, judge, k): the seeds' counts summed (also per hop count, the liar's wins, and the
  honest/lying splits), accuracy and Wilson intervals recomputed; `seed` the list of seeds. Of several records
  of one seed (from several workdirs: the same stories) only the one with the most games counts."""
  groups: dict[tuple, list[Record]] = {}
  for r in text_records(records):
    groups.setdefault((r['arm'], r['judge'], r['k']), []).append(r)
  pooled = []
  for group in groups.values():
    by_seed = {}  # Two records of one seed (two workdirs) play the same stories: the one with more games stays.
    for r in group:
      if r['seed'] not in by_seed or r['games'] > by_seed[r['seed']]['games']:
        by_seed[r['seed']] = r
    group = list(by_seed.values())
    out = dict(group[0])
    if len(group) > 1:
      out.update(_interval(sum(r['correct'] for r in group), sum(r['games'] for r in group)))
      out['seed'] = sorted(r['seed'] for r in group)
      hops = sorted({h for r in group for h in r['by_hops']}, key=int)
      out['by_hops'] = {
        h: _interval(*(sum(r['by_hops'].get(h, {}).get(f, 0) for r in group) for f in ('correct', 'games')))
        for h in hops
      }
      if 'liar_wins_games' in out:
        wins = _interval(sum(r['liar_wins_correct'] for r in group), sum(r['liar_wins_games'] for r in group))
        out.update({f'liar_wins_{name}': value for name, value in wins.items()})
      for side in _SIDES:
        if f'games_{side}' in out:
          n = sum(r[f'games_{side}'] for r in group)
          k = sum(round((r[f'accuracy_{side}'] or 0) * r[f'games_{side}']) for r in group)
          out[f'games_{side}'], out[f'accuracy_{side}'] = n, k / n if n else None
    pooled.append(out)
  return pooled


def _entry(accuracy, ci, games, fmt: str) -> str:
  if games is None:
    return '--' if fmt != 'csv' else ''
  text = f'{percent(accuracy, ci)} ({games})'
  return latex_escape(text) if fmt == 'latex' else text


def _render(stem: str, header, body, caption: str, fmt: str, csv_rows=None) -> str:
  check_fmt(fmt)
  if fmt == 'csv':
    return csv_table(header, csv_rows if csv_rows is not None else body)
  if fmt == 'markdown':
    return markdown_table(header, body, set(range(1, len(header))), caption)
  return latex_table(
    [latex_escape(h) for h in header],
    [[latex_escape(c) if i == 0 else c for i, c in enumerate(line)] for line in body],
    'l' + 'r' * (len(header) - 1),
    latex_escape(caption),
    f'tab:{stem}',
    wide=len(header) > 5,
  )


def accuracy_table(records: Sequence[Record], *, fmt: str) -> str:
  """Rows: arms; columns: (judge, k); entries: accuracy % [Wilson 95% CI] (games)."""
  records = pool(records)
  arms = list(dict.fromkeys(r['arm'] for r in records))
  columns = list(dict.fromkeys((r['judge'], r['k']) for r in records))
  cells = {(r['arm'], r['judge'], r['k']): r for r in records}
  caption = 'Text task: judge accuracy (%), Wilson 95% CI, games in brackets; rows arms, columns judge and k quotes.'
  if fmt == 'csv':
    header = [
      'arm',
      'protocol',
      'judge',
      'k',
      'claims',
      'show_verified',
      'games',
      'correct',
      'accuracy',
      'ci95_low',
      'ci95_high',
    ]
    rows = [
      [
        r['arm'],
        r['protocol'],
        r['judge'],
        r['k'],
        r['claims'],
        r['show_verified'],
        r['games'],
        r['correct'],
        f'{r["accuracy"]:.6f}',
        f'{r["ci95"][0]:.6f}',
        f'{r["ci95"][1]:.6f}',
      ]
      for r in records
    ]
    return csv_table(header, rows)
  header = ['arm', *(f'{judge}, k={k}' for judge, k in columns)]
  body = []
  for arm in arms:
    line = [arm]
    for judge, k in columns:
      r = cells.get((arm, judge, k))
      line.append(_entry(r['accuracy'], r['ci95'], r['games'], fmt) if r else _entry(None, None, None, fmt))
    body.append(line)
  return _render('text_accuracy', header, body, caption, fmt)


def by_hops_table(records: Sequence[Record], *, fmt: str) -> str:
  """Rows: (arm, judge, k); columns: hops h; entries as `accuracy_table`."""
  records = pool(records)
  hops = sorted({h for r in records for h in r['by_hops']}, key=int)
  caption = 'Text task: judge accuracy (%) by the hops h a question needs, Wilson 95% CI, games in brackets.'
  if fmt == 'csv':
    rows = [
      [
        r['arm'],
        r['judge'],
        r['k'],
        h,
        b['games'],
        b['correct'],
        f'{b["accuracy"]:.6f}',
        f'{b["ci95"][0]:.6f}',
        f'{b["ci95"][1]:.6f}',
      ]
      for r in records
      for h, b in r['by_hops'].items()
    ]
    return csv_table(['arm', 'judge', 'k', 'h', 'games', 'correct', 'accuracy', 'ci95_low', 'ci95_high'], rows)
  body = []
  for r in records:
    line = [r['arm'], r['judge'], str(r['k'])]
    for h in hops:
      b = r['by_hops'].get(h)
      line.append(_entry(b['accuracy'], b['ci95'], b['games'], fmt) if b else _entry(None, None, None, fmt))
    body.append(line)
  header = ['arm', 'judge', 'k', *(f'h={h}' for h in hops)]
  if fmt == 'markdown':
    return markdown_table(header, body, set(range(3, len(header))), caption)
  return latex_table(
    [latex_escape(h) for h in header],
    [[latex_escape(c) for c in line[:3]] + line[3:] for line in body],
    'lll' + 'r' * len(hops),
    latex_escape(caption),
    'tab:text_by_hops',
    wide=len(header) > 5,
  )


def verification_rows(records: Sequence[Record]) -> list[dict]:
  """Debates with claims, paired by (arm without /hidden, judge, k): the liar's win rate (and Wilson CI,
  games) with the flags shown and hidden, the difference (hidden - shown), claims per game by the liar."""
  debates = [r for r in pool(records) if r['protocol'] == 'debate' and r['claims']]
  by_key = {(r['arm'].replace('/hidden', ''), r['judge'], r['k'], r['show_verified']): r for r in debates}
  rows = []
  for arm, judge, k in dict.fromkeys(key[:3] for key in by_key):
    shown, hidden = by_key.get((arm, judge, k, True)), by_key.get((arm, judge, k, False))
    row = {'arm': arm, 'judge': judge, 'k': k}
    for name, r in (('shown', shown), ('hidden', hidden)):
      row[name] = r and {
        'liar_win_rate': r['liar_wins_accuracy'],
        'ci95': r['liar_wins_ci95'],
        'games': r['liar_wins_games'],
        'liar_claims_per_game': r.get('liar_claims_per_game'),
      }
    if shown and hidden:
      row['worth'] = hidden['liar_wins_accuracy'] - shown['liar_wins_accuracy']
    rows.append(row)
  return rows


def verification_table(records: Sequence[Record], *, fmt: str) -> str:
  rows = verification_rows(records)
  caption = (
    "What verification is worth: the liar's win rate (%, Wilson 95% CI, games) in debates where both sides may "
    'make unverified claims, with the verified flags shown to the judge and hidden; worth = hidden - shown '
    "(points); claims: the liar's unverified claims per game."
  )
  header = [
    'arm',
    'judge',
    'k',
    'liar wins, flags shown',
    'liar wins, flags hidden',
    'worth',
    'claims shown',
    'claims hidden',
  ]

  def claims(side):
    return '' if not side or side['liar_claims_per_game'] is None else f'{side["liar_claims_per_game"]:.2f}'

  if fmt == 'csv':
    csv_rows = []
    for row in rows:
      line = [row['arm'], row['judge'], row['k']]
      for side in (row['shown'], row['hidden']):
        line += [side['liar_win_rate'], *side['ci95'], side['games']] if side else ['', '', '', '']
      csv_rows.append(line + [row.get('worth', ''), claims(row['shown']), claims(row['hidden'])])
    head = ['arm', 'judge', 'k'] + [
      f'{f}_{s}' for s in ('shown', 'hidden') for f in ('liar_win_rate', 'ci95_low', 'ci95_high', 'games')
    ]
    return csv_table(head + ['worth', 'liar_claims_shown', 'liar_claims_hidden'], csv_rows)
  body = []
  for row in rows:
    sides = [
      _entry(s['liar_win_rate'], s['ci95'], s['games'], fmt) if s else _entry(None, None, None, fmt)
      for s in (row['shown'], row['hidden'])
    ]
    worth = f'{100 * row["worth"]:+.1f}' if 'worth' in row else '--'
    body.append([row['arm'], row['judge'], str(row['k']), *sides, worth, claims(row['shown']), claims(row['hidden'])])
  return _render('text_verification', header, body, caption, fmt)


def open_table(records: Sequence[Record], *, fmt: str) -> str:
  """The open protocols: the share of games where the agent argued the truth, and the judge's accuracy when
  it argued the truth and when it lied."""
  rows = [r for r in pool(records) if r['protocol'] in ('open_consultancy', 'open_debate', 'consultancy')]
  caption = (
    'Open protocols (and assigned consultancy): share of games where the consultant (protagonist) argued the '
    'true answer, and judge accuracy (%) when it argued the truth and when it lied, games in brackets.'
  )
  header = ['arm', 'judge', 'k', 'argued truth', 'accuracy, honest', 'accuracy, lying', 'accuracy, all']
  lines, csv_rows = [], []
  for r in rows:
    role = 'protagonist' if r['protocol'] == 'open_debate' else 'consultant'
    honest, lying = (r.get(f'games_{s}_{role}') or 0 for s in ('honest', 'lying'))
    acc = [r.get(f'accuracy_{s}_{role}') for s in ('honest', 'lying')]
    share = honest / (honest + lying) if honest + lying else float('nan')
    csv_rows.append([r['arm'], r['judge'], r['k'], share, honest, acc[0], lying, acc[1], r['accuracy'], r['games']])
    fmt_acc = lambda a, n: '--' if a is None else f'{100 * a:.1f} ({n})'
    lines.append(
      [
        r['arm'],
        r['judge'],
        str(r['k']),
        f'{100 * share:.1f}',
        fmt_acc(acc[0], honest),
        fmt_acc(acc[1], lying),
        _entry(r['accuracy'], r['ci95'], r['games'], fmt),
      ]
    )
  if fmt == 'csv':
    return csv_table(
      [
        'arm',
        'judge',
        'k',
        'argued_truth',
        'games_honest',
        'accuracy_honest',
        'games_lying',
        'accuracy_lying',
        'accuracy',
        'games',
      ],
      csv_rows,
    )
  return _render('text_open', header, lines, caption, fmt)


def _strength_order(agent: str) -> tuple:
  """random < greedy < search:B (by B) < az:STEP[@S] (by STEP, then S) < anything else."""
  kind, _, rest = agent.partition(':')
  step, _, simulations = rest.partition('@')
  if kind in ('random', 'greedy') and not rest:
    return (0 if kind == 'random' else 1, 0, 0, '')
  if kind in ('search', 'az') and step.isdigit() and (simulations.isdigit() or not simulations):
    return (2 if kind == 'search' else 3, int(step), int(simulations or 0), '')
  return (4, 0, 0, agent)


def strength_points(records: Sequence[Record]) -> dict:
  """{judge: {(protocol, k): [(agent, accuracy, ci95, games)] by strength}} for debate (both debaters the same
  agent) and consultancy, without claims or hidden flags: Khan et al.'s figure."""
  out: dict = {}
  for r in pool(records):
    plain = not r['claims'] and r['show_verified'] and r['agent'] is not None
    same = r['protocol'] == 'consultancy' or (r['protocol'] == 'debate' and r['honest'] == r['liar'])
    if plain and same and r['protocol'] in ('debate', 'consultancy'):
      out.setdefault(r['judge'], {}).setdefault((r['protocol'], r['k']), []).append(
        (r['agent'], r['accuracy'], r['ci95'], r['games'])
      )
  for lines in out.values():
    for points in lines.values():
      points.sort(key=lambda p: _strength_order(p[0]))
  return out


def strength_figure(records: Sequence[Record], path: str) -> None:
  """Judge accuracy against debater strength, one panel per judge, debate and consultancy one line per k."""
  points = strength_points(records)
  agents = sorted({p[0] for lines in points.values() for ps in lines.values() for p in ps}, key=_strength_order)
  x_of = {agent: i for i, agent in enumerate(agents)}
  fig = new_figure(4.2 * max(1, len(points)), 3.4)
  axes = fig.subplots(1, max(1, len(points)), squeeze=False)[0]
  for ax, (judge, lines) in zip(axes, points.items()):
    for (protocol, k), ps in sorted(lines.items()):
      xs = [x_of[p[0]] for p in ps]
      ys = [p[1] for p in ps]
      errors = [[p[1] - p[2][0] for p in ps], [p[2][1] - p[1] for p in ps]]
      style = '-o' if protocol == 'debate' else '--s'
      ax.errorbar(xs, ys, yerr=errors, fmt=style, capsize=3, label=f'{protocol}, k={k}')
    ax.axhline(0.5, color='grey', lw=0.8, ls=':')
    ax.set_xticks(range(len(agents)), agents, rotation=30)
    ax.set_ylim(0, 1.02)
    ax.set_title(f'judge {judge}')
    ax.set_xlabel('debater / consultant strength')
    ax.set_ylabel('judge accuracy')
    ax.legend(fontsize=7)
  save_figure(fig, path)


def elo_results(records: Sequence[Record], *, num_samples: int = 1000, seed: int = 0) -> list[dict]:
  """Per (judge, k) whose debaters play each other in both roles: {'judge', 'k', 'ratings' (DebaterRatings),
  'rows' (accuracy_vs_elo: debate with both debaters the agent, and consultancy), 'slopes' (accuracy_slopes)};
  plain cells only (no claims, flags shown)."""
  cells = pooling.text_tournament_records(records)
  results = []
  for judge, k in dict.fromkeys((r['judge'], r['T']) for r in cells if r['protocol'] == 'debate'):
    try:
      matchups = elo.debater_matrix(cells, judge=judge, T=k)
    except ValueError:  # No cross-play in front of this judge at this k.
      continue
    try:
      ratings = elo.rate_debaters(matchups, judge=judge, num_samples=num_samples, seed=seed)
    except ValueError as e:  # E.g. two groups of debaters that never met.
      warnings.warn(f'no debater Elo for judge {judge} at k={k}: {e}', stacklevel=2)
      continue
    placed = [
      r
      for r in cells
      if r['judge'] == judge
      and r['T'] == k
      and r['agent'] in ratings.names
      and (r['protocol'] == 'consultancy' or r['honest'] == r['agent'])
    ]
    rows = fitting.accuracy_vs_elo(placed, ratings, T=k)
    slopes = fitting.accuracy_slopes(rows, num_samples=num_samples, seed=seed)
    results.append({'judge': judge, 'k': k, 'ratings': ratings, 'rows': rows, 'slopes': slopes})
  return results


def _elo_json(results: Sequence[dict]) -> str:
  return dumps(
    [
      {
        'judge': r['judge'],
        'k': r['k'],
        'level': r['ratings'].level,
        'num_samples': int(r['ratings'].samples.shape[0]),
        'debaters': r['ratings'].rows(),
        'accuracy_vs_elo': r['rows'],
        'accuracy_vs_elo_logistic': r['slopes'],
      }
      for r in results
    ]
  )


def _elo_files(records: Sequence[Record]) -> dict:
  """The text_elo table and JSON and one accuracy-vs-Elo figure per (judge, k), where debaters cross-play."""
  results = elo_results(records)
  if not results:
    return {}
  files = {
    **table_writers('text_elo', lambda fmt: debater_elo_table([r['ratings'] for r in results], fmt=fmt, size='k')),
    'text_elo.json': text_writer(_elo_json(results)),
  }
  for r in results:

    def save(path, r=r):
      title = f'Judge {r["judge"]}, k = {r["k"]}: accuracy vs debater strength'
      xlabel = 'Debater Elo in debate (mean of its honest and liar role Elo; weakest = 0)'
      accuracy_vs_elo_figure(r['rows'], r['ratings'], path, xlabel=xlabel, title=title)

    files.update(figure_writers(f'text_accuracy_vs_elo_{r["judge"]}_k{r["k"]}', save))
  return files


def write_text_reports(records: Sequence[Record], out_dir: str) -> dict[str, str]:
  """Writes every table and the figure of the module docstring into `out_dir`; returns {name: path}."""
  records = text_records(records)
  files = {
    **table_writers('text_accuracy', lambda fmt: accuracy_table(records, fmt=fmt)),
    **table_writers('text_by_hops', lambda fmt: by_hops_table(records, fmt=fmt)),
  }
  if verification_rows(records):
    files.update(table_writers('text_verification', lambda fmt: verification_table(records, fmt=fmt)))
  if any(r['protocol'] in ('open_consultancy', 'open_debate', 'consultancy') for r in records):
    files.update(table_writers('text_open', lambda fmt: open_table(records, fmt=fmt)))
  if strength_points(records):
    files.update(figure_writers('text_accuracy_vs_strength', lambda tmp: strength_figure(records, tmp)))
  files.update(_elo_files(records))
  return write_files(out_dir, files)
