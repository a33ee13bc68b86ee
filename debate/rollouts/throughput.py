"""Throughput of image debate with MCTS debaters, against the judge's own batched forward pass (the ceiling).

A game of k moves with B simulations per move calls the judge k (B + 1) + 1 times: per move, one rollout
for the root's value and one per simulation, then the verdict. Every call evaluates one planes tensor per
game, and the games of a batch are vmapped, so each call is one judge forward pass at the batch size. The
ceiling is therefore the judge's plain forward throughput at the same batch size, and

  efficiency = (judge evaluations per second inside the search) / (plain forward evaluations per second)

measures everything else (tree bookkeeping, rollouts, masking): 1.0 would be a search that costs nothing
beyond its judge calls.
"""

from __future__ import annotations

import resource
import statistics
import time
from typing import Sequence

import jax
import numpy as np

from debate.games import pixels as image_game
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.tasks import images as image_task
from judges import image_judges


def synthetic_digits(num: int, seed: int = 0, size: int = 28, nonzero: int = 150) -> np.ndarray:
  """[num, size, size] float32 images with `nonzero` nonzero pixels each (MNIST's mean is about 150)."""
  rng = np.random.default_rng(seed)
  images = np.zeros((num, size * size), np.float32)
  for image in images:
    image[rng.choice(size * size, nonzero, replace=False)] = rng.uniform(0.05, 1.0, nonzero)
  return images.reshape(num, size, size)


def judge_evaluations_per_game(k: int, budget: int) -> int:
  return k * (budget + 1) + 1


def _median_time(fn, repeats: int) -> tuple[float, float]:
  """(first call s, median of `repeats` further calls s); every call is blocked on."""
  start = time.perf_counter()
  jax.block_until_ready(fn(0))
  first = time.perf_counter() - start
  times = []
  for r in range(1, repeats + 1):
    start = time.perf_counter()
    jax.block_until_ready(fn(r))
    times.append(time.perf_counter() - start)
  return first, statistics.median(times)


def forward_throughput(judge: image_judges.ImageJudge, params, images: np.ndarray, batch: int, repeats: int) -> float:
  """The judge's plain batched forward pass: planes per second at `batch`."""
  mesh = runner.data_mesh()
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  chosen = np.stack([images[i % len(images)] for i in range(batch)])
  planes = jax.vmap(image_task.judge_planes)(chosen, chosen > 0)  # Every nonzero pixel revealed.
  inputs = [jax.device_put(planes * (1.0 - 1e-3 * r), sharding) for r in range(repeats + 1)]
  forward = jax.jit(judge.logits)
  _, median = _median_time(lambda r: forward(params, inputs[r]), repeats)
  return batch / median


def peak_memory() -> dict:
  """Peak bytes in use: per accelerator device where the backend reports it, and this process's peak RSS."""
  out = {'host_peak_rss_gb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}
  stats = jax.devices()[0].memory_stats() if jax.devices()[0].platform != 'cpu' else None
  if stats and 'peak_bytes_in_use' in stats:
    out['device_peak_gb'] = round(stats['peak_bytes_in_use'] / 2**30, 3)
  return out


def measure_images(
  *,
  budgets: Sequence[int],
  batch_sizes: Sequence[int],
  k: int = 6,
  judge: str = 'irving_cnn',
  repeats: int = 3,
  images: np.ndarray | None = None,
  seed: int = 0,
  log=print,
) -> list[dict]:
  """k-pixel precommit debate, MCTS:B against MCTS:B, honest first: one row per (budget, batch size)."""
  image_judge = image_judges.ImageJudge(judge)
  images = synthetic_digits(max(batch_sizes) * (repeats + 1), seed) if images is None else images
  params = image_judges.init_judge(image_judges.make_judge(judge), jax.random.key(seed), image_shape=images.shape[1:])
  labels = np.arange(len(images), dtype=np.int32) % 2  # Two classes: one lie per image.
  num_actions = image_game.action_space_size(images)
  mesh = runner.data_mesh()
  rows = []
  for budget in budgets:
    arm = image_rollout.parse_image_arm(f'debate/mcts:{budget}')
    for batch in batch_sizes:

      def call(r, batch=batch):
        chosen = (np.arange(batch) + r * batch) % len(images)
        # One game per image (lie 0 only: repeats=1 and a one-lie arm) so a call is exactly `batch` games.
        outcome, _ = image_rollout.run_games(
          arm,
          image_judge,
          params,
          images[chosen],
          labels[chosen],
          chosen.astype(np.int32),
          k=k,
          num_actions=num_actions,
          num_classes=2,
          first='honest',
          seed=seed,
          repeats=1,
          batch_size=batch,
          mesh=mesh,
        )
        return outcome['correct']

      first, median = _median_time(call, repeats)
      evaluations = judge_evaluations_per_game(k, budget) * batch / median
      ceiling = forward_throughput(image_judge, params, images, batch, repeats)
      row = {
        'budget': budget,
        'batch': batch,
        'k': k,
        'judge': judge,
        'devices': mesh.devices.size,
        'compile_s': round(first - median, 2),
        'median_s': round(median, 4),
        'games_per_s': round(batch / median, 3),
        'judge_evals_per_s': round(evaluations, 1),
        'forward_evals_per_s': round(ceiling, 1),
        'efficiency': round(evaluations / ceiling, 3),
        **peak_memory(),
      }
      log(
        f'[bench images] mcts:{budget} batch {batch}: {row["games_per_s"]} games/s, '
        f'{row["judge_evals_per_s"]:,.0f} judge evals/s = {row["efficiency"]:.2f} of the plain forward pass'
      )
      rows.append(row)
  return rows


def render_markdown(rows: Sequence[dict]) -> str:
  env = f'JAX {jax.__version__} · backend {jax.default_backend()} · {jax.devices()[0].device_kind}'
  lines = [
    env,
    '',
    '| simulations | batch | devices | compile_s | median_s | games/s | judge evals/s in search '
    '| plain forward evals/s | efficiency | peak memory |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  for r in rows:
    memory = ', '.join(f'{k} {v}' for k, v in r.items() if k.endswith('_gb'))
    lines.append(
      f'| {r["budget"]} | {r["batch"]} | {r["devices"]} | {r["compile_s"]} | {r["median_s"]} | '
      f'{r["games_per_s"]:,} | {r["judge_evals_per_s"]:,.0f} | {r["forward_evals_per_s"]:,.0f} | '
      f'{r["efficiency"]:.2f} | {memory} |'
    )
  return '\n'.join(lines) + '\n'
