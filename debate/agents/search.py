"""Search with `mctx` over any game of the interface (`debate.games.base.Game`): one model of the game, two
searches (PUCT for the `mcts:B` agents, Gumbel MuZero for the networks' searches and self-play).

**The model of a game** (`recurrent_fn`, written once): the exact dynamics (`game.step`); the reward of a
move that ends the game is the judge's verdict for the mover, 0 otherwise; the discount is -1 when the turn
passes to another player and +1 when the same player moves again (zero-sum two-player games and one-player
games alike); a finished game has discount 0. A new node gets its prior and value from an *evaluator*:
- `rollouts`: a uniform prior over the legal actions and the verdict, for the player to move, of ONE random
  continuation (`game.rollout`; the same continuation scores the move when it ends the game, so a
  simulation costs one judge evaluation);
- `NetworkEvaluator`: a policy-value network's logits (masked to the legal actions) and value; the judge is
  evaluated only in simulations where some game ends (a real branch, also across vmapped per-game searches
  via `batch_axis`).
States are stored in the tree without the game's `constant_fields` (the instance), which ride along once
per search in the model's params.

**The meaning of `mcts:B`, on every task**: B PUCT simulations from the position to move, c_puct = 1, no
Dirichlet noise, the `rollouts` evaluator, the tree cut at `game.moves_left` (so results never depend on
padding), the Q transform `neutral_qtransform` (below), and the move = the most visited legal action, ties
broken at random (`debate.agents.policies.MCTS`).

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
  `fixed_depth_backward` makes the same updates along the leaf's path of at most `depth_bound` edges (a
  static bound on a leaf's depth): the path and its backed-up values first, then one scatter per tree array
  (see `_fixed_depth_backward`), so one simulation costs O(depth) in a fixed, small number of kernels. The tree it
  produces is bit-identical to mctx's (tests compare them on random trees). mctx reads `backward` from its
  search module at trace time; `puct_search` swaps it in for the duration of the trace only.
"""

from __future__ import annotations

import contextlib
import dataclasses

import chex
import jax
import jax.numpy as jnp
import mctx
from mctx._src import search as _mctx_search

INVALID_LOGIT = -1e9  # The prior logit marking an invalid action, at the root and below.


def _fixed_depth_backward(depth_bound: int):
  """mctx's backward pass for one tree (vmapped over the batch) along a path of at most `depth_bound` edges.

  A path visits each node once, so its updates do not interact: the path's nodes, then the values backed up
  along it (a scalar recurrence), are computed first, and each tree array is then written by ONE scatter of
  `depth_bound` elements (steps past the root write out of bounds and are dropped). The arithmetic is mctx's,
  in its order; the loops are unrolled, because on the CPU a loop over a few scalars costs more in dispatched
  kernels than in work.
  """

  def backward(tree, leaf_index):
    root, num_nodes = mctx.Tree.ROOT_INDEX, tree.node_values.shape[0]
    nodes = [jnp.asarray(leaf_index, jnp.int32)]  # nodes[d]: the node d edges above the leaf (root past it).
    for _ in range(depth_bound):
      nodes.append(jnp.where(nodes[-1] == root, root, tree.parents[nodes[-1]]))
    child, parent = jnp.stack(nodes[:-1]), jnp.stack(nodes[1:])  # [depth_bound] each.
    active = child != root
    action = jnp.where(active, tree.action_from_parent[child], 0)
    rewards, discounts = tree.children_rewards[parent, action], tree.children_discounts[parent, action]
    counts, parent_values = tree.node_visits[parent], tree.node_values[parent]
    leaf_value = value = tree.node_values[leaf_index]
    new_values = []  # new_values[d]: the updated value of the node d + 1 edges above the leaf.
    for d in range(depth_bound):
      value = rewards[d] + discounts[d] * value  # The leaf's value backed up d + 1 edges.
      new_values.append((parent_values[d] * counts[d] + value) / (counts[d] + 1.0))
    child_values = [leaf_value] + new_values[:-1]  # Each child's value, as updated.
    target = jnp.where(active, parent, num_nodes)  # Out of bounds past the root: dropped.
    return tree.replace(
      node_values=tree.node_values.at[target].set(jnp.stack(new_values), mode='drop'),
      node_visits=tree.node_visits.at[target].set(counts + 1, mode='drop'),
      children_values=tree.children_values.at[target, action].set(jnp.stack(child_values), mode='drop'),
      children_visits=tree.children_visits.at[target, action].set(
        tree.children_visits[parent, action] + 1, mode='drop'
      ),
    )

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
  return jnp.where(invalid, -1e9, values)


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


# ------------------------------------------------------------------------------------------------------------
# Searches over a game of the interface.


@dataclasses.dataclass(frozen=True)
class RolloutEvaluator:
  """Uniform prior over the legal actions; value = the verdict of one random continuation (see the module),
  or the mean verdict of `completions` of them (`completions` judge calls per simulation)."""

  completions: int = 1

  @property
  def judge_calls(self) -> int:
    """Judge evaluations per simulation."""
    return self.completions

  def __call__(self, game, key, state, judge_params, agent_params):
    """(prior logits [A], value []) for the player to move in `state`, and the (mean) verdict [P]."""
    if self.completions == 1:
      verdict = game.verdict(judge_params, game.rollout(key, state))
    else:
      keys = jax.random.split(key, self.completions)
      verdict = jax.vmap(lambda k: game.verdict(judge_params, game.rollout(k, state)))(keys).mean(axis=0)
    prior = jnp.where(game.legal_actions(state), 0.0, INVALID_LOGIT)
    return prior, verdict[game.current_player(state)], verdict


@dataclasses.dataclass(frozen=True)
class JudgeEvaluator:
  """Uniform prior over the legal actions; value = the judge's verdict on the position as it stands (for
  images: the revealed pixels alone), one judge call per simulation. A finished game's verdict is exact."""

  judge_calls = 1  # Judge evaluations per simulation.

  def __call__(self, game, key, state, judge_params, agent_params):
    verdict = game.verdict(judge_params, state)
    prior = jnp.where(game.legal_actions(state), 0.0, INVALID_LOGIT)
    return prior, verdict[game.current_player(state)], verdict


def leaf_evaluator(leaf: str):
  """The `mcts:B` agents' leaf evaluation by name: '' (one random completion, the default), 'judge' (the
  judge on the position as it stands) or 'avgN' (the mean verdict of N random completions)."""
  if leaf == '':
    return rollouts
  if leaf == 'judge':
    return JudgeEvaluator()
  if leaf.startswith('avg') and leaf[3:].isdigit() and int(leaf[3:]) >= 1:
    return RolloutEvaluator(int(leaf[3:]))
  raise ValueError(f"unknown leaf evaluation {leaf!r}; expected 'judge' or 'avgN' (N >= 1 random completions)")


@dataclasses.dataclass(frozen=True)
class NetworkEvaluator:
  """The policy-value network `game.network(width, depth)` with params `agent_params` (see the module); no
  verdict (None): the model asks the judge where a game ends."""

  width: int
  depth: int

  def __call__(self, game, key, state, judge_params, agent_params):
    logits, value = game.network(self.width, self.depth).apply(agent_params, game.observe(state))
    return jnp.where(game.legal_actions(state), logits, INVALID_LOGIT), value, None


rollouts = RolloutEvaluator()


def recurrent_fn(game, evaluator, batch_axis: str | None = None):
  """The mctx model of `game` (see the module docstring). Its params: (judge_params, agent_params,
  constants [B, ...]); its embedding: the states [B] without their constant fields. `batch_axis`: the vmap
  axis name when each game is its own search, so that "some game ends" spans the vmapped games."""

  def fn(params, key, action, core):
    judge_params, agent_params, constants = params
    keys = jax.random.split(key, action.shape[0])

    def expand(key, action, core, constants):
      state = core.replace(**constants)
      new = game.step(state, action)
      mover, done = game.current_player(state), game.terminal(new)
      prior, value, verdict = evaluator(game, key, new, judge_params, agent_params)
      discount = jnp.where(done, 0.0, jnp.where(game.current_player(new) == mover, 1.0, -1.0))
      ends = done & ~game.terminal(state)
      return discount, prior, jnp.where(done, 0.0, value), game.split_constants(new)[1], ends, mover, new, verdict

    discount, prior, value, new_core, ends, movers, new, verdicts = jax.vmap(expand)(keys, action, core, constants)
    if verdicts is None:  # No rollout's verdict to score a move that ends the game: ask the judge.
      any_ends = ends.any()
      if batch_axis is not None:
        any_ends = jax.lax.psum(any_ends.astype(jnp.int32), batch_axis) > 0
      verdicts = jax.lax.cond(
        any_ends,
        lambda: jax.vmap(lambda s: game.verdict(judge_params, s))(new),
        lambda: jnp.zeros((action.shape[0], game.num_players), jnp.float32),
      )
    reward = jnp.where(ends, jnp.take_along_axis(verdicts, movers[:, None], axis=1)[:, 0], 0.0)
    output = mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior, value=value)
    return output, new_core

  return fn


def puct(
  game, key, state, judge_params, *, simulations: int, batch_axis=None, evaluator=None, c_puct: float = 1.0
) -> tuple[chex.Array, chex.Array]:
  """`simulations` PUCT simulations (constant `c_puct`) from one game's `state` with `evaluator` (default
  `rollouts`): (root visit counts [A] float32, root value [] for the player to move). The tree is cut at
  game.moves_left(state)."""
  evaluator = evaluator or rollouts
  search_key, root_key = jax.random.split(key)
  constants, core = game.split_constants(jax.tree.map(lambda a: a[None], state))
  prior, value, _ = evaluator(game, root_key, state, judge_params, None)  # The root's value.
  output = puct_search(
    (judge_params, None, constants),
    search_key,
    mctx.RootFnOutput(prior_logits=prior[None], value=value[None], embedding=core),
    recurrent_fn(game, evaluator, batch_axis),
    num_simulations=simulations,
    max_depth=jnp.maximum(game.moves_left(state), 1),
    depth_bound=game.max_moves + 1,
    c_puct=c_puct,
    invalid_actions=~game.legal_actions(state)[None],
  )
  summary = output.search_tree.summary()
  return summary.visit_counts[0].astype(jnp.float32), summary.value[0]


def gumbel(
  game,
  key,
  states,
  judge_params,
  agent_params,
  *,
  evaluator: NetworkEvaluator,
  simulations: int,
  considered_actions: int,
  gumbel_scale: float = 1.0,
  batch_axis: str | None = None,
) -> mctx.PolicyOutput:
  """Gumbel MuZero search from `states` ([B] each) with the network `evaluator`: `action` [B] (sampled with
  Gumbel noise; with gumbel_scale 0 the search's best) and `action_weights` [B, A] (the self-play target).
  The tree is cut at the largest game.moves_left of the batch."""
  constants, core = jax.vmap(game.split_constants)(states)
  prior, value, _ = jax.vmap(lambda s: evaluator(game, None, s, judge_params, agent_params))(states)
  with fixed_depth_backward(game.max_moves + 1):
    return mctx.gumbel_muzero_policy(
      params=(judge_params, agent_params, constants),
      rng_key=key,
      root=mctx.RootFnOutput(prior_logits=prior, value=value, embedding=core),
      recurrent_fn=recurrent_fn(game, evaluator, batch_axis),
      num_simulations=simulations,
      invalid_actions=~jax.vmap(game.legal_actions)(states),
      max_depth=jnp.maximum(jax.vmap(game.moves_left)(states).max(), 1),
      max_num_considered_actions=min(considered_actions, game.num_actions),
      gumbel_scale=gumbel_scale,
    )
