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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from debate.analysis.stats import wilson_interval
from debate.experiments.runfiles import text_writer, write_files
from debate.reports.tables import csv_table, latex_escape, latex_table, markdown_table

Record = Mapping[str, Any]
RowKey = tuple[str, str]  # (arm, judge)

CSV_COLUMNS = (
  'arm',
  'protocol',
  'liar',
  'budget',
  's',
  'judge',
  'T',
  'games',
  'correct',
  'accuracy',
  'ci95_low',
  'ci95_high',
  'seed',
)
FIGURE_TITLE = 'Judge accuracy vs chain length'
_MAX_PANELS_PER_ROW = 3  # more judges wrap onto further rows
_MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '<', '>', '*')


@dataclass(frozen=True)
class _Cell:
  """Accuracy summary of one (arm, judge, T) grid cell."""

  accuracy: float
  low: float
  high: float
  games: int


@dataclass(frozen=True)
class _Grid:
  """Records arranged as rows (arm, judge) x columns T."""

  rows: list[RowKey]
  ts: list[int]
  cells: dict[tuple[str, str, int], _Cell]

  @property
  def games(self) -> set[int]:
    return {cell.games for cell in self.cells.values()}


def _cell(record: Record) -> _Cell:
  """Reads accuracy and CI from a record, deriving them from counts if absent."""
  games, correct = int(record['games']), int(record['correct'])
  accuracy = record.get('accuracy')
  if accuracy is None:
    accuracy = correct / games if games else float('nan')
  ci = record.get('ci95')
  low, high = ci if ci is not None else wilson_interval(correct, games)
  return _Cell(float(accuracy), float(low), float(high), games)


def _grid(records: Iterable[Record]) -> _Grid:
  """Arranges records into a grid; raises ValueError on empty input or duplicate cells."""
  rows: dict[RowKey, None] = {}
  ts: set[int] = set()
  cells: dict[tuple[str, str, int], _Cell] = {}
  for record in records:
    arm, judge, t = str(record['arm']), str(record['judge']), int(record['T'])
    if (arm, judge, t) in cells:
      raise ValueError(f'duplicate records for cell arm={arm!r} judge={judge!r} T={t}')
    rows.setdefault((arm, judge))
    ts.add(t)
    cells[arm, judge, t] = _cell(record)
  if not cells:
    raise ValueError('no records to report')
  return _Grid(list(rows), sorted(ts), cells)


# ----------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------


def _entry(cell: _Cell, show_n: bool) -> str:
  """Formats a cell as ``97.3 [96.5, 97.9]`` (percent), optionally with ``(n=...)``."""
  text = f'{100 * cell.accuracy:.1f} [{100 * cell.low:.1f}, {100 * cell.high:.1f}]'
  return f'{text} (n={cell.games})' if show_n else text


def _games_note(grid: _Grid, math: str = '') -> str:
  """Describes the number of games per cell; ``math`` delimits ``n = ...`` (e.g. ``$``)."""
  games = grid.games
  if len(games) == 1:
    return f'{math}n = {games.pop()}{math} games per cell'
  return f'number of games {math}n{math} shown with each entry'


def _table_body(grid: _Grid, missing: str) -> list[list[str]]:
  """Rows of ``[arm, judge, entry per T...]`` strings."""
  show_n = len(grid.games) > 1
  body = []
  for arm, judge in grid.rows:
    entries = []
    for t in grid.ts:
      cell = grid.cells.get((arm, judge, t))
      entries.append(missing if cell is None else _entry(cell, show_n))
    body.append([arm, judge, *entries])
  return body


def _markdown_table(grid: _Grid) -> str:
  header = ['arm', 'judge', *(f'T={t}' for t in grid.ts)]
  caption = f'Judge accuracy (%) by chain length T; brackets: Wilson 95% interval; {_games_note(grid)}.'
  return markdown_table(header, _table_body(grid, '–'), set(range(2, len(header))), caption)


def _latex_table(grid: _Grid) -> str:
  header = ['Arm', 'Judge', *(f'$T={t}$' for t in grid.ts)]
  body = [[latex_escape(arm), latex_escape(judge), *entries] for arm, judge, *entries in _table_body(grid, '--')]
  caption = (
    r'Judge accuracy (\%) by chain length $T$. '
    rf'Brackets: Wilson 95\% interval; {_games_note(grid, math="$")}.'
  )
  return latex_table(header, body, f'll{"r" * len(grid.ts)}', caption, 'tab:accuracy')


def _csv_value(value: Any) -> Any:
  return '' if value is None else value


def _csv_table(records: Sequence[Record]) -> str:
  rows = []
  for record in records:
    ci = record.get('ci95') or (None, None)
    values = {**record, 'ci95_low': ci[0], 'ci95_high': ci[1]}
    rows.append([_csv_value(values.get(column)) for column in CSV_COLUMNS])
  return csv_table(CSV_COLUMNS, rows)


def accuracy_table(records: Sequence[Record], *, fmt: str) -> str:
  """Renders records as a ``"markdown"``, ``"latex"`` or ``"csv"`` table.

  Markdown and LaTeX are wide (rows: arm x judge, columns: T, entries:
  accuracy % with Wilson 95% CI); CSV is long (one line per record).
  """
  if fmt == 'csv':
    return _csv_table(records)
  if fmt == 'markdown':
    return _markdown_table(_grid(records))
  if fmt == 'latex':
    return _latex_table(_grid(records))
  raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


# ----------------------------------------------------------------------------
# Figure
# ----------------------------------------------------------------------------


def accuracy_vs_T_figure(records: Sequence[Record], path: str) -> None:
  """Plots judge accuracy vs chain length T, one subplot per judge.

  Each arm is a line with markers and a shaded Wilson 95% band. Saves a PNG
  at 150 dpi, or a PDF if ``path`` ends in ``.pdf``.
  """
  grid = _grid(records)
  judges = list(dict.fromkeys(judge for _, judge in grid.rows))
  arms = list(dict.fromkeys(arm for arm, _ in grid.rows))
  colors = {arm: f'C{i % 10}' for i, arm in enumerate(arms)}
  markers = {arm: _MARKERS[i % len(_MARKERS)] for i, arm in enumerate(arms)}

  one_panel = len(judges) == 1
  ncols = min(len(judges), _MAX_PANELS_PER_ROW)
  nrows = -(-len(judges) // ncols)
  fig = Figure(figsize=(6.4 if one_panel else 0.6 + 4.4 * ncols, 0.8 + 3.8 * nrows), layout='constrained')
  FigureCanvasAgg(fig)
  panels = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
  axes = panels.reshape(-1)
  for unused in axes[len(judges) :]:
    unused.set_visible(False)
  x_lo, x_hi = grid.ts[0] / 2**0.4, grid.ts[-1] * 2**0.4
  crowded = any(b / a < 2**0.8 for a, b in zip(grid.ts, grid.ts[1:]))
  arm_handles: dict[str, Any] = {}

  for ax, judge in zip(axes, judges):
    for arm in arms:
      points = [(t, grid.cells[arm, judge, t]) for t in grid.ts if (arm, judge, t) in grid.cells]
      if not points:
        continue
      ts = [t for t, _ in points]
      acc = [c.accuracy for _, c in points]
      low = [c.low for _, c in points]
      high = [c.high for _, c in points]
      color = colors[arm]
      if len(points) > 1:
        ax.fill_between(ts, low, high, color=color, alpha=0.18, linewidth=0)
      else:  # a band needs two points; show the interval as an error bar
        ax.errorbar(
          ts,
          acc,
          yerr=[[a - l for a, l in zip(acc, low)], [h - a for a, h in zip(acc, high)]],
          fmt='none',
          ecolor=color,
          capsize=4,
        )
      (arm_handles[arm],) = ax.plot(ts, acc, color=color, marker=markers[arm], markersize=5, linewidth=1.6, label=arm)
    chance = ax.axhline(0.5, color='0.4', linestyle='--', linewidth=1, label='chance')
    ax.set_xscale('log', base=2)
    ax.set_xlim(x_lo, x_hi)
    ax.set_xticks(grid.ts, labels=[str(t) for t in grid.ts])
    if crowded:  # e.g. T=100 next to T=128: tilt labels so they do not overlap
      ax.tick_params(axis='x', labelrotation=45)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel('Chain length T')
    ax.grid(True, alpha=0.3)
    if not one_panel:
      ax.set_title(f'judge: {judge}')
  for row in panels:
    row[0].set_ylabel('Judge accuracy')
  fig.suptitle(FIGURE_TITLE)
  labels, handles = [*arm_handles, 'chance'], [*arm_handles.values(), chance]
  if one_panel:
    axes[0].set_title(f'judge: {judges[0]}', fontsize='medium')
    fig.legend(handles, labels, loc='outside right center', frameon=False)
  else:
    fig.legend(handles, labels, loc='outside lower center', ncols=min(len(handles), 2 * ncols), frameon=False)
  fig.savefig(path, dpi=150, format='pdf' if path.lower().endswith('.pdf') else 'png')


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------


def write_reports(records: Sequence[Record], workdir: str) -> dict[str, str]:
  """Writes table.{md,tex,csv} and accuracy_vs_T.png into ``workdir``, the seeds of a cell pooled
  (debate.tournament.pooling.pool_records; the CSV keeps one row per record).

  Each file is written atomically. Returns ``{file name: path}``.
  """
  from debate.tournament.pooling import pool_records  # (The tournament package reads records too.)

  pooled = pool_records(records)
  return write_files(
    workdir,
    {
      'table.md': text_writer(accuracy_table(pooled, fmt='markdown')),
      'table.tex': text_writer(accuracy_table(pooled, fmt='latex')),
      'table.csv': text_writer(accuracy_table(records, fmt='csv')),
      'accuracy_vs_T.png': lambda tmp: accuracy_vs_T_figure(pooled, tmp),
    },
  )
