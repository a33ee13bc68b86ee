"""The files of a run's workdir: atomic writes, JSON lines, and the check that a workdir can be resumed.

Every entry point and trainer writes through these, so a kill at any moment leaves either the old file or
the new one, never half of one (appended JSON lines are fsynced; a half-written last line is dropped on
read).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np


class ConfigError(ValueError):
  """A bad config value; `field` is the config field (the flag `--config.FIELD`) at fault."""

  def __init__(self, field: str, message: str):
    super().__init__(f'--config.{field}: {message}')
    self.field = field


class WorkdirError(ValueError):
  """The workdir holds a run that this config cannot resume."""


def int_field(config, field: str, minimum: int, maximum: int | None = None, *, prefix: str = '', default=None) -> int:
  """config[field] (`default` if the config lacks it and a default is given), checked to be an integer in
  [minimum, maximum]; else ConfigError naming `prefix + field`."""
  value = config[field] if default is None else config.get(field, default)
  if (
    isinstance(value, bool)
    or not isinstance(value, int)
    or value < minimum
    or (maximum is not None and value > maximum)
  ):
    bound = f'in [{minimum}, {maximum}]' if maximum is not None else f'>= {minimum}'
    raise ConfigError(prefix + field, f'must be an integer {bound}, got {value!r}')
  return value


def positive_field(config, field: str, *, prefix: str = '') -> float:
  """config[field], checked to be a finite number > 0; else ConfigError."""
  value = config[field]
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
    raise ConfigError(prefix + field, f'must be a number > 0, got {value!r}')
  return float(value)


def tuple_field(
  config, field: str, *, allow_empty: bool = False, prefix: str = '', minimum: int | None = None, each: str = ''
) -> tuple:
  """config[field] as a tuple (a lone string or integer becomes a 1-tuple); ConfigError if empty, or (with
  `minimum`) if an item is not an integer >= minimum (`each` names an item in the message)."""
  value = config[field]
  value = (value,) if isinstance(value, (str, int)) else tuple(value)
  if not value and not allow_empty:
    raise ConfigError(prefix + field, 'must not be empty')
  for item in value if minimum is not None else ():
    if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
      raise ConfigError(prefix + field, f'{each} must be an integer >= {minimum}, got {item!r}')
  return value


def parsed(field: str, parse: Callable, *args, hint: str = ''):
  """parse(*args), its ValueError or TypeError (a bad value, an unknown field) raised as a ConfigError naming
  `field`, with `hint` after the error."""
  try:
    return parse(*args)
  except (ValueError, TypeError) as e:
    raise ConfigError(field, f'{e}{hint}') from None


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
  """Calls `write(tmp_path)` on a temporary file next to `path`, then renames it into place."""
  directory, name = os.path.split(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{name}.', suffix=os.path.splitext(name)[1])
  os.close(fd)
  os.chmod(tmp, 0o644)  # mkstemp creates 0600; make outputs readable like normal files
  try:
    write(tmp)
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def text_writer(text: str) -> Callable[[str], None]:
  """A `write` for `atomic_write` that writes `text`."""
  return lambda tmp: pathlib.Path(tmp).write_text(text, encoding='utf-8', newline='')


def write_files(directory: str | os.PathLike[str], writers: Mapping[str, Callable[[str], None]]) -> dict[str, str]:
  """Creates `directory` and writes each {file name: write} of `writers` atomically; returns {name: path}."""
  os.makedirs(directory, exist_ok=True)
  for name, write in writers.items():
    atomic_write(os.path.join(directory, name), write)
  return {name: os.path.join(directory, name) for name in writers}


def write_json(path: str | os.PathLike[str], value: Any) -> None:
  """Writes `value` (see `to_jsonable`) as indented JSON, atomically."""
  atomic_write(path, text_writer(json.dumps(to_jsonable(value), indent=2, sort_keys=True) + '\n'))


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> None:
  """Replaces `path` with one JSON object per line, atomically."""
  atomic_write(path, text_writer(''.join(json.dumps(to_jsonable(row)) + '\n' for row in rows)))


def append_jsonl(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]]) -> None:
  """Appends one JSON object per line and fsyncs, so a finished append survives a kill."""
  with open(path, 'a') as f:
    f.write(''.join(json.dumps(to_jsonable(row)) + '\n' for row in rows))
    f.flush()
    os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
  """Reads JSON lines, skipping blank lines.

  An invalid final line (a run killed mid-write) is ignored with a warning; an invalid earlier line raises
  ValueError naming the file and line number.
  """
  lines = [(number, raw) for number, raw in enumerate(pathlib.Path(path).read_bytes().split(b'\n'), 1) if raw.strip()]
  rows = []
  for index, (number, raw) in enumerate(lines):
    try:
      row = json.loads(raw.decode('utf-8'))
      if not isinstance(row, dict):
        raise ValueError(f'expected a JSON object, got {type(row).__name__}')
    except ValueError as error:  # includes JSONDecodeError and UnicodeDecodeError
      if index == len(lines) - 1:
        warnings.warn(f'{os.fspath(path)}:{number}: ignoring incomplete final line ({error})', stacklevel=2)
        break
      raise ValueError(f'{os.fspath(path)}:{number}: invalid record: {error}') from error
    rows.append(row)
  return rows


def to_jsonable(value: Any) -> Any:
  """Dataclasses, numpy values and containers as plain JSON values; non-finite floats become None."""
  if dataclasses.is_dataclass(value) and not isinstance(value, type):
    return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
  if isinstance(value, Mapping):
    return {str(k): to_jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_jsonable(v) for v in value]
  if isinstance(value, (np.ndarray, np.generic)):
    return to_jsonable(value.tolist())
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def check_resumable(
  workdir: str,
  config_path: str,
  resolved: Mapping[str, Any],
  *,
  fields: Iterable[str] | None = None,
  ignore: Iterable[str] = (),
) -> None:
  """Raises WorkdirError if `config_path` (a previous run's resolved config) differs from `resolved` in a
  field that changes results: one of `fields`, or (fields=None) any field of either config not in
  `ignore`. Does nothing if there is no previous config."""
  if not os.path.exists(config_path):
    return
  try:
    saved = json.loads(pathlib.Path(config_path).read_text())
  except (OSError, ValueError) as e:
    raise WorkdirError(f'--workdir={workdir}: cannot read {config_path} ({e}); use a new --workdir') from None
  if fields is None:
    fields = sorted((set(saved) | set(resolved)) - set(ignore))
  changed = [k for k in fields if saved.get(k) != resolved.get(k)]
  if changed:
    details = '; '.join(f'{k}: {saved.get(k)!r} there, {resolved.get(k)!r} now' for k in changed)
    raise WorkdirError(
      f'--workdir={workdir} holds a run with a different config (fields {changed} differ: '
      f'{details}); rerun with the same config to resume, or use a new --workdir'
    )
