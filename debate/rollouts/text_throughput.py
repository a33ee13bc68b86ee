"""Throughput of text debate with MCTS debaters against a learned judge (`launch.bench --task=text` runs it; its
judge training throughput is debate/training/throughput.py's `measure_train_text_judge`).

`measure_text_search` plays `debate/mcts:B` (both debaters mcts:B, the default leaf evaluation: one random
rollout to the end, judged) with `debate.rollouts.text.run_games`, as the text experiments do, and counts the
judge evaluations inside the search: a game of k moves makes k (B + 1) of them, per move one for the root
(its rollout) and one per simulation. The games of a batch are vmapped, so each is one forward pass of the
judge at the batch size on views of K = k slots. The ceiling is the judge's plain jitted forward pass on as
many such views per call (`forward_loop`), and

  ratio = (judge evaluations per second in the search) / (plain forward evaluations per second)

measures what the search costs beyond its judge calls (1.0: nothing). The game also evaluates the judge k + 3
times outside the search (the verdict and the transcript's probability after each move); those are timed
with the game but not counted, so the ratio is a lower bound. Search and forward calls are timed
interleaved (one each per repeat, after one compiling call each), so machine load falls on both alike.
Judges are untrained: their speed does not depend on their weights.

What limits the ratio (2-core CPU, sentence-level judges): a judge call costs the same inside the search as in
the plain loop (per simulation: the difference between two budgets). The ratio loses the search's own work
per simulation (tree descent, the random rollout, the view built from the actions, the backward pass: about
0.04 ms at 8 games, a sixth of a tf1x32 call, nothing next to the larger rungs) and each game call's fixed
costs (the k + 3 uncounted judge calls, the host's transfers), which matter only at a few simulations: tf1x32
at B = 4 and 8 games reads about 0.4, at B >= 16 0.6-0.75, the larger rungs 0.75-1.0.
"""

from __future__ import annotations

import statistics
from typing import Callable, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from debate.reports.tables import csv_table, markdown_table
from debate.rollouts import runner
from debate.rollouts import text as text_rollout
from debate.rollouts.throughput import peak_memory, table_caption, time_calls
from debate.tasks import text as text_task
from judges import text_judges


def judge_evaluations_per_game(k: int, budget: int) -> int:
  """Judge evaluations inside the searches of one mcts:B debate of k moves: k (B + 1)."""
  return k * (budget + 1)


def forward_loop(judge: text_judges.TextJudge, params, views: text_task.TextView, calls: int) -> Callable:
  """The judge's plain batched forward pass, `calls` times in one compiled loop: fn(r) -> a scalar.

  `views`: a batched TextView [B, ...] (sharded as the games are). Call i of repeat r adds to every input a
  zero that XLA cannot prove is zero, (i + r * calls) >> 30, so that no call is hoisted out of the loop."""

  @jax.jit
  def loop(params, views, r):
    def body(i, total):
      zero = (i + r * calls) >> 30
      return total + judge.logits(params, jax.tree.map(lambda a: a + zero.astype(a.dtype), views)).sum()

    return jax.lax.fori_loop(0, calls, body, 0.0)

  return lambda r: loop(params, views, r)


def final_views(task: text_task.TextTask, instances: text_task.TextInstance, k: int, seed: int = 0):
  """[B] views of k verified quotes each (K = k slots), like a finished debate's: the forward pass's inputs."""
  keys = jax.random.split(jax.random.key(seed), len(instances.label))
  return jax.vmap(lambda key, instance: text_task.random_view(key, instance, k, 0))(keys, instances)


def measure_text_search(
  *,
  judges: Sequence[str],
  budgets: Sequence[int],
  batch_sizes: Sequence[int],
  k: int = 6,
  repeats: int = 3,
  task: text_task.TextTask | None = None,
  seed: int = 0,
  log: Callable[[str], None] = print,
) -> list[dict]:
  """debate/mcts:B on `task` (default TextTask()) against each untrained judge of `judges` (ladder rungs),
  for each budget B and batch size (rounded up to a multiple of the devices), on every device: one row per
  (judge, B, batch) with the medians of
  `repeats` game calls and, interleaved, of as many plain forward calls as the games make search evaluations
  (the module docstring); ratio = forward median / game median.

  Call r plays stories r * batch .. (r + 1) * batch - 1 (their keys), on instances cycled from a pool of
  max(batch_sizes) generated stories."""
  task = task or text_task.TextTask()
  pool = text_task.sample_instances(task, seed, range(max(batch_sizes)))
  pool = jax.tree.map(np.asarray, pool)
  mesh = runner.data_mesh()
  devices, sharded = mesh.devices.size, NamedSharding(mesh, P('data'))
  rows = []
  for name in judges:
    judge = text_judges.judge_for(task, name)
    sample = final_views(task, jax.tree.map(lambda a: a[:1], pool), k, seed)
    params = judge.module().init(jax.random.key(seed), sample)
    tokens = text_judges.sequence_length(judge.module(), sample)
    for budget in budgets:
      arm = text_rollout.parse_text_arm(f'debate/mcts:{budget}')
      for requested in batch_sizes:
        batch = -(-requested // devices) * devices  # The games split evenly over the devices.
        stories = lambda r, batch=batch: (np.arange(batch) + r * batch) % len(pool.label)

        def play(r, batch=batch, arm=arm, judge=judge, params=params):
          instances = jax.tree.map(lambda a: a[stories(r)], pool)
          indices = np.arange(batch) + r * batch
          outcome, _ = text_rollout.run_games(
            arm, task, judge, params, instances, indices, k=k, seed=seed, batch_size=batch, mesh=mesh
          )
          return outcome['correct']

        calls = judge_evaluations_per_game(k, budget)  # Batched judge calls per game call.
        views = jax.device_put(final_views(task, jax.tree.map(lambda a: a[stories(0)], pool), k, seed), sharded)
        forward = forward_loop(judge, params, views, calls)
        search_times, forward_times = [], []
        for r in range(repeats + 1):  # Interleaved; call 0 of each compiles.
          search_times += time_calls(lambda _, r=r: play(r), 1)
          forward_times += time_calls(lambda _, r=r: forward(r), 1)
        median, forward_median = statistics.median(search_times[1:]), statistics.median(forward_times[1:])
        row = {
          'judge': name,
          'budget': budget,
          'batch': batch,
          'k': k,
          'devices': devices,
          'params': text_judges.count_params(params),
          'tokens_per_eval': tokens,
          'compile_s': round(search_times[0] - median, 2),
          'median_s': round(median, 4),
          'forward_median_s': round(forward_median, 4),
          'games_per_s': round(batch / median, 3),
          'judge_evals_per_s': round(calls * batch / median, 1),
          'forward_evals_per_s': round(calls * batch / forward_median, 1),
          'ratio': round(forward_median / median, 3),
          **peak_memory(),
        }
        log(
          f'[bench text] {name} mcts:{budget} batch {batch}: {row["games_per_s"]} games/s, '
          f'{row["judge_evals_per_s"]:,.0f} judge evals/s in search = {row["ratio"]:.2f} of the plain forward pass'
        )
        rows.append(row)
  return rows


def render_text_markdown(train_rows: Sequence[dict], search_rows: Sequence[dict], env: dict | None = None) -> str:
  """Two Markdown tables: judge training throughput per rung, then search evaluations against the forward
  pass per (rung, simulations, batch)."""
  header = ['judge', 'params', 'batch', 'tokens/example', 'compile_s', 'median_s', 'steps/s', 'examples/s', 'tokens/s']
  body = [
    [
      r['judge'],
      f'{r["params"]:,}',
      str(r['batch']),
      str(r['tokens_per_example']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["steps_per_s"]:,.2f}',
      f'{r["examples_per_s"]:,.0f}',
      f'{r["tokens_per_s"]:,.0f}',
    ]
    for r in train_rows
  ]
  train_note = (
    "Judge training (judges/trainer.py's step): tokens/example is the length of the judge's encoder sequence, "
    'PAD and empty slots included (text_judges.sequence_length); tokens/s = examples/s x tokens/example.'
  )
  header2 = [
    'judge',
    'simulations',
    'batch',
    'tokens/eval',
    'compile_s',
    'median_s',
    'games/s',
    'judge evals/s in search',
    'plain forward evals/s',
    'ratio',
  ]
  body2 = [
    [
      r['judge'],
      str(r['budget']),
      str(r['batch']),
      str(r['tokens_per_eval']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["games_per_s"]:,.2f}',
      f'{r["judge_evals_per_s"]:,.0f}',
      f'{r["forward_evals_per_s"]:,.0f}',
      f'{r["ratio"]:.2f}',
    ]
    for r in search_rows
  ]
  search_note = (
    'debate/mcts:B (both debaters), k (B + 1) judge evaluations per game in the searches; ratio: judge '
    'evaluations per second in the search over those of the plain jitted forward pass on as many views per '
    'call, timed interleaved (medians).'
  )
  tables = []
  if train_rows:
    tables.append(markdown_table(header, body, set(range(1, len(header))), table_caption(train_note, env)))
  if search_rows:
    tables.append(markdown_table(header2, body2, set(range(1, len(header2))), table_caption(search_note, env)))
  return '\n'.join(tables)


def render_text_csv(train_rows: Sequence[dict], search_rows: Sequence[dict]) -> str:
  """One CSV line per row: part (train or search), judge, batch, then the part's fields (blank for the other's)."""
  header = ['part', 'judge', 'batch', 'simulations', 'k', 'tokens_per_example', 'examples_per_s', 'tokens_per_s']
  header += ['judge_evals_per_s', 'forward_evals_per_s', 'ratio']
  train = [
    ['train', r['judge'], r['batch'], '', r['k'], r['tokens_per_example'], r['examples_per_s'], r['tokens_per_s']]
    + [''] * 3
    for r in train_rows
  ]
  search = [
    ['search', r['judge'], r['batch'], r['budget'], r['k'], r['tokens_per_eval'], '', '']
    + [r['judge_evals_per_s'], r['forward_evals_per_s'], r['ratio']]
    for r in search_rows
  ]
  return csv_table(header, train + search)
