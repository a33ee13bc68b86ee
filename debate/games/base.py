"""The game interface every task implements: pure functions of frozen states, explicit keys, static sizes.

A game is a frozen (hashable) dataclass that holds what is static for a compiled game (sizes, the judge's
architecture, options); it is passed to `jax.jit` as a static argument, so one compilation serves every
instance, key and parameter value (judge and agents). Its state is a frozen pytree (`chex.dataclass`) that
carries the instance it was built from, so `step` needs nothing but the state and the action. All methods
act on ONE game; batch them with `jax.vmap`.

Static sizes (Python ints): `num_actions` = A, `max_moves` (no game lasts longer), `num_players` = P.

Required (shapes for one game):
  init(key, instance) -> state          key: a PRNG key (games without chance ignore it).
  current_player(state) -> [] int32     in [0, P), the player to move.
  terminal(state) -> [] bool
  judge_view(state) -> pytree           what the judge sees of the game (of a finished game: the evidence it
                                        decides on); never the hidden ground truth.
  verdict(judge_params, state) -> [P] float32 in [-1, 1]: each player's outcome under the judge's decision
                                        (+1 won, -1 lost); meaningful for terminal states.
  result(judge_params, state) -> dict   the outcome fields of a finished game for records: at least
                                        'correct' ([] bool: the judge's verdict is the true answer) and
                                        'verdict' ([] int32: the answer the judge settles on).
  _legal_actions(state) -> [A] bool     the moves the rules allow in a non-terminal state.
  _apply(state, action) -> state        the move, assumed legal.

Provided: legal_actions(state) (all False once terminal) and step(state, action). Illegal actions are no-ops:
`step` returns the state unchanged when the action is out of range, not legal, or the game is over.

Optional, with defaults that suit most games:
  movers: tuple[int, ...]               the players who ever move; default all.
  moves_left(state) -> [] int32         a bound on the moves still to come (the search depth); default
                                        max_moves. Exact bounds keep searches independent of padding.
  random_action(key, state) -> [] int32 the game's random player (the `random` agent, and the moves of
                                        rollouts): a legal action of a non-terminal state; default uniform
                                        over the legal actions.
  rollout(key, state) -> state          a random continuation to the end (move t with fold_in(key, t)); a
                                        finished state is returned unchanged.
  position_value(key, judge_params, state) -> [P] float32: how good the position is for each player, what
                                        the `greedy` agent maximises; default the verdict after one rollout.
                                        Games whose judge can read an unfinished game override it.
  move_record(state, action) -> dict    transcript fields of one move ([] arrays); default {}.
  constant_fields: tuple[str, ...]      state fields that never change during a game (the instance):
                                        searches keep them out of their trees (one copy per search, not one
                                        per node).

For learned agents (no default): observe(state) -> pytree, network(width, depth) -> flax Module mapping an
observation to (logits [A], value [] in [-1, 1] for the mover).
"""

from __future__ import annotations

import abc

import chex
import jax
import jax.numpy as jnp


class Game(abc.ABC):
  """Base class of games; subclasses are frozen dataclasses. See the module docstring."""

  constant_fields: tuple[str, ...] = ()
  num_actions: int  # The static sizes (fields, class attributes or properties of a game).
  max_moves: int
  num_players: int

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
  def result(self, judge_params, state) -> dict: ...

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
    constants, old = self.split_constants(state)  # Constant fields need no select.
    new = self.split_constants(self._apply(state, index))[1]
    return jax.tree.map(lambda n, o: jnp.where(legal, n, o), new, old).replace(**constants)

  @property
  def movers(self) -> tuple[int, ...]:
    """The players who ever move (the others' policies are never asked)."""
    return tuple(range(self.num_players))

  def moves_left(self, state) -> chex.Array:
    return jnp.int32(self.max_moves)

  def random_action(self, key: chex.PRNGKey, state) -> chex.Array:
    legal = self.legal_actions(state)
    return jnp.argmax(jnp.where(legal, jax.random.uniform(key, legal.shape), -1.0)).astype(jnp.int32)

  def rollout(self, key: chex.PRNGKey, state):
    def body(carry):  # The random player's moves are legal: applied without step's checks.
      t, state = carry
      return t + 1, self._apply(state, self.random_action(jax.random.fold_in(key, t), state))

    running = lambda carry: (carry[0] < self.max_moves) & ~self.terminal(carry[1])
    return jax.lax.while_loop(running, body, (jnp.int32(0), state))[1]

  def position_value(self, key: chex.PRNGKey, judge_params, state) -> chex.Array:
    return self.verdict(judge_params, self.rollout(key, state))

  def move_record(self, state, action: chex.Array) -> dict:
    return {}

  def split_constants(self, state):
    """(constants, core): the state's `constant_fields` and the state without them (None in their place);
    `core.replace(**constants)` joins them again."""
    constants = {name: getattr(state, name) for name in self.constant_fields}
    return constants, state.replace(**{name: None for name in self.constant_fields})
