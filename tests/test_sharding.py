"""The meshes and layouts every trainer shares (debate/distributed/sharding.py): which devices a batch is split over, and
how parameters are split FSDP-style over 'model'."""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from debate.distributed import sharding
from debate.experiments.runfiles import ConfigError
from debate.rollouts import runner


def test_fsdp_spec_splits_the_largest_divisible_axis():
  assert sharding.fsdp_spec((3136, 1024), 4) == P('model')
  assert sharding.fsdp_spec((5, 5, 32, 64), 4) == P(None, None, None, 'model')
  assert sharding.fsdp_spec((10,), 4) == P()  # Nothing divides: replicated.
  assert sharding.fsdp_spec((6, 10), 4) == P()
  assert sharding.fsdp_spec((8, 8), 4) == P('model')  # Ties: the first axis.
  assert sharding.fsdp_spec((), 2) == P()
  assert sharding.fsdp_spec((64, 32), 1) == P()


def test_a_trainer_splits_its_batch_over_the_most_devices_that_divide_it():
  four = runner.data_mesh(jax.devices()[:4])
  assert sharding.training_mesh(four, 16).devices.shape == (4, 1)  # ('data', 'model')
  assert sharding.training_mesh(four, 6).devices.shape == (3, 1)
  assert list(sharding.training_mesh(four, 6).devices.flat) == jax.devices()[:3]
  assert sharding.training_mesh(four, 5) is None  # One device: no mesh.
  assert sharding.training_mesh(None, 16) is None
  assert sharding.training_mesh(four, 16, model_parallelism=2).devices.shape == (2, 2)
  assert sharding.training_mesh(four, 6, model_parallelism=2).devices.shape == (1, 2)
  with pytest.raises(
    ConfigError,
    match=r'model_parallelism: the batch of 5 \(--config.batch_size\) cannot be '
    r'split evenly over 1 process\(es\) with a multiple of '
    r'model_parallelism=2 devices each; pass a --config.batch_size divisible',
  ):
    sharding.training_mesh(four, 5, model_parallelism=2)
  with pytest.raises(ConfigError, match=r'pass a --config.selfplay_training.batch_size divisible by 2'):
    sharding.training_mesh(four, 5, model_parallelism=2, batch_field='selfplay_training.batch_size')
  with pytest.raises(
    ConfigError,
    match=r'model_parallelism: 3 does not divide the 4 devices of each process; '
    r'pass one of \[1, 2, 4\]',
  ):
    sharding.training_mesh(four, 12, model_parallelism=3)
  with pytest.raises(ConfigError, match='--config.rrm_model_parallelism: 0 does not divide'):
    sharding.training_mesh(four, 12, model_parallelism=0, field='rrm_model_parallelism')


def test_fsdp_placement_and_constraints_agree():
  mesh = sharding.make_mesh(jax.devices()[:4], model_parallelism=2)
  tree = {'kernel': np.arange(24.0).reshape(6, 4), 'bias': np.arange(3.0)}
  placed = sharding.fsdp_placed(tree, mesh)
  assert placed['kernel'].sharding.spec == P('model') and placed['bias'].sharding.spec == P()
  constrained = jax.jit(lambda t: sharding.fsdp_constrained(jax.tree.map(lambda x: x + 1, t), mesh))(placed)
  assert constrained['kernel'].sharding.is_equivalent_to(placed['kernel'].sharding, 2)
  np.testing.assert_array_equal(constrained['kernel'], tree['kernel'] + 1)
  batch = jax.jit(lambda x: sharding.batch_constrained(x * 2, mesh))(np.arange(8))
  assert batch.sharding.spec == P(('data', 'model')) and batch.tolist() == list(range(0, 16, 2))
  assert sharding.fsdp_placed(tree, None) is tree and sharding.replicated(tree, None) is tree
