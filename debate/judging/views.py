"""What the judging page shows of one recorded game, and what it hides until the person's verdict is in.

One function per task (TASK_VIEWS) turns a transcript row (a line of DIR/transcripts.jsonl) and the workdir's
config into a `GameView`: `shown` (all the page holds before the verdict: what the model judge could see),
`choices` (the verdict space, in the encoding of the transcript's `verdict` field), `private` (what the server
hands out on request: the steps a person checks) and `reveal` (sent with the answer to the verdict). A new task
is one more function in TASK_VIEWS and one more renderer in static/judge.js.

The two sides appear as A and B in an order fixed per game id by a hash, so position does not tell which is
honest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable

import numpy as np

from debate.experiments import runfiles
from debate.reports import transcripts


class WorkdirError(ValueError):
  """A workdir the page cannot serve; the message says why."""


@dataclasses.dataclass(frozen=True)
class Workdir:
  """The recorded games of a run: its transcripts (game id = line number), config and records by cell."""

  path: str
  rows: tuple[dict, ...]
  config: dict
  records: dict[str, dict]


@dataclasses.dataclass(frozen=True)
class GameView:
  game: int
  task: str
  kind: str  # how the page draws it: a renderer of static/judge.js
  cell: dict  # cell, protocol, judge, size ('T=8', 'k=6')
  shown: dict
  choices: tuple[tuple[int, str], ...]  # (verdict value, label), in the order the page lists them
  checks: int  # steps the person may check (0: none)
  truth: int
  model_verdict: int
  private: dict = dataclasses.field(default_factory=dict)
  reveal: dict = dataclasses.field(default_factory=dict)

  def label(self, verdict: int) -> str:
    return dict(self.choices).get(verdict, str(verdict))


def load_workdir(path: str) -> Workdir:
  """Reads DIR/transcripts.jsonl, config.json and (if there) results.jsonl; WorkdirError if unusable."""
  if not os.path.isdir(path):
    raise WorkdirError(f'--workdir={path} is not a directory')
  transcripts_path = os.path.join(path, 'transcripts.jsonl')
  if not os.path.isfile(transcripts_path):
    raise WorkdirError(f'--workdir={path} has no transcripts.jsonl (run an experiment there first)')
  try:
    rows = runfiles.read_jsonl(transcripts_path)
    config_path = os.path.join(path, 'config.json')
    config = json.loads(open(config_path).read()) if os.path.isfile(config_path) else {}
    results_path = os.path.join(path, 'results.jsonl')
    records = runfiles.read_jsonl(results_path) if os.path.isfile(results_path) else []
  except (OSError, ValueError) as e:
    raise WorkdirError(f'--workdir={path}: cannot read its records: {e}') from None
  if not rows:
    raise WorkdirError(f'--workdir={path}: transcripts.jsonl holds no games')
  for number, row in enumerate(rows):
    if task_of(row) is None:
      raise WorkdirError(f'--workdir={path}: transcript {number} is of no task the page knows (chain, images, text)')
  return Workdir(path, tuple(rows), config, {r['cell']: r for r in records if 'cell' in r})


def task_of(row: dict) -> str | None:
  if row.get('task') == 'text' and 'quotes' in row:
    return 'text'
  if 'image' in row and 'revealed' in row:
    return 'images'
  if 'x0' in row and 'protocol' in row:
    return 'chain'
  return None


def flipped(game: int) -> bool:
  """Whether side A is the liar in game `game` (a fixed hash of the id)."""
  return hashlib.sha256(f'oversight-sim game {game}'.encode()).digest()[0] % 2 == 1


def cell_info(workdir: Workdir, row: dict) -> dict:
  if task_of(row) == 'chain':
    return {'cell': row['cell'], 'protocol': row['protocol'], 'judge': row['judge'], 'size': f'T={row["T"]}'}
  if task_of(row) == 'text':
    return {'cell': row['cell'], 'protocol': row['protocol'], 'judge': str(row['judge']), 'size': f'k={row["k"]}'}
  record = workdir.records.get(row['cell'], {})
  judge = record.get('judge', workdir.config.get('judge', '?'))
  k = record.get('k', workdir.config.get('k', '?'))
  return {'cell': row['cell'], 'protocol': row['arm'].split('/')[0], 'judge': str(judge), 'size': f'k={k}'}


# ----------------------------------------------------------------------------------------------------------
# chain: the instance is regenerated from the seed and checked against the transcript.


def _chain_instance(row: dict, config: dict):
  import jax

  from debate.rollouts.chain import game_keys
  from debate.tasks.chain import sample_instance

  seed, modulus, T = row['seed'], row['modulus'], row['T']
  if config.get('modulus', modulus) != modulus or seed not in config.get('seeds', [seed]):
    raise WorkdirError(f'{row["cell"]} game {row["game"]}: seed {seed} / modulus {modulus} are not in config.json')
  instance_key, _ = game_keys(jax.random.key(seed), np.int32(T), np.uint32(row['game']))
  instance = sample_instance(instance_key, T, modulus)
  trace, ops = np.asarray(instance.trace), np.asarray(instance.ops)
  if (int(trace[0]), int(trace[-1]), int(instance.wrong)) != (row['x0'], row['answer'], row['wrong']):
    raise WorkdirError(
      f'{row["cell"]} game {row["game"]}: the regenerated instance (x0 {trace[0]}, answer {trace[-1]}, wrong '
      f'{instance.wrong}) does not match the transcript (x0 {row["x0"]}, answer {row["answer"]}, wrong '
      f'{row["wrong"]}); was the workdir made by another version?'
    )
  return instance, trace, ops


def _claimed_trace(row: dict, instance, trace: np.ndarray) -> np.ndarray:
  """The consultant's trace (honest: the true one), checked against the steps the model judge checked."""
  from protocols.consultancy import lying_trace

  claimed = trace if row['consultant_honest'] else np.asarray(lying_trace(instance, row['wrong_step'], row['modulus']))
  ok = int(claimed[-1]) == row['claimed_answer'] and all(
    (int(claimed[t - 1]), int(claimed[t])) == (x, y)
    for t, x, y in zip(row['checked_steps'], row['checked_inputs'], row['checked_outputs'])
    if t
  )
  if not ok:
    raise WorkdirError(f'{row["cell"]} game {row["game"]}: the rebuilt consultant trace does not match the transcript')
  return claimed


def _x(t: int) -> str:
  """'x' with the subscript t in Unicode subscript digits: x₁₂."""
  return 'x' + str(t).translate(str.maketrans('0123456789', '₀₁₂₃₄₅₆₇₈₉'))


def chain_view(workdir: Workdir, game: int, row: dict) -> GameView:
  instance, trace, ops = _chain_instance(row, workdir.config)
  T, protocol = row['T'], row['protocol']
  flip = flipped(game)
  sides = [row['wrong'], row['answer']] if flip else [row['answer'], row['wrong']]
  shown = {'T': T, 'modulus': row['modulus'], 'x0': row['x0'], 'protocol': protocol}
  private = {'ops': ops[:T].tolist()}
  checks = 0
  if protocol.endswith('debate'):
    kind = 'chain_debate'
    names = ('Debater A', 'Debater B')
    honest_first = sides[0] == row['answer']
    rounds = row['rounds']

    def by_side(honest, liar):
      return [honest, liar] if honest_first else [liar, honest]

    shown['sides'] = [{'name': n, 'claim': c} for n, c in zip(names, sides)]
    shown['rounds'] = [
      {
        'lo': rounds['lo'][i],
        'hi': rounds['hi'][i],
        'mid': rounds['mid'][i],
        'claims': by_side(rounds['honest_claim'][i], rounds['liar_claim'][i]),
      }
      for i in range(row['num_rounds'])
    ]
    shown['step'] = {
      't': row['disputed_step'],
      'input': row['step_input'],
      'op': row['step_op'],
      'outputs': by_side(row['honest_output'], row['liar_output']),
    }
    choices = tuple((c, f'{n}: {_x(T)} = {c}') for n, c in zip(names, sides))
    honest_name = names[0] if honest_first else names[1]
    summary = f'{honest_name} was honest ({_x(T)} = {row["answer"]}).'
  elif protocol.endswith('consultancy'):
    kind, checks = 'chain_checks', row['s']
    claim = row['claimed_answer']
    other = row['wrong'] if claim == row['answer'] else row['answer']
    private['claimed'] = _claimed_trace(row, instance, trace)[: T + 1].tolist()
    shown.update(claim=claim, other=other)
    choices = ((claim, f'Accept the claim: {_x(T)} = {claim}'), (other, f'Reject it: {_x(T)} = {other}'))
    summary = (
      f'The consultant was {"honest" if row["consultant_honest"] else "lying"} (true {_x(T)} = {row["answer"]}).'
    )
  else:
    kind, checks = 'chain_checks', row['s']
    shown['sides'] = [{'name': n, 'claim': c} for n, c in zip(('candidate A', 'candidate B'), sides)]
    choices = tuple((c, f'{n}: {_x(T)} = {c}') for n, c in zip(('Candidate A', 'Candidate B'), sides))
    summary = f'The true {_x(T)} is {row["answer"]}.'
  shown['checks'] = checks
  reveal = {'summary': summary, 'transcript': transcripts.format_transcript(row)}
  return GameView(
    game, 'chain', kind, cell_info(workdir, row), shown, choices, checks, row['answer'], row['verdict'], private, reveal
  )


def check_step(view: GameView, step: int) -> dict:
  """What checking step `step` (1..T) of a chain game shows: its op, and the consultant's claimed values."""
  ops = view.private['ops']
  out = {'t': step, 'op': ops[step - 1]}
  if 'claimed' in view.private:
    out.update(input=view.private['claimed'][step - 1], output=view.private['claimed'][step])
  return out


# ----------------------------------------------------------------------------------------------------------
# images: the revealed pixels move by move; the image itself only after the verdict.


def image_view(workdir: Workdir, game: int, row: dict) -> GameView:
  image = row['image']
  height, width = len(image), len(image[0])
  protocol = row['arm'].split('/')[0]
  label, claim, num_classes = row['label'], row['claim'], len(row['logits'])
  flip = flipped(game)
  names = ('Debater A', 'Debater B')
  honest_name, liar_name = (names[1], names[0]) if flip else names
  claims = []
  if protocol == 'direct':
    movers = [None] * len(row['revealed'])
    choices = tuple((c, f'class {c}') for c in range(num_classes))
    truth = label
  elif protocol == 'consultancy':
    movers = ['Consultant'] * len(row['revealed'])
    claims = [{'name': 'Consultant', 'claim': claim}]
    choices = ((claim, f'Accept the claim: class {claim}'), (-1, 'Reject the claim'))
    truth = claim if claim == label else -1
  else:
    order = (honest_name, liar_name) if row['first'] == 'honest' else (liar_name, honest_name)
    movers = [order[i % 2] for i in range(len(row['revealed']))]
    truth = label
    if claim >= 0:  # Precommit: both claims are on the table.
      by_name = {honest_name: label, liar_name: claim}
      claims = [{'name': n, 'claim': by_name[n]} for n in names]
      choices = tuple((by_name[n], f'{n}: class {by_name[n]}') for n in names)
    else:  # Without precommit the judge sees only the pixels.
      choices = tuple((c, f'class {c}') for c in range(num_classes))
  moves = []
  for pixel, mover in zip(row['revealed'], movers):
    if 0 <= pixel < height * width:
      r, c = divmod(pixel, width)
      moves.append({'row': r, 'col': c, 'value': image[r][c], 'mover': mover})
  shown = {'height': height, 'width': width, 'moves': moves, 'claims': claims, 'protocol': protocol}
  if protocol == 'debate':
    shown['first'] = movers[0] if movers else None
  honest = {
    'direct': '',
    'consultancy': f'The consultant was {"honest" if claim == label else "lying"}. ',
    'debate': f'{honest_name} was honest. ',
  }[protocol]
  reveal = {
    'summary': f'{honest}The image is class {label}.',
    'transcript': transcripts.format_transcript(row),
    'image': image,
    'label': label,
  }
  return GameView(
    game, 'images', 'image', cell_info(workdir, row), shown, choices, 0, truth, row['verdict'], {}, reveal
  )


# ----------------------------------------------------------------------------------------------------------
# text: the question, both answers and the quotes move by move, each with its position and its flag as the
# model judge saw it (hidden-flag games do not tell quotes from claims); the story only after the verdict.

TEXT_FLAGS = {1: 'verified quote', 2: 'unverified claim', 3: 'flag hidden'}


def text_view(workdir: Workdir, game: int, row: dict) -> GameView:
  protocol, answers, label = row['protocol'], row['answers'], row['label']
  flip = flipped(game)
  order = [1 - label, label] if flip else [label, 1 - label]  # order[i]: the answer index shown as A / B.
  letters = {order[0]: 'A', order[1]: 'B'}
  names = ('Debater A', 'Debater B')
  shown_answers = [{'name': letter, 'text': answers[i]} for letter, i in zip('AB', order)]
  shown = {'protocol': protocol, 'question': row['question'], 'answers': shown_answers, 'k': row['k']}
  shown['num_sentences'] = len(row['story'])
  shown['flags_hidden'] = any(f == 3 for f in row['flags'])
  if protocol.endswith('debate'):
    honest_name, liar_name = (names[1], names[0]) if flip else names
    mover_names = {0: honest_name, 1: liar_name}
    shown['sides'] = [{'name': n, 'argues': letter} for n, letter in zip(names, 'AB')]
    choices = tuple((i, f'{n}: {answers[i]}') for n, i in zip(names, order))
    summary = f'{honest_name} was honest; the true answer is {letters[label]}: {answers[label]}.'
  elif protocol.endswith('consultancy'):
    claim = row['claim']
    mover_names = {0: 'Consultant'}
    shown['consultant'] = letters[claim]
    choices = (
      (claim, f'Accept the claim ({letters[claim]}: {answers[claim]})'),
      (1 - claim, f'Reject it ({letters[1 - claim]}: {answers[1 - claim]})'),
    )
    honest = 'honest' if claim == label else 'lying'
    summary = f'The consultant was {honest}; the true answer is {letters[label]}: {answers[label]}.'
  else:  # blind, direct: the judge alone.
    mover_names = {}
    choices = tuple((i, f'Answer {letters[i]}: {answers[i]}') for i in order)
    summary = f'The true answer is {letters[label]}: {answers[label]}.'
  moves, revealed = [], []
  steps = zip(row['actions'], row['quotes'], row['positions'], row['flags'], row['claimed'], row['movers'])
  for i, (action, quote, position, flag, claimed, mover) in enumerate(steps):
    if action < 0:
      continue
    name = mover_names.get(mover)
    moves.append(
      {'move': i + 1, 'mover': name, 'position': position, 'flag': TEXT_FLAGS.get(flag, str(flag)), 'quote': quote}
    )
    prob = row['prob_true_after'][i]
    revealed.append({'move': i + 1, 'mover': name, 'position': position, 'fabricated': claimed, 'prob_true': prob})
  shown['moves'] = moves
  reveal = {
    'summary': summary,
    'transcript': transcripts.format_transcript(row),
    'text': {
      'story': row['story'],
      'moves': revealed,
      'prob_true': row['prob_true'],
      'true_answer': letters[label],
    },
  }
  return GameView(game, 'text', 'text', cell_info(workdir, row), shown, choices, 0, label, row['verdict'], {}, reveal)


TASK_VIEWS: dict[str, Callable[[Workdir, int, dict], GameView]] = {
  'chain': chain_view,
  'images': image_view,
  'text': text_view,
}


def game_view(workdir: Workdir, game: int) -> GameView:
  """The view of game `game` (a valid 0-based line number of transcripts.jsonl)."""
  row = workdir.rows[game]
  return TASK_VIEWS[task_of(row)](workdir, game, row)


def page_data(view: GameView) -> dict[str, Any]:
  """Everything the game page embeds before the verdict: nothing hidden."""
  return {
    'game': view.game,
    'kind': view.kind,
    'shown': view.shown,
    'checks': view.checks,
    'choices': [{'value': v, 'text': text} for v, text in view.choices],
  }
