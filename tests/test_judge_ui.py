"""The human-judging page without a browser (Starlette's TestClient): the verdict store, validation and 4xx
messages, path safety, the hidden truth, concurrent appends, and the human rows of launch.report."""

import json
import os
import re
import subprocess
import sys
import threading
import warnings

import pytest
from conftest import xla_env

with warnings.catch_warnings():  # Starlette's TestClient prefers httpx2 and warns about httpx (the test extra's).
  warnings.simplefilter('ignore')
  from starlette.testclient import TestClient

from debate.judging import app as judging_app
from debate.judging import verdicts, views
from debate.reports import human

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAIN_FLAGS = [
  '--config=launch/configs/chain.py:smoke',
  '--config.T=(3, 6)',
  "--config.judges=('exact',)",
  "--config.protocols=('direct', 'consultancy', 'debate/random', 'open_consultancy', 'open_debate/random')",
  '--config.num_games=8',
  '--config.batch_size=8',
  '--config.num_transcripts=2',
]
# A tiny text run (exact judge only, so no judge is trained): 2 stories, 2 transcripts per cell, 10 games.
TEXT_FLAGS = [
  '--config=launch/configs/text.py:smoke',
  "--config.game.judges=('exact',)",
  "--config.game.protocols=('blind', 'direct', 'consultancy/greedy', 'debate/greedy/claims', "
  "'debate/greedy/claims/hidden')",
  '--config.game.num_stories=2',
  '--config.game_batch_size=2',
  '--config.num_transcripts=2',
]
# What the page must not hold before the verdict (the shown data has none of these keys).
HIDDEN_KEYS = {
  'answer',
  'truth',
  'label',
  'verdict',
  'model_verdict',
  'correct',
  'logits',
  'consultant_honest',
  'wrong_step',
  'image',
  'honest_output',
  'liar_output',
  'honest_claim',
  'liar_claim',
  'trace',
  'claimed',
  'ops',
}


def launch(module, *flags):
  return subprocess.run(
    [sys.executable, '-m', module, *flags], cwd=ROOT, capture_output=True, text=True, env=xla_env(2), timeout=600
  )


def make_chain_workdir(workdir) -> str:
  """A tiny chain run (every protocol, T in {3, 6}, 2 transcripts per cell: 20 games)."""
  result = launch('launch.run', *CHAIN_FLAGS, f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  return str(workdir)


def write_image_workdir(workdir, cell='debate/random|first=honest|images=2') -> str:
  """A hand-written image workdir: two precommit debates, a consultancy and a direct game on 4x4 images."""
  os.makedirs(workdir, exist_ok=True)
  image = [[0, 0, 200, 0], [0, 90, 255, 0], [0, 0, 180, 0], [0, 0, 0, 0]]
  common = {'lie': 0, 'repeat': 0, 'logits': [0.1, 2.0, -1.0], 'image': image, 'label': 1}
  rows = [
    {**common, 'cell': cell, 'arm': 'debate/random', 'first': 'honest', 'image_index': 0, 'claim': 2},
    {**common, 'cell': cell, 'arm': 'debate/random', 'first': 'honest', 'image_index': 1, 'claim': 0},
    {**common, 'cell': 'consultancy/random|images=2', 'arm': 'consultancy/random', 'first': None, 'image_index': 0},
    {**common, 'cell': 'direct|images=2', 'arm': 'direct', 'first': None, 'image_index': 0, 'claim': -1},
  ]
  rows[0].update(revealed=[6, 2, 16], verdict=1, correct=True)
  rows[1].update(revealed=[5, 10, 16], verdict=0, correct=False)
  rows[2].update(revealed=[6, 2, 10], claim=2, verdict=-1, correct=True)
  rows[3].update(revealed=[2, 6, 10], verdict=1, correct=True)
  with open(os.path.join(workdir, 'transcripts.jsonl'), 'w') as f:
    f.writelines(json.dumps(row) + '\n' for row in rows)
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    json.dump({'task': 'images', 'k': 3, 'judge': 'mlp', 'num_classes': 3}, f)
  return str(workdir)


def make_text_workdir(workdir) -> str:
  result = launch('launch.run', *TEXT_FLAGS, f'--workdir={workdir}')
  assert result.returncode == 0, result.stderr[-3000:]
  return str(workdir)


@pytest.fixture(scope='module')
def text_dir(tmp_path_factory):
  return make_text_workdir(tmp_path_factory.mktemp('judge_ui') / 'text')


@pytest.fixture
def text_client(text_dir, tmp_path):
  import shutil

  workdir = tmp_path / 'text'
  shutil.copytree(text_dir, workdir)
  with TestClient(judging_app.make_app(str(workdir))) as client:
    client.workdir = str(workdir)
    yield client


@pytest.fixture(scope='module')
def chain_dir(tmp_path_factory):
  return make_chain_workdir(tmp_path_factory.mktemp('judge_ui') / 'chain')


@pytest.fixture
def chain_client(chain_dir, tmp_path):
  """A client of a fresh copy of the chain workdir (so each test starts with no verdicts)."""
  import shutil

  workdir = tmp_path / 'chain'
  shutil.copytree(chain_dir, workdir)
  with TestClient(judging_app.make_app(str(workdir))) as client:
    client.workdir = str(workdir)
    yield client


@pytest.fixture
def image_client(tmp_path):
  workdir = write_image_workdir(tmp_path / 'images')
  with TestClient(judging_app.make_app(workdir)) as client:
    client.workdir = workdir
    yield client


def as_judge(client, name):
  """The client with the name cookie of judge `name` (what the page's name form sets)."""
  client.cookies.set('judge_name', name)
  return client


def page_data(html: str) -> dict:
  start = html.index('<script id="game-data" type="application/json">')
  return json.loads(html[html.index('>', start) + 1 : html.index('</script>', start)])


def keys_of(value) -> set:
  if isinstance(value, dict):
    return set(value) | {k for v in value.values() for k in keys_of(v)}
  if isinstance(value, list):
    return {k for v in value for k in keys_of(v)}
  return set()


def verdict_lines(workdir) -> list[dict]:
  path = os.path.join(workdir, verdicts.VERDICTS_FILE)
  return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def test_list_page_groups_the_games_by_cell(chain_client):
  html = chain_client.get('/').text
  for cell in ('direct|exact|T=3|seed=0', 'consultancy|exact|T=6|seed=0', 'open_debate/random|exact|T=6|seed=0'):
    assert cell in html
  assert html.count('class="game-link') == 20 and 'href="/game/19"' in html


def test_every_chain_game_matches_its_regenerated_instance_and_hides_the_truth(chain_client):
  rows = [json.loads(line) for line in open(os.path.join(chain_client.workdir, 'transcripts.jsonl'))]
  for game, row in enumerate(rows):
    response = chain_client.get(f'/game/{game}')
    assert response.status_code == 200, response.text
    data = page_data(response.text)
    assert not keys_of(data) & HIDDEN_KEYS, (game, data)
    values = sorted(choice['value'] for choice in data['choices'])
    assert values == sorted([row['answer'], row['wrong']]) and row['verdict'] in values
    if row['protocol'].endswith('debate'):
      shown = data['shown']
      assert len(shown['rounds']) == row['num_rounds'] and sorted(shown['step']['outputs']) == sorted(
        [row['honest_output'], row['liar_output']]
      )
  # Side A is honest in some games and the liar in others.
  debates = [g for g, row in enumerate(rows) if row['protocol'] == 'debate']
  assert len({views.flipped(g) for g in debates}) == 2 or len(debates) < 3


def test_a_transcript_that_does_not_match_its_regenerated_instance_is_refused_loudly(chain_dir, tmp_path):
  workdir = tmp_path / 'chain'
  workdir.mkdir()
  rows = [json.loads(line) for line in open(os.path.join(chain_dir, 'transcripts.jsonl'))]
  (workdir / 'config.json').write_text(open(os.path.join(chain_dir, 'config.json')).read())
  (workdir / 'transcripts.jsonl').write_text(json.dumps({**rows[0], 'x0': (rows[0]['x0'] + 1) % 17}) + '\n')
  with TestClient(judging_app.make_app(str(workdir)), raise_server_exceptions=False) as client:
    response = client.get('/game/0')
  assert response.status_code == 500 and 'does not match the transcript' in response.text


def test_consultancy_checks_show_the_consultants_claimed_steps_up_to_s(chain_client):
  rows = [json.loads(line) for line in open(os.path.join(chain_client.workdir, 'transcripts.jsonl'))]
  game = next(g for g, r in enumerate(rows) if r['protocol'] == 'consultancy' and r['T'] == 6)
  row = rows[game]
  for step, x, op, y in zip(row['checked_steps'], row['checked_inputs'], row['checked_ops'], row['checked_outputs']):
    if step:  # The model judge's checks of the same claimed trace.
      got = as_judge(chain_client, 'Ann').post(f'/api/check/{game}', json={'step': step}).json()
      assert (got['input'], got['op'], got['output']) == (x, op, y)
  steps = [1, 2, 3, 4, 5, 6]
  answers = [as_judge(chain_client, 'Ann').post(f'/api/check/{game}', json={'step': t}) for t in steps]
  assert [a.status_code for a in answers].count(200) == 4  # s = 4 distinct steps, then refused.
  refused = next(a for a in answers if a.status_code == 400)
  assert 'limit is s = 4' in refused.text
  assert as_judge(chain_client, 'Bo').post(f'/api/check/{game}', json={'step': 7}).status_code == 400
  debate = next(g for g, r in enumerate(rows) if r['protocol'] == 'debate')
  assert 'no steps to check' in as_judge(chain_client, 'Ann').post(f'/api/check/{debate}', json={'step': 1}).text
  # The page reloads the person's checks; the verdict line records them.
  assert len(page_data(as_judge(chain_client, 'Ann').get(f'/game/{game}').text)['checked']) == 4
  as_judge(chain_client, 'Ann').post(f'/api/verdict/{game}', json={'verdict': row['answer']})
  assert len(verdict_lines(chain_client.workdir)[0]['checked']) == 4


def test_a_verdict_is_saved_once_and_answered_with_the_truth(chain_client):
  rows = [json.loads(line) for line in open(os.path.join(chain_client.workdir, 'transcripts.jsonl'))]
  game = 4
  wrong = rows[game]['wrong']
  body = {'verdict': wrong, 'confidence': '0.75', 'comment': 'close call <b>', 'seconds': 12.5}
  answer = as_judge(chain_client, 'Ann').post(f'/api/verdict/{game}', json=body)
  assert answer.status_code == 200, answer.text
  answer = answer.json()
  assert answer['truth'] == rows[game]['answer'] and answer['correct'] is False
  assert answer['model_verdict'] == rows[game]['verdict'] and 'transcript' in answer
  (line,) = verdict_lines(chain_client.workdir)
  assert line['judge'] == 'Ann' and line['game'] == game and line['cell'] == rows[game]['cell']
  assert (line['verdict'], line['correct'], line['confidence'], line['seconds']) == (wrong, False, 0.75, 12.5)
  assert line['model_verdict'] == rows[game]['verdict'] and line['model_correct'] == rows[game]['correct']
  again = as_judge(chain_client, 'Ann').post(f'/api/verdict/{game}', json=body)
  assert again.status_code == 409 and 'already judged game 4' in again.text
  assert len(verdict_lines(chain_client.workdir)) == 1
  # The list and the game page mark it for Ann only.
  assert re.search(
    r'id="game-link-4"\s+href="/game/4" title="judged by you"', as_judge(chain_client, 'Ann').get('/').text
  )
  assert 'judged by you"' not in as_judge(chain_client, 'Bo').get('/').text
  page = as_judge(chain_client, 'Ann').get(f'/game/{game}').text
  assert 'id="already"' in page and 'id="verdict-form"' not in page
  other = as_judge(chain_client, 'Bo').post(f'/api/verdict/{game}', json={'verdict': rows[game]['answer']})
  assert other.status_code == 200 and len(verdict_lines(chain_client.workdir)) == 2


@pytest.mark.parametrize(
  'path, body, status, message',
  [
    ('/api/verdict/99', {'judge': 'Ann', 'verdict': 1}, 404, 'unknown game id'),
    ('/api/verdict/abc', {'judge': 'Ann', 'verdict': 1}, 404, 'unknown game id'),
    ('/api/verdict/-1', {'judge': 'Ann', 'verdict': 1}, 404, 'unknown game id'),
    ('/api/verdict/..%2F..%2Fconfig.json', {'judge': 'Ann', 'verdict': 1}, 404, ''),
    ('/api/verdict/0', b'{"judge": "Ann", "verdict"', 400, 'must be a JSON object'),
    ('/api/verdict/0', [1, 2], 400, 'must be a JSON object'),
    ('/api/verdict/0', {'verdict': 'X'}, 400, 'judge name is required'),
    ('/api/verdict/0', {'judge': '   ', 'verdict': 'X'}, 400, 'judge name is required'),
    ('/api/verdict/0', {'judge': 'A' * 41, 'verdict': 'X'}, 400, 'too long'),
    ('/api/verdict/0', {'judge': 'A\x07', 'verdict': 'X'}, 400, 'control characters'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'X'}, 400, 'verdict must be one of'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 1000}, 400, 'verdict must be one of'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'confidence': 'high'}, 400, 'confidence must be a number'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'confidence': 0.3}, 400, 'confidence must be a number'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'confidence': 'nan'}, 400, 'confidence must be a number'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'confidence': True}, 400, 'confidence must be a number'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'comment': 'x' * 2001}, 400, 'comment is too long'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'seconds': -1}, 400, 'seconds must be'),
    ('/api/verdict/0', {'judge': 'Ann', 'verdict': 'ANSWER', 'pad': 'x' * 20000}, 400, 'too large'),
    ('/api/check/0', {'judge': 'Ann', 'step': 'one'}, 400, 'step must be an integer'),
    ('/api/name', {'name': ''}, 400, 'judge name is required'),
  ],
)
def test_bad_requests_get_a_clear_4xx_and_write_nothing(chain_client, path, body, status, message):
  row = json.loads(open(os.path.join(chain_client.workdir, 'transcripts.jsonl')).readline())
  if isinstance(body, dict) and body.get('verdict') == 'ANSWER':
    body = {**body, 'verdict': row['answer']}
  sent = {'content': body} if isinstance(body, bytes) else {'json': body}
  response = chain_client.post(path, **sent)
  assert response.status_code == status, response.text
  assert response.headers['content-type'].startswith('text/plain') and message in response.text
  assert not os.path.exists(os.path.join(chain_client.workdir, verdicts.VERDICTS_FILE))


def test_pages_never_read_outside_the_workdir(chain_client):
  for path in ('/game/../config.json', '/game/%2e%2e%2fconfig.json', '/game/1e3', '/game/00000000001', '/nowhere'):
    response = chain_client.get(path)
    assert response.status_code == 404 and response.text.startswith('error:'), path
  assert chain_client.get('/static/../views.py').status_code == 404
  assert chain_client.get('/game/3').status_code == 200


def test_image_games_hide_the_image_until_the_verdict(image_client):
  page = as_judge(image_client, 'Ann').get('/game/0').text
  data = page_data(page)
  assert data['kind'] == 'image' and [(m['row'], m['col'], m['value']) for m in data['shown']['moves']] == [
    (1, 2, 255),
    (0, 2, 200),
  ]  # Pixel 16 is past the 4x4 image: no move.
  assert [c['claim'] for c in data['shown']['claims']] in ([1, 2], [2, 1])
  assert not keys_of(data) & HIDDEN_KEYS and '"90' not in page
  assert sorted(c['value'] for c in data['choices']) == [1, 2]
  answer = as_judge(image_client, 'Ann').post('/api/verdict/0', json={'verdict': 2}).json()
  assert answer['image'][1][1] == 90 and answer['label'] == 1 and answer['correct'] is False
  # Consultancy: accept the claim or reject (-1, as the model's verdict); the consultant lied, so reject is right.
  consultancy = page_data(image_client.get('/game/2').text)
  assert [c['value'] for c in consultancy['choices']] == [2, -1]
  answer = image_client.post('/api/verdict/2', json={'judge': 'Ann', 'verdict': -1}).json()
  assert answer['correct'] is True and answer['model_correct'] is True
  direct = page_data(image_client.get('/game/3').text)
  assert [c['value'] for c in direct['choices']] == [0, 1, 2] and direct['shown']['claims'] == []


# What a text page must not hold before the verdict, besides HIDDEN_KEYS.
TEXT_HIDDEN_KEYS = HIDDEN_KEYS | {'story', 'prob_true', 'prob_true_after', 'movers', 'honest_first', 'fabricated'}


def test_text_games_show_the_quotes_as_the_judge_saw_them_and_hide_the_story(text_client):
  rows = [json.loads(line) for line in open(os.path.join(text_client.workdir, 'transcripts.jsonl'))]
  html = text_client.get('/').text
  for cell in ('blind|exact|k=4|seed=0', 'consultancy/greedy|exact|k=4|seed=0', 'debate/greedy/claims/hidden|'):
    assert cell in html
  assert html.count('class="game-link') == len(rows) == 10
  seen_flags = set()
  for game, row in enumerate(rows):
    response = text_client.get(f'/game/{game}')
    assert response.status_code == 200, response.text
    data = page_data(response.text)
    shown = data['shown']
    assert data['kind'] == 'text' and not keys_of(data) & TEXT_HIDDEN_KEYS, (game, data)
    # No story sentence appears that no move cited.
    for sentence in set(row['story']) - set(row['quotes']) - {''}:
      assert sentence not in response.text, (game, sentence)
    # A and B: the two answers, in the game's hashed order; the choices are answer indices (the model's encoding).
    order = [1 - row['label'], row['label']] if views.flipped(game) else [row['label'], 1 - row['label']]
    assert [a['text'] for a in shown['answers']] == [row['answers'][i] for i in order]
    values = [c['value'] for c in data['choices']]
    assert sorted(values) == [0, 1] and row['verdict'] in values
    moves = [i for i, a in enumerate(row['actions']) if a >= 0]
    assert [(m['move'], m['position'], m['quote']) for m in shown['moves']] == [
      (i + 1, row['positions'][i], row['quotes'][i]) for i in moves
    ]
    flags = [m['flag'] for m in shown['moves']]
    seen_flags |= set(flags)
    if row['protocol'] == 'blind':
      assert shown['moves'] == []
    elif row['arm'].endswith('/hidden'):  # What the judge saw: no move tells a quote from a claim.
      assert set(flags) == {'flag hidden'} and shown['flags_hidden']
    else:
      assert flags == [views.TEXT_FLAGS[row['flags'][i]] for i in moves]
    if row['protocol'] == 'consultancy':  # Accept = the consultant's answer, reject = the other.
      assert values == [row['claim'], 1 - row['claim']] and 'Accept' in data['choices'][0]['text']
      assert {m['mover'] for m in shown['moves']} == {'Consultant'}
    if row['protocol'] == 'debate':  # Each move is by the debater arguing its side.
      honest = 'Debater B' if views.flipped(game) else 'Debater A'
      for i, m in zip(moves, shown['moves']):
        assert (m['mover'] == honest) == (row['movers'][i] == 0)
  assert {'verified quote', 'flag hidden'} <= seen_flags


def test_a_text_verdict_is_saved_and_answered_with_the_story_and_the_fabrications(text_client):
  rows = [json.loads(line) for line in open(os.path.join(text_client.workdir, 'transcripts.jsonl'))]
  game = next(g for g, r in enumerate(rows) if r['arm'].endswith('/hidden') and any(r['claimed']))
  row = rows[game]
  answer = as_judge(text_client, 'Ann').post(f'/api/verdict/{game}', json={'verdict': row['label'], 'seconds': 3})
  assert answer.status_code == 200, answer.text
  answer = answer.json()
  assert (answer['truth'], answer['correct'], answer['model_verdict']) == (row['label'], True, row['verdict'])
  assert answer['model_correct'] == row['correct'] and 'was honest' in answer['summary']
  moves = [i for i, a in enumerate(row['actions']) if a >= 0]
  reveal = answer['text']
  assert reveal['story'] == row['story'] and reveal['prob_true'] == row['prob_true']
  assert [m['fabricated'] for m in reveal['moves']] == [row['claimed'][i] for i in moves]
  assert [m['prob_true'] for m in reveal['moves']] == [row['prob_true_after'][i] for i in moves]
  (line,) = verdict_lines(text_client.workdir)
  assert (line['task'], line['cell'], line['size'], line['model_judge']) == ('text', row['cell'], 'k=4', 'exact')
  # A consultancy verdict: reject (the other answer, as the model encodes it).
  consult = next(g for g, r in enumerate(rows) if r['protocol'] == 'consultancy')
  reject = 1 - rows[consult]['claim']
  answer = as_judge(text_client, 'Ann').post(f'/api/verdict/{consult}', json={'verdict': reject}).json()
  assert answer['correct'] == (reject == rows[consult]['label']) and answer['verdict_label'].startswith('Reject')
  report = human.human_rows(human.read_verdicts([text_client.workdir]))
  assert {r['cell'] for r in report} == {row['cell'], rows[consult]['cell']}
  pooled = [r for r in report if r['judge'] == 'all humans']
  assert sum(r['games'] for r in pooled) == 2


def test_all_record_and_user_text_is_escaped(tmp_path):
  workdir = write_image_workdir(tmp_path / 'images', cell='<script>alert(1)</script>|images=2')
  with TestClient(judging_app.make_app(workdir)) as client:
    name = client.post('/api/name', json={'name': '<img src=x onerror=alert(2)>'})
    assert name.status_code == 200
    for path in ('/', '/game/0'):
      html = client.get(path).text
      assert '<script>alert(1)' not in html and '&lt;script&gt;alert(1)&lt;/script&gt;' in html
      assert '<img src=x' not in html and '&lt;img src=x onerror=alert(2)&gt;' in html


def test_concurrent_appends_lose_nothing_and_a_game_is_saved_once_per_person(tmp_path):
  store = verdicts.VerdictStore(str(tmp_path))
  errors = []

  def judge(person):
    for game in range(25):
      try:
        store.append({'judge': f'p{person}', 'game': game})
        store.append({'judge': 'everyone', 'game': game})  # 8 threads race for one slot per game.
      except verdicts.AlreadyJudged as e:
        errors.append(e)

  threads = [threading.Thread(target=judge, args=(p,)) for p in range(8)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  lines = store.read()
  assert len(lines) == 8 * 25 + 25 and len(errors) == 7 * 25
  assert len({(line['judge'], line['game']) for line in lines}) == len(lines)
  assert store.judged_by('p3') == set(range(25))


def test_a_half_written_last_line_is_cut_before_the_next_append(tmp_path):
  store = verdicts.VerdictStore(str(tmp_path))
  store.append({'judge': 'Ann', 'game': 0})
  with open(store.path, 'a') as f:
    f.write('{"judge": "Ann", "ga')  # A kill mid-write.
  store.append({'judge': 'Ann', 'game': 1})
  assert [json.loads(line)['game'] for line in open(store.path)] == [0, 1]


def _line(judge, game, correct, model_correct, agree, cell='debate/random|exact|T=8|seed=0'):
  verdict = 1 if correct else 0
  model = verdict if agree else 1 - verdict
  assert model_correct == (model == 1)
  return {'judge': judge, 'game': game, 'cell': cell, 'verdict': verdict, 'correct': correct, 'model_verdict': model}


def test_human_rows_from_a_hand_written_verdict_file(tmp_path):
  lines = [
    _line('Ann', 0, True, True, True),
    _line('Ann', 1, True, False, False),
    _line('Ann', 2, False, True, False),
    _line('Bo', 0, True, True, True),
  ]
  for line in lines:
    line.update(model_correct=line['model_verdict'] == 1, protocol='debate', model_judge='exact', size='T=8')
  (tmp_path / 'human_verdicts.jsonl').write_text(''.join(json.dumps(line) + '\n' for line in lines))
  rows = human.human_rows(human.read_verdicts([str(tmp_path), str(tmp_path / 'none')]))
  assert [r['judge'] for r in rows] == ['Ann', 'Bo', 'all humans']
  ann, bo, pooled = rows
  assert (ann['games'], ann['correct'], ann['model_correct'], ann['agree']) == (3, 2, 2, 1)
  assert ann['ci95'][0] < 2 / 3 < ann['ci95'][1] and ann['model_accuracy'] == 2 / 3
  assert (bo['games'], bo['agreement']) == (1, 1.0)
  assert (pooled['games'], pooled['correct'], pooled['model_correct'], pooled['agree']) == (4, 3, 3, 2)
  markdown = human.human_table(rows, 'markdown')
  assert '| all humans' in markdown and '66.7 [20.8, 93.9]' in markdown
  assert '\\toprule' in human.human_table(rows, 'latex') and 'tab:human\\_judges' not in human.human_table(
    rows, 'latex'
  )
  csv_text = human.human_table(rows, 'csv').splitlines()
  assert csv_text[0].startswith('workdir,cell') and len(csv_text) == 4
  (tmp_path / 'bad').mkdir()
  (tmp_path / 'bad' / 'human_verdicts.jsonl').write_text('{"judge": "Ann"}\n')
  with pytest.raises(ValueError, match='lacks game'):
    human.read_verdicts([str(tmp_path / 'bad')])


@pytest.mark.parametrize(
  'flags, message',
  [
    ([], '--workdir is required'),
    (['--workdir=DIR/none'], 'is not a directory'),
    (['--workdir=DIR'], 'has no transcripts.jsonl'),
    (['--workdir=DIR', '--port=70000'], '--port must be in'),
    (['--workdir=DIR', '--port=x'], 'port'),
  ],
)
def test_judge_ui_refuses_bad_flags_before_serving(tmp_path, flags, message):
  flags = [flag.replace('DIR', str(tmp_path)) for flag in flags]
  result = subprocess.run(
    [sys.executable, '-m', 'launch.judge_ui', *flags], cwd=ROOT, capture_output=True, text=True, timeout=120
  )
  assert result.returncode == 2 and message in result.stderr and result.stderr.startswith('error:'), result.stderr
  assert os.listdir(tmp_path) == []


def test_judge_ui_refuses_a_port_in_use_before_serving(tmp_path):
  import socket

  workdir = write_image_workdir(tmp_path / 'images')
  with socket.create_server(('127.0.0.1', 0)) as taken:
    port = taken.getsockname()[1]
    result = subprocess.run(
      [sys.executable, '-m', 'launch.judge_ui', f'--workdir={workdir}', f'--port={port}'],
      cwd=ROOT,
      capture_output=True,
      text=True,
      timeout=120,
    )
  assert result.returncode == 2 and 'cannot listen there' in result.stderr, result.stderr
  assert not os.path.exists(os.path.join(workdir, verdicts.VERDICTS_FILE))
