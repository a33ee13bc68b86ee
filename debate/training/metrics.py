"""The one metrics writer of every trainer: JSON lines in `metrics.jsonl` and TensorBoard event files.

A `MetricsWriter` for a directory appends each `write(step, values)` as one line {'step': step, **values} to
DIR/metrics.jsonl and as one event of scalars (the numeric values; nested mappings become `outer/inner`
tags) to an event file of DIR, so `tensorboard --logdir=WORKDIR` shows the curves of every run below
WORKDIR. Both are appended and fsynced at every write, like runfiles.append_jsonl, so a killed run keeps
its curves up to its last write. (tensorboardX's SummaryWriter writes from a background queue that its
flush does not wait for; events are written here synchronously instead, with tensorboardX's protos and
record checksum.)

Resuming: a writer opened at `step` (the step a run goes on from; 0 for a fresh start) cuts metrics.jsonl
back to its lines of steps <= step, and starts a new event file with a session start at step + 1, which
tells TensorBoard to drop the earlier files' points after `step`. So a resumed run's curves and lines are
those of an uninterrupted run. Only process 0 writes; in other processes a writer writes nothing.
"""

from __future__ import annotations

import glob
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.summary_pb2 import Summary
from tensorboardX.record_writer import masked_crc32c

from debate.distributed import multihost
from debate.experiments import runfiles

METRICS = 'metrics.jsonl'
EVENTS_GLOB = 'events.out.tfevents.*'


class MetricsWriter:
  """Writes one run's metrics into `directory` (created if missing); see the module docstring.

  `step`: the step the run goes on from; `keep(row)`: whether a line of a step <= `step` stays (default:
  all). `rows` holds the lines kept (empty in processes other than 0).
  """

  def __init__(self, directory: str, *, step: int = 0, keep: Callable[[dict], bool] = lambda row: True):
    self.path = os.path.join(directory, METRICS)
    self.rows: list[dict[str, Any]] = []
    self._events = None
    if not multihost.is_writer():
      return
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(self.path):
      self.rows = [row for row in runfiles.read_jsonl(self.path) if row.get('step', 0) <= step and keep(row)]
      runfiles.write_jsonl(self.path, self.rows)
    # Files sort by name (start time, host, then this index), the order in which TensorBoard reads them.
    index = len(glob.glob(os.path.join(directory, EVENTS_GLOB)))
    self._events = os.path.join(
      directory, f'events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{index}'
    )
    now = time.time()
    self._append(
      Event(wall_time=now, file_version='brain.Event:2'),
      Event(wall_time=now, step=step + 1, session_log=SessionLog(status=SessionLog.START)),
    )

  def write(self, step: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Appends the line {'step': step, **values} and its numeric values as scalars; returns the line."""
    if 'step' in values:
      raise ValueError(f'values must not hold a step of their own: {dict(values)}')
    row = {'step': step, **values}
    if self._events is not None:
      runfiles.append_jsonl(self.path, [row])
      summary = Summary(value=[Summary.Value(tag=tag, simple_value=v) for tag, v in scalars(values)])
      self._append(Event(wall_time=time.time(), step=step, summary=summary))
    return row

  def _append(self, *events: Event) -> None:
    with open(self._events, 'ab') as f:
      for event in events:
        data = event.SerializeToString()
        header = struct.pack('<Q', len(data))
        f.write(header + struct.pack('<I', masked_crc32c(header)) + data + struct.pack('<I', masked_crc32c(data)))
      f.flush()
      os.fsync(f.fileno())


def scalars(values: Mapping[str, Any], prefix: str = '') -> Iterator[tuple[str, float]]:
  """(tag, value) of every number in `values` (not bools), nested mappings as `outer/inner` tags."""
  for name, value in values.items():
    tag = f'{prefix}{name}'
    if isinstance(value, Mapping):
      yield from scalars(value, f'{tag}/')
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
      yield tag, float(value)
