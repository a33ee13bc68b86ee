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

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from debate.analysis.stats import t_interval, wilson_interval
from debate.experiments.runfiles import text_writer, write_files
from debate.reports.tables import csv_table, latex_escape, markdown_table

Record = Mapping[str, Any]
METHOD_ORDER = ('rrm', 'rrm-product', 'baseline')
# (name in rows, count field, games field) of the pooled proportions.
PROPORTIONS = (
  ('rm', 'rm_correct', 'rm_games'),
  ('rm_agent', 'rm_agent_correct', 'games'),
  ('rm_top1', 'rm_top1_correct', 'rm_games'),
  ('label', 'label_correct', 'rm_games'),
  ('agent', 'correct', 'games'),
  ('fooled', 'fooled', 'games'),
)
MEANS = {'proxy_reward': (0.0, 1.0), 'hacking_gap': (-1.0, 1.0)}  # name -> the quantity's range
FILES = ('rrm_table.md', 'rrm_table.tex', 'rrm_table.csv', 'rrm_levels.png', 'rrm_levels.pdf')


def is_rrm(record: Record) -> bool:
  return record.get('protocol') == 'rrm'


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
    key = (str(record['judge']), str(record['method']), int(record['level']))
    seeds = groups.setdefault(key, {})
    seed = record.get('seed')
    if seed in seeds:
      if any(seeds[seed].get(f) != record.get(f) for f in ('correct', 'rm_correct', 'proxy_reward')):
        raise ValueError(f'rrm cell {record["cell"]!r} has two different records for seed {seed}')
      continue
    seeds[seed] = record
  if not groups:
    raise ValueError('no rrm records to report')
  judges = list(dict.fromkeys(k[0] for k in groups))
  method_rank = {m: i for i, m in enumerate(METHOD_ORDER)}
  keys = sorted(groups, key=lambda k: (judges.index(k[0]), k[2], method_rank.get(k[1], len(METHOD_ORDER)), k[1]))
  rows = []
  for judge, method, level in keys:
    group = list(groups[judge, method, level].values())
    row: dict[str, Any] = {
      'judge': judge,
      'method': method,
      'level': level,
      'T': 2**level,
      'seeds': sorted((r.get('seed') for r in group), key=repr),
    }
    for name, count_field, games_field in PROPORTIONS:
      games = sum(int(r[games_field]) for r in group)
      correct = sum(int(r[count_field]) for r in group)
      _, low, high = t_interval([int(r[count_field]) / int(r[games_field]) for r in group])
      row.update(
        {
          f'{name}_games': games,
          f'{name}_count': correct,
          f'{name}_rate': correct / games,
          f'{name}_ci95': wilson_interval(correct, games),
          f'{name}_seed_ci95': (max(low, 0.0), min(high, 1.0)),
        }
      )
    for name, (lowest, highest) in MEANS.items():
      mean, low, high = t_interval([float(r[name]) for r in group])
      row.update({name: mean, f'{name}_ci95': (max(low, lowest), min(high, highest))})
    rows.append(row)
  return rows


def _percent(value: float, interval: Sequence[float], *, signed: bool = False) -> str:
  sign = '+' if signed else ''
  text = f'{100 * value:{sign}.1f}'
  if any(math.isnan(v) for v in interval):
    return text
  return f'{text} [{100 * interval[0]:{sign}.1f}, {100 * interval[1]:{sign}.1f}]'


_COLUMNS = (
  ('label acc.', 'label'),
  ('RM acc. (held-out)', 'rm'),
  ('RM acc. (agent answers)', 'rm_agent'),
  ('RM top-1', 'rm_top1'),
  ('agent true acc.', 'agent'),
  ('RM fooled', 'fooled'),
)


def _table_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
  show_judge = len({r['judge'] for r in rows}) > 1
  header = (
    (['judge'] if show_judge else [])
    + ['level', 'T', 'method', 'seeds', 'n']
    + [c for c, _ in _COLUMNS]
    + ['proxy reward', 'hacking gap (pts)']
  )
  body = []
  for r in rows:
    body.append(
      ([r['judge']] if show_judge else [])
      + [str(r['level']), str(r['T']), r['method'], str(len(r['seeds'])), str(r['agent_games'])]
      + [_percent(r[f'{name}_rate'], r[f'{name}_ci95']) for _, name in _COLUMNS]
      + [
        _percent(r['proxy_reward'], r['proxy_reward_ci95']),
        _percent(r['hacking_gap'], r['hacking_gap_ci95'], signed=True),
      ]
    )
  return header, body


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


def rrm_table(records: Sequence[Record], *, fmt: str) -> str:
  """The per-level table as 'markdown', 'latex' or 'csv' (CSV: every pooled number, one line per row)."""
  rows = summarize(records)
  if fmt == 'csv':
    return _csv(rows)
  header, body = _table_rows(rows)
  if fmt == 'markdown':
    numeric = {i for i, h in enumerate(header) if h not in ('judge', 'method')}
    return markdown_table(header, body, numeric, _caption(rows, latex=False))
  if fmt == 'latex':
    numeric = [h not in ('judge', 'method') for h in header]
    lines = [
      r'\begin{table*}[t]',
      r'\centering',
      r'\small',
      rf'\caption{{{_caption(rows, latex=True)}}}',
      r'\label{tab:rrm}',
      r'\resizebox{\textwidth}{!}{%',
      rf'\begin{{tabular}}{{{"".join("r" if n else "l" for n in numeric)}}}',
      r'\toprule',
      ' & '.join(latex_escape(h) for h in header) + r' \\',
      r'\midrule',
    ]
    previous_level = None
    for r, row in zip(rows, body):
      if previous_level is not None and r['level'] != previous_level:
        lines.append(r'\addlinespace')
      previous_level = r['level']
      lines.append(' & '.join(latex_escape(c) for c in row) + r' \\')
    lines += [r'\bottomrule', r'\end{tabular}}', r'\end{table*}']
    return '\n'.join(lines) + '\n'
  raise ValueError(f"unknown table format {fmt!r}; expected 'markdown', 'latex' or 'csv'")


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
  columns = ['judge', 'method', 'level', 'T', 'seeds']
  for name, _, _ in PROPORTIONS:
    columns += [
      f'{name}_games',
      f'{name}_count',
      f'{name}_rate',
      f'{name}_ci95_low',
      f'{name}_ci95_high',
      f'{name}_seed_ci95_low',
      f'{name}_seed_ci95_high',
    ]
  for name in MEANS:
    columns += [name, f'{name}_ci95_low', f'{name}_ci95_high']
  out = []
  for r in rows:
    flat = dict(r, seeds=' '.join(map(str, r['seeds'])))
    for name in [p[0] for p in PROPORTIONS] + list(MEANS):
      for suffix in ('ci95', 'seed_ci95'):
        interval = r.get(f'{name}_{suffix}')
        if interval is not None:
          flat[f'{name}_{suffix}_low'], flat[f'{name}_{suffix}_high'] = interval
    out.append(['' if isinstance(flat.get(c), float) and math.isnan(flat[c]) else flat.get(c, '') for c in columns])
  return csv_table(columns, out)


def rrm_figure(records: Sequence[Record], path: str) -> None:
  """Three panels against level: reward-model accuracy, the agent's true accuracy and proxy reward, and the
  hacking gap with the rate of wrong answers the RM accepts. Colour: method (and marker: judge, when there are
  several); line style: the quantity. 95% bands: Wilson for proportions, t over seeds for means. Saves a PDF
  if `path` ends in .pdf, else a PNG at 150 dpi."""
  rows = summarize(records)
  fig = Figure(figsize=(13.5, 4.8), layout='constrained')
  FigureCanvasAgg(fig)
  axes = fig.subplots(1, 3)
  judges = list(dict.fromkeys(r['judge'] for r in rows))
  methods = list(dict.fromkeys(r['method'] for r in rows))
  colors = {m: f'C{i}' for i, m in enumerate(methods)}
  markers = ('o', 's', '^', 'D', 'v')
  panels = [
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
    for method in methods:
      series = [r for r in rows if r['judge'] == judge and r['method'] == method]
      if not series:
        continue
      levels = [r['level'] for r in series]
      label = method if len(judges) == 1 else f'{method} ({judge})'
      for ax, quantities, _ in panels:
        for name, style, _ in quantities:
          value_key = f'{name}_rate' if name in {p[0] for p in PROPORTIONS} else name
          lows = [r[f'{name}_ci95'][0] for r in series]
          highs = [r[f'{name}_ci95'][1] for r in series]
          if not any(math.isnan(v) for v in lows + highs):
            ax.fill_between(levels, lows, highs, color=colors[method], alpha=0.15, linewidth=0)
          (line,) = ax.plot(
            levels,
            [r[value_key] for r in series],
            color=colors[method],
            linestyle=style,
            marker=markers[j % len(markers)],
            markersize=4,
            linewidth=1.6,
          )
          series_handles.setdefault(label, line)
  all_levels = sorted({r['level'] for r in rows})
  for ax, quantities, title in panels:
    ax.set_title(title, fontsize='medium')
    ax.set_xticks(all_levels, labels=[f'{l}\n(T={2**l})' for l in all_levels])
    ax.set_xlabel('level l (chain length T = 2^l)')
    ax.grid(True, alpha=0.3)
    ax.legend(
      handles=[Line2D([], [], color='0.3', linestyle=style, label=what) for _, style, what in quantities],
      fontsize='small',
      frameon=False,
    )
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
  fig.savefig(path, dpi=150, format='pdf' if path.lower().endswith('.pdf') else 'png')


def write_rrm_reports(records: Sequence[Record], directory: str) -> dict[str, str]:
  """Writes rrm_table.{md,tex,csv} and rrm_levels.{png,pdf} into `directory` atomically; returns
  {file name: path}."""
  return write_files(
    directory,
    {
      'rrm_table.md': text_writer(rrm_table(records, fmt='markdown')),
      'rrm_table.tex': text_writer(rrm_table(records, fmt='latex')),
      'rrm_table.csv': text_writer(rrm_table(records, fmt='csv')),
      'rrm_levels.png': lambda tmp: rrm_figure(records, tmp),
      'rrm_levels.pdf': lambda tmp: rrm_figure(records, tmp),
    },
  )


def split_sources(
  sources: Sequence[tuple[str, Sequence[Record]]],
) -> tuple[list[tuple[str, list[Record]]], list[Record]]:
  """Separates RRM records from `[(workdir name, records), ...]`: (the sources without them, the RRM records)."""
  rest = [(name, [r for r in records if not is_rrm(r)]) for name, records in sources]
  return rest, [r for _, records in sources for r in records if is_rrm(r)]


def report_rrm(records: Sequence[Record], out: str) -> str:
  """Writes the RRM files into `out` (see `write_rrm_reports`); returns what to print: the files written and
  the Markdown table. Raises ValueError if the records conflict (`summarize`)."""
  markdown = rrm_table(records, fmt='markdown')
  paths = write_rrm_reports(records, out)
  return f'read {len(records)} rrm records; wrote to {out}: {", ".join(paths)}\n\n{markdown}'
