"""launch.bench's helpers that need none of its flags: flag checks, the child processes (one per device count
or mesh) and their JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Callable, Sequence

from absl import flags

from launch.cli import fail

FORCE_DEVICES = '--xla_force_host_platform_device_count'


class UsageError(ValueError):
  """A bad flag value; the message names the flag."""


def log(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


# Flag validation: each raises UsageError naming the flag at fault.


def at_least(minimum: int, *holders: flags.FlagHolder) -> None:
  for holder in holders:
    if holder.value < minimum:
      raise UsageError(f'--{holder.name} must be >= {minimum}, got {holder.value}')


def int_list(holder: flags.FlagHolder) -> list[int]:
  """A list flag's values as integers >= 1."""
  values = holder.value
  if not values:
    raise UsageError(f'--{holder.name} needs at least one value')
  try:
    ints = [int(v) for v in values]
  except ValueError:
    raise UsageError(f'--{holder.name} must be a comma-separated list of integers, got {",".join(values)!r}') from None
  bad = [i for i in ints if i < 1]
  if bad:
    raise UsageError(f'--{holder.name} values must be >= 1, got {bad[0]}')
  return ints


def parse_mesh(spec: str) -> tuple[int, int]:
  """'data:D,model:M' (either part may be left out: 1) -> (D, M)."""
  sizes = {'data': 1, 'model': 1}
  for part in spec.split(','):
    name, _, value = part.partition(':')
    if name not in sizes or not value.isdigit() or int(value) < 1:
      raise UsageError(f'--mesh={spec}: expected data:D,model:M with integers >= 1, e.g. data:2,model:2')
    sizes[name] = int(value)
  return sizes['data'], sizes['model']


# ------------------------------------------------------------------------------------------------------------
# Child processes: one per device count or mesh.


def child_env(n_devices: int, base: dict | None = None) -> dict:
  """`base` (default os.environ) with XLA_FLAGS forcing `n_devices` host devices, other XLA flags kept."""
  env = dict(os.environ if base is None else base)
  kept = [f for f in env.get('XLA_FLAGS', '').split() if not f.startswith(FORCE_DEVICES)]
  env['XLA_FLAGS'] = ' '.join(kept + [f'{FORCE_DEVICES}={n_devices}'])
  return env


def run_children(
  forwarded: Sequence[flags.FlagHolder], children: Sequence[tuple[str, int]]
) -> tuple[list[dict], dict[str, dict]]:
  """Runs one `--worker` child of this benchmark per (flag, device count) of `children`, e.g. ('--devices=4',
  4), with the `forwarded` flags and that many (simulated) devices. Returns (the rows of all children,
  {the flag's value: that child's environment}).

  A child prints one JSON line per environment or row on stdout; its stderr streams through. A failed child
  ends the benchmark with its status.
  """
  rows, envs = [], {}
  for flag, n_devices in children:
    argv = [sys.executable, '-m', 'launch.bench', *(flags.FLAGS[h.name].serialize() for h in forwarded)]
    argv = [a for a in argv if a] + [flag, '--worker']
    log(f'[bench] {flag}: {" ".join(argv[1:])}')
    start = time.perf_counter()
    proc = subprocess.run(argv, env=child_env(n_devices), stdout=subprocess.PIPE, text=True)
    for line in proc.stdout.splitlines():
      record = json.loads(line) if line.startswith('{') else {}
      kind = record.pop('kind', None)
      if kind == 'env':
        envs[flag.partition('=')[2]] = record
      elif kind == 'row':
        rows.append(record)
    if proc.returncode != 0:
      print(f'error: the worker for {flag} exited with status {proc.returncode}', file=sys.stderr)
      sys.exit(proc.returncode if proc.returncode > 0 else 1)
    log(f'[bench] {flag} done in {time.perf_counter() - start:.0f} s')
  return rows, envs


def worker(flag: str, measure: Callable[[Callable[[dict], None]], object]) -> None:
  """In a child: prints an 'env' JSON line, then `measure(on_row)`'s rows, one 'row' line each, to stdout.

  A ValueError (e.g. fewer real devices than asked for) exits with status 2, naming `flag`.
  """
  from debate.rollouts import throughput

  emit = lambda kind, record: print(json.dumps({'kind': kind, **record}), flush=True)
  emit('env', throughput.environment())
  try:
    measure(lambda row: emit('row', row))
  except ValueError as e:
    fail(f'{flag}: {e}')
