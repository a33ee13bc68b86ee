"""The entry points end to end: the main job on a tiny config, resume, bad flags, and `launch.show`."""

import json
import os
import subprocess
import sys

import ml_collections
import pytest
from conftest import xla_env

from debate.experiments import chain as experiment
from debate.experiments import runfiles
from launch.configs import chain as chain_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
  '--config.T=(1, 5)',
  "--config.judges=('exact', 'learned:8')",
  "--config.protocols=('direct', 'debate/mcts:2')",
  '--config.num_games=48',
  '--config.batch_size=24',
  '--config.judge_training.steps=50',
]


def _launch(module, *args):
  env = xla_env(2)
  return subprocess.run(
    [sys.executable, '-m', module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
  )


def tiny_config() -> ml_collections.ConfigDict:
  config = chain_config.get_config('smoke')
  config.T = (2, 3)
  config.judges = ('exact', 'noisy:0.2')
  config.protocols = ('consultancy', 'debate/random')
  config.num_games = 30
  config.batch_size = 16
  return config


def test_main_job_end_to_end(tmp_path):
  workdir = tmp_path / 'run'
  result = _launch('launch.main', f'--workdir={workdir}', *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  for name in (
    'config.json',
    'results.jsonl',
    'transcripts.jsonl',
    'table.md',
    'table.tex',
    'table.csv',
    'accuracy_vs_T.png',
  ):
    assert (workdir / name).exists(), name
  records = runfiles.read_jsonl(workdir / 'results.jsonl')
  assert len(records) == 2 * 2 * 2  # T x judges x protocols
  for record in records:
    for key in (
      'task',
      'protocol',
      'arm',
      'judge',
      'liar',
      'budget',
      's',
      'T',
      'games',
      'correct',
      'accuracy',
      'ci95',
      'seed',
      'judge_pairwise_error',
    ):
      assert key in record, key
    assert record['games'] == 48 and record['accuracy'] == record['correct'] / 48
    assert record['ci95'][0] <= record['accuracy'] <= record['ci95'][1]
  exact_debate = [r for r in records if r['judge'] == 'exact' and r['protocol'] == 'debate']
  assert exact_debate and all(r['correct'] == r['games'] for r in exact_debate)
  table = (workdir / 'table.md').read_text()
  assert table.strip() in result.stdout  # the job prints its Markdown table
  assert '| debate/mcts:2 | learned:8 |' in table
  assert json.loads((workdir / 'config.json').read_text())['num_games'] == 48

  shown = _launch('launch.show', f'--workdir={workdir}', '--game=0')
  assert shown.returncode == 0, shown.stderr[-2000:]
  assert 'direct|exact|T=1' in shown.stdout and 'verdict: x_T =' in shown.stdout
  rows = runfiles.read_jsonl(workdir / 'transcripts.jsonl')
  debate_game = next(i for i, t in enumerate(rows) if t['protocol'] == 'debate' and t['T'] == 5)
  shown = _launch('launch.show', f'--workdir={workdir}', f'--game={debate_game}')
  assert 'round 1: dispute [0, 5], x_2?' in shown.stdout and 'the judge checks step' in shown.stdout


@pytest.mark.parametrize(
  'flag, named',
  [
    ('--config.T=(0, 4)', '--config.T'),
    ("--config.protocols=('direct', 'telepathy')", '--config.protocols'),
    ('--config.s=-1', '--config.s'),
    ('--config.num_gamez=5', '--config.num_gamez'),
    ("--config.judges=('oracle',)", '--config.judges'),
    ('--config.modulus=16', '--config.modulus'),
    ('--config.model_parallelism=3', '--config.model_parallelism: 3 does not divide the'),
  ],
)
def test_bad_flags_exit_nonzero_name_the_flag_and_write_nothing(tmp_path, flag, named):
  workdir = tmp_path / 'bad'
  result = _launch('launch.run', '--config=launch/configs/chain.py:smoke', f'--workdir={workdir}', flag)
  assert result.returncode != 0
  assert named in result.stderr, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr
  assert not (workdir / 'results.jsonl').exists()


def test_resume_after_a_kill_ends_with_the_records_of_an_uninterrupted_run(tmp_path):
  config = tiny_config()
  whole = experiment.run_experiment(config, str(tmp_path / 'whole'), log=lambda _: None)
  # A run killed mid-way: two cells finished, a third wrote its transcripts and half of its record.
  killed = tmp_path / 'killed'
  experiment.run_experiment(config, str(killed), log=lambda _: None)
  lines = (killed / 'results.jsonl').read_text().splitlines(keepends=True)
  (killed / 'results.jsonl').write_text(''.join(lines[:2]) + lines[2][:25])
  resumed = experiment.run_experiment(config, str(killed), log=lambda _: None)
  strip = lambda records: [{k: v for k, v in r.items() if k not in ('wall_s', 'games_per_s')} for r in records]
  assert strip(resumed) == strip(whole)
  assert strip(runfiles.read_jsonl(killed / 'results.jsonl')) == strip(whole)
  transcripts = runfiles.read_jsonl(killed / 'transcripts.jsonl')
  assert len(transcripts) == len(runfiles.read_jsonl(tmp_path / 'whole' / 'transcripts.jsonl'))
  assert (killed / 'table.md').read_text() == (tmp_path / 'whole' / 'table.md').read_text()


def test_resume_refuses_a_different_config_but_accepts_another_batch_size(tmp_path):
  config = tiny_config()
  experiment.run_experiment(config, str(tmp_path), log=lambda _: None)
  config.batch_size = 8
  experiment.run_experiment(config, str(tmp_path), log=lambda _: None)
  config.num_games = 31
  with pytest.raises(runfiles.WorkdirError, match='num_games'):
    experiment.run_experiment(config, str(tmp_path), log=lambda _: None)
