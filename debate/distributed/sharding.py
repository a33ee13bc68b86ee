"""Meshes and layouts of every trainer (judges, learned agents, reward models): one way to shard training.

A trainer runs `jax.jit` over a ('data', 'model') mesh:
- its batch (examples, games, tasks) is split over every device of the mesh, both axes (`batch_sharding`,
  `batch_constrained`). The batch does not depend on the layout: it is drawn whole inside `jit` (or each
  example from its own key) with JAX's partitionable threefry, and only then constrained;
- each parameter and its optimizer moments are split FSDP-style over 'model' along their largest axis that
  the 'model' size divides (`fsdp_spec`), replicated where none does, and XLA gathers them where a step needs
  them (`fsdp_constrained` inside the jitted step, `fsdp_placed` for its inputs);
- losses are means over the whole batch, so a trainer's results agree on every mesh up to the order of
  float reductions. Long trainings amplify that rounding (Adam, sampled moves): after a few hundred steps
  two layouts' params drift apart, so a judge or agent trained on another layout is a slightly different
  one (measured in BUILD_NOTES). Each layout is deterministic.

`make_mesh` builds the mesh from devices; `training_mesh` picks, from an experiment's devices, the ones a
trainer with a given batch uses: the same number from every process, so with several processes (a pod, a
SLURM job) each trains on its share of the batch and every process takes part in every step. `None` stands
for "one device, no mesh": trainers then run plain `jit` on the default device.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from debate.distributed import multihost
from debate.experiments.runfiles import ConfigError


def make_mesh(devices: Sequence[jax.Device] | None = None, *, model_parallelism: int = 1) -> Mesh:
  """The ('data', 'model') mesh of `devices` (default: all), shape (len / model_parallelism, model_parallelism).

  Devices are ordered by (process index, id): each process's devices hold a contiguous block of the batch,
  and 'model' groups stay within a process when model_parallelism divides its device count.
  """
  devices = sorted(jax.devices() if devices is None else devices, key=lambda d: (d.process_index, d.id))
  if model_parallelism < 1 or len(devices) % model_parallelism:
    raise ValueError(f'model_parallelism={model_parallelism} does not divide the {len(devices)} devices')
  return Mesh(np.asarray(devices).reshape(-1, model_parallelism), ('data', 'model'))


def training_mesh(
  mesh: Mesh | None,
  batch_size: int,
  model_parallelism: int = 1,
  *,
  field: str = 'model_parallelism',
  batch_field: str = 'batch_size',
) -> Mesh | None:
  """The ('data', 'model') mesh a trainer with a global batch of `batch_size` splits it over.

  From each process it takes the same number n of its devices in `mesh` (an experiment's mesh, which may
  span processes): the largest n such that n x process count divides `batch_size` and `model_parallelism`
  divides n (params and Adam moments are split FSDP-style over 'model'). None when that is a single device
  (one process, n = 1), or without a `mesh`. ConfigError (naming `field`, the config field of the
  parallelism, and `batch_field`, the config field of the batch size) when no n fits.
  """
  if mesh is None:
    return None
  processes = sorted({d.process_index for d in mesh.devices.flat})
  by_process = {p: [d for d in mesh.devices.flat if d.process_index == p] for p in processes}
  per_process = min(len(devices) for devices in by_process.values())
  if not isinstance(model_parallelism, int) or model_parallelism < 1 or per_process % model_parallelism:
    raise ConfigError(
      field,
      f'{model_parallelism!r} does not divide the {per_process} devices of each process; '
      f'pass one of {[d for d in range(1, per_process + 1) if per_process % d == 0]}',
    )
  counts = [
    n for n in range(model_parallelism, per_process + 1, model_parallelism) if batch_size % (n * len(processes)) == 0
  ]
  if not counts:
    raise ConfigError(
      field,
      f'the batch of {batch_size} (--config.{batch_field}) cannot be split evenly over '
      f'{len(processes)} process(es) with a multiple of {field}={model_parallelism} devices '
      f'each; pass a --config.{batch_field} divisible by {len(processes) * model_parallelism}',
    )
  n = max(counts)
  devices = [d for p in processes for d in by_process[p][:n]]
  return None if len(devices) == 1 else make_mesh(devices, model_parallelism=model_parallelism)


def check_batch(mesh: Mesh | None, batch_size: int) -> None:
  """ValueError unless a batch of `batch_size` splits evenly over `mesh` (None: one device)."""
  if mesh is not None and batch_size % mesh.devices.size:
    raise ValueError(f'the batch of {batch_size} is not divisible by the {mesh.devices.size} devices of the mesh')


def batch_spec(mesh: Mesh) -> P:
  """A batch's leading axis split over every axis of `mesh`."""
  return P(mesh.axis_names)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """The batch's leading axis split over every device of `mesh` (both axes)."""
  return NamedSharding(mesh, batch_spec(mesh))


def batch_constrained(tree, mesh: Mesh | None):
  """Inside `jit`: every array of `tree` split over `mesh` along its leading (batch) axis; unchanged without
  a mesh."""
  return tree if mesh is None else jax.lax.with_sharding_constraint(tree, batch_sharding(mesh))


def fsdp_spec(shape: Sequence[int], model_size: int) -> P:
  """The spec of an array of `shape`: its largest axis divisible by `model_size` split over 'model' (the
  first such axis on ties); replicated if no axis divides, or if `model_size` is 1."""
  axes = [axis for axis, size in enumerate(shape) if model_size > 1 and size % model_size == 0]
  if not axes:
    return P()
  axis = max(axes, key=lambda a: (shape[a], -a))
  return P(*([None] * axis + ['model']))


def fsdp_sharding(tree, mesh: Mesh):
  """The shardings of the arrays (or ShapeDtypeStructs) of `tree` on `mesh` by `fsdp_spec` over its 'model'
  axis: a NamedSharding for an array, a tree of them for a tree."""
  return jax.tree.map(lambda x: NamedSharding(mesh, fsdp_spec(x.shape, dict(mesh.shape).get('model', 1))), tree)


def fsdp_constrained(tree, mesh: Mesh | None):
  """Inside `jit`: `tree` (params, optimizer state) laid out by `fsdp_sharding` on `mesh` (replicated over it
  when its 'model' axis has size 1); unchanged without a mesh. Trainers call it on their state, and
  `fsdp_placed` on its inputs, so a compiled step's outputs have the layout of its inputs (one compilation,
  not one more for the layout after the first call)."""
  return tree if mesh is None else jax.lax.with_sharding_constraint(tree, fsdp_sharding(tree, mesh))


def fsdp_placed(tree, mesh: Mesh | None):
  """Outside `jit`: `tree` (the same value in every process) put on the devices of `mesh` with the layout of
  `fsdp_constrained`; unchanged without a mesh. A mesh spanning processes is filled from host copies."""
  if mesh is None:
    return tree
  return jax.device_put(multihost.to_host(tree) if mesh.is_multi_process else tree, fsdp_sharding(tree, mesh))


def replicated(tree, mesh: Mesh | None):
  """Outside `jit`: `tree` (the same value in every process) replicated over `mesh`, for a jitted step's
  constant inputs (a judge's params, a step counter); unchanged without a mesh."""
  return tree if mesh is None else multihost.replicate(tree, mesh)
