"""`debate` on the chain task: recursive bisection (see `debate.bisection`) between the honest debater and a
liar (`debate.agents`), then the judge decides the single disputed step.

Against an exact checker the honest debater always wins: the disputed step has an agreed, true input and the
honest output is the true result. Against an imperfect checker, a liar that searches can steer the dispute
to a step (and claim) the checker gets wrong.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate import agents, bisection
from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *,
         liar: agents.LiarSpec):
  rounds = bisection.num_rounds(instance.length)

  def one_round(state, round_key):
    claim = agents.liar_claim(liar, round_key, state, instance, checker, judge_params)
    record = {'active': ~state.done, 'lo': state.lo, 'hi': state.hi, 'mid': state.mid,
              'honest_claim': bisection.honest_claim(state, instance), 'liar_claim': claim}
    return bisection.step(state, claim, instance), record

  final, rounds_record = jax.lax.scan(one_round, bisection.init(instance), jax.random.split(key, rounds))
  x, op, honest_y, liar_y = bisection.disputed_step(final, instance)
  honest_score = chain_checkers.step_score(checker, judge_params, x, op, honest_y)
  liar_score = chain_checkers.step_score(checker, judge_params, x, op, liar_y)
  liar_won = liar_score > honest_score
  verdict = jnp.where(liar_won, instance.wrong, instance.answer)
  outcome = {'correct': ~liar_won, 'verdict': verdict, 'disputed_step': final.hi}
  transcript = {'x0': instance.trace[0], 'answer': instance.answer, 'wrong': instance.wrong,
                'rounds': rounds_record, 'disputed_step': final.hi, 'step_input': x, 'step_op': op,
                'honest_output': honest_y, 'liar_output': liar_y, 'honest_score': honest_score,
                'liar_score': liar_score, 'verdict': verdict}
  return outcome, transcript
