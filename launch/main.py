"""The main job: the oversight-scaling experiment on the `chain` task with its default config.

  python -m launch.main --workdir=DIR [--config.FIELD=VALUE ...]

is `python -m launch.run --config=launch/configs/chain.py --workdir=DIR`.
"""

import os

from absl import app, flags
from ml_collections import config_flags

from launch import run

_DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), 'configs', 'chain.py')
_CONFIG = config_flags.DEFINE_config_file('config', _DEFAULT_CONFIG, 'Experiment config file[:variant].')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for the config, records, tables and figures.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not _WORKDIR.value:
    raise app.UsageError('--workdir is required')
  run.run(_CONFIG.value, _WORKDIR.value)


if __name__ == '__main__':
  app.run(main)
