"""`open_debate` on the chain task: the protagonist chooses which answer to argue; the antagonist argues the
other (the open debate of Kenton et al. 2024).

Both debaters have the strength `liar` (a `debate.agents.chain.LiarSpec`): whichever of them ends up defending the
wrong answer plays that liar, and the one defending the true answer states the truth (see `protocols.debate`).
The protagonist maximises its chance of winning: it estimates the liar's chance p with its own means
(`agents.liar_win_estimate`: exact for the oracle, the root value of its search for mcts:B) and, since its
opponent is as strong as it is, argues the wrong answer when p > 1/2, the true one when p < 1/2 (a coin at
p = 1/2). The judge is right when the true answer wins the debate.

Because both debaters are equally strong, the side choice changes who wins, not whether the truth wins:
the judge's accuracy is that of assigned debate with the same liar. What the open protocol measures is the
incentive: how often a debater that wants to win chooses to lie (`protagonist_honest` in the outcome), and
how often it wins when it does. With an exact checker the liar's chance is 0, so the protagonist always
argues the truth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.agents import chain as agents
from debate.tasks.chain import ChainInstance
from judges import chain_checkers
from protocols import debate


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, liar: agents.LiarSpec):
  estimate_key, tie_key, play_key = jax.random.split(key, 3)
  p_liar = agents.liar_win_estimate(liar, estimate_key, instance, checker, judge_params)
  protagonist_lies = jnp.where(p_liar == 0.5, jax.random.bernoulli(tie_key), p_liar > 0.5)
  outcome, transcript = debate.play(play_key, instance, checker, judge_params, liar=liar)
  outcome = dict(outcome, protagonist_honest=~protagonist_lies)
  transcript.update(protagonist_honest=~protagonist_lies, protagonist_estimate=p_liar)
  return outcome, transcript
