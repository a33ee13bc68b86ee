"""The judging web app (Starlette): `make_app(workdir)`; `launch.judge_ui` serves it with uvicorn.

Pages: `/` lists the recorded games by cell, `/game/N` shows game N (the N-th line of transcripts.jsonl).
API (JSON bodies; errors are 4xx with a one-line text): POST /api/name {name} sets the judge-name cookie;
POST /api/check/N {step} reveals one step of a chain game (at most s per person and game); POST /api/verdict/N
{verdict, confidence, comment, seconds} appends the verdict to DIR/human_verdicts.jsonl and answers with the
truth, the model judge's verdict and the transcript, which the page does not hold before.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import threading
import urllib.parse
from collections import defaultdict

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from debate.judging import verdicts, views
from debate.judging.verdicts import AlreadyJudged, BadRequest

NAME_COOKIE = 'judge_name'
MAX_BODY = 16 * 1024
_GAME_ID = re.compile(r'\d{1,9}')


def _environment() -> jinja2.Environment:
  return jinja2.Environment(
    loader=jinja2.PackageLoader('debate.judging', 'templates'), autoescape=True, undefined=jinja2.StrictUndefined
  )


class _Games:
  """The workdir's game views (built on first use) and the steps each person has checked (in memory)."""

  def __init__(self, workdir: views.Workdir):
    self.workdir = workdir
    self._views: dict[int, views.GameView] = {}
    self._checked: dict[tuple[str, int], list[int]] = defaultdict(list)
    self._lock = threading.Lock()

  def view(self, game: int) -> views.GameView:
    with self._lock:
      if game not in self._views:
        self._views[game] = views.game_view(self.workdir, game)
      return self._views[game]

  def check(self, name: str, view: views.GameView, step: int) -> tuple[dict, list[int]]:
    with self._lock:
      checked = self._checked[name, view.game]
      if step not in checked:
        if len(checked) >= view.checks:
          raise BadRequest(f'you have checked {len(checked)} steps already: the limit is s = {view.checks}')
        checked.append(step)
      return views.check_step(view, step), list(checked)

  def checked(self, name: str, game: int) -> list[int]:
    with self._lock:
      return list(self._checked.get((name, game), []))


def make_app(workdir: str) -> Starlette:
  """The app serving `workdir` (raises views.WorkdirError if it has no usable transcripts)."""
  games = _Games(views.load_workdir(workdir))
  store = verdicts.VerdictStore(workdir)
  env = _environment()
  workdir_name = os.path.basename(os.path.normpath(workdir))

  def page(template: str, request: Request, status: int = 200, **context) -> HTMLResponse:
    html = env.get_template(template).render(name=_name(request), workdir_name=workdir_name, **context)
    return HTMLResponse(html, status_code=status)

  def game_id(request: Request) -> int:
    text = request.path_params['game']
    number = int(text) if _GAME_ID.fullmatch(text) else -1
    if not 0 <= number < len(games.workdir.rows):
      shown = text if len(text) <= 20 else text[:20] + '...'
      raise HTTPException(404, f'unknown game id {shown!r}: games are 0..{len(games.workdir.rows) - 1}')
    return number

  async def index(request: Request) -> Response:
    name = _name(request)
    judged = await run_in_threadpool(store.judged_by, name) if name else set()
    cells: dict[str, dict] = {}
    for number, row in enumerate(games.workdir.rows):
      info = views.cell_info(games.workdir, row)
      cell = cells.setdefault(info['cell'], {**info, 'games': []})
      cell['games'].append({'id': number, 'judged': number in judged})
    return page('list.html', request, cells=list(cells.values()), judged=len(judged))

  async def game(request: Request) -> Response:
    number = game_id(request)
    view = await run_in_threadpool(games.view, number)
    name = _name(request)
    mine = None
    if name:
      mine = next((v for v in await run_in_threadpool(store.read) if v['judge'] == name and v['game'] == number), None)
    data = views.page_data(view)
    data['checked'] = (
      [views.check_step(view, t) for t in games.checked(name, number)] if name and view.checks and not mine else []
    )
    previous, following = number - 1 if number else None, number + 1 if number + 1 < len(games.workdir.rows) else None
    return page(
      'game.html',
      request,
      view=view,
      data=data,
      mine=mine and {**mine, 'label': view.label(mine['verdict'])},
      previous=previous,
      following=following,
    )

  async def set_name(request: Request) -> Response:
    body = await _json_body(request)
    name = verdicts.check_name(body.get('name'))
    response = JSONResponse({'name': name})
    response.set_cookie(NAME_COOKIE, urllib.parse.quote(name), max_age=365 * 24 * 3600, samesite='strict')
    return response

  async def check(request: Request) -> Response:
    number = game_id(request)
    body = await _json_body(request)
    name = verdicts.check_name(body.get('judge', _name(request)))
    view = await run_in_threadpool(games.view, number)
    if not view.checks:
      raise BadRequest(f'game {number} has no steps to check')
    step = body.get('step')
    T = view.shown['T']
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= T:
      raise BadRequest(f'step must be an integer in [1, {T}], got {str(step)[:20]!r}')
    result, checked = games.check(name, view, step)
    return JSONResponse({**result, 'checked': checked, 'left': view.checks - len(checked)})

  async def verdict(request: Request) -> Response:
    number = game_id(request)
    body = await _json_body(request)
    name = verdicts.check_name(body.get('judge', _name(request)))
    view = await run_in_threadpool(games.view, number)
    value = body.get('verdict')
    allowed = [v for v, _ in view.choices]
    if isinstance(value, str) and re.fullmatch(r'-?\d{1,6}', value.strip()):
      value = int(value)
    if isinstance(value, bool) or value not in allowed:
      raise BadRequest(f'verdict must be one of {", ".join(map(str, allowed))}, got {str(value)[:20]!r}')
    line = {
      'judge': name,
      'game': number,
      'cell': view.cell['cell'],
      'task': view.task,
      'protocol': view.cell['protocol'],
      'model_judge': view.cell['judge'],
      'size': view.cell['size'],
      'verdict': value,
      'truth': view.truth,
      'correct': value == view.truth,
      'model_verdict': view.model_verdict,
      'model_correct': view.model_verdict == view.truth,
      'confidence': verdicts.parse_confidence(body.get('confidence')),
      'comment': verdicts.parse_comment(body.get('comment')),
      'seconds': verdicts.parse_seconds(body.get('seconds', 0.0)),
      'checked': games.checked(name, number),
      'time': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    }
    await run_in_threadpool(store.append, line)
    return JSONResponse(
      {
        'saved': True,
        'verdict': value,
        'verdict_label': view.label(value),
        'correct': line['correct'],
        'truth': view.truth,
        'truth_label': view.label(view.truth),
        'model_judge': view.cell['judge'],
        'model_verdict': view.model_verdict,
        'model_verdict_label': view.label(view.model_verdict),
        'model_correct': line['model_correct'],
        **view.reveal,
      }
    )

  async def bad_request(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f'error: {exc}', status_code=400)

  async def conflict(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f'error: {exc}', status_code=409)

  async def bad_record(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f'error: cannot show this game: {exc}', status_code=500)

  async def http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if exc.status_code != 404 or exc.detail != 'Not Found' else f'no page at {request.url.path}'
    return PlainTextResponse(f'error: {detail}', status_code=exc.status_code)

  routes = [
    Route('/', index),
    Route('/game/{game}', game),
    Route('/api/name', set_name, methods=['POST']),
    Route('/api/check/{game}', check, methods=['POST']),
    Route('/api/verdict/{game}', verdict, methods=['POST']),
    Mount('/static', StaticFiles(packages=[('debate.judging', 'static')]), name='static'),
  ]
  handlers = {
    BadRequest: bad_request,
    AlreadyJudged: conflict,
    views.WorkdirError: bad_record,
    HTTPException: http_error,
  }
  return Starlette(routes=routes, exception_handlers=handlers)


def _name(request: Request) -> str | None:
  """The judge name of the request's cookie, or None if unset or not a valid name."""
  raw = request.cookies.get(NAME_COOKIE)
  try:
    return verdicts.check_name(urllib.parse.unquote(raw)) if raw else None
  except BadRequest:
    return None


async def _json_body(request: Request) -> dict:
  """The request's JSON object (at most MAX_BODY bytes), or BadRequest."""
  body = await request.body()
  if len(body) > MAX_BODY:
    raise BadRequest(f'request body too large: at most {MAX_BODY} bytes')
  try:
    value = json.loads(body)
  except ValueError:
    raise BadRequest('the request body must be a JSON object') from None
  if not isinstance(value, dict):
    raise BadRequest('the request body must be a JSON object')
  return value
