"""The RRM trainer on a ('data', 'model') mesh (debate/distributed/sharding.py): a level trained on one device, on 4 x 1
and on 2 x 2 (params split over 'model') gives the same losses up to float rounding and the same counts.

The training is short (2 rounds of 12 + 8 steps): over hundreds of steps the rounding differences grow
until a sampled claim flips (debate/training/rrm.py), see test_rrm.py::test_a_resume_may_split_params_over_model.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from debate.distributed import sharding
from debate.training import rrm as rrm_training
from judges import chain_checkers as cc
from judges import reward_models as rm
from protocols import rrm

M = 7
# Level 1 (2 steps a task), small nets, an 8-segment pool; batches of 16 split over up to 4 devices.
RM_NET, AGENT_NET = rm.NetSpec(M, 2, 16, depth=2), rm.NetSpec(M, 2, 8, depth=1)
TRAIN = rrm_training.TrainSpec(rounds=2, rm_steps=12, agent_steps=8, batch_size=16)
NUM_TASKS = 64


@pytest.fixture(scope='module')
def levels():
  """{mesh name: (mesh, run_level's (rm_params, agent_params, history, metrics))}."""
  pool = rrm.segment_pools(jax.random.key(0), levels=1, num_segments=8, modulus=M)[1]
  labels = rrm_training.label_table(
    rrm_training.Evaluator('unassisted', cc.parse_checker('exact', M), s=2), {'judge': None}, pool
  )
  meshes = {
    'one device': None,
    '4 x 1': sharding.make_mesh(jax.devices()[:4]),
    '2 x 2': sharding.make_mesh(jax.devices()[:4], model_parallelism=2),
  }
  return {
    name: (
      mesh,
      rrm_training.run_level(
        jax.random.key(1), pool, labels, rm_net=RM_NET, agent_net=AGENT_NET, train=TRAIN, num_tasks=NUM_TASKS, mesh=mesh
      ),
    )
    for name, mesh in meshes.items()
  }


def test_a_level_trains_to_the_same_losses_and_counts_on_every_mesh(levels):
  _, (rm_params, agent_params, history, metrics) = levels['one device']
  assert np.asarray(history['rm_loss']).shape == (TRAIN.rounds, TRAIN.rm_steps)
  assert np.asarray(history['agent_reward']).shape == (TRAIN.rounds, TRAIN.agent_steps)
  counts = {k: int(v) for k, v in metrics.items() if np.asarray(v).dtype == np.int32}
  assert counts['games'] == counts['rm_games'] == NUM_TASKS and len(counts) == 9
  for name in ('4 x 1', '2 x 2'):
    _, (rm_other, agent_other, history_other, metrics_other) = levels[name]
    for field in ('rm_loss', 'agent_reward'):
      np.testing.assert_allclose(history_other[field], history[field], rtol=1e-5, err_msg=f'{name}: {field}')
    assert {k: int(metrics_other[k]) for k in counts} == counts, name
    for field in ('proxy_reward', 'evaluation_reward'):
      np.testing.assert_allclose(metrics_other[field], metrics[field], rtol=1e-5, err_msg=f'{name}: {field}')
    for a, b in zip(jax.tree.leaves((rm_params, agent_params)), jax.tree.leaves((rm_other, agent_other))):
      np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6, err_msg=name)
  losses = np.asarray(history['rm_loss'])
  assert losses[-1, -3:].mean() < losses[0, :3].mean()  # It learns: the layouts are compared on a real training.


def test_params_are_split_over_model_on_a_2x2_mesh_and_replicated_on_4x1(levels):
  mesh, (rm_params, agent_params, _, metrics) = levels['2 x 2']
  specs = [x.sharding.spec for x in jax.tree.leaves((rm_params, agent_params))]
  assert 'model' in [axis for spec in specs for axis in spec]
  # The reward model's hidden and output kernels [16, 16], [16, 7]: split along their 16 rows; its 7 output
  # biases replicated; the [14, 16] table of the ops' first entries split along its 16 columns.
  params = rm_params['params']
  assert params['Dense_0']['kernel'].sharding.spec == params['Dense_1']['kernel'].sharding.spec == P('model')
  assert params['Dense_1']['bias'].sharding.spec == P()
  assert params['u']['embedding'].sharding.spec == P(None, 'model')
  assert all(x.sharding.mesh == mesh for x in jax.tree.leaves((rm_params, agent_params)))
  assert metrics['correct'].sharding.is_fully_replicated
  mesh, (rm_params, agent_params, _, _) = levels['4 x 1']
  assert all(
    x.sharding.is_fully_replicated and x.sharding.mesh == mesh for x in jax.tree.leaves((rm_params, agent_params))
  )


def test_a_batch_the_mesh_does_not_divide_is_refused():
  pool, labels = jnp.zeros((4, 2, 2), jnp.int32), jnp.zeros((4, M, M))
  with pytest.raises(ValueError, match='the batch of 16 is not divisible by the 3 devices'):
    rrm_training.run_level(
      jax.random.key(0),
      pool,
      labels,
      rm_net=RM_NET,
      agent_net=AGENT_NET,
      train=TRAIN,
      num_tasks=NUM_TASKS,
      mesh=sharding.make_mesh(jax.devices()[:3]),
    )
