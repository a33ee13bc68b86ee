"""The chain experiment: a grid of cells (seed, judge, T, arm) from a config, run by `debate.experiments.grid`
(each cell recorded as soon as it finishes; a rerun resumes). Judges are built (or trained) once per
(judge, seed), learned agents' ladders once per (kind, judge, seed).
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
from debate.distributed import sharding
from debate.experiments import grid, runfiles
from debate.experiments.runfiles import ConfigError
from debate.games import chain as chain_game
from debate.reports import chain as report
from debate.rollouts import chain as rollout
from debate.rollouts import runner
from debate.tasks.chain import is_prime
from debate.training import ladder, reinforce, selfplay
from judges import chain_checkers

RESULTS, TRANSCRIPTS, CONFIG = grid.RESULTS, grid.TRANSCRIPTS, grid.CONFIG
# Fields that change how a run executes but not its results (model_parallelism: up to the float rounding of
# what is trained after the resume): a resumed run may change them.
EXECUTION_ONLY_FIELDS = ('batch_size', 'num_transcripts', 'model_parallelism')


# The learned agents' trainers: kind -> (config field, trainer config, trainer, default max_length, ladder folder).
LEARNED = {
  'learned': ('agent_training', reinforce.ReinforceConfig, reinforce.train_reinforce, 64, 'learned_liar'),
  'az': ('selfplay_training', selfplay.SelfPlayConfig, selfplay.train_selfplay, 16, 'selfplay'),
}


def training_settings(config: ml_collections.ConfigDict, kind: str) -> tuple[int, Any]:
  """(max_length, trainer config) of the learned agents of `kind` ('learned': REINFORCE, 'az': self-play):
  the config's optional dict of trainer fields plus `max_length` (the training chains' longest T).
  Raises ConfigError naming the field."""
  field, make, _, default_length, _ = LEARNED[kind]
  fields = dict(config.get(field) or {})
  max_length = fields.pop('max_length', default_length)
  if not isinstance(max_length, int) or max_length < 2:
    raise ConfigError(f'{field}.max_length', f'must be an integer >= 2, got {max_length!r}')
  try:
    return max_length, make(**fields)
  except TypeError as e:
    raise ConfigError(field, f'{e}; the fields are max_length and those of {make.__module__}.{make.__name__}') from None


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


def plan_experiment(config: ml_collections.ConfigDict) -> Plan:
  """Validates `config` and lists its cells in run order (seed, judge, T, arm). Raises ConfigError."""
  if config.task != 'chain':
    raise ConfigError('task', f"unknown task {config.task!r}; this runner knows 'chain'")
  modulus = runfiles.int_field(config, 'modulus', 3, 211)
  if not is_prime(modulus):
    raise ConfigError('modulus', f'must be a prime in [3, 211], got {modulus}')
  seeds = runfiles.tuple_field(config, 'seeds')
  for seed in seeds:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
      raise ConfigError('seeds', f'each seed must be an integer >= 0, got {seed!r}')
  for field, minimum in (('num_games', 1), ('batch_size', 1), ('num_transcripts', 0), ('s', 0)):
    runfiles.int_field(config, field, minimum)
  s = config.s
  lengths = runfiles.tuple_field(config, 'T')
  for length in lengths:
    if not isinstance(length, int) or length < 1:
      raise ConfigError('T', f'chain length T must be an integer >= 1, got {length!r}')
  try:
    arms = [rollout.parse_arm(spec, s) for spec in runfiles.tuple_field(config, 'protocols')]
  except ValueError as e:
    raise ConfigError('protocols', str(e)) from None
  try:
    checkers = [chain_checkers.parse_checker(spec, modulus) for spec in runfiles.tuple_field(config, 'judges')]
  except ValueError as e:
    raise ConfigError('judges', str(e)) from None
  training = config.judge_training
  for field in ('steps', 'batch_size'):
    runfiles.int_field(training, field, 1, prefix='judge_training.')
  runfiles.positive_field(training, 'learning_rate', prefix='judge_training.')
  for kind in LEARNED:
    training_settings(config, kind)
  runfiles.int_field({'model_parallelism': config.get('model_parallelism', 1)}, 'model_parallelism', 1)
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
  if cell.arm.honest is not None:  # A split-choosing honest debater (the split-choice game).
    record['honest'] = cell.arm.honest.name
  for role in ('consultant', 'protagonist'):  # consultancy and the open protocols: split by the agent's side
    if f'{role}_honest' in outcome:
      honest = outcome[f'{role}_honest']
      for name, mask in ((f'honest_{role}', honest), (f'lying_{role}', ~honest)):
        n, k = int(mask.sum()), int(outcome['correct'][mask].sum())
        record[f'games_{name}'] = n
        record[f'accuracy_{name}'] = k / n if n else None
  return record


def _check_training_meshes(config: ml_collections.ConfigDict, plan: Plan, mesh) -> None:
  """ConfigError (before the workdir is touched) if the batch of a trainer the grid needs (learned judges,
  learned liars, self-play debaters) cannot be split over `mesh` with the config's model_parallelism."""
  specs = [s for cell in plan.cells for s in cell.arm.agents if s is not None]
  batches = {}  # config field -> batch size
  if any(c.checker.kind == 'learned' for c in plan.cells):
    batches['judge_training.batch_size'] = plan.train_config.batch_size
  for kind, (field, *_) in LEARNED.items():
    if any(s.kind == kind for s in specs):
      batches[f'{field}.batch_size'] = training_settings(config, kind)[1].batch_size
  for field, batch_size in batches.items():
    sharding.training_mesh(mesh, batch_size, config.get('model_parallelism', 1), batch_field=field)


def networks(config: ml_collections.ConfigDict) -> tuple:
  """((kind, width, depth), ...) of the learned agents' networks (debate.rollouts.chain.ChainPlayer)."""
  return tuple((kind, cfg.width, cfg.depth) for kind in LEARNED for cfg in [training_settings(config, kind)[1]])


def ladder_dir(workdir: str, kind: str, checker: chain_checkers.StepChecker, seed: int) -> str:
  folder = LEARNED[kind][4]
  return os.path.join(workdir, 'agents', f'{folder}_{checker.name.replace(":", "_")}_m{checker.modulus}_seed{seed}')


def build_ladder(
  kind: str,
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  workdir: str | None,
  rungs,
  max_length: int,
  train_config,
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict:
  """{step: params} of the learned chain agents of `kind` against the judge, at every rung: loaded from
  `ladder_dir` or trained there (debate.training.ladder.saved_ladder): REINFORCE (`learned`) in the
  standard game, self-play (`az`) in the split-choice game, on instances with T ~ U[2, max_length], on
  `mesh` (a debate.distributed.sharding.training_mesh, or None)."""
  train = LEARNED[kind][2]
  game = chain_game.ChainDebate(checker, max_length, honest_splits=kind == 'az')
  sampler = chain_game.TrainingGames(checker.modulus, max_length)
  return ladder.saved_ladder(
    workdir and ladder_dir(workdir, kind, checker, seed),
    rungs=rungs,
    config={'max_length': max_length, **dataclasses.asdict(train_config)},
    init_like=lambda: selfplay.init_params(game, sampler, train_config.width, train_config.depth, jax.random.key(0)),
    train=lambda all_rungs, checkpoint_dir: train(
      game,
      sampler,
      judge_params,
      seed=seed,
      rungs=all_rungs,
      config=train_config,
      who=f'{kind} agent vs {checker.name}',
      log=log,
      checkpoint_dir=checkpoint_dir,
      mesh=mesh,
    ),
    what=f'{kind} agent',
  )


def agent_ladders(cell: Cell, cells, judge_params, config, *, workdir, cache: dict, log, mesh) -> tuple:
  """The (honest, liar) params of `cell`'s learned agents (None for the others). Each ladder (kind, judge,
  seed) is built once (`build_ladder`, cached in `cache`) with every rung any of `cells` names for that judge
  and seed, on debate.distributed.sharding.training_mesh of the experiment's mesh."""
  checker, seed = cell.checker, cell.seed
  params = []
  for spec in cell.arm.agents:
    if spec is None or not spec.learned:
      params.append(None)
      continue
    key = (spec.kind, checker.name, checker.modulus, seed)
    if key not in cache:
      max_length, train_config = training_settings(config, spec.kind)
      field = LEARNED[spec.kind][0]
      cache[key] = build_ladder(
        spec.kind,
        checker,
        judge_params,
        seed=seed,
        workdir=workdir,
        rungs={
          s.budget
          for c in cells
          if (c.checker, c.seed) == (checker, seed)
          for s in c.arm.agents
          if s and s.kind == spec.kind
        },
        max_length=max_length,
        train_config=train_config,
        log=log,
        mesh=sharding.training_mesh(
          mesh, train_config.batch_size, config.get('model_parallelism', 1), batch_field=f'{field}.batch_size'
        ),
      )
    params.append(cache[key][spec.budget])
  return tuple(params)


def run_experiment(
  config: ml_collections.ConfigDict, workdir: str, *, mesh=None, log: Callable[[str], None] = logging.info
) -> list[dict]:
  """Runs (or resumes) the grid of `config` in `workdir`; writes records, transcripts, tables and figure.

  Returns the records of every cell, in run order.
  """
  plan = plan_experiment(config)  # Validate before touching the workdir.
  mesh = mesh or runner.data_mesh()
  _check_training_meshes(config, plan, mesh)
  judges: dict[tuple[str, int], tuple] = {}
  ladders: dict = {}  # (kind, judge, modulus, seed) -> {step: params}

  def run_cell(cell: Cell):
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
    agent_params = agent_ladders(cell, plan.cells, params, config, workdir=workdir, cache=ladders, log=log, mesh=mesh)
    start = time.time()
    outcome, transcripts = rollout.run_games(
      cell.arm,
      cell.checker,
      params,
      length=cell.length,
      seed=cell.seed,
      num_games=config.num_games,
      batch_size=config.batch_size,
      mesh=mesh,
      max_length=plan.max_length,
      on_batch=grid.progress_reporter(cell.name, config.num_games, log),
      agent_params=agent_params,
      networks=networks(config),
    )
    wall_s = time.time() - start
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
    return make_record(cell, outcome, modulus=config.modulus, wall_s=wall_s, judge_metrics=judge_metrics), rows

  log(f'{config.num_games} games per cell on {len(jax.devices())} device(s)')
  return grid.run_grid(
    plan.cells,
    run_cell,
    workdir,
    json.loads(config.to_json_best_effort()),
    summary=grid.accuracy_summary,
    write_reports=report.write_reports,
    ignore=EXECUTION_ONLY_FIELDS,
    log=log,
  )
