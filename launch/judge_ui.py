"""Human judges in the browser: a local web page to read and judge the recorded games of a workdir.

  python -m launch.judge_ui --workdir=DIR [--port=8000] [--host=127.0.0.1]

then open http://127.0.0.1:8000/. Verdicts are appended to DIR/human_verdicts.jsonl; `launch.report
--workdirs=DIR` adds the human judges as rows beside the model judges (human_judges.md/.tex/.csv). The page
listens on 127.0.0.1 only unless --host names another address. Bad flags or a workdir without transcripts
exit with status 2 and one line before anything is served.
"""

import socket

from absl import app, flags

from launch.cli import fail, parse_flags

LOOPBACK = ('127.0.0.1', 'localhost', '::1')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of a run (holds transcripts.jsonl).')
_PORT = flags.DEFINE_integer('port', 8000, 'TCP port to listen on (0: any free port).')
_HOST = flags.DEFINE_string('host', '127.0.0.1', 'Address to listen on; another than 127.0.0.1 must be asked for.')


def main(argv):
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}')
  if not _WORKDIR.value:
    fail('--workdir is required: the workdir of a run (holds transcripts.jsonl)')
  if not 0 <= _PORT.value <= 65535:
    fail(f'--port must be in [0, 65535], got {_PORT.value}')
  if not _HOST.value.strip():
    fail('--host must not be empty')
  import uvicorn

  from debate.judging import app as judging_app
  from debate.judging import views

  try:
    web_app = judging_app.make_app(_WORKDIR.value)
  except views.WorkdirError as e:
    fail(str(e))
  host, port = _HOST.value, _PORT.value
  try:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family)
  except OSError as e:
    fail(f'--host={host} --port={port}: cannot listen there ({e})')
  if host not in LOOPBACK:
    print(f'warning: --host={host}: anyone who can reach this address can read the games and judge them', flush=True)
  shown = f'[{host}]' if ':' in host else host
  print(f'judging {_WORKDIR.value}: open http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C stops)', flush=True)
  uvicorn.Server(uvicorn.Config(web_app, log_level='warning')).run(sockets=[sock])


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
