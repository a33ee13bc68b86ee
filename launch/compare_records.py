"""Compares the records of two workdirs, ignoring timing: did a change alter any result?

  python -m launch.compare_records --a=DIR1 --b=DIR2

Compares `results.jsonl` and `transcripts.jsonl` (where both workdirs have one) record by record, keyed by
`cell` when records have one, after dropping the timing fields (wall time and rates). Prints each
difference (cell, key, the two values) and exits 0 when the records are identical, 1 when they differ, 2
on bad input (a missing workdir or records file).
"""

from __future__ import annotations

import collections
import json
import os
import sys
from typing import Any

from absl import app, flags

from debate.experiments import runfiles
from launch.cli import fail, parse_flags

A = flags.DEFINE_string('a', None, 'First workdir.')
B = flags.DEFINE_string('b', None, 'Second workdir.')
TIMING_FIELDS = frozenset({'wall_s', 'games_per_s', 'examples_per_s', 'elapsed_s', 'steps_per_s', 'judge_evals_per_s'})
RECORD_FILES = ('results.jsonl', 'transcripts.jsonl')


def load_records(path: str) -> list[dict[str, Any]]:
  return [{k: v for k, v in record.items() if k not in TIMING_FIELDS} for record in runfiles.read_jsonl(path)]


def differences(a: list[dict], b: list[dict]) -> list[str]:
  """One line per difference between two record lists (matched by `cell`, else by position)."""

  def keyed(records):  # (cell, its n-th occurrence): records without a cell are matched by position.
    seen, out = collections.Counter(), {}
    for r in records:
      out[r.get('cell'), seen[r.get('cell')]] = r
      seen[r.get('cell')] += 1
    return out

  ka, kb = keyed(a), keyed(b)
  out = [f'only in a: {k[0]}' for k in ka.keys() - kb.keys()] + [f'only in b: {k[0]}' for k in kb.keys() - ka.keys()]
  for k in sorted(ka.keys() & kb.keys(), key=str):
    ra, rb = ka[k], kb[k]
    out += [
      f'{k[0]}: {field}: {json.dumps(ra.get(field))[:200]} != {json.dumps(rb.get(field))[:200]}'
      for field in sorted(ra.keys() | rb.keys())
      if ra.get(field) != rb.get(field)
    ]
  return out


def main(argv):
  del argv
  if not A.value or not B.value:
    fail('give both --a=DIR and --b=DIR')
  for flag, workdir in (('--a', A.value), ('--b', B.value)):
    if not os.path.isfile(os.path.join(workdir, 'results.jsonl')):
      fail(f'{flag}={workdir}: no results.jsonl; expected a finished workdir of launch.run')
  pairs = {name: [os.path.join(workdir, name) for workdir in (A.value, B.value)] for name in RECORD_FILES}
  pairs = {name: paths for name, paths in pairs.items() if all(map(os.path.isfile, paths))}
  diffs = [
    f'{name}: {line}' for name, (a, b) in pairs.items() for line in differences(load_records(a), load_records(b))
  ]
  for line in diffs:
    print(line)
  print(f'{len(pairs)} record files compared: {"identical" if not diffs else f"{len(diffs)} differences"}')
  sys.exit(1 if diffs else 0)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
