"""`launch.bench --task=text`: its output files and fields, its flag errors, and the token count it uses."""

import csv
import json
import os
import subprocess
import sys

import jax
import numpy as np
from conftest import xla_env

from debate.rollouts import text_throughput
from debate.tasks import text
from judges import text_judges

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sequence_length_is_the_length_the_judge_encodes():
  task = text.TextTask()
  views = text_throughput.final_views(task, text.sample_instances(task, 0, range(3)), k=5)
  model = text_judges.judge_for(task, 'tf1x32').module()
  trace = lambda v: model.apply(model.init(jax.random.key(0), v), v, capture_intermediates=True)
  state = jax.eval_shape(trace, views)
  width = text_judges.JUDGE_MODELS['tf1x32'].width
  encoded = {a.shape[1] for a in jax.tree.leaves(state) if a.ndim == 3 and a.shape[0] == 3 and a.shape[-1] == width}
  assert text_judges.sequence_length(model, views) in encoded
  assert text_judges.sequence_length(model, jax.eval_shape(lambda: views)) == text_judges.sequence_length(model, views)


def test_search_evaluations_count_the_root_and_every_simulation_of_each_move():
  assert text_throughput.judge_evaluations_per_game(k=6, budget=16) == 6 * 17


def test_text_bench_writes_tables_rows_and_csv(tmp_path):
  out = tmp_path / 'bench'
  flags = [
    '--task=text',
    '--text_judges=tf1x32',
    '--train_batch_size=4',
    '--train_steps=1',
    '--repeats=1',
    '--text_simulations=2',
    '--text_batch_sizes=2',
    '--k=2',
    f'--out={out}',
  ]
  result = subprocess.run(
    [sys.executable, '-m', 'launch.bench', *flags],
    cwd=ROOT,
    env=xla_env(1),
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  record = json.loads((out / 'bench_text.json').read_text())
  (train,) = record['train_rows']
  assert train['judge'] == 'tf1x32' and train['batch'] == 4 and train['examples_per_s'] > 0
  assert train['slots'] == 12 + 2 and train['tokens_per_example'] >= train['slots']  # k = 12 quotes + 2 claims.
  assert np.isclose(train['tokens_per_s'], train['examples_per_s'] * train['tokens_per_example'])
  (search,) = record['search_rows']
  assert (search['judge'], search['budget'], search['batch'], search['k']) == ('tf1x32', 2, 2, 2)
  assert search['judge_evals_per_s'] > 0 and search['forward_evals_per_s'] > 0 and search['ratio'] > 0
  assert np.isclose(search['judge_evals_per_s'], 2 * 3 * 2 / search['median_s'], rtol=0.02)  # median_s: 4 decimals.
  markdown = (out / 'bench_text.md').read_text()
  assert 'tokens/s' in markdown and 'judge evals/s in search' in markdown and '| tf1x32' in markdown
  lines = list(csv.DictReader((out / 'bench_text.csv').read_text().splitlines()))
  assert [line['part'] for line in lines] == ['train', 'search'] and lines[1]['ratio'] == str(search['ratio'])


def test_bad_text_bench_flags_exit_2_naming_the_flag():
  for flag in ('--text_judges=tf9x9', '--k=13', '--text_simulations=0'):
    result = subprocess.run(
      [sys.executable, '-m', 'launch.bench', '--task=text', flag], cwd=ROOT, capture_output=True, text=True
    )
    name = flag.split('=')[0]
    assert result.returncode == 2 and name in result.stderr and 'Traceback' not in result.stderr, flag
