"""The experiment runner: a grid of cells from a config, each recorded as soon as it finishes.

A cell is (seed, judge, T, arm). Cells run in a stable order; each appends one record to `results.jsonl` (and its
sample transcripts to `transcripts.jsonl`) the moment it ends, so a killed run restarted with the same
command and workdir skips the finished cells and ends with the same records as an uninterrupted one.

With several processes (debate/distributed/multihost.py) every process plays its share of each cell's games and gets
all outcomes; process 0 alone writes the workdir, and the finished cells it reads there are broadcast, so
every process runs the same cells.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Any, Callable

import jax
import ml_collections

from debate.analysis.stats import wilson_interval
from debate.distributed import multihost, sharding
from debate.experiments import runfiles
from debate.experiments.runfiles import ConfigError
from debate.reports import chain as report
from debate.rollouts import chain as rollout
from debate.tasks.chain import is_prime
from debate.training import liar as learned_liar
from debate.training import selfplay_chain as selfplay
from judges import chain_checkers

RESULTS = 'results.jsonl'
TRANSCRIPTS = 'transcripts.jsonl'
CONFIG = 'config.json'
# Fields that change how a run executes but not its results (model_parallelism: up to the float rounding of
# what is trained after the resume): a resumed run may change them.
EXECUTION_ONLY_FIELDS = ('batch_size', 'num_transcripts', 'model_parallelism')


@dataclasses.dataclass(frozen=True)
class Cell:
  arm: rollout.Arm
  checker: chain_checkers.StepChecker
  length: int
  seed: int

  @property
  def name(self) -> str:
    return f'{self.arm.name}|{self.checker.name}|T={self.length}|seed={self.seed}'


@dataclasses.dataclass(frozen=True)
class Plan:
  cells: tuple[Cell, ...]
  max_length: int
  train_config: chain_checkers.TrainConfig


def _int_at_least(config, field: str, minimum: int = 1) -> int:
  """config[field], checked to be an integer >= minimum."""
  value = config[field]
  if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
    raise ConfigError(field, f'must be an integer >= {minimum}, got {value!r}')
  return value


def _as_tuple(config, field: str) -> tuple:
  value = config[field]
  if isinstance(value, (str, int)):
    value = (value,)
  if not value:
    raise ConfigError(field, 'must not be empty')
  return tuple(value)


def plan_experiment(config: ml_collections.ConfigDict) -> Plan:
  """Validates `config` and lists its cells in run order (seed, judge, T, arm). Raises ConfigError."""
  if config.task != 'chain':
    raise ConfigError('task', f"unknown task {config.task!r}; this runner knows 'chain'")
  modulus = _int_at_least(config, 'modulus', 3)
  if not is_prime(modulus) or modulus > 211:
    raise ConfigError('modulus', f'must be a prime in [3, 211], got {modulus}')
  seeds = _as_tuple(config, 'seeds')
  for seed in seeds:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
      raise ConfigError('seeds', f'each seed must be an integer >= 0, got {seed!r}')
  _int_at_least(config, 'num_games')
  _int_at_least(config, 'batch_size')
  _int_at_least(config, 'num_transcripts', 0)
  s = config.s
  if not isinstance(s, int) or s < 0:
    raise ConfigError('s', f'the step-check budget s must be an integer >= 0, got {s!r}')
  lengths = _as_tuple(config, 'T')
  for length in lengths:
    if not isinstance(length, int) or length < 1:
      raise ConfigError('T', f'chain length T must be an integer >= 1, got {length!r}')
  try:
    arms = [rollout.parse_arm(spec, s) for spec in _as_tuple(config, 'protocols')]
  except ValueError as e:
    raise ConfigError('protocols', str(e)) from None
  try:
    checkers = [chain_checkers.parse_checker(spec, modulus) for spec in _as_tuple(config, 'judges')]
  except ValueError as e:
    raise ConfigError('judges', str(e)) from None
  training = config.judge_training
  for field in ('steps', 'batch_size'):
    if not isinstance(training[field], int) or training[field] < 1:
      raise ConfigError(f'judge_training.{field}', f'must be an integer >= 1, got {training[field]!r}')
  if not training.learning_rate > 0:
    raise ConfigError('judge_training.learning_rate', f'must be > 0, got {training.learning_rate!r}')
  for field, make in (
    ('agent_training', learned_liar.AgentTrainConfig),
    ('selfplay_training', selfplay.SelfPlayConfig),
  ):
    if config.get(field) is not None:
      try:
        make(**dict(config[field]))
      except TypeError as e:
        raise ConfigError(field, f'{e}; the fields are those of {make.__module__}.{make.__name__}') from None
  model_parallelism = config.get('model_parallelism', 1)
  if not isinstance(model_parallelism, int) or model_parallelism < 1:
    raise ConfigError('model_parallelism', f'must be an integer >= 1, got {model_parallelism!r}')
  cells = tuple(
    Cell(arm, checker, length, seed) for seed in seeds for checker in checkers for length in lengths for arm in arms
  )
  names = [cell.name for cell in cells]
  duplicates = sorted({n for n in names if names.count(n) > 1})
  if duplicates:
    raise ConfigError('protocols', f'the grid repeats cells {duplicates}; list each seed, T, judge and arm once')
  return Plan(
    cells=cells,
    max_length=rollout.padded_length(max(lengths)),
    train_config=chain_checkers.TrainConfig(
      steps=training.steps, batch_size=training.batch_size, learning_rate=float(training.learning_rate)
    ),
  )


def _prepare_workdir(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Checks a resumed workdir against the config, drops half-written output, returns finished records.

  Process 0 reads and rewrites the files; every process gets its records.
  """
  return runfiles.resume_workdir(
    workdir,
    os.path.join(workdir, CONFIG),
    json.loads(config.to_json_best_effort()),
    results_path=os.path.join(workdir, RESULTS),
    transcripts_path=os.path.join(workdir, TRANSCRIPTS),
    ignore=EXECUTION_ONLY_FIELDS,
  )


def make_record(cell: Cell, outcome: dict, *, modulus: int, wall_s: float, judge_metrics: dict) -> dict[str, Any]:
  """The results.jsonl record of one finished cell (schema in the README)."""
  games = int(outcome['correct'].shape[0])
  correct = int(outcome['correct'].sum())
  record = {
    'cell': cell.name,
    'task': 'chain',
    'protocol': cell.arm.protocol,
    'arm': cell.arm.name,
    'liar': cell.arm.liar.kind if cell.arm.liar else None,
    'budget': cell.arm.liar.budget if cell.arm.liar and cell.arm.liar.budget else None,
    'agent': cell.arm.liar.agent if cell.arm.liar else None,
    's': cell.arm.s,
    'T': cell.length,
    'judge': cell.checker.name,
    'modulus': modulus,
    'games': games,
    'correct': correct,
    'accuracy': correct / games,
    'ci95': list(wilson_interval(correct, games)),
    'seed': cell.seed,
    'judge_step_error': judge_metrics['step_error'],
    'judge_pairwise_error': judge_metrics['pairwise_error'],
    'judge_exploitable_error': judge_metrics['exploitable_error'],
    'wall_s': round(wall_s, 3),
    'games_per_s': round(games / max(wall_s, 1e-9), 1),
  }
  if cell.arm.honest is not None:  # A split-choosing honest debater (debate/training/selfplay_chain.py).
    record['honest'] = cell.arm.honest.name
  for role in ('consultant', 'protagonist'):  # consultancy and the open protocols: split by the agent's side
    if f'{role}_honest' in outcome:
      honest = outcome[f'{role}_honest']
      for name, mask in ((f'honest_{role}', honest), (f'lying_{role}', ~honest)):
        n, k = int(mask.sum()), int(outcome['correct'][mask].sum())
        record[f'games_{name}'] = n
        record[f'accuracy_{name}'] = k / n if n else None
  return record


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


def _check_training_meshes(config: ml_collections.ConfigDict, plan: Plan, mesh) -> None:
  """ConfigError (before the workdir is touched) if the batch of a trainer the grid needs (learned judges,
  learned liars, self-play debaters) cannot be split over `mesh` with the config's model_parallelism."""
  specs = [
    s
    for cell in plan.cells
    for s in (getattr(cell.arm, 'liar', None), getattr(cell.arm, 'honest', None))
    if s is not None
  ]
  batches = {}  # config field -> batch size
  if any(c.checker.kind == 'learned' for c in plan.cells):
    batches['judge_training.batch_size'] = plan.train_config.batch_size
  if any(s.kind == 'learned' for s in specs):
    batches['agent_training.batch_size'] = learned_liar.AgentTrainConfig(
      **dict(config.get('agent_training') or {})
    ).batch_size
  if any(s.kind == 'az' for s in specs):
    batches['selfplay_training.batch_size'] = selfplay.SelfPlayConfig(
      **dict(config.get('selfplay_training') or {})
    ).batch_size
  for field, batch_size in batches.items():
    sharding.training_mesh(mesh, batch_size, config.get('model_parallelism', 1), batch_field=field)


def run_experiment(
  config: ml_collections.ConfigDict, workdir: str, *, mesh=None, log: Callable[[str], None] = logging.info
) -> list[dict]:
  """Runs (or resumes) the grid of `config` in `workdir`; writes records, transcripts, tables and figure.

  Returns the records of every cell, in run order.
  """
  plan = plan_experiment(config)  # Validate before touching the workdir.
  mesh = mesh or rollout.data_mesh()
  _check_training_meshes(config, plan, mesh)
  records = _prepare_workdir(config, workdir)
  done = {r['cell'] for r in records}
  pending = [cell for cell in plan.cells if cell.name not in done]
  log(
    f'{len(plan.cells)} cells, {len(done)} already done, {len(pending)} to run; '
    f'{config.num_games} games each on {len(jax.devices())} device(s)'
  )
  judges: dict[tuple[str, int], tuple] = {}
  learned_ladders: dict = {}  # (judge, modulus, seed) -> {step: learned_liar.Policy}
  selfplay_ladders: dict = {}  # the same for the self-play (az) debaters
  start = time.time()
  for position, cell in enumerate(pending, 1):
    judge_key = (cell.checker.name, cell.seed)
    if judge_key not in judges:
      judges[judge_key] = chain_checkers.build_judge(
        cell.checker,
        seed=cell.seed,
        workdir=workdir,
        train_config=plan.train_config,
        log=log,
        mesh=mesh,
        model_parallelism=config.get('model_parallelism', 1),
      )
    params, judge_metrics = judges[judge_key]
    arm = learned_liar.attach_policy(
      cell.arm,
      plan.cells,
      cell.checker,
      params,
      seed=cell.seed,
      workdir=workdir,
      cache=learned_ladders,
      train_config=config.get('agent_training'),
      log=log,
      mesh=mesh,
      model_parallelism=config.get('model_parallelism', 1),
    )
    arm = selfplay.attach_networks(
      arm,
      plan.cells,
      cell.checker,
      params,
      seed=cell.seed,
      workdir=workdir,
      cache=selfplay_ladders,
      train_config=config.get('selfplay_training'),
      log=log,
      mesh=mesh,
      model_parallelism=config.get('model_parallelism', 1),
    )
    cell_start = time.time()
    outcome, transcripts = rollout.run_games(
      arm,
      cell.checker,
      params,
      length=cell.length,
      seed=cell.seed,
      num_games=config.num_games,
      batch_size=config.batch_size,
      mesh=mesh,
      max_length=plan.max_length,
      on_batch=progress_reporter(cell.name, config.num_games, log),
    )
    wall_s = time.time() - cell_start
    rows = [
      {
        'cell': cell.name,
        'game': i,
        'protocol': cell.arm.protocol,
        'arm': cell.arm.name,
        'judge': cell.checker.name,
        'T': cell.length,
        'seed': cell.seed,
        'modulus': config.modulus,
        's': cell.arm.s,
        'correct': bool(outcome['correct'][i]),
        **jax.tree.map(lambda a: a[i], transcripts),
      }
      for i in range(min(config.num_transcripts, config.num_games))
    ]
    record = make_record(cell, outcome, modulus=config.modulus, wall_s=wall_s, judge_metrics=judge_metrics)
    if multihost.is_writer():
      runfiles.append_jsonl(os.path.join(workdir, TRANSCRIPTS), rows)
      runfiles.append_jsonl(os.path.join(workdir, RESULTS), [record])
    records.append(record)
    elapsed = time.time() - start
    eta = elapsed / position * (len(pending) - position)
    lo, hi = record['ci95']
    log(
      f'[{len(done) + position}/{len(plan.cells)}] {cell.name}: accuracy {record["accuracy"]:.3f} '
      f'[{lo:.3f}, {hi:.3f}] over {record["games"]} games, {record["games_per_s"]:,.0f} games/s; '
      f'elapsed {elapsed:.0f}s, about {eta:.0f}s left'
    )
  order = {cell.name: i for i, cell in enumerate(plan.cells)}
  records = sorted((r for r in records if r['cell'] in order), key=lambda r: order[r['cell']])
  if multihost.is_writer():
    report.write_reports(records, workdir)
  return records
