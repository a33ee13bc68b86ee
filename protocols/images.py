"""The protocols of Irving et al. 2018 on the sparse-pixel image task, each on ONE game (vmap over games).

- `direct`: the judge sees k uniformly random nonzero pixels and names its argmax class.
- `consultancy`: one consultant argues for `game.claim` (the true label or a wrong one, assigned by the
  caller) and chooses all k pixels; the judge accepts iff the claim has the highest logit. The judge is
  right iff it accepts a true claim or rejects a false one.
- `debate`: an honest and a lying debater alternate, revealing one nonzero pixel each, k in all; with
  precommit (`game.claim` = the lie) the honest side wins iff logit[label] > logit[lie]; without precommit
  (`game.claim` = -1) iff the judge's argmax over all classes is the label. Who moves first is static
  (`honest_first`, the same for every game of a batch). The judge is right iff the honest side wins.

Each returns (outcome, transcript): outcome `correct` ([] bool), `verdict` ([] int32, the class the judge
settles on: argmax for direct and no-precommit debate, the winner's claim with precommit, the claim if
accepted else -1 in consultancy) and protocol extras; transcript `revealed` ([k] int32 pixels in move order,
H * W for none), `logits` ([C] the judge's final logits).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.agents import images as image_agents
from debate.agents.images import AgentSpec
from debate.games import pixels as image_game
from debate.games.pixels import ImageGame, Roles
from debate.tasks import images as image_task


def play_direct(key, game: ImageGame, judge, judge_params, *, k: int):
  mask = image_task.random_nonzero_mask(key, game.image, k)
  logits = judge.logits(judge_params, image_task.judge_planes(game.image, mask)[None])[0]
  verdict = jnp.argmax(logits).astype(jnp.int32)
  revealed = jnp.nonzero(mask.reshape(-1), size=k, fill_value=game.image.size)[0].astype(jnp.int32)
  return {'correct': verdict == game.label, 'verdict': verdict}, {'revealed': revealed, 'logits': logits}


def _play_moves(key, game: ImageGame, judge, judge_params, *, k: int, roles: Roles, honest: AgentSpec, liar: AgentSpec):
  """k moves, made by `honest` when `roles.honest_to_move(t)` and by `liar` otherwise: the final ImageState.

  The mover depends only on the move number and `roles.honest_first` (a static or an unbatched value), never
  on the game, so under `vmap` the choice between two different agents stays a real branch and only the
  mover's search runs.
  """

  def body(t, state):
    move_key = jax.random.fold_in(key, t)
    move = lambda agent: image_agents.choose_pixel(agent, move_key, game, state, judge, judge_params, roles)
    if honest == liar:
      pixel = move(honest)
    else:
      pixel = jax.lax.cond(roles.honest_to_move(t), lambda: move(honest), lambda: move(liar))
    return image_game.step(state, pixel)

  return jax.lax.fori_loop(0, k, body, image_game.init_state(game, k))


def play_consultancy(key, game: ImageGame, judge, judge_params, *, k: int, consultant: AgentSpec):
  state = _play_moves(
    key, game, judge, judge_params, k=k, roles=Roles('consultancy'), honest=consultant, liar=consultant
  )
  logits = image_game.judge_logits(judge, judge_params, game, state)
  accept = image_game.consultant_margin(game, logits) > 0
  honest = game.claim == game.label
  outcome = {
    'correct': accept == honest,
    'verdict': jnp.where(accept, game.claim, -1).astype(jnp.int32),
    'consultant_honest': honest,
    'accept': accept,
  }
  return outcome, {'revealed': state.revealed, 'logits': logits}


def play_debate(key, game: ImageGame, judge, judge_params, *, k: int, honest: AgentSpec, liar: AgentSpec, honest_first):
  """`honest_first`: a Python bool, or a [] bool array that is the same for every game of a batch."""
  roles = Roles('debate', honest_first)
  state = _play_moves(key, game, judge, judge_params, k=k, roles=roles, honest=honest, liar=liar)
  logits = image_game.judge_logits(judge, judge_params, game, state)
  margin = image_game.honest_margin(game, logits)
  honest_wins = margin > 0
  lie_or_argmax = jnp.where(game.claim >= 0, game.claim, jnp.argmax(logits))
  outcome = {
    'correct': honest_wins,
    'verdict': jnp.where(honest_wins, game.label, lie_or_argmax).astype(jnp.int32),
    'honest_margin': margin,
  }
  return outcome, {'revealed': state.revealed, 'logits': logits}
