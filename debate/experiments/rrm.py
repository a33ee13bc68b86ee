"""The RRM experiment: recursive reward modelling against the unassisted baseline, level by level.

For each seed, levels l = 0..L run in order, and at each level the configured methods:
  rrm          level 0 learns from the user's step checks; level l >= 1 from `protocols.rrm.assisted_evaluation`
               with the level l-1 rrm agent as assistant and the level l-1 rrm reward model scoring the
               halves, accepted when both halves are (combine='and');
  rrm-product  the same recursion with its own models, the halves' scores multiplied (combine='product');
  baseline     every level learns from `protocols.rrm.unassisted_evaluation` (the user alone, s step checks).
At level 0 all are the same game (the user checks the single step), so it is trained once and recorded for
each. Each (seed, level, method) trains a reward model and an agent (`debate.training.rrm`), saves them
with Orbax under `rrm_models/` in the workdir and appends one record to `results.jsonl` the moment it
finishes; a rerun with the same config skips finished cells and restores the level l-1 rrm models it needs,
so it ends with the same records as an uninterrupted run.

Sharding: each level trains on `debate.distributed.sharding.training_mesh(mesh, batch_size, model_parallelism)` of the
experiment's mesh (default: every device): the batch of every step is split over its devices and the
networks' params and Adam moments FSDP-style over its 'model' axis (`debate.training.rrm`). The mesh only
changes float rounding, so a run may resume on other devices or with another model_parallelism (an
execution-only field); the cells it then trains differ from an uninterrupted run's by that rounding, which
a long training amplifies (see there). With several processes (debate/distributed/multihost.py) every process runs
every level on its share of the batch; process 0 alone writes config.json, results.jsonl and the reports;
the finished cells (and whether saved models exist) are its answers, broadcast; models are gathered to host
arrays before Orbax saves them (from process 0) and before they label the next level.

Keys: a seed's base key is `fold_in(key(seed), 0x5252)`; the segment pools come from `fold_in(base, 0)` and
level l's training and measurement from `fold_in(fold_in(base, 1), l)`. Both methods of a level share that
key: the same tasks, initial weights and data draws, only the labels differ (a paired comparison).
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
import numpy as np

from debate.analysis.stats import wilson_interval
from debate.distributed import multihost
from debate.experiments import chain as chain_experiment
from debate.experiments import grid, runfiles
from debate.reports import rrm as rrm_report
from debate.rollouts import runner
from debate.training import checkpoints
from debate.training import metrics as metrics_writer
from debate.training import rrm as rrm_training
from judges import chain_checkers
from judges import reward_models as rm
from protocols import rrm

MODELS = 'rrm_models'
# Fields that change how a run executes but not its results (up to float rounding): a resumed run may change them.
EXECUTION_ONLY_FIELDS = ('model_parallelism',)
# method -> how its assisted evaluation joins the two halves (None: the unassisted baseline).
METHODS = {'rrm': 'and', 'rrm-product': 'product', 'baseline': None}
_SEED_TAG, _POOLS, _LEVELS = 0x5252, 0, 1


@dataclasses.dataclass(frozen=True)
class Plan:
  seeds: tuple[int, ...]
  levels: int
  methods: tuple[str, ...]
  checker: chain_checkers.StepChecker
  s: int
  num_segments: int
  rm_size: tuple[int, int]  # (width, depth) of the reward model's MLP
  agent_size: tuple[int, int]  # and of the agent's
  train: rrm_training.TrainSpec
  judge_train: chain_checkers.TrainConfig
  num_eval: int
  model_parallelism: int = 1

  def nets(self, level: int) -> tuple[rm.NetSpec, rm.NetSpec]:
    """(reward model, agent) specs of a level."""
    return tuple(rm.NetSpec(self.checker.modulus, 2**level, *size) for size in (self.rm_size, self.agent_size))

  def cell_name(self, seed: int, level: int, method: str) -> str:
    return f'rrm/{method}|{self.checker.name}|level={level}|seed={seed}'


def plan_rrm(config: ml_collections.ConfigDict) -> Plan:
  """Validates an rrm config (raises ConfigError naming the field) and returns its plan."""
  if config.get('task', 'chain') != 'chain':
    raise runfiles.ConfigError('task', f"unknown task {config.task!r}; the rrm experiment runs on 'chain'")
  modulus, judge_train = chain_experiment.chain_fields(config)
  seeds = runfiles.tuple_field(config, 'seeds', minimum=0, each='each seed')
  if len(set(seeds)) != len(seeds):
    raise runfiles.ConfigError('seeds', f'lists a seed twice: {seeds}')
  methods = runfiles.tuple_field(config, 'methods', allow_empty=True)
  if not methods or any(m not in METHODS for m in methods) or len(set(methods)) != len(methods):
    raise runfiles.ConfigError('methods', f'must list each of {tuple(METHODS)} at most once, got {config.methods!r}')
  return Plan(  # The fields are checked in the order written.
    seeds=seeds,
    methods=methods,
    train=rrm_training.TrainSpec(
      rounds=runfiles.int_field(config, 'rounds', 1),
      rm_steps=runfiles.int_field(config, 'rm_steps', 1),
      agent_steps=runfiles.int_field(config, 'agent_steps', 1),
      batch_size=runfiles.int_field(config, 'batch_size', 1),
      rm_learning_rate=runfiles.positive_field(config, 'rm_learning_rate'),
      agent_learning_rate=runfiles.positive_field(config, 'agent_learning_rate'),
      temperature=runfiles.positive_field(config, 'temperature'),
    ),
    s=runfiles.int_field(config, 's', 1),
    num_segments=runfiles.int_field(config, 'num_segments', 1),
    rm_size=(runfiles.int_field(config, 'rm_width', 1), runfiles.int_field(config, 'rm_depth', 1)),
    agent_size=(runfiles.int_field(config, 'agent_width', 1), runfiles.int_field(config, 'agent_depth', 1)),
    levels=runfiles.int_field(config, 'levels', 0, 10),
    checker=runfiles.parsed('judge', chain_checkers.parse_checker, config.judge, modulus),
    judge_train=judge_train,
    num_eval=runfiles.int_field(config, 'num_eval', 2),
    model_parallelism=runfiles.int_field(config, 'model_parallelism', 1, default=1),
  )


def _evaluator(plan: Plan, level: int, method: str) -> rrm_training.Evaluator:
  if level == 0:
    return rrm_training.Evaluator('user', plan.checker)
  if METHODS[method] is None:
    return rrm_training.Evaluator('unassisted', plan.checker, s=plan.s)
  lower_rm, lower_agent = plan.nets(level - 1)
  return rrm_training.Evaluator(
    'assisted', plan.checker, lower_rm=lower_rm, lower_agent=lower_agent, combine=METHODS[method]
  )


def _model_dir(workdir: str, seed: int, level: int, method: str) -> str:
  return os.path.abspath(os.path.join(workdir, MODELS, f'{method}_seed{seed}_level{level}'))


def _restore_models(directory: str, plan: Plan, level: int) -> dict:
  """The models of `level` saved in `directory`, as numpy arrays; whether they exist is process 0's answer."""
  if not multihost.broadcast_json(os.path.isdir(directory)):
    raise runfiles.WorkdirError(
      f'{directory} is missing, but results.jsonl records its level as done and the next rrm level needs '
      "its models; delete that seed's records from results.jsonl to retrain it, or use a new --workdir"
    )
  nets = dict(zip(('reward_model', 'agent'), plan.nets(level)))
  return checkpoints.restore_tree(
    directory, jax.eval_shape(lambda: {name: rm.init_params(net, jax.random.key(0)) for name, net in nets.items()})
  )


def make_record(
  plan: Plan, seed: int, level: int, method: str, metrics: dict, history: dict, *, judge_metrics: dict, wall_s: float
) -> dict[str, Any]:
  """The results.jsonl record of one (seed, level, method). `games`/`correct` are the agent's answers."""
  m = {k: np.asarray(v).item() for k, v in metrics.items()}  # Python ints (counts) and floats (means).
  games, rm_games = m['games'], m['rm_games']  # The agent's answers; the reward model's held-out claims.
  losses, rewards = np.asarray(history['rm_loss']), np.asarray(history['agent_reward'])
  window_rm, window_agent = max(1, losses.shape[1] // 10), max(1, rewards.shape[1] // 10)
  return {
    'cell': plan.cell_name(seed, level, method),
    'task': 'chain',
    'protocol': 'rrm',
    'arm': f'rrm/{method}',
    'method': method,
    'level': level,
    'T': 2**level,
    'judge': plan.checker.name,
    'evaluator': _evaluator(plan, level, method).kind,
    's': plan.s,
    'modulus': plan.checker.modulus,
    'seed': seed,
    'num_segments': plan.num_segments,
    **grid.counted(m['correct'], games),
    'proxy_reward': m['proxy_reward'],
    'hacking_gap': m['proxy_reward'] - m['correct'] / games,
    'evaluation_reward': m['evaluation_reward'],
    'mode_correct': m['mode_correct'],
    'mode_accuracy': m['mode_correct'] / games,
    'fooled': m['fooled'],
    'fooled_rate': m['fooled'] / games,
    'fooled_ci95': list(wilson_interval(m['fooled'], games)),
    **grid.counted(m['rm_correct'], rm_games, 'rm_'),
    **grid.counted(m['rm_agent_correct'], games, 'rm_agent_'),
    **grid.counted(m['rm_top1_correct'], rm_games, 'rm_top1_'),
    **grid.counted(m['label_correct'], rm_games, 'label_'),
    'rm_loss_start': float(losses[0, :window_rm].mean()),
    'rm_loss_end': float(losses[-1, -window_rm:].mean()),
    'agent_reward_start': float(rewards[0, :window_agent].mean()),
    'agent_reward_end': float(rewards[-1, -window_agent:].mean()),
    **{f'judge_{name}': judge_metrics[name] for name in chain_experiment.JUDGE_METRICS},
    'wall_s': round(wall_s, 3),
  }


def run_rrm(
  config: ml_collections.ConfigDict, workdir: str, *, mesh=None, log: Callable[[str], None] = logging.info
) -> list[dict]:
  """Runs (or resumes) the RRM experiment of `config` in `workdir`; writes records, tables and figures.

  `mesh`: the experiment's devices (default: all, `runner.data_mesh()`); each level trains on
  `sharding.training_mesh(mesh, batch_size, model_parallelism)`, a learned judge on its own. Returns the
  records of every cell, in run order (in every process; process 0 writes them).
  """
  plan = plan_rrm(config)  # Validate before touching the workdir.
  mesh = runner.data_mesh() if mesh is None else mesh
  judge_batch = {'judge_training.batch_size': plan.judge_train.batch_size} if plan.checker.kind == 'learned' else {}
  meshes = grid.training_meshes(mesh, plan.model_parallelism, {'batch_size': plan.train.batch_size, **judge_batch})
  train_mesh = meshes['batch_size']
  layout = 'x'.join(map(str, train_mesh.devices.shape)) if train_mesh else '1x1'
  log(f'rrm: cells are seed x level x method; training on a (data x model) = {layout} mesh')
  # seed -> (pools, judge params, judge metrics); (seed, level, method) -> {'reward_model', 'agent'};
  # (seed, level, evaluator) -> what that evaluator's training gave.
  per_seed, models, shared = {}, {}, {}

  def run_cell(cell):
    seed, level, method = cell
    base = jax.random.fold_in(jax.random.key(seed), _SEED_TAG)
    if seed not in per_seed:
      per_seed[seed] = (
        rrm.segment_pools(
          jax.random.fold_in(base, _POOLS),
          levels=plan.levels,
          num_segments=plan.num_segments,
          modulus=plan.checker.modulus,
        ),
        *chain_checkers.build_judge(
          plan.checker,
          seed=seed,
          workdir=workdir,
          train_config=plan.judge_train,
          log=log,
          mesh=mesh,
          model_parallelism=plan.model_parallelism,
        ),
      )
    pools, judge_params, judge_metrics = per_seed[seed]
    evaluator = _evaluator(plan, level, method)
    start = time.time()
    if (seed, level, evaluator) not in shared:  # Assisted evaluators differ per method: they never share.
      eval_params = {'judge': judge_params}
      if evaluator.kind == 'assisted':
        lower = models.get((seed, level - 1, method)) or _restore_models(
          _model_dir(workdir, seed, level - 1, method), plan, level - 1
        )
        eval_params.update(reward=lower['reward_model'], assistant=lower['agent'])
      rm_net, agent_net = plan.nets(level)
      rm_params, agent_params, history, metrics = rrm_training.run_level(
        jax.random.fold_in(jax.random.fold_in(base, _LEVELS), level),
        pools[level],
        rrm_training.label_table(evaluator, eval_params, pools[level]),
        rm_net=rm_net,
        agent_net=agent_net,
        train=plan.train,
        num_tasks=plan.num_eval,
        mesh=train_mesh,
      )
      # Host copies of the whole values (gathered from every process): saved, read, and the next level's evaluator.
      shared[seed, level, evaluator] = multihost.to_host(
        ({'reward_model': rm_params, 'agent': agent_params}, history, metrics)
      )
    trained, history, metrics = shared[seed, level, evaluator]
    models[seed, level, method] = trained
    directory = _model_dir(workdir, seed, level, method)
    checkpoints.save_tree(directory, trained)
    # The training curves, one point per round, in WORKDIR/metrics/ (TensorBoard finds them there).
    writer = metrics_writer.MetricsWriter(os.path.join(workdir, 'metrics', os.path.basename(directory)))
    for r, (losses, rewards) in enumerate(zip(history['rm_loss'], history['agent_reward'])):
      writer.write(r + 1, {'rm_loss': float(np.mean(losses)), 'agent_reward': float(np.mean(rewards))})
    return make_record(
      plan, seed, level, method, metrics, history, judge_metrics=judge_metrics, wall_s=time.time() - start
    ), []

  return grid.run_grid(
    [(seed, level, method) for seed in plan.seeds for level in range(plan.levels + 1) for method in plan.methods],
    run_cell,
    workdir,
    json.loads(config.to_json_best_effort()),
    name=lambda cell: plan.cell_name(*cell),
    summary=lambda record: (
      f'agent accuracy {record["accuracy"]:.3f}, proxy reward {record["proxy_reward"]:.3f}, hacking gap '
      f'{record["hacking_gap"]:+.3f}, reward-model accuracy {record["rm_accuracy"]:.3f} ({record["wall_s"]:.1f}s)'
    ),
    write_reports=rrm_report.write_rrm_reports,
    ignore=EXECUTION_ONLY_FIELDS,
    transcripts=False,
    log=log,
  )
