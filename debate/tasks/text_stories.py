"""Stories of the `text` task on the host: the word vocabulary, events and their template sentences, questions,
the symbolic solver (on whole stories and on any subset of their sentences) and the story generator.

Events (in time order; one sentence each):
  GO(e, p)        "Mara went to the garden."          e is in place p from now on.
  FOLLOW(e, f)    "Ilan followed Mara."               e is where f is at that moment (f's later moves do not
                                                      carry e along).
  TAKE(e, o)      "Mara took the red key."            e holds o (o was free).
  GIVE(e, o, r)   "Mara gave the red key to Ilan."    r holds o.
  DROP(e, o)      "Mara dropped the red key."         o lies where e is at that moment.

Questions (kind, object) and the solver's rule, over any set of (key, event) items read as the whole story
(a closed world: keys order the items in time; a partial story is just a shorter story):
  FIRST   "Who took the red key first?"        the actor of the earliest TAKE of the object.
  HOLDER  "Who has the red key at the end?"    the receiver of the object's last TAKE/GIVE (undetermined if its
                                               last event is a DROP).
  WHERE   "Where is the red key at the end?"   the object's last TAKE/GIVE/DROP names a person X (receiver or
                                               dropper) and a moment (the end, or the drop); X's place then is
                                               read from X's last move before that moment: GO(X, p) gives p,
                                               FOLLOW(X, Y) at t asks for Y's place at t, and so on.
The answer is undetermined (None) when a needed item is missing. The chain of an answer lists the items used,
answer-bearing last. On a superset of a whole story's chain that is still a subset of the story, the solver
gives the story's answer (every rule takes the first or last item of a kind, and the chain holds those).

Misleading evidence for an answer v: a set of at most MAX_HOPS story sentences on which the solver, reading
them alone, answers v; `derivations` lists every such chain (a read-alone derivation).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NAMES = ('mara', 'ilan', 'tove', 'bram', 'nia', 'otto', 'suri', 'cato')
PLACES = ('kitchen', 'garden', 'hall', 'cellar', 'attic', 'porch', 'library', 'yard')
COLORS = ('red', 'blue', 'green', 'gold')
NOUNS = ('key', 'box', 'coin', 'ring')
OBJECTS = (  # Similar objects come in pairs: same noun, another colour.
  ('red', 'key'),
  ('blue', 'key'),
  ('green', 'box'),
  ('gold', 'box'),
  ('red', 'coin'),
  ('blue', 'coin'),
  ('green', 'ring'),
  ('gold', 'ring'),
)
FUNCTION_WORDS = ('.', '?', 'the', 'to', 'went', 'followed', 'took', 'gave', 'dropped', 'who', 'where', 'has', 'is')
FUNCTION_WORDS += ('at', 'end', 'first')
VOCAB = ('<pad>',) + FUNCTION_WORDS + NAMES + PLACES + COLORS + NOUNS  # Token 0 = PAD.
TOKEN = {word: i for i, word in enumerate(VOCAB)}
MAX_HOPS = 4
MAX_SENTENCE_LEN = 8  # "mara gave the red key to ilan ."
MAX_QUESTION_LEN = 8  # "who has the red key at the end ?"

GO, FOLLOW, TAKE, GIVE, DROP = 1, 2, 3, 4, 5
FIRST, HOLDER, WHERE = 0, 1, 2
VERBS = {GO: 'went', FOLLOW: 'followed', TAKE: 'took', GIVE: 'gave', DROP: 'dropped'}


class Event(NamedTuple):
  """kind; actor: an entity; place (GO), other (FOLLOW: the followed; GIVE: the receiver), obj (TAKE, GIVE,
  DROP): indices into PLACES, NAMES, OBJECTS, -1 where unused."""

  kind: int
  actor: int
  place: int = -1
  other: int = -1
  obj: int = -1


class Question(NamedTuple):
  kind: int
  obj: int


# Question types: (name, question kind, hops). WHERE questions come in three types by the length of their chain
# (the holder went somewhere / followed someone who went / followed a follower); their text is the same.
QTYPES = (
  ('first', FIRST, 1),
  ('holder', HOLDER, 1),
  ('where', WHERE, 2),
  ('where_follow', WHERE, 3),
  ('where_follow2', WHERE, 4),
)


def render(event: Event) -> list[str]:
  """The sentence's words (lower case, '.' last)."""
  who, obj = NAMES[event.actor], list(OBJECTS[event.obj]) if event.obj >= 0 else []
  if event.kind == GO:
    return [who, 'went', 'to', 'the', PLACES[event.place], '.']
  if event.kind == FOLLOW:
    return [who, 'followed', NAMES[event.other], '.']
  if event.kind == GIVE:
    return [who, 'gave', 'the', *obj, 'to', NAMES[event.other], '.']
  return [who, VERBS[event.kind], 'the', *obj, '.']


def render_question(question: Question) -> list[str]:
  obj = list(OBJECTS[question.obj])
  if question.kind == FIRST:
    return ['who', 'took', 'the', *obj, 'first', '?']
  verb = ['who', 'has'] if question.kind == HOLDER else ['where', 'is']
  return [*verb, 'the', *obj, 'at', 'the', 'end', '?']


def answer_words(question: Question, value: int) -> list[str]:
  return [PLACES[value] if question.kind == WHERE else NAMES[value]]


def _words(text: str) -> list[str]:
  return text.lower().replace('.', ' .').replace('?', ' ?').split()


def _index(table, word: str, text: str) -> int:
  if word not in table:
    raise ValueError(f'unknown word {word!r} in {text!r}')
  return table.index(word)


def parse(text: str) -> Event:
  """The event of a template sentence, e.g. 'Mara gave the red key to Ilan.'; ValueError if it is none."""
  w = _words(text)
  try:
    actor = _index(NAMES, w[0], text)
    if w[1] == 'went':
      event = Event(GO, actor, place=_index(PLACES, w[4], text))
    elif w[1] == 'followed':
      event = Event(FOLLOW, actor, other=_index(NAMES, w[2], text))
    else:
      kind = {verb: kind for kind, verb in VERBS.items()}[w[1]]
      obj = OBJECTS.index((w[3], w[4]))
      event = Event(kind, actor, obj=obj, other=_index(NAMES, w[6], text) if kind == GIVE else -1)
  except (IndexError, KeyError, ValueError) as e:
    raise ValueError(f'not a story sentence: {text!r} ({e})') from None
  if render(event) != w:
    raise ValueError(f'not a story sentence: {text!r} (expected {" ".join(render(event))!r})')
  return event


def parse_question(text: str) -> Question:
  w = _words(text)
  for kind in (FIRST, HOLDER, WHERE):
    for obj in range(len(OBJECTS)):
      if render_question(Question(kind, obj)) == w:
        return Question(kind, obj)
  raise ValueError(f'not a question of the task: {text!r}')


def parse_answer(question: Question, text: str) -> int:
  w = _words(text)
  table = PLACES if question.kind == WHERE else NAMES
  if len(w) != 1 or w[0] not in table:
    raise ValueError(f'{text!r} is not an answer to {" ".join(render_question(question))!r}')
  return table.index(w[0])


# ------------------------------------------------------------------------------------------------------------
# The solver. Items: (key, Event) with comparable keys (time order); a chain is a list of keys.


def _transfers(items, obj):
  return [(k, e) for k, e in items if e.kind in (TAKE, GIVE, DROP) and e.obj == obj]


def _holder(event: Event) -> int:
  return event.other if event.kind == GIVE else event.actor


def _place(items, who: int, bound, chain: list):
  """(place or None, chain): `who`'s place just before `bound` (None: at the end) by the last-move rule."""
  while True:
    moves = [(k, e) for k, e in items if e.kind in (GO, FOLLOW) and e.actor == who and (bound is None or k < bound)]
    if not moves:
      return None, chain
    k, e = max(moves)
    chain = chain + [k]
    if e.kind == GO:
      return e.place, chain
    who, bound = e.other, k


def solve(items, question: Question):
  """(answer or None, chain) of `question` on the items read as the whole story (module docstring)."""
  items = sorted(items)
  if question.kind == FIRST:
    takes = [(k, e) for k, e in items if e.kind == TAKE and e.obj == question.obj]
    return (takes[0][1].actor, [takes[0][0]]) if takes else (None, [])
  transfers = _transfers(items, question.obj)
  if not transfers:
    return None, []
  k, e = transfers[-1]
  if question.kind == HOLDER:
    return (None, []) if e.kind == DROP else (_holder(e), [k])
  return _place(items, _holder(e), k if e.kind == DROP else None, [k])


def derivations(items, question: Question, max_len: int = MAX_HOPS) -> list[tuple[int, list]]:
  """Every (answer, chain) with at most `max_len` items such that the solver on the chain alone answers it."""
  items = sorted(items)
  found = []
  if question.kind == FIRST:
    found = [(e.actor, [k]) for k, e in items if e.kind == TAKE and e.obj == question.obj]
  elif question.kind == HOLDER:
    found = [(_holder(e), [k]) for k, e in _transfers(items, question.obj) if e.kind != DROP]
  else:

    def places(who, bound, chain):
      for k, e in items:
        if e.kind in (GO, FOLLOW) and e.actor == who and (bound is None or k < bound):
          if e.kind == GO:
            found.append((e.place, chain + [k]))
          elif len(chain) + 2 <= max_len:
            places(e.other, k, chain + [k])

    for k, e in _transfers(items, question.obj):
      places(_holder(e), k if e.kind == DROP else None, [k])
  by_key = dict(items)
  read_alone = lambda value, chain: solve([(k, by_key[k]) for k in chain], question)[0] == value
  return [(value, chain) for value, chain in found if len(chain) <= max_len and read_alone(value, chain)]


def qtype_of(question: Question, chain: list) -> int | None:
  """The question type of a question whose whole-story chain is `chain` (None: no type has that length)."""
  for i, (_, kind, hops) in enumerate(QTYPES):
    if kind == question.kind and hops == len(chain):
      return i
  return None


# ------------------------------------------------------------------------------------------------------------
# The generator.

WEIGHTS = {GO: 3.0, FOLLOW: 2.5, TAKE: 3.0, GIVE: 3.0, DROP: 1.5}


def simulate(rng: np.random.Generator, num_sentences: int, num_entities: int, num_objects: int, num_places: int):
  """A random story: [S] events from a physically consistent world (a dropped object is taken only by someone
  in its place, a gift needs both people in one place, nobody goes where they already are)."""
  loc, holder, lying = [-1] * num_entities, [-1] * num_objects, [-1] * num_objects  # -1: unknown / nobody.
  events = []
  for _ in range(num_sentences):
    options = {kind: [] for kind in WEIGHTS}
    for e in range(num_entities):
      options[GO] += [Event(GO, e, place=p) for p in range(num_places) if p != loc[e]]
      options[FOLLOW] += [Event(FOLLOW, e, other=f) for f in range(num_entities) if loc[f] >= 0 and loc[f] != loc[e]]
    for o in range(num_objects):
      if holder[o] < 0:
        options[TAKE] += [Event(TAKE, e, obj=o) for e in range(num_entities) if lying[o] < 0 or loc[e] == lying[o]]
      elif loc[holder[o]] >= 0:
        h = holder[o]
        options[GIVE] += [Event(GIVE, h, obj=o, other=r) for r in range(num_entities) if r != h and loc[r] == loc[h]]
        options[DROP].append(Event(DROP, h, obj=o))
    kinds = [kind for kind in WEIGHTS if options[kind]]
    weights = np.array([WEIGHTS[kind] for kind in kinds])
    kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    event = options[kind][rng.integers(len(options[kind]))]
    if kind == GO:
      loc[event.actor] = event.place
    elif kind == FOLLOW:
      loc[event.actor] = loc[event.other]
    elif kind in (TAKE, GIVE):
      holder[event.obj], lying[event.obj] = _holder(event), -1
    else:
      holder[event.obj], lying[event.obj] = -1, loc[event.actor]
    events.append(event)
  return events


def misleading_values(items, question: Question, truth: int) -> dict[int, set]:
  """{distractor value: the keys of all its read-alone chains} for values other than `truth`."""
  out = {}
  for value, chain in derivations(items, question):
    if value != truth:
      out.setdefault(value, set()).update(chain)
  return out


def draw_question(rng, events, qtype: int, num_objects: int, num_values: int, prefer_misleading: bool):
  """A question of type `qtype` on `events` as (question, truth, chain, distractor, misleading keys), or None
  when the story has none (with `prefer_misleading`, also when none has misleading evidence)."""
  items = list(enumerate(events))
  _, kind, _ = QTYPES[qtype]
  candidates = []
  for obj in rng.permutation(num_objects):
    question = Question(kind, int(obj))
    truth, chain = solve(items, question)
    if truth is not None and qtype_of(question, chain) == qtype:
      candidates.append((question, truth, chain, misleading_values(items, question, truth)))
  if prefer_misleading:
    candidates = [c for c in candidates if c[3]]
  if not candidates:
    return None
  question, truth, chain, misleading = candidates[0]
  if misleading:
    distractor = sorted(misleading)[rng.integers(len(misleading))]
  else:
    others = [v for v in range(num_values) if v != truth]
    distractor = others[rng.integers(len(others))]
  return question, truth, chain, distractor, sorted(misleading.get(distractor, ()))


def _claim_templates(events, question: Question, entities: list) -> list[tuple[Event, str]]:
  """(event, field): the events a claim can be made from, each with the answer-bearing field the claim sets to an
  answer (deduplicated, in a fixed order). WHERE questions: someone went somewhere (the place); FIRST and HOLDER:
  someone took, dropped, gave or received the question's object (the person)."""
  if question.kind == WHERE:
    found = [(Event(GO, actor, place=0), 'place') for actor in entities]
  else:
    obj = question.obj
    found = [(Event(kind, 0, obj=obj), 'actor') for kind in (TAKE, DROP)]
    found += [(Event(GIVE, 0, other=other, obj=obj), 'actor') for other in entities]
    found += [(Event(GIVE, actor, other=0, obj=obj), 'other') for actor in entities]
  return list(dict.fromkeys(found))


def fabricate(
  rng, events, question: Question, values, chain, num_fabricated: int, num_positions=None, fill_alone: bool = False
):
  """[F] false claims (event, claimed position, side), made in mirrored pairs so that a claim's position and
  form say nothing about which answer is true: claims 2j and 2j + 1 are ONE event at ONE claimed position
  whose answer-bearing argument (the place of a WHERE question, else a person) is values[0] in the first
  (side 0) and values[1] in the second (side 1). Each claim, read with the true `chain` (story positions: the
  honest evidence, which the distractor's claim overturns) plus the claim at its position in
  [0, num_positions) (counted after the story's sentence there), makes the solver answer values[side]; where
  no pair does (or, with `fill_alone`, where too few do: the rest), read alone. Neither claim is the story's
  sentence at its position. The F / 2 pairs are drawn uniformly, without replacement, from every
  pair that qualifies (`_claim_templates` x positions); an odd F's last claim is side 0's of one more pair.
  RuntimeError if fewer than ceil(F / 2) pairs qualify (the generator then draws another story).

  (Claims drawn per side, before the pairs, leaked the answer: a distractor claim had to overturn the true
  chain and so sat after it, a truth claim only the lure; a judge shown two claims and no story scored 61-70%
  on 1-hop questions.)"""
  num_sentences = len(events) if num_positions is None else num_positions  # Claimed positions: [0, S).
  entities = sorted({e.actor for e in events} | {e.other for e in events if e.other >= 0} | {0, 1})
  templates = _claim_templates(events, question, entities)

  def claim(template, side):
    event, field = template
    made = event._replace(**{field: values[side]})
    return None if made.kind == GIVE and made.other == made.actor else made

  def qualifies(template, position, alone):
    for side in (0, 1):
      made = claim(template, side)
      if made is None or position < len(events) and made == events[position]:
        return False
      base = [] if alone else [((k, 0), events[k]) for k in chain]
      if solve(base + [((position, 1), made)], question)[0] != values[side]:
        return False
    return True

  needed = (num_fabricated + 1) // 2
  pairs = [(t, p) for t in templates for p in range(num_sentences) if qualifies(t, p, False)]
  if not pairs or fill_alone and len(pairs) < needed:
    alone = [(t, p) for t in templates for p in range(num_sentences) if qualifies(t, p, True)]
    if fill_alone and pairs:  # The pairs read with the chain first, then enough read alone.
      alone = [pair for pair in alone if pair not in pairs]
      order = list(rng.permutation(len(alone)))[: needed - len(pairs)]
      pairs = pairs + [alone[int(i)] for i in order]
    else:
      pairs = alone
  if len(pairs) < needed:
    raise RuntimeError(f'{len(pairs)} claim pairs for {values} on {render_question(question)} in {events}')
  claims = []
  for index in rng.choice(len(pairs), needed, replace=False):
    template, position = pairs[int(index)]
    claims += [(claim(template, side), position, side) for side in (0, 1)]
  return claims[:num_fabricated]
