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

Learned agents (`observe`, `network`) are not provided yet. Key: the first player (debate) or the
consultant's answer (consultancy); nothing else.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from debate.games import base
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
    `prob_true_after` [k] (after each move; NaN after the end)."""
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

    view = self.judge_view(state)
    transcript = {
      'actions': state.actions,
      'positions': view.positions,
      'flags': view.flags,
      'prob_true_after': jax.vmap(after)(jnp.arange(self.k)),
    }
    return outcome, transcript
