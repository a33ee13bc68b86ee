"""The shared command line of entry points (`launch.run`, `launch.main`, `launch.train_judge`): flags, errors,
exit codes, and joining a multi-process job.

Bad input exits non-zero with one line that names the flag at fault, before anything is written.

Several processes (hosts of a TPU pod, tasks of a SLURM job, or local processes for testing) run the same
command and join one JAX job before any computation (`jax.distributed.initialize`):
  --distributed=auto      JAX finds the coordinator, process count and index itself: on Cloud TPU pods,
                          SLURM (srun) and Open MPI (mpirun); explicit flags below override what it finds.
  --coordinator_address=HOST:PORT --num_processes=N --process_id=I
                          explicit; HOST is process 0's address, PORT any free port, the same everywhere.
Without either, the run is a single process. On CPU the processes talk over gloo (JAX's default CPU
collectives). Exit statuses: 0 done, 2 bad usage, 143 (128 + SIGTERM) preempted after saving a checkpoint.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Callable

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

EXIT_USAGE = 2
EXIT_PREEMPTED = 128 + 15  # What a shell reports for a process ended by SIGTERM.
DISTRIBUTED = flags.DEFINE_enum(
  'distributed',
  'off',
  ['off', 'auto'],
  "'auto': join a multi-process JAX job whose coordinator, process count and "
  "index JAX detects (Cloud TPU pod, SLURM, Open MPI); 'off': single process "
  'unless --coordinator_address is given.',
)
COORDINATOR_ADDRESS = flags.DEFINE_string('coordinator_address', None, 'HOST:PORT of process 0 in a multi-process job.')
NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Number of processes in a multi-process job.')
PROCESS_ID = flags.DEFINE_integer(
  'process_id', None, "This process's index in a multi-process job, 0 .. num_processes - 1."
)


def parse_flags(argv: list[str]) -> list[str]:
  """absl flags parser that turns flag errors, unknown config fields included, into one-line messages."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(str(e))
  except (AttributeError, KeyError) as e:  # ml_collections: an override names a field the config lacks.
    text = str(e).replace('\\', '')
    field = (re.findall(r'\w+', text) or ['?'])[0]
    suggestion = re.search(r'Did you mean "(\w+)"', text)
    names = (a.split('=')[0] for a in argv[1:] if a.startswith('--config.'))
    fail(
      f'{next((n for n in names if n.split(".")[-1] == field), "--config")}: unknown config field {field!r}'
      + (f'; did you mean {suggestion.group(1)!r}?' if suggestion else '; the config file lists the fields it has')
    )


def fail(message: str) -> None:
  """Prints `message` to stderr and exits with status 2 (bad usage)."""
  print(f'error: {message}', file=sys.stderr)
  sys.exit(EXIT_USAGE)


def distributed_settings(
  mode: str, coordinator_address: str | None, num_processes: int | None, process_id: int | None
) -> dict | None:
  """The keyword arguments of `jax.distributed.initialize` the flags ask for, or None for a single process.

  Raises ValueError naming the flag at fault.
  """
  explicit = {'coordinator_address': coordinator_address, 'num_processes': num_processes, 'process_id': process_id}
  given = {k: v for k, v in explicit.items() if v is not None}
  if mode == 'off' and not given:
    return None
  if mode == 'off' and len(given) < 3:
    missing = ', '.join(f'--{k}' for k in explicit if k not in given)
    raise ValueError(
      f'a multi-process job needs --coordinator_address, --num_processes and --process_id '
      f'(missing {missing}), or --distributed=auto where JAX can detect them'
    )
  if coordinator_address is not None and not re.fullmatch(r'\S+:\d+', coordinator_address):
    raise ValueError(f'--coordinator_address={coordinator_address}: expected HOST:PORT, e.g. 10.0.0.2:8476')
  if num_processes is not None and num_processes < 1:
    raise ValueError(f'--num_processes must be >= 1, got {num_processes}')
  if process_id is not None and (process_id < 0 or (num_processes is not None and process_id >= num_processes)):
    raise ValueError(f'--process_id must be in [0, --num_processes), got {process_id}')
  return given


def initialize_distributed() -> None:
  """Joins the multi-process job the flags ask for (before any JAX computation); nothing for one process."""
  try:
    settings = distributed_settings(DISTRIBUTED.value, COORDINATOR_ADDRESS.value, NUM_PROCESSES.value, PROCESS_ID.value)
  except ValueError as e:
    fail(str(e))
  if settings is None:
    return
  import jax

  try:
    jax.distributed.initialize(**settings)
  except (ValueError, RuntimeError) as e:
    fail(
      f'--distributed: could not join the multi-process job ({e}); on a machine that is not a Cloud TPU '
      'pod, SLURM or Open MPI job pass --coordinator_address, --num_processes and --process_id'
    )
  absl_logging.info(
    'process %d of %d; %d local and %d global devices (%s)',
    jax.process_index(),
    jax.process_count(),
    jax.local_device_count(),
    jax.device_count(),
    jax.default_backend(),
  )


def _not_orbax_info(record) -> bool:
  """Drops Orbax's chatty INFO records (a dozen lines per checkpoint); its warnings and errors stay."""
  return record.levelno >= logging.WARNING or f'{os.sep}orbax{os.sep}' not in record.pathname


def run_main(body: Callable[..., None], *, default_config: str | None = None) -> None:
  """Defines --config and --workdir, parses flags, joins a multi-process job if the flags ask, and calls
  `body(config, workdir)`. A `runfiles.ConfigError` or `WorkdirError` from `body` exits with status 2; a
  `multihost.Preempted` (a training stopped by SIGTERM after saving its state: rerunning resumes it) with 143."""
  absl_logging.get_absl_handler().addFilter(_not_orbax_info)
  config_flag = config_flags.DEFINE_config_file('config', default_config, 'Experiment config file[:variant].')
  workdir_flag = flags.DEFINE_string('workdir', None, 'Directory for the config, records, tables, figures.')

  def main(argv):
    if len(argv) > 1:
      fail(f'unexpected arguments {argv[1:]}')
    if config_flag.value is None:
      fail('--config is required, e.g. --config=launch/configs/chain.py')
    if not workdir_flag.value:
      fail('--workdir is required')
    initialize_distributed()
    from debate.distributed import multihost
    from debate.experiments import runfiles

    try:
      body(config_flag.value, workdir_flag.value)
    except (runfiles.ConfigError, runfiles.WorkdirError) as e:
      fail(str(e))
    except multihost.Preempted as e:
      absl_logging.warning('%s', e)
      sys.exit(EXIT_PREEMPTED)

  app.run(main, flags_parser=parse_flags)
