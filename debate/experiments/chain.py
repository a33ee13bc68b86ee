"""The chain experiment: a grid of cells (seed, judge, T, arm) from a config, run by `debate.experiments.grid`
(each cell recorded as soon as it finishes; a rerun resumes). Judges are built (or trained) once per
(judge, seed), learned agents' ladders once per (kind, judge, seed).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import time
from typing import Any, Callable

import jax
import ml_collections

from debate.experiments import grid, runfiles
from debate.games import chain as chain_game
from debate.reports import chain as report
from debate.rollouts import chain as rollout
from debate.rollouts import runner
from debate.tasks.chain import is_prime
from debate.training import ladder, reinforce, selfplay
from judges import chain_checkers

# Fields that change how a run executes but not its results (model_parallelism: up to the float rounding of
# what is trained after the resume): a resumed run may change them.
EXECUTION_ONLY_FIELDS = ('batch_size', 'num_transcripts', 'model_parallelism')
JUDGE_METRICS = ('step_error', 'pairwise_error', 'exploitable_error')  # Recorded as judge_<name>.


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
  max_length = runfiles.int_field(fields, 'max_length', 2, prefix=f'{field}.', default=default_length)
  fields.pop('max_length', None)
  return max_length, runfiles.parsed(
    field, lambda: make(**fields), hint=f'; the fields are max_length and those of {make.__module__}.{make.__name__}'
  )


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
  settings: dict  # kind -> (max_length, trainer config) of the learned agents (`training_settings`)


def chain_fields(config: ml_collections.ConfigDict) -> tuple[int, chain_checkers.TrainConfig]:
  """(modulus, the learned judges' TrainConfig) of a chain config (this grid's and the RRM experiment's).
  Raises ConfigError naming the field."""
  modulus = runfiles.int_field(config, 'modulus', 3, 211)
  if not is_prime(modulus):
    raise runfiles.ConfigError('modulus', f'must be a prime in [3, 211], got {modulus}')
  training, prefix = config.judge_training, 'judge_training.'
  return modulus, chain_checkers.TrainConfig(
    steps=runfiles.int_field(training, 'steps', 1, prefix=prefix),
    batch_size=runfiles.int_field(training, 'batch_size', 1, prefix=prefix),
    learning_rate=runfiles.positive_field(training, 'learning_rate', prefix=prefix),
  )


def plan_experiment(config: ml_collections.ConfigDict) -> Plan:
  """Validates `config` and lists its cells in run order (seed, judge, T, arm). Raises ConfigError."""
  if config.task != 'chain':
    raise runfiles.ConfigError('task', f"unknown task {config.task!r}; this runner knows 'chain'")
  modulus, train_config = chain_fields(config)
  seeds = runfiles.tuple_field(config, 'seeds', minimum=0, each='each seed')
  for field, minimum in (('num_games', 1), ('batch_size', 1), ('num_transcripts', 0), ('s', 0)):
    runfiles.int_field(config, field, minimum)
  lengths = runfiles.tuple_field(config, 'T', minimum=1, each='chain length T')
  arms = [
    runfiles.parsed('protocols', rollout.parse_arm, spec, config.s)
    for spec in runfiles.tuple_field(config, 'protocols')
  ]
  checkers = [
    runfiles.parsed('judges', chain_checkers.parse_checker, spec, modulus)
    for spec in runfiles.tuple_field(config, 'judges')
  ]
  settings = {kind: training_settings(config, kind) for kind in LEARNED}
  runfiles.int_field(config, 'model_parallelism', 1, default=1)
  cells = tuple(
    Cell(arm, checker, length, seed) for seed in seeds for checker in checkers for length in lengths for arm in arms
  )
  duplicates = sorted(name for name, count in collections.Counter(cell.name for cell in cells).items() if count > 1)
  if duplicates:
    raise runfiles.ConfigError(
      'protocols', f'the grid repeats cells {duplicates}; list each seed, T, judge and arm once'
    )
  return Plan(cells, rollout.padded_length(max(lengths)), train_config, settings)


def make_record(cell: Cell, outcome: dict, *, modulus: int, wall_s: float, judge_metrics: dict) -> dict[str, Any]:
  """The results.jsonl record of one finished cell (schema in the README)."""
  games, correct = int(outcome['correct'].shape[0]), int(outcome['correct'].sum())
  return {
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
    **grid.counted(correct, games),
    'seed': cell.seed,
    **{f'judge_{name}': judge_metrics[name] for name in JUDGE_METRICS},
    'wall_s': round(wall_s, 3),
    'games_per_s': round(games / max(wall_s, 1e-9), 1),
    # A split-choosing honest debater (the split-choice game).
    **({'honest': cell.arm.honest.name} if cell.arm.honest is not None else {}),
    **grid.side_accuracies(outcome),  # consultancy and the open protocols: by the agent's side
  }


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


def run_experiment(
  config: ml_collections.ConfigDict, workdir: str, *, mesh=None, log: Callable[[str], None] = logging.info
) -> list[dict]:
  """Runs (or resumes) the grid of `config` in `workdir`; writes records, transcripts, tables and figure.

  Returns the records of every cell, in run order. Judges are built (or trained) once per (judge, seed);
  each ladder of learned agents (kind, judge, seed) once (`build_ladder`), with every rung any cell names
  for that judge and seed, on its trainer's debate.distributed.sharding.training_mesh of `mesh`.
  """
  plan = plan_experiment(config)  # Validate before touching the workdir.
  mesh = mesh or runner.data_mesh()
  model_parallelism = config.get('model_parallelism', 1)
  judge_batch = (
    {'judge_training.batch_size': plan.train_config.batch_size}
    if any(cell.checker.kind == 'learned' for cell in plan.cells)
    else {}
  )
  agent_batches = {  # Of the learned agents' trainers the grid needs.
    f'{field}.batch_size': plan.settings[kind][1].batch_size
    for kind, (field, *_) in LEARNED.items()
    if any(spec and spec.kind == kind for cell in plan.cells for spec in cell.arm.agents)
  }
  meshes = grid.training_meshes(mesh, model_parallelism, {**judge_batch, **agent_batches})
  networks = tuple((kind, cfg.width, cfg.depth) for kind, (_, cfg) in plan.settings.items())
  judges, ladders = {}, {}  # (judge, seed) -> (params, metrics); (kind, judge, modulus, seed) -> {step: params}

  def run_cell(cell: Cell):
    if (cell.checker.name, cell.seed) not in judges:
      judges[cell.checker.name, cell.seed] = chain_checkers.build_judge(
        cell.checker,
        seed=cell.seed,
        workdir=workdir,
        train_config=plan.train_config,
        log=log,
        mesh=mesh,
        model_parallelism=model_parallelism,
      )
    params, judge_metrics = judges[cell.checker.name, cell.seed]
    learned = [spec for spec in cell.arm.agents if spec is not None and spec.learned]
    for spec in learned:
      if (spec.kind, cell.checker.name, cell.checker.modulus, cell.seed) not in ladders:
        ladders[spec.kind, cell.checker.name, cell.checker.modulus, cell.seed] = build_ladder(
          spec.kind,
          cell.checker,
          params,
          seed=cell.seed,
          workdir=workdir,
          rungs={
            s.budget
            for c in plan.cells
            if (c.checker, c.seed) == (cell.checker, cell.seed)
            for s in c.arm.agents
            if s and s.kind == spec.kind
          },
          max_length=plan.settings[spec.kind][0],
          train_config=plan.settings[spec.kind][1],
          log=log,
          mesh=meshes[f'{LEARNED[spec.kind][0]}.batch_size'],
        )
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
      agent_params=tuple(
        ladders[spec.kind, cell.checker.name, cell.checker.modulus, cell.seed][spec.budget] if spec in learned else None
        for spec in cell.arm.agents
      ),
      networks=networks,
    )
    record = make_record(cell, outcome, modulus=config.modulus, wall_s=time.time() - start, judge_metrics=judge_metrics)
    return record, [
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
