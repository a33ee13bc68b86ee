"""Runs an experiment from a config file: the one entry point for every experiment.

  python -m launch.run --config=launch/configs/chain.py[:smoke] --workdir=DIR [--config.FIELD=VALUE ...]

The config's `experiment` field picks the runner (a missing field means 'grid'):
  grid    the chain grid (debate/experiments/chain.py): config.json, results.jsonl, transcripts.jsonl, table.md,
          table.tex, table.csv and accuracy_vs_T.png in DIR; prints the Markdown table.
  rrm     recursive reward modelling per level vs the unassisted baseline (debate/experiments/rrm.py):
          config.json, results.jsonl, rrm_models/, rrm_table.{md,tex,csv} and rrm_levels.{png,pdf} in DIR.
  irving  Irving et al. 2018 on MNIST (debate/experiments/images.py; needs --data_dir and --judge_workdir):
          results.jsonl, transcripts.jsonl, table2.md/.tex/.csv, precommit_vs_simulations.png/.pdf,
          confusion.png/.pdf and sample_games.png/.pdf in DIR; prints Table 2.
  text    text debate (debate/experiments/text.py; launch/configs/text.py): results.jsonl, transcripts.jsonl,
          text_accuracy, text_by_hops, text_verification, text_open (.md/.tex/.csv) and
          text_accuracy_vs_strength.png/.pdf in DIR; prints the accuracy table.
Rerunning the same command on the same DIR resumes, also a learned agent's training stopped by SIGTERM
(the run then exits with status 143 after saving its state).
"""

from absl import flags, logging

from launch import cli

DATA_DIR = flags.DEFINE_string('data_dir', None, 'Folder of the IDX image files (image experiments).')
JUDGE_WORKDIR = flags.DEFINE_string(
  'judge_workdir', None, 'Workdir of a trained image judge (launch.train_judge), for image experiments.'
)


# experiment name -> function(config, workdir) -> Markdown summary printed at the end. Each imports its own
# modules: a chain run does not load the image code.
def _run_grid(config, workdir: str) -> str:
  from debate.experiments import chain
  from debate.reports import chain as report

  return report.accuracy_table(chain.run_experiment(config, workdir, log=logging.info), fmt='markdown')


def _run_irving(config, workdir: str) -> str:
  from debate.experiments import images
  from debate.reports import images as report

  kwargs = dict(data_dir=DATA_DIR.value, judge_workdir=JUDGE_WORKDIR.value, log=logging.info)
  return report.table2(images.run_image_experiment(config, workdir, **kwargs), fmt='markdown')


def _run_rrm(config, workdir: str) -> str:
  from debate.experiments import rrm
  from debate.reports import rrm as report

  return report.rrm_table(rrm.run_rrm(config, workdir, log=logging.info), fmt='markdown')


def _run_text(config, workdir: str) -> str:
  from debate.experiments import text
  from debate.reports import text as report

  return report.accuracy_table(text.run_text_experiment(config, workdir, log=logging.info), fmt='markdown')


RUNNERS = {'grid': _run_grid, 'irving': _run_irving, 'rrm': _run_rrm, 'text': _run_text}


def run(config, workdir: str) -> None:
  """Runs (or resumes) the experiment of `config` in `workdir` and prints its Markdown summary."""
  name = config.get('experiment', 'grid')
  if name not in RUNNERS:
    cli.fail(f'--config: unknown experiment {name!r}; expected one of {", ".join(RUNNERS)}')
  print(RUNNERS[name](config, workdir))
  logging.info('wrote records, tables and figures to %s', workdir)


if __name__ == '__main__':
  cli.run_main(run)
