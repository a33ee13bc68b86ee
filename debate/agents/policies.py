"""Agents written once over the game interface (`debate.games.base.Game`), for every task.

A policy is a frozen (hashable: a static argument of compiled games) callable

  policy(key, game, state, judge_params, agent_params, plan, *, batch_axis=None) -> [] int32 action

for the player to move in `state`. `agent_params` are its own parameters (a network's; None for the
others): data, not code, so one compilation serves every checkpoint of a network. `plan` is what
`policy.plan(...)` worked out once at the start of the game (None for most policies). `batch_axis` names the
vmap axis of the games when each game is searched on its own (see `debate.agents.search`).
`policy.estimate(key, game, state, judge_params, agent_params, *, batch_axis=None)` is the policy's own
estimate of its expected outcome from `state`, in [-1, 1] (the open protocols ask it which side to argue).

The agents (full access to the judge, as in Irving et al. 2018):
- `Random()`: the game's random player (`game.random_action`). Estimate: 0 (it has no model).
- `Greedy()`: one-step lookahead: each legal action is valued by `game.position_value` after it, for the
  mover (the verdict of one random continuation, or the judge's reading of the position where the judge can
  read an unfinished game), the best is played, ties broken at random. Estimate: the best value.
- `MCTS(budget)`: `mcts:B`, B PUCT simulations with the rollouts evaluator (`debate.agents.search`, which
  says exactly what it means), the most visited legal action, ties broken at random. Estimate: the root value.
- `Network(width, depth, simulations)`: a policy-value network of the game (`game.network`) with its params
  in `agent_params`: the argmax of its logits over the legal actions (deterministic), or with simulations
  S > 0 the move of an S-simulation Gumbel MuZero search with it (no Gumbel noise, min(S, A) actions
  considered at the root). Estimate: the network's value (or the search's root value).
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from debate.agents import search


@dataclasses.dataclass(frozen=True)
class Policy:
  """Base class; see the module docstring."""

  def plan(self, key, game, state, judge_params, agent_params):
    return None

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None) -> chex.Array:
    raise NotImplementedError

  def estimate(self, key, game, state, judge_params, agent_params, *, batch_axis=None) -> chex.Array:
    raise NotImplementedError(f'{type(self).__name__} has no estimate of its chances')


@dataclasses.dataclass(frozen=True)
class Random(Policy):
  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    return game.random_action(key, state)

  def estimate(self, key, game, state, judge_params, agent_params, *, batch_axis=None):
    return jnp.float32(0.0)


@dataclasses.dataclass(frozen=True)
class Greedy(Policy):
  @staticmethod
  def values(key, game, state, judge_params) -> chex.Array:
    """[A]: the mover's position value after each action; -inf for the illegal ones."""
    mover = game.current_player(state)
    actions = jnp.arange(game.num_actions, dtype=jnp.int32)
    after = lambda a, k: game.position_value(k, judge_params, game.step(state, a))[mover]
    values = jax.vmap(after)(actions, jax.random.split(key, game.num_actions))
    return jnp.where(game.legal_actions(state), values, -jnp.inf)

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    value_key, tie_key = jax.random.split(key)
    return search.argmax_random_tiebreak(tie_key, self.values(value_key, game, state, judge_params))

  def estimate(self, key, game, state, judge_params, agent_params, *, batch_axis=None):
    return jnp.max(self.values(key, game, state, judge_params))


@dataclasses.dataclass(frozen=True)
class MCTS(Policy):
  """`budget` PUCT simulations per move with exploration constant `c_puct`; `leaf`: the leaf evaluation
  (`search.leaf_evaluator`)."""

  budget: int
  leaf: str = ''
  c_puct: float = 1.0

  def __post_init__(self):
    if self.budget < 1:
      raise ValueError(f'MCTS needs a budget >= 1 simulation, got {self.budget}')
    search.leaf_evaluator(self.leaf)  # Checks the name.

  def _puct(self, key, game, state, judge_params, batch_axis):
    evaluator = search.leaf_evaluator(self.leaf)
    return search.puct(
      game,
      key,
      state,
      judge_params,
      simulations=self.budget,
      batch_axis=batch_axis,
      evaluator=evaluator,
      c_puct=self.c_puct,
    )

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    search_key, tie_key = jax.random.split(key)
    visits, _ = self._puct(search_key, game, state, judge_params, batch_axis)
    return search.argmax_random_tiebreak(tie_key, jnp.where(game.legal_actions(state), visits, -1.0))

  def estimate(self, key, game, state, judge_params, agent_params, *, batch_axis=None):
    return self._puct(key, game, state, judge_params, batch_axis)[1]


@dataclasses.dataclass(frozen=True)
class Network(Policy):
  width: int
  depth: int
  simulations: int = 0

  def __post_init__(self):
    if self.simulations < 0:
      raise ValueError(f'a network searches simulations >= 1 (or 0: its argmax), got {self.simulations}')

  @property
  def evaluator(self) -> search.NetworkEvaluator:
    return search.NetworkEvaluator(self.width, self.depth)

  def _search(self, key, game, state, judge_params, agent_params, batch_axis):
    return search.gumbel(
      game,
      key,
      jax.tree.map(lambda a: a[None], state),
      judge_params,
      agent_params,
      evaluator=self.evaluator,
      simulations=self.simulations,
      considered_actions=self.simulations,
      gumbel_scale=0.0,
      batch_axis=batch_axis,
    )

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    if agent_params is None:
      raise ValueError('a network agent plays with its params: the runner passes them (agent_params)')
    if self.simulations:
      return self._search(key, game, state, judge_params, agent_params, batch_axis).action[0].astype(jnp.int32)
    return jnp.argmax(self.evaluator(game, key, state, judge_params, agent_params)[0]).astype(jnp.int32)

  def estimate(self, key, game, state, judge_params, agent_params, *, batch_axis=None):
    if self.simulations:
      return self._search(key, game, state, judge_params, agent_params, batch_axis).search_tree.summary().value[0]
    return self.evaluator(game, key, state, judge_params, agent_params)[1]
