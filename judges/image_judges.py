"""Judges of the `images` task: Flax classifiers of sparse-pixel views, a ladder of strengths.

Every judge has one interface: `model.apply(params, planes, train=...)` with `planes: [B, H, W, 2]` (the
revealed mask and revealed values, `debate.tasks.images.judge_planes`) -> `logits: [B, num_classes]`.
Training mode (`train=True`) enables dropout where a model has it and then needs a 'dropout' rng:
`model.apply(params, planes, train=True, rngs={'dropout': key})`.

The ladder, strongest first (parameter counts for 28x28 inputs and 10 classes):
- `irving_cnn` (3,275,434): the TensorFlow layers-tutorial MNIST CNN used by Irving et al. 2018: conv 5x5x32
  SAME + relu, max-pool 2x2 stride 2, conv 5x5x64 SAME + relu, max-pool 2x2 stride 2, flatten, dense 1024 +
  relu, dropout 0.4 (train only), dense num_classes.
- `small_cnn` (101,474): one 5x5x8 convolution, a 2x2 max-pool and a 64-unit hidden layer.
- `mlp` (202,122): one 128-unit hidden layer on the flattened planes; no spatial prior, so it is the weakest
  judge for a given amount of training even though it has more parameters than `small_cnn`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

Params = Any


class SparsePixelJudge(nn.Module):
  """planes [B, H, W, 2] -> logits [B, num_classes]: for each of `convs`, conv 5x5xfeatures SAME + relu and
  max-pool 2x2 stride 2; then flatten, dense `hidden` + relu, dropout (train only, if `dropout_rate`), dense
  num_classes. The ladder's judges are its configurations (JUDGE_MODELS)."""

  num_classes: int = 10
  convs: tuple[int, ...] = ()
  hidden: int = 128
  dropout_rate: float = 0.0

  @nn.compact
  def __call__(self, planes, *, train: bool = False):
    if planes.ndim != 4 or planes.shape[-1] != 2:
      raise ValueError(f'a judge takes planes of shape [B, H, W, 2] (mask, values), got {planes.shape}')
    x = jnp.asarray(planes, jnp.float32)
    for features in self.convs:
      x = nn.max_pool(nn.relu(nn.Conv(features, (5, 5), padding='SAME')(x)), (2, 2), strides=(2, 2))
    x = nn.relu(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1)))
    if self.dropout_rate:
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes)(x)


JUDGE_MODELS = {  # The ladder of the module docstring, strongest first.
  'irving_cnn': functools.partial(SparsePixelJudge, convs=(32, 64), hidden=1024, dropout_rate=0.4),
  'small_cnn': functools.partial(SparsePixelJudge, convs=(8,), hidden=64),
  'mlp': functools.partial(SparsePixelJudge, hidden=128),
}


def make_judge(name: str, num_classes: int = 10) -> nn.Module:
  if name not in JUDGE_MODELS:
    raise ValueError(f'unknown image judge {name!r}; expected one of {", ".join(JUDGE_MODELS)}')
  if num_classes < 2:
    raise ValueError(f'an image judge needs num_classes >= 2, got {num_classes}')
  return JUDGE_MODELS[name](num_classes=num_classes)


@dataclasses.dataclass(frozen=True)
class ImageJudge:
  """A judge model by name, hashable, so games compiled for it can be cached: `logits(params, planes)`."""

  model: str
  num_classes: int = 10

  def __post_init__(self):
    make_judge(self.model, self.num_classes)  # Validates the name and the class count.

  def logits(self, params: Params, planes: chex.Array) -> chex.Array:
    """planes: [B, H, W, 2] -> logits [B, num_classes] (inference mode: no dropout)."""
    return make_judge(self.model, self.num_classes).apply(params, planes)


def init_judge(model: nn.Module, key: chex.PRNGKey, image_shape: tuple[int, int] = (28, 28)) -> Params:
  """Initial params of `model` for [H, W] = image_shape images (a batch of one zero-planes input)."""
  return model.init(key, jnp.zeros((1, *image_shape, 2), jnp.float32))


def forward_flops(judge: ImageJudge, params: Params, image_shape: tuple[int, int] = (28, 28)) -> float:
  """FLOPs of the judge's forward pass on one image (XLA's cost analysis of the compiled call)."""
  cost = jax.jit(judge.logits).lower(params, jnp.zeros((1, *image_shape, 2), jnp.float32)).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get('flops', 0.0)) if cost else 0.0


def count_params(params: Params) -> int:
  return sum(int(leaf.size) for leaf in jax.tree.leaves(params))


def cross_entropy_loss(logits: chex.Array, labels: chex.Array) -> chex.Array:
  """logits: [B, C] float, labels: [B] int -> [] float32, the mean softmax cross-entropy."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels))


def accuracy(logits: chex.Array, labels: chex.Array) -> chex.Array:
  """logits: [B, C], labels: [B] int -> [] float32, the fraction of argmax predictions equal to labels."""
  return jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))
