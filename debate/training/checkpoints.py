"""Orbax checkpoints of parameter trees, written once for every model the simulator saves.

`save_tree` writes a tree (params of a judge, a reward model, a ladder rung) as host numpy arrays;
`restore_tree` reads one back as numpy arrays shaped like `abstract` (e.g. `jax.eval_shape(init_fn)`).
With several processes every process calls both: `save_tree` gathers sharded arrays (a collective) and Orbax
writes from process 0 only; every process restores the same tree.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from debate.distributed import multihost


def save_tree(directory: str, tree) -> None:
  """Writes `tree` to `directory` (replacing what is there) and waits until it is on disk."""
  import orbax.checkpoint as ocp  # Imported here: orbax is slow to import and only saving runs need it.

  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(os.path.abspath(directory), multihost.to_host(tree), force=True)
    checkpointer.wait_until_finished()


def restore_tree(directory: str, abstract):
  """The tree saved in `directory` as numpy arrays; `abstract` gives its structure, shapes and dtypes."""
  import orbax.checkpoint as ocp

  like = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), abstract)
  with ocp.StandardCheckpointer() as checkpointer:
    return checkpointer.restore(os.path.abspath(directory), like)
