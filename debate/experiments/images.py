"""The Irving et al. 2018 experiment on images: Table 2, the search-budget curve, and the paper's figures.

  python -m launch.run --config=launch/configs/irving_mnist.py:k6 --data_dir=DIR --judge_workdir=J --workdir=W

A cell is (arm, first player, number of test images); `config.game` lists them:
- the main cells, on the first `num_images` test images: every arm of `protocols` (direct once; debate and
  consultancy once per first player in `first`);
- the budget curve, on the first `curve_images` test images: precommit debate with `curve_agent` at each
  budget of `curve_budgets`, for each first player.

Self-play debaters (`az:STEP[@S]`, debate/training/selfplay.py on the precommit image game) in any debate
arm are trained against the judge of --judge_workdir on the training split of --data_dir (or loaded: once per
run, every rung the cells name) and saved in `agents/` of the workdir before the first cell; the optional
config field `selfplay_training` (a dict of `debate.training.selfplay.SelfPlayConfig` fields) overrides the
image defaults (`SELFPLAY_DEFAULTS`).

Each cell's record is appended to results.jsonl (after its sample games in transcripts.jsonl) as soon as it
ends; a rerun skips finished cells and ends with the same records. An image's score is the honest side's
win rate over its games: with precommit, the liar is credited with its best lie, so the score is the
minimum over the C - 1 lies of the mean over `seeds_per_lie` repeats (Irving et al.'s protocol); otherwise
the mean over repeats. Accuracy is the mean score over images, with a Wilson 95% interval when scores are
0/1 and a bootstrap interval over images otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import time
from typing import Any, Callable

import jax
import ml_collections
import numpy as np

from debate.analysis.stats import bootstrap_mean_interval, wilson_interval
from debate.distributed import multihost, sharding
from debate.experiments import grid, runfiles
from debate.games import images as image_games
from debate.games import pixels as image_game
from debate.reports import images as image_report
from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.tasks import idx
from debate.training import selfplay
from judges import image_judges, pretrained

# The fields whose values change a run's results; the others (the judge's training fields, and
# game_batch_size, game_memory_gb, num_transcripts, which change only how a run executes) may differ on resume.
RESULT_FIELDS = ('task', 'k', 'num_classes', 'game', 'judge_checkpoint', 'selfplay_training')


@dataclasses.dataclass(frozen=True)
class ImageCell:
  arm: image_rollout.ImageArm
  first: str | None
  num_images: int

  @property
  def name(self) -> str:
    return self.arm.name + (f'|first={self.first}' if self.first else '') + f'|images={self.num_images}'


# Images per saved block of a cell (config field `block_images`): a killed run resumes after the cell's last
# finished block. It changes how a run executes, not its results.
DEFAULT_BLOCK_IMAGES = 100

SELFPLAY_DEFAULTS = {
  'batch_size': 16,
  'num_simulations': 8,
  'considered_actions': 8,
  'learning_rate': 3e-3,
  'width': 8,
  'depth': 1,
}


def selfplay_config(config: ml_collections.ConfigDict) -> selfplay.SelfPlayConfig:
  """The self-play settings of `config`: SELFPLAY_DEFAULTS overridden by the optional `selfplay_training`
  dict. Raises ConfigError naming the field."""
  return runfiles.parsed(
    'selfplay_training',
    lambda: selfplay.SelfPlayConfig(**{**SELFPLAY_DEFAULTS, **dict(config.get('selfplay_training') or {})}),
    hint='; the fields are those of debate.training.selfplay.SelfPlayConfig',
  )


def az_specs(arm) -> list:
  return [s for s in (arm.honest, arm.liar) if s is not None and s.kind == 'az']


def selfplay_ladder(
  cells: tuple[ImageCell, ...],
  config,
  *,
  judge,
  judge_params,
  judge_info: dict,
  data_dir: str,
  workdir: str,
  log: Callable[[str], None],
  mesh=None,
) -> dict:
  """{step: params} of the self-play network at every rung the cells' az agents name ({} if none), trained
  against the judge on the training split of `data_dir` (or loaded from `workdir/agents/`) once, its games
  split over debate.distributed.sharding.training_mesh of the experiment's `mesh` (params FSDP-style over
  `model_parallelism`); each process loads only its shard of the split, the images of its devices' games."""
  rungs = {spec.budget for cell in cells for spec in az_specs(cell.arm)}
  if not rungs:
    return {}
  try:
    train = idx.load_image_dataset(
      data_dir,
      split='train',
      num_classes=config.num_classes,
      process_index=jax.process_index(),
      process_count=jax.process_count(),
    )
  except idx.IdxError as e:
    raise runfiles.WorkdirError(f'--data_dir={data_dir}: the az debaters train on its training split: {e}') from None
  training = selfplay_config(config)
  return build_ladder(
    judge,
    judge_params,
    train,
    judge_name=f'{judge_info["model"]}_k{judge_info["k"]}_step{judge_info["step"]}',
    k=config.k,
    seed=config.game.seed,
    workdir=workdir,
    rungs=sorted(rungs),
    config=training,
    log=log,
    mesh=sharding.training_mesh(mesh, training.batch_size, config.get('model_parallelism', 1)),
  )


def ladder_dir(workdir: str, judge_name: str, seed: int) -> str:
  return selfplay.ladder_dir(workdir, 'image', judge_name, seed)


def build_ladder(
  judge,
  judge_params,
  train: idx.ImageDataset,
  *,
  judge_name: str,
  k: int,
  seed: int,
  workdir: str | None,
  rungs,
  config: selfplay.SelfPlayConfig,
  log: Callable[[str], None] = print,
  mesh=None,
) -> dict:
  """{step: params} of the image self-play network against the judge at every rung: loaded from `ladder_dir`
  or trained there (debate.training.selfplay.build_ladder) on precommit debates with k pixels on `train` (this
  process's shard of the training split), on `mesh` (a debate.distributed.sharding.training_mesh or None)."""
  if train.images.dtype != np.uint8 or train.images.ndim != 3:
    raise runfiles.WorkdirError(
      f'self-play trains on uint8 images [N, H, W], got {train.images.dtype} {train.images.shape}'
    )
  game = image_games.ImageDebate(judge, k, multihost.global_max(image_game.action_space_size(train.images)))
  sampler = image_games.TrainingGames(
    train.total, train.num_classes, game.num_actions, train.image_shape, mesh.devices.size if mesh else 1
  )
  log(
    f'self-play training images: {train.start}..{train.start + len(train) - 1} of {train.total} in '
    f'this process (process {jax.process_index()} of {jax.process_count()})'
  )
  return selfplay.build_ladder(
    game,
    sampler,
    judge_params,
    lambda: image_games.training_images(train, config.batch_size, mesh),
    directory=workdir and ladder_dir(workdir, judge_name, seed),
    rungs=rungs,
    seed=seed,
    config=config,
    settings={'k': k},
    who=f'image self-play vs {judge_name}',
    what='image self-play debater',
    log=log,
    mesh=mesh,
  )


def plan_cells(config: ml_collections.ConfigDict) -> tuple[ImageCell, ...]:
  """Validates config.game and lists the cells in run order (a cell listed twice runs once). Raises
  ConfigError naming the field."""
  game = config.game
  for field, minimum in (('num_images', 1), ('seeds_per_lie', 1), ('seed', 0), ('curve_images', 0)):
    runfiles.int_field(game, field, minimum, prefix='game.')
  runfiles.int_field(config, 'game_batch_size', 1)
  runfiles.int_field(config, 'num_transcripts', 0)
  runfiles.positive_field(config, 'game_memory_gb')
  firsts = runfiles.tuple_field(game, 'first', prefix='game.')
  for first in firsts:
    if first not in image_rollout.FIRST_PLAYERS:
      raise runfiles.ConfigError('game.first', f'each first player must be honest or liar, got {first!r}')
  arms = [
    runfiles.parsed('game.protocols', image_rollout.parse_image_arm, spec)
    for spec in runfiles.tuple_field(game, 'protocols', prefix='game.')
  ]
  cells = [
    ImageCell(arm, first, game.num_images)
    for arm in arms
    for first in (firsts if arm.protocol == 'debate' else (None,))
  ]
  if game.curve_images:  # The budget curve: precommit debate at each budget, for each first player.
    budgets = runfiles.tuple_field(
      game, 'curve_budgets', allow_empty=True, prefix='game.', minimum=1, each='each budget'
    )
    cells += [
      ImageCell(image_rollout.parse_image_arm(f'debate/mcts:{b}'), first, game.curve_images)
      for b in budgets
      for first in firsts
    ]
  selfplay_config(config)  # Validates the self-play training fields.
  return tuple(dict.fromkeys(cells))


def load_judge(judge_workdir: str) -> tuple[image_judges.ImageJudge, Any, dict]:
  """(judge, params, info) of the judge trained in `judge_workdir` (latest checkpoint), or of the shipped
  judge NAME when `judge_workdir` is 'pretrained:NAME' (judges/pretrained.py).

  info: model, k, step, and the test random-pixel accuracy from eval.json when training finished.
  """
  if judge_workdir.startswith(pretrained.PREFIX):
    try:
      judge, params, shipped = pretrained.load(judge_workdir[len(pretrained.PREFIX) :])
    except pretrained.PretrainedError as e:
      raise runfiles.WorkdirError(f'--judge_workdir={judge_workdir}: {e}') from None
    test = shipped['random_pixel_test']
    return (
      judge,
      params,
      {
        'model': shipped['model'],
        'k': shipped['k'],
        'step': shipped['step'],
        'steps': shipped['training_config']['steps'],
        'pretrained': shipped['name'],
        'random_pixel_accuracy': test['accuracy'],
        'random_pixel_ci95': test['ci95'],
        'random_pixel_images': test['games'],
      },
    )
  from judges import train  # Imported here: it pulls in Orbax, which the rest of this module does not need.

  config_path = os.path.join(judge_workdir, train.CONFIG)
  if not os.path.isfile(config_path):
    raise runfiles.WorkdirError(
      f'--judge_workdir={judge_workdir} holds no trained judge (no {train.CONFIG}); train '
      'one with python -m launch.train_judge'
    )
  saved = json.loads(pathlib.Path(config_path).read_text())
  try:
    params, step = train.restore_params(judge_workdir)
  except FileNotFoundError as e:
    raise runfiles.WorkdirError(f'--judge_workdir={judge_workdir}: {e}') from None
  info = {'model': saved['judge'], 'k': saved['k'], 'step': int(step), 'steps': saved['steps']}
  eval_path = os.path.join(judge_workdir, 'eval.json')
  evaluation = json.loads(pathlib.Path(eval_path).read_text()) if os.path.isfile(eval_path) else {}
  if evaluation.get('step') == step:
    info.update(
      random_pixel_accuracy=evaluation.get('accuracy'),
      random_pixel_ci95=evaluation.get('ci95'),
      random_pixel_images=evaluation.get('examples'),
    )
  return image_judges.ImageJudge(saved['judge'], saved['num_classes']), params, info


def image_scores(correct: np.ndarray) -> np.ndarray:
  """correct: [N, L, R] bool -> [N] float: per image, the min over lies of the mean over repeats."""
  return correct.mean(axis=2).min(axis=1)


def _class_pairs(true: np.ndarray, other: np.ndarray, num_classes: int, weights=None) -> list:
  """[true class][other class] counts (of `weights` if given) of paired class arrays."""
  counts = np.bincount(true * num_classes + other, weights, num_classes * num_classes)
  return counts.astype(int).reshape(num_classes, num_classes).tolist()


def make_record(
  cell: ImageCell,
  outcome: dict,
  transcript: dict,
  labels: np.ndarray,
  *,
  k: int,
  num_classes: int,
  judge_info: dict,
  wall_s: float,
  seed: int,
  num_actions: int,
) -> dict:
  """The results.jsonl record of one finished image cell."""
  correct = np.asarray(outcome['correct'], bool)  # [N, L, R]
  scores = image_scores(correct)
  binary = bool(np.all((scores == 0) | (scores == 1)))  # Wilson for 0/1 scores, else a bootstrap over images.
  ci = wilson_interval(int(scores.sum()), len(scores)) if binary else bootstrap_mean_interval(scores, seed=seed)
  arm = cell.arm
  record = {
    'cell': cell.name,
    'task': 'images',
    'protocol': arm.protocol,
    'arm': arm.name,
    'precommit': arm.precommit if arm.protocol == 'debate' else None,
    'first': cell.first,
    'agent': arm.honest.name if arm.honest else None,
    'liar': arm.liar.name if arm.liar else None,
    'budget': arm.budget,
    'k': k,
    'judge': judge_info['model'],
    'judge_k': judge_info['k'],
    'judge_step': judge_info['step'],
    'judge_random_pixel_accuracy': judge_info.get('random_pixel_accuracy'),
    'judge_random_pixel_ci95': judge_info.get('random_pixel_ci95'),
    'images': int(correct.shape[0]),
    'lies': int(correct.shape[1]),
    'repeats': int(correct.shape[2]),
    'games': int(correct.size),
    'honest_wins': int(correct.sum()),
    'accuracy': float(scores.mean()),
    'ci95': [float(ci[0]), float(ci[1])],
    'ci_method': 'wilson' if binary else 'bootstrap',
    'image_scores': np.round(scores, 4).tolist(),
    'seed': seed,
    'wall_s': round(wall_s, 3),
    'games_per_s': round(correct.size / max(wall_s, 1e-9), 2),
    # Compute, for the tournament's general-strength axis (debate/tournament.py): the judge's FLOPs per
    # verdict (one forward pass), and the judge evaluations the liar spends per game.
    'judge_parameters': judge_info.get('parameters'),
    'judge_forward_flops': judge_info.get('forward_flops'),
    'liar_evaluations_per_game': image_rollout.judge_evaluations_per_game(
      arm, k=k, num_actions=num_actions, first=cell.first
    ),
  }
  if arm.protocol == 'debate' and arm.precommit and correct.shape[2] > 1:
    single = correct[:, :, 0].min(axis=1)  # The paper's "without the mean over seeds": repeat 0 only.
    record.update(
      accuracy_first_repeat=float(single.mean()),
      ci95_first_repeat=list(wilson_interval(int(single.sum()), len(single))),
    )
  if arm.protocol == 'direct':  # [true label][judge's class], games.
    verdicts = np.asarray(outcome['verdict']).reshape(-1)
    record['confusion'] = _class_pairs(np.repeat(labels, correct[0].size), verdicts, num_classes)
  if arm.protocol == 'debate' and arm.precommit:  # [true label][lie], (image, lie) pairs the liar won.
    lies = np.asarray(transcript['claim'])[:, :, 0]  # [N, L]
    liar_won = (~correct).mean(axis=2) > 0.5  # [N, L]: the lie wins on most repeats.
    record['successful_lies'] = _class_pairs(
      np.repeat(labels, lies.shape[1]), lies.reshape(-1), num_classes, liar_won.reshape(-1)
    )
  return {**record, **grid.side_accuracies(outcome)}


def _transcript_rows(cell: ImageCell, outcome, transcript, images_u8, labels, count: int) -> list[dict]:
  """The sample games of a cell: one per image for the first `count` images, the liar's best lie (the lie
  with the lowest honest win rate over repeats; repeat 0) where there are several."""
  correct = np.asarray(outcome['correct'])  # [N, L, R]
  best = np.argmin(correct.mean(axis=2), axis=1)  # [N]: each image's best lie (the first of equals).
  return [
    {
      'cell': cell.name,
      'arm': cell.arm.name,
      'first': cell.first,
      'image_index': n,
      'label': int(labels[n]),
      'lie': int(best[n]),
      'repeat': 0,
      'claim': int(transcript['claim'][n, best[n], 0]),
      'revealed': np.asarray(transcript['revealed'][n, best[n], 0]).tolist(),
      'logits': np.round(np.asarray(transcript['logits'][n, best[n], 0], float), 4).tolist(),
      'correct': bool(correct[n, best[n], 0]),
      'verdict': int(outcome['verdict'][n, best[n], 0]),
      'image': images_u8[n].tolist(),
    }
    for n in range(min(count, correct.shape[0]))
  ]


def run_image_experiment(
  config: ml_collections.ConfigDict,
  workdir: str,
  *,
  data_dir: str,
  judge_workdir: str,
  mesh=None,
  log: Callable[[str], None] = logging.info,
) -> list[dict]:
  """Runs (or resumes) the image experiment of `config`; writes records, transcripts, tables and figures.

  The cells play the first test images; an image's index in the test split keys its games."""
  cells = plan_cells(config)  # Validate before touching anything.
  block_images = runfiles.int_field(config, 'block_images', 1, default=DEFAULT_BLOCK_IMAGES)
  if not data_dir:
    raise runfiles.WorkdirError(
      '--data_dir is required for image experiments: the folder with the IDX files, e.g. '
      '--data_dir=../shared/data/mnist'
    )
  if not judge_workdir:
    raise runfiles.WorkdirError('--judge_workdir is required: the workdir of a judge trained by launch.train_judge')
  try:
    test = idx.load_image_dataset(data_dir, split='test', num_classes=config.num_classes)
  except idx.IdxError as e:
    raise runfiles.WorkdirError(f'--data_dir={data_dir}: {e}') from None
  largest = max(c.num_images for c in cells)
  if largest > len(test.images):
    raise runfiles.ConfigError(
      'game.num_images', f'asks for {largest} test images but {data_dir} has {len(test.images)}'
    )
  judge, params, judge_info = load_judge(judge_workdir)
  judge_info.update(
    parameters=image_judges.count_params(params),
    forward_flops=image_judges.forward_flops(judge, params, test.images.shape[1:3]),
  )
  if judge_info['k'] != config.k:
    log(f'warning: the judge was trained on k={judge_info["k"]} pixels and the games reveal k={config.k}')
  images_u8, labels = np.asarray(test.images[:largest]), np.asarray(test.labels[:largest]).astype(np.int32)
  if config.k > images_u8.shape[1] * images_u8.shape[2]:
    raise runfiles.ConfigError(
      'k', f'{config.k} pixels is more than an image has ({images_u8.shape[1] * images_u8.shape[2]})'
    )
  # One action space for the whole data set, so a game never depends on which images a run plays.
  num_actions = image_game.action_space_size(np.asarray(test.images))
  mesh = mesh or runner.data_mesh()
  training = selfplay_config(config)
  if any(az_specs(cell.arm) for cell in cells):  # The self-play trainer's mesh, checked before the workdir.
    grid.training_meshes(
      mesh, config.get('model_parallelism', 1), {'selfplay_training.batch_size': training.batch_size}
    )
  ladder_of = {}
  log(
    f'{mesh.devices.size} device(s); judge {judge_info["model"]} (k={judge_info["k"]}, step {judge_info["step"]}); '
    f'{num_actions} actions per move'
  )

  def run_cell(cell: ImageCell):
    if az_specs(cell.arm) and not ladder_of:  # Trained (or loaded) once, with every rung the cells name.
      ladder_of['az'] = selfplay_ladder(
        cells,
        config,
        judge=judge,
        judge_params=params,
        judge_info=judge_info,
        data_dir=data_dir,
        workdir=workdir,
        log=log,
        mesh=mesh,
      )
    arm, n = cell.arm, cell.num_images
    repeats = 1 if arm.protocol == 'direct' else config.game.seeds_per_lie
    tree_bytes = image_rollout.search_bytes_per_game(arm, num_actions, config.k)
    batch = config.game_batch_size  # Searches are held to game_memory_gb of trees.
    if tree_bytes:
      batch = max(mesh.devices.size, min(batch, int(config.game_memory_gb * 2**30 // tree_bytes)))
    games_per_image = image_rollout.lies_per_image(arm, config.num_classes) * repeats
    start = time.time()

    def play_block(first_image: int, stop: int) -> dict:
      outcome, transcript = image_rollout.run_games(
        arm,
        judge,
        params,
        images_u8[first_image:stop].astype(np.float32) / 255.0,
        labels[first_image:stop],
        np.arange(first_image, stop, dtype=np.int32),
        k=config.k,
        num_actions=num_actions,
        num_classes=config.num_classes,
        first=cell.first,
        seed=config.game.seed,
        repeats=repeats,
        batch_size=batch,
        mesh=mesh,
        on_batch=grid.progress_reporter(cell.name, (stop - first_image) * games_per_image, log, every_s=30.0),
        agent_params=tuple(ladder_of['az'][s.budget] if s in az_specs(arm) else None for s in (arm.honest, arm.liar)),
        networks=(('az', training.width, training.depth),),
      )
      return {
        **{f'outcome.{k}': v for k, v in outcome.items()},
        **{f'transcript.{k}': v for k, v in transcript.items()},
      }

    played = grid.run_in_blocks(workdir, cell.name, n, block_images, play_block, log)
    outcome, transcript = (
      {k.split('.', 1)[1]: v for k, v in played.items() if k.startswith(part)} for part in ('outcome.', 'transcript.')
    )
    return make_record(
      cell,
      outcome,
      transcript,
      labels[:n],
      k=config.k,
      num_classes=config.num_classes,
      judge_info=judge_info,
      wall_s=time.time() - start,
      seed=config.game.seed,
      num_actions=num_actions,
    ), _transcript_rows(cell, outcome, transcript, images_u8, labels, config.num_transcripts)

  return grid.run_grid(
    cells,
    run_cell,
    workdir,
    {
      **json.loads(config.to_json_best_effort()),
      'judge_checkpoint': {f: judge_info[f] for f in ('model', 'k', 'step')},
    },
    summary=lambda record: (
      f'accuracy {record["accuracy"]:.3f} [{record["ci95"][0]:.3f}, {record["ci95"][1]:.3f}] over '
      f'{record["images"]} images ({record["games"]} games) in {record["wall_s"]:.0f}s'
    ),
    write_reports=lambda records, workdir: image_report.write_image_reports(
      records, workdir, transcripts=runfiles.read_jsonl(os.path.join(workdir, grid.TRANSCRIPTS))
    ),
    fields=RESULT_FIELDS,
    log=log,
  )
