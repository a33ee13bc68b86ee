"""A tiny example of a task on the game interface: two debaters reveal bits of a hidden vector.

The instance is a hidden bit vector `bits: [n] bool`; the question is whether it has more ones than zeros.
Player 0 argues "yes", player 1 "no"; the key draws who moves first. Each move reveals one hidden bit
(A = n actions, an action is a bit index, revealed bits are illegal), `k` moves in all. The judge sees the
revealed positions and values and says "yes" iff (revealed ones - revealed zeros + bias) > 0, with its
params `bias: [] float32` (its prior). This whole file is what a new task costs.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from debate.games import base


@chex.dataclass(frozen=True)
class BitsState:
  """bits: [n] bool hidden; revealed: [n] bool; num_moves: [] int32; first: [] int32, who made move 0."""

  bits: chex.Array
  revealed: chex.Array
  num_moves: chex.Array
  first: chex.Array


@dataclasses.dataclass(frozen=True)
class BitsDebate(base.Game):
  num_bits: int
  k: int

  def __post_init__(self):
    if not 1 <= self.k <= self.num_bits:
      raise ValueError(f'k must be in [1, num_bits={self.num_bits}], got {self.k}')

  num_actions = property(lambda self: self.num_bits)
  max_moves = property(lambda self: self.k)
  num_players = property(lambda self: 2)

  def init(self, key, instance: chex.Array) -> BitsState:
    first = jax.random.bernoulli(key).astype(jnp.int32)
    hidden = jnp.zeros((self.num_bits,), jnp.bool_)
    return BitsState(bits=jnp.asarray(instance, jnp.bool_), revealed=hidden, num_moves=jnp.int32(0), first=first)

  def current_player(self, state: BitsState) -> chex.Array:
    return (state.first + state.num_moves) % 2

  def terminal(self, state: BitsState) -> chex.Array:
    return state.num_moves >= self.k

  def _legal_actions(self, state: BitsState) -> chex.Array:
    return ~state.revealed

  def _apply(self, state: BitsState, action: chex.Array) -> BitsState:
    return state.replace(revealed=state.revealed.at[action].set(True), num_moves=state.num_moves + 1)

  def judge_view(self, state: BitsState) -> chex.Array:
    """[n, 2] bool: (revealed, revealed value)."""
    return jnp.stack([state.revealed, state.revealed & state.bits], axis=-1)

  def verdict(self, judge_params, state: BitsState) -> chex.Array:
    """[2] float32: (+1, -1) if the judge says "yes", else (-1, +1)."""
    view = self.judge_view(state)
    score = 2 * view[:, 1].sum() - view[:, 0].sum() + judge_params
    return jnp.where(score > 0, 1.0, -1.0) * jnp.array([1.0, -1.0], jnp.float32)
