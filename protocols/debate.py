"""`debate` on the chain task: recursive bisection (see `debate.games.bisection`) between the honest debater and a
liar (`debate.agents.chain`), then the judge decides the single disputed step.

Against an exact checker the honest debater always wins: the disputed step has an agreed, true input and the
honest output is the true result. Against an imperfect checker, a liar that searches can steer the dispute
to a step (and claim) the checker gets wrong.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.agents import chain as agents
from debate.games import bisection
from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, liar: agents.LiarSpec):
  max_rounds = bisection.num_rounds(instance.max_length)
  empty = jnp.full((max(max_rounds, 1),), -1, jnp.int32)  # Traced even when no round is played.
  rounds_record = {name: empty for name in ('lo', 'hi', 'mid', 'honest_claim', 'liar_claim')}

  plan = agents.liar_plan(liar, instance, checker, judge_params)

  def one_round(carry):
    i, state, record = carry
    claim = agents.liar_claim(liar, jax.random.fold_in(key, i), state, instance, checker, judge_params, plan)
    values = {
      'lo': state.lo,
      'hi': state.hi,
      'mid': state.mid,
      'honest_claim': bisection.honest_claim(state, instance),
      'liar_claim': claim,
    }
    record = {name: record[name].at[i].set(values[name]) for name in record}
    return i + 1, bisection.step(state, claim, instance), record

  num_played, final, rounds_record = jax.lax.while_loop(
    lambda carry: ~carry[1].done, one_round, (0, bisection.init(instance), rounds_record)
  )
  x, op, honest_y, liar_y = bisection.disputed_step(final, instance)
  honest_score = chain_checkers.step_score(checker, judge_params, x, op, honest_y)
  liar_score = chain_checkers.step_score(checker, judge_params, x, op, liar_y)
  liar_won = liar_score > honest_score
  verdict = jnp.where(liar_won, instance.wrong, instance.answer)
  outcome = {'correct': ~liar_won, 'verdict': verdict, 'disputed_step': final.hi}
  transcript = {
    'T': instance.length,
    'x0': instance.trace[0],
    'answer': instance.answer,
    'wrong': instance.wrong,
    'num_rounds': num_played,
    'rounds': rounds_record,
    'disputed_step': final.hi,
    'step_input': x,
    'step_op': op,
    'honest_output': honest_y,
    'liar_output': liar_y,
    'honest_score': honest_score,
    'liar_score': liar_score,
    'verdict': verdict,
  }
  return outcome, transcript
