"""The main job: the oversight-scaling experiment on the `chain` task with its default config.

  python -m launch.main --workdir=DIR [--config.FIELD=VALUE ...]

is `python -m launch.run --config=launch/configs/chain.py --workdir=DIR`.
"""

import os

from launch import cli, run

if __name__ == '__main__':
  cli.run_main(run.run, default_config=os.path.join(os.path.dirname(__file__), 'configs', 'chain.py'))
