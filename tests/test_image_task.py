"""The `images` task helpers (judge planes, random nonzero masks) and the image judge models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.tasks import images
from judges import image_judges as ij

IMAGE = np.array([[0.0, 0.5, 0.0], [1.0, 0.0, 0.25], [0.0, 0.75, 0.0]], np.float32)


def test_judge_planes_are_mask_and_revealed_values():
  mask = np.array([[True, True, False], [False, False, True], [False, False, False]])
  planes = np.asarray(images.judge_planes(IMAGE, mask))
  assert planes.shape == (3, 3, 2) and planes.dtype == np.float32
  np.testing.assert_array_equal(planes[..., 0], [[1, 1, 0], [0, 0, 1], [0, 0, 0]])
  # A revealed zero pixel reads (1, 0); an unrevealed bright pixel reads (0, 0).
  np.testing.assert_array_equal(planes[..., 1], [[0, 0.5, 0], [0, 0, 0.25], [0, 0, 0]])


def test_judge_planes_batch_with_vmap():
  batch = np.stack([IMAGE, 1 - IMAGE])
  masks = np.stack([IMAGE > 0, IMAGE == 0])
  planes = jax.jit(jax.vmap(images.judge_planes))(batch, masks)
  assert planes.shape == (2, 3, 3, 2)
  for b in range(2):
    np.testing.assert_array_equal(planes[b], images.judge_planes(batch[b], masks[b]))


def test_nonzero_pixel_mask_is_flat_valid_actions():
  np.testing.assert_array_equal(
    images.nonzero_pixel_mask(IMAGE), [False, True, False, True, False, True, False, True, False]
  )


def test_to_unit_interval():
  np.testing.assert_allclose(images.to_unit_interval(np.array([[0, 51, 255]], np.uint8)), [[0, 0.2, 1]])


def _random_image(seed, h=8, w=7, nonzero=20):
  rng = np.random.default_rng(seed)
  image = np.zeros(h * w, np.float32)
  image[rng.choice(h * w, nonzero, replace=False)] = rng.uniform(0.01, 1.0, nonzero)
  return image.reshape(h, w)


def test_random_nonzero_mask_reveals_exactly_k_nonzero_pixels():
  image = _random_image(0)
  k = 5
  keys = jax.random.split(jax.random.key(0), 2000)
  masks = np.asarray(
    jax.jit(jax.vmap(images.random_nonzero_mask, in_axes=(0, None, None)), static_argnums=2)(keys, image, k)
  )
  assert masks.shape == (2000, 8, 7) and masks.dtype == bool
  np.testing.assert_array_equal(masks.sum(axis=(1, 2)), k)
  assert not masks[:, image == 0].any()
  # Uniform over the 20 nonzero pixels: each is revealed with probability k / 20 = 0.25 (sd 0.0097 here).
  frequency = masks[:, image != 0].mean(axis=0)
  assert np.all(np.abs(frequency - 0.25) < 0.05), frequency
  # Different keys give different masks (2000 uniform draws of C(20, 5) = 15504 subsets: 1877 distinct
  # expected, sd about 11), the same key the same mask.
  assert len({m.tobytes() for m in masks}) > 1820
  np.testing.assert_array_equal(images.random_nonzero_mask(keys[3], image, k), masks[3])


def test_random_nonzero_mask_vmaps_over_images():
  batch = np.stack([_random_image(s) for s in range(4)])
  keys = jax.random.split(jax.random.key(1), 4)
  masks = np.asarray(jax.vmap(lambda key, image: images.random_nonzero_mask(key, image, 6))(keys, batch))
  np.testing.assert_array_equal(masks.sum(axis=(1, 2)), 6)
  assert not masks[batch == 0].any()


def test_random_nonzero_mask_with_fewer_than_k_nonzero_pixels_reveals_them_all():
  for seed in range(20):
    mask = np.asarray(images.random_nonzero_mask(jax.random.key(seed), IMAGE, 6))
    np.testing.assert_array_equal(mask, IMAGE != 0)  # 4 nonzero pixels < k = 6: all 4, nothing else.
  assert not images.random_nonzero_mask(jax.random.key(0), np.zeros((3, 3)), 2).any()
  assert not images.random_nonzero_mask(jax.random.key(0), IMAGE, 0).any()


def test_random_nonzero_mask_refuses_impossible_k():
  with pytest.raises(ValueError, match='k'):
    images.random_nonzero_mask(jax.random.key(0), IMAGE, 10)
  with pytest.raises(ValueError, match='k'):
    images.random_nonzero_mask(jax.random.key(0), IMAGE, -1)


# ------------------------------------------------------------------------------------------------------------
# Judge models.


def _planes(batch=3, seed=0):
  key_image, key_mask = jax.random.split(jax.random.key(seed))
  ink = jax.random.uniform(key_mask, (batch, 28, 28)) > 0.7
  image = jax.random.uniform(key_image, (batch, 28, 28)) * ink
  keys = jax.random.split(jax.random.key(seed + 1), batch)
  masks = jax.vmap(lambda key, im: images.random_nonzero_mask(key, im, 6))(keys, image)
  return jax.vmap(images.judge_planes)(image, masks)


@pytest.mark.parametrize('name', sorted(ij.JUDGE_MODELS))
def test_judges_map_planes_to_logits(name):
  model = ij.make_judge(name)
  params = ij.init_judge(model, jax.random.key(0))
  logits = jax.jit(model.apply)(params, _planes(3))
  assert logits.shape == (3, 10) and logits.dtype == jnp.float32
  assert np.all(np.isfinite(logits))
  four = ij.make_judge(name, num_classes=4)
  shapes = jax.eval_shape(lambda: four.apply(ij.init_judge(four, jax.random.key(0)), _planes(2)))
  assert shapes.shape == (2, 4)


def test_parameter_counts():
  conv1 = 5 * 5 * 2 * 32 + 32
  conv2 = 5 * 5 * 32 * 64 + 64
  dense = 7 * 7 * 64 * 1024 + 1024
  out = 1024 * 10 + 10

  def count(name):
    return ij.count_params(jax.eval_shape(lambda: ij.init_judge(ij.make_judge(name), jax.random.key(0))))

  counts = {name: count(name) for name in ij.JUDGE_MODELS}
  assert counts['irving_cnn'] == conv1 + conv2 + dense + out == 3_275_434
  assert counts['small_cnn'] == (5 * 5 * 2 * 8 + 8) + (14 * 14 * 8 * 64 + 64) + (64 * 10 + 10)
  assert counts['mlp'] == (28 * 28 * 2 * 128 + 128) + (128 * 10 + 10)


def test_dropout_only_in_train_mode():
  model = ij.make_judge('irving_cnn')
  params = ij.init_judge(model, jax.random.key(0))
  planes = _planes(2)
  apply = jax.jit(model.apply, static_argnames='train')
  evaluation = apply(params, planes)
  np.testing.assert_array_equal(evaluation, apply(params, planes, train=False))
  first = apply(params, planes, train=True, rngs={'dropout': jax.random.key(1)})
  second = apply(params, planes, train=True, rngs={'dropout': jax.random.key(2)})
  assert not np.allclose(first, evaluation) and not np.allclose(first, second)
  np.testing.assert_array_equal(first, apply(params, planes, train=True, rngs={'dropout': jax.random.key(1)}))
  with pytest.raises(Exception, match='dropout'):
    model.apply(params, planes, train=True)  # Training mode needs a 'dropout' rng.


def test_make_judge_rejects_unknown_names():
  with pytest.raises(ValueError, match='irving_cnn, small_cnn, mlp'):
    ij.make_judge('resnet')


def test_judges_refuse_wrong_input_shapes():
  model = ij.make_judge('mlp')
  with pytest.raises(ValueError, match=r'\[B, H, W, 2\]'):
    model.init(jax.random.key(0), jnp.zeros((1, 28, 28)))


def test_loss_and_accuracy():
  logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
  labels = jnp.array([0, 1, 2])
  expected = -np.mean(np.log(np.asarray(jax.nn.softmax(logits))[np.arange(3), labels]))
  np.testing.assert_allclose(ij.cross_entropy_loss(logits, labels), expected, rtol=1e-6)
  # Ties take the first class (argmax), so only the first row is right.
  np.testing.assert_allclose(ij.accuracy(logits, labels), 1 / 3)
  grad = jax.grad(ij.cross_entropy_loss)(logits, labels)
  assert grad.shape == logits.shape
