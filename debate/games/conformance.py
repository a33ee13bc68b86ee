"""The conformance test every game of the interface passes (the spirit of `pgx.api_test`): a task's test file
calls `api_test(game, instance, key, judge_params)` on its games (tests/test_protocols.py for chain,
tests/test_image_protocols.py for images, tests/test_games.py for the example game)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from debate.agents import policies
from debate.games import play

NUM_GAMES = 8


def _shapes(tree):
  return jax.tree.map(lambda a: (a.shape, a.dtype), jax.eval_shape(lambda: tree))


def _same(a, b) -> bool:
  return bool(jax.tree.all(jax.tree.map(jnp.array_equal, a, b)))


def api_test(game, instance, key, judge_params, *, network: tuple[int, int] | None = None) -> None:
  """Asserts what every game promises: jit and vmap work; shapes and dtypes are static; the same key gives
  the same game; random play ends within max_moves with verdicts in range and moves that replay; illegal
  actions are no-ops; moves_left bounds the moves to come; rollouts end the game; the constant fields split
  off and back; `result` gives `correct` and `verdict`. With `network` = (width, depth), the game's network
  maps an observation to (logits [A], value [])."""
  init_key, play_key, step_key = jax.random.split(key, 3)
  state = jax.jit(game.init)(init_key, instance)
  legal = jax.jit(game.legal_actions)(state)
  assert legal.shape == (game.num_actions,) and legal.dtype == jnp.bool_
  player = jax.jit(game.current_player)(state)
  assert player.shape == () and player.dtype == jnp.int32 and 0 <= int(player) < game.num_players
  assert jax.jit(game.terminal)(state).dtype == jnp.bool_
  jax.jit(game.judge_view)(state)
  verdict = jax.jit(game.verdict)(judge_params, state)
  assert verdict.shape == (game.num_players,) and verdict.dtype == jnp.float32
  assert game.movers and set(game.movers) <= set(range(game.num_players))

  # The state's structure, shapes and dtypes are static: a step (legal or not) never changes them.
  step = jax.jit(game.step)
  action = policies.Random()(step_key, game, state, judge_params, None, None)
  assert _shapes(step(state, action)) == _shapes(state)

  # Illegal actions are no-ops: out of range, not legal, or in a finished game.
  for bad in [-1, game.num_actions] + [int(a) for a in np.flatnonzero(~np.asarray(legal))[:2]]:
    assert _same(step(state, bad), state), bad

  # Random play under jit and vmap: every game ends within max_moves, with verdicts in range.
  players = (policies.Random(),) * game.num_players
  keys = jax.random.split(play_key, NUM_GAMES)
  instances = jax.tree.map(lambda a: jnp.broadcast_to(a, (NUM_GAMES,) + a.shape), instance)
  batch = jax.jit(jax.vmap(lambda i, k: play.play(game, i, players, k, judge_params)))(instances, keys)
  assert bool(jax.vmap(game.terminal)(batch.state).all())
  assert int(batch.num_moves.max()) <= min(game.max_moves, int(jax.jit(game.moves_left)(state)))
  assert batch.actions.shape == (NUM_GAMES, game.max_moves) and batch.payoff.shape == (NUM_GAMES, game.num_players)
  assert bool((jnp.abs(batch.payoff) <= 1).all())
  assert not bool(jax.vmap(game.legal_actions)(batch.state).any())
  final = jax.tree.map(lambda a: a[0], batch.state)
  assert _same(step(final, 0), final)
  outcome, _ = jax.jit(game.result)(judge_params, final, jax.tree.map(lambda a: a[0], batch))
  assert outcome['correct'].dtype == jnp.bool_ and outcome['verdict'].dtype == jnp.int32

  # The same key gives the same game, batched or not; its moves were legal and replay to its final state.
  run = jax.jit(functools.partial(play.play, game, policies=players))
  one = run(instance, key=keys[0], judge_params=judge_params)
  for got in (run(instance, key=keys[0], judge_params=judge_params), jax.tree.map(lambda a: a[0], batch)):
    assert _same(one, got)
  replayed = jax.jit(game.init)(keys[0], instance)
  for t in range(int(one.num_moves)):
    assert bool(game.legal_actions(replayed)[one.actions[t]])
    replayed = step(replayed, one.actions[t])
  assert _same(replayed, one.state)

  # A random continuation ends the game; a finished game's is itself; the constant fields split off and back.
  assert bool(game.terminal(jax.jit(game.rollout)(step_key, state)))
  assert _same(game.rollout(step_key, final), final)
  constants, core = game.split_constants(state)
  assert _same(core.replace(**constants), state)

  if network is not None:
    observation = jax.jit(game.observe)(state)
    module = game.network(*network)
    logits, value = module.apply(module.init(key, observation), observation)
    assert logits.shape == (game.num_actions,) and value.shape == ()
