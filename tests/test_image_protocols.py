"""Image protocols (Irving et al. 2018) on hand-built images and judges whose logits we can predict.

The hand-built judge `PixelVoteJudge`: logits[c] = sum over revealed pixels p of value(p) * W[p, c], so every
pixel is a vote of known weight for known classes.
"""

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
import urllib.parse

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import xla_env

from debate.agents import search
from debate.agents.specs import parse_agent
from debate.experiments import images as image_experiment
from debate.experiments import runfiles
from debate.games import conformance
from debate.games import images as image_games
from debate.games import pixels as image_game
from debate.reports import images as image_report
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.tasks import idx
from debate.tournament import pooling
from judges import image_judges, pretrained, train
from protocols import debate, direct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class PixelVoteJudge:
  def logits(self, params, planes):
    """planes [B, H, W, 2] -> [B, C] = revealed values @ W."""
    return planes[..., 1].reshape(planes.shape[0], -1) @ params


def _votes(num_pixels: int, num_classes: int, votes: dict[int, dict[int, float]]) -> jnp.ndarray:
  w = np.zeros((num_pixels, num_classes), np.float32)
  for pixel, by_class in votes.items():
    for c, weight in by_class.items():
      w[pixel, c] = weight
  return jnp.asarray(w)


# A 3x3 image of 4 classes, label 0, lie 1. Nonzero pixels (value 1): 0, 1, 2, 4, 5.
IMAGE = jnp.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
# Votes: pixel 1 strongly for the label (+5), pixel 0 weakly (+2); pixels 2 and 4 for the lie (+3, +4);
# pixel 5 for class 3 (+6), a third class neither debater claims.
WEIGHTS = _votes(9, 4, {0: {0: 2.0}, 1: {0: 5.0}, 2: {1: 3.0}, 4: {1: 4.0}, 5: {3: 6.0}})
JUDGE = PixelVoteJudge()


def _game(claim=1, num_actions=8, honest_first=True):
  return image_game.make_game(IMAGE, 0, claim, num_actions, honest_first)


def _agent(spec):
  return image_rollout.policy(parse_agent(spec, image_rollout.AGENT_KINDS), {})


def _play(claim, k, *agents, mode='debate'):
  """One game on IMAGE (label 0) with `agents` (specs: honest and liar, or the consultant), honest first."""
  game = image_games.ImageDebate(JUDGE, k, 8, mode)
  return debate.play(jax.random.key(0), game, _game(claim), tuple(_agent(a) for a in agents), WEIGHTS)


def test_game_candidates_moves_and_planes():
  game = _game()
  np.testing.assert_array_equal(game.candidates, [0, 1, 2, 4, 5, 9, 9, 9])
  assert int(game.num_candidates) == 5
  state = image_game.step(image_game.init_state(game, 2), jnp.int32(4))
  np.testing.assert_array_equal(
    image_game.valid_actions(game, state), [True, True, True, False, True, False, False, False]
  )
  planes = image_game.judge_planes(game, state)
  assert planes.shape == (3, 3, 2) and float(planes[..., 0].sum()) == 1 and float(planes[1, 1, 1]) == 1
  np.testing.assert_array_equal(image_game.judge_logits(JUDGE, WEIGHTS, game, state), [0, 4, 0, 0])


def test_random_completion_fills_exactly_the_free_moves_with_distinct_nonzero_pixels():
  game = _game()
  state = image_game.step(image_game.init_state(game, 4), jnp.int32(1))
  for seed in range(20):
    final = image_game.random_completion(jax.random.key(seed), game, state)
    revealed = np.asarray(final.revealed)
    assert revealed[0] == 1 and len(set(revealed)) == 4 and set(revealed) <= {0, 1, 2, 4, 5}


def test_direct_reveals_k_random_nonzero_pixels_and_takes_the_argmax():
  game = _game()
  outcome, transcript = direct.play_images(jax.random.key(0), game, JUDGE, WEIGHTS, k=5)
  # All 5 nonzero pixels: logits [7, 7, 0, 6]: a tie between 0 and 1 goes to argmax's first, 0.
  np.testing.assert_array_equal(transcript['logits'], [7, 7, 0, 6])
  assert int(outcome['verdict']) == 0 and bool(outcome['correct'])
  np.testing.assert_array_equal(np.sort(transcript['revealed']), [0, 1, 2, 4, 5])


def test_greedy_debate_with_precommit_follows_the_hand_computed_moves():
  # Honest first: it takes pixel 1 (+5 margin); the liar takes 4 (+4 for the lie); honest 0; liar 2.
  outcome, transcript = _play(1, 4, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4, 0, 2])
  # Final logits: label 7, lie 7: a tie is a liar win.
  assert float(outcome['honest_margin']) == 0.0 and not bool(outcome['correct'])
  assert int(outcome['verdict']) == 1
  # With 3 moves the honest side ends ahead: 7 against 4.
  outcome, transcript = _play(1, 3, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4, 0])
  assert float(outcome['honest_margin']) == 3.0 and bool(outcome['correct']) and int(outcome['verdict']) == 0


def test_without_precommit_the_liar_can_win_with_any_wrong_class():
  # No precommit: the liar's best first reply is pixel 5 (+6 for class 3), which beats the label's 5.
  outcome, transcript = _play(-1, 2, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 5])
  assert not bool(outcome['correct']) and int(outcome['verdict']) == 3
  # With precommit to lie 1, class 3 is ignored: the same moves leave the honest side ahead 5 to 0, and the
  # greedy liar instead plays its best pixel for class 1 (4): 5 against 4, honest wins.
  outcome, transcript = _play(1, 2, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4])
  assert bool(outcome['correct'])


def test_consultancy_verdicts():
  # A lying greedy consultant for class 3 reveals 5 first (+6), then 2 and 4 (votes for class 1 do not
  # hurt it as long as class 3 stays on top): logits [0, 7, 0, 6] -> rejected, the judge is right.
  outcome, transcript = _play(3, 3, 'greedy', mode='consultancy')
  assert int(transcript['revealed'][0]) == 5
  assert not bool(outcome['consultant_honest'])
  # With k = 1 it shows only pixel 5 and is accepted: a wrong verdict.
  outcome, _ = _play(3, 1, 'greedy', mode='consultancy')
  assert bool(outcome['accept']) and not bool(outcome['correct']) and int(outcome['verdict']) == 3
  # An honest consultant shows pixel 1 and is accepted: right.
  outcome, _ = _play(0, 1, 'greedy', mode='consultancy')
  assert bool(outcome['accept']) and bool(outcome['correct'])


def _chosen_pixels(agent, game, state, seeds=5):
  """The pixel `agent` picks in `state` under each of `seeds` keys: [seeds] (one compiled, vmapped call)."""
  choose = lambda key: state.game.candidates[_agent(agent)(key, game, state, WEIGHTS, None, None)]
  return np.asarray(jax.jit(jax.vmap(choose))(jax.random.split(jax.random.key(0), seeds)))


def test_mcts_finds_the_only_winning_first_move():
  """k = 2, honest first, lie 1. Minimax: honest 1 (+5) beats any reply (best: 4, +4); honest 0 (+2) loses to
  4 or 2; pixels 2, 4 help the lie; pixel 5 helps no one and leaves the liar to win. So pixel 1 is the only
  winning first move, and MCTS must find it."""
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  visits, value = jax.jit(lambda key: search.puct(game, key, state, WEIGHTS, simulations=200))(jax.random.key(3))
  visits = np.asarray(visits)
  assert state.game.candidates[int(np.argmax(visits))] == 1 and float(value) > 0
  assert visits[5:].sum() == 0  # The padding actions are never visited.
  np.testing.assert_array_equal(_chosen_pixels('mcts:64', game, state), [1] * 5)


@pytest.mark.parametrize('leaf', ['judge', 'avg3'])
def test_mcts_with_another_leaf_evaluation_finds_the_winning_moves_too(leaf):
  # The position of the test above (pixel 1 is the only winning first move), and the liar's replies after
  # the honest pixel 0 (2 and 4 win): the judge on the revealed pixels alone, or 3 completions averaged.
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  np.testing.assert_array_equal(_chosen_pixels(f'mcts:64:{leaf}', game, state), [1] * 5)
  reply = game.step(state, jnp.int32(0))
  assert set(_chosen_pixels(f'mcts:32:{leaf}', game, reply).tolist()) <= {2, 4}


def test_the_puct_constant_trades_the_best_move_against_exploring_the_others():
  # The position above: with 200 simulations a small c_puct keeps to the winning pixel, a large one spreads
  # its visits over every legal pixel; both still choose pixel 1 (the most visited).
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  visits = {
    c: np.asarray(
      jax.jit(lambda key, c=c: search.puct(game, key, state, WEIGHTS, simulations=200, c_puct=c)[0])(jax.random.key(3))
    )
    for c in (0.25, 1.0, 16.0)
  }
  assert visits[0.25][1] > 0.9 * 200 and visits[1.0][1] > 0.9 * 200  # Measured: 189 and 187 of 200.
  assert visits[16.0][1] < 0.5 * 200 and visits[16.0][:5].min() >= 20  # Measured: 68, and 30 to 36 each.
  np.testing.assert_array_equal(_chosen_pixels('mcts:200:c16', game, state), [1] * 5)


def test_mcts_liar_finds_its_winning_reply():
  # Honest first has shown pixel 0 (+2); the liar's replies 2 (+3) and 4 (+4) both win, 1 and 5 do not.
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.step(game.init(None, _game()), jnp.int32(0))  # Action 0: pixel 0.
  assert set(_chosen_pixels('mcts:32', game, state).tolist()) <= {2, 4}


def test_image_scores_credit_the_liar_with_its_best_lie():
  correct = np.array(
    [
      [[1, 1, 1], [1, 0, 1]],  # Image 0: lie 1 wins 1 of 3 -> 2/3.
      [[1, 1, 1], [1, 1, 1]],
    ],
    bool,
  )  # Image 1: honest always wins -> 1.
  np.testing.assert_allclose(image_experiment.image_scores(correct), [2 / 3, 1.0])


@pytest.mark.parametrize(
  'spec, name',
  [
    ('direct', 'direct'),
    ('consultancy/greedy', 'consultancy/greedy'),
    ('debate/mcts:100', 'debate/mcts:100'),
    ('debate/mcts:100/no_precommit', 'debate/mcts:100/no_precommit'),
    ('debate/mcts:100/liar=random', 'debate/mcts:100/liar=random'),
    ('debate/mcts:100:judge/liar=mcts:25:avg4', 'debate/mcts:100:judge/liar=mcts:25:avg4'),
    ('debate/mcts:100:c2.0/liar=mcts:100:avg4:c0.5', 'debate/mcts:100:c2/liar=mcts:100:avg4:c0.5'),
  ],
)
def test_arm_names_round_trip(spec, name):
  assert image_rollout.parse_image_arm(spec).name == name


def test_the_liars_judge_calls_count_every_averaged_completion():
  # k = 6, liar first: the liar makes 3 moves of B simulations, each costing N judge calls with avgN.
  count = lambda spec: image_rollout.judge_evaluations_per_game(
    image_rollout.parse_image_arm(spec), k=6, num_actions=16, first='liar'
  )
  assert count('debate/mcts:10') == count('debate/mcts:10/liar=mcts:10:judge') == 10 * 3
  assert count('debate/mcts:10/liar=mcts:10:avg4') == 10 * 4 * 3


@pytest.mark.parametrize(
  'spec, message',
  [
    ('debate', 'needs an agent'),
    ('debate/mcts', 'budget >= 1'),
    ('debate/mcts:x', 'bad image agent'),
    ('debate/oracle', 'unknown image agent'),
    ('debate/mcts:4/precommit', 'unknown debate option'),
    ('direct/random', 'takes no agent'),
    ('chess/mcts:4', 'unknown image protocol'),
    ('debate/mcts:4:rollout', 'unknown leaf evaluation'),
    ('debate/mcts:4:avg0', 'unknown leaf evaluation'),
    ('debate/greedy:judge', 'takes no budget'),
    ('debate/mcts:4:c0', 'PUCT constant must be > 0'),
    ('debate/mcts:4:cx', 'bad image agent'),
    ('debate/mcts:4:c2:judge', 'unknown leaf evaluation'),
  ],
)
def test_bad_arms_are_refused_with_the_reason(spec, message):
  with pytest.raises(ValueError, match=message):
    image_rollout.parse_image_arm(spec)


# ----------------------------------------------------------------------------------------------------------
# Batched games: invariance over devices and batch sizes.


def _tiny_images(n=5, seed=0):
  rng = np.random.default_rng(seed)
  images = np.where(rng.random((n, 4, 4)) < 0.5, rng.random((n, 4, 4)), 0).astype(np.float32)
  images[:, 0, 0] = 0.5  # At least one nonzero pixel each.
  labels = rng.integers(0, 4, n).astype(np.int32)
  return images, labels


@pytest.mark.parametrize('spec', ['debate/mcts:8', 'consultancy/greedy'])
def test_results_are_identical_on_one_and_four_devices_and_any_batch(spec):
  images, labels = _tiny_images()
  weights = jax.random.normal(jax.random.key(1), (16, 4))
  arm = image_rollout.parse_image_arm(spec)
  common = dict(k=3, num_actions=16, num_classes=4, first='liar', seed=0, repeats=2)
  runs = []
  for devices, batch in ((1, 64), (4, 12)):  # 4 devices: 3 games each, the last batch padded.
    mesh = runner.data_mesh(jax.devices()[:devices])
    runs.append(
      image_rollout.run_games(arm, JUDGE, weights, images, labels, np.arange(5), batch_size=batch, mesh=mesh, **common)
    )
  lies = 3 if arm.protocol == 'debate' else 1
  assert runs[0][0]['correct'].shape == (5, lies, 2)
  for outcome, transcript in runs[1:]:
    np.testing.assert_array_equal(outcome['correct'], runs[0][0]['correct'])
    np.testing.assert_array_equal(transcript['revealed'], runs[0][1]['revealed'])
    np.testing.assert_array_equal(transcript['claim'], runs[0][1]['claim'])


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
  '--config=launch/configs/irving_mnist.py:smoke',
  '--config.judge=mlp',
  '--config.k=3',
  '--config.num_classes=3',
  '--config.batch_size=32',
  '--config.learning_rate=0.003',
  '--config.steps=30',
  '--config.checkpoint_every=30',
  '--config.log_every=10',
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


@pytest.mark.parametrize(
  'mode, claim, honest_first', [('debate', 1, True), ('debate', -1, False), ('consultancy', 2, True)]
)
def test_api(mode, claim, honest_first):
  """The conformance test on a random 6 x 6 image with an MLP judge of 3 classes."""
  mask_key, value_key = jax.random.split(jax.random.key(5))
  mask = jax.random.bernoulli(mask_key, 0.35, (6, 6))
  image = jnp.where(mask, jax.random.uniform(value_key, mask.shape, minval=0.1), 0.0)
  actions = image_game.action_space_size(np.asarray(image)[None])
  judge = image_judges.ImageJudge('mlp', 3)
  params = image_judges.init_judge(image_judges.make_judge('mlp', 3), jax.random.key(6), image.shape)
  game = image_games.ImageDebate(judge, k=4, num_actions=actions, mode=mode)
  instance = image_game.make_game(image, 0, claim, actions, honest_first)
  conformance.api_test(game, instance, jax.random.key(0), params, network=(8, 1) if mode == 'debate' else None)


# The paper's judges as shipped (issue 16): name -> (k, the paper's random-pixel accuracy, Table 2).
PAPER_JUDGES = {'irving_k6': (6, 0.594)}


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
