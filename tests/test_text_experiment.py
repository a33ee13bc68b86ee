"""The text experiment end to end (debate/experiments/text.py): the smoke config through `launch.run` (records,
tables, figure, transcripts, `launch.show`, `launch.report`), resume, identical records on 1 and 2 devices
and two batch sizes, and clear errors for bad configs."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import pytest
from conftest import xla_env

from debate.experiments import runfiles
from debate.experiments import text as text_experiment
from debate.rollouts import runner
from debate.rollouts import text as text_rollout
from launch.configs import text as text_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = '--config=launch/configs/text.py:smoke'
TIMING = ('wall_s', 'games_per_s')


def _launch(module, *flags):
  return subprocess.run(
    [sys.executable, '-m', module, *flags], cwd=ROOT, capture_output=True, text=True, env=xla_env(2)
  )


def _records(workdir) -> list[dict]:
  return [{k: v for k, v in r.items() if k not in TIMING} for r in runfiles.read_jsonl(workdir / 'results.jsonl')]


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('text') / 'smoke'
  result = _launch('launch.run', CONFIG, f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir, result


def test_smoke_end_to_end_resume_show_and_report(smoke, tmp_path):
  workdir, result = smoke
  config = text_config.get_config('smoke')
  records = _records(workdir)
  cells = len(config.game.protocols) * len(config.game.judges) * len(config.game.k)
  assert len(records) == cells and {r['judge'] for r in records} == {'exact', 'tf1x32'}
  for r in records:
    assert r['task'] == 'text' and r['games'] == config.game.num_stories
    assert 0 <= r['ci95'][0] <= r['accuracy'] <= r['ci95'][1] <= 1
    assert sum(b['games'] for b in r['by_hops'].values()) == r['games']
  by_arm = {(r['arm'], r['judge']): r for r in records}
  shown, hidden = by_arm['debate/greedy/claims', 'exact'], by_arm['debate/greedy/claims/hidden', 'exact']
  assert shown['show_verified'] and not hidden['show_verified'] and shown['claims']
  assert shown['liar_wins_games'] == shown['games'] and 'liar_claims_per_game' in shown
  # The exact judge ignores flagged claims: hiding the flags can only help the liar (same stories, same keys).
  assert hidden['liar_wins_accuracy'] >= shown['liar_wins_accuracy']
  consultancy = by_arm['consultancy/greedy', 'exact']
  assert consultancy['games_honest_consultant'] + consultancy['games_lying_consultant'] == consultancy['games']
  assert by_arm['direct', 'tf1x32']['judge_step'] == config.steps
  for name in (
    'text_accuracy.md',
    'text_accuracy.tex',
    'text_accuracy.csv',
    'text_by_hops.md',
    'text_verification.md',
    'text_accuracy_vs_strength.png',
  ):
    assert (workdir / name).exists(), name
  assert '| debate/greedy/claims ' in result.stdout and '\\toprule' in (workdir / 'text_accuracy.tex').read_text()
  # Sample games, readable with launch.show: the story, both answers, each quote with position, flag, mover.
  rows = runfiles.read_jsonl(workdir / 'transcripts.jsonl')
  assert len(rows) == cells * config.num_transcripts
  index = next(i for i, row in enumerate(rows) if row['cell'].startswith('debate/greedy/claims/hidden|exact'))
  shown_game = _launch('launch.show', f'--workdir={workdir}', f'--game={index}')
  assert shown_game.returncode == 0, shown_game.stderr[-2000:]
  text = shown_game.stdout
  assert 'story:' in text and '[ 0]' in text and 'question:' in text and '(TRUE)' in text
  assert 'move 1 by ' in text and 'flag hidden' in text and 'judge P(true) =' in text and 'verdict:' in text
  # Rerunning the command plays nothing and ends with the same records.
  before = (workdir / 'results.jsonl').read_text()
  again = _launch('launch.run', CONFIG, f'--workdir={workdir}')
  assert again.returncode == 0 and f'{cells} cells, {cells} already done, 0 to run' in again.stderr
  assert (workdir / 'results.jsonl').read_text() == before
  # launch.report renders the same tables from the records alone.
  out = tmp_path / 'report'
  report = _launch('launch.report', f'--workdirs={workdir}', f'--out={out}')
  assert report.returncode == 0, report.stderr[-3000:]
  assert (out / 'text_accuracy.md').read_text() == (workdir / 'text_accuracy.md').read_text()


def _small(batch_size: int):
  config = text_config.get_config('smoke')
  config.game.judges = ('exact',)
  config.game.protocols = ('direct', 'debate/greedy/claims/hidden')
  config.game.num_stories = 6
  config.game_batch_size = batch_size
  return config


def test_records_do_not_depend_on_devices_or_batch_size(tmp_path):
  runs = {}
  for devices, batch in ((1, 4), (2, 6)):
    mesh = runner.data_mesh(jax.devices()[:devices])
    workdir = tmp_path / f'd{devices}'
    text_experiment.run_text_experiment(_small(batch), str(workdir), mesh=mesh, log=lambda _: None)
    runs[devices] = (_records(workdir), runfiles.read_jsonl(workdir / 'transcripts.jsonl'))
  assert runs[1] == runs[2]


def test_bad_configs_exit_2_naming_the_field(tmp_path):
  result = _launch('launch.run', CONFIG, "--config.game.protocols=('debate/alphabeta',)", f'--workdir={tmp_path}/w')
  assert result.returncode == 2 and '--config.game.protocols' in result.stderr, result.stderr[-2000:]
  assert 'alphabeta' in result.stderr and not (tmp_path / 'w').exists()
  for field, value, message in (
    ('k', (99,), 'more than a story has'),
    ('judges', ('tf9x999',), 'unknown judge'),
    ('protocols', ('blind/claims',), 'blind takes'),
    ('num_stories', 0, 'must be an integer'),
  ):
    config = text_config.get_config('smoke')
    config.game[field] = value
    with pytest.raises(runfiles.ConfigError, match=message) as error:
      text_experiment.plan_experiment(config)
    assert error.value.field == f'game.{field}'


def test_arm_names_round_trip_and_errors():
  for spec in (
    'blind',
    'direct/hidden',
    'consultancy/mcts:8',
    'open_consultancy/greedy',
    'debate/greedy/liar=mcts:4',
    'debate/mcts:16/claims/hidden',
    'open_debate/random/claims',
    'debate/az:100@4',
  ):
    assert text_rollout.parse_text_arm(spec).name == spec
  for spec, message in (
    ('consultancy', 'needs an agent'),
    ('blind/hidden', 'blind takes'),
    ('consultancy/az:10', 'trained for debate'),
    ('debate/greedy/precommit', 'unknown debate option'),
  ):
    with pytest.raises(ValueError, match=message):
      text_rollout.parse_text_arm(spec)


def test_a_missing_rung_is_trained_as_the_ladder_trains_it(tmp_path):
  """With curriculum_steps, a rung the judge_dir lacks is trained in two phases, as the ladder's two commands
  train it: 2-hop questions from full stories in RUNG_h2, then the config's judge fields from its params, for
  rung_steps[RUNG] steps; a rerun trains nothing."""
  config = text_config.get_config('smoke')
  config.update(num_train_stories=32, num_test_stories=16, steps=4, checkpoint_every=4, log_every=2)
  config.update(curriculum_steps=2, rung_steps={'tf1x32': 3})
  directory, messages = str(tmp_path / 'tf1x32'), []
  text_experiment.train_rung(config, directory, 'tf1x32', messages.append)
  phase1, phase2 = (json.loads(pathlib.Path(d, 'config.json').read_text()) for d in (f'{directory}_h2', directory))
  assert phase1['text_task']['hops'] == [2] and phase1['k'] == phase1['min_k'] == 12 and phase1['steps'] == 2
  assert phase1['num_fabricated'] == 0 and phase1['init_from'] == ''
  assert phase2['init_from'] == f'{directory}_h2' and phase2['steps'] == 3 and phase2['k'] == config.k
  assert any(f'initialized the params from the latest checkpoint in {directory}_h2' in m for m in messages)
  for d, steps in ((f'{directory}_h2', 2), (directory, 3)):
    assert json.loads(pathlib.Path(d, 'eval.json').read_text())['step'] == steps
  again = []
  text_experiment.train_rung(config, directory, 'tf1x32', again.append)
  assert not any('training the text judge' in m for m in again), again
