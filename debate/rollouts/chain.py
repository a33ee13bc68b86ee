"""Batched, sharded rollouts: whole games under `jit`, `vmap` over games, `shard_map` over a ('data',) mesh.

A game is identified by its global index. Its keys derive from (run seed, T, index) only, never from the
batch, device layout or padding, so every discrete result of a cell (moves, verdicts, counts) is
bit-identical for any device count, batch size and padding (a learned judge's float scores may differ in
the last bits, as XLA picks kernels per shape):

  instance key = fold_in(fold_in(fold_in(key(seed), 0), T), index)   (shared by every protocol and judge:
                                                                      paired comparisons across cells)
  play key     = fold_in(fold_in(fold_in(key(seed), 1), T), index)

The compiled batch of games depends only on the game shapes, the arm (protocol, agents, budget), the judge's
architecture (its StepChecker) and the mesh: T, the seed's key and the judge's params are traced arguments,
so one compilation serves every T up to the padded length, every seed and every judge of one architecture
(a ladder of learned judges of one width, a noisy judge's seeds). `compilations()` counts them.

With several processes (debate/distributed/multihost.py) the mesh spans every process's devices: each process plays the
games of its devices' share of each batch, and the outcomes are gathered so that every process returns all
of them, bit-identical to a single process's.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from debate.agents import chain as agents
from debate.distributed import multihost
from debate.tasks import chain
from debate.training import selfplay_chain as selfplay
from judges.chain_checkers import StepChecker
from protocols import consultancy, debate, direct, open_consultancy, open_debate

PROTOCOLS = ('direct', 'consultancy', 'open_consultancy', 'debate', 'open_debate')


@dataclasses.dataclass(frozen=True)
class Arm:
  """A protocol with its agents and budget: one row of a results table.

  Spelled `direct`, `consultancy[/LIAR]` or `open_consultancy[/LIAR]` with LIAR one of random (the
  default), search:BUDGET, oracle, or `[open_]debate/LIAR` with LIAR one of random, greedy, mcts:BUDGET,
  oracle, or `debate/learned:STEP` (the learned liar's checkpoint at STEP; see debate/training/liar.py) or
  `debate/az:STEP[@S]` (the self-play network's checkpoint at STEP as the liar, with S search simulations
  per move if given; see debate/training/selfplay_chain.py).
  `debate/LIAR/HONEST` also names the honest debater: midpoint (the standard one, the default: the same arm
  as `debate/LIAR`), or a split-choosing one, mcts:BUDGET or az:STEP[@S], which plays the split-choice game
  of debate/training/selfplay_chain.py against LIAR = random, mcts:BUDGET or az:STEP[@S].
  `s` is the judge's step-check budget (direct and consultancy).
  """

  protocol: str
  liar: agents.LiarSpec | None = None
  s: int | None = None
  honest: agents.HonestSpec | None = None  # None: the midpoint honest debater.

  @property
  def name(self) -> str:
    if self.liar is None or (self.protocol.endswith('consultancy') and self.liar.kind == 'random'):
      return self.protocol
    if self.honest is not None:
      return f'{self.protocol}/{self.liar.name}/{self.honest.name}'
    return f'{self.protocol}/{self.liar.name}'


DEBATE_LIARS = ('random', 'greedy', 'mcts', 'oracle')
LIARS_OF = {
  'debate': DEBATE_LIARS + agents.LEARNED_KINDS,
  'open_debate': DEBATE_LIARS,
  'consultancy': consultancy.CONSULTANT_KINDS,
  'open_consultancy': consultancy.CONSULTANT_KINDS,
}


def parse_arm(spec: str, s: int) -> Arm:
  """'direct' | '[open_]consultancy[/random|/search:B|/oracle]' | 'open_debate/(random|greedy|mcts:B|oracle)'
  | 'debate/(random|greedy|mcts:B|oracle|learned:STEP|az:STEP[@S])[/(midpoint|mcts:B|az:STEP[@S])]' -> Arm."""
  protocol, _, liar = spec.partition('/')
  liar, _, honest = liar.partition('/')
  if protocol not in PROTOCOLS:
    raise ValueError(f'unknown protocol {protocol!r} in {spec!r}; expected one of {", ".join(PROTOCOLS)}')
  if protocol == 'direct':
    if liar:
      raise ValueError(f'direct takes no liar, got {spec!r}')
    return Arm(protocol, s=_check_s(s))
  if protocol.endswith('debate') and not liar:
    raise ValueError(
      f'{protocol} needs a liar: {protocol}/random, {protocol}/greedy, {protocol}/mcts:BUDGET '
      f'or {protocol}/oracle, got {spec!r}'
    )
  kind, _, budget = (liar or 'random').partition(':')
  if kind not in LIARS_OF[protocol]:
    raise ValueError(
      f'unknown liar {kind!r} for {protocol} in {spec!r}; expected one of {", ".join(LIARS_OF[protocol])}'
    )
  if kind in agents.LEARNED_KINDS and not budget:
    raise ValueError(f'a {kind} liar names its checkpoint step, e.g. {protocol}/{kind}:1000, got {spec!r}')
  try:
    budget, simulations = _budget_and_simulations(kind, budget)
  except ValueError:
    raise ValueError(
      f'bad liar budget in {spec!r}: expected an integer, e.g. {protocol}/{kind}:64'
      + (f' or {protocol}/az:1000@16' if kind == 'az' else '')
    ) from None
  liar_spec = agents.LiarSpec(kind, budget, simulations=simulations)
  if honest:
    return Arm(protocol, liar=liar_spec, honest=_parse_honest(honest, protocol, liar_spec, spec))
  if protocol.endswith('debate'):
    return Arm(protocol, liar=liar_spec)
  return Arm(protocol, liar=liar_spec, s=_check_s(s))


def _parse_honest(honest: str, protocol: str, liar: agents.LiarSpec, spec: str) -> agents.HonestSpec | None:
  """The HONEST of 'debate/LIAR/HONEST' (None for midpoint, the default). Raises ValueError."""
  if protocol != 'debate':
    raise ValueError(f'only debate names an honest debater (debate/LIAR/HONEST), got {spec!r}')
  kind, _, budget = honest.partition(':')
  if kind not in agents.HONEST_KINDS or (kind == 'midpoint') == bool(budget):
    raise ValueError(
      f'unknown honest debater {honest!r} in {spec!r}; expected midpoint, mcts:BUDGET (e.g. '
      f'debate/random/mcts:64) or az:STEP[@S] (the self-play network at a checkpoint step, '
      f'with S search simulations a move if given, e.g. debate/random/az:1000 or '
      f'debate/random/az:1000@16)'
    )
  if kind == 'midpoint':
    return None
  try:
    budget, simulations = _budget_and_simulations(kind, budget)
    honest_spec = agents.HonestSpec(kind, budget, simulations=simulations)
  except ValueError as e:
    raise ValueError(f'bad honest debater in {spec!r}: {e}') from None
  if liar.kind not in selfplay.SPLIT_GAME_LIARS:
    raise ValueError(
      f'the {liar.name} liar cannot play against the split-choosing honest debater {honest!r} '
      f'in {spec!r}; with mcts:B or az:STEP honest debaters the liar is one of '
      f'{", ".join(selfplay.SPLIT_GAME_LIARS)} (e.g. debate/mcts:64/{honest})'
    )
  return honest_spec


def _budget_and_simulations(kind: str, budget: str) -> tuple[int, int]:
  """'64' -> (64, 0); for az also 'STEP@SIMULATIONS' -> (STEP, SIMULATIONS). Raises ValueError."""
  if kind == 'az' and '@' in budget:
    step, _, simulations = budget.partition('@')
    if int(simulations) < 1:
      raise ValueError(f'az search needs simulations >= 1 after @, got {simulations}')
    return int(step), int(simulations)
  return (int(budget) if budget else 0), 0


def _check_s(s: int) -> int:
  if s < 0:
    raise ValueError(f'step-check budget s must be >= 0, got {s}')
  return s


def game_keys(base, length, index: jax.Array):
  """(instance_key, play_key) of the game with global `index`; base: key(seed), a [] PRNG key."""
  instance_key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, 0), length), index)
  play_key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, 1), length), index)
  return instance_key, play_key


def play_one(index, length, seed_key, judge_params, *, arm: Arm, checker: StepChecker, max_length: int):
  """Plays the game with global `index` ([] uint32) on a chain of `length` ([] int32) steps, padded to
  `max_length`, with seed_key = key(seed) ([] PRNG key) and the judge's `judge_params` (all traced).

  Returns (outcome, transcript) for one game."""
  instance_key, play_key = game_keys(seed_key, length, index)
  instance = chain.sample_instance(instance_key, length, checker.modulus, max_length)
  if arm.protocol == 'direct':
    return direct.play(play_key, instance, checker, judge_params, s=arm.s)
  if arm.protocol in ('consultancy', 'open_consultancy'):
    play = consultancy.play if arm.protocol == 'consultancy' else open_consultancy.play
    return play(play_key, instance, checker, judge_params, s=arm.s, liar=arm.liar)
  if arm.honest is not None:
    return selfplay.play(play_key, instance, checker, judge_params, liar=arm.liar, honest=arm.honest)
  play = debate.play if arm.protocol == 'debate' else open_debate.play
  return play(play_key, instance, checker, judge_params, liar=arm.liar)


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """A 1-D ('data',) mesh over `devices` (default: every device)."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.sharding.Mesh(np.array(devices), ('data',))


def padded_length(length: int) -> int:
  """The static array length games of `length` steps are compiled for: the next power of two.

  One compilation then serves every T in (2^(k-1), 2^k]; a grid over T compiles once per power of two at
  most, and results never depend on the padding (tested).
  """
  return 1 << max(0, (length - 1).bit_length())


_traces = [0]  # Traces of the batch-of-games function: one per compilation (`compilations`).


def compilations() -> int:
  """How many batches of chain games this process has compiled (traced) so far, over every arm and judge."""
  return _traces[0]


@functools.lru_cache(maxsize=64)
def compiled_games(arm: Arm, checker: StepChecker, max_length: int, mesh):
  """The compiled batch of games of `arm` judged by a `checker` of one architecture, on `mesh`:

  fn(indices [B] uint32 sharded over 'data', length [] int32, seed_key [] PRNG key, judge_params) ->
  (outcome, transcript) with leading axis [B]; everything but `indices` replicated. Nothing of the seed or of
  the judge's params is static, so every seed and every judge of the architecture reuse one compilation."""

  def local(indices, length, seed_key, judge_params):
    _traces[0] += 1
    play = functools.partial(play_one, arm=arm, checker=checker, max_length=max_length)
    return jax.vmap(play, in_axes=(0, None, None, None))(indices, length, seed_key, judge_params)

  sharded = jax.shard_map(local, mesh=mesh, in_specs=(P('data'), P(), P(), P()), out_specs=P('data'), check_vma=False)
  return jax.jit(sharded)


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
  on_batch: Callable[[int], Any] | None = None,
):
  """Plays games first_index .. first_index + num_games - 1 in global batches of `batch_size`.

  The batch is rounded up to a multiple of the mesh size; the last batch is padded with extra games whose
  results are dropped. `on_batch(games_done)` is called after each batch (progress reports). Returns
  (outcome, transcript): dicts of numpy arrays with leading axis [num_games], in every process (with
  several processes every one must call this: the outcomes are gathered).
  Transcripts are a few dozen integers per game, so they come with every game rather than from a second
  compilation.
  """
  if length < 1:
    raise ValueError(f'chain length T must be >= 1, got {length}')
  max_length = max_length or padded_length(length)
  if length > max_length:
    raise ValueError(f'chain length T={length} exceeds max_length={max_length}')
  mesh = mesh or data_mesh()
  n_devices = mesh.devices.size
  batch = -(-max(1, min(batch_size, num_games)) // n_devices) * n_devices
  fn = compiled_games(arm, checker, max_length, mesh)
  length = jax.device_put(np.int32(length), NamedSharding(mesh, P()))
  seed_key, replicated = multihost.replicate((jax.random.key(seed), judge_params), mesh)
  chunks = []
  for start in range(first_index, first_index + num_games, batch):
    indices = jax.device_put(np.arange(start, start + batch, dtype=np.uint32), NamedSharding(mesh, P('data')))
    chunks.append(multihost.to_host(fn(indices, length, seed_key, replicated)))
    if on_batch:
      on_batch(min(start + batch, first_index + num_games) - first_index)
  return jax.tree.map(lambda *xs: np.concatenate(xs)[:num_games], *chunks)
