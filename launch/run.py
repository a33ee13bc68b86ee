"""Runs an experiment grid from a config file: the one entry point for every experiment.

  python -m launch.run --config=launch/configs/chain.py[:smoke] --workdir=DIR [--config.FIELD=VALUE ...]

Writes to DIR: config.json, results.jsonl, transcripts.jsonl, table.md, table.tex, table.csv and
accuracy_vs_T.png, and prints the Markdown table. Rerunning the same command resumes.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from debate import experiment, report

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file[:variant].')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for the config, records, tables and figures.')


def run(config, workdir: str) -> None:
  try:
    records = experiment.run_experiment(config, workdir, log=logging.info)
  except experiment.ConfigError as e:
    raise app.UsageError(str(e)) from None
  print(report.accuracy_table(records, fmt='markdown'))
  logging.info('wrote tables and figure to %s', workdir)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if _CONFIG.value is None:
    raise app.UsageError('--config is required, e.g. --config=launch/configs/chain.py')
  if not _WORKDIR.value:
    raise app.UsageError('--workdir is required')
  run(_CONFIG.value, _WORKDIR.value)


if __name__ == '__main__':
  app.run(main)
