"""Text debate (debate/games/text.py): the platform's conformance test, the exact judge against the host
solver, debates on hand-built stories (the honest side wins where the verified evidence decides), what
verification is worth (claims shown unverified or hidden), and clear errors."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import policies
from debate.games import conformance
from debate.games import text as text_game
from debate.tasks import text
from debate.tasks import text_stories as stories
from protocols import debate

TASK = text.TextTask(num_sentences=8, num_fabricated=4)
HANDOFF = [
  'Mara took the red key.',
  'Mara went to the garden.',
  'Mara gave the red key to Ilan.',
  'Ilan went to the kitchen.',
]
FOLLOWS = ['Mara went to the garden.', 'Ilan followed Mara.', 'Tove followed Ilan.', 'Mara went to the hall.']
STORIES = {  # (sentences, question, answers (true first)): hops 1, 1, 2, 3, 4.
  'first': (
    HANDOFF[:2] + ['Mara dropped the red key.', 'Ilan took the red key.'],
    'Who took the red key first?',
    ('Mara', 'Ilan'),
  ),
  'holder': (HANDOFF, 'Who has the red key at the end?', ('Ilan', 'Mara')),
  'where': (HANDOFF, 'Where is the red key at the end?', ('kitchen', 'garden')),
  'where_follow': (
    FOLLOWS[:2] + ['Mara went to the hall.', 'Ilan took the red key.'],
    'Where is the red key at the end?',
    ('garden', 'hall'),
  ),
  'where_follow2': (
    FOLLOWS + ['Tove took the red key.', 'Mara took the blue key.'],
    'Where is the red key at the end?',
    ('garden', 'hall'),
  ),
}


def _instance(name, swap=False, claims=None):
  sentences, question, answers = STORIES[name]
  return text.make_instance(TASK, sentences, question, answers[::-1] if swap else answers, claims=claims)


@dataclasses.dataclass(frozen=True)
class ChainQuoter(policies.Policy):
  """Quotes the true answer's chain (support[label]) in story order, then random legal moves."""

  def __call__(self, key, game, state, judge_params, agent_params, plan, *, batch_axis=None):
    num_sentences = game.task.num_sentences
    chain = state.instance.support[state.instance.label] & game.legal_actions(state)[:num_sentences]
    return jnp.where(chain.any(), jnp.argmax(chain), game.random_action(key, state)).astype(jnp.int32)


def _play(game, instance, agents, num_games=8, seed=0):
  keys = jax.random.split(jax.random.key(seed), num_games)
  return jax.jit(jax.vmap(lambda k: debate.play(k, game, instance, agents, None)))(keys)


def test_api():
  instance = jax.tree.map(lambda a: a[0], text.sample_instances(text.TextTask(), 0, [3]))
  game = text_game.TextDebate(text.TextTask(), k=5, allow_claims=True, show_verified=False)
  conformance.api_test(game, instance, jax.random.key(0), None)


def test_the_exact_judge_is_the_host_solver_on_the_believed_quotes():
  instances = text.sample_instances(text.TextTask(), 1, np.arange(40))
  cases = ((True, 5), (False, 5), (True, 12))

  @jax.jit
  def views_and_answers(keys, instances):
    views = [
      jax.vmap(lambda key, i, k=k, s=show: text.random_view(key, i, k, 3, s))(keys, instances) for show, k in cases
    ]
    judge = jax.vmap(text_game.evidence_answer)
    whole = judge(jax.vmap(text.full_view)(instances)), judge(jax.vmap(text.blind_view)(instances))
    return views, [judge(v) for v in views], whole

  views, answers, (whole, blind) = views_and_answers(jax.random.split(jax.random.key(2), 40), instances)
  for (show, k), view, got in zip(cases, jax.tree.map(np.asarray, views), answers):
    for g in range(40):
      believed = [s for s in range(k + 3) if view.flags[g, s] in (text.VERIFIED, text.HIDDEN)]
      items = [((int(view.positions[g, s]), s), stories.parse(text.decode(view.quotes[g, s]))) for s in believed]
      question = stories.parse_question(text.decode(view.question[g]))
      value = stories.solve(items, question)[0]
      values = [stories.parse_answer(question, a) for a in text.decode(view.answers[g])]
      assert got[g] == (values.index(value) if value in values else -1), (show, k, g)
  # The whole story decides every question; no quote decides none.
  assert np.array_equal(whole, instances.label) and (np.asarray(blind) == -1).all()


def _stack(instances):
  return jax.tree.map(lambda *a: jnp.stack(a), *instances)


def test_the_honest_chain_wins_where_the_verified_evidence_decides_and_hidden_flags_help_the_liar():
  """k = 8 moves (4 each). The honest side quotes its chain (at most 4 sentences), then random legal moves; the
  greedy liar quotes anything true or makes claims. Shown unverified, claims are ignored and the honest side
  wins every game: on the hand-built stories of every question type (both answer orders) and on generated
  ones. Hidden, claims are believed: on the 'where' story the liar claims 'Ilan went to the garden.' as
  sentence 5 or 6, later than the honest 'Ilan went to the kitchen.' (sentence 3), and wins every game; on
  generated stories it wins some."""
  claims = [('Ilan went to the garden.', 5), ('Ilan went to the garden.', 6)] + [('Mara went to the kitchen.', 2)] * 2
  where = _instance('where', claims=claims)
  assert list(np.asarray(where.fabricated_side)) == [1, 1, 0, 0]
  hand_built = [where] + [_instance(name, swap) for name in sorted(STORIES) for swap in (False, True)]
  assert sorted({int(i.hops) for i in hand_built}) == [1, 2, 3, 4]
  generated = text.sample_instances(TASK, 5, np.arange(24))
  instances = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), _stack(hand_built), generated)
  keys = jax.random.split(jax.random.key(0), instances.label.shape[0])
  agents = (ChainQuoter(), policies.Greedy())
  for show in (True, False):
    game = text_game.TextDebate(TASK, k=8, allow_claims=True, show_verified=show)
    outcome, transcript = jax.jit(jax.vmap(lambda key, i, g=game: debate.play(key, g, i, agents, None)))(
      keys, instances
    )
    correct = np.asarray(outcome['correct'])
    assert np.allclose(transcript['prob_true_after'][:, -1], outcome['prob_true'])
    if show:
      assert correct.all(), np.flatnonzero(~correct)
    else:
      assert not correct[0] and 0 < (~correct[len(hand_built) :]).sum() < 24
      assert (np.asarray(transcript['flags']) == text.HIDDEN).all()


def test_greedy_honest_debaters_find_the_deciding_quote():
  instances = _stack([_instance(name, swap) for name in ('first', 'holder') for swap in (False, True)])
  keys = jax.random.split(jax.random.key(1), 4)
  game = text_game.TextDebate(TASK, k=3)
  agents = (policies.Greedy(), policies.Greedy())
  outcome, transcript = jax.jit(jax.vmap(lambda key, i: debate.play(key, game, i, agents, None)))(keys, instances)
  assert bool(outcome['correct'].all()), transcript['actions']


def test_consultancy_and_transcripts():
  instance = _instance('holder')
  game = text_game.TextDebate(TASK, k=2, mode='consultancy')
  outcome, transcript = _play(game, instance, (policies.Greedy(),), num_games=16)
  honest = np.asarray(outcome['consultant_honest'])
  assert honest.any() and (~honest).any()
  # The honest consultant quotes the deciding sentence; a lying one can only quote an earlier owner, which
  # the judge believes (one sentence read alone says Mara has the key).
  assert np.asarray(outcome['accept']).all()
  assert np.array_equal(np.asarray(outcome['correct']), honest)
  assert transcript['prob_true_after'].shape == (16, 2)


@pytest.mark.parametrize(
  'kwargs, message',
  [
    ({'k': 9}, r'k \(quotes in all\) must be in \[1, S=8\]'),
    ({'k': 0}, r'must be in \[1, S=8\]'),
    ({'k': 2, 'mode': 'duel'}, 'mode must be one of debate, consultancy'),
  ],
)
def test_bad_games_fail_clearly(kwargs, message):
  with pytest.raises(ValueError, match=message):
    text_game.TextDebate(TASK, **kwargs)
  with pytest.raises(ValueError, match='num_fabricated >= 1'):
    text_game.TextDebate(text.TextTask(num_fabricated=0), k=2, allow_claims=True)
