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

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from debate.analysis.stats import bootstrap_mean_interval
from debate.experiments.runfiles import text_writer, write_files
from debate.reports.tables import check_fmt, csv_table, latex_escape, latex_table, markdown_table

Record = dict[str, Any]
FIRSTS = ('honest', 'liar', 'mean')
COLUMNS = ('random pixels', 'no precommit', 'precommit')


def _debate_entry(records: Sequence[Record], k: int, precommit: bool, first: str) -> Record | None:
  # The paper's debates: both sides the same agent (a ladder's cells against other liars are not Table 2's).
  candidates = [
    r
    for r in records
    if r.get('task') == 'images'
    and r['protocol'] == 'debate'
    and r['k'] == k
    and r['precommit'] == precommit
    and r['first'] == first
    and r.get('agent') == r.get('liar')
  ]
  if not candidates:
    return None
  return max(candidates, key=lambda r: (r['images'], r['budget'] or 0))


def _mean_entry(honest: Record | None, liar: Record | None, seed: int = 0) -> dict | None:
  """The mean of the honest-first and liar-first rows, paired by image, with a bootstrap interval."""
  if not honest or not liar or honest['images'] != liar['images'] or 'image_scores' not in honest:
    return None
  scores = (np.asarray(honest['image_scores']) + np.asarray(liar['image_scores'])) / 2
  low, high = bootstrap_mean_interval(scores, seed=seed)
  return {
    'accuracy': float(scores.mean()),
    'ci95': [low, high],
    'images': honest['images'],
    'games': honest['games'] + liar['games'],
    'agent': honest.get('agent'),
  }


def table2_rows(records: Sequence[Record]) -> list[dict]:
  """One dict per (k, first player) row: k, first, and for each column an entry dict or None."""
  rows = []
  for k in sorted({r['k'] for r in records if r.get('task') == 'images'}):
    direct = [r for r in records if r.get('task') == 'images' and r['protocol'] == 'direct' and r['k'] == k]
    direct = max(direct, key=lambda r: r['images']) if direct else None
    entries = {p: {f: _debate_entry(records, k, p, f) for f in ('honest', 'liar')} for p in (False, True)}
    for first in FIRSTS:
      row = {'k': k, 'first': first}
      for precommit, column in ((False, 'no precommit'), (True, 'precommit')):
        pair = entries[precommit]
        row[column] = _mean_entry(pair['honest'], pair['liar']) if first == 'mean' else pair[first]
      row['random pixels'] = direct if first == 'mean' else None
      rows.append(row)
  return rows


def _percent(x: float) -> str:
  return f'{100 * x:.1f}'


def _format_entry(entry: dict | None, column: str, fmt: str) -> str:
  if entry is None:
    return '' if column == 'random pixels' else '--'
  lo, hi = entry['ci95']
  text = f'{_percent(entry["accuracy"])} [{_percent(lo)}, {_percent(hi)}]'
  count = f'{entry["images"]} images, {entry["games"]} games'
  if column == 'random pixels' and entry.get('judge_random_pixel_accuracy') is not None:
    full_lo, full_hi = entry['judge_random_pixel_ci95']
    text = (
      f'{_percent(entry["judge_random_pixel_accuracy"])} [{_percent(full_lo)}, {_percent(full_hi)}] '
      f'(test set); {text} ({count})'
    )
    return text
  return f'{text} ({count})' if fmt != 'latex' else f'{text} \\newline {{\\footnotesize {count}}}'


def table2(records: Sequence[Record], *, fmt: str) -> str:
  """Table 2 as 'markdown', 'latex' (booktabs) or 'csv' (one row per entry, the random-pixel accuracy on
  the test set as its own row)."""
  check_fmt(fmt)
  rows = table2_rows(records)
  if fmt == 'csv':
    lines = []
    for row in rows:
      for column in COLUMNS:
        entry = row[column]
        if entry is None:
          continue
        lo, hi = entry['ci95']
        lines.append([row['k'], row['first'], column, entry['accuracy'], lo, hi, entry['images'], entry['games']])
        if column == 'random pixels' and entry.get('judge_random_pixel_accuracy') is not None:
          lo, hi = entry['judge_random_pixel_ci95']
          lines.append(
            [row['k'], row['first'], 'random pixels (test set)', entry['judge_random_pixel_accuracy'], lo, hi, '', '']
          )
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
  return latex_table(
    [latex_escape(h) for h in header],
    body,
    'rlp{4.2cm}p{3.6cm}p{3.6cm}',
    latex_escape(caption),
    'tab:table2',
    groups=[row['k'] for row in rows],
  )


def _figure_writer(fig: Figure):
  """A `write` for `runfiles.atomic_write` that saves `fig` in the format of the file's extension."""
  return lambda tmp: fig.savefig(tmp, dpi=150, format=os.path.splitext(tmp)[1][1:])


def budget_curve_figure(records: Sequence[Record]) -> Figure | None:
  """Precommit accuracy against MCTS simulations per move, per k and first player, with 95% bands."""
  curve = [
    r
    for r in records
    if r.get('task') == 'images'
    and r['protocol'] == 'debate'
    and r['precommit']
    and r['budget']
    and r['agent'] == r['liar']
  ]
  groups: dict[tuple, list[Record]] = {}
  for r in curve:
    groups.setdefault((r['k'], r['images'], r['first']), []).append(r)
  groups = {
    key: sorted(rs, key=lambda r: r['budget']) for key, rs in groups.items() if len({r['budget'] for r in rs}) >= 2
  }
  if not groups:
    return None
  fig = Figure(figsize=(6.4, 4.2), layout='constrained')
  FigureCanvasAgg(fig)
  ax = fig.subplots()
  for (k, images, first), rs in sorted(groups.items()):
    budgets = [r['budget'] for r in rs]
    acc = [r['accuracy'] for r in rs]
    color, style = f'C{sorted({g[0] for g in groups}).index(k)}', '-' if first == 'honest' else '--'
    ax.fill_between(
      budgets, [r['ci95'][0] for r in rs], [r['ci95'][1] for r in rs], color=color, alpha=0.12, linewidth=0
    )
    ax.plot(budgets, acc, style, color=color, marker='o', markersize=4, label=f'k={k}, {first} first ({images} images)')
  ax.set_xscale('log')
  ax.set_ylim(0, 1.02)
  ax.axhline(0.5, color='0.5', linestyle=':', linewidth=1)
  ax.set_xlabel('MCTS simulations per move (both debaters)')
  ax.set_ylabel('Honest win rate, precommit')
  ax.set_title('Debate accuracy against search budget')
  ax.grid(True, alpha=0.3)
  ax.legend(frameon=False, fontsize='small')
  return fig


def confusion_figure(records: Sequence[Record]) -> Figure | None:
  """Figure 3: the judge's confusion on random pixels and the lies that win precommit debates, per k."""
  ks = sorted({r['k'] for r in records if r.get('task') == 'images'})
  panels = []
  for k in ks:
    direct = [r for r in records if r.get('task') == 'images' and r['k'] == k and 'confusion' in r]
    if direct:
      r = max(direct, key=lambda r: r['images'])
      panels.append(
        (f'k={k}: judge on random pixels\n({r["images"]} images)', np.asarray(r['confusion']), "judge's class")
      )
    lies = [e for e in (_debate_entry(records, k, True, f) for f in ('honest', 'liar')) if e]
    if lies:
      matrix = sum(np.asarray(e['successful_lies']) for e in lies)
      panels.append(
        (
          f'k={k}: successful lies, precommit\n({", ".join(e["first"] for e in lies)} first, '
          f'{lies[0]["images"]} images)',
          matrix,
          'lie',
        )
      )
  if not panels:
    return None
  fig = Figure(figsize=(4.2 * len(panels), 4.2), layout='constrained')
  FigureCanvasAgg(fig)
  axes = np.atleast_1d(fig.subplots(1, len(panels)))
  for ax, (title, matrix, xlabel) in zip(axes, panels):
    image = ax.imshow(matrix, cmap='viridis')
    classes = range(matrix.shape[0])
    ax.set_xticks(classes)
    ax.set_yticks(classes)
    ax.set_xlabel(xlabel)
    ax.set_ylabel('true label')
    ax.set_title(title, fontsize='medium')
    fig.colorbar(image, ax=ax, shrink=0.8, label='count')
  return fig


def movers(first: str | None, k: int) -> list[str]:
  """Who made each of the k moves: 'honest' / 'liar' in debate, 'revealed' without a first player."""
  if first is None:
    return ['revealed'] * k
  other = 'liar' if first == 'honest' else 'honest'
  return [first if t % 2 == 0 else other for t in range(k)]


def sample_games_figure(transcripts: Sequence[dict], *, max_games: int = 6) -> Figure | None:
  """Figure 4: sample precommit debates: the image, each revealed pixel marked by player and move number,
  the claims and the verdict."""
  games = [
    t for t in transcripts if t['arm'].startswith('debate/') and 'no_precommit' not in t['arm'] and t['claim'] >= 0
  ]
  if not games:
    return None
  # Prefer a mix: some the liar won, some the honest side won.
  lost = [t for t in games if not t['correct']]
  won = [t for t in games if t['correct']]
  chosen = (lost[: max_games // 2] + won)[:max_games]
  fig = Figure(figsize=(3.0 * len(chosen), 3.6), layout='constrained')
  FigureCanvasAgg(fig)
  axes = np.atleast_1d(fig.subplots(1, len(chosen)))
  style = {'honest': dict(color='tab:blue', marker='o'), 'liar': dict(color='tab:red', marker='s')}
  for ax, game in zip(axes, chosen):
    image = np.asarray(game['image'])
    height, width = image.shape
    ax.imshow(image, cmap='gray_r', vmin=0, vmax=255)
    for order, (pixel, who) in enumerate(zip(game['revealed'], movers(game['first'], len(game['revealed'])))):
      if pixel >= height * width:
        continue
      row, col = divmod(pixel, width)
      ax.scatter([col], [row], s=110, facecolors='none', linewidths=2, **style.get(who, dict(color='green')))
      ax.annotate(
        str(order + 1),
        (col, row),
        xytext=(4, 4),
        textcoords='offset points',
        color=style.get(who, {}).get('color', 'green'),
        fontsize=8,
        weight='bold',
      )
    verdict = 'honest wins' if game['correct'] else 'liar wins'
    ax.set_title(
      f'true {game["label"]} (blue) vs lie {game["claim"]} (red)\n{game["first"]} first: {verdict}', fontsize='small'
    )
    ax.set_xticks([])
    ax.set_yticks([])
  fig.suptitle('Sample debates: circles honest, squares liar, numbers the move order', fontsize='medium')
  return fig


def write_image_reports(records: Sequence[Record], out_dir: str, *, transcripts: Sequence[dict] = ()) -> list[str]:
  """Writes table2.{md,tex,csv} and the figures that the records allow into `out_dir`; returns the paths."""
  records = [r for r in records if r.get('task') == 'images']
  if not records:
    return []
  writers = {
    f'table2.{ext}': text_writer(table2(records, fmt=fmt))
    for fmt, ext in (('markdown', 'md'), ('latex', 'tex'), ('csv', 'csv'))
  }
  figures = {
    'precommit_vs_simulations': budget_curve_figure(records),
    'confusion': confusion_figure(records),
    'sample_games': sample_games_figure(transcripts),
  }
  for stem, fig in figures.items():
    if fig is not None:
      writers.update({f'{stem}.{ext}': _figure_writer(fig) for ext in ('png', 'pdf')})
  return list(write_files(out_dir, writers).values())
