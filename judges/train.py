"""Training and evaluation of `images` judges (Irving et al. 2018): classifiers of k random nonzero pixels.

The judge of Irving, Christiano & Amodei (2018, section 3.1) is trained in advance on random masks of
exactly k nonzero pixels of training images (Adam, learning rate 1e-4, batches of 128, 30k batches for
k = 6 and 50k for k = 4) and then judges debates. This module is the library (no flags) behind
`python -m launch.train_judge` for the image task: the task object `ImageTask` and the image API
(`train_judge`, `evaluate`, `restore_params`); the trainer itself, shared with the text task
(judges/text_judges.py), is judges/trainer.py, whose docstring describes the data order, the mesh and FSDP
layout, preemption and the workdir layout.

The view of an image: example row r of step s gets the mask `random_nonzero_mask(fold_in(fold_in(mask_key,
s), r), image, k)`, drawn inside the jitted step; dropout (irving_cnn) uses `rng`, a key in the train state
split once per step.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Callable, Sequence

import chex
import flax.linen as nn
import jax
import ml_collections
import optax
from jax.sharding import Mesh

from debate.experiments import runfiles
from debate.experiments.runfiles import ConfigError
from debate.tasks import images as image_task
from debate.tasks.idx import ImageDataset
from judges import image_judges, trainer
from judges.trainer import (  # noqa: F401  (the trainer's API, as this module has always offered it)
  CHECKPOINTS,
  CONFIG,
  DATA_ORDER,
  METRICS,
  Params,
  TrainState,
  checkpoint_manager,
  latest_checkpoint_step,
  waits_for_each_step,
)

# The config fields (and the training data's description) that change a judge's training: a resumed run
# must keep them. The others may change: `checkpoint_every`, `log_every` and `eval_batch_size` change how a
# run executes, `steps` only where it stops (the learning rate is constant), and fields this trainer does
# not read (say, of the debates a config also describes) do not touch the judge. `model_parallelism`, like the
# device count, changes only the float reduction order.
RESULT_FIELDS = ('task', 'k', 'judge', 'learning_rate', 'batch_size', 'seed', 'num_classes', 'train_data')
# The integer fields of a judge config and their least values (checked in this order).
_INT_FIELDS = {'k': 1, **trainer.COMMON_INT_FIELDS, 'num_classes': 2}


@dataclasses.dataclass(frozen=True)
class ImageTask(trainer.JudgeTask):
  """The image task for the trainer: examples are images [N, H, W] uint8, seen through k random nonzero pixels."""

  judge: str
  num_classes: int
  k: int
  image_shape: tuple[int, int]

  def make_model(self) -> nn.Module:
    return image_judges.make_judge(self.judge, self.num_classes)

  def init_input(self) -> chex.Array:
    return jax.numpy.zeros((1, *self.image_shape, 2), jax.numpy.float32)

  def views(self, key: chex.PRNGKey, indices: chex.Array, examples: chex.Array) -> chex.Array:
    return _revealed(key, indices, examples, self.k)

  def train_data(self, data: trainer.JudgeData) -> dict:
    return {'examples': int(data.total), 'image_shape': list(self.image_shape), 'order': DATA_ORDER}

  def name(self) -> str:
    return f'{self.judge} (k={self.k})'


def _task(config: ml_collections.ConfigDict, image_shape: Sequence[int]) -> ImageTask:
  return ImageTask(config.judge, config.num_classes, config.k, tuple(image_shape))


def _data(dataset: ImageDataset) -> trainer.JudgeData:
  return trainer.JudgeData(dataset.images, dataset.labels, start=dataset.start, total=dataset.total)


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
    (
      'task',
      config.task != 'images',
      f"the image judge trainer trains judges of the 'images' task, got {config.task!r}",
    ),
    (
      'judge',
      config.judge not in image_judges.JUDGE_MODELS,
      f'unknown image judge {config.judge!r}; expected one of {", ".join(image_judges.JUDGE_MODELS)}',
    ),
  ):
    if bad:
      raise ConfigError(field, message)
  trainer.validate_common(config, num_devices)


def check_workdir(config: ml_collections.ConfigDict, workdir: str, dataset_train: ImageDataset) -> None:
  """Raises WorkdirError if `workdir` holds a run that `config` cannot resume (trainer.check_workdir with
  RESULT_FIELDS). Writes nothing."""
  trainer.check_workdir(
    config, workdir, _task(config, dataset_train.image_shape), _data(dataset_train), fields=RESULT_FIELDS
  )


# ------------------------------------------------------------------------------------------------------------
# The view, the state and the train step.


def init_state(
  model: nn.Module, optimizer: optax.GradientTransformation, *, seed: int, image_shape: tuple[int, int], mesh: Mesh
) -> TrainState:
  """The step-0 train state of an image judge, laid out over `mesh` by `fsdp_sharding`."""
  init_input = jax.numpy.zeros((1, *image_shape, 2), jax.numpy.float32)
  return trainer.init_state(model, optimizer, seed=seed, init_input=init_input, mesh=mesh)


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
  """jit(train_step)(state, images [B, H, W] uint8, labels [B] int32, mask_key) -> (state, metrics): the
  trainer's step (trainer.make_train_step) with views of k random nonzero pixels."""
  views = functools.partial(_revealed, k=k)
  return trainer.make_train_step(model, optimizer, views, mesh=mesh, shardings=shardings)


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
  if dataset_train.num_classes != config.num_classes:
    raise ConfigError(
      'num_classes', f'{config.num_classes} but the training data was loaded with {dataset_train.num_classes} classes'
    )

  def evaluation(model: nn.Module, params: Params) -> tuple[dict, str]:
    test = evaluate(model, params, dataset_test, k=config.k, seed=config.seed, batch_size=config.eval_batch_size)
    return test, (
      f'test random-pixel accuracy (k={config.k}): {test["accuracy"]:.4f} '
      f'(95% CI {test["ci95"][0]:.4f}-{test["ci95"][1]:.4f}, {test["games"]} images)'
    )

  return trainer.train(
    _task(config, dataset_train.image_shape),
    config,
    workdir,
    _data(dataset_train),
    result_fields=RESULT_FIELDS,
    evaluate=None if dataset_test is None else evaluation,
    log=log,
    devices=devices,
  )


def restore_params(workdir: str, *, step: int | None = None, mesh: Mesh | None = None) -> tuple[Params, int]:
  """(params, step) of the checkpoint of `workdir` at `step` (default: the latest), for using a judge.

  Reads the task, model, seed and input shape from workdir/config.json (an image or a text judge); params
  come back replicated over `mesh` (any mesh; default: all devices), whatever the mesh they were trained on.
  """
  with open(os.path.join(workdir, CONFIG)) as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.get('task') == 'text':
    from judges import text_judges  # The text task's modules, only for a text judge.

    task = text_judges.task_from_config(config)
  else:
    task = _task(config, config.train_data.image_shape)
  return trainer.restore_params(workdir, task, config, step=step, mesh=mesh)


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
  if not isinstance(k, int) or k < 1:
    raise ValueError(f'k must be an integer >= 1, got {k!r}')
  views = functools.partial(_revealed, k=k)
  (correct,), (games,) = trainer.count_correct(
    model, params, views, _data(dataset), key=jax.random.key(seed), batch_size=batch_size
  )
  return trainer.accuracy_record(correct, games, k=k, seed=seed)
