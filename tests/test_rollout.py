"""Rollout invariants: results depend on the game index and seed only, never on devices, batch or padding."""

import jax
import numpy as np
import pytest

from debate.rollouts import chain as rollout
from debate.rollouts import runner
from debate.tasks import chain
from judges import chain_checkers as cc


def _assert_same(a, b):
  """Every discrete result (verdicts, moves, correctness: everything a record counts) is bit-identical; a
  learned judge's float scores may differ in the last bits, as XLA picks matmul kernels per batch shape."""

  def same(x, y):
    if np.issubdtype(np.asarray(x).dtype, np.floating):
      np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    else:
      np.testing.assert_array_equal(x, y)

  jax.tree.map(same, a, b)


@pytest.mark.parametrize(
  'arm_spec, judge', [('debate/mcts:2', 'learned:16'), ('consultancy', 'learned:16'), ('debate/random', 'noisy:0.1')]
)
def test_results_are_identical_for_1_and_4_devices_and_any_batch_size(arm_spec, judge):
  assert len(jax.devices()) == 4, 'conftest sets four simulated CPU devices'
  arm = rollout.parse_arm(arm_spec, 3)
  checker = cc.parse_checker(judge, 17)
  params = cc.init_params(checker, jax.random.key(5))
  run = lambda devices, batch: rollout.run_games(
    arm,
    checker,
    params,
    length=11,
    seed=3,
    num_games=40,
    batch_size=batch,
    mesh=runner.data_mesh(jax.devices()[:devices]),
    max_length=16,
  )
  reference = run(1, 40)
  _assert_same(run(4, 12), reference)  # 12 games per batch: 3 per device, the last batch padded
  if arm.protocol != 'debate' or arm.liar.kind != 'mcts':  # (each layout compiles the search anew: slow)
    _assert_same(run(4, 40), reference)
    _assert_same(run(1, 7), reference)


@pytest.mark.parametrize('arm_spec', ['debate/random', 'debate/mcts:4'])
def test_results_do_not_depend_on_padding(arm_spec):
  arm = rollout.parse_arm(arm_spec, 0)
  checker = cc.parse_checker('noisy:0.2', 17)
  params = cc.init_params(checker, jax.random.key(0))
  whole = rollout.run_games(arm, checker, params, length=5, seed=0, num_games=30, batch_size=30)
  padded = rollout.run_games(arm, checker, params, length=5, seed=0, num_games=30, batch_size=30, max_length=64)
  _assert_same(padded[0], whole[0])


def test_results_do_not_depend_on_which_games_run_together():
  arm = rollout.parse_arm('debate/random', 0)
  checker = cc.parse_checker('noisy:0.2', 17)
  params = cc.init_params(checker, jax.random.key(0))
  whole = rollout.run_games(arm, checker, params, length=5, seed=0, num_games=30, batch_size=30)
  tail = rollout.run_games(arm, checker, params, length=5, seed=0, num_games=10, batch_size=10, first_index=20)
  _assert_same(tail, jax.tree.map(lambda a: a[20:], whole))
  other_seed = rollout.run_games(arm, checker, params, length=5, seed=1, num_games=30, batch_size=30)
  assert not np.array_equal(other_seed[1]['x0'], whole[1]['x0'])


@pytest.mark.parametrize(
  'spec, message',
  [
    ('oracle', 'unknown protocol'),
    ('debate', 'needs a liar'),
    ('debate/wizard', 'unknown liar'),
    ('debate/mcts', 'budget >= 1'),
    ('debate/mcts:x', 'bad liar budget'),
    ('direct/random', 'takes no liar'),
    ('consultancy/greedy', 'unknown liar'),
    ('consultancy/search', 'budget >= 1'),
    ('debate/search:4', 'unknown liar'),
  ],
)
def test_bad_arm_specs_are_refused(spec, message):
  with pytest.raises(ValueError, match=message):
    rollout.parse_arm(spec, 4)


def test_negative_step_budget_is_refused():
  with pytest.raises(ValueError, match='s must be >= 0'):
    rollout.parse_arm('consultancy', -1)


def test_bad_lengths_are_refused():
  arm = rollout.parse_arm('direct', 4)
  checker = cc.parse_checker('exact', 17)
  with pytest.raises(ValueError, match='T must be >= 1'):
    rollout.run_games(arm, checker, None, length=0, seed=0, num_games=4, batch_size=4)
  with pytest.raises(ValueError, match='exceeds max_length'):
    rollout.run_games(arm, checker, None, length=9, seed=0, num_games=4, batch_size=4, max_length=8)


def _closed_over(arm, checker, params, *, length, seed, num_games, max_length):
  """The games compiled the old way: seed and judge params closed over (constants of their own compilation)."""
  mesh = runner.data_mesh(jax.devices()[:1])
  fn = runner.compiled_games(rollout.ChainPlayer(arm, checker, max_length), mesh, 1, 4)
  indices = np.arange(num_games, dtype=np.uint32)
  closed = jax.jit(lambda i: fn(i, np.int32(length), jax.random.key(seed), params, (None, None)))
  return jax.device_get(closed(indices))


@pytest.mark.parametrize('judge', ['learned:8', 'noisy:0.2'])
def test_one_compilation_serves_every_judge_of_an_architecture_and_every_seed(judge):
  arm = rollout.parse_arm('debate/random', 0)
  checker = cc.parse_checker(judge, 17)
  ladder = [cc.init_params(checker, jax.random.key(i)) for i in range(2)]
  mesh = runner.data_mesh(jax.devices()[:1])
  run = lambda params, seed: rollout.run_games(
    arm, checker, params, length=5, seed=seed, num_games=16, batch_size=16, mesh=mesh, max_length=8
  )
  run(ladder[0], 0)  # Compiles, unless an earlier test did.
  compiled = runner.compiled_games(rollout.ChainPlayer(arm, checker, 8), mesh, 1, 4)
  before = runner.compilations()
  results = {(j, seed): run(params, seed) for j, params in enumerate(ladder) for seed in (0, 1)}
  assert runner.compilations() == before
  assert compiled._cache_size() == 1
  for (j, seed), result in results.items():  # The outcomes of the old per-(judge, seed) compilations.
    _assert_same(result, _closed_over(arm, checker, ladder[j], length=5, seed=seed, num_games=16, max_length=8))
  # Different judges and seeds do play different games (the traced arguments are not ignored).
  assert not np.array_equal(results[0, 0][1]['x0'], results[0, 1][1]['x0'])
  assert not np.array_equal(results[0, 0][1]['honest_score'], results[1, 0][1]['honest_score'])


def test_traced_seed_plays_the_instances_its_keys_name():
  arm = rollout.parse_arm('debate/random', 0)
  checker = cc.parse_checker('exact', 17)
  outcome, transcript = rollout.run_games(arm, checker, None, length=6, seed=7, num_games=5, batch_size=5)
  for i in range(5):
    instance_key, _ = rollout.game_keys(jax.random.key(7), 6, np.uint32(i))
    instance = chain.sample_instance(instance_key, 6, 17, rollout.padded_length(6))
    assert transcript['x0'][i] == instance.trace[0]
  assert outcome['correct'].all()  # The exact judge never loses a debate to a random liar.
