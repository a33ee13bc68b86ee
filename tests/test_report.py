"""Tests for debate.reports.chain: tables, figure, atomic report writing, record loading."""

import copy
import csv
import io
import json
import os

import pytest

from debate.experiments.runfiles import read_jsonl
from debate.reports.chain import (
  CSV_COLUMNS,
  accuracy_table,
  accuracy_vs_T_figure,
  write_reports,
)

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def record(arm, protocol, liar, budget, judge, T, games, correct, ci95, seed=0):
  """A result record as written to results.jsonl."""
  return {
    'cell': f'{arm}|{judge}|T={T}',
    'task': 'chain',
    'protocol': protocol,
    'arm': arm,
    'liar': liar,
    'budget': budget,
    's': None,
    'T': T,
    'judge': judge,
    'modulus': 17,
    'games': games,
    'correct': correct,
    'accuracy': correct / games,
    'ci95': ci95,
    'seed': seed,
    'wall_s': 1.5,
    'games_per_s': games / 1.5,
    'judge_pairwise_error': None,
  }


# Deliberately out of T order, with a (debate, noisy, T=64) and (debate, exact, T=8) gap.
RECORDS = [
  record('direct', 'direct', None, None, 'exact', 64, 500, 260, [0.4762, 0.5634]),
  record('direct', 'direct', None, None, 'exact', 8, 500, 400, [0.7627, 0.8327]),
  record('debate/mcts:16', 'debate', 'mcts', 16, 'noisy:0.1', 8, 500, 490, [0.9636, 0.9891], 1),
  record('debate/mcts:16', 'debate', 'mcts', 16, 'exact', 64, 500, 450, [0.8706, 0.9233], 1),
]

EXPECTED_MARKDOWN = """\
| arm            | judge     |               T=8 |              T=64 |
|:---------------|:----------|------------------:|------------------:|
| direct         | exact     | 80.0 [76.3, 83.3] | 52.0 [47.6, 56.3] |
| debate/mcts:16 | noisy:0.1 | 98.0 [96.4, 98.9] |                 – |
| debate/mcts:16 | exact     |                 – | 90.0 [87.1, 92.3] |

Judge accuracy (%) by chain length T; brackets: Wilson 95% interval; n = 500 games per cell.
"""


def realistic_records(judges=('exact', 'learned:16'), ts=(4, 8, 16, 32, 64, 100, 128)):
  arms = [
    ('direct', 'direct', None, None),
    ('consultancy', 'consultancy', 'one_error', None),
    ('debate/mcts:16', 'debate', 'mcts', 16),
  ]
  out = []
  for judge in judges:
    for arm, protocol, liar, budget in arms:
      for i, t in enumerate(ts):
        correct = 1900 - 100 * i if protocol != 'debate' else 1950 - 10 * i
        out.append(
          record(arm, protocol, liar, budget, judge, t, 2000, correct, [correct / 2000 - 0.01, correct / 2000 + 0.01])
        )
  return out


# ---------------------------------------------------------------------------- tables


def test_markdown_table_exact():
  assert accuracy_table(RECORDS, fmt='markdown') == EXPECTED_MARKDOWN


def test_markdown_shows_n_per_entry_when_games_differ():
  records = copy.deepcopy(RECORDS)
  records[1].update(games=250, correct=200)
  text = accuracy_table(records, fmt='markdown')
  assert '| 80.0 [76.3, 83.3] (n=250) | 52.0 [47.6, 56.3] (n=500) |' in text
  assert 'games per cell' not in text
  assert 'Wilson 95%' in text


def test_duplicate_cells_rejected():
  with pytest.raises(ValueError, match='several records with the same seed'):
    accuracy_table(RECORDS + [RECORDS[0]], fmt='markdown')


def test_unknown_format_and_empty_records_rejected():
  with pytest.raises(ValueError, match='format'):
    accuracy_table(RECORDS, fmt='html')
  with pytest.raises(ValueError):
    accuracy_table([], fmt='markdown')


def test_latex_table():
  text = accuracy_table(RECORDS, fmt='latex')
  lines = text.splitlines()
  assert lines[0].startswith(r'\begin{table}') and lines[-1] == r'\end{table}'
  for command in (r'\caption{', r'\begin{tabular}{llrr}', r'\toprule', r'\midrule', r'\bottomrule', r'\end{tabular}'):
    assert command in text
  assert lines.index(r'\toprule') < lines.index(r'\midrule') < lines.index(r'\bottomrule')
  assert r'Arm & Judge & $T=8$ & $T=64$ \\' in lines
  assert r'debate/mcts:16 & noisy:0.1 & 98.0 [96.4, 98.9] & -- \\' in lines
  assert r'$n = 500$ games per cell' in text
  assert r'Wilson 95\% interval' in text


def test_latex_escapes_labels():
  records = [record('debate/my_arm #2 & 50%', 'debate', 'greedy', None, 'noisy_0.1', 8, 100, 90, [0.8256, 0.9448])]
  text = accuracy_table(records, fmt='latex')
  assert r'debate/my\_arm \#2 \& 50\% & noisy\_0.1 & 90.0 [82.6, 94.5] \\' in text
  # No unescaped specials from labels remain in the table body.
  body = text.split(r'\midrule')[1].split(r'\bottomrule')[0]
  for special in ('_', '%', '#'):
    assert body.count(special) == body.count('\\' + special)


def test_csv_round_trip():
  text = accuracy_table(RECORDS, fmt='csv')
  rows = list(csv.DictReader(io.StringIO(text)))
  assert text.splitlines()[0] == ','.join(CSV_COLUMNS)
  assert len(rows) == len(RECORDS)
  assert [row['arm'] for row in rows] == [r['arm'] for r in RECORDS]
  first, third = rows[0], rows[2]
  assert first['liar'] == first['budget'] == first['s'] == ''
  assert (first['judge'], int(first['T']), int(first['games']), int(first['correct'])) == ('exact', 64, 500, 260)
  assert float(first['accuracy']) == 0.52
  assert (float(first['ci95_low']), float(first['ci95_high'])) == (0.4762, 0.5634)
  assert (third['protocol'], third['liar'], third['budget'], third['seed']) == ('debate', 'mcts', '16', '1')


# ---------------------------------------------------------------------------- figure


def assert_png(path, min_bytes=10_000):
  with open(path, 'rb') as f:
    data = f.read()
  assert data.startswith(PNG_MAGIC)
  assert len(data) > min_bytes


def test_figure_multi_judge(tmp_path):
  path = tmp_path / 'fig.png'
  accuracy_vs_T_figure(realistic_records(), str(path))
  assert_png(path)


def test_figure_single_T(tmp_path):
  path = tmp_path / 'fig.png'
  accuracy_vs_T_figure(realistic_records(judges=('exact',), ts=(64,)), str(path))
  assert_png(path)


def test_figure_hand_records_with_gaps(tmp_path):
  path = tmp_path / 'fig.png'
  accuracy_vs_T_figure(RECORDS, str(path))
  assert_png(path)


def test_figure_pdf(tmp_path):
  path = tmp_path / 'fig.pdf'
  accuracy_vs_T_figure(RECORDS, str(path))
  assert path.read_bytes().startswith(b'%PDF')


# ---------------------------------------------------------------------------- files


def test_write_reports(tmp_path):
  workdir = tmp_path / 'reports'
  paths = write_reports(RECORDS, str(workdir))
  assert set(paths) == {'table.md', 'table.tex', 'table.csv', 'accuracy_vs_T.png'}
  assert sorted(os.listdir(workdir)) == sorted(paths)  # no temp files left behind
  assert (workdir / 'table.md').read_text(encoding='utf-8') == EXPECTED_MARKDOWN
  assert (workdir / 'table.tex').read_text(encoding='utf-8') == accuracy_table(RECORDS, fmt='latex')
  assert (workdir / 'table.csv').read_text(encoding='utf-8') == accuracy_table(RECORDS, fmt='csv')
  assert_png(paths['accuracy_vs_T.png'])


def write_lines(path, lines):
  path.write_text('\n'.join(lines), encoding='utf-8')


def test_read_jsonl_round_trip_and_blank_lines(tmp_path):
  path = tmp_path / 'results.jsonl'
  write_lines(path, [json.dumps(RECORDS[0]), '', '   ', json.dumps(RECORDS[1]), ''])
  assert read_jsonl(path) == RECORDS[:2]


def test_read_jsonl_ignores_truncated_final_line(tmp_path):
  path = tmp_path / 'results.jsonl'
  write_lines(path, [json.dumps(r) for r in RECORDS[:3]] + [json.dumps(RECORDS[3])[:40]])
  with pytest.warns(UserWarning, match='results.jsonl:4'):
    assert read_jsonl(path) == RECORDS[:3]


def test_read_jsonl_rejects_corrupt_middle_line(tmp_path):
  path = tmp_path / 'results.jsonl'
  write_lines(path, [json.dumps(RECORDS[0]), '', '{"arm": "direct", oops', json.dumps(RECORDS[1])])
  with pytest.raises(ValueError, match=r'results\.jsonl:3'):
    read_jsonl(path)
