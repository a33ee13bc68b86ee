"""Training throughput on a (data, model) device mesh (launch/bench.py --train runs these).

- `measure_train_judge`: the image judge's train step (judges/train.py), fed from the host each step.
- `measure_train_selfplay`: the AlphaZero-style self-play step of the chain debaters (debate/training/selfplay.py),
  `steps_per_repeat` steps as one compiled scan.

Both return a row with compile_s (lowering and compiling, apart from the timed calls), median_s, min_s,
max_s and times_s [repeats] (per repetition of `steps_per_repeat` steps), steps_per_s, examples_per_s,
flops_per_step (XLA's cost analysis of the compiled step, per device) and mfu (flops_per_step * steps_per_s
over the device's PEAK_FLOPS; None where the peak is not known, e.g. on CPU). Timing and the table caption
are debate.rollouts.throughput's.
"""

from __future__ import annotations

import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from debate.distributed import sharding
from debate.games import chain as chain_game
from debate.reports.tables import markdown_table
from debate.rollouts.throughput import table_caption, time_calls, timing_fields
from debate.training import selfplay
from judges import chain_checkers, image_judges, train

# Dense bf16 peak FLOP/s per device, from the vendors' data sheets, by `device.device_kind`: the usual MFU
# denominator. The judges train in float32, so their MFU against it is a lower bound on how busy a device is.
PEAK_FLOPS = {
  'TPU v4': 275e12,
  'TPU v5 lite': 197e12,
  'TPU v5': 459e12,
  'TPU v5p': 459e12,
  'TPU v6 lite': 918e12,
  'NVIDIA H100 80GB HBM3': 989e12,
  'NVIDIA H100 PCIe': 756e12,
  'NVIDIA H200': 989e12,
  'NVIDIA A100-SXM4-40GB': 312e12,
  'NVIDIA A100-SXM4-80GB': 312e12,
  'NVIDIA A100 80GB PCIe': 312e12,
}


def _mesh(mesh_shape: tuple[int, int], batch_size: int) -> Mesh:
  """The (data, model) = `mesh_shape` mesh of the first devices; ValueError if too few or `batch_size` does
  not divide over them."""
  data, model = mesh_shape
  n = data * model
  if n > jax.device_count():
    raise ValueError(
      f'the mesh data:{data},model:{model} needs {n} devices, this process has '
      f'{jax.device_count()} ({jax.default_backend()})'
    )
  if batch_size % n:
    raise ValueError(f'batch size {batch_size} is not divisible by the mesh size {n}')
  return sharding.make_mesh(jax.devices()[:n], model_parallelism=model)


def _flops(compiled) -> float:
  """XLA's FLOPs of one call of `compiled` per device (0 where the backend does not say)."""
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get('flops', 0.0)) if cost else 0.0


def _rates(times: Sequence[float], compile_s: float, flops: float, steps_per_repeat: int, batch_size: int) -> dict:
  """The timing, rate and MFU fields of a row."""
  timing = timing_fields(times)
  steps_per_s = steps_per_repeat / timing['median_s']
  peak = PEAK_FLOPS.get(jax.devices()[0].device_kind)
  return {
    'steps_per_repeat': steps_per_repeat,
    'repeats': len(times),
    'compile_s': compile_s,
    **timing,
    'steps_per_s': steps_per_s,
    'examples_per_s': steps_per_s * batch_size,
    'flops_per_step': flops,
    'peak_flops': peak,
    'mfu': flops * steps_per_s / peak if peak and flops else None,
  }


def measure_train_judge(
  judge: str,
  *,
  mesh_shape: tuple[int, int],
  batch_size: int,
  k: int = 6,
  image_shape: tuple[int, int] = (28, 28),
  steps_per_repeat: int = 10,
  repeats: int = 5,
  seed: int = 0,
) -> dict:
  """Times the train step of image judge `judge` on a (data, model) = `mesh_shape` mesh of the first devices.

  Batches are synthetic MNIST-like images [batch_size, *image_shape] (about 19% nonzero pixels; speed does
  not depend on the values), fed from the host each step as in training (which waits for each step on CPU
  with several devices: train.waits_for_each_step). After compiling, 2 warm-up steps, then `repeats`
  repetitions of `steps_per_repeat` steps, each blocked on. Returns a row (see the module docstring).
  """
  data, model = mesh_shape
  mesh = _mesh(mesh_shape, batch_size)
  network = image_judges.make_judge(judge, 10)
  optimizer = optax.adam(1e-4)
  state = train.init_state(network, optimizer, seed=seed, image_shape=image_shape, mesh=mesh)
  shardings = sharding.fsdp_sharding(state, mesh)
  step_fn = train.make_train_step(network, optimizer, k=k, mesh=mesh, shardings=shardings)
  rng = np.random.default_rng(seed)
  pool = 4  # Host batches cycled through.
  images = np.where(
    rng.random((pool, batch_size, *image_shape)) < 0.19, rng.integers(1, 256, (pool, batch_size, *image_shape)), 0
  ).astype(np.uint8)
  labels = rng.integers(0, 10, (pool, batch_size)).astype(np.int32)
  sharded = sharding.batch_sharding(mesh)
  mask_key = jax.jit(lambda: jax.random.key(seed), out_shardings=NamedSharding(mesh, P()))()
  batch = lambda i: (
    jax.make_array_from_process_local_data(sharded, images[i % pool]),
    jax.make_array_from_process_local_data(sharded, labels[i % pool]),
  )

  start = time.perf_counter()
  compiled = step_fn.lower(state, *batch(0), mask_key).compile()
  compile_s = time.perf_counter() - start
  wait = train.waits_for_each_step(mesh)  # As the training loop does.

  def run(r: int):
    """r = 0: the 2 warm-up steps; r >= 1: a timed repetition."""
    nonlocal state
    for i in range(2 if r == 0 else steps_per_repeat):
      state, metrics = compiled(state, *batch(r + i), mask_key)
      if wait:
        jax.block_until_ready(metrics)
    return state, metrics

  _, *times = time_calls(run, repeats + 1)
  return {
    'train': 'judge',
    'judge': judge,
    'mesh': f'data:{data},model:{model}',
    'devices': data * model,
    'batch': batch_size,
    'k': k,
    'image_shape': list(image_shape),
    'params': image_judges.count_params(state.params),
    **_rates(times, compile_s, _flops(compiled), steps_per_repeat, batch_size),
  }


def measure_train_selfplay(
  *,
  mesh_shape: tuple[int, int],
  batch_size: int,
  modulus: int = 17,
  max_length: int = 16,
  simulations: int = 16,
  width: int = 128,
  steps_per_repeat: int = 10,
  repeats: int = 3,
  seed: int = 0,
) -> dict:
  """Times the self-play training of the chain debaters (split-choice chain games of T uniform in [2,
  max_length], `batch_size` a step) on a (data, model) = `mesh_shape` mesh of the first devices (games over
  all of them, params FSDP-style over 'model'), against an untrained learned:96 judge.

  Each call runs `steps_per_repeat` steps as one compiled scan (as training does between checkpoints);
  after compiling, one warm-up call, then `repeats` timed calls. Returns a row like measure_train_judge's
  ('judge' names the trained network; examples are self-play games).
  """
  data, model = mesh_shape
  mesh = _mesh(mesh_shape, batch_size)
  checker = chain_checkers.parse_checker('learned:96', modulus)
  judge = chain_checkers.init_params(checker, jax.random.key(seed))
  config = selfplay.SelfPlayConfig(batch_size=batch_size, num_simulations=simulations, width=width)
  game = chain_game.ChainDebate(checker, max_length, honest_splits=True)
  sampler = chain_game.TrainingGames(modulus, max_length)
  init_key, train_key = jax.random.split(selfplay.agent_key(seed))
  params = selfplay.init_params(game, sampler, width, config.depth, init_key)
  optimizer, train_chunk = selfplay.make_train_chunk(game, sampler, config, train_key, mesh)
  params, opt_state = sharding.fsdp_placed((params, optimizer.init(params)), mesh)  # As training lays them out.
  judge = (sharding.replicated(judge, mesh), {})
  steps = lambda r: jnp.arange(r * steps_per_repeat, (r + 1) * steps_per_repeat, dtype=jnp.int32)

  start = time.perf_counter()
  compiled = train_chunk.lower(params, opt_state, judge, steps(0)).compile()
  compile_s = time.perf_counter() - start

  def run(r: int):
    """r = 0: the warm-up call; r >= 1: a timed call."""
    nonlocal params, opt_state
    params, opt_state, metrics = compiled(params, opt_state, judge, steps(r))
    return params, opt_state, metrics

  _, *times = time_calls(run, repeats + 1)
  return {
    'train': 'selfplay',
    'judge': f'selfplay w{width}',
    'mesh': f'data:{data},model:{model}',
    'devices': data * model,
    'batch': batch_size,
    'modulus': modulus,
    'max_length': max_length,
    'simulations': simulations,
    'width': width,
    'params': sum(int(x.size) for x in jax.tree.leaves(params)),
    **_rates(times, compile_s, _flops(compiled) / steps_per_repeat, steps_per_repeat, batch_size),
  }


def render_train_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table of training rows, with steps/s relative to the first row's."""
  header = [
    'judge',
    'mesh',
    'devices',
    'batch',
    'compile_s',
    'median_s',
    'steps/s',
    'examples/s',
    'vs first row',
    'GFLOP/step/device',
    'MFU',
  ]
  base = rows[0]['steps_per_s'] if rows else None
  body = [
    [
      r['judge'],
      r['mesh'],
      str(r['devices']),
      str(r['batch']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["steps_per_s"]:,.1f}',
      f'{r["examples_per_s"]:,.0f}',
      f'{r["steps_per_s"] / base:.2f}x',
      f'{r["flops_per_step"] / 1e9:.3f}',
      '—' if r['mfu'] is None else f'{100 * r["mfu"]:.1f}%',
    ]
    for r in rows
  ]
  note = "MFU: against the device's dense bf16 peak (— where it is not known, e.g. on CPU)."
  return markdown_table(header, body, set(range(2, len(header))), table_caption(note, env))
