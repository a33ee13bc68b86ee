"""The images-task judge trainer (judges/train.py) and its entry point, on tiny synthetic IDX data.

The data: 12x12 images of 3 classes; class c has its nonzero pixels only in rows [4c, 4c + 4), so a judge
that sees a few random nonzero pixels can tell the class from where they are.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from conftest import TINY_IMAGE_JUDGE_FLAGS, xla_env

from debate.experiments import runfiles
from debate.tasks import idx
from judges import batches, image_judges, train
from launch import cli
from launch.configs import irving_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ('examples_per_s', 'elapsed_s')


def _synthetic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
  labels = rng.integers(0, 3, n).astype(np.uint8)
  images = np.zeros((n, 12, 12), np.uint8)
  for i, label in enumerate(labels):
    band = images[i, 4 * label : 4 * label + 4]
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
  return (
    idx.load_image_dataset(data_dir, split='train', num_classes=3),
    idx.load_image_dataset(data_dir, split='test', num_classes=3),
  )


def tiny_config(**overrides):
  config = irving_mnist.get_config('smoke')
  config.update(
    dict(
      judge='mlp',
      k=3,
      num_classes=3,
      batch_size=32,
      learning_rate=3e-3,
      steps=40,
      checkpoint_every=10,
      log_every=4,
      eval_batch_size=40,
    )
  )
  config.update(overrides)
  return config


def _with(config, **overrides):
  config = config.copy_and_resolve_references()
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
      k,
      steps,
      'irving_cnn',
      1e-4,
      128,
    )
    train.validate_config(config)
  smoke = irving_mnist.get_config('smoke')
  assert smoke.k == 6 and smoke.judge in ('small_cnn', 'mlp') and smoke.steps <= 1000
  with pytest.raises(ValueError, match='variant'):
    irving_mnist.get_config('k5')


def test_short_run_beats_chance_on_held_out_images(tmp_path, datasets):
  dataset_train, dataset_test = datasets
  state, metrics = train.train_judge(tiny_config(), str(tmp_path), dataset_train, dataset_test, log=lambda _: None)
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
  assert saved['k'] == 3 and saved['train_data'] == {
    'examples': 256,
    'image_shape': [12, 12],
    'order': train.DATA_ORDER,
  }


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
  # A run of the trainer's first version (its batches depended on the process count) is refused by name.
  saved['train_data'] = {'examples': 256, 'image_shape': [12, 12], 'process_count': 1}
  runfiles.write_json(os.path.join(workdir, train.CONFIG), saved)
  with pytest.raises(runfiles.WorkdirError, match='earlier version of the trainer'):
    train.check_workdir(tiny_config(), workdir, dataset_train)


def _losses(workdir) -> list[float]:
  return [r['loss'] for r in _metrics(workdir) if 'loss' in r]


def test_losses_agree_on_1_and_4_devices_with_and_without_parameter_sharding(tmp_path, datasets):
  assert jax.device_count() == 4
  dataset_train, _ = datasets
  quiet = lambda _: None
  # irving_cnn: dropout draws must not depend on the sharding either.
  config = tiny_config(judge='irving_cnn', steps=8, log_every=1, checkpoint_every=4, learning_rate=1e-3)
  one, _ = train.train_judge(config, str(tmp_path / 'one'), dataset_train, log=quiet, devices=jax.devices()[:1])
  reference = _losses(tmp_path / 'one')
  assert len(reference) == 8 and reference[-1] < reference[0]
  # 4 devices as data=2 x model=2: parameters and Adam moments split over 'model'.
  two_by_two, _ = train.train_judge(
    _with(config, model_parallelism=2), str(tmp_path / 'two_by_two'), dataset_train, log=quiet
  )
  np.testing.assert_allclose(_losses(tmp_path / 'two_by_two'), reference, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(two_by_two.params)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5)
  # data=1 x model=4 for 4 steps; its sharded checkpoint is restored onto data=4 x model=1 (data parallel,
  # parameters replicated) for the last 4.
  workdir = str(tmp_path / 'resharded')
  sharded, _ = train.train_judge(_with(config, steps=4, model_parallelism=4), workdir, dataset_train, log=quiet)
  kernel = sharded.params['params']['Dense_0']['kernel']  # [576, 1024]: its 1024 axis split 4 ways.
  assert kernel.sharding.spec == jax.sharding.PartitionSpec(None, 'model')
  assert kernel.addressable_shards[0].data.shape == (576, 256)
  assert sharded.opt_state[0].mu['params']['Dense_0']['kernel'].sharding == kernel.sharding
  messages = []
  resumed, _ = train.train_judge(config, workdir, dataset_train, log=messages.append)
  assert any('resumed from the checkpoint at step 4' in m for m in messages), messages
  assert resumed.params['params']['Dense_0']['kernel'].sharding.is_fully_replicated
  np.testing.assert_allclose(_losses(workdir), reference, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(resumed.params)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5)
  with pytest.raises(runfiles.ConfigError, match='--config.batch_size: 30 is not divisible by the device count'):
    train.train_judge(tiny_config(batch_size=30), str(tmp_path / 'bad'), dataset_train, log=quiet)
  with pytest.raises(
    runfiles.ConfigError,
    match=r'--config.model_parallelism: 3 does not divide the device '
    r'count 4.*\[1, 2, 4\]',
  ):
    train.train_judge(tiny_config(model_parallelism=3), str(tmp_path / 'bad'), dataset_train, log=quiet)
  assert not (tmp_path / 'bad').exists()


def test_batches_do_not_depend_on_the_process_count():
  """Row strata: the examples of each global row are the same whether one process holds the whole batch or
  each of P processes holds B / P rows and only its shard of the split."""
  key = jax.random.key(7)
  n, batch = 103, 8
  whole = batches.BatchIndices(key, num_examples=n, batch_size=batch, rows=range(batch))
  for processes in (2, 4):
    parts = []
    for p in range(processes):
      start, stop = idx.shard_bounds(n, p, processes)
      rows = range(batch * p // processes, batch * (p + 1) // processes)
      part = batches.BatchIndices(
        key, num_examples=n, batch_size=batch, rows=rows, shard_start=start, shard_size=stop - start
      )
      parts.append((start, part))
    for step in (0, 5, 12, 13, 40):
      np.testing.assert_array_equal(
        np.concatenate([start + part.indices(step) for start, part in parts]), whole.indices(step)
      )
  # Row r cycles through its stratum [floor(n r / B), floor(n (r + 1) / B)): each example once per epoch.
  seen = np.stack([whole.indices(step) for step in range(12)])  # 12 = the smallest stratum (103 // 8).
  for r in range(batch):
    low, high = n * r // batch, n * (r + 1) // batch
    assert set(seen[:, r]) <= set(range(low, high)) and len(set(seen[:, r])) == 12
  first, second = ([whole.indices(step)[0] for step in range(e * 12, (e + 1) * 12)] for e in (0, 1))
  assert sorted(first) == sorted(second) and first != second  # Row 0 (12 examples): each epoch reshuffled.
  with pytest.raises(ValueError, match='this process holds examples 0..50'):
    batches.BatchIndices(key, num_examples=n, batch_size=batch, rows=range(4, 8), shard_start=0, shard_size=51)
  with pytest.raises(ValueError, match='fewer than the batch size'):
    batches.BatchIndices(key, num_examples=6, batch_size=batch, rows=range(batch))


def _launch(*args):
  env = xla_env(2)
  return subprocess.run(
    [sys.executable, '-m', 'launch.train_judge', *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
  )


TINY_FLAGS = [*TINY_IMAGE_JUDGE_FLAGS, '--config.checkpoint_every=10', '--config.eval_batch_size=50']


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


def _flags(**fields) -> list[str]:
  """TINY_FLAGS with config fields replaced."""
  kept = [f for f in TINY_FLAGS if f.split('=')[0].removeprefix('--config.') not in fields]
  return kept + [f'--config.{k}={v}' for k, v in fields.items()]


def _start(workdir, data_dir, flags) -> subprocess.Popen:
  """launch.train_judge in the background (2 devices), its log in workdir.log."""
  env = xla_env(2)
  log = open(f'{workdir}.log', 'w')
  return subprocess.Popen(
    [sys.executable, '-m', 'launch.train_judge', *flags, f'--data_dir={data_dir}', f'--workdir={workdir}'],
    cwd=ROOT,
    env=env,
    stdout=log,
    stderr=subprocess.STDOUT,
  )


def _wait_for(condition, proc, timeout=180.0):
  deadline = time.monotonic() + timeout
  while not condition():
    assert proc.poll() is None, f'the run ended (status {proc.returncode}) before the condition held'
    assert time.monotonic() < deadline, 'timed out'
    time.sleep(0.02)


def _logged_steps(workdir) -> list[int]:
  path = os.path.join(workdir, train.METRICS)
  return [r['step'] for r in runfiles.read_jsonl(path) if 'loss' in r] if os.path.exists(path) else []


def test_sigterm_saves_a_checkpoint_at_the_current_step_and_exits_cleanly(tmp_path, data_dir):
  workdir = tmp_path / 'run'
  # No scheduled checkpoint before step 1000: any checkpoint is the one SIGTERM asked for.
  proc = _start(workdir, data_dir, _flags(steps=100_000, checkpoint_every=1000, log_every=1))
  try:
    _wait_for(lambda: len(_logged_steps(workdir)) >= 5, proc)
    proc.send_signal(signal.SIGTERM)
    status = proc.wait(timeout=120)
  finally:
    proc.kill()
  log = open(f'{workdir}.log').read()
  assert status == cli.EXIT_PREEMPTED, log[-3000:]
  step = _logged_steps(workdir)[-1]
  assert f'preempted (SIGTERM) at step {step}: saved a checkpoint' in log, log[-3000:]
  assert 'Traceback' not in log
  assert os.listdir(workdir / train.CHECKPOINTS) == [str(step)]
  assert not (workdir / 'eval.json').exists()


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path, data_dir, datasets):
  flags = _flags(steps=300, checkpoint_every=10, log_every=1)
  workdir = tmp_path / 'run'
  proc = _start(workdir, data_dir, flags)
  try:
    _wait_for(lambda: (train.latest_checkpoint_step(str(workdir)) or 0) >= 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
  finally:
    proc.kill()
  assert _logged_steps(workdir)[-1] < 300 and not (workdir / 'eval.json').exists()
  # The uninterrupted run, in this process on 2 of its devices (bit-identical to a 2-device process).
  config = tiny_config(steps=300, checkpoint_every=10, log_every=1, eval_batch_size=50)
  straight, metrics = train.train_judge(
    config, str(tmp_path / 'straight'), *datasets, log=lambda _: None, devices=jax.devices()[:2]
  )
  result = _launch(*flags, f'--data_dir={data_dir}', f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  resumed_at = int(re.search(r'resumed from the checkpoint at step (\d+)', result.stderr).group(1))
  assert 10 <= resumed_at < 300
  assert _metrics(workdir) == _metrics(tmp_path / 'straight')
  params, step = train.restore_params(str(workdir))
  assert step == 300
  _assert_trees_equal(params, straight.params)
  evaluation = json.loads((workdir / 'eval.json').read_text())
  assert {k: evaluation[k] for k in metrics['test']} == metrics['test']


@pytest.mark.parametrize(
  'flags, named',
  [
    ([], '--data_dir'),
    (['--data_dir={empty}'], '--data_dir'),
    (['--data_dir={data}', '--config.k=0'], '--config.k'),
    (['--data_dir={data}', '--config.k=145'], '--config.k'),
    (['--data_dir={data}', '--config.judge=nope'], '--config.judge'),
    (['--data_dir={data}', '--config.batch_size=33'], '--config.batch_size'),
  ],
)
def test_cli_bad_flags_exit_nonzero_name_the_flag_and_write_nothing(tmp_path, data_dir, flags, named):
  (tmp_path / 'empty').mkdir()
  workdir = tmp_path / 'bad'
  flags = [f.format(empty=tmp_path / 'empty', data=data_dir) for f in flags]
  result = _launch(*TINY_FLAGS, *flags, f'--workdir={workdir}')
  assert result.returncode == 2, result.stderr[-2000:]
  assert named in result.stderr and 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert not workdir.exists()
