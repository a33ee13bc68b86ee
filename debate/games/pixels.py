"""The sparse-pixel game of Irving et al. 2018 on one image: its state, moves, judge view and verdicts.

Players reveal nonzero pixels of an image the judge cannot see, one per move, k moves in all; then the judge
(a classifier of the two planes mask/values, `judges.image_judges`) gives its logits. The same game serves
debate (two players with opposite aims) and consultancy (one player).

An action is an index into the image's list of nonzero pixels (`ImageGame.candidates`, padded to a static
length A with the out-of-range pixel H * W), so a search tree has A children per node, not H * W. The game's
random draws (rollouts, the random agent) are made over the H * W pixel positions, so they do not depend on
A either.

Verdicts, as seen from the honest side (`honest_margin` > 0 means the honest side wins):
- debate with precommit (`claim` = the lie, >= 0): logit[label] - logit[lie]; the other 8 logits ignored;
- debate without precommit (`claim` = -1): logit[label] - max of the other logits (any wrong argmax loses);
- consultancy (`claim` = the consultant's label): the judge accepts iff the claim has the highest logit;
  `consultant_margin` = logit[claim] - max of the other logits.

All functions act on ONE game; batch with `jax.vmap`.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from debate.tasks import images as image_task


@chex.dataclass(frozen=True)
class ImageGame:
  """What is fixed during a game.

  image: [H, W] float32 in [0, 1]. label: [] int32, the true class.
  claim: [] int32: debate: the liar's precommitted lie, or -1 without precommit; consultancy: the label the
    consultant argues for (the true one or a wrong one).
  candidates: [A] int32, the image's nonzero pixels (flat index row * W + col) in increasing order, then H * W.
  num_candidates: [] int32, how many of `candidates` are real.
  honest_first: [] bool: in debate, whether the honest side makes move 0.
  """

  image: chex.Array
  label: chex.Array
  claim: chex.Array
  candidates: chex.Array
  num_candidates: chex.Array
  honest_first: chex.Array = True


@chex.dataclass(frozen=True)
class ImageState:
  """revealed: [k] int32, the pixels revealed so far in move order (H * W for moves not made yet).
  num_revealed: [] int32, moves made."""

  revealed: chex.Array
  num_revealed: chex.Array


def make_game(image: chex.Array, label, claim, num_actions: int, honest_first=True) -> ImageGame:
  """The game on `image` ([H, W] float32) with `num_actions` = A >= its number of nonzero pixels (static).

  If the image has more nonzero pixels than A, only the first A (in raster order) can be revealed; callers
  size A from the data set (`action_space_size`) so this never happens.
  """
  num_pixels = image.shape[0] * image.shape[1]
  nonzero = image_task.nonzero_pixel_mask(image)
  positions = jnp.arange(num_pixels, dtype=jnp.int32)
  candidates = jnp.sort(jnp.where(nonzero, positions, num_pixels))[:num_actions]
  if candidates.shape[0] < num_actions:
    candidates = jnp.pad(candidates, (0, num_actions - candidates.shape[0]), constant_values=num_pixels)
  return ImageGame(
    image=jnp.asarray(image, jnp.float32),
    label=jnp.asarray(label, jnp.int32),
    claim=jnp.asarray(claim, jnp.int32),
    candidates=candidates,
    num_candidates=jnp.minimum(nonzero.sum(), num_actions).astype(jnp.int32),
    honest_first=jnp.asarray(honest_first, jnp.bool_),
  )


def action_space_size(images) -> int:
  """images: [N, H, W] (numpy) -> A for games on them: the most nonzero pixels of one image, rounded up to a
  multiple of 8 (MNIST's test split: 311 -> 312)."""
  flat = images.reshape(images.shape[0], -1)
  return -(-int((flat != 0).sum(axis=1).max()) // 8) * 8


def init_state(game: ImageGame, k: int) -> ImageState:
  return ImageState(revealed=jnp.full((k,), game.image.size, jnp.int32), num_revealed=jnp.int32(0))


def _revealed_with_sentinel(game: ImageGame, state: ImageState) -> chex.Array:
  """[H * W + 1] bool: revealed pixels, plus a last entry for the 'no pixel' sentinel H * W."""
  return jnp.zeros((game.image.size + 1,), jnp.bool_).at[state.revealed].set(True)


def revealed_mask(game: ImageGame, state: ImageState) -> chex.Array:
  """[H, W] bool: the pixels revealed so far."""
  return _revealed_with_sentinel(game, state)[:-1].reshape(game.image.shape)


def valid_actions(game: ImageGame, state: ImageState) -> chex.Array:
  """[A] bool: candidate pixels that exist and are not revealed yet."""
  real = jnp.arange(game.candidates.shape[0]) < game.num_candidates
  return real & ~_revealed_with_sentinel(game, state)[game.candidates]


def step(state: ImageState, pixel: chex.Array) -> ImageState:
  """Reveals `pixel` (flat index) as the next move."""
  return ImageState(
    revealed=state.revealed.at[state.num_revealed].set(pixel.astype(jnp.int32)), num_revealed=state.num_revealed + 1
  )


def judge_planes(game: ImageGame, state: ImageState) -> chex.Array:
  """[H, W, 2]: what the judge sees (mask, revealed values)."""
  return image_task.judge_planes(game.image, revealed_mask(game, state))


def random_scores(key: chex.PRNGKey, game: ImageGame, state: ImageState) -> chex.Array:
  """[H * W] float32: a uniform draw in [0, 1) for each unrevealed nonzero pixel, -1 for the others (the
  argmax is a uniformly random unrevealed nonzero pixel)."""
  free = image_task.nonzero_pixel_mask(game.image) & ~revealed_mask(game, state).reshape(-1)
  return jnp.where(free, jax.random.uniform(key, free.shape), -1.0)


def random_completion(key: chex.PRNGKey, game: ImageGame, state: ImageState) -> ImageState:
  """The state after the remaining moves are uniformly random unrevealed nonzero pixels (one draw)."""
  k = state.revealed.shape[0]
  scores = random_scores(key, game, state)
  _, order = jax.lax.top_k(scores, k)  # The k best free pixels, best first.
  slot = jnp.arange(k)
  fill = order[jnp.clip(slot - state.num_revealed, 0, k - 1)].astype(jnp.int32)
  enough = jnp.take(scores, fill) >= 0  # Fewer free pixels than moves: leave empty.
  revealed = jnp.where((slot >= state.num_revealed) & enough, fill, state.revealed)
  return ImageState(revealed=revealed, num_revealed=jnp.int32(k))


def honest_margin(game: ImageGame, logits: chex.Array) -> chex.Array:
  """logits: [C] -> [] float32, the honest side's margin in the debate verdict (> 0: honest wins)."""
  true_logit = logits[game.label]
  others = jnp.where(jnp.arange(logits.shape[0]) == game.label, -jnp.inf, logits)
  rival = jnp.where(game.claim >= 0, logits[jnp.maximum(game.claim, 0)], others.max())
  return true_logit - rival


def consultant_margin(game: ImageGame, logits: chex.Array) -> chex.Array:
  """logits: [C] -> [] float32: logit[claim] - max other logit (> 0: the judge accepts the claim)."""
  others = jnp.where(jnp.arange(logits.shape[0]) == game.claim, -jnp.inf, logits)
  return logits[game.claim] - others.max()


def judge_logits(judge, judge_params, game: ImageGame, state: ImageState) -> chex.Array:
  """The judge's logits on what `state` reveals: [C]."""
  return judge.logits(judge_params, judge_planes(game, state)[None])[0]
