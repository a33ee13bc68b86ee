"""The recursive-bisection debate game on one chain instance, as a functional environment.

Brown-Cohen, Irving & Piliouras 2023: the honest debater claims the true answer x_T, the liar the wrong
candidate. They agree on x_lo and disagree on x_hi (initially lo = 0, hi = T). Each round both state x_mid
for mid = (lo + hi) // 2: the honest debater states the truth; the liar states any value in Z_m (its action).
If they agree, the dispute moves to [mid, hi], otherwise to [lo, mid]. When hi = lo + 1 the judge sees the
single step (x_lo, a_hi) with the two claimed results and picks the one it scores higher.

The honest debater is deterministic, so the game is a one-player search problem for the liar: its action
space is Z_m (claiming the true value = agreeing), and a game lasts at most `num_rounds(T)` = ceil(log2 T)
rounds. States are absorbing once the dispute is a single step. Everything acts on one game; vmap to batch.
Loops over rounds are `while_loop`s that stop when the game is done, so a padded instance (see
`debate.tasks.chain`) costs the rounds of its own length, not of the padding.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp

from debate.tasks.chain import ChainInstance
from judges import chain_checkers


@chex.dataclass(frozen=True)
class BisectionState:
  """lo, hi: [] int32 bounds of the disputed interval; liar_hi: [] int32, the liar's claim for x_hi."""

  lo: chex.Array
  hi: chex.Array
  liar_hi: chex.Array

  @property
  def done(self) -> chex.Array:
    return self.hi - self.lo <= 1

  @property
  def mid(self) -> chex.Array:
    return (self.lo + self.hi) // 2


def num_rounds(length: int) -> int:
  """The most rounds any bisection of a chain of `length` steps can take: ceil(log2 T)."""
  return math.ceil(math.log2(length)) if length > 1 else 0


def rounds_left(state: BisectionState) -> chex.Array:
  """The most rounds the dispute [lo, hi] can still take: ceil(log2(hi - lo)), exact in integers: [] int32."""
  span = jnp.maximum(state.hi - state.lo, 1)
  return jnp.sum(((span - 1) >> jnp.arange(31, dtype=jnp.int32)) > 0).astype(jnp.int32)


def init(instance: ChainInstance) -> BisectionState:
  return BisectionState(lo=jnp.int32(0), hi=instance.length, liar_hi=instance.wrong)


def step(state: BisectionState, liar_claim: chex.Array, instance: ChainInstance, split=None) -> BisectionState:
  """One round: the liar states `liar_claim` for x_split (default: the midpoint), the honest debater the
  truth. A finished state is returned unchanged."""
  split = state.mid if split is None else split
  agree = liar_claim == instance.trace[split]
  new = BisectionState(
    lo=jnp.where(agree, split, state.lo),
    hi=jnp.where(agree, state.hi, split),
    liar_hi=jnp.where(agree, state.liar_hi, liar_claim),
  )
  return jax.tree.map(lambda old, new: jnp.where(state.done, old, new), state, new)


def disputed_step(state: BisectionState, instance: ChainInstance):
  """The step the judge decides at the end: (x_in, op, honest_y, liar_y), each [] or [2] int32."""
  return (instance.trace[state.lo], instance.ops[state.hi - 1], instance.trace[state.hi], state.liar_hi)


def liar_wins(
  state: BisectionState, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params
) -> chex.Array:
  """Whether the judge picks the liar's claim on the disputed step of a finished game: [] bool."""
  x, op, honest_y, liar_y = disputed_step(state, instance)
  return chain_checkers.prefers_second(checker, judge_params, x, op, honest_y, liar_y)
