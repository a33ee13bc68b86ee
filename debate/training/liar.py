"""A learned liar for chain bisection debate: a Flax MLP policy trained by REINFORCE against a fixed judge.

Observation (`observe`), all the liar needs for the round's own consequences: one-hot (m values each) of
x_lo, the step into mid (u, v of step mid), the true x_mid, the step out of mid (u, v of step mid + 1), the
true x_hi, the liar's claim for x_hi, and the rounds the dispute can still take (one-hot, clipped to 16).
In the last round these are exactly the two steps the judge may end up deciding (disagree: step mid with
input x_lo; agree: step mid + 1 with input x_mid), so the policy can learn which claims the judge gets
wrong; in earlier rounds it sees only the local dispute, not the whole chain (a search liar sees more).

Policy: an MLP over the observation -> logits over the m claims for x_mid. In games (`policy_claim`) the
liar plays the argmax of its logits (deterministic: its mode; no key is used, so a game's moves depend on
the instance and the checkpoint only). In training it samples from them.

Training (`train_liar`): REINFORCE with a batch-mean baseline and a small entropy bonus, Adam. Each step
draws `batch_size` fresh instances (T uniform in [2, max_length], padded to max_length), plays every game
to the end with the sampled policy against the deterministic honest debater, rewards 1 when the judge sides
with the liar, and updates. The loop runs under one `jit` as a `lax.scan` over steps (in chunks between
checkpoints); every key derives from (seed, step), so params at step N do not depend on the chunking.
The params at each requested step are a rung of a strength ladder, saved with Orbax in
`workdir/agents/learned_liar_<judge>_m<m>_seed<seed>/step_<N>` (`build_ladder`).

In an arm, `debate/learned:N` names the rung at step N of the liar trained against that cell's judge and
seed; the runner attaches its params to the arm's `LiarSpec` with `attach_policy` (as a hashable `Policy`,
so the params are constants of the compiled game).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from typing import Any, Callable, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from debate.agents import search as mcts
from debate.distributed import multihost, sharding
from debate.experiments import runfiles
from debate.games import bisection
from debate.tasks import chain
from debate.training import metrics as metrics_writer
from judges import chain_checkers

MAX_ROUNDS_FEATURE = 16


class PolicyMLP(nn.Module):
  """observation: [..., obs_size] -> logits: [..., modulus]."""

  width: int
  depth: int
  modulus: int

  @nn.compact
  def __call__(self, observation):
    h = observation
    for _ in range(self.depth):
      h = nn.relu(nn.Dense(self.width)(h))
    return nn.Dense(self.modulus)(h)


def observation_size(modulus: int) -> int:
  return 8 * modulus + MAX_ROUNDS_FEATURE


def observe(state: bisection.BisectionState, instance: chain.ChainInstance, modulus: int) -> chex.Array:
  """The liar's view of the current dispute: [8 * modulus + 16] float32 (meaningless once done)."""
  mid = state.mid
  last = instance.max_length - 1
  op_in = instance.ops[jnp.clip(mid - 1, 0, last)]
  op_out = instance.ops[jnp.clip(mid, 0, last)]
  values = jnp.stack(
    [
      instance.trace[state.lo],
      op_in[0],
      op_in[1],
      instance.trace[mid],
      op_out[0],
      op_out[1],
      instance.trace[state.hi],
      state.liar_hi,
    ]
  )
  rounds = jnp.minimum(bisection.rounds_left(state), MAX_ROUNDS_FEATURE - 1)
  return jnp.concatenate([jax.nn.one_hot(values, modulus).reshape(-1), jax.nn.one_hot(rounds, MAX_ROUNDS_FEATURE)])


@dataclasses.dataclass(frozen=True)
class AgentTrainConfig:
  """REINFORCE settings of the learned liar (the defaults are the measured ones in BUILD_NOTES)."""

  batch_size: int = 256
  learning_rate: float = 3e-3
  entropy_coef: float = 0.01
  max_length: int = 64
  width: int = 128
  depth: int = 2
  log_every: int = 250


@dataclasses.dataclass(frozen=True)
class Policy:
  """Hashable handle of a policy's params (compared by a digest of their bytes): a static jit argument."""

  width: int
  depth: int
  digest: str
  params: Any = dataclasses.field(compare=False, repr=False)

  @classmethod
  def create(cls, params, width: int, depth: int) -> Policy:
    leaves = [np.asarray(x) for x in jax.tree.leaves(params)]
    digest = hashlib.sha256(b''.join(x.tobytes() for x in leaves)).hexdigest()[:16]
    return cls(width=width, depth=depth, digest=digest, params=jax.tree.map(np.asarray, params))


def logits(policy: Policy, observation: chex.Array, modulus: int) -> chex.Array:
  """observation: [..., obs_size] -> [..., modulus] float32."""
  return PolicyMLP(policy.width, policy.depth, modulus).apply(policy.params, observation)


def policy_claim(policy: Policy | None, state, instance, modulus: int) -> chex.Array:
  """The learned liar's claim for x_mid: the argmax of its logits: [] int32."""
  if policy is None:
    raise ValueError('a learned liar needs its params: attach them with debate.training.liar.attach_policy')
  return jnp.argmax(logits(policy, observe(state, instance, modulus), modulus)).astype(jnp.int32)


def init_params(config: AgentTrainConfig, modulus: int, key: chex.PRNGKey):
  model = PolicyMLP(config.width, config.depth, modulus)
  return model.init(key, jnp.zeros((1, observation_size(modulus)), jnp.float32))


def _sampled_game(params, key, length, checker, judge_params, config: AgentTrainConfig):
  """One game with the sampled policy on a fresh instance of `length` steps.

  Returns (observations [R, obs], claims [R], active [R] bool, reward []) with R = num_rounds(max_length).
  """
  instance_key, play_key = jax.random.split(key)
  modulus = checker.modulus
  instance = chain.sample_instance(instance_key, length, modulus, config.max_length)
  model = PolicyMLP(config.width, config.depth, modulus)

  def one_round(state, i):
    observation = observe(state, instance, modulus)
    claim = jax.random.categorical(jax.random.fold_in(play_key, i), model.apply(params, observation))
    return bisection.step(state, claim.astype(jnp.int32), instance), (observation, claim, ~state.done)

  rounds = jnp.arange(max(bisection.num_rounds(config.max_length), 1))
  final, (observations, claims, active) = jax.lax.scan(one_round, bisection.init(instance), rounds)
  reward = bisection.liar_wins(final, instance, checker, judge_params).astype(jnp.float32)
  return observations, claims, active, reward


def make_train_chunk(checker: chain_checkers.StepChecker, config: AgentTrainConfig, key: chex.PRNGKey, mesh=None):
  """A jitted (params, opt_state, judge_params, steps [n] int32) -> (params, opt_state, rewards [n]).

  Step `s` uses the key fold_in(key, s) only, so any chunking of the steps gives the same params. With a
  `mesh` (debate.distributed.sharding.training_mesh) the games of a step are split over all its devices (game b keyed by
  b, so the same games) and params and Adam moments are laid out FSDP-style over its 'model' axis.
  """
  optimizer = optax.adam(config.learning_rate)
  model = PolicyMLP(config.width, config.depth, checker.modulus)

  def loss_fn(params, observations, claims, active, advantage):
    """observations: [B, R, obs], claims, active: [B, R], advantage: [B]."""
    log_probs = jax.nn.log_softmax(model.apply(params, observations))
    chosen = jnp.take_along_axis(log_probs, claims[..., None], axis=-1)[..., 0]
    entropy = -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
    weights = active.astype(jnp.float32)
    policy_loss = -jnp.mean(advantage * jnp.sum(weights * chosen, axis=-1))
    entropy_bonus = jnp.sum(weights * entropy) / jnp.maximum(jnp.sum(weights), 1.0)
    return policy_loss - config.entropy_coef * entropy_bonus

  def train_step(carry, step, judge_params):
    params, opt_state = carry
    step_key = jax.random.fold_in(key, step)
    length_key, games_key = jax.random.split(step_key)
    lengths = jax.random.randint(length_key, (config.batch_size,), 2, config.max_length + 1)
    game_keys = jax.random.split(games_key, config.batch_size)
    game_keys, lengths = sharding.batch_constrained((game_keys, lengths), mesh)
    observations, claims, active, rewards = jax.vmap(
      lambda k, t: _sampled_game(params, k, t, checker, judge_params, config)
    )(game_keys, lengths)
    advantage = rewards - jnp.mean(rewards)
    grads = jax.grad(loss_fn)(params, observations, claims, active, advantage)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), jnp.mean(rewards)

  @jax.jit
  def train_chunk(params, opt_state, judge_params, steps):
    params, opt_state = sharding.fsdp_constrained((params, opt_state), mesh)
    (params, opt_state), rewards = jax.lax.scan(
      lambda carry, step: train_step(carry, step, judge_params), (params, opt_state), steps
    )
    return params, opt_state, rewards

  return optimizer, train_chunk


def agent_key(seed: int) -> chex.PRNGKey:
  return jax.random.fold_in(jax.random.key(seed), 0xA6E7)


def checked_rungs(rungs: Sequence[int]) -> list[int]:
  """The distinct rungs, ascending; ValueError unless there is one and all are steps >= 0."""
  rungs = sorted(set(int(r) for r in rungs))
  if not rungs or rungs[0] < 0:
    raise ValueError(f'rungs must be steps >= 0, got {rungs}')
  return rungs


TRAINING = 'training'  # A ladder directory's subfolder of resumable training checkpoints.
_TRAINING_CHECKPOINTS_KEPT = 2


def _training_manager(directory: str):
  """The Orbax CheckpointManager of a ladder's resumable training state (the last 2 chunks' ends kept)."""
  import orbax.checkpoint as ocp  # Slow to import; only learned agents need it.

  options = ocp.CheckpointManagerOptions(
    max_to_keep=_TRAINING_CHECKPOINTS_KEPT, create=True, cleanup_tmp_directories=True
  )
  return ocp.CheckpointManager(os.path.abspath(directory), options=options, item_names=('state', 'meta'))


def _resume_point(manager, rungs: list[int], params, opt_state):
  """(step, params, opt_state, ladder, history) of the latest training checkpoint from which training to
  `rungs` can go on (at most rungs[-1], holding every requested rung it has passed), or None."""
  import orbax.checkpoint as ocp

  for step in sorted(manager.all_steps(), reverse=True):
    if step > rungs[-1]:
      continue
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
    if not {r for r in rungs if r <= step} <= set(meta['rungs']):
      continue
    like = {'params': params, 'opt_state': opt_state, 'ladder': {str(r): params for r in meta['rungs']}}
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), like)
    state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))['state']
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
  history, done = [], 0
  manager = _training_manager(checkpoint_dir) if checkpoint_dir else None
  writer = None
  if manager is not None:
    resumed = _resume_point(manager, rungs, params, opt_state)
    if resumed is not None:
      done, params, opt_state, ladder, history = resumed
      log(f'resumed training from the checkpoint at step {done} in {checkpoint_dir}')
    writer = metrics_writer.MetricsWriter(os.path.dirname(os.path.abspath(checkpoint_dir)), step=done)
  params, opt_state = sharding.fsdp_placed((params, opt_state), mesh)
  if mesh is not None and done < rungs[-1]:
    processes = len({d.process_index for d in mesh.devices.flat})
    log(f'training on a data={mesh.shape["data"]} x model={mesh.shape.get("model", 1)} mesh of {processes} process(es)')
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
        _save_training(manager, done, params, opt_state, ladder, history)
        if done < rungs[-1] and preemption.requested(done):
          manager.wait_until_finished()
          raise multihost.Preempted(done, checkpoint_dir)
  finally:
    if manager is not None:
      manager.wait_until_finished()
      manager.close()
  return ladder, history


def _save_training(manager, step: int, params, opt_state, ladder: dict, history: list[dict]) -> None:
  import orbax.checkpoint as ocp

  state = multihost.to_host(
    {
      'params': params,
      'opt_state': opt_state,  # Host copies, as the ladder's rungs.
      'ladder': {str(r): p for r, p in ladder.items()},
    }
  )
  manager.save(
    step,
    args=ocp.args.Composite(
      state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave({'rungs': sorted(ladder), 'history': history})
    ),
  )


def az_report(log: Callable[[str], None], who: str, last_rung: int) -> Callable[[int, Any, float], dict]:
  """The `report` of a self-play trainer for train_through_rungs: logs the chunk's mean loss, policy and
  value losses and self-play liar win rate, with the rate and time left, and returns them ({'loss',
  'policy_loss', 'value_loss', 'liar_win_rate'}; the history entry adds the step)."""

  def report(done, metrics, steps_per_s):
    means = {name: float(value.mean()) for name, value in metrics.items()}
    log(
      f'{who}: step {done}/{last_rung} loss {means["loss"]:.4f} (policy {means["policy_loss"]:.4f}, value '
      f'{means["value_loss"]:.4f}), liar wins {means["liar_win_rate"]:.3f} in self-play; {steps_per_s:.2f} '
      f'steps/s, about {(last_rung - done) / max(steps_per_s, 1e-9):.0f}s left'
    )
    return means

  return report


def az_loss(logits, values, weights, valid, targets, active, *, value_coef: float):
  """The AlphaZero loss of the self-play debaters: (loss, (policy_loss, value_loss)), each [].

  logits, weights (the search's action_weights), valid (bool): [..., A]; values, targets (+1/-1 for the
  mover), active (bool, plies actually played): [...]. Policy: cross-entropy of the weights against the
  softmax over the valid actions only (as the agents play); value: squared error; both averaged over the
  active plies; loss = policy + value_coef x value.
  """
  log_probs = jax.nn.log_softmax(jnp.where(valid, logits, mcts.INVALID_LOGIT))
  policy = -jnp.sum(jnp.where(valid, weights * log_probs, 0.0), axis=-1)
  mask = active.astype(jnp.float32)
  count = jnp.maximum(mask.sum(), 1.0)
  policy_loss = jnp.sum(mask * policy) / count
  value_loss = jnp.sum(mask * (values - targets) ** 2) / count
  return policy_loss + value_coef * value_loss, (policy_loss, value_loss)


def train_liar(
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  rungs: Sequence[int],
  config: AgentTrainConfig,
  log: Callable[[str], None] = print,
  checkpoint_dir: str | None = None,
  mesh=None,
):
  """Trains to max(rungs) steps; returns ({step: params} for every rung, history of mean rewards).

  `checkpoint_dir`: where to save and resume the training state (train_through_rungs); `mesh`: an optional
  debate.distributed.sharding.training_mesh to split each step's games over (make_train_chunk)."""
  rungs = checked_rungs(rungs)
  sharding.check_batch(mesh, config.batch_size)
  init_key, train_key = jax.random.split(agent_key(seed))
  params = init_params(config, checker.modulus, init_key)
  optimizer, train_chunk = make_train_chunk(checker, config, train_key, mesh)

  def report(done, rewards, steps_per_s):
    log(
      f'learned liar vs {checker.name}: step {done}/{rungs[-1]} sampled win rate '
      f'{float(rewards.mean()):.4f} ({steps_per_s * config.batch_size:,.0f} games/s)'
    )
    return {'mean_reward': float(rewards.mean())}

  return train_through_rungs(
    train_chunk,
    params,
    optimizer.init(params),
    sharding.replicated(judge_params, mesh),
    rungs=rungs,
    log_every=config.log_every,
    report=report,
    checkpoint_dir=checkpoint_dir,
    log=log,
    mesh=mesh,
  )


def agent_dir(workdir: str, checker: chain_checkers.StepChecker, seed: int) -> str:
  return os.path.join(workdir, 'agents', f'learned_liar_{checker.name.replace(":", "_")}_m{checker.modulus}_seed{seed}')


def build_ladder(
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  workdir: str | None,
  rungs: Sequence[int],
  config: AgentTrainConfig = AgentTrainConfig(),
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict[int, Policy]:
  """{step: Policy} for every rung, loaded from `workdir/agents/...` or trained (and saved there) on `mesh`.

  If any rung is missing, the liar is trained to the largest rung, from the latest usable training checkpoint
  or from step 0 (training is a fixed function of seed and step, so rungs saved earlier come out the same),
  and every rung is saved.
  """
  like = lambda: init_params(config, checker.modulus, jax.random.key(0))
  train = lambda all_rungs, checkpoint_dir: train_liar(
    checker, judge_params, seed=seed, rungs=all_rungs, config=config, log=log, checkpoint_dir=checkpoint_dir, mesh=mesh
  )
  return saved_ladder(
    agent_dir(workdir, checker, seed) if workdir else None,
    rungs=rungs,
    config=config,
    init_like=like,
    train=train,
    what='liar',
  )


def saved_ladder(
  directory: str | None,
  *,
  rungs: Sequence[int],
  config,
  init_like: Callable[[], Any],
  train: Callable[[list[int]], tuple[dict, list]],
  what: str,
) -> dict[int, Policy]:
  """The checkpoint ladder of a learned agent: {step: Policy} for every rung, from `directory` or trained.

  The one place learned agents are saved and loaded (the learned liar here, the self-play debaters in
  debate/training/selfplay_chain.py). `directory` holds `step_<N>/` (Orbax, host copies of the params) per rung,
  `metrics.json` ({'config', 'rungs', 'history'}) and, written during training, the history entries as
  metrics.jsonl lines and TensorBoard event files (train_through_rungs); None trains without saving. `config` is a frozen
  dataclass with `width` and `depth`; a directory written with another config is refused (WorkdirError).
  `init_like()` gives params of the right structure; `train(rungs, checkpoint_dir)` returns ({step: params},
  history) for the sorted rungs it is given, saving and resuming its training state in `checkpoint_dir`
  (`directory/training`, or None; see train_through_rungs). If any rung is missing, `train` runs for every
  saved and requested rung (training must be a fixed function of seed and step, so the saved rungs come out
  the same; it resumes from the last training checkpoint, so raising the top rung trains only the new
  steps) and all are saved. With several processes every process calls this; process 0 reads and writes
  the metadata.
  """
  import orbax.checkpoint as ocp  # Slow to import; only learned agents need it.

  rungs = sorted(set(int(r) for r in rungs))
  metrics_path = directory and os.path.join(directory, 'metrics.json')
  wrap = lambda params: Policy.create(params, config.width, config.depth)
  saved = []
  if directory and multihost.broadcast_json(os.path.exists(metrics_path)):
    metrics = None
    if multihost.is_writer():
      with open(metrics_path) as f:
        metrics = json.load(f)
    metrics = multihost.broadcast_json(metrics)
    if metrics['config'] != json.loads(json.dumps(runfiles.to_jsonable(config))):
      raise runfiles.WorkdirError(
        f'{directory} holds a {what} trained with {metrics["config"]}, not {config}; use a fresh workdir'
      )
    saved = metrics['rungs']
  if directory and set(rungs) <= set(saved):
    like = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), jax.eval_shape(init_like))
    with ocp.StandardCheckpointer() as ckptr:
      return {r: wrap(ckptr.restore(os.path.join(os.path.abspath(directory), f'step_{r}'), like)) for r in rungs}
  rungs = sorted(set(rungs) | set(saved))
  if directory:
    _check_training_config(directory, config, what)
  ladder, history = train(rungs, directory and os.path.join(directory, TRAINING))
  ladder = multihost.to_host(ladder)
  if directory:
    os.makedirs(directory, exist_ok=True)
    with ocp.StandardCheckpointer() as ckptr:
      for r, params in ladder.items():
        ckptr.save(os.path.join(os.path.abspath(directory), f'step_{r}'), params, force=True)
      ckptr.wait_until_finished()
    if multihost.is_writer():
      runfiles.write_json(metrics_path, {'config': config, 'rungs': rungs, 'history': history})
  return {r: wrap(p) for r, p in ladder.items()}


def _check_training_config(directory: str, config, what: str) -> None:
  """Records `config` as the one the training checkpoints of `directory` belong to; WorkdirError if they
  belong to another (an interrupted run's state must not resume under other settings)."""
  path = os.path.join(directory, TRAINING + '_config.json')
  wanted = json.loads(json.dumps(runfiles.to_jsonable(config)))
  found = None
  if multihost.is_writer() and os.path.exists(path):
    with open(path) as f:
      found = json.load(f)
  found = multihost.broadcast_json(found)
  if found is not None and found != wanted:
    raise runfiles.WorkdirError(
      f'{directory} holds the training state of a {what} with {found}, not {config}; use a fresh workdir'
    )
  if found is None and multihost.is_writer():
    os.makedirs(directory, exist_ok=True)
    runfiles.write_json(path, config)


def attach_policy(
  arm,
  cells,
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  workdir: str | None,
  cache: dict,
  train_config=None,
  log: Callable[[str], None] = print,
  mesh=None,
  model_parallelism: int = 1,
):
  """`arm` with its learned liar's params attached (other arms unchanged).

  Trains (or loads) once per (judge, seed) the ladder of every `learned:STEP` rung that `cells` (the
  experiment's cells, each with .arm, .checker, .seed) name for that judge and seed; `cache` keeps it.
  `train_config`: a mapping of AgentTrainConfig fields (an experiment config's optional `agent_training`);
  None for the defaults. Training runs on debate.distributed.sharding.training_mesh(mesh, batch size, model_parallelism).
  """
  liar = getattr(arm, 'liar', None)
  if liar is None or liar.kind != 'learned':
    return arm
  key = (checker.name, checker.modulus, seed)
  if key not in cache:
    rungs = {
      c.arm.liar.budget
      for c in cells
      if c.arm.liar is not None and c.arm.liar.kind == 'learned' and c.checker == checker and c.seed == seed
    }
    config = AgentTrainConfig(**dict(train_config or {}))
    cache[key] = build_ladder(
      checker,
      judge_params,
      seed=seed,
      workdir=workdir,
      rungs=rungs,
      config=config,
      log=log,
      mesh=sharding.training_mesh(mesh, config.batch_size, model_parallelism, batch_field='agent_training.batch_size'),
    )
  return dataclasses.replace(arm, liar=dataclasses.replace(liar, policy=cache[key][liar.budget]))
