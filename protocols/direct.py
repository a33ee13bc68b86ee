"""`direct`: the judge alone, with a budget of `s` step checks and no help.

The judge can afford to work through the chain itself only when T <= s: it then computes each step as the
result its checker scores highest, and picks the candidate equal to its result (a coin flip if neither is).
When T > s it has no evidence at all and can only guess between the two candidates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, s: int):
  length, modulus = instance.length, checker.modulus
  candidates = jnp.stack([instance.answer, instance.wrong])
  coin = jax.random.bernoulli(key).astype(jnp.int32)
  if length <= s:
    all_values = jnp.arange(modulus, dtype=jnp.int32)
    def judge_step(x, op):
      scores = chain_checkers.step_score(checker, judge_params, jnp.full_like(all_values, x),
                                         jnp.broadcast_to(op, (modulus, 2)), all_values)
      y = jnp.argmax(scores).astype(jnp.int32)
      return y, y
    computed, _ = jax.lax.scan(judge_step, instance.trace[0], instance.ops)
    matches = candidates == computed
    choice = jnp.where(matches.any(), jnp.argmax(matches).astype(jnp.int32), coin)
  else:
    computed = jnp.int32(-1)
    choice = coin
  verdict = candidates[choice]
  outcome = {'correct': verdict == instance.answer, 'verdict': verdict}
  transcript = {'x0': instance.trace[0], 'answer': instance.answer, 'wrong': instance.wrong,
                'judge_computed': computed, 'guessed': jnp.asarray(length > s) | ~(candidates == computed).any(),
                'verdict': verdict}
  return outcome, transcript
