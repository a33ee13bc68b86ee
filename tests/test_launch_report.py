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
  return {
    'cell': f'{arm}|{judge}|T={T}|seed={seed}',
    'task': 'chain',
    'protocol': protocol,
    'arm': arm,
    'liar': liar,
    'budget': budget,
    'agent': agent,
    's': None,
    'T': T,
    'judge': judge,
    'modulus': 17,
    'games': games,
    'correct': correct,
    'accuracy': correct / games,
    'ci95': None,
    'seed': seed,
  }


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
  return subprocess.run(
    [sys.executable, '-m', 'launch.report', *args], cwd=ROOT, capture_output=True, text=True, timeout=120
  )


def _workdir(path, records):
  path.mkdir(parents=True, exist_ok=True)
  (path / 'results.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records))
  return path


def test_report_writes_files_and_the_expected_elo_table(tmp_path):
  run = _workdir(tmp_path / 'run', RECORDS)
  out = tmp_path / 'out'
  result = _launch(f'--workdirs={run}', f'--out={out}')
  assert result.returncode == 0, result.stderr[-3000:]
  for name in (
    'accuracy.md',
    'accuracy.tex',
    'accuracy.csv',
    'accuracy_vs_T.png',
    'accuracy_vs_T.pdf',
    'elo.md',
    'elo.tex',
    'elo.csv',
    'accuracy_vs_elo.png',
    'accuracy_vs_elo.pdf',
    'scaling.json',
  ):
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
    ('debate', 'guard', 'learned:64'),
    ('debate', 'guard', 'learned:16'),
    ('debate', 'houdini', 'random'),
    ('debate', 'houdini', 'search:8'),
  ]
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
  houdinis = {
    'random': -300.0,
    'search:2': -220.0,
    'search:4': -120.0,
    'search:8': -40.0,
    'search:16': 10.0,
    'search:32': 40.0,
    'oracle': 200.0,
  }
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


# The general axis on a tiny tournament at T=4 (2 rounds), modulus 17, 100 games per pairing.
# Guards learned:4, learned:8, learned:16 have 301, 633 and 1393 parameters, so log2(4 P) = 10.23, 11.31, 12.44
# (mean 11.33); houdinis spend 2 E verdicts per game: random 2, search:4 8, search:16 32, so they sit at
# log2(2 E) + 11.33 = 12.33, 14.33, 16.33. The oracle has no budget and is not placed.
GENERAL_DEBATE = {'learned:4': (80, 60, 30, 10), 'learned:8': (90, 75, 45, 20), 'learned:16': (95, 85, 60, 30)}
GENERAL_CONSULTANCY = {'learned:4': (55, 50, 48), 'learned:8': (52, 50, 47), 'learned:16': (54, 51, 49)}


def _general_records():
  out = []
  for judge, counts in GENERAL_DEBATE.items():
    for (arm, agent), k in zip(
      (
        ('debate/random', 'random'),
        ('debate/mcts:4', 'search:4'),
        ('debate/mcts:16', 'search:16'),
        ('debate/oracle', 'oracle'),
      ),
      counts,
    ):
      out.append(_record('debate', arm, agent, judge, 4, 100, k))
  for judge, counts in GENERAL_CONSULTANCY.items():
    for (arm, agent), k in zip(
      (('consultancy', 'random'), ('consultancy/search:16', 'search:16'), ('consultancy/oracle', 'oracle')), counts
    ):
      out.append(_record('consultancy', arm, agent, judge, 4, 100, k))
  return out


# Elo columns as in elo.md (same ratings); slopes, NSO and logistic fits are cross-checked below.
EXPECTED_GENERAL_AXIS_MD = """\
| role    | player     | checker parameters | verdicts / game | log2 FLOPs |      Elo [95% CI] | games |
|:--------|:-----------|-------------------:|----------------:|-----------:|------------------:|------:|
| guard   | learned:4  |                301 |               1 |      10.23 |          0 [0, 0] |   400 |
| guard   | learned:8  |                633 |               1 |      11.31 |     125 [68, 183] |   400 |
| guard   | learned:16 |              1,393 |               1 |      12.44 |    229 [178, 296] |   400 |
| houdini | random     |                 -- |               2 |      12.33 | -251 [-335, -190] |   300 |
| houdini | search:4   |                 -- |               8 |      14.33 |   -69 [-113, -13] |   300 |
| houdini | search:16  |                 -- |              32 |      16.33 |    155 [103, 214] |   300 |
| houdini | oracle     |                 -- |              -- |         -- |    373 [313, 443] |   300 |

General strength: log2 FLOPs spent per debate game. A guard scores the two claims of the disputed step with its checker (2 forward passes, 2 FLOPs per parameter); a houdini spends its verdicts per move (search:B: B, greedy: m, random: 1) in each of the log2 T rounds, priced at the checker it plays (mean over its games). Players without a place (the oracle, judges without parameters) are not fitted.
"""

EXPECTED_GENERAL_FIT_MD = """\
| role    | players | games | chosen (BIC)               | Delta BIC | line: Elo/doubling [95% CI] | double ReLU: floor, ceiling | double ReLU: Elo/doubling [95% CI] | double ReLU share |
|:--------|--------:|------:|:---------------------------|----------:|----------------------------:|----------------------------:|-----------------------------------:|------------------:|
| guard   |       3 |  1200 | double ReLU (inconclusive) |      63.8 |               104 [80, 134] |                11.03, 11.54 |                    450 [107, 1078] |              100% |
| houdini |       3 |   900 | double ReLU (inconclusive) |

Domain Elo in debate against general strength (log2 FLOPs per game), line against double ReLU (flat, linear, flat); chosen by BIC (Delta BIC = BIC(line) - BIC(double ReLU), positive favours the double ReLU; fewer than 6 points is inconclusive). Slopes in Elo per doubling of compute, brackets: 95% interval over 100 refits to bootstrap ratings; last column: share of those refits that BIC gives to the double ReLU; games: games the fitted players played.
"""

EXPECTED_NSO_MD = """\
| gap (doublings) | houdini log2 FLOPs | best n [95% CI] | success, best n [95% CI] | success, n = 1 [95% CI] |
|----------------:|-------------------:|----------------:|-------------------------:|------------------------:|
|               0 |              10.23 |        1 [1, 1] |        80.9 [74.9, 87.3] |       80.9 [74.9, 87.3] |
|               1 |              11.23 |        1 [1, 1] |        80.9 [74.9, 87.3] |       80.9 [74.9, 87.3] |
|               2 |              12.23 |        1 [1, 1] |        80.9 [74.9, 87.3] |       80.9 [74.9, 87.3] |

Nested scalable oversight from the fitted guard and houdini curves (fits to 1200 games): the first guard at general strength 10.23 (log2 FLOPs per game) must oversee a houdini a gap of that many doublings stronger, in n equal steps, each a debate won with the Elo probability of the domain-Elo difference; the success probability is the product over steps. Each curve is held flat outside its fitted players' range. Best n maximises the success; brackets: 95% interval over refits to bootstrap ratings, each choosing its own n. Success in %.
"""

EXPECTED_STRENGTH_MD = """\
| protocol    | fit                | liar       | points | games | b per doubling [95% CI] |   50% point [95% CI] | G^2 / df |
|:------------|:-------------------|:-----------|-------:|------:|------------------------:|---------------------:|---------:|
| debate      | gap, judges pooled | all placed |      9 |   900 |    -0.60 [-0.70, -0.51] |    4.69 [4.40, 5.04] |  0.9 / 7 |
| debate      | judge strength     | random     |      3 |   300 |       0.71 [0.32, 1.16] |    8.28 [5.30, 9.41] |  0.0 / 1 |
| debate      | judge strength     | search:4   |      3 |   300 |       0.61 [0.26, 0.87] |   9.54 [7.53, 10.21] |  0.0 / 1 |
| debate      | judge strength     | search:16  |      3 |   300 |       0.57 [0.35, 0.81] | 11.71 [11.24, 12.20] |  0.0 / 1 |
| debate      | judge strength     | oracle     |      3 |   300 |       0.59 [0.26, 0.91] | 13.82 [12.93, 17.09] |  0.2 / 1 |
| consultancy | gap, judges pooled | all placed |      6 |   600 |     -0.03 [-0.10, 0.06] |                   -- |  0.3 / 4 |
| consultancy | judge strength     | random     |      3 |   300 |     -0.02 [-0.30, 0.24] |                   -- |  0.2 / 1 |
| consultancy | judge strength     | search:16  |      3 |   300 |      0.02 [-0.31, 0.29] |                   -- |  0.0 / 1 |
| consultancy | judge strength     | oracle     |      3 |   300 |      0.02 [-0.26, 0.27] |                   -- |  0.1 / 1 |

Judge accuracy against the general axis (log2 FLOPs per game), logistic: accuracy = sigmoid(a + b x). Gap: x = houdini minus judge strength, pooled over judges and liars; judge strength: x = the judge's strength, one fit per liar. b in logits per doubling, brackets: 95% parametric-bootstrap interval; 50% point: x at which accuracy is one half (given when b's interval excludes 0); G^2 / df: binomial deviance against degrees of freedom (G^2 far above df: the curve misses points).
"""


def _without_unidentified_cells(markdown: str) -> str:
  """`markdown` without the houdini fit's double-ReLU cells and the NSO rows at gaps of 3 or more doublings."""
  out = []
  for line in markdown.split('\n'):
    if line.startswith('| houdini') and 'double ReLU' in line:
      line = '|'.join(line.split('|')[:5]) + '|'
    if any(line.startswith(f'|               {g} |') for g in range(3, 8)):
      continue
    out.append(line)
  return '\n'.join(out)


def test_report_general_axis_tables_fits_and_nso(tmp_path):
  run = _workdir(tmp_path / 'run', _general_records())
  out = tmp_path / 'out'
  result = _launch(f'--workdirs={run}', f'--out={out}', '--num_samples=100')
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('general_axis', 'general_fit', 'nso', 'accuracy_vs_strength'):
    for ext in ('md', 'tex', 'csv'):
      assert (out / f'{name}.{ext}').stat().st_size > 0, (name, ext)
  for name in ('general_fit', 'nso', 'accuracy_vs_judge', 'accuracy_vs_gap'):
    assert (out / f'{name}.png').read_bytes()[:4] == b'\x89PNG'
    assert (out / f'{name}.pdf').read_bytes()[:4] == b'%PDF'
  assert (out / 'general_axis.md').read_text() == EXPECTED_GENERAL_AXIS_MD
  # Three houdini points do not identify a double ReLU (four parameters): its breakpoints and slope, and the
  # NSO rows past the guards' range that follow from them, depend on the optimizer's path (they moved between
  # numpy/scipy releases). Those cells are checked by what does not depend on it, below.
  assert _without_unidentified_cells((out / 'general_fit.md').read_text()) == EXPECTED_GENERAL_FIT_MD
  assert _without_unidentified_cells((out / 'nso.md').read_text()) == EXPECTED_NSO_MD
  assert (out / 'accuracy_vs_strength.md').read_text() == EXPECTED_STRENGTH_MD
  assert '\\toprule' in (out / 'nso.tex').read_text() and '\\bottomrule' in (out / 'general_fit.tex').read_text()
  assert 'guard Elo vs general strength: only 3 points' in result.stdout

  # Independent checks of the numbers in those tables.
  axis = {(r['role'], r['player']): r for r in csv.DictReader(io.StringIO((out / 'general_axis.csv').read_text()))}
  guard_x = [np.log2(4 * p) for p in (301, 633, 1393)]
  np.testing.assert_allclose([float(axis['guard', g]['log2_flops']) for g in GENERAL_DEBATE], guard_x, atol=5e-4)
  np.testing.assert_allclose(
    [float(axis['houdini', h]['log2_flops']) for h in ('random', 'search:4', 'search:16')],
    np.log2([2, 8, 32]) + np.mean(guard_x),
    atol=5e-4,
  )
  assert axis['houdini', 'oracle']['log2_flops'] == ''
  elo = {
    (r['role'], r['player']): float(r['elo'])
    for r in csv.DictReader(io.StringIO((out / 'elo.csv').read_text()))
    if r['protocol'] == 'debate'
  }
  fits = {r['role']: r for r in csv.DictReader(io.StringIO((out / 'general_fit.csv').read_text()))}
  for role, names in (('guard', list(GENERAL_DEBATE)), ('houdini', ['random', 'search:4', 'search:16'])):
    x = [float(axis[role, n]['log2_flops']) for n in names]
    slope = np.polyfit(x, [elo[role, n] for n in names], 1)[0]
    assert float(fits[role]['linear_slope']) == pytest.approx(slope, abs=0.05)
  # NSO at gap 0, one step: learned:4 (Elo 0) against a houdini held at the weakest placed liar's strength.
  h = fits['houdini']
  h_elo = float(h['drelu_intercept']) + float(h['drelu_slope']) * np.clip(
    float(axis['houdini', 'random']['log2_flops']), float(h['drelu_floor_x']), float(h['drelu_ceiling_x'])
  )
  nso = list(csv.DictReader(io.StringIO((out / 'nso.csv').read_text())))
  assert float(nso[0]['one_step_probability']) == pytest.approx(1 / (1 + 10 ** (h_elo / 400)), abs=2e-3)
  # The houdini double ReLU fits its three points (it has more parameters than points), and a wider gap is never
  # easier to oversee with the best number of steps.
  h_x = [float(axis['houdini', n]['log2_flops']) for n in ('random', 'search:4', 'search:16')]
  fitted = float(h['drelu_intercept']) + float(h['drelu_slope']) * np.clip(
    h_x, float(h['drelu_floor_x']), float(h['drelu_ceiling_x'])
  )
  np.testing.assert_allclose(fitted, [elo['houdini', n] for n in ('random', 'search:4', 'search:16')], atol=3.0)
  best = [float(r['best_probability']) for r in nso]
  assert all(a >= b - 1e-9 for a, b in zip(best, best[1:])), best
  # The pooled gap fit is the maximum-likelihood logistic: its score equations hold on the debate points.
  gap_fit = next(
    r
    for r in csv.DictReader(io.StringIO((out / 'accuracy_vs_strength.csv').read_text()))
    if r['protocol'] == 'debate' and r['fit'] == 'gap'
  )
  a, b = float(gap_fit['a']), float(gap_fit['b'])
  gaps, correct = [], []
  for judge, counts in GENERAL_DEBATE.items():
    for agent, k in zip(('random', 'search:4', 'search:16'), counts):
      gaps.append(float(axis['houdini', agent]['log2_flops']) - float(axis['guard', judge]['log2_flops']))
      correct.append(k)
  gaps, correct = np.array(gaps), np.array(correct)
  residual = correct - 100 / (1 + np.exp(-(a + b * gaps)))
  assert abs(residual.sum()) < 0.05 and abs((residual * gaps).sum()) < 0.1

  scaling = json.loads((out / 'scaling.json').read_text())
  assert scaling['general_fits']['guard']['role'] == 'guard' and 'samples' not in scaling['general_fits']['guard']
  assert len(scaling['nso']) == 8 and scaling['general_axis']['modulus'] == 17
  assert {r['protocol'] for r in scaling['accuracy_vs_strength']} == {'debate', 'consultancy'}


# Two seeds of a 2 x 2 debate tournament at T=8, 50 games per cell and seed; both judges did better in seed 0.
SEED_COUNTS = {
  ('learned:64', 'random'): (40, 35),
  ('learned:64', 'search:8'): (30, 20),
  ('learned:16', 'random'): (30, 20),
  ('learned:16', 'search:8'): (15, 10),
}
SEED_RECORDS = [
  _record('debate', 'debate/random' if agent == 'random' else 'debate/mcts:8', agent, judge, 8, 50, k, seed=seed)
  for (judge, agent), ks in SEED_COUNTS.items()
  for seed, k in enumerate(ks)
]

# The pooled counts are RECORDS' debate counts at T=8, so the ratings are those of EXPECTED_ELO_MD; the intervals
# come from the seed-level bootstrap (200 samples, seed 0), the default for records with two seeds that play the same
# cells, and the caption says so.
EXPECTED_SEED_ELO_MD = """\
| protocol | role    | player     |      Elo [95% CI] | games | note   |
|:---------|:--------|:-----------|------------------:|------:|:-------|
| debate   | guard   | learned:64 |          0 [0, 0] |   200 | anchor |
| debate   | guard   | learned:16 | -190 [-275, -115] |   200 |        |
| debate   | houdini | random     |  -190 [-306, -89] |   200 |        |
| debate   | houdini | search:8   |     0 [-106, 120] |   200 |        |

Guard (judge with the honest side) and houdini (liar) Elo at T=8: maximum likelihood, brackets: 95% seed-level \
bootstrap interval (200 samples: the 2 seeds, each with its judges trained anew, redrawn with replacement, then the \
games within each drawn seed), relative to the anchor guard of each protocol (rated 0); games: games the player \
played. A player whose every pairing was a sweep (won or lost all its games) is placed by the prior (virtual draws), \
not by data.
"""


def test_report_uses_the_seed_level_bootstrap_for_several_seeds_unless_told_otherwise(tmp_path):
  run = _workdir(tmp_path / 'run', SEED_RECORDS)
  result = _launch(f'--workdirs={run}', f'--out={tmp_path / "seeds"}', '--num_samples=200')
  assert result.returncode == 0, result.stderr[-3000:]
  assert (tmp_path / 'seeds' / 'elo.md').read_text() == EXPECTED_SEED_ELO_MD
  assert 'note: seed-level bootstrap over seeds 0, 1' in result.stdout and 'only 2 seeds' in result.stdout
  assert (
    '95% seed-level bootstrap interval (the 2 seeds' in (tmp_path / 'seeds' / 'accuracy_vs_strength.md').read_text()
  )
  scaling = json.loads((tmp_path / 'seeds' / 'scaling.json').read_text())
  assert scaling['bootstrap'] == {'kind': 'seeds', 'requested': 'auto', 'seeds': [0, 1]}
  assert scaling['ratings'][0]['bootstrap'] == 'seeds'
  assert {p['bootstrap'] for p in scaling['accuracy_vs_elo_logistic']} == {'seeds'}

  result = _launch(f'--workdirs={run}', f'--out={tmp_path / "games"}', '--num_samples=200', '--bootstrap=games')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'game-level bootstrap (--bootstrap=games) over 2 seeds pooled' in result.stdout
  assert 'parametric-bootstrap interval (200 samples)' in (tmp_path / 'games' / 'elo.md').read_text()
  rows = {
    name: list(csv.DictReader(io.StringIO((tmp_path / name / 'elo.csv').read_text()))) for name in ('seeds', 'games')
  }
  for by_seeds, by_games in zip(rows['seeds'], rows['games']):
    assert by_seeds['elo'] == by_games['elo']  # point estimates are the pooled fit either way
    width = lambda r: float(r['ci95_high']) - float(r['ci95_low'])
    assert width(by_seeds) >= width(by_games)
  assert json.loads((tmp_path / 'games' / 'scaling.json').read_text())['bootstrap']['kind'] == 'games'


@pytest.mark.parametrize(
  'args, named',
  [
    ([], '--workdirs'),
    (['--workdirs={missing}'], '--workdirs'),
    (['--workdirs={empty_dir}'], '--workdirs'),
    (['--workdirs={no_records}'], '--workdirs'),
    (['--workdirs={run}'], '--out'),
    (['--workdirs={run}', '--T=5'], '--T=5'),
    (['--workdirs={run}', '--T=many'], '--T'),
    (['--workdirs={run}', '--num_samples=0'], '--num_samples'),
    (['--workdirs={run}', '--colour=red'], 'colour'),
    (['--workdirs={run}', '--bootstrap=jackknife'], 'bootstrap'),
    # RECORDS hold seed 1 for one cell only: resampling seeds could drop the others.
    (['--workdirs={run}', '--bootstrap=seeds'], 'seed 1 has no games in debate learned:64 vs search:8 at T=8'),
    (['--workdirs={one_seed}', '--bootstrap=seeds'], 'needs at least 2 seeds'),
  ],
)
def test_bad_flags_exit_2_and_name_the_flag(tmp_path, args, named):
  paths = {
    'missing': tmp_path / 'nowhere',
    'empty_dir': tmp_path / 'empty',
    'no_records': tmp_path / 'blank',
    'run': _workdir(tmp_path / 'run', RECORDS),
    'one_seed': _workdir(tmp_path / 'one_seed', [r for r in RECORDS if r['seed'] == 0]),
  }
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
