"""The human-judging page in a real browser: Playwright driving headless Chromium (Debian's package, installed
here where missing) against `make_app` served by uvicorn on a free port, on a tiny chain run and a tiny image run.

Set JUDGE_UI_SCREENSHOTS=DIR to save a screenshot of each page kind there (docs/ keeps them)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import xla_env
from test_image_experiments import TINY, _write_tiny_mnist
from test_judge_ui import CHAIN_FLAGS, ROOT

from debate.judging import app as judging_app

IMAGE_FLAGS = [
  *(flag for flag in TINY if not flag.startswith(('--config.game.protocols', '--config.game.curve'))),
  "--config.game.protocols=('consultancy/random', 'debate/random')",
  '--config.game.curve_images=0',
]
SCREENSHOTS = os.environ.get('JUDGE_UI_SCREENSHOTS')


def _popen(module, *flags):
  return subprocess.Popen(
    [sys.executable, '-m', module, *flags],
    cwd=ROOT,
    env=xla_env(1),
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
  )


def _finish(process):
  _, err = process.communicate(timeout=600)
  assert process.returncode == 0, err[-3000:]


@pytest.fixture(scope='module')
def workdirs(tmp_path_factory):
  """(chain workdir, image workdir): a tiny chain run and a tiny image run, made side by side."""
  base = tmp_path_factory.mktemp('judge_browser')
  chain, data, judge, images = base / 'chain', base / 'data', base / 'judge', base / 'images'
  data.mkdir()
  _write_tiny_mnist(data, np.random.default_rng(0))
  chain_run = _popen('launch.run', *CHAIN_FLAGS, f'--workdir={chain}')
  _finish(_popen('launch.train_judge', *IMAGE_FLAGS, f'--data_dir={data}', f'--workdir={judge}'))
  _finish(_popen('launch.run', *IMAGE_FLAGS, f'--data_dir={data}', f'--judge_workdir={judge}', f'--workdir={images}'))
  _finish(chain_run)
  return str(chain), str(images)


def _chromium() -> str:
  """Debian's chromium, installed with apt-get (sudo when not root) where missing."""
  path = shutil.which('chromium')
  if path is None:
    install = 'apt-get update && apt-get install -y chromium'
    command = ['sh', '-c', install] if os.geteuid() == 0 else ['sudo', '-n', 'sh', '-c', install]
    try:
      subprocess.run(command, capture_output=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired):
      pass
    path = shutil.which('chromium')
  if path is None:
    pytest.fail('the browser tests need Chromium: `apt-get install -y chromium` (as root) failed or is not allowed')
  return path


@pytest.fixture(scope='module')
def browser():
  from playwright.sync_api import sync_playwright

  executable = _chromium()
  with sync_playwright() as playwright:
    chromium = playwright.chromium.launch(executable_path=executable, headless=True)
    yield chromium
    chromium.close()


def _serve(workdir: str):
  """Serves make_app(workdir) with uvicorn in a background thread on a free port; returns (url, stop)."""
  import uvicorn

  sock = socket.socket()
  sock.bind(('127.0.0.1', 0))
  server = uvicorn.Server(uvicorn.Config(judging_app.make_app(workdir), log_level='warning'))
  thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True)
  thread.start()
  deadline = time.monotonic() + 30
  while not server.started:
    assert time.monotonic() < deadline and thread.is_alive(), 'the server did not start'
    time.sleep(0.05)

  def stop():
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()

  return f'http://127.0.0.1:{sock.getsockname()[1]}', stop


@pytest.fixture(scope='module')
def servers(workdirs):
  chain, images = workdirs
  (chain_url, stop_chain), (image_url, stop_images) = _serve(chain), _serve(images)
  yield {'chain': (chain_url, chain), 'images': (image_url, images)}
  stop_chain()
  stop_images()


def _rows(workdir):
  return [json.loads(line) for line in open(os.path.join(workdir, 'transcripts.jsonl'))]


def _lines(workdir, judge):
  path = os.path.join(workdir, 'human_verdicts.jsonl')
  lines = [json.loads(line) for line in open(path)] if os.path.exists(path) else []
  return [line for line in lines if line['judge'] == judge]


def _judge_page(browser, url, name):
  """A new browser context whose person entered `name` in the page's name form."""
  page = browser.new_context(viewport={'width': 1100, 'height': 800}).new_page()
  page.goto(f'{url}/')
  page.fill('#name-input', name)
  page.click('#name-save')
  page.wait_for_selector('#judge-name')
  assert page.inner_text('#judge-name') == name
  return page


def _screenshot(page, name):
  if SCREENSHOTS:
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f'judge_ui_{name}.png'), full_page=True)


def _embedded(page) -> dict:
  return json.loads(page.text_content('#game-data'))


def _submit(page, value, confidence='', comment=''):
  page.check(f'input[name=verdict][value="{value}"]')
  page.fill('#confidence', confidence)
  page.fill('#comment', comment)
  page.click('#submit-verdict')


def test_list_and_stepping_through_a_chain_debate_game(browser, servers):
  url, workdir = servers['chain']
  page = _judge_page(browser, url, 'Ann')
  assert page.locator('a.game-link').count() == 20 and 'open_debate/random|exact|T=6|seed=0' in page.content()
  rows = _rows(workdir)
  game = max((g for g, r in enumerate(rows) if r['protocol'] == 'debate'), key=lambda g: rows[g]['num_rounds'])
  row, rounds = rows[game], rows[game]['num_rounds']
  page.click(f'#game-link-{game}')
  page.wait_for_selector('#step-label')
  assert page.inner_text('#step-label') == f'move 0 of {rounds + 1}'
  page.click('#step-next')
  assert page.locator('ol.rounds li').count() == 1 and page.inner_text('#step-label') == f'move 1 of {rounds + 1}'
  page.keyboard.press('ArrowRight')
  assert page.locator('ol.rounds li').count() == min(2, rounds)
  page.keyboard.press('End')
  assert page.locator('.disputed').count() == 1 and page.is_disabled('#step-next')
  page.click('#compute-step')
  assert page.inner_text('.computed').endswith(f'= {row["honest_output"]}')  # What the honest debater claimed.
  _screenshot(page, 'chain')
  page.keyboard.press('ArrowLeft')
  assert page.locator('.disputed').count() == 0 and page.locator('ol.rounds li').count() == rounds
  page.keyboard.press('Home')
  assert page.locator('ol.rounds li').count() == 0 and page.is_disabled('#step-prev')
  # Before the verdict the page holds neither the truth nor the model's verdict.
  html = page.content()
  assert 'honest' not in html.lower() and 'CORRECT' not in html and 'judge score' not in html
  assert not {'answer', 'verdict', 'correct', 'honest_output'} & set(
    json.dumps(_embedded(page)).replace('"', ' ').split()
  )
  page.context.close()


def test_an_image_game_step_by_step_then_the_whole_image_after_the_verdict(browser, servers, tmp_path):
  url, workdir = servers['images']
  page = _judge_page(browser, url, 'Ann')
  rows = _rows(workdir)
  game = next(g for g, r in enumerate(rows) if r['arm'] == 'debate/random' and r['first'] == 'liar')
  row = rows[game]
  page.click(f'#game-link-{game}')
  page.wait_for_selector('svg.pixels')
  assert 'class="claim' in page.content() and page.locator('svg.pixels text').count() == 0
  page.click('#step-next')
  page.keyboard.press('ArrowRight')
  assert page.locator('svg.pixels text').count() == 2 and page.locator('ol.moves li').count() == 2
  page.keyboard.press('End')
  assert page.locator('ol.moves li').count() == 3 and page.inner_text('ol.moves li >> nth=0').startswith('Debater')
  _screenshot(page, 'image')
  # The image beyond the revealed pixels, the label and the model's verdict are not in the page yet.
  assert page.locator('#full-image').count() == 0 and 'image' not in _embedded(page)['shown']
  assert 'logits' not in page.content() and f'class {row["label"]}.' not in page.content()
  _submit(page, row['label'], confidence='0.9')
  page.wait_for_selector('#result:not([hidden])')
  assert page.locator('#full-image rect').count() >= 12 * 12 and f'class {row["label"]}' in page.inner_text('#truth')
  assert 'correct' in page.inner_text('#your-verdict') and 'mlp' in page.inner_text('#model-verdict')
  (line,) = _lines(workdir, 'Ann')
  assert (line['game'], line['verdict'], line['correct'], line['confidence']) == (game, row['label'], True, 0.9)
  assert line['model_verdict'] == row['verdict'] and line['size'] == 'k=3'
  # launch.report puts Ann beside the model judge of the image run too.
  result = subprocess.run(
    [sys.executable, '-m', 'launch.report', f'--workdirs={workdir}', f'--out={tmp_path}'],
    cwd=ROOT,
    env=xla_env(1),
    capture_output=True,
    text=True,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  table = (tmp_path / 'human_judges.md').read_text()
  assert '| Ann ' in table and '| all humans ' in table and (tmp_path / 'table2.md').exists()
  page.context.close()


def test_judging_three_games_by_clicking_then_the_report_rows(browser, servers, tmp_path):
  url, workdir = servers['chain']
  rows = _rows(workdir)
  page = _judge_page(browser, url, 'Cy')
  direct = next(g for g, r in enumerate(rows) if r['protocol'] == 'direct' and r['T'] == 3)
  consultancy = next(g for g, r in enumerate(rows) if r['protocol'] == 'consultancy' and r['T'] == 6)
  debate = next(g for g, r in enumerate(rows) if r['protocol'] == 'debate' and r['T'] == 6)
  for game in (direct, consultancy, debate):
    page.goto(f'{url}/')
    page.click(f'#game-link-{game}')
    page.wait_for_selector('#verdict-form')
    if game != debate:
      for step in (1, 2, 3):
        page.fill('#check-step', str(step))
        page.click('#check-button')
        page.wait_for_selector(f'#checks tr >> nth={step}')
      assert page.inner_text('#checks-left').startswith('1 of 4')
    if game == direct:  # T = 3 <= s: the person computes the whole chain from the checked steps.
      assert page.inner_text('#running').endswith(f'= {rows[game]["answer"]}.')
    _submit(page, rows[game]['answer'], confidence='0.8' if game == direct else '', comment=f'game {game} <ok>')
    page.wait_for_selector('#result:not([hidden])')
    assert page.inner_text('#your-verdict').endswith('correct ✓')
  lines = _lines(workdir, 'Cy')
  assert [line['game'] for line in lines] == [direct, consultancy, debate]
  assert [line['confidence'] for line in lines] == [0.8, None, None] and lines[0]['comment'] == f'game {direct} <ok>'
  assert all(line['correct'] and line['seconds'] > 0 for line in lines) and lines[1]['checked'] == [1, 2, 3]
  page.goto(f'{url}/')
  assert page.locator('a.game-link.judged').count() == 3
  _screenshot(page, 'list')
  result = subprocess.run(
    [sys.executable, '-m', 'launch.report', f'--workdirs={workdir}', f'--out={tmp_path}'],
    cwd=ROOT,
    env=xla_env(1),
    capture_output=True,
    text=True,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  table = (tmp_path / 'human_judges.csv').read_text().splitlines()
  mine = [line.split(',') for line in table if ',Cy,' in line]
  assert sorted(fields[1] for fields in mine) == sorted(rows[g]['cell'] for g in (direct, consultancy, debate))
  assert all(fields[6:9] == ['1', '1', '1.0000'] for fields in mine)  # games, correct, accuracy
  assert '| all humans ' in (tmp_path / 'human_judges.md').read_text() and 'Human judges' in result.stdout
  page.context.close()


def test_two_people_judging_at_once_lose_nothing(browser, servers):
  url, workdir = servers['chain']
  games = [12, 13, 14, 15]
  pages = []
  for name in ('Dee', 'Eve'):
    first = _judge_page(browser, url, name)
    for game in games:
      page = first.context.new_page()
      page.goto(f'{url}/game/{game}')
      page.check('#choice-0')
      pages.append(page)
  for page in pages:  # Submit all eight without waiting: the requests are in flight together.
    page.evaluate("document.getElementById('verdict-form').requestSubmit()")
  for page in pages:
    page.wait_for_selector('#result:not([hidden])')
  for name in ('Dee', 'Eve'):
    assert sorted(line['game'] for line in _lines(workdir, name)) == games
  # A game already judged by that person is marked and cannot be judged again.
  page = pages[0]
  page.goto(f'{url}/game/{games[0]}')
  assert page.locator('#already').count() == 1 and page.locator('#verdict-form').count() == 0
  value = _embedded(page)['choices'][0]['value']
  status = page.evaluate(
    f"fetch('/api/verdict/{games[0]}', {{method: 'POST', body: JSON.stringify({{verdict: {value}}})}})"
    '.then(async r => [r.status, await r.text()])'
  )
  assert status == [409, f'error: Dee has already judged game {games[0]}']
  assert len(_lines(workdir, 'Dee')) == 4
  for context in {page.context for page in pages}:
    context.close()


def test_bad_inputs_get_clear_messages_and_write_nothing(browser, servers):
  url, workdir = servers['chain']
  rows = _rows(workdir)
  page = _judge_page(browser, url, 'Fay')
  page.goto(f'{url}/game/0')
  _submit(page, rows[0]['answer'], confidence='very sure')
  page.wait_for_function("document.getElementById('verdict-error').textContent.length > 0")
  assert 'confidence must be a number in [0.5, 1.0]' in page.inner_text('#verdict-error')
  assert _lines(workdir, 'Fay') == [] and page.locator('#result:not([hidden])').count() == 0
  for path, message in (
    ('/game/999', 'unknown game id'),
    ('/game/..%2Fconfig.json', 'error:'),
    ('/game/-3', 'unknown'),
  ):
    response = page.goto(f'{url}{path}')
    assert response.status == 404 and message in page.inner_text('body'), path
  page.goto(f'{url}/game/0')
  for body, message in (("'{'", 'must be a JSON object'), ('JSON.stringify({verdict: 1e9})', 'verdict must be one of')):
    status = page.evaluate(
      f"fetch('/api/verdict/0', {{method: 'POST', body: {body}}}).then(async r => [r.status, await r.text()])"
    )
    assert status[0] == 400 and message in status[1]
  page.fill('#name-input', '   ')
  page.click('#name-save')
  page.wait_for_function("document.getElementById('name-error').textContent.length > 0")
  assert 'judge name is required' in page.inner_text('#name-error')
  assert _lines(workdir, 'Fay') == []
  # Without a name the verdict cannot be submitted.
  anonymous = browser.new_context().new_page()
  anonymous.goto(f'{url}/game/0')
  assert anonymous.is_disabled('#submit-verdict') and 'Enter your name' in anonymous.inner_text('#verdict-form')
  anonymous.context.close()
  page.context.close()
