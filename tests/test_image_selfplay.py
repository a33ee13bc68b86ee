"""Self-play debaters for image debate (debate/training/selfplay_images.py) on tiny hand-built images and a hand-built
judge whose verdicts we can predict: the observation, learning, chunking, the Orbax ladder, legal play in
the image runner's games, and the names in configs."""

import dataclasses
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.distributed import sharding
from debate.experiments import images as image_experiment
from debate.experiments.runfiles import ConfigError
from debate.games import pixels as image_game
from debate.games.pixels import Roles
from debate.rollouts import chain as rollout
from debate.rollouts import images as image_rollout
from debate.tasks import idx
from debate.training import selfplay_images as image_selfplay
from launch.configs import irving_mnist


@dataclasses.dataclass(frozen=True)
class VoteJudge:
  """logits[c] = sum over revealed pixels p of value(p) * W[p, c] (as tests/test_image_protocols.py)."""

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
TINY = image_selfplay.ImageSelfPlayConfig(
  k=K,
  num_classes=C,
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


@pytest.fixture(scope='module')
def ladder(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('agents'))
  lines = []
  built = image_selfplay.build_ladder(
    JUDGE,
    WEIGHTS,
    _dataset(),
    judge_name='votes',
    seed=SEED,
    workdir=workdir,
    rungs=RUNGS,
    config=TINY,
    log=lines.append,
  )
  return workdir, built, lines


def _spec(name, policies):
  spec = image_rollout.parse_image_arm(f'debate/{name}').honest
  return dataclasses.replace(spec, policy=policies[spec.budget])


def test_the_observation_is_the_judge_view_the_pixels_the_roles_and_the_claims():
  image = jnp.array([[1.0, 0.5, 1.0], [0.0, 0.25, 1.0], [0.0, 0.0, 0.0]])
  game = image_game.make_game(image, 2, 1, 8)  # label 2, lie 1, of 4 classes
  state = image_game.step(image_game.init_state(game, 3), jnp.int32(4))  # pixel (1, 1) revealed
  planes, features = image_selfplay.observe(game, state, jnp.bool_(False), 4)  # the liar to move
  mask = np.zeros((3, 3), np.float32)
  mask[1, 1] = 1
  np.testing.assert_array_equal(planes[..., 0], mask)
  np.testing.assert_array_equal(planes[..., 1], mask * 0.25)
  np.testing.assert_array_equal(planes[..., 2], np.asarray(image) != 0)
  moves_left = np.eye(image_selfplay.MAX_MOVES_FEATURE)[2]
  np.testing.assert_array_equal(features, np.concatenate([[0, 1], moves_left, np.eye(4)[2], np.eye(4)[1]]))
  assert features.shape == (image_selfplay.feature_size(4),)
  # The honest side to move, and no lie (the liar's claim is all zeros).
  _, features = image_selfplay.observe(image_game.make_game(image, 2, -1, 8), state, jnp.bool_(True), 4)
  np.testing.assert_array_equal(features, np.concatenate([[1, 0], moves_left, np.eye(4)[2], np.zeros(4)]))


def test_training_teaches_the_liar_the_winning_pixel(ladder):
  _, policies, lines = ladder
  assert len(lines) == 3 and 'training images: 0..35 of 36' in lines[0] and 'step 40/40' in lines[-1]
  images, labels = _images()

  def chosen(spec):
    """The az pixel with the liar to move: first (liar first), and after each honest first pixel."""

    def one(image, honest_pixel, honest_first):
      game = image_game.make_game(image.astype(jnp.float32) / 255, 0, 1, 16)
      state = image_game.init_state(game, K)
      state = jax.lax.cond(honest_first, lambda: image_game.step(state, honest_pixel), lambda: state)
      return image_selfplay.az_pixel(spec, None, game, state, JUDGE, WEIGHTS, Roles('debate', honest_first))

    firsts = [(i, 0, False) for i in range(len(images))] + [
      (i, p, True) for i in range(len(images)) for p in np.flatnonzero(images[i].reshape(-1)) if p != WINNER
    ]
    index, pixel, first = (jnp.asarray(x) for x in zip(*firsts))
    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(images)[index], pixel, first))

  untrained, trained = chosen(_spec('az:0', policies)), chosen(_spec('az:40', policies))
  assert (untrained == WINNER).mean() < 0.5  # measured: 0 of 32 states
  assert (trained == WINNER).all(), trained


def test_each_device_plays_on_its_own_block_of_images_the_games_of_one_device():
  # 37 distinct images (pixel 1 encodes the index) over 4 devices: blocks of 9, 9, 9 and 10 images, the
  # first three zero-padded. Game b draws from its own stratum of the 37, on any layout.
  images, _ = _images(37, seed=4)
  images.reshape(37, 16)[:, 1] = np.arange(1, 38)
  dataset = idx.ImageDataset(images, np.zeros(37, np.int32), num_classes=C)
  network = image_selfplay.init_params(TINY, (4, 4), jax.random.key(0))
  low, size = image_selfplay.image_strata(37, TINY.batch_size)
  assert list(low[:3]) == [0, 2, 4] and set(size) == {2, 3} and size.sum() == 37

  def games(mesh):
    data = image_selfplay.training_images(dataset, TINY.batch_size, mesh)
    play = jax.jit(
      lambda params, key, images, labels: image_selfplay.selfplay_games(
        params, key, JUDGE, WEIGHTS, images, labels, TINY, 16, 37, mesh
      )
    )
    return data, jax.device_get(play(network, jax.random.key(3), *data))

  (images_one, _), one = games(None)
  assert images_one.shape == (37, 4, 4)
  for mesh in (sharding.make_mesh(jax.devices()[:4]), sharding.make_mesh(jax.devices()[:4], model_parallelism=2)):
    (blocks, _), four = games(mesh)
    assert blocks.shape == (40, 4, 4) and [len(s.data) for s in blocks.addressable_shards] == [10] * 4
    shown = four[0][0, :, :, :, 2].reshape(TINY.batch_size, 16)  # Ply 0's nonzero-pixel mask plane.
    assert (shown[:, 1] == 1).all()  # Never a padded (all-zero) row.
    for ours, theirs in zip(four[:3] + four[4:], one[:3] + one[4:]):  # Planes, features, candidates, ...
      np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(four[3], one[3], atol=1e-6)  # The search weights, to float rounding.
  drawn = one[2]  # The games' candidates: each game's image is one of its stratum's.
  for b in range(TINY.batch_size):
    candidates = {tuple(np.flatnonzero(images[i].reshape(-1))) for i in range(low[b], low[b] + size[b])}
    assert tuple(drawn[b][drawn[b] < 16]) in candidates


def test_params_at_a_step_do_not_depend_on_the_chunking_or_the_device_count(ladder):
  _, built, _ = ladder  # Trained on one device in chunks of 20 steps.
  config = dataclasses.replace(TINY, log_every=40)
  rechunked, history = image_selfplay.train_selfplay(
    JUDGE, WEIGHTS, _dataset(), seed=SEED, rungs=(40,), config=config, log=lambda _: None
  )
  jax.tree.map(np.testing.assert_array_equal, rechunked[40], built[40].params)
  # The same games split over 4 devices (shard_map): the same self-play outcomes and, up to the float
  # rounding of the gradient's all-reduce, the same losses and params.
  sharded, sharded_history = image_selfplay.train_selfplay(
    JUDGE,
    WEIGHTS,
    _dataset(),
    seed=SEED,
    rungs=(40,),
    config=config,
    log=lambda _: None,
    mesh=rollout.data_mesh(jax.devices()[:4]),
  )
  for ours, theirs in zip(sharded_history, history, strict=True):
    assert ours['step'] == theirs['step'] and ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(ours['loss'], theirs['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), sharded[40], rechunked[40])
  # And with the params and Adam moments split FSDP-style over a 'model' axis of 2 (mesh 2 x 2).
  fsdp, fsdp_history = image_selfplay.train_selfplay(
    JUDGE,
    WEIGHTS,
    _dataset(),
    seed=SEED,
    rungs=(40,),
    config=config,
    log=lambda _: None,
    mesh=sharding.training_mesh(rollout.data_mesh(jax.devices()[:4]), config.batch_size, 2),
  )
  assert fsdp_history[0]['liar_win_rate'] == history[0]['liar_win_rate']
  np.testing.assert_allclose(fsdp_history[0]['loss'], history[0]['loss'], rtol=1e-4)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5), fsdp[40], rechunked[40])
  with pytest.raises(ValueError, match='not divisible by the 3 devices'):
    image_selfplay.train_selfplay(
      JUDGE, WEIGHTS, _dataset(), seed=SEED, rungs=(1,), config=config, mesh=rollout.data_mesh(jax.devices()[:3])
    )


def test_the_ladder_round_trips_through_orbax_and_refuses_another_config(ladder):
  workdir, built, _ = ladder
  lines = []
  again = image_selfplay.build_ladder(
    JUDGE,
    WEIGHTS,
    _dataset(),
    judge_name='votes',
    seed=SEED,
    workdir=workdir,
    rungs=(0, 40),
    config=TINY,
    log=lines.append,
  )
  assert lines == [] and set(again) == {0, 40} and again[40] == built[40] and again[0] != again[40]
  for step in (0, 40):
    jax.tree.map(np.testing.assert_array_equal, again[step].params, built[step].params)
  with pytest.raises(ValueError, match='fresh workdir'):
    image_selfplay.build_ladder(
      JUDGE,
      WEIGHTS,
      _dataset(),
      judge_name='votes',
      seed=SEED,
      workdir=workdir,
      rungs=(40,),
      config=dataclasses.replace(TINY, width=8),
    )


def test_az_debaters_play_legal_moves_in_the_image_runner(ladder):
  _, policies, _ = ladder
  images, labels = _images(5, seed=3)
  arm = image_selfplay.attach_networks(image_rollout.parse_image_arm('debate/az:40@4/liar=az:0'), policies)
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
      mesh=rollout.data_mesh(jax.devices()[:1]),
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
    ('debate/az', 'az names its checkpoint step'),
    ('debate/az:x', 'az names its checkpoint step'),
    ('debate/az:-1', 'az names its checkpoint step'),
    ('debate/az:5@', 'simulations'),
    ('debate/az:5@0', 'simulations'),
    ('debate/greedy/liar=az:5@two', 'az:1000@16'),
    ('debate/alphazero:5', 'unknown image agent'),
    ('consultancy/az:5', 'not consultancy'),
    ('debate/az:5/no_precommit', 'drop /no_precommit'),
    ('debate/greedy/liar=az:5/no_precommit', 'drop /no_precommit'),
  ):
    with pytest.raises(ValueError, match=message):
      image_rollout.parse_image_arm(spec)
  game = image_game.make_game(jnp.ones((2, 2)), 0, 1, 4)
  unattached = image_rollout.parse_image_arm('debate/az:5').honest
  with pytest.raises(ValueError, match='needs its params'):
    image_selfplay.az_pixel(unattached, None, game, image_game.init_state(game, 2), JUDGE, WEIGHTS[:4], Roles('debate'))
  _, policies, _ = ladder
  with pytest.raises(ValueError, match='precommit debate only'):
    image_selfplay.az_pixel(
      _spec('az:0', policies), None, game, image_game.init_state(game, 2), JUDGE, WEIGHTS[:4], Roles('consultancy')
    )


def test_the_config_variant_plans_and_the_runner_attaches_saved_rungs(ladder, tmp_path):
  config = irving_mnist.get_config('selfplay_k6_cpu')
  cells = image_experiment.plan_cells(config)
  assert {spec.budget for c in cells for spec in image_selfplay.az_specs(c.arm)} == set(irving_mnist.SELFPLAY_RUNGS)
  assert image_experiment.selfplay_config(config).k == 6
  for field, value, named in (('width2', 3, 'selfplay_training'), ('k', 4, 'selfplay_training.k')):
    bad = irving_mnist.get_config('selfplay_k6_cpu')
    bad.selfplay_training[field] = value
    with pytest.raises(ConfigError, match=named):
      image_experiment.plan_cells(bad)
  # The runner finds the rungs of the ladder trained above where it keeps them and attaches both roles.
  workdir, policies, _ = ladder
  images, labels = _images()
  for prefix, data in (('train', images), ('t10k', images)):
    idx.write_idx(tmp_path / f'{prefix}-images-idx3-ubyte', data)
    idx.write_idx(tmp_path / f'{prefix}-labels-idx1-ubyte', labels.astype(np.uint8))
  shutil.copytree(
    image_selfplay.agent_dir(workdir, 'votes', SEED), image_selfplay.agent_dir(str(tmp_path), 'votes_k2_step7', 0)
  )
  config.k, config.num_classes, config.game.seed = K, C, 0
  config.selfplay_training = {
    f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY) if f.name not in ('k', 'num_classes')
  }
  config.game.protocols = ('debate/az:40/liar=greedy', 'debate/greedy/liar=az:0@4', 'debate/greedy')
  lines = []
  attached = image_experiment.attach_selfplay_networks(
    image_experiment.plan_cells(config),
    config,
    judge=JUDGE,
    judge_params=WEIGHTS,
    judge_info={'model': 'votes', 'k': K, 'step': 7},
    data_dir=str(tmp_path),
    workdir=str(tmp_path),
    log=lines.append,
  )
  assert lines == []  # loaded, not trained
  assert attached[0].arm.honest.policy == policies[40] and attached[2].arm.liar.policy == policies[0]
  assert attached[-1].arm == image_rollout.parse_image_arm('debate/greedy')
