"""The human verdicts of a workdir: DIR/human_verdicts.jsonl, one JSON line per verdict.

Each append holds an exclusive `fcntl.flock` on the file, checks that the person has not judged the game yet,
writes one line, flushes and fsyncs: two people judging at once lose nothing, and a verdict whose request
returned survives a kill. A half-written last line (a kill mid-write) is cut off before the next append.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import unicodedata

from debate.experiments import runfiles

VERDICTS_FILE = 'human_verdicts.jsonl'
MAX_NAME = 40
MAX_COMMENT = 2000
MAX_SECONDS = 7 * 24 * 3600.0
CONFIDENCE_RANGE = (0.5, 1.0)


class BadRequest(ValueError):
  """A request the page cannot act on (HTTP 400); the message says what is wrong."""


class AlreadyJudged(ValueError):
  """The person has judged this game already (HTTP 409)."""


def check_name(name) -> str:
  """The judge's name, stripped: non-empty, at most MAX_NAME characters, no control characters."""
  if not isinstance(name, str) or not name.strip():
    raise BadRequest('enter your name first: a judge name is required')
  name = name.strip()
  if len(name) > MAX_NAME:
    raise BadRequest(f'the judge name is too long: at most {MAX_NAME} characters, got {len(name)}')
  if any(unicodedata.category(char).startswith('C') for char in name):
    raise BadRequest('the judge name must not contain control characters')
  return name


def parse_confidence(value) -> float | None:
  """None (absent or empty), or a number in [0.5, 1] (a number or numeric text)."""
  if value is None or (isinstance(value, str) and not value.strip()):
    return None
  low, high = CONFIDENCE_RANGE
  message = f'confidence must be a number in [{low}, {high}] (or empty), got {str(value)[:40]!r}'
  if isinstance(value, bool) or not isinstance(value, (int, float, str)):
    raise BadRequest(message)
  try:
    number = float(value)
  except ValueError:
    raise BadRequest(message) from None
  if not math.isfinite(number) or not low <= number <= high:
    raise BadRequest(message)
  return number


def parse_comment(value) -> str:
  if value is None:
    return ''
  if not isinstance(value, str):
    raise BadRequest('comment must be text')
  if len(value) > MAX_COMMENT:
    raise BadRequest(f'comment is too long: at most {MAX_COMMENT} characters, got {len(value)}')
  return value.strip()


def parse_seconds(value) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
    raise BadRequest(f'seconds must be a number in [0, {MAX_SECONDS:.0f}], got {str(value)[:40]!r}')
  return round(float(value), 3)


@dataclasses.dataclass(frozen=True)
class VerdictStore:
  """DIR/human_verdicts.jsonl of one workdir."""

  workdir: str

  @property
  def path(self) -> str:
    return os.path.join(self.workdir, VERDICTS_FILE)

  def read(self) -> list[dict]:
    """Every verdict so far (an incomplete last line is skipped)."""
    if not os.path.exists(self.path):
      return []
    return runfiles.read_jsonl(self.path)

  def judged_by(self, name: str) -> set[int]:
    """The game ids this person has judged."""
    return {line['game'] for line in self.read() if line.get('judge') == name}

  def append(self, line: dict) -> None:
    """Appends `line` (with 'judge' and 'game'), or raises AlreadyJudged; atomic against other appends."""
    encoded = (json.dumps(runfiles.to_jsonable(line)) + '\n').encode('utf-8')
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX)
      with os.fdopen(os.dup(fd), 'rb') as f:
        text = f.read()
      complete = text[: text.rfind(b'\n') + 1]  # Drops a half-written last line of a killed writer.
      for raw in complete.split(b'\n'):
        if raw.strip():
          other = json.loads(raw)
          if other.get('judge') == line['judge'] and other.get('game') == line['game']:
            raise AlreadyJudged(f'{line["judge"]} has already judged game {line["game"]}')
      if len(complete) != len(text):
        os.ftruncate(fd, len(complete))
      os.lseek(fd, len(complete), os.SEEK_SET)
      view = memoryview(encoded)
      while view:  # Unbuffered writes: nothing is left to flush before the fsync.
        view = view[os.write(fd, view) :]
      os.fsync(fd)
    finally:
      os.close(fd)  # Also releases the lock.
