"""RRM agents: Flax policies over Z_m that answer a chain segment with a claimed end value.

A policy is a `judges.reward_models.SegmentNet` read as softmax logits over the m possible answers. It is
trained against a reward model by KL-regularised policy improvement (the MPO / AWR family): the target for a
task is the current policy reweighted by exp(reward / temperature), q(y) ~ pi(y) exp(R(y) / tau), which
maximises E_q[R] - tau KL(q || pi), and the policy is fitted to q by cross-entropy. The answer space is small
(m values), so the reward model scores every answer of a task and q is exact, not sampled. An agent
optimised this way pushes its answers to wherever the reward model scores highest: what makes reward hacking
measurable.

As an assistant the agent states its most likely answer (the mode), so the statement is a deterministic
function of (params, task).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from judges.reward_models import NetSpec, Params, net_logits


def sample_answers(spec: NetSpec, params: Params, key: chex.PRNGKey, x, ops) -> chex.Array:
  """Answers drawn from the policy: x [B], ops [B, T, 2] -> [B] int32."""
  return jax.random.categorical(key, net_logits(spec, params, x, ops)).astype(jnp.int32)


def as_assistant(spec: NetSpec, params: Params):
  """The policy as a `protocols.rrm.Assistant`: it states its most likely answer."""
  return lambda x, ops: jnp.argmax(net_logits(spec, params, x, ops), axis=-1).astype(jnp.int32)


def policy_improvement_loss(spec: NetSpec, params: Params, x, ops, reward_table, *, temperature: float):
  """Cross-entropy to q ~ pi exp(R / temperature); returns (loss [], the policy's expected reward []).

  x [B], ops [B, T, 2]; reward_table [B, m]: the reward of every answer of each task (no gradient flows
  through it, nor through the target).
  """
  log_probs = jax.nn.log_softmax(net_logits(spec, params, x, ops))
  reward_table = jax.lax.stop_gradient(reward_table)
  target = jax.nn.softmax(jax.lax.stop_gradient(log_probs) + reward_table / temperature)
  return -(target * log_probs).sum(axis=-1).mean(), (jnp.exp(log_probs) * reward_table).sum(axis=-1).mean()
