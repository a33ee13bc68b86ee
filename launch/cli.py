"""The shared command line of experiment entry points (`launch.run`, `launch.main`): flags, errors, exit codes.

Bad input exits non-zero with one line that names the flag at fault, before anything is written.
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


def parse_flags(argv: list[str]) -> list[str]:
  """absl flags parser that turns flag errors, unknown config fields included, into one-line messages."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(str(e))
  except (AttributeError, KeyError) as e:  # ml_collections: an override names a field the config lacks.
    text = str(e).replace('\\', '')
    field = re.search(r'(\w+)', text)
    field = field.group(1) if field else '?'
    suggestion = re.search(r'Did you mean "(\w+)"', text)
    culprits = [a.split('=')[0] for a in argv[1:]
                if a.startswith('--config.') and a.split('=')[0].split('.')[-1] == field]
    fail(f'{culprits[0] if culprits else "--config"}: unknown config field {field!r}'
         + (f'; did you mean {suggestion.group(1)!r}?' if suggestion else
            '; the config file lists the fields it has'))


def fail(message: str) -> None:
  """Prints `message` to stderr and exits with status 2 (bad usage)."""
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


def _not_orbax_info(record) -> bool:
  """Drops Orbax's chatty INFO records (a dozen lines per checkpoint); its warnings and errors stay."""
  return record.levelno >= logging.WARNING or f'{os.sep}orbax{os.sep}' not in record.pathname


def run_main(body: Callable[..., None], *, default_config: str | None = None) -> None:
  """Defines --config and --workdir, parses flags and calls `body(config, workdir)`."""
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
    body(config_flag.value, workdir_flag.value)

  app.run(main, flags_parser=parse_flags)
