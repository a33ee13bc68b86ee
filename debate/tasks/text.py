"""The `text` task: a synthetic reading task. A procedural story (people, objects, places; events in time order,
one template sentence each, e.g. "Mara gave the red key to Ilan.") and a question that needs h sentences
(hops) to answer, with two answers of the same type: the true one and a distractor. Stories, the solver and
the generator are in `debate.tasks.text_stories`; this module holds the static config (`TextTask`), the
arrays (`TextInstance`, drawn on the host, deterministic in (seed, index)) and the judge's views (`TextView`,
in JAX).

Question types (`text_stories.QTYPES`; qtype, name: hops, question):
  0 first: 1          "Who took the red key first?"       the first TAKE of the object.
  1 holder: 1         "Who has the red key at the end?"   its last TAKE/GIVE.
  2 where: 2          "Where is the red key at the end?"  its last TAKE/GIVE/DROP, then that person's last GO
                                                          (before the drop, for a DROP).
  3 where_follow: 3   same text                           ... the person's last move was FOLLOW(them, Y):
                                                          Y's last GO before that.
  4 where_follow2: 4  same text                           ... two FOLLOWs, then a GO.
The text of a WHERE question does not tell how many hops it needs.

Misleading evidence: a set of at most 4 story sentences on which the solver, reading them alone (as the whole
story), answers the distractor (an earlier holder, a place someone was in before, a later taker...). The
generator draws the question type, then stories until one has a question of that type with misleading
evidence (with `prefer_misleading`, up to `max_tries` stories; without, the first story with a question of
that type); the distractor is drawn among the answers with misleading evidence if any, else uniformly.
`misleading_fractions` measures how often instances have it, per type.

Fabricated claims: F false sentences per instance, each claiming to be a story sentence at a position
(`fabricated_position`: "sentence i reads ...", false); claim f supports answer `fabricated_side[f]` = f % 2:
read with the true chain, the solver answers its side. Claims come in mirrored pairs (one event at one claimed
position, the answer-bearing argument set to each answer), so a claim's form and position do not tell which
answer is true (`text_stories.fabricate`).

Views (`TextView`, one game): `positions` are story indices in [0, S) for quotes and, for unverified claims,
the position the claim pretends to be (so a judge without flags cannot tell a claim by its position); -1 for
an empty slot. `flags`: 0 empty slot, 1 verified quote, 2 unverified claim, 3 flag hidden.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

from debate.tasks import text_stories as stories

EMPTY, VERIFIED, UNVERIFIED, HIDDEN = 0, 1, 2, 3
QTYPE_NAMES = tuple(name for name, _, _ in stories.QTYPES)
QTYPE_HOPS = tuple(hops for _, _, hops in stories.QTYPES)


def vocabulary() -> tuple[str, ...]:
  """The words of the task; token i is word i, token 0 is PAD."""
  return stories.VOCAB


def decode(tokens) -> str | list[str]:
  """Readable text of tokens [n] (PAD skipped; e.g. 'Mara gave the red key to Ilan.'); of [m, n], a list."""
  tokens = np.asarray(tokens)
  if tokens.ndim > 1:
    return [decode(row) for row in tokens]
  words = [stories.VOCAB[t] for t in tokens if t]
  words = [w.capitalize() if w in stories.NAMES else w for w in words]
  text = ' '.join(words).replace(' .', '.').replace(' ?', '?')
  return text[:1].upper() + text[1:]


@dataclasses.dataclass(frozen=True)
class TextTask:
  """Static sizes and options of the text task (hashable).

  num_sentences S (every story has S sentences), sentence_len L (>= 8 tokens), question_len (>= 8),
  answer_len (>= 1), hops (the h of the question types to draw from, uniformly over types), num_entities /
  num_objects / num_places (the first names of the word lists), num_fabricated F (claims per instance),
  prefer_misleading and max_tries (stories tried per instance; see the module docstring).
  """

  num_sentences: int = 12
  sentence_len: int = 8
  question_len: int = 10
  answer_len: int = 3
  hops: tuple[int, ...] = (1, 2, 3, 4)
  num_entities: int = 4
  num_objects: int = 4
  num_places: int = 4
  num_fabricated: int = 4
  prefer_misleading: bool = True
  max_tries: int = 200

  def __post_init__(self):
    object.__setattr__(self, 'hops', tuple(int(h) for h in self.hops))
    known = ', '.join(f'{name} (h={h})' for name, h in zip(QTYPE_NAMES, QTYPE_HOPS))
    if not self.hops:
      raise ValueError(f'hops must name at least one h; question types: {known}')
    for h in self.hops:
      if h not in QTYPE_HOPS:
        raise ValueError(f'no question type needs h={h} hops; question types: {known}')
    checks = [
      ('num_sentences', self.num_sentences, max(self.hops) + 2, None),
      ('sentence_len', self.sentence_len, stories.MAX_SENTENCE_LEN, None),
      ('question_len', self.question_len, stories.MAX_QUESTION_LEN, None),
      ('answer_len', self.answer_len, 1, None),
      ('num_entities', self.num_entities, 2, len(stories.NAMES)),
      ('num_objects', self.num_objects, 1, len(stories.OBJECTS)),
      ('num_places', self.num_places, 2, len(stories.PLACES)),
      ('num_fabricated', self.num_fabricated, 0, None),
      ('max_tries', self.max_tries, 1, None),
    ]
    for name, value, low, high in checks:
      if value < low or (high is not None and value > high):
        bound = f'in [{low}, {high}]' if high is not None else f'>= {low}'
        why = ' (the longest chain needs h + 2 sentences)' if name == 'num_sentences' else ''
        raise ValueError(f'{name} must be {bound}{why}, got {value}')

  @property
  def qtypes(self) -> tuple[int, ...]:
    """The question types drawn from (those whose hops are in `hops`)."""
    return tuple(i for i, h in enumerate(QTYPE_HOPS) if h in self.hops)


@chex.dataclass(frozen=True)
class TextInstance:
  """One instance (vmap or `sample_instances` adds a leading batch axis to every field).

  story: [S, L] int32 tokens (0 pad; a hand-built story may have empty rows at the end).
  question: [question_len] int32. answers: [2, answer_len] int32. label: [] int32, the index of the true answer.
  hops: [] int32, sentences in the true answer's chain. qtype: [] int32 (QTYPE_NAMES).
  support: [2, S] bool, per answer: the true answer's chain; the distractor's misleading sentences (every
    read-alone chain of it; none if it has no misleading evidence).
  fabricated: [F, L] int32 false sentences; fabricated_side: [F] int32, the answer each supports;
  fabricated_position: [F] int32 in [0, S), the story position each claims to be.
  """

  story: chex.Array
  question: chex.Array
  answers: chex.Array
  label: chex.Array
  hops: chex.Array
  qtype: chex.Array
  support: chex.Array
  fabricated: chex.Array
  fabricated_side: chex.Array
  fabricated_position: chex.Array


def _tokens(words: list[str], length: int) -> np.ndarray:
  out = np.zeros(length, np.int32)
  out[: len(words)] = [stories.TOKEN[w] for w in words]
  return out


def _arrays(task: TextTask, events, question, values, label, chain, misleading, qtype, claims) -> dict:
  """The numpy fields of one instance (TextInstance's, unbatched)."""
  story = np.zeros((task.num_sentences, task.sentence_len), np.int32)
  for i, event in enumerate(events):
    story[i] = _tokens(stories.render(event), task.sentence_len)
  support = np.zeros((2, task.num_sentences), bool)
  support[label, list(chain)] = True
  support[1 - label, list(misleading)] = True
  fabricated = np.zeros((task.num_fabricated, task.sentence_len), np.int32)
  for f, (claim, _, _) in enumerate(claims):
    fabricated[f] = _tokens(stories.render(claim), task.sentence_len)
  return {
    'story': story,
    'question': _tokens(stories.render_question(question), task.question_len),
    'answers': np.stack([_tokens(stories.answer_words(question, v), task.answer_len) for v in values]),
    'label': np.int32(label),
    'hops': np.int32(QTYPE_HOPS[qtype]),
    'qtype': np.int32(qtype),
    'support': support,
    'fabricated': fabricated,
    'fabricated_side': np.array([side for _, _, side in claims], np.int32).reshape(-1),
    'fabricated_position': np.array([p for _, p, _ in claims], np.int32).reshape(-1),
  }


def _supports(events, question, base, claim, position, value) -> bool:
  """The solver answers `value` on the story sentences `base` plus `claim` at `position` (after the sentence
  there)."""
  items = [((k, 0), events[k]) for k in base] + [((position, 1), claim)]
  return stories.solve(items, question)[0] == value


def generate(task: TextTask, seed: int, index: int) -> dict:
  """The numpy fields of instance `index` of `seed`: a function of (task, seed, index) only."""
  rng = np.random.default_rng([seed, index])
  qtype = task.qtypes[rng.integers(len(task.qtypes))]
  num_values = task.num_places if stories.QTYPES[qtype][1] == stories.WHERE else task.num_entities
  fallback = None
  for _ in range(task.max_tries):
    events = stories.simulate(rng, task.num_sentences, task.num_entities, task.num_objects, task.num_places)
    drawn = stories.draw_question(rng, events, qtype, task.num_objects, num_values, task.prefer_misleading)
    if drawn is not None and (made := _finish(task, rng, events, drawn, qtype)) is not None:
      return made
    if fallback is None and task.prefer_misleading:
      loose = stories.draw_question(rng, events, qtype, task.num_objects, num_values, False)
      fallback = (events, loose) if loose is not None else None
  # The last resort (small stories): the first story's question without misleading evidence, its claims
  # filled up with ones read alone where too few pairs overturn the true chain.
  made = None if fallback is None else _finish(task, rng, *fallback, qtype, fill_alone=True)
  if made is None:
    raise RuntimeError(f'no story with a {QTYPE_NAMES[qtype]} question in {task.max_tries} tries: {task}')
  return made


def _finish(task: TextTask, rng, events, drawn, qtype: int, fill_alone: bool = False) -> dict | None:
  """The arrays of a drawn question (answers in random order, claims drawn); None if claims cannot be made."""
  question, truth, chain, distractor, misleading = drawn
  label = int(rng.integers(2))
  values = [distractor, distractor]
  values[label] = truth
  try:
    claims = stories.fabricate(rng, events, question, values, chain, task.num_fabricated, fill_alone=fill_alone)
  except RuntimeError:
    return None
  return _arrays(task, events, question, values, label, chain, misleading, qtype, claims)


def sample_instances(task: TextTask, seed: int, indices) -> TextInstance:
  """Instances `indices` [N] of `seed`, batched [N, ...] (each a function of (seed, index) only)."""
  rows = [generate(task, seed, int(i)) for i in np.asarray(indices).reshape(-1)]
  return TextInstance(**{name: jnp.asarray(np.stack([r[name] for r in rows])) for name in rows[0]})


def make_instance(
  task: TextTask,
  sentences: Sequence[str],
  question: str,
  answers: tuple[str, str],
  claims: Sequence[tuple[str, int]] | None = None,
  seed: int = 0,
) -> TextInstance:
  """One instance from hand-written sentences (at most S; the rest are empty rows), a question of the task and
  its two answers in order (one must be the true answer, which the solver decides). `claims`: F (sentence,
  claimed position) pairs, each assigned the answer it supports (`text_stories.fabricate`'s rule, else read
  alone); None: drawn with `seed`. ValueError if the story does not answer the question or has no type."""
  if len(sentences) > task.num_sentences:
    raise ValueError(f'{len(sentences)} sentences, more than num_sentences={task.num_sentences}')
  events = [stories.parse(s) for s in sentences]
  q = stories.parse_question(question)
  values = [stories.parse_answer(q, a) for a in answers]
  truth, chain = stories.solve(list(enumerate(events)), q)
  if truth is None:
    raise ValueError(f'the story does not answer {question!r}')
  if truth not in values or values[0] == values[1]:
    raise ValueError(f'the true answer to {question!r} is {stories.answer_words(q, truth)[0]!r}, got {answers}')
  qtype = stories.qtype_of(q, chain)
  if qtype is None:
    raise ValueError(f'{question!r} needs {len(chain)} hops here; no question type has that many')
  label = values.index(truth)
  misleading = stories.misleading_values(list(enumerate(events)), q, truth).get(values[1 - label], set())
  if claims is None:
    rng = np.random.default_rng(seed)
    found = stories.fabricate(rng, events, q, values, chain, task.num_fabricated, task.num_sentences)
  else:
    if len(claims) != task.num_fabricated:
      raise ValueError(f'{len(claims)} claims, expected num_fabricated={task.num_fabricated}')
    found = []
    for text, position in claims:
      claim = stories.parse(text)
      sides = [s for s in (0, 1) if _supports(events, q, chain, claim, position, values[s])]
      sides = sides or [s for s in (0, 1) if _supports(events, q, [], claim, position, values[s])]
      if not sides:
        raise ValueError(f'claim {text!r} at {position} supports neither answer')
      found.append((claim, position, sides[0]))
  arrays = _arrays(task, events, q, values, label, chain, sorted(misleading), qtype, found)
  return TextInstance(**{name: jnp.asarray(value) for name, value in arrays.items()})


def misleading_fractions(task: TextTask, seed: int, num: int) -> dict[str, tuple[int, float]]:
  """{question type: (instances, fraction with misleading evidence)} over instances 0..num-1 of `seed`."""
  counts = np.zeros((len(QTYPE_NAMES), 2), np.int64)
  for i in range(num):
    row = generate(task, seed, i)
    counts[row['qtype']] += (1, row['support'][1 - row['label']].any())
  return {QTYPE_NAMES[t]: (int(n), m / n if n else float('nan')) for t, (n, m) in enumerate(counts) if n}


# ------------------------------------------------------------------------------------------------------------
# The judge's views (JAX, one instance).


@chex.dataclass(frozen=True)
class TextView:
  """What a judge sees of one game (K slots).

  question: [question_len] int32; answers: [2, answer_len] int32; quotes: [K, L] int32 (0 = empty slot);
  positions: [K] int32, the story index of a quote, the claimed index of a claim, -1 for an empty slot;
  flags: [K] int32, EMPTY 0, VERIFIED 1, UNVERIFIED 2 (a claim), HIDDEN 3 (the judge is not told).
  """

  question: chex.Array
  answers: chex.Array
  quotes: chex.Array
  positions: chex.Array
  flags: chex.Array


def _swappable_colors(task: TextTask) -> list[tuple[int, int]]:
  """Token pairs of colours whose swap maps the task's objects onto themselves (red/blue, green/gold)."""
  objects = set(stories.OBJECTS[: task.num_objects])
  pairs = []
  for a, b in (('red', 'blue'), ('green', 'gold')):
    swap = {a: b, b: a}
    if {(swap.get(color, color), noun) for color, noun in objects} == objects:
      pairs.append((stories.VOCAB.index(a), stories.VOCAB.index(b)))
  return pairs


def relabeling(key: chex.PRNGKey, task: TextTask) -> chex.Array:
  """A random token map [V] int32 under which every instance of `task` stays one of its instances with the
  same answer: the task's people permuted among themselves, its places likewise, and each pair of colours
  whose swap keeps the task's objects (red/blue keys and coins, green/gold boxes and rings) swapped with
  probability 1/2; every other token (function words, PAD) maps to itself. Training a judge on relabeled
  views (`relabel`) multiplies its distinct examples by up to 4! * 4! * 4 with the default task."""
  token_map = jnp.arange(len(stories.VOCAB), dtype=jnp.int32)
  name_key, place_key, color_key = jax.random.split(key, 3)
  for words, count, part_key in (
    (stories.NAMES, task.num_entities, name_key),
    (stories.PLACES, task.num_places, place_key),
  ):
    ids = jnp.array([stories.VOCAB.index(w) for w in words[:count]], jnp.int32)
    token_map = token_map.at[ids].set(jax.random.permutation(part_key, ids))
  pairs = _swappable_colors(task)
  for (a, b), flip in zip(pairs, jax.random.bernoulli(color_key, 0.5, (max(len(pairs), 1),))):
    token_map = token_map.at[a].set(jnp.where(flip, b, a)).at[b].set(jnp.where(flip, a, b))
  return token_map


def relabel(view: 'TextView', token_map: chex.Array) -> 'TextView':
  """`view` with every token of its question, answers and quotes mapped through `token_map` [V]."""
  return view.replace(question=token_map[view.question], answers=token_map[view.answers], quotes=token_map[view.quotes])


def hide_flags(flags: chex.Array) -> chex.Array:
  """[K] int32: every non-empty slot's flag replaced by HIDDEN."""
  return jnp.where(flags == EMPTY, EMPTY, HIDDEN).astype(jnp.int32)


def random_view(key, instance: TextInstance, k: int, num_fabricated: int, show_verified: bool = True) -> TextView:
  """k random distinct story sentences (verified) plus `num_fabricated` random distinct claims (unverified), in
  random slot order: K = k + num_fabricated slots. Empty story rows stay empty slots."""
  num_sentences, num_claims = instance.story.shape[0], instance.fabricated.shape[0]
  if not 0 <= k <= num_sentences or not 0 <= num_fabricated <= num_claims:
    raise ValueError(f'need 0 <= k <= S={num_sentences} and 0 <= num_fabricated <= F={num_claims}')
  sentence_key, claim_key, order_key = jax.random.split(key, 3)
  sentences = jax.random.permutation(sentence_key, num_sentences)[:k]
  claims = jax.random.permutation(claim_key, num_claims)[:num_fabricated]
  quotes = jnp.concatenate([instance.story[sentences], instance.fabricated[claims]])
  filled = (quotes != 0).any(-1)
  positions = jnp.concatenate([sentences, instance.fabricated_position[claims]]).astype(jnp.int32)
  flags = jnp.concatenate([jnp.full((k,), VERIFIED), jnp.full((num_fabricated,), UNVERIFIED)]).astype(jnp.int32)
  order = jax.random.permutation(order_key, k + num_fabricated)
  view = TextView(
    question=instance.question,
    answers=instance.answers,
    quotes=quotes[order],
    positions=jnp.where(filled, positions, -1)[order],
    flags=jnp.where(filled, flags, EMPTY)[order],
  )
  return view if show_verified else view.replace(flags=hide_flags(view.flags))


def full_view(instance: TextInstance, show_verified: bool = True) -> TextView:
  """All S sentences, verified, in story order (K = S)."""
  filled = (instance.story != 0).any(-1)
  flags = jnp.where(filled, VERIFIED, EMPTY).astype(jnp.int32)
  positions = jnp.where(filled, jnp.arange(instance.story.shape[0]), -1).astype(jnp.int32)
  view = TextView(
    question=instance.question, answers=instance.answers, quotes=instance.story, positions=positions, flags=flags
  )
  return view if show_verified else view.replace(flags=hide_flags(flags))


def blind_view(instance: TextInstance, num_slots: int | None = None) -> TextView:
  """No quotes: `num_slots` (default S) empty slots."""
  num_slots = instance.story.shape[0] if num_slots is None else num_slots
  return TextView(
    question=instance.question,
    answers=instance.answers,
    quotes=jnp.zeros((num_slots, instance.story.shape[1]), jnp.int32),
    positions=jnp.full((num_slots,), -1, jnp.int32),
    flags=jnp.zeros((num_slots,), jnp.int32),
  )
