"""Tables and figures rendered purely from result records (``results.jsonl``).

A record is a dict describing one grid cell, e.g.::

    {"cell": "debate/mcts:16|learned:16|T=64", "arm": "debate/mcts:16",
     "protocol": "debate", "judge": "learned:16", "T": 64, "games": 2000,
     "correct": 1900, "accuracy": 0.95, "ci95": [0.94, 0.96], ...}

Tables and the figure show one row / line per ``(arm, judge)`` pair, in the
order the pairs first appear in the records, and one column / point per chain
length ``T``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from debate.analysis.stats import wilson_interval
from debate.experiments.runfiles import write_files
from debate.reports.tables import (
  check_fmt,
  csv_table,
  latex_escape,
  latex_table,
  markdown_table,
  new_figure,
  percent,
  save_figure,
  table_writers,
)
from debate.tournament.pooling import Record, pool_records

CSV_COLUMNS = tuple('arm protocol liar budget s judge T games correct accuracy ci95_low ci95_high seed'.split())
_MAX_PANELS_PER_ROW = 3  # more judges wrap onto further rows
_MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '<', '>', '*')


def _grid(records: Iterable[Record]):
  """Records as rows (arm, judge), in order of first appearance, x columns T, ascending: ``(rows, Ts, cells)``
  with ``cells[arm, judge, T] = (accuracy, ci95 low, ci95 high, games)``, accuracy and Wilson interval derived
  from the counts where a record lacks them. Raises ValueError on empty input or duplicate cells."""
  cells = {}
  for record in records:
    key = arm, judge, t = str(record['arm']), str(record['judge']), int(record['T'])
    if key in cells:
      raise ValueError(f'duplicate records for cell arm={arm!r} judge={judge!r} T={t}')
    games, correct, accuracy = int(record['games']), int(record['correct']), record.get('accuracy')
    if accuracy is None:
      accuracy = correct / games if games else float('nan')
    low, high = record.get('ci95') or wilson_interval(correct, games)
    cells[key] = (float(accuracy), float(low), float(high), games)
  if not cells:
    raise ValueError('no records to report')
  return list(dict.fromkeys(key[:2] for key in cells)), sorted({key[2] for key in cells}), cells


def _csv_row(record: Record) -> list:
  low, high = record.get('ci95') or (None, None)
  values = {**record, 'ci95_low': low, 'ci95_high': high}
  return ['' if values.get(column) is None else values[column] for column in CSV_COLUMNS]


def accuracy_table(records: Sequence[Record], *, fmt: str) -> str:
  """Renders records as a ``"markdown"``, ``"latex"`` or ``"csv"`` table.

  Markdown and LaTeX are wide (rows: arm x judge, columns: T, entries:
  accuracy % with Wilson 95% CI, e.g. ``97.3 [96.5, 97.9]``, and ``(n=...)`` when
  the cells differ in games), a cell's seeds pooled (debate.tournament.pooling.pool_records); CSV is long
  (one line per record).
  """
  check_fmt(fmt)
  if fmt == 'csv':
    return csv_table(CSV_COLUMNS, [_csv_row(record) for record in records])
  rows, ts, cells = _grid(pool_records(records))
  games = {cell[3] for cell in cells.values()}
  latex = fmt == 'latex'

  def entry(arm, judge, t):
    if (arm, judge, t) not in cells:
      return '--' if latex else '–'
    accuracy, low, high, n = cells[arm, judge, t]
    return percent(accuracy, (low, high)) + (f' (n={n})' if len(games) > 1 else '')

  escape = latex_escape if latex else str
  body = [[escape(arm), escape(judge), *(entry(arm, judge, t) for t in ts)] for arm, judge in rows]
  m = '$' if latex else ''
  note = (
    f'{m}n = {min(games)}{m} games per cell' if len(games) == 1 else f'number of games {m}n{m} shown with each entry'
  )
  if not latex:
    caption = f'Judge accuracy (%) by chain length T; brackets: Wilson 95% interval; {note}.'
    return markdown_table(['arm', 'judge', *(f'T={t}' for t in ts)], body, set(range(2, 2 + len(ts))), caption)
  caption = rf'Judge accuracy (\%) by chain length $T$. Brackets: Wilson 95\% interval; {note}.'
  return latex_table(['Arm', 'Judge', *(f'$T={t}$' for t in ts)], body, f'll{"r" * len(ts)}', caption, 'tab:accuracy')


def accuracy_vs_T_figure(records: Sequence[Record], path: str) -> None:
  """Plots judge accuracy vs chain length T, one subplot per judge.

  Each arm is a line with markers and a shaded Wilson 95% band. Saves a PNG
  at 150 dpi, or a PDF if ``path`` ends in ``.pdf``.
  """
  rows, ts, cells = _grid(records)
  judges = list(dict.fromkeys(judge for _, judge in rows))
  arms = list(dict.fromkeys(arm for arm, _ in rows))
  one_panel = len(judges) == 1
  ncols = min(len(judges), _MAX_PANELS_PER_ROW)
  nrows = -(-len(judges) // ncols)
  fig = new_figure(6.4 if one_panel else 0.6 + 4.4 * ncols, 0.8 + 3.8 * nrows)
  panels = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
  axes = panels.reshape(-1)
  for unused in axes[len(judges) :]:
    unused.set_visible(False)
  crowded = any(b / a < 2**0.8 for a, b in zip(ts, ts[1:]))
  arm_handles: dict[str, Any] = {}
  for ax, judge in zip(axes, judges):
    for i, arm in enumerate(arms):
      points = [(t, *cells[arm, judge, t][:3]) for t in ts if (arm, judge, t) in cells]
      if not points:
        continue
      xs, acc, low, high = zip(*points)
      color = f'C{i % 10}'
      if len(points) > 1:
        ax.fill_between(xs, low, high, color=color, alpha=0.18, linewidth=0)
      else:  # a band needs two points; show the interval as an error bar
        ax.errorbar(xs, acc, yerr=[[acc[0] - low[0]], [high[0] - acc[0]]], fmt='none', ecolor=color, capsize=4)
      (arm_handles[arm],) = ax.plot(
        xs, acc, color=color, marker=_MARKERS[i % len(_MARKERS)], markersize=5, linewidth=1.6, label=arm
      )
    chance = ax.axhline(0.5, color='0.4', linestyle='--', linewidth=1, label='chance')
    ax.set_xscale('log', base=2)
    ax.set(
      xlim=(ts[0] / 2**0.4, ts[-1] * 2**0.4),
      ylim=(0.0, 1.02),
      xlabel='Chain length T',
      xticks=ts,
      xticklabels=[str(t) for t in ts],
    )
    if crowded:  # e.g. T=100 next to T=128: tilt labels so they do not overlap
      ax.tick_params(axis='x', labelrotation=45)
    ax.set_xticks([], minor=True)
    ax.grid(True, alpha=0.3)
    ax.set_title(f'judge: {judge}', **({'fontsize': 'medium'} if one_panel else {}))
  for row in panels:
    row[0].set_ylabel('Judge accuracy')
  fig.suptitle('Judge accuracy vs chain length')
  labels, handles = [*arm_handles, 'chance'], [*arm_handles.values(), chance]
  where = (
    {'loc': 'outside right center'}
    if one_panel
    else {'loc': 'outside lower center', 'ncols': min(len(handles), 2 * ncols)}
  )
  fig.legend(handles, labels, frameon=False, **where)
  save_figure(fig, path)


def write_reports(records: Sequence[Record], workdir: str) -> dict[str, str]:
  """Writes table.{md,tex,csv} and accuracy_vs_T.png into ``workdir``, the seeds of a cell pooled (the CSV
  keeps one row per record).

  Each file is written atomically. Returns ``{file name: path}``.
  """
  return write_files(
    workdir,
    {
      **table_writers('table', lambda fmt: accuracy_table(records, fmt=fmt)),
      'accuracy_vs_T.png': lambda tmp: accuracy_vs_T_figure(pool_records(records), tmp),
    },
  )
