"""Table 2 of Irving et al. 2018, the search-budget curve and the paper's Figures 3 and 4, from image records.

Everything here reads only results.jsonl records (and transcripts.jsonl rows for the sample games), so
`launch.report` can render several workdirs (k = 4 and k = 6) into one table.

Table 2's entries: for each k and each precommit setting, the debate record with the most images (the
largest budget among those); rows are the first player (honest, liar) and their mean. The mean row's
interval is a bootstrap over images of the per-image mean of the two rows (they are paired: same images).
The random-pixel column is the judge's accuracy on the full test set (from its evaluation) and, in
brackets, on the images of this table (the `direct` cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from debate.analysis.stats import bootstrap_mean_interval
from debate.experiments.runfiles import write_files
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

Record = dict[str, Any]
FIRSTS = ('honest', 'liar', 'mean')
COLUMNS = ('random pixels', 'no precommit', 'precommit')
# Irving et al. 2018, Table 2 (../shared/REFERENCES.md): (k, first player) -> honest win rate in %, (without
# precommit, with precommit), MCTS with 10k rollouts per move.
PAPER_TABLE2 = {
  (4, 'honest'): (51.0, 83.8),
  (4, 'liar'): (68.4, 86.7),
  (4, 'mean'): (59.7, 85.2),
  (6, 'honest'): (67.4, 87.4),
  (6, 'liar'): (81.5, 90.4),
  (6, 'mean'): (74.4, 88.9),
}


def _images(records: Sequence[Record]) -> list[Record]:
  return [r for r in records if r.get('task') == 'images']


def _paper_debate(record: Record) -> bool:
  # The paper's debates: both sides the same agent (a ladder's cells against other liars are not Table 2's).
  return record['protocol'] == 'debate' and record.get('agent') == record.get('liar')


def _debate_entry(records: Sequence[Record], k: int, precommit: bool, first: str, budget=None) -> Record | None:
  """The paper-style debate record with the most images (then the largest budget), of `budget` if given."""
  candidates = [
    r
    for r in records
    if _paper_debate(r)
    and (r['k'], r['precommit'], r['first']) == (k, precommit, first)
    and (budget is None or r['budget'] == budget)
  ]
  return max(candidates, key=lambda r: (r['images'], r['budget'] or 0), default=None)


def _mean_entry(honest: Record | None, liar: Record | None) -> dict | None:
  """The mean of the honest-first and liar-first rows, paired by image, with a bootstrap interval."""
  if not honest or not liar or honest['images'] != liar['images'] or 'image_scores' not in honest:
    return None
  scores = (np.asarray(honest['image_scores']) + np.asarray(liar['image_scores'])) / 2
  return {
    'accuracy': float(scores.mean()),
    'ci95': list(bootstrap_mean_interval(scores, seed=0)),
    'images': honest['images'],
    'games': honest['games'] + liar['games'],
    'agent': honest.get('agent'),
  }


def table2_rows(records: Sequence[Record]) -> list[dict]:
  """One dict per (k, first player) row: k, first, and for each column an entry dict or None."""
  records, rows = _images(records), []
  for k in sorted({r['k'] for r in records}):
    direct = max(
      (r for r in records if r['protocol'] == 'direct' and r['k'] == k), key=lambda r: r['images'], default=None
    )
    pairs = [[_debate_entry(records, k, precommit, first) for first in FIRSTS[:2]] for precommit in (False, True)]
    for i, first in enumerate(FIRSTS):  # honest first, liar first, then their mean
      entries = [pair[i] if i < 2 else _mean_entry(*pair) for pair in pairs]
      rows.append(dict(zip(('k', 'first', *COLUMNS), (k, first, direct if first == 'mean' else None, *entries))))
  return rows


def _search_budgets(records: Sequence[Record]) -> list[int]:
  """The MCTS budgets of the paper-style debates (both sides the same searching agent), ascending."""
  return sorted({r['budget'] for r in records if _paper_debate(r) and r['budget']})


def table2_by_budget(records: Sequence[Record], *, fmt: str) -> str:
  """Table 2's debate columns at every search budget played, beside the paper's numbers (10k simulations):
  rows (k, first player), for precommit and then without, one column per budget ('' where none)."""
  check_fmt(fmt)
  records = _images(records)
  budgets, ks = _search_budgets(records), sorted({r['k'] for r in records})
  entries = {}  # (k, first, precommit, budget) -> entry
  for k, precommit, b in ((k, p, b) for k in ks for p in (True, False) for b in budgets):
    pair = [_debate_entry(records, k, precommit, first, b) for first in FIRSTS[:2]]
    entries.update({(k, first, precommit, b): e for first, e in zip(FIRSTS, [*pair, _mean_entry(*pair)]) if e})
  if fmt == 'csv':
    lines = [
      [k, first, p, 'paper', PAPER_TABLE2[k, first][int(p)] / 100, '', '', '', '']
      for k, first, p in sorted({key[:3] for key in entries})
      if (k, first) in PAPER_TABLE2
    ]
    lines += [[*key, e['accuracy'], *e['ci95'], e['images'], e['games']] for key, e in sorted(entries.items())]
    return csv_table(
      ['k', 'first', 'precommit', 'budget', 'accuracy', 'ci95_low', 'ci95_high', 'images', 'games'],
      [[f'{x:.6f}' if isinstance(x, float) else x for x in line] for line in lines],
    )
  header = ['pixels k', 'first player']
  for precommit in (True, False):
    name = 'precommit' if precommit else 'no precommit'
    header += [f'{name}, paper'] + [f'{name}, mcts:{b}' for b in budgets]
  body = []
  for k in ks:
    for first in FIRSTS:
      cells = [str(k), first]
      for precommit in (True, False):
        paper = PAPER_TABLE2.get((k, first))
        cells.append(f'{paper[int(precommit)]:.1f}' if paper else '')
        for b in budgets:
          entry = entries.get((k, first, precommit, b))
          cells.append(f'{percent(entry["accuracy"], entry["ci95"])} ({entry["images"]})' if entry else '--')
      body.append(cells)
  caption = (
    'Honest win rate (%) in sparse-pixel MNIST debate by MCTS simulations per move (both debaters), 95% '
    'intervals, (test images); paper: Irving et al. 2018, Table 2 (10k simulations, 3 seeds per lie).'
  )
  if fmt == 'markdown':
    return markdown_table(header, body, {0}, caption)
  return latex_table(
    [latex_escape(h) for h in header],
    [[latex_escape(c) for c in cells] for cells in body],
    'rl' + 'r' * (len(header) - 2),
    latex_escape(caption),
    'tab:table2_budgets',
    [cells[0] for cells in body],
  )


def _test_set(entry: dict, column: str) -> bool:
  """Whether a random-pixel entry carries the judge's accuracy on the whole test set."""
  return column == 'random pixels' and entry.get('judge_random_pixel_accuracy') is not None


def _format_entry(entry: dict | None, column: str, fmt: str) -> str:
  if entry is None:
    return '' if column == 'random pixels' else '--'
  text, count = percent(entry['accuracy'], entry['ci95']), f'{entry["images"]} images, {entry["games"]} games'
  if _test_set(entry, column):
    full = percent(entry['judge_random_pixel_accuracy'], entry['judge_random_pixel_ci95'])
    return f'{full} (test set); {text} ({count})'
  return f'{text} \\newline {{\\footnotesize {count}}}' if fmt == 'latex' else f'{text} ({count})'


def table2(records: Sequence[Record], *, fmt: str) -> str:
  """Table 2 as 'markdown', 'latex' (booktabs) or 'csv' (one row per entry, the random-pixel accuracy on
  the test set as its own row)."""
  check_fmt(fmt)
  rows = table2_rows(records)
  if fmt == 'csv':
    lines = []
    for row, column in ((row, column) for row in rows for column in COLUMNS if row[column] is not None):
      entry = row[column]
      lines.append([row['k'], row['first'], column, entry['accuracy'], *entry['ci95'], entry['images'], entry['games']])
      if _test_set(entry, column):
        full = [entry['judge_random_pixel_accuracy'], *entry['judge_random_pixel_ci95']]
        lines.append([row['k'], row['first'], 'random pixels (test set)', *full, '', ''])
    fixed = [[f'{x:.6f}' if isinstance(x, float) else x for x in line] for line in lines]
    return csv_table(['k', 'first', 'column', 'accuracy', 'ci95_low', 'ci95_high', 'images', 'games'], fixed)
  header = ['pixels k', 'first player', *COLUMNS]
  body = [[str(row['k']), row['first'], *(_format_entry(row[c], c, fmt) for c in COLUMNS)] for row in rows]
  agents = sorted({str(row[c]['agent']) for row in rows for c in COLUMNS[1:] if row[c] and row[c].get('agent')})
  caption = (
    'Honest win rate (judge accuracy, %) in sparse-pixel MNIST debate, 95% intervals; '
    'precommit: the liar is credited with its best of the 9 lies.'
    + (f' Debaters (both sides): {", ".join(agents)}.' if agents else '')
  )
  if fmt == 'markdown':
    return markdown_table(header, body, {0}, caption)
  body = [[latex_escape(c) if j < 2 else c for j, c in enumerate(cells)] for cells in body]
  header, caption = [latex_escape(h) for h in header], latex_escape(caption)
  return latex_table(header, body, 'rlp{4.2cm}p{3.6cm}p{3.6cm}', caption, 'tab:table2', [row['k'] for row in rows])


def budget_curve_figure(records: Sequence[Record]):
  """Precommit accuracy against MCTS simulations per move, per k and first player, with 95% bands (None
  without two budgets of one (k, images, first player))."""
  groups: dict[tuple, list[Record]] = {}
  for r in records:
    if r['protocol'] == 'debate' and r['precommit'] and r['budget'] and r['agent'] == r['liar']:
      groups.setdefault((r['k'], r['images'], r['first']), []).append(r)
  groups = {
    key: sorted(rs, key=lambda r: r['budget']) for key, rs in groups.items() if len({r['budget'] for r in rs}) >= 2
  }
  if not groups:
    return None
  fig = new_figure(6.4, 4.2)
  ax = fig.subplots()
  ks = sorted({k for k, _, _ in groups})
  for (k, images, first), rs in sorted(groups.items()):
    budgets, color = [r['budget'] for r in rs], f'C{ks.index(k)}'
    ax.fill_between(budgets, *zip(*(r['ci95'] for r in rs)), color=color, alpha=0.12, linewidth=0)
    label = f'k={k}, {first} first ({images} images)'
    ax.plot(
      budgets,
      [r['accuracy'] for r in rs],
      '-' if first == 'honest' else '--',
      color=color,
      marker='o',
      markersize=4,
      label=label,
    )
  ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1)
  ax.set(
    xscale='log',
    ylim=(0, 1.02),
    xlabel='MCTS simulations per move (both debaters)',
    ylabel='Honest win rate, precommit',
    title='Debate accuracy against search budget',
  )
  ax.grid(True, alpha=0.3)
  ax.legend(frameon=False, fontsize='small')
  return fig


def confusion_figure(records: Sequence[Record]):
  """Figure 3: the judge's confusion on random pixels and the lies that win precommit debates, per k (None
  without either)."""
  panels = []
  for k in sorted({r['k'] for r in records}):
    r = max((r for r in records if r['k'] == k and 'confusion' in r), key=lambda r: r['images'], default=None)
    if r:
      panels.append(
        (f'k={k}: judge on random pixels\n({r["images"]} images)', np.asarray(r['confusion']), "judge's class")
      )
    lies = [e for e in (_debate_entry(records, k, True, f) for f in ('honest', 'liar')) if e]
    if lies:
      title = (
        f'k={k}: successful lies, precommit\n({", ".join(e["first"] for e in lies)} first, {lies[0]["images"]} images)'
      )
      panels.append((title, sum(np.asarray(e['successful_lies']) for e in lies), 'lie'))
  if not panels:
    return None
  fig = new_figure(4.2 * len(panels), 4.2)
  for ax, (title, matrix, xlabel) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
    image = ax.imshow(matrix, cmap='viridis')
    ax.set(xticks=range(matrix.shape[0]), yticks=range(matrix.shape[0]), xlabel=xlabel, ylabel='true label')
    ax.set_title(title, fontsize='medium')
    fig.colorbar(image, ax=ax, shrink=0.8, label='count')
  return fig


def sample_games_figure(transcripts: Sequence[dict], *, max_games: int = 6):
  """Figure 4: sample precommit debates: the image, each revealed pixel marked by player and move number,
  the claims and the verdict (None without such a debate)."""
  games = [
    t for t in transcripts if t['arm'].startswith('debate/') and 'no_precommit' not in t['arm'] and t['claim'] >= 0
  ]
  if not games:
    return None
  # Prefer a mix: some the liar won, some the honest side won.
  chosen = ([t for t in games if not t['correct']][: max_games // 2] + [t for t in games if t['correct']])[:max_games]
  fig = new_figure(3.0 * len(chosen), 3.6)
  style = {'honest': dict(color='tab:blue', marker='o'), 'liar': dict(color='tab:red', marker='s')}
  other = {'honest': 'liar', 'liar': 'honest'}
  for ax, game in zip(np.atleast_1d(fig.subplots(1, len(chosen))), chosen):
    image = np.asarray(game['image'])
    height, width = image.shape
    ax.imshow(image, cmap='gray_r', vmin=0, vmax=255)
    for order, pixel in enumerate(game['revealed']):
      if pixel >= height * width:
        continue
      # The first player makes the odd-numbered moves; green: pixels revealed without debaters.
      mark = style.get(game['first'] if order % 2 == 0 else other.get(game['first']), dict(color='green'))
      row, col = divmod(pixel, width)
      ax.scatter([col], [row], s=110, facecolors='none', linewidths=2, **mark)
      ax.annotate(
        str(order + 1),
        (col, row),
        xytext=(4, 4),
        textcoords='offset points',
        color=mark['color'],
        fontsize=8,
        weight='bold',
      )
    verdict = 'honest wins' if game['correct'] else 'liar wins'
    ax.set_title(
      f'true {game["label"]} (blue) vs lie {game["claim"]} (red)\n{game["first"]} first: {verdict}', fontsize='small'
    )
    ax.set(xticks=[], yticks=[])
  fig.suptitle('Sample debates: circles honest, squares liar, numbers the move order', fontsize='medium')
  return fig


def write_image_reports(records: Sequence[Record], out_dir: str, *, transcripts: Sequence[dict] = ()) -> list[str]:
  """Writes table2.{md,tex,csv}, table2_by_budget.{md,tex,csv} where debates were played at several budgets,
  and the figures that the records allow into `out_dir`; returns the paths."""
  records = _images(records)
  if not records:
    return []
  writers = table_writers('table2', lambda fmt: table2(records, fmt=fmt))
  if len(_search_budgets(records)) >= 2:
    writers.update(table_writers('table2_by_budget', lambda fmt: table2_by_budget(records, fmt=fmt)))
  figures = {
    'precommit_vs_simulations': budget_curve_figure(records),
    'confusion': confusion_figure(records),
    'sample_games': sample_games_figure(transcripts),
  }
  for stem, fig in figures.items():
    if fig is not None:
      writers.update(figure_writers(stem, lambda tmp, fig=fig: save_figure(fig, tmp)))
  return list(write_files(out_dir, writers).values())
