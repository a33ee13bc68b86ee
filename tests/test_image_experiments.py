"""The image experiment end to end (Irving et al. 2018, issues 3 and 16): the tiny-IDX Table 2 run and its
resume inside a cell, the shipped paper judges, the Table 2 and ladder reports."""

import csv
import io
import json
import os
import subprocess
import sys
import urllib.parse

import jax
import numpy as np
import pytest
from conftest import TINY_IMAGE_JUDGE_FLAGS, xla_env

from debate.experiments import images as image_experiment
from debate.experiments import runfiles
from debate.reports import images as image_report
from debate.rollouts import images as image_rollout
from debate.tasks import idx
from debate.tournament import pooling
from judges import image_judges, pretrained, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ----------------------------------------------------------------------------------------------------------
# The experiment end to end, on tiny IDX files with a tiny trained judge.


def _write_tiny_mnist(directory, rng):
  """12x12 images of 3 classes; class c has its nonzero pixels in rows [4c, 4c + 4)."""
  for prefix, n in (('train', 128), ('t10k', 12)):
    labels = rng.integers(0, 3, n).astype(np.uint8)
    images = np.zeros((n, 12, 12), np.uint8)
    for i, label in enumerate(labels):
      band = images[i, 4 * label : 4 * label + 4]
      band[...] = np.where(rng.random(band.shape) < 0.3, rng.integers(1, 256, band.shape), 0)
      band[0, 0] = 255
    idx.write_idx(directory / f'{prefix}-images-idx3-ubyte.gz', images)
    idx.write_idx(directory / f'{prefix}-labels-idx1-ubyte', labels)


def _launch(module, *flags):
  return subprocess.run(
    [sys.executable, '-m', module, *flags],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=xla_env(2),
  )


TINY = [
  *TINY_IMAGE_JUDGE_FLAGS,
  '--config.checkpoint_every=30',
  '--config.eval_batch_size=12',
  '--config.game.num_images=4',
  "--config.game.protocols=('direct', 'debate/mcts:4', 'debate/mcts:4/no_precommit')",
  '--config.game.curve_budgets=(2, 4)',
  '--config.game.curve_images=4',
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  base = tmp_path_factory.mktemp('images')
  data = base / 'data'
  data.mkdir()
  _write_tiny_mnist(data, np.random.default_rng(0))
  judge = base / 'judge'
  result = _launch('launch.train_judge', *TINY, f'--data_dir={data}', f'--workdir={judge}')
  assert result.returncode == 0, result.stderr[-3000:]
  return data, judge


def test_table2_experiment_end_to_end_and_resume(tmp_path, trained):
  data, judge = trained
  workdir = tmp_path / 'run'
  flags = [*TINY, f'--data_dir={data}', f'--judge_workdir={judge}', f'--workdir={workdir}']
  result = _launch('launch.run', *flags)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [
    [cell.strip() for cell in line.split('|')[1:3]] for line in result.stdout.splitlines() if line.startswith('|')
  ]
  assert ['3', 'mean'] in rows  # Table 2's row of the mean over first players, printed.
  records = [json.loads(line) for line in (workdir / 'results.jsonl').read_text().splitlines()]
  cells = [r['cell'] for r in records]
  # The curve's mcts:4 cells are the main ones (same images): each cell runs once.
  assert cells == [
    'direct|images=4',
    'debate/mcts:4|first=honest|images=4',
    'debate/mcts:4|first=liar|images=4',
    'debate/mcts:4/no_precommit|first=honest|images=4',
    'debate/mcts:4/no_precommit|first=liar|images=4',
    'debate/mcts:2|first=honest|images=4',
    'debate/mcts:2|first=liar|images=4',
  ]
  precommit = records[1]
  assert precommit['games'] == 4 * 2 * 1 and precommit['lies'] == 2 and precommit['images'] == 4
  assert precommit['judge_random_pixel_accuracy'] is not None and precommit['judge_step'] == 30
  assert 0 <= precommit['ci95'][0] <= precommit['accuracy'] <= precommit['ci95'][1] <= 1
  for name in (
    'table2.md',
    'table2.tex',
    'table2.csv',
    'table2_by_budget.md',  # Debates at 2 and 4 simulations: Table 2 at each budget beside the paper's.
    'precommit_vs_simulations.png',
    'confusion.pdf',
    'sample_games.png',
  ):
    assert (workdir / name).exists(), name
  assert '\\toprule' in (workdir / 'table2.tex').read_text()
  # Rerunning the command plays nothing and ends with the same records.
  before = (workdir / 'results.jsonl').read_text()
  result = _launch('launch.run', *flags)
  assert result.returncode == 0 and '7 cells, 7 already done, 0 to run' in result.stderr
  assert (workdir / 'results.jsonl').read_text() == before
  # launch.report renders the same Table 2 from the records alone.
  out = tmp_path / 'report'
  result = _launch('launch.report', f'--workdirs={workdir}', f'--out={out}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert (out / 'table2.md').read_text() == (workdir / 'table2.md').read_text()
  assert (out / 'sample_games.png').exists() and (out / 'confusion.png').exists()
  # launch.show reads an image game: the moves by their movers, the image with the revealed pixels marked.
  listing = _launch('launch.show', f'--workdir={workdir}', '--list').stdout.splitlines()
  index = next(i for i, line in enumerate(listing) if 'debate/mcts:4|first=liar' in line)
  shown = _launch('launch.show', f'--workdir={workdir}', f'--game={index}')
  assert shown.returncode == 0 and 'liar moves first' in shown.stdout and 'move 1 by the liar' in shown.stdout
  grid = [line for line in shown.stdout.splitlines() if line.startswith('  |')]
  assert sum(line.count('#') for line in grid) == 3 and 'verdict:' in shown.stdout  # k = 3 pixels revealed.


# A child that runs `launch.run` with its flags and kills itself (SIGKILL, no cleanup) as soon as the log
# says that block 2 of a cell is saved: a deterministic kill in the middle of a cell.
KILL_AFTER_BLOCK_2 = """
import logging, os, signal, sys
class KillAfterBlock2(logging.Handler):
  def emit(self, record):
    if 'block 2/' in record.getMessage():
      os.kill(os.getpid(), signal.SIGKILL)
logging.getLogger('absl').addHandler(KillAfterBlock2())
from launch import cli, run
cli.run_main(run.run)
"""


def test_a_run_killed_inside_a_cell_resumes_after_its_last_block_with_identical_records(tmp_path, trained):
  data, judge = trained
  flags = [
    *(flag for flag in TINY if not flag.startswith(('--config.game.protocols', '--config.game.curve_images'))),
    f'--data_dir={data}',
    f'--judge_workdir={judge}',
    "--config.game.protocols=('debate/mcts:4',)",
    '--config.game.curve_images=0',
  ]
  straight, blocked = tmp_path / 'straight', tmp_path / 'blocked'
  assert _launch('launch.run', *flags, f'--workdir={straight}').returncode == 0
  killed = subprocess.run(
    [sys.executable, '-c', KILL_AFTER_BLOCK_2, *flags, '--config.block_images=1', f'--workdir={blocked}'],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env=xla_env(2),
  )
  assert killed.returncode == -9, killed.stderr[-3000:]
  cell = urllib.parse.quote('debate/mcts:4|first=honest|images=4', safe='')
  assert sorted(os.listdir(blocked / 'blocks' / cell)) == ['items_0000000-0000001.npz', 'items_0000001-0000002.npz']
  assert not (blocked / 'results.jsonl').read_text()  # Killed inside the first cell.
  resumed = _launch('launch.run', *flags, '--config.block_images=1', f'--workdir={blocked}')
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert '2 of 4 blocks already played' in resumed.stderr
  assert not (blocked / 'blocks').exists() or not os.listdir(blocked / 'blocks')  # Deleted with each record.

  def records(workdir, name):
    rows = [json.loads(line) for line in (workdir / name).read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ('wall_s', 'games_per_s')} for row in rows]

  for name in ('results.jsonl', 'transcripts.jsonl'):
    assert records(blocked, name) == records(straight, name)


def test_a_judge_exported_as_a_shipped_judge_loads_checks_its_hash_and_shapes_and_re_measures(
  tmp_path, trained, monkeypatch
):
  data, judge = trained
  shipped = tmp_path / 'pretrained'
  info = pretrained.export(str(judge), 'tiny', data_dir=str(data), directory=str(shipped), sample_images=6)
  assert info['model'] == 'mlp' and info['k'] == 3 and info['step'] == 30
  assert info['random_pixel_test']['games'] == 12 and info['random_pixel_sample']['games'] == 6
  loaded, params, read = pretrained.load('tiny', str(shipped))
  assert loaded == image_judges.ImageJudge('mlp', 3) and read == json.loads((shipped / 'tiny.json').read_text())
  trained_params, _ = train.restore_params(str(judge))
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(trained_params)):
    assert a.dtype == np.float32 and np.array_equal(a, np.asarray(b, np.float16).astype(np.float32))
  # The shipped sample re-measures the recorded accuracy exactly (the same masks: train.evaluate's).
  sample = idx.load_image_dataset(pretrained.sample_dir('tiny', str(shipped)), split='test', num_classes=3)
  measured = train.evaluate(
    image_judges.make_judge('mlp', 3), params, sample, k=3, seed=read['eval_seed'], batch_size=4
  )
  assert measured['correct'] == info['random_pixel_sample']['correct']
  # The experiment takes it by name.
  monkeypatch.setattr(pretrained, 'DIRECTORY', str(shipped))
  _, _, judge_info = image_experiment.load_judge('pretrained:tiny')
  assert (
    judge_info['pretrained'] == 'tiny' and judge_info['random_pixel_accuracy'] == info['random_pixel_test']['accuracy']
  )
  with pytest.raises(runfiles.WorkdirError, match="no shipped judge 'missing'.*shipped: tiny"):
    image_experiment.load_judge('pretrained:missing')
  # An altered file, and weights that do not fit the recorded model, are refused with the reason.
  weights = (shipped / 'tiny.npz').read_bytes()
  (shipped / 'tiny.npz').write_bytes(weights[:-1] + bytes([weights[-1] ^ 1]))
  with pytest.raises(pretrained.PretrainedError, match='does not match the sha256'):
    pretrained.load('tiny', str(shipped))
  (shipped / 'tiny.npz').write_bytes(weights)
  (shipped / 'tiny.json').write_text(json.dumps({**read, 'num_classes': 10}))
  with pytest.raises(pretrained.PretrainedError, match=r'expected float16\[.*10\]'):
    pretrained.load('tiny', str(shipped))


def test_export_judge_refuses_a_workdir_without_a_trained_judge(tmp_path):
  result = _launch('launch.export_judge', f'--judge_workdir={tmp_path}', '--name=x', f'--out={tmp_path / "out"}')
  assert result.returncode == 2 and 'no trained judge' in result.stderr and not (tmp_path / 'out').exists()


@pytest.mark.parametrize(
  'extra, named',
  [
    (['--judge_workdir=MISSING'], '--judge_workdir'),
    (['--config.game.protocols=("debate/alphazero",)'], '--config.game.protocols'),
    (['--config.game.first=("nobody",)'], '--config.game.first'),
    (['--config.game.num_images=100'], '--config.game.num_images'),
  ],
)
def test_bad_image_experiment_flags_exit_2_and_write_nothing(tmp_path, trained, extra, named):
  data, judge = trained
  workdir = tmp_path / 'bad'
  flags = [*TINY, f'--data_dir={data}', f'--judge_workdir={judge}', f'--workdir={workdir}']
  flags = [f for f in flags if not any(f.startswith(e.split('=')[0] + '=') for e in extra)] + [
    e.replace('MISSING', str(tmp_path / 'missing')) for e in extra
  ]
  result = _launch('launch.run', *flags)
  assert result.returncode == 2, result.stderr[-2000:]
  assert named in result.stderr and 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert not workdir.exists()


def _table2_record(first, precommit, scores, budget=100):
  """A k = 6 mcts-against-mcts debate record whose images the honest side won (1) or lost (0)."""
  return {
    'task': 'images',
    'protocol': 'debate',
    'k': 6,
    'precommit': precommit,
    'first': first,
    'budget': budget,
    'agent': f'mcts:{budget}',
    'liar': f'mcts:{budget}',
    'images': len(scores),
    'games': len(scores) * (9 if precommit else 1),
    'accuracy': float(np.mean(scores)),
    'ci95': [0.1, 0.9],
    'image_scores': scores,
    'successful_lies': [[0] * 10] * 10,
  }


def test_table2_text_from_fixed_records():
  records = [
    _table2_record('honest', True, [1.0, 0.0]),
    _table2_record('liar', True, [1.0, 1.0]),
    _table2_record('honest', False, [0.0, 0.0]),
    _table2_record('liar', False, [0.0, 1.0]),
  ]
  text = image_report.table2(records, fmt='markdown')
  cells = [[cell.strip() for cell in line.split('|')[1:-1]] for line in text.splitlines()[2:5]]
  assert cells[0] == [
    '6',
    'honest',
    '',
    '0.0 [10.0, 90.0] (2 images, 2 games)',
    '50.0 [10.0, 90.0] (2 images, 18 games)',
  ]
  assert cells[2][:2] == ['6', 'mean'] and cells[2][3].startswith('25.0 [') and cells[2][4].startswith('75.0 [')
  assert '(2 images, 36 games)' in cells[2][4]
  latex = image_report.table2(records, fmt='latex')
  assert latex.count('\\midrule') == 1 and '\\toprule' in latex and 'honest' in latex
  assert image_report.table2(records, fmt='csv').splitlines()[1].startswith('6,honest,no precommit,0.000000,')


def test_table2_by_budget_puts_each_budget_beside_the_papers_numbers():
  records = [
    _table2_record(first, True, scores, budget)
    for budget, scores in ((100, [1.0, 0.0]), (10_000, [1.0, 1.0]))
    for first in ('honest', 'liar')
  ]
  records += [_table2_record('honest', False, [0.0, 0.0]), _table2_record('liar', False, [0.0, 1.0])]
  text = image_report.table2_by_budget(records, fmt='markdown')
  header, *rows = [[cell.strip() for cell in line.split('|')[1:-1]] for line in text.splitlines()[:5]]
  assert header[2:] == [
    'precommit, paper',
    'precommit, mcts:100',
    'precommit, mcts:10000',
    'no precommit, paper',
    'no precommit, mcts:100',
    'no precommit, mcts:10000',
  ]
  honest = rows[1]
  assert honest[:3] == ['6', 'honest', '87.4'] and honest[5] == '67.4'  # Irving et al. 2018, Table 2.
  assert honest[3] == '50.0 [10.0, 90.0] (2)' and honest[4] == '100.0 [10.0, 90.0] (2)' and honest[7] == '--'
  assert rows[3][0:2] == ['6', 'mean'] and rows[3][6].startswith('25.0 [')
  lines = image_report.table2_by_budget(records, fmt='csv').splitlines()
  assert '6,honest,True,paper,0.874000,,,,' in lines and '6,liar,True,10000,1.000000,0.100000,0.900000,2,18' in lines


def _ladder_record(arm, first, scores, *, judge='small_cnn', step=500, k=6, num_classes=10, flops=None):
  """The record image_experiment writes for a cell whose images the honest side won (1) or lost (0)."""
  arm = image_rollout.parse_image_arm(arm)
  scores = np.asarray(scores, float)
  lies = image_rollout.lies_per_image(arm, num_classes)
  correct = np.repeat(scores[:, None, None], lies, axis=1) > 0.5  # [N, L, 1]: the image's games all alike
  labels = np.arange(len(scores)) % num_classes
  outcome = {
    'correct': correct,
    'verdict': np.where(correct, labels[:, None, None], (labels[:, None, None] + 1) % num_classes),
  }
  if arm.protocol == 'consultancy':
    outcome['consultant_honest'] = np.arange(correct.size).reshape(correct.shape) % 2 == 0
  transcript = {'claim': (labels[:, None, None] + 1 + np.arange(lies)[None, :, None]) % num_classes}
  cell = image_experiment.ImageCell(arm, first if arm.protocol == 'debate' else None, len(scores))
  record = image_experiment.make_record(
    cell,
    outcome,
    transcript,
    labels,
    k=k,
    num_classes=num_classes,
    wall_s=1.0,
    seed=0,
    judge_info={'model': judge, 'k': k, 'step': step, 'forward_flops': flops, 'parameters': flops and flops / 8},
    num_actions=16,
  )
  record['image_scores'] = scores.tolist()  # as written, and fractional ones as several seeds give them
  return record


def test_image_ladder_records_become_guard_vs_houdini_records():
  records = [
    _ladder_record('debate/greedy/liar=random', 'honest', [1, 1, 0]),
    _ladder_record('debate/greedy/liar=random', 'liar', [1, 1, 1]),
    _ladder_record('debate/greedy/liar=mcts:30', 'honest', [0, 1, 0]),
    _ladder_record('debate/greedy/liar=mcts:30', 'liar', [1, 0, 0]),
    _ladder_record('consultancy/mcts:30', None, [1, 0, 1]),
    _ladder_record('consultancy/greedy', None, [0, 0, 1]),
    _ladder_record('debate/mcts:10', 'honest', [1, 0, 1]),  # self-play (budget curve): not the ladder's honest
    _ladder_record('direct', None, [1, 0, 1]),
  ]
  converted, notes = pooling.tournament_records(records)
  by_agent = {(r['protocol'], r['agent']): r for r in converted}
  assert sorted(by_agent) == [
    ('consultancy', 'greedy'),
    ('consultancy', 'search:30'),
    ('debate', 'random'),
    ('debate', 'search:30'),
  ]
  random = by_agent['debate', 'random']
  assert (random['games'], random['correct'], random['T']) == (6, 5, 6)
  assert random['judge'] == 'small_cnn/k6/500' and random['honest'] == 'greedy'
  assert random['first'] == ['honest', 'liar']
  assert (by_agent['debate', 'search:30']['games'], by_agent['debate', 'search:30']['correct']) == (6, 2)
  assert by_agent['consultancy', 'greedy']['judge'] == 'small_cnn/k6/500'
  assert (by_agent['consultancy', 'greedy']['games'], by_agent['consultancy', 'greedy']['correct']) == (3, 1)
  assert any('not ladder cells' in note and 'debate/mcts:10' in note for note in notes)
  # A Table 2 run (self-play cells, the budget curve repeating mcts:4 on fewer images) is no ladder.
  table2 = [
    _ladder_record('debate/mcts:4', 'honest', [1, 0, 1, 1]),
    _ladder_record('debate/mcts:4', 'liar', [1, 1]),
    _ladder_record('debate/mcts:2', 'honest', [0, 1]),
  ]
  assert pooling.tournament_records(table2)[0] == []
  # Several seeds per lie give fractional image scores: not countable as games, left out with a note.
  fractional = [
    _ladder_record('debate/greedy/liar=random', 'honest', [0.5, 1]),
    _ladder_record('debate/greedy/liar=greedy', 'honest', [1, 1]),
  ]
  converted, notes = pooling.tournament_records(fractional)
  assert converted == [] and any('not 0/1' in note for note in notes)  # and greedy alone is no ladder


def test_launch_report_rates_an_image_ladder_of_two_judges(tmp_path):
  rng = np.random.default_rng(0)
  workdirs = []
  for judge, skill, flops in (('mlp', 0.0, 4e5), ('small_cnn', 0.3, 8e5), ('irving_cnn', 1.0, 2.6e7)):
    records = []
    for liar, strength in (('random', -1.0), ('greedy', 0.0), ('mcts:10', 0.5), ('mcts:100', 1.5)):
      p = 1 / (1 + np.exp(strength - skill))
      arm = 'debate/greedy' if liar == 'greedy' else f'debate/greedy/liar={liar}'
      for first in ('honest', 'liar'):
        records.append(_ladder_record(arm, first, (rng.random(40) < p).astype(float), judge=judge, flops=flops))
      records.append(
        _ladder_record(f'consultancy/{liar}', None, (rng.random(40) < p - 0.2).astype(float), judge=judge, flops=flops)
      )
    workdir = tmp_path / judge
    workdir.mkdir()
    (workdir / 'results.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records))
    workdirs.append(str(workdir))
  out = tmp_path / 'report'
  result = _launch('launch.report', f'--workdirs={",".join(workdirs)}', f'--out={out}', '--num_samples=50')
  assert result.returncode == 0, result.stderr[-3000:]
  elo = (out / 'elo.md').read_text()
  for name in ('small_cnn/k6/500', 'irving_cnn/k6/500', 'search:100', 'random'):
    assert name in elo, name
  for name in ('accuracy_vs_elo.png', 'houdini_elo_fit.pdf', 'scaling.json', 'table2.md'):
    assert (out / name).exists(), name
  # Table 2 shows the paper's debates only: both sides the same agent (greedy vs greedy here).
  assert 'Debaters (both sides): greedy.' in (out / 'table2.md').read_text()
  scaling = json.loads((out / 'scaling.json').read_text())
  rows = scaling['accuracy_vs_elo']
  assert {r['protocol'] for r in rows} == {'debate', 'consultancy'} and all(r['T'] == 6 for r in rows)
  # The general axis prices a verdict at one forward pass of the judge, a liar's game at its evaluations:
  # mcts:100 spends 100 per move on 3 of the 6 moves, greedy one per candidate pixel (16 here).
  axis = {(r['role'], r['player']): r for r in csv.DictReader(io.StringIO((out / 'general_axis.csv').read_text()))}
  assert float(axis['guard', 'irving_cnn/k6/500']['log2_flops']) == pytest.approx(np.log2(2.6e7), abs=1e-3)
  assert float(axis['houdini', 'search:100']['verdicts_per_game']) == 300
  assert float(axis['houdini', 'greedy']['verdicts_per_game']) == 48
  assert 'forward pass of its judge' in (out / 'general_axis.md').read_text()
  assert (out / 'nso.md').exists() and (out / 'accuracy_vs_strength.md').exists()


# The paper's judges as shipped (issue 16): name -> (k, the paper's random-pixel accuracy, Table 2).
PAPER_JUDGES = {'irving_k4': (4, 0.482), 'irving_k6': (6, 0.594)}


@pytest.mark.parametrize('name', sorted(PAPER_JUDGES))
def test_the_shipped_paper_judges_load_and_re_measure_their_recorded_accuracy_on_their_sample(name):
  k, paper_accuracy = PAPER_JUDGES[name]
  judge, params, info = pretrained.load(name)  # Checks the sha256, parameter paths, shapes and dtypes.
  assert judge == image_judges.ImageJudge('irving_cnn', 10) and info['k'] == k
  assert os.path.getsize(os.path.join(pretrained.DIRECTORY, f'{name}.npz')) <= 8 * 2**20
  sample = idx.load_image_dataset(pretrained.sample_dir(name), split='test', num_classes=10)
  assert len(sample.labels) == info['random_pixel_sample']['games'] == 200
  measured = train.evaluate(
    image_judges.make_judge('irving_cnn', 10), params, sample, k=k, seed=info['eval_seed'], batch_size=200
  )
  assert measured['correct'] == info['random_pixel_sample']['correct']
  # The whole test split's accuracy, recorded at export, is the paper's within 2 points.
  assert info['random_pixel_test']['games'] == 10_000
  assert abs(info['random_pixel_test']['accuracy'] - paper_accuracy) < 0.02
