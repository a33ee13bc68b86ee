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
  """The one-error trace: [T + 1] int32, true before `wrong_step` (1..T), led back from the lie after."""
  def back(y, op):
    x = chain.invert_step(y, op, modulus)
    return x, y
  _, backward = jax.lax.scan(back, instance.wrong, instance.ops, reverse=True)  # backward[t-1] = b_t
  back_trace = jnp.concatenate([backward[:1] * 0, backward])  # index t -> b_t for t >= 1
  t = jnp.arange(instance.length + 1)
  return jnp.where(t < wrong_step, instance.trace, back_trace)


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, s: int):
  length = instance.length
  honest_key, lie_key, check_key = jax.random.split(key, 3)
  consultant_honest = jax.random.bernoulli(honest_key)
  wrong_step = jax.random.randint(lie_key, (), 1, length + 1)
  claimed = jnp.where(consultant_honest, instance.trace, lying_trace(instance, wrong_step, checker.modulus))
  num_checks = min(s, length)
  checked_steps = jax.random.permutation(check_key, length)[:num_checks] + 1  # 1-based step indices
  scores = chain_checkers.step_score(checker, judge_params, claimed[checked_steps - 1],
                                     instance.ops[checked_steps - 1], claimed[checked_steps])
  accepted = jnp.all(scores > 0)
  claimed_answer = claimed[-1]
  other = jnp.where(consultant_honest, instance.wrong, instance.answer)
  verdict = jnp.where(accepted, claimed_answer, other)
  outcome = {'correct': verdict == instance.answer, 'verdict': verdict, 'consultant_honest': consultant_honest}
  transcript = {'x0': instance.trace[0], 'answer': instance.answer, 'wrong': instance.wrong,
                'consultant_honest': consultant_honest, 'claimed_answer': claimed_answer,
                'wrong_step': jnp.where(consultant_honest, 0, wrong_step),
                'checked_steps': checked_steps, 'checked_inputs': claimed[checked_steps - 1],
                'checked_ops': instance.ops[checked_steps - 1], 'checked_outputs': claimed[checked_steps],
                'check_scores': scores, 'accepted': accepted, 'verdict': verdict}
  return outcome, transcript
