"""Playing any game of the interface (`debate.games.base`): the game loop, written once.

`play(game, instance, policies, key, judge_params, agent_params)` plays a game from `game.init(key, instance)`
to the end in a `lax.while_loop` (no Python per move), so it is jit- and vmap-able; `policies[p]` (see
`debate.agents.policies`) moves for player p with `agent_params[p]`; move t uses the key fold_in(key, t).
Each policy's `plan` is made once, before the first move, with the key fold_in(key, 2**31 - 1 - p) for
player p (never a move's key).

Under `vmap` the player to move is batched, so choosing between two different policies would run both for
every game (a select). With `batch_axis` (the vmap axis name of the games) each distinct policy instead runs
under a `lax.cond` on "some game of the batch has this player to move" (a psum over the axis), so games
whose turns are aligned (alternating debates) pay for one policy per move.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from debate.games.base import Game

_PLAN_KEY = 2**31 - 1


@chex.dataclass(frozen=True)
class Outcome:
  """A finished game.

  state: the final state. actions, players: [max_moves] int32, each move's action and mover (-1 after the
  end). records: {name: [max_moves]} the game's `move_record` of each move (-1 after the end).
  num_moves: [] int32. payoff: [num_players] float32, the judge's verdict (game.verdict).
  """

  state: object
  actions: chex.Array
  players: chex.Array
  records: dict
  num_moves: chex.Array
  payoff: chex.Array


def _act(policies, plans, key, game: Game, state, judge_params, agent_params, batch_axis) -> chex.Array:
  """The action of policies[current player]: [] int32. Players with equal policies and no params share one
  branch; a policy with params (a network) gets a branch per player, as their params may differ."""
  seat = lambda p: policies[p] if agent_params[p] is None else (policies[p], p)
  branches = list(dict.fromkeys(seat(p) for p in game.movers))

  def run(branch):
    p = next(q for q in game.movers if seat(q) == branch)
    action = policies[p](key, game, state, judge_params, agent_params[p], plans[p], batch_axis=batch_axis)
    return jnp.asarray(action, jnp.int32)

  if len(branches) == 1:
    return run(branches[0])
  owner = jnp.asarray([branches.index(seat(p)) if p in game.movers else 0 for p in range(len(policies))])
  owner = owner[game.current_player(state)]
  if batch_axis is None:
    return jax.lax.switch(owner, [lambda b=b: run(b) for b in branches])
  action = jnp.int32(0)
  for i, branch in enumerate(branches):
    needed = jax.lax.psum((owner == i).astype(jnp.int32), batch_axis) > 0
    mine = jax.lax.cond(needed, lambda b=branch: run(b), lambda: jnp.int32(0))
    action = jnp.where(owner == i, mine, action)
  return action


def play(
  game: Game, instance, policies, key: chex.PRNGKey, judge_params, agent_params=None, *, batch_axis=None, state=None
):
  """One whole game on `instance`, until it ends or `game.max_moves` moves were made: an `Outcome`.

  policies: a tuple of `game.num_players` policies (static); agent_params: a tuple of their params (None:
  none has any); state: the game's first state (default `game.init(key, instance)`; a protocol that sets up
  the game itself, e.g. open consultancy's chosen side, passes it). Keys: see the module docstring."""
  policies = tuple(policies)
  if len(policies) != game.num_players:
    raise ValueError(f'{type(game).__name__} has {game.num_players} players, got {len(policies)} policies')
  agent_params = (None,) * len(policies) if agent_params is None else tuple(agent_params)
  state = game.init(key, instance) if state is None else state
  plans = tuple(
    policy.plan(jax.random.fold_in(key, _PLAN_KEY - p), game, state, judge_params, agent_params[p])
    if p in game.movers
    else None
    for p, policy in enumerate(policies)
  )
  empty = jnp.full((game.max_moves,), -1, jnp.int32)
  template = jax.eval_shape(lambda: game.move_record(state, jnp.int32(0)))
  records = {name: jnp.full((game.max_moves,), -1, leaf.dtype) for name, leaf in template.items()}

  def running(carry):
    t, state = carry[:2]
    return (t < game.max_moves) & ~game.terminal(state)

  def move(carry):
    t, state, actions, players, records = carry
    action = _act(policies, plans, jax.random.fold_in(key, t), game, state, judge_params, agent_params, batch_axis)
    record = game.move_record(state, action)
    records = {name: records[name].at[t].set(record[name]) for name in records}
    players = players.at[t].set(game.current_player(state))
    return t + 1, game.step(state, action), actions.at[t].set(action), players, records

  carry = (jnp.int32(0), state, empty, empty, records)
  num_moves, final, actions, players, records = jax.lax.while_loop(running, move, carry)
  return Outcome(
    state=final,
    actions=actions,
    players=players,
    records=records,
    num_moves=num_moves,
    payoff=game.verdict(judge_params, final),
  )
