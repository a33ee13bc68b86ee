"""The sharded game runner, written once for every task: `jit(shard_map(vmap(play_one)))` over a ('data',)
mesh, in batches of games.

A task gives a *batch player*: a frozen (hashable) dataclass whose fields are everything static about a
batch of games (the arm's agents without their checkpoint steps, the judge's architecture, the game's
shapes) and whose `__call__(*per_game, *shared)` plays ONE game: `per_game` inputs have a leading game axis
(game indices, images) and are split over the mesh; `shared` inputs (the seed's key, the judge's params,
the agents' params, flags) are the same for every game and traced. So one compilation serves every seed,
every judge of an architecture and every checkpoint of a ladder; `compilations()` counts them. The games
are vmapped with the axis name `GAMES`, so a player may branch on "some game of the batch ..." (a psum; see
`debate.games.play`).

With several processes (debate/distributed/multihost.py) the mesh spans every process's devices: each process plays the
games of its devices' share of each batch, and the outcomes are gathered so that every process returns all
of them, bit-identical to a single process's.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from debate.distributed import multihost

GAMES = 'games'
_traces = [0]  # Traces of batch functions: one per compilation (`compilations`).


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """A 1-D ('data',) mesh over `devices` (default: every device)."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.sharding.Mesh(np.array(devices), ('data',))


def compilations() -> int:
  """How many batches of games this process has compiled (traced) so far, over every task and arm."""
  return _traces[0]


@functools.lru_cache(maxsize=128)
def compiled_games(player, mesh, num_per_game: int, num_shared: int):
  """The jitted fn(*per_game [B, ...] (sharded over 'data'), *shared (replicated)) -> the player's outputs
  with a leading axis [B]."""

  def local(*args):
    _traces[0] += 1
    in_axes = (0,) * num_per_game + (None,) * num_shared
    return jax.vmap(player, in_axes=in_axes, axis_name=GAMES)(*args)

  specs = (P('data'),) * num_per_game + (P(),) * num_shared
  return jax.jit(jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P('data'), check_vma=False))


def run_games(
  player,
  per_game: Callable[[np.ndarray], tuple],
  shared: tuple,
  *,
  num_games: int,
  batch_size: int,
  mesh=None,
  first_index: int = 0,
  on_batch: Callable[[int], Any] | None = None,
):
  """Plays games first_index .. first_index + num_games - 1 with `player` in global batches.

  per_game(indices [B] int64) -> the per-game inputs of those games (numpy arrays [B, ...]); indices past the
  last game are padding whose results are dropped. `shared`: the shared inputs. `on_batch(games_done)` is
  called after each batch (progress reports). Returns the player's outputs as numpy arrays with leading axis
  [num_games], in every process (with several processes every one must call this).
  """
  mesh = mesh or data_mesh()
  devices = mesh.devices.size  # The global batch: at most the games, rounded up to a multiple of the devices.
  batch = -(-max(1, min(batch_size, num_games)) // devices) * devices
  sharding = NamedSharding(mesh, P('data'))
  shared = multihost.replicate(shared, mesh)
  chunks = []
  for start in range(first_index, first_index + num_games, batch):
    inputs = [jax.device_put(x, sharding) for x in per_game(np.arange(start, start + batch))]
    fn = compiled_games(player, mesh, len(inputs), len(shared))  # Cached: compiled once.
    chunks.append(multihost.to_host(fn(*inputs, *shared)))
    if on_batch:
      on_batch(min(start + batch, first_index + num_games) - first_index)
  return jax.tree.map(lambda *xs: np.concatenate(xs)[:num_games], *chunks)
