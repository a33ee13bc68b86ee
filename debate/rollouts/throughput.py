"""Throughput of the batched, sharded rollouts (launch/bench.py runs these; training: debate/training/throughput.py).

- Chain games (`measure_chain`): games/s of `debate.rollouts.chain.run_games` per protocol, batch size and
  device count.
- Judge ladders (`measure_ladder`): what compiling the game function once per judge architecture saves.
- Image debate with MCTS debaters (`measure_images`), against the judge's own batched forward pass (the
  ceiling). A game of k moves with B simulations per move calls the judge k (B + 1) + 1 times: per move, one
  rollout for the root's value and one per simulation, then the verdict. Every call evaluates one planes
  tensor per game, and the games of a batch are vmapped, so each call is one judge forward pass at the batch
  size. The ceiling is therefore the judge's plain forward throughput at the same batch size, and

    efficiency = (judge evaluations per second inside the search) / (plain forward evaluations per second)

  measures everything else (tree bookkeeping, rollouts, masking): 1.0 would be a search that costs nothing
  beyond its judge calls. The two are timed interleaved (a search call, then the same number of plain
  batched forward calls in one compiled loop, and again), so machine load falls on both alike; each row
  also gives the judge's achieved FLOP/s inside the search against the devices' peak where it is known
  (`peak_flops`: on CPU, cores x clock x FP32 FLOPs per cycle of its widest FMA; on accelerators PEAK_FLOPS).

Every benchmark times with `time_calls` and describes its machine with `environment`. Judges are untrained:
their speed does not depend on their weights.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from typing import Any, Callable, Iterable, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from debate.games import pixels as image_game
from debate.reports.tables import markdown_table
from debate.rollouts import chain as rollout
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.tasks import images as image_task
from judges import chain_checkers, image_judges

LADDER_MODES = ('traced', 'static_seed', 'static_judge')

# ------------------------------------------------------------------------------------------------------------
# Shared by every benchmark.


def environment() -> dict:
  """JAX version, backend, device kind and count, CPU count, Python and platform of this process."""
  return {
    'jax': jax.__version__,
    'backend': jax.default_backend(),
    'device_kind': jax.devices()[0].device_kind,
    'device_count': jax.device_count(),
    'cpu_count': os.cpu_count(),
    'python': platform.python_version(),
    'platform': platform.platform(),
  }


def time_calls(fn: Callable[[int], Any], calls: int) -> list[float]:
  """Seconds of each of fn(0), fn(1), .., fn(calls - 1), each blocked on its result: [calls]."""
  times = []
  for i in range(calls):
    start = time.perf_counter()
    jax.block_until_ready(fn(i))
    times.append(time.perf_counter() - start)
  return times


def timing_fields(times: Sequence[float]) -> dict:
  """A row's median_s, min_s, max_s and times_s [repeats] of timed calls."""
  return {'median_s': statistics.median(times), 'min_s': min(times), 'max_s': max(times), 'times_s': list(times)}


def table_caption(note: str, env: dict | None = None) -> str:
  """A bench table's caption: `note`, then a line describing `env` (an `environment()`) if given."""
  return (
    note
    if env is None
    else f'{note} JAX {env["jax"]} · backend {env["backend"]} · device kind {env["device_kind"]} · {env["cpu_count"]} CPUs.'
  )


def _ratio(value: float | None) -> str:
  return '—' if value is None else f'{value:.2f}x'


# ------------------------------------------------------------------------------------------------------------
# Chain games.


def measure_chain(
  protocols: Sequence[str],
  judge: str,
  T: int,
  batch_sizes: Sequence[int],
  *,
  repeats: int = 5,
  modulus: int = 17,
  devices: int | None = None,
  s: int = 4,
  seed: int = 0,
  on_row: Callable[[dict], None] | None = None,
  log: Callable[[str], None] | None = None,
) -> list[dict]:
  """Times `rollout.run_games` on the chain task for each protocol x batch size on `devices` devices.

  `devices`: the first that many of `jax.devices()` (default: all). A batch size is rounded up to a multiple
  of the device count, and one call plays one batch. The first call (compilation plus one run) is also the
  warm-up; `repeats` further calls follow, call r playing games r * batch .. (r + 1) * batch - 1, so no call
  sees another's inputs. Returns one row per measurement: first_s, median_s, min_s, max_s, times_s
  [repeats], compile_s (first_s - median_s) and games_per_s (batch / median_s); each is also passed to
  `on_row` as soon as it is measured.
  """
  if repeats < 1:
    raise ValueError(f'repeats must be >= 1, got {repeats}')
  available = jax.devices()
  n = len(available) if devices is None else devices
  if not 1 <= n <= len(available):
    raise ValueError(f'asked for {n} devices, this process has {len(available)} ({jax.default_backend()})')
  mesh = runner.data_mesh(available[:n])
  checker = chain_checkers.parse_checker(judge, modulus=modulus)
  params = chain_checkers.init_params(checker, jax.random.key(seed))
  rows = []
  for spec in protocols:
    arm = rollout.parse_arm(spec, s)
    for requested in batch_sizes:
      batch = -(-requested // n) * n
      play = lambda r, arm=arm, batch=batch: rollout.run_games(
        arm, checker, params, length=T, seed=seed, num_games=batch, batch_size=batch, mesh=mesh, first_index=r * batch
      )
      first_s, *times = time_calls(play, repeats + 1)
      timing = timing_fields(times)
      row = {
        'task': 'chain',
        'protocol': arm.name,
        'judge': checker.name,
        'T': T,
        'modulus': modulus,
        'devices': n,
        'batch': batch,
        'batch_requested': requested,
        'repeats': repeats,
        'first_s': first_s,
        'compile_s': first_s - timing['median_s'],
        **timing,
        'games_per_s': batch / timing['median_s'],
      }
      rows.append(row)
      if log:
        log(
          f'{arm.name} judge={checker.name} T={T} devices={n} batch={batch}: first {first_s:.2f} s, '
          f'median {row["median_s"]:.4f} s, {row["games_per_s"]:,.0f} games/s'
        )
      if on_row:
        on_row(row)
  return rows


def add_speedups(rows: Iterable[dict]) -> list[dict]:
  """Copies of chain `rows` with 'speedup_vs_1': games/s over games/s on 1 device at the same protocol,
  judge, T and requested batch size (None where no 1-device row exists)."""
  rows = list(rows)
  key = lambda r: (r['protocol'], r['judge'], r['T'], r['batch_requested'])
  single = {key(r): r['games_per_s'] for r in rows if r['devices'] == 1}
  return [{**r, 'speedup_vs_1': r['games_per_s'] / single[key(r)] if single.get(key(r)) else None} for r in rows]


def render_chain_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table of chain rows, one line each; its caption names `env` (an `environment()`) if given."""
  header = ['protocol', 'judge', 'T', 'devices', 'batch', 'compile_s', 'median_s', 'games/s', 'speedup vs 1 device']
  body = [
    [
      r['protocol'],
      r['judge'],
      str(r['T']),
      str(r['devices']),
      str(r['batch']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["games_per_s"]:,.0f}',
      _ratio(r['speedup_vs_1']),
    ]
    for r in add_speedups(rows)
  ]
  return markdown_table(
    header,
    body,
    set(range(3, len(header))),
    table_caption(
      'compile_s: the first call less the median; speedup: games/s over games/s on 1 device at the same batch.', env
    ),
  )


# ------------------------------------------------------------------------------------------------------------
# Judge ladders.


def measure_ladder(
  protocols: Sequence[str],
  judge: str,
  T: int,
  *,
  judges: int = 4,
  seeds: int = 3,
  games: int = 64,
  repeats: int = 3,
  modes: Sequence[str] = LADDER_MODES,
  modulus: int = 17,
  s: int = 4,
  log: Callable[[str], None] | None = None,
) -> list[dict]:
  """Plays `protocols` x `judges` judges of architecture `judge` (init keys 0 .. judges - 1) x seeds 0 ..
  seeds - 1, `games` games each (one batch) at chain length T on the first device, `repeats` times per mode,
  each time from a cold cache of compiled games. Modes: `traced` (run_games: seed and judge params are
  arguments), `static_seed` (the seed's key compiled in, params traced) and `static_judge` (params and seed
  compiled in as constants).

  Returns one row per mode: compilations [repeats] (of the game function, per repeat), times_s [repeats],
  median_s, ratio_to_traced (median_s over the traced mode's; None without a traced row) and
  same_outcomes (every game's outcome equals the first mode's, None for the first mode).
  """
  unknown = sorted(set(modes) - set(LADDER_MODES))
  if unknown:
    raise ValueError(f'unknown ladder modes {unknown}; expected some of {", ".join(LADDER_MODES)}')
  if min(judges, seeds, games, repeats) < 1:
    raise ValueError('judges, seeds, games and repeats must all be >= 1')
  mesh = runner.data_mesh(jax.devices()[:1])
  checker = chain_checkers.parse_checker(judge, modulus=modulus)
  ladder = [chain_checkers.init_params(checker, jax.random.key(j)) for j in range(judges)]
  arms = [rollout.parse_arm(spec, s) for spec in protocols]
  indices = jax.device_put(np.arange(games, dtype=np.uint32), NamedSharding(mesh, P('data')))
  length = np.int32(T)

  def play_all(mode: str) -> tuple[int, dict]:
    """(compilations, {(protocol, judge, seed): outcome['correct'] [games]}), from a cold cache."""
    runner.compiled_games.cache_clear()
    before, static, outcomes = runner.compilations(), {}, {}
    for arm in arms:
      fn = runner.compiled_games(rollout.ChainPlayer(arm.structure, checker, rollout.padded_length(T)), mesh, 1, 4)
      for j, params in enumerate(ladder):
        for seed in range(seeds):
          if mode == 'traced':
            outcome, _ = rollout.run_games(
              arm, checker, params, length=T, seed=seed, num_games=games, batch_size=games, mesh=mesh
            )
          elif mode == 'static_seed':
            game = static.setdefault(
              (arm, seed), jax.jit(lambda i, n, p, fn=fn, seed=seed: fn(i, n, jax.random.key(seed), p, (None, None)))
            )
            outcome, _ = jax.device_get(game(indices, length, params))
          else:
            static[arm, j, seed] = jax.jit(
              lambda i, n, fn=fn, seed=seed, params=params: fn(i, n, jax.random.key(seed), params, (None, None))
            )
            outcome, _ = jax.device_get(static[arm, j, seed](indices, length))
          outcomes[arm.name, j, seed] = np.asarray(outcome['correct'])
    if mode == 'traced':
      return runner.compilations() - before, outcomes
    return sum(f._cache_size() for f in static.values()), outcomes

  rows, reference = [], None
  for mode in modes:
    results = []  # (compilations, outcomes) of each repeat.
    times = time_calls(lambda _: results.append(play_all(mode)), repeats)
    compiled = [count for count, _ in results]
    outcomes = results[-1][1]
    same = None if reference is None else all(np.array_equal(outcomes[k], reference[k]) for k in reference)
    reference = outcomes if reference is None else reference
    rows.append(
      {
        'mode': mode,
        'protocols': list(protocols),
        'judge': checker.name,
        'judges': judges,
        'seeds': seeds,
        'games': games,
        'T': T,
        'repeats': repeats,
        'compilations': compiled,
        'times_s': times,
        'median_s': statistics.median(times),
        'same_outcomes': same,
      }
    )
    if log:
      log(f'[bench ladder] {mode}: {compiled[0]} compilations, median {rows[-1]["median_s"]:.2f} s over {repeats}')
  traced = next((r['median_s'] for r in rows if r['mode'] == 'traced'), None)
  return [{**r, 'ratio_to_traced': r['median_s'] / traced if traced else None} for r in rows]


def render_ladder_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table of ladder rows, one line per compilation mode."""
  header = ['mode', 'judge', 'judges x seeds', 'protocols', 'compilations', 'median_s', 'vs traced', 'same outcomes']
  body = [
    [
      r['mode'],
      r['judge'],
      f'{r["judges"]} x {r["seeds"]}',
      str(len(r['protocols'])),
      '/'.join(map(str, r['compilations'])),
      f'{r["median_s"]:.2f}',
      _ratio(r['ratio_to_traced']),
      {None: '—', True: 'yes', False: 'no'}[r['same_outcomes']],
    ]
    for r in rows
  ]
  caption = table_caption(
    "compilations: of the game function, per repeat; vs traced: median_s over the traced mode's; "
    "same outcomes: every game's outcome is the first mode's.",
    env,
  )
  return markdown_table(header, body, {2, 3, 4, 5, 6}, caption)


# ------------------------------------------------------------------------------------------------------------
# Image debate.


def synthetic_digits(num: int, seed: int = 0, size: int = 28, nonzero: int = 150) -> np.ndarray:
  """[num, size, size] float32 images with `nonzero` nonzero pixels each (MNIST's mean is about 150)."""
  rng = np.random.default_rng(seed)
  images = np.zeros((num, size * size), np.float32)
  for image in images:
    image[rng.choice(size * size, nonzero, replace=False)] = rng.uniform(0.05, 1.0, nonzero)
  return images.reshape(num, size, size)


def judge_evaluations_per_game(k: int, budget: int) -> int:
  return k * (budget + 1) + 1


def forward_loop(judge: image_judges.ImageJudge, params, images: np.ndarray, batch: int, calls: int):
  """The judge's plain batched forward pass, `calls` times in one compiled loop: fn(r) -> a scalar.

  Every call evaluates `batch` planes (images [N, H, W] with every nonzero pixel revealed), scaled by the
  iteration so that no call can be hoisted out of the loop; r picks the inputs of repeat r."""
  sharding = NamedSharding(runner.data_mesh(), P('data'))
  chosen = np.stack([images[i % len(images)] for i in range(batch)])
  planes = jax.device_put(jax.vmap(image_task.judge_planes)(chosen, chosen > 0), sharding)

  @jax.jit
  def loop(params, planes, r):
    def body(i, total):
      return total + judge.logits(params, planes * (1.0 - 1e-7 * (i + r * calls))).sum()

    return jax.lax.fori_loop(0, calls, body, 0.0)

  return lambda r: loop(params, planes, r)


# Dense bf16 peak FLOP/s per device, from the vendors' data sheets, by `device.device_kind`: the usual MFU
# denominator. The judges train in float32, so their MFU against it is a lower bound on how busy a device is.
PEAK_FLOPS = {
  'TPU v4': 275e12,
  'TPU v5 lite': 197e12,
  'TPU v5': 459e12,
  'TPU v5p': 459e12,
  'TPU v6 lite': 918e12,
  'NVIDIA H100 80GB HBM3': 989e12,
  'NVIDIA H100 PCIe': 756e12,
  'NVIDIA H200': 989e12,
  'NVIDIA A100-SXM4-40GB': 312e12,
  'NVIDIA A100-SXM4-80GB': 312e12,
  'NVIDIA A100 80GB PCIe': 312e12,
}


def peak_flops() -> float | None:
  """Peak FLOP/s of this process's devices where it is known: on CPU the FP32 peak, cores x clock x FLOPs per
  cycle (2 FMA units x lanes x 2: 64 with AVX-512, 32 with AVX2 + FMA, 8 otherwise) from /proc/cpuinfo; on an
  accelerator PEAK_FLOPS's dense bf16 figure for its device kind (None if not listed)."""
  if jax.default_backend() != 'cpu':
    return PEAK_FLOPS.get(jax.devices()[0].device_kind)
  try:
    with open('/proc/cpuinfo') as f:
      info = f.read()
  except OSError:
    return None
  flags = set(next((line.split(':', 1)[1].split() for line in info.splitlines() if line.startswith('flags')), []))
  mhz = next((float(line.split(':', 1)[1]) for line in info.splitlines() if line.startswith('cpu MHz')), None)
  per_cycle = 64 if 'avx512f' in flags else 32 if {'avx2', 'fma'} <= flags else 8
  return os.cpu_count() * mhz * 1e6 * per_cycle if mhz else None


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
  """k-pixel precommit debate, MCTS:B against MCTS:B, honest first, on `images` [N, H, W] (default:
  synthetic digits) on every device: one row per (budget, batch size): medians of `repeats` search calls and,
  interleaved with them, of as many plain forward calls as the search makes judge calls (see the module
  docstring); efficiency = forward median / search median."""
  image_judge = image_judges.ImageJudge(judge)
  images = synthetic_digits(max(batch_sizes) * (repeats + 1), seed) if images is None else images
  params = image_judges.init_judge(image_judges.make_judge(judge), jax.random.key(seed), image_shape=images.shape[1:])
  labels = np.arange(len(images), dtype=np.int32) % 2  # Two classes: one lie per image.
  num_actions = image_game.action_space_size(images)
  mesh = runner.data_mesh()
  flops, peak = image_judges.forward_flops(image_judge, params, images.shape[1:3]), peak_flops()
  rows = []
  for budget in budgets:
    arm = image_rollout.parse_image_arm(f'debate/mcts:{budget}')
    for batch in batch_sizes:

      def play(r, batch=batch):
        chosen = (np.arange(batch) + r * batch) % len(images)
        # One game per image (lie 0 only: repeats=1 and a one-lie arm) so a call is exactly `batch` games.
        return image_rollout.run_games(
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
        )[0]['correct']

      calls = judge_evaluations_per_game(k, budget)  # Batched judge calls per search call.
      forward = forward_loop(image_judge, params, images, batch, calls)
      search_times, forward_times = [], []
      for r in range(repeats + 1):  # Interleaved; call 0 of each compiles.
        search_times += time_calls(lambda _, r=r: play(r), 1)
        forward_times += time_calls(lambda _, r=r: forward(r), 1)
      median, forward_median = statistics.median(search_times[1:]), statistics.median(forward_times[1:])
      evaluations = calls * batch / median
      row = {
        'budget': budget,
        'batch': batch,
        'k': k,
        'judge': judge,
        'devices': mesh.devices.size,
        'compile_s': round(search_times[0] - median, 2),
        'median_s': round(median, 4),
        'forward_median_s': round(forward_median, 4),
        'games_per_s': round(batch / median, 3),
        'judge_evals_per_s': round(evaluations, 1),
        'forward_evals_per_s': round(calls * batch / forward_median, 1),
        'efficiency': round(forward_median / median, 3),
        'judge_flops_per_eval': flops,
        'judge_flops_per_s': round(evaluations * flops),
        'fraction_of_peak': round(evaluations * flops / peak, 4) if peak else None,
        **peak_memory(),
      }
      log(
        f'[bench images] mcts:{budget} batch {batch}: {row["games_per_s"]} games/s, '
        f'{row["judge_evals_per_s"]:,.0f} judge evals/s = {row["efficiency"]:.2f} of the plain forward pass'
      )
      rows.append(row)
  return rows


def render_images_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table of image rows, one line per (simulations, batch)."""
  header = [
    'simulations',
    'batch',
    'devices',
    'compile_s',
    'median_s',
    'games/s',
    'judge evals/s in search',
    'plain forward evals/s',
    'efficiency',
    'judge GFLOP/s in search',
    'of peak',
    'peak memory',
  ]
  body = [
    [
      str(r['budget']),
      str(r['batch']),
      str(r['devices']),
      str(r['compile_s']),
      str(r['median_s']),
      f'{r["games_per_s"]:,}',
      f'{r["judge_evals_per_s"]:,.0f}',
      f'{r["forward_evals_per_s"]:,.0f}',
      f'{r["efficiency"]:.2f}',
      f'{r["judge_flops_per_s"] / 1e9:,.1f}',
      '—' if r['fraction_of_peak'] is None else f'{100 * r["fraction_of_peak"]:.1f}%',
      ', '.join(f'{k} {v}' for k, v in r.items() if k.endswith('_gb')),
    ]
    for r in rows
  ]
  return markdown_table(
    header,
    body,
    set(range(11)),
    table_caption(
      'efficiency: judge evaluations per second in the search over those of the plain forward pass, timed '
      "interleaved (medians); of peak: the judge FLOP/s in the search over the devices' peak (`peak_flops`).",
      env,
    ),
  )
