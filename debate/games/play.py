"""Playing any game of the interface (`debate.games.base`): the game loop and generic policies.

A policy is a frozen (hashable) callable `policy(key, game, state, judge_params) -> [] int32`, the action
for the player to move in `state`. Policies have full access to the judge, as in Irving et al. 2018.
Generic ones, written once over the interface:
- `Random()`: a uniformly random legal action.
- `Greedy()`: one-step lookahead with the judge: each legal action is valued by the judge's verdict, for the
  mover, of one random continuation of the game after it (exact when the action ends the game); the best
  is played, ties broken at random.
- `MCTS(budget)`: `budget` PUCT simulations with `mctx` (`debate.agents.search.puct_search`: c_puct = 1, uniform
  prior over the legal actions, illegal ones masked at the root and below), with ONE recurrent function over
  the interface: step the game; the reward of a move that ends the game is the judge's verdict for the
  mover; a leaf is valued by one random continuation; the discount is -1 when the turn passes to another
  player and +1 when the same player moves again (one-player games, zero-sum two-player games). The move
  is the most visited action, ties broken at random.

`play(game, instance, policies, key, judge_params)` runs a whole game in a `lax.while_loop` (no Python per
move), so it is jit- and vmap-able; `policies[p]` moves for player p. Under `vmap` the player to move is
batched and `lax.switch` runs every distinct policy each move (select); pass the same policy for every
player to pay for one.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import mctx

from debate.agents import search as mcts
from debate.games.base import Game


@chex.dataclass(frozen=True)
class Outcome:
  """A finished game.

  state: the final state. actions, players: [max_moves] int32, each move's action and mover (-1 after the
  end). num_moves: [] int32. payoff: [num_players] float32, the judge's verdict (game.verdict).
  """

  state: object
  actions: chex.Array
  players: chex.Array
  num_moves: chex.Array
  payoff: chex.Array


def _act(policies, key, game: Game, state, judge_params) -> chex.Array:
  """The action of policies[current player]: [] int32."""
  distinct = list(dict.fromkeys(policies))
  if len(distinct) == 1:
    return jnp.asarray(distinct[0](key, game, state, judge_params), jnp.int32)
  branch = jnp.asarray([distinct.index(p) for p in policies], jnp.int32)[game.current_player(state)]
  branches = [lambda p=p: jnp.asarray(p(key, game, state, judge_params), jnp.int32) for p in distinct]
  return jax.lax.switch(branch, branches)


def continue_game(game: Game, state, policies, key: chex.PRNGKey, judge_params) -> Outcome:
  """Plays from `state` until the game ends or `game.max_moves` moves were made in all; move t of this call
  uses the key fold_in(key, t)."""
  empty = jnp.full((game.max_moves,), -1, jnp.int32)

  def running(carry):
    t, state, _, _ = carry
    return (t < game.max_moves) & ~game.terminal(state)

  def move(carry):
    t, state, actions, players = carry
    action = _act(policies, jax.random.fold_in(key, t), game, state, judge_params)
    players = players.at[t].set(game.current_player(state))
    return t + 1, game.step(state, action), actions.at[t].set(action), players

  num_moves, final, actions, players = jax.lax.while_loop(running, move, (jnp.int32(0), state, empty, empty))
  return Outcome(
    state=final, actions=actions, players=players, num_moves=num_moves, payoff=game.verdict(judge_params, final)
  )


def play(game: Game, instance, policies, key: chex.PRNGKey, judge_params) -> Outcome:
  """One whole game on `instance`: policies: a tuple of `game.num_players` policies (static); key: a PRNG key.

  The game's init uses fold_in(key, 0), the moves fold_in(key, 1) (see `continue_game`)."""
  if len(policies) != game.num_players:
    raise ValueError(f'{type(game).__name__} has {game.num_players} players, got {len(policies)} policies')
  state = game.init(jax.random.fold_in(key, 0), instance)
  return continue_game(game, state, tuple(policies), jax.random.fold_in(key, 1), judge_params)


def _random_action(key: chex.PRNGKey, legal: chex.Array) -> chex.Array:
  """legal: [A] bool -> a uniformly random legal action ([] int32; 0 if none is legal)."""
  return jnp.argmax(jnp.where(legal, jax.random.uniform(key, legal.shape), -1.0)).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class Random:
  def __call__(self, key, game: Game, state, judge_params) -> chex.Array:
    del judge_params
    return _random_action(key, game.legal_actions(state))


def rollout_value(key: chex.PRNGKey, game: Game, state, judge_params) -> chex.Array:
  """The judge's verdict for the player to move in `state` after one random continuation: [] float32."""
  outcome = continue_game(game, state, (Random(),), key, judge_params)
  return outcome.payoff[game.current_player(state)]


@dataclasses.dataclass(frozen=True)
class Greedy:
  def __call__(self, key, game: Game, state, judge_params) -> chex.Array:
    value_key, tie_key = jax.random.split(key)
    mover = game.current_player(state)

    def value(action, k):
      return continue_game(game, game.step(state, action), (Random(),), k, judge_params).payoff[mover]

    actions = jnp.arange(game.num_actions, dtype=jnp.int32)
    values = jax.vmap(value)(actions, jax.random.split(value_key, game.num_actions))
    values = jnp.where(game.legal_actions(state), values, -jnp.inf)
    return mcts.argmax_random_tiebreak(tie_key, values)


def _prior_logits(game: Game, state) -> chex.Array:
  """[A]: uniform over the legal actions, INVALID_LOGIT elsewhere."""
  return jnp.where(game.legal_actions(state), 0.0, mcts.INVALID_LOGIT)


def _recurrent_fn(game: Game):
  """The mctx model of any game: exact dynamics, terminal reward = the judge's verdict for the mover."""

  def recurrent_fn(judge_params, key, action, state):
    def one(key, action, state):
      new = game.step(state, action)
      mover, done = game.current_player(state), game.terminal(new)
      ends = done & ~game.terminal(state)
      reward = jnp.where(ends, game.verdict(judge_params, new)[mover], 0.0)
      value = jnp.where(done, 0.0, rollout_value(key, game, new, judge_params))
      same_player = game.current_player(new) == mover
      discount = jnp.where(done, 0.0, jnp.where(same_player, 1.0, -1.0))
      return reward, discount, value, _prior_logits(game, new), new

    keys = jax.random.split(key, action.shape[0])
    reward, discount, value, prior_logits, new = jax.vmap(one)(keys, action, state)
    return mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits, value=value), new

  return recurrent_fn


@dataclasses.dataclass(frozen=True)
class MCTS:
  budget: int

  def __post_init__(self):
    if self.budget < 1:
      raise ValueError(f'MCTS needs a budget >= 1 simulation, got {self.budget}')

  def search(self, key, game: Game, state, judge_params):
    """`budget` simulations from `state`: (root visit counts [A] float32, root value [] float32)."""
    search_key, rollout_key = jax.random.split(key)
    root = mctx.RootFnOutput(
      prior_logits=_prior_logits(game, state)[None],
      value=rollout_value(rollout_key, game, state, judge_params)[None],
      embedding=jax.tree.map(lambda a: a[None], state),
    )
    output = mcts.puct_search(
      judge_params,
      search_key,
      root,
      _recurrent_fn(game),
      num_simulations=self.budget,
      max_depth=game.max_moves,
      depth_bound=game.max_moves + 1,
      invalid_actions=~game.legal_actions(state)[None],
    )
    summary = output.search_tree.summary()
    return summary.visit_counts[0].astype(jnp.float32), summary.value[0]

  def __call__(self, key, game: Game, state, judge_params) -> chex.Array:
    search_key, tie_key = jax.random.split(key)
    visits, _ = self.search(search_key, game, state, judge_params)
    return mcts.argmax_random_tiebreak(tie_key, jnp.where(game.legal_actions(state), visits, -1.0))
