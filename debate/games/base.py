"""The game interface every task implements: pure functions of frozen states, explicit keys, static sizes.

A game is a frozen (hashable) dataclass that holds what is static for a compiled game (sizes, the judge's
model, options); it is passed to `jax.jit` as a static argument, so one compilation serves every instance,
key and judge parameter value. Its state is a frozen pytree (a `chex.dataclass(frozen=True)`) that carries
the instance it was built from, so `step` needs nothing but the state and the action. All methods act on
ONE game; batch them with `jax.vmap`.

Static sizes (Python ints): `num_actions` = A, `max_moves` (no game lasts longer), `num_players` = P.

Methods (shapes for one game):
  init(key, instance) -> state          key: a PRNG key (games without chance ignore it).
  step(state, action) -> state          action: [] int32 in [0, A).
  legal_actions(state) -> [A] bool      all False once the game is terminal.
  current_player(state) -> [] int32     in [0, P), the player to move.
  terminal(state) -> [] bool
  judge_view(state) -> pytree           what the judge sees of the game (for a finished game: the evidence
                                        it decides on); never the hidden ground truth.
  verdict(judge_params, state) -> [P] float32 in [-1, 1]: each player's outcome under the judge's decision
                                        (+1 won, -1 lost); meaningful for terminal states.

Illegal actions are no-ops: `step` returns the state unchanged (the same player is still to move) when the
action is out of range, not legal, or the game is over. The rule is enforced here, once, for every game:
a game implements `_legal_actions` and `_apply` (the move, assumed legal) and inherits `legal_actions` and
`step`.
"""

from __future__ import annotations

import abc

import chex
import jax
import jax.numpy as jnp


class Game(abc.ABC):
  """Base class of games; subclasses are frozen dataclasses. See the module docstring."""

  @property
  @abc.abstractmethod
  def num_actions(self) -> int: ...

  @property
  @abc.abstractmethod
  def max_moves(self) -> int: ...

  @property
  @abc.abstractmethod
  def num_players(self) -> int: ...

  @abc.abstractmethod
  def init(self, key: chex.PRNGKey, instance): ...

  @abc.abstractmethod
  def current_player(self, state) -> chex.Array: ...

  @abc.abstractmethod
  def terminal(self, state) -> chex.Array: ...

  @abc.abstractmethod
  def judge_view(self, state): ...

  @abc.abstractmethod
  def verdict(self, judge_params, state) -> chex.Array: ...

  @abc.abstractmethod
  def _legal_actions(self, state) -> chex.Array:
    """[A] bool: the moves the rules allow in a non-terminal `state`."""

  @abc.abstractmethod
  def _apply(self, state, action: chex.Array):
    """The state after the legal `action` ([] int32)."""

  def legal_actions(self, state) -> chex.Array:
    """[A] bool: the legal moves; all False in a terminal state."""
    return self._legal_actions(state) & ~self.terminal(state)

  def step(self, state, action: chex.Array):
    """The state after `action` ([] int); `state` itself if the action is illegal (a no-op)."""
    action = jnp.asarray(action, jnp.int32)
    in_range = (action >= 0) & (action < self.num_actions)
    index = jnp.clip(action, 0, self.num_actions - 1)
    legal = in_range & self.legal_actions(state)[index]
    new = self._apply(state, index)
    return jax.tree.map(lambda n, o: jnp.where(legal, n, o), new, state)
