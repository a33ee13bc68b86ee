"""Chain bisection debate (Brown-Cohen, Irving & Piliouras 2023) as a game of the interface.

The rules are those of `debate.games.bisection`: the honest debater (player 0) claims the true answer x_T, the
liar (player 1) the instance's `wrong` one; they agree on x_lo and disagree on x_hi (initially [0, T]); each
round the dispute is split at a point, both state its value (the honest debater the truth; the liar any value
of Z_m, the truth = agreeing), it narrows to [split, hi] on agreement and to [lo, split] otherwise, and when
it is a single step the judge (a step checker) picks one of the two claimed results.

Two variants (`honest_splits`):
- False, the standard game: the split is the midpoint and the honest debater has nothing to choose, so only
  the liar moves (an action = its claim, A = m); a game lasts ceil(log2 T) moves.
- True, the split-choice game: each round is two moves, the honest debater choosing WHERE to split among
  `len(SPLITS)` = 3 points (action k: split = lo + clip(floor(span * SPLITS[k]), 1, span - 1), so action 0
  is the midpoint), then the liar's claim. The worst split shrinks a span to 3/4, so a game lasts at most
  2 `max_rounds(T)` moves. With the honest debater always playing action 0 it is the standard game.

Against an imperfect judge the liar searches for a (step, claim) the judge gets wrong and steers the
dispute there; in the split-choice game the honest debater can steer away. The instance may be padded
(`debate.tasks.chain`): a game lasts the rounds of its own length, and `moves_left` is exact, so searches do
not depend on the padding.

The game's random player: the liar agrees with probability 1/2 and otherwise states a uniformly random false
value; the honest debater picks a uniform split. Learned agents observe `observe(state)` (the same view for
both roles) through `PolicyValueMLP`. Chain-only agents: `OracleLiar` (the exact best response) and
`Midpoint` (the standard honest debater in the split-choice game).
"""

from __future__ import annotations

import dataclasses
import functools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from debate.agents.policies import Policy
from debate.games import base, bisection
from debate.tasks import chain
from debate.tasks.chain import ChainInstance
from judges import chain_checkers

HONEST, LIAR = 0, 1
SPLITS = ((1, 2), (1, 4), (3, 4))  # Honest action k splits a span s at floor(s * num / den), clipped.
NUM_SPLITS = len(SPLITS)
MAX_ROUNDS_FEATURE = 16


@chex.dataclass(frozen=True)
class ChainState:
  """instance: the ChainInstance; dispute: the bisection state (lo, hi, liar_hi: [] int32); choice: [] int32,
  the honest debater's split action this round (0 = midpoint); liar_to_move: [] bool; num_moves: [] int32."""

  instance: ChainInstance
  dispute: bisection.BisectionState
  choice: chex.Array
  liar_to_move: chex.Array
  num_moves: chex.Array


def split_point(dispute: bisection.BisectionState, choice: chex.Array) -> chex.Array:
  """Where honest action `choice` ([] int32 in [0, 3)) splits the dispute: [] int32 (0: the midpoint)."""
  span = dispute.hi - dispute.lo
  num, den = jnp.array(SPLITS, jnp.int32)[choice]
  return dispute.lo + jnp.clip(span * num // den, 1, jnp.maximum(span - 1, 1))


@functools.lru_cache(maxsize=None)
def rounds_table(max_length: int) -> tuple[int, ...]:
  """table[s] = the most rounds a dispute of span s can take with chosen splits, s = 0 .. max_length."""
  table = [0, 0]
  for span in range(2, max_length + 1):
    cuts = {min(max(span * n // d, 1), span - 1) for n, d in SPLITS}
    table.append(1 + max(max(table[c], table[span - c]) for c in cuts))
  return tuple(table[: max_length + 1])


def max_rounds(length: int) -> int:
  """The most rounds a split-choice game on `length` steps can take (worst-case splits)."""
  return rounds_table(max(length, 1))[max(length, 1)]


class PolicyValueMLP(nn.Module):
  """observation: [..., obs] -> (logits [..., modulus], value [...] in [-1, 1] for the mover)."""

  width: int
  depth: int
  modulus: int

  @nn.compact
  def __call__(self, observation):
    h = observation
    for _ in range(self.depth):
      h = nn.relu(nn.Dense(self.width)(h))
    return nn.Dense(self.modulus)(h), jnp.tanh(nn.Dense(1)(h)[..., 0])


@dataclasses.dataclass(frozen=True)
class ChainDebate(base.Game):
  """Bisection debate on chains of up to `max_length` steps (static), judged by `checker` (its params: the
  judge params of `verdict`); `honest_splits`: the split-choice variant (see the module docstring)."""

  checker: chain_checkers.StepChecker
  max_length: int
  honest_splits: bool = False
  constant_fields = ('instance',)
  num_players = 2

  @property
  def num_actions(self) -> int:
    return self.checker.modulus

  @property
  def max_moves(self) -> int:
    if self.honest_splits:
      return max(2 * max_rounds(self.max_length), 1)
    return max(bisection.num_rounds(self.max_length), 1)

  @property
  def movers(self) -> tuple[int, ...]:
    return (HONEST, LIAR) if self.honest_splits else (LIAR,)

  def init(self, key, instance: ChainInstance) -> ChainState:
    if instance.max_length != self.max_length:
      raise ValueError(f'instance padded to {instance.max_length} steps, game compiled for {self.max_length}')
    return ChainState(
      instance=instance,
      dispute=bisection.init(instance),
      choice=jnp.int32(0),
      liar_to_move=jnp.bool_(not self.honest_splits),
      num_moves=jnp.int32(0),
    )

  def current_player(self, state: ChainState) -> chex.Array:
    return state.liar_to_move.astype(jnp.int32)

  def terminal(self, state: ChainState) -> chex.Array:
    return state.dispute.done

  def moves_left(self, state: ChainState) -> chex.Array:
    if not self.honest_splits:
      return bisection.rounds_left(state.dispute)
    rounds = jnp.array(rounds_table(self.max_length), jnp.int32)[state.dispute.hi - state.dispute.lo]
    return 2 * rounds - state.liar_to_move.astype(jnp.int32)

  def _legal_actions(self, state: ChainState) -> chex.Array:
    return state.liar_to_move | (jnp.arange(self.num_actions) < NUM_SPLITS)

  def _apply(self, state: ChainState, action: chex.Array) -> ChainState:
    d = state.dispute
    claimed = bisection.step(d, action, state.instance, split_point(d, state.choice))
    if not self.honest_splits:  # Only the liar moves.
      return state.replace(dispute=claimed, num_moves=state.num_moves + 1)
    liar = state.liar_to_move
    return state.replace(
      dispute=jax.tree.map(lambda new, old: jnp.where(liar, new, old), claimed, d),
      choice=jnp.where(liar, 0, action).astype(jnp.int32),
      liar_to_move=~liar,
      num_moves=state.num_moves + 1,
    )

  def random_action(self, key, state: ChainState) -> chex.Array:
    agree_key, value_key = jax.random.split(key)
    truth = state.instance.trace[split_point(state.dispute, state.choice)]
    false_value = (truth + jax.random.randint(value_key, (), 1, self.num_actions)) % self.num_actions
    claim = jnp.where(jax.random.bernoulli(agree_key), truth, false_value).astype(jnp.int32)
    if not self.honest_splits:
      return claim
    return jnp.where(state.liar_to_move, claim, jax.random.randint(key, (), 0, NUM_SPLITS)).astype(jnp.int32)

  def judge_view(self, state: ChainState) -> dict:
    """The disputed step: x_in, honest_y, liar_y: [] int32; op: [2] int32 (the checker never sees the trace)."""
    x, op, honest_y, liar_y = bisection.disputed_step(state.dispute, state.instance)
    return {'x_in': x, 'op': op, 'honest_y': honest_y, 'liar_y': liar_y}

  def verdict(self, judge_params, state: ChainState) -> chex.Array:
    """[2] float32: (+1, -1) if the checker picks the honest claim of the disputed step, else (-1, +1)."""
    liar_won = bisection.liar_wins(state.dispute, state.instance, self.checker, judge_params)
    return jnp.where(liar_won, -1.0, 1.0) * jnp.array([1.0, -1.0], jnp.float32)

  def move_record(self, state: ChainState, action: chex.Array) -> dict:
    """lo, hi: the dispute; mid: its split point; (split-choice game: honest_choice, the split action);
    honest_claim: the truth there; liar_claim: the liar's claim (-1 on the honest debater's moves)."""
    choice = jnp.where(state.liar_to_move, state.choice, jnp.clip(action, 0, NUM_SPLITS - 1))
    mid = split_point(state.dispute, choice)
    split_choice = {'honest_choice': choice} if self.honest_splits else {}
    return {
      'lo': state.dispute.lo,
      'hi': state.dispute.hi,
      'mid': mid,
      **split_choice,
      'honest_claim': state.instance.trace[mid],
      'liar_claim': jnp.where(state.liar_to_move, action, -1).astype(jnp.int32),
    }

  def result(self, judge_params, state: ChainState, moves) -> tuple[dict, dict]:
    """(outcome, transcript) of a finished game; `moves`: its `debate.games.play.Outcome`. The transcript's
    `rounds` hold one entry per round (in the split-choice game, the liar's moves: each round's second)."""
    instance = state.instance
    x, op, honest_y, liar_y = bisection.disputed_step(state.dispute, instance)
    honest_score = chain_checkers.step_score(self.checker, judge_params, x, op, honest_y)
    liar_score = chain_checkers.step_score(self.checker, judge_params, x, op, liar_y)
    liar_won = liar_score > honest_score
    verdict = jnp.where(liar_won, instance.wrong, instance.answer)
    outcome = {'correct': ~liar_won, 'verdict': verdict, 'disputed_step': state.dispute.hi}
    transcript = {
      'T': instance.length,
      'x0': instance.trace[0],
      'answer': instance.answer,
      'wrong': instance.wrong,
      'num_rounds': moves.num_moves // 2 if self.honest_splits else moves.num_moves,
      'rounds': jax.tree.map(lambda r: r[1::2], moves.records) if self.honest_splits else moves.records,
      'disputed_step': state.dispute.hi,
      'step_input': x,
      'step_op': op,
      'honest_output': honest_y,
      'liar_output': liar_y,
      'honest_score': honest_score,
      'liar_score': liar_score,
      'verdict': verdict,
    }
    return outcome, transcript

  def observe(self, state: ChainState) -> chex.Array:
    """The mover's view ([(7 NUM_SPLITS + 3) m + MAX_ROUNDS_FEATURE + 2 + NUM_SPLITS] float32, one-hots): which role moves, the rounds the dispute can
    still take, x_lo, x_hi, the liar's claim for x_hi, the honest choice (on the liar's move) and, around
    each candidate split c, x_{c-1}, the step into c, x_c, the step out of c, x_{c+1}."""
    d, instance, modulus = state.dispute, state.instance, self.num_actions
    trace = lambda t: instance.trace[jnp.clip(t, 0, self.max_length)]
    op = lambda t: instance.ops[jnp.clip(t - 1, 0, self.max_length - 1)]  # The step into x_t.
    candidates = []
    for k in range(NUM_SPLITS):
      c = split_point(d, jnp.int32(k))
      candidates += [trace(c - 1), op(c)[0], op(c)[1], trace(c), op(c + 1)[0], op(c + 1)[1], trace(c + 1)]
    values = jnp.stack([trace(d.lo), trace(d.hi), d.liar_hi] + candidates)
    rounds = jnp.array(rounds_table(self.max_length), jnp.int32)[d.hi - d.lo]
    return jnp.concatenate(
      [
        jax.nn.one_hot(values, modulus).reshape(-1),
        jax.nn.one_hot(jnp.minimum(rounds, MAX_ROUNDS_FEATURE - 1), MAX_ROUNDS_FEATURE),
        jax.nn.one_hot(self.current_player(state), 2),
        jax.nn.one_hot(state.choice, NUM_SPLITS) * state.liar_to_move,
      ]
    )

  def network(self, width: int, depth: int) -> nn.Module:
    return PolicyValueMLP(width, depth, self.num_actions)


# ------------------------------------------------------------------------------------------------------------
# Chain-only agents.


def oracle_target(instance: ChainInstance, checker: chain_checkers.StepChecker, judge_params, chunk: int = 64):
  """The reachable (step, claim) with the largest judge margin for the liar: ([] int32, [] int32, margin []).

  The liar wins the standard debate for sure when margin > 0 and cannot win it at all otherwise. Every step
  t < T can end a bisection with any claim for x_t (t is the midpoint of some dispute); step T only with the
  liar's answer, stated at the start. Steps are scored `chunk` at a time in a `while_loop` that stops at T,
  so the cost grows with T, not with the padding.
  """
  modulus, max_length = checker.modulus, instance.max_length
  chunk = min(chunk, max_length)
  claims = jnp.arange(modulus, dtype=jnp.int32)

  def best_in_chunk(start):
    steps = start + jnp.arange(1, chunk + 1)
    index = jnp.minimum(steps, max_length)
    x_in, ops, truth = instance.trace[index - 1], instance.ops[index - 1], instance.trace[index]
    score = lambda y: chain_checkers.step_score(checker, judge_params, x_in, ops, y)
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


@dataclasses.dataclass(frozen=True)
class OracleLiar(Policy):
  """The exact best response in the standard game, the limit of search: it scores every (disputed step,
  claim) the bisection can reach once, before the first move (its plan: T x m judge calls), and steers the
  dispute there (disagree while the target lies at or left of the midpoint, else agree). It wins whenever
  any reachable step is exploitable. Its estimate is exact (+1 or -1)."""

  def plan(self, key, game: ChainDebate, state: ChainState, judge_params, agent_params):
    return oracle_target(state.instance, game.checker, judge_params)

  def __call__(self, key, game: ChainDebate, state: ChainState, judge_params, agent_params, plan, *, batch_axis=None):
    target_step, target_claim, _ = plan
    mid, truth = state.dispute.mid, state.instance.trace[state.dispute.mid]
    some_false_value = (truth + 1) % game.num_actions
    return jnp.where(mid == target_step, target_claim, jnp.where(target_step < mid, some_false_value, truth))

  def estimate(self, key, game: ChainDebate, state: ChainState, judge_params, agent_params, *, batch_axis=None):
    return jnp.where(oracle_target(state.instance, game.checker, judge_params)[2] > 0, 1.0, -1.0)


@dataclasses.dataclass(frozen=True)
class Midpoint(Policy):
  """The standard honest debater in the split-choice game: always the midpoint (action 0)."""

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    return jnp.int32(0)


@dataclasses.dataclass(frozen=True)
class TrainingGames:
  """The training games of learned chain agents (a `debate.training.selfplay` sampler): fresh instances
  with T uniform in [2, max_length], padded to max_length. No training data."""

  modulus: int
  max_length: int

  def draw(self, key, batch: int):
    length_key, instance_key, play_key = jax.random.split(key, 3)
    lengths = jax.random.randint(length_key, (batch,), 2, self.max_length + 1)
    return (lengths, jax.random.split(instance_key, batch)), jax.random.split(play_key, batch)

  def build(self, draws, data):
    lengths, keys = draws
    sample = lambda k, t: chain.sample_instance(k, t, self.modulus, self.max_length)
    return jax.vmap(sample)(keys, lengths)

  def example(self) -> ChainInstance:
    return chain.sample_instance(jax.random.key(0), 2, self.modulus, self.max_length)
