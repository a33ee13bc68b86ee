"""Compares the records of two workdirs, ignoring timing: did a change alter any result?

  python -m launch.compare_records --a=DIR1 --b=DIR2

Compares `results.jsonl` and `transcripts.jsonl` (where both workdirs have one) record by record, keyed by
`cell` when records have one, after dropping the timing fields (wall time and rates). Prints each
difference (cell, key, the two values) and exits 0 when the records are identical, 1 when they differ, 2
on bad input (a missing workdir or records file).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from absl import app, flags

A = flags.DEFINE_string('a', None, 'First workdir.')
B = flags.DEFINE_string('b', None, 'Second workdir.')
TIMING_FIELDS = frozenset({'wall_s', 'games_per_s', 'examples_per_s', 'elapsed_s', 'steps_per_s', 'judge_evals_per_s'})
RECORD_FILES = ('results.jsonl', 'transcripts.jsonl')


def load_records(path: str) -> list[dict[str, Any]]:
  """The JSON lines of `path` without their timing fields."""
  with open(path) as f:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS} for line in f if line.strip()]


def differences(a: list[dict], b: list[dict]) -> list[str]:
  """One line per difference between two record lists (matched by `cell`, else by position)."""

  def keyed(records):  # (cell, its n-th occurrence): records without a cell are matched by position.
    seen: dict[Any, int] = {}
    out = {}
    for r in records:
      cell = r.get('cell')
      seen[cell] = seen.get(cell, -1) + 1
      out[(cell, seen[cell])] = r
    return out

  ka, kb = keyed(a), keyed(b)
  out = [f'only in a: {k[0]}' for k in ka.keys() - kb.keys()] + [f'only in b: {k[0]}' for k in kb.keys() - ka.keys()]
  for k in sorted(ka.keys() & kb.keys(), key=str):
    ra, rb = ka[k], kb[k]
    for field in sorted(ra.keys() | rb.keys()):
      if ra.get(field) != rb.get(field):
        out.append(f'{k[0]}: {field}: {json.dumps(ra.get(field))[:200]} != {json.dumps(rb.get(field))[:200]}')
  return out


def compare_workdirs(dir_a: str, dir_b: str) -> tuple[int, list[str]]:
  """(number of record files compared, difference lines) for two workdirs."""
  for d in (dir_a, dir_b):
    if not os.path.isfile(os.path.join(d, 'results.jsonl')):
      raise FileNotFoundError(f'{d}: no results.jsonl; expected a finished workdir of launch.run')
  compared, out = 0, []
  for name in RECORD_FILES:
    pa, pb = os.path.join(dir_a, name), os.path.join(dir_b, name)
    if os.path.isfile(pa) and os.path.isfile(pb):
      compared += 1
      out += [f'{name}: {line}' for line in differences(load_records(pa), load_records(pb))]
  return compared, out


def main(argv):
  del argv
  if not A.value or not B.value:
    print('compare_records: give both --a=DIR and --b=DIR', file=sys.stderr)
    sys.exit(2)
  try:
    compared, diffs = compare_workdirs(A.value, B.value)
  except FileNotFoundError as e:
    print(f'compare_records: {e}', file=sys.stderr)
    sys.exit(2)
  for line in diffs:
    print(line)
  print(f'{compared} record files compared: {"identical" if not diffs else f"{len(diffs)} differences"}')
  sys.exit(1 if diffs else 0)


if __name__ == '__main__':
  app.run(main)
