"""Training throughput on a (data, model) device mesh (launch/bench.py --train runs these).

- `measure_train_judge`: the image judge's train step (judges/train.py), fed from the host each step.
- `measure_train_text_judge`: a text judge's train step (judges/trainer.py, as launch.train_judge runs it), fed
  from the host each step; its rows add tokens_per_example (`judges.text_judges.sequence_length` of the
  training views: the positions of the judge's encoder sequence, PAD and empty slots included) and
  tokens_per_s = examples_per_s x that.
- `measure_train_selfplay`: the AlphaZero-style self-play step of the chain debaters (debate/training/selfplay.py),
  `steps_per_repeat` steps as one compiled scan.

Both return a row with compile_s (lowering and compiling, apart from the timed calls), median_s, min_s,
max_s and times_s [repeats] (per repetition of `steps_per_repeat` steps), steps_per_s, examples_per_s,
flops_per_step (XLA's cost analysis of the compiled step, per device) and mfu (flops_per_step * steps_per_s
over the device's PEAK_FLOPS; None where the peak is not known, e.g. on CPU). The peak table, timing and the
table caption are debate.rollouts.throughput's.
"""

from __future__ import annotations

import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from debate.distributed import sharding
from debate.games import chain as chain_game
from debate.reports.tables import markdown_table
from debate.rollouts.throughput import PEAK_FLOPS, table_caption, time_calls, timing_fields
from debate.tasks import text as text_task
from debate.training import selfplay
from judges import chain_checkers, image_judges, text_judges, train, trainer


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


def _timed(
  step, args, run, *, mesh_shape, batch_size: int, steps_per_repeat: int, repeats: int, steps_per_call: int
) -> dict:
  """Lowers and compiles `step` for `args` (timed apart), then times run(compiled, r) for r = 0 (the warm-up) .. repeats (each
  `steps_per_repeat` steps of `batch_size` examples; a compiled call makes `steps_per_call` steps): a row's
  mesh, devices, batch, timing, rate and MFU fields."""
  start = time.perf_counter()
  compiled = step.lower(*args).compile()
  compile_s = time.perf_counter() - start
  _, *times = time_calls(lambda r: run(compiled, r), repeats + 1)
  cost = compiled.cost_analysis()  # XLA's FLOPs of one call per device (0 where the backend does not say).
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get('flops', 0.0)) / steps_per_call if cost else 0.0
  timing = timing_fields(times)
  steps_per_s = steps_per_repeat / timing['median_s']
  peak = PEAK_FLOPS.get(jax.devices()[0].device_kind)
  data, model = mesh_shape
  return {
    'mesh': f'data:{data},model:{model}',
    'devices': data * model,
    'batch': batch_size,
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
  mesh = _mesh(mesh_shape, batch_size)
  network = image_judges.make_judge(judge, 10)
  optimizer = optax.adam(1e-4)
  state = train.init_state(network, optimizer, seed=seed, image_shape=image_shape, mesh=mesh)
  step_fn = train.make_train_step(network, optimizer, k=k, mesh=mesh, shardings=sharding.fsdp_sharding(state, mesh))
  rng = np.random.default_rng(seed)
  pool = 4  # Host batches cycled through.
  images = np.where(
    rng.random((pool, batch_size, *image_shape)) < 0.19, rng.integers(1, 256, (pool, batch_size, *image_shape)), 0
  ).astype(np.uint8)
  labels = rng.integers(0, 10, (pool, batch_size)).astype(np.int32)
  sharded = sharding.batch_sharding(mesh)
  mask_key = sharding.replicated(jax.random.key(seed), mesh)
  batch = lambda i: (
    jax.make_array_from_process_local_data(sharded, images[i % pool]),
    jax.make_array_from_process_local_data(sharded, labels[i % pool]),
  )
  wait = train.waits_for_each_step(mesh)  # As the training loop does.

  def run(compiled, r: int):
    """r = 0: the 2 warm-up steps; r >= 1: a timed repetition."""
    nonlocal state
    for i in range(2 if r == 0 else steps_per_repeat):
      state, metrics = compiled(state, *batch(r + i), mask_key)
      if wait:
        jax.block_until_ready(metrics)
    return state, metrics

  rates = _timed(
    step_fn,
    (state, *batch(0), mask_key),
    run,
    mesh_shape=mesh_shape,
    batch_size=batch_size,
    steps_per_repeat=steps_per_repeat,
    repeats=repeats,
    steps_per_call=1,
  )
  return {
    'train': 'judge',
    'judge': judge,
    'k': k,
    'image_shape': list(image_shape),
    'params': image_judges.count_params(state.params),
    **rates,
  }


def measure_train_text_judge(
  config, *, mesh_shape: tuple[int, int], steps_per_repeat: int = 10, repeats: int = 5, num_stories: int | None = None
) -> dict:
  """Times the train step of the text judge of `config` (a launch/configs/text.py judge config: its judge, text
  task, k, min_k, claims, learning rate, batch_size and seed) on a (data, model) = `mesh_shape` mesh of the
  first devices: `trainer.make_train_step` with the task's views, as `trainer.train` builds it.

  Batches of config.batch_size stories are drawn from a pool of `num_stories` generated stories (default:
  one batch), rolled by one row a step and fed from the host each step; the step draws each row's random
  view inside. After compiling, 2 warm-up steps, then `repeats` repetitions of `steps_per_repeat` steps.
  Returns a row (see the module docstring) with tokens_per_example and tokens_per_s.
  """
  batch_size = config.batch_size
  mesh = _mesh(mesh_shape, batch_size)
  task = text_judges.task_from_config(config)
  model, optimizer = task.make_model(), trainer.make_optimizer(config)  # The ladder's schedule, as trained.
  state = trainer.init_state(model, optimizer, seed=config.seed, init_input=task.init_input(), mesh=mesh)
  step_fn = trainer.make_train_step(
    model, optimizer, task.views, mesh=mesh, shardings=sharding.fsdp_sharding(state, mesh)
  )
  pool = text_task.sample_instances(task.task, config.seed, range(num_stories or batch_size))
  pool = jax.tree.map(np.asarray, pool)
  rows = lambda i: (np.arange(batch_size) + i) % len(pool.label)
  sharded = sharding.batch_sharding(mesh)
  put = lambda a, i: jax.make_array_from_process_local_data(sharded, a[rows(i)])
  batch = lambda i: (jax.tree.map(lambda a: put(a, i), pool), put(pool.label.astype(np.int32), i))
  mask_key = sharding.replicated(trainer.keys(config.seed)['mask'], mesh)
  wait = trainer.waits_for_each_step(mesh)  # As the training loop does.
  views = jax.eval_shape(task.views, mask_key, jnp.zeros(batch_size, jnp.uint32), batch(0)[0])

  def run(compiled, r: int):
    """r = 0: the 2 warm-up steps; r >= 1: a timed repetition."""
    nonlocal state
    for i in range(2 if r == 0 else steps_per_repeat):
      state, metrics = compiled(state, *batch(r * steps_per_repeat + i), mask_key)
      if wait:
        jax.block_until_ready(metrics)
    return state, metrics

  rates = _timed(
    step_fn,
    (state, *batch(0), mask_key),
    run,
    mesh_shape=mesh_shape,
    batch_size=batch_size,
    steps_per_repeat=steps_per_repeat,
    repeats=repeats,
    steps_per_call=1,
  )
  tokens = text_judges.sequence_length(model, views)
  return {
    'train': 'text_judge',
    'judge': config.judge,
    'k': config.k,
    'num_fabricated': config.num_fabricated,
    'slots': views.quotes.shape[1],
    'params': text_judges.count_params(state.params),
    'tokens_per_example': tokens,
    **rates,
    'tokens_per_s': rates['examples_per_s'] * tokens,
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
  mesh = _mesh(mesh_shape, batch_size)
  checker = chain_checkers.parse_checker('learned:96', modulus)
  config = selfplay.SelfPlayConfig(batch_size=batch_size, num_simulations=simulations, width=width)
  game = chain_game.ChainDebate(checker, max_length, honest_splits=True)
  sampler = chain_game.TrainingGames(modulus, max_length)
  init_key, train_key = jax.random.split(selfplay.agent_key(seed))
  params = selfplay.init_params(game, sampler, width, config.depth, init_key)
  optimizer, train_chunk = selfplay.make_train_chunk(game, sampler, config, train_key, mesh)
  params, opt_state = sharding.fsdp_placed((params, optimizer.init(params)), mesh)  # As training lays them out.
  judge = (sharding.replicated(chain_checkers.init_params(checker, jax.random.key(seed)), mesh), {})
  steps = lambda r: jnp.arange(r * steps_per_repeat, (r + 1) * steps_per_repeat, dtype=jnp.int32)

  def run(compiled, r: int):
    """r = 0: the warm-up call; r >= 1: a timed call."""
    nonlocal params, opt_state
    params, opt_state, metrics = compiled(params, opt_state, judge, steps(r))
    return params, opt_state, metrics

  rates = _timed(
    train_chunk,
    (params, opt_state, judge, steps(0)),
    run,
    mesh_shape=mesh_shape,
    batch_size=batch_size,
    steps_per_repeat=steps_per_repeat,
    repeats=repeats,
    steps_per_call=steps_per_repeat,
  )
  return {
    'train': 'selfplay',
    'judge': f'selfplay w{width}',
    'modulus': modulus,
    'max_length': max_length,
    'simulations': simulations,
    'width': width,
    'params': sum(int(x.size) for x in jax.tree.leaves(params)),
    **rates,
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
