"""The data-free `chain` task: an affine-map computation over Z_m that a judge can check one step at a time.

An instance is a start value `x0` in Z_m and `T` operations `a_t = (u_t, v_t)` with `u_t` invertible mod m;
`x_t = f(x_{t-1}, a_t) = (u_t * x_{t-1} + v_t) mod m` and the hidden answer is `x_T`. Two candidate answers
are on the table in every game: the true `x_T` and a wrong one.

Indexing: `trace[t] = x_t` for t = 0..T, and step t (1-based) maps `trace[t-1]` to `trace[t]` with `ops[t-1]`.
All functions act on ONE instance; batch them with `jax.vmap`.

Padding: arrays have a static `max_length` >= T and the length T is a traced value, so one compiled game
serves every T of a grid. Steps past T are the identity map (u = 1, v = 0), so `trace[t] = x_T` for t >= T.
Each step is drawn from its own key (`fold_in(key, t)`), so an instance does not depend on `max_length`.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


@chex.dataclass(frozen=True)
class ChainInstance:
  """One chain instance (unbatched; vmap adds a leading batch axis to every field).

  Attributes:
    length: [] int32, the number of steps T (1 <= T <= max_length).
    ops: [max_length, 2] int32, step t uses ops[t-1] = (u, v) with 1 <= u < m, 0 <= v < m; identity past T.
    trace: [max_length + 1] int32, the true values x_0..x_T (agents see it; judges never do), then x_T.
    wrong: [] int32, the wrong candidate answer, != x_T.
  """

  length: chex.Array
  ops: chex.Array
  trace: chex.Array
  wrong: chex.Array

  @property
  def max_length(self) -> int:
    return self.ops.shape[-2]

  @property
  def answer(self) -> chex.Array:
    return self.trace[..., -1]  # Identity steps past T keep x_T to the end.


def is_prime(m: int) -> bool:
  return m >= 2 and all(m % d for d in range(2, int(m**0.5) + 1))


def apply_step(x: chex.Array, op: chex.Array, modulus: int) -> chex.Array:
  """x: [...] int32, op: [..., 2] int32 -> f(x, op): [...] int32."""
  return (op[..., 0] * x + op[..., 1]) % modulus


def invert_step(y: chex.Array, op: chex.Array, modulus: int) -> chex.Array:
  """The unique x with f(x, op) = y (modulus prime): x = u^(m-2) * (y - v) mod m."""
  inverses = jnp.asarray([pow(u, modulus - 2, modulus) for u in range(modulus)], jnp.int32)  # u^(m-2) mod m.
  return (inverses[op[..., 0] % modulus] * (y - op[..., 1])) % modulus


def compute_trace(x0: chex.Array, ops: chex.Array, modulus: int) -> chex.Array:
  """x0: [] int32, ops: [T, 2] -> trace: [T + 1] int32."""
  _, rest = jax.lax.scan(lambda x, op: 2 * (apply_step(x, op, modulus),), x0, ops)  # Carries and emits x_t.
  return jnp.concatenate([x0[None], rest])


IDENTITY_OP = (1, 0)


def sample_instance(key: chex.PRNGKey, length, modulus: int, max_length: int | None = None) -> ChainInstance:
  """Draws one instance of `length` steps over Z_modulus from `key`, padded to `max_length` steps.

  `length` may be traced; `max_length` (default: `length`, which must then be a Python int) is static.
  """
  max_length = length if max_length is None else max_length
  if isinstance(length, int) and not 1 <= length <= max_length:
    raise ValueError(f'chain length T must be in [1, {max_length}], got {length}')
  x0_key, ops_key, wrong_key = jax.random.split(key, 3)
  x0 = jax.random.randint(x0_key, (), 0, modulus, dtype=jnp.int32)

  def draw_op(t):
    u_key, v_key = jax.random.split(jax.random.fold_in(ops_key, t))
    return jnp.stack(
      [
        jax.random.randint(u_key, (), 1, modulus, dtype=jnp.int32),
        jax.random.randint(v_key, (), 0, modulus, dtype=jnp.int32),
      ]
    )

  steps = jnp.arange(max_length)
  ops = jnp.where((steps < length)[:, None], jax.vmap(draw_op)(steps), jnp.asarray(IDENTITY_OP, jnp.int32))
  trace = compute_trace(x0, ops, modulus)
  offset = jax.random.randint(wrong_key, (), 1, modulus, dtype=jnp.int32)
  return ChainInstance(
    length=jnp.asarray(length, jnp.int32), ops=ops, trace=trace, wrong=(trace[-1] + offset) % modulus
  )


def make_instance(x0: int, ops, modulus: int, wrong: int) -> ChainInstance:
  """Builds a hand-made instance (for tests and examples); checks that `wrong` is wrong."""
  ops = jnp.asarray(ops, dtype=jnp.int32).reshape(-1, 2)
  trace = compute_trace(jnp.asarray(x0, jnp.int32), ops, modulus)
  if int(trace[-1]) == int(wrong) % modulus:
    raise ValueError(f'wrong={wrong} equals the true answer {int(trace[-1])}')
  return ChainInstance(
    length=jnp.int32(ops.shape[0]), ops=ops, trace=trace, wrong=jnp.asarray(wrong % modulus, jnp.int32)
  )
