"""Runs an experiment grid from a config file: the one entry point for every experiment.

  python -m launch.run --config=launch/configs/chain.py[:smoke] --workdir=DIR [--config.FIELD=VALUE ...]

Writes to DIR: config.json, results.jsonl, transcripts.jsonl, table.md, table.tex, table.csv and
accuracy_vs_T.png, and prints the Markdown table. Rerunning the same command resumes.
"""

from absl import logging

from debate import experiment, report, runfiles
from launch import cli


def run(config, workdir: str) -> None:
  """Runs (or resumes) the experiment of `config` in `workdir` and prints its Markdown table."""
  try:
    records = experiment.run_experiment(config, workdir, log=logging.info)
  except (runfiles.ConfigError, runfiles.WorkdirError) as e:
    cli.fail(str(e))
  print(report.accuracy_table(records, fmt='markdown'))
  logging.info('wrote tables and figure to %s', workdir)


if __name__ == '__main__':
  cli.run_main(run)
