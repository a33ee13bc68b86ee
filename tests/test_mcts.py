"""The O(depth) backward pass gives the very tree mctx builds; invalid actions are never expanded."""

import inspect

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

from debate.agents import search as mcts

NUM_ACTIONS = 5


def _random_recurrent_fn(params, key, action, embedding):
  """A random two-player game: rewards, values and priors drawn from the key and the path."""
  del params
  batch = action.shape[0]
  k1, k2, k3 = jax.random.split(jax.random.fold_in(key, 7), 3)
  output = mctx.RecurrentFnOutput(
    reward=jax.random.uniform(k1, (batch,), minval=-1, maxval=1),
    discount=-jnp.ones((batch,)),
    prior_logits=jax.random.normal(k2, (batch, NUM_ACTIONS)),
    value=jax.random.uniform(k3, (batch,), minval=-1, maxval=1),
  )
  return output, embedding * NUM_ACTIONS + action


def _root(batch):
  return mctx.RootFnOutput(
    prior_logits=jnp.zeros((batch, NUM_ACTIONS)), value=jnp.zeros((batch,)), embedding=jnp.zeros((batch,), jnp.int32)
  )


@pytest.mark.parametrize('max_depth', [None, 3])
def test_fixed_depth_backward_builds_the_same_tree_as_mctx(max_depth):
  num_simulations = 40

  def search(key):
    return mctx.muzero_policy(
      params=(),
      rng_key=key,
      root=_root(3),
      recurrent_fn=_random_recurrent_fn,
      num_simulations=num_simulations,
      max_depth=max_depth,
    ).search_tree

  key = jax.random.key(0)
  stock = jax.jit(search)(key)
  bound = (max_depth or num_simulations) + 1

  def patched(key):
    with mcts.fixed_depth_backward(bound):
      return search(key)

  fixed = jax.jit(patched)(key)
  assert int(stock.node_visits[:, 0].min()) == num_simulations + 1
  for field in (
    'node_visits',
    'node_values',
    'children_visits',
    'children_values',
    'parents',
    'children_index',
    'action_from_parent',
  ):
    np.testing.assert_array_equal(np.asarray(getattr(fixed, field)), np.asarray(getattr(stock, field)), err_msg=field)


PINNED_MCTX = '0.0.71'  # setup.cfg pins this version: the one debate/agents/search.py's swap was checked against.


def test_mctx_still_reads_the_swapped_backward_pass_at_trace_time():
  """debate/agents/search.py swaps mctx's private `search.backward`; if mctx stops calling it, the swap would do nothing."""
  calls = []
  stock = mctx._src.search.backward  # pylint: disable=protected-access
  stock_args = list(inspect.signature(stock).parameters)
  original = mcts._fixed_depth_backward  # pylint: disable=protected-access

  def spy(depth_bound):
    fixed = original(depth_bound)

    def backward(tree, leaf_index):
      calls.append(depth_bound)
      return fixed(tree, leaf_index)

    return backward

  mcts._fixed_depth_backward = spy  # pylint: disable=protected-access
  try:
    root = _root(2)
    jax.jit(
      lambda key: (
        mcts.puct_search(
          (), key, root, _random_recurrent_fn, num_simulations=3, max_depth=2, depth_bound=3
        ).action_weights
      )
    ).lower(jax.random.key(0))
  finally:
    mcts._fixed_depth_backward = original  # pylint: disable=protected-access
  assert calls and stock_args == ['tree', 'leaf_index'], (
    f'mctx {mctx.__version__} no longer calls mctx._src.search.backward(tree, leaf_index) during a search '
    f'(its signature is now {stock_args}; calls seen: {len(calls)}), so the O(depth) backward pass of '
    f'debate/agents/search.py is silently unused. It was checked against mctx {PINNED_MCTX} (pinned in setup.cfg): '
    'read the new mctx search module, port fixed_depth_backward, and rerun tests/test_mcts.py.'
  )


def test_the_patch_is_undone_after_the_context():
  original = mctx._src.search.backward  # pylint: disable=protected-access
  with mcts.fixed_depth_backward(4):
    assert mctx._src.search.backward is not original  # pylint: disable=protected-access
  assert mctx._src.search.backward is original  # pylint: disable=protected-access


def test_puct_search_never_expands_an_invalid_action_below_the_root():
  valid = jnp.array([True, False, True, False, False])
  logits = jnp.where(valid, 0.0, mcts.INVALID_LOGIT)

  def recurrent_fn(params, key, action, embedding):
    del params, key
    batch = action.shape[0]
    # Valued so that an unmasked search would love the invalid actions: their value is the best.
    value = jnp.where(valid[action], -1.0, 1.0)
    output = mctx.RecurrentFnOutput(
      reward=jnp.zeros((batch,)),
      discount=jnp.ones((batch,)),
      prior_logits=jnp.broadcast_to(logits, (batch, NUM_ACTIONS)),
      value=value,
    )
    return output, embedding

  root = mctx.RootFnOutput(prior_logits=logits[None], value=jnp.zeros((1,)), embedding=jnp.zeros((1,), jnp.int32))
  out = mcts.puct_search(
    (),
    jax.random.key(1),
    root,
    recurrent_fn,
    num_simulations=30,
    max_depth=4,
    depth_bound=5,
    invalid_actions=~valid[None],
  )
  tree = out.search_tree
  expanded = np.asarray(tree.action_from_parent[0, 1:])  # The action that led to each expanded node.
  assert set(expanded.tolist()) <= {0, 2}
  assert np.asarray(out.action_weights[0])[~np.asarray(valid)].sum() == 0


def test_threefry_on_the_cpu_runs_without_loops_and_gives_the_same_numbers():
  """debate/cpu_random.py swaps JAX's looped CPU lowering of Threefry for its straight-line one: the
  Random123 known-answer vector still comes out, and a compiled random draw has no while loop left."""
  from jax.extend import random as jax_random

  from debate import cpu_random

  assert cpu_random.install(), (
    f'JAX {jax.__version__} moved jax._src.random.threefry2x32 or its lowering rules, so debate/cpu_random.py '
    'no longer removes the loops from random draws on the CPU (results are unchanged, searches are slower): '
    'find the straight-line Threefry lowering in the new JAX and register it for the CPU again.'
  )
  key = np.uint32([0x13198A2E, 0x03707344])
  count = np.uint32([[0x243F6A88], [0x85A308D3]])
  hash_fn = jax.jit(lambda k1, k2, x1, x2: jax_random.threefry2x32_p.bind(k1, k2, x1, x2))
  hashed = [int(h[0]) for h in hash_fn(key[0], key[1], count[0], count[1])]
  assert hashed == [0xC4923A9C, 0x483DF7A0]  # Salmon et al. 2011, Threefry-2x32 with 20 rounds.
  draw = jax.jit(lambda k: jax.random.uniform(k, (784,)))
  assert ' while(' not in draw.lower(jax.random.key(0)).compile().as_text()
