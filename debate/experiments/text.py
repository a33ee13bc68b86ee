"""The text experiment: debaters quote a story to judges (exact, and the transformer ladder), a grid of cells
(seed, judge, k, arm) run by `debate.experiments.grid` (records in results.jsonl, sample games in
transcripts.jsonl, resume), then tables and figures (debate/reports/text.py).

  python -m launch.run --config=launch/configs/text.py:smoke --workdir=DIR

Config fields (besides the text judge's own, launch/configs/text.py, which train a missing rung):
  experiment: 'text'; task: 'text'; text_task: the TextTask fields (story length S, ...).
  game.protocols: arms (debate/rollouts/text.py `parse_text_arm`).
  game.judges: 'exact' (the game's ExactJudge) and ladder rungs by name (judges/text_judges.py JUDGE_MODELS).
  game.k: the quotes of a game in all (each 1..S); game.seeds: the run seeds; game.num_stories: stories
    0..N-1 of each seed, played by every cell (paired).
  judge_dir: one judge workdir per rung, judge_dir/RUNG (what `launch.train_judge
    --config=launch/configs/text.py:judge_RUNG --workdir=judge_dir/RUNG` writes); '' means WORKDIR/judges. A
    rung whose folder holds no finished training (no eval.json at its last step) is trained there first
    with this config's judge fields (judge = the rung; resumable), so a smoke run is self-contained.
  rung_steps (optional): {rung: steps} of the rungs trained here (default: `steps`).
  curriculum_steps (optional): > 0 trains a missing rung after the curriculum's first phase, that many
    steps on 2-hop questions from full stories in judge_dir/RUNG_h2 (judges.text_judges.curriculum_config).
  game_batch_size: games per compiled batch (results do not depend on it); num_transcripts: sample games kept
    per cell.
  selfplay_training (optional): SelfPlayConfig fields over the text game's SELFPLAY_DEFAULTS, for az:STEP[@S]
    debaters, trained (or loaded) in WORKDIR/agents/ once per (judge, seed, k, claims, hidden) with every rung
    the cells name (debate.games.text.text_selfplay_ladder); selfplay_stories: their training stories.

Story n of a cell is instance STORY_OFFSET + n of the seed (the held-out test split of the judges and the
self-play debaters); its games are keyed by (seed, that index) (debate/rollouts/text.py), so every cell plays
the same stories with the same keys: a paired comparison across arms, judges and k.

Records (results.jsonl, one per cell): cell, task 'text', protocol, arm, honest (the honest debater, the
consultant or protagonist), liar, agent (the strength of the liar / consultant, named alike across protocols:
random, greedy, search:B for mcts:B), budget, judge, k, num_sentences, claims, show_verified, games, correct,
accuracy, ci95 (Wilson), by_hops {h: games, correct, accuracy, ci95}, seed, judge_step, judge_parameters,
judge_test_accuracy, judge_train_k (learned judges), wall_s, games_per_s; debates: liar_wins_games,
liar_wins_correct (the liar's wins), liar_wins_accuracy, liar_wins_ci95; with claims: honest_claims_per_game,
liar_claims_per_game; consultancy and the open protocols: games_/accuracy_ of the honest_/lying_ consultant
(protagonist). Transcripts (transcripts.jsonl): the first num_transcripts games of each cell, readable
(`transcript_rows`; `python -m launch.show`).
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

from debate.experiments import grid, runfiles
from debate.games import text as text_game
from debate.rollouts import runner
from debate.rollouts import text as rollout
from debate.tasks import text as text_task

EXACT = 'exact'
# Story n of a cell is generator index STORY_OFFSET + n of its seed: the held-out test stories of the judges
# and the self-play debaters, never one they were trained on (0..num_train_stories - 1).
STORY_OFFSET = text_game.TEST_OFFSET
# Fields that change how a run executes but not its results: a resumed run may change them.
EXECUTION_ONLY_FIELDS = ('game_batch_size', 'num_transcripts', 'eval_batch_size', 'log_every')


@dataclasses.dataclass(frozen=True)
class TextCell:
  arm: rollout.TextArm
  judge: str
  k: int
  seed: int

  @property
  def name(self) -> str:
    return f'{self.arm.name}|{self.judge}|k={self.k}|seed={self.seed}'


@dataclasses.dataclass(frozen=True)
class Plan:
  task: text_task.TextTask
  cells: tuple[TextCell, ...]
  num_stories: int


def _text_task(config) -> text_task.TextTask:
  from judges import text_judges  # The judge module (Flax), only for its TextTask parser.

  return text_judges.text_task(config)


def plan_experiment(config: ml_collections.ConfigDict) -> Plan:
  """Validates `config` and lists its cells in run order (seed, judge, k, arm). Raises ConfigError naming the
  field."""
  from judges import text_judges

  if config.get('task') != 'text':
    raise runfiles.ConfigError('task', f"the text experiment runs the 'text' task, got {config.get('task')!r}")
  if 'game' not in config:
    raise runfiles.ConfigError('game', 'missing: the text experiment needs game.protocols, judges, k, seeds, ...')
  task, game = _text_task(config), config.game
  num_stories = runfiles.int_field(game, 'num_stories', 1, prefix='game.')
  runfiles.int_field(config, 'game_batch_size', 1)
  runfiles.int_field(config, 'num_transcripts', 0)
  seeds = runfiles.tuple_field(game, 'seeds', minimum=0, each='each seed', prefix='game.')
  ks = runfiles.tuple_field(game, 'k', minimum=1, each='each k', prefix='game.')
  for k in ks:
    if k > task.num_sentences:
      raise runfiles.ConfigError(
        'game.k', f'k={k} quotes is more than a story has (text_task.num_sentences={task.num_sentences})'
      )
  judges = runfiles.tuple_field(game, 'judges', prefix='game.')
  for judge in judges:
    if judge != EXACT and judge not in text_judges.JUDGE_MODELS:
      raise runfiles.ConfigError(
        'game.judges', f'unknown judge {judge!r}; expected {EXACT} or a rung of {", ".join(text_judges.JUDGE_MODELS)}'
      )
  arms = [
    runfiles.parsed('game.protocols', rollout.parse_text_arm, spec)
    for spec in runfiles.tuple_field(game, 'protocols', prefix='game.')
  ]
  if any(arm.claims for arm in arms) and task.num_fabricated < 1:
    raise runfiles.ConfigError('game.protocols', 'an arm with /claims needs text_task.num_fabricated >= 1')
  if any(spec is not None and spec.kind == 'az' for arm in arms for spec in arm.agents):
    selfplay_config(config)
  judge_dir = config.get('judge_dir', '')
  if not isinstance(judge_dir, str):
    raise runfiles.ConfigError('judge_dir', f'must be a folder (or empty), got {judge_dir!r}')
  cells = tuple(
    dict.fromkeys(TextCell(arm, judge, k, seed) for seed in seeds for judge in judges for k in ks for arm in arms)
  )
  return Plan(task, cells, num_stories)


def selfplay_config(config):
  """The az debaters' self-play settings: the text game's SELFPLAY_DEFAULTS overridden by the optional
  `selfplay_training` dict."""
  from debate.training import selfplay

  defaults = text_game.SELFPLAY_DEFAULTS
  return runfiles.parsed(
    'selfplay_training',
    lambda: selfplay.SelfPlayConfig(**{**defaults, **dict(config.get('selfplay_training') or {})}),
    hint='; the fields are those of debate.training.selfplay.SelfPlayConfig',
  )


# ------------------------------------------------------------------------------------------------------------
# Judges.


# The fields of an experiment config that are not a judge's (train_rung drops them).
EXPERIMENT_FIELDS = ('game', 'experiment', 'judge_dir', 'game_batch_size', 'num_transcripts', 'selfplay_training')


def rung_dir(config, workdir: str, rung: str) -> str:
  return os.path.join(config.get('judge_dir') or os.path.join(workdir, 'judges'), rung)


def _finished(directory: str) -> dict | None:
  """The saved config of a finished judge training in `directory` (eval.json at its last step), else None."""
  config_path, eval_path = os.path.join(directory, 'config.json'), os.path.join(directory, 'eval.json')
  if not (os.path.isfile(config_path) and os.path.isfile(eval_path)):
    return None
  saved = json.loads(pathlib.Path(config_path).read_text())
  evaluation = json.loads(pathlib.Path(eval_path).read_text())
  return saved if evaluation.get('step') == saved.get('steps') else None


def train_rung(config, directory: str, rung: str, log: Callable[[str], None]) -> None:
  """Trains (or resumes) the ladder rung `rung` in `directory` with the config's judge fields, as
  `launch.train_judge` does, and writes its eval.json: for `rung_steps[rung]` steps (default `steps`) and,
  with `curriculum_steps` > 0, after the curriculum's first phase in `directory`_h2
  (text_judges.curriculum_config), as the ladder's two commands train it."""
  from judges import text_judges

  judge_config = ml_collections.ConfigDict(json.loads(config.to_json_best_effort()))
  judge_config.judge = rung
  judge_config.steps = dict(config.get('rung_steps', {})).get(rung, config.steps)
  curriculum_steps = config.get('curriculum_steps', 0)
  for field in (*EXPERIMENT_FIELDS, 'rung_steps', 'curriculum_steps'):
    if field in judge_config:
      del judge_config[field]
  if curriculum_steps:
    _train_judge(text_judges.curriculum_config(judge_config, curriculum_steps), f'{directory}_h2', rung, log)
    judge_config.init_from = f'{directory}_h2'
  _train_judge(judge_config, directory, rung, log)


def _train_judge(judge_config, directory: str, rung: str, log: Callable[[str], None]) -> None:
  """Trains (or resumes) one judge run in `directory` unless it is finished, then writes its eval.json."""
  from judges import text_judges

  if _finished(directory) is not None:
    return
  try:
    text_judges.validate_config(judge_config)
  except runfiles.ConfigError as e:
    raise runfiles.ConfigError(e.field, f'training the missing judge {rung} in {directory}: {e}') from None
  train_set, test_set = (
    text_judges.make_data(judge_config, split, process_index=jax.process_index(), process_count=jax.process_count())
    for split in ('train', 'test')
  )
  text_judges.check_workdir(judge_config, directory, train_set)
  log(f'training the text judge {rung} in {directory} ({judge_config.steps} steps)')
  _, metrics = text_judges.train_judge(judge_config, directory, train_set, test_set, log=log)
  if jax.process_index() == 0:
    result = {'split': 'test', 'judge': rung, 'step': metrics['step'], **metrics['test']}
    runfiles.write_json(os.path.join(directory, 'eval.json'), result)


def load_judge(config, task: text_task.TextTask, workdir: str, name: str, log: Callable[[str], None]):
  """(judge, params, info) of the judge `name`: the exact judge, or the rung of `rung_dir` (trained first if
  missing). info: judge_step, judge_parameters, judge_test_accuracy (random views at its trained k)."""
  if name == EXACT:
    return text_game.ExactJudge(), None, {}
  from judges import text_judges, trainer

  directory = rung_dir(config, workdir, name)
  saved = _finished(directory)
  if saved is None:
    train_rung(config, directory, name, log)
    saved = _finished(directory)
  saved = ml_collections.ConfigDict(saved)
  if saved.judge != name:
    raise runfiles.WorkdirError(f'{directory} holds the judge {saved.judge}, not {name}')
  if text_judges.text_task(saved) != task:
    raise runfiles.WorkdirError(
      f'{directory}: its judge {name} was trained on text_task {saved.text_task.to_dict()}, but this run plays '
      f'{dataclasses.asdict(task)}; use a judge_dir of judges trained on this task'
    )
  try:
    params, step = trainer.restore_params(directory, text_judges.task_from_config(saved), saved)
  except (ValueError, KeyError, FileNotFoundError) as e:  # Orbax: a tree of another version of the model.
    raise runfiles.WorkdirError(
      f'{directory}: cannot restore the judge {name} ({type(e).__name__}: {str(e).splitlines()[0]}); it was '
      'saved by another version of judges/text_judges.py: retrain it there or use another judge_dir'
    ) from None
  evaluation = json.loads(pathlib.Path(os.path.join(directory, 'eval.json')).read_text())
  info = {
    'judge_step': int(step),
    'judge_parameters': text_judges.count_params(params),
    'judge_test_accuracy': evaluation.get('accuracy'),
    'judge_train_k': saved.k,
  }
  return text_judges.judge_for(task, name), params, info


# ------------------------------------------------------------------------------------------------------------
# Records and transcripts.


def _claims_by(transcript: dict, num_sentences: int, mover: int) -> float:
  """Unverified claims per game made by `mover` (0 honest / consultant, 1 liar)."""
  actions, movers = np.asarray(transcript['actions']), np.asarray(transcript['movers'])
  return float(((actions >= num_sentences) & (movers == mover)).sum() / max(len(actions), 1))


def make_record(cell: TextCell, outcome: dict, transcript: dict, *, task, wall_s: float, judge_info: dict) -> dict:
  """The results.jsonl record of one finished text cell (fields: README, text experiment)."""
  arm = cell.arm
  correct, hops = np.asarray(outcome['correct'], bool), np.asarray(outcome['hops'])
  games = int(correct.size)
  record = {
    'cell': cell.name,
    'task': 'text',
    'protocol': arm.protocol,
    'arm': arm.name,
    'honest': arm.honest.name if arm.honest else None,
    'liar': arm.liar.name if arm.liar else None,
    'agent': arm.strong.agent if arm.strong else None,
    'budget': arm.budget,
    'judge': cell.judge,
    'k': cell.k,
    'num_sentences': task.num_sentences,
    'claims': arm.claims,
    'show_verified': not arm.hidden,
    **grid.counted(int(correct.sum()), games),
    'by_hops': {
      str(h): grid.counted(int(correct[hops == h].sum()), int((hops == h).sum())) for h in sorted(set(hops.tolist()))
    },
    'seed': cell.seed,
    **judge_info,
    'wall_s': round(wall_s, 3),
    'games_per_s': round(games / max(wall_s, 1e-9), 2),
  }
  if arm.protocol in rollout.DEBATES:
    record.update(grid.counted(int((~correct).sum()), games, prefix='liar_wins_'))
  if arm.claims:
    for role, mover in (('honest', text_game.HONEST), ('liar', text_game.LIAR)):
      if arm.protocol in rollout.DEBATES or mover == text_game.HONEST:
        record[f'{role}_claims_per_game'] = round(_claims_by(transcript, task.num_sentences, mover), 4)
  return {**record, **grid.side_accuracies(outcome)}


def _floats(values) -> list:
  return [None if not np.isfinite(v) else round(float(v), 4) for v in np.asarray(values, float)]


def transcript_rows(cell: TextCell, instances, outcome: dict, transcript: dict, count: int) -> list[dict]:
  """The first `count` games of a cell, readable: the story (decoded), question, answers, label, each move's
  quote with its position, flag and mover, the judge's P(true) after each move, verdict, correct."""
  rows = []
  for n in range(min(count, len(outcome['correct']))):
    story = jax.tree.map(lambda a: np.asarray(a)[n], instances)
    actions = np.asarray(transcript['actions'][n])
    num_sentences = story.story.shape[0]
    quotes = [
      text_task.decode(story.fabricated[a - num_sentences] if a >= num_sentences else story.story[a]) if a >= 0 else ''
      for a in actions.tolist()
    ]
    row = {
      'cell': cell.name,
      'task': 'text',
      'protocol': cell.arm.protocol,
      'arm': cell.arm.name,
      'judge': cell.judge,
      'k': cell.k,
      'seed': cell.seed,
      'game': n,
      'story': text_task.decode(story.story),
      'question': text_task.decode(story.question),
      'answers': text_task.decode(story.answers),
      'label': int(story.label),
      'hops': int(story.hops),
      'qtype': text_task.QTYPE_NAMES[int(story.qtype)],
      'actions': actions.tolist(),
      'quotes': quotes,
      'positions': np.asarray(transcript['positions'][n]).tolist(),
      'flags': np.asarray(transcript['flags'][n]).tolist(),
      'claimed': [bool(a >= num_sentences) for a in actions.tolist()],
      'movers': np.asarray(transcript['movers'][n]).tolist(),
      'claim': int(transcript['claim'][n]),
      'honest_first': bool(transcript['honest_first'][n]),
      'prob_true_after': _floats(transcript['prob_true_after'][n]),
      'prob_true': round(float(outcome['prob_true'][n]), 4),
      'verdict': int(outcome['verdict'][n]),
      'correct': bool(outcome['correct'][n]),
    }
    for field in ('consultant_side', 'protagonist_honest', 'protagonist_estimate'):
      if field in transcript:
        value = np.asarray(transcript[field][n])
        row[field] = value.item() if value.dtype != np.float32 else round(float(value), 4)
    if 'consultant_estimates' in transcript:
      row['consultant_estimates'] = _floats(transcript['consultant_estimates'][n])
    rows.append(row)
  return rows


# ------------------------------------------------------------------------------------------------------------
# The run.


def run_text_experiment(
  config: ml_collections.ConfigDict, workdir: str, *, mesh=None, log: Callable[[str], None] = logging.info
) -> list[dict]:
  """Runs (or resumes) the text grid of `config` in `workdir`; writes records, transcripts, tables and figures.
  Returns the records of every cell, in run order."""
  from debate.reports import text as report

  plan = plan_experiment(config)  # Validate before touching the workdir.
  mesh = mesh or runner.data_mesh()
  judges: dict[str, Any] = {}
  stories: dict[int, Any] = {}
  ladders: dict[tuple[str, int], dict] = {}

  def run_cell(cell: TextCell):
    if cell.judge not in judges:
      judges[cell.judge] = load_judge(config, plan.task, workdir, cell.judge, log)
    judge, params, info = judges[cell.judge]
    if cell.seed not in stories:  # Every cell of a seed plays the same stories.
      stories[cell.seed] = jax.tree.map(
        np.asarray, text_task.sample_instances(plan.task, cell.seed, STORY_OFFSET + np.arange(plan.num_stories))
      )
    instances = stories[cell.seed]
    agent_params, networks = _learned(cell, plan, config, workdir, judge, params, ladders, mesh, log)
    start = time.time()
    outcome, transcript = rollout.run_games(
      cell.arm,
      plan.task,
      judge,
      params,
      instances,
      STORY_OFFSET + np.arange(plan.num_stories),
      k=cell.k,
      seed=cell.seed,
      batch_size=config.game_batch_size,
      mesh=mesh,
      on_batch=grid.progress_reporter(cell.name, plan.num_stories, log),
      agent_params=agent_params,
      networks=networks,
    )
    record = make_record(cell, outcome, transcript, task=plan.task, wall_s=time.time() - start, judge_info=info)
    return record, transcript_rows(cell, instances, outcome, transcript, config.num_transcripts)

  log(f'{plan.num_stories} stories per cell on {mesh.devices.size} device(s)')
  return grid.run_grid(
    plan.cells,
    run_cell,
    workdir,
    json.loads(config.to_json_best_effort()),
    summary=grid.accuracy_summary,
    write_reports=report.write_text_reports,
    ignore=EXECUTION_ONLY_FIELDS,
    log=log,
  )


def _learned(cell, plan, config, workdir, judge, params, ladders, mesh, log):
  """(agent_params, networks) of the cell's players: the az rungs' params, None for the other agents. A ladder
  (debate.games.text.text_selfplay_ladder) is trained or loaded once per (judge, seed, k, claims, hidden),
  with every rung the cells of that game name, in WORKDIR/agents/text_selfplay_<judge>_k<k>[...]_seed<seed>."""
  specs = [s for s in cell.arm.agents if s is not None and s.kind == 'az']
  if not specs:
    return (None, None), ()
  training = selfplay_config(config)
  game = rollout.make_game(cell.arm, plan.task, judge, cell.k)
  same_game = lambda c: (
    (c.judge, c.seed, c.k, c.arm.claims, c.arm.hidden)
    == (cell.judge, cell.seed, cell.k, cell.arm.claims, cell.arm.hidden)
  )
  name = f'{cell.judge}_k{cell.k}' + '_claims' * cell.arm.claims + '_hidden' * cell.arm.hidden
  if name not in ladders:
    rungs = {s.budget for c in plan.cells if same_game(c) for s in c.arm.agents if s and s.kind == 'az'}
    ladders[name] = text_game.text_selfplay_ladder(
      game,
      params,
      judge_name=name,
      rungs=sorted(rungs),
      workdir=workdir,
      seed=cell.seed,
      num_stories=config.get('selfplay_stories', 1000),
      config=training,
      log=log,
    )
  agents = tuple(ladders[name][s.budget] if s is not None and s.kind == 'az' else None for s in cell.arm.agents)
  return agents, (('az', training.width, training.depth),)
