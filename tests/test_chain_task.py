"""The chain task: exact arithmetic on hand-built instances, padding and sampling invariants."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.tasks import chain


def test_trace_of_a_hand_built_instance():
  # m = 7: x1 = 2*3+1 = 0, x2 = 3*0+0 = 0, x3 = 1*0+5 = 5.
  instance = chain.make_instance(3, [(2, 1), (3, 0), (1, 5)], modulus=7, wrong=4)
  np.testing.assert_array_equal(instance.trace, [3, 0, 0, 5])
  assert int(instance.answer) == 5 and int(instance.length) == 3


def test_make_instance_rejects_a_wrong_answer_that_is_right():
  with pytest.raises(ValueError, match='equals the true answer'):
    chain.make_instance(3, [(2, 1)], modulus=7, wrong=0)


def test_invert_step_inverts_apply_step_everywhere():
  m = 11
  x, u, v = jnp.meshgrid(jnp.arange(m), jnp.arange(1, m), jnp.arange(m), indexing='ij')
  op = jnp.stack([u, v], axis=-1)
  y = chain.apply_step(x, op, m)
  np.testing.assert_array_equal(chain.invert_step(y, op, m), x)


def test_sampled_instances_are_consistent_and_the_wrong_answer_is_wrong():
  keys = jax.random.split(jax.random.key(0), 500)
  instances = jax.vmap(lambda k: chain.sample_instance(k, 37, 13, max_length=64))(keys)
  recomputed = jax.vmap(lambda i: chain.compute_trace(i.trace[0], i.ops, 13))(instances)
  np.testing.assert_array_equal(recomputed, instances.trace)
  assert bool(jnp.all(instances.wrong != instances.trace[:, 37]))
  assert bool(jnp.all(instances.trace[:, 37] == instances.answer))  # identity steps past T
  assert bool(jnp.all(instances.ops[:, 37:] == jnp.array([1, 0])))
  assert bool(jnp.all((instances.ops[:, :37, 0] >= 1) & (instances.ops[:, :37, 0] < 13)))


def test_an_instance_does_not_depend_on_its_padding():
  key = jax.random.key(7)
  small = chain.sample_instance(key, 5, 17, max_length=8)
  large = chain.sample_instance(key, 5, 17, max_length=1024)
  np.testing.assert_array_equal(small.ops[:5], large.ops[:5])
  np.testing.assert_array_equal(small.trace[:6], large.trace[:6])
  assert int(small.wrong) == int(large.wrong)


def test_bad_length_is_refused():
  with pytest.raises(ValueError, match='T must be'):
    chain.sample_instance(jax.random.key(0), 0, 17)
