"""Step checkers: the judges of the `chain` task.

A step checker scores a claimed step `(x, op, y)`, "does f(x, op) equal y?", with a real number: the claim
is accepted when the score is > 0, and when two claimed results for one step are put to it, the judge picks
the one it scores higher. Three kinds:

- `exact`: +1 for a correct step, -1 otherwise.
- `noisy:EPS`: the exact verdict, flipped with probability EPS. The flips are a fixed function of
  (x, op, y) and of the judge's own seed (its params), so they are a property of that judge: a liar can find
  them and exploit them. A second hash of the same step breaks ties between two flipped or unflipped scores.
- `learned:WIDTH`: a small Flax MLP over one-hot (x, u, v, y), trained with optax on correct and corrupted
  steps; its score is its logit. Its error rates are measured, not assumed (`evaluate_checker`).

Checkers are frozen dataclasses (hashable, so they are static arguments of `jax.jit`); their parameters are
a separate pytree, so every function here is pure.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Mapping

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from debate.distributed import multihost, sharding
from debate.experiments import runfiles
from debate.tasks import chain
from debate.training import checkpoints
from debate.training import metrics as metrics_writer

Params = Any


@dataclasses.dataclass(frozen=True)
class StepChecker:
  """A judge of single chain steps. `params` for it: exact None, noisy a PRNG key, learned Flax params."""

  kind: str
  modulus: int
  error_rate: float = 0.0
  width: int = 0
  depth: int = 2

  def __post_init__(self):
    for bad, message in (
      (
        self.kind not in ('exact', 'noisy', 'learned'),
        f'unknown judge kind {self.kind!r}; expected exact, noisy:EPS or learned:WIDTH',
      ),
      (
        self.kind == 'noisy' and not 0.0 <= self.error_rate <= 1.0,
        f'noisy judge error rate must be in [0, 1], got {self.error_rate}',
      ),
      (self.kind == 'learned' and self.width < 1, f'learned judge width must be >= 1, got {self.width}'),
    ):
      if bad:
        raise ValueError(message)

  @property
  def name(self) -> str:
    return {'noisy': f'noisy:{self.error_rate:g}', 'learned': f'learned:{self.width}'}.get(self.kind, 'exact')


def parse_checker(spec: str, modulus: int) -> StepChecker:
  """'exact' | 'noisy:0.1' | 'learned:16' -> StepChecker."""
  kind, _, arg = spec.partition(':')
  try:
    if kind == 'exact' and not arg:
      return StepChecker('exact', modulus)
    if kind == 'noisy':
      return StepChecker('noisy', modulus, error_rate=float(arg))
    if kind == 'learned':
      return StepChecker('learned', modulus, width=int(arg))
  except ValueError as e:
    raise ValueError(f'bad judge {spec!r}: {e}') from None
  raise ValueError(
    f'unknown judge {spec!r}; expected exact, noisy:EPS (e.g. noisy:0.1) or learned:WIDTH (e.g. learned:16)'
  )


class CheckerMLP(nn.Module):
  """features: [..., 4 * modulus] -> logit: [...]."""

  width: int
  depth: int

  @nn.compact
  def __call__(self, h):
    for _ in range(self.depth):
      h = nn.relu(nn.Dense(self.width)(h))
    return nn.Dense(1)(h)[..., 0]


def _features(x, op, y, modulus):
  """x, y: [...], op: [..., 2] -> [..., 4 * modulus] float32 one-hot encoding."""
  return jnp.concatenate([jax.nn.one_hot(p, modulus) for p in (x, op[..., 0], op[..., 1], y)], axis=-1)


def _step_hash_uniforms(key, x, op, y, modulus):
  """Two fixed uniforms in [0, 1) per step, a function of (key, x, op, y) only: [..., 2]."""
  packed = ((x * modulus + op[..., 0]) * modulus + op[..., 1]) * modulus + y
  flat = jax.vmap(lambda p: jax.random.uniform(jax.random.fold_in(key, p), (2,)))(packed.reshape(-1))
  return flat.reshape(packed.shape + (2,))


def step_score(checker: StepChecker, params: Params, x, op, y) -> chex.Array:
  """x, y: [...] int32, op: [..., 2] int32 -> score: [...] float32; > 0 means the step is accepted."""
  correct = chain.apply_step(x, op, checker.modulus) == y
  if checker.kind == 'exact':
    return jnp.where(correct, 1.0, -1.0)
  if checker.kind == 'noisy':
    uniforms = _step_hash_uniforms(params, x, op, y, checker.modulus)  # [..., 2]: the flip, then the tie-break.
    magnitude = 1.0 + uniforms[..., 1]
    return jnp.where(correct ^ (uniforms[..., 0] < checker.error_rate), magnitude, -magnitude)
  return CheckerMLP(checker.width, checker.depth).apply(params, _features(x, op, y, checker.modulus))


def prefers_second(checker: StepChecker, params: Params, x, op, y_first, y_second) -> chex.Array:
  """Whether the judge, shown two claimed results of one step, picks `y_second`: [...] bool."""
  return step_score(checker, params, x, op, y_second) > step_score(checker, params, x, op, y_first)


# ------------------------------------------------------------------------------------------------------------
# Parameters: exact and noisy judges are defined by their seed; learned judges are trained.


def init_params(checker: StepChecker, key: chex.PRNGKey) -> Params:
  if checker.kind == 'exact':
    return None
  if checker.kind == 'noisy':
    return key
  return CheckerMLP(checker.width, checker.depth).init(key, jnp.zeros((1, 4 * checker.modulus), jnp.float32))


def sample_steps(key: chex.PRNGKey, batch: int, modulus: int):
  """Random steps, half correct and half corrupted: x [B], op [B, 2], y [B], label [B] (1 = correct)."""
  kx, ku, kv, kwrong, klabel = jax.random.split(key, 5)
  x = jax.random.randint(kx, (batch,), 0, modulus)
  op = jnp.stack([jax.random.randint(ku, (batch,), 1, modulus), jax.random.randint(kv, (batch,), 0, modulus)], axis=-1)
  y_true = chain.apply_step(x, op, modulus)
  y_wrong = (y_true + jax.random.randint(kwrong, (batch,), 1, modulus)) % modulus
  label = jax.random.bernoulli(klabel, 0.5, (batch,))
  return x, op, jnp.where(label, y_true, y_wrong), label


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  steps: int = 6000
  batch_size: int = 512
  learning_rate: float = 3e-3
  log_every: int = 1000


def train_learned_checker(
  checker: StepChecker, key: chex.PRNGKey, config: TrainConfig, *, log=print, mesh=None, metrics_dir=None
):
  """Trains a learned checker on fresh random steps (binary cross-entropy, Adam). Returns (params, history):
  params as host (numpy) arrays, history [{'step', 'loss'}] after every chunk, also written to `metrics_dir`
  (if given) by debate/training/metrics.py (metrics.jsonl and TensorBoard scalars).

  The training loop runs under one `jit` in chunks of `config.log_every` steps (a `lax.scan` each), so the
  only Python between steps is the progress log. Step s draws its batch from fold_in(data key, s) only.
  With a `mesh` (debate.distributed.sharding.training_mesh, which may span processes) each step's batch is split over
  all its devices, and params and Adam moments are laid out FSDP-style over its 'model' axis; the loss is
  the mean over the whole batch, so the params agree with one device's up to float rounding.
  """
  if checker.kind != 'learned':
    raise ValueError(f'only learned judges are trained, not {checker.name}')
  sharding.check_batch(mesh, config.batch_size)
  init_key, data_key = jax.random.split(key)
  params = init_params(checker, init_key)
  optimizer = optax.adam(config.learning_rate)
  params, opt_state = sharding.fsdp_placed((params, optimizer.init(params)), mesh)

  def loss_fn(params, x, op, y, label):
    return optax.sigmoid_binary_cross_entropy(step_score(checker, params, x, op, y), label.astype(jnp.float32)).mean()

  def train_step(carry, step):
    params, opt_state = carry
    batch = sharding.batch_constrained(
      sample_steps(jax.random.fold_in(data_key, step), config.batch_size, checker.modulus), mesh
    )
    loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), loss

  @jax.jit
  def train_chunk(params, opt_state, steps):
    params, opt_state = sharding.fsdp_constrained((params, opt_state), mesh)
    (params, opt_state), losses = jax.lax.scan(train_step, (params, opt_state), steps)
    return params, opt_state, losses.mean()

  history = []
  writer = metrics_writer.MetricsWriter(metrics_dir) if metrics_dir else None
  start = time.time()
  for begin in range(0, config.steps, config.log_every):
    done = min(begin + config.log_every, config.steps)
    steps = sharding.replicated(np.arange(begin, done, dtype=np.int32), mesh)
    params, opt_state, loss = train_chunk(params, opt_state, steps)
    loss = float(multihost.to_host(loss))
    rate = done * config.batch_size / max(time.time() - start, 1e-9)
    history.append(writer.write(done, {'loss': loss}) if writer else {'step': done, 'loss': loss})
    log(
      f'judge {checker.name}: step {done}/{config.steps} loss {loss:.4f} ({rate:,.0f} examples/s on '
      f'{1 if mesh is None else mesh.devices.size} device(s))'
    )
  return multihost.to_host(params), history


def evaluate_checker(checker: StepChecker, params: Params, key: chex.PRNGKey, num_steps: int = 20000):
  """Measured error rates of a checker on random steps (x, op uniform; wrong y uniform among m-1 values).

  Returns a dict of floats:
    step_error: P(verdict wrong) on a 50/50 mix of correct and corrupted steps;
    pairwise_error: P(judge prefers a random wrong y to the true y);
    exploitable_error: P(some wrong y is preferred to the true y), the rate at which a liar that searches
      over its claim can win a dispute about a random step.
  """
  m = checker.modulus
  x, op, y, label = sample_steps(key, num_steps, m)
  y_true = chain.apply_step(x, op, m)
  y_wrong = (y_true + 1 + jax.random.randint(jax.random.fold_in(key, 1), y.shape, 0, m - 1)) % m
  all_y = jnp.arange(m)
  scores = jax.vmap(lambda v: step_score(checker, params, x, op, jnp.full_like(x, v)), out_axes=-1)(all_y)
  true_score = jnp.take_along_axis(scores, y_true[:, None], axis=-1)[:, 0]
  best_wrong = jnp.max(jnp.where(all_y[None, :] == y_true[:, None], -jnp.inf, scores), axis=-1)
  return {
    'step_error': float(jnp.mean((step_score(checker, params, x, op, y) > 0) != label)),
    'pairwise_error': float(jnp.mean(prefers_second(checker, params, x, op, y_true, y_wrong))),
    'exploitable_error': float(jnp.mean(best_wrong > true_score)),
  }


# ------------------------------------------------------------------------------------------------------------
# Judges of an experiment: built once per run and cached in the workdir (Orbax), so a resumed run uses the
# very same judge.


def build_judge(
  checker: StepChecker,
  *,
  seed: int,
  workdir: str | None,
  train_config: TrainConfig,
  log=print,
  mesh=None,
  model_parallelism: int = 1,
) -> tuple[Params, Mapping[str, float]]:
  """Params and measured error rates of a judge, trained (learned) or derived from the seed (others).

  Learned judges train on debate.distributed.sharding.training_mesh(mesh, batch size, model_parallelism) of the
  experiment's `mesh` (all processes take part, each with its share of every batch), are saved to
  `workdir/judges/...` with Orbax and reloaded on the next run. Whether a saved one exists is process 0's
  answer, and params are saved and restored as host (numpy) arrays, which Orbax writes from process 0 only.
  """
  key = jax.random.fold_in(jax.random.key(seed), 0x7D6E)
  eval_key = jax.random.fold_in(key, 1)
  if checker.kind != 'learned':
    params = init_params(checker, key)
    return params, evaluate_checker(checker, params, eval_key)
  name = f'{checker.name.replace(":", "_")}_m{checker.modulus}_seed{seed}'
  directory = workdir and os.path.join(workdir, 'judges', name)
  metrics_path = directory and os.path.join(directory, 'metrics.json')
  if directory and multihost.broadcast_json(os.path.exists(metrics_path)):
    params = checkpoints.restore_tree(
      os.path.join(directory, 'params'), jax.eval_shape(lambda: init_params(checker, key))
    )
    with open(metrics_path) as f:
      return params, json.load(f)['eval']
  params, history = train_learned_checker(
    checker,
    key,
    train_config,
    log=log,
    mesh=sharding.training_mesh(
      mesh, train_config.batch_size, model_parallelism, batch_field='judge_training.batch_size'
    ),
    metrics_dir=directory,
  )
  metrics = evaluate_checker(checker, params, eval_key)
  log(f'judge {checker.name}: measured errors {metrics}')
  if directory:
    os.makedirs(directory, exist_ok=True)
    checkpoints.save_tree(os.path.join(directory, 'params'), params)
    if multihost.is_writer():
      runfiles.write_json(metrics_path, {'eval': metrics, 'train': train_config, 'history': history})
  return params, metrics
