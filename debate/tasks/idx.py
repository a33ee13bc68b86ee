"""IDX files (the MNIST family's format): read, validate, write, and load an image data set.

An IDX file is a 4-byte magic number `0x00 0x00 <dtype code> <ndim>`, then `ndim` big-endian uint32 sizes,
then the data, big-endian, in C order. Files may be gzip-compressed (recognised by their first two bytes,
whatever their name). Pure numpy + gzip/struct: no JAX, so data loading never touches a device.

Every problem with a file or folder raises `IdxError` (a `ValueError`) whose message names the file, the
problem and what to do about it.

Multi-host loading (`load_image_dataset(..., process_index=p, process_count=P)`): the N examples of a split
are cut into P contiguous shards, shard p being examples `[floor(N * p / P), floor(N * (p + 1) / P))`.
The shards cover every example exactly once, in order, and their sizes differ by at most one. Every process
reads and validates the whole file (so all processes fail alike on a corrupt file) and keeps its shard;
`ImageDataset.start` is the global index of its first example, for keys derived from global indices.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
import pathlib
import struct
import zlib

import numpy as np

from debate.experiments import runfiles

# IDX dtype code -> big-endian numpy dtype.
IDX_DTYPES = {
  0x08: np.dtype('>u1'),
  0x09: np.dtype('>i1'),
  0x0B: np.dtype('>i2'),
  0x0C: np.dtype('>i4'),
  0x0D: np.dtype('>f4'),
  0x0E: np.dtype('>f8'),
}
_CODES = {dtype.newbyteorder('='): code for code, dtype in IDX_DTYPES.items()}

# split -> file-name prefix of the standard MNIST-family file names.
SPLIT_PREFIXES = {'train': 'train', 'test': 't10k'}


class IdxError(ValueError):
  """A missing, corrupt or inconsistent IDX file or data folder."""


def _check(ok: bool, message: str, error: type[ValueError] = IdxError) -> None:
  if not ok:
    raise error(message)


def _code_names() -> str:
  return ', '.join(f'0x{code:02X} ({dtype.newbyteorder("=").name})' for code, dtype in IDX_DTYPES.items())


def _read_bytes(path: str) -> bytes:
  _check(os.path.exists(path), f'IDX file {path!r} does not exist; check the path or the data folder flag')
  _check(not os.path.isdir(path), f'IDX file {path!r} is a directory, not a file; pass the path of the file itself')
  with open(path, 'rb') as f:
    raw = f.read()
  if not raw.startswith(b'\x1f\x8b'):  # The gzip magic number.
    return raw
  try:
    return gzip.decompress(raw)
  except (OSError, EOFError, zlib.error) as e:
    raise IdxError(
      f'IDX file {path!r} is a corrupt or truncated gzip file ({e}); re-download it, or '
      'decompress a good copy with gunzip'
    ) from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads an IDX file (raw or gzip-compressed) into an array of its shape, in native byte order.

  Dtypes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
  Raises `IdxError` for a missing file, a corrupt gzip stream, a short header, non-zero magic bytes, an
  unknown dtype code, or data longer or shorter than the product of the dims.
  """
  path = os.fspath(path)
  data = _read_bytes(path)
  _check(
    len(data) >= 4,
    f'IDX file {path!r} is truncated: it has {len(data)} bytes, fewer than the 4-byte magic number; re-download it',
  )
  zero0, zero1, code, ndim = data[:4]
  _check(
    not (zero0 or zero1),
    f'IDX file {path!r} has a bad magic number {data[:4].hex(" ")}: the first two bytes '
    'must be 00 00; it is not an IDX file (or is compressed other than with gzip)',
  )
  _check(
    code in IDX_DTYPES,
    f'IDX file {path!r} has unknown dtype code 0x{code:02X} in its magic number; known '
    f'codes: {_code_names()}; the file is corrupt or not an IDX file',
  )
  _check(ndim > 0, f'IDX file {path!r} declares 0 dimensions; an IDX data file has at least one; the file is corrupt')
  header = 4 + 4 * ndim
  _check(
    len(data) >= header,
    f'IDX file {path!r} is truncated: its header needs {header} bytes for {ndim} '
    f'dimensions, found {len(data)}; re-download it',
  )
  dims = struct.unpack(f'>{ndim}I', data[4:header])
  dtype = IDX_DTYPES[code]
  expected, found = math.prod(dims) * dtype.itemsize, len(data) - header
  what = f'{"x".join(map(str, dims))} {dtype.newbyteorder("=").name}'
  _check(
    found >= expected,
    f'IDX file {path!r} is truncated: expected {expected} bytes of data ({what}), found '
    f'{found}; re-download or re-extract it',
  )
  _check(
    found <= expected,
    f'IDX file {path!r} is too long: expected {expected} bytes of data ({what}), found '
    f'{found} ({found - expected} extra); the file is corrupt or its header is wrong; '
    're-download it',
  )
  array = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
  return array.astype(dtype.newbyteorder('='))  # A writable, native-order copy.


def write_idx(path: str | os.PathLike, array) -> None:
  """Writes `array` as an IDX file, gzip-compressed if `path` ends in `.gz` (atomically: via a temp file).

  The dtype must be one of uint8, int8, int16, int32, float32, float64; the array needs >= 1 dimension and
  every size must fit in a uint32.
  """
  path = os.fspath(path)
  array = np.asarray(array)
  dtype = array.dtype.newbyteorder('=')
  for ok, message in (
    (
      dtype in _CODES,
      f'cannot write dtype {array.dtype} to IDX file {path!r}; supported: {_code_names()}; '
      'convert the array first (e.g. array.astype(np.uint8))',
    ),
    (0 < array.ndim <= 255, f'cannot write a {array.ndim}-d array to IDX file {path!r}; IDX holds 1 to 255 dims'),
    (
      all(size < 2**32 for size in array.shape),
      f'cannot write shape {array.shape} to IDX file {path!r}: sizes must fit in uint32',
    ),
  ):
    _check(ok, message, ValueError)
  code = _CODES[dtype]
  payload = (
    bytes([0, 0, code, array.ndim])
    + struct.pack(f'>{array.ndim}I', *array.shape)
    + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
  )
  if path.endswith('.gz'):
    payload = gzip.compress(payload, mtime=0)

  runfiles.atomic_write(path, lambda tmp: pathlib.Path(tmp).write_bytes(payload))


# ------------------------------------------------------------------------------------------------------------
# Image data sets: MNIST, Fashion-MNIST, KMNIST, ... (any folder holding the four standard IDX files).


@dataclasses.dataclass(frozen=True, eq=False)
class ImageDataset:
  """One split of an IDX image data set, or this process's shard of it.

  Attributes:
    images: [N, H, W] uint8, pixel values 0..255.
    labels: [N] int32 in [0, num_classes).
    num_classes: the number of classes (answers).
    start: the global index of `images[0]` in the whole split (0 unless sharded).
    total: the number of examples in the whole split (N unless sharded).
  """

  images: np.ndarray
  labels: np.ndarray
  num_classes: int
  start: int = 0
  total: int = -1

  def __post_init__(self):
    if self.total < 0:
      object.__setattr__(self, 'total', len(self.labels))

  def __len__(self) -> int:
    return len(self.labels)

  @property
  def image_shape(self) -> tuple[int, int]:
    return tuple(self.images.shape[1:])


def partition_bounds(num_examples: int, parts: int) -> np.ndarray:
  """[parts + 1] int64: part i of `parts` contiguous parts of `num_examples` is [bounds[i], bounds[i + 1]),
  bounds[i] = floor(N * i / parts). The parts cover [0, N) in order and their sizes differ by at most one
  (some are empty when N < parts). The one rule for shards of a split (processes, devices) and for the
  strata of a batch's rows (judges/batches.py, debate/games/images.py)."""
  return num_examples * np.arange(parts + 1, dtype=np.int64) // parts


def shard_bounds(num_examples: int, process_index: int, process_count: int) -> tuple[int, int]:
  """[start, stop) of shard `process_index` of `process_count` contiguous shards of `num_examples`
  (`partition_bounds`)."""
  _check(process_count >= 1, f'process_count must be >= 1, got {process_count}', ValueError)
  _check(
    0 <= process_index < process_count,
    f'process_index must be in [0, {process_count}), got {process_index}',
    ValueError,
  )
  bounds = partition_bounds(num_examples, process_count)
  return int(bounds[process_index]), int(bounds[process_index + 1])


def _listing(data_dir: str, limit: int = 20) -> str:
  names = sorted(os.listdir(data_dir))
  if not names:
    return 'the folder is empty'
  shown = ', '.join(names[:limit]) + (f', ... ({len(names) - limit} more)' if len(names) > limit else '')
  return f'the folder holds: {shown}'


def find_split_files(data_dir: str | os.PathLike, split: str) -> tuple[str, str]:
  """Paths of the (images, labels) IDX files of `split` in `data_dir`, preferring `.gz` when both exist."""
  data_dir = os.fspath(data_dir)
  _check(split in SPLIT_PREFIXES, f'unknown split {split!r}; expected one of {sorted(SPLIT_PREFIXES)}', ValueError)
  _check(
    os.path.exists(data_dir),
    f'data folder {data_dir!r} does not exist; pass the folder that holds the IDX files '
    '(e.g. train-images-idx3-ubyte.gz), such as ../shared/data/mnist',
  )
  _check(
    os.path.isdir(data_dir),
    f'data folder {data_dir!r} is a file, not a folder; pass the folder that holds the IDX files',
  )
  paths = []
  for base in (f'{SPLIT_PREFIXES[split]}-images-idx3-ubyte', f'{SPLIT_PREFIXES[split]}-labels-idx1-ubyte'):
    candidates = [base + '.gz', base]
    found = [name for name in candidates if os.path.isfile(os.path.join(data_dir, name))]
    if not found:
      raise IdxError(
        f'data folder {data_dir!r} has no {split} file {base}: looked for '
        f'{" or ".join(candidates)}; {_listing(data_dir)}; point the data folder at a '
        'folder with the standard MNIST-family IDX file names'
      )
    paths.append(os.path.join(data_dir, found[0]))
  return paths[0], paths[1]


def load_image_dataset(
  data_dir: str | os.PathLike, *, split: str, num_classes: int = 10, process_index: int = 0, process_count: int = 1
) -> ImageDataset:
  """Loads split 'train' or 'test' (files named t10k-*) of the IDX image data set in `data_dir`.

  Looks for `{train,t10k}-images-idx3-ubyte[.gz]` and `{train,t10k}-labels-idx1-ubyte[.gz]` (the `.gz`
  file wins when both exist). Checks that images are 3-D uint8 [N, H, W], labels 1-D integers [N] with
  the same N, and every label in [0, num_classes). With `process_count > 1` returns only shard
  `process_index` (see `shard_bounds`): examples [floor(N p / P), floor(N (p + 1) / P)).
  """
  shard_bounds(0, process_index, process_count)  # Checks the process arguments before any reading.
  _check(num_classes >= 1, f'num_classes must be >= 1, got {num_classes}', ValueError)
  images_path, labels_path = find_split_files(data_dir, split)
  images, labels = read_idx(images_path), read_idx(labels_path)
  for ok, message in (
    (
      images.ndim == 3,
      f'image file {images_path!r} holds a {images.ndim}-d array of shape {images.shape}; '
      'expected 3-d [N, H, W] images; is it a labels file, or from another data set?',
    ),
    (images.dtype == np.uint8, f'image file {images_path!r} holds {images.dtype} values; expected uint8 pixels 0..255'),
    (
      labels.ndim == 1,
      f'label file {labels_path!r} holds a {labels.ndim}-d array of shape {labels.shape}; '
      'expected 1-d [N] labels; is it an images file?',
    ),
    (labels.dtype.kind in 'iu', f'label file {labels_path!r} holds {labels.dtype} values; expected integer labels'),
    (
      len(images) == len(labels),
      f'image file {images_path!r} has {len(images)} images but label file {labels_path!r} '
      f'has {len(labels)} labels; the two files must come from the same split and data set',
    ),
  ):
    _check(ok, message)
  bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
  if len(bad):
    raise IdxError(
      f'label file {labels_path!r} has labels outside [0, {num_classes}) (min {int(labels.min())}, max '
      f'{int(labels.max())}; first bad label {int(labels[bad[0]])} at index {int(bad[0])}); the file is corrupt, or '
      'pass the right num_classes'
    )
  start, stop = shard_bounds(len(labels), process_index, process_count)
  return ImageDataset(
    images=np.ascontiguousarray(images[start:stop]),
    labels=labels[start:stop].astype(np.int32),
    num_classes=num_classes,
    start=start,
    total=len(labels),
  )
