"""Liars of the chain bisection debate, from weakest to strongest.

A liar is a frozen `LiarSpec`; `liar_action` maps (key, state, instance, judge) to its claim for x_mid.
- `random`: agrees with probability 1/2, otherwise states a uniformly random false value.
- `greedy`: one-step lookahead on the judge: each of its m possible claims is valued by one random
  continuation of the game to the judge's verdict (exact for the last round), and it plays the best.
- `mcts`: Monte-Carlo tree search with `mctx` (PUCT with c_puct = 1, uniform prior over Z_m, leaves valued
  by one random rollout evaluated with the judge, move = most visited), `budget` simulations per move. Its
  strength grows with the budget. The liar has full access to the judge, as in Irving et al. 2018.
- `oracle`: the exact best response, the limit of search: it scores every (disputed step, claim) the
  bisection can reach with the judge (T x m judge calls per game, made once, before the first round) and
  steers the dispute to the one the judge gets most wrong. It wins whenever any reachable step is
  exploitable, so it measures what the judge's errors allow, and how far a budgeted search is from it.
- `learned:STEP`: a policy network trained by REINFORCE against the judge (debate/training/liar.py), at its
  checkpoint of training step STEP (`budget` holds STEP); it plays the argmax of its policy. Its params
  ride on the spec as a hashable `learned_liar.Policy` (`policy`), attached by the runner.
- `az:STEP`: the self-play (AlphaZero-style) policy-value network of debate/training/selfplay_chain.py at training step
  STEP, in the liar's role; it plays the argmax of its policy (params attached by the runner, as above).
  `az:STEP@S` plays the move of an S-simulation Gumbel MuZero search with that network (`simulations`).

Honest debaters (`HonestSpec`): `midpoint`, the standard one (it states the truth at the midpoint, the only
choice bisection leaves it), and the split-choosing ones of debate/training/selfplay_chain.py, which pick where each
dispute is split: `mcts:B` (B PUCT simulations) and `az:STEP[@S]` (the self-play network in the honest role).
Against a split-choosing honest debater the liar must be random, mcts:B or az:STEP (selfplay.SPLIT_GAME_LIARS).

The lying consultant (protocols/consultancy.py) is specified with the same `LiarSpec`: `random` puts its one
wrong step at a uniformly random position, `search:B` tries B positions and keeps the one whose wrong step
the judge scores highest, `oracle` tries them all. `LiarSpec.agent` names a liar's strength across protocols
(`search:B` for both mcts:B and search:B), so ratings measured in debate can place consultancy results.

A liar may have a per-game `plan`, computed once from the instance before the first round (`liar_plan`);
only the oracle uses one.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import mctx

from debate.agents import search as mcts
from debate.games import bisection
from debate.tasks.chain import ChainInstance
from debate.training import liar as learned_liar
from debate.training import selfplay_chain as selfplay
from judges.chain_checkers import StepChecker
from judges.chain_checkers import step_score as chain_step_score

LIAR_KINDS = ('random', 'greedy', 'mcts', 'search', 'oracle', 'learned', 'az')
HONEST_KINDS = selfplay.HONEST_KINDS
LEARNED_KINDS = ('learned', 'az')  # Named by a checkpoint step; play with params attached by the runner.
BUDGETED_KINDS = ('mcts', 'search')


@dataclasses.dataclass(frozen=True)
class LiarSpec:
  kind: str
  budget: int = 0
  policy: learned_liar.Policy | None = dataclasses.field(default=None, repr=False)
  simulations: int = 0  # az only: search simulations per move (0: the network's argmax).

  def __post_init__(self):
    if self.kind not in LIAR_KINDS:
      raise ValueError(f'unknown liar {self.kind!r}; expected one of {", ".join(LIAR_KINDS)}')
    if self.kind in BUDGETED_KINDS and self.budget < 1:
      raise ValueError(f'{self.kind} liar needs a budget >= 1, e.g. {self.kind}:64, got {self.budget}')
    if self.kind in LEARNED_KINDS and self.budget < 0:
      raise ValueError(f'{self.kind} liar needs a checkpoint step >= 0, e.g. {self.kind}:1000, got {self.budget}')
    _check_simulations(self, 'liar')

  @property
  def name(self) -> str:
    if self.kind in LEARNED_KINDS:
      return f'{self.kind}:{self.budget}' + (f'@{self.simulations}' if self.simulations else '')
    return f'{self.kind}:{self.budget}' if self.kind in BUDGETED_KINDS else self.kind

  @property
  def agent(self) -> str:
    """The liar's strength, named alike in every protocol: random, greedy, search:B or oracle."""
    if self.kind in LEARNED_KINDS:
      return self.name
    return f'search:{self.budget}' if self.kind in BUDGETED_KINDS else self.kind


@dataclasses.dataclass(frozen=True)
class HonestSpec:
  """The honest debater of chain debate: midpoint (the standard one), mcts:B or az:STEP (debate/training/selfplay_chain.py)."""

  kind: str = 'midpoint'
  budget: int = 0
  policy: learned_liar.Policy | None = dataclasses.field(default=None, repr=False)
  simulations: int = 0  # az only: search simulations per move (0: the network's argmax).

  def __post_init__(self):
    _check_simulations(self, 'honest debater')
    if self.kind not in HONEST_KINDS:
      raise ValueError(f'unknown honest debater {self.kind!r}; expected midpoint, mcts:BUDGET or az:STEP')
    if self.kind == 'mcts' and self.budget < 1:
      raise ValueError(f'mcts honest debater needs a budget >= 1, e.g. mcts:64, got {self.budget}')
    if self.kind == 'az' and self.budget < 0:
      raise ValueError(f'az honest debater needs a checkpoint step >= 0, e.g. az:1000, got {self.budget}')

  @property
  def name(self) -> str:
    if self.kind == 'midpoint':
      return self.kind
    return f'{self.kind}:{self.budget}' + (f'@{self.simulations}' if self.simulations else '')


def _check_simulations(spec, role: str) -> None:
  if spec.simulations and spec.kind != 'az':
    raise ValueError(f'only an az {role} searches with its network (az:STEP@SIMULATIONS), not {spec.kind}')
  if spec.simulations < 0:
    raise ValueError(f'az {role} needs simulations >= 1 after @, e.g. az:1000@16, got {spec.simulations}')


def random_claim(
  key: chex.PRNGKey, state: bisection.BisectionState, instance: ChainInstance, modulus: int
) -> chex.Array:
  """Agree with probability 1/2, else a uniformly random false value for x_mid: [] int32."""
  agree_key, value_key = jax.random.split(key)
  truth = bisection.honest_claim(state, instance)
  false_value = (truth + jax.random.randint(value_key, (), 1, modulus)) % modulus
  return jnp.where(jax.random.bernoulli(agree_key), truth, false_value)


def random_rollout_value(key, state, instance, checker: StepChecker, judge_params):
  """Plays the random liar from `state` to the end; 1.0 if the judge then sides with the liar, else 0.0."""

  def body(carry):
    i, state = carry
    claim = random_claim(jax.random.fold_in(key, i), state, instance, checker.modulus)
    return i + 1, bisection.step(state, claim, instance)

  _, final = jax.lax.while_loop(lambda carry: ~carry[1].done, body, (0, state))
  return bisection.liar_wins(final, instance, checker, judge_params).astype(jnp.float32)


def _greedy_values(key, state, instance, checker: StepChecker, judge_params):
  """One random continuation's verdict after each of the m possible claims: [m] float32."""
  claims = jnp.arange(checker.modulus, dtype=jnp.int32)

  def value(claim, k):
    return random_rollout_value(k, bisection.step(state, claim, instance), instance, checker, judge_params)

  return jax.vmap(value)(claims, jax.random.split(key, checker.modulus))


def greedy_claim(key, state, instance, checker: StepChecker, judge_params):
  value_key, tie_key = jax.random.split(key)
  values = _greedy_values(value_key, state, instance, checker, judge_params)
  return mcts.argmax_random_tiebreak(tie_key, values).astype(jnp.int32)


def _recurrent_fn(checker: StepChecker):
  """The mctx model of the bisection game: exact dynamics, terminal reward = liar wins, value = rollout."""

  def recurrent_fn(params, key, action, embedding):
    instance, judge_params = params  # Leading batch axis of size 1 on every array.

    def one(key, action, state, instance):
      new_state = bisection.step(state, action.astype(jnp.int32), instance)
      just_finished = new_state.done & ~state.done
      reward = jnp.where(
        just_finished, bisection.liar_wins(new_state, instance, checker, judge_params).astype(jnp.float32), 0.0
      )
      value = jnp.where(new_state.done, 0.0, random_rollout_value(key, new_state, instance, checker, judge_params))
      return reward, jnp.where(new_state.done, 0.0, 1.0), value, new_state

    keys = jax.random.split(key, action.shape[0])
    reward, discount, value, new_embedding = jax.vmap(one)(keys, action, embedding, instance)
    output = mctx.RecurrentFnOutput(
      reward=reward,
      discount=discount,
      value=value,
      prior_logits=jnp.zeros((action.shape[0], checker.modulus), jnp.float32),
    )
    return output, new_embedding

  return recurrent_fn


def _mcts_search(key, state, instance, checker: StepChecker, judge_params, budget: int):
  """`budget` MCTS simulations from `state` for one game: (root visit counts [m], root value []).

  The tree is cut at the rounds this dispute can still take (a traced depth), so the search never depends on
  how the instance is padded and spends no simulations below finished games.
  """
  search_key, rollout_key = jax.random.split(key)
  batched = jax.tree.map(lambda a: a[None], (state, instance))
  root_value = random_rollout_value(rollout_key, state, instance, checker, judge_params)
  root = mctx.RootFnOutput(
    prior_logits=jnp.zeros((1, checker.modulus), jnp.float32), value=root_value[None], embedding=batched[0]
  )
  with mcts.fixed_depth_backward(bisection.num_rounds(instance.max_length) + 2):
    output = mctx.muzero_policy(
      params=(batched[1], judge_params),
      rng_key=search_key,
      root=root,
      recurrent_fn=_recurrent_fn(checker),
      num_simulations=budget,
      max_depth=jnp.maximum(bisection.rounds_left(state), 1),
      dirichlet_fraction=0.0,
      pb_c_init=1.0,
    )
  summary = output.search_tree.summary()
  return summary.visit_counts[0].astype(jnp.float32), summary.value[0]


def mcts_claim(key, state, instance, checker: StepChecker, judge_params, budget: int):
  """Runs `budget` MCTS simulations from `state` for one game and plays the most visited claim."""
  search_key, tie_key = jax.random.split(key)
  visits, _ = _mcts_search(search_key, state, instance, checker, judge_params, budget)
  return mcts.argmax_random_tiebreak(tie_key, visits).astype(jnp.int32)


def oracle_target(instance, checker: StepChecker, judge_params, chunk: int = 64):
  """The reachable (step, claim) with the largest judge margin for the liar: ([] int32, [] int32, margin []).

  The liar wins the debate for sure when margin > 0 and cannot win it at all otherwise.

  Every step t < T can end a bisection with any claim for x_t (t is the midpoint of some dispute); step T
  only with the liar's answer, which it stated at the start. Steps are scored `chunk` at a time in a
  `while_loop` that stops at T, so the cost grows with T, not with the padding.
  """
  modulus, max_length = checker.modulus, instance.max_length
  chunk = min(chunk, max_length)
  claims = jnp.arange(modulus, dtype=jnp.int32)

  def best_in_chunk(start):
    steps = start + jnp.arange(1, chunk + 1)
    index = jnp.minimum(steps, max_length)
    x_in, ops, truth = instance.trace[index - 1], instance.ops[index - 1], instance.trace[index]
    score = lambda y: chain_step_score(checker, judge_params, x_in, ops, y)
    margins = jax.vmap(lambda c: score(jnp.full_like(truth, c)), out_axes=-1)(claims) - score(truth)[:, None]
    allowed = jnp.where(
      (steps == instance.length)[:, None],
      claims[None, :] == instance.wrong,
      (claims[None, :] != truth[:, None]) & (steps < instance.length)[:, None],
    )
    flat = jnp.where(allowed, margins, -jnp.inf).reshape(-1)
    best = jnp.argmax(flat)
    return flat[best], steps[best // modulus].astype(jnp.int32), (best % modulus).astype(jnp.int32)

  def body(carry):
    start, best = carry
    candidate = best_in_chunk(start)
    better = candidate[0] > best[0]
    return start + chunk, jax.tree.map(lambda new, old: jnp.where(better, new, old), candidate, best)

  initial = (jnp.float32(-jnp.inf), jnp.int32(1), jnp.int32(0))
  _, (margin, step, claim) = jax.lax.while_loop(lambda carry: carry[0] < instance.length, body, (0, initial))
  return step, claim, margin


def liar_plan(liar: LiarSpec, instance, checker: StepChecker, judge_params):
  """What the liar works out once per game before the first round (a pytree; None if nothing)."""
  if liar.kind == 'oracle':
    return oracle_target(instance, checker, judge_params)
  return None


def oracle_claim(plan, state, instance, modulus: int):
  """Steer the dispute to the planned step: disagree while it lies at or left of mid, else agree."""
  target_step, target_claim, _ = plan
  mid = state.mid
  truth = instance.trace[mid]
  some_false_value = (truth + 1) % modulus
  return jnp.where(mid == target_step, target_claim, jnp.where(target_step < mid, some_false_value, truth))


def liar_win_estimate(liar: LiarSpec, key, instance, checker: StepChecker, judge_params) -> chex.Array:
  """The liar's own estimate, before the first round, of its chance to win this debate: [] float32.

  oracle: exact (1 if some reachable step is exploitable, else 0); mcts:B: the root value of a B-simulation
  search; greedy: the best of its one-rollout values of the first claims; random: 1/2 (it has no model).
  """
  state = bisection.init(instance)
  if liar.kind == 'oracle':
    return (oracle_target(instance, checker, judge_params)[2] > 0).astype(jnp.float32)
  if liar.kind == 'mcts':
    return _mcts_search(key, state, instance, checker, judge_params, liar.budget)[1]
  if liar.kind == 'greedy':
    return jnp.max(_greedy_values(key, state, instance, checker, judge_params))
  return jnp.float32(0.5)


def liar_claim(liar: LiarSpec, key, state, instance, checker: StepChecker, judge_params, plan=None) -> chex.Array:
  """The liar's statement of x_mid in `state`: [] int32. Unbatched; vmap over games."""
  if liar.kind == 'oracle':
    return oracle_claim(plan, state, instance, checker.modulus)
  if liar.kind == 'random':
    return random_claim(key, state, instance, checker.modulus)
  if liar.kind == 'greedy':
    return greedy_claim(key, state, instance, checker, judge_params)
  if liar.kind == 'learned':
    return learned_liar.policy_claim(liar.policy, state, instance, checker.modulus)
  if liar.kind == 'az':
    return selfplay.az_liar_claim(liar, key, state, instance, checker, judge_params)
  return mcts_claim(key, state, instance, checker, judge_params, liar.budget)
