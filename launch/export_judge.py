"""Writes a trained image judge as a shipped judge (judges/pretrained.py): compact float16 weights with their
hash, training config and random-pixel accuracy, and a small test sample to re-measure it on.

  python -m launch.export_judge --judge_workdir=DIR/judge_k6 --name=irving_k6 --data_dir=../shared/data/mnist
  python -m launch.run --config=launch/configs/irving_mnist.py:k6 --data_dir=../shared/data/mnist \
      --judge_workdir=pretrained:irving_k6

Exits 2 with a message on bad input (no trained judge in --judge_workdir, no test split in --data_dir).
"""

from __future__ import annotations

import json
import os
import re

from absl import app, flags

from debate.tasks import idx
from judges import pretrained
from launch.cli import fail, parse_flags

JUDGE_WORKDIR = flags.DEFINE_string('judge_workdir', None, 'Workdir of a judge trained by launch.train_judge.')
NAME = flags.DEFINE_string('name', None, 'Name of the shipped judge (letters, digits, _ and -), e.g. irving_k6.')
DATA_DIR = flags.DEFINE_string('data_dir', None, 'IDX folder whose test split measures the exported judge.')
OUT = flags.DEFINE_string('out', pretrained.DIRECTORY, 'Folder of the shipped judges.')
SAMPLE = flags.DEFINE_integer('sample_images', 200, 'Test images shipped beside the judge to re-measure it on.')


def main(argv):
  del argv
  if not NAME.value or not re.fullmatch(r'[A-Za-z0-9_-]+', NAME.value):
    fail(f'--name must be letters, digits, _ and -, got {NAME.value!r}')
  if not JUDGE_WORKDIR.value or not os.path.isfile(os.path.join(JUDGE_WORKDIR.value, 'config.json')):
    fail(f'--judge_workdir={JUDGE_WORKDIR.value}: no trained judge (no config.json); train one with launch.train_judge')
  if SAMPLE.value < 1:
    fail(f'--sample_images must be >= 1, got {SAMPLE.value}')
  try:
    info = pretrained.export(
      JUDGE_WORKDIR.value, NAME.value, data_dir=DATA_DIR.value or '', directory=OUT.value, sample_images=SAMPLE.value
    )
  except (idx.IdxError, FileNotFoundError) as e:
    fail(f'--data_dir={DATA_DIR.value}: {e}')
  print(json.dumps({k: info[k] for k in ('name', 'model', 'k', 'step', 'random_pixel_test', 'random_pixel_sample')}))


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
