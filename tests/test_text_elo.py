"""Debater Elo of the text task (Khan et al.'s x axis): text records -> cross-play matchups
(`pooling.text_tournament_records`, `elo.debater_matrix`), each debater's Elo the mean of its two role Elo
(`elo.rate_debaters`), accuracy against it (`fitting.accuracy_vs_elo`), and the text report's files from a tiny
exact-judge run."""

import numpy as np
import pytest

from debate.experiments import runfiles
from debate.experiments import text as text_experiment
from debate.reports import text as text_report
from debate.tournament import elo, fitting, pooling
from debate.tournament.tables import debater_elo_table
from launch.configs import text as text_config

AGENTS = ('random', 'greedy', 'mcts:8')
# Honest and liar role Elo of the synthetic debaters (random weakest).
HONEST = {'random': -100.0, 'greedy': 150.0, 'mcts:8': 250.0}
LIAR = {'random': 50.0, 'greedy': 200.0, 'mcts:8': 300.0}


def _record(arm, judge='exact', k=4, games=4000, correct=None, seed=0, **fields):
  protocol = arm.split('/')[0]
  return {
    'cell': f'{arm}|{judge}|k={k}|seed={seed}',
    'task': 'text',
    'protocol': protocol,
    'arm': arm,
    'judge': judge,
    'k': k,
    'claims': '/claims' in arm,
    'show_verified': '/hidden' not in arm,
    'games': games,
    'correct': games // 2 if correct is None else correct,
    'seed': seed,
    **fields,
  }


def _synthetic(judge='exact'):
  """Expected counts of every honest x liar debate under the role model, and a consultancy per agent."""
  records = []
  for honest in AGENTS:
    for liar in AGENTS:
      p = 1 / (1 + 10 ** ((LIAR[liar] - HONEST[honest]) / 400))
      arm = f'debate/{honest}' if honest == liar else f'debate/{honest}/liar={liar}'
      records.append(_record(arm, judge, correct=round(4000 * p)))
  records += [_record(f'consultancy/{a}', judge, correct=1000 + 500 * i) for i, a in enumerate(AGENTS)]
  return records


def test_debater_elo_is_the_mean_of_the_role_elo_anchored_at_the_weakest():
  cells = pooling.text_tournament_records(_synthetic())
  assert {r['agent'] for r in cells} == {'random', 'greedy', 'search:8'} and all(r['T'] == 4 for r in cells)
  ratings = elo.rate_debaters(elo.debater_matrix(cells, judge='exact', T=4), judge='exact', num_samples=200)
  assert ratings.names == ('random', 'greedy', 'search:8') and ratings.elo[0] == 0 and ratings.ci_low[0] == 0
  np.testing.assert_allclose(ratings.elo, (ratings.honest_elo + ratings.liar_elo) / 2, atol=1e-9)
  # With 4000 games per pairing the fit recovers the model (a shift aside: random's mean is 0).
  want = [(HONEST[a] + LIAR[a] - HONEST['random'] - LIAR['random']) / 2 for a in AGENTS]
  np.testing.assert_allclose(ratings.elo, want, atol=15)
  assert all(lo <= e <= hi for lo, e, hi in zip(ratings.ci_low, ratings.elo, ratings.ci_high))
  assert ratings.games.tolist() == [6 * 4000] * 3
  # Accuracy is placed at each agent's debater Elo: self-play debates and consultancy, one point per agent.
  placed = [r for r in cells if r['protocol'] == 'consultancy' or r['honest'] == r['agent']]
  rows = fitting.accuracy_vs_elo(placed, ratings, T=4)
  assert [(r['protocol'], r['agent']) for r in rows] == [
    (p, a) for p in ('debate', 'consultancy') for a in ratings.names
  ]
  assert all(r['elo'] == ratings.debater(r['agent'])['elo'] for r in rows)
  table = debater_elo_table([ratings], fmt='markdown', size='k')
  assert '| exact | 4 | search:8 ' in table and 'honest Elo' in table
  assert debater_elo_table([ratings], fmt='csv', size='k').count('\n') == 4


def test_text_tournament_records_keep_plain_cells_once_and_need_both_roles():
  records = _synthetic() + [
    _record('debate/greedy/liar=random/claims'),
    _record('debate/greedy/liar=random/hidden'),
    _record('debate/greedy/liar=random', games=10),  # a smaller copy of a cell (another workdir): dropped
    _record('direct'),
  ]
  cells = pooling.text_tournament_records(records)
  assert len(cells) == 12 and all(r['games'] == 4000 for r in cells)
  # Self-play alone rates no one; one direction of cross-play leaves a debater in one role.
  selfplay = [r for r in cells if r['protocol'] == 'debate' and r['honest'] == r['agent']]
  with pytest.raises(ValueError, match='both roles'):
    elo.debater_matrix(selfplay, judge='exact', T=4)
  one_way = [r for r in cells if r['honest'] in ('random', 'greedy') and r['agent'] in ('random', 'greedy')]
  one_way = [r for r in one_way if (r['honest'], r['agent']) != ('random', 'greedy')]
  with pytest.raises(ValueError, match='both roles'):
    elo.debater_matrix(one_way, judge='exact', T=4)
  # A debater seen only in self-play is left out of the others' tournament.
  two = [r for r in cells if 'search:8' not in (r['honest'], r['agent']) or r['honest'] == r['agent']]
  assert set(elo.debater_matrix(two, judge='exact', T=4).guards) == {'random', 'greedy'}
  # Each judge rates the debaters on its own.
  results = text_report.elo_results(_synthetic('exact') + _synthetic('tf1x32'), num_samples=50)
  assert [(r['judge'], r['k']) for r in results] == [('exact', 4), ('tf1x32', 4)]


def test_tiny_exact_run_writes_the_elo_table_and_figure(tmp_path):
  config = text_config.get_config('smoke')
  config.game.judges = ('exact',)
  config.game.num_stories = 48
  config.num_transcripts = 0
  config.game.protocols = (
    'debate/random',
    'debate/greedy',
    'debate/random/liar=greedy',
    'debate/greedy/liar=random',
    'consultancy/random',
    'consultancy/greedy',
  )
  text_experiment.run_text_experiment(config, str(tmp_path), log=lambda _: None)
  for name in ('text_elo.md', 'text_elo.tex', 'text_elo.csv', 'text_elo.json', 'text_accuracy_vs_elo_exact_k4.png'):
    assert (tmp_path / name).exists(), name
  (result,) = text_report.elo_results(runfiles.read_jsonl(tmp_path / 'results.jsonl'), num_samples=200)
  ratings = result['ratings']
  assert ratings.names == ('random', 'greedy')
  # With the exact judge greedy quotes persuade better than random ones, in both roles.
  greedy = ratings.debater('greedy')
  assert greedy['elo'] > 0 and greedy['ci_low'] > 0, ratings.rows()
  assert {(r['protocol'], r['agent']) for r in result['rows']} == {
    (p, a) for p in ('debate', 'consultancy') for a in ('random', 'greedy')
  }
  assert '\\toprule' in (tmp_path / 'text_elo.tex').read_text()
