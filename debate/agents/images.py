"""Agents of the sparse-pixel game: which nonzero pixel to reveal next.

An agent is an `agents.AgentSpec` (kind and budget), as on `chain`:
- `random`: a uniformly random unrevealed nonzero pixel.
- `greedy`: one-step lookahead on the judge: the pixel after which the judge's logits favour the mover most
  (its margin, see `Roles.margin`), over what is revealed so far plus that pixel (A judge calls per move).
- `mcts:B`: B PUCT simulations per move with `mctx` (Irving et al. 2018): c_puct = 1, a uniform prior over the
  image's unrevealed nonzero pixels (every other action invalid, at the root and below), each leaf valued by
  one uniformly random completion of the game scored by the judge (win +1, loss -1 for the player to move),
  the move = the most visited pixel, ties broken at random. The agents have full access to the judge.
  Debate is zero-sum with alternating turns (mctx discount -1); consultancy has one player (discount +1).
- `az:STEP` / `az:STEP@S`: the self-play policy-value network of debate/training/selfplay_images.py at training step
  STEP (`budget` holds STEP), as the honest debater or the liar of precommit debate: the argmax of its policy,
  or with @S the move of an S-simulation Gumbel MuZero search with it (`simulations`). Its params ride on the
  spec (`policy`), attached by the image runner.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import mctx

from debate.agents import search as mcts
from debate.agents.chain import LiarSpec as AgentSpec
from debate.games import pixels as image_game
from debate.games.pixels import ImageGame, ImageState, Roles

IMAGE_AGENT_KINDS = ('random', 'greedy', 'mcts', 'az')


def _prior_logits(game: ImageGame, state: ImageState) -> chex.Array:
  """[A]: uniform over the valid actions, INVALID_LOGIT elsewhere."""
  return jnp.where(image_game.valid_actions(game, state), 0.0, mcts.INVALID_LOGIT)


def rollout_outcome(key, game: ImageGame, state: ImageState, judge, judge_params, roles: Roles):
  """One random completion of the game from `state`, judged: the outcome for the player to move, [] (+/-1)."""
  final = image_game.random_completion(key, game, state)
  logits = image_game.judge_logits(judge, judge_params, game, final)
  return roles.outcome(game, logits, state.num_revealed)


def _recurrent_fn(judge, roles: Roles, k: int):
  """The mctx model of the game: exact dynamics, terminal reward from the judge, leaves valued by a rollout."""

  def recurrent_fn(params, key, action, state):
    game, judge_params = params  # Leading axis of size 1 (one game per search).

    def one(key, action, state, game):
      new_state = image_game.step(state, game.candidates[action])
      done = new_state.num_revealed >= k
      final = image_game.random_completion(key, game, new_state)  # = new_state when done.
      logits = image_game.judge_logits(judge, judge_params, game, final)
      reward = jnp.where(done, roles.outcome(game, logits, state.num_revealed), 0.0)
      value = jnp.where(done, 0.0, roles.outcome(game, logits, new_state.num_revealed))
      discount = jnp.where(done, 0.0, roles.discount)
      return reward, discount, value, _prior_logits(game, new_state), new_state

    keys = jax.random.split(key, action.shape[0])
    reward, discount, value, prior_logits, new_state = jax.vmap(one)(keys, action, state, game)
    return mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits, value=value), new_state

  return recurrent_fn


def mcts_search(key, game: ImageGame, state: ImageState, judge, judge_params, roles: Roles, budget: int):
  """`budget` simulations from `state` for one game: (root visit counts [A] float32, root value [])."""
  k = state.revealed.shape[0]
  search_key, rollout_key = jax.random.split(key)
  batched = jax.tree.map(lambda a: a[None], (game, state))
  root = mctx.RootFnOutput(
    prior_logits=_prior_logits(game, state)[None],
    value=rollout_outcome(rollout_key, game, state, judge, judge_params, roles)[None],
    embedding=batched[1],
  )
  output = mcts.puct_search(
    (batched[0], judge_params),
    search_key,
    root,
    _recurrent_fn(judge, roles, k),
    num_simulations=budget,
    max_depth=k - state.num_revealed,
    depth_bound=k + 1,
    invalid_actions=~image_game.valid_actions(game, state)[None],
  )
  summary = output.search_tree.summary()
  return summary.visit_counts[0].astype(jnp.float32), summary.value[0]


def greedy_values(game: ImageGame, state: ImageState, judge, judge_params, roles: Roles) -> chex.Array:
  """[A]: the mover's judge margin after revealing each candidate pixel (-inf for invalid ones)."""

  def value(pixel):
    logits = image_game.judge_logits(judge, judge_params, game, image_game.step(state, pixel))
    return roles.margin(game, logits, state.num_revealed)

  values = jax.vmap(value)(game.candidates)
  return jnp.where(image_game.valid_actions(game, state), values, -jnp.inf)


def choose_pixel(
  agent: AgentSpec, key, game: ImageGame, state: ImageState, judge, judge_params, roles: Roles
) -> chex.Array:
  """The pixel (flat index) `agent` reveals next in `state`: [] int32. Unbatched; vmap over games."""
  if agent.kind == 'random':
    return image_game.random_pixel(key, game, state)
  if agent.kind == 'az':
    # Imported here: it needs flax and optax, which only az agents use.
    from debate.training import selfplay_images as image_selfplay

    return image_selfplay.az_pixel(agent, key, game, state, judge, judge_params, roles)
  search_key, tie_key = jax.random.split(key)
  if agent.kind == 'greedy':
    scores = greedy_values(game, state, judge, judge_params, roles)
  elif agent.kind == 'mcts':
    visits, _ = mcts_search(search_key, game, state, judge, judge_params, roles, agent.budget)
    scores = jnp.where(image_game.valid_actions(game, state), visits, -1.0)
  else:
    raise ValueError(f'unknown image agent {agent.kind!r}; expected one of {", ".join(IMAGE_AGENT_KINDS)}')
  return game.candidates[mcts.argmax_random_tiebreak(tie_key, scores)]


def parse_agent(spec: str) -> AgentSpec:
  """'random' | 'greedy' | 'mcts:B' | 'az:STEP' | 'az:STEP@S' -> AgentSpec; ValueError naming the problem."""
  kind, _, budget = spec.partition(':')
  if kind not in IMAGE_AGENT_KINDS:
    raise ValueError(
      f'unknown image agent {spec!r}; expected random, greedy, mcts:SIMULATIONS, az:STEP or az:STEP@SIMULATIONS'
    )
  if kind not in ('mcts', 'az') and budget:
    raise ValueError(f'{kind} takes no budget, got {spec!r}')
  if kind == 'az':
    step, at, simulations = budget.partition('@')
    if not step.isdigit() or (at and (not simulations.isdigit() or int(simulations) < 1)):
      raise ValueError(
        f'bad image agent {spec!r}: az names its checkpoint step and optionally its search '
        'simulations (>= 1), e.g. az:1000 or az:1000@16'
      )
    try:
      return AgentSpec('az', int(step), simulations=int(simulations) if at else 0)
    except ValueError as e:
      raise ValueError(f'bad image agent {spec!r}: {e}') from None
  try:
    return AgentSpec(kind, int(budget) if budget else 0)
  except ValueError as e:
    raise ValueError(f'bad image agent {spec!r}: {e}') from None
