"""Text games in batches (`debate.rollouts.runner`): the arms of the text task, their agents, and one game by
its story index.

A cell plays stories 0..N-1 of a seed (instances `debate.tasks.text.sample_instances(task, seed, indices)`,
generated on the host, a function of (seed, index) only). Game n's keys derive from (run seed, story index)
only, never from the batch, the device layout, the protocol, the judge or k, so every result is identical
for any batch size and device count, and the same story under two protocols is a paired comparison:

  play key = fold_in(fold_in(key(seed), index), 0)   (the game's init: first player, consultant's side;
                                                      the moves; direct's random quotes)
  tie key  = fold_in(fold_in(key(seed), index), 1)   (the coin of a judge alone at probability 1/2)

Arms (`parse_text_arm`), AGENT one of random, greedy, mcts:B (the platform's agents, `debate.agents`), or the
self-play network az:STEP[@S] (debate and open debate; `debate.training.selfplay` on the text debate game):
  blind                      the judge alone, no quotes (k empty slots).
  direct[/hidden]            the judge alone on k random verified sentences.
  consultancy/AGENT          one consultant, honest or lying at random, makes all k quotes.
  open_consultancy/AGENT     the consultant argues the answer it expects the judge to accept, by its own
                             estimate (`protocols.open_consultancy.play_game`).
  debate/AGENT[/liar=AGENT]  the honest debater (AGENT) and the liar (AGENT, or liar=) alternate k quotes in
                             all; who moves first is drawn from the play key.
  open_debate/AGENT          the protagonist picks its side by its own estimate (`protocols.open_debate`).
Options (every protocol with agents): `/claims` lets agents make unverified claims (fabricated sentences; the
game's allow_claims), `/hidden` hides the verified flags from the judge (the game's show_verified=False).

A compiled batch depends only on the arm's structure (without checkpoint steps), the task, the judge's
architecture (its hashable judge object), k and the mesh: the seed's key, the judge's params and the agents'
params are traced arguments.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from debate.agents.specs import AgentSpec, parse_agent
from debate.games import text as text_game
from debate.rollouts import runner
from debate.rollouts.chain import policy  # One policy per agent spec, for every task.
from debate.tasks import text as text_task
from protocols import debate, open_consultancy, open_debate

PROTOCOLS = ('blind', 'direct', 'consultancy', 'open_consultancy', 'debate', 'open_debate')
JUDGE_ALONE = ('blind', 'direct')
AGENT_KINDS = ('random', 'greedy', 'mcts', 'az')
DEBATES = ('debate', 'open_debate')  # The az networks are trained in debate (both roles).


@dataclasses.dataclass(frozen=True)
class TextArm:
  """A protocol with its agents and options: one row of a results table (see the module docstring).

  honest: the honest debater (debate), the consultant (consultancy), the protagonist (open debate); liar:
  the liar (debate; open debate: the same agent); claims: agents may make unverified claims; hidden: the
  judge does not see the verified flags."""

  protocol: str
  honest: AgentSpec | None = None
  liar: AgentSpec | None = None
  claims: bool = False
  hidden: bool = False

  @property
  def name(self) -> str:
    parts = [self.protocol] + ([self.honest.name] if self.honest else [])
    if self.protocol == 'debate' and self.liar != self.honest:
      parts.append(f'liar={self.liar.name}')
    return '/'.join(parts + ['claims'] * self.claims + ['hidden'] * self.hidden)

  @property
  def structure(self) -> TextArm:
    """The arm without checkpoint steps: what a compiled batch depends on."""
    return dataclasses.replace(
      self, honest=self.honest and self.honest.structure, liar=self.liar and self.liar.structure
    )

  @property
  def strong(self) -> AgentSpec | None:
    """The agent whose strength a row measures: the liar in debate, the consultant, the protagonist."""
    return self.liar if self.protocol == 'debate' else self.honest

  @property
  def budget(self) -> int | None:
    """The MCTS simulations per move of `strong`, if it searches."""
    return self.strong.budget if self.strong is not None and self.strong.kind == 'mcts' else None

  @property
  def agents(self) -> tuple[AgentSpec | None, ...]:
    """The specs of the game's players: (honest, liar) in debate, (consultant,) in consultancy, () alone."""
    if self.protocol in JUDGE_ALONE:
      return ()
    return (self.honest, self.liar) if self.protocol in DEBATES else (self.honest,)


def parse_text_arm(spec: str) -> TextArm:
  """See the module docstring; ValueError naming the problem and the accepted forms."""
  protocol, *rest = spec.split('/')
  if protocol not in PROTOCOLS:
    raise ValueError(f'unknown text protocol {protocol!r} in {spec!r}; expected one of {", ".join(PROTOCOLS)}')
  options = [r for r in rest if r in ('claims', 'hidden')]
  hidden, claims = 'hidden' in options, 'claims' in options
  if len(set(options)) != len(options):
    raise ValueError(f'an option is repeated in {spec!r}')
  rest = [r for r in rest if r not in options]
  if protocol in JUDGE_ALONE:
    if rest or claims or (hidden and protocol == 'blind'):
      allowed = 'no agent and no option' if protocol == 'blind' else 'no agent and only the option /hidden'
      raise ValueError(f'{protocol} takes {allowed}, got {spec!r}')
    return TextArm(protocol, hidden=hidden)
  if not rest:
    raise ValueError(
      f'{protocol} needs an agent, e.g. {protocol}/greedy, {protocol}/mcts:16 or {protocol}/random; got {spec!r}'
    )
  agent = parse_agent(rest[0], AGENT_KINDS, role='text agent', context=spec)
  liar = agent
  for option in rest[1:]:
    if protocol == 'debate' and option.startswith('liar='):
      liar = parse_agent(option[len('liar=') :], AGENT_KINDS, role='text agent', context=spec)
    else:
      extra = 'liar=AGENT, ' if protocol == 'debate' else ''
      raise ValueError(f'unknown {protocol} option {option!r} in {spec!r}; expected {extra}claims or hidden')
  if protocol not in DEBATES and agent.kind == 'az':
    raise ValueError(f'the az self-play networks are trained for debate (both roles), not {protocol}: {spec!r}')
  return TextArm(protocol, honest=agent, liar=liar if protocol in DEBATES else None, claims=claims, hidden=hidden)


def make_game(arm: TextArm, task: text_task.TextTask, judge, k: int) -> text_game.TextDebate:
  """The text game an arm plays (debate mode for both debates, consultancy for both consultancies)."""
  mode = 'debate' if arm.protocol in DEBATES + JUDGE_ALONE else 'consultancy'
  return text_game.TextDebate(task, k, judge, mode=mode, allow_claims=arm.claims, show_verified=not arm.hidden)


def argue(state, side):
  """The text consultancy state with the consultant arguing answer `side` ([] int32): open consultancy's
  `argue` (`protocols.open_consultancy.play_game`)."""
  return state.replace(claim=jnp.asarray(side, jnp.int32))


@dataclasses.dataclass(frozen=True)
class TextPlayer:
  """The batch player of text cells (see debate.rollouts.runner): one game on one story.

  arm: the arm's structure; judge: the game's judge (hashable: `debate.games.text.ExactJudge` or a learned
  `judges.text_judges.TextJudge`); networks: ((kind, width, depth), ...) of the learned agents' networks."""

  arm: TextArm
  task: text_task.TextTask
  judge: Any
  k: int
  networks: tuple = ()

  def _alone(self, play_key, tie_key, instance, judge_params):
    """blind and direct: the judge alone; at probability 1/2 it guesses with the tie key."""
    if self.arm.protocol == 'blind':
      view = text_task.blind_view(instance, self.k)
    else:
      view = text_task.random_view(play_key, instance, self.k, 0, show_verified=not self.arm.hidden)
    logit = jnp.asarray(self.judge(judge_params, view), jnp.float32)
    verdict = jnp.where(logit == 0, jax.random.bernoulli(tie_key), logit < 0).astype(jnp.int32)
    label = instance.label
    outcome = {
      'correct': verdict == label,
      'verdict': verdict,
      'prob_true': jax.nn.sigmoid(jnp.where(label == 0, logit, -logit)),
      'qtype': instance.qtype,
      'hops': instance.hops,
    }
    empty = jnp.full((self.k,), -1, jnp.int32)
    quoted = jnp.where(view.positions >= 0, view.positions, -1)
    transcript = {
      'actions': quoted,
      'positions': view.positions,
      'flags': view.flags,
      'prob_true_after': jnp.full((self.k,), jnp.nan).at[-1].set(outcome['prob_true']),
      'movers': empty,
      'claim': jnp.int32(-1),
      'honest_first': jnp.bool_(False),
    }
    return outcome, transcript

  def __call__(self, instance, index, seed_key, judge_params, agents):
    """instance: one TextInstance; index: [] int32, the story index; seed_key: key(seed); agents: the
    players' params (None where not learned). Returns (outcome, transcript) of one game: the game's
    (`debate.games.text.TextDebate.result`; the judge alone gives the same fields)."""
    arm = self.arm
    base = jax.random.fold_in(seed_key, index)
    play_key, tie_key = jax.random.fold_in(base, 0), jax.random.fold_in(base, 1)
    if arm.protocol in JUDGE_ALONE:
      return self._alone(play_key, tie_key, instance, judge_params)
    game = make_game(arm, self.task, self.judge, self.k)
    players = tuple(policy(spec, self.networks) for spec in arm.agents)
    agents = tuple(agents[: len(players)])
    if arm.protocol == 'open_consultancy':
      return open_consultancy.play_game(
        play_key, game, instance, players[0], judge_params, agents[0], argue=argue, batch_axis=runner.GAMES
      )
    play = debate.play if arm.protocol != 'open_debate' else open_debate.play
    return play(play_key, game, instance, players, judge_params, agents, batch_axis=runner.GAMES)


def run_games(
  arm: TextArm,
  task: text_task.TextTask,
  judge,
  judge_params,
  instances: text_task.TextInstance,
  indices: np.ndarray,
  *,
  k: int,
  seed: int,
  batch_size: int,
  mesh=None,
  on_batch: Callable[[int], Any] | None = None,
  agent_params=(None, None),
  networks: tuple = (),
):
  """Plays `arm` on the stories `instances` (a TextInstance of numpy arrays [N, ...]) whose story indices are
  `indices` [N] (they key the games). Games run in global batches of `batch_size` (runner.run_games; the last
  one is padded with copies of story 0 whose results are dropped). `agent_params`: the players' params
  (None where not learned); `networks`: their architectures (TextPlayer). Returns (outcome, transcript):
  dicts of numpy arrays with leading axis [N], in every process."""
  if not 1 <= k <= task.num_sentences:
    raise ValueError(f'k (quotes in all) must be in [1, S={task.num_sentences}], got {k}')
  indices = np.asarray(indices, np.int32)
  num_games = len(indices)

  def per_game(games):
    games = np.where(games < num_games, games, 0)
    return jax.tree.map(lambda a: np.asarray(a)[games], instances), indices[games]

  player = TextPlayer(arm.structure, task, judge, k, tuple(networks))
  shared = (jax.random.key(seed), judge_params, tuple(agent_params))
  return runner.run_games(
    player, per_game, shared, num_games=num_games, batch_size=batch_size, mesh=mesh, on_batch=on_batch
  )
