"""Recursive reward modelling: the evaluation's recursion, error propagation by hand, training, the experiment
end to end (records, resume, report) and config errors."""

import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from debate.distributed import sharding
from debate.experiments import rrm as rrm_experiment
from debate.experiments import runfiles
from debate.experiments.runfiles import ConfigError
from debate.reports import rrm as rrm_report
from debate.rollouts import runner
from debate.training import rrm as rrm_training
from judges import chain_checkers as cc
from judges import reward_models as rm
from launch.configs import rrm_chain
from protocols import rrm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M = 7
EXACT = cc.parse_checker('exact', M)
# A level-2 task: x: 3 -> 0 -> 0 -> 5 -> 0 (ops 2x+1, 3x, x+5, 2x+4, mod 7). Midpoint x_2 = 0, end x_4 = 0.
X0, OPS = 3, [(2, 1), (3, 0), (1, 5), (2, 4)]
FIRST, SECOND = tuple(OPS[:2]), tuple(OPS[2:])


def _random_segments(key, batch, length, modulus):
  u_key, v_key, x_key = jax.random.split(key, 3)
  ops = jnp.stack(
    [jax.random.randint(u_key, (batch, length), 1, modulus), jax.random.randint(v_key, (batch, length), 0, modulus)],
    axis=-1,
  ).astype(jnp.int32)
  return jax.random.randint(x_key, (batch,), 0, modulus).astype(jnp.int32), ops


# --------------------------------------------------------------------------------------------------------
# The recursion with exact components.


def test_recursive_evaluation_with_exact_components_is_exact_at_every_level():
  """Levels 0..5 (chains of 1..32 steps), both combination rules, every claim of 16 random tasks a level."""
  off_by_one = lambda x, ops: (rrm.segment_end(x, ops, M) + 1) % M
  claims = jnp.arange(M, dtype=jnp.int32)[:, None]

  @jax.jit
  def evaluations(tasks):
    """Per level and rule: (every claim's evaluation with exact assistants, the truth's with off-by-one ones)."""
    out = []
    for level, (x, ops) in enumerate(tasks):
      for combine in rrm.COMBINATIONS:
        evaluate = lambda claim, assistant: rrm.recursive_evaluation(
          x, ops, claim, checker=EXACT, judge_params=None, assistants=[assistant] * level, combine=combine
        )
        out.append((level, evaluate(claims, rrm.exact_assistant(M)), evaluate(rrm.segment_end(x, ops, M), off_by_one)))
    return out

  tasks = [_random_segments(jax.random.key(level), 16, 2**level, M) for level in range(6)]
  results = evaluations(tasks)
  assert len(results) == 6 * len(rrm.COMBINATIONS)
  for level, exact, misled in results:
    x, ops = tasks[int(level)]
    truth = rrm.segment_end(x, ops, M)
    np.testing.assert_array_equal(exact, (claims == truth).astype(np.float32), err_msg=f'level {level}')
    if level:  # The test can fail: an assistant that is off by one makes every level >= 1 reject the truth.
      assert not np.any(misled), level


def test_segment_end_matches_the_hand_computed_trace():
  assert int(rrm.segment_end(jnp.int32(X0), jnp.array(OPS), M)) == 0
  assert int(rrm.segment_end(jnp.int32(X0), jnp.array(FIRST), M)) == 0
  assert int(rrm.segment_end(jnp.int32(0), jnp.array(SECOND), M)) == 0
  assert int(rrm.segment_end(jnp.int32(4), jnp.array(SECOND), M)) == 1  # 4 -> 2 -> 1


def test_unassisted_user_recomputes_up_to_s_steps_and_guesses_beyond():
  claims = jnp.arange(M, dtype=jnp.int32)
  x, ops = jnp.full((M,), X0, jnp.int32), jnp.broadcast_to(jnp.array(OPS, jnp.int32), (M, 4, 2))
  exact = rrm.unassisted_evaluation(EXACT, None, x, ops, claims, s=4)
  np.testing.assert_array_equal(exact, (claims == 0).astype(np.float32))
  np.testing.assert_array_equal(rrm.unassisted_evaluation(EXACT, None, x, ops, claims, s=3), np.full(M, 0.5))
  # A checker that inverts every verdict: it computes no step right, and at T = 1 it rejects the truth only.
  inverted = cc.parse_checker('noisy:1.0', M)
  params = cc.init_params(inverted, jax.random.key(0))
  one_step = rrm.unassisted_evaluation(inverted, params, x, ops[:, :1], claims, s=4)
  np.testing.assert_array_equal(one_step, (claims != (2 * X0 + 1) % M).astype(np.float32))


# --------------------------------------------------------------------------------------------------------
# Error propagation, predicted by hand.


def _injected_reward(overrides):
  """The exact level-1 reward model, except on (start, ops, claim) in `overrides` (-> that probability)."""
  exact = rrm.exact_reward(M)

  def reward(x, ops, claim):
    value = exact(x, ops, claim)
    for (start, segment, bad_claim), probability in overrides.items():
      hit = (x == start) & (claim == bad_claim) & jnp.all(ops == jnp.array(segment, jnp.int32), axis=(-2, -1))
      value = jnp.where(hit, probability, value)
    return value

  return reward


def _level2_evaluation(reward, assistant, combine):
  claims = jnp.arange(M, dtype=jnp.int32)
  x, ops = jnp.full((M,), X0, jnp.int32), jnp.broadcast_to(jnp.array(OPS, jnp.int32), (M, 4, 2))
  return np.asarray(rrm.assisted_evaluation(x, ops, claims, assistant=assistant, reward=reward, combine=combine))


def _only(values: dict) -> np.ndarray:
  out = np.zeros(M, np.float32)
  for y, value in values.items():
    out[y] = value
  return out


def test_an_error_of_the_level1_reward_model_propagates_to_level2_as_predicted():
  honest, liar = rrm.exact_assistant(M), lambda x, ops: jnp.full(x.shape, 4, jnp.int32)  # liar: x_2 = 4
  cases = [
    # (R_1 overrides, assistant, level-2 evaluation of claims 0..6 with 'and', with 'product')
    ({}, honest, _only({0: 1}), _only({0: 1})),
    # (a) R_1 accepts a wrong end of the second half, (0, SECOND) -> 6, at 0.8: level 2 accepts the wrong
    # answer 6 too (1 x 0.8 with the product), and still accepts the truth 0.
    ({(0, SECOND, 6): 0.8}, honest, _only({0: 1, 6: 1}), _only({0: 1, 6: 0.8})),
    # (b) R_1 doubts the true first half, (3, FIRST) -> 0, at 0.25: 'and' rejects every claim of this task,
    # the truth included; the product scales the truth's 1 to 0.25 and no wrong answer gains.
    ({(3, FIRST, 0): 0.25}, honest, _only({}), _only({0: 0.25})),
    # (c) a wrong assistant states x_2 = 4. With an exact R_1 level 2 rejects every claim...
    ({}, liar, _only({}), _only({})),
    # ...and if R_1 also wrongly accepts (3, FIRST) -> 4 at 0.9, level 2 accepts exactly the end reached
    # from 4, 4 -> 2 -> 1: the wrong answer 1, and rejects the truth.
    ({(3, FIRST, 4): 0.9}, liar, _only({1: 1}), _only({1: 0.9})),
    # (d) an error below 1/2 does not pass the 'and' threshold: (0, SECOND) -> 6 at 0.4.
    ({(0, SECOND, 6): 0.4}, honest, _only({0: 1}), _only({0: 1, 6: 0.4})),
  ]
  for overrides, assistant, expected_and, expected_product in cases:
    reward = _injected_reward(overrides)
    np.testing.assert_allclose(_level2_evaluation(reward, assistant, 'and'), expected_and, err_msg=overrides)
    np.testing.assert_allclose(
      _level2_evaluation(reward, assistant, 'product'), expected_product, rtol=1e-6, err_msg=overrides
    )


def _lookup_net_params(spec: rm.NetSpec, table: np.ndarray, scale: float = 20.0):
  """SegmentNet params whose logits depend on the start value only: logit[x, y] = scale * table[x, y]
  (one hidden unit per start value; ops are ignored)."""
  params = jax.tree.map(jnp.zeros_like, rm.init_params(spec, jax.random.key(0)))['params']
  params['start']['embedding'] = jnp.eye(spec.modulus, spec.width)
  params['Dense_0']['kernel'] = jnp.zeros((spec.width, spec.modulus)).at[: spec.modulus].set(scale * table)
  return {'params': params}


def test_a_level_l_network_error_reaches_the_level_l_plus_1_labels_as_predicted():
  """The experiment's label pipeline (`label_table` with networks, default 'and'): R_l believes y = x + 1
  (scores sigmoid(+-20)) and the assistant states x + 1, so level l+1 accepts exactly y = x + 2, whatever
  the ops. Injecting one error into R_l, accepting 5 from start 3, makes level l+1 also accept 5 from start 2
  (where the assistant states 3), and changes nothing else."""
  spec = rm.NetSpec(M, 2, M, depth=1)
  believes = np.where(np.arange(M)[None, :] == (np.arange(M)[:, None] + 1) % M, 1.0, -1.0)
  evaluator = rrm_training.Evaluator('assisted', EXACT, lower_rm=spec, lower_agent=spec)
  pool = jnp.array([OPS, [(1, 1)] * 4], jnp.int32)
  agent = _lookup_net_params(spec, believes)
  expected = (np.arange(M)[None, :] == (np.arange(M)[:, None] + 2) % M).astype(np.float32)
  for injected in (False, True):
    table = believes.copy()
    if injected:
      table[3, 5] = 1.0
      expected[2, 5] = 1.0
    labels = rrm_training.label_table(
      evaluator, {'judge': None, 'reward': _lookup_net_params(spec, table), 'assistant': agent}, pool
    )
    np.testing.assert_array_equal(labels, np.broadcast_to(expected, (2, M, M)))


# --------------------------------------------------------------------------------------------------------
# The experiment end to end.


@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
  """The smoke experiment (the library function `launch.run` calls for experiment='rrm'); returns (config,
  workdir); its runtime is measured outside the tests (README). launch.run itself is run as a command
  below: importing it here would define its flags a second time next to other entry points' tests."""
  workdir = str(tmp_path_factory.mktemp('rrm') / 'run')
  config = rrm_chain.get_config('smoke')
  rrm_experiment.run_rrm(config, workdir, log=lambda message: None)
  return config, workdir


def test_smoke_experiment_runs_end_to_end_with_one_record_per_seed_level_method(smoke_run):
  config, workdir = smoke_run
  for name in ('config.json', 'results.jsonl', *rrm_report.FILES):
    assert os.path.exists(os.path.join(workdir, name)), name
  records = runfiles.read_jsonl(os.path.join(workdir, 'results.jsonl'))
  cells = [(r['seed'], r['level'], r['method']) for r in records]
  assert cells == [(s, l, m) for s in config.seeds for l in range(config.levels + 1) for m in config.methods]
  for r in records:
    for key in (
      'cell',
      'protocol',
      'arm',
      'judge',
      'T',
      'games',
      'correct',
      'rm_correct',
      'rm_games',
      'proxy_reward',
      'hacking_gap',
      'label_correct',
      'rm_agent_correct',
    ):
      assert key in r, key
    assert r['protocol'] == 'rrm' and r['T'] == 2 ** r['level'] and r['games'] == config.num_eval
    assert r['hacking_gap'] == pytest.approx(r['proxy_reward'] - r['correct'] / r['games'])
    assert r['ci95'][0] <= r['accuracy'] <= r['ci95'][1]
    assert 0 <= r['fooled'] <= r['games'] - r['correct']
  by_cell = {(r['seed'], r['level'], r['method']): r for r in records}
  assert set(config.methods) == {'rrm', 'rrm-product', 'baseline'}
  for seed in config.seeds:
    # Level 0 is one game for every method: the user checks the single step.
    level0 = [
      {k: v for k, v in by_cell[seed, 0, method].items() if k not in ('cell', 'arm', 'method', 'wall_s')}
      for method in config.methods
    ]
    assert all(record == level0[0] for record in level0)
    # The exact user's labels are right wherever it can check; past s = 2 the baseline user guesses (1/2),
    # so its verdict (> 1/2) rejects every held-out claim, half of which are true.
    for level in range(config.levels + 1):
      baseline = by_cell[seed, level, 'baseline']
      if 2**level <= config.s:
        assert baseline['label_correct'] == baseline['rm_games']
      else:
        assert baseline['label_correct'] == baseline['rm_games'] // 2
        assert baseline['proxy_reward'] == pytest.approx(0.5, abs=0.05)
  rows = [
    [cell.strip() for cell in line.split('|')[1:-1]]
    for line in open(os.path.join(workdir, 'rrm_table.md')).read().splitlines()[2:]
    if line.startswith('|')
  ]
  assert [row[:4] for row in rows] == [
    [str(l), str(2**l), m, str(len(config.seeds))] for l in range(config.levels + 1) for m in config.methods
  ]


def test_smoke_experiment_resumes_to_identical_records(smoke_run):
  config, workdir = smoke_run
  path = os.path.join(workdir, 'results.jsonl')
  full = runfiles.read_jsonl(path)
  strip = lambda rows: [{k: v for k, v in r.items() if k != 'wall_s'} for r in rows]
  # Kill after the first seed's level-1 records, mid-way through writing the next line.
  keep = 4
  with open(path, 'w') as f:
    f.writelines(json.dumps(r) + '\n' for r in full[:keep])
    f.write('{"cell": "rrm/rrm|exa')
  with pytest.warns(UserWarning, match='incomplete final line'):
    resumed = rrm_experiment.run_rrm(config, workdir, log=lambda message: None)
  assert strip(resumed) == strip(full)
  assert strip(runfiles.read_jsonl(path)) == strip(full)
  # Finished: a rerun trains nothing and returns the same records.
  again = rrm_experiment.run_rrm(config, workdir, log=lambda message: None)
  assert strip(again) == strip(full)


def test_a_resume_may_split_params_over_model(smoke_run, tmp_path):
  """The last level of the last seed retrained with model_parallelism=2 (a 2 x 2 mesh instead of 4 x 1,
  restoring the level below from its saved models). The same tasks and labels: equal label counts, and the
  first steps' losses and rewards agree to float rounding. Later steps do not: rounding differences grow
  through Adam and the 1/temperature of the agent's target until a sampled claim flips, so the trained
  networks and their counts can differ (tests/test_rrm_sharding.py checks equal
  counts on a short training)."""
  config, workdir = smoke_run
  full = runfiles.read_jsonl(os.path.join(workdir, 'results.jsonl'))
  resumed_dir = tmp_path / 'run'
  shutil.copytree(workdir, resumed_dir)
  keep = len(full) - len(config.methods)
  runfiles.write_jsonl(resumed_dir / 'results.jsonl', full[:keep])
  changed = rrm_chain.get_config('smoke')
  changed.model_parallelism = 2
  messages = []
  resumed = rrm_experiment.run_rrm(changed, str(resumed_dir), log=messages.append)
  assert 'training on a (data x model) = 2x2 mesh' in messages[0]
  assert f'{keep} already done, {len(config.methods)} to run' in messages[1]
  assert resumed[:keep] == full[:keep]
  for new, old in zip(resumed[keep:], full[keep:]):
    assert (new['cell'], new['level'], new['seed']) == (old['cell'], config.levels, config.seeds[-1])
    for field in ('games', 'rm_games', 'label_correct', 'judge_step_error'):
      assert new[field] == old[field], field
    for field in ('rm_loss_start', 'agent_reward_start'):
      assert new[field] == pytest.approx(old[field], rel=1e-5), field


def test_the_command_line_dispatches_to_the_rrm_runner_and_resumes_a_finished_run(smoke_run):
  config, workdir = smoke_run
  before = runfiles.read_jsonl(os.path.join(workdir, 'results.jsonl'))
  result = subprocess.run(
    [sys.executable, '-m', 'launch.run', '--config=launch/configs/rrm_chain.py:smoke', f'--workdir={workdir}'],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'{len(before)} already done, 0 to run' in result.stderr
  assert 'hacking gap (pts)' in result.stdout and '| rrm-product |' in result.stdout.replace('  ', ' ')
  assert runfiles.read_jsonl(os.path.join(workdir, 'results.jsonl')) == before


def test_a_different_config_is_refused_on_resume(smoke_run):
  config, workdir = smoke_run
  changed = rrm_chain.get_config('smoke')
  changed.temperature = 0.5
  with pytest.raises(runfiles.WorkdirError, match='temperature'):
    rrm_experiment.run_rrm(changed, workdir, log=lambda message: None)


def test_launch_report_writes_the_rrm_table_and_figure(smoke_run, tmp_path):
  _, workdir = smoke_run
  out = tmp_path / 'report'
  result = subprocess.run(
    [sys.executable, '-m', 'launch.report', f'--workdirs={workdir}', f'--out={out}'],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  for name in rrm_report.FILES:
    assert (out / name).stat().st_size > 0, name
  assert 'hacking gap' in result.stdout and 'baseline' in result.stdout
  assert not (out / 'accuracy.md').exists()  # no records of other experiments
  csv_text = (out / 'rrm_table.csv').read_text().splitlines()
  assert len(csv_text) == 1 + 3 * 3  # header, then 3 methods x 3 levels


def test_training_reduces_reward_model_loss_and_the_agent_learns_on_a_tiny_level():
  """Level 1 of the smoke config (16 segments of 2 steps, 2 rounds of 300 + 200 steps; on the smoke run's
  training mesh, all 4 devices, it shares the smoke run's compiled program when run after it), labelled by
  the exact user who can check 2 steps."""
  config = rrm_chain.get_config('smoke')
  plan = rrm_experiment.plan_rrm(config)
  checker = cc.parse_checker(config.judge, config.modulus)
  pool = rrm.segment_pools(jax.random.key(0), levels=1, num_segments=config.num_segments, modulus=config.modulus)[1]
  labels = rrm_training.label_table(rrm_training.Evaluator('unassisted', checker, s=config.s), {'judge': None}, pool)
  rm_net, agent_net = plan.nets(1)
  mesh = sharding.training_mesh(runner.data_mesh(), plan.train.batch_size, plan.model_parallelism)
  assert mesh.devices.shape == (4, 1)
  _, _, history, metrics = rrm_training.run_level(
    jax.random.key(1),
    pool,
    labels,
    rm_net=rm_net,
    agent_net=agent_net,
    train=plan.train,
    num_tasks=plan.num_eval,
    mesh=mesh,
  )
  losses = np.asarray(history['rm_loss'])
  assert losses.shape == (config.rounds, config.rm_steps)
  assert losses[-1, -30:].mean() < 0.25 * losses[0, :30].mean(), (losses[0, :30].mean(), losses[-1, -30:].mean())
  assert int(metrics['rm_correct']) > 0.9 * plan.num_eval
  rewards = np.asarray(history['agent_reward'])
  assert rewards[-1, -30:].mean() > rewards[0, :30].mean() + 0.3
  assert int(metrics['correct']) > 0.5 * plan.num_eval  # a random answer is right 1/17 of the time


# --------------------------------------------------------------------------------------------------------
# The report's statistics on hand-made records.


def _record(method, level, seed, correct, proxy, rm_correct=90, games=100):
  return {
    'cell': f'rrm/{method}|exact|level={level}|seed={seed}',
    'protocol': 'rrm',
    'arm': f'rrm/{method}',
    'method': method,
    'level': level,
    'T': 2**level,
    'judge': 'exact',
    'seed': seed,
    'games': games,
    'correct': correct,
    'rm_games': games,
    'rm_correct': rm_correct,
    'rm_agent_correct': 80,
    'label_correct': 100,
    'rm_top1_correct': 85,
    'fooled': 5,
    'proxy_reward': proxy,
    'hacking_gap': proxy - correct / games,
  }


def test_summary_pools_counts_with_wilson_and_means_with_a_t_interval():
  records = [
    _record('rrm', 1, 0, 50, 0.6),
    _record('rrm', 1, 1, 60, 0.7),
    _record('rrm', 1, 2, 70, 0.8),
    _record('baseline', 1, 0, 10, 0.5),
  ]
  rows = rrm_report.summarize(records)
  assert [(r['level'], r['method']) for r in rows] == [(1, 'rrm'), (1, 'baseline')]
  rrm_row = rows[0]
  assert (rrm_row['agent_games'], rrm_row['agent_count'], rrm_row['agent_rate']) == (300, 180, 0.6)
  # Wilson for 180/300: centre (0.6 + 1.92^2/600)/(1 + 3.84/300), checked against the closed form.
  low, high = rrm_row['agent_ci95']
  assert low == pytest.approx(0.5436, abs=1e-4) and high == pytest.approx(0.6539, abs=1e-4)
  # Gaps 0.1, 0.1, 0.1: no spread, a zero-width interval. Proxy 0.6, 0.7, 0.8: sd 0.1, t_2 = 4.3027.
  assert rrm_row['hacking_gap'] == pytest.approx(0.1)
  assert rrm_row['hacking_gap_ci95'] == pytest.approx((0.1, 0.1))
  half = 4.302653 * 0.1 / 3**0.5
  assert rrm_row['proxy_reward_ci95'] == pytest.approx((0.7 - half, 0.7 + half), abs=1e-6)
  assert all(np.isnan(v) for v in rows[1]['proxy_reward_ci95'])  # one seed: no interval
  with pytest.raises(ValueError, match='two different records'):
    rrm_report.summarize(records + [_record('rrm', 1, 0, 51, 0.6)])
  assert len(rrm_report.summarize(records + [records[0]])) == 2  # an identical copy counts once
  markdown = rrm_report.rrm_table(records, fmt='markdown')
  assert '60.0 [54.4, 65.4]' in markdown and '+10.0 [+10.0, +10.0]' in markdown
  assert r'\toprule' in rrm_report.rrm_table(records, fmt='latex')


# --------------------------------------------------------------------------------------------------------
# Bad config values.


@pytest.mark.parametrize(
  'field, value',
  [
    ('levels', -1),
    ('levels', 11),
    ('seeds', ()),
    ('seeds', (0, 0)),
    ('seeds', (-1,)),
    ('methods', ('rrm', 'telepathy')),
    ('methods', ()),
    ('judge', 'oracle'),
    ('modulus', 16),
    ('s', 0),
    ('num_segments', 0),
    ('rm_width', 0),
    ('agent_depth', 0),
    ('rounds', 0),
    ('rm_steps', 0),
    ('batch_size', 0),
    ('temperature', 0.0),
    ('rm_learning_rate', -1e-3),
    ('num_eval', 1),
    # model_parallelism: not an integer >= 1, or one that does not divide the 4 devices.
    ('model_parallelism', 0),
    ('model_parallelism', -2),
    ('model_parallelism', True),
    ('model_parallelism', 3),
  ],
)
def test_bad_config_values_raise_a_config_error_naming_the_field_and_write_nothing(tmp_path, field, value):
  config = rrm_chain.get_config('smoke')
  config[field] = value
  workdir = tmp_path / 'w'
  with pytest.raises(ConfigError) as error:
    rrm_experiment.run_rrm(config, str(workdir))
  assert error.value.field == field and f'--config.{field}' in str(error.value)
  assert not workdir.exists()


def test_bad_judge_training_and_unknown_variant():
  config = rrm_chain.get_config('smoke')
  config.judge_training.steps = 0
  with pytest.raises(ConfigError, match='judge_training.steps'):
    rrm_experiment.plan_rrm(config)
  with pytest.raises(ValueError, match='unknown variant'):
    rrm_chain.get_config('huge')
  assert rrm_chain.get_config().levels >= 5 and len(rrm_chain.get_config().seeds) >= 3


def test_the_command_line_reports_a_bad_value_in_one_line(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      '-m',
      'launch.run',
      '--config=launch/configs/rrm_chain.py:smoke',
      f'--workdir={tmp_path / "w"}',
      '--config.levels=-1',
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert result.returncode == 2
  assert '--config.levels' in result.stderr and 'Traceback' not in result.stderr
  assert not (tmp_path / 'w').exists()
