"""`open_debate`: the protagonist chooses which answer to argue; the antagonist argues the other (the open
debate of Kenton et al. 2024), on any debate game.

Both debaters have the strength of `policies[1]`: whichever of them ends up defending the wrong answer plays
that liar, and the one defending the true answer plays the honest side. The protagonist maximises its chance
of winning: it estimates the liar's chance p with its own means (`policy.estimate`: exact for the chain
oracle, the root value of its search for mcts:B, the best lookahead value for greedy, none for random) and,
since its opponent is as strong as it is, argues the wrong answer when p > 1/2, the true one when p < 1/2
(a coin at p = 1/2). The judge is right when the true answer wins the debate.

Because both debaters are equally strong, the side choice changes who wins, not whether the truth wins: the
judge's accuracy is that of assigned debate with the same liar. What the open protocol measures is the
incentive: how often a debater that wants to win chooses to lie (`protagonist_honest` in the outcome), and how
often it wins when it does. With an exact checker the liar's chance is 0, so the protagonist always argues the
truth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from protocols import debate

LIAR = 1


def play(key, game, instance, policies, judge_params, agent_params=None, *, batch_axis=None):
  estimate_key, tie_key, play_key = jax.random.split(key, 3)
  agent_params = (None,) * len(policies) if agent_params is None else agent_params
  state = game.init(play_key, instance)
  value = policies[LIAR].estimate(estimate_key, game, state, judge_params, agent_params[LIAR], batch_axis=batch_axis)
  p_liar = (jnp.where(game.current_player(state) == LIAR, value, -value) + 1) / 2
  protagonist_lies = jnp.where(p_liar == 0.5, jax.random.bernoulli(tie_key), p_liar > 0.5)
  outcome, transcript = debate.play(
    play_key, game, instance, policies, judge_params, agent_params, batch_axis=batch_axis
  )
  outcome = dict(outcome, protagonist_honest=~protagonist_lies)
  transcript.update(protagonist_honest=~protagonist_lies, protagonist_estimate=p_liar)
  return outcome, transcript
