"""The text task (debate/tasks/text.py, text_stories.py): the solver and misleading evidence on hand-built
stories, the generator's determinism and invariants, the judge's views, and clear errors on bad configs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.tasks import text
from debate.tasks import text_stories as stories

TASK = text.TextTask(num_sentences=8, num_fabricated=4)
HANDOFF = [
  'Mara took the red key.',
  'Mara went to the garden.',
  'Mara gave the red key to Ilan.',
  'Ilan went to the kitchen.',
]


def _rows(support):
  return [list(np.flatnonzero(np.asarray(row))) for row in support]


def test_holder_after_a_handoff_is_one_hop_with_the_earlier_owner_as_misleading_evidence():
  instance = text.make_instance(TASK, HANDOFF, 'Who has the red key at the end?', ('Ilan', 'Mara'))
  assert int(instance.label) == 0 and int(instance.hops) == 1
  assert text.QTYPE_NAMES[int(instance.qtype)] == 'holder'
  assert _rows(instance.support) == [[2], [0]]  # "Mara took the red key." alone says Mara has it.
  assert text.decode(instance.question) == 'Who has the red key at the end?'
  assert text.decode(instance.answers) == ['Ilan', 'Mara']
  assert text.decode(instance.story)[2] == 'Mara gave the red key to Ilan.'


def test_where_needs_the_holder_and_the_holders_last_move():
  instance = text.make_instance(TASK, HANDOFF, 'Where is the red key at the end?', ('garden', 'kitchen'))
  assert int(instance.label) == 1 and int(instance.hops) == 2
  assert _rows(instance.support) == [[0, 1], [2, 3]]  # Mara took it and went to the garden: misleading.


def test_follow_chains_and_a_story_without_misleading_evidence():
  story = [
    'Mara went to the garden.',
    'Ilan followed Mara.',
    'Tove followed Ilan.',
    'Mara went to the hall.',
    'Tove took the red key.',
  ]
  instance = text.make_instance(TASK, story, 'Where is the red key at the end?', ('hall', 'garden'))
  assert int(instance.label) == 1 and int(instance.hops) == 4
  assert text.QTYPE_NAMES[int(instance.qtype)] == 'where_follow2'
  assert _rows(instance.support) == [[], [0, 1, 2, 4]]  # Mara reached the hall after Ilan followed her.


def test_first_taker_with_a_later_taker_as_misleading_evidence():
  story = ['Mara took the red key.', 'Mara dropped the red key.', 'Ilan took the red key.']
  instance = text.make_instance(TASK, story, 'Who took the red key first?', ('Ilan', 'Mara'))
  assert int(instance.label) == 1 and int(instance.hops) == 1 and _rows(instance.support) == [[2], [0]]
  # A dropped object has no holder: the holder question is undetermined.
  with pytest.raises(ValueError, match='does not answer'):
    text.make_instance(TASK, story[:2], 'Who has the red key at the end?', ('Ilan', 'Mara'))


def test_the_solver_reads_partial_stories_as_whole_stories():
  events = [stories.parse(s) for s in HANDOFF]
  where = stories.parse_question('Where is the red key at the end?')
  assert stories.solve([(2, events[2])], where) == (None, [2])  # Ilan's place is not in the evidence.
  assert stories.solve([(2, events[2]), (3, events[3])], where)[0] == stories.PLACES.index('kitchen')
  assert stories.solve([(0, events[0]), (1, events[1])], where)[0] == stories.PLACES.index('garden')
  # Any true superset of the chain keeps the story's answer.
  for extra in ([0], [1], [0, 1]):
    assert stories.solve([(k, events[k]) for k in [2, 3, *extra]], where)[0] == stories.PLACES.index('kitchen')


def test_hand_written_claims_get_the_side_they_support():
  """A claim supports the answer the solver gives on the true chain (Ilan got the key at 2, went to the kitchen
  at 3) plus the claim, read after the story sentence at its position; else read alone."""
  claims = [
    ('Ilan went to the garden.', 3),  # After his move to the kitchen: the key is in the garden.
    ('Ilan went to the garden.', 2),  # Before it: he still ends in the kitchen, the truth's side.
    ('Mara went to the garden.', 3),  # Mara no longer holds the key: the truth's side.
    ('Ilan went to the hall.', 3),  # Neither answer, with the chain or alone.
  ]
  with pytest.raises(ValueError, match='supports neither'):
    text.make_instance(TASK, HANDOFF, 'Where is the red key at the end?', ('garden', 'kitchen'), claims=claims)
  claims[3] = ('Ilan went to the kitchen.', 5)
  instance = text.make_instance(TASK, HANDOFF, 'Where is the red key at the end?', ('garden', 'kitchen'), claims=claims)
  assert list(np.asarray(instance.fabricated_side)) == [0, 1, 1, 1]
  assert list(np.asarray(instance.fabricated_position)) == [3, 2, 3, 5]


def test_drawn_claims_are_mirrored_pairs():
  """Claims 2j and 2j + 1 are one event at one position, with the answer-bearing argument set to each answer;
  each overturns or keeps the true chain as its side requires."""
  instance = text.make_instance(TASK, HANDOFF, 'Where is the red key at the end?', ('garden', 'kitchen'), seed=3)
  sentences = text.decode(instance.fabricated)
  positions = list(np.asarray(instance.fabricated_position))
  for j in (0, 2):
    assert positions[j] == positions[j + 1] >= 3  # After Ilan's last move: the only place a liar's claim works.
    assert sentences[j].endswith('the garden.') and sentences[j + 1].endswith('the kitchen.')
    assert sentences[j].split()[0] == sentences[j + 1].split()[0] == 'Ilan'


@pytest.mark.parametrize(
  'kwargs, message',
  [
    ({'hops': (5,)}, 'no question type needs h=5'),
    ({'hops': ()}, 'at least one h'),
    ({'num_sentences': 5}, 'num_sentences must be >= 6'),
    ({'sentence_len': 6}, 'sentence_len must be >= 8'),
    ({'num_places': 9}, r'num_places must be in \[2, 8\]'),
  ],
)
def test_bad_configs_fail_clearly(kwargs, message):
  with pytest.raises(ValueError, match=message):
    text.TextTask(**kwargs)


def test_bad_hand_built_instances_fail_clearly():
  with pytest.raises(ValueError, match='true answer'):
    text.make_instance(TASK, HANDOFF, 'Who has the red key at the end?', ('Tove', 'Mara'))
  with pytest.raises(ValueError, match='not a story sentence'):
    text.make_instance(TASK, ['Mara ate the red key.'], 'Who has the red key at the end?', ('Ilan', 'Mara'))


def test_instances_depend_on_seed_and_index_only():
  task = text.TextTask()
  batch = text.sample_instances(task, 3, np.arange(6))
  alone = text.sample_instances(task, 3, [4])
  again = text.sample_instances(task, 3, [5, 4])
  for a, b, c in zip(jax.tree.leaves(batch), jax.tree.leaves(alone), jax.tree.leaves(again)):
    assert np.array_equal(a[4], b[0]) and np.array_equal(a[4], c[1])
  other = text.sample_instances(task, 4, [4])
  assert not np.array_equal(other.story, alone.story)
  assert batch.story.shape == (6, 12, 8) and batch.support.shape == (6, 2, 12) and batch.fabricated.shape == (6, 4, 8)


def test_generated_instances_keep_their_promises():
  """Over 60 instances: the story parses; the true answer's chain has `hops` sentences and answers it; the
  distractor's support holds read-alone chains of it; claims are false (not the story's sentence at their
  position) and support their side; every question type with misleading evidence."""
  task = text.TextTask(num_sentences=10)
  batch = jax.tree.map(np.asarray, text.sample_instances(task, 0, np.arange(60)))
  seen = set()
  for i in range(60):
    events = [stories.parse(s) for s in text.decode(batch.story[i])]
    question = stories.parse_question(text.decode(batch.question[i]))
    label = int(batch.label[i])
    values = [stories.parse_answer(question, a) for a in text.decode(batch.answers[i])]
    truth, chain = stories.solve(list(enumerate(events)), question)
    assert truth == values[label] and len(chain) == batch.hops[i] == text.QTYPE_HOPS[batch.qtype[i]]
    assert sorted(chain) == list(np.flatnonzero(batch.support[i, label]))
    lures = stories.misleading_values(list(enumerate(events)), question, truth).get(values[1 - label], set())
    assert sorted(lures) == list(np.flatnonzero(batch.support[i, 1 - label])) and lures
    for f in range(task.num_fabricated):
      position = int(batch.fabricated_position[i, f])
      assert not np.array_equal(batch.fabricated[i, f], batch.story[i, position])
      assert int(batch.fabricated_side[i, f]) == f % 2
      claim = stories.parse(text.decode(batch.fabricated[i, f]))
      with_chain = [((k, 0), events[k]) for k in chain] + [((position, 1), claim)]
      read = {stories.solve(with_chain, question)[0], stories.solve(with_chain[-1:], question)[0]}
      assert values[f % 2] in read  # With the true chain, or (where no pair works so) read alone.
    pairs = batch.fabricated_position[i].reshape(-1, 2)
    assert (pairs[:, 0] == pairs[:, 1]).all()  # Mirrored pairs: one claimed position each.
    seen.add(int(batch.qtype[i]))
  assert seen == set(range(len(text.QTYPE_NAMES)))


def test_misleading_fractions():
  fractions = text.misleading_fractions(text.TextTask(prefer_misleading=False), 0, 100)
  assert sum(n for n, _ in fractions.values()) == 100
  assert all(0.0 <= f <= 1.0 for _, f in fractions.values())


def test_views():
  instance = text.sample_instances(text.TextTask(), 1, [0])
  instance = jax.tree.map(lambda a: a[0], instance)
  view = jax.jit(text.random_view, static_argnums=(2, 3, 4))(jax.random.key(0), instance, 5, 3, True)
  assert view.quotes.shape == (8, 8) and view.positions.shape == (8,) and view.flags.shape == (8,)
  flags = np.asarray(view.flags)
  assert (flags == text.VERIFIED).sum() == 5 and (flags == text.UNVERIFIED).sum() == 3
  for slot in range(8):
    position = int(view.positions[slot])
    if flags[slot] == text.VERIFIED:
      assert np.array_equal(view.quotes[slot], instance.story[position])
    else:
      claim = np.flatnonzero((np.asarray(instance.fabricated) == np.asarray(view.quotes[slot])).all(-1))
      assert position in np.asarray(instance.fabricated_position)[claim]
  assert len(set(np.asarray(view.positions)[flags == text.VERIFIED])) == 5
  hidden = jax.jit(text.random_view, static_argnums=(2, 3, 4))(jax.random.key(0), instance, 5, 3, False)
  assert (np.asarray(hidden.flags) == text.HIDDEN).all() and np.array_equal(hidden.quotes, view.quotes)
  views = jax.eval_shape(
    jax.vmap(lambda k: text.random_view(k, instance, 2, 1)), jax.random.split(jax.random.key(1), 4)
  )
  assert views.quotes.shape == (4, 3, 8)
  full, blind = jax.jit(lambda i: (text.full_view(i), text.blind_view(i)))(instance)
  assert np.array_equal(full.quotes, instance.story) and list(np.asarray(full.positions)) == list(range(12))
  assert blind.quotes.shape == (12, 8) and not np.asarray(blind.flags).any()
  assert (np.asarray(blind.positions) == -1).all()
  with pytest.raises(ValueError, match='k <= S'):
    text.random_view(jax.random.key(0), instance, 13, 0)
  assert jnp.asarray(text.vocabulary()[0] == '<pad>')


def test_relabeled_views_are_views_of_relabeled_stories_with_the_same_answer():
  """Under `relabeling` (people and places permuted, similar objects' colours swapped) the solver on the
  relabeled story answers the relabeled true answer, and only the task's people, places and colours move."""
  task = text.TextTask()
  batch = text.sample_instances(task, 0, np.arange(12))
  moved = set()
  for i in range(12):
    instance = jax.tree.map(lambda a: a[i], batch)
    token_map = text.relabeling(jax.random.key(i), task)
    view = text.relabel(text.full_view(instance), token_map)
    events = [stories.parse(s) for s in text.decode(view.quotes)]
    question = stories.parse_question(text.decode(view.question))
    truth, _ = stories.solve(list(enumerate(events)), question)
    answers = [stories.parse_answer(question, a) for a in text.decode(view.answers)]
    assert truth == answers[int(instance.label)] != answers[1 - int(instance.label)]
    assert sorted(np.asarray(token_map)) == list(range(len(text.vocabulary())))  # A permutation.
    moved |= {text.vocabulary()[t] for t in np.flatnonzero(np.asarray(token_map) != np.arange(len(token_map)))}
  assert moved <= {*stories.NAMES[:4], *stories.PLACES[:4], *stories.COLORS} and len(moved) > 8
