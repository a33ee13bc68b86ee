"""Tables and figures of RRM records (`protocol == 'rrm'` in results.jsonl): per level, RRM against the baseline.

Records of one (judge, method, level) from several seeds are pooled:
- proportions (the evaluation's label accuracy, the reward model's accuracy on held-out claims and on the
  agent's answers, its top-1 accuracy, the agent's true accuracy, the share of the agent's answers that fool
  the reward model) sum their counts over seeds, with a Wilson 95% interval;
- means over seeds (proxy reward, hacking gap = proxy reward - true accuracy) get a Student-t 95% interval
  over the per-seed values, clipped to the quantity's range (none with one seed).
The CSV also has the t interval over seeds of every proportion, which includes the seed-to-seed spread that
the pooled Wilson interval leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matplotlib.lines import Line2D

from debate.analysis.stats import t_interval, wilson_interval
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

Record = Mapping[str, Any]
METHOD_ORDER = ('rrm', 'rrm-product', 'baseline')
# (name in rows, count field, games field, table column) of the pooled proportions.
PROPORTIONS = (
  ('rm', 'rm_correct', 'rm_games', 'RM acc. (held-out)'),
  ('rm_agent', 'rm_agent_correct', 'games', 'RM acc. (agent answers)'),
  ('rm_top1', 'rm_top1_correct', 'rm_games', 'RM top-1'),
  ('label', 'label_correct', 'rm_games', 'label acc.'),
  ('agent', 'correct', 'games', 'agent true acc.'),
  ('fooled', 'fooled', 'games', 'RM fooled'),
)
_TABLE_ORDER = ('label', 'rm', 'rm_agent', 'rm_top1', 'agent', 'fooled')  # the proportions' columns in the tables
MEANS = {'proxy_reward': (0.0, 1.0), 'hacking_gap': (-1.0, 1.0)}  # name -> the quantity's range
FILES = ('rrm_table.md', 'rrm_table.tex', 'rrm_table.csv', 'rrm_levels.png', 'rrm_levels.pdf')
_CSV_COLUMNS = (
  ['judge', 'method', 'level', 'T', 'seeds']
  + [
    f'{name}_{field}'
    for name, *_ in PROPORTIONS
    for field in ('games', 'count', 'rate', 'ci95_low', 'ci95_high', 'seed_ci95_low', 'seed_ci95_high')
  ]
  + [f'{name}{field}' for name in MEANS for field in ('', '_ci95_low', '_ci95_high')]
)


def summarize(records: Iterable[Record]) -> list[dict[str, Any]]:
  """One row per (judge, method, level), seeds pooled, ordered by judge, level, method.

  Each row: judge, method, level, T, seeds, and per proportion NAME in (rm, rm_agent, rm_top1, label, agent,
  fooled): NAME_games, NAME_count, NAME_rate, NAME_ci95 (Wilson, pooled counts), NAME_seed_ci95 (t over seeds,
  clipped to [0, 1]);
  per mean in (proxy_reward, hacking_gap): the mean over seeds and NAME_ci95 (t over seeds).
  Raises ValueError if a seed appears twice with different results (identical copies count once).
  """
  groups: dict[tuple[str, str, int], dict[Any, Record]] = {}
  for record in records:
    seeds = groups.setdefault((str(record['judge']), str(record['method']), int(record['level'])), {})
    seed = record.get('seed')
    if seed in seeds and any(seeds[seed].get(f) != record.get(f) for f in ('correct', 'rm_correct', 'proxy_reward')):
      raise ValueError(f'rrm cell {record["cell"]!r} has two different records for seed {seed}')
    seeds.setdefault(seed, record)
  if not groups:
    raise ValueError('no rrm records to report')
  judges = list(dict.fromkeys(k[0] for k in groups))
  rank = {m: i for i, m in enumerate(METHOD_ORDER)}
  rows = []
  for key in sorted(groups, key=lambda k: (judges.index(k[0]), k[2], rank.get(k[1], len(METHOD_ORDER)), k[1])):
    group = list(groups[key].values())
    row = dict(
      zip(('judge', 'method', 'level'), key), T=2 ** key[2], seeds=sorted((r.get('seed') for r in group), key=repr)
    )
    for name, count_field, games_field, _ in PROPORTIONS:
      games, count = sum(int(r[games_field]) for r in group), sum(int(r[count_field]) for r in group)
      _, low, high = t_interval([int(r[count_field]) / int(r[games_field]) for r in group])
      row.update(
        {
          f'{name}_games': games,
          f'{name}_count': count,
          f'{name}_rate': count / games,
          f'{name}_ci95': wilson_interval(count, games),
          f'{name}_seed_ci95': (max(low, 0.0), min(high, 1.0)),
        }
      )
    for name, (lowest, highest) in MEANS.items():
      row[name], low, high = t_interval([float(r[name]) for r in group])
      row[f'{name}_ci95'] = (max(low, lowest), min(high, highest))
    rows.append(row)
  return rows


def _caption(rows: Sequence[Mapping[str, Any]], *, latex: bool) -> str:
  judges = sorted({r['judge'] for r in rows})
  pct = r'\%' if latex else '%'
  return (
    f'RRM vs the unassisted baseline per level (judge: {", ".join(judges)}). Entries in {pct}; n: '
    f'claims per entry, pooled over the seeds. Label acc.: the evaluation the reward model (RM) learns '
    f'from, on held-out claims (half true, half random wrong); RM acc.: the RM on the same claims and '
    f"on the agent's own answers; RM top-1: tasks whose true end the RM scores highest of all answers; "
    f"RM fooled: the agent's answers that are wrong yet accepted by the RM. Proportions: Wilson "
    f"95{pct} interval on the pooled counts. Proxy reward (mean RM score of the agent's answers) and "
    f'hacking gap (proxy reward minus true accuracy, in points): mean over seeds with a Student-t '
    f'95{pct} interval.'
  )


def _csv_row(row: Mapping[str, Any]) -> list:
  flat = dict(row, seeds=' '.join(map(str, row['seeds'])))
  for key, value in row.items():
    if key.endswith('ci95'):
      flat[f'{key}_low'], flat[f'{key}_high'] = value
  return ['' if isinstance(flat.get(c), float) and math.isnan(flat[c]) else flat.get(c, '') for c in _CSV_COLUMNS]


def rrm_table(records: Sequence[Record], *, fmt: str) -> str:
  """The per-level table as 'markdown', 'latex' or 'csv' (CSV: every pooled number, one line per row)."""
  check_fmt(fmt)
  rows = summarize(records)
  if fmt == 'csv':
    return csv_table(_CSV_COLUMNS, [_csv_row(r) for r in rows])
  show_judge = len({r['judge'] for r in rows}) > 1
  titles = {p[0]: p[3] for p in PROPORTIONS}
  header = [
    *(['judge'] if show_judge else []),
    *('level', 'T', 'method', 'seeds', 'n'),
    *(titles[name] for name in _TABLE_ORDER),
    *('proxy reward', 'hacking gap (pts)'),
  ]
  body = [
    ([r['judge']] if show_judge else [])
    + [str(r['level']), str(r['T']), r['method'], str(len(r['seeds'])), str(r['agent_games'])]
    + [percent(r[f'{name}_rate'], r[f'{name}_ci95']) for name in _TABLE_ORDER]
    + [percent(r['proxy_reward'], r['proxy_reward_ci95']), percent(r['hacking_gap'], r['hacking_gap_ci95'], sign='+')]
    for r in rows
  ]
  numeric = [h not in ('judge', 'method') for h in header]
  if fmt == 'markdown':
    return markdown_table(header, body, {i for i, n in enumerate(numeric) if n}, _caption(rows, latex=False))
  return latex_table(
    [latex_escape(h) for h in header],
    [[latex_escape(c) for c in cells] for cells in body],
    ''.join('r' if n else 'l' for n in numeric),
    _caption(rows, latex=True),
    'tab:rrm',
    [r['level'] for r in rows],
    between=r'\addlinespace',
    wide=True,
  )


def rrm_figure(records: Sequence[Record], path: str) -> None:
  """Three panels against level: reward-model accuracy, the agent's true accuracy and proxy reward, and the
  hacking gap with the rate of wrong answers the RM accepts. Colour: method (and marker: judge, when there are
  several); line style: the quantity. 95% bands: Wilson for proportions, t over seeds for means. Saves a PDF
  if `path` ends in .pdf, else a PNG at 150 dpi."""
  rows = summarize(records)
  fig = new_figure(13.5, 4.8)
  axes = fig.subplots(1, 3)
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  colors = {m: f'C{i}' for i, m in enumerate(dict.fromkeys(r['method'] for r in rows))}
  markers = ('o', 's', '^', 'D', 'v')
  panels = [  # (axes, [(quantity, line style, legend)], title)
    (
      axes[0],
      [('rm', '-', 'held-out claims'), ('rm_agent', '--', "agent's answers"), ('rm_top1', ':', 'top-1 is the truth')],
      'Reward-model (RM) accuracy',
    ),
    (
      axes[1],
      [('agent', '-', 'true accuracy'), ('proxy_reward', '--', 'proxy reward')],
      'Agent: true accuracy and proxy reward',
    ),
    (
      axes[2],
      [('hacking_gap', '-', 'proxy - true accuracy'), ('fooled', ':', 'wrong answers the RM accepts')],
      'Reward hacking',
    ),
  ]
  series_handles = {}
  for j, judge in enumerate(judges):
    for method, color in colors.items():
      series = [r for r in rows if r['judge'] == judge and r['method'] == method]
      if not series:
        continue
      levels = [r['level'] for r in series]
      label = method if len(judges) == 1 else f'{method} ({judge})'
      for ax, quantities, _ in panels:
        for name, style, _ in quantities:
          lows, highs = [r[f'{name}_ci95'][0] for r in series], [r[f'{name}_ci95'][1] for r in series]
          if not any(math.isnan(v) for v in lows + highs):
            ax.fill_between(levels, lows, highs, color=color, alpha=0.15, linewidth=0)
          values = [r[name if name in MEANS else f'{name}_rate'] for r in series]
          line = dict(color=color, linestyle=style, marker=markers[j % len(markers)], markersize=4, linewidth=1.6)
          series_handles.setdefault(label, ax.plot(levels, values, **line)[0])
  all_levels = sorted({r['level'] for r in rows})
  for ax, quantities, title in panels:
    ax.set_title(title, fontsize='medium')
    ax.set(
      xticks=all_levels, xticklabels=[f'{l}\n(T={2**l})' for l in all_levels], xlabel='level l (chain length T = 2^l)'
    )
    ax.grid(True, alpha=0.3)
    handles = [Line2D([], [], color='0.3', linestyle=style, label=what) for _, style, what in quantities]
    ax.legend(handles=handles, fontsize='small', frameon=False)
  axes[0].set_ylim(0.0, 1.02)
  axes[1].set_ylim(0.0, 1.02)
  axes[2].axhline(0.0, color='0.4', linewidth=1)
  axes[2].set_ylabel('fraction of answers')
  fig.legend(
    list(series_handles.values()),
    list(series_handles),
    loc='outside lower center',
    ncols=len(series_handles),
    frameon=False,
  )
  fig.suptitle('Recursive reward modelling vs the unassisted baseline, per level')
  save_figure(fig, path)


def write_rrm_reports(records: Sequence[Record], directory: str) -> dict[str, str]:
  """Writes rrm_table.{md,tex,csv} and rrm_levels.{png,pdf} into `directory` atomically; returns
  {file name: path}."""
  return write_files(
    directory,
    {
      **table_writers('rrm_table', lambda fmt: rrm_table(records, fmt=fmt)),
      **figure_writers('rrm_levels', lambda tmp: rrm_figure(records, tmp)),
    },
  )


def split_sources(
  sources: Sequence[tuple[str, Sequence[Record]]],
) -> tuple[list[tuple[str, list[Record]]], list[Record]]:
  """Separates RRM records from `[(workdir name, records), ...]`: (the sources without them, the RRM records)."""
  return (
    [(name, [r for r in records if r.get('protocol') != 'rrm']) for name, records in sources],
    [r for _, records in sources for r in records if r.get('protocol') == 'rrm'],
  )


def report_rrm(records: Sequence[Record], out: str) -> str:
  """Writes the RRM files into `out` (see `write_rrm_reports`); returns what to print: the files written and
  the Markdown table. Raises ValueError if the records conflict (`summarize`)."""
  markdown = rrm_table(records, fmt='markdown')
  paths = write_rrm_reports(records, out)
  return f'read {len(records)} rrm records; wrote to {out}: {", ".join(paths)}\n\n{markdown}'
