"""Self-play debaters for the sparse-pixel image debate (Irving et al. 2018): one policy-value network for
both roles, trained AlphaZero-style with `mctx.gumbel_muzero_policy` against a fixed image judge.

The image counterpart of debate/training/selfplay_chain.py (chain). Its checkpoint ladder, rung-by-rung training loop and
AlphaZero loss are the shared ones of debate/training/liar.py (`saved_ladder`, `train_through_rungs`,
`checked_rungs`, `az_loss`); the game, its verdict and the search's model of it are those of
debate/games/pixels.py and debate/agents/images.py (`Roles`).

**The game** is precommit debate on one image: the liar has committed to a wrong label (`game.claim`), the
two debaters alternate revealing nonzero pixels, k moves in all, the first mover given by `honest_first`;
then the judge decides (`Roles.outcome`: the honest side wins iff logit[label] > logit[lie]).

**The observation** (`observe`, the same for both roles; the network is told which role it plays):
- planes [H, W, 3] float32: the judge's two planes (revealed mask, revealed values: exactly what the judge
  sees, `image_game.judge_planes`) and the image's nonzero-pixel mask (where moves are possible);
- features [2 + MAX_MOVES_FEATURE + 2 C] float32: one-hot of the role to move (0 honest, 1 liar), one-hot of
  the moves left (clipped to MAX_MOVES_FEATURE - 1), one-hot of the honest claim (the true label) and
  one-hot of the liar's claim (the lie; all zero without a lie).

**The network** (`PolicyValueCNN`, `width` channels, `depth` convolutions): conv 5x5 over the planes plus a
projection of the features added at every pixel, `depth - 1` further 3x3 convolutions (ReLU); pixel logits
[H * W] = a 1x1 convolution of that (local evidence) plus a dense map from the features to one logit per
pixel position (which positions the judge reads as which class: the judge's weights depend on position);
value = tanh of a small MLP over the mean- and max-pooled channels and the features, the expected outcome in
[-1, 1] for the player to move. The agents and the search use the logits of the game's candidate pixels
(`image_game.ImageGame.candidates`), masked to the unrevealed nonzero ones; the network itself does not
depend on the action-space size A, so one network plays on any data set.

**Training** (`train_selfplay`): each step plays `batch_size` games on fresh training images, game b's image
uniform over its own stratum of the N training images, [floor(N b / B), floor(N (b + 1) / B)) (so each
image is as likely as any other, up to one image per stratum, and a device, or a process, needs only the
images of its games: `training_images`), each with a uniformly random wrong label as the lie and a random
first player. Every
ply of both roles is a Gumbel MuZero search (`num_simulations`, `considered_actions` at the root) with the
network's prior and value at the leaves, the exact game as the model and the judge's verdict as the reward
when the k-th pixel is revealed (+1/-1 for the player who made that move; discount -1 between plies, a
two-player zero-sum game). The search samples its move (Gumbel noise). Each game is its own batch-of-one
search with its own key (vmapped over the games; the judge runs whenever some game of the vmapped batch
ends), so a step plays the same games on any number of devices; with a mesh each device plays its share
under `shard_map`, the gradient is all-reduced, and params are split FSDP-style over its 'model' axis.
Targets: the search's
`action_weights` and the game's outcome for the player who moved; loss = cross-entropy over the valid
candidates + `value_coef` x squared error (`learned_liar.az_loss`); Adam. The loop is one `jit` (`lax.scan`
over steps, in chunks between rungs); step s uses fold_in(train key, s) only, so the params at step N do not
depend on the chunking. Rungs are saved with `learned_liar.saved_ladder` in
`workdir/agents/image_selfplay_<judge>_seed<seed>/step_<N>/`.

**Agents** (`az_pixel`, named in image configs like the other image agents, as the honest debater or the
liar of precommit debate): `az:STEP` plays the argmax of the network's policy over the valid pixels
(deterministic); `az:STEP@S` plays the move of an S-simulation Gumbel MuZero search with the network and the
judge (no Gumbel noise; the min(S, A) candidates of highest prior considered at the root). The runner attaches
the params (`attach_networks`, trained or loaded once per judge and seed) as a hashable
`learned_liar.Policy` on the agent's spec, so they are constants of the compiled game.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import mctx
import numpy as np
import optax
from jax.sharding import PartitionSpec as P

from debate.agents import search as mcts
from debate.distributed import multihost, sharding
from debate.games import pixels as image_game
from debate.games.pixels import ImageGame, ImageState, Roles
from debate.tasks.idx import ImageDataset, partition_bounds
from debate.training import liar as learned_liar
from debate.training.liar import Policy

HONEST, LIAR = 0, 1
_GAMES = 'games'  # The vmap axis of the per-game searches of selfplay_games.
MAX_MOVES_FEATURE = 16
NUM_PLANES = 3


# ------------------------------------------------------------------------------------------------------------
# Observation and network.


def feature_size(num_classes: int) -> int:
  return 2 + MAX_MOVES_FEATURE + 2 * num_classes


def observe(game: ImageGame, state: ImageState, honest_to_move, num_classes: int):
  """The mover's view of one game: (planes [H, W, 3], features [feature_size(num_classes)]) float32.

  honest_to_move: [] bool. See the module docstring for the layout.
  """
  k = state.revealed.shape[0]
  planes = jnp.concatenate(
    [image_game.judge_planes(game, state), (game.image != 0).astype(jnp.float32)[..., None]], axis=-1
  )
  moves_left = jnp.minimum(k - state.num_revealed, MAX_MOVES_FEATURE - 1)
  features = jnp.concatenate(
    [
      jax.nn.one_hot(jnp.where(honest_to_move, HONEST, LIAR), 2),
      jax.nn.one_hot(moves_left, MAX_MOVES_FEATURE),
      jax.nn.one_hot(game.label, num_classes),
      jax.nn.one_hot(game.claim, num_classes),
    ]
  )  # A claim of -1 is all zeros.
  return planes, features


class PolicyValueCNN(nn.Module):
  """planes [B, H, W, 3], features [B, F] -> (pixel logits [B, H * W], value [B] in [-1, 1] for the mover)."""

  width: int
  depth: int

  @nn.compact
  def __call__(self, planes, features):
    batch, height, width_px = planes.shape[:3]
    h = nn.Conv(self.width, (5, 5), padding='SAME')(planes) + nn.Dense(self.width)(features)[:, None, None, :]
    h = nn.relu(h)
    for _ in range(self.depth - 1):
      h = nn.relu(nn.Conv(self.width, (3, 3), padding='SAME')(h))
    # No bias: a constant added to every logit changes no policy, so its gradient is rounding noise that
    # Adam would scale up to full steps.
    local = nn.Conv(1, (1, 1), use_bias=False)(h)[..., 0].reshape(batch, height * width_px)
    logits = local + nn.Dense(height * width_px)(features)
    pooled = jnp.concatenate([h.mean(axis=(1, 2)), h.max(axis=(1, 2)), features], axis=-1)
    value = jnp.tanh(nn.Dense(1)(nn.relu(nn.Dense(self.width)(pooled)))[..., 0])
    return logits, value


def candidate_logits(pixel_logits: chex.Array, game: ImageGame, state: ImageState) -> chex.Array:
  """pixel_logits [H * W] -> [A]: each candidate pixel's logit, INVALID_LOGIT where it is not a valid move."""
  logits = jnp.take(pixel_logits, game.candidates, mode='clip')  # Padding (H * W) is invalid anyway.
  return jnp.where(image_game.valid_actions(game, state), logits, mcts.INVALID_LOGIT)


def _evaluate(network: Policy, game: ImageGame, state: ImageState, honest_to_move, num_classes: int):
  """(candidate prior logits [A], value []) of one state under the network."""
  planes, features = observe(game, state, honest_to_move, num_classes)
  pixel_logits, value = PolicyValueCNN(network.width, network.depth).apply(network.params, planes[None], features[None])
  return candidate_logits(pixel_logits[0], game, state), value[0]


# ------------------------------------------------------------------------------------------------------------
# Search, batched as mctx wants: games, states and first players with a leading axis [B].


def _recurrent_fn(network: Policy, judge, num_classes: int, k: int, game_axis: str | None = None):
  """The mctx model: exact moves; when the k-th pixel is revealed, the judge's verdict as the reward for the
  player who revealed it (+1 won, -1 lost); discount -1 between plies; the network's prior and value. The
  judge runs only when some game of the batch finishes (its logits matter only then). `game_axis`: the vmap
  axis name when each game is its own search (selfplay_games), so that "some game" spans the vmapped games
  (a psum) and the skip stays a real branch instead of becoming a select under vmap."""

  def recurrent_fn(params, key, action, state):
    del key
    games, honest_first, judge_params = params
    new = jax.vmap(lambda s, g, a: image_game.step(s, g.candidates[a]))(state, games, action)
    finished = new.num_revealed == k  # Steps past the end (a search may go on) change nothing.
    any_finished = finished.any()
    if game_axis is not None:
      any_finished = jax.lax.psum(any_finished.astype(jnp.int32), game_axis) > 0
    logits = jax.lax.cond(
      any_finished,
      lambda: jax.vmap(lambda g, s: image_game.judge_logits(judge, judge_params, g, s))(games, new),
      lambda: jnp.zeros((action.shape[0], num_classes), jnp.float32),
    )

    def one(state, new, finished, logits, game, first):
      roles = Roles('debate', first)
      over = new.num_revealed >= k
      reward = jnp.where(finished, roles.outcome(game, logits, state.num_revealed), 0.0)
      prior, value = _evaluate(network, game, new, roles.honest_to_move(new.num_revealed), num_classes)
      return reward, jnp.where(over, 0.0, -1.0), prior, jnp.where(over, 0.0, value)

    reward, discount, prior, value = jax.vmap(one)(state, new, finished, logits, games, honest_first)
    return mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior, value=value), new

  return recurrent_fn


def gumbel_search(
  network: Policy,
  key,
  games: ImageGame,
  states: ImageState,
  honest_first,
  judge,
  judge_params,
  *,
  num_classes: int,
  num_simulations: int,
  considered_actions: int,
  gumbel_scale: float = 1.0,
  game_axis: str | None = None,
) -> mctx.PolicyOutput:
  """Gumbel MuZero search from `states` ([B] each; honest_first [B] bool) with the network's prior and value:
  `action` [B] (an index into each game's candidates; sampled, or with gumbel_scale 0 the search's best) and
  `action_weights` [B, A] (the training target). `game_axis`: see _recurrent_fn."""
  k = states.revealed.shape[-1]
  movers = jax.vmap(lambda s, first: Roles('debate', first).honest_to_move(s.num_revealed))(states, honest_first)
  logits, value = jax.vmap(lambda g, s, m: _evaluate(network, g, s, m, num_classes))(games, states, movers)
  root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=states)
  invalid = ~jax.vmap(image_game.valid_actions)(games, states)
  with mcts.fixed_depth_backward(k + 1):
    return mctx.gumbel_muzero_policy(
      params=(games, honest_first, judge_params),
      rng_key=key,
      root=root,
      recurrent_fn=_recurrent_fn(network, judge, num_classes, k, game_axis),
      num_simulations=num_simulations,
      invalid_actions=invalid,
      max_depth=k,
      max_num_considered_actions=min(considered_actions, logits.shape[-1]),
      gumbel_scale=gumbel_scale,
    )


# ------------------------------------------------------------------------------------------------------------
# The az agents in games.


def _need_params(spec):
  if spec.policy is None:
    raise ValueError(
      f'the image az debater {spec.name} needs its params: attach them with '
      'debate.training.selfplay_images.attach_networks (the image runner does)'
    )


def az_pixel(spec, key, game: ImageGame, state: ImageState, judge, judge_params, roles: Roles) -> chex.Array:
  """The pixel (flat index) the az agent `spec` (an AgentSpec of kind 'az' with its policy attached)
  reveals next in one game: [] int32. `roles` must be debate's; the mover is `roles.honest_to_move`."""
  _need_params(spec)
  if roles.mode != 'debate':
    raise ValueError(f'an image az agent plays precommit debate only, not {roles.mode}')
  num_classes = jax.eval_shape(lambda: image_game.judge_logits(judge, judge_params, game, state)).shape[-1]
  honest_to_move = roles.honest_to_move(state.num_revealed)
  if not spec.simulations:
    logits, _ = _evaluate(spec.policy, game, state, honest_to_move, num_classes)
    return game.candidates[jnp.argmax(logits)]
  batched = jax.tree.map(lambda a: a[None], (game, state))
  first = jnp.broadcast_to(jnp.asarray(roles.honest_first, jnp.bool_), (1,))
  output = gumbel_search(
    spec.policy,
    key,
    batched[0],
    batched[1],
    first,
    judge,
    judge_params,
    num_classes=num_classes,
    num_simulations=spec.simulations,
    considered_actions=spec.simulations,
    gumbel_scale=0.0,
  )
  return game.candidates[output.action[0]]


# ------------------------------------------------------------------------------------------------------------
# Training.


@dataclasses.dataclass(frozen=True)
class ImageSelfPlayConfig:
  """Self-play settings. `k` and `num_classes` are the game's (the runner sets them from the experiment)."""

  k: int = 6
  num_classes: int = 10
  batch_size: int = 16
  num_simulations: int = 8
  considered_actions: int = 8
  learning_rate: float = 3e-3
  value_coef: float = 1.0
  width: int = 8
  depth: int = 1
  log_every: int = 50


def init_params(config: ImageSelfPlayConfig, image_shape: tuple[int, int], key: chex.PRNGKey):
  planes = jnp.zeros((1, *image_shape, NUM_PLANES), jnp.float32)
  return PolicyValueCNN(config.width, config.depth).init(key, planes, jnp.zeros((1, feature_size(config.num_classes))))


def image_strata(num_examples: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """(low [B], size [B]) int64: game b of a step draws its image from examples [low_b, low_b + size_b) of
  the N training examples, low_b = floor(N b / B) (the strata of judges/train.py's batches)."""
  if num_examples < batch_size:
    raise ValueError(
      f'the training split has {num_examples} images, fewer than the self-play batch of '
      f'{batch_size}: each game draws its image from its own N / B of them'
    )
  bounds = partition_bounds(num_examples, batch_size)
  return bounds[:-1], np.diff(bounds)


def training_images(dataset: ImageDataset, batch_size: int, mesh=None) -> tuple[chex.Array, chex.Array]:
  """The self-play trainer's image input: (images [D * S, H, W] uint8, labels [D * S] int32), device d's
  block of S rows holding (zero-padded) the examples of its games' strata (`image_strata`), D = the mesh's
  devices (1 without a mesh: the whole split). `dataset` (debate.tasks.idx.ImageDataset) is this process's
  shard of the training split; it must hold the blocks of this process's devices, which
  idx.load_image_dataset(process_index=p, process_count=P) gives when the mesh has the same number of
  devices in every process (debate.distributed.sharding.training_mesh). Every process must call this."""
  image_strata(dataset.total, batch_size)  # Checks N >= B.
  devices = [None] if mesh is None else list(mesh.devices.flat)
  bounds = partition_bounds(dataset.total, len(devices))  # Device d's block: the strata of its games.
  rows = int(np.diff(bounds).max())
  local = [d for d, device in enumerate(devices) if device is None or device.process_index == jax.process_index()]
  images, labels = [], []
  for d in local:
    begin, stop = int(bounds[d]) - dataset.start, int(bounds[d + 1]) - dataset.start
    if begin < 0 or stop > len(dataset):
      raise ValueError(
        f'device {d} of the self-play mesh plays games on examples {bounds[d]}..{bounds[d + 1] - 1}, '
        f'but this process holds examples {dataset.start}..{dataset.start + len(dataset) - 1}; '
        'train on a debate.distributed.sharding.training_mesh over every process with the shard of '
        'idx.load_image_dataset(process_index=jax.process_index(), '
        'process_count=jax.process_count()), or on one process with the whole split'
      )
    pad = rows - (stop - begin)
    images.append(np.concatenate([dataset.images[begin:stop], np.zeros((pad, *dataset.image_shape), np.uint8)]))
    labels.append(np.concatenate([dataset.labels[begin:stop], np.zeros(pad, np.int64)]).astype(np.int32))
  images, labels = np.concatenate(images), np.concatenate(labels)
  if mesh is None:
    return jnp.asarray(images), jnp.asarray(labels)
  by_game = sharding.batch_sharding(mesh)
  return (
    jax.make_array_from_process_local_data(by_game, images, (len(devices) * rows, *dataset.image_shape)),
    jax.make_array_from_process_local_data(by_game, labels, (len(devices) * rows,)),
  )


def selfplay_games(
  params,
  key,
  judge,
  judge_params,
  images,
  labels,
  config: ImageSelfPlayConfig,
  num_actions: int,
  num_examples: int,
  mesh=None,
):
  """`config.batch_size` self-play games on random training images.

  images [D * S, H, W] uint8, labels [D * S] int32: `training_images` of the N = `num_examples` training
  examples on the D devices of `mesh` (D = 1 without one). Returns (planes [k, B, H, W, 3], features
  [k, B, F], candidates [B, A] int32, action_weights [k, B, A], valid [k, B, A] bool, value targets [k, B],
  liar_won [B] bool).

  Game b's image (uniform over its stratum, `image_strata`), lie, first player and search keys derive from
  (key, b) only, and each game is a batch-of-one Gumbel search (vmapped over the games; mctx draws the Gumbel
  noise of a whole batch from one key). So the games do not depend on how they are laid out: with a `mesh`
  (debate.distributed.sharding.training_mesh, which may span processes) each device plays its share under `shard_map`,
  on the images of its own block, with the same moves as one device.
  """
  k, num_classes, batch = config.k, config.num_classes, config.batch_size
  devices = 1 if mesh is None else mesh.devices.size
  low, size = image_strata(num_examples, batch)
  block_start = partition_bounds(num_examples, devices)[np.arange(batch) // (batch // devices)]
  image_key, lie_key, first_key, play_key = jax.random.split(key, 4)
  in_block = jnp.asarray(low - block_start, jnp.int32) + jax.random.randint(
    image_key, (batch,), 0, jnp.asarray(size, jnp.int32)
  )
  lie_offset = jax.random.randint(lie_key, (batch,), 1, num_classes)
  honest_first = jax.random.bernoulli(first_key, 0.5, (batch,))
  game_keys = jax.random.split(play_key, batch)
  network = Policy(width=config.width, depth=config.depth, digest='', params=params)

  def search_one(key, game, state, first):
    batched = jax.tree.map(lambda a: a[None], (game, state, first))
    output = gumbel_search(
      network,
      key,
      *batched,
      judge,
      judge_params,
      num_classes=num_classes,
      num_simulations=config.num_simulations,
      considered_actions=config.considered_actions,
      game_axis=_GAMES,
    )
    return output.action[0], output.action_weights[0]

  def play(images, labels, in_block, lie_offset, game_keys, honest_first):
    """The games [b] of one block of images: their rows in it [b], lies, keys and first players [b]."""
    label = labels[in_block]
    games = jax.vmap(lambda im, y, c: image_game.make_game(im, y, c, num_actions))(
      images[in_block].astype(jnp.float32) / 255.0, label, (label + lie_offset) % num_classes
    )

    def ply(states, t):
      actions, weights = jax.vmap(search_one, axis_name=_GAMES)(
        jax.vmap(lambda key: jax.random.fold_in(key, t))(game_keys), games, states, honest_first
      )
      movers = jax.vmap(lambda first: Roles('debate', first).honest_to_move(t))(honest_first)
      planes, features = jax.vmap(lambda g, s, m: observe(g, s, m, num_classes))(games, states, movers)
      valid = jax.vmap(image_game.valid_actions)(games, states)
      pixels = jnp.take_along_axis(games.candidates, actions[:, None], axis=1)[:, 0]
      new = jax.vmap(image_game.step)(states, pixels)
      return new, (planes, features, weights, valid, movers)

    final, (planes, features, weights, valid, honest_moved) = jax.lax.scan(
      ply, jax.vmap(lambda g: image_game.init_state(g, k))(games), jnp.arange(k)
    )
    logits = jax.vmap(lambda g, s: image_game.judge_logits(judge, judge_params, g, s))(games, final)
    honest_won = jax.vmap(image_game.honest_margin)(games, logits) > 0
    targets = jnp.where(honest_moved == honest_won[None], 1.0, -1.0)
    return planes, features, games.candidates, weights, valid, targets, ~honest_won

  args = (images, labels, in_block, lie_offset, game_keys, honest_first)
  if mesh is None:
    return play(*args)
  by_game = sharding.batch_spec(mesh)
  by_ply_and_game = P(None, *by_game)
  return jax.shard_map(
    play,
    mesh=mesh,
    in_specs=(by_game,) * len(args),
    out_specs=(by_ply_and_game,) * 2 + (by_game,) + (by_ply_and_game,) * 3 + (by_game,),
    check_vma=False,
  )(*args)


def make_train_chunk(
  judge, config: ImageSelfPlayConfig, key: chex.PRNGKey, num_actions: int, num_examples: int, mesh=None
):
  """A jitted (params, opt_state, (judge_params, images, labels), steps [n] int32) -> (params, opt_state,
  metrics {name: [n]}), with (images, labels) the `training_images` of `num_examples` training examples on
  `mesh`. Step `s` uses the key fold_in(key, s) only, so any chunking gives the same params.
  With a `mesh` (debate.distributed.sharding.training_mesh) each device plays its share of a step's games (selfplay_games: the
  same games as on one device), the gradient is a mean over all of them (an all-reduce), and params and Adam
  moments are laid out FSDP-style over its 'model' axis.
  Metrics per step: loss, policy_loss, value_loss, liar_win_rate (of the self-play games)."""
  optimizer = optax.adam(config.learning_rate)
  model = PolicyValueCNN(config.width, config.depth)

  def loss_fn(params, planes, features, candidates, weights, valid, targets):
    """planes [k, B, H, W, 3], features [k, B, F], candidates [B, A], weights/valid [k, B, A], targets [k, B]."""
    k, batch = planes.shape[:2]
    pixel_logits, values = model.apply(
      params, planes.reshape(k * batch, *planes.shape[2:]), features.reshape(k * batch, -1)
    )
    pixel_logits = pixel_logits.reshape(k, batch, -1)
    logits = jnp.take_along_axis(pixel_logits, jnp.broadcast_to(candidates, weights.shape), axis=-1, mode='clip')
    return learned_liar.az_loss(
      logits,
      values.reshape(k, batch),
      weights,
      valid,
      targets,
      jnp.ones((k, batch), jnp.bool_),
      value_coef=config.value_coef,
    )

  def train_step(carry, step_index, data):
    params, opt_state = carry
    judge_params, images, labels = data
    planes, features, candidates, weights, valid, targets, liar_won = selfplay_games(
      params,
      jax.random.fold_in(key, step_index),
      judge,
      judge_params,
      images,
      labels,
      config,
      num_actions,
      num_examples,
      mesh,
    )
    (loss, (policy_loss, value_loss)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      params, planes, features, candidates, jax.lax.stop_gradient(weights), valid, targets
    )
    updates, opt_state = optimizer.update(grads, opt_state, params)
    metrics = {'loss': loss, 'policy_loss': policy_loss, 'value_loss': value_loss, 'liar_win_rate': liar_won.mean()}
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), metrics

  @jax.jit
  def train_chunk(params, opt_state, data, steps):
    params, opt_state = sharding.fsdp_constrained((params, opt_state), mesh)
    (params, opt_state), metrics = jax.lax.scan(lambda carry, s: train_step(carry, s, data), (params, opt_state), steps)
    return params, opt_state, metrics

  return optimizer, train_chunk


def agent_key(seed: int) -> chex.PRNGKey:
  return jax.random.fold_in(jax.random.key(seed), 0x1A6E)


def train_selfplay(
  judge,
  judge_params,
  dataset: ImageDataset,
  *,
  seed: int,
  rungs: Sequence[int],
  config: ImageSelfPlayConfig,
  judge_name: str = 'judge',
  log: Callable[[str], None] = print,
  checkpoint_dir: str | None = None,
  mesh=None,
):
  """Trains on the training split (`dataset`: this process's shard of it, idx.load_image_dataset) to
  max(rungs) steps; returns ({step: params} for every rung, history of mean metrics per chunk).
  `checkpoint_dir`: where to save and resume the training state (learned_liar.train_through_rungs); `mesh`:
  an optional debate.distributed.sharding.training_mesh to split each step's games over (make_train_chunk), each device
  holding only the images of its games (`training_images`)."""
  rungs = learned_liar.checked_rungs(rungs)
  sharding.check_batch(mesh, config.batch_size)
  if dataset.images.dtype != np.uint8 or dataset.images.ndim != 3:
    raise ValueError(f'self-play trains on uint8 images [N, H, W], got {dataset.images.dtype} {dataset.images.shape}')
  num_actions = multihost.global_max(image_game.action_space_size(dataset.images))
  init_key, train_key = jax.random.split(agent_key(seed))
  params = init_params(config, dataset.image_shape, init_key)
  optimizer, train_chunk = make_train_chunk(judge, config, train_key, num_actions, dataset.total, mesh)
  data = (sharding.replicated(judge_params, mesh), *training_images(dataset, config.batch_size, mesh))
  log(
    f'self-play training images: {dataset.start}..{dataset.start + len(dataset) - 1} of {dataset.total} in '
    f'this process (process {jax.process_index()} of {jax.process_count()})'
  )

  report = learned_liar.az_report(log, f'image self-play vs {judge_name}', rungs[-1])
  return learned_liar.train_through_rungs(
    train_chunk,
    params,
    optimizer.init(params),
    data,
    rungs=rungs,
    log_every=config.log_every,
    report=report,
    checkpoint_dir=checkpoint_dir,
    log=log,
    mesh=mesh,
  )


def agent_dir(workdir: str, judge_name: str, seed: int) -> str:
  return os.path.join(workdir, 'agents', f'image_selfplay_{judge_name.replace(":", "_").replace("/", "_")}_seed{seed}')


def build_ladder(
  judge,
  judge_params,
  dataset: ImageDataset,
  *,
  judge_name: str,
  seed: int,
  workdir: str | None,
  rungs: Sequence[int],
  config: ImageSelfPlayConfig = ImageSelfPlayConfig(),
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict[int, Policy]:
  """{step: Policy} for every rung, loaded from `workdir/agents/image_selfplay_...` or trained and saved.

  `judge_name` names the judge in the directory (the runner: MODEL_kK_stepSTEP); `mesh`: train_selfplay's."""
  return learned_liar.saved_ladder(
    agent_dir(workdir, judge_name, seed) if workdir else None,
    rungs=rungs,
    config=config,
    init_like=lambda: init_params(config, dataset.image_shape, jax.random.key(0)),
    train=lambda all_rungs, checkpoint_dir: train_selfplay(
      judge,
      judge_params,
      dataset,
      seed=seed,
      rungs=all_rungs,
      config=config,
      judge_name=judge_name,
      log=log,
      checkpoint_dir=checkpoint_dir,
      mesh=mesh,
    ),
    what='image self-play debater',
  )


def az_specs(arm) -> list:
  """The az agents of an ImageArm (honest and liar; one entry when both are the same spec)."""
  specs = [s for s in (arm.honest, arm.liar) if s is not None and s.kind == 'az']
  return list(dict.fromkeys(specs))


def attach_networks(arm, ladder: dict[int, Policy]):
  """`arm` (an image_rollout.ImageArm) with the rung params of its az agents attached (others unchanged)."""
  attach = lambda spec: (
    dataclasses.replace(spec, policy=ladder[spec.budget]) if spec is not None and spec.kind == 'az' else spec
  )
  return dataclasses.replace(arm, honest=attach(arm.honest), liar=attach(arm.liar))
