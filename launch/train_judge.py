"""Trains a judge (the sparse-pixel judge of the `images` task, or a transformer judge of the `text` task) and
measures its accuracy.

  python -m launch.train_judge --config=launch/configs/irving_mnist.py:k6 --data_dir=DIR --workdir=J \
      [--config.FIELD=VALUE ...]
  python -m launch.train_judge --config=launch/configs/text.py:judge_smoke --workdir=J [--config.FIELD=VALUE ...]

Images: DIR holds the MNIST-family IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]). Writes to
J: config.json, metrics.jsonl and TensorBoard event files of the same metrics (`tensorboard --logdir=J`),
checkpoints/<step>/ (Orbax) and eval.json (random-pixel accuracy on the whole test split, with its Wilson
95% interval), and prints the evaluation. Text (no --data_dir: the stories are generated from the config's
seed): the same files, with eval.json holding the test accuracy by hops for random views at the trained k
(and each eval_k), the blind view and the full-story view (judges/text_judges.py `evaluate`), printed as a
table. Rerunning the same command resumes. With several processes (--distributed=auto, or
--coordinator_address, --num_processes and --process_id: see launch/cli.py) each loads (or generates) its
own shard of the data and only process 0 writes the JSON and event files. On SIGTERM the run saves a
checkpoint at its current step and exits with status 143; rerunning the command resumes.
"""

import json
import os

import jax
from absl import flags, logging

from debate.experiments import runfiles
from debate.tasks import idx
from judges import train
from launch import cli

_DATA_DIR = flags.DEFINE_string('data_dir', None, 'Folder with the MNIST-family IDX files.')


def run(config, workdir: str) -> None:
  """Validates everything, then trains (or resumes), evaluates on the test split and writes eval.json."""
  if config.get('task') == 'text':
    return run_text(config, workdir)
  train.validate_config(config)
  if not _DATA_DIR.value:
    cli.fail('--data_dir is required: the folder with the MNIST-family IDX files, e.g. --data_dir=../shared/data/mnist')
  shard = dict(num_classes=config.num_classes, process_index=jax.process_index(), process_count=jax.process_count())
  try:
    train_set, test_set = (idx.load_image_dataset(_DATA_DIR.value, split=s, **shard) for s in ('train', 'test'))
  except idx.IdxError as e:
    cli.fail(f'--data_dir={_DATA_DIR.value}: {e}')
  train.validate_config(config, image_shape=train_set.image_shape)
  if test_set.image_shape != train_set.image_shape:
    cli.fail(
      f'--data_dir={_DATA_DIR.value}: test images are {test_set.image_shape} but training '
      f'images {train_set.image_shape}; the two splits must come from the same data set'
    )
  train.check_workdir(config, workdir, train_set)
  logging.info(
    'data: %d training and %d test images of %s from %s (process %d of %d)',
    train_set.total,
    test_set.total,
    'x'.join(map(str, train_set.image_shape)),
    _DATA_DIR.value,
    jax.process_index(),
    jax.process_count(),
  )
  _, metrics = train.train_judge(config, workdir, train_set, test_set, log=logging.info)
  result = {
    'split': 'test',
    'judge': config.judge,
    'step': metrics['step'],
    **metrics['test'],
    'data_dir': os.path.abspath(_DATA_DIR.value),
  }
  if jax.process_index() == 0:
    runfiles.write_json(os.path.join(workdir, 'eval.json'), result)
  print(json.dumps(result))


def run_text(config, workdir: str) -> None:
  """The text task: validates, generates the stories, trains (or resumes), evaluates and writes eval.json."""
  from judges import text_judges  # The text task's modules, only for a text judge.

  if _DATA_DIR.value:
    cli.fail('--data_dir is for the images task; the text task generates its stories from the config')
  text_judges.validate_config(config)
  train_set, test_set = (
    text_judges.make_data(config, split, process_index=jax.process_index(), process_count=jax.process_count())
    for split in ('train', 'test')
  )
  text_judges.check_workdir(config, workdir, train_set)
  logging.info(
    'data: %d training and %d test stories of seed %d (process %d of %d)',
    train_set.total,
    test_set.total,
    config.seed,
    jax.process_index(),
    jax.process_count(),
  )
  _, metrics = text_judges.train_judge(config, workdir, train_set, test_set, log=logging.info)
  result = {'split': 'test', 'judge': config.judge, 'step': metrics['step'], **metrics['test']}
  if jax.process_index() == 0:
    runfiles.write_json(os.path.join(workdir, 'eval.json'), result)
  print(text_judges.format_evaluation(metrics['test']))
  print(json.dumps(result))


if __name__ == '__main__':
  cli.run_main(run)
