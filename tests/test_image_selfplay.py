"""Self-play debaters for image debate (debate/training/selfplay.py on the precommit image game of
debate/games/images.py) on tiny hand-built images and a hand-built judge whose verdicts we can predict: the
observation, learning, chunking, the Orbax ladder, legal play in the image runner's games, and the names in
configs."""

import dataclasses
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import policies
from debate.distributed import sharding
from debate.experiments import images as image_experiment
from debate.experiments.runfiles import ConfigError
from debate.games import images as image_games
from debate.games import pixels as image_game
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.tasks import idx
from debate.training import selfplay
from launch.configs import irving_mnist


@dataclasses.dataclass(frozen=True)
class VoteJudge:
  """logits[c] = sum over revealed pixels p of value(p) * W[p, c] (as tests/test_image_protocols.py)."""

  num_classes: int = 2

  def logits(self, params, planes):
    return planes[..., 1].reshape(planes.shape[0], -1) @ params


# 4x4 images of 2 classes, all labelled 0 (so the lie is 1). Every nonzero pixel votes +1 for the label,
# except WINNER, which every image has and which votes +10 for the lie: in a k = 2 game the liar wins iff
# it reveals WINNER, whoever moves first (honest's one pixel gives the label at most +1).
WINNER = 9
K, C = 2, 2
JUDGE = VoteJudge()
WEIGHTS = jnp.asarray(
  np.stack([np.where(np.arange(16) == WINNER, 0.0, 1.0), np.where(np.arange(16) == WINNER, 10.0, 0.0)], axis=1).astype(
    np.float32
  )
)
TINY = selfplay.SelfPlayConfig(
  batch_size=16,
  num_simulations=4,
  considered_actions=4,
  learning_rate=1e-2,
  width=4,
  depth=1,
  log_every=20,
)
RUNGS = (0, 20, 40)
SEED = 1
NETWORKS = (('az', TINY.width, TINY.depth),)


def _images(n=6, seed=0):
  rng = np.random.default_rng(seed)
  images = np.where(rng.random((n, 4, 4)) < 0.5, 255, 0).astype(np.uint8)
  images.reshape(n, 16)[:, WINNER] = 255
  images.reshape(n, 16)[:, 0] = 255
  return images, np.zeros(n, np.int32)


def _dataset(copies=6):
  """A training split of `copies` copies of the images of `_images()`: at least the batch of 16, since each
  game draws its image from its own N / B of the split."""
  images, labels = _images()
  return idx.ImageDataset(np.tile(images, (copies, 1, 1)), np.tile(labels, copies), num_classes=C)


def _build(workdir, rungs=RUNGS, config=TINY, log=print, mesh=None, judge_name='votes'):
  return image_experiment.build_ladder(
    JUDGE,
    WEIGHTS,
    _dataset(),
    judge_name=judge_name,
    k=K,
    seed=SEED,
    workdir=workdir,
    rungs=rungs,
    config=config,
    log=log,
    mesh=mesh,
  )


@pytest.fixture(scope='module')
def ladder(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('agents'))
  lines = []
  return workdir, _build(workdir, log=lines.append), lines


def test_the_observation_is_the_judge_view_the_pixels_the_roles_and_the_claims():
  image = jnp.array([[1.0, 0.5, 1.0], [0.0, 0.25, 1.0], [0.0, 0.0, 0.0]])
  game = image_games.ImageDebate(VoteJudge(4), 3, 8)
  state = game.init(None, image_game.make_game(image, 2, 1, 8, honest_first=False))  # label 2, lie 1, of 4
  state = game.step(state, jnp.int32(3))  # The liar reveals candidate 3, pixel (1, 1); the honest side next.
  view = game.observe(state)
  planes, features = view['planes'], view['features']
  mask = np.zeros((3, 3), np.float32)
  mask[1, 1] = 1
  np.testing.assert_array_equal(planes[..., 0], mask)
  np.testing.assert_array_equal(planes[..., 1], mask * 0.25)
  np.testing.assert_array_equal(planes[..., 2], np.asarray(image) != 0)
  moves_left = np.eye(image_games.MAX_MOVES_FEATURE)[2]
  np.testing.assert_array_equal(features, np.concatenate([[1, 0], moves_left, np.eye(4)[2], np.eye(4)[1]]))
  np.testing.assert_array_equal(view['candidates'], [0, 1, 2, 4, 5, 9, 9, 9])
  # The liar to move, and no lie (the liar's claim is all zeros).
  state = game.init(None, image_game.make_game(image, 2, -1, 8, honest_first=True))
  features = game.observe(game.step(state, jnp.int32(3)))['features']
  np.testing.assert_array_equal(features, np.concatenate([[0, 1], moves_left, np.eye(4)[2], np.zeros(4)]))


def test_training_teaches_the_liar_the_winning_pixel(ladder):
  _, built, lines = ladder
  assert len(lines) == 3 and 'training images: 0..35 of 36' in lines[0] and 'step 40/40' in lines[-1]
  images, labels = _images()
  game = image_games.ImageDebate(JUDGE, K, 16)
  network = policies.Network(TINY.width, TINY.depth)

  def chosen(params):
    """The az pixel with the liar to move: first (liar first), and after each honest first pixel."""

    def one(image, honest_action, honest_first):
      state = game.init(None, image_game.make_game(image.astype(jnp.float32) / 255, 0, 1, 16, honest_first))
      state = jax.lax.cond(honest_first, lambda: game.step(state, honest_action), lambda: state)
      return state.game.candidates[network(None, game, state, WEIGHTS, params, None)]

    firsts = [(i, 0, False) for i in range(len(images))] + [
      (i, a, True)
      for i in range(len(images))
      for a, p in enumerate(np.flatnonzero(images[i].reshape(-1)))
      if p != WINNER
    ]
    index, action, first = (jnp.asarray(x) for x in zip(*firsts))
    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(images)[index], action, first))

  untrained, trained = chosen(built[0]), chosen(built[40])
  assert (untrained == WINNER).mean() < 0.5  # measured: 0 of 32 states
  assert (trained == WINNER).all(), trained


def test_each_device_plays_on_its_own_block_of_images_the_games_of_one_device():
  # 37 distinct images (pixel 1 encodes the index) over 4 devices: blocks of 9, 9, 9 and 10 images, the
  # first three zero-padded. Game b draws from its own stratum of the 37, on any layout.
  images, _ = _images(37, seed=4)
  images.reshape(37, 16)[:, 1] = np.arange(1, 38)
  dataset = idx.ImageDataset(images, np.zeros(37, np.int32), num_classes=C)
  game = image_games.ImageDebate(JUDGE, K, 16)
  low, size = image_games.image_strata(37, TINY.batch_size)
  assert list(low[:3]) == [0, 2, 4] and set(size) == {2, 3} and size.sum() == 37

  def games(mesh):
    sampler = image_games.TrainingGames(37, C, 16, (4, 4), mesh.devices.size if mesh else 1)
    network = selfplay.init_params(game, sampler, TINY.width, TINY.depth, jax.random.key(0))
    data = image_games.training_images(dataset, TINY.batch_size, mesh)
    play = jax.jit(
      lambda params, key, data: selfplay.selfplay_games(game, sampler, TINY, params, key, WEIGHTS, data, mesh)
    )
    return data, jax.device_get(play(network, jax.random.key(3), data))

  (images_one, _), one = games(None)
  assert images_one.shape == (37, 4, 4)
  for mesh in (sharding.make_mesh(jax.devices()[:4]), sharding.make_mesh(jax.devices()[:4], model_parallelism=2)):
    (blocks, _), four = games(mesh)
    assert blocks.shape == (40, 4, 4) and [len(s.data) for s in blocks.addressable_shards] == [10] * 4
    shown = four[0]['planes'][0, :, :, :, 2].reshape(TINY.batch_size, 16)  # Move 0's nonzero-pixel mask plane.
    assert (shown[:, 1] == 1).all()  # Never a padded (all-zero) row.
    jax.tree.map(np.testing.assert_array_equal, four[0], one[0])  # Observations (candidates included).
    for ours, theirs in zip(four[2:], one[2:]):  # Legal actions, targets, active, payoffs.
      np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(four[1], one[1], atol=1e-6)  # The search weights, to float rounding.
  drawn = one[0]['candidates'][0]  # The games' candidates: each game's image is one of its stratum's.
  for b in range(TINY.batch_size):
    candidates = {tuple(np.flatnonzero(images[i].reshape(-1))) for i in range(low[b], low[b] + size[b])}
    assert tuple(drawn[b][drawn[b] < 16]) in candidates


def test_params_at_a_step_do_not_depend_on_the_chunking_or_the_device_count(ladder):
  _, built, _ = ladder  # Trained on one device in chunks of 20 steps.
  config = dataclasses.replace(TINY, log_every=40)

  def train(mesh=None):
    game = image_games.ImageDebate(JUDGE, K, 16)
    sampler = image_games.TrainingGames(36, C, 16, (4, 4), mesh.devices.size if mesh else 1)
    data = image_games.training_images(_dataset(), config.batch_size, mesh)
    return selfplay.train_selfplay(
      game, sampler, WEIGHTS, data, seed=SEED, rungs=(40,), config=config, log=lambda _: None, mesh=mesh
    )

  rechunked, history = train()
  jax.tree.map(np.testing.assert_array_equal, rechunked[40], built[40])
  # The same games split over 4 devices (shard_map): the same self-play outcomes and, up to the float
  # rounding of the gradient's all-reduce, the same losses and params.
  sharded, sharded_history = train(runner.data_mesh(jax.devices()[:4]))
  for ours, theirs in zip(sharded_history, history, strict=True):
    assert ours['step'] == theirs['step'] and ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(ours['loss'], theirs['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), sharded[40], rechunked[40])
  # And with the params and Adam moments split FSDP-style over a 'model' axis of 2 (mesh 2 x 2).
  fsdp, fsdp_history = train(sharding.training_mesh(runner.data_mesh(jax.devices()[:4]), config.batch_size, 2))
  assert fsdp_history[0]['liar_win_rate'] == history[0]['liar_win_rate']
  np.testing.assert_allclose(fsdp_history[0]['loss'], history[0]['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), fsdp[40], rechunked[40])
  with pytest.raises(ValueError, match='not divisible by the 3 devices'):
    _build(None, rungs=(1,), config=config, mesh=runner.data_mesh(jax.devices()[:3]))


def test_the_ladder_round_trips_through_orbax_and_refuses_another_config(ladder):
  workdir, built, _ = ladder
  lines = []
  again = _build(workdir, rungs=(0, 40), log=lines.append)
  assert lines[1:] == [] and set(again) == {0, 40}  # (lines[0]: the training images it would use.)
  for step in (0, 40):
    jax.tree.map(np.testing.assert_array_equal, again[step], built[step])
  with pytest.raises(ValueError, match='fresh workdir'):
    _build(workdir, rungs=(40,), config=dataclasses.replace(TINY, width=8))


def test_az_debaters_play_legal_moves_in_the_image_runner(ladder):
  _, built, _ = ladder
  images, labels = _images(5, seed=3)
  arm = image_rollout.parse_image_arm('debate/az:40@4/liar=az:0')
  for first in ('honest', 'liar'):
    outcome, transcript = image_rollout.run_games(
      arm,
      JUDGE,
      WEIGHTS,
      images.astype(np.float32) / 255,
      labels,
      np.arange(5),
      k=K,
      num_actions=16,
      num_classes=C,
      first=first,
      seed=0,
      repeats=2,
      batch_size=8,
      mesh=runner.data_mesh(jax.devices()[:1]),
      agent_params=(built[40], built[0]),
      networks=NETWORKS,
    )
    revealed = transcript['revealed']  # [N, lies, repeats, k]
    assert revealed.shape == (5, 1, 2, K)
    for n in range(5):
      nonzero = set(np.flatnonzero(images[n].reshape(-1)))
      for moves in revealed[n].reshape(-1, K):
        assert len(set(moves)) == K and set(moves) <= nonzero, (n, moves)
    # The verdict is the game's rule: the liar wins iff WINNER was revealed, by either side. (In this k = 2
    # game the honest side cannot stop a liar that knows WINNER, so self-play gives it no reason to avoid
    # WINNER itself, and az:40 does reveal it.)
    np.testing.assert_array_equal(~outcome['correct'], (revealed == WINNER).any(axis=-1))


def test_az_names_parse_and_bad_names_are_refused_with_the_reason(ladder):
  arm = image_rollout.parse_image_arm('debate/az:250@16/liar=az:0')
  assert (arm.honest.kind, arm.honest.budget, arm.honest.simulations) == ('az', 250, 16)
  assert arm.name == 'debate/az:250@16/liar=az:0' and image_rollout.parse_image_arm(arm.name) == arm
  arm = image_rollout.parse_image_arm('debate/greedy/liar=az:40@4')
  assert arm.liar.agent == 'az:40@4'  # the tournament's name for this houdini
  assert image_rollout.judge_evaluations_per_game(arm, k=6, num_actions=16, first='liar') == 4 * 3
  assert (
    image_rollout.judge_evaluations_per_game(
      image_rollout.parse_image_arm('debate/az:5'), k=6, num_actions=16, first='liar'
    )
    is None
  )
  for spec, message in (
    ('debate/az', 'names its checkpoint step'),
    ('debate/az:x', 'bad image agent budget'),
    ('debate/az:-1', 'checkpoint step >= 0'),
    ('debate/az:5@', 'az:1000@16'),
    ('debate/az:5@0', 'az:1000@16'),
    ('debate/greedy/liar=az:5@two', 'az:1000@16'),
    ('debate/alphazero:5', 'unknown image agent'),
    ('consultancy/az:5', 'not consultancy'),
    ('debate/az:5/no_precommit', 'drop /no_precommit'),
    ('debate/greedy/liar=az:5/no_precommit', 'drop /no_precommit'),
  ):
    with pytest.raises(ValueError, match=message):
      image_rollout.parse_image_arm(spec)
  with pytest.raises(ValueError, match='plays with its params'):
    _play_one('debate/az:5', None)


def _play_one(arm, params):
  images, labels = _images(1)
  return image_rollout.run_games(
    image_rollout.parse_image_arm(arm),
    JUDGE,
    WEIGHTS,
    images.astype(np.float32) / 255,
    labels,
    np.arange(1),
    k=K,
    num_actions=16,
    num_classes=C,
    first='honest',
    seed=0,
    repeats=1,
    batch_size=1,
    mesh=runner.data_mesh(jax.devices()[:1]),
    agent_params=(params, params),
    networks=NETWORKS,
  )


def test_the_config_variant_plans_and_the_runner_attaches_saved_rungs(ladder, tmp_path):
  config = irving_mnist.get_config('selfplay_k6_cpu')
  cells = image_experiment.plan_cells(config)
  assert {spec.budget for c in cells for spec in image_experiment.az_specs(c.arm)} == set(irving_mnist.SELFPLAY_RUNGS)
  assert image_experiment.selfplay_config(config).width == 8
  for field, value, named in (('width2', 3, 'selfplay_training'), ('k', 4, 'selfplay_training')):
    bad = irving_mnist.get_config('selfplay_k6_cpu')
    bad.selfplay_training[field] = value
    with pytest.raises(ConfigError, match=named):
      image_experiment.plan_cells(bad)
  # The runner finds the rungs of the ladder trained above where it keeps them and attaches both roles.
  workdir, built, _ = ladder
  images, labels = _images()
  for prefix, data in (('train', images), ('t10k', images)):
    idx.write_idx(tmp_path / f'{prefix}-images-idx3-ubyte', data)
    idx.write_idx(tmp_path / f'{prefix}-labels-idx1-ubyte', labels.astype(np.uint8))
  shutil.copytree(
    image_experiment.ladder_dir(workdir, 'votes', SEED), image_experiment.ladder_dir(str(tmp_path), 'votes_k2_step7', 0)
  )
  config.k, config.num_classes, config.game.seed = K, C, 0
  config.selfplay_training = dataclasses.asdict(TINY)
  config.game.protocols = ('debate/az:40/liar=greedy', 'debate/greedy/liar=az:0@4', 'debate/greedy')
  lines = []
  ladder = image_experiment.selfplay_ladder(
    image_experiment.plan_cells(config),
    config,
    judge=JUDGE,
    judge_params=WEIGHTS,
    judge_info={'model': 'votes', 'k': K, 'step': 7},
    data_dir=str(tmp_path),
    workdir=str(tmp_path),
    log=lines.append,
  )
  assert lines[1:] == [] and not any('step' in line for line in lines)  # loaded, not trained
  assert set(ladder) == {0, 40}
  jax.tree.map(np.testing.assert_array_equal, ladder[40], built[40])
