"""Prints one game transcript of a run readably.

python -m launch.show --workdir=DIR --game=N     # the N-th transcript (0-based) in DIR/transcripts.jsonl
python -m launch.show --workdir=DIR --list       # one line per stored transcript
"""

import os

from absl import app, flags

from debate.experiments import runfiles
from debate.reports import transcripts
from launch.cli import fail, parse_flags

_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of a run (holds transcripts.jsonl).')
_GAME = flags.DEFINE_integer('game', 0, 'Which stored transcript to print (0-based line number).')
_LIST = flags.DEFINE_bool('list', False, 'List the stored transcripts instead.')


def main(argv):
  del argv
  if not _WORKDIR.value:
    fail('--workdir is required')
  path = os.path.join(_WORKDIR.value, 'transcripts.jsonl')
  if not os.path.exists(path):
    fail(f'--workdir={_WORKDIR.value} has no transcripts.jsonl (run an experiment there first)')
  rows = runfiles.read_jsonl(path)
  if _LIST.value:
    for i, row in enumerate(rows):
      game = f'game {row["game"]}' if 'game' in row else f'image {row["image_index"]}'
      print(f'{i:5d}  {row["cell"]}  {game}  {"correct" if row["correct"] else "WRONG"}')
    return
  if not 0 <= _GAME.value < len(rows):
    fail(f'--game={_GAME.value} is out of range: {path} holds {len(rows)} transcripts (0..{len(rows) - 1})')
  print(transcripts.format_transcript(rows[_GAME.value]))


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
