"""Orbax, written once for every model and training run the simulator saves.

- `save_tree` / `restore_tree`: one tree (the params of a judge, a reward model, a ladder rung) as host numpy
  arrays in a directory.
- `manager(directory, keep)`: the resumable training state of a run, a checkpoint per step; `save_state`
  writes a step's `state` tree (and optionally a JSON `meta` object), `restore_state` / `restore_meta` read
  them back, `saved_steps` lists what is there.
With several processes every process calls these: arrays sharded over several processes are saved from
their shards (Orbax coordinates), host trees from process 0; every process restores the same tree.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from debate.distributed import multihost


def _ocp():
  import orbax.checkpoint as ocp  # Imported here: orbax is slow to import and only saving runs need it.

  return ocp


def save_tree(directory: str, tree) -> None:
  """Writes `tree` to `directory` (replacing what is there) and waits until it is on disk."""
  with _ocp().StandardCheckpointer() as checkpointer:
    checkpointer.save(os.path.abspath(directory), multihost.to_host(tree), force=True)
    checkpointer.wait_until_finished()


def restore_tree(directory: str, abstract):
  """The tree saved in `directory` as numpy arrays; `abstract` gives its structure, shapes and dtypes."""
  like = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), abstract)
  with _ocp().StandardCheckpointer() as checkpointer:
    return checkpointer.restore(os.path.abspath(directory), like)


def manager(directory: str, keep: int, *, meta: bool = False):
  """The Orbax CheckpointManager of a run's training state in `directory` (the last `keep` steps kept);
  `meta`: whether its checkpoints also hold a JSON object beside the state. Close it after use."""
  ocp = _ocp()
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, cleanup_tmp_directories=True)
  items = ('state', 'meta') if meta else ('state',)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options, item_names=items)


def save_state(checkpoints, step: int, state, meta=None) -> None:
  """Saves `state` (a tree of arrays, any layout) and, for a manager made with meta=True, `meta` at `step`."""
  ocp = _ocp()
  items = {'state': ocp.args.StandardSave(state)}
  if meta is not None:
    items['meta'] = ocp.args.JsonSave(meta)
  checkpoints.save(step, args=ocp.args.Composite(**items))


def restore_state(checkpoints, step: int, abstract):
  """The state saved at `step`; `abstract`: its ShapeDtypeStructs (with shardings: the layout to restore to)."""
  ocp = _ocp()
  return checkpoints.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))['state']


def restore_meta(checkpoints, step: int):
  """The JSON object saved beside the state at `step`."""
  ocp = _ocp()
  return checkpoints.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']


def saved_steps(directory: str) -> list[int]:
  """The steps of the checkpoints in `directory` (none if it does not exist)."""
  return list(_ocp().utils.checkpoint_steps(directory)) if os.path.isdir(directory) else []
