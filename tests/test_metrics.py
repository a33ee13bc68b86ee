"""The metrics writer (debate/training/metrics.py): metrics.jsonl lines, TensorBoard event files, resuming, and the
trainers that write through it."""

import glob
import os
import struct

import numpy as np
import pytest
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.record_writer import masked_crc32c

from debate.distributed import multihost
from debate.experiments import runfiles
from debate.tasks.idx import ImageDataset
from debate.training import ladder
from debate.training import metrics as metrics_writer
from judges import train
from launch.configs import irving_mnist


def _events(path: str) -> list[Event]:
  """The events of one event file, checking the record framing and checksums."""
  with open(path, 'rb') as f:
    data = f.read()
  events, at = [], 0
  while at < len(data):
    header = data[at : at + 8]
    (length,) = struct.unpack('<Q', header)
    assert struct.unpack('<I', data[at + 8 : at + 12])[0] == masked_crc32c(header)
    body = data[at + 12 : at + 12 + length]
    assert struct.unpack('<I', data[at + 12 + length : at + 16 + length])[0] == masked_crc32c(body)
    events.append(Event.FromString(body))
    at += 16 + length
  return events


def _scalars(directory) -> dict[str, list[tuple[int, float]]]:
  """{tag: [(step, value)]} as TensorBoard shows them: files read in name order, and a session start at
  step S dropping the points of steps >= S read before it."""
  paths = sorted(glob.glob(os.path.join(directory, metrics_writer.EVENTS_GLOB)))
  assert paths, f'no event files in {directory}'
  points = {}
  for path in paths:
    events = _events(path)
    assert events[0].file_version == 'brain.Event:2'
    for event in events:
      if event.HasField('session_log') and event.session_log.status == SessionLog.START:
        points = {tag: [p for p in series if p[0] < event.step] for tag, series in points.items()}
      for value in event.summary.value:
        points.setdefault(value.tag, []).append((event.step, value.simple_value))
  return points


def _expected(rows: list[dict]) -> dict[str, list[tuple[int, float]]]:
  expected = {}
  for row in rows:
    for tag, value in metrics_writer.scalars({k: v for k, v in row.items() if k != 'step'}):
      expected.setdefault(tag, []).append((row['step'], value))
  return expected


def _assert_scalars_match(directory, rows):
  got, expected = _scalars(directory), _expected(rows)
  assert sorted(got) == sorted(expected)
  for tag, series in expected.items():
    assert [s for s, _ in got[tag]] == [s for s, _ in series], tag
    np.testing.assert_allclose([v for _, v in got[tag]], [v for _, v in series], rtol=1e-6)  # float32 in events


def test_lines_and_scalars_are_what_was_written(tmp_path):
  writer = metrics_writer.MetricsWriter(str(tmp_path / 'run'))
  rows = [
    writer.write(1, {'loss': 2.5, 'accuracy': np.float32(0.25), 'name': 'x', 'flag': True}),
    writer.write(2, {'loss': 1.5, 'test': {'accuracy': 0.75, 'games': 8, 'ci95': [0.5, 0.9]}}),
  ]
  assert rows[0] == {'step': 1, 'loss': 2.5, 'accuracy': 0.25, 'name': 'x', 'flag': True}
  assert runfiles.read_jsonl(tmp_path / 'run' / metrics_writer.METRICS) == runfiles.to_jsonable(rows)
  assert _scalars(tmp_path / 'run') == {
    'loss': [(1, 2.5), (2, 1.5)],
    'accuracy': [(1, 0.25)],
    'test/accuracy': [(2, 0.75)],
    'test/games': [(2, 8.0)],
  }
  with pytest.raises(ValueError, match='step of their own'):
    writer.write(3, {'step': 3})


def test_a_resumed_writer_appends_after_its_step(tmp_path):
  writer = metrics_writer.MetricsWriter(str(tmp_path))
  for step in range(1, 5):
    writer.write(step, {'loss': float(step)})
  writer.write(4, {'test': {'accuracy': 0.5}})
  # A run resumed from step 2 (its killed predecessor got to 4) redoes steps 3 and 4, with other values.
  resumed = metrics_writer.MetricsWriter(str(tmp_path), step=2, keep=lambda row: 'test' not in row)
  assert resumed.rows == [{'step': 1, 'loss': 1.0}, {'step': 2, 'loss': 2.0}]
  for step in (3, 4):
    resumed.write(step, {'loss': step + 0.5})
  rows = runfiles.read_jsonl(tmp_path / metrics_writer.METRICS)
  assert rows == [
    {'step': 1, 'loss': 1.0},
    {'step': 2, 'loss': 2.0},
    {'step': 3, 'loss': 3.5},
    {'step': 4, 'loss': 4.5},
  ]
  assert len(glob.glob(str(tmp_path / metrics_writer.EVENTS_GLOB))) == 2
  assert _scalars(tmp_path) == {'loss': [(1, 1.0), (2, 2.0), (3, 3.5), (4, 4.5)], 'test/accuracy': []}
  # A fresh start (step 0) keeps no line.
  assert metrics_writer.MetricsWriter(str(tmp_path)).rows == []
  assert runfiles.read_jsonl(tmp_path / metrics_writer.METRICS) == []


def test_only_process_0_writes(tmp_path, monkeypatch):
  monkeypatch.setattr(multihost, 'is_writer', lambda: False)
  writer = metrics_writer.MetricsWriter(str(tmp_path / 'run'))
  assert writer.write(1, {'loss': 1.0}) == {'step': 1, 'loss': 1.0}
  assert not os.path.exists(tmp_path / 'run')


def test_agent_training_writes_its_history_next_to_its_checkpoints(tmp_path):
  """train_through_rungs (every agent trainer's) writes each history entry."""
  chunk = lambda params, opt_state, judge, steps: (params + len(steps), opt_state, {'loss': 1.0 / (1 + steps)})
  report = lambda done, metrics, steps_per_s: {'loss': float(np.mean(metrics['loss']))}
  agent = tmp_path / 'agent'
  run = lambda rungs: ladder.train_through_rungs(
    chunk,
    np.zeros(2, np.float32),
    np.zeros(2, np.float32),
    None,
    rungs=rungs,
    log_every=2,
    report=report,
    checkpoint_dir=str(agent / ladder.TRAINING),
    log=lambda _: None,
  )
  _, history = run([4])
  assert [h['step'] for h in history] == [2, 4]
  # Raising the top rung resumes from the checkpoint at step 4 and appends.
  _, history = run([4, 6])
  assert [h['step'] for h in history] == [2, 4, 6]
  assert runfiles.read_jsonl(agent / metrics_writer.METRICS) == history
  _assert_scalars_match(agent, history)


def _dataset(n: int, seed: int) -> ImageDataset:
  """8x8 images of 2 classes: class c has its nonzero pixels only in columns [4c, 4c + 4)."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 2, n).astype(np.int32)
  images = np.zeros((n, 8, 8), np.uint8)
  for i, label in enumerate(labels):
    images[i, :, 4 * label : 4 * label + 4] = rng.integers(1, 256, (8, 4))
  return ImageDataset(images, labels, num_classes=2)


def test_judge_training_leaves_event_files_next_to_its_metrics(tmp_path):
  config = irving_mnist.get_config('smoke')
  config.update(
    dict(judge='mlp', k=3, num_classes=2, batch_size=16, steps=12, checkpoint_every=4, log_every=4, eval_batch_size=32)
  )
  dataset_train, dataset_test = _dataset(64, 0), _dataset(32, 1)

  def kill_at_8(message):
    if message.startswith('step 8/'):  # Logged after step 8's line, before its checkpoint.
      raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    train.train_judge(config, str(tmp_path), dataset_train, dataset_test, log=kill_at_8)
  train.train_judge(config, str(tmp_path), dataset_train, dataset_test, log=lambda _: None)
  rows = runfiles.read_jsonl(tmp_path / train.METRICS)
  assert [row['step'] for row in rows] == [4, 8, 12, 12] and 'test' in rows[-1]
  assert len(glob.glob(str(tmp_path / metrics_writer.EVENTS_GLOB))) == 2
  _assert_scalars_match(tmp_path, rows)
  assert {'loss', 'accuracy', 'examples_per_s', 'test/accuracy'} <= set(_scalars(tmp_path))
