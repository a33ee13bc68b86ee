"""`consultancy`: one consultant, honest or lying with probability 1/2 each, gives a full trace; the judge
spot-checks `s` steps chosen at random and rejects the claim if any check fails.

The lying consultant plays its best strategy against random spot checks: a trace with exactly one wrong step
at position t*. It follows the truth up to x_{t*-1} and, from t* on, the unique values that lead to its
wrong answer (each step is invertible), so every step but t* checks out. Against an exact checker the judge
is right with probability 1/2 + 1/2 * min(1, s/T) wherever t* is.

Against an imperfect checker the position matters, and the consultant's strength is how it picks t*
(`liar`, a `debate.agents.specs.AgentSpec`): `random` uniformly; `search:B` the best, by the judge's score of the
wrong step, of B distinct random positions; `oracle` the best of all T positions. A wrong step the judge
accepts is never caught, so a strong consultant wins every lying game where such a step exists.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.agents.specs import AgentSpec
from debate.tasks import chain
from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def back_trace(instance: ChainInstance, modulus: int) -> jax.Array:
  """The values led back from the wrong answer: [max_length + 1] int32, b_T = wrong and
  b_{t-1} = f^-1(b_t, a_t), so that every step from t on checks out (b_0 is set to x_0)."""

  back = lambda y, op: (chain.invert_step(y, op, modulus), y)
  _, backward = jax.lax.scan(back, instance.wrong, instance.ops, reverse=True)  # backward[t-1] = b_t
  return jnp.concatenate([instance.trace[:1], backward])


def lying_trace(
  instance: ChainInstance, wrong_step: jax.Array, modulus: int, backward: jax.Array | None = None
) -> jax.Array:
  """The one-error trace: [max_length + 1] int32, true before `wrong_step` (in 1..T), then led back from
  the wrong answer so that every later step checks out. `backward`: a precomputed `back_trace`."""
  backward = back_trace(instance, modulus) if backward is None else backward
  t = jnp.arange(instance.max_length + 1)
  return jnp.where(t < wrong_step, instance.trace, backward)


def spot_check_steps(key, length, max_length: int, s: int):
  """min(s, max_length) distinct steps, uniform among 1..length: (steps [n] int32 1-based, valid [n] bool).

  Each step gets its own uniform draw (`fold_in(key, t)`), so the choice does not depend on `max_length`;
  when s > length the extra picks are padding and `valid` is False for them.
  """
  positions = jnp.arange(max_length)
  draws = jax.vmap(lambda t: jax.random.uniform(jax.random.fold_in(key, t)))(positions)
  order = jnp.argsort(jnp.where(positions < length, draws, 2.0))[: min(s, max_length)]
  return (order + 1).astype(jnp.int32), order < length


CONSULTANT_KINDS = ('random', 'search', 'oracle')


def best_lie(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, liar: AgentSpec):
  """The lying consultant's trace: ([max_length + 1] int32 claimed values, [] int32 its wrong step in 1..T,
  placed by the `liar` strategy)."""
  if liar.kind not in CONSULTANT_KINDS:
    raise ValueError(f'a consultant liar is one of {", ".join(CONSULTANT_KINDS)}, not {liar.kind!r}')
  backward = back_trace(instance, checker.modulus)  # A wrong step at t is (x_{t-1}, a_t) -> backward[t].
  if liar.kind == 'random':
    wrong_step = jax.random.randint(key, (), 1, instance.length + 1)
  else:
    tries = instance.max_length if liar.kind == 'oracle' else liar.budget
    candidates, valid = spot_check_steps(key, instance.length, instance.max_length, tries)
    scores = chain_checkers.step_score(
      checker, judge_params, instance.trace[candidates - 1], instance.ops[candidates - 1], backward[candidates]
    )
    wrong_step = candidates[jnp.argmax(jnp.where(valid, scores, -jnp.inf))]
  return lying_trace(instance, wrong_step, checker.modulus, backward), wrong_step


def spot_check(
  key,
  claimed,
  instance: ChainInstance,
  checker: chain_checkers.StepChecker,
  judge_params,
  s: int,
  consultant_honest,
  wrong_step,
):
  """The judge checks s random steps of the `claimed` trace and rules: (outcome, transcript)."""
  checked_steps, valid = spot_check_steps(key, instance.length, instance.max_length, s)
  scores = chain_checkers.step_score(
    checker, judge_params, claimed[checked_steps - 1], instance.ops[checked_steps - 1], claimed[checked_steps]
  )
  accepted = jnp.all((scores > 0) | ~valid)
  claimed_answer = claimed[-1]
  verdict = jnp.where(accepted, claimed_answer, jnp.where(consultant_honest, instance.wrong, instance.answer))
  outcome = {'correct': verdict == instance.answer, 'verdict': verdict, 'consultant_honest': consultant_honest}
  return outcome, {
    'T': instance.length,
    'x0': instance.trace[0],
    'answer': instance.answer,
    'wrong': instance.wrong,
    'consultant_honest': consultant_honest,
    'claimed_answer': claimed_answer,
    'wrong_step': jnp.where(consultant_honest, 0, wrong_step),
    'checked_steps': jnp.where(valid, checked_steps, 0),
    'checked_inputs': claimed[checked_steps - 1],
    'checked_ops': instance.ops[checked_steps - 1],
    'checked_outputs': claimed[checked_steps],
    'check_scores': scores,
    'accepted': accepted,
    'verdict': verdict,
  }


def play(
  key,
  instance: ChainInstance,
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  s: int,
  liar: AgentSpec = AgentSpec('random'),
):
  honest_key, lie_key, check_key = jax.random.split(key, 3)
  consultant_honest = jax.random.bernoulli(honest_key)
  lie, wrong_step = best_lie(lie_key, instance, checker, judge_params, liar)
  claimed = jnp.where(consultant_honest, instance.trace, lie)
  return spot_check(check_key, claimed, instance, checker, judge_params, s, consultant_honest, wrong_step)
