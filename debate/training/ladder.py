"""Checkpoint ladders of learned agents, written once for every trainer (self-play, REINFORCE).

A ladder is {step: params} at chosen training steps (its rungs): the strength axis of a learned agent.
`train_through_rungs` runs a jitted training chunk from step 0 to the top rung, resumable from Orbax
checkpoints and stopped cleanly by SIGTERM; `saved_ladder` loads a ladder from its directory or trains and
saves it there. Training must be a fixed function of (seed, step), so any chunking, any resume and any rung
spacing give the same params.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np

from debate.distributed import multihost, sharding
from debate.experiments import runfiles
from debate.training import checkpoints
from debate.training import metrics as metrics_writer


def checked_rungs(rungs: Sequence[int]) -> list[int]:
  """The distinct rungs, ascending; ValueError unless there is one and all are steps >= 0."""
  rungs = sorted(set(int(r) for r in rungs))
  if not rungs or rungs[0] < 0:
    raise ValueError(f'rungs must be steps >= 0, got {rungs}')
  return rungs


TRAINING = 'training'  # A ladder directory's subfolder of resumable training checkpoints.


def _resume_point(manager, rungs: list[int], params, opt_state):
  """(step, params, opt_state, ladder, history) of the latest training checkpoint from which training to
  `rungs` can go on (at most rungs[-1], holding every requested rung it has passed), or None."""
  for step in sorted((s for s in manager.all_steps() if s <= rungs[-1]), reverse=True):
    meta = checkpoints.restore_meta(manager, step)
    if not {r for r in rungs if r <= step} <= set(meta['rungs']):
      continue
    like = {'params': params, 'opt_state': opt_state, 'ladder': {str(r): params for r in meta['rungs']}}
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), like)
    state = checkpoints.restore_state(manager, step, abstract)
    ladder = {int(r): p for r, p in state['ladder'].items() if int(r) in rungs}
    return step, state['params'], state['opt_state'], ladder, meta['history']
  return None


def train_through_rungs(
  train_chunk,
  params,
  opt_state,
  judge_params,
  *,
  rungs: list[int],
  log_every: int,
  report: Callable[[int, Any, float], dict],
  checkpoint_dir: str | None = None,
  log: Callable[[str], None] = print,
  mesh=None,
) -> tuple[dict, list[dict]]:
  """Runs `train_chunk(params, opt_state, judge_params, steps) -> (params, opt_state, metrics)` from step 0
  to rungs[-1] in chunks of at most `log_every` steps that end on every rung; returns ({rung: params},
  history), history holding {'step': step, **report(step, metrics, steps per second)} after each chunk
  (the rate of this run's steps: a resumed run does not count the restored ones).

  With `checkpoint_dir` the whole training state (params, optimizer state, the rungs reached, the history;
  the step is the checkpoint's, and every key derives from (seed, step)) is saved there with Orbax after
  every chunk, training resumes from the latest usable checkpoint, and SIGTERM stops it after the chunk
  under way with `multihost.Preempted`: a resumed run ends with exactly the params of an uninterrupted one.
  Each history entry is then also written by debate/training/metrics.py into the directory holding `checkpoint_dir`
  (the agent's directory): a line of its metrics.jsonl and TensorBoard scalars.
  `mesh`: the chunk's training mesh (debate.distributed.sharding.training_mesh), which may span processes: params and
  optimizer state start laid out on it (sharding.fsdp_placed) and the step numbers replicated over it;
  `judge_params` (the chunk's constant input) must already be on it (sharding.replicated). With several
  processes each plays its share of every step's games. Rungs, metrics and checkpoints are host copies of
  the whole values, in every process.
  """
  ladder = {0: multihost.to_host(params)} if 0 in rungs else {}
  history, done, writer = [], 0, None
  # The resumable training state: the ends of the last 2 chunks kept.
  manager = checkpoints.manager(checkpoint_dir, 2, meta=True) if checkpoint_dir else None
  if manager is not None:
    resumed = _resume_point(manager, rungs, params, opt_state)
    if resumed is not None:
      done, params, opt_state, ladder, history = resumed
      log(f'resumed training from the checkpoint at step {done} in {checkpoint_dir}')
    writer = metrics_writer.MetricsWriter(os.path.dirname(os.path.abspath(checkpoint_dir)), step=done)
  params, opt_state = sharding.fsdp_placed((params, opt_state), mesh)
  if mesh is not None and done < rungs[-1]:
    log(
      f'training on a data={mesh.shape["data"]} x model={mesh.shape.get("model", 1)} mesh of '
      f'{len({d.process_index for d in mesh.devices.flat})} process(es)'
    )
  # SIGTERM is only caught when there is a checkpoint to save before stopping.
  watch = multihost.PreemptionWatch() if manager is not None else contextlib.nullcontext()
  try:
    with watch as preemption:
      start, first = time.time(), done
      while done < rungs[-1]:
        stop = min(min(r for r in rungs if r > done), done + log_every)
        steps = sharding.replicated(np.arange(done, stop, dtype=np.int32), mesh)
        params, opt_state, metrics = train_chunk(params, opt_state, judge_params, steps)
        done = stop
        if done in rungs:
          ladder[done] = multihost.to_host(params)
        means = report(done, multihost.to_host(metrics), (done - first) / max(time.time() - start, 1e-9))
        history.append({'step': done, **means} if writer is None else writer.write(done, means))
        if manager is None:
          continue
        checkpoints.save_state(  # Host copies, as the rungs.
          manager,
          done,
          multihost.to_host(
            {'params': params, 'opt_state': opt_state, 'ladder': {str(r): p for r, p in ladder.items()}}
          ),
          {'rungs': sorted(ladder), 'history': history},
        )
        if done < rungs[-1] and preemption.requested(done):
          manager.wait_until_finished()
          raise multihost.Preempted(done, checkpoint_dir)
  finally:
    if manager is not None:
      manager.wait_until_finished()
      manager.close()
  return ladder, history


def saved_ladder(
  directory: str | None,
  *,
  rungs: Sequence[int],
  config,
  init_like: Callable[[], Any],
  train: Callable[[list[int]], tuple[dict, list]],
  what: str,
) -> dict[int, Any]:
  """The checkpoint ladder of a learned agent: {step: params} for every rung, from `directory` or trained.

  The one place learned agents are saved and loaded. `directory` holds `step_<N>/` (Orbax, host copies of
  the params) per rung, `metrics.json` ({'config', 'rungs', 'history'}) and, written during training, the
  history entries as metrics.jsonl lines and TensorBoard event files (train_through_rungs); None trains
  without saving. `config` (JSON-able: frozen dataclasses, dicts) is the training's settings; a directory
  written with other settings is refused (WorkdirError).
  `init_like()` gives params of the right structure; `train(rungs, checkpoint_dir)` returns ({step: params},
  history) for the sorted rungs it is given, saving and resuming its training state in `checkpoint_dir`
  (`directory/training`, or None; see train_through_rungs). If any rung is missing, `train` runs for every
  saved and requested rung (training must be a fixed function of seed and step, so the saved rungs come out
  the same; it resumes from the last training checkpoint, so raising the top rung trains only the new
  steps) and all are saved. With several processes every process calls this; process 0 reads and writes
  the metadata.
  """
  rungs = sorted(set(int(r) for r in rungs))
  metrics_path = directory and os.path.join(directory, 'metrics.json')
  metrics = multihost.read_json(metrics_path) if directory else None
  if metrics is not None and metrics['config'] != json.loads(json.dumps(runfiles.to_jsonable(config))):
    raise runfiles.WorkdirError(
      f'{directory} holds a {what} trained with {metrics["config"]}, not {config}; use a fresh workdir'
    )
  saved = [] if metrics is None else metrics['rungs']
  if directory and set(rungs) <= set(saved):
    like = jax.eval_shape(init_like)
    return {r: checkpoints.restore_tree(os.path.join(directory, f'step_{r}'), like) for r in rungs}
  rungs = sorted(set(rungs) | set(saved))
  if directory:
    _check_training_config(directory, config, what)
  ladder, history = train(rungs, directory and os.path.join(directory, TRAINING))
  ladder = multihost.to_host(ladder)
  if directory:
    os.makedirs(directory, exist_ok=True)
    for r, params in ladder.items():
      checkpoints.save_tree(os.path.join(directory, f'step_{r}'), params)
    if multihost.is_writer():
      runfiles.write_json(metrics_path, {'config': config, 'rungs': rungs, 'history': history})
  return ladder


def _check_training_config(directory: str, config, what: str) -> None:
  """Records `config` as the one the training checkpoints of `directory` belong to; WorkdirError if they
  belong to another (an interrupted run's state must not resume under other settings)."""
  path = os.path.join(directory, TRAINING + '_config.json')
  found = multihost.read_json(path)
  if found is not None and found != json.loads(json.dumps(runfiles.to_jsonable(config))):
    raise runfiles.WorkdirError(
      f'{directory} holds the training state of a {what} with {found}, not {config}; use a fresh workdir'
    )
  if found is None and multihost.is_writer():
    os.makedirs(directory, exist_ok=True)
    runfiles.write_json(path, config)
