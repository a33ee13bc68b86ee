"""Chain bisection debate (Brown-Cohen, Irving & Piliouras 2023) on the game interface, judged by a step checker.

The dynamics and the verdict are those of `debate.games.bisection`; this module only says whose turn it is.
Player 0 is the honest debater (it claims the true answer x_T), player 1 the liar (it claims
`instance.wrong`). Each bisection round is two moves: the honest debater states x_mid, then the liar does;
an action is a value in Z_m (A = m). The honest debater's only legal move is the truth (its claims are
forced, as the bisection protocol has it), so any policy plays it; the liar may state any value (stating
the truth = agreeing). The dispute narrows after the liar's move; the game ends when it is a single step,
after at most 2 ceil(log2 T) moves, and the checker picks between the two claimed results of that step.
The instance may be padded (`debate.tasks.chain`): the game lasts the rounds of its own length T.

Key: unused (the game has no chance moves).
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from debate.agents import chain as agents
from debate.games import base, bisection
from debate.tasks.chain import ChainInstance
from judges import chain_checkers

HONEST, LIAR = 0, 1


@chex.dataclass(frozen=True)
class ChainState:
  """instance: the ChainInstance (fields as there); dispute: the bisection state; num_moves: [] int32."""

  instance: ChainInstance
  dispute: bisection.BisectionState
  num_moves: chex.Array


@dataclasses.dataclass(frozen=True)
class ChainDebate(base.Game):
  """Bisection debate on chains of up to `max_length` steps (static), judged by `checker` (its params: the
  judge params of `verdict`)."""

  checker: chain_checkers.StepChecker
  max_length: int

  @property
  def num_actions(self) -> int:
    return self.checker.modulus

  @property
  def max_moves(self) -> int:
    return 2 * bisection.num_rounds(self.max_length)

  @property
  def num_players(self) -> int:
    return 2

  def init(self, key, instance: ChainInstance) -> ChainState:
    del key
    if instance.max_length != self.max_length:
      raise ValueError(f'instance padded to {instance.max_length} steps, game compiled for {self.max_length}')
    return ChainState(instance=instance, dispute=bisection.init(instance), num_moves=jnp.int32(0))

  def current_player(self, state: ChainState) -> chex.Array:
    return state.num_moves % 2

  def terminal(self, state: ChainState) -> chex.Array:
    return state.dispute.done

  def _legal_actions(self, state: ChainState) -> chex.Array:
    truth = bisection.honest_claim(state.dispute, state.instance)
    values = jnp.arange(self.num_actions, dtype=jnp.int32)
    return (self.current_player(state) == LIAR) | (values == truth)

  def _apply(self, state: ChainState, action: chex.Array) -> ChainState:
    liar_moved = bisection.step(state.dispute, action, state.instance)
    liar_to_move = self.current_player(state) == LIAR
    dispute = jax.tree.map(lambda new, old: jnp.where(liar_to_move, new, old), liar_moved, state.dispute)
    return ChainState(instance=state.instance, dispute=dispute, num_moves=state.num_moves + 1)

  def judge_view(self, state: ChainState) -> dict:
    """The disputed step: x_in, honest_y, liar_y: [] int32; op: [2] int32 (the checker never sees the trace)."""
    x, op, honest_y, liar_y = bisection.disputed_step(state.dispute, state.instance)
    return {'x_in': x, 'op': op, 'honest_y': honest_y, 'liar_y': liar_y}

  def verdict(self, judge_params, state: ChainState) -> chex.Array:
    """[2] float32: (+1, -1) if the checker picks the honest claim of the disputed step, else (-1, +1)."""
    liar_won = bisection.liar_wins(state.dispute, state.instance, self.checker, judge_params)
    return jnp.where(liar_won, jnp.float32(-1.0), 1.0) * jnp.array([1.0, -1.0], jnp.float32)


@dataclasses.dataclass(frozen=True)
class RandomLiar:
  """The existing random liar of `debate.agents.chain` (agree with probability 1/2, else a random false value) as a
  policy of the liar's moves: `policy(key, game, state, judge_params) -> [] int32`."""

  def __call__(self, key, game: ChainDebate, state: ChainState, judge_params) -> chex.Array:
    del judge_params
    return agents.random_claim(key, state.dispute, state.instance, game.checker.modulus)


@dataclasses.dataclass(frozen=True)
class OracleLiar:
  """The existing oracle liar of `debate.agents.chain` (steers the dispute to the reachable step the judge gets
  most wrong) as a policy of the liar's moves. It re-plans at every move (T m judge calls a move)."""

  def __call__(self, key, game: ChainDebate, state: ChainState, judge_params) -> chex.Array:
    del key
    plan = agents.oracle_target(state.instance, game.checker, judge_params)
    return agents.oracle_claim(plan, state.dispute, state.instance, game.checker.modulus)
