"""The sparse-pixel game of Irving et al. 2018 as a game of the interface, judged by an image classifier.

The rules, judge view and verdicts are those of `debate.games.pixels`. An instance is an `ImageGame`
(`pixels.make_game(image, label, claim, num_actions, honest_first)`): `claim` makes the game precommit
debate (claim = the lie >= 0) or debate without precommit (claim = -1), or, in consultancy, the label the
consultant argues for; `honest_first` says who makes move 0 in debate. An action is an index into the
image's nonzero pixels (`ImageGame.candidates`, A = `num_actions`); a move reveals that pixel. The game ends
after `k` moves, or earlier if no unrevealed nonzero pixel is left.

- mode 'debate': player 0 the honest debater, player 1 the liar, alternating; the honest side wins iff
  `pixels.honest_margin` > 0 (a tie goes to the liar).
- mode 'consultancy': one player, the consultant; it wins iff the judge accepts its claim.

The game's random player reveals a uniformly random unrevealed nonzero pixel (drawn over the H x W
positions, so it does not depend on A); a rollout completes the game in one draw
(`pixels.random_completion`). The judge reads an unfinished game too, so a position's value is the judge's
margin for each player on the pixels revealed so far (what the `greedy` agent maximises). Learned agents
observe `observe(state)` through `PolicyValueCNN`.

Key: unused (the game has no chance moves).
"""

from __future__ import annotations

import dataclasses

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from debate.distributed import sharding
from debate.games import base
from debate.games import pixels as image_game
from debate.games.pixels import ImageGame, ImageState
from debate.tasks.idx import ImageDataset, partition_bounds
from judges.image_judges import ImageJudge

HONEST, LIAR = 0, 1
MODES = ('debate', 'consultancy')
MAX_MOVES_FEATURE = 16


@chex.dataclass(frozen=True)
class ImageGameState:
  """game: the ImageGame (image [H, W], label, claim, candidates [A], num_candidates, honest_first); board:
  the ImageState (revealed [k] int32 pixels in move order, num_revealed [] int32)."""

  game: ImageGame
  board: ImageState


class PolicyValueCNN(nn.Module):
  """The self-play network of image debate, on observations with any leading axes [...]:
  planes [..., H, W, 3], features [..., F], candidates [..., A] -> (logits [..., A], value [...]).

  conv 5x5 over the planes plus a projection of the features added at every pixel, `depth - 1` further 3x3
  convolutions (ReLU); pixel logits [H * W] = a 1x1 convolution of that (local evidence) plus a dense map
  from the features to one logit per pixel position (the judge's weights depend on position); the action
  logits are the candidate pixels' (padding reads the last pixel: it is never legal). Value: tanh of an MLP
  over the mean- and max-pooled channels and the features, the expected outcome for the mover.
  """

  width: int
  depth: int

  @nn.compact
  def __call__(self, observation):
    planes, features, candidates = observation['planes'], observation['features'], observation['candidates']
    lead = planes.shape[:-3]
    planes = planes.reshape(-1, *planes.shape[-3:])
    features = features.reshape(-1, features.shape[-1])
    batch, height, width_px = planes.shape[:3]
    h = nn.Conv(self.width, (5, 5), padding='SAME')(planes) + nn.Dense(self.width)(features)[:, None, None, :]
    h = nn.relu(h)
    for _ in range(self.depth - 1):
      h = nn.relu(nn.Conv(self.width, (3, 3), padding='SAME')(h))
    # No bias: a constant added to every logit changes no policy, so its gradient is rounding noise that
    # Adam would scale up to full steps.
    local = nn.Conv(1, (1, 1), use_bias=False)(h)[..., 0].reshape(batch, height * width_px)
    pixel_logits = local + nn.Dense(height * width_px)(features)
    pooled = jnp.concatenate([h.mean(axis=(1, 2)), h.max(axis=(1, 2)), features], axis=-1)
    value = jnp.tanh(nn.Dense(1)(nn.relu(nn.Dense(self.width)(pooled)))[..., 0])
    candidates = candidates.reshape(batch, -1)
    logits = jnp.take_along_axis(pixel_logits, candidates, axis=-1, mode='clip')
    return logits.reshape(*lead, -1), value.reshape(lead)


@dataclasses.dataclass(frozen=True)
class ImageDebate(base.Game):
  """k reveals over A candidate pixels, judged by `judge` (its params: the judge params of `verdict`)."""

  judge: ImageJudge
  k: int
  num_actions: int
  mode: str = 'debate'
  constant_fields = ('game',)

  def __post_init__(self):
    if self.mode not in MODES:
      raise ValueError(f'mode must be one of {", ".join(MODES)}, got {self.mode!r}')
    if not 1 <= self.k <= self.num_actions:
      raise ValueError(f'k (pixels revealed) must be in [1, num_actions={self.num_actions}], got {self.k}')

  @property
  def max_moves(self) -> int:
    return self.k

  @property
  def num_players(self) -> int:
    return 2 if self.mode == 'debate' else 1

  def init(self, key, instance: ImageGame) -> ImageGameState:
    if instance.candidates.shape[-1] != self.num_actions:
      raise ValueError(f'instance has {instance.candidates.shape[-1]} candidate pixels, game has {self.num_actions}')
    return ImageGameState(game=instance, board=image_game.init_state(instance, self.k))

  def current_player(self, state: ImageGameState) -> chex.Array:
    if self.mode == 'consultancy':
      return jnp.int32(0)
    honest_to_move = (state.board.num_revealed % 2 == 0) == state.game.honest_first
    return jnp.where(honest_to_move, HONEST, LIAR).astype(jnp.int32)

  def terminal(self, state: ImageGameState) -> chex.Array:
    return (state.board.num_revealed >= self.k) | ~image_game.valid_actions(state.game, state.board).any()

  def moves_left(self, state: ImageGameState) -> chex.Array:
    return self.k - state.board.num_revealed

  def _legal_actions(self, state: ImageGameState) -> chex.Array:
    return image_game.valid_actions(state.game, state.board)

  def _apply(self, state: ImageGameState, action: chex.Array) -> ImageGameState:
    return state.replace(board=image_game.step(state.board, state.game.candidates[action]))

  def random_action(self, key, state: ImageGameState) -> chex.Array:
    pixel = jnp.argmax(image_game.random_scores(key, state.game, state.board))
    return jnp.argmax(state.game.candidates == pixel).astype(jnp.int32)

  def rollout(self, key, state: ImageGameState) -> ImageGameState:
    return state.replace(board=image_game.random_completion(key, state.game, state.board))

  def judge_view(self, state: ImageGameState) -> chex.Array:
    """[H, W, 2] float32: the revealed mask and the revealed values."""
    return image_game.judge_planes(state.game, state.board)

  def position_value(self, key, judge_params, state: ImageGameState) -> chex.Array:
    """[P] float32: each player's judge margin (> 0: winning) on the pixels revealed so far."""
    logits = image_game.judge_logits(self.judge, judge_params, state.game, state.board)
    if self.mode == 'consultancy':
      return image_game.consultant_margin(state.game, logits)[None]
    honest = image_game.honest_margin(state.game, logits)
    return jnp.stack([honest, -honest])

  def verdict(self, judge_params, state: ImageGameState) -> chex.Array:
    """[P] float32: debate (+1, -1) if the honest side wins, else (-1, +1); consultancy [+1] iff accepted."""
    wins = self.position_value(None, judge_params, state) > 0
    if self.mode == 'debate':  # A tie (margin 0) goes to the liar.
      wins = jnp.stack([wins[0], ~wins[0]])
    return jnp.where(wins, 1.0, -1.0)

  def result(self, judge_params, state: ImageGameState, moves) -> tuple[dict, dict]:
    """(outcome, transcript) of a finished game. Outcome: `correct`, `verdict` (the class the judge settles
    on: the winner's claim with precommit, the argmax without; consultancy: the claim if accepted else -1)
    and `honest_margin` (debate) or `consultant_honest`, `accept` (consultancy). Transcript: `revealed` ([k]
    pixels in move order, H * W for none) and `logits` ([C] the judge's final logits)."""
    game, logits = state.game, image_game.judge_logits(self.judge, judge_params, state.game, state.board)
    transcript = {'revealed': state.board.revealed, 'logits': logits}
    if self.mode == 'consultancy':
      accept = image_game.consultant_margin(game, logits) > 0
      honest = game.claim == game.label
      outcome = {
        'correct': accept == honest,
        'verdict': jnp.where(accept, game.claim, -1).astype(jnp.int32),
        'consultant_honest': honest,
        'accept': accept,
      }
      return outcome, transcript
    margin = image_game.honest_margin(game, logits)
    honest_wins = margin > 0
    lie_or_argmax = jnp.where(game.claim >= 0, game.claim, jnp.argmax(logits))
    outcome = {
      'correct': honest_wins,
      'verdict': jnp.where(honest_wins, game.label, lie_or_argmax).astype(jnp.int32),
      'honest_margin': margin,
    }
    return outcome, transcript

  def observe(self, state: ImageGameState) -> dict:
    """The mover's view: planes [H, W, 3] (the judge's two planes and the image's nonzero mask), features
    [2 + 16 + 2 C] (one-hots of the role to move, the moves left clipped to 15, the true label and the
    claim; a claim of -1 is all zeros), candidates [A] (the actions' pixels)."""
    game, board = state.game, state.board
    num_classes = self.judge.num_classes
    planes = jnp.concatenate(
      [image_game.judge_planes(game, board), (game.image != 0).astype(jnp.float32)[..., None]], axis=-1
    )
    features = jnp.concatenate(
      [
        jax.nn.one_hot(self.current_player(state), 2),
        jax.nn.one_hot(jnp.minimum(self.k - board.num_revealed, MAX_MOVES_FEATURE - 1), MAX_MOVES_FEATURE),
        jax.nn.one_hot(game.label, num_classes),
        jax.nn.one_hot(game.claim, num_classes),
      ]
    )
    return {'planes': planes, 'features': features, 'candidates': game.candidates}

  def network(self, width: int, depth: int) -> nn.Module:
    return PolicyValueCNN(width, depth)


# ------------------------------------------------------------------------------------------------------------
# Training games of the self-play debaters (a `debate.training.selfplay` sampler) and their data.


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


@dataclasses.dataclass(frozen=True)
class TrainingGames:
  """Precommit debates on training images: game b's image uniform over its own stratum of the N training
  images (`image_strata`: each image is as likely as any other, up to one image per stratum, and a device
  needs only the images of its games), a uniformly random wrong label as the lie and a random first player.
  Its data: `training_images` on the same number of `devices`."""

  num_examples: int
  num_classes: int
  num_actions: int
  image_shape: tuple[int, int]
  devices: int = 1

  def draw(self, key, batch: int):
    low, size = image_strata(self.num_examples, batch)
    block_start = partition_bounds(self.num_examples, self.devices)[np.arange(batch) // (batch // self.devices)]
    image_key, lie_key, first_key, play_key = jax.random.split(key, 4)
    in_block = jnp.asarray(low - block_start, jnp.int32) + jax.random.randint(
      image_key, (batch,), 0, jnp.asarray(size, jnp.int32)
    )
    lie_offset = jax.random.randint(lie_key, (batch,), 1, self.num_classes)
    honest_first = jax.random.bernoulli(first_key, 0.5, (batch,))
    return (in_block, lie_offset, honest_first), jax.random.split(play_key, batch)

  def build(self, draws, data):
    """draws [b]; data: (images [S, H, W] uint8, labels [S] int32), this device's block."""
    (in_block, lie_offset, honest_first), (images, labels) = draws, data
    label = labels[in_block]
    make = lambda im, y, c, f: image_game.make_game(im, y, c, self.num_actions, f)
    return jax.vmap(make)(
      images[in_block].astype(jnp.float32) / 255.0, label, (label + lie_offset) % self.num_classes, honest_first
    )

  def example(self) -> ImageGame:
    return image_game.make_game(jnp.zeros(self.image_shape), 0, 1, self.num_actions)


def training_images(dataset: ImageDataset, batch_size: int, mesh=None) -> tuple[chex.Array, chex.Array]:
  """The self-play trainer's image data: (images [D * S, H, W] uint8, labels [D * S] int32), device d's
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
