"""Self-play debaters for text debate (debate/training/selfplay.py on debate/games/text.py, the network of
debate/games/text_network.py): the conformance test with the network, the observation, the network's shapes
and masking, the training stories, a tiny self-play ladder against the exact judge (a run killed after a
chunk resumes to the params of the uninterrupted run; the ladder reloads from Orbax), and a trained ladder
that beats random play on held-out 1-hop stories."""

import dataclasses
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import policies
from debate.experiments.runfiles import WorkdirError
from debate.games import conformance, text_network
from debate.games import text as text_game
from debate.tasks import text
from debate.training import ladder as ladder_lib
from debate.training import selfplay
from protocols import debate

# 1-hop stories of 6 sentences, one quote each (k = 2): the honest side wins when a quote is its deciding sentence.
TASK = text.TextTask(num_sentences=6, hops=(1,))
GAME = text_game.TextDebate(TASK, k=2)
TINY = selfplay.SelfPlayConfig(
  batch_size=16, num_simulations=4, considered_actions=4, learning_rate=3e-3, width=32, depth=1, log_every=30
)
RUNGS = (0, 30, 60)
NUM_STORIES, NUM_TEST = 64, 96
HANDOFF = [
  'Mara took the red key.',
  'Mara went to the garden.',
  'Mara gave the red key to Ilan.',
  'Ilan went to the kitchen.',
]


def _ladder(workdir, rungs, config=TINY, log=lambda _: None):
  return text_game.text_selfplay_ladder(
    GAME,
    None,
    judge_name='exact',
    rungs=rungs,
    workdir=workdir,
    seed=3,
    num_stories=NUM_STORIES,
    config=config,
    log=log,
  )


@pytest.fixture(scope='module')
def ladder(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('agents'))
  lines = []
  return workdir, _ladder(workdir, RUNGS, log=lines.append), lines


def test_the_game_with_its_network_passes_the_conformance_test():
  instance = jax.tree.map(lambda a: a[0], text.sample_instances(TASK, 0, [1]))
  game = text_game.TextDebate(TASK, k=3, allow_claims=True, show_verified=False)
  conformance.api_test(game, instance, jax.random.key(0), None, network=(16, 1))


def test_the_observation_is_the_story_the_sides_and_the_transcript():
  instance = text.make_instance(
    TASK, HANDOFF, 'Who has the red key at the end?', ('Mara', 'Ilan'), claims=[('Mara took the red key.', 5)] * 4
  )
  assert int(instance.label) == 1  # Ilan is the true answer, answers[1].
  game = text_game.TextDebate(TASK, k=4, allow_claims=True, honest_first=True)
  state = game.step(game.step(game.init(jax.random.key(0), instance), 2), 7)  # Honest quotes 2, the liar claim 1.
  seen = game.observe(state)
  np.testing.assert_array_equal(seen['story'], instance.story)
  np.testing.assert_array_equal(seen['claims'], instance.fabricated)
  np.testing.assert_array_equal(seen['claim_positions'], [5] * 4)
  assert (int(seen['side']), int(seen['truth']), int(seen['moves_left'])) == (1, 1, 2)  # The honest side next.
  np.testing.assert_array_equal(seen['owner'], [0, 0, 1, 0, 0, 0, 0, 2, 0, 0])
  np.testing.assert_array_equal(seen['slot'], [4, 4, 0, 4, 4, 4, 4, 1, 4, 4])
  flags = np.zeros(10, int)
  flags[[2, 7]] = text.VERIFIED, text.UNVERIFIED
  np.testing.assert_array_equal(seen['flag'], flags)
  seen = game.observe(game.step(state, 3))  # The liar to move: it argues answers[0]; owners swap.
  assert (int(seen['side']), int(seen['moves_left'])) == (0, 1)
  np.testing.assert_array_equal(np.asarray(seen['owner'])[[2, 3, 7]], [2, 2, 1])
  # Without claims: A = S and no claim fields; flags hidden as the judge sees them; consultancy: all mine.
  hidden = text_game.TextDebate(TASK, k=2, show_verified=False, honest_first=False)
  seen = hidden.observe(hidden.step(hidden.init(jax.random.key(0), instance), 0))
  assert 'claims' not in seen and seen['owner'].shape == (6,) and int(seen['side']) == 1
  assert int(seen['flag'][0]) == text.HIDDEN and int(seen['owner'][0]) == 2
  consultant = text_game.TextDebate(TASK, k=2, mode='consultancy')
  state = consultant.step(consultant.init(jax.random.key(1), instance), 4)
  seen = consultant.observe(state)
  assert int(seen['side']) == int(state.claim) and int(seen['owner'][4]) == 1


def test_the_network_maps_observations_with_leading_axes_and_masks_played_actions():
  instances = text.sample_instances(TASK, 0, np.arange(6))
  game = text_game.TextDebate(TASK, k=4, allow_claims=True)
  model, network = game.network(32, 2), policies.Network(32, 2)
  init = lambda key: model.init(key, game.observe(game.init(key, text_game.empty_instance(TASK))))
  params = jax.jit(init)(jax.random.key(1))
  assert text_network.count_params(params) == 30_529  # width 32, depth 2 (any A)

  @jax.jit
  def run(instances):
    states = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 6), instances)
    states = jax.vmap(game.step)(states, jnp.arange(6))  # Game g: action g played.
    observations = jax.tree.map(lambda a: a.reshape(2, 3, *a.shape[1:]), jax.vmap(game.observe)(states))
    alone = model.apply(params, jax.tree.map(lambda a: a[1, 2], observations))  # Game 5 on its own.
    actions = jax.vmap(lambda s: network(None, game, s, None, params, None))(states)  # The network agent.
    return model.apply(params, observations), alone, actions

  (logits, values), alone, actions = run(instances)
  assert logits.shape == (2, 3, game.num_actions) and values.shape == (2, 3)
  assert bool((jnp.abs(values) <= 1).all())
  played = jax.nn.one_hot(jnp.arange(6), game.num_actions, dtype=jnp.bool_).reshape(2, 3, -1)
  np.testing.assert_array_equal(logits == -1e9, played)  # Played actions: the search's invalid logit.
  np.testing.assert_allclose(alone[0], logits[1, 2], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(alone[1], values[1, 2], rtol=1e-5, atol=1e-5)
  assert not bool(jnp.any(actions == jnp.arange(6)))  # It plays legal moves only.


def test_the_training_stories_are_the_generators_and_one_pool_per_device():
  pool = text_game.training_stories(TASK, 3, 5)
  np.testing.assert_array_equal(pool.story[4], text.generate(TASK, 3, 4)['story'])
  held_out = text_game.heldout_stories(TASK, 3, 2)
  np.testing.assert_array_equal(held_out.story[1], text.generate(TASK, 3, text_game.TEST_OFFSET + 1)['story'])
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:4]).reshape(4, 1), ('data', 'model'))
  tiled = text_game.training_stories(TASK, 3, 5, mesh)
  assert tiled.story.shape == (20, 6, 8)
  for shard in tiled.story.addressable_shards:
    np.testing.assert_array_equal(shard.data, pool.story)
  sampler = text_game.TrainingGames(TASK, 5)
  draws, keys = sampler.draw(jax.random.key(0), 8)
  assert keys.shape == (8,) and bool(((draws >= 0) & (draws < 5)).all())
  np.testing.assert_array_equal(sampler.build(draws, pool).question, pool.question[draws])


def test_a_run_killed_after_a_chunk_resumes_to_the_params_of_the_uninterrupted_run(ladder, tmp_path):
  workdir, built, lines = ladder  # Trained without interruption, in chunks of 30 steps.
  directory = os.path.join(workdir, 'agents', 'text_selfplay_exact_seed3')
  assert any('step 60/60' in line for line in lines) and os.path.isdir(os.path.join(directory, 'step_60'))
  # What a run killed after its chunk ending at step 30 leaves: the training state at step 30, no ladder yet.
  killed = os.path.join(str(tmp_path), 'agents', 'text_selfplay_exact_seed3')
  os.makedirs(os.path.join(killed, ladder_lib.TRAINING))
  shutil.copytree(os.path.join(directory, ladder_lib.TRAINING, '30'), os.path.join(killed, ladder_lib.TRAINING, '30'))
  shutil.copy(os.path.join(directory, ladder_lib.TRAINING + '_config.json'), killed)
  resumed_lines = []
  resumed = _ladder(str(tmp_path), RUNGS, log=resumed_lines.append)
  assert any('resumed training from the checkpoint at step 30' in line for line in resumed_lines)
  assert not any('step 30/60' in line for line in resumed_lines)  # Only steps 30..60 were trained again.
  for rung in RUNGS:
    jax.tree.map(np.testing.assert_array_equal, resumed[rung], built[rung])
  histories = [json.load(open(os.path.join(d, 'metrics.json')))['history'] for d in (directory, killed)]
  assert [h['step'] for h in histories[1]] == [30, 60] and histories[0][1]['loss'] == histories[1][1]['loss']
  reloaded = []
  again = _ladder(workdir, (0, 60), log=reloaded.append)  # Loaded, not trained.
  assert reloaded == [] and set(again) == {0, 60}
  jax.tree.map(np.testing.assert_array_equal, again[60], built[60])
  with pytest.raises(WorkdirError, match='fresh workdir'):
    _ladder(workdir, (60,), config=dataclasses.replace(TINY, width=16))


def test_the_trained_honest_debater_beats_random_play_on_held_out_stories(ladder):
  """The honest debater as the network (greedy over its logits) against a random liar on held-out 1-hop
  stories, random first player: the untrained network (rung 0) against the trained one."""
  _, built, _ = ladder
  stories = text_game.heldout_stories(TASK, 3, NUM_TEST)
  keys = jax.random.split(jax.random.key(7), NUM_TEST)
  network = policies.Network(TINY.width, TINY.depth)

  @jax.jit
  def honest_wins(params):
    play = lambda key, instance: debate.play(key, GAME, instance, (network, policies.Random()), None, (params, None))
    return jax.vmap(play)(keys, stories)[0]['correct'].mean()

  untrained, trained = float(honest_wins(built[0])), float(honest_wins(built[60]))
  # measured: untrained 0.52, step 30 0.91, trained 0.95 (a random honest debater: 0.35)
  assert trained >= 0.85 and trained >= untrained + 0.3, (untrained, trained)
