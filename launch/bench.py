"""Throughput benchmark of the batched, sharded rollouts (`debate.rollouts.chain.run_games`).

  python -m launch.bench --task=chain --out=/tmp/bench_chain

is, with every default spelled out,

  python -m launch.bench --task=chain --protocols=debate/mcts:16,debate/random,consultancy \
      --judge=learned:96 --T=64 --batch_sizes=256,1024,4096 --devices=1,4 --repeats=5 --modulus=17 \
      --out=/tmp/bench_chain

For each device count N the benchmark runs a child process of itself (`--worker`) with
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, set before JAX initialises. For each protocol and
batch size the child plays `batch` games per call of `run_games` (`num_games = batch_size`, so one call is
one compiled batch) and measures:
  first_s:   the first call: compilation plus one run (it also serves as the warm-up);
  median_s:  the median of `--repeats` further calls (each blocks on its result), with min_s and max_s;
  compile_s: first_s - median_s;  games_per_s: batch / median_s.
Repeat r plays games r * batch .. (r + 1) * batch - 1, so no call sees the inputs of another. The table also
gives games/s on N devices divided by games/s on 1 device at the same batch size ("speedup vs 1 device").
The judge is untrained (`init_params`): its speed does not depend on its weights.

On a CPU the N 'devices' are simulated and share the same physical cores, so the speedup there measures
the overhead of sharding, not the gain of N devices; real speedups need real devices (e.g. several GPUs,
where --devices picks the first N). One caveat: XLA:CPU runs much of one device's program (the games'
while loops) on a single thread, so N simulated devices can also occupy up to min(N, CPU count) cores, and
a speedup up to the CPU count (2x on a 2-core machine) is spare cores being used, not scaling.

Training throughput (`--train=judge`): the image judge's train step (judges/train.py) on each (data, model)
device mesh, one child process per mesh with data x model devices:

  python -m launch.bench --train=judge --mesh=data:1,model:1 --mesh=data:4,model:1 \
      --mesh=data:2,model:2 --train_judge=irving_cnn --train_batch_size=128 --train_steps=10 --repeats=5 \
      --out=/tmp/bench_train

(the first two --mesh values are the default). Each child compiles the step (compile_s, reported apart),
runs 2 warm-up steps, then `--repeats` timed repetitions of `--train_steps` steps, each fed from the host
and ended by block_until_ready; the table gives the median repetition, steps/s, examples/s, steps/s
relative to the first mesh, XLA's FLOPs per step and device, and the model FLOPs utilisation where the
device's peak is known (PEAK_FLOPS; blank on CPU).

Self-play training (`--train=selfplay`): the AlphaZero-style step of the chain debaters (debate/training/selfplay.py:
`--train_batch_size` games of split-choice debate per step, both roles moved by a Gumbel MuZero search of
`--selfplay_simulations` simulations a ply, then one Adam update), its games split over every device of the
mesh and its params and Adam moments FSDP-style over 'model' (debate.distributed.sharding's layout):

  python -m launch.bench --train=selfplay --mesh=data:1 --mesh=data:4 --train_batch_size=64 \
      --train_steps=10 --repeats=3 --modulus=17 --selfplay_max_length=16 --selfplay_simulations=16 \
      --selfplay_width=128 --out=/tmp/bench_selfplay

Its steps run as one compiled `lax.scan` of `--train_steps` steps, as in training (compile_s is that
call's compilation; one warm-up call); examples/s counts self-play games.

Judge ladders (`--ladder`): what compiling once per judge architecture saves. A ladder of
`--ladder_judges` judges of the one architecture `--judge` (untrained, init keys 0, 1, ...) x `--ladder_seeds`
seeds x `--protocols`, `--ladder_games` games each at `--T`, played in this process on its first device:

  python -m launch.bench --task=chain --ladder --protocols=debate/random,debate/mcts:4,consultancy \
      --judge=learned:32 --T=16 --ladder_judges=4 --ladder_seeds=3 --ladder_games=64 --repeats=3

once per mode and repeat, each from a cold cache of compiled games: `traced` (run_games: seed and judge
params are arguments, one compilation per protocol), `static_seed` (the seed's key compiled in, params
traced: one per protocol and seed, as before judge params and seeds were data) and `static_judge` (params
and seed compiled in as constants: one per protocol, judge and seed). The table gives the compilations of
the game function per repeat (counted by the jitted functions' caches), the median wall time, its ratio to
`traced`, and whether every game's outcome is the traced mode's.

Bad flags exit with status 2 and one line, `error: ...`, naming the flag, before anything runs.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Iterable, Sequence

from absl import app, flags

TASKS = ('chain', 'images')
FORCE_DEVICES = '--xla_force_host_platform_device_count'

_TASK = flags.DEFINE_string('task', None, f'Task to benchmark; available: {", ".join(TASKS)}.')
_PROTOCOLS = flags.DEFINE_list(
  'protocols',
  ['debate/mcts:16', 'debate/random', 'consultancy'],
  "Protocol arms: 'direct', 'consultancy', 'debate/random', 'debate/greedy', 'debate/mcts:BUDGET'.",
)
_JUDGE = flags.DEFINE_string('judge', 'learned:96', "Judge: 'exact', 'noisy:EPS' or 'learned:WIDTH'.")
_T = flags.DEFINE_integer('T', 64, 'Chain length.')
_BATCH_SIZES = flags.DEFINE_list('batch_sizes', ['256', '1024', '4096'], 'Global batch sizes (games per call).')
_DEVICES = flags.DEFINE_list('devices', ['1', '4'], 'Device counts; one child process each.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed calls per measurement after the first (compiling) one.')
_MODULUS = flags.DEFINE_integer('modulus', 17, 'Modulus m of the chain task: a prime in [3, 211].')
_S = flags.DEFINE_integer('s', 4, "The judge's step-check budget in direct and consultancy.")
_SEED = flags.DEFINE_integer('seed', 0, 'Run seed.')
_OUT = flags.DEFINE_string('out', None, 'If set, write bench_chain.json and bench_chain.md to this directory.')
_WORKER = flags.DEFINE_bool(
  'worker',
  False,
  "Internal: measure on this process's devices (exactly one --devices value) and print one JSON line per measurement.",
)
_SIMULATIONS = flags.DEFINE_list('simulations', ['100', '1000'], '--task=images: MCTS simulations per move.')
_IMAGE_BATCH_SIZES = flags.DEFINE_list(
  'image_batch_sizes', ['32', '128', '512', '1024'], '--task=images: games per call (one compiled batch).'
)
_IMAGE_K = flags.DEFINE_integer('k', 6, '--task=images: pixels revealed per game.')
_IMAGE_JUDGE = flags.DEFINE_string(
  'image_judge', 'irving_cnn', '--task=images: the judge model (untrained weights: its speed does not depend on them).'
)
_IMAGE_DATA_DIR = flags.DEFINE_string(
  'image_data_dir',
  None,
  '--task=images: IDX folder whose test images to play '
  '(default: synthetic images with 150 nonzero pixels, like MNIST).',
)
_LADDER = flags.DEFINE_bool(
  'ladder', False, '--task=chain: time a ladder of judges of one architecture x seeds in each --ladder_modes.'
)
_LADDER_JUDGES = flags.DEFINE_integer('ladder_judges', 4, '--ladder: judges of the --judge architecture.')
_LADDER_SEEDS = flags.DEFINE_integer('ladder_seeds', 3, '--ladder: run seeds per judge.')
_LADDER_GAMES = flags.DEFINE_integer('ladder_games', 64, '--ladder: games per (protocol, judge, seed), one batch.')
_LADDER_MODES = flags.DEFINE_list(
  'ladder_modes',
  ['traced', 'static_seed', 'static_judge'],
  '--ladder: how the game function is compiled: traced (seed and params are arguments), static_seed (the seed '
  'compiled in) or static_judge (seed and judge params compiled in).',
)
_TRAIN = flags.DEFINE_string(
  'train',
  None,
  "Benchmark training instead of a task's rollouts: 'judge' (the "
  "image judge trainer, judges/train.py) or 'selfplay' (the chain debaters' "
  'self-play, debate/training/selfplay_chain.py).',
)
_MESH = flags.DEFINE_multi_string(
  'mesh',
  ['data:1,model:1', 'data:4,model:1'],
  '--train: a (data, model) device mesh, data:D,model:M; repeat the flag for '
  'several; one child process each, with D * M devices.',
)
_TRAIN_JUDGE = flags.DEFINE_string('train_judge', 'irving_cnn', '--train=judge: the image judge model.')
_TRAIN_BATCH_SIZE = flags.DEFINE_integer('train_batch_size', 128, '--train=judge: the global batch.')
_TRAIN_K = flags.DEFINE_integer('train_k', 6, '--train=judge: pixels per mask.')
_TRAIN_STEPS = flags.DEFINE_integer('train_steps', 10, '--train: steps per timed repetition.')
_SELFPLAY_MAX_LENGTH = flags.DEFINE_integer(
  'selfplay_max_length', 16, '--train=selfplay: the longest chain (games have T uniform in [2, this]).'
)
_SELFPLAY_SIMULATIONS = flags.DEFINE_integer(
  'selfplay_simulations', 16, '--train=selfplay: search simulations per ply.'
)
_SELFPLAY_WIDTH = flags.DEFINE_integer('selfplay_width', 128, '--train=selfplay: the network width.')


class UsageError(ValueError):
  """A bad flag value; the message names the flag."""


def fail(message: str) -> None:
  """Prints `error: message` to stderr and exits with status 2 (bad usage)."""
  print(f'error: {message}', file=sys.stderr)
  sys.exit(2)


# ------------------------------------------------------------------------------------------------------------
# Measurement (in the worker process, or called directly by tests).


def environment() -> dict:
  """JAX version, backend, device kind and count, CPU count of this process."""
  import jax

  devices = jax.devices()
  return {
    'jax': jax.__version__,
    'backend': jax.default_backend(),
    'device_kind': devices[0].device_kind,
    'device_count': len(devices),
    'cpu_count': os.cpu_count(),
    'python': platform.python_version(),
    'platform': platform.platform(),
  }


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
  of the device count. Returns one dict per measurement (see the module docstring for the fields); each is
  also passed to `on_row` as soon as it is measured.
  """
  import jax

  from debate.rollouts import chain as rollout
  from debate.rollouts import runner
  from judges import chain_checkers

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

      def call(first_index, arm=arm, batch=batch):
        start = time.perf_counter()
        rollout.run_games(
          arm,
          checker,
          params,
          length=T,
          seed=seed,
          num_games=batch,
          batch_size=batch,
          mesh=mesh,
          first_index=first_index,
        )  # device_get inside: blocks on the result.
        return time.perf_counter() - start

      first_s = call(0)
      times = [call((r + 1) * batch) for r in range(repeats)]
      median_s = statistics.median(times)
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
        'compile_s': first_s - median_s,
        'median_s': median_s,
        'min_s': min(times),
        'max_s': max(times),
        'games_per_s': batch / median_s,
        'times_s': times,
      }
      rows.append(row)
      if log:
        log(
          f'{arm.name} judge={checker.name} T={T} devices={n} batch={batch}: first {first_s:.2f} s, '
          f'median {median_s:.4f} s, {row["games_per_s"]:,.0f} games/s'
        )
      if on_row:
        on_row(row)
  return rows


LADDER_MODES = ('traced', 'static_seed', 'static_judge')


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
  seeds - 1, `games` games each (one batch) at chain length T on the first device, `repeats` times per mode
  (see the module docstring), each time after clearing the cache of compiled games.

  Returns one row per mode: compilations [repeats] (of the game function, per repeat), times_s [repeats],
  median_s, ratio_to_traced (median_s over the traced mode's; None without a traced row) and
  same_outcomes (every game's outcome equals the first mode's, None for the first mode).
  """
  import jax
  import numpy as np
  from jax.sharding import NamedSharding
  from jax.sharding import PartitionSpec as P

  from debate.rollouts import chain as rollout
  from debate.rollouts import runner
  from judges import chain_checkers

  unknown = sorted(set(modes) - set(LADDER_MODES))
  if unknown:
    raise ValueError(f'unknown ladder modes {unknown}; expected some of {", ".join(LADDER_MODES)}')
  if min(judges, seeds, games, repeats) < 1:
    raise ValueError('judges, seeds, games and repeats must all be >= 1')
  mesh = runner.data_mesh(jax.devices()[:1])
  checker = chain_checkers.parse_checker(judge, modulus=modulus)
  ladder = [chain_checkers.init_params(checker, jax.random.key(j)) for j in range(judges)]
  arms = [rollout.parse_arm(spec, s) for spec in protocols]
  max_length = rollout.padded_length(T)
  indices = jax.device_put(np.arange(games, dtype=np.uint32), NamedSharding(mesh, P('data')))
  length = np.int32(T)

  def play_all(mode: str) -> tuple[int, dict]:
    """(compilations, {(protocol, judge, seed): outcome['correct'] [games]}), from a cold cache."""
    runner.compiled_games.cache_clear()
    before, static, outcomes = runner.compilations(), {}, {}
    for arm in arms:
      fn = runner.compiled_games(rollout.ChainPlayer(arm.structure, checker, max_length), mesh, 1, 4)
      for j, params in enumerate(ladder):
        for seed in range(seeds):
          if mode == 'traced':
            outcome, _ = rollout.run_games(
              arm, checker, params, length=T, seed=seed, num_games=games, batch_size=games, mesh=mesh
            )
          elif mode == 'static_seed':
            if (arm, seed) not in static:
              static[arm, seed] = jax.jit(
                lambda i, n, p, fn=fn, seed=seed: fn(i, n, jax.random.key(seed), p, (None, None))
              )
            outcome, _ = jax.device_get(static[arm, seed](indices, length, params))
          else:
            game = jax.jit(
              lambda i, n, fn=fn, seed=seed, params=params: fn(i, n, jax.random.key(seed), params, (None, None))
            )
            static[arm, j, seed] = game
            outcome, _ = jax.device_get(game(indices, length))
          outcomes[arm.name, j, seed] = np.asarray(outcome['correct'])
    if mode == 'traced':
      return runner.compilations() - before, outcomes
    return sum(f._cache_size() for f in static.values()), outcomes

  rows, reference = [], None
  for mode in modes:
    compiled, times = [], []
    for _ in range(repeats):
      start = time.perf_counter()
      count, outcomes = play_all(mode)
      times.append(time.perf_counter() - start)
      compiled.append(count)
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


def render_ladder_markdown(rows: Sequence[dict]) -> str:
  """A Markdown table of ladder rows: one line per compilation mode."""
  lines = [
    '| mode | judge | judges x seeds | protocols | compilations | median_s | vs traced | same outcomes |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ]
  for r in rows:
    ratio = f'{r["ratio_to_traced"]:.2f}x' if r['ratio_to_traced'] is not None else '—'
    same = {None: '—', True: 'yes', False: 'no'}[r['same_outcomes']]
    lines.append(
      f'| {r["mode"]} | {r["judge"]} | {r["judges"]} x {r["seeds"]} | {len(r["protocols"])} | '
      f'{"/".join(map(str, r["compilations"]))} | {r["median_s"]:.2f} | {ratio} | {same} |'
    )
  return '\n'.join(lines)


# ------------------------------------------------------------------------------------------------------------
# Reporting.


def _key(row: dict) -> tuple:
  return row['protocol'], row['judge'], row['T'], row['batch_requested']


def add_speedups(rows: Iterable[dict]) -> list[dict]:
  """Copies of `rows` with 'speedup_vs_1': games/s over games/s on 1 device at the same cell and batch size
  (None where no 1-device row exists)."""
  rows = list(rows)
  single = {_key(r): r['games_per_s'] for r in rows if r['devices'] == 1}
  out = []
  for r in rows:
    base = single.get(_key(r))
    out.append({**r, 'speedup_vs_1': r['games_per_s'] / base if base else None})
  return out


def environment_line(env: dict) -> str:
  return f'JAX {env["jax"]} · backend {env["backend"]} · device kind {env["device_kind"]} · {env["cpu_count"]} CPUs'


def render_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table with one line per row; preceded by an environment line when `env` is given."""
  header = ['protocol', 'judge', 'T', 'devices', 'batch', 'compile_s', 'median_s', 'games/s', 'speedup vs 1 device']
  lines = [environment_line(env), ''] if env else []
  lines.append('| ' + ' | '.join(header) + ' |')
  lines.append('|' + '|'.join(['---'] * 3 + ['---:'] * (len(header) - 3)) + '|')
  for r in add_speedups(rows):
    speedup = f'{r["speedup_vs_1"]:.2f}x' if r['speedup_vs_1'] is not None else '—'
    cells = [
      r['protocol'],
      r['judge'],
      str(r['T']),
      str(r['devices']),
      str(r['batch']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["games_per_s"]:,.0f}',
      speedup,
    ]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


# ------------------------------------------------------------------------------------------------------------
# Command line.


def _is_prime(n: int) -> bool:
  return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def _int_list(flag: str, values: Sequence[str]) -> list[int]:
  if not values:
    raise UsageError(f'--{flag} needs at least one value')
  try:
    ints = [int(v) for v in values]
  except ValueError:
    raise UsageError(f'--{flag} must be a comma-separated list of integers, got {",".join(values)!r}') from None
  bad = [i for i in ints if i < 1]
  if bad:
    raise UsageError(f'--{flag} values must be >= 1, got {bad[0]}')
  return ints


def validate() -> dict:
  """Checks every flag; returns the parsed settings. Raises UsageError naming the flag at fault."""
  from debate.rollouts import chain as rollout
  from judges import chain_checkers

  if _TASK.value is None:
    raise UsageError(f'--task is required; available: {", ".join(TASKS)}')
  if _TASK.value not in TASKS:
    raise UsageError(f'--task={_TASK.value} is not implemented yet; available: {", ".join(TASKS)}')
  if _T.value < 1:
    raise UsageError(f'--T must be >= 1, got {_T.value}')
  if _REPEATS.value < 1:
    raise UsageError(f'--repeats must be >= 1, got {_REPEATS.value}')
  if _S.value < 0:
    raise UsageError(f'--s must be >= 0, got {_S.value}')
  if not _is_prime(_MODULUS.value) or not 3 <= _MODULUS.value <= 211:
    raise UsageError(f'--modulus must be a prime in [3, 211], got {_MODULUS.value}')
  batch_sizes = _int_list('batch_sizes', _BATCH_SIZES.value)
  devices = _int_list('devices', _DEVICES.value)
  if len(set(devices)) != len(devices):
    raise UsageError(f'--devices has repeated values: {",".join(_DEVICES.value)}')
  if _WORKER.value and len(devices) != 1:
    raise UsageError('--worker takes exactly one --devices value')
  if not _PROTOCOLS.value:
    raise UsageError('--protocols needs at least one protocol')
  for spec in _PROTOCOLS.value:
    try:
      rollout.parse_arm(spec, _S.value)
    except ValueError as e:
      raise UsageError(f'--protocols: {e}') from None
  try:
    chain_checkers.parse_checker(_JUDGE.value, modulus=_MODULUS.value)
  except ValueError as e:
    raise UsageError(f'--judge: {e}') from None
  return {
    'task': _TASK.value,
    'protocols': list(_PROTOCOLS.value),
    'judge': _JUDGE.value,
    'T': _T.value,
    'batch_sizes': batch_sizes,
    'devices': devices,
    'repeats': _REPEATS.value,
    'modulus': _MODULUS.value,
    's': _S.value,
    'seed': _SEED.value,
  }


def child_env(n_devices: int, base: dict | None = None) -> dict:
  """`base` (default os.environ) with XLA_FLAGS forcing `n_devices` host devices, other XLA flags kept."""
  env = dict(os.environ if base is None else base)
  kept = [f for f in env.get('XLA_FLAGS', '').split() if not f.startswith(FORCE_DEVICES)]
  env['XLA_FLAGS'] = ' '.join(kept + [f'{FORCE_DEVICES}={n_devices}'])
  return env


def _worker(settings: dict) -> None:
  """Prints an 'env' JSON line, then one 'row' JSON line per measurement, to stdout; progress to stderr."""

  def emit(kind, payload):
    print(json.dumps({'kind': kind, **payload}), flush=True)

  emit('env', environment())
  try:
    measure_chain(
      settings['protocols'],
      settings['judge'],
      settings['T'],
      settings['batch_sizes'],
      repeats=settings['repeats'],
      modulus=settings['modulus'],
      devices=settings['devices'][0],
      s=settings['s'],
      seed=settings['seed'],
      on_row=lambda row: emit('row', row),
      log=lambda m: print(m, file=sys.stderr, flush=True),
    )
  except ValueError as e:  # E.g. fewer real devices than asked for.
    fail(f'--devices: {e}')


def _run_worker(argv: list[str], n_devices: int, label: str) -> tuple[dict | None, list[dict]]:
  """Runs a `--worker` child with `n_devices` (simulated) devices: (its environment, its rows).

  The child prints one JSON line per environment or row on stdout; its stderr streams through. A failed
  child ends the benchmark with its status, naming `label` (the flag that chose its devices).
  """
  proc = subprocess.run(argv, env=child_env(n_devices), stdout=subprocess.PIPE, text=True)
  env, rows = None, []
  for line in proc.stdout.splitlines():
    if not line.startswith('{'):
      continue
    record = json.loads(line)
    kind = record.pop('kind', None)
    if kind == 'env':
      env = record
    elif kind == 'row':
      rows.append(record)
  if proc.returncode != 0:
    print(f'error: the worker for {label} exited with status {proc.returncode}', file=sys.stderr)
    sys.exit(proc.returncode if proc.returncode > 0 else 1)
  return env, rows


def _run_children(settings: dict) -> tuple[list[dict], dict[int, dict]]:
  rows, envs = [], {}
  for n in settings['devices']:
    argv = [
      sys.executable,
      '-m',
      'launch.bench',
      f'--task={settings["task"]}',
      f'--protocols={",".join(settings["protocols"])}',
      f'--judge={settings["judge"]}',
      f'--T={settings["T"]}',
      f'--batch_sizes={",".join(map(str, settings["batch_sizes"]))}',
      f'--devices={n}',
      f'--repeats={settings["repeats"]}',
      f'--modulus={settings["modulus"]}',
      f'--s={settings["s"]}',
      f'--seed={settings["seed"]}',
      '--worker',
    ]
    print(f'[bench] {n} device(s): {" ".join(argv[1:])}', file=sys.stderr, flush=True)
    start = time.perf_counter()
    env, child_rows = _run_worker(argv, n, f'--devices={n}')
    if env is not None:
      envs[n] = env
    rows += child_rows
    print(f'[bench] {n} device(s) done in {time.perf_counter() - start:.0f} s', file=sys.stderr, flush=True)
  return rows, envs


def _write(out: str, settings: dict, rows: list[dict], envs: dict[int, dict], table: str, argv) -> None:
  os.makedirs(out, exist_ok=True)
  command = ' '.join(['python -m launch.bench'] + list(argv[1:]))
  env = next(iter(envs.values()), {})
  with open(os.path.join(out, 'bench_chain.json'), 'w') as f:
    json.dump(
      {
        'command': command,
        'settings': settings,
        'environment': env,
        'environment_by_devices': {str(k): v for k, v in envs.items()},
        'rows': add_speedups(rows),
      },
      f,
      indent=1,
    )
  note = (
    'On a CPU the devices are simulated and share the same physical cores: the speedup measures the '
    'overhead of sharding, not the gain of N devices; a speedup up to the CPU count only means that '
    'one simulated device left cores idle. Real speedups need real devices.'
  )
  with open(os.path.join(out, 'bench_chain.md'), 'w') as f:
    f.write(f'# Rollout throughput, task chain\n\n`{command}`\n\n{table}\n\n{note}\n')


def main(argv):
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}')
  if _TRAIN.value is not None:
    _main_train()
    return
  if _TASK.value == 'images':
    _main_images()
    return
  if _LADDER.value:
    _main_ladder()
    return
  try:
    settings = validate()
  except UsageError as e:
    fail(str(e))
  if _WORKER.value:
    _worker(settings)
    return
  rows, envs = _run_children(settings)
  env = next(iter(envs.values()), None)
  table = render_markdown(rows, env)
  print(table, flush=True)
  if _OUT.value:
    _write(_OUT.value, settings, rows, envs, table, sys.argv)
    print(f'[bench] wrote {os.path.join(_OUT.value, "bench_chain.json")} and bench_chain.md', file=sys.stderr)


def _main_ladder() -> None:
  """--task=chain --ladder: the ladder of judges x seeds in each mode, in this process; then the table."""
  from debate.experiments import runfiles

  try:
    settings = validate()
    if not set(_LADDER_MODES.value) <= set(LADDER_MODES) or not _LADDER_MODES.value:
      raise UsageError(f'--ladder_modes: expected some of {", ".join(LADDER_MODES)}, got {_LADDER_MODES.value}')
    for name, flag in (
      ('ladder_judges', _LADDER_JUDGES),
      ('ladder_seeds', _LADDER_SEEDS),
      ('ladder_games', _LADDER_GAMES),
    ):
      if flag.value < 1:
        raise UsageError(f'--{name} must be >= 1, got {flag.value}')
  except UsageError as e:
    fail(str(e))
  rows = measure_ladder(
    settings['protocols'],
    settings['judge'],
    settings['T'],
    judges=_LADDER_JUDGES.value,
    seeds=_LADDER_SEEDS.value,
    games=_LADDER_GAMES.value,
    repeats=settings['repeats'],
    modes=_LADDER_MODES.value,
    modulus=settings['modulus'],
    s=settings['s'],
    log=lambda line: print(line, file=sys.stderr, flush=True),
  )
  table = render_ladder_markdown(rows)
  print(table, flush=True)
  if _OUT.value:
    command = ' '.join(['python -m launch.bench'] + sys.argv[1:])
    runfiles.write_files(_OUT.value, {'bench_ladder.md': runfiles.text_writer(f'`{command}`\n\n{table}\n')})
    runfiles.write_json(os.path.join(_OUT.value, 'bench_ladder.json'), {'command': command, 'rows': rows})


def _main_images() -> None:
  """--task=images: k-pixel precommit debate, MCTS against MCTS, on this process's devices (debate/rollouts/throughput.py).

  python -m launch.bench --task=images --simulations=100,1000 --image_batch_sizes=32,128,512,1024 --k=6
  """
  try:
    simulations = _int_list('simulations', _SIMULATIONS.value)
    batch_sizes = _int_list('image_batch_sizes', _IMAGE_BATCH_SIZES.value)
  except UsageError as e:
    fail(str(e))
  if _REPEATS.value < 1:
    fail(f'--repeats must be >= 1, got {_REPEATS.value}')
  if not 1 <= _IMAGE_K.value <= 64:
    fail(f'--k must be in [1, 64], got {_IMAGE_K.value}')
  from debate.experiments import runfiles
  from debate.rollouts import throughput as image_bench
  from judges import image_judges

  if _IMAGE_JUDGE.value not in image_judges.JUDGE_MODELS:
    fail(f'--image_judge: unknown judge {_IMAGE_JUDGE.value!r}; expected one of {", ".join(image_judges.JUDGE_MODELS)}')
  images = None
  if _IMAGE_DATA_DIR.value:
    from debate.tasks import idx

    try:
      images = idx.load_image_dataset(_IMAGE_DATA_DIR.value, split='test').images.astype('float32') / 255.0
    except idx.IdxError as e:
      fail(f'--image_data_dir={_IMAGE_DATA_DIR.value}: {e}')
  rows = image_bench.measure_images(
    budgets=simulations,
    batch_sizes=batch_sizes,
    k=_IMAGE_K.value,
    judge=_IMAGE_JUDGE.value,
    repeats=_REPEATS.value,
    images=images,
    seed=_SEED.value,
    log=lambda line: print(line, file=sys.stderr, flush=True),
  )
  table = image_bench.render_markdown(rows)
  print(table, flush=True)
  if _OUT.value:
    command = ' '.join(['python -m launch.bench'] + sys.argv[1:])
    runfiles.write_files(_OUT.value, {'bench_images.md': runfiles.text_writer(table)})
    runfiles.write_json(os.path.join(_OUT.value, 'bench_images.json'), {'command': command, 'rows': rows})


# ------------------------------------------------------------------------------------------------------------
# Training benchmark (--train=judge): steps/s of the image judge's train step (judges/train.py).

TRAINERS = ('judge', 'selfplay')
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


def parse_mesh(spec: str) -> tuple[int, int]:
  """'data:D,model:M' (either part may be left out: 1) -> (D, M). Raises UsageError."""
  sizes = {'data': 1, 'model': 1}
  for part in spec.split(','):
    name, _, value = part.partition(':')
    if name not in sizes or not value.isdigit() or int(value) < 1:
      raise UsageError(f'--mesh={spec}: expected data:D,model:M with integers >= 1, e.g. data:2,model:2')
    sizes[name] = int(value)
  return sizes['data'], sizes['model']


def measure_train_judge(
  judge: str,
  *,
  mesh_shape: tuple[int, int],
  batch_size: int,
  k: int = 6,
  image_shape: tuple[int, int] = (28, 28),
  steps_per_repeat: int = 10,
  repeats: int = 5,
  seed: int = 0,
) -> dict:
  """Times the train step of image judge `judge` on a (data, model) = `mesh_shape` mesh of the first devices.

  Batches are synthetic MNIST-like images (about 19% nonzero pixels; speed does not depend on the values),
  fed from the host each step as in training (which waits for each step on CPU with several devices:
  train.waits_for_each_step). compile_s: lowering and compiling the step; then 2 warm-up steps; each of
  `repeats` repetitions runs `steps_per_repeat` steps and blocks on the state. Returns a row:
  median_s (per repetition), steps_per_s, examples_per_s, flops_per_step (XLA's cost analysis of the
  compiled step, per device), and mfu (flops_per_step * steps_per_s / the device's PEAK_FLOPS; None when the
  device's peak is not known, e.g. on CPU).
  """
  import jax
  import numpy as np
  import optax
  from jax.sharding import NamedSharding
  from jax.sharding import PartitionSpec as P

  from debate.distributed import sharding
  from judges import image_judges, train

  data, model = mesh_shape
  n = data * model
  if n > jax.device_count():
    raise ValueError(
      f'the mesh data:{data},model:{model} needs {n} devices, this process has '
      f'{jax.device_count()} ({jax.default_backend()})'
    )
  if batch_size % n:
    raise ValueError(f'batch size {batch_size} is not divisible by the mesh size {n}')
  mesh = sharding.make_mesh(jax.devices()[:n], model_parallelism=model)
  network = image_judges.make_judge(judge, 10)
  optimizer = optax.adam(1e-4)
  state = train.init_state(network, optimizer, seed=seed, image_shape=image_shape, mesh=mesh)
  shardings = train.state_shardings(state, mesh)
  step_fn = train.make_train_step(network, optimizer, k=k, mesh=mesh, shardings=shardings)
  rng = np.random.default_rng(seed)
  pool = 4  # Host batches cycled through.
  images = np.where(
    rng.random((pool, batch_size, *image_shape)) < 0.19, rng.integers(1, 256, (pool, batch_size, *image_shape)), 0
  ).astype(np.uint8)
  labels = rng.integers(0, 10, (pool, batch_size)).astype(np.int32)
  sharded = sharding.batch_sharding(mesh)
  mask_key = jax.jit(lambda: jax.random.key(seed), out_shardings=NamedSharding(mesh, P()))()
  batch = lambda i: (
    jax.make_array_from_process_local_data(sharded, images[i % pool]),
    jax.make_array_from_process_local_data(sharded, labels[i % pool]),
  )

  start = time.perf_counter()
  compiled = step_fn.lower(state, *batch(0), mask_key).compile()
  compile_s = time.perf_counter() - start
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get('flops', 0.0)) if cost else 0.0

  wait = train.waits_for_each_step(mesh)  # As the training loop does.

  def run(steps: int, state, offset: int):
    for i in range(steps):
      state, metrics = compiled(state, *batch(offset + i), mask_key)
      if wait:
        jax.block_until_ready(metrics)
    jax.block_until_ready((state, metrics))
    return state

  state = run(2, state, 0)
  times = []
  for r in range(repeats):
    start = time.perf_counter()
    state = run(steps_per_repeat, state, r)
    times.append(time.perf_counter() - start)
  median_s = statistics.median(times)
  steps_per_s = steps_per_repeat / median_s
  device = jax.devices()[0]
  peak = PEAK_FLOPS.get(device.device_kind)
  return {
    'train': 'judge',
    'judge': judge,
    'mesh': f'data:{data},model:{model}',
    'devices': n,
    'batch': batch_size,
    'k': k,
    'image_shape': list(image_shape),
    'params': image_judges.count_params(state.params),
    'steps_per_repeat': steps_per_repeat,
    'repeats': repeats,
    'compile_s': compile_s,
    'median_s': median_s,
    'min_s': min(times),
    'max_s': max(times),
    'times_s': times,
    'steps_per_s': steps_per_s,
    'examples_per_s': steps_per_s * batch_size,
    'flops_per_step': flops,
    'peak_flops': peak,
    'mfu': flops * steps_per_s / peak if peak and flops else None,
  }


def measure_train_selfplay(
  *,
  mesh_shape: tuple[int, int],
  batch_size: int,
  modulus: int = 17,
  max_length: int = 16,
  simulations: int = 16,
  width: int = 128,
  steps_per_repeat: int = 10,
  repeats: int = 3,
  seed: int = 0,
) -> dict:
  """Times the self-play training of the chain debaters (debate/training/selfplay.py on the split-choice
  chain game) on a (data, model) = `mesh_shape`
  mesh of the first devices (games over all of them, params FSDP-style over 'model'), against an untrained
  learned:96 judge (its speed does not depend on its weights).

  Each call runs `steps_per_repeat` steps as one compiled scan (as training does between checkpoints);
  compile_s: its compilation; one warm-up call; then `repeats` timed calls. Returns a row like
  measure_train_judge's ('judge' names the trained network; examples are self-play games).
  """
  import jax
  import jax.numpy as jnp

  from debate.distributed import sharding
  from debate.games import chain as chain_game
  from debate.training import selfplay
  from judges import chain_checkers

  data, model = mesh_shape
  devices = data * model
  if devices > jax.device_count():
    raise ValueError(
      f'the mesh data:{data},model:{model} needs {devices} devices, this process has '
      f'{jax.device_count()} ({jax.default_backend()})'
    )
  if batch_size % devices:
    raise ValueError(f'batch size {batch_size} is not divisible by the mesh size {devices}')
  mesh = sharding.make_mesh(jax.devices()[:devices], model_parallelism=model)
  checker = chain_checkers.parse_checker('learned:96', modulus)
  judge = chain_checkers.init_params(checker, jax.random.key(seed))
  config = selfplay.SelfPlayConfig(batch_size=batch_size, num_simulations=simulations, width=width)
  game = chain_game.ChainDebate(checker, max_length, honest_splits=True)
  sampler = chain_game.TrainingGames(modulus, max_length)
  init_key, train_key = jax.random.split(selfplay.agent_key(seed))
  params = selfplay.init_params(game, sampler, width, config.depth, init_key)
  optimizer, train_chunk = selfplay.make_train_chunk(game, sampler, config, train_key, mesh)
  params, opt_state = sharding.fsdp_placed((params, optimizer.init(params)), mesh)  # As training lays them out.
  judge = (sharding.replicated(judge, mesh), {})
  steps = lambda r: jnp.arange(r * steps_per_repeat, (r + 1) * steps_per_repeat, dtype=jnp.int32)

  start = time.perf_counter()
  compiled = train_chunk.lower(params, opt_state, judge, steps(0)).compile()
  compile_s = time.perf_counter() - start
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get('flops', 0.0)) / steps_per_repeat if cost else 0.0
  params, opt_state, metrics = jax.block_until_ready(compiled(params, opt_state, judge, steps(0)))
  times = []
  for r in range(1, repeats + 1):
    start = time.perf_counter()
    params, opt_state, metrics = jax.block_until_ready(compiled(params, opt_state, judge, steps(r)))
    times.append(time.perf_counter() - start)
  median_s = statistics.median(times)
  steps_per_s = steps_per_repeat / median_s
  peak = PEAK_FLOPS.get(jax.devices()[0].device_kind)
  return {
    'train': 'selfplay',
    'judge': f'selfplay w{width}',
    'mesh': f'data:{data},model:{model}',
    'devices': devices,
    'batch': batch_size,
    'modulus': modulus,
    'max_length': max_length,
    'simulations': simulations,
    'width': width,
    'params': sum(int(x.size) for x in jax.tree.leaves(params)),
    'steps_per_repeat': steps_per_repeat,
    'repeats': repeats,
    'compile_s': compile_s,
    'median_s': median_s,
    'min_s': min(times),
    'max_s': max(times),
    'times_s': times,
    'steps_per_s': steps_per_s,
    'examples_per_s': steps_per_s * batch_size,
    'flops_per_step': flops,
    'peak_flops': peak,
    'mfu': flops * steps_per_s / peak if peak and flops else None,
  }


def render_train_markdown(rows: Sequence[dict], env: dict | None = None) -> str:
  """A Markdown table of training rows, with steps/s relative to the first row's mesh."""
  header = [
    'judge',
    'mesh',
    'devices',
    'batch',
    'compile_s',
    'median_s',
    'steps/s',
    'examples/s',
    'vs first row',
    'GFLOP/step/device',
    'MFU',
  ]
  lines = [environment_line(env), ''] if env else []
  lines.append('| ' + ' | '.join(header) + ' |')
  lines.append('|' + '|'.join(['---'] * 2 + ['---:'] * (len(header) - 2)) + '|')
  base = rows[0]['steps_per_s'] if rows else None
  for r in rows:
    mfu = f'{100 * r["mfu"]:.1f}%' if r['mfu'] is not None else '—'
    cells = [
      r['judge'],
      r['mesh'],
      str(r['devices']),
      str(r['batch']),
      f'{r["compile_s"]:.2f}',
      f'{r["median_s"]:.4f}',
      f'{r["steps_per_s"]:,.1f}',
      f'{r["examples_per_s"]:,.0f}',
      f'{r["steps_per_s"] / base:.2f}x',
      f'{r["flops_per_step"] / 1e9:.3f}',
      mfu,
    ]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def _train_settings() -> dict:
  """The --train benchmark's flags, checked. Raises UsageError naming the flag."""
  from judges import image_judges

  if _TRAIN.value not in TRAINERS:
    raise UsageError(f'--train={_TRAIN.value}: available: {", ".join(TRAINERS)}')
  if _TASK.value is not None:
    raise UsageError('--train and --task are separate benchmarks; pass one of them')
  if _TRAIN.value == 'selfplay' and not (_is_prime(_MODULUS.value) and 3 <= _MODULUS.value <= 211):
    raise UsageError(f'--modulus must be a prime in [3, 211], got {_MODULUS.value}')
  if _TRAIN_JUDGE.value not in image_judges.JUDGE_MODELS:
    raise UsageError(f'--train_judge={_TRAIN_JUDGE.value}: expected one of {", ".join(image_judges.JUDGE_MODELS)}')
  meshes = [parse_mesh(spec) for spec in _MESH.value]
  if not meshes:
    raise UsageError('--mesh needs at least one value')
  if _TRAIN.value == 'selfplay':
    for name, flag in (
      ('selfplay_max_length', _SELFPLAY_MAX_LENGTH),
      ('selfplay_simulations', _SELFPLAY_SIMULATIONS),
      ('selfplay_width', _SELFPLAY_WIDTH),
    ):
      if flag.value < (2 if name == 'selfplay_max_length' else 1):
        raise UsageError(f'--{name} must be >= {2 if name == "selfplay_max_length" else 1}, got {flag.value}')
  for name, flag in (
    ('train_batch_size', _TRAIN_BATCH_SIZE),
    ('train_steps', _TRAIN_STEPS),
    ('repeats', _REPEATS),
    ('train_k', _TRAIN_K),
  ):
    if flag.value < 1:
      raise UsageError(f'--{name} must be >= 1, got {flag.value}')
  for data, model in meshes:
    if _TRAIN_BATCH_SIZE.value % (data * model):
      raise UsageError(
        f'--train_batch_size={_TRAIN_BATCH_SIZE.value} is not divisible by the '
        f'{data * model} devices of --mesh=data:{data},model:{model}'
      )
  if _WORKER.value and len(meshes) != 1:
    raise UsageError('--worker takes exactly one --mesh value')
  return {
    'train': _TRAIN.value,
    'judge': _TRAIN_JUDGE.value,
    'meshes': meshes,
    'batch_size': _TRAIN_BATCH_SIZE.value,
    'k': _TRAIN_K.value,
    'steps_per_repeat': _TRAIN_STEPS.value,
    'repeats': _REPEATS.value,
    'seed': _SEED.value,
    'modulus': _MODULUS.value,
    'max_length': _SELFPLAY_MAX_LENGTH.value,
    'simulations': _SELFPLAY_SIMULATIONS.value,
    'width': _SELFPLAY_WIDTH.value,
  }


def _main_train() -> None:
  """--train: one child process per --mesh (with data x model simulated devices on a CPU), then the table."""
  from debate.experiments import runfiles

  try:
    settings = _train_settings()
  except UsageError as e:
    fail(str(e))
  common = [
    f'--train={settings["train"]}',
    f'--train_judge={settings["judge"]}',
    f'--train_batch_size={settings["batch_size"]}',
    f'--train_k={settings["k"]}',
    f'--train_steps={settings["steps_per_repeat"]}',
    f'--repeats={settings["repeats"]}',
    f'--seed={settings["seed"]}',
    f'--modulus={settings["modulus"]}',
    f'--selfplay_max_length={settings["max_length"]}',
    f'--selfplay_simulations={settings["simulations"]}',
    f'--selfplay_width={settings["width"]}',
  ]
  if _WORKER.value:
    ((data, model),) = settings['meshes']
    print(json.dumps({'kind': 'env', **environment()}), flush=True)
    try:
      if settings['train'] == 'selfplay':
        row = measure_train_selfplay(
          mesh_shape=(data, model),
          batch_size=settings['batch_size'],
          modulus=settings['modulus'],
          max_length=settings['max_length'],
          simulations=settings['simulations'],
          width=settings['width'],
          steps_per_repeat=settings['steps_per_repeat'],
          repeats=settings['repeats'],
          seed=settings['seed'],
        )
      else:
        row = measure_train_judge(
          settings['judge'],
          mesh_shape=(data, model),
          batch_size=settings['batch_size'],
          k=settings['k'],
          steps_per_repeat=settings['steps_per_repeat'],
          repeats=settings['repeats'],
          seed=settings['seed'],
        )
    except ValueError as e:  # E.g. fewer real devices than the mesh needs.
      fail(f'--mesh: {e}')
    print(json.dumps({'kind': 'row', **row}), flush=True)
    return
  rows, envs = [], {}
  for data, model in settings['meshes']:
    mesh = f'data:{data},model:{model}'
    argv_child = [sys.executable, '-m', 'launch.bench', *common, f'--mesh={mesh}', '--worker']
    print(f'[bench] mesh {mesh}: {" ".join(argv_child[1:])}', file=sys.stderr, flush=True)
    env, child_rows = _run_worker(argv_child, data * model, f'--mesh={mesh}')
    if env is not None:
      envs[mesh] = env
    rows += child_rows
  env = next(iter(envs.values()), None)
  table = render_train_markdown(rows, env)
  print(table, flush=True)
  if _OUT.value:
    os.makedirs(_OUT.value, exist_ok=True)
    command = ' '.join(['python -m launch.bench'] + sys.argv[1:])
    name = f'bench_train_{settings["train"]}'
    title = 'Judge' if settings['train'] == 'judge' else 'Self-play debater'
    runfiles.write_json(
      os.path.join(_OUT.value, f'{name}.json'),
      {'command': command, 'settings': settings, 'environment_by_mesh': envs, 'rows': rows},
    )
    runfiles.atomic_write(
      os.path.join(_OUT.value, f'{name}.md'),
      runfiles.text_writer(
        f'# {title} training throughput\n\n`{command}`\n\n{table}\n\nOn a CPU the devices are simulated and '
        'share the same physical cores: the ratio measures the overhead of sharding, not the gain of more '
        'devices.\n'
      ),
    )
    print(f'[bench] wrote {os.path.join(_OUT.value, name + ".json")} and {name}.md', file=sys.stderr)


def _parse_flags(argv: list[str]) -> list[str]:
  """absl's parser, with flag errors turned into one `error: ...` line and exit status 2."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(str(e))


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
