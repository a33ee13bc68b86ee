"""Human judges beside the model judges: rows from DIR/human_verdicts.jsonl (written by the judging page).

For each cell with human verdicts, one row per person and one for all humans pooled (each verdict counts once,
so a game judged by two people counts twice): games judged, accuracy with its Wilson 95% interval, the model
judge's accuracy on the same games, and the rate at which the person's verdict equals the model judge's.
Written by `launch.report` as human_judges.md, .tex, .csv.
"""

from __future__ import annotations

import os
from collections import defaultdict

from debate.analysis.stats import wilson_interval
from debate.experiments import runfiles
from debate.judging.verdicts import VERDICTS_FILE
from debate.reports.tables import (
  check_fmt,
  csv_table,
  latex_escape,
  latex_table,
  markdown_table,
  percent,
  table_writers,
)

ALL_HUMANS = 'all humans'
_KEYS = ('judge', 'game', 'cell', 'verdict', 'correct', 'model_verdict', 'model_correct')


def read_verdicts(workdirs: list[str]) -> list[dict]:
  """The human verdicts of every workdir that has them, each with 'source' (the workdir's basename).
  ValueError names a file whose lines lack the fields a report needs."""
  lines = []
  for workdir in workdirs:
    path = os.path.join(workdir, VERDICTS_FILE)
    if not os.path.isfile(path):
      continue
    for number, line in enumerate(runfiles.read_jsonl(path), start=1):
      missing = [k for k in _KEYS if k not in line]
      if missing:
        raise ValueError(f'{path}: verdict {number} lacks {", ".join(missing)}')
      lines.append({**line, 'source': os.path.basename(os.path.normpath(workdir))})
  return lines


def _row(key: dict, judge: str, lines: list[dict]) -> dict:
  games = len(lines)
  correct = sum(bool(v['correct']) for v in lines)
  model_correct = sum(bool(v['model_correct']) for v in lines)
  agree = sum(v['verdict'] == v['model_verdict'] for v in lines)
  return {
    **key,
    'judge': judge,
    'games': games,
    'correct': correct,
    'accuracy': correct / games,
    'ci95': list(wilson_interval(correct, games)),
    'model_correct': model_correct,
    'model_accuracy': model_correct / games,
    'model_ci95': list(wilson_interval(model_correct, games)),
    'agree': agree,
    'agreement': agree / games,
  }


def human_rows(lines: list[dict]) -> list[dict]:
  """Per (workdir, cell): a row per person (by name), then the pooled 'all humans' row."""
  cells: dict[tuple, list[dict]] = defaultdict(list)
  for line in lines:
    cells[line.get('source', ''), line['cell']].append(line)
  rows = []
  for (source, cell), group in cells.items():
    first = group[0]
    key = {
      'source': source,
      'cell': cell,
      'protocol': first.get('protocol', cell.split('|')[0].split('/')[0]),
      'model_judge': str(first.get('model_judge', '?')),
      'size': first.get('size', ''),
    }
    by_judge: dict[str, list[dict]] = defaultdict(list)
    for line in group:
      by_judge[line['judge']].append(line)
    rows += [_row(key, judge, by_judge[judge]) for judge in sorted(by_judge)]
    rows.append(_row(key, ALL_HUMANS, group))
  return rows


_HEADER = (
  'cell',
  'model judge',
  'human judge',
  'games',
  'human accuracy (%)',
  'model judge accuracy (%), same games',
  'agreement with model (%)',
)


def human_table(rows: list[dict], fmt: str) -> str:
  """The human rows as a Markdown, LaTeX (booktabs) or CSV table."""
  check_fmt(fmt)
  several = len({r['source'] for r in rows}) > 1

  def cell(r):
    return f'{r["source"]}/{r["cell"]}' if several else r['cell']

  if fmt == 'csv':
    header = ['workdir', 'cell', 'protocol', 'size', 'model_judge', 'judge', 'games', 'correct', 'accuracy']
    header += ['ci95_low', 'ci95_high', 'model_correct', 'model_accuracy', 'model_ci95_low', 'model_ci95_high']
    header += ['agree', 'agreement']
    body = [
      [r['source'], r['cell'], r['protocol'], r['size'], r['model_judge'], r['judge'], r['games'], r['correct']]
      + [f'{r["accuracy"]:.4f}', f'{r["ci95"][0]:.4f}', f'{r["ci95"][1]:.4f}', r['model_correct']]
      + [f'{r["model_accuracy"]:.4f}', f'{r["model_ci95"][0]:.4f}', f'{r["model_ci95"][1]:.4f}', r['agree']]
      + [f'{r["agreement"]:.4f}']
      for r in rows
    ]
    return csv_table(header, body)
  body = [
    [
      cell(r),
      r['model_judge'],
      r['judge'],
      str(r['games']),
      percent(r['accuracy'], r['ci95']),
      percent(r['model_accuracy'], r['model_ci95']),
      percent(r['agreement']),
    ]
    for r in rows
  ]
  caption = (
    'Human judges beside the model judge: accuracy with Wilson 95% intervals on the games each human judged, '
    'the model judge on the same games, and how often the two verdicts agree; "all humans" pools every verdict.'
  )
  if fmt == 'markdown':
    return markdown_table(_HEADER, body, {3, 4, 5, 6}, caption)
  escaped = [[latex_escape(c) for c in line] for line in body]
  header = [latex_escape(h) for h in _HEADER]
  return latex_table(
    header, escaped, 'lllrrrr', latex_escape(caption), 'tab:human_judges', groups=[cell(r) for r in rows]
  )


def human_files(rows: list[dict]) -> dict:
  """{human_judges.md/.tex/.csv: writer} for `runfiles.write_files`."""
  return table_writers('human_judges', lambda fmt: human_table(rows, fmt))
