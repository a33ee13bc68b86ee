"""`consultancy`: one consultant, honest or lying with probability 1/2 each, gives a full trace; the judge
spot-checks `s` steps chosen at random and rejects the claim if any check fails.

The lying consultant plays its best strategy against random spot checks: a trace with exactly one wrong step
at a uniformly random position t*. It follows the truth up to x_{t*-1} and, from t* on, the unique values
that lead to its wrong answer (each step is invertible), so every step but t* checks out. Against an exact
checker the judge is right with probability 1/2 + 1/2 * min(1, s/T).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.tasks import chain
from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def lying_trace(instance: ChainInstance, wrong_step: jax.Array, modulus: int) -> jax.Array:
  """The one-error trace: [max_length + 1] int32, true before `wrong_step` (in 1..T), then led back from
  the wrong answer so that every later step checks out."""
  def back(y, op):
    return chain.invert_step(y, op, modulus), y
  _, backward = jax.lax.scan(back, instance.wrong, instance.ops, reverse=True)  # backward[t-1] = b_t
  back_trace = jnp.concatenate([instance.trace[:1], backward])
  t = jnp.arange(instance.max_length + 1)
  return jnp.where(t < wrong_step, instance.trace, back_trace)


def spot_check_steps(key, length, max_length: int, s: int):
  """min(s, max_length) distinct steps, uniform among 1..length: (steps [n] int32 1-based, valid [n] bool).

  Each step gets its own uniform draw (`fold_in(key, t)`), so the choice does not depend on `max_length`;
  when s > length the extra picks are padding and `valid` is False for them.
  """
  positions = jnp.arange(max_length)
  draws = jax.vmap(lambda t: jax.random.uniform(jax.random.fold_in(key, t)))(positions)
  order = jnp.argsort(jnp.where(positions < length, draws, 2.0))[:min(s, max_length)]
  return (order + 1).astype(jnp.int32), order < length


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, s: int):
  honest_key, lie_key, check_key = jax.random.split(key, 3)
  consultant_honest = jax.random.bernoulli(honest_key)
  wrong_step = jax.random.randint(lie_key, (), 1, instance.length + 1)
  claimed = jnp.where(consultant_honest, instance.trace, lying_trace(instance, wrong_step, checker.modulus))
  checked_steps, valid = spot_check_steps(check_key, instance.length, instance.max_length, s)
  scores = chain_checkers.step_score(checker, judge_params, claimed[checked_steps - 1],
                                     instance.ops[checked_steps - 1], claimed[checked_steps])
  accepted = jnp.all((scores > 0) | ~valid)
  claimed_answer = claimed[-1]
  other = jnp.where(consultant_honest, instance.wrong, instance.answer)
  verdict = jnp.where(accepted, claimed_answer, other)
  outcome = {'correct': verdict == instance.answer, 'verdict': verdict, 'consultant_honest': consultant_honest}
  transcript = {'T': instance.length, 'x0': instance.trace[0], 'answer': instance.answer,
                'wrong': instance.wrong, 'consultant_honest': consultant_honest,
                'claimed_answer': claimed_answer, 'wrong_step': jnp.where(consultant_honest, 0, wrong_step),
                'checked_steps': jnp.where(valid, checked_steps, 0),
                'checked_inputs': claimed[checked_steps - 1], 'checked_ops': instance.ops[checked_steps - 1],
                'checked_outputs': claimed[checked_steps], 'check_scores': scores, 'accepted': accepted,
                'verdict': verdict}
  return outcome, transcript
