"""A tiny example of a task on the platform: two debaters reveal bits of a hidden vector. This file is what a
new task costs: a game (`BitsDebate`) and a batch player for the runner (`BitsPlayer`); the agents, search,
protocols, runner and records are the platform's (tests/test_games.py runs it through all of them).

The instance is a hidden bit vector `bits: [n] bool`; the question is whether it has more ones than zeros.
Player 0 argues "yes", player 1 "no"; the key draws who moves first. Each move reveals one hidden bit
(A = n actions, an action is a bit index, revealed bits are illegal), `k` moves in all. The judge sees the
revealed positions and values and says "yes" iff its score (revealed ones - revealed zeros + bias) > 0,
with its params `bias: [] float32` (its prior); it can read an unfinished game too, so a position's value
is each side's score margin.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from debate.agents import policies
from debate.games import base
from protocols import debate


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

  def position_value(self, key, judge_params, state: BitsState) -> chex.Array:
    """[2] float32: the judge's score for "yes" (player 0) and its negative."""
    view = self.judge_view(state)
    score = 2 * view[:, 1].sum() - view[:, 0].sum() + judge_params
    return jnp.stack([score, -score]).astype(jnp.float32)

  def verdict(self, judge_params, state: BitsState) -> chex.Array:
    """[2] float32: (+1, -1) if the judge says "yes", else (-1, +1)."""
    return jnp.where(self.position_value(None, judge_params, state) > 0, 1.0, -1.0)

  def result(self, judge_params, state: BitsState, moves) -> tuple[dict, dict]:
    """Outcome: correct (the judge's answer is the truth), verdict (1: "yes"); transcript: bits and moves."""
    says_yes = self.verdict(judge_params, state)[0] > 0
    truth = 2 * state.bits.sum() > self.num_bits
    outcome = {'correct': says_yes == truth, 'verdict': says_yes.astype(jnp.int32)}
    return outcome, {'bits': state.bits, 'revealed': moves.actions}


@dataclasses.dataclass(frozen=True)
class BitsPlayer:
  """The runner's batch player (debate.rollouts.runner): game `index` of a cell. Its bits are drawn from
  (seed, index) only; `agents` are the two debaters' policies."""

  game: BitsDebate
  agents: tuple[policies.Policy, policies.Policy]

  def __call__(self, index, seed_key, bias):
    instance_key, play_key = jax.random.split(jax.random.fold_in(seed_key, index))
    bits = jax.random.bernoulli(instance_key, 0.5, (self.game.num_bits,))
    return debate.play(play_key, self.game, bits, self.agents, bias, batch_axis='games')
