"""Self-play debaters for chain bisection debate: one policy-value network for both roles, trained
AlphaZero-style with `mctx.gumbel_muzero_policy` against a fixed judge.

**The game (split-choice bisection).** In the bisection of debate/games/bisection.py the honest debater has
nothing to choose: it states the truth at the fixed midpoint. Here it chooses WHERE the dispute [lo, hi] is
split, among `len(SPLITS)` = 3 points: action k picks

    split = lo + clip(floor(span * SPLITS[k]), 1, span - 1),   span = hi - lo,  SPLITS = (1/2, 1/4, 3/4),

so action 0 is the usual midpoint (lo + hi) // 2. Then the liar states its value for x_split (any value of
Z_m; the true one = agreeing), the dispute narrows to [split, hi] on agreement and to [lo, split] otherwise,
and when it is a single step the judge decides it, exactly as in debate/games/bisection.py. Every round is two
plies, honest then liar; a game of T steps lasts at most `max_rounds(T)` rounds (the worst split shrinks a
span to 3/4: 8 rounds for T = 16, 15 for T = 64, against log2 T for the midpoint). Against an imperfect
judge the honest debater can use its choice to keep the dispute away from the steps the judge gets wrong;
the liar steers it towards them. With the honest debater always playing action 0 the game is the standard
bisection (`SplitState.dispute` is then the standard state, tested).

**The network** (`PolicyValueMLP`, one for both roles): an MLP over `observe(state, ...)` ->
(logits [m], value []). The observation ([(3 * 7 + 3) m + 16 + 2 + 3] float32, one-hots) holds: which role
moves, the rounds the dispute can still take (clipped to 16), x_lo, x_hi, the liar's claim for x_hi, the
honest debater's choice (on the liar's ply), and for each of the 3 candidate splits c the local chain around
it: x_{c-1}, the step into c (u, v), x_c, the step out of c (u, v), x_{c+1}. Actions share one space of size
m: the liar's claims, and the honest debater's choices in actions 0..2 (the others are invalid for it).
The value is the expected outcome for the player to move, in [-1, 1] (tanh).

**Training** (`train_selfplay`): each step plays `batch_size` fresh games (T uniform in [2, max_length])
honest against liar, both moved by a Gumbel MuZero search (`num_simulations` per ply, the network's prior
and value at the leaves, the exact game and judge as the model, discount -1 between plies: a two-player
zero-sum game) that samples its move (Gumbel top-k at the root). Targets: the search's improved policy
(`action_weights`) and the game's outcome for the player who moved (+1 won, -1 lost). Loss: cross-entropy
+ `value_coef` x squared error, averaged over the plies actually played; Adam. The loop is one `jit`
(`lax.scan` over steps, in chunks between checkpoints); step s uses fold_in(train key, s) only, so params
at step N do not depend on the chunking or on the rung spacing. Rungs are saved with
`learned_liar.saved_ladder` in `workdir/agents/selfplay_<judge>_m<m>_seed<seed>/step_<N>/`.

**Agents** (`az:STEP` plays the argmax of the network's policy over its valid actions, deterministic;
`az:STEP@S` plays the move of an S-simulation Gumbel MuZero search with the network, without Gumbel noise,
considering every valid action; its search models the opponent by the network's policy for that role):
- `az:STEP[@S]` as a liar (`LiarSpec('az', STEP, simulations=S)`): arm `debate/az:STEP` plays it against
  the standard honest debater (midpoint splits), in the standard game, like `debate/learned:STEP`.
- `az:STEP[@S]` as the honest debater (`HonestSpec('az', STEP, simulations=S)`): arm `debate/LIAR/az:STEP`,
  in the split-choice game, with LIAR one of random, mcts:B or az:STEP'[@S'].
- `mcts:B` as the honest debater (`HonestSpec('mcts', B)`), and `mcts:B` as the liar whenever the honest
  debater is not the midpoint one: B simulations of PUCT (`mcts.puct_search`, c_puct = 1, uniform prior over
  the valid actions, leaves valued by one random continuation of BOTH players to the judge's verdict), the
  most visited move, ties broken at random. (`debate/mcts:B` with the midpoint honest debater is the
  standard one-player MCTS liar of debate/agents/chain.py.)
- `midpoint`: the standard honest debater; `debate/LIAR/midpoint` is the same arm as `debate/LIAR`.
The runner attaches the rungs' params with `attach_networks` (trained or loaded once per judge and seed).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Callable, Sequence

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import mctx
import optax
from jax.sharding import PartitionSpec as P

from debate.agents import search as mcts
from debate.distributed import sharding
from debate.games import bisection
from debate.tasks import chain
from debate.training import liar as learned_liar
from debate.training.liar import Policy
from judges import chain_checkers

SPLITS = ((1, 2), (1, 4), (3, 4))  # Honest action k splits a span s at floor(s * num / den), clipped.
NUM_SPLITS = len(SPLITS)
HONEST, LIAR = 0, 1
MAX_ROUNDS_FEATURE = 16
CANDIDATE_VALUES = 7  # x_{c-1}, u_c, v_c, x_c, u_{c+1}, v_{c+1}, x_{c+1} per candidate split c.


# ------------------------------------------------------------------------------------------------------------
# The split-choice game.


@chex.dataclass(frozen=True)
class SplitState:
  """dispute: the standard bisection state (lo, hi, liar_hi: [] int32 each); choice: [] int32, the honest
  debater's split action this round (meaningful on the liar's ply); liar_to_move: [] bool."""

  dispute: bisection.BisectionState
  choice: chex.Array
  liar_to_move: chex.Array

  @property
  def done(self) -> chex.Array:
    return self.dispute.done

  @property
  def mover(self) -> chex.Array:
    """HONEST (0) or LIAR (1): [] int32."""
    return self.liar_to_move.astype(jnp.int32)


def split_point(dispute: bisection.BisectionState, choice: chex.Array) -> chex.Array:
  """The point where honest action `choice` ([] int32 in [0, 3)) splits the dispute: [] int32."""
  span = dispute.hi - dispute.lo
  nums = jnp.array([n for n, _ in SPLITS], jnp.int32)
  dens = jnp.array([d for _, d in SPLITS], jnp.int32)
  return dispute.lo + jnp.clip(span * nums[choice] // dens[choice], 1, jnp.maximum(span - 1, 1))


@functools.lru_cache(maxsize=None)
def rounds_table(max_length: int) -> tuple[int, ...]:
  """table[s] = the most rounds a dispute of span s can take, for s = 0 .. max_length (exact)."""
  table = [0, 0]
  for span in range(2, max_length + 1):
    cuts = {min(max(span * n // d, 1), span - 1) for n, d in SPLITS}
    table.append(1 + max(max(table[c], table[span - c]) for c in cuts))
  return tuple(table[: max_length + 1])


def max_rounds(length: int) -> int:
  """The most rounds any game on `length` steps can take (the honest debater choosing worst-case splits)."""
  return rounds_table(max(length, 1))[max(length, 1)]


def rounds_left(dispute: bisection.BisectionState, max_length: int) -> chex.Array:
  return jnp.array(rounds_table(max_length), jnp.int32)[dispute.hi - dispute.lo]


def init(instance: chain.ChainInstance) -> SplitState:
  return SplitState(dispute=bisection.init(instance), choice=jnp.int32(0), liar_to_move=jnp.bool_(False))


def step(state: SplitState, action: chex.Array, instance: chain.ChainInstance) -> SplitState:
  """One ply: the honest debater's split choice or the liar's claim for x_split. Finished states stay."""
  d = state.dispute
  split = split_point(d, state.choice)
  agree = action == instance.trace[split]
  after_claim = bisection.BisectionState(
    lo=jnp.where(agree, split, d.lo), hi=jnp.where(agree, d.hi, split), liar_hi=jnp.where(agree, d.liar_hi, action)
  )
  dispute = jax.tree.map(lambda new, old: jnp.where(state.liar_to_move & ~state.done, new, old), after_claim, d)
  return SplitState(
    dispute=dispute,
    choice=jnp.where(state.liar_to_move | state.done, state.choice, jnp.clip(action, 0, NUM_SPLITS - 1)).astype(
      jnp.int32
    ),
    liar_to_move=jnp.where(state.done, state.liar_to_move, ~state.liar_to_move),
  )


def valid_actions(state: SplitState, modulus: int) -> chex.Array:
  """[modulus] bool: every claim for the liar, the first NUM_SPLITS actions for the honest debater."""
  return state.liar_to_move | (jnp.arange(modulus) < NUM_SPLITS)


def liar_wins(state: SplitState, instance, checker: chain_checkers.StepChecker, judge_params) -> chex.Array:
  return bisection.liar_wins(state.dispute, instance, checker, judge_params)


def observation_size(modulus: int) -> int:
  return (NUM_SPLITS * CANDIDATE_VALUES + 3) * modulus + MAX_ROUNDS_FEATURE + 2 + NUM_SPLITS


def observe(state: SplitState, instance: chain.ChainInstance, modulus: int) -> chex.Array:
  """The mover's view (both roles see the same things): [observation_size(modulus)] float32."""
  d = state.dispute
  max_length = instance.max_length
  trace = lambda t: instance.trace[jnp.clip(t, 0, max_length)]
  op = lambda t: instance.ops[jnp.clip(t - 1, 0, max_length - 1)]  # The step into x_t.
  candidates = []
  for k in range(NUM_SPLITS):
    c = split_point(d, jnp.int32(k))
    candidates += [trace(c - 1), op(c)[0], op(c)[1], trace(c), op(c + 1)[0], op(c + 1)[1], trace(c + 1)]
  values = jnp.stack([trace(d.lo), trace(d.hi), d.liar_hi] + candidates)
  rounds = jnp.minimum(rounds_left(d, max_length), MAX_ROUNDS_FEATURE - 1)
  return jnp.concatenate(
    [
      jax.nn.one_hot(values, modulus).reshape(-1),
      jax.nn.one_hot(rounds, MAX_ROUNDS_FEATURE),
      jax.nn.one_hot(state.mover, 2),
      jax.nn.one_hot(state.choice, NUM_SPLITS) * state.liar_to_move,
    ]
  )


class PolicyValueMLP(nn.Module):
  """observation: [..., obs_size] -> (logits [..., modulus], value [...] in [-1, 1] for the mover)."""

  width: int
  depth: int
  modulus: int

  @nn.compact
  def __call__(self, observation):
    h = observation
    for _ in range(self.depth):
      h = nn.relu(nn.Dense(self.width)(h))
    return nn.Dense(self.modulus)(h), jnp.tanh(nn.Dense(1)(h)[..., 0])


# ------------------------------------------------------------------------------------------------------------
# Search, batched as mctx wants: states and instances with a leading axis [B].


def _masked(logits, valid):
  return jnp.where(valid, logits, mcts.INVALID_LOGIT)


def _evaluate(network, state, instance, modulus):
  """(prior logits [m] masked to the valid actions, value []) of one state; network None: uniform, 0."""
  valid = valid_actions(state, modulus)
  if network is None:
    return _masked(jnp.zeros((modulus,), jnp.float32), valid), jnp.float32(0.0)
  logits, value = PolicyValueMLP(network.width, network.depth, modulus).apply(
    network.params, observe(state, instance, modulus)
  )
  return _masked(logits, valid), value


def random_action(key, state: SplitState, instance, modulus: int) -> chex.Array:
  """The random player: honest a uniform split; liar agrees w.p. 1/2, else a uniform false value: [] int32."""
  split_key, agree_key, value_key = jax.random.split(key, 3)
  truth = instance.trace[split_point(state.dispute, state.choice)]
  false_value = (truth + jax.random.randint(value_key, (), 1, modulus)) % modulus
  claim = jnp.where(jax.random.bernoulli(agree_key), truth, false_value)
  return jnp.where(state.liar_to_move, claim, jax.random.randint(split_key, (), 0, NUM_SPLITS)).astype(jnp.int32)


def random_rollout_value(key, state, instance, checker, judge_params) -> chex.Array:
  """Both players random from `state` to the end: +1 if the player to move in `state` wins, else -1."""

  def body(carry):
    i, s = carry
    return i + 1, step(s, random_action(jax.random.fold_in(key, i), s, instance, checker.modulus), instance)

  _, final = jax.lax.while_loop(lambda carry: ~carry[1].done, body, (0, state))
  liar_won = liar_wins(final, instance, checker, judge_params)
  return jnp.where(liar_won == state.liar_to_move, 1.0, -1.0)


def _recurrent_fn(checker, network):
  """The mctx model: exact dynamics; reward (for the mover) only when the judge decides; discount -1."""
  modulus = checker.modulus

  def recurrent_fn(params, key, action, state):
    instances, judge_params = params

    def one(key, action, state, instance):
      new = step(state, action.astype(jnp.int32), instance)
      finished = new.done & ~state.done
      won = liar_wins(new, instance, checker, judge_params) == state.liar_to_move
      reward = jnp.where(finished, jnp.where(won, 1.0, -1.0), 0.0)
      logits, value = _evaluate(network, new, instance, modulus)
      if network is None:
        value = random_rollout_value(key, new, instance, checker, judge_params)
      return reward, jnp.where(new.done, 0.0, -1.0), logits, jnp.where(new.done, 0.0, value), new

    keys = jax.random.split(key, action.shape[0])
    reward, discount, logits, value, new = jax.vmap(one)(keys, action, state, instances)
    return mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=logits, value=value), new

  return recurrent_fn


def gumbel_search(
  network: Policy,
  key,
  states: SplitState,
  instances,
  checker,
  judge_params,
  *,
  num_simulations: int,
  considered_actions: int,
  gumbel_scale: float = 1.0,
) -> mctx.PolicyOutput:
  """Gumbel MuZero search from `states` ([B] each) with the network's prior and value: the self-play move
  (`action` [B], sampled; with gumbel_scale 0 the best by the search) and the training target
  (`action_weights` [B, m])."""
  modulus = checker.modulus
  logits, value = jax.vmap(lambda s, i: _evaluate(network, s, i, modulus))(states, instances)
  root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=states)
  depth = 2 * max_rounds(instances.max_length) + 1
  with mcts.fixed_depth_backward(depth + 1):
    return mctx.gumbel_muzero_policy(
      params=(instances, judge_params),
      rng_key=key,
      root=root,
      recurrent_fn=_recurrent_fn(checker, network),
      num_simulations=num_simulations,
      invalid_actions=~jax.vmap(lambda s: valid_actions(s, modulus))(states),
      max_depth=depth,
      max_num_considered_actions=min(considered_actions, modulus),
      gumbel_scale=gumbel_scale,
    )


def mcts_action(key, state: SplitState, instance, checker, judge_params, budget: int) -> chex.Array:
  """`budget` PUCT simulations (uniform prior, random-rollout leaves) for one game; most visited: [] int32."""
  search_key, rollout_key, tie_key = jax.random.split(key, 3)
  modulus = checker.modulus
  batched = jax.tree.map(lambda a: a[None], (state, instance))
  logits, _ = _evaluate(None, state, instance, modulus)
  root = mctx.RootFnOutput(
    prior_logits=logits[None],
    value=random_rollout_value(rollout_key, state, instance, checker, judge_params)[None],
    embedding=batched[0],
  )
  depth = 2 * max_rounds(instance.max_length) + 1
  output = mcts.puct_search(
    (batched[1], judge_params),
    search_key,
    root,
    _recurrent_fn(checker, None),
    num_simulations=budget,
    max_depth=depth,
    depth_bound=depth + 1,
    invalid_actions=~valid_actions(state, modulus)[None],
  )
  visits = output.search_tree.summary().visit_counts[0].astype(jnp.float32)
  visits = jnp.where(valid_actions(state, modulus), visits, -1.0)
  return mcts.argmax_random_tiebreak(tie_key, visits)


def network_action(network: Policy | None, state: SplitState, instance, modulus: int) -> chex.Array:
  """The argmax of the network's policy over the mover's valid actions: [] int32."""
  if network is None:
    raise ValueError('an az debater needs its params: attach them with debate.training.selfplay_chain.attach_networks')
  logits, _ = _evaluate(network, state, instance, modulus)
  return jnp.argmax(logits).astype(jnp.int32)


def search_action(
  network: Policy | None, key, state: SplitState, instance, checker, judge_params, simulations: int
) -> chex.Array:
  """The move of a `simulations`-simulation Gumbel MuZero search with the network for one game (no Gumbel
  noise: the search's best action; it considers every valid action): [] int32."""
  if network is None:
    raise ValueError('an az debater needs its params: attach them with debate.training.selfplay_chain.attach_networks')
  batched = jax.tree.map(lambda a: a[None], (state, instance))
  output = gumbel_search(
    network,
    key,
    batched[0],
    batched[1],
    checker,
    judge_params,
    num_simulations=simulations,
    considered_actions=checker.modulus,
    gumbel_scale=0.0,
  )
  return output.action[0].astype(jnp.int32)


def az_action(spec, key, state: SplitState, instance, checker, judge_params) -> chex.Array:
  """The move of an az spec (LiarSpec or HonestSpec): network argmax, or its search with @simulations."""
  if spec.simulations:
    return search_action(spec.policy, key, state, instance, checker, judge_params, spec.simulations)
  return network_action(spec.policy, state, instance, checker.modulus)


def az_liar_claim(liar, key, dispute: bisection.BisectionState, instance, checker, judge_params):
  """The az liar's claim for x_mid in the standard game (the midpoint honest debater): [] int32. (Its
  search, with @simulations, models the honest debater by the network's honest policy.)"""
  state = SplitState(dispute=dispute, choice=jnp.int32(0), liar_to_move=jnp.bool_(True))
  return az_action(liar, key, state, instance, checker, judge_params)


# ------------------------------------------------------------------------------------------------------------
# Games in the runners: the split-choice game between any honest debater and any liar of this module.

SPLIT_GAME_LIARS = ('random', 'mcts', 'az')
HONEST_KINDS = ('midpoint', 'mcts', 'az')


def _action(spec, key, state, instance, checker, judge_params):
  if spec.kind == 'az':
    return az_action(spec, key, state, instance, checker, judge_params)
  if spec.kind == 'mcts':
    return mcts_action(key, state, instance, checker, judge_params, spec.budget)
  if spec.kind == 'midpoint':
    return jnp.int32(0)
  if spec.kind == 'random':
    return random_action(key, state, instance, checker.modulus)
  raise ValueError(
    f'the {spec.kind} liar cannot play against a split-choosing honest debater; '
    f'expected one of {", ".join(SPLIT_GAME_LIARS)}'
  )


def play(key, instance: chain.ChainInstance, checker: chain_checkers.StepChecker, judge_params, *, liar, honest):
  """One split-choice game (outcome, transcript), the dicts of protocols/debate.play (`mid` = the split).

  `liar`: a debate.agents.chain.LiarSpec of kind random, mcts or az; `honest`: a debate.agents.chain.HonestSpec.
  """
  rounds = max(max_rounds(instance.max_length), 1)
  empty = jnp.full((rounds,), -1, jnp.int32)
  record = {name: empty for name in ('lo', 'hi', 'mid', 'honest_choice', 'honest_claim', 'liar_claim')}

  def one_round(carry):
    i, state, record = carry
    honest_key, liar_key = jax.random.split(jax.random.fold_in(key, i))
    choice = _action(honest, honest_key, state, instance, checker, judge_params)
    state = step(state, choice, instance)
    claim = _action(liar, liar_key, state, instance, checker, judge_params)
    split = split_point(state.dispute, state.choice)
    values = {
      'lo': state.dispute.lo,
      'hi': state.dispute.hi,
      'mid': split,
      'honest_choice': state.choice,
      'honest_claim': instance.trace[split],
      'liar_claim': claim,
    }
    record = {name: record[name].at[i].set(values[name]) for name in record}
    return i + 1, step(state, claim, instance), record

  num_played, final, record = jax.lax.while_loop(lambda carry: ~carry[1].done, one_round, (0, init(instance), record))
  x, op, honest_y, liar_y = bisection.disputed_step(final.dispute, instance)
  honest_score = chain_checkers.step_score(checker, judge_params, x, op, honest_y)
  liar_score = chain_checkers.step_score(checker, judge_params, x, op, liar_y)
  liar_won = liar_score > honest_score
  verdict = jnp.where(liar_won, instance.wrong, instance.answer)
  outcome = {'correct': ~liar_won, 'verdict': verdict, 'disputed_step': final.dispute.hi}
  transcript = {
    'T': instance.length,
    'x0': instance.trace[0],
    'answer': instance.answer,
    'wrong': instance.wrong,
    'num_rounds': num_played,
    'rounds': record,
    'disputed_step': final.dispute.hi,
    'step_input': x,
    'step_op': op,
    'honest_output': honest_y,
    'liar_output': liar_y,
    'honest_score': honest_score,
    'liar_score': liar_score,
    'verdict': verdict,
  }
  return outcome, transcript


# ------------------------------------------------------------------------------------------------------------
# Training.


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
  """Self-play settings (the defaults are the measured ones in BUILD_NOTES)."""

  batch_size: int = 64
  num_simulations: int = 16
  considered_actions: int = 8
  learning_rate: float = 1e-3
  value_coef: float = 1.0
  max_length: int = 16
  width: int = 128
  depth: int = 2
  log_every: int = 50


def init_params(config: SelfPlayConfig, modulus: int, key: chex.PRNGKey):
  model = PolicyValueMLP(config.width, config.depth, modulus)
  return model.init(key, jnp.zeros((1, observation_size(modulus)), jnp.float32))


def selfplay_games(params, key, checker, judge_params, config: SelfPlayConfig, mesh=None):
  """`config.batch_size` self-play games: (observations [P, B, obs], action_weights [P, B, m], valid actions
  [P, B, m] bool, value targets [P, B], active [P, B] bool, liar_won [B] bool), P = 2 * max_rounds(max_length)
  plies.

  Game b's instance and search keys derive from (key, b) only: each game is a batch-of-one Gumbel search
  (vmapped over the games), because mctx draws the Gumbel noise of a whole batch from one key. So the games
  do not depend on how they are laid out, and with a `mesh` (debate.distributed.sharding.training_mesh) each device plays its
  share under `shard_map` (the search trees never cross devices) with the same moves as one device.
  """
  modulus = checker.modulus
  network = Policy(width=config.width, depth=config.depth, digest='', params=params)
  length_key, instance_key, play_key = jax.random.split(key, 3)
  lengths = jax.random.randint(length_key, (config.batch_size,), 2, config.max_length + 1)
  instances = jax.vmap(lambda k, t: chain.sample_instance(k, t, modulus, config.max_length))(
    jax.random.split(instance_key, config.batch_size), lengths
  )
  game_keys = jax.random.split(play_key, config.batch_size)

  def search_one(key, state, instance):
    batched = jax.tree.map(lambda a: a[None], (state, instance))
    output = gumbel_search(
      network,
      key,
      batched[0],
      batched[1],
      checker,
      judge_params,
      num_simulations=config.num_simulations,
      considered_actions=config.considered_actions,
    )
    return output.action[0].astype(jnp.int32), output.action_weights[0]

  def play(game_keys, instances):
    """The games of `instances` ([b] each), from their own keys [b]."""

    def ply(states, i):
      actions, weights = jax.vmap(search_one)(
        jax.vmap(lambda k: jax.random.fold_in(k, i))(game_keys), states, instances
      )
      observations = jax.vmap(lambda s, inst: observe(s, inst, modulus))(states, instances)
      valid = jax.vmap(lambda s: valid_actions(s, modulus))(states)
      new = jax.vmap(step)(states, actions, instances)
      return new, (observations, weights, valid, states.liar_to_move, ~states.done)

    plies = jnp.arange(2 * max_rounds(config.max_length))
    final, (observations, weights, valid, liar_moved, active) = jax.lax.scan(ply, jax.vmap(init)(instances), plies)
    liar_won = jax.vmap(lambda s, inst: liar_wins(s, inst, checker, judge_params))(final, instances)
    targets = jnp.where(liar_moved == liar_won[None], 1.0, -1.0)
    return observations, weights, valid, targets, active, liar_won

  if mesh is None:
    return play(game_keys, instances)
  by_game = sharding.batch_spec(mesh)
  by_ply_and_game = P(None, *by_game)
  return jax.shard_map(
    play, mesh=mesh, in_specs=(by_game, by_game), out_specs=(by_ply_and_game,) * 5 + (by_game,), check_vma=False
  )(game_keys, instances)


def make_train_chunk(checker: chain_checkers.StepChecker, config: SelfPlayConfig, key: chex.PRNGKey, mesh=None):
  """A jitted (params, opt_state, judge_params, steps [n] int32) -> (params, opt_state, metrics {[n]}).

  Step `s` uses the key fold_in(key, s) only, so any chunking of the steps gives the same params. With a
  `mesh` (debate.distributed.sharding.training_mesh) the games of a step are played under `shard_map`, each device its share
  (selfplay_games: the same games as on one device), the loss's gradient is a mean over all of them (an
  all-reduce), and params and Adam moments are laid out FSDP-style over its 'model' axis (gathered for the
  games), so the params agree with one device's to float rounding.
  Metrics per step: loss, policy_loss, value_loss, liar_win_rate (of the self-play games).
  """
  optimizer = optax.adam(config.learning_rate)
  model = PolicyValueMLP(config.width, config.depth, checker.modulus)

  def loss_fn(params, observations, weights, valid, targets, active):
    """observations: [P, B, obs]; weights: [P, B, m]; valid: [P, B, m] bool; targets, active: [P, B]."""
    logits, values = model.apply(params, observations)
    return learned_liar.az_loss(logits, values, weights, valid, targets, active, value_coef=config.value_coef)

  def train_step(carry, step_index, judge_params):
    params, opt_state = carry
    observations, weights, valid, targets, active, liar_won = selfplay_games(
      params, jax.random.fold_in(key, step_index), checker, judge_params, config, mesh
    )
    (loss, (policy_loss, value_loss)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      params, observations, jax.lax.stop_gradient(weights), valid, targets, active
    )
    updates, opt_state = optimizer.update(grads, opt_state, params)
    metrics = {'loss': loss, 'policy_loss': policy_loss, 'value_loss': value_loss, 'liar_win_rate': liar_won.mean()}
    return sharding.fsdp_constrained((optax.apply_updates(params, updates), opt_state), mesh), metrics

  @jax.jit
  def train_chunk(params, opt_state, judge_params, steps):
    params, opt_state = sharding.fsdp_constrained((params, opt_state), mesh)
    (params, opt_state), metrics = jax.lax.scan(
      lambda carry, s: train_step(carry, s, judge_params), (params, opt_state), steps
    )
    return params, opt_state, metrics

  return optimizer, train_chunk


def agent_key(seed: int) -> chex.PRNGKey:
  return jax.random.fold_in(jax.random.key(seed), 0x5E1F)


def train_selfplay(
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  rungs: Sequence[int],
  config: SelfPlayConfig,
  log: Callable[[str], None] = print,
  mesh=None,
  checkpoint_dir: str | None = None,
):
  """Trains to max(rungs) steps; returns ({step: params} for every rung, history of mean metrics).

  `mesh`: an optional debate.distributed.sharding.training_mesh to split each step's games over (make_train_chunk); `checkpoint_dir`:
  where to save and resume the training state (learned_liar.train_through_rungs)."""
  rungs = learned_liar.checked_rungs(rungs)
  sharding.check_batch(mesh, config.batch_size)
  init_key, train_key = jax.random.split(agent_key(seed))
  params = init_params(config, checker.modulus, init_key)
  optimizer, train_chunk = make_train_chunk(checker, config, train_key, mesh)

  report = learned_liar.az_report(log, f'self-play vs {checker.name}', rungs[-1])
  return learned_liar.train_through_rungs(
    train_chunk,
    params,
    optimizer.init(params),
    sharding.replicated(judge_params, mesh),
    rungs=rungs,
    log_every=config.log_every,
    report=report,
    checkpoint_dir=checkpoint_dir,
    log=log,
    mesh=mesh,
  )


def agent_dir(workdir: str, checker: chain_checkers.StepChecker, seed: int) -> str:
  return os.path.join(workdir, 'agents', f'selfplay_{checker.name.replace(":", "_")}_m{checker.modulus}_seed{seed}')


def build_ladder(
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  workdir: str | None,
  rungs: Sequence[int],
  config: SelfPlayConfig = SelfPlayConfig(),
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict[int, Policy]:
  """{step: Policy} for every rung, loaded from `workdir/agents/selfplay_...` or trained and saved there.
  `mesh`: train_selfplay's."""
  return learned_liar.saved_ladder(
    agent_dir(workdir, checker, seed) if workdir else None,
    rungs=rungs,
    config=config,
    init_like=lambda: init_params(config, checker.modulus, jax.random.key(0)),
    train=lambda all_rungs, checkpoint_dir: train_selfplay(
      checker,
      judge_params,
      seed=seed,
      rungs=all_rungs,
      config=config,
      log=log,
      checkpoint_dir=checkpoint_dir,
      mesh=mesh,
    ),
    what='self-play debater',
  )


def attach_networks(
  arm,
  cells,
  checker: chain_checkers.StepChecker,
  judge_params,
  *,
  seed: int,
  workdir: str | None,
  cache: dict,
  train_config=None,
  log: Callable[[str], None] = print,
  mesh=None,
  model_parallelism: int = 1,
):
  """`arm` with the params of its az liar and az honest debater attached (other arms unchanged).

  Trains (or loads) once per (judge, seed) every az rung that `cells` (with .arm, .checker, .seed) name for
  that judge and seed, as a liar or as the honest debater; `cache` keeps the ladder. `train_config`: a
  mapping of SelfPlayConfig fields (an experiment config's optional `selfplay_training`), None: defaults.
  Training runs on debate.distributed.sharding.training_mesh(mesh, batch size, model_parallelism) of the experiment's `mesh`.
  """

  def az_specs(a):
    return [s for s in (getattr(a, 'liar', None), getattr(a, 'honest', None)) if s is not None and s.kind == 'az']

  if not az_specs(arm):
    return arm
  key = (checker.name, checker.modulus, seed)
  if key not in cache:
    rungs = {s.budget for c in cells if c.checker == checker and c.seed == seed for s in az_specs(c.arm)}
    config = SelfPlayConfig(**dict(train_config or {}))
    cache[key] = build_ladder(
      checker,
      judge_params,
      seed=seed,
      workdir=workdir,
      rungs=rungs,
      config=config,
      log=log,
      mesh=sharding.training_mesh(
        mesh, config.batch_size, model_parallelism, batch_field='selfplay_training.batch_size'
      ),
    )
  attach = lambda spec: (
    dataclasses.replace(spec, policy=cache[key][spec.budget]) if spec is not None and spec.kind == 'az' else spec
  )
  return dataclasses.replace(arm, liar=attach(arm.liar), honest=attach(arm.honest))
