"""One AlphaZero-style self-play trainer for any game of the interface (`debate.games.base.Game`).

One policy-value network (`game.network(width, depth)` over `game.observe(state)`) plays every role against
a fixed judge. Each training step plays `batch_size` fresh games from a task's `Sampler`; every move of every
role is a Gumbel MuZero search (`debate.agents.search.gumbel`: `num_simulations`, `considered_actions` at
the root, the network's prior and value at the leaves, the exact game as the model, the judge's verdict as
the reward when a game ends) that samples its move. Each game is its own batch-of-one search with its own
key, vmapped over the games (the judge runs only in simulations where some game ends), so a step plays the
same games on any number of devices; with a mesh each device plays its share under `shard_map`, the gradient
is all-reduced, and params and Adam moments are split FSDP-style over its 'model' axis.

Targets: the search's `action_weights` and the game's outcome for the player who moved (+1 won, -1 lost).
Loss: cross-entropy over the legal actions + `value_coef` x squared error, averaged over the moves actually
made (`az_loss`); Adam. The loop is one `jit` (`lax.scan` over steps, in chunks between rungs); step s uses
fold_in(train key, s) only, so the params at step N do not depend on the chunking or the rung spacing. Rungs
are saved with `debate.training.ladder.saved_ladder`; `build_ladder` is a task's ladder of self-play checkpoints
against a judge, saved under `ladder_dir` (every task's `az:STEP` debaters).

A task's `Sampler` (a frozen dataclass) gives the training games:
  draw(key, batch) -> (draws, game_keys [B]): each game's random draws ([B] pytree) and its play key;
  build(draws, data) -> instances [b]: the games' instances from this device's block of the training data
    (`data`, a pytree with a leading device-block axis; {} when the task needs none);
  example() -> one instance (shapes for the network's init).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Sequence

import chex
import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from debate.agents import search
from debate.distributed import sharding
from debate.training import ladder

GAMES = 'games'  # The vmap axis of the per-game searches.


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
  """Self-play settings (tasks' configs give their own values: BUILD_NOTES has the measured ones)."""

  batch_size: int = 64
  num_simulations: int = 16
  considered_actions: int = 8
  learning_rate: float = 1e-3
  value_coef: float = 1.0
  width: int = 128
  depth: int = 2
  log_every: int = 50


def init_params(game, sampler, width: int, depth: int, key: chex.PRNGKey):
  """Initial params of the game's network."""
  observation = game.observe(game.init(key, sampler.example()))
  return game.network(width, depth).init(key, observation)


def az_loss(logits, values, weights, valid, targets, active, *, value_coef: float):
  """The AlphaZero loss: (loss, (policy_loss, value_loss)), each [].

  logits, weights (the search's action_weights), valid (bool): [..., A]; values, targets (+1/-1 for the
  mover), active (bool, moves actually made): [...]. Policy: cross-entropy of the weights against the
  softmax over the valid actions only (as the agents play); value: squared error; both averaged over the
  active moves; loss = policy + value_coef x value.
  """
  log_probs = jax.nn.log_softmax(jnp.where(valid, logits, search.INVALID_LOGIT))
  policy = -jnp.sum(jnp.where(valid, weights * log_probs, 0.0), axis=-1)
  mask = active.astype(jnp.float32)
  count = jnp.maximum(mask.sum(), 1.0)
  policy_loss = jnp.sum(mask * policy) / count
  value_loss = jnp.sum(mask * (values - targets) ** 2) / count
  return policy_loss + value_coef * value_loss, (policy_loss, value_loss)


def play_sharded(play, mesh, data, draws, game_keys, per_move: int):
  """play(data, draws, game_keys) -> (`per_move` arrays [M, B, ...], then one [B, ...]); with a `mesh` each
  device plays its share of the games on its own block of `data` under `shard_map`."""
  if mesh is None:
    return play(data, draws, game_keys)
  by_game = sharding.batch_spec(mesh)
  return jax.shard_map(
    play,
    mesh=mesh,
    in_specs=jax.tree.map(lambda _: by_game, (data, draws, game_keys)),
    out_specs=(P(None, *by_game),) * per_move + (by_game,),
    check_vma=False,
  )(data, draws, game_keys)


def make_chunk(optimizer, gradients, key: chex.PRNGKey, mesh=None):
  """A jitted (params, opt_state, inputs, steps [n] int32) -> (params, opt_state, metrics [n, ...]): a `lax.scan`
  of optimizer steps, step s applying `gradients(params, fold_in(key, s), *inputs) -> (grads, metrics)`, with
  params and optimizer state laid out FSDP-style on `mesh`."""

  def train_step(carry, step, inputs):
    params, opt_state = carry
    grads, metrics = gradients(params, jax.random.fold_in(key, step), *inputs)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), metrics

  @jax.jit
  def train_chunk(params, opt_state, inputs, steps):
    params, opt_state = sharding.fsdp_constrained((params, opt_state), mesh)
    carry, metrics = jax.lax.scan(lambda carry, s: train_step(carry, s, inputs), (params, opt_state), steps)
    return (*carry, metrics)

  return train_chunk


def selfplay_games(game, sampler, config: SelfPlayConfig, params, key, judge_params, data, mesh=None):
  """`config.batch_size` self-play games: (observations [M, B, ...], action_weights [M, B, A], legal
  [M, B, A] bool, value targets [M, B], active [M, B] bool, payoff [B, P]), M = game.max_moves.

  Game b's instance and search keys derive from (key, b) only, so the games do not depend on how they are
  laid out: with a `mesh` (debate.distributed.sharding.training_mesh) each device plays its share under
  `shard_map`, on its own block of `data`, with the same moves as one device.
  """

  draws, game_keys = sampler.draw(key, config.batch_size)

  def search_one(key, state):
    output = search.gumbel(
      game,
      key,
      jax.tree.map(lambda a: a[None], state),  # A batch of one.
      judge_params,
      params,
      evaluator=search.NetworkEvaluator(config.width, config.depth),
      simulations=config.num_simulations,
      considered_actions=config.considered_actions,
      batch_axis=GAMES,
    )
    return output.action[0].astype(jnp.int32), output.action_weights[0]

  def play(data, draws, game_keys):
    states = jax.vmap(game.init)(game_keys, sampler.build(draws, data))

    def move(states, t):
      keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(game_keys)
      actions, weights = jax.vmap(search_one, axis_name=GAMES)(keys, states)
      seen = (
        jax.vmap(game.observe)(states),
        weights,
        jax.vmap(game.legal_actions)(states),
        jax.vmap(game.current_player)(states),
        ~jax.vmap(game.terminal)(states),
      )
      return jax.vmap(game.step)(states, actions), seen

    final, (observations, weights, legal, movers, active) = jax.lax.scan(move, states, jnp.arange(game.max_moves))
    payoff = jax.vmap(lambda s: game.verdict(judge_params, s))(final)
    targets = jnp.take_along_axis(payoff[None], movers[..., None], axis=-1)[..., 0]
    return observations, weights, legal, targets, active, payoff

  return play_sharded(play, mesh, data, draws, game_keys, per_move=5)


def make_train_chunk(game, sampler, config: SelfPlayConfig, key: chex.PRNGKey, mesh=None):
  """(optimizer, a jitted (params, opt_state, (judge_params, data), steps [n] int32) -> (params, opt_state,
  metrics {name: [n]})). Step `s` uses the key fold_in(key, s) only, so any chunking gives the same params.
  With a `mesh` each device plays its share of a step's games, the gradient is a mean over all of them, and
  params and Adam moments are laid out FSDP-style over its 'model' axis. Metrics per step: loss,
  policy_loss, value_loss, liar_win_rate (player 1's wins in the self-play games)."""
  optimizer = optax.adam(config.learning_rate)
  model = game.network(config.width, config.depth)

  def loss_fn(params, observations, weights, valid, targets, active):
    logits, values = model.apply(params, observations)
    return az_loss(logits, values, weights, valid, targets, active, value_coef=config.value_coef)

  def gradients(params, step_key, judge_params, data):
    observations, weights, valid, targets, active, payoff = selfplay_games(
      game, sampler, config, params, step_key, judge_params, data, mesh
    )
    (loss, (policy_loss, value_loss)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      params, observations, jax.lax.stop_gradient(weights), valid, targets, active
    )
    return grads, {
      'loss': loss,
      'policy_loss': policy_loss,
      'value_loss': value_loss,
      'liar_win_rate': (payoff[:, -1] > 0).mean(),
    }

  return optimizer, make_chunk(optimizer, gradients, key, mesh)


def agent_key(seed: int) -> chex.PRNGKey:
  return jax.random.fold_in(jax.random.key(seed), 0x5E1F)


def train_selfplay(
  game,
  sampler,
  judge_params,
  data=None,
  *,
  seed: int,
  rungs: Sequence[int],
  config: SelfPlayConfig,
  who: str = 'self-play',
  log: Callable[[str], None] = print,
  checkpoint_dir: str | None = None,
  mesh=None,
):
  """Trains to max(rungs) steps; returns ({step: params} for every rung, history of mean metrics per chunk).

  `data`: the sampler's training data laid out by device block over `mesh` ({} or None: none);
  `checkpoint_dir`: where to save and resume the training state (ladder.train_through_rungs); `mesh`: an
  optional debate.distributed.sharding.training_mesh to split each step's games over."""
  rungs = ladder.checked_rungs(rungs)
  sharding.check_batch(mesh, config.batch_size)
  init_key, train_key = jax.random.split(agent_key(seed))
  params = init_params(game, sampler, config.width, config.depth, init_key)
  optimizer, train_chunk = make_train_chunk(game, sampler, config, train_key, mesh)

  def report(done, metrics, steps_per_s):
    """Logs the chunk's mean losses and self-play liar win rate, with the rate and time left; returns them."""
    means = {name: float(value.mean()) for name, value in metrics.items()}
    log(
      f'{who}: step {done}/{rungs[-1]} loss {means["loss"]:.4f} (policy {means["policy_loss"]:.4f}, value '
      f'{means["value_loss"]:.4f}), liar wins {means["liar_win_rate"]:.3f} in self-play; {steps_per_s:.2f} '
      f'steps/s, about {(rungs[-1] - done) / max(steps_per_s, 1e-9):.0f}s left'
    )
    return means

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


def ladder_dir(workdir: str, task: str, judge_name: str, seed: int) -> str:
  """Where a task's self-play ladder against the judge `judge_name` is saved:
  workdir/agents/<task>_selfplay_<judge_name, with ':' and '/' as '_'>_seed<seed>."""
  judge = judge_name.replace(':', '_').replace('/', '_')
  return os.path.join(workdir, 'agents', f'{task}_selfplay_{judge}_seed{seed}')


def build_ladder(
  game,
  sampler,
  judge_params,
  data: Callable[[], Any] | None,
  *,
  directory: str | None,
  rungs: Sequence[int],
  seed: int,
  config: SelfPlayConfig,
  settings: dict,
  who: str,
  what: str,
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict:
  """{step: params} of the self-play network of `game` against the judge (`judge_params`) at every rung,
  loaded from `directory` or trained there (`train_selfplay` under debate.training.ladder.saved_ladder; None:
  trained, not saved). `data()` gives the sampler's training data (called only when training is needed;
  None: the task needs none); `settings` (JSON-able: the game's and data's settings) are recorded with
  `config` as the ladder's training config, {**settings, **config fields}: a directory trained with others is
  refused. `who` names the run in the log lines, `what` the agent in errors."""
  return ladder.saved_ladder(
    directory,
    rungs=rungs,
    config={**settings, **dataclasses.asdict(config)},
    init_like=lambda: init_params(game, sampler, config.width, config.depth, jax.random.key(0)),
    train=lambda all_rungs, checkpoint_dir: train_selfplay(
      game,
      sampler,
      judge_params,
      None if data is None else data(),
      seed=seed,
      rungs=all_rungs,
      config=config,
      who=who,
      log=log,
      checkpoint_dir=checkpoint_dir,
      mesh=mesh,
    ),
    what=what,
  )
