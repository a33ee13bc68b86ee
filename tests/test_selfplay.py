"""Self-play debaters on chain (debate/training/selfplay.py over the split-choice game of debate/games/chain.py):
the split-choice game, AlphaZero-style training, the checkpoint ladder, and the az agents in the runners."""

import dataclasses
import json
import os
import shutil
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents.specs import AgentSpec
from debate.distributed import multihost, sharding
from debate.experiments import chain as experiment
from debate.experiments import runfiles
from debate.games import bisection
from debate.games import chain as chain_game
from debate.rollouts import chain as rollout
from debate.rollouts import runner
from debate.tasks import chain
from debate.training import ladder as ladder_lib
from debate.training import selfplay
from judges import chain_checkers as cc
from launch.configs import chain as chain_config

M = 7
MAX_LENGTH = 4
TINY = selfplay.SelfPlayConfig(
  batch_size=16, num_simulations=4, considered_actions=4, learning_rate=3e-3, width=32, log_every=40
)
RUNGS = (0, 40, 80)
NETWORKS = (('az', TINY.width, TINY.depth),)


def _build(checker, params, workdir, rungs=RUNGS, config=TINY, log=print):
  return experiment.build_ladder(
    'az', checker, params, seed=1, workdir=workdir, rungs=rungs, max_length=MAX_LENGTH, train_config=config, log=log
  )


def _train(checker, params, config, mesh=None, rungs=(20, 40)):
  game = chain_game.ChainDebate(checker, MAX_LENGTH, honest_splits=True)
  sampler = chain_game.TrainingGames(M, MAX_LENGTH)
  return selfplay.train_selfplay(
    game, sampler, params, seed=1, rungs=rungs, config=config, log=lambda _: None, mesh=mesh
  )


@pytest.fixture(scope='module')
def ladder(weak_judge, tmp_path_factory):
  checker, params, _ = weak_judge
  workdir = str(tmp_path_factory.mktemp('agents'))
  lines = []
  return workdir, _build(checker, params, workdir, log=lines.append), lines


def _play(spec, checker, params, built, devices=4, num_games=256, length=4, batch=64):
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
    agent_params=tuple(built[s.budget] if s is not None and s.kind == 'az' else None for s in arm.agents),
    networks=NETWORKS,
  )


def test_split_points_and_the_round_bound():
  assert [chain_game.max_rounds(t) for t in (1, 2, 3, 4, 8, 16)] == [0, 1, 2, 3, 6, 9]
  for length in range(1, 11):
    instance = chain.sample_instance(jax.random.key(length), length, M, 16)
    game = chain_game.ChainDebate(cc.parse_checker('exact', M), 16, honest_splits=True)
    for lo in range(length):
      for hi in range(lo + 2, length + 1):
        dispute = bisection.BisectionState(lo=jnp.int32(lo), hi=jnp.int32(hi), liar_hi=jnp.int32(0))
        splits = [int(chain_game.split_point(dispute, jnp.int32(k))) for k in range(chain_game.NUM_SPLITS)]
        assert splits[0] == int(dispute.mid) and all(lo < c < hi for c in splits), (lo, hi, splits)
    for choice in range(chain_game.NUM_SPLITS):  # Always the same split, the liar always agreeing or not.
      for agree in (True, False):
        state, rounds = game.init(None, instance), 0
        assert int(game.moves_left(state)) == 2 * chain_game.max_rounds(length)
        while not bool(game.terminal(state)):
          state = game.step(state, jnp.int32(choice))
          split = chain_game.split_point(state.dispute, state.choice)
          claim = instance.trace[split] if agree else (instance.trace[split] + 1) % M
          state, rounds = game.step(state, claim), rounds + 1
          assert int(game.moves_left(state)) >= 0
        assert rounds <= chain_game.max_rounds(length)


def test_training_lowers_the_loss_and_the_az_liar_learns(weak_judge, ladder):
  checker, params, _ = weak_judge
  workdir, built, lines = ladder
  with open(os.path.join(experiment.ladder_dir(workdir, 'az', checker, 1), 'metrics.json')) as f:
    history = json.load(f)['history']
  assert [h['step'] for h in history] == [40, 80]
  assert history[-1]['loss'] < history[0]['loss'] - 0.2, history
  untrained = _play('debate/az:0', checker, params, built)[0]
  trained = _play('debate/az:80', checker, params, built)[0]
  assert (~trained['correct']).mean() > (~untrained['correct']).mean() + 0.1
  exact = cc.parse_checker('exact', M)  # Whatever the splits and claims, an exact judge sides with the truth.
  for length in (1, 3, 4):
    outcome, _ = _play('debate/mcts:4/az:80', exact, None, built, num_games=64, length=length)
    assert outcome['correct'].all()


def test_the_midpoint_honest_debater_makes_the_split_game_the_standard_game(weak_judge, ladder):
  checker, params, _ = weak_judge
  _, built, _ = ladder
  standard = _play('debate/az:80', checker, params, built, devices=4, num_games=100, batch=32)
  arm = dataclasses.replace(rollout.parse_arm('debate/az:80', 0), honest=AgentSpec('midpoint'))
  split_game = rollout.run_games(
    arm,
    checker,
    params,
    length=4,
    seed=2,
    num_games=100,
    batch_size=100,
    mesh=runner.data_mesh(jax.devices()[:1]),
    max_length=MAX_LENGTH,
    agent_params=(None, built[80]),
    networks=NETWORKS,
  )
  np.testing.assert_array_equal(standard[0]['correct'], split_game[0]['correct'])
  np.testing.assert_array_equal(standard[0]['disputed_step'], split_game[0]['disputed_step'])
  for name in ('liar_claim', 'mid', 'lo', 'hi'):  # One entry per round; T = 4 takes two midpoint rounds.
    np.testing.assert_array_equal(standard[1]['rounds'][name], split_game[1]['rounds'][name][:, :2])
    np.testing.assert_array_equal(split_game[1]['rounds'][name][:, 2:], -1)
  np.testing.assert_array_equal(split_game[1]['rounds']['honest_choice'][:, :2], 0)


def test_ladder_reloads_to_identical_play(weak_judge, ladder):
  checker, params, _ = weak_judge
  workdir, built, lines = ladder
  assert lines and set(built) == set(RUNGS)
  again_lines = []
  again = _build(checker, params, workdir, rungs=(80,), log=again_lines.append)
  assert again_lines == []
  jax.tree.map(np.testing.assert_array_equal, again[80], built[80])
  one = _play('debate/az:80/az:80', checker, params, built, num_games=64)
  two = _play('debate/az:80/az:80', checker, params, again, num_games=64)
  jax.tree.map(np.testing.assert_array_equal, one, two)
  with pytest.raises(ValueError, match='fresh workdir'):
    _build(checker, params, workdir, rungs=(80,), config=dataclasses.replace(TINY, width=16))


def test_training_stopped_by_sigterm_resumes_to_the_uninterrupted_ladder(weak_judge, ladder, tmp_path):
  checker, params, _ = weak_judge
  workdir, built, _ = ladder  # Trained without interruption.

  def preempt_at_step_40(line):  # The notice arrives while the chunk ending at step 40 is being reported.
    if 'step 40/80' in line:
      os.kill(os.getpid(), signal.SIGTERM)

  with pytest.raises(multihost.Preempted, match='at step 40'):
    _build(checker, params, str(tmp_path), log=preempt_at_step_40)
  directory = experiment.ladder_dir(str(tmp_path), 'az', checker, 1)
  assert not os.path.exists(os.path.join(directory, 'metrics.json'))  # No ladder yet: only training state.
  with pytest.raises(runfiles.WorkdirError, match='training state .* fresh workdir'):
    _build(checker, params, str(tmp_path), config=dataclasses.replace(TINY, learning_rate=1e-3))
  lines = []
  resumed = _build(checker, params, str(tmp_path), log=lines.append)
  assert any(f'resumed training from the checkpoint at step 40 in {directory}' in line for line in lines)
  assert not any('step 40/80' in line for line in lines)  # Only steps 40..80 were trained again.
  for rung in RUNGS:
    jax.tree.map(np.testing.assert_array_equal, resumed[rung], built[rung])
  histories = [
    json.load(open(os.path.join(experiment.ladder_dir(w, 'az', checker, 1), 'metrics.json')))['history']
    for w in (workdir, str(tmp_path))
  ]
  assert histories[0] == histories[1]
  assert os.path.isdir(os.path.join(directory, ladder_lib.TRAINING))


def test_sigterm_is_left_alone_when_training_has_no_checkpoint_to_save():
  handlers = []

  def report(done, metrics, steps_per_s):
    handlers.append(signal.getsignal(signal.SIGTERM))
    return {'step': done}

  before = signal.getsignal(signal.SIGTERM)
  chunk = lambda params, opt_state, judge_params, steps: (params, opt_state, None)
  _, history = ladder_lib.train_through_rungs(chunk, 0, 0, None, rungs=[0, 2], log_every=1, report=report)
  assert history == [{'step': 1}, {'step': 2}] and handlers == [before, before]


def test_params_at_a_step_do_not_depend_on_the_chunking_or_the_device_count(weak_judge, ladder):
  checker, params, _ = weak_judge
  _, built, _ = ladder  # Trained on one device in one chunk of 40 steps per rung.
  config = dataclasses.replace(TINY, log_every=20)
  rechunked, history = _train(checker, params, config)
  jax.tree.map(np.testing.assert_array_equal, rechunked[40], built[40])
  # The same games split over 4 devices (shard_map): the same self-play outcomes and, up to the float
  # rounding of the gradient's all-reduce, the same losses and params.
  sharded, sharded_history = _train(checker, params, config, runner.data_mesh(jax.devices()[:4]))
  for ours, theirs in zip(sharded_history, history, strict=True):
    assert ours['step'] == theirs['step'] and ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(ours['loss'], theirs['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), sharded[40], rechunked[40])
  # And with the params and Adam moments split FSDP-style over a 'model' axis of 2 (mesh 2 x 2).
  fsdp, fsdp_history = _train(
    checker, params, config, sharding.training_mesh(runner.data_mesh(jax.devices()[:4]), config.batch_size, 2)
  )
  for ours, theirs in zip(fsdp_history, history, strict=True):
    assert ours['step'] == theirs['step'] and ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(ours['loss'], theirs['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), fsdp[40], rechunked[40])


def test_a_training_chunk_compiles_once_on_a_mesh(weak_judge):
  checker, params, _ = weak_judge
  mesh = sharding.training_mesh(runner.data_mesh(jax.devices()[:4]), TINY.batch_size, 2)
  game = chain_game.ChainDebate(checker, MAX_LENGTH, honest_splits=True)
  sampler = chain_game.TrainingGames(M, MAX_LENGTH)
  init_key, train_key = jax.random.split(selfplay.agent_key(1))
  network = selfplay.init_params(game, sampler, TINY.width, TINY.depth, init_key)
  optimizer, chunk = selfplay.make_train_chunk(game, sampler, TINY, train_key, mesh)
  ladder_lib.train_through_rungs(
    chunk,
    network,
    optimizer.init(network),
    (sharding.replicated(params, mesh), {}),
    rungs=[6],
    log_every=2,
    report=lambda *_: {},
    mesh=mesh,
  )
  assert chunk._cache_size() == 1  # Three chunks of 2 steps; the state starts on the mesh in its layout.


def test_arms_parse_and_bad_names_are_refused(weak_judge):
  assert rollout.parse_arm('debate/az:5', 0) == rollout.Arm('debate', liar=AgentSpec('az', 5))
  arm = rollout.parse_arm('debate/random/az:5', 0)
  assert arm.name == 'debate/random/az:5' and arm.honest == AgentSpec('az', 5)
  assert rollout.parse_arm('debate/mcts:8/mcts:16', 0).honest == AgentSpec('mcts', 16)
  arm = rollout.parse_arm('debate/az:5@16/az:7@4', 0)
  assert arm.liar == AgentSpec('az', 5, simulations=16) and arm.honest.simulations == 4
  assert arm.name == 'debate/az:5@16/az:7@4' and rollout.parse_arm(arm.name, 0) == arm
  assert rollout.parse_arm('debate/oracle/midpoint', 0) == rollout.parse_arm('debate/oracle', 0)
  for spec, message in (
    ('debate/az', 'names its checkpoint step'),
    ('debate/oracle/az:5', 'cannot play against the split-choosing'),
    ('debate/learned:5/mcts:4', 'cannot play against the split-choosing'),
    ('consultancy/random/az:5', 'only debate names an honest debater'),
    ('debate/random/alpha:5', 'unknown honest debater'),
    ('debate/random/az', 'names its checkpoint step'),
    ('debate/random/midpoint:3', 'midpoint takes no budget'),
    ('debate/random/mcts:0', 'budget >= 1'),
    ('debate/az:5@0', 'az:1000@16'),
    ('debate/mcts:5@2', 'bad liar budget'),
    ('debate/random/mcts:5@2', 'bad honest debater'),
    ('open_debate/az:5', 'unknown liar'),
  ):
    with pytest.raises(ValueError, match=message):
      rollout.parse_arm(spec, 0)
  checker, params, _ = weak_judge
  with pytest.raises(ValueError, match='plays with its params'):
    _play('debate/random/az:5', checker, params, {5: None}, num_games=4, batch=4)


def test_a_grid_names_az_debaters_and_the_runner_loads_their_ladder(ladder, tmp_path):
  workdir, _, _ = ladder
  exact = cc.parse_checker('exact', M)
  # The ladder trained above, saved where the runner looks for the exact judge's (its training is tested
  # above; here the runner must find the rungs by name, attach them to both roles and play).
  shutil.copytree(
    experiment.ladder_dir(workdir, 'az', cc.parse_checker('learned:16', M), 1),
    experiment.ladder_dir(str(tmp_path), 'az', exact, 0),
  )
  config = chain_config.get_config('smoke')
  config.modulus = M
  config.T = (4,)
  config.judges = ('exact',)
  config.protocols = ('debate/az:80@4', 'debate/az:80/az:40@4')
  config.num_games = 16
  config.batch_size = 16
  config.selfplay_training = {**dataclasses.asdict(TINY), 'max_length': MAX_LENGTH}
  lines = []
  records = experiment.run_experiment(config, str(tmp_path), log=lines.append)
  assert [r['arm'] for r in records] == list(config.protocols)
  assert [r.get('honest') for r in records] == [None, 'az:40@4']
  assert all(r['accuracy'] == 1.0 and r['games'] == 16 for r in records)
  assert not any('agent vs' in line for line in lines)  # loaded, not trained
  config.selfplay_training = {'width': 8, 'simulations': 3}
  with pytest.raises(runfiles.ConfigError, match='selfplay_training'):
    experiment.plan_experiment(config)
  config.selfplay_training = {**dataclasses.asdict(TINY), 'max_length': MAX_LENGTH}
  config.model_parallelism = 0
  with pytest.raises(runfiles.ConfigError, match='model_parallelism: must be an integer >= 1, got 0'):
    experiment.plan_experiment(config)
