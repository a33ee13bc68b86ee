"""REINFORCE for the one moving player of a game whose other players are part of the game (the liar of
standard chain debate, where the honest debater's moves are forced): the `learned:STEP` agents.

The policy is the game's network (`game.network(width, depth)` over `game.observe(state)`; its value head
is unused). Each step plays `batch_size` fresh games from a task's `Sampler` (see
`debate.training.selfplay`), the learner sampling its moves from the network's logits over the legal
actions; the reward is 1 when the judge sides with the learner, else 0; the loss is REINFORCE with the
batch-mean reward as baseline and an entropy bonus, Adam. The loop is one `jit` (`lax.scan` over steps, in
chunks between rungs); step s uses fold_in(train key, s) only, so the params at step N do not depend on the
chunking. With a mesh each device plays its share of the games (keyed by game, so the same games) and params
are split FSDP-style over its 'model' axis. In games the learned agent plays the argmax of its logits
(`debate.agents.policies.Network`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import chex
import jax
import jax.numpy as jnp
import optax

from debate.agents import search
from debate.distributed import sharding
from debate.training import ladder
from debate.training.selfplay import init_params, make_chunk, play_sharded


@dataclasses.dataclass(frozen=True)
class ReinforceConfig:
  """REINFORCE settings (the defaults are the measured ones in BUILD_NOTES)."""

  batch_size: int = 256
  learning_rate: float = 3e-3
  entropy_coef: float = 0.01
  width: int = 128
  depth: int = 2
  log_every: int = 250


def sampled_games(game, sampler, config: ReinforceConfig, params, key, judge_params, data, mesh=None):
  """`config.batch_size` games with the sampled policy: (observations [M, B, ...], actions [M, B] int32,
  legal [M, B, A] bool, active [M, B] bool, reward [B] float32), M = game.max_moves."""
  (learner,) = game.movers
  draws, game_keys = sampler.draw(key, config.batch_size)
  model = game.network(config.width, config.depth)

  def play(data, draws, game_keys):
    states = jax.vmap(game.init)(game_keys, sampler.build(draws, data))

    def move(states, t):
      observations = jax.vmap(game.observe)(states)
      legal = jax.vmap(game.legal_actions)(states)
      logits = jnp.where(legal, model.apply(params, observations)[0], search.INVALID_LOGIT)
      keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(game_keys)
      actions = jax.vmap(jax.random.categorical)(keys, logits).astype(jnp.int32)
      active = ~jax.vmap(game.terminal)(states)
      return jax.vmap(game.step)(states, actions), (observations, actions, legal, active)

    final, recorded = jax.lax.scan(move, states, jnp.arange(game.max_moves))
    reward = (jax.vmap(lambda s: game.verdict(judge_params, s))(final)[:, learner] > 0).astype(jnp.float32)
    return (*recorded, reward)

  return play_sharded(play, mesh, data, draws, game_keys, per_move=4)


def make_train_chunk(game, sampler, config: ReinforceConfig, key: chex.PRNGKey, mesh=None):
  """(optimizer, a jitted (params, opt_state, (judge_params, data), steps [n] int32) -> (params, opt_state,
  mean rewards [n])); step `s` uses the key fold_in(key, s) only."""
  optimizer = optax.adam(config.learning_rate)
  model = game.network(config.width, config.depth)

  def loss_fn(params, observations, actions, legal, active, advantage):
    """observations: [M, B, ...]; actions, active: [M, B]; legal: [M, B, A]; advantage: [B]."""
    logits = jnp.where(legal, model.apply(params, observations)[0], search.INVALID_LOGIT)
    log_probs = jax.nn.log_softmax(logits)
    chosen = jnp.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]
    entropy = -jnp.sum(jnp.where(legal, jnp.exp(log_probs) * log_probs, 0.0), axis=-1)
    weights = active.astype(jnp.float32)
    policy_loss = -jnp.mean(advantage * jnp.sum(weights * chosen, axis=0))
    entropy_bonus = jnp.sum(weights * entropy) / jnp.maximum(jnp.sum(weights), 1.0)
    return policy_loss - config.entropy_coef * entropy_bonus

  def gradients(params, step_key, judge_params, data):
    observations, actions, legal, active, rewards = sampled_games(
      game, sampler, config, params, step_key, judge_params, data, mesh
    )
    grads = jax.grad(loss_fn)(params, observations, actions, legal, active, rewards - jnp.mean(rewards))
    return grads, jnp.mean(rewards)

  return optimizer, make_chunk(optimizer, gradients, key, mesh)


def agent_key(seed: int) -> chex.PRNGKey:
  return jax.random.fold_in(jax.random.key(seed), 0xA6E7)


def train_reinforce(
  game,
  sampler,
  judge_params,
  data=None,
  *,
  seed: int,
  rungs: Sequence[int],
  config: ReinforceConfig,
  who: str = 'learned agent',
  log: Callable[[str], None] = print,
  checkpoint_dir: str | None = None,
  mesh=None,
):
  """Trains to max(rungs) steps; returns ({step: params} for every rung, history of mean rewards)."""
  if len(game.movers) != 1:
    raise ValueError(f'REINFORCE trains the one mover of a game; {type(game).__name__} has movers {game.movers}')
  rungs = ladder.checked_rungs(rungs)
  sharding.check_batch(mesh, config.batch_size)
  init_key, train_key = jax.random.split(agent_key(seed))
  params = init_params(game, sampler, config.width, config.depth, init_key)
  optimizer, train_chunk = make_train_chunk(game, sampler, config, train_key, mesh)

  def report(done, rewards, steps_per_s):
    log(
      f'{who}: step {done}/{rungs[-1]} sampled win rate {float(rewards.mean()):.4f} '
      f'({steps_per_s * config.batch_size:,.0f} games/s)'
    )
    return {'mean_reward': float(rewards.mean())}

  return ladder.train_through_rungs(
    train_chunk,
    params,
    optimizer.init(params),
    (sharding.replicated(judge_params, mesh), {} if data is None else data),
    rungs=rungs,
    log_every=config.log_every,
    report=report,
    checkpoint_dir=checkpoint_dir,
    log=log,
    mesh=mesh,
  )
