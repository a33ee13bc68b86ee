"""Trains the sparse-pixel judge of the `images` task (Irving et al. 2018) and measures its accuracy.

  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k6 --data_dir=DIR --workdir=J \
      [--config.FIELD=VALUE ...]

DIR holds the MNIST-family IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]). Writes to J:
config.json, metrics.jsonl and TensorBoard event files of the same metrics (`tensorboard --logdir=J`),
checkpoints/<step>/ (Orbax) and eval.json (random-pixel accuracy on the whole test split, with its Wilson
95% interval), and prints the evaluation. Rerunning the same command resumes. With several processes
(--distributed=auto, or --coordinator_address, --num_processes and --process_id: see launch/cli.py) each
loads its own shard of the data and only process 0 writes the JSON and event files. On SIGTERM the
run saves a checkpoint at its current step and exits with status 143; rerunning the command resumes.
"""

import json
import os
import sys

import jax
from absl import flags, logging

from debate.distributed import multihost
from debate.experiments import runfiles
from debate.tasks import idx
from judges import train
from launch import cli

_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Folder with the MNIST-family IDX files.')
EVAL = 'eval.json'


def run(config, workdir: str) -> None:
  """Validates everything, then trains (or resumes), evaluates on the test split and writes eval.json."""
  try:
    train.validate_config(config)
  except runfiles.ConfigError as e:
    cli.fail(str(e))
  if not _DATA_DIR.value:
    cli.fail('--data_dir is required: the folder with the MNIST-family IDX files, e.g. --data_dir=../shared/data/mnist')
  shard = dict(num_classes=config.num_classes, process_index=jax.process_index(), process_count=jax.process_count())
  try:
    dataset_train = idx.load_image_dataset(_DATA_DIR.value, split='train', **shard)
    dataset_test = idx.load_image_dataset(_DATA_DIR.value, split='test', **shard)
  except idx.IdxError as e:
    cli.fail(f'--data_dir={_DATA_DIR.value}: {e}')
  try:
    train.validate_config(config, image_shape=dataset_train.image_shape)
    if dataset_test.image_shape != dataset_train.image_shape:
      cli.fail(
        f'--data_dir={_DATA_DIR.value}: test images are {dataset_test.image_shape} but training '
        f'images {dataset_train.image_shape}; the two splits must come from the same data set'
      )
    train.check_workdir(config, workdir, dataset_train)
  except (runfiles.ConfigError, runfiles.WorkdirError) as e:
    cli.fail(str(e))
  logging.info(
    'data: %d training and %d test images of %s from %s (process %d of %d)',
    dataset_train.total,
    dataset_test.total,
    'x'.join(map(str, dataset_train.image_shape)),
    _DATA_DIR.value,
    jax.process_index(),
    jax.process_count(),
  )

  try:
    _, metrics = train.train_judge(config, workdir, dataset_train, dataset_test, log=logging.info)
  except (runfiles.ConfigError, runfiles.WorkdirError) as e:
    cli.fail(str(e))
  except multihost.Preempted as e:
    logging.warning('%s', e)
    sys.exit(cli.EXIT_PREEMPTED)
  result = {
    'split': 'test',
    'judge': config.judge,
    'step': metrics['step'],
    **metrics['test'],
    'data_dir': os.path.abspath(_DATA_DIR.value),
  }
  if jax.process_index() == 0:
    runfiles.write_json(os.path.join(workdir, EVAL), result)
  print(json.dumps(result))


if __name__ == '__main__':
  cli.run_main(run)
