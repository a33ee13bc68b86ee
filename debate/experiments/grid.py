"""The experiment loop, written once for every task: a grid of cells, each recorded as soon as it finishes.

Cells run in a stable order; each appends one record to `results.jsonl` (after its sample games in
`transcripts.jsonl`) the moment it ends, so a killed run restarted with the same command and workdir skips
the finished cells and ends with the same records as an uninterrupted one. The resolved config is checked
against the workdir's before anything runs (`runfiles.check_resumable`); a kill may leave a partial last record
or sample games of a cell whose record was never written, and both files are cut back to the finished cells.

A long cell can also be played in blocks of its items (`run_in_blocks`): each finished block's arrays are
saved in the workdir's `blocks/` folder, so a run killed in the middle of a cell resumes after the cell's
last finished block; a cell's blocks are deleted once its record is written.

With several processes (debate/distributed/multihost.py) every process runs every cell (playing its share
of the games); process 0 alone writes the workdir, and the finished cells (and blocks) it reads there are
broadcast, so every process runs the same cells.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.parse
from typing import Any, Callable, Sequence

import numpy as np

from debate.analysis.stats import wilson_interval
from debate.distributed import multihost, sharding
from debate.experiments import runfiles

RESULTS = 'results.jsonl'
TRANSCRIPTS = 'transcripts.jsonl'
CONFIG = 'config.json'
BLOCKS = 'blocks'


def run_grid(
  cells: Sequence[Any],
  run_cell: Callable[[Any], tuple[dict, list[dict]]],
  workdir: str,
  resolved: dict,
  *,
  name: Callable[[Any], str] = lambda cell: cell.name,
  summary: Callable[[dict], str],
  write_reports: Callable[[list[dict], str], Any] | None = None,
  fields: Sequence[str] | None = None,
  ignore: Sequence[str] = (),
  transcripts: bool = True,
  log: Callable[[str], None] = print,
) -> list[dict]:
  """Runs (or resumes) `cells` in `workdir`; returns the records of every cell, in cell order.

  run_cell(cell) -> (record (with 'cell' = name(cell)), transcript rows); summary(record) -> its log line;
  write_reports(records, workdir): tables and figures at the end (process 0). `resolved`: the run's
  config, compared on resume on `fields` (None: all) but `ignore` (runfiles.check_resumable).
  """
  results, samples = os.path.join(workdir, RESULTS), os.path.join(workdir, TRANSCRIPTS)
  runfiles.check_resumable(workdir, os.path.join(workdir, CONFIG), resolved, fields=fields, ignore=ignore)
  # Process 0's records, so every process runs the same cells.
  records = multihost.broadcast_json(
    runfiles.read_jsonl(results) if multihost.is_writer() and os.path.exists(results) else []
  )
  done = {r['cell'] for r in records}
  if multihost.is_writer():
    os.makedirs(workdir, exist_ok=True)
    runfiles.write_json(os.path.join(workdir, CONFIG), resolved)
    runfiles.write_jsonl(results, records)
    if transcripts and os.path.exists(samples):
      runfiles.write_jsonl(samples, [t for t in runfiles.read_jsonl(samples) if t.get('cell') in done])
  pending = [cell for cell in cells if name(cell) not in done]
  log(f'{len(cells)} cells, {len(cells) - len(pending)} already done, {len(pending)} to run')
  start = time.time()
  for position, cell in enumerate(pending, 1):
    record, rows = run_cell(cell)
    if multihost.is_writer():
      if transcripts:
        runfiles.append_jsonl(samples, rows)
      runfiles.append_jsonl(results, [record])
      shutil.rmtree(_blocks_dir(workdir, record['cell']), ignore_errors=True)
    records.append(record)
    elapsed = time.time() - start
    log(
      f'[{len(cells) - len(pending) + position}/{len(cells)}] {record["cell"]}: {summary(record)}; '
      f'elapsed {elapsed:.0f}s, about {elapsed / position * (len(pending) - position):.0f}s left'
    )
  order = {name(cell): i for i, cell in enumerate(cells)}
  records = sorted((r for r in records if r['cell'] in order), key=lambda r: order[r['cell']])
  if write_reports and multihost.is_writer():
    write_reports(records, workdir)
  return records


def _blocks_dir(workdir: str, cell_name: str) -> str:
  return os.path.join(workdir, BLOCKS, urllib.parse.quote(cell_name, safe=''))


def run_in_blocks(
  workdir: str,
  cell_name: str,
  num_items: int,
  block_size: int,
  play_block: Callable[[int, int], dict[str, np.ndarray]],
  log: Callable[[str], None] = print,
) -> dict[str, np.ndarray]:
  """Plays items [0, num_items) of a cell in blocks of `block_size`, saving each finished block, and returns
  the blocks' arrays concatenated: {name: [num_items, ...]}.

  play_block(start, stop) -> {name: array [stop - start, ...]} (every process calls it; with several
  processes the saved blocks are read from the workdir, which they must share). A block saved by an earlier,
  killed run is loaded instead of played, so the result equals an unblocked run's whenever an item's result
  depends on the item alone (the tasks key every game by its item, never by its batch).
  """
  directory = _blocks_dir(workdir, cell_name)
  bounds = [(start, min(start + block_size, num_items)) for start in range(0, num_items, block_size)]
  paths = [os.path.join(directory, f'items_{start:07d}-{stop:07d}.npz') for start, stop in bounds]
  saved = multihost.broadcast_json([os.path.exists(p) for p in paths] if multihost.is_writer() else None)
  if any(saved):
    log(f'{cell_name}: {sum(saved)} of {len(paths)} blocks already played, loading them')
  parts = []
  for number, ((start, stop), path, done) in enumerate(zip(bounds, paths, saved), 1):
    if done:
      with np.load(path) as block:
        part = dict(block)
    else:
      part = {name: np.asarray(value) for name, value in play_block(start, stop).items()}
      if multihost.is_writer():
        os.makedirs(directory, exist_ok=True)
        runfiles.atomic_write(path, lambda tmp: np.savez(tmp, **part))
      if len(bounds) > 1:
        log(f'{cell_name}: block {number}/{len(bounds)} (items {start}-{stop - 1}) played and saved')
    parts.append(part)
  return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def accuracy_summary(record: dict) -> str:
  """'accuracy 0.913 [0.900, 0.925] over 2000 games, 1,234 games/s' (the fields a game record has)."""
  (lo, hi), rate = record['ci95'], f', {record["games_per_s"]:,.0f} games/s' if 'games_per_s' in record else ''
  return f'accuracy {record["accuracy"]:.3f} [{lo:.3f}, {hi:.3f}] over {record["games"]} games{rate}'


def progress_reporter(name: str, num_games: int, log: Callable[[str], None], every_s: float = 15.0):
  """An `on_batch` callback that logs the progress of the long cell `name` at most every `every_s` seconds."""
  start = last = time.time()

  def report(games_done: int) -> None:
    nonlocal last
    now = time.time()
    if now - last >= every_s and games_done < num_games:
      rate = games_done / (now - start)
      log(
        f'  {name}: {games_done}/{num_games} games, {rate:,.1f} games/s, about '
        f'{(num_games - games_done) / rate:.0f}s left in this cell'
      )
      last = now

  return report


def training_meshes(mesh, model_parallelism, batches: dict[str, int]) -> dict:
  """{config field of a trainer's batch size: the debate.distributed.sharding.training_mesh of `mesh` it
  trains on}; called before the workdir is touched, so a batch that fits no mesh is a ConfigError first."""
  return {
    field: sharding.training_mesh(mesh, size, model_parallelism, batch_field=field) for field, size in batches.items()
  }


def counted(correct: int, games: int, prefix: str = '') -> dict:
  """A count's record fields: {prefix}games, {prefix}correct, {prefix}accuracy and its Wilson 95% {prefix}ci95."""
  return {
    f'{prefix}games': games,
    f'{prefix}correct': correct,
    f'{prefix}accuracy': correct / games,
    f'{prefix}ci95': list(wilson_interval(correct, games)),
  }


def side_accuracies(outcome: dict) -> dict:
  """games_ and accuracy_ of the honest_ and lying_ consultant (protagonist): the record fields that split
  the games of consultancy (the open protocols) by the side the agent argued; {} for the other protocols."""
  fields = {}
  for role in ('consultant', 'protagonist'):
    if f'{role}_honest' in outcome:
      honest = np.asarray(outcome[f'{role}_honest'], bool)
      for side, mask in (('honest', honest), ('lying', ~honest)):
        n, k = int(mask.sum()), int(np.asarray(outcome['correct'])[mask].sum())
        fields.update({f'games_{side}_{role}': n, f'accuracy_{side}_{role}': k / n if n else None})
  return fields
