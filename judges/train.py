"""Training and evaluation of `images` judges (Irving et al. 2018): classifiers of k random nonzero pixels.

The judge of Irving, Christiano & Amodei (2018, section 3.1) is trained in advance on random masks of
exactly k nonzero pixels of training images (Adam, learning rate 1e-4, batches of 128, 30k batches for
k = 6 and 50k for k = 4) and then judges debates. This module is the library (no flags) behind
`python -m launch.train_judge`.

Data, fully determined by (seed, step) and independent of the process and device counts, so that a resumed
run sees exactly the batches of an uninterrupted one and a multi-process run those of a single process: the
row strata of judges/batches.py (each process loads only its rows' strata); example row r of step s gets the
mask `random_nonzero_mask(fold_in(fold_in(mask_key, s), r), image, k)`, drawn inside the jitted step; dropout
(irving_cnn) uses `rng`, a key in the train state split once per step.

Parallelism: `jax.jit` with `NamedSharding`s over a ('data', 'model') mesh of all devices of all processes,
of shape (devices / model_parallelism, model_parallelism) (config field `model_parallelism`, default 1:
plain data parallelism). The batch is split over every device (both axes); each parameter and its Adam
moments are split FSDP-style over 'model' along their largest axis that 'model' divides (replicated where
none does), and XLA gathers them where the step needs them. The loss is the mean over the global batch, so
results do not depend on the mesh (up to float reduction order). Masks and dropout are drawn with
`jax_threefry_partitionable` keys, so they do not depend on the sharding either. Devices are ordered by
(process, id), so each process's devices hold one contiguous block of the batch, and 'model' groups stay
within a host when model_parallelism divides its device count.

Preemption: SIGTERM (what Cloud TPU, SLURM and Kubernetes send before evicting a job) is caught; the run
finishes its current step, saves a checkpoint at that step and raises `multihost.Preempted` (launch.train_judge then
exits with status 143); rerunning the same command resumes. With several processes all stop at the same
step (debate/multihost.PreemptionWatch).

Workdir layout (only process 0 writes the JSON and event files; all processes take part in checkpointing,
so with several hosts the workdir must be storage they all see):
  config.json        the resolved config, plus `train_data` (split size, image shape, data order)
  metrics.jsonl      one JSON object per logged step: step, loss, accuracy (of that step's batch),
                     examples_per_s, elapsed_s; a final {"step": S, "test": {...}} line when a test split
                     is given
  events.out.tfevents.*   the same lines as TensorBoard scalars (debate/training/metrics.py writes both)
  checkpoints/<step>/state/   Orbax checkpoints of the train state {step, params, opt_state, rng (raw key
                     data)}, sharded as in training, every `checkpoint_every` steps, at the end and on
                     SIGTERM; the last 3 are kept. A restore reshards them onto the current mesh.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Sequence

import chex
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from debate.analysis.stats import wilson_interval
from debate.distributed import multihost
from debate.distributed.sharding import batch_sharding, fsdp_sharding, make_mesh
from debate.experiments import runfiles
from debate.experiments.runfiles import ConfigError, WorkdirError
from debate.tasks import images as image_task
from debate.tasks.idx import ImageDataset
from debate.training import checkpoints
from debate.training import metrics as metrics_writer
from judges import batches as batches_lib
from judges import image_judges

CONFIG = 'config.json'
METRICS = metrics_writer.METRICS
CHECKPOINTS = 'checkpoints'
# The config fields (and the training data's description) that change a judge's training: a resumed run
# must keep them. The others may change: `checkpoint_every`, `log_every` and `eval_batch_size` change how a
# run executes, `steps` only where it stops (the learning rate is constant), and fields this trainer does
# not read (say, of the debates a config also describes) do not touch the judge. `model_parallelism`, like the
# device count, changes only the float reduction order.
RESULT_FIELDS = ('task', 'k', 'judge', 'learning_rate', 'batch_size', 'seed', 'num_classes', 'train_data')
# The key streams derived from the seed, by the tag folded into key(seed) (far above any example index).
_KEY_TAGS = {'init': 0x7F000001, 'data': 0x7F000002, 'mask': 0x7F000003, 'dropout': 0x7F000004}
# The batch order of the module docstring, recorded in config.json: a run written with another order (the
# trainer's first version drew the whole batch from one permutation of each process's shard) is refused.
DATA_ORDER = 'row-strata'
# The integer fields of a judge config and their least values (checked in this order).
_INT_FIELDS = {
  'k': 1,
  'batch_size': 1,
  'model_parallelism': 1,
  'steps': 1,
  'checkpoint_every': 1,
  'log_every': 1,
  'eval_batch_size': 1,
  'seed': 0,
  'num_classes': 2,
}

Params = Any


@flax.struct.dataclass
class TrainState:
  """The whole state of a training run (a frozen pytree); `step` is also the data position.

  Attributes:
    step: [] int32, the number of optimizer steps taken (the next batch is batch `step`).
    params: the judge's params.
    opt_state: the optax (Adam) state.
    rng: a typed PRNG key for dropout, split once per step.
  """

  step: chex.Array
  params: Params
  opt_state: optax.OptState
  rng: chex.PRNGKey


# ------------------------------------------------------------------------------------------------------------
# Config.


def validate_config(
  config: ml_collections.ConfigDict, *, num_devices: int | None = None, image_shape: tuple[int, int] | None = None
) -> None:
  """Raises ConfigError (naming the field) for a config `train_judge` cannot run.

  `num_devices` (default: all devices) must divide batch_size, and model_parallelism must divide it; with
  `image_shape` given, k must not exceed its number of pixels.
  """
  for field in ('task', 'judge', 'learning_rate', *_INT_FIELDS):
    if field not in config:
      raise ConfigError(field, 'missing from the config; the judge trainer needs it')
  ints = {field: runfiles.int_field(config, field, minimum) for field, minimum in _INT_FIELDS.items()}
  runfiles.positive_field(config, 'learning_rate')
  num_devices = jax.device_count() if num_devices is None else num_devices
  if image_shape is not None and ints['k'] > image_shape[0] * image_shape[1]:
    raise ConfigError(
      'k',
      f'{ints["k"]} pixels is more than a {image_shape[0]}x{image_shape[1]} image has ({image_shape[0] * image_shape[1]})',
    )
  for field, bad, message in (
    ('task', config.task != 'images', f"the judge trainer trains judges of the 'images' task, got {config.task!r}"),
    (
      'judge',
      config.judge not in image_judges.JUDGE_MODELS,
      f'unknown image judge {config.judge!r}; expected one of {", ".join(image_judges.JUDGE_MODELS)}',
    ),
    (
      'model_parallelism',
      num_devices % ints['model_parallelism'],
      f'{ints["model_parallelism"]} does not divide the device count {num_devices}: the mesh is (data, model) = '
      '(devices / model_parallelism, model_parallelism); pass one of '
      f'{[d for d in range(1, num_devices + 1) if num_devices % d == 0]}',
    ),
    (
      'batch_size',
      ints['batch_size'] % num_devices,
      f'{ints["batch_size"]} is not divisible by the device count {num_devices}: the batch is split evenly over '
      f'the devices; pass a multiple of {num_devices}',
    ),
  ):
    if bad:
      raise ConfigError(field, message)


def _resolved_config(config: ml_collections.ConfigDict, dataset: ImageDataset) -> dict:
  train_data = {'examples': int(dataset.total), 'image_shape': list(dataset.image_shape), 'order': DATA_ORDER}
  return {**json.loads(config.to_json_best_effort()), 'train_data': train_data}


def latest_checkpoint_step(workdir: str) -> int | None:
  """The step of the latest finished checkpoint in `workdir/checkpoints` (None if none); writes nothing."""
  return max(checkpoints.saved_steps(os.path.join(workdir, CHECKPOINTS)), default=None)


def check_workdir(config: ml_collections.ConfigDict, workdir: str, dataset_train: ImageDataset) -> None:
  """Raises WorkdirError if `workdir` holds a run that `config` cannot resume.

  That is a run whose config differs in a field that changes results (RESULT_FIELDS), whose batches were
  drawn in another order than DATA_ORDER, or whose latest checkpoint is past `config.steps`. Writes nothing.
  """
  config_path = os.path.join(workdir, CONFIG)
  try:
    with open(config_path) as f:
      order = json.load(f).get('train_data', {}).get('order')
  except (OSError, ValueError, AttributeError):  # No run there yet, or check_resumable names the problem.
    order = DATA_ORDER
  if order != DATA_ORDER:
    raise WorkdirError(
      f'--workdir={workdir} holds a run of an earlier version of the trainer, whose batch '
      f'order (not {DATA_ORDER!r}) depended on the process count; it cannot be resumed '
      'exactly: use a new --workdir (its checkpoints still load with restore_params)'
    )
  latest = latest_checkpoint_step(workdir)
  if latest is not None and latest > config.steps:
    raise WorkdirError(
      f'--workdir={workdir} holds a checkpoint at step {latest}, past --config.steps='
      f'{config.steps}; pass --config.steps >= {latest} or use a new --workdir'
    )
  runfiles.check_resumable(workdir, config_path, _resolved_config(config, dataset_train), fields=RESULT_FIELDS)


# ------------------------------------------------------------------------------------------------------------
# Data.


def _keys(seed: int) -> dict[str, chex.PRNGKey]:
  return {name: jax.random.fold_in(jax.random.key(seed), tag) for name, tag in _KEY_TAGS.items()}


# ------------------------------------------------------------------------------------------------------------
# Mesh, shardings, model, state and the train step.


def init_state(
  model: nn.Module, optimizer: optax.GradientTransformation, *, seed: int, image_shape: tuple[int, int], mesh: Mesh
) -> TrainState:
  """The step-0 train state, laid out over `mesh` by `fsdp_sharding` (step and rng, scalars, replicated)."""
  keys = _keys(seed)

  def init():
    params = image_judges.init_judge(model, keys['init'], image_shape)
    return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params), rng=keys['dropout']
    )

  return jax.jit(init, out_shardings=fsdp_sharding(jax.eval_shape(init), mesh))()


def _revealed(key: chex.PRNGKey, indices: chex.Array, images: chex.Array, k: int) -> chex.Array:
  """indices [B], images [B, H, W] uint8 -> the judge's planes [B, H, W, 2] of each image with k random nonzero
  pixels revealed, those of `random_nonzero_mask(fold_in(key, indices[i]), images[i], k)`."""
  return jax.vmap(
    lambda i, image: image_task.judge_planes(
      image_task.to_unit_interval(image), image_task.random_nonzero_mask(jax.random.fold_in(key, i), image, k)
    )
  )(indices, images)


def make_train_step(
  model: nn.Module, optimizer: optax.GradientTransformation, *, k: int, mesh: Mesh, shardings: TrainState
) -> Callable:
  """jit(train_step)(state, images [B, H, W] uint8, labels [B] int32, mask_key) -> (state, metrics).

  The batch is split over every device of `mesh`, the state laid out by `shardings` (the state's `fsdp_sharding`)
  and donated; metrics are the loss (mean over the global batch) and the batch accuracy, replicated scalars.
  """
  replicated = NamedSharding(mesh, P())
  sharded = batch_sharding(mesh)

  def train_step(state: TrainState, images, labels, mask_key):
    rows = jax.lax.with_sharding_constraint(jnp.arange(images.shape[0], dtype=jnp.uint32), sharded)
    planes = _revealed(jax.random.fold_in(mask_key, state.step), rows, images, k)
    rng, dropout_key = jax.random.split(state.rng)

    def loss_fn(params):
      logits = model.apply(params, planes, train=True, rngs={'dropout': dropout_key})
      return image_judges.cross_entropy_loss(logits, labels), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state, rng=rng)
    return new_state, {'loss': loss, 'accuracy': image_judges.accuracy(logits, labels)}

  return jax.jit(
    train_step,
    in_shardings=(shardings, sharded, sharded, replicated),
    out_shardings=(shardings, replicated),
    donate_argnums=0,
  )


def waits_for_each_step(mesh: Mesh) -> bool:
  """Whether the training loop waits for each step before dispatching the next: on CPU with several devices.

  XLA:CPU runs the devices' parts of a step on a shared thread pool; with several steps in flight their
  gradient all-reduces can wait on each other for good (seen with 4 simulated devices and the smoke config:
  "Expected 4 threads to join the rendezvous, but only 3 of them arrived", then an abort; the trainer
  before sharding did the same). Waiting costs little on CPU; accelerators keep dispatching ahead.
  """
  return mesh.devices.flat[0].platform == 'cpu' and mesh.size > 1


# ------------------------------------------------------------------------------------------------------------
# Checkpoints.


def _checkpoint_tree(state: TrainState) -> dict:
  """The state as a checkpointable tree (the typed key as its raw uint32 data)."""
  return {**vars(state), 'rng': jax.random.key_data(state.rng)}


def checkpoint_manager(workdir: str):
  return checkpoints.manager(os.path.join(workdir, CHECKPOINTS), 3)  # Keeps the last 3.


def _restore(manager, step: int, like: TrainState, shardings: TrainState) -> TrainState:
  """The checkpoint at `step`, laid out by `shardings` (whatever the layout it was saved from); `like`
  (arrays or ShapeDtypeStructs) gives shapes and dtypes."""
  abstract = jax.tree.map(
    lambda x, sharding: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
    jax.eval_shape(_checkpoint_tree, like),
    vars(shardings),
  )
  tree = checkpoints.restore_state(manager, step, abstract)
  return TrainState(**{**tree, 'rng': jax.random.wrap_key_data(tree['rng'])})  # The default impl, as jax.random.key's.


def restore_params(workdir: str, *, step: int | None = None, mesh: Mesh | None = None) -> tuple[Params, int]:
  """(params, step) of the checkpoint of `workdir` at `step` (default: the latest), for using a judge.

  Reads the model, seed and image shape from workdir/config.json; params come back replicated over `mesh`
  (any mesh; default: all devices), whatever the mesh they were trained on.
  """
  with open(os.path.join(workdir, CONFIG)) as f:
    config = ml_collections.ConfigDict(json.load(f))
  mesh = make_mesh() if mesh is None else mesh
  model = image_judges.make_judge(config.judge, config.num_classes)
  image_shape = tuple(config.train_data.image_shape)
  like = jax.eval_shape(
    lambda: init_state(model, optax.adam(config.learning_rate), seed=config.seed, image_shape=image_shape, mesh=mesh)
  )
  replicated = jax.tree.map(lambda _: NamedSharding(mesh, P()), like)
  with checkpoint_manager(workdir) as manager:
    step = manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'{workdir} has no checkpoints ({os.path.join(workdir, CHECKPOINTS)})')
    return _restore(manager, step, like, replicated).params, step


# ------------------------------------------------------------------------------------------------------------
# Metrics.


def _format_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


# ------------------------------------------------------------------------------------------------------------
# Training.


def train_judge(
  config: ml_collections.ConfigDict,
  workdir: str,
  dataset_train: ImageDataset,
  dataset_test: ImageDataset | None = None,
  *,
  log: Callable[[str], None] = print,
  devices: Sequence[jax.Device] | None = None,
) -> tuple[TrainState, dict]:
  """Trains (or resumes training of) the judge of `config` on random k-pixel masks of `dataset_train`.

  Args:
    config: the fields of launch/configs/irving_mnist.py (k, judge, learning_rate, batch_size, steps,
      checkpoint_every, log_every, eval_batch_size, seed, num_classes, model_parallelism).
    workdir: where config.json, metrics.jsonl and checkpoints/ live; a run there is resumed from its latest
      checkpoint and ends with exactly the params of an uninterrupted run.
    dataset_train: this process's shard of the training split.
    dataset_test: if given, the judge's random-pixel accuracy on it (`evaluate`) is measured at the end.
    log: progress messages.
    devices: the devices of the mesh (default: all); batch_size must be divisible by their number, and
      their number by config.model_parallelism.

  Returns:
    (state, metrics): the final train state (laid out over the mesh by `fsdp_sharding`) and {'step',
    'train': the last logged training metrics, 'test': the evaluation (only with dataset_test)}.

  Raises:
    ConfigError: a bad config field. WorkdirError: the workdir holds a run of a different config.
    multihost.Preempted: SIGTERM arrived; a checkpoint of the step reached was saved.
  """
  validate_config(
    config, num_devices=len(jax.devices() if devices is None else devices), image_shape=dataset_train.image_shape
  )
  mesh = make_mesh(devices, model_parallelism=config.model_parallelism)
  for field, bad, message in (
    (
      'num_classes',
      dataset_train.num_classes != config.num_classes,
      f'{config.num_classes} but the training data was loaded with {dataset_train.num_classes} classes',
    ),
    (
      'batch_size',
      dataset_train.total < config.batch_size,
      f'{config.batch_size} is more than the {dataset_train.total} training examples (each row of the batch draws '
      'from its own N / B of them)',
    ),
  ):
    if bad:
      raise ConfigError(field, message)
  check_workdir(config, workdir, dataset_train)
  if multihost.is_writer():
    os.makedirs(workdir, exist_ok=True)
    runfiles.write_json(os.path.join(workdir, CONFIG), _resolved_config(config, dataset_train))

  model = image_judges.make_judge(config.judge, config.num_classes)
  optimizer = optax.adam(config.learning_rate)
  state = init_state(model, optimizer, seed=config.seed, image_shape=dataset_train.image_shape, mesh=mesh)
  shardings = fsdp_sharding(state, mesh)
  with checkpoint_manager(workdir) as manager, multihost.PreemptionWatch() as preemption:
    latest = manager.latest_step()
    if latest is not None:
      state = _restore(manager, latest, state, shardings)
      log(f'resumed from the checkpoint at step {latest} in {workdir}/{CHECKPOINTS}')
    step = int(jax.device_get(state.step))
    # The training lines of the steps done so far; the test line is measured again at the end.
    writer = metrics_writer.MetricsWriter(workdir, step=step, keep=lambda row: 'test' not in row)
    train_metrics = next((row for row in reversed(writer.rows) if 'loss' in row), None)

    sharded = batch_sharding(mesh)
    batches = batches_lib.BatchIndices(
      _keys(config.seed)['data'],
      num_examples=dataset_train.total,
      batch_size=config.batch_size,
      rows=batches_lib.local_rows(sharded, config.batch_size),
      shard_start=dataset_train.start,
      shard_size=len(dataset_train),
    )
    mask_key = jax.jit(lambda: _keys(config.seed)['mask'], out_shardings=NamedSharding(mesh, P()))()
    train_step = make_train_step(model, optimizer, k=config.k, mesh=mesh, shardings=shardings)
    wait = waits_for_each_step(mesh)
    log(
      f'training {config.judge} (k={config.k}) from step {step} to {config.steps}: '
      f'{image_judges.count_params(state.params):,} params, batch {config.batch_size} over {mesh.size} '
      f'device(s) (mesh data={mesh.shape["data"]} x model={mesh.shape["model"]}, '
      f'{jax.process_count()} process(es)), {dataset_train.total} training images'
    )

    start_time = window_time = time.perf_counter()
    window_start = step
    while step < config.steps:
      rows = batches.indices(step)
      batch = [
        jax.make_array_from_process_local_data(sharded, a[rows]) for a in (dataset_train.images, dataset_train.labels)
      ]
      state, step_metrics = train_step(state, *batch, mask_key)
      if wait:
        jax.block_until_ready(step_metrics)
      step += 1
      if step % config.log_every == 0 or step == config.steps:
        step_metrics = jax.device_get(step_metrics)
        now = time.perf_counter()
        rate = (step - window_start) * config.batch_size / max(now - window_time, 1e-9)
        window_time, window_start = now, step
        train_metrics = writer.write(
          step,
          {
            'loss': float(step_metrics['loss']),
            'accuracy': float(step_metrics['accuracy']),
            'examples_per_s': round(rate, 1),
            'elapsed_s': round(now - start_time, 3),
          },
        )
        left = _format_duration((config.steps - step) * config.batch_size / rate)
        log(
          f'step {step}/{config.steps}: loss {train_metrics["loss"]:.4f}, batch accuracy '
          f'{train_metrics["accuracy"]:.3f}, {rate:,.0f} examples/s, time left {left}'
        )
      preempted = step < config.steps and preemption.requested(step)  # Every process asks at every step.
      if preempted or step % config.checkpoint_every == 0 or step == config.steps:
        checkpoints.save_state(manager, step, _checkpoint_tree(state))
      if preempted:
        manager.wait_until_finished()
        raise multihost.Preempted(step, os.path.join(workdir, CHECKPOINTS))
    manager.wait_until_finished()

  metrics = {'step': step, 'train': train_metrics}
  if dataset_test is not None:
    metrics['test'] = evaluate(
      model, state.params, dataset_test, k=config.k, seed=config.seed, batch_size=config.eval_batch_size
    )
    log(
      f'test random-pixel accuracy (k={config.k}): {metrics["test"]["accuracy"]:.4f} '
      f'(95% CI {metrics["test"]["ci95"][0]:.4f}-{metrics["test"]["ci95"][1]:.4f}, '
      f'{metrics["test"]["games"]} images)'
    )
    writer.write(step, {'test': metrics['test']})
  return state, metrics


# ------------------------------------------------------------------------------------------------------------
# Evaluation.


def evaluate(model: nn.Module, params: Params, dataset: ImageDataset, *, k: int, seed: int, batch_size: int) -> dict:
  """The judge's random-pixel accuracy on the whole split `dataset` (summed over processes' shards).

  Image i (global index `dataset.start + i`) is judged once, with a mask of k random nonzero pixels drawn
  by `random_nonzero_mask(fold_in(key(seed), dataset.start + i), image, k)`, so the result does not depend
  on `batch_size`, the device count or the sharding of the split over processes. `params` may be laid out
  over any mesh; with several processes every process must call this (it gathers and sums).

  Returns:
    {'correct', 'games', 'accuracy', 'ci95': [low, high] (Wilson), 'k', 'seed'}.
  """
  for bad, message in (
    (not isinstance(k, int) or k < 1, f'k must be an integer >= 1, got {k!r}'),
    (batch_size < 1, f'batch_size must be >= 1, got {batch_size}'),
  ):
    if bad:
      raise ValueError(message)
  mesh = make_mesh(jax.local_devices())
  n = len(dataset)
  # At most the split's size, rounded up to a multiple of the local device count (the batch is sharded).
  batch_size = -(-max(1, min(batch_size, n)) // mesh.size) * mesh.size
  sharded = batch_sharding(mesh)
  params = multihost.replicate(params, mesh)  # Gathers params sharded over processes (a collective).

  judge_batch = jax.jit(  # -> [batch] bool, sharded: no collective.
    lambda params, images, labels, indices, valid: (
      valid
      & (
        jnp.argmax(model.apply(params, _revealed(jax.random.key(seed), indices, images, k), train=False), axis=-1)
        == labels
      )
    ),
    out_shardings=sharded,
  )

  padded = -(-n // batch_size) * batch_size  # The split, padded with zero images that `valid` leaves out.
  pad = lambda a: np.concatenate([a, np.zeros((padded - n, *a.shape[1:]), a.dtype)])
  images, labels = pad(dataset.images), pad(dataset.labels).astype(np.int32)
  indices, valid = (dataset.start + np.arange(padded)).astype(np.uint32), np.arange(padded) < n
  verdicts = [  # Fetched once at the end, so batches are dispatched without waiting.
    judge_batch(params, *(jax.device_put(a[i : i + batch_size], sharded) for a in (images, labels, indices, valid)))
    for i in range(0, padded, batch_size)
  ]
  correct, games = int(sum(np.sum(v) for v in jax.device_get(verdicts))), n
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    totals = np.asarray(multihost_utils.process_allgather(np.array([correct, games], np.int64)))
    correct, games = (int(v) for v in totals.reshape(-1, 2).sum(axis=0))
  return {
    'correct': correct,
    'games': games,
    'accuracy': correct / games if games else float('nan'),
    'ci95': list(wilson_interval(correct, games)),
    'k': k,
    'seed': seed,
  }
