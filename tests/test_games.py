"""The platform on the example game (debate/games/example.py): the conformance test, the generic agents, and
the game through the whole stack (agents, search, runner, grid of cells, records, tables, resume)."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.agents import policies
from debate.analysis.stats import wilson_interval
from debate.experiments import grid
from debate.games import conformance, example
from debate.reports import tables
from debate.rollouts import runner


def test_api():
  game = example.BitsDebate(num_bits=6, k=3)
  conformance.api_test(game, jnp.array([1, 0, 1, 1, 0, 0], bool), jax.random.key(0), jnp.float32(0.5))


@pytest.mark.parametrize('first', [0, 1])
def test_searching_policies_find_the_winning_last_move(first):
  """One move left on bits [1, 0, 0] (judge bias 0): revealing bit 0 makes the judge say "yes", any other
  bit "no"; Greedy (exact on a last move) and MCTS find the mover's winning reveal."""
  game = example.BitsDebate(num_bits=3, k=1)
  state = game.init(jax.random.key(0), jnp.array([1, 0, 0], bool)).replace(first=jnp.int32(first))
  for policy in (policies.Greedy(), policies.MCTS(12)):
    moves = jax.jit(jax.vmap(lambda k, p=policy: p(k, game, state, jnp.float32(0.0), None, None)))(
      jax.random.split(jax.random.key(1), 4)
    )
    assert bool((moves == 0).all() if first == 0 else (moves != 0).all()), (policy, moves)


# ------------------------------------------------------------------------------------------------------------
# The example game through the whole stack: what a new task costs (debate/games/example.py).

BIASES = {'fair': 0.0, 'credulous': 2.5}  # Judges: params are data, so one compilation serves both.
ARMS = {'random': policies.Random(), 'greedy': policies.Greedy(), 'mcts:16': policies.MCTS(16)}
BITS_GAMES = 200


def _bits_grid(workdir, log):
  game = example.BitsDebate(num_bits=9, k=4)
  cells = [(arm, judge) for judge in BIASES for arm in ARMS]

  def run_cell(cell):
    arm, judge = cell
    player = example.BitsPlayer(game, (ARMS[arm], ARMS[arm]))
    outcome, transcript = runner.run_games(
      player,
      lambda indices: (indices.astype(np.uint32),),
      (jax.random.key(0), np.float32(BIASES[judge])),
      num_games=BITS_GAMES,
      batch_size=64,
    )
    correct = int(outcome['correct'].sum())
    record = {
      'cell': f'{arm}|{judge}',
      'arm': arm,
      'judge': judge,
      'games': BITS_GAMES,
      'correct': correct,
      'accuracy': correct / BITS_GAMES,
      'ci95': list(wilson_interval(correct, BITS_GAMES)),
    }
    rows = [
      {
        'cell': record['cell'],
        'game': i,
        'verdict': int(outcome['verdict'][i]),
        'ones': int(transcript['bits'][i].sum()),
      }
      for i in range(BITS_GAMES)
    ]
    return record, rows

  def write_reports(records, directory):
    body = [[r['arm'], r['judge'], f'{100 * r["accuracy"]:.1f}'] for r in records]
    table = tables.markdown_table(['arm', 'judge', 'accuracy (%)'], body, {2}, f'n = {BITS_GAMES} games per cell')
    with open(os.path.join(directory, 'table.md'), 'w') as f:
      f.write(table)

  return grid.run_grid(
    cells,
    run_cell,
    workdir,
    {'task': 'bits', 'games': BITS_GAMES},
    name=lambda cell: '|'.join(cell),
    summary=grid.accuracy_summary,
    write_reports=write_reports,
    log=log,
  )


def test_the_example_game_runs_through_the_whole_stack_and_resumes(tmp_path):
  before = runner.compilations()
  lines = []
  records = _bits_grid(str(tmp_path), lines.append)
  assert [r['cell'] for r in records] == [f'{a}|{j}' for j in BIASES for a in ARMS]
  assert runner.compilations() - before == len(ARMS)  # One per agent; both judges share it.
  with open(tmp_path / 'transcripts.jsonl') as f:
    games = [json.loads(line) for line in f]
  # Exact theory of greedy play (k = 4: two reveals each; each side reveals its own kind while it has any).
  # The fair judge says "yes" iff 2 ones - 4 > 0 among the four reveals: only when "no" cannot find two
  # zeros (8 or 9 ones). The credulous judge (bias 2.5) says "no" iff three zeros are revealed: only when
  # "yes" finds no one at all.
  for game in games:
    ones = game['ones']
    if game['cell'] == 'greedy|fair':
      assert game['verdict'] == (ones >= 8), game
    if game['cell'] == 'greedy|credulous':
      assert game['verdict'] == (ones >= 1), game
  with open(tmp_path / 'table.md') as f:
    assert f.read().count('\n| ') == len(records)  # One row per cell under the header.
  # A rerun with the same workdir finds every cell done and returns the same records.
  again = _bits_grid(str(tmp_path), lines.append)
  assert again == records and '6 cells, 6 already done, 0 to run' in lines
  with open(tmp_path / 'results.jsonl') as f:
    assert [json.loads(line) for line in f] == records
