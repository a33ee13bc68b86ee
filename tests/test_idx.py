"""IDX files: round trips, every corruption case with a clear IdxError, and multi-process shards."""

import gzip
import os
import struct

import numpy as np
import pytest

from debate.tasks import idx

N, H, W = 12, 5, 4


def _images_and_labels(n=N, num_classes=10):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (n, H, W), dtype=np.uint8)
  labels = (np.arange(n) % num_classes).astype(np.uint8)
  return images, labels


def _write_split(folder, split='train', n=N, gz=True, images=None, labels=None):
  os.makedirs(folder, exist_ok=True)
  default_images, default_labels = _images_and_labels(n)
  images = default_images if images is None else images
  labels = default_labels if labels is None else labels
  prefix = idx.SPLIT_PREFIXES[split]
  suffix = '.gz' if gz else ''
  idx.write_idx(os.path.join(folder, f'{prefix}-images-idx3-ubyte{suffix}'), images)
  idx.write_idx(os.path.join(folder, f'{prefix}-labels-idx1-ubyte{suffix}'), labels)
  return images, labels


@pytest.mark.parametrize('name', ['a-idx3-ubyte', 'a-idx3-ubyte.gz'])
def test_round_trip_raw_and_gzip(tmp_path, name):
  images, _ = _images_and_labels()
  path = tmp_path / name
  idx.write_idx(path, images)
  with open(path, 'rb') as f:
    assert f.read(2) == (b'\x1f\x8b' if name.endswith('.gz') else b'\x00\x00')
  back = idx.read_idx(path)
  assert back.dtype == np.uint8 and back.shape == (N, H, W)
  np.testing.assert_array_equal(back, images)
  back[0, 0, 0] = 1  # The result is a writable copy.


def test_raw_file_layout_is_the_standard_one(tmp_path):
  path = tmp_path / 'labels-idx1-ubyte'
  idx.write_idx(path, np.array([7, 2, 1], np.uint8))
  assert path.read_bytes() == b'\x00\x00\x08\x01' + struct.pack('>I', 3) + bytes([7, 2, 1])


@pytest.mark.parametrize('dtype', [np.float32, np.int16, np.int8, np.int32, np.float64])
def test_other_dtypes_round_trip(tmp_path, dtype):
  array = (np.arange(24).reshape(2, 3, 4) - 11.5 * (np.dtype(dtype).kind == 'f')).astype(dtype)
  array.flat[0] = -300 if dtype in (np.int16, np.int32) else array.flat[0]  # A multi-byte, negative value.
  for name in ('x.idx', 'x.idx.gz'):
    idx.write_idx(tmp_path / name, array)
    back = idx.read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_write_refuses_unsupported_dtypes(tmp_path):
  with pytest.raises(ValueError, match='uint16'):
    idx.write_idx(tmp_path / 'x.idx', np.zeros(3, np.uint16))


def _raw(path):
  return open(path, 'rb').read()


def _expect_error(path, *fragments):
  with pytest.raises(idx.IdxError) as info:
    idx.read_idx(path)
  message = str(info.value)
  assert str(path) in message
  for fragment in fragments:
    assert fragment in message, message
  return message


def test_missing_file(tmp_path):
  _expect_error(tmp_path / 'nope-idx3-ubyte', 'does not exist')


@pytest.mark.parametrize('gz', [False, True])
def test_truncated_and_too_long_data(tmp_path, gz):
  images, _ = _images_and_labels()
  good = tmp_path / 'good.idx'
  idx.write_idx(good, images)
  data = _raw(good)
  for name, payload, fragments in [
    ('short', data[:-5], ['truncated', f'expected {N * H * W} bytes', f'found {N * H * W - 5}']),
    ('header', data[:10], ['truncated', 'header']),
    ('tiny', data[:3], ['truncated']),
    ('long', data + b'\x00' * 3, ['too long', '3 extra']),
  ]:
    path = tmp_path / (name + ('.gz' if gz else ''))
    path.write_bytes(gzip.compress(payload) if gz else payload)
    _expect_error(path, *fragments)


def test_corrupt_gzip_stream(tmp_path):
  path = tmp_path / 'x.gz'
  idx.write_idx(path, np.zeros((4, 2, 2), np.uint8))
  path.write_bytes(_raw(path)[:-6])
  _expect_error(path, 'gzip')


def test_wrong_magic(tmp_path):
  path = tmp_path / 'x.idx'
  idx.write_idx(path, np.zeros((4, 2, 2), np.uint8))
  path.write_bytes(b'\x01' + _raw(path)[1:])
  _expect_error(path, 'magic', '01 00 08 03')


def test_unknown_dtype_code(tmp_path):
  path = tmp_path / 'x.idx'
  idx.write_idx(path, np.zeros((4, 2, 2), np.uint8))
  data = _raw(path)
  path.write_bytes(data[:2] + b'\x0a' + data[3:])
  _expect_error(path, 'unknown dtype code 0x0A', '0x08 (uint8)')


# ------------------------------------------------------------------------------------------------------------
# Data sets.


@pytest.mark.parametrize('gz', [False, True])
def test_load_image_dataset(tmp_path, gz):
  images, labels = _write_split(tmp_path, 'test', gz=gz)
  data = idx.load_image_dataset(tmp_path, split='test')
  assert data.images.dtype == np.uint8 and data.images.shape == (N, H, W)
  assert data.labels.dtype == np.int32 and data.num_classes == 10
  assert (len(data), data.start, data.total, data.image_shape) == (N, 0, N, (H, W))
  np.testing.assert_array_equal(data.images, images)
  np.testing.assert_array_equal(data.labels, labels)


def test_gz_is_preferred_when_both_exist(tmp_path):
  _write_split(tmp_path, gz=False)
  images, _ = _write_split(tmp_path, gz=True, images=np.full((N, H, W), 9, np.uint8))
  np.testing.assert_array_equal(idx.load_image_dataset(tmp_path, split='train').images, images)


def _expect_load_error(data_dir, *fragments, split='train', **kwargs):
  with pytest.raises(idx.IdxError) as info:
    idx.load_image_dataset(data_dir, split=split, **kwargs)
  message = str(info.value)
  for fragment in fragments:
    assert fragment in message, message
  return message


def test_missing_folder(tmp_path):
  _expect_load_error(tmp_path / 'mnist', str(tmp_path / 'mnist'), 'does not exist')


def test_missing_file_lists_what_was_sought_and_what_is_there(tmp_path):
  _write_split(tmp_path, 'train')
  message = _expect_load_error(
    tmp_path,
    str(tmp_path),
    't10k-images-idx3-ubyte.gz or t10k-images-idx3-ubyte',
    'train-images-idx3-ubyte.gz',
    split='test',
  )
  os.remove(tmp_path / 'train-labels-idx1-ubyte.gz')
  _expect_load_error(tmp_path, 'train-labels-idx1-ubyte.gz or train-labels-idx1-ubyte')
  assert 'no test file' in message


def test_corrupt_file_inside_a_folder_names_that_file(tmp_path):
  _write_split(tmp_path)
  path = tmp_path / 'train-images-idx3-ubyte.gz'
  path.write_bytes(gzip.compress(gzip.decompress(_raw(path))[:-1]))
  _expect_load_error(tmp_path, str(path), 'truncated')


def test_count_mismatch(tmp_path):
  images, labels = _images_and_labels()
  _write_split(tmp_path, images=images, labels=labels[:-1])
  _expect_load_error(
    tmp_path, f'{N} images', f'{N - 1} labels', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'
  )


def test_labels_out_of_range(tmp_path):
  images, labels = _images_and_labels()
  labels = labels.copy()
  labels[5] = 10
  _write_split(tmp_path, images=images, labels=labels)
  _expect_load_error(tmp_path, 'train-labels-idx1-ubyte.gz', 'outside [0, 10)', 'at index 5')
  assert len(idx.load_image_dataset(tmp_path, split='train', num_classes=11)) == N


def test_images_not_3d_and_labels_not_1d(tmp_path):
  images, labels = _images_and_labels()
  _write_split(tmp_path, images=images.reshape(N, H * W), labels=labels)
  _expect_load_error(tmp_path, 'train-images-idx3-ubyte.gz', '2-d', '[N, H, W]')
  _write_split(tmp_path, images=images, labels=labels.reshape(N // 2, 2))
  _expect_load_error(tmp_path, 'train-labels-idx1-ubyte.gz', '2-d', '[N]')


def test_bad_split_and_process_arguments(tmp_path):
  _write_split(tmp_path)
  with pytest.raises(ValueError, match='unknown split'):
    idx.load_image_dataset(tmp_path, split='validation')
  with pytest.raises(ValueError, match='process_index'):
    idx.load_image_dataset(tmp_path, split='train', process_index=2, process_count=2)


@pytest.mark.parametrize('n, processes', [(12, 2), (13, 2), (12, 3), (14, 3), (2, 3)])
def test_process_shards_partition_the_data(tmp_path, n, processes):
  images, labels = _write_split(tmp_path, n=n)
  shards = [
    idx.load_image_dataset(tmp_path, split='train', process_index=p, process_count=processes) for p in range(processes)
  ]
  assert [shard.start for shard in shards] == list(np.cumsum([0] + [len(s) for s in shards[:-1]]))
  assert max(len(s) for s in shards) - min(len(s) for s in shards) <= 1
  assert all(shard.total == n for shard in shards)
  np.testing.assert_array_equal(np.concatenate([s.images for s in shards]), images)
  np.testing.assert_array_equal(np.concatenate([s.labels for s in shards]), labels)
