"""The judge trainer's batch order (judges/train.py), fully determined by (seed, step) and independent of the
process and device counts: row r of the global batch [B] draws only from its own stratum of the N training
examples, examples [floor(N r / B), floor(N (r + 1) / B)) (n_r of them); at step s it takes the stratum's
example `perm_{r,e}[s mod n_r]`, with e = s div n_r the row's epoch and `perm_{r,e}` a permutation of n_r
drawn from fold_in(fold_in(data_key, r), e). Every batch holds one example of each stratum, every example is
seen once per epoch, and process p holds (and loads) only the strata of its rows.
"""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding

from debate.tasks.idx import partition_bounds


@functools.partial(jax.jit, static_argnames='width')
def _row_permutations(data_key: chex.PRNGKey, rows: chex.Array, epoch, *, width: int) -> chex.Array:
  """[len(rows)] -> [len(rows), width]: row r's permutation of `width` in `epoch`, drawn from
  fold_in(fold_in(data_key, r), epoch)."""
  return jax.vmap(
    lambda row: jax.random.permutation(jax.random.fold_in(jax.random.fold_in(data_key, row), epoch), width)
  )(rows)


class BatchIndices:
  """Which examples make up this process's rows of each step's batch (the module docstring's row strata).

  A pure function of (data_key, step, global row), whatever the process count. `indices(step)` ->
  [len(rows)] int64 indices into this process's shard; each epoch's permutations are computed once (one
  jitted call for all rows) and cached.

  Args:
    data_key: the key of the batch order.
    num_examples: N, the size of the whole training split.
    batch_size: B, the global batch.
    rows: this process's rows of the global batch, a contiguous range.
    shard_start, shard_size: this process's shard of the split (global index of its first example, and its
      length); it must hold the strata of `rows`.
  """

  def __init__(
    self,
    data_key: chex.PRNGKey,
    *,
    num_examples: int,
    batch_size: int,
    rows: range,
    shard_start: int = 0,
    shard_size: int | None = None,
  ):
    if num_examples < batch_size:
      raise ValueError(
        f'the training split has {num_examples} examples, fewer than the batch size '
        f'{batch_size}: each row of the batch draws from its own N / B examples'
      )
    shard_size = num_examples if shard_size is None else shard_size
    bounds = partition_bounds(num_examples, batch_size)[rows.start : rows.stop + 1]
    low, self._sizes = bounds[:-1], np.diff(bounds)
    if len(rows) and (low[0] < shard_start or low[-1] + self._sizes[-1] > shard_start + shard_size):
      raise ValueError(
        f'rows {rows.start}..{rows.stop - 1} of the batch draw from examples {low[0]}..'
        f'{low[-1] + self._sizes[-1] - 1}, but this process holds examples {shard_start}..'
        f'{shard_start + shard_size - 1}; load the shard of idx.load_image_dataset('
        'process_index=jax.process_index(), process_count=jax.process_count())'
      )
    self._offsets = low - shard_start
    self._key = data_key
    self._rows = jnp.arange(rows.start, rows.stop, dtype=jnp.uint32)
    self._width = int(self._sizes.max(initial=1))
    self._cache: dict[int, np.ndarray] = {}

  def permutations(self, epoch: int) -> np.ndarray:
    """[rows, max n_r]: row j's first n_r entries are its stratum's permutation of epoch `epoch`."""
    if epoch not in self._cache:
      if len(self._cache) >= 3:
        self._cache.pop(min(self._cache))
      table = np.array(_row_permutations(self._key, self._rows, epoch, width=self._width))  # Writable.
      for row, size in enumerate(self._sizes):  # A uniform permutation restricted to [0, n_r) is uniform.
        if size < table.shape[1]:
          table[row, :size] = table[row][table[row] < size]
      self._cache[epoch] = table
    return self._cache[epoch]

  def indices(self, step: int) -> np.ndarray:
    epochs, positions = step // self._sizes, step % self._sizes
    out = np.empty(len(self._sizes), np.int64)
    for epoch in np.unique(epochs):
      where = np.flatnonzero(epochs == epoch)
      out[where] = self._offsets[where] + self.permutations(int(epoch))[where, positions[where]]
    return out


def local_rows(sharding: NamedSharding, batch_size: int) -> range:
  """The rows of a [batch_size] global batch that this process's devices hold under `sharding` (contiguous)."""
  slices = {
    index[0].indices(batch_size)[:2] for index in sharding.addressable_devices_indices_map((batch_size,)).values()
  }
  start, stop = min(a for a, _ in slices), max(b for _, b in slices)
  if sum(b - a for a, b in slices) != stop - start:
    raise ValueError(
      f"this process's devices hold rows {sorted(slices)} of the batch, not one contiguous "
      'block; order the mesh devices by process (make_mesh)'
    )
  return range(start, stop)
