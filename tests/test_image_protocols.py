"""Image protocols (Irving et al. 2018) on hand-built images and judges whose logits we can predict.

The hand-built judge `PixelVoteJudge`: logits[c] = sum over revealed pixels p of value(p) * W[p, c], so every
pixel is a vote of known weight for known classes.
"""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import search
from debate.agents.specs import parse_agent
from debate.experiments import images as image_experiment
from debate.games import conformance
from debate.games import images as image_games
from debate.games import pixels as image_game
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from judges import image_judges
from protocols import debate, direct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class PixelVoteJudge:
  def logits(self, params, planes):
    """planes [B, H, W, 2] -> [B, C] = revealed values @ W."""
    return planes[..., 1].reshape(planes.shape[0], -1) @ params


def _votes(num_pixels: int, num_classes: int, votes: dict[int, dict[int, float]]) -> jnp.ndarray:
  w = np.zeros((num_pixels, num_classes), np.float32)
  for pixel, by_class in votes.items():
    for c, weight in by_class.items():
      w[pixel, c] = weight
  return jnp.asarray(w)


# A 3x3 image of 4 classes, label 0, lie 1. Nonzero pixels (value 1): 0, 1, 2, 4, 5.
IMAGE = jnp.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
# Votes: pixel 1 strongly for the label (+5), pixel 0 weakly (+2); pixels 2 and 4 for the lie (+3, +4);
# pixel 5 for class 3 (+6), a third class neither debater claims.
WEIGHTS = _votes(9, 4, {0: {0: 2.0}, 1: {0: 5.0}, 2: {1: 3.0}, 4: {1: 4.0}, 5: {3: 6.0}})
JUDGE = PixelVoteJudge()


def _game(claim=1, num_actions=8, honest_first=True):
  return image_game.make_game(IMAGE, 0, claim, num_actions, honest_first)


def _agent(spec):
  return image_rollout.policy(parse_agent(spec, image_rollout.AGENT_KINDS), {})


def _play(claim, k, *agents, mode='debate'):
  """One game on IMAGE (label 0) with `agents` (specs: honest and liar, or the consultant), honest first."""
  game = image_games.ImageDebate(JUDGE, k, 8, mode)
  return debate.play(jax.random.key(0), game, _game(claim), tuple(_agent(a) for a in agents), WEIGHTS)


def test_game_candidates_moves_and_planes():
  game = _game()
  np.testing.assert_array_equal(game.candidates, [0, 1, 2, 4, 5, 9, 9, 9])
  assert int(game.num_candidates) == 5
  state = image_game.step(image_game.init_state(game, 2), jnp.int32(4))
  np.testing.assert_array_equal(
    image_game.valid_actions(game, state), [True, True, True, False, True, False, False, False]
  )
  planes = image_game.judge_planes(game, state)
  assert planes.shape == (3, 3, 2) and float(planes[..., 0].sum()) == 1 and float(planes[1, 1, 1]) == 1
  np.testing.assert_array_equal(image_game.judge_logits(JUDGE, WEIGHTS, game, state), [0, 4, 0, 0])


def test_random_completion_fills_exactly_the_free_moves_with_distinct_nonzero_pixels():
  game = _game()
  state = image_game.step(image_game.init_state(game, 4), jnp.int32(1))
  for seed in range(20):
    final = image_game.random_completion(jax.random.key(seed), game, state)
    revealed = np.asarray(final.revealed)
    assert revealed[0] == 1 and len(set(revealed)) == 4 and set(revealed) <= {0, 1, 2, 4, 5}


def test_direct_reveals_k_random_nonzero_pixels_and_takes_the_argmax():
  game = _game()
  outcome, transcript = direct.play_images(jax.random.key(0), game, JUDGE, WEIGHTS, k=5)
  # All 5 nonzero pixels: logits [7, 7, 0, 6]: a tie between 0 and 1 goes to argmax's first, 0.
  np.testing.assert_array_equal(transcript['logits'], [7, 7, 0, 6])
  assert int(outcome['verdict']) == 0 and bool(outcome['correct'])
  np.testing.assert_array_equal(np.sort(transcript['revealed']), [0, 1, 2, 4, 5])


def test_greedy_debate_with_precommit_follows_the_hand_computed_moves():
  # Honest first: it takes pixel 1 (+5 margin); the liar takes 4 (+4 for the lie); honest 0; liar 2.
  outcome, transcript = _play(1, 4, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4, 0, 2])
  # Final logits: label 7, lie 7: a tie is a liar win.
  assert float(outcome['honest_margin']) == 0.0 and not bool(outcome['correct'])
  assert int(outcome['verdict']) == 1
  # With 3 moves the honest side ends ahead: 7 against 4.
  outcome, transcript = _play(1, 3, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4, 0])
  assert float(outcome['honest_margin']) == 3.0 and bool(outcome['correct']) and int(outcome['verdict']) == 0


def test_without_precommit_the_liar_can_win_with_any_wrong_class():
  # No precommit: the liar's best first reply is pixel 5 (+6 for class 3), which beats the label's 5.
  outcome, transcript = _play(-1, 2, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 5])
  assert not bool(outcome['correct']) and int(outcome['verdict']) == 3
  # With precommit to lie 1, class 3 is ignored: the same moves leave the honest side ahead 5 to 0, and the
  # greedy liar instead plays its best pixel for class 1 (4): 5 against 4, honest wins.
  outcome, transcript = _play(1, 2, 'greedy', 'greedy')
  np.testing.assert_array_equal(transcript['revealed'], [1, 4])
  assert bool(outcome['correct'])


def test_consultancy_verdicts():
  # A lying greedy consultant for class 3 reveals 5 first (+6), then 2 and 4 (votes for class 1 do not
  # hurt it as long as class 3 stays on top): logits [0, 7, 0, 6] -> rejected, the judge is right.
  outcome, transcript = _play(3, 3, 'greedy', mode='consultancy')
  assert int(transcript['revealed'][0]) == 5
  assert not bool(outcome['consultant_honest'])
  # With k = 1 it shows only pixel 5 and is accepted: a wrong verdict.
  outcome, _ = _play(3, 1, 'greedy', mode='consultancy')
  assert bool(outcome['accept']) and not bool(outcome['correct']) and int(outcome['verdict']) == 3
  # An honest consultant shows pixel 1 and is accepted: right.
  outcome, _ = _play(0, 1, 'greedy', mode='consultancy')
  assert bool(outcome['accept']) and bool(outcome['correct'])


def _chosen_pixels(agent, game, state, seeds=5):
  """The pixel `agent` picks in `state` under each of `seeds` keys: [seeds] (one compiled, vmapped call)."""
  choose = lambda key: state.game.candidates[_agent(agent)(key, game, state, WEIGHTS, None, None)]
  return np.asarray(jax.jit(jax.vmap(choose))(jax.random.split(jax.random.key(0), seeds)))


def test_mcts_finds_the_only_winning_first_move():
  """k = 2, honest first, lie 1. Minimax: honest 1 (+5) beats any reply (best: 4, +4); honest 0 (+2) loses to
  4 or 2; pixels 2, 4 help the lie; pixel 5 helps no one and leaves the liar to win. So pixel 1 is the only
  winning first move, and MCTS must find it."""
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  visits, value = jax.jit(lambda key: search.puct(game, key, state, WEIGHTS, simulations=200))(jax.random.key(3))
  visits = np.asarray(visits)
  assert state.game.candidates[int(np.argmax(visits))] == 1 and float(value) > 0
  assert visits[5:].sum() == 0  # The padding actions are never visited.
  np.testing.assert_array_equal(_chosen_pixels('mcts:64', game, state), [1] * 5)


@pytest.mark.parametrize('leaf', ['judge', 'avg3'])
def test_mcts_with_another_leaf_evaluation_finds_the_winning_moves_too(leaf):
  # The position of the test above (pixel 1 is the only winning first move), and the liar's replies after
  # the honest pixel 0 (2 and 4 win): the judge on the revealed pixels alone, or 3 completions averaged.
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  np.testing.assert_array_equal(_chosen_pixels(f'mcts:64:{leaf}', game, state), [1] * 5)
  reply = game.step(state, jnp.int32(0))
  assert set(_chosen_pixels(f'mcts:32:{leaf}', game, reply).tolist()) <= {2, 4}


def test_the_puct_constant_trades_the_best_move_against_exploring_the_others():
  # The position above: with 200 simulations a small c_puct keeps to the winning pixel, a large one spreads
  # its visits over every legal pixel; both still choose pixel 1 (the most visited).
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.init(None, _game())
  visits = {
    c: np.asarray(
      jax.jit(lambda key, c=c: search.puct(game, key, state, WEIGHTS, simulations=200, c_puct=c)[0])(jax.random.key(3))
    )
    for c in (0.25, 1.0, 16.0)
  }
  assert visits[0.25][1] > 0.9 * 200 and visits[1.0][1] > 0.9 * 200  # Measured: 189 and 187 of 200.
  assert visits[16.0][1] < 0.5 * 200 and visits[16.0][:5].min() >= 20  # Measured: 68, and 30 to 36 each.
  np.testing.assert_array_equal(_chosen_pixels('mcts:200:c16', game, state), [1] * 5)


def test_mcts_liar_finds_its_winning_reply():
  # Honest first has shown pixel 0 (+2); the liar's replies 2 (+3) and 4 (+4) both win, 1 and 5 do not.
  game = image_games.ImageDebate(JUDGE, 2, 8)
  state = game.step(game.init(None, _game()), jnp.int32(0))  # Action 0: pixel 0.
  assert set(_chosen_pixels('mcts:32', game, state).tolist()) <= {2, 4}


def test_image_scores_credit_the_liar_with_its_best_lie():
  correct = np.array(
    [
      [[1, 1, 1], [1, 0, 1]],  # Image 0: lie 1 wins 1 of 3 -> 2/3.
      [[1, 1, 1], [1, 1, 1]],
    ],
    bool,
  )  # Image 1: honest always wins -> 1.
  np.testing.assert_allclose(image_experiment.image_scores(correct), [2 / 3, 1.0])


@pytest.mark.parametrize(
  'spec, name',
  [
    ('direct', 'direct'),
    ('consultancy/greedy', 'consultancy/greedy'),
    ('debate/mcts:100', 'debate/mcts:100'),
    ('debate/mcts:100/no_precommit', 'debate/mcts:100/no_precommit'),
    ('debate/mcts:100/liar=random', 'debate/mcts:100/liar=random'),
    ('debate/mcts:100:judge/liar=mcts:25:avg4', 'debate/mcts:100:judge/liar=mcts:25:avg4'),
    ('debate/mcts:100:c2.0/liar=mcts:100:avg4:c0.5', 'debate/mcts:100:c2/liar=mcts:100:avg4:c0.5'),
  ],
)
def test_arm_names_round_trip(spec, name):
  assert image_rollout.parse_image_arm(spec).name == name


def test_the_liars_judge_calls_count_every_averaged_completion():
  # k = 6, liar first: the liar makes 3 moves of B simulations, each costing N judge calls with avgN.
  count = lambda spec: image_rollout.judge_evaluations_per_game(
    image_rollout.parse_image_arm(spec), k=6, num_actions=16, first='liar'
  )
  assert count('debate/mcts:10') == count('debate/mcts:10/liar=mcts:10:judge') == 10 * 3
  assert count('debate/mcts:10/liar=mcts:10:avg4') == 10 * 4 * 3


@pytest.mark.parametrize(
  'spec, message',
  [
    ('debate', 'needs an agent'),
    ('debate/mcts', 'budget >= 1'),
    ('debate/mcts:x', 'bad image agent'),
    ('debate/oracle', 'unknown image agent'),
    ('debate/mcts:4/precommit', 'unknown debate option'),
    ('direct/random', 'takes no agent'),
    ('chess/mcts:4', 'unknown image protocol'),
    ('debate/mcts:4:rollout', 'unknown leaf evaluation'),
    ('debate/mcts:4:avg0', 'unknown leaf evaluation'),
    ('debate/greedy:judge', 'takes no budget'),
    ('debate/mcts:4:c0', 'PUCT constant must be > 0'),
    ('debate/mcts:4:cx', 'bad image agent'),
    ('debate/mcts:4:c2:judge', 'unknown leaf evaluation'),
  ],
)
def test_bad_arms_are_refused_with_the_reason(spec, message):
  with pytest.raises(ValueError, match=message):
    image_rollout.parse_image_arm(spec)


# ----------------------------------------------------------------------------------------------------------
# Batched games: invariance over devices and batch sizes.


def _tiny_images(n=5, seed=0):
  rng = np.random.default_rng(seed)
  images = np.where(rng.random((n, 4, 4)) < 0.5, rng.random((n, 4, 4)), 0).astype(np.float32)
  images[:, 0, 0] = 0.5  # At least one nonzero pixel each.
  labels = rng.integers(0, 4, n).astype(np.int32)
  return images, labels


@pytest.mark.parametrize('spec', ['debate/mcts:8', 'consultancy/greedy'])
def test_results_are_identical_on_one_and_four_devices_and_any_batch(spec):
  images, labels = _tiny_images()
  weights = jax.random.normal(jax.random.key(1), (16, 4))
  arm = image_rollout.parse_image_arm(spec)
  common = dict(k=3, num_actions=16, num_classes=4, first='liar', seed=0, repeats=2)
  runs = []
  for devices, batch in ((1, 64), (4, 12)):  # 4 devices: 3 games each, the last batch padded.
    mesh = runner.data_mesh(jax.devices()[:devices])
    runs.append(
      image_rollout.run_games(arm, JUDGE, weights, images, labels, np.arange(5), batch_size=batch, mesh=mesh, **common)
    )
  lies = 3 if arm.protocol == 'debate' else 1
  assert runs[0][0]['correct'].shape == (5, lies, 2)
  for outcome, transcript in runs[1:]:
    np.testing.assert_array_equal(outcome['correct'], runs[0][0]['correct'])
    np.testing.assert_array_equal(transcript['revealed'], runs[0][1]['revealed'])
    np.testing.assert_array_equal(transcript['claim'], runs[0][1]['claim'])


@pytest.mark.parametrize(
  'mode, claim, honest_first', [('debate', 1, True), ('debate', -1, False), ('consultancy', 2, True)]
)
def test_api(mode, claim, honest_first):
  """The conformance test on a random 6 x 6 image with an MLP judge of 3 classes."""
  mask_key, value_key = jax.random.split(jax.random.key(5))
  mask = jax.random.bernoulli(mask_key, 0.35, (6, 6))
  image = jnp.where(mask, jax.random.uniform(value_key, mask.shape, minval=0.1), 0.0)
  actions = image_game.action_space_size(np.asarray(image)[None])
  judge = image_judges.ImageJudge('mlp', 3)
  params = image_judges.init_judge(image_judges.make_judge('mlp', 3), jax.random.key(6), image.shape)
  game = image_games.ImageDebate(judge, k=4, num_actions=actions, mode=mode)
  instance = image_game.make_game(image, 0, claim, actions, honest_first)
  conformance.api_test(game, instance, jax.random.key(0), params, network=(8, 1) if mode == 'debate' else None)
