"""`python -m launch.report` end to end on hand-written records: files, the Elo table, bad flags."""

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _record(protocol, arm, agent, judge, T, games, correct, seed=0):
  liar = {'direct': None, 'consultancy': 'one_error'}.get(protocol, arm.split('/')[-1].split(':')[0])
  budget = int(agent.split(':')[1]) if agent and agent.startswith('search:') else None
  return {'cell': f'{arm}|{judge}|T={T}|seed={seed}', 'task': 'chain', 'protocol': protocol, 'arm': arm,
          'liar': liar, 'budget': budget, 'agent': agent, 's': None, 'T': T, 'judge': judge, 'modulus': 17,
          'games': games, 'correct': correct, 'accuracy': correct / games, 'ci95': None, 'seed': seed}


# At T=8, two guards x two houdinis, 100 games per pairing (debate/random vs learned:64 in two seeds of 50).
#   debate:       learned:64 wins 75% vs random, 50% vs search:8; learned:16 wins 50% vs random, 25% vs search:8.
#   consultancy:  both judges win 75% vs random and 25% vs search:8.
# T=2 has a single liar, so the tournament defaults to T=8.
RECORDS = [
    _record('direct', 'direct', None, 'learned:64', 8, 100, 60),
    _record('direct', 'direct', None, 'learned:16', 8, 100, 55),
    _record('debate', 'debate/random', 'random', 'learned:64', 8, 50, 40, seed=0),
    _record('debate', 'debate/random', 'random', 'learned:64', 8, 50, 35, seed=1),
    _record('debate', 'debate/mcts:8', 'search:8', 'learned:64', 8, 100, 50),
    _record('debate', 'debate/random', 'random', 'learned:16', 8, 100, 50),
    _record('debate', 'debate/mcts:8', 'search:8', 'learned:16', 8, 100, 25),
    _record('consultancy', 'consultancy', 'random', 'learned:64', 8, 100, 75),
    _record('consultancy', 'consultancy/search:8', 'search:8', 'learned:64', 8, 100, 25),
    _record('consultancy', 'consultancy', 'random', 'learned:16', 8, 100, 75),
    _record('consultancy', 'consultancy/search:8', 'search:8', 'learned:16', 8, 100, 25),
    _record('debate', 'debate/random', 'random', 'learned:64', 2, 100, 90),
    _record('debate', 'debate/random', 'random', 'learned:16', 2, 100, 80),
]

# Derived by hand (checked independently by maximising the same penalised likelihood numerically).
# Elo in natural units s = r ln(10) / 400, anchor learned:64 = 0, one virtual draw per player against the mean.
# Debate: relabelling learned:64 <-> search:8 and learned:16 <-> random maps the results onto themselves, so
#   learned:64 = search:8 = 0 and learned:16 = random = -y; stationarity in y gives
#   151 - 200 sigmoid(y) - 2 sigmoid(y / 2) = 0, y = 1.0915 -> 189.6 Elo (without the prior: 400 log10 3 = 190.8).
# Consultancy: the judges are interchangeable (both 0); random = -y', search:8 = +y' with
#   201 sigmoid(y') = 150.5, y' = 1.0920 -> 189.7 Elo.
# Intervals: 1000-sample parametric bootstrap (seed 0); the normal approximation from the Fisher information
#   gives +-1.96 SE of +-73 (learned:16), +-67 (random), +-60 (search:8) in debate and +-78 / +-68 / +-68 in
#   consultancy, and the percentile intervals below match those widths within sampling noise.
# Games: every player played 2 pairings x 100 games.
EXPECTED_ELO_MD = """\
| protocol    | role    | player     |      Elo [95% CI] | games | note   |
|:------------|:--------|:-----------|------------------:|------:|:-------|
| debate      | guard   | learned:64 |          0 [0, 0] |   200 | anchor |
| debate      | guard   | learned:16 | -190 [-267, -119] |   200 |        |
| debate      | houdini | random     | -190 [-253, -129] |   200 |        |
| debate      | houdini | search:8   |       0 [-57, 59] |   200 |        |
| consultancy | guard   | learned:64 |          0 [0, 0] |   200 | anchor |
| consultancy | guard   | learned:16 |       0 [-79, 79] |   200 |        |
| consultancy | houdini | random     | -190 [-265, -128] |   200 |        |
| consultancy | houdini | search:8   |    190 [125, 263] |   200 |        |

Guard (judge with the honest side) and houdini (liar) Elo at T=8: maximum likelihood, brackets: 95% \
parametric-bootstrap interval (1000 samples), relative to the anchor guard of each protocol (rated 0); games: \
games the player played. A player whose every pairing was a sweep (won or lost all its games) is placed by the \
prior (virtual draws), not by data.
"""


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'launch.report', *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=120)


def _workdir(path, records):
  path.mkdir(parents=True, exist_ok=True)
  (path / 'results.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records))
  return path


def test_report_writes_files_and_the_expected_elo_table(tmp_path):
  run = _workdir(tmp_path / 'run', RECORDS)
  out = tmp_path / 'out'
  result = _launch(f'--workdirs={run}', f'--out={out}')
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('accuracy.md', 'accuracy.tex', 'accuracy.csv', 'accuracy_vs_T.png', 'accuracy_vs_T.pdf',
               'elo.md', 'elo.tex', 'elo.csv', 'accuracy_vs_elo.png', 'accuracy_vs_elo.pdf', 'scaling.json'):
    assert (out / name).stat().st_size > 0, name
  # Two budgets (random = 1, search:8) are too few to compare a line with a double ReLU.
  assert not (out / 'houdini_elo_fit.png').exists()
  assert 'no houdini Elo-vs-budget fit' in result.stdout

  elo_md = (out / 'elo.md').read_text()
  assert elo_md == EXPECTED_ELO_MD
  assert EXPECTED_ELO_MD.strip() in result.stdout and 'Elo at T=8' in result.stdout

  tex = (out / 'elo.tex').read_text()
  assert '\\toprule' in tex and '\\midrule' in tex and '\\bottomrule' in tex and '95\\%' in tex
  rows = list(csv.DictReader(io.StringIO((out / 'elo.csv').read_text())))
  assert [(r['protocol'], r['role'], r['player']) for r in rows][:4] == [
      ('debate', 'guard', 'learned:64'), ('debate', 'guard', 'learned:16'), ('debate', 'houdini', 'random'),
      ('debate', 'houdini', 'search:8')]
  assert all(float(r['ci95_low']) <= float(r['elo']) <= float(r['ci95_high']) for r in rows)

  # Accuracy table: the two seeds of debate/random x learned:64 are pooled (75 of 100).
  accuracy = (out / 'accuracy.md').read_text()
  assert '| debate/random        | learned:64 |' in accuracy
  acc_rows = list(csv.DictReader(io.StringIO((out / 'accuracy.csv').read_text())))
  pooled = [r for r in acc_rows if r['arm'] == 'debate/random' and r['judge'] == 'learned:64' and r['T'] == '8']
  assert len(pooled) == 1 and pooled[0]['games'] == '100' and pooled[0]['correct'] == '75'

  scaling = json.loads((out / 'scaling.json').read_text())
  assert scaling['T'] == 8
  points = {(p['protocol'], p['judge'], p['agent']): p for p in scaling['accuracy_vs_elo']}
  # Consultancy points sit at the debate Elo of their liar.
  assert points['consultancy', 'learned:16', 'random']['elo'] == points['debate', 'learned:64', 'random']['elo']
  np.testing.assert_allclose(points['debate', 'learned:64', 'random']['elo'], -189.617, atol=0.01)
  assert 'skipped' in scaling['houdini_elo_fit']


def test_report_fits_houdini_scaling_and_keeps_colliding_workdirs_apart(tmp_path):
  rng = np.random.default_rng(7)
  guards = {'learned:64': 0.0, 'learned:16': -150.0}
  houdinis = {'random': -300.0, 'search:2': -220.0, 'search:4': -120.0, 'search:8': -40.0, 'search:16': 10.0,
              'search:32': 40.0, 'oracle': 200.0}
  records = []
  for judge, g in guards.items():
    for agent, h in houdinis.items():
      p = 1 / (1 + 10 ** ((h - g) / 400))
      arm = {'random': 'debate/random', 'oracle': 'debate/oracle'}.get(agent, f'debate/mcts:{agent[7:]}')
      records.append(_record('debate', arm, agent, judge, 16, 400, int(rng.binomial(400, p))))
  first = _workdir(tmp_path / 'a', records)
  second = _workdir(tmp_path / 'b', [{**r, 'correct': r['correct'] - 1} for r in records[:3]])
  out = tmp_path / 'out'
  result = _launch(f'--workdirs={first},{second}', f'--out={out}', '--T=16', '--num_samples=200')
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('houdini_elo_fit.png', 'houdini_elo_fit.pdf', 'accuracy_vs_elo.png'):
    assert (out / name).stat().st_size > 0, name
  assert 'judges are prefixed' in result.stdout
  elo_md = (out / 'elo.md').read_text()
  assert '| a/learned:64 |' in elo_md and '| b/learned:64 |' in elo_md
  fit = json.loads((out / 'scaling.json').read_text())['houdini_elo_fit']
  assert fit['excluded'] == ['oracle'] and len(fit['points']) == 6
  assert fit['chosen'] in ('linear', 'double_relu') and fit['linear']['slope'] > 0


@pytest.mark.parametrize('args, named', [
    ([], '--workdirs'),
    (['--workdirs={missing}'], '--workdirs'),
    (['--workdirs={empty_dir}'], '--workdirs'),
    (['--workdirs={no_records}'], '--workdirs'),
    (['--workdirs={run}'], '--out'),
    (['--workdirs={run}', '--T=5'], '--T=5'),
    (['--workdirs={run}', '--T=many'], '--T'),
    (['--workdirs={run}', '--num_samples=0'], '--num_samples'),
    (['--workdirs={run}', '--colour=red'], 'colour'),
])
def test_bad_flags_exit_2_and_name_the_flag(tmp_path, args, named):
  paths = {'missing': tmp_path / 'nowhere', 'empty_dir': tmp_path / 'empty', 'no_records': tmp_path / 'blank',
           'run': _workdir(tmp_path / 'run', RECORDS)}
  paths['empty_dir'].mkdir()
  _workdir(paths['no_records'], [])
  out = tmp_path / 'out'
  args = [a.format(**paths) for a in args]
  if not any(a.startswith('--workdirs') for a in args) or named != '--out':
    args.append(f'--out={out}')
  result = _launch(*args)
  assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
  assert 'error:' in result.stderr and named in result.stderr, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr
  assert not out.exists() or not any(out.iterdir())
