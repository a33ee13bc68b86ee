"""Throughput benchmarks: batched rollouts (`--task`), judge-ladder compilation (`--ladder`), training (`--train`).

The measurements are in debate/rollouts/throughput.py, debate/rollouts/text_throughput.py and
debate/training/throughput.py; the helpers that need no flag in launch/bench_common.py. This entry point
checks the flags, runs them, prints a Markdown table and, with --out=DIR, writes DIR/bench_NAME.md (the
command and the table) and DIR/bench_NAME.json (the command and the rows; bench_text also a .csv). Bad
flags exit with status 2 and one line, `error: ...`, naming the flag, before anything runs. Judges are
untrained: their speed does not depend on their weights.

Chain rollouts (`--task=chain`, bench_chain): games/s of `debate.rollouts.chain.run_games`.

  python -m launch.bench --task=chain --out=/tmp/bench_chain

is, with every default spelled out,

  python -m launch.bench --task=chain --protocols=debate/mcts:16,debate/random,consultancy \
      --judge=learned:96 --T=64 --batch_sizes=256,1024,4096 --devices=1,4 --repeats=5 --modulus=17 \
      --out=/tmp/bench_chain

For each device count N the benchmark runs a child process of itself (`--worker`) with
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, set before JAX initialises. For each protocol and
batch size the child plays `batch` games per call of `run_games` (one compiled batch) and measures:
  first_s:      the first call: compilation plus one run (it also serves as the warm-up);
  median_s:     the median of `--repeats` further calls (each blocks on its result), with min_s and max_s;
  compile_s:    first_s - median_s;  games_per_s: batch / median_s;
  speedup_vs_1: games/s on N devices over games/s on 1 device at the same batch size.
Repeat r plays games r * batch .. (r + 1) * batch - 1, so no call sees the inputs of another.

On a CPU the N 'devices' are simulated and share the same physical cores, so the speedup there measures
the overhead of sharding, not the gain of N devices; real speedups need real devices (e.g. several GPUs,
where --devices picks the first N). One caveat: XLA:CPU runs much of one device's program (the games'
while loops) on a single thread, so N simulated devices can also occupy up to min(N, CPU count) cores, and
a speedup up to the CPU count (2x on a 2-core machine) is spare cores being used, not scaling.

Judge ladders (`--task=chain --ladder`, bench_ladder): what compiling once per judge architecture saves. A
ladder of `--ladder_judges` judges of the one architecture `--judge` (init keys 0, 1, ...) x
`--ladder_seeds` seeds x `--protocols`, `--ladder_games` games each at `--T`, played in this process on its
first device:

  python -m launch.bench --task=chain --ladder --protocols=debate/random,debate/mcts:4,consultancy \
      --judge=learned:32 --T=16 --ladder_judges=4 --ladder_seeds=3 --ladder_games=64 --repeats=3

once per mode of `--ladder_modes` and repeat, each from a cold cache of compiled games: `traced`
(run_games: seed and judge params are arguments, one compilation per protocol), `static_seed` (the seed's
key compiled in, params traced: one per protocol and seed, as before judge params and seeds were data) and
`static_judge` (params and seed compiled in as constants: one per protocol, judge and seed). The table gives
the compilations of the game function per repeat (counted by the jitted functions' caches), the median wall
time, its ratio to `traced`, and whether every game's outcome is the traced mode's.

Image debate (`--task=images`, bench_images): k-pixel precommit debate, MCTS:B against MCTS:B for each B of
`--simulations`, on this process's devices, timed like the chain games and set against the judge's plain
forward pass (efficiency: see debate/rollouts/throughput.py):

  python -m launch.bench --task=images --simulations=100,1000 --image_batch_sizes=32,128,512,1024 --k=6

Text debate (`--task=text`, bench_text), in this process on its devices, for each rung of `--text_judges`
(the text judge ladder, judges/text_judges.py; untrained weights):

  python -m launch.bench --task=text --text_judges=all --train_batch_size=128 \
      --train_steps=10 --text_simulations=16,64 --text_batch_sizes=8,64 --k=6 --repeats=5 --out=/tmp/bench_text

(1) judge training: the rung's launch/configs/text.py judge_RUNG config (views of k = 12 quotes + 2 claims)
with batch --train_batch_size, timed like --train=judge (`measure_train_text_judge`): examples/s and
tokens/s = examples/s x the length of the judge's encoder sequence, PAD and empty slots included, as the
model reports it (`text_judges.sequence_length`: 4 + K for a sentence-level judge, one position each for
[CLS], the question, the two answers and the K quotes; 1 + Q + 2A + KL for a token-level one).
(2) debate/mcts:B games of --k quotes for each B of --text_simulations and batch of --text_batch_sizes:
judge evaluations/s inside the search against the judge's plain forward pass on as many views per call
(`measure_text_search`: the ratio, see its module).

Training (`--train=judge|selfplay`, bench_train_judge or bench_train_selfplay): one child process per
`--mesh` (a (data, model) device mesh), with data x model devices as above. Each child compiles the step
(compile_s, reported apart), warms up, then times `--repeats` repetitions of `--train_steps` steps, each
ended by block_until_ready. The table gives the median repetition, steps/s, examples/s, steps/s relative to
the first mesh, XLA's FLOPs per step and device, and the model FLOPs utilisation where the device's peak is
known (PEAK_FLOPS in debate/rollouts/throughput.py; blank on CPU).

`--train=judge`: the image judge's train step (judges/train.py), fed from the host each step, after 2
warm-up steps (the first two --mesh values are the default):

  python -m launch.bench --train=judge --mesh=data:1,model:1 --mesh=data:4,model:1 \
      --mesh=data:2,model:2 --train_judge=irving_cnn --train_batch_size=128 --train_steps=10 --repeats=5 \
      --out=/tmp/bench_train

`--train=selfplay`: the AlphaZero-style step of the chain debaters (debate/training/selfplay.py:
`--train_batch_size` games of split-choice debate per step, both roles moved by a Gumbel MuZero search of
`--selfplay_simulations` simulations a ply, then one Adam update), its games split over every device of the
mesh and its params and Adam moments FSDP-style over 'model' (debate.distributed.sharding's layout):

  python -m launch.bench --train=selfplay --mesh=data:1 --mesh=data:4 --train_batch_size=64 \
      --train_steps=10 --repeats=3 --modulus=17 --selfplay_max_length=16 --selfplay_simulations=16 \
      --selfplay_width=128 --out=/tmp/bench_selfplay

Its `--train_steps` steps run as one compiled `lax.scan`, as in training, after one warm-up call;
examples/s counts self-play games.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from launch.bench_common import UsageError, child_env, parse_mesh  # noqa: F401 (child_env: the tests')
from launch.bench_common import at_least as _at_least
from launch.bench_common import int_list as _int_list
from launch.bench_common import log as _log
from launch.bench_common import run_children as _run_children
from launch.bench_common import worker as _worker
from launch.cli import fail, parse_flags

TASKS = ('chain', 'images', 'text')
TRAINERS = ('judge', 'selfplay')

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
_OUT = flags.DEFINE_string(
  'out', None, 'If set, write the bench_NAME.json and bench_NAME.md of the run to this directory.'
)
_WORKER = flags.DEFINE_bool(
  'worker',
  False,
  "Internal: measure on this process's devices (exactly one --devices or --mesh value) and print one JSON line per "
  'measurement.',
)
_SIMULATIONS = flags.DEFINE_list('simulations', ['100', '1000'], '--task=images: MCTS simulations per move.')
_IMAGE_BATCH_SIZES = flags.DEFINE_list(
  'image_batch_sizes', ['32', '128', '512', '1024'], '--task=images: games per call (one compiled batch).'
)
_IMAGE_K = flags.DEFINE_integer('k', 6, '--task=images: pixels revealed per game; --task=text: quotes per debate.')
_IMAGE_JUDGE = flags.DEFINE_string(
  'image_judge', 'irving_cnn', '--task=images: the judge model (untrained weights: its speed does not depend on them).'
)
_IMAGE_DATA_DIR = flags.DEFINE_string(
  'image_data_dir',
  None,
  '--task=images: IDX folder whose test images to play '
  '(default: synthetic images with 150 nonzero pixels, like MNIST).',
)
_TEXT_JUDGES = flags.DEFINE_list(
  'text_judges', ['all'], '--task=text: rungs of the text judge ladder (judges/text_judges.py); all: every rung.'
)
_TEXT_SIMULATIONS = flags.DEFINE_list('text_simulations', ['16', '64'], '--task=text: MCTS simulations per move.')
_TEXT_BATCH_SIZES = flags.DEFINE_list('text_batch_sizes', ['8', '64'], '--task=text: debates per call.')
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
  'self-play, debate/training/selfplay.py).',
)
_MESH = flags.DEFINE_multi_string(
  'mesh',
  ['data:1,model:1', 'data:4,model:1'],
  '--train: a (data, model) device mesh, data:D,model:M; repeat the flag for '
  'several; one child process each, with D * M devices.',
)
_TRAIN_JUDGE = flags.DEFINE_string('train_judge', 'irving_cnn', '--train=judge: the image judge model.')
_TRAIN_BATCH_SIZE = flags.DEFINE_integer('train_batch_size', 128, '--train, --task=text: the global batch.')
_TRAIN_K = flags.DEFINE_integer('train_k', 6, '--train=judge: pixels per mask.')
_TRAIN_STEPS = flags.DEFINE_integer('train_steps', 10, '--train, --task=text: steps per timed repetition.')
_SELFPLAY_MAX_LENGTH = flags.DEFINE_integer(
  'selfplay_max_length', 16, '--train=selfplay: the longest chain (games have T uniform in [2, this]).'
)
_SELFPLAY_SIMULATIONS = flags.DEFINE_integer(
  'selfplay_simulations', 16, '--train=selfplay: search simulations per ply.'
)
_SELFPLAY_WIDTH = flags.DEFINE_integer('selfplay_width', 128, '--train=selfplay: the network width.')

# The flags a child process gets from its parent, besides its own --devices or --mesh and --worker.
_CHAIN_CHILD_FLAGS = (_TASK, _PROTOCOLS, _JUDGE, _T, _BATCH_SIZES, _REPEATS, _MODULUS, _S, _SEED)
_TRAIN_CHILD_FLAGS = (
  _TRAIN,
  _TRAIN_JUDGE,
  _TRAIN_BATCH_SIZE,
  _TRAIN_K,
  _TRAIN_STEPS,
  _REPEATS,
  _SEED,
  _MODULUS,
  _SELFPLAY_MAX_LENGTH,
  _SELFPLAY_SIMULATIONS,
  _SELFPLAY_WIDTH,
)
_CPU_NOTE = (
  'On a CPU the devices are simulated and share the same physical cores: the {ratio} measures the overhead of '
  'sharding, not the gain of more devices.'
)


# ------------------------------------------------------------------------------------------------------------
# Flag validation: each raises UsageError naming the flag at fault.


def _check_modulus() -> None:
  from debate.tasks.chain import is_prime

  if not (is_prime(_MODULUS.value) and 3 <= _MODULUS.value <= 211):
    raise UsageError(f'--modulus must be a prime in [3, 211], got {_MODULUS.value}')


def _chain_settings() -> dict:
  """The --task=chain settings (also the ladder's)."""
  from debate.rollouts import chain as rollout
  from judges import chain_checkers

  if _TASK.value is None:
    raise UsageError(f'--task is required; available: {", ".join(TASKS)}')
  if _TASK.value not in TASKS:
    raise UsageError(f'--task={_TASK.value} is not implemented yet; available: {", ".join(TASKS)}')
  _at_least(1, _T, _REPEATS)
  _at_least(0, _S)
  _check_modulus()
  batch_sizes = _int_list(_BATCH_SIZES)
  devices = _int_list(_DEVICES)
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


def _ladder_settings() -> dict:
  """The --task=chain --ladder settings: the chain's and the ladder's own."""
  from debate.rollouts.throughput import LADDER_MODES

  settings = _chain_settings()
  if not _LADDER_MODES.value or not set(_LADDER_MODES.value) <= set(LADDER_MODES):
    raise UsageError(f'--ladder_modes: expected some of {", ".join(LADDER_MODES)}, got {_LADDER_MODES.value}')
  _at_least(1, _LADDER_JUDGES, _LADDER_SEEDS, _LADDER_GAMES)
  return {
    **settings,
    'judges': _LADDER_JUDGES.value,
    'seeds': _LADDER_SEEDS.value,
    'games': _LADDER_GAMES.value,
    'modes': list(_LADDER_MODES.value),
  }


def _image_settings() -> dict:
  """The --task=images settings, with 'images' [N, H, W] in [0, 1] from --image_data_dir (None: synthetic)."""
  from judges import image_judges

  settings = {'budgets': _int_list(_SIMULATIONS), 'batch_sizes': _int_list(_IMAGE_BATCH_SIZES)}
  _at_least(1, _REPEATS)
  if not 1 <= _IMAGE_K.value <= 64:
    raise UsageError(f'--k must be in [1, 64], got {_IMAGE_K.value}')
  if _IMAGE_JUDGE.value not in image_judges.JUDGE_MODELS:
    raise UsageError(
      f'--image_judge: unknown judge {_IMAGE_JUDGE.value!r}; expected one of {", ".join(image_judges.JUDGE_MODELS)}'
    )
  images = None
  if _IMAGE_DATA_DIR.value:
    from debate.tasks import idx

    try:
      images = idx.load_image_dataset(_IMAGE_DATA_DIR.value, split='test').images.astype('float32') / 255.0
    except idx.IdxError as e:
      raise UsageError(f'--image_data_dir={_IMAGE_DATA_DIR.value}: {e}') from None
  return {
    **settings,
    'k': _IMAGE_K.value,
    'judge': _IMAGE_JUDGE.value,
    'repeats': _REPEATS.value,
    'images': images,
    'seed': _SEED.value,
  }


def _text_settings() -> dict:
  """The --task=text settings."""
  import jax

  from judges import text_judges
  from launch.configs import text as text_configs

  _at_least(1, _REPEATS, _TRAIN_BATCH_SIZE, _TRAIN_STEPS)
  rungs = list(text_judges.JUDGE_MODELS) if _TEXT_JUDGES.value == ['all'] else list(_TEXT_JUDGES.value)
  if not rungs or not set(rungs) <= set(text_judges.JUDGE_MODELS):
    raise UsageError(f'--text_judges: expected some of {", ".join(text_judges.JUDGE_MODELS)}, got {",".join(rungs)!r}')
  try:
    configs = [text_configs.get_config(f'judge_{rung}') for rung in rungs]
  except ValueError as e:
    raise UsageError(f'--text_judges: launch/configs/text.py has no judge config for a rung: {e}') from None
  sentences = configs[0].text_task.num_sentences
  if not 1 <= _IMAGE_K.value <= sentences:
    raise UsageError(
      f'--k must be in [1, {sentences}] (the sentences of a story) for --task=text, got {_IMAGE_K.value}'
    )
  if _TRAIN_BATCH_SIZE.value % jax.device_count():
    raise UsageError(f'--train_batch_size={_TRAIN_BATCH_SIZE.value} does not divide over {jax.device_count()} devices')
  return {
    'judges': rungs,
    'budgets': _int_list(_TEXT_SIMULATIONS),
    'batch_sizes': _int_list(_TEXT_BATCH_SIZES),
    'k': _IMAGE_K.value,
    'repeats': _REPEATS.value,
    'train_batch_size': _TRAIN_BATCH_SIZE.value,
    'train_steps': _TRAIN_STEPS.value,
    'seed': _SEED.value,
  }


def _train_settings() -> dict:
  """The --train settings, with 'meshes': [(data, model)] of --mesh."""
  from judges import image_judges

  if _TRAIN.value not in TRAINERS:
    raise UsageError(f'--train={_TRAIN.value}: available: {", ".join(TRAINERS)}')
  if _TASK.value is not None:
    raise UsageError('--train and --task are separate benchmarks; pass one of them')
  if _TRAIN.value == 'selfplay':
    _check_modulus()
  if _TRAIN_JUDGE.value not in image_judges.JUDGE_MODELS:
    raise UsageError(f'--train_judge={_TRAIN_JUDGE.value}: expected one of {", ".join(image_judges.JUDGE_MODELS)}')
  meshes = [parse_mesh(spec) for spec in _MESH.value]
  if not meshes:
    raise UsageError('--mesh needs at least one value')
  if _TRAIN.value == 'selfplay':
    _at_least(2, _SELFPLAY_MAX_LENGTH)
    _at_least(1, _SELFPLAY_SIMULATIONS, _SELFPLAY_WIDTH)
  _at_least(1, _TRAIN_BATCH_SIZE, _TRAIN_STEPS, _REPEATS, _TRAIN_K)
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


# ------------------------------------------------------------------------------------------------------------
# Outputs.


def _report(name: str, title: str, table: str, record: dict, note: str = '', files: dict | None = None) -> None:
  """Prints `table`; with --out, writes `name`.md (title, command, table, note), `name`.json (the command and
  `record`) and `files` ({file name: text})."""
  from debate.experiments import runfiles

  print(table, end='', flush=True)
  if not _OUT.value:
    return
  command = ' '.join(['python -m launch.bench', *sys.argv[1:]])
  markdown = f'# {title}\n\n`{command}`\n\n{table}' + (f'\n{note}\n' if note else '')
  texts = {f'{name}.md': markdown, **(files or {})}
  runfiles.write_files(_OUT.value, {file: runfiles.text_writer(text) for file, text in texts.items()})
  runfiles.write_json(os.path.join(_OUT.value, f'{name}.json'), {'command': command, **record})
  _log(f'[bench] wrote {os.path.join(_OUT.value, name)}.json and {name}.md')


# ------------------------------------------------------------------------------------------------------------
# Modes.


def _main_chain(settings: dict) -> None:
  from debate.rollouts import throughput

  if _WORKER.value:
    _worker(
      '--devices',
      lambda on_row: throughput.measure_chain(
        settings['protocols'],
        settings['judge'],
        settings['T'],
        settings['batch_sizes'],
        repeats=settings['repeats'],
        modulus=settings['modulus'],
        devices=settings['devices'][0],
        s=settings['s'],
        seed=settings['seed'],
        on_row=on_row,
        log=_log,
      ),
    )
    return
  rows, envs = _run_children(_CHAIN_CHILD_FLAGS, [(f'--devices={n}', n) for n in settings['devices']])
  env = next(iter(envs.values()), None)
  table = throughput.render_chain_markdown(rows, env)
  record = {
    'settings': settings,
    'environment': env or {},
    'environment_by_devices': envs,
    'rows': throughput.add_speedups(rows),
  }
  note = _CPU_NOTE.format(ratio='speedup') + (
    ' A speedup up to the CPU count only means that one simulated device left cores idle. Real speedups need '
    'real devices.'
  )
  _report('bench_chain', 'Rollout throughput, task chain', table, record, note)


def _main_ladder(settings: dict) -> None:
  from debate.rollouts import throughput

  rows = throughput.measure_ladder(
    settings['protocols'],
    settings['judge'],
    settings['T'],
    judges=settings['judges'],
    seeds=settings['seeds'],
    games=settings['games'],
    repeats=settings['repeats'],
    modes=settings['modes'],
    modulus=settings['modulus'],
    s=settings['s'],
    log=_log,
  )
  table = throughput.render_ladder_markdown(rows, throughput.environment())
  _report('bench_ladder', 'Judge ladder compilation', table, {'rows': rows})


def _main_images(settings: dict) -> None:
  from debate.rollouts import throughput

  rows = throughput.measure_images(**settings, log=_log)
  table = throughput.render_images_markdown(rows, throughput.environment())
  _report('bench_images', 'Image debate throughput', table, {'rows': rows})


def _main_text(settings: dict) -> None:
  import jax

  from debate.rollouts import text_throughput, throughput
  from debate.training import throughput as train_throughput
  from judges import text_judges
  from launch.configs import text as text_configs

  train_rows, configs = [], [text_configs.get_config(f'judge_{rung}') for rung in settings['judges']]
  for config in configs:
    config.update(batch_size=settings['train_batch_size'], seed=settings['seed'])
    train_rows.append(
      train_throughput.measure_train_text_judge(
        config,
        mesh_shape=(jax.device_count(), 1),
        steps_per_repeat=settings['train_steps'],
        repeats=settings['repeats'],
      )
    )
    _log(f'[bench text] train {config.judge}: {train_rows[-1]["tokens_per_s"]:,.0f} tokens/s')
  search_rows = text_throughput.measure_text_search(
    **{key: settings[key] for key in ('judges', 'budgets', 'batch_sizes', 'k', 'repeats', 'seed')},
    task=text_judges.text_task(configs[0]),
    log=_log,
  )
  env = throughput.environment()
  table = text_throughput.render_text_markdown(train_rows, search_rows, env)
  record = {'settings': settings, 'environment': env, 'train_rows': train_rows, 'search_rows': search_rows}
  csv = {'bench_text.csv': text_throughput.render_text_csv(train_rows, search_rows)}
  _report('bench_text', 'Text judge throughput', table, record, files=csv)


def _main_train(settings: dict) -> None:
  from debate.training import throughput

  if _WORKER.value:
    ((data, model),) = settings['meshes']
    if settings['train'] == 'selfplay':
      measure = lambda: throughput.measure_train_selfplay(
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
      measure = lambda: throughput.measure_train_judge(
        settings['judge'],
        mesh_shape=(data, model),
        batch_size=settings['batch_size'],
        k=settings['k'],
        steps_per_repeat=settings['steps_per_repeat'],
        repeats=settings['repeats'],
        seed=settings['seed'],
      )
    _worker('--mesh', lambda on_row: on_row(measure()))
    return
  meshes = [(f'--mesh=data:{data},model:{model}', data * model) for data, model in settings['meshes']]
  rows, envs = _run_children(_TRAIN_CHILD_FLAGS, meshes)
  table = throughput.render_train_markdown(rows, next(iter(envs.values()), None))
  title = 'Judge' if settings['train'] == 'judge' else 'Self-play debater'
  record = {'settings': settings, 'environment_by_mesh': envs, 'rows': rows}
  _report(
    f'bench_train_{settings["train"]}', f'{title} training throughput', table, record, _CPU_NOTE.format(ratio='ratio')
  )


def main(argv):
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}')
  if _TRAIN.value is not None:
    mode, settings_of = _main_train, _train_settings
  elif _TASK.value == 'images':
    mode, settings_of = _main_images, _image_settings
  elif _TASK.value == 'text':
    mode, settings_of = _main_text, _text_settings
  elif _LADDER.value:
    mode, settings_of = _main_ladder, _ladder_settings
  else:
    mode, settings_of = _main_chain, _chain_settings
  try:
    settings = settings_of()
  except UsageError as e:
    fail(str(e))
  mode(settings)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
