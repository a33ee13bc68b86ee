"""Running as one of several JAX processes (a TPU pod, a SLURM job): who writes, and values every process shares.

With one process (the usual case) each function is trivial. With several (after `jax.distributed.initialize`,
see launch/cli.py) the rules are:
- every process runs the same computations on its part of a global array (its shard of the batch, of the
  games); collectives (`to_host`, `broadcast_json`, Orbax saves) are called by every process, never inside a
  process-0-only branch;
- only process 0 (`is_writer()`) writes the workdir's JSON, records, tables and figures; Orbax coordinates
  the processes' checkpoint writes itself;
- a decision read from the workdir (what is already done) is taken by process 0 and broadcast, so every
  process takes the same path through the collectives.

Preemption: `PreemptionWatch` turns SIGTERM into a flag checked between training steps. With several
processes JAX's preemption sync manager (set up by `jax.distributed.initialize`) catches the signal and makes
every process stop at the same step.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils


def is_writer() -> bool:
  """True in the process that writes the workdir's files (process 0)."""
  return jax.process_index() == 0


def _host_copy(x) -> np.ndarray:
  if not isinstance(x, jax.Array) or x.is_fully_addressable:
    return np.asarray(jax.device_get(x))
  if x.is_fully_replicated:
    return np.asarray(x.addressable_data(0))
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def to_host(tree):
  """`tree` as numpy arrays holding the whole global value, in every process.

  Arrays sharded over devices of several processes are gathered (a collective: every process must call
  this); replicated or process-local arrays are copied without communication.
  """
  return jax.tree.map(_host_copy, tree)


def replicate(tree, mesh: jax.sharding.Mesh):
  """`tree` (the same value in every process; any layout, typed PRNG keys included) replicated over `mesh`,
  which may span processes: placed from host copies, which every process can do for a global mesh."""
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())

  def put(x):
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(x)), impl=jax.random.key_impl(x))
    return jax.device_put(_host_copy(x), replicated)

  return jax.tree.map(put, tree)


def broadcast_json(value: Any) -> Any:
  """Process 0's `value` (JSON-able; ignored elsewhere), returned in every process (a collective)."""
  if jax.process_count() == 1:
    return value
  data = np.frombuffer(json.dumps(value).encode(), np.uint8) if is_writer() else np.zeros(0, np.uint8)
  size = int(multihost_utils.broadcast_one_to_all(np.array(data.size, np.int64)))  # Then the bytes, as long.
  data = multihost_utils.broadcast_one_to_all(data if is_writer() else np.zeros(size, np.uint8))
  return json.loads(np.asarray(data).tobytes().decode())


def read_json(path: str) -> Any:
  """Process 0's JSON file at `path` (None where it does not exist), in every process (a collective)."""
  value = None
  if is_writer() and os.path.exists(path):
    with open(path) as f:
      value = json.load(f)
  return broadcast_json(value)


def global_max(value: int) -> int:
  """The largest of every process's integer `value`, in every process (a collective)."""
  if jax.process_count() == 1:
    return int(value)
  return int(np.max(multihost_utils.process_allgather(np.array([value], np.int64))))


class Preempted(Exception):
  """Training stopped on SIGTERM after saving a checkpoint at `step` in `directory`; rerunning the same command
  resumes from it."""

  def __init__(self, step: int, directory: str):
    super().__init__(
      f'preempted (SIGTERM) at step {step}: saved a checkpoint in {directory}; rerun the same command to resume'
    )
    self.step = step


class PreemptionWatch:
  """A context manager that records SIGTERM; `requested(step)` is checked between training steps.

  With one process it installs a SIGTERM handler that only sets a flag (the previous handler comes back on
  exit). After `jax.distributed.initialize`, JAX's preemption sync manager owns SIGTERM: `requested(step)`
  becomes true in every process at the same step, the first step after any process got the signal, so all
  save the same checkpoint. `requested` must then be called at every step by every process.
  """

  def __init__(self):
    self._flag, self._previous = threading.Event(), None

  def __enter__(self) -> PreemptionWatch:
    self._distributed = jax.distributed.is_initialized()
    if not self._distributed and threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, lambda signum, frame: self._flag.set())
    return self

  def __exit__(self, *exc) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None

  def requested(self, step: int) -> bool:
    """True once the run should save and stop (at `step`, the number of steps done)."""
    return multihost_utils.reached_preemption_sync_point(step) if self._distributed else self._flag.is_set()
