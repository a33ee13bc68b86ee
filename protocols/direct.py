"""`direct`: the judge alone, with no help.

Chain (`play`): the judge has a budget of `s` step checks. It can afford to work through the chain itself only when T <= s: it then computes each step as the
result its checker scores highest, and picks the candidate equal to its result (a coin flip if neither is).
When T > s it has no evidence at all and can only guess between the two candidates.

Images (`play_images`): the judge sees k uniformly random nonzero pixels and names its argmax class.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from debate.tasks import images as image_task
from debate.tasks.chain import ChainInstance
from judges import chain_checkers


def play(key, instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, s: int):
  modulus = checker.modulus
  candidates = jnp.stack([instance.answer, instance.wrong])
  coin = jax.random.bernoulli(key).astype(jnp.int32)
  all_values = jnp.arange(modulus, dtype=jnp.int32)

  def judge_step(x, t):
    scores = chain_checkers.step_score(
      checker, judge_params, jnp.full_like(all_values, x), jnp.broadcast_to(instance.ops[t], (modulus, 2)), all_values
    )
    return jnp.where(t < instance.length, jnp.argmax(scores).astype(jnp.int32), x), None

  affordable = instance.length <= s
  computed, _ = jax.lax.scan(judge_step, instance.trace[0], jnp.arange(min(s, instance.max_length)))
  matches = affordable & (candidates == computed)
  choice = jnp.where(matches.any(), jnp.argmax(matches).astype(jnp.int32), coin)
  verdict = candidates[choice]
  return {'correct': verdict == instance.answer, 'verdict': verdict}, {
    'T': instance.length,
    'x0': instance.trace[0],
    'answer': instance.answer,
    'wrong': instance.wrong,
    'judge_computed': jnp.where(affordable, computed, -1),
    'guessed': ~matches.any(),
    'verdict': verdict,
  }


def play_images(key, game, judge, judge_params, *, k: int):
  """game: a `debate.games.pixels.ImageGame` -> (outcome {correct, verdict}, transcript {revealed [k] pixels
  in raster order (H * W for none), logits [C]})."""
  mask = image_task.random_nonzero_mask(key, game.image, k)
  logits = judge.logits(judge_params, image_task.judge_planes(game.image, mask)[None])[0]
  verdict = jnp.argmax(logits).astype(jnp.int32)
  revealed = jnp.nonzero(mask.reshape(-1), size=k, fill_value=game.image.size)[0].astype(jnp.int32)
  return {'correct': verdict == game.label, 'verdict': verdict}, {'revealed': revealed, 'logits': logits}
