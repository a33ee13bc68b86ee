"""Step checkers: parsing, the noisy judge's fixed errors, and the learned checker's training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.distributed import sharding
from debate.rollouts import runner
from judges import chain_checkers as cc


@pytest.mark.parametrize(
  'spec, message',
  [
    ('oracle', 'unknown judge'),
    ('noisy:abc', 'bad judge'),
    ('noisy:1.5', 'error rate'),
    ('learned:0', 'width'),
    ('exact:3', 'unknown judge'),
  ],
)
def test_bad_judge_specs_are_refused(spec, message):
  with pytest.raises(ValueError, match=message):
    cc.parse_checker(spec, 17)


def test_exact_checker_scores():
  checker = cc.parse_checker('exact', 7)
  op = jnp.array([[2, 1], [2, 1]])
  np.testing.assert_array_equal(cc.step_score(checker, None, jnp.array([3, 3]), op, jnp.array([0, 1])), [1.0, -1.0])


def test_noisy_errors_are_a_fixed_function_of_the_step_and_the_judge_seed():
  checker = cc.parse_checker('noisy:0.2', 17)
  x, op, y, label = cc.sample_steps(jax.random.key(0), 20000, 17)
  params = cc.init_params(checker, jax.random.key(1))
  first = cc.step_score(checker, params, x, op, y)
  again = cc.step_score(checker, params, x, op, y)
  np.testing.assert_array_equal(first, again)
  error = float(jnp.mean((first > 0) != label))
  assert abs(error - 0.2) < 0.015  # 20000 steps: the sd of the rate is 0.003
  other = cc.step_score(checker, cc.init_params(checker, jax.random.key(2)), x, op, y)
  assert float(jnp.mean((other > 0) != (first > 0))) > 0.2  # another seed errs elsewhere


def test_learned_checker_trains_to_better_than_chance():
  checker = cc.parse_checker('learned:64', 17)
  untrained = cc.evaluate_checker(checker, cc.init_params(checker, jax.random.key(0)), jax.random.key(9))
  params, history = cc.train_learned_checker(
    checker, jax.random.key(0), cc.TrainConfig(steps=1500, log_every=500), log=lambda _: None
  )
  trained = cc.evaluate_checker(checker, params, jax.random.key(9))
  assert history[-1]['loss'] < history[0]['loss']
  assert trained['step_error'] < 0.4 and trained['pairwise_error'] < 0.35
  assert trained['pairwise_error'] < untrained['pairwise_error'] - 0.1


def test_built_judges_are_cached_in_the_workdir(tmp_path):
  checker = cc.parse_checker('learned:8', 17)
  config = cc.TrainConfig(steps=50, log_every=50)
  params, metrics = cc.build_judge(checker, seed=3, workdir=str(tmp_path), train_config=config, log=lambda _: None)
  reloaded, reloaded_metrics = cc.build_judge(
    checker, seed=3, workdir=str(tmp_path), train_config=config, log=lambda _: pytest.fail('retrained a cached judge')
  )
  assert reloaded_metrics == metrics
  jax.tree.map(np.testing.assert_array_equal, params, reloaded)


def test_learned_checker_training_gives_the_same_losses_on_1_and_4_devices_with_and_without_fsdp():
  checker = cc.parse_checker('learned:32', 17)
  config = cc.TrainConfig(steps=60, batch_size=64, log_every=20)
  one, one_history = cc.train_learned_checker(checker, jax.random.key(5), config, log=lambda _: None)
  four = runner.data_mesh(jax.devices()[:4])
  for model_parallelism in (1, 2):
    mesh = sharding.training_mesh(four, config.batch_size, model_parallelism)
    assert mesh.devices.shape == (4 // model_parallelism, model_parallelism)
    messages = []
    params, history = cc.train_learned_checker(checker, jax.random.key(5), config, log=messages.append, mesh=mesh)
    assert [h['step'] for h in history] == [20, 40, 60] and 'on 4 device(s)' in messages[-1]
    # The same batches (each step's drawn from its own key) split over 4 devices: the losses and params
    # agree with one device's up to the float rounding of the gradient's all-reduce.
    np.testing.assert_allclose([h['loss'] for h in history], [h['loss'] for h in one_history], rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), params, one)
    assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(params))  # Host copies, as saved.
  with pytest.raises(ValueError, match='batch of 64 is not divisible by the 3 devices'):
    cc.train_learned_checker(checker, jax.random.key(5), config, mesh=sharding.make_mesh(jax.devices()[:3]))


def test_an_experiment_trains_its_learned_judge_on_a_mesh_split_over_model(tmp_path):
  from debate.experiments import chain as experiment
  from debate.experiments import runfiles
  from launch.configs import chain as chain_config

  config = chain_config.get_config('smoke')
  config.update(
    {
      'T': (3,),
      'judges': ('learned:16',),
      'protocols': ('debate/random',),
      'num_games': 8,
      'batch_size': 8,
      'model_parallelism': 2,
    }
  )
  config.judge_training.steps = 20
  lines = []
  experiment.run_experiment(config, str(tmp_path), log=lines.append)
  assert any('judge learned:16: step 20/20' in line and 'on 4 device(s)' in line for line in lines)
  config.model_parallelism = 3
  with pytest.raises(runfiles.ConfigError, match='model_parallelism: 3 does not divide the 4 devices'):
    experiment.run_experiment(config, str(tmp_path / 'other'), log=lambda _: None)
  assert not (tmp_path / 'other').exists()  # Refused before the workdir is touched.
