"""Readable text of one game transcript (a line of transcripts.jsonl)."""

from __future__ import annotations


def _op(op) -> str:
  return f'x -> {op[0]}*x + {op[1]}'


def _direct(t: dict) -> list[str]:
  if not t['guessed']:
    return [
      f'direct: T = {t["T"]} <= s = {t["s"]}: the judge computes the chain itself and gets x_T = {t["judge_computed"]}.'
    ]
  reason = (
    f'T = {t["T"]} > s = {t["s"]}: the judge cannot afford to compute the chain'
    if t['T'] > t['s']
    else f'the judge computed x_T = {t["judge_computed"]}, matching neither'
  )
  return [f'direct: {reason}, so it guesses between the candidates.']


def _consultancy(t: dict) -> list[str]:
  role = 'HONEST' if t['consultant_honest'] else f'LYING (one wrong step, at step {t["wrong_step"]})'
  lines = [
    f'consultancy: the consultant is {role} and claims x_T = {t["claimed_answer"]} with a full trace.',
    f'the judge spot-checks {sum(1 for s in t["checked_steps"] if s)} step(s) (s = {t["s"]}):',
  ]
  checks = zip(t['checked_steps'], t['checked_inputs'], t['checked_ops'], t['checked_outputs'], t['check_scores'])
  lines += [
    f'  step {step}: claimed x_{step - 1} = {x}, a_{step}: {_op(op)}, claimed x_{step} = {y}'
    f'  -> judge score {score:+.3f}: {"accept" if score > 0 else "REJECT"}'
    for step, x, op, y, score in checks
    if step
  ]
  return lines + [
    'the judge accepts the claim.'
    if t['accepted']
    else 'a check failed: the judge rejects the claim and picks the other candidate.'
  ]


def _open_consultancy(t: dict) -> list[str]:
  side = (
    'the TRUE answer' if t['consultant_honest'] else f'the WRONG answer (one wrong step, at step {t["wrong_step"]})'
  )
  return [
    f'open consultancy: the consultant may argue either answer. It reckons the judge would accept its '
    f'truthful trace with probability {t["p_accept_truth"]:.3f} and its best lie with '
    f'{t["p_accept_lie"]:.3f}, so it argues for {side}.',
    *_consultancy(t)[1:],
  ]


def _debate(t: dict) -> list[str]:
  lines = [
    f'debate ({t["arm"]}): the honest debater claims x_T = {t["answer"]}, the liar x_T = {t["wrong"]}.',
    f'bisection, {t["num_rounds"]} round(s):',
  ]
  rounds = t['rounds']
  for i in range(t['num_rounds']):
    lo, hi, mid, honest, liar = (rounds[k][i] for k in ('lo', 'hi', 'mid', 'honest_claim', 'liar_claim'))
    moved = f'agree -> dispute [{mid}, {hi}]' if honest == liar else f'disagree -> dispute [{lo}, {mid}]'
    lines.append(f'  round {i + 1}: dispute [{lo}, {hi}], x_{mid}? honest {honest}, liar {liar}: {moved}')
  step = t['disputed_step']
  return lines + [
    f'the judge checks step {step}: x_{step - 1} = {t["step_input"]} (agreed), a_{step}: {_op(t["step_op"])}',
    f'  honest x_{step} = {t["honest_output"]} (judge score {t["honest_score"]:+.3f}), '
    f'liar x_{step} = {t["liar_output"]} (judge score {t["liar_score"]:+.3f})',
    f'the judge sides with {"the liar" if t["liar_score"] > t["honest_score"] else "the honest debater"}.',
  ]


def _open_debate(t: dict) -> list[str]:
  side = 'the TRUE answer' if t['protagonist_honest'] else 'the WRONG answer'
  return [
    f'open debate: the protagonist reckons a liar wins with probability {t["protagonist_estimate"]:.3f}, '
    f'so it argues for {side}; the antagonist argues the other.',
    *_debate(t),
  ]


_FORMATTERS = {
  'direct': _direct,
  'consultancy': _consultancy,
  'open_consultancy': _open_consultancy,
  'debate': _debate,
  'open_debate': _open_debate,
}


def _image(t: dict) -> str:
  """An image game (transcripts.jsonl of the image experiment): the claims, each revealed pixel with its
  mover, the image with the revealed pixels marked, and the judge's logits and verdict."""
  image = t['image']
  height, width = len(image), len(image[0])
  protocol = t['arm'].split('/')[0]
  if protocol == 'direct':
    claims, movers = 'the judge sees random nonzero pixels', [None] * len(t['revealed'])
  elif protocol == 'consultancy':
    honest = 'honest' if t['claim'] == t['label'] else 'lying'
    claims, movers = f'the consultant ({honest}) claims {t["claim"]}', ['consultant'] * len(t['revealed'])
  else:
    lie = f'the liar claims {t["claim"]}' if t['claim'] >= 0 else 'the liar claims no class (no precommit)'
    claims = f'the honest debater claims {t["label"]}, {lie}; {t["first"]} moves first'
    order = ('honest', 'liar') if t['first'] == 'honest' else ('liar', 'honest')
    movers = [order[i % 2] for i in range(len(t['revealed']))]
  lines = [f'{t["cell"]}  (image {t["image_index"]}, lie {t["lie"]})', f'label {t["label"]}; {claims}.']
  revealed = {pixel for pixel in t['revealed'] if pixel < height * width}
  for i, (pixel, mover) in enumerate(zip(t['revealed'], movers)):
    if pixel in revealed:
      row, col = divmod(pixel, width)
      who = f' by the {mover}' if mover else ''
      lines.append(f'  move {i + 1}{who}: pixel ({row}, {col}), value {image[row][col]}')
  marks = [
    ['#' if r * width + c in revealed else '.' if image[r][c] else ' ' for c in range(width)] for r in range(height)
  ]
  border = '  +' + '-' * width + '+'
  lines += [border, *('  |' + ''.join(row) + '|' for row in marks), border + '  (#: revealed, .: hidden nonzero)']
  top = sorted(range(len(t['logits'])), key=lambda c: -t['logits'][c])[:3]
  lines.append('judge logits, top 3: ' + ', '.join(f'{c}: {t["logits"][c]:+.2f}' for c in top))
  verdict = t['verdict'] if t['verdict'] >= 0 else 'rejects the claim'
  lines.append(f'verdict: {verdict}  ({"CORRECT" if t["correct"] else "WRONG"})')
  return '\n'.join(lines)


_FLAGS = {0: 'empty', 1: 'verified', 2: 'UNVERIFIED', 3: 'flag hidden'}


def _text_roles(t: dict) -> tuple[str, list[str]]:
  """(who argues what, each move's mover) of a text game."""
  answers, label, protocol = t['answers'], t['label'], t['protocol']
  if protocol in ('blind', 'direct'):
    what = 'no quotes: the judge alone' if protocol == 'blind' else f'{t["k"]} random story sentences'
    return f'{protocol}: {what}', ['chance'] * len(t['actions'])
  if protocol.endswith('consultancy'):
    side = 'honest' if t['claim'] == label else 'LYING'
    chose = ''
    if 'consultant_estimates' in t:
      estimates = ', '.join(f'{answers[i]!r}: {e}' for i, e in enumerate(t['consultant_estimates']))
      chose = f' (it chose its side by its own estimates: {estimates})'
    return f'{protocol}: the consultant ({side}) argues {answers[t["claim"]]!r}{chose}', ['consultant'] * len(
      t['actions']
    )
  first = 'the honest debater' if t['honest_first'] else 'the liar'
  roles = (
    f'{protocol}: the honest debater argues {answers[label]!r}, the liar {answers[1 - label]!r}; {first} moves first'
  )
  if 'protagonist_honest' in t:
    side = 'the TRUE answer' if t['protagonist_honest'] else 'the WRONG answer'
    roles += f'; the protagonist (estimate {t["protagonist_estimate"]}) chose {side}'
  return roles, [{0: 'honest', 1: 'liar'}.get(m, '-') for m in t['movers']]


def _text(t: dict) -> str:
  """A text game (transcripts.jsonl of the text experiment): the story with sentence numbers, the question,
  both answers (which is true), each quote or claim with its position, flag and mover, the judge's P(true)
  after each move, the verdict."""
  roles, movers = _text_roles(t)
  lines = [f'{t["cell"]}  (story {t["game"]}, {t["qtype"]}, h = {t["hops"]})', 'story:']
  lines += [f'  [{i:2d}] {sentence}' for i, sentence in enumerate(t['story']) if sentence]
  lines.append(f'question: {t["question"]}')
  lines += [f'  answer {i}: {a}' + ('  (TRUE)' if i == t['label'] else '') for i, a in enumerate(t['answers'])]
  lines.append(roles)
  moves = zip(t['actions'], t['quotes'], t['positions'], t['flags'], t['claimed'], movers, t['prob_true_after'])
  for i, (action, quote, position, flag, claimed, mover, prob) in enumerate(moves):
    if action < 0:
      continue
    kind = 'claims (fabricated)' if claimed else 'quotes'
    after = f'  -> judge P(true) = {prob:.3f}' if prob is not None else ''
    lines.append(f'  move {i + 1} by {mover}: {kind} [{position}] "{quote}" ({_FLAGS.get(flag, flag)}){after}')
  verdict = t['answers'][t['verdict']]
  lines.append(
    f'judge P(true) = {t["prob_true"]:.3f}; verdict: {verdict!r}  ({"CORRECT" if t["correct"] else "WRONG"})'
  )
  return '\n'.join(lines)


def format_transcript(t: dict) -> str:
  if t.get('task') == 'text':
    return _text(t)
  if 'image' in t:
    return _image(t)
  return '\n'.join(
    [
      f'{t["cell"]}  (game {t["game"]})',
      f'chain: T = {t["T"]} steps over Z_{t["modulus"]}, x0 = {t["x0"]}; candidates: true x_T = '
      f'{t["answer"]}, wrong = {t["wrong"]}',
      *_FORMATTERS[t['protocol']](t),
      f'verdict: x_T = {t["verdict"]}  ({"CORRECT" if t["correct"] else "WRONG"})',
    ]
  )
