"""`rrm`: recursive reward modelling (Leike et al. 2018, arXiv 1811.07871) on chain segments, as pure functions.

A level-l task is a start value x in Z_m and a *segment* of T = 2^l chain ops; an answer is a claimed end
value y, and it is right when y = x_T. An *evaluation* (or a reward model) scores a claim in [0, 1]:

  reward(x [...], ops [..., T, 2], claim [...]) -> [...] float32 in [0, 1]

and an *assistant* states an answer: assistant(x [...], ops [..., T, 2]) -> [...] int32.

- Level 0 (`user_evaluation`): the user checks the single step with its step checker (1 if it accepts).
- Level l >= 1 (`assisted_evaluation`): the level l-1 assistant states the midpoint value m^ = x_{T/2} of the
  first half; the level l-1 reward model scores both halves, a = R(x, first half, m^) and
  b = R(m^, second half, y), and the evaluation accepts when it accepts both: 1 if a > 1/2 and b > 1/2, else 0
  (combine='and', the default). combine='product' gives the soft AND a * b instead; it is exact for 0/1
  scores, but a reward model fit to such labels scores even true claims below 1, and the product of two
  such scores at every level shrinks a true claim's label like p^(2^l) (measured: see BUILD_NOTES.md).
- The baseline (`unassisted_evaluation`): the user alone with a budget of s step checks. It sees x, the ops
  and the claimed end, and nothing in between, so the only check it can make is to work through the chain
  itself: when T <= s it computes each of the first T - 1 steps as the result its checker scores highest and
  checks the last step against the claim; when T > s no single check touches the claim, and it can only
  guess: it accepts with probability 1/2 (a fair coin, as in the `direct` protocol).

An evaluation's value is the probability that the evaluator accepts the claim; reward models are fit to
these probabilities (binary cross-entropy with soft targets, which equals fitting sampled verdicts in
expectation).

`recursive_evaluation` composes the levels all the way down to the user with an assistant per level; with an
exact checker and exact assistants it is exact at every level. Segments are split in the middle, so a level-l
segment is two level-(l-1) segments; `segment_pools` builds the tasks of each level that way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import chex
import jax
import jax.numpy as jnp

from debate.tasks import chain
from judges import chain_checkers

Reward = Callable[[chex.Array, chex.Array, chex.Array], chex.Array]
Assistant = Callable[[chex.Array, chex.Array], chex.Array]


def segment_end(x: chex.Array, ops: chex.Array, modulus: int) -> chex.Array:
  """The true end value: x [...] int32, ops [..., T, 2] int32 -> x_T [...] int32.

  A Python loop over the static T steps: XLA fuses it into one elementwise kernel, which compiles much
  faster than a loop op when the recursion calls it on every half of every level.
  """
  for t in range(ops.shape[-2]):
    x = chain.apply_step(x, ops[..., t, :], modulus)
  return x


def split(ops: chex.Array) -> tuple[chex.Array, chex.Array]:
  """ops [..., T, 2] (T even) -> the first and second halves, [..., T/2, 2] each."""
  half = ops.shape[-2] // 2
  if ops.shape[-2] != 2 * half:
    raise ValueError(f'a segment to split needs an even number of steps, got {ops.shape[-2]}')
  return ops[..., :half, :], ops[..., half:, :]


def exact_reward(modulus: int) -> Reward:
  """The perfect reward model: 1.0 if the claim is the true end, else 0.0."""
  return lambda x, ops, claim: (segment_end(x, ops, modulus) == claim).astype(jnp.float32)


def exact_assistant(modulus: int) -> Assistant:
  """The perfect assistant: states the true end value."""
  return lambda x, ops: segment_end(x, ops, modulus)


COMBINATIONS = ('and', 'product')


def assisted_evaluation(x, ops, claim, *, assistant: Assistant, reward: Reward, combine: str = 'and') -> chex.Array:
  """Level-l evaluation with help from level l-1: [...] float32.

  x [...], ops [..., T, 2] (T even), claim [...]. The assistant states the midpoint m^ of the first half; the
  reward model scores a = reward(x, first, m^) and b = reward(m^, second, claim). combine='and': 1 if both
  halves are accepted (a > 1/2 and b > 1/2), else 0; 'product': a * b.
  """
  first, second = split(ops)
  midpoint = assistant(x, first)
  first_score, second_score = reward(x, first, midpoint), reward(midpoint, second, claim)
  if combine == 'and':
    return ((first_score > 0.5) & (second_score > 0.5)).astype(jnp.float32)
  if combine == 'product':
    return first_score * second_score
  raise ValueError(f'unknown combination {combine!r}; expected one of {COMBINATIONS}')


def user_evaluation(checker: chain_checkers.StepChecker, judge_params, x, ops, claim) -> chex.Array:
  """Level 0: the user's step checker on the single step. ops [..., 1, 2] -> [...] float32 (1 = accepts)."""
  if ops.shape[-2] != 1:
    raise ValueError(f'the user checks single steps; got segments of {ops.shape[-2]} steps')
  return (chain_checkers.step_score(checker, judge_params, x, ops[..., 0, :], claim) > 0).astype(jnp.float32)


def judge_computes(checker: chain_checkers.StepChecker, judge_params, x, ops) -> chex.Array:
  """The value the user reaches by working through the ops itself, taking each step's result as the value
  its checker scores highest: x [...], ops [..., T, 2] -> [...] int32 (exact for an exact checker)."""
  values = jnp.arange(checker.modulus, dtype=jnp.int32)

  def body(value, op):
    scores = jax.vmap(
      lambda y: chain_checkers.step_score(checker, judge_params, value, op, jnp.full_like(value, y)), out_axes=-1
    )(values)
    return jnp.argmax(scores, axis=-1).astype(jnp.int32), None

  return jax.lax.scan(body, x, jnp.moveaxis(ops, -2, 0))[0]


def unassisted_evaluation(checker: chain_checkers.StepChecker, judge_params, x, ops, claim, *, s: int) -> chex.Array:
  """The baseline: the user alone with s step checks; the probability it accepts: [...] float32.

  T <= s: it computes x_{T-1} itself (`judge_computes`) and checks the last step against the claim (1 or 0),
  so for T = 1 this is `user_evaluation`. T > s: it guesses, accepting with probability 1/2 whatever the claim.
  """
  if ops.shape[-2] > s:
    return jnp.full(jnp.shape(claim), 0.5, jnp.float32)
  before_last = judge_computes(checker, judge_params, x, ops[..., :-1, :])
  return user_evaluation(checker, judge_params, before_last, ops[..., -1:, :], claim)


def recursive_evaluation(
  x,
  ops,
  claim,
  *,
  checker: chain_checkers.StepChecker,
  judge_params,
  assistants: Sequence[Assistant],
  combine: str = 'and',
) -> chex.Array:
  """The evaluation of a level-l task unrolled down to the user: ops [..., 2^l, 2] -> [...] float32.

  Level 0 is `user_evaluation`; level k >= 1 is `assisted_evaluation` with `assistants[k - 1]` and the
  level k-1 evaluation itself as the reward model. Needs at least l assistants.
  """
  level = ops.shape[-2].bit_length() - 1
  if ops.shape[-2] != 2**level:
    raise ValueError(f'rrm segments have 2^l steps, got {ops.shape[-2]}')
  if len(assistants) < level:
    raise ValueError(f'a level-{level} evaluation needs {level} assistants, got {len(assistants)}')

  evaluation = functools.partial(user_evaluation, checker, judge_params)
  for assistant in assistants[:level]:
    evaluation = functools.partial(assisted_evaluation, assistant=assistant, reward=evaluation, combine=combine)
  return evaluation(x, ops, claim)


def segment_pools(key: chex.PRNGKey, *, levels: int, num_segments: int, modulus: int) -> tuple[chex.Array, ...]:
  """The task segments of levels 0..levels: a tuple of [num_segments, 2^l, 2] int32 arrays.

  Level 0: random single ops (u in 1..m-1, v in 0..m-1). Level l: each segment is two level-(l-1) segments,
  drawn uniformly (with replacement), joined; so both halves of a level-l task are level-(l-1) tasks.
  Segment i of level 0 and the pairs of level l each come from their own `fold_in` key.
  """

  def draw_op(i):
    u_key, v_key = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, 0), i))
    return jnp.stack(
      [
        jax.random.randint(u_key, (), 1, modulus, dtype=jnp.int32),
        jax.random.randint(v_key, (), 0, modulus, dtype=jnp.int32),
      ]
    )

  pools = [jax.vmap(draw_op)(jnp.arange(num_segments))[:, None, :]]
  for level in range(1, levels + 1):
    halves = jax.random.randint(jax.random.fold_in(key, level), (2, num_segments), 0, num_segments)
    pools.append(jnp.concatenate([pools[-1][halves[0]], pools[-1][halves[1]]], axis=1))
  return tuple(pools)


def sample_tasks(key: chex.PRNGKey, num_segments: int, batch: int, modulus: int):
  """batch tasks of a level: start values x [batch] uniform in Z_m and segment indices [batch] uniform in
  0..num_segments-1 (index the level's pool for the ops)."""
  u = jax.random.uniform(key, (2, batch))
  return _uniform_int(u[0], modulus), _uniform_int(u[1], num_segments)


def random_wrong(key: chex.PRNGKey, truth: chex.Array, modulus: int) -> chex.Array:
  """A uniformly random value != truth: [...] int32."""
  offset = 1 + _uniform_int(jax.random.uniform(key, truth.shape), modulus - 1)
  return (truth + offset) % modulus


def _uniform_int(u: chex.Array, n: int) -> chex.Array:
  """floor(u * n) for u uniform in [0, 1): uniform in 0..n-1 (clipped: float rounding can reach n)."""
  return jnp.minimum(jnp.floor(u * n).astype(jnp.int32), n - 1)
