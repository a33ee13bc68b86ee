"""Tests for launch.bench and the throughput functions it runs: measurement rows, the Markdown tables, and
flag errors."""

import subprocess
import sys

import pytest

from debate.rollouts import throughput
from debate.training import throughput as train_throughput
from launch import bench

EXPECTED_KEYS = {
  'task',
  'protocol',
  'judge',
  'T',
  'modulus',
  'devices',
  'batch',
  'batch_requested',
  'repeats',
  'first_s',
  'compile_s',
  'median_s',
  'min_s',
  'max_s',
  'games_per_s',
  'times_s',
}


@pytest.fixture(scope='module')
def rows():
  return throughput.measure_chain(['debate/random'], 'exact', 4, [8, 16], repeats=2, devices=1)


def test_measure_chain_rows(rows):
  assert [r['batch'] for r in rows] == [8, 16]
  for r in rows:
    assert EXPECTED_KEYS <= set(r)
    assert (r['protocol'], r['judge'], r['T'], r['devices']) == ('debate/random', 'exact', 4, 1)
    assert len(r['times_s']) == 2
    for key in ('first_s', 'median_s', 'min_s', 'max_s', 'games_per_s'):
      assert r[key] > 0, key
    assert r['min_s'] <= r['median_s'] <= r['max_s']
    assert r['games_per_s'] == pytest.approx(r['batch'] / r['median_s'])
    assert r['compile_s'] == pytest.approx(r['first_s'] - r['median_s'])


def table_rows(markdown):
  """The cells of each line of a Markdown table, stripped of their padding."""
  return [[cell.strip() for cell in line.strip('|').split('|')] for line in markdown.splitlines() if line[:1] == '|']


def test_render_markdown_one_line_per_row(rows):
  lines = table_rows(throughput.render_chain_markdown(rows))
  assert lines[0][:5] == ['protocol', 'judge', 'T', 'devices', 'batch']
  assert 'speedup vs 1 device' in lines[0]
  assert len(lines) == 2 + len(rows)
  assert all(line[:4] == ['debate/random', 'exact', '4', '1'] for line in lines[2:])
  assert all(line[-1] == '1.00x' for line in lines[2:])  # 1 device against itself.


def test_speedup_against_one_device():
  base = {'protocol': 'p', 'judge': 'exact', 'T': 4, 'batch_requested': 8, 'batch': 8}
  rows = [
    {**base, 'devices': 1, 'games_per_s': 100.0},
    {**base, 'devices': 4, 'games_per_s': 50.0},
    {**base, 'batch_requested': 16, 'batch': 16, 'devices': 4, 'games_per_s': 10.0},
  ]
  assert [r['speedup_vs_1'] for r in throughput.add_speedups(rows)] == [1.0, 0.5, None]


def test_child_env_keeps_other_xla_flags():
  env = bench.child_env(4, {'XLA_FLAGS': '--xla_foo=1 --xla_force_host_platform_device_count=2'})
  assert env['XLA_FLAGS'] == '--xla_foo=1 --xla_force_host_platform_device_count=4'
  assert bench.child_env(1, {})['XLA_FLAGS'] == '--xla_force_host_platform_device_count=1'


@pytest.mark.parametrize(
  'flags, named', [(['--task=bogus'], '--task'), (['--task=chain', '--batch_sizes=0'], '--batch_sizes')]
)
def test_bad_flag_exits_with_message(flags, named):
  argv = [sys.executable, '-m', 'launch.bench', *flags]
  proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2
  assert proc.stdout == ''
  assert proc.stderr.startswith('error: ')
  assert named in proc.stderr


def test_measure_train_judge_on_a_sharded_mesh():
  row = train_throughput.measure_train_judge(
    'mlp', mesh_shape=(2, 2), batch_size=8, k=3, image_shape=(12, 12), steps_per_repeat=2, repeats=2
  )
  assert (row['mesh'], row['devices'], row['batch'], row['params']) == ('data:2,model:2', 4, 8, 38_282)
  assert len(row['times_s']) == 2 and row['min_s'] <= row['median_s'] <= row['max_s']
  assert row['steps_per_s'] == pytest.approx(2 / row['median_s'])
  assert row['examples_per_s'] == pytest.approx(8 * row['steps_per_s'])
  assert row['compile_s'] > 0 and row['flops_per_step'] > 0
  assert row['mfu'] is None and row['peak_flops'] is None  # No known peak for a CPU.
  lines = table_rows(train_throughput.render_train_markdown([row, {**row, 'steps_per_s': 2 * row['steps_per_s']}]))
  assert lines[0][:3] == ['judge', 'mesh', 'devices'] and len(lines) == 4
  assert lines[2][:4] == ['mlp', 'data:2,model:2', '4', '8'] and '1.00x' in lines[2]
  assert '2.00x' in lines[3] and lines[3][-1] == '—'


def test_parse_mesh():
  assert bench.parse_mesh('data:2,model:2') == (2, 2)
  assert bench.parse_mesh('model:4') == (1, 4) and bench.parse_mesh('data:8') == (8, 1)
  for bad in ('data:0', 'data:2,fsdp:2', 'data:x', ''):
    with pytest.raises(bench.UsageError, match='--mesh'):
      bench.parse_mesh(bad)


@pytest.mark.parametrize(
  'flags, named',
  [
    (['--train=judge', '--mesh=data:2,model:x'], '--mesh'),
    (['--train=judge', '--mesh=data:3', '--train_batch_size=8'], '--train_batch_size'),
    (['--train=selfplay', '--mesh=data:3,model:2', '--train_batch_size=16'], '--train_batch_size'),
    (['--train=selfplay', '--modulus=8'], '--modulus'),
    (['--train=selfplay', '--selfplay_max_length=1'], '--selfplay_max_length'),
  ],
)
def test_bad_train_flag_exits_with_message(flags, named):
  proc = subprocess.run([sys.executable, '-m', 'launch.bench', *flags], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2 and proc.stdout == '' and proc.stderr.startswith('error: ')
  assert named in proc.stderr


def test_measure_ladder_compiles_once_per_architecture_when_params_and_seed_are_traced():
  rows = throughput.measure_ladder(['direct'], 'learned:8', 4, judges=2, seeds=2, games=4, repeats=1)
  by_mode = {r['mode']: r for r in rows}
  assert [r['mode'] for r in rows] == list(throughput.LADDER_MODES)
  assert by_mode['traced']['compilations'] == [1]  # One for the 2 judges x 2 seeds (from a cold cache).
  assert by_mode['static_seed']['compilations'] == [2]  # One per seed.
  assert by_mode['static_judge']['compilations'] == [4]  # One per judge and seed.
  assert by_mode['traced']['ratio_to_traced'] == 1.0 and by_mode['traced']['same_outcomes'] is None
  assert by_mode['static_seed']['same_outcomes'] and by_mode['static_judge']['same_outcomes']
  lines = table_rows(throughput.render_ladder_markdown(rows))
  assert len(lines) == 2 + 3 and lines[2][:5] == ['traced', 'learned:8', '2 x 2', '1', '1']
