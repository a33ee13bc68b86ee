"""Batched, sharded image games: `jit(shard_map(vmap(play_one)))` over a ('data',) mesh, in memory-bounded chunks.

A cell plays every (image, lie, repeat) of a set of test images. Game g of a cell with L lies and R repeats
per image is image position g // (L R), lie number (g // R) % L, repeat g % R. Its keys derive from (run
seed, the image's index in the data set, lie number, repeat) only, never from the batch, the device layout,
the protocol or the budget, so every discrete result is identical for any device count and batch size, and
the same game under two protocols or budgets is a paired comparison:

  play key  = fold_in(fold_in(fold_in(fold_in(key(seed), image_index), lie), repeat), 0)
  claim key = the same with 1 in place of 0 (the consultant's assignment: true label or a random wrong one)

Lie number j of an image with label y claims (y + 1 + j) mod C (precommit debate: L = C - 1 lies).

The compiled batch depends only on the game shapes, the arm's structure (agents and budgets, without
checkpoint steps), the judge's architecture (its ImageJudge), k and the mesh: the seed's key, the judge's
params, the agents' params, precommit and the first player are traced arguments, so every seed, every judge
of one architecture and every checkpoint of a self-play ladder reuse one compilation
(`debate.rollouts.runner`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from debate.agents.specs import AgentSpec, parse_agent
from debate.games import images as image_games
from debate.games import pixels as image_game
from debate.rollouts import runner
from debate.rollouts.chain import policy  # One policy per agent spec, for every task.
from protocols import debate, direct

IMAGE_PROTOCOLS = ('direct', 'consultancy', 'debate')
AGENT_KINDS = ('random', 'greedy', 'mcts', 'az')
FIRST_PLAYERS = ('honest', 'liar')


@dataclasses.dataclass(frozen=True)
class ImageArm:
  """A protocol with its agents: `direct`, `consultancy/AGENT`, or `debate/AGENT[/liar=AGENT][/no_precommit]`.

  In debate, AGENT is the honest debater and also the liar unless `liar=` names another; AGENT is random,
  greedy, mcts:SIMULATIONS, or (precommit debate only) a self-play network az:STEP[@SIMULATIONS]
  (debate/training/selfplay.py). `precommit` only matters for debate.
  """

  protocol: str
  honest: AgentSpec | None = None
  liar: AgentSpec | None = None
  precommit: bool = True

  @property
  def name(self) -> str:
    if self.protocol != 'debate':
      return self.protocol + (f'/{self.honest.name}' if self.honest else '')
    liar = f'/liar={self.liar.name}' if self.liar != self.honest else ''
    return f'debate/{self.honest.name}{liar}' + ('' if self.precommit else '/no_precommit')

  @property
  def structure(self) -> ImageArm:
    """The arm without checkpoint steps and with precommit normalised (a traced flag): what a compiled
    batch depends on."""
    honest, liar = (spec and spec.structure for spec in (self.honest, self.liar))
    return dataclasses.replace(self, honest=honest, liar=liar, precommit=True)

  @property
  def budget(self) -> int | None:
    """The debaters' (consultant's) MCTS simulations per move, if they search."""
    agent = self.liar if self.protocol == 'debate' else self.honest
    return agent.budget if agent is not None and agent.kind == 'mcts' else None


def parse_image_arm(spec: str) -> ImageArm:
  """See `ImageArm`; ValueError naming the problem and the accepted forms."""
  protocol, *rest = spec.split('/')
  if protocol not in IMAGE_PROTOCOLS:
    raise ValueError(f'unknown image protocol {protocol!r} in {spec!r}; expected one of {", ".join(IMAGE_PROTOCOLS)}')
  if protocol == 'direct':
    if rest:
      raise ValueError(f'direct takes no agent, got {spec!r}')
    return ImageArm('direct')
  if not rest:
    raise ValueError(
      f'{protocol} needs an agent, e.g. {protocol}/mcts:100, {protocol}/greedy or {protocol}/random; got {spec!r}'
    )
  agent = parse_agent(rest[0], AGENT_KINDS, role='image agent', context=spec)
  if protocol == 'consultancy':
    if len(rest) > 1:
      raise ValueError(f'consultancy takes one agent and no options, got {spec!r}')
    if agent.kind == 'az':
      raise ValueError(f'the az self-play networks are trained for precommit debate, not consultancy: {spec!r}')
    return ImageArm('consultancy', honest=agent)
  liar, precommit = agent, True
  for option in rest[1:]:
    if option == 'no_precommit':
      precommit = False
    elif option.startswith('liar='):
      liar = parse_agent(option[len('liar=') :], AGENT_KINDS, role='image agent', context=spec)
    else:
      raise ValueError(f'unknown debate option {option!r} in {spec!r}; expected liar=AGENT or no_precommit')
  if not precommit and 'az' in (agent.kind, liar.kind):
    raise ValueError(f'the az self-play networks are trained for precommit debate; drop /no_precommit from {spec!r}')
  return ImageArm('debate', honest=agent, liar=liar, precommit=precommit)


def lies_per_image(arm: ImageArm, num_classes: int) -> int:
  """Games per image and repeat: C - 1 for precommit debate (one per lie), else 1."""
  return num_classes - 1 if arm.protocol == 'debate' and arm.precommit else 1


def judge_evaluations_per_game(arm: ImageArm, *, k: int, num_actions: int, first: str | None) -> float | None:
  """Judge forward passes the liar (the consultant in consultancy) spends choosing its moves in one game.

  Per move: mcts:B one judged rollout per simulation (B; N B with the avgN leaf evaluation), greedy one per
  candidate pixel (A = num_actions, padded candidates included), random 1 (the chain tournament's
  convention), az:STEP@S S (its search judges every node it expands). Moves: all k in consultancy; in debate
  the liar's share of the k alternating moves (the first player makes ceil(k / 2)). None for direct judging
  and for the network alone (az:STEP, which spends no judge evaluations in play; its cost is its training).
  """
  agent = arm.liar if arm.protocol == 'debate' else arm.honest
  if agent is None or (agent.kind == 'az' and not agent.simulations):
    return None
  per_move = {
    'mcts': float(agent.budget * agent.judge_calls_per_simulation),
    'greedy': float(num_actions),
    'random': 1.0,
    'az': float(agent.simulations),
  }[agent.kind]
  return per_move * (k if arm.protocol == 'consultancy' else ((k + 1) // 2 if first == 'liar' else k // 2))


def search_bytes_per_game(arm: ImageArm, num_actions: int, k: int) -> int:
  """Bytes one game's search tree holds (mctx keeps [simulations + 1, A] arrays of 6 kinds), 0 without search."""
  return (arm.budget + 1) * (num_actions * 6 * 4 + (k + 1) * 4 + 8 * 4) if arm.budget else 0


@dataclasses.dataclass(frozen=True)
class ImagePlayer:
  """The batch player of image cells (see debate.rollouts.runner): one (image, lie, repeat) game.

  networks: ((kind, width, depth), ...) of the learned agents' networks."""

  arm: ImageArm
  judge: Any
  k: int
  num_actions: int
  num_classes: int
  networks: tuple = ()

  def __call__(self, image, label, image_index, lie, repeat, seed_key, judge_params, precommit, honest_first, agents):
    """image [H, W] float32 in [0, 1], label / image_index / lie / repeat [] int32 -> (outcome, transcript).

    seed_key: key(seed); precommit, honest_first: [] bool, the same for every game of a batch (arguments
    rather than static options, so that one compilation serves the four debate variants of an agent pair);
    agents: the (honest, liar) params of learned agents (None where not learned)."""
    arm, num_classes = self.arm, self.num_classes
    base = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(seed_key, image_index), lie), repeat)
    play_key, claim_key = jax.random.fold_in(base, 0), jax.random.fold_in(base, 1)
    if arm.protocol == 'direct':
      claim = jnp.int32(-1)
    elif arm.protocol == 'consultancy':
      honest_key, wrong_key = jax.random.split(claim_key)
      wrong = (label + jax.random.randint(wrong_key, (), 1, num_classes)) % num_classes
      claim = jnp.where(jax.random.bernoulli(honest_key), label, wrong)
    else:
      claim = jnp.where(precommit, (label + 1 + lie) % num_classes, -1)
    instance = image_game.make_game(image, label, claim, self.num_actions, honest_first)
    if arm.protocol == 'direct':
      outcome, transcript = direct.play_images(play_key, instance, self.judge, judge_params, k=self.k)
    else:
      game = image_games.ImageDebate(self.judge, self.k, self.num_actions, arm.protocol)
      players = tuple(policy(spec, self.networks) for spec in (arm.honest, arm.liar)[: game.num_players])
      outcome, transcript = debate.play(
        play_key, game, instance, players, judge_params, agents[: game.num_players], batch_axis=runner.GAMES
      )
    return outcome, {**transcript, 'claim': claim}


def run_games(
  arm: ImageArm,
  judge,
  judge_params,
  images: np.ndarray,
  labels: np.ndarray,
  image_indices: np.ndarray,
  *,
  k: int,
  num_actions: int,
  num_classes: int,
  first: str | None,
  seed: int,
  repeats: int,
  batch_size: int,
  mesh=None,
  on_batch: Callable[[int], Any] | None = None,
  agent_params=(None, None),
  networks: tuple = (),
):
  """Plays every (image, lie, repeat) game of `arm` on `images` ([N, H, W] float32 in [0, 1]).

  labels, image_indices: [N] int (image_indices: each image's index in its data set, which keys its games).
  Games run in global batches of `batch_size` (see runner.run_games; the last one is padded with copies of
  game 0 whose results are dropped). `agent_params`: the (honest, liar) params of learned agents;
  `networks`: their architectures (ImagePlayer). Returns (outcome, transcript): dicts of numpy arrays with
  leading axes [N, L, repeats], L = lies per image, in every process (with several processes every one must
  call this).
  """
  if first not in FIRST_PLAYERS + (None,):
    raise ValueError(f'first player must be one of {FIRST_PLAYERS}, got {first!r}')
  num_lies = lies_per_image(arm, num_classes)
  num_games = len(images) * num_lies * repeats

  def per_game(games):
    games = np.where(games < num_games, games, 0)
    position, lie, repeat = games // (num_lies * repeats), (games // repeats) % num_lies, games % repeats
    return (
      images[position].astype(np.float32),
      labels[position].astype(np.int32),
      image_indices[position].astype(np.int32),
      lie.astype(np.int32),
      repeat.astype(np.int32),
    )

  player = ImagePlayer(arm.structure, judge, k, num_actions, num_classes, tuple(networks))
  shared = (jax.random.key(seed), judge_params, np.bool_(arm.precommit), np.bool_(first != 'liar'), tuple(agent_params))
  return jax.tree.map(
    lambda a: a.reshape(len(images), num_lies, repeats, *a.shape[1:]),
    runner.run_games(
      player, per_game, shared, num_games=num_games, batch_size=batch_size, mesh=mesh, on_batch=on_batch
    ),
  )
