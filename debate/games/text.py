"""Text debate (the `text` task, debate/tasks/text.py) as a game of the interface: debaters quote a story's
sentences to a judge that reads only the quotes.

An instance is a `TextInstance`. An action i < S quotes story sentence i (verified; each at most once); with
`allow_claims`, action S + f makes fabricated claim f (an unverified sentence that pretends to be sentence
`fabricated_position[f]`; each at most once): A = S (+ F). The game lasts `k` moves.
- mode 'debate': player 0 the honest debater (argues the true answer), player 1 the liar (the other), moving
  in turn; who moves first: `honest_first`, or drawn from the key when None. The honest side wins iff the
  judge's probability of the true answer is > 1/2 (a tie goes to the liar, as in image debate).
- mode 'consultancy': one player, the consultant, argues the answer `claim` (drawn from the key: honest or
  lying with probability 1/2) and makes all k moves; it wins iff the judge's probability of its answer is
  > 1/2.

The judge sees `judge_view(state)`, a `TextView` with K = k slots (slot t: move t; empty until played); with
`show_verified=False` every flag reads HIDDEN. A judge is a hashable callable `judge(judge_params, view) ->
[] float32`, the logit of P(answers[0] is true); the game's `judge` is static and its params are the game's
judge params. `ExactJudge` is the symbolic solver on the quotes (no params): verified quotes are true;
unverified claims are ignored when the flags are shown and believed when they are hidden (then nothing tells
them apart); the solver reads the believed sentences as the whole story (time order: position, then slot);
logit +-`ExactJudge.confidence` for the answer the evidence supports, 0 when it supports neither (undetermined:
probability 1/2, a tie, so the liar wins a debate and a consultant is rejected). The judge reads unfinished
games too, so a position's value is each player's judge margin (what `greedy` maximises).

Learned agents: `observe(state)` is what the debater to move sees (the whole story: it knows the truth, as a
debater does; the question, both answers, the answer it argues, the transcript with who made each move and the
flags the judge sees, the claims when allowed, the moves left), `network(width, depth)` the transformer pointer
of debate/games/text_network.py. `TrainingGames` and `training_stories` give the self-play trainer
(debate/training/selfplay.py) its games on the training split; `text_selfplay_ladder` trains (or loads) a
ladder of self-play checkpoints, the `az:STEP[@S]` debaters.

Key: the first player (debate) or the consultant's answer (consultancy); nothing else.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np

from debate.games import base, text_network
from debate.tasks import text as text_task
from debate.tasks import text_stories as stories
from debate.tasks.text import TextInstance, TextTask, TextView

HONEST, LIAR = 0, 1
MODES = ('debate', 'consultancy')
_T = stories.TOKEN
_VERBS = {_T['went']: stories.GO, _T['followed']: stories.FOLLOW, _T['took']: stories.TAKE}
_VERBS |= {_T['gave']: stories.GIVE, _T['dropped']: stories.DROP}


def parse_quotes(quotes: chex.Array) -> dict:
  """quotes [K, L] int32 -> events: kind [K] (0: no event), actor, place, other [K] (tokens), obj [K] (a code of
  the object's two tokens)."""
  verb = quotes[:, 1]
  kind = sum(jnp.where(verb == token, kind, 0) for token, kind in _VERBS.items())
  return {
    'kind': kind.astype(jnp.int32),
    'actor': quotes[:, 0],
    'place': quotes[:, 4],
    'other': jnp.where(kind == stories.FOLLOW, quotes[:, 2], quotes[:, 6]),
    'obj': quotes[:, 3] * len(stories.VOCAB) + quotes[:, 4],
  }


def evidence_answer(view: TextView) -> chex.Array:
  """[] int32: the answer index (0, 1) the believed quotes of `view` support by the solver's rules
  (debate/tasks/text_stories.py), -1 when undetermined or supporting neither answer. Believed: VERIFIED and
  HIDDEN slots (UNVERIFIED ones are ignored)."""
  q, e = view.question, parse_quotes(view.quotes)
  num_slots = view.flags.shape[0]
  believed = ((view.flags == text_task.VERIFIED) | (view.flags == text_task.HIDDEN)) & (e['kind'] > 0)
  time = view.positions * num_slots + jnp.arange(num_slots)  # Position, then slot.
  never = jnp.iinfo(jnp.int32).max
  first_q = q[0] == _T['who']
  holder_q = first_q & (q[1] == _T['has'])
  obj = q[3] * len(stories.VOCAB) + q[4]

  takes = believed & (e['kind'] == stories.TAKE) & (e['obj'] == obj)
  first = jnp.argmin(jnp.where(takes, time, never))
  first_value, first_ok = e['actor'][first], takes.any()

  moves_obj = believed & (e['kind'] >= stories.TAKE) & (e['obj'] == obj)
  last = jnp.argmax(jnp.where(moves_obj, time, -1))
  last_kind = e['kind'][last]
  holder = jnp.where(last_kind == stories.GIVE, e['other'][last], e['actor'][last])
  holder_ok = moves_obj.any() & (last_kind != stories.DROP)

  def follow(_, carry):  # X's place before `bound` by its last move: GO ends, FOLLOW(X, Y) asks Y's.
    who, bound, place, state = carry  # state 0: looking, 1: found, 2: undetermined.
    moves = believed & ((e['kind'] == stories.GO) | (e['kind'] == stories.FOLLOW)) & (e['actor'] == who)
    moves &= time < bound
    j = jnp.argmax(jnp.where(moves, time, -1))
    go = e['kind'][j] == stories.GO
    looking = state == 0
    state = jnp.where(looking, jnp.where(~moves.any(), 2, jnp.where(go, 1, 0)), state)
    place = jnp.where(looking & go, e['place'][j], place)
    who = jnp.where(looking & ~go, e['other'][j], who)
    bound = jnp.where(looking & ~go, time[j], bound)
    return who, bound, place, state

  bound = jnp.where(last_kind == stories.DROP, time[last], never)
  start = (holder, bound, jnp.int32(0), jnp.where(moves_obj.any(), 0, 2))
  _, _, place, state = jax.lax.fori_loop(0, num_slots, follow, start)
  is_where, is_first = q[0] == _T['where'], first_q & (q[1] == _T['took'])
  value = jnp.where(is_where, place, jnp.where(holder_q, holder, first_value))
  ok = jnp.where(is_where, state == 1, jnp.where(holder_q, holder_ok, is_first & first_ok))
  answer = jnp.where(value == view.answers[0, 0], 0, jnp.where(value == view.answers[1, 0], 1, -1))
  return jnp.where(ok, answer, -1).astype(jnp.int32)


@dataclasses.dataclass(frozen=True)
class ExactJudge:
  """The symbolic solver on the believed quotes (module docstring): logit `confidence` for answer 0, minus it
  for answer 1, 0 when undetermined. Needs no params (any pytree, e.g. None, is ignored)."""

  confidence: float = 10.0

  def __call__(self, judge_params, view: TextView) -> chex.Array:
    answer = evidence_answer(view)
    return jnp.where(answer == 0, self.confidence, jnp.where(answer == 1, -self.confidence, 0.0)).astype(jnp.float32)


@chex.dataclass(frozen=True)
class TextState:
  """instance: the TextInstance; actions: [k] int32, the moves so far (-1 unplayed); num_moves: [] int32;
  honest_first: [] bool (debate); claim: [] int32, the answer the consultant argues (debate: the liar's)."""

  instance: TextInstance
  actions: chex.Array
  num_moves: chex.Array
  honest_first: chex.Array
  claim: chex.Array


@dataclasses.dataclass(frozen=True)
class TextDebate(base.Game):
  """k quotes (and claims) over a story, judged by `judge` (a hashable callable; see the module docstring)."""

  task: TextTask
  k: int
  judge: object = ExactJudge()
  mode: str = 'debate'
  allow_claims: bool = False
  show_verified: bool = True
  honest_first: bool | None = None
  constant_fields = ('instance',)

  def __post_init__(self):
    if self.mode not in MODES:
      raise ValueError(f'mode must be one of {", ".join(MODES)}, got {self.mode!r}')
    if not 1 <= self.k <= self.task.num_sentences:
      raise ValueError(f'k (quotes in all) must be in [1, S={self.task.num_sentences}], got {self.k}')
    if self.allow_claims and self.task.num_fabricated < 1:
      raise ValueError('allow_claims needs a task with num_fabricated >= 1')

  @property
  def num_actions(self) -> int:
    return self.task.num_sentences + (self.task.num_fabricated if self.allow_claims else 0)

  @property
  def max_moves(self) -> int:
    return self.k

  @property
  def num_players(self) -> int:
    return 2 if self.mode == 'debate' else 1

  def init(self, key, instance: TextInstance) -> TextState:
    shape = (self.task.num_sentences, self.task.sentence_len)
    if instance.story.shape != shape or instance.fabricated.shape[0] != self.task.num_fabricated:
      raise ValueError(f'instance story {instance.story.shape} does not fit the task {shape}')
    first_key, claim_key = jax.random.split(key)
    if self.honest_first is None:
      honest_first = jax.random.bernoulli(first_key)
    else:
      honest_first = jnp.bool_(self.honest_first)
    label = jnp.asarray(instance.label, jnp.int32)
    claim = jax.random.bernoulli(claim_key).astype(jnp.int32) if self.mode == 'consultancy' else 1 - label
    return TextState(
      instance=instance,
      actions=jnp.full((self.k,), -1, jnp.int32),
      num_moves=jnp.int32(0),
      honest_first=honest_first,
      claim=claim,
    )

  def current_player(self, state: TextState) -> chex.Array:
    if self.mode == 'consultancy':
      return jnp.int32(0)
    honest_to_move = (state.num_moves % 2 == 0) == state.honest_first
    return jnp.where(honest_to_move, HONEST, LIAR).astype(jnp.int32)

  def terminal(self, state: TextState) -> chex.Array:
    return state.num_moves >= self.k

  def moves_left(self, state: TextState) -> chex.Array:
    return self.k - state.num_moves

  def _legal_actions(self, state: TextState) -> chex.Array:
    used = jnp.zeros((self.num_actions + 1,), jnp.bool_)
    return ~used.at[jnp.where(state.actions >= 0, state.actions, self.num_actions)].set(True)[:-1]

  def _apply(self, state: TextState, action: chex.Array) -> TextState:
    return state.replace(actions=state.actions.at[state.num_moves].set(action), num_moves=state.num_moves + 1)

  def view_of(self, instance: TextInstance, actions: chex.Array) -> TextView:
    """The TextView of `actions` [K] (-1: an empty slot)."""
    num_sentences = self.task.num_sentences
    claim = jnp.clip(actions - num_sentences, 0, self.task.num_fabricated - 1)
    is_claim, filled = actions >= num_sentences, actions >= 0
    sentence = jnp.clip(actions, 0, num_sentences - 1)
    if self.task.num_fabricated:
      quotes = jnp.where(is_claim[:, None], instance.fabricated[claim], instance.story[sentence])
      positions = jnp.where(is_claim, instance.fabricated_position[claim], sentence)
    else:
      quotes, positions = instance.story[sentence], sentence
    flags = jnp.where(is_claim, text_task.UNVERIFIED, text_task.VERIFIED)
    view = TextView(
      question=instance.question,
      answers=instance.answers,
      quotes=jnp.where(filled[:, None], quotes, 0),
      positions=jnp.where(filled, positions, -1).astype(jnp.int32),
      flags=jnp.where(filled, flags, text_task.EMPTY).astype(jnp.int32),
    )
    return view if self.show_verified else view.replace(flags=text_task.hide_flags(view.flags))

  def judge_view(self, state: TextState) -> TextView:
    """The TextView of the moves so far (K = k slots, slot t = move t)."""
    return self.view_of(state.instance, state.actions)

  def _logit(self, judge_params, state: TextState) -> chex.Array:
    return jnp.asarray(self.judge(judge_params, self.judge_view(state)), jnp.float32)

  def position_value(self, key, judge_params, state: TextState) -> chex.Array:
    """[P] float32: debate (honest margin, its negative), the judge's logit toward the true answer;
    consultancy [the logit toward the consultant's answer]."""
    logit = self._logit(judge_params, state)
    if self.mode == 'consultancy':
      return jnp.where(state.claim == 0, logit, -logit)[None]
    honest = jnp.where(state.instance.label == 0, logit, -logit)
    return jnp.stack([honest, -honest])

  def verdict(self, judge_params, state: TextState) -> chex.Array:
    """[P] float32: debate (+1, -1) if the honest side wins, else (-1, +1); consultancy [+1] iff accepted."""
    wins = self.position_value(None, judge_params, state) > 0
    if self.mode == 'debate':  # A tie (margin 0) goes to the liar.
      wins = jnp.stack([wins[0], ~wins[0]])
    return jnp.where(wins, 1.0, -1.0)

  def move_record(self, state: TextState, action: chex.Array) -> dict:
    """claim: [] int32, 1 if the move is an unverified claim."""
    return {'claim': (action >= self.task.num_sentences).astype(jnp.int32)}

  def result(self, judge_params, state: TextState, moves) -> tuple[dict, dict]:
    """(outcome, transcript). Outcome: `correct`, `verdict` (the answer index the judge settles on: the
    winner's), `prob_true` (the judge's probability of the true answer), `qtype`, `hops`; consultancy also
    `consultant_honest`, `accept`. Transcript: `actions` [k], `positions` [k], `flags` [k] (the judge's view),
    `prob_true_after` [k] (after each move; NaN after the end), `movers` [k] (HONEST (also the consultant) or
    LIAR; -1 for no move), `claim` (the answer the consultant or the liar argues) and `honest_first`."""
    instance, label = state.instance, state.instance.label
    wins = self.position_value(None, judge_params, state)[0] > 0
    logit = self._logit(judge_params, state)
    prob_true = jax.nn.sigmoid(jnp.where(label == 0, logit, -logit))
    if self.mode == 'consultancy':
      verdict = jnp.where(wins, state.claim, 1 - state.claim)
    else:
      verdict = jnp.where(wins, label, 1 - label)
    outcome = {
      'correct': verdict == label,
      'verdict': verdict.astype(jnp.int32),
      'prob_true': prob_true,
      'qtype': instance.qtype,
      'hops': instance.hops,
    }
    if self.mode == 'consultancy':
      outcome |= {'consultant_honest': state.claim == label, 'accept': wins}

    def after(t):
      actions = jnp.where(jnp.arange(self.k) <= t, state.actions, -1)
      logit = jnp.asarray(self.judge(judge_params, self.view_of(instance, actions)), jnp.float32)
      return jnp.where(t < state.num_moves, jax.nn.sigmoid(jnp.where(label == 0, logit, -logit)), jnp.nan)

    t = jnp.arange(self.k)
    if self.mode == 'debate':
      movers = jnp.where((t % 2 == 0) == state.honest_first, HONEST, LIAR)
    else:
      movers = jnp.full((self.k,), HONEST)
    view = self.judge_view(state)
    transcript = {
      'actions': state.actions,
      'positions': view.positions,
      'flags': view.flags,
      'prob_true_after': jax.vmap(after)(t),
      'movers': jnp.where(state.actions >= 0, movers, -1).astype(jnp.int32),
      'claim': state.claim,
      'honest_first': state.honest_first,
    }
    return outcome, transcript

  def side(self, state: TextState) -> chex.Array:
    """[] int32: the answer index the player to move argues (debate: the honest side the true one, the liar the
    other; consultancy: the consultant's claim)."""
    if self.mode == 'consultancy':
      return state.claim
    honest = self.current_player(state) == HONEST
    return jnp.where(honest, state.instance.label, state.claim).astype(jnp.int32)

  def observe(self, state: TextState) -> dict:
    """What the debater to move sees (A = num_actions, K = k): story [S, L], question [Q], answers [2, N],
    claims [F, L] and claim_positions [F] (only with allow_claims), side [] (the answer it argues), truth []
    (the true answer), moves_left []; per action: owner [A] (0 not played, 1 played by the mover, 2 by the
    other side), slot [A] (the move that played it; K if none), flag [A] (the flag the judge sees for it; EMPTY
    if not played)."""
    instance, actions = state.instance, state.actions
    moves = jnp.arange(self.k)
    played = actions >= 0
    by_mover = (state.num_moves - moves) % 2 == 0 if self.mode == 'debate' else jnp.ones((self.k,), jnp.bool_)
    target = jnp.where(played, actions, self.num_actions)  # Unplayed moves write past the end (dropped).
    owner = jnp.zeros((self.num_actions,), jnp.int32).at[target].set(jnp.where(by_mover, 1, 2), mode='drop')
    slot = jnp.full((self.num_actions,), self.k, jnp.int32).at[target].set(moves, mode='drop')
    flags = self.judge_view(state).flags
    flag = jnp.full((self.num_actions,), text_task.EMPTY, jnp.int32).at[target].set(flags, mode='drop')
    observation = {
      'story': instance.story,
      'question': instance.question,
      'answers': instance.answers,
      'side': self.side(state),
      'truth': jnp.asarray(instance.label, jnp.int32),
      'moves_left': self.moves_left(state).astype(jnp.int32),
      'owner': owner,
      'slot': slot,
      'flag': flag,
    }
    if self.allow_claims:
      observation |= {'claims': instance.fabricated, 'claim_positions': instance.fabricated_position}
    return observation

  def network(self, width: int, depth: int) -> text_network.TextPolicyValue:
    """The transformer pointer of debate/games/text_network.py for this game's sizes."""
    task = self.task
    max_len = max(task.sentence_len, task.question_len, task.answer_len)
    return text_network.TextPolicyValue(len(stories.VOCAB), task.num_sentences, self.k, max_len, width, depth)


# ------------------------------------------------------------------------------------------------------------
# Training games of the self-play debaters (a `debate.training.selfplay` sampler), their stories, and the ladder.

TEST_OFFSET = 1 << 30  # Instance i of the test split is generator index TEST_OFFSET + i (judges/text_judges.py's).
SELFPLAY_DEFAULTS = {  # The text debaters' self-play settings (debate.training.selfplay.SelfPlayConfig fields).
  'batch_size': 32,
  'num_simulations': 8,
  'considered_actions': 8,
  'learning_rate': 1e-3,
  'width': 64,
  'depth': 2,
  'log_every': 50,
}


def empty_instance(task: TextTask) -> TextInstance:
  """An all-zero instance with the task's shapes (for a network's init)."""
  s, f, length = task.num_sentences, task.num_fabricated, task.sentence_len
  zeros = lambda *shape: jnp.zeros(shape, jnp.int32)
  return TextInstance(
    story=zeros(s, length),
    question=zeros(task.question_len),
    answers=zeros(2, task.answer_len),
    label=zeros(),
    hops=zeros(),
    qtype=zeros(),
    support=jnp.zeros((2, s), jnp.bool_),
    fabricated=zeros(f, length),
    fabricated_side=zeros(f),
    fabricated_position=zeros(f),
  )


@dataclasses.dataclass(frozen=True)
class TrainingGames:
  """Self-play games on the training split: game b's story uniform over the pool of `num_stories` training
  stories (every device holds the whole pool, so the games do not depend on the layout); the first player
  (debate) or the consultant's answer (consultancy) from the game's key. Its data: `training_stories`."""

  task: TextTask
  num_stories: int

  def draw(self, key, batch: int):
    story_key, play_key = jax.random.split(key)
    return jax.random.randint(story_key, (batch,), 0, self.num_stories), jax.random.split(play_key, batch)

  def build(self, draws, data: TextInstance) -> TextInstance:
    """draws: story indices [b]; data: this device's block, the whole pool [N, ...]."""
    return jax.tree.map(lambda a: a[draws], data)

  def example(self) -> TextInstance:
    return empty_instance(self.task)


def training_stories(task: TextTask, seed: int, num_stories: int, mesh=None) -> TextInstance:
  """The self-play trainer's data: instances 0..N-1 of `seed` (the training split; the test split starts at
  TEST_OFFSET), generated on the host, [D * N, ...] with one copy of the pool per device of `mesh` (D = 1
  without one). Every process must call this."""
  pool = text_task.sample_instances(task, seed, range(num_stories))
  if mesh is None:
    return pool
  from debate.distributed import sharding  # The trainer's layout; the game itself needs none.

  devices = list(mesh.devices.flat)
  local = sum(device.process_index == jax.process_index() for device in devices)
  tiled = jax.tree.map(lambda a: np.concatenate([np.asarray(a)] * local), pool)
  return jax.tree.map(
    lambda a, t: jax.make_array_from_process_local_data(
      sharding.batch_sharding(mesh), t, (len(devices) * num_stories, *a.shape[1:])
    ),
    pool,
    tiled,
  )


def heldout_stories(task: TextTask, seed: int, num_stories: int) -> TextInstance:
  """Held-out instances: the first `num_stories` of the test split of `seed` ([N, ...])."""
  return text_task.sample_instances(task, seed, TEST_OFFSET + np.arange(num_stories))


def text_selfplay_ladder(
  game: TextDebate,
  judge_params,
  *,
  judge_name: str,
  rungs,
  workdir: str | None,
  seed: int = 0,
  num_stories: int = 2000,
  config=None,
  log=print,
  mesh=None,
) -> dict:
  """{step: params} of the text self-play network (`game.network`, both roles) at every rung: trained against
  `game`'s judge (with `judge_params`) on `num_stories` training stories of `seed`, or loaded, from
  `workdir/agents/text_selfplay_<judge_name>_seed<seed>` (debate.training.selfplay.build_ladder; None: not
  saved). `config`: a SelfPlayConfig (default SELFPLAY_DEFAULTS); `mesh`: an optional
  debate.distributed.sharding.training_mesh. The game's settings and the pool size are recorded with the
  ladder: a directory trained with others is refused. Stories are generated only if training is needed."""
  from debate.training import selfplay  # Orbax and the trainer; the game itself needs neither.

  config = config or selfplay.SelfPlayConfig(**SELFPLAY_DEFAULTS)
  settings = {
    'task': dataclasses.asdict(game.task),
    'k': game.k,
    'mode': game.mode,
    'allow_claims': game.allow_claims,
    'show_verified': game.show_verified,
    'honest_first': game.honest_first,
    'num_stories': num_stories,
  }
  return selfplay.build_ladder(
    game,
    TrainingGames(game.task, num_stories),
    judge_params,
    lambda: training_stories(game.task, seed, num_stories, mesh),
    directory=workdir and selfplay.ladder_dir(workdir, 'text', judge_name, seed),
    rungs=rungs,
    seed=seed,
    config=config,
    settings=settings,
    who=f'text self-play vs {judge_name}',
    what='text self-play debater',
    log=log,
    mesh=mesh,
  )
