"""Threefry without loops on the CPU: the same random numbers, a fraction of the kernel launches.

JAX lowers its Threefry-2x32 hash for the CPU as a `fori_loop` of 5 rounds (to keep compile times short), and
for GPUs as straight-line code. Every `jax.random` call in a search's simulation (the rollout's pixel draw,
mctx's tie-break noise, key splits) then runs a small XLA while loop, whose iterations are kernel launches
and thread-pool hand-offs on a scale far larger than the 20 rounds of integer arithmetic they carry: in the
image MCTS they were a tenth of the search's time at 2 cores (`launch.bench --task=images`, BUILD_NOTES.md
"Issue 16"). `install()` registers JAX's own straight-line lowering for the CPU as well: the arithmetic is
the same, so every random number, and every record, is unchanged (tests/test_mcts.py checks both).

This reaches into `jax._src`, which may move between JAX releases; where it has moved, `install()` leaves
JAX's lowering in place (slower, equally correct) and returns False, and the test names what to update.
"""

from __future__ import annotations

import functools


@functools.cache
def install() -> bool:
  """Use the straight-line Threefry lowering on the CPU for everything compiled from now on; True if in use."""
  try:
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32
  except ImportError:
    return False
  straight_line = getattr(threefry2x32, '_threefry2x32_lowering_rule', None)
  primitive = getattr(threefry2x32, 'threefry2x32_p', None)
  if straight_line is None or primitive is None:
    return False
  mlir.register_lowering(primitive, straight_line, platform='cpu')
  return True
