"""The `images` task (Irving, Christiano & Amodei 2018, section 3.1): what the judge sees of an image.

An instance is an image and its label. The evidence units are the image's nonzero pixels, indexed by their
flat position `i = row * W + col` in [0, H * W); revealing a pixel shows the judge its true position and
value. The judge's input is two planes: the {0, 1} mask of revealed pixels and the revealed values (zeros
elsewhere), so a revealed pixel is told apart from an unrevealed one even where values would not tell.

All functions act on ONE image (`[H, W]`); batch them with `jax.vmap`. Images are float32 in [0, 1]
(`to_unit_interval` converts uint8 pixels). Every function is pure and jit-compatible.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def to_unit_interval(images: chex.Array) -> chex.Array:
  """images: [..., H, W] uint8 0..255 -> [..., H, W] float32 in [0, 1]."""
  return jnp.asarray(images, jnp.float32) / 255.0


def judge_planes(image: chex.Array, mask: chex.Array) -> chex.Array:
  """The judge's view of `image` with the pixels in `mask` revealed.

  Args:
    image: [H, W] float32 in [0, 1].
    mask: [H, W] bool, True where a pixel is revealed.

  Returns:
    planes: [H, W, 2] float32; planes[..., 0] is the mask as 0/1, planes[..., 1] the image where revealed
    and 0 elsewhere.
  """
  mask = jnp.asarray(mask, jnp.bool_)
  image = jnp.asarray(image, jnp.float32)
  if image.shape != mask.shape or image.ndim != 2:
    raise ValueError(
      f'judge_planes takes one [H, W] image and an [H, W] mask, got {image.shape} and '
      f'{mask.shape}; use jax.vmap for a batch'
    )
  return jnp.stack([mask.astype(jnp.float32), jnp.where(mask, image, 0.0)], axis=-1)


def nonzero_pixel_mask(image: chex.Array) -> chex.Array:
  """image: [H, W] -> [H * W] bool: the valid actions (pixels an agent may reveal), index row * W + col."""
  return jnp.reshape(image, (-1,)) != 0


def random_nonzero_mask(key: chex.PRNGKey, image: chex.Array, k: int) -> chex.Array:
  """Reveals k of the image's nonzero pixels, chosen uniformly at random without replacement.

  Args:
    key: a PRNG key.
    image: [H, W], any numeric dtype; the pixels that are != 0 are the candidates.
    k: static number of pixels to reveal, 0 <= k <= H * W.

  Returns:
    mask: [H, W] bool with exactly min(k, number of nonzero pixels) True entries, all on nonzero pixels.
    When the image has fewer than k nonzero pixels, all of them are revealed and no zero pixel is: the
    judge then sees fewer than k pixels (callers that need exactly k can drop such images beforehand).

  The choice is the first k nonzero pixels in a uniformly random permutation of all H * W pixels, so every
  k-subset of the nonzero pixels is equally likely; the random draw depends only on `key` and the image
  size, not on the image content.
  """
  image = jnp.asarray(image)
  if image.ndim != 2:
    raise ValueError(f'random_nonzero_mask takes one [H, W] image, got shape {image.shape}; use jax.vmap')
  num_pixels = image.shape[0] * image.shape[1]
  if not isinstance(k, int) or not 0 <= k <= num_pixels:
    raise ValueError(
      f'k (pixels to reveal) must be a static int in [0, {num_pixels}] for a {image.shape} image, got {k!r}'
    )
  order = jax.random.permutation(key, num_pixels)
  in_order = nonzero_pixel_mask(image)[order]
  chosen_in_order = in_order & (jnp.cumsum(in_order) <= k)  # The cumsum: 1-based rank in the random order.
  return jnp.zeros((num_pixels,), jnp.bool_).at[order].set(chosen_in_order).reshape(image.shape)
