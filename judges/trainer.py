"""The one judge trainer of every task (images, text): sharded training, checkpoints, resume, evaluation.

A task supplies what differs (`JudgeTask`): the dataset arrays, the judge model and its init input, and the
view of each example that the judge sees, drawn inside the jitted step; this module does the rest. The image
task is judges/train.py's `ImageTask`, the text task judges/text_judges.py's `TextJudgeTask`.

Data, fully determined by (seed, step) and independent of the process and device counts, so that a resumed
run sees exactly the batches of an uninterrupted one and a multi-process run those of a single process: the
row strata of judges/batches.py (each process loads only its rows' strata); row r of the batch of step s is
seen through the view that `task.views(fold_in(mask_key, s), rows, examples)` draws for it from
`fold_in(fold_in(mask_key, s), r)`, inside the jitted step (the image task's k random pixels, the text
task's random quotes); dropout uses `rng`, a key in the train state split once per step.

Parallelism: `jax.jit` with `NamedSharding`s over a ('data', 'model') mesh of all devices of all processes,
of shape (devices / model_parallelism, model_parallelism) (config field `model_parallelism`, default 1:
plain data parallelism). The batch is split over every device (both axes); each parameter and its Adam
moments are split FSDP-style over 'model' along their largest axis that 'model' divides (replicated where
none does), and XLA gathers them where the step needs them. The loss is the mean over the global batch, so
results do not depend on the mesh (up to float reduction order). Views and dropout are drawn with
`jax_threefry_partitionable` keys, so they do not depend on the sharding either. Devices are ordered by
(process, id), so each process's devices hold one contiguous block of the batch, and 'model' groups stay
within a host when model_parallelism divides its device count.

Preemption: SIGTERM (what Cloud TPU, SLURM and Kubernetes send before evicting a job) is caught; the run
finishes its current step, saves a checkpoint at that step and raises `multihost.Preempted` (launch.train_judge
then exits with status 143); rerunning the same command resumes. With several processes all stop at the same
step (debate/multihost.PreemptionWatch).

Workdir layout (only process 0 writes the JSON and event files; all processes take part in checkpointing,
so with several hosts the workdir must be storage they all see):
  config.json        the resolved config, plus `train_data` (the task's description of its training split
                     and the data order)
  metrics.jsonl      one JSON object per logged step: step, loss, accuracy (of that step's batch),
                     examples_per_s, elapsed_s; a final {"step": S, "test": {...}} line when an evaluation
                     is given
  events.out.tfevents.*   the same lines as TensorBoard scalars (debate/training/metrics.py writes both)
  checkpoints/<step>/state/   Orbax checkpoints of the train state {step, params, opt_state, rng (raw key
                     data)}, sharded as in training, every `checkpoint_every` steps, at the end and on
                     SIGTERM; the last 3 are kept. A restore reshards them onto the current mesh.
"""

from __future__ import annotations

import abc
import dataclasses
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
from debate.training import checkpoints
from debate.training import metrics as metrics_writer
from judges import batches as batches_lib
from judges.image_judges import accuracy, cross_entropy_loss

CONFIG = 'config.json'
METRICS = metrics_writer.METRICS
CHECKPOINTS = 'checkpoints'
# The key streams derived from the seed, by the tag folded into key(seed) (far above any example index).
_KEY_TAGS = {'init': 0x7F000001, 'data': 0x7F000002, 'mask': 0x7F000003, 'dropout': 0x7F000004}
# The batch order of the module docstring, recorded in config.json: a run written with another order (the
# trainer's first version drew the whole batch from one permutation of each process's shard) is refused.
DATA_ORDER = 'row-strata'
# The integer fields every judge config has, and their least values (a task adds its own).
COMMON_INT_FIELDS = {
  'batch_size': 1,
  'model_parallelism': 1,
  'steps': 1,
  'checkpoint_every': 1,
  'log_every': 1,
  'eval_batch_size': 1,
  'seed': 0,
}

Params = Any
Views = Any  # A pytree of arrays with a leading batch axis: a model's input.


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


@dataclasses.dataclass(frozen=True)
class JudgeData:
  """One split of a task's training or test data, or this process's shard of it.

  Attributes:
    examples: a pytree of numpy arrays [N, ...] (images [N, H, W]; the stories of the text task).
    labels: [N] int, the true class of each example.
    start: the global index of the first example in the whole split (0 unless sharded).
    total: the number of examples in the whole split (N unless sharded).
  """

  examples: Any
  labels: np.ndarray
  start: int = 0
  total: int = -1

  def __post_init__(self):
    if self.total < 0:
      object.__setattr__(self, 'total', len(self.labels))

  def __len__(self) -> int:
    return len(self.labels)


class JudgeTask(abc.ABC):
  """What the trainer needs from a task; implementations are frozen dataclasses of the task's config fields."""

  @abc.abstractmethod
  def make_model(self) -> nn.Module:
    """The judge: `model.apply(params, views, train=...)` -> logits [B, C] (dropout needs a 'dropout' rng)."""

  @abc.abstractmethod
  def init_input(self) -> Views:
    """A batch of one model input (zeros), for `model.init`."""

  @abc.abstractmethod
  def views(self, key: chex.PRNGKey, indices: chex.Array, examples: Any) -> Views:
    """indices [B] uint32, examples (a pytree [B, ...]) -> the model's input [B, ...]: example i seen through
    a view drawn from `fold_in(key, indices[i])`."""

  @abc.abstractmethod
  def train_data(self, data: JudgeData) -> dict:
    """The description of the training split recorded in config.json (a resumed run must match it)."""

  @abc.abstractmethod
  def name(self) -> str:
    """A short description for the log, e.g. 'small_cnn (k=6)'."""


# ------------------------------------------------------------------------------------------------------------
# Config and workdir.


def validate_common(config: ml_collections.ConfigDict, num_devices: int) -> None:
  """ConfigError (naming the field) unless model_parallelism divides `num_devices`, and `num_devices` the
  batch size (the integer fields are checked by the task's validation first)."""
  make_optimizer(config)  # Checks lr_decay.
  for field, bad, message in (
    (
      'model_parallelism',
      num_devices % config.model_parallelism,
      f'{config.model_parallelism} does not divide the device count {num_devices}: the mesh is (data, model) = '
      '(devices / model_parallelism, model_parallelism); pass one of '
      f'{[d for d in range(1, num_devices + 1) if num_devices % d == 0]}',
    ),
    (
      'batch_size',
      config.batch_size % num_devices,
      f'{config.batch_size} is not divisible by the device count {num_devices}: the batch is split evenly over '
      f'the devices; pass a multiple of {num_devices}',
    ),
  ):
    if bad:
      raise ConfigError(field, message)
  source = config.get('init_from', '')
  if source and (latest_checkpoint_step(source) is None or not os.path.exists(os.path.join(source, CONFIG))):
    raise ConfigError('init_from', f'{source!r} is not a judge workdir with a checkpoint and {CONFIG}')


LR_DECAYS = ('none', 'cosine')


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Adam at config.learning_rate, constant, or with `lr_decay='cosine'` (a field only some tasks' configs
  have; default 'none') decayed along a cosine to 5% of it at config.steps (so raising `steps` to train
  further changes the schedule: such a run is not an uninterrupted one)."""
  decay = config.get('lr_decay', 'none')
  if decay not in LR_DECAYS:
    raise ConfigError('lr_decay', f'expected one of {", ".join(LR_DECAYS)}, got {decay!r}')
  if decay == 'cosine':
    return optax.adam(optax.cosine_decay_schedule(config.learning_rate, config.steps, alpha=0.05))
  return optax.adam(config.learning_rate)


def resolved_config(config: ml_collections.ConfigDict, task: JudgeTask, data: JudgeData) -> dict:
  return {**json.loads(config.to_json_best_effort()), 'train_data': task.train_data(data)}


def latest_checkpoint_step(workdir: str) -> int | None:
  """The step of the latest finished checkpoint in `workdir/checkpoints` (None if none); writes nothing."""
  return max(checkpoints.saved_steps(os.path.join(workdir, CHECKPOINTS)), default=None)


def check_workdir(
  config: ml_collections.ConfigDict, workdir: str, task: JudgeTask, data: JudgeData, *, fields: Sequence[str]
) -> None:
  """Raises WorkdirError if `workdir` holds a run that `config` cannot resume.

  That is a run whose config differs in one of `fields` (those that change results), whose batches were
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
  runfiles.check_resumable(workdir, config_path, resolved_config(config, task, data), fields=tuple(fields))


# ------------------------------------------------------------------------------------------------------------
# Keys, state and the train step.


def keys(seed: int) -> dict[str, chex.PRNGKey]:
  return {name: jax.random.fold_in(jax.random.key(seed), tag) for name, tag in _KEY_TAGS.items()}


def init_state(
  model: nn.Module, optimizer: optax.GradientTransformation, *, seed: int, init_input: Views, mesh: Mesh
) -> TrainState:
  """The step-0 train state, laid out over `mesh` by `fsdp_sharding` (step and rng, scalars, replicated)."""
  stream = keys(seed)

  def init():
    params = model.init(stream['init'], init_input)
    return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params), rng=stream['dropout']
    )

  return jax.jit(init, out_shardings=fsdp_sharding(jax.eval_shape(init), mesh))()


def make_train_step(
  model: nn.Module,
  optimizer: optax.GradientTransformation,
  views: Callable[[chex.PRNGKey, chex.Array, Any], Views],
  *,
  mesh: Mesh,
  shardings: TrainState,
) -> Callable:
  """jit(train_step)(state, examples [B, ...], labels [B] int, mask_key) -> (state, metrics).

  Row r of the batch is seen through `views(fold_in(mask_key, state.step), rows, examples)` (JudgeTask.views).
  The batch is split over every device of `mesh`, the state laid out by `shardings` (the state's
  `fsdp_sharding`) and donated; metrics are the loss (mean over the global batch) and the batch accuracy,
  replicated scalars.
  """
  replicated = NamedSharding(mesh, P())
  sharded = batch_sharding(mesh)

  def train_step(state: TrainState, examples, labels, mask_key):
    rows = jax.lax.with_sharding_constraint(jnp.arange(labels.shape[0], dtype=jnp.uint32), sharded)
    inputs = views(jax.random.fold_in(mask_key, state.step), rows, examples)
    rng, dropout_key = jax.random.split(state.rng)

    def loss_fn(params):
      logits = model.apply(params, inputs, train=True, rngs={'dropout': dropout_key})
      return cross_entropy_loss(logits, labels), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state, rng=rng)
    return new_state, {'loss': loss, 'accuracy': accuracy(logits, labels)}

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


def restore(manager, step: int, like: TrainState, shardings: TrainState) -> TrainState:
  """The checkpoint at `step`, laid out by `shardings` (whatever the layout it was saved from); `like`
  (arrays or ShapeDtypeStructs) gives shapes and dtypes."""
  abstract = jax.tree.map(
    lambda x, sharding: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
    jax.eval_shape(_checkpoint_tree, like),
    vars(shardings),
  )
  tree = checkpoints.restore_state(manager, step, abstract)
  return TrainState(**{**tree, 'rng': jax.random.wrap_key_data(tree['rng'])})  # The default impl, as jax.random.key's.


def restore_params(
  workdir: str, task: JudgeTask, config, *, step: int | None = None, mesh: Mesh | None = None
) -> tuple[Params, int]:
  """(params, step) of the checkpoint of `workdir` at `step` (default: the latest) of `task`'s judge trained
  with `config` (its seed and learning rate); params come back replicated over `mesh` (any mesh; default:
  all devices), whatever the mesh they were trained on."""
  mesh = make_mesh() if mesh is None else mesh
  like = jax.eval_shape(
    lambda: init_state(
      task.make_model(),
      make_optimizer(config),
      seed=config.seed,
      init_input=task.init_input(),
      mesh=mesh,
    )
  )
  replicated = jax.tree.map(lambda _: NamedSharding(mesh, P()), like)
  with checkpoint_manager(workdir) as manager:
    step = manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'{workdir} has no checkpoints ({os.path.join(workdir, CHECKPOINTS)})')
    return restore(manager, step, like, replicated).params, step


def warm_start_params(source: str, task: JudgeTask, like: Params, mesh: Mesh) -> Params:
  """The params of the latest checkpoint of the judge workdir `source` (any optimizer settings), for a run of
  `task` whose params look like `like`, replicated over `mesh`; ConfigError('init_from') if `source` holds
  another model (a different judge, vocabulary or story length)."""
  with open(os.path.join(source, CONFIG)) as f:
    source_config = ml_collections.ConfigDict(json.load(f))
  try:
    params, _ = restore_params(source, task, source_config, mesh=mesh)
  except ValueError as e:  # Orbax: the tree in `source` is not the model's.
    raise ConfigError('init_from', f'{source!r} holds another model than {task.name()}: {e}') from None
  shapes = lambda tree: jax.tree.map(lambda a: tuple(a.shape), tree)
  if shapes(params) != shapes(like):
    raise ConfigError('init_from', f'{source!r} holds another model than {task.name()} (parameter shapes differ)')
  return params


def _format_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def count_params(params: Params) -> int:
  return sum(int(leaf.size) for leaf in jax.tree.leaves(params))


# ------------------------------------------------------------------------------------------------------------
# Training.


def train(
  task: JudgeTask,
  config: ml_collections.ConfigDict,
  workdir: str,
  data: JudgeData,
  *,
  result_fields: Sequence[str],
  evaluate: Callable[[nn.Module, Params], tuple[dict, str]] | None = None,
  log: Callable[[str], None] = print,
  devices: Sequence[jax.Device] | None = None,
) -> tuple[TrainState, dict]:
  """Trains (or resumes training of) `task`'s judge on views of `data`; the config is validated already.

  Args:
    task: the task (its model, views and data description).
    config: learning_rate, batch_size, steps, checkpoint_every, log_every, seed, model_parallelism (and the
      task's fields, which `task` holds).
    workdir: where config.json, metrics.jsonl and checkpoints/ live; a run there is resumed from its latest
      checkpoint and ends with exactly the params of an uninterrupted run.
    data: this process's shard of the training split.
    result_fields: the config fields (and 'train_data') a resumed run must keep.
    evaluate: if given, `evaluate(model, params)` -> (result, message) at the end: the result is written as
      the final {'step', 'test'} line of metrics.jsonl and the message logged.
    log: progress messages.
    devices: the devices of the mesh (default: all); batch_size must be divisible by their number, and
      their number by config.model_parallelism.

  Returns:
    (state, metrics): the final train state (laid out over the mesh by `fsdp_sharding`) and {'step',
    'train': the last logged training metrics, 'test': the evaluation (only with `evaluate`)}.

  Raises:
    ConfigError: a bad config field. WorkdirError: the workdir holds a run of a different config.
    multihost.Preempted: SIGTERM arrived; a checkpoint of the step reached was saved.
  """
  validate_common(config, len(jax.devices() if devices is None else devices))
  mesh = make_mesh(devices, model_parallelism=config.model_parallelism)
  if data.total < config.batch_size:
    raise ConfigError(
      'batch_size',
      f'{config.batch_size} is more than the {data.total} training examples (each row of the batch draws '
      'from its own N / B of them)',
    )
  check_workdir(config, workdir, task, data, fields=result_fields)
  if multihost.is_writer():
    os.makedirs(workdir, exist_ok=True)
    runfiles.write_json(os.path.join(workdir, CONFIG), resolved_config(config, task, data))

  model = task.make_model()
  optimizer = make_optimizer(config)
  state = init_state(model, optimizer, seed=config.seed, init_input=task.init_input(), mesh=mesh)
  shardings = fsdp_sharding(state, mesh)
  with checkpoint_manager(workdir) as manager, multihost.PreemptionWatch() as preemption:
    latest = manager.latest_step()
    if latest is not None:
      state = restore(manager, latest, state, shardings)
      log(f'resumed from the checkpoint at step {latest} in {workdir}/{CHECKPOINTS}')
    elif config.get('init_from', ''):  # A warm start: the params of another run, a fresh optimizer at step 0.
      params = warm_start_params(config.init_from, task, state.params, mesh)
      state = state.replace(params=jax.device_put(params, shardings.params))
      log(f'initialized the params from the latest checkpoint in {config.init_from}')
    step = int(jax.device_get(state.step))
    # The training lines of the steps done so far; the test line is measured again at the end.
    writer = metrics_writer.MetricsWriter(workdir, step=step, keep=lambda row: 'test' not in row)
    train_metrics = next((row for row in reversed(writer.rows) if 'loss' in row), None)

    sharded = batch_sharding(mesh)
    batches = batches_lib.BatchIndices(
      keys(config.seed)['data'],
      num_examples=data.total,
      batch_size=config.batch_size,
      rows=batches_lib.local_rows(sharded, config.batch_size),
      shard_start=data.start,
      shard_size=len(data),
    )
    mask_key = jax.jit(lambda: keys(config.seed)['mask'], out_shardings=NamedSharding(mesh, P()))()
    train_step = make_train_step(model, optimizer, task.views, mesh=mesh, shardings=shardings)
    wait = waits_for_each_step(mesh)
    log(
      f'training {task.name()} from step {step} to {config.steps}: '
      f'{count_params(state.params):,} params, batch {config.batch_size} over {mesh.size} '
      f'device(s) (mesh data={mesh.shape["data"]} x model={mesh.shape["model"]}, '
      f'{jax.process_count()} process(es)), {data.total} training examples'
    )

    start_time = window_time = time.perf_counter()
    window_start = step
    put = lambda a, rows: jax.make_array_from_process_local_data(sharded, a[rows])
    while step < config.steps:
      rows = batches.indices(step)
      examples = jax.tree.map(lambda a: put(a, rows), data.examples)
      state, step_metrics = train_step(state, examples, put(data.labels, rows), mask_key)
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
  if evaluate is not None:
    metrics['test'], message = evaluate(model, state.params)
    log(message)
    writer.write(step, {'test': metrics['test']})
  return state, metrics


# ------------------------------------------------------------------------------------------------------------
# Evaluation.


def count_correct(
  model: nn.Module,
  params: Params,
  views: Callable[[chex.PRNGKey, chex.Array, Any], Views],
  data: JudgeData,
  *,
  key: chex.PRNGKey,
  batch_size: int,
  groups: np.ndarray | None = None,
  num_groups: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
  """(correct [num_groups], games [num_groups]) int64 of the judge on the whole split `data`, summed over
  processes' shards, by group (`groups` [len(data)] int in [0, num_groups); default: one group).

  Example i (global index `data.start + i`) is judged once, seen through `views(key, [data.start + i], ...)`,
  so the result does not depend on `batch_size`, the device count or the sharding of the split over
  processes. `params` may be laid out over any mesh; with several processes every process must call this
  (it gathers and sums).
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1, got {batch_size}')
  mesh = make_mesh(jax.local_devices())
  n = len(data)
  # At most the split's size, rounded up to a multiple of the local device count (the batch is sharded).
  batch_size = -(-max(1, min(batch_size, n)) // mesh.size) * mesh.size
  sharded = batch_sharding(mesh)
  params = multihost.replicate(params, mesh)  # Gathers params sharded over processes (a collective).

  judge_batch = jax.jit(  # -> [batch] bool, sharded: no collective.
    lambda params, examples, labels, indices, valid: (
      valid & (jnp.argmax(model.apply(params, views(key, indices, examples), train=False), axis=-1) == labels)
    ),
    out_shardings=sharded,
  )

  padded = -(-n // batch_size) * batch_size  # The split, padded with zero examples that `valid` leaves out.
  pad = lambda a: np.concatenate([a, np.zeros((padded - n, *a.shape[1:]), a.dtype)])
  examples, labels = jax.tree.map(pad, data.examples), pad(data.labels).astype(np.int32)
  indices, valid = (data.start + np.arange(padded)).astype(np.uint32), np.arange(padded) < n
  place = lambda a, i: jax.device_put(a[i : i + batch_size], sharded)
  verdicts = [  # Fetched once at the end, so batches are dispatched without waiting.
    judge_batch(params, jax.tree.map(lambda a: place(a, i), examples), *(place(a, i) for a in (labels, indices, valid)))
    for i in range(0, padded, batch_size)
  ]
  correct = np.concatenate([np.asarray(v) for v in jax.device_get(verdicts)])[:n]
  groups = np.zeros(n, np.int64) if groups is None else np.asarray(groups)
  counts = np.stack(
    [np.bincount(groups, weights=correct, minlength=num_groups), np.bincount(groups, minlength=num_groups)]
  )
  counts = counts.astype(np.int64)
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    counts = np.asarray(multihost_utils.process_allgather(counts)).reshape(-1, 2, num_groups).sum(axis=0)
  return counts[0], counts[1]


def accuracy_record(correct: int, games: int, **fields) -> dict:
  """{'correct', 'games', 'accuracy', 'ci95': [low, high] (Wilson), **fields}."""
  correct, games = int(correct), int(games)
  return {
    'correct': correct,
    'games': games,
    'accuracy': correct / games if games else float('nan'),
    'ci95': list(wilson_interval(correct, games)),
    **fields,
  }
