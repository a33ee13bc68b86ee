"""Chain games in batches (`debate.rollouts.runner`): arms, their agents, and one game by its global index.

A game is identified by its global index. Its keys derive from (run seed, T, index) only, never from the
batch, device layout or padding, so every discrete result of a cell (moves, verdicts, counts) is
bit-identical for any device count, batch size and padding (a learned judge's float scores may differ in
the last bits, as XLA picks kernels per shape):

  instance key = fold_in(fold_in(fold_in(key(seed), 0), T), index)   (shared by every protocol and judge:
                                                                      paired comparisons across cells)
  play key     = fold_in(fold_in(fold_in(key(seed), 1), T), index)

A compiled batch depends only on the arm's structure (protocol and agents, without checkpoint steps), the
judge's architecture (its StepChecker), the padded length and the mesh: T, the seed's key, the judge's params
and the agents' params are traced, so one compilation serves every T up to the padded length, every seed,
every judge of one architecture and every checkpoint of a learned agent.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from debate.agents import policies
from debate.agents.specs import AgentSpec, parse_agent
from debate.games import chain as chain_game
from debate.rollouts import runner
from debate.tasks import chain
from judges.chain_checkers import StepChecker
from protocols import consultancy, debate, direct, open_consultancy, open_debate

PROTOCOLS = ('direct', 'consultancy', 'open_consultancy', 'debate', 'open_debate')
DEBATE_LIARS = ('random', 'greedy', 'mcts', 'oracle')
LIARS_OF = {
  'debate': DEBATE_LIARS + ('learned', 'az'),
  'open_debate': DEBATE_LIARS,
  'consultancy': consultancy.CONSULTANT_KINDS,
  'open_consultancy': consultancy.CONSULTANT_KINDS,
}
HONEST_KINDS = ('midpoint', 'mcts', 'az')
SPLIT_GAME_LIARS = ('random', 'mcts', 'az')  # Against a split-choosing honest debater.


@dataclasses.dataclass(frozen=True)
class Arm:
  """A protocol with its agents and budget: one row of a results table.

  Spelled `direct`, `consultancy[/LIAR]` or `open_consultancy[/LIAR]` with LIAR one of random (the
  default), search:BUDGET, oracle, or `[open_]debate/LIAR` with LIAR one of random, greedy, mcts:BUDGET,
  oracle, or `debate/learned:STEP` (the REINFORCE-trained liar at STEP) or `debate/az:STEP[@S]` (the
  self-play network at STEP as the liar, searching S simulations per move if given).
  `debate/LIAR/HONEST` also names the honest debater: midpoint (the standard one, the default: the same arm
  as `debate/LIAR`), or a split-choosing one, mcts:BUDGET or az:STEP[@S], which plays the split-choice game
  (`debate.games.chain`, honest_splits) against LIAR = random, mcts:BUDGET or az:STEP[@S].
  `s` is the judge's step-check budget (direct and consultancy).
  """

  protocol: str
  liar: AgentSpec | None = None
  s: int | None = None
  honest: AgentSpec | None = None  # None: the midpoint honest debater.

  @property
  def name(self) -> str:
    if self.liar is None or (self.protocol.endswith('consultancy') and self.liar.kind == 'random'):
      return self.protocol
    return f'{self.protocol}/{self.liar.name}' + (f'/{self.honest.name}' if self.honest is not None else '')

  @property
  def agents(self) -> tuple[AgentSpec | None, AgentSpec | None]:
    """(honest, liar) specs (None where the protocol has no such agent, or the honest debater is midpoint)."""
    return self.honest, self.liar

  @property
  def structure(self) -> Arm:
    """The arm without checkpoint steps: what a compiled batch depends on."""
    return dataclasses.replace(
      self, liar=self.liar and self.liar.structure, honest=self.honest and self.honest.structure
    )


def parse_arm(spec: str, s: int) -> Arm:
  """'direct' | '[open_]consultancy[/random|/search:B|/oracle]' | 'open_debate/(random|greedy|mcts:B|oracle)'
  | 'debate/(random|greedy|mcts:B|oracle|learned:STEP|az:STEP[@S])[/(midpoint|mcts:B|az:STEP[@S])]' -> Arm."""
  protocol, _, liar = spec.partition('/')
  liar, _, honest = liar.partition('/')
  if protocol not in PROTOCOLS:
    raise ValueError(f'unknown protocol {protocol!r} in {spec!r}; expected one of {", ".join(PROTOCOLS)}')
  if s < 0 and not protocol.endswith('debate'):
    raise ValueError(f'step-check budget s must be >= 0, got {s}')
  if protocol == 'direct':
    if liar:
      raise ValueError(f'direct takes no liar, got {spec!r}')
    return Arm(protocol, s=s)
  if protocol.endswith('debate') and not liar:
    raise ValueError(
      f'{protocol} needs a liar: {protocol}/random, {protocol}/greedy, {protocol}/mcts:BUDGET '
      f'or {protocol}/oracle, got {spec!r}'
    )
  liar_spec = parse_agent(liar or 'random', LIARS_OF[protocol], role='liar', context=spec)
  if honest and protocol != 'debate':
    raise ValueError(f'only debate names an honest debater (debate/LIAR/HONEST), got {spec!r}')
  honest_spec = parse_agent(honest, HONEST_KINDS, role='honest debater', context=spec) if honest else None
  if honest_spec and honest_spec.kind == 'midpoint':  # The standard honest debater: the arm debate/LIAR.
    honest_spec = None
  if honest_spec and liar_spec.kind not in SPLIT_GAME_LIARS:
    raise ValueError(
      f'the {liar_spec.name} liar cannot play against the split-choosing honest debater {honest!r} '
      f'in {spec!r}; with mcts:B or az:STEP honest debaters the liar is one of '
      f'{", ".join(SPLIT_GAME_LIARS)} (e.g. debate/mcts:64/{honest})'
    )
  return Arm(protocol, liar=liar_spec, s=None if protocol.endswith('debate') else s, honest=honest_spec)


def padded_length(length: int) -> int:
  """The static array length games of `length` steps are compiled for: the next power of two.

  One compilation then serves every T in (2^(k-1), 2^k]; a grid over T compiles once per power of two at
  most, and results never depend on the padding (tested).
  """
  return 1 << max(0, (length - 1).bit_length())


def game_keys(base, length, index: jax.Array):
  """(instance_key, play_key) of the game with global `index`; base: key(seed), a [] PRNG key."""
  return tuple(jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, i), length), index) for i in (0, 1))


def policy(spec: AgentSpec | None, networks=()) -> policies.Policy:
  """The policy of an agent spec, of any task (None: chain's midpoint honest debater); `networks`: ((kind,
  width, depth), ...) of the learned kinds' networks."""
  if spec is None or spec.kind == 'midpoint':
    return chain_game.Midpoint()
  if spec.learned:
    width, depth = {kind: (width, depth) for kind, width, depth in networks}[spec.kind]
    return policies.Network(width, depth, simulations=spec.simulations)
  simple = {'random': policies.Random, 'greedy': policies.Greedy, 'oracle': chain_game.OracleLiar}
  return simple[spec.kind]() if spec.kind in simple else policies.MCTS(spec.budget, spec.leaf, spec.c_puct)


@dataclasses.dataclass(frozen=True)
class ChainPlayer:
  """The batch player of chain cells (see debate.rollouts.runner): one game by its global index.

  networks: ((kind, width, depth), ...) of the learned agents' networks."""

  arm: Arm
  checker: StepChecker
  max_length: int
  networks: tuple = ()

  def __call__(self, index, length, seed_key, judge_params, agent_params):
    """index: [] uint32; length: [] int32 (T); seed_key: key(seed); agent_params: (honest, liar) params
    (None where not learned). Returns (outcome, transcript) for one game."""
    arm, checker = self.arm, self.checker
    instance_key, play_key = game_keys(seed_key, length, index)
    instance = chain.sample_instance(instance_key, length, checker.modulus, self.max_length)
    if arm.protocol == 'direct':
      return direct.play(play_key, instance, checker, judge_params, s=arm.s)
    if arm.protocol.endswith('consultancy'):
      play = consultancy.play if arm.protocol == 'consultancy' else open_consultancy.play
      return play(play_key, instance, checker, judge_params, s=arm.s, liar=arm.liar)
    game = chain_game.ChainDebate(checker, self.max_length, honest_splits=arm.honest is not None)
    players = (policy(arm.honest, self.networks), policy(arm.liar, self.networks))
    return (debate.play if arm.protocol == 'debate' else open_debate.play)(
      play_key, game, instance, players, judge_params, agent_params, batch_axis=runner.GAMES
    )


def run_games(
  arm: Arm,
  checker: StepChecker,
  judge_params,
  *,
  length: int,
  seed: int,
  num_games: int,
  batch_size: int,
  mesh=None,
  max_length: int | None = None,
  first_index: int = 0,
  on_batch=None,
  agent_params=(None, None),
  networks: tuple = (),
):
  """Plays games first_index .. first_index + num_games - 1 of `arm` (see runner.run_games): (outcome,
  transcript), dicts of numpy arrays with leading axis [num_games]. `agent_params`: the (honest, liar)
  params of learned agents; `networks`: their architectures (ChainPlayer)."""
  if length < 1:
    raise ValueError(f'chain length T must be >= 1, got {length}')
  max_length = max_length or padded_length(length)
  if length > max_length:
    raise ValueError(f'chain length T={length} exceeds max_length={max_length}')
  return runner.run_games(
    ChainPlayer(arm.structure, checker, max_length, tuple(networks)),
    lambda indices: (indices.astype(np.uint32),),
    (np.int32(length), jax.random.key(seed), judge_params, tuple(agent_params)),
    num_games=num_games,
    batch_size=batch_size,
    mesh=mesh,
    first_index=first_index,
    on_batch=on_batch,
  )
