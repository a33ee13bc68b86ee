"""The images-task judge trainer (judges/train.py) and its entry point, on tiny synthetic IDX data.

The data: 12x12 images of 3 classes; class c has its nonzero pixels only in rows [4c, 4c + 4), so a judge
that sees a few random nonzero pixels can tell the class from where they are.
"""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from debate import runfiles
from debate.tasks import idx
from judges import image_judges, train
from launch.configs import irving_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ('examples_per_s', 'elapsed_s')


def _synthetic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
  labels = rng.integers(0, 3, n).astype(np.uint8)
  images = np.zeros((n, 12, 12), np.uint8)
  for i, label in enumerate(labels):
    band = images[i, 4 * label:4 * label + 4]
    band[...] = np.where(rng.random(band.shape) < 0.5, rng.integers(1, 256, band.shape), 0)
    band[rng.integers(0, 4), rng.integers(0, 12)] = 255  # At least one nonzero pixel.
  return images, labels


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
  directory = tmp_path_factory.mktemp('synthetic')
  rng = np.random.default_rng(0)
  for prefix, n in (('train', 256), ('t10k', 96)):
    images, labels = _synthetic(rng, n)
    idx.write_idx(directory / f'{prefix}-images-idx3-ubyte.gz', images)
    idx.write_idx(directory / f'{prefix}-labels-idx1-ubyte', labels)
  return directory


@pytest.fixture(scope='module')
def datasets(data_dir):
  return (idx.load_image_dataset(data_dir, split='train', num_classes=3),
          idx.load_image_dataset(data_dir, split='test', num_classes=3))


def tiny_config(**overrides):
  config = irving_mnist.get_config('smoke')
  config.update(dict(judge='mlp', k=3, num_classes=3, batch_size=32, learning_rate=3e-3, steps=40,
                     checkpoint_every=10, log_every=4, eval_batch_size=40))
  config.update(overrides)
  return config


def _metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, train.METRICS)) as f:
    rows = [json.loads(line) for line in f]
  return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def _assert_trees_equal(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert jax.tree.structure(a) == jax.tree.structure(b) and len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_configs():
  for variant, k, steps in (('k4', 4, 50_000), ('k6', 6, 30_000)):
    config = irving_mnist.get_config(variant)
    assert (config.k, config.steps, config.judge, config.learning_rate, config.batch_size) == (
        k, steps, 'irving_cnn', 1e-4, 128)
    train.validate_config(config)
  smoke = irving_mnist.get_config('smoke')
  assert smoke.k == 6 and smoke.judge in ('small_cnn', 'mlp') and smoke.steps <= 1000
  with pytest.raises(ValueError, match='variant'):
    irving_mnist.get_config('k5')


def test_short_run_beats_chance_on_held_out_images(tmp_path, datasets):
  dataset_train, dataset_test = datasets
  state, metrics = train.train_judge(tiny_config(), str(tmp_path), dataset_train, dataset_test,
                                     log=lambda _: None)
  test = metrics['test']
  assert test['games'] == 96 and test['accuracy'] == test['correct'] / 96
  assert test['accuracy'] > 0.7 and test['ci95'][0] > 1 / 3, test
  assert metrics['train']['step'] == 40 and int(state.step) == 40
  # The evaluation depends only on (seed, global index): not on the batch size or its padding.
  model = image_judges.make_judge('mlp', 3)
  again = train.evaluate(model, state.params, dataset_test, k=3, seed=0, batch_size=96)
  assert again == test
  assert train.evaluate(model, state.params, dataset_test, k=3, seed=0, batch_size=7) == test
  saved = json.loads((tmp_path / train.CONFIG).read_text())
  assert saved['k'] == 3 and saved['train_data'] == {'examples': 256, 'image_shape': [12, 12],
                                                     'process_count': 1}


class _Killed(Exception):
  pass


def _kill_at(step):
  def log(message):
    if message.startswith(f'step {step}/'):
      raise _Killed(message)
  return log


def test_resume_equals_uninterrupted(tmp_path, datasets):
  dataset_train, _ = datasets
  quiet = lambda _: None
  straight, _ = train.train_judge(tiny_config(), str(tmp_path / 'straight'), dataset_train, log=quiet)
  workdir = str(tmp_path / 'resumed')
  first, _ = train.train_judge(tiny_config(steps=20), workdir, dataset_train, log=quiet)
  assert int(first.step) == 20
  # A new call continues to 40 and is killed after logging step 36 (last checkpoint: 30); a third resumes.
  with pytest.raises(_Killed):
    train.train_judge(tiny_config(), workdir, dataset_train, log=_kill_at(36))
  assert _metrics(workdir)[-1]['step'] == 36
  messages = []
  resumed, _ = train.train_judge(tiny_config(), workdir, dataset_train, log=messages.append)
  assert any('resumed from the checkpoint at step 30' in m for m in messages), messages
  _assert_trees_equal(straight.params, resumed.params)
  _assert_trees_equal(straight.opt_state, resumed.opt_state)
  np.testing.assert_array_equal(jax.random.key_data(straight.rng), jax.random.key_data(resumed.rng))
  straight_rows, resumed_rows = _metrics(tmp_path / 'straight'), _metrics(workdir)
  assert [r['step'] for r in straight_rows] == list(range(4, 41, 4))
  assert resumed_rows == straight_rows
  assert sorted(os.listdir(os.path.join(workdir, train.CHECKPOINTS))) == ['20', '30', '40']
  params, step = train.restore_params(workdir)
  assert step == 40
  _assert_trees_equal(params, straight.params)
  # A resumed run must not change a field that changes results.
  with pytest.raises(runfiles.WorkdirError, match=r"\['k', 'learning_rate'\]"):
    train.train_judge(tiny_config(k=4, learning_rate=1e-3), workdir, dataset_train, log=quiet)
  with pytest.raises(runfiles.WorkdirError, match='past --config.steps=30'):
    train.train_judge(tiny_config(steps=30), workdir, dataset_train, log=quiet)
  saved = json.loads(open(os.path.join(workdir, train.CONFIG)).read())
  assert (saved['k'], saved['learning_rate'], saved['steps']) == (3, 3e-3, 40)  # Refused runs write nothing.
  assert _metrics(workdir) == straight_rows


def test_one_and_four_devices_give_the_same_losses(tmp_path, datasets):
  assert jax.device_count() == 4
  dataset_train, _ = datasets
  # irving_cnn: dropout draws must not depend on the sharding either.
  config = tiny_config(judge='irving_cnn', steps=8, log_every=1, checkpoint_every=8, learning_rate=1e-3)
  one, _ = train.train_judge(config, str(tmp_path / 'one'), dataset_train, log=lambda _: None,
                             devices=jax.devices()[:1])
  four, _ = train.train_judge(config, str(tmp_path / 'four'), dataset_train, log=lambda _: None)
  losses_one = [r['loss'] for r in _metrics(tmp_path / 'one')]
  losses_four = [r['loss'] for r in _metrics(tmp_path / 'four')]
  assert len(losses_one) == 8 and losses_one[-1] < losses_one[0]
  np.testing.assert_allclose(losses_four, losses_one, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5)
  with pytest.raises(runfiles.ConfigError, match='--config.batch_size: 30 is not divisible by the device count'):
    train.train_judge(tiny_config(batch_size=30), str(tmp_path / 'bad'), dataset_train, log=lambda _: None)
  assert not (tmp_path / 'bad').exists()


def _launch(*args):
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2')
  return subprocess.run([sys.executable, '-m', 'launch.train_judge', *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=300)


TINY_FLAGS = ['--config=launch/configs/irving_mnist.py:smoke', '--config.judge=mlp', '--config.k=3',
              '--config.num_classes=3', '--config.batch_size=32', '--config.learning_rate=0.003',
              '--config.steps=30', '--config.checkpoint_every=10', '--config.log_every=10',
              '--config.eval_batch_size=50']


def test_cli_end_to_end(tmp_path, data_dir):
  workdir = tmp_path / 'run'
  result = _launch(*TINY_FLAGS, f'--data_dir={data_dir}', f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(os.listdir(workdir / 'checkpoints')) == ['10', '20', '30']
  rows = _metrics(workdir)
  assert [r['step'] for r in rows] == [10, 20, 30, 30] and 'test' in rows[-1]
  evaluation = json.loads((workdir / 'eval.json').read_text())
  assert evaluation['games'] == 96 and evaluation['k'] == 3 and evaluation['step'] == 30
  assert evaluation['accuracy'] > 1 / 3 and len(evaluation['ci95']) == 2
  assert json.loads(result.stdout.strip().splitlines()[-1]) == evaluation
  assert json.loads((workdir / 'config.json').read_text())['steps'] == 30
  assert 'orbax' not in result.stderr  # Orbax's INFO chatter is filtered out.


@pytest.mark.parametrize('flags, named', [
    ([], '--data_dir'),
    (['--data_dir={empty}'], '--data_dir'),
    (['--data_dir={data}', '--config.k=0'], '--config.k'),
    (['--data_dir={data}', '--config.k=145'], '--config.k'),
    (['--data_dir={data}', '--config.judge=nope'], '--config.judge'),
    (['--data_dir={data}', '--config.batch_size=33'], '--config.batch_size'),
])
def test_cli_bad_flags_exit_nonzero_name_the_flag_and_write_nothing(tmp_path, data_dir, flags, named):
  (tmp_path / 'empty').mkdir()
  workdir = tmp_path / 'bad'
  flags = [f.format(empty=tmp_path / 'empty', data=data_dir) for f in flags]
  result = _launch(*TINY_FLAGS, *flags, f'--workdir={workdir}')
  assert result.returncode == 2, result.stderr[-2000:]
  assert named in result.stderr and 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert not workdir.exists()
