"""Reward models of the `rrm` protocol: Flax networks that score a claimed end value of a chain segment.

`SegmentNet` reads a task (start value x, segment ops) and returns one logit per value of Z_m. As a reward
model, R(x, ops, y) = sigmoid(logit[y]) is its probability that y is the segment's end value; the RRM agents
(`debate.agents.rrm`) use the same network as a policy (softmax over the logits), so one architecture serves
both. The first layer is a Dense layer over the one-hot encodings of (x, u_1, v_1, ..., u_T, v_T), computed
as a sum of embedding rows (one table per input position), so its cost grows with T, not with T * m.

A network is described by a frozen `NetSpec` (hashable, a static argument of `jax.jit`) and its parameters are
a separate pytree, so every function here is pure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

Params = Any


@dataclasses.dataclass(frozen=True)
class NetSpec:
  """A SegmentNet over segments of `length` steps in Z_modulus: `depth` hidden layers of `width` units."""

  modulus: int
  length: int
  width: int
  depth: int = 2

  def __post_init__(self):
    for name in ('modulus', 'length', 'width', 'depth'):
      if getattr(self, name) < 1:
        raise ValueError(f'NetSpec.{name} must be >= 1, got {getattr(self, name)}')


class SegmentNet(nn.Module):
  """x: [...] int32, ops: [..., length, 2] int32 -> logits: [..., modulus] float32."""

  modulus: int
  length: int
  width: int
  depth: int

  @nn.compact
  def __call__(self, x, ops):
    m, length = self.modulus, self.length
    positions = jnp.arange(length, dtype=jnp.int32) * m
    h = nn.Embed(m, self.width, name='start')(x)
    h = h + nn.Embed(length * m, self.width, name='u')(positions + ops[..., 0]).sum(axis=-2)
    h = h + nn.Embed(length * m, self.width, name='v')(positions + ops[..., 1]).sum(axis=-2)
    h = nn.relu(h + self.param('bias', nn.initializers.zeros, (self.width,)))
    for _ in range(self.depth - 1):
      h = nn.relu(nn.Dense(self.width)(h))
    return nn.Dense(m)(h)


def _module(spec: NetSpec) -> SegmentNet:
  return SegmentNet(spec.modulus, spec.length, spec.width, spec.depth)


def init_params(spec: NetSpec, key: chex.PRNGKey) -> Params:
  return _module(spec).init(key, jnp.zeros((1,), jnp.int32), jnp.ones((1, spec.length, 2), jnp.int32))


def net_logits(spec: NetSpec, params: Params, x, ops) -> chex.Array:
  """x [...], ops [..., length, 2] -> [..., modulus] float32."""
  if ops.shape[-2] != spec.length:
    raise ValueError(f'this network reads segments of {spec.length} steps, got {ops.shape[-2]}')
  return _module(spec).apply(params, x, ops)


def claim_logit(spec: NetSpec, params: Params, x, ops, claim) -> chex.Array:
  """The reward model's logit that `claim` [...] is the end value: [...] float32."""
  return jnp.take_along_axis(net_logits(spec, params, x, ops), claim[..., None], axis=-1)[..., 0]


def reward_probability(spec: NetSpec, params: Params, x, ops, claim) -> chex.Array:
  """R(x, ops, claim) = P(claim is right): [...] float32."""
  return jax.nn.sigmoid(claim_logit(spec, params, x, ops, claim))


def as_reward(spec: NetSpec, params: Params):
  """The reward model as a `protocols.rrm.Reward` function."""
  return lambda x, ops, claim: reward_probability(spec, params, x, ops, claim)


def reward_model_loss(spec: NetSpec, params: Params, x, ops, claim, target) -> chex.Array:
  """Binary cross-entropy against soft targets in [0, 1]: x [B], ops [B, T, 2], claim [B], target [B] -> []."""
  return optax.sigmoid_binary_cross_entropy(claim_logit(spec, params, x, ops, claim), target).mean()


def reward_table(spec: NetSpec, params: Params, x, ops) -> chex.Array:
  """R(x, ops, y) for every y in Z_m at once: x [...], ops [..., T, 2] -> [..., modulus] float32."""
  return jax.nn.sigmoid(net_logits(spec, params, x, ops))
