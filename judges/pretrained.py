"""Image judges shipped with the project: trained judges as compact files, loaded by name.

  python -m launch.export_judge --judge_workdir=J --name=irving_k6 --data_dir=../shared/data/mnist
  python -m launch.run --config=launch/configs/irving_mnist.py:k6 --data_dir=../shared/data/mnist \
      --judge_workdir=pretrained:irving_k6

A shipped judge NAME is, in `judges/pretrained/` (or another `directory`):
- NAME.npz: the params as float16, one array per parameter path ('Conv_0/kernel', ...);
- NAME.json: the model, classes, k, image shape, training config and step, the sha256 of NAME.npz, and the
  random-pixel accuracy of the float16 params (cast back to float32, as they are used) on the whole test
  split and on the sample below, with `judges.train.evaluate`'s masks (seed `eval_seed`);
- NAME_sample/: the first test images and labels as IDX files, on which a test re-measures the accuracy.

Loading checks the hash and every array's shape and dtype against the model's and fails with a message
naming the file and the problem (`PretrainedError`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib

import jax
import numpy as np
from flax import traverse_util

from debate.experiments import runfiles
from debate.tasks import idx
from judges import image_judges

PREFIX = 'pretrained:'
DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pretrained')


class PretrainedError(ValueError):
  """A shipped judge that is missing, altered or does not fit its model."""


def _paths(directory: str, name: str) -> tuple[str, str, str]:
  return tuple(os.path.join(directory, name + suffix) for suffix in ('.npz', '.json', '_sample'))


def export(
  judge_workdir: str, name: str, *, data_dir: str, directory: str = DIRECTORY, sample_images: int = 200
) -> dict:
  """Writes the latest checkpoint of `judge_workdir` (launch.train_judge) as shipped judge `name`, measures
  its random-pixel accuracy as float16 on the test split of `data_dir` and on its sample; returns the info."""
  from judges import train  # Orbax: only needed to read a training workdir.

  with open(os.path.join(judge_workdir, train.CONFIG)) as f:
    config = json.load(f)
  params, step = train.restore_params(judge_workdir)
  flat = {'/'.join(path): np.asarray(leaf, np.float16) for path, leaf in traverse_util.flatten_dict(params).items()}
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **flat)
  test = idx.load_image_dataset(data_dir, split='test', num_classes=config['num_classes'])
  sample = idx.ImageDataset(test.images[:sample_images], test.labels[:sample_images], test.num_classes)
  model = image_judges.make_judge(config['judge'], config['num_classes'])
  used = _unflatten(flat)  # What loading gives back: float16 values as float32.

  def accuracy(dataset):
    measured = train.evaluate(model, used, dataset, k=config['k'], seed=config['seed'], batch_size=1000)
    return {key: measured[key] for key in ('correct', 'games', 'accuracy', 'ci95')}

  info = {
    'name': name,
    'model': config['judge'],
    'num_classes': config['num_classes'],
    'k': config['k'],
    'image_shape': list(test.images.shape[1:]),
    'step': int(step),
    'training_config': config,
    'eval_seed': config['seed'],
    'sha256': hashlib.sha256(buffer.getvalue()).hexdigest(),
    'parameters': int(sum(a.size for a in flat.values())),
    'random_pixel_test': accuracy(test),
    'random_pixel_sample': accuracy(sample),
  }
  weights, info_path, sample_dir = _paths(directory, name)
  os.makedirs(sample_dir, exist_ok=True)
  runfiles.atomic_write(weights, lambda tmp: pathlib.Path(tmp).write_bytes(buffer.getvalue()))
  runfiles.write_json(info_path, info)
  idx.write_idx(os.path.join(sample_dir, 't10k-images-idx3-ubyte.gz'), sample.images)
  idx.write_idx(os.path.join(sample_dir, 't10k-labels-idx1-ubyte.gz'), sample.labels.astype(np.uint8))
  return info


def _unflatten(flat: dict[str, np.ndarray]) -> dict:
  return traverse_util.unflatten_dict({tuple(k.split('/')): np.asarray(v, np.float32) for k, v in flat.items()})


def names(directory: str | None = None) -> list[str]:
  """The shipped judges' names."""
  directory = directory or DIRECTORY
  return (
    sorted(f[: -len('.json')] for f in os.listdir(directory) if f.endswith('.json')) if os.path.isdir(directory) else []
  )


def load(name: str, directory: str | None = None) -> tuple[image_judges.ImageJudge, dict, dict]:
  """(judge, params (float32), info) of shipped judge `name`; PretrainedError if it is missing, its weights
  do not match their recorded hash, or an array does not fit the model. `directory`: default DIRECTORY."""
  directory = directory or DIRECTORY
  weights, info_path, _ = _paths(directory, name)
  if not os.path.isfile(info_path) or not os.path.isfile(weights):
    raise PretrainedError(f'no shipped judge {name!r} in {directory}; shipped: {", ".join(names(directory)) or "none"}')
  with open(info_path) as f:
    info = json.load(f)
  with open(weights, 'rb') as f:
    data = f.read()
  if hashlib.sha256(data).hexdigest() != info['sha256']:
    raise PretrainedError(f'{weights} does not match the sha256 in {info_path}: the file was altered or damaged')
  with np.load(io.BytesIO(data)) as arrays:
    flat = dict(arrays)
  model = image_judges.make_judge(info['model'], info['num_classes'])
  expected = jax.eval_shape(lambda: image_judges.init_judge(model, jax.random.key(0), tuple(info['image_shape'])))
  expected = {'/'.join(path): leaf for path, leaf in traverse_util.flatten_dict(expected).items()}
  if expected.keys() != flat.keys():
    raise PretrainedError(
      f'{weights} holds parameters {sorted(flat)}; the {info["model"]} model has {sorted(expected)}'
    )
  for key, leaf in expected.items():
    if flat[key].shape != leaf.shape or flat[key].dtype != np.float16:
      raise PretrainedError(
        f'{weights}: {key} is {flat[key].dtype}{list(flat[key].shape)}; expected float16{list(leaf.shape)}'
      )
  return image_judges.ImageJudge(info['model'], info['num_classes']), _unflatten(flat), info


def sample_dir(name: str, directory: str | None = None) -> str:
  """The folder of shipped judge `name`'s test sample (IDX files, split 'test')."""
  return _paths(directory or DIRECTORY, name)[2]
