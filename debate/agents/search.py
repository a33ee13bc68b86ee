"""PUCT search with `mctx`, as every searching agent of the simulator runs it.

`puct_search` wraps `mctx.muzero_policy` with the settings of Irving et al. 2018 (PUCT with a constant
c_puct, no Dirichlet noise, the prior and values supplied by the game; outcomes in [-1, 1]) and three
additions:

- **An unvisited action counts as a coin flip** (Q = 0, i.e. 1/2 after mapping [-1, 1] to [0, 1]), as in
  AlphaZero-style PUCT, instead of mctx's default of the worst sibling's value, which with a uniform prior
  over many actions keeps a search on its first action for about A^2 simulations (`neutral_qtransform`).
- **Invalid actions stay invalid below the root.** mctx masks invalid actions only at the root; below it, an
  action with zero prior can still win the argmax through its Q-value. `neutral_qtransform` gives every
  action whose prior logit is `INVALID_LOGIT` a score of -1e9, so the search never expands one (the game must
  give such actions that logit in `recurrent_fn`'s `prior_logits`, as it does at the root).
- **A backward pass in O(depth).** mctx's `backward` is a `while_loop` under `vmap`: its predicate is
  batched, so every iteration selects between the old and the new value of the WHOLE tree, and one
  simulation costs O(tree size) = O(num_simulations x num_actions). A search therefore costs
  O(num_simulations^2 x num_actions), which makes 10k simulations over hundreds of actions impossible.
  `fixed_depth_backward` makes the same updates in a `fori_loop` of `depth_bound` iterations (a static bound
  on a leaf's depth) with masked single-element scatters, so one simulation costs O(depth). The tree it
  produces is bit-identical to mctx's (tests compare them on random trees). mctx reads `backward` from its
  search module at trace time; `puct_search` swaps it in for the duration of the trace only.
"""

from __future__ import annotations

import contextlib

import chex
import jax
import jax.numpy as jnp
import mctx
from mctx._src import search as _mctx_search

INVALID_LOGIT = -1e9  # The prior logit marking an invalid action, at the root and below.
_INVALID_SCORE = -1e9


def _fixed_depth_backward(depth_bound: int):
  """mctx's backward pass for one tree (vmapped over the batch) in `depth_bound` masked steps."""
  Tree = mctx.Tree  # pylint: disable=invalid-name

  def backward(tree, leaf_index):
    def body(_, carry):
      tree, leaf_value, index = carry
      active = index != Tree.ROOT_INDEX
      parent = jnp.where(active, tree.parents[index], Tree.ROOT_INDEX)
      action = jnp.where(active, tree.action_from_parent[index], 0)
      count = tree.node_visits[parent]
      reward = tree.children_rewards[parent, action]
      new_leaf_value = reward + tree.children_discounts[parent, action] * leaf_value
      parent_value = (tree.node_values[parent] * count + new_leaf_value) / (count + 1.0)
      children_value = tree.node_values[index]
      children_count = tree.children_visits[parent, action] + 1

      def masked_set(x, value, *position):
        return x.at[position].set(jnp.where(active, value, x[position]))

      tree = tree.replace(
        node_values=masked_set(tree.node_values, parent_value, parent),
        node_visits=masked_set(tree.node_visits, count + 1, parent),
        children_values=masked_set(tree.children_values, children_value, parent, action),
        children_visits=masked_set(tree.children_visits, children_count, parent, action),
      )
      return (tree, jnp.where(active, new_leaf_value, leaf_value), jnp.where(active, parent, index))

    leaf_index = jnp.asarray(leaf_index, jnp.int32)
    tree, _, _ = jax.lax.fori_loop(0, depth_bound, body, (tree, tree.node_values[leaf_index], leaf_index))
    return tree

  return jax.vmap(backward)


@contextlib.contextmanager
def fixed_depth_backward(depth_bound: int):
  """Within this context, mctx searches traced use the O(depth) backward pass (see the module docstring).

  `depth_bound` must be at least the deepest leaf a search can reach (its max_depth + 1 is always safe).
  """
  original = _mctx_search.backward
  _mctx_search.backward = _fixed_depth_backward(depth_bound)
  try:
    yield
  finally:
    _mctx_search.backward = original


def neutral_qtransform(tree: mctx.Tree, node_index: chex.Numeric) -> chex.Array:
  """Q-values for outcomes in [-1, 1] mapped to [0, 1], an unvisited action scored 1/2 (a coin flip), and an
  action whose prior logit is INVALID_LOGIT scored -1e9: [num_actions].

  mctx's default (`qtransform_by_parent_and_siblings`) scores an unvisited action as the worst of its
  siblings, so with a uniform prior over A actions a search tries a second action only once
  sqrt(N) / A exceeds the Q gap, after about A^2 simulations: 150 pixels would need 22,500.
  """
  qvalues = tree.qvalues(node_index)
  visited = tree.children_visits[node_index] > 0
  values = jnp.where(visited, (jnp.clip(qvalues, -1.0, 1.0) + 1.0) / 2.0, 0.5)
  invalid = tree.children_prior_logits[node_index] <= INVALID_LOGIT / 2
  return jnp.where(invalid, _INVALID_SCORE, values)


def puct_search(
  params,
  key: chex.PRNGKey,
  root: mctx.RootFnOutput,
  recurrent_fn,
  *,
  num_simulations: int,
  max_depth,
  depth_bound: int,
  c_puct: float = 1.0,
  invalid_actions: chex.Array | None = None,
) -> mctx.PolicyOutput:
  """`num_simulations` PUCT simulations from `root` (batched as mctx wants: [B, ...]).

  The exploration constant is exactly `c_puct` at every visit count (mctx's pb_c_base growth term is
  switched off by a base so large that log((N + base + 1) / base) rounds to 0 in float32).
  `max_depth` may be traced; `depth_bound` is a static bound on it plus one. Invalid actions: `invalid_actions`
  [B, num_actions] (True = invalid) at the root, INVALID_LOGIT prior logits below it.
  """
  with fixed_depth_backward(depth_bound):
    return mctx.muzero_policy(
      params=params,
      rng_key=key,
      root=root,
      recurrent_fn=recurrent_fn,
      num_simulations=num_simulations,
      max_depth=max_depth,
      invalid_actions=invalid_actions,
      dirichlet_fraction=0.0,
      pb_c_init=c_puct,
      pb_c_base=1e12,
      qtransform=neutral_qtransform,
    )


def argmax_random_tiebreak(key: chex.PRNGKey, values: chex.Array) -> chex.Array:
  """values: [n] -> the index of a maximum, ties broken uniformly at random: [] int32."""
  noise = jax.random.uniform(key, values.shape, maxval=1e-3)
  return jnp.argmax(values + noise * (values == values.max())).astype(jnp.int32)
