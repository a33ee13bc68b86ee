"""Training and measuring one RRM level: a reward model fit to the level's evaluations, and an agent trained
by RL against it, the whole loop under one `jit`.

A level's tasks are (segment i of the level's pool, start value x); an evaluation is a deterministic function
of (task, claim), so `label_table` computes it once for every (i, x, claim): [N, m, m], the probability that
the evaluator accepts. Training only looks labels up, so one compiled training program serves both methods
of a level (and every seed); only the small label program depends on the evaluator.

`train_level` runs `rounds` rounds. Each round first trains the reward model (binary cross-entropy with the
soft labels, Adam) on fresh batches whose claims are a third each: the true end, a uniformly random wrong
value, and an answer sampled from the current agent (the untrained policy in round 0). Then it trains the
agent (`debate.agents.rrm.policy_improvement_loss`, Adam) against the current reward model.

All randomness comes from the level key: `fold_in(key, PURPOSE)` for initialisation, data and measurement,
then `fold_in(., round)` and `fold_in(., step)` for data.

Sharding (`debate.distributed.sharding`): with a ('data', 'model') `mesh` (`sharding.training_mesh`; None: one device)
each step's batch (tasks, segments, claims, labels: [batch, ...]) is split over every device of the mesh,
and both networks' params and Adam moments are split FSDP-style over 'model' (laid out at initialisation and
after every update, inside the jit); the measurement's tasks are split too when the mesh divides num_tasks.
Draws are partitionable threefry (JAX's default), so the batches are the same on every mesh and only the
order of float reductions differs. Training amplifies that rounding (Adam, the agent's 1/temperature, then
claims sampled from the agent): a short training agrees across meshes to ~1e-7 with equal counts, a long one
(hundreds of steps) drifts apart until some counts differ (measured: BUILD_NOTES). The constant inputs (key, pool, labels) are replicated
over the mesh (`run_level` does it); on a mesh spanning processes the outputs are global arrays, which
`multihost.to_host` gathers.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

from debate.agents import rrm as rrm_agents
from debate.distributed import sharding
from judges import chain_checkers
from judges import reward_models as rm
from protocols import rrm

# Purposes of keys derived from a level key.
_RM_INIT, _AGENT_INIT, _RM_DATA, _AGENT_DATA, _EVAL = 1, 2, 3, 4, 5
EVALUATOR_KINDS = ('user', 'assisted', 'unassisted')


@dataclasses.dataclass(frozen=True)
class Evaluator:
  """How a level's claims are labelled (static; its parameters travel separately, see `evaluate`).

  kind: 'user' (level 0: the step checker on the single step), 'assisted' (the level l-1 assistant and
  reward model, `protocols.rrm.assisted_evaluation`) or 'unassisted' (the baseline user with s step checks).
  lower_rm, lower_agent: the level l-1 networks ('assisted' only). combine: how 'assisted' joins the two
  halves' scores (`protocols.rrm.assisted_evaluation`).
  """

  kind: str
  checker: chain_checkers.StepChecker
  s: int = 0
  lower_rm: rm.NetSpec | None = None
  lower_agent: rm.NetSpec | None = None
  combine: str = 'and'

  def __post_init__(self):
    if self.kind not in EVALUATOR_KINDS:
      raise ValueError(f'unknown evaluator kind {self.kind!r}; expected one of {EVALUATOR_KINDS}')
    if self.kind == 'assisted' and (self.lower_rm is None or self.lower_agent is None):
      raise ValueError('an assisted evaluator needs the level l-1 reward model and agent specs')


def evaluate(evaluator: Evaluator, params: dict[str, Any], x, ops, claim) -> chex.Array:
  """P(the evaluator accepts): x [...], ops [..., T, 2], claim [...] -> [...] float32 in [0, 1].

  params: {'judge': the checker's params} and, for 'assisted', {'reward': R_{l-1}, 'assistant': A_{l-1}}.
  """
  if evaluator.kind == 'user':
    return rrm.user_evaluation(evaluator.checker, params['judge'], x, ops, claim)
  if evaluator.kind == 'unassisted':
    return rrm.unassisted_evaluation(evaluator.checker, params['judge'], x, ops, claim, s=evaluator.s)
  return rrm.assisted_evaluation(
    x,
    ops,
    claim,
    assistant=rrm_agents.as_assistant(evaluator.lower_agent, params['assistant']),
    reward=rm.as_reward(evaluator.lower_rm, params['reward']),
    combine=evaluator.combine,
  )


@functools.partial(jax.jit, static_argnames=('evaluator',))
def label_table(evaluator: Evaluator, params: dict[str, Any], pool: chex.Array) -> chex.Array:
  """The evaluation of every task and claim of a level: pool [N, T, 2] -> [N, m, m] float32, entry
  [i, x, y] = P(the evaluator accepts claim y for start x and segment i)."""
  n, m = pool.shape[0], evaluator.checker.modulus
  values = jnp.arange(m, dtype=jnp.int32)
  x, claim = (jnp.broadcast_to(v, (n, m, m)) for v in (values[None, :, None], values[None, None, :]))
  return evaluate(evaluator, params, x, jnp.broadcast_to(pool[:, None, None], (n, m, m) + pool.shape[1:]), claim)


@dataclasses.dataclass(frozen=True)
class TrainSpec:
  """Rounds of (reward-model steps, then agent steps); Adam for both; the agent's policy-improvement
  temperature (`debate.agents.rrm.policy_improvement_loss`)."""

  rounds: int = 3
  rm_steps: int = 400
  agent_steps: int = 300
  batch_size: int = 256
  rm_learning_rate: float = 3e-3
  agent_learning_rate: float = 3e-3
  temperature: float = 0.03


def _step_keys(key, purpose: int, round_index, steps: int):
  base = jax.random.fold_in(jax.random.fold_in(key, purpose), round_index)
  return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(steps))


def train_level(
  key: chex.PRNGKey,
  pool: chex.Array,
  labels: chex.Array,
  *,
  rm_net: rm.NetSpec,
  agent_net: rm.NetSpec,
  train: TrainSpec,
  mesh=None,
):
  """Trains a level's reward model and agent. pool: [N, T, 2] segments; labels: [N, m, m] (`label_table`).

  Returns (rm_params, agent_params, history) with history['rm_loss'] [rounds, rm_steps] and
  history['agent_reward'] [rounds, agent_steps] (the agent's expected reward-model score per step).
  Inside `jit`; `mesh`: the training mesh (None: one device), which must divide the batch (see the module
  docstring); params and Adam moments come out laid out FSDP-style on it.
  """
  sharding.check_batch(mesh, train.batch_size)
  modulus, num_segments, batch = rm_net.modulus, pool.shape[0], train.batch_size
  ends = rrm.segment_end(  # [N, m] int32: the true end x_T of every task (segment i, start x).
    jnp.broadcast_to(jnp.arange(modulus, dtype=jnp.int32), (num_segments, modulus)),
    jnp.broadcast_to(pool[:, None], (num_segments, modulus) + pool.shape[1:]),
    modulus,
  )
  rm_params = rm.init_params(rm_net, jax.random.fold_in(key, _RM_INIT))
  agent_params = rm.init_params(agent_net, jax.random.fold_in(key, _AGENT_INIT))
  rm_opt, agent_opt = optax.adam(train.rm_learning_rate), optax.adam(train.agent_learning_rate)

  def tasks(task_key):
    """A step's tasks, split over the mesh: x [batch], segment indices [batch], ops [batch, T, 2]."""
    x, index = rrm.sample_tasks(task_key, num_segments, batch, modulus)
    return sharding.batch_constrained((x, index, pool[index]), mesh)

  def rm_step(agent_params, carry, step_key):
    params, opt_state = carry
    task_key, claim_key, agent_key = jax.random.split(step_key, 3)
    x, index, ops = tasks(task_key)
    truth = ends[index, x]
    u = jax.random.uniform(claim_key, (batch,))
    claim = jnp.where(
      u < 1 / 3,
      truth,
      jnp.where(
        u < 2 / 3,
        rrm.random_wrong(jax.random.fold_in(claim_key, 1), truth, modulus),
        rrm_agents.sample_answers(agent_net, agent_params, agent_key, x, ops),
      ),
    )
    claim, label = sharding.batch_constrained((claim, labels[index, x, claim]), mesh)
    loss, grads = jax.value_and_grad(lambda p: rm.reward_model_loss(rm_net, p, x, ops, claim, label))(params)
    updates, opt_state = rm_opt.update(grads, opt_state, params)
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), loss

  def agent_step(rm_params, carry, step_key):
    params, opt_state = carry
    x, _, ops = tasks(step_key)
    table = sharding.batch_constrained(rm.reward_table(rm_net, rm_params, x, ops), mesh)
    (_, expected_reward), grads = jax.value_and_grad(
      lambda p: rrm_agents.policy_improvement_loss(agent_net, p, x, ops, table, temperature=train.temperature),
      has_aux=True,
    )(params)
    updates, opt_state = agent_opt.update(grads, opt_state, params)
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), expected_reward

  def one_round(carry, round_index):
    rm_params, rm_state, agent_params, agent_state = carry
    (rm_params, rm_state), losses = jax.lax.scan(
      lambda c, k: rm_step(agent_params, c, k),
      (rm_params, rm_state),
      _step_keys(key, _RM_DATA, round_index, train.rm_steps),
    )
    (agent_params, agent_state), rewards = jax.lax.scan(
      lambda c, k: agent_step(rm_params, c, k),
      (agent_params, agent_state),
      _step_keys(key, _AGENT_DATA, round_index, train.agent_steps),
    )
    return (rm_params, rm_state, agent_params, agent_state), (losses, rewards)

  carry = sharding.fsdp_constrained(
    (rm_params, rm_opt.init(rm_params), agent_params, agent_opt.init(agent_params)), mesh
  )
  (rm_params, _, agent_params, _), (losses, rewards) = jax.lax.scan(one_round, carry, jnp.arange(train.rounds))
  return rm_params, agent_params, {'rm_loss': losses, 'agent_reward': rewards}


def measure_level(
  key: chex.PRNGKey,
  pool: chex.Array,
  labels: chex.Array,
  rm_params,
  agent_params,
  *,
  rm_net: rm.NetSpec,
  agent_net: rm.NetSpec,
  num_tasks: int,
  mesh=None,
):
  """A level's figures on `num_tasks` fresh tasks of the pool (drawn from `fold_in(key, EVAL)`).

  Inside `jit`; with a `mesh` that divides num_tasks the tasks are split over it (the same tasks, the same
  counts), otherwise they are not constrained.

  Returns a dict of [] arrays (counts int32, means float32):
    rm_games, rm_correct: the reward model's verdict (score > 1/2) against the truth on held-out claims,
      the true end for even-numbered tasks and a uniformly random wrong value for odd ones;
    label_correct: the level's evaluation (the labels the reward model learns from, > 1/2) on those claims;
    games, correct: one sampled answer of the agent per task, and how many are the true end;
    rm_agent_correct: the reward model's verdict against the truth on those answers;
    fooled: the agent's answers that are wrong but accepted by the reward model (score > 1/2);
    rm_top1_correct: tasks whose true end the reward model scores highest of all m answers (the answer a
      perfect optimiser of the reward model would give; ties go to the smallest value);
    proxy_reward: the mean reward-model score of the agent's answers; evaluation_reward: their mean label;
    mode_correct: how often the agent's most likely answer (what it states as an assistant) is right.
  """
  modulus = rm_net.modulus
  split_over = mesh if mesh is not None and num_tasks % mesh.devices.size == 0 else None
  task_key, wrong_key, agent_key = jax.random.split(jax.random.fold_in(key, _EVAL), 3)
  x, index = rrm.sample_tasks(task_key, pool.shape[0], num_tasks, modulus)
  x, index, ops = sharding.batch_constrained((x, index, pool[index]), split_over)
  truth = rrm.segment_end(x, ops, modulus)
  is_true = jnp.arange(num_tasks) % 2 == 0
  claim = sharding.batch_constrained(jnp.where(is_true, truth, rrm.random_wrong(wrong_key, truth, modulus)), split_over)
  rm_verdict = rm.reward_probability(rm_net, rm_params, x, ops, claim) > 0.5
  rm_top1 = jnp.argmax(rm.reward_table(rm_net, rm_params, x, ops), axis=-1) == truth

  answers = rrm_agents.sample_answers(agent_net, agent_params, agent_key, x, ops)
  right = answers == truth
  scores = rm.reward_probability(rm_net, rm_params, x, ops, answers)
  mode = rrm_agents.as_assistant(agent_net, agent_params)(x, ops)
  count = lambda a: jnp.sum(a).astype(jnp.int32)
  return {
    'rm_games': jnp.int32(num_tasks),
    'rm_correct': count(rm_verdict == is_true),
    'rm_top1_correct': count(rm_top1),
    'label_correct': count((labels[index, x, claim] > 0.5) == is_true),
    'games': jnp.int32(num_tasks),
    'correct': count(right),
    'rm_agent_correct': count((scores > 0.5) == right),
    'fooled': count(~right & (scores > 0.5)),
    'proxy_reward': scores.mean(),
    'evaluation_reward': labels[index, x, answers].mean(),
    'mode_correct': count(mode == truth),
  }


@functools.partial(jax.jit, static_argnames=('rm_net', 'agent_net', 'train', 'num_tasks', 'mesh'))
def _run_level(key, pool, labels, *, rm_net, agent_net, train, num_tasks, mesh):
  rm_params, agent_params, history = train_level(
    key, pool, labels, rm_net=rm_net, agent_net=agent_net, train=train, mesh=mesh
  )
  metrics = measure_level(
    key, pool, labels, rm_params, agent_params, rm_net=rm_net, agent_net=agent_net, num_tasks=num_tasks, mesh=mesh
  )
  return rm_params, agent_params, history, metrics


def run_level(
  key: chex.PRNGKey,
  pool: chex.Array,
  labels: chex.Array,
  *,
  rm_net: rm.NetSpec,
  agent_net: rm.NetSpec,
  train: TrainSpec,
  num_tasks: int,
  mesh=None,
):
  """`train_level` then `measure_level`, one compiled call: (rm_params, agent_params, history, metrics).

  pool [N, T, 2], labels [N, m, m]. `mesh`: the training mesh (`sharding.training_mesh`; None: one device,
  plain `jit`); the key, pool and labels (the same in every process) are replicated over it first. Params
  come back split FSDP-style over its 'model' axis, history [rounds, steps] and metrics [] replicated.
  """
  key, pool, labels = sharding.replicated((key, pool, labels), mesh)
  return _run_level(key, pool, labels, rm_net=rm_net, agent_net=agent_net, train=train, num_tasks=num_tasks, mesh=mesh)
