"""`open_consultancy`: the consultant is not assigned a side; it chooses which answer to argue.

The consultant maximises the chance that the judge believes it, with full access to the judge: for each
candidate it prepares its best trace (the true trace; or its one-error lie, placed by its `liar` strategy as
in `consultancy`) and computes the exact probability that s uniform random spot checks all pass,
C(T - r, s) / C(T, s) with r the steps of that trace the judge would reject. It argues for the candidate
with the higher probability (a tie, e.g. s = 0, is a coin flip), and then the judge spot-checks as in
`consultancy`. The judge is right when a truthful claim is accepted or a false one rejected.

With an exact checker a truthful trace is always accepted and a lie only with probability (T - s) / T, so the
consultant always tells the truth and the judge is always right (s >= 1). With an imperfect checker a lie
the judge accepts can be more persuasive than a truth it wrongly rejects: the open protocol measures when a
persuasion-maximising agent chooses to lie.

`play_game` is the same protocol on any one-player consultancy game of the interface (text consultancy): the
game's first state is set to argue each answer in turn (`argue(state, side)`), the consultant's policy
estimates its outcome from each (`policy.estimate`, its own means: the root value of its search for mcts:B,
the best lookahead value for greedy, 0 for random), and it argues the answer with the higher estimate (a coin
at a tie); the game is then played from that state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.agents.specs import AgentSpec
from debate.tasks.chain import ChainInstance
from judges import chain_checkers
from protocols import consultancy, debate


def acceptance_probability(
  claimed, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, s: int
) -> jax.Array:
  """P(s distinct uniform spot checks of steps 1..T all pass) for the trace `claimed`: [] float32."""
  steps = jnp.arange(1, instance.max_length + 1)
  scores = chain_checkers.step_score(checker, judge_params, claimed[steps - 1], instance.ops[steps - 1], claimed[steps])
  rejected = jnp.sum((scores <= 0) & (steps <= instance.length))
  length = instance.length.astype(jnp.float32)
  checks = jnp.arange(min(s, instance.max_length))
  factors = jnp.where(
    checks < jnp.minimum(s, instance.length), jnp.maximum(length - rejected - checks, 0.0) / (length - checks), 1.0
  )
  return jnp.prod(factors)


def play(
  key,
  instance: ChainInstance,
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  s: int,
  liar: AgentSpec = AgentSpec('random'),
):
  lie_key, tie_key, check_key = jax.random.split(key, 3)
  lie, wrong_step = consultancy.best_lie(lie_key, instance, checker, judge_params, liar)
  p_truth = acceptance_probability(instance.trace, instance, checker, judge_params, s)
  p_lie = acceptance_probability(lie, instance, checker, judge_params, s)
  argues_truth = jnp.where(p_truth == p_lie, jax.random.bernoulli(tie_key), p_truth > p_lie)
  claimed = jnp.where(argues_truth, instance.trace, lie)
  outcome, transcript = consultancy.spot_check(
    check_key, claimed, instance, checker, judge_params, s, argues_truth, wrong_step
  )
  return outcome, {**transcript, 'p_accept_truth': p_truth, 'p_accept_lie': p_lie}


def play_game(key, game, instance, policy, judge_params, agent_params=None, *, argue, batch_axis=None):
  """Open consultancy on the one-player `game` (module docstring): (outcome, transcript) of the game (its
  `result`) plus `consultant_side` ([] int32, the answer argued) and `consultant_estimates` ([2] float32, the
  consultant's estimate arguing each answer). argue(state, side [] int32) -> the first state with the
  consultant arguing answer `side`. Keys: the game's init and moves use the third of `split(key, 3)`, the
  estimates the first (both sides with the same key), the tie's coin the second."""
  estimate_key, tie_key, play_key = jax.random.split(key, 3)
  state = game.init(play_key, instance)
  estimates = jnp.stack(
    [
      jnp.asarray(
        policy.estimate(
          estimate_key, game, argue(state, jnp.int32(side)), judge_params, agent_params, batch_axis=batch_axis
        ),
        jnp.float32,
      )
      for side in (0, 1)
    ]
  )
  side = jnp.where(estimates[0] == estimates[1], jax.random.bernoulli(tie_key), estimates[1] > estimates[0])
  side = side.astype(jnp.int32)
  outcome, transcript = debate.play(
    play_key, game, instance, (policy,), judge_params, (agent_params,), batch_axis=batch_axis, state=argue(state, side)
  )
  return outcome, {**transcript, 'consultant_side': side, 'consultant_estimates': estimates}
