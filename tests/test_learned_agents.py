"""The REINFORCE-trained liar of chain debate (`learned:STEP`): it learns, the honest debater still always wins
against an exact checker, and the checkpoint ladder loads and plays identically on any device count."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from debate.agents.specs import AgentSpec
from debate.distributed import sharding
from debate.experiments import chain as experiment
from debate.games import chain as chain_game
from debate.rollouts import chain as rollout
from debate.rollouts import runner
from debate.training import reinforce
from judges import chain_checkers as cc
from launch.configs import chain as chain_config

M = 7
MAX_LENGTH = 4
TINY = reinforce.ReinforceConfig(batch_size=128, learning_rate=3e-3, width=32, log_every=25)
RUNGS = (0, 150)
NETWORKS = (('learned', TINY.width, TINY.depth),)


def _build(checker, params, workdir, rungs=RUNGS, config=TINY, log=print):
  return experiment.build_ladder(
    'learned',
    checker,
    params,
    seed=1,
    workdir=workdir,
    rungs=rungs,
    max_length=MAX_LENGTH,
    train_config=config,
    log=log,
  )


@pytest.fixture(scope='module')
def ladder(weak_judge, tmp_path_factory):
  checker, params, _ = weak_judge
  workdir = str(tmp_path_factory.mktemp('agents'))
  lines = []
  return workdir, _build(checker, params, workdir, log=lines.append), lines


def test_training_raises_the_liars_reward(weak_judge, ladder):
  checker, _, metrics = weak_judge
  assert metrics['pairwise_error'] < 0.45  # a judge worth fooling: it is right more often than not
  workdir, _, _ = ladder
  with open(os.path.join(experiment.ladder_dir(workdir, 'learned', checker, 1), 'metrics.json')) as f:
    history = json.load(f)['history']  # mean sampled reward per chunk of 25 steps
  assert [h['step'] for h in history] == list(range(25, 151, 25))
  first, last = history[0]['mean_reward'], history[-1]['mean_reward']
  assert last > first + 0.1, history


def _play(spec, checker, params, ladder, devices=4, batch=64, num_games=64, length=4):
  arm = rollout.parse_arm(spec, 0)
  return rollout.run_games(
    arm,
    checker,
    params,
    length=length,
    seed=2,
    num_games=num_games,
    batch_size=batch,
    mesh=runner.data_mesh(jax.devices()[:devices]),
    max_length=MAX_LENGTH,
    agent_params=(None, ladder[arm.liar.budget]),
    networks=NETWORKS,
  )


def test_the_trained_liar_beats_the_weak_judge_but_never_the_exact_checker(weak_judge, ladder):
  checker, params, _ = weak_judge
  _, built, _ = ladder
  untrained = _play('debate/learned:0', checker, params, built, num_games=256)[0]
  trained = _play('debate/learned:150', checker, params, built, num_games=256)[0]
  assert (~trained['correct']).mean() > (~untrained['correct']).mean() + 0.1
  exact = cc.parse_checker('exact', M)
  for length in (1, 3, 4):
    outcome, _ = _play('debate/learned:150', exact, None, built, num_games=128, length=length)
    assert outcome['correct'].all()


def test_ladder_reloads_from_the_workdir_without_training(weak_judge, ladder):
  checker, params, _ = weak_judge
  workdir, built, lines = ladder
  assert lines and set(built) == set(RUNGS)
  moved = jax.tree.map(lambda a, b: not np.array_equal(a, b), built[0], built[150])
  assert any(jax.tree.leaves(moved))  # the params moved
  again_lines = []
  again = _build(checker, params, workdir, rungs=(150,), log=again_lines.append)
  assert again_lines == []
  jax.tree.map(np.testing.assert_array_equal, again[150], built[150])
  with pytest.raises(ValueError, match='fresh workdir'):
    _build(checker, params, workdir, rungs=(150,), config=dataclasses.replace(TINY, width=16))


def test_learned_arm_parses_and_gives_identical_results_on_1_and_4_devices(weak_judge, ladder):
  checker, params, _ = weak_judge
  _, built, _ = ladder
  arm = rollout.parse_arm('debate/learned:150', 0)
  assert arm.name == 'debate/learned:150' and arm.liar == AgentSpec('learned', 150)
  with pytest.raises(ValueError, match='names its checkpoint step'):
    rollout.parse_arm('debate/learned', 0)
  with pytest.raises(ValueError, match='unknown liar'):
    rollout.parse_arm('open_debate/learned:5', 0)
  with pytest.raises(ValueError, match='plays with its params'):
    _play('debate/learned:150', checker, params, {150: None}, num_games=4, batch=4)
  one = _play('debate/learned:150', checker, params, built, devices=1, num_games=40)  # one batch of 40 games
  four = _play('debate/learned:150', checker, params, built, devices=4, num_games=200)  # 16 a device, padded
  four = jax.tree.map(lambda a: a[:40], four)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), one, four)
  np.testing.assert_array_equal(one[1]['rounds']['liar_claim'], four[1]['rounds']['liar_claim'])


def test_every_rung_of_a_ladder_plays_on_one_compilation(weak_judge, ladder):
  """Agents' params are data: the two rungs share the compiled batch of games."""
  checker, params, _ = weak_judge
  _, built, _ = ladder
  _play('debate/learned:0', checker, params, built, devices=1, num_games=8, batch=8)
  before = runner.compilations()
  _play('debate/learned:150', checker, params, built, devices=1, num_games=8, batch=8)
  assert runner.compilations() == before


def test_experiment_trains_the_ladder_before_the_cells_that_name_it(tmp_path):
  config = chain_config.get_config('smoke')
  config.modulus = M
  config.T = (4,)
  config.judges = ('exact',)  # (no judge to train: this test is about the runner training the liar)
  config.protocols = ('debate/learned:10',)
  config.num_games = 16
  config.batch_size = 16
  config.agent_training = {
    **dataclasses.asdict(dataclasses.replace(TINY, batch_size=16, log_every=10)),
    'max_length': 4,
  }
  lines = []
  records = experiment.run_experiment(config, str(tmp_path), log=lines.append)
  assert [r['arm'] for r in records] == ['debate/learned:10'] and records[0]['games'] == 16
  assert sum('learned agent vs exact' in line for line in lines) == 1
  assert records[0]['accuracy'] == 1.0
  directory = experiment.ladder_dir(str(tmp_path), 'learned', cc.parse_checker('exact', M), 0)
  assert os.path.isdir(os.path.join(directory, 'step_10'))


def test_liar_training_gives_the_same_rewards_on_4_devices_with_params_split_over_2(weak_judge):
  checker, params, _ = weak_judge
  config = dataclasses.replace(TINY, log_every=20)
  game = chain_game.ChainDebate(checker, MAX_LENGTH)
  sampler = chain_game.TrainingGames(M, MAX_LENGTH)
  train = lambda mesh: reinforce.train_reinforce(
    game, sampler, params, seed=1, rungs=(40,), config=config, log=lambda _: None, mesh=mesh
  )
  one, one_history = train(None)
  split, split_history = train(sharding.training_mesh(runner.data_mesh(jax.devices()[:4]), config.batch_size, 2))
  # The same games (each keyed by its index) with the same sampled claims: the same rewards, and params equal
  # up to the float rounding of the gradient's all-reduce.
  assert split_history == one_history
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), split[40], one[40])
