"""Multi-process runs: 2 local CPU processes (2 simulated devices each) joined by a localhost coordinator give
the records and losses of a single process; the flags that join a job are checked."""

import json
import os
import signal
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import xla_env
from test_train_judge import (
  TINY_FLAGS,
  _flags,
  _logged_steps,
  _wait_for,
  data_dir,  # noqa: F401  (a pytest fixture)
  datasets,  # noqa: F401
  tiny_config,
)

from debate.distributed import multihost
from debate.experiments import chain as experiment
from debate.experiments import grid, runfiles
from debate.experiments import images as image_experiment
from judges import train
from launch import cli
from launch.configs import chain_selfplay as chain_selfplay_config
from launch.configs import irving_mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMING = ('wall_s', 'games_per_s', 'examples_per_s', 'elapsed_s')


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _start_processes(module: str, args: list[str], log_prefix, processes: int = 2) -> list[subprocess.Popen]:
  """`python -m module args` as `processes` processes of one JAX job, 2 CPU devices each."""
  env = xla_env(2)
  address = f'localhost:{_free_port()}'
  return [
    subprocess.Popen(
      [
        sys.executable,
        '-m',
        module,
        *args,
        f'--coordinator_address={address}',
        f'--num_processes={processes}',
        f'--process_id={i}',
      ],
      cwd=ROOT,
      env=env,
      stdout=open(f'{log_prefix}.{i}.log', 'w'),
      stderr=subprocess.STDOUT,
    )
    for i in range(processes)
  ]


def _wait_all(procs, log_prefix, timeout=240) -> None:
  try:
    statuses = [proc.wait(timeout=timeout) for proc in procs]
  finally:
    for proc in procs:
      proc.kill()
  logs = [open(f'{log_prefix}.{i}.log').read() for i in range(len(procs))]
  assert statuses == [0] * len(procs), '\n'.join(log[-3000:] for log in logs)


def _without_timing(rows):
  return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def _assert_same_rows(two, one):
  """Rows equal bar timing: every discrete field exactly; float fields (a learned judge's scores in
  transcripts) to 1e-5, since a judge trained over 2 processes sums its gradient in another order."""
  assert len(two) == len(one)
  for ours, theirs in zip(_without_timing(two), _without_timing(one)):
    assert ours.keys() == theirs.keys()
    for key in ours:
      if isinstance(ours[key], float):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)
      else:
        assert ours[key] == theirs[key], key


def test_chain_grid_with_self_play_on_two_processes_gives_the_single_process_run(tmp_path):
  # The learned judge, a self-play ladder (its games under shard_map) and the grid's games, each on a mesh of
  # 2 devices in each of 2 processes: every process trains on its share of every batch and plays its share
  # of every batch of games.
  overrides = {
    'T': (3, 4),
    'judges': ('learned:16',),
    'protocols': ('debate/random', 'debate/az:20'),
    'num_games': 40,
    'batch_size': 16,
  }  # 3 batches of 16 games, the last one padded
  flags = [
    '--config=launch/configs/chain_selfplay.py:smoke',
    '--config.judge_training.steps=50',
    '--config.selfplay_training.log_every=10',
    *(f'--config.{k}={v}' for k, v in overrides.items()),
  ]
  workdir = tmp_path / 'two'
  procs = _start_processes('launch.run', [*flags, f'--workdir={workdir}'], tmp_path / 'log')
  config = chain_selfplay_config.get_config('smoke')  # Meanwhile, the same grid in this process (4 devices).
  config.update(overrides)
  config.judge_training.steps = 50
  config.selfplay_training.log_every = 10
  records = experiment.run_experiment(config, str(tmp_path / 'one'), log=lambda _: None)
  _wait_all(procs, tmp_path / 'log')
  assert len(records) == 4
  # The same verdicts; a judge's scores and the ladder's losses equal to float rounding (the gradients'
  # all-reduce sums in another order across processes).
  assert _without_timing(runfiles.read_jsonl(workdir / grid.RESULTS)) == _without_timing(records)
  _assert_same_rows(
    runfiles.read_jsonl(workdir / grid.TRANSCRIPTS),
    runfiles.read_jsonl(tmp_path / 'one' / grid.TRANSCRIPTS),
  )
  ladder = 'agents/selfplay_learned_16_m7_seed0/metrics.json'
  two = json.loads((workdir / ladder).read_text())['history']
  one = json.loads((tmp_path / 'one' / ladder).read_text())['history']
  assert [h['step'] for h in two] == [h['step'] for h in one] == [10, 20]
  for ours, theirs in zip(two, one):
    assert ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(
      [ours[m] for m in ('loss', 'policy_loss', 'value_loss')],
      [theirs[m] for m in ('loss', 'policy_loss', 'value_loss')],
      rtol=1e-4,
    )
  assert (workdir / 'table.md').read_text() != '' and (workdir / 'accuracy_vs_T.png').exists()
  for i in (0, 1):
    log = open(tmp_path / f'log.{i}.log').read()
    assert 'judge learned:16: step 50/50' in log and 'on 4 device(s)' in log
    assert 'training on a data=4 x model=1 mesh of 2 process(es)' in log and 'step 20/20' in log
  assert 'process 1 of 2; 2 local and 4 global devices' in log


def test_train_judge_on_two_processes_gives_the_single_process_losses(tmp_path, data_dir, datasets):
  # Parameters split over 'model' = 2 devices of one process; the batch over all 4 devices of both.
  flags = [*TINY_FLAGS, '--config.log_every=5', '--config.model_parallelism=2', f'--data_dir={data_dir}']
  workdir = tmp_path / 'two'
  procs = _start_processes('launch.train_judge', [*flags, f'--workdir={workdir}'], tmp_path / 'log')
  config = tiny_config(steps=30, log_every=5, eval_batch_size=50)  # Meanwhile, 1 process, 4 devices.
  state, metrics = train.train_judge(config, str(tmp_path / 'one'), *datasets, log=lambda _: None)
  _wait_all(procs, tmp_path / 'log')
  two = runfiles.read_jsonl(workdir / train.METRICS)
  one = runfiles.read_jsonl(tmp_path / 'one' / train.METRICS)
  assert [r['step'] for r in two] == [r['step'] for r in one] == [5, 10, 15, 20, 25, 30, 30]  # Written once.
  np.testing.assert_allclose([r['loss'] for r in two[:-1]], [r['loss'] for r in one[:-1]], rtol=1e-5)
  assert two[-1]['test'] == one[-1]['test'] == metrics['test']
  assert sorted(os.listdir(workdir / train.CHECKPOINTS)) == ['10', '20', '30']
  params, _ = train.restore_params(str(workdir))  # Saved by 2 processes, restored by 1.
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(params)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
  for i in (0, 1):
    evaluation = json.loads(open(tmp_path / f'log.{i}.log').read().strip().splitlines()[-1])
    assert evaluation['correct'] == metrics['test']['correct']  # Every process prints the whole split's.


def test_image_selfplay_on_two_processes_loads_each_shard_and_gives_the_single_process_run(
  tmp_path, data_dir, datasets
):
  judge = tmp_path / 'judge'  # A tiny judge (launch.train_judge's library function), then launch.run.
  train.train_judge(
    tiny_config(steps=10, checkpoint_every=10, log_every=10), str(judge), datasets[0], log=lambda _: None
  )
  overrides = {
    'k': 3,
    'num_classes': 3,
    'game.num_images': 4,
    'game_batch_size': 16,
    'game.protocols': ('debate/az:4/liar=random', 'debate/random/liar=az:4'),
    'selfplay_training.batch_size': 8,
    'selfplay_training.num_simulations': 2,
    'selfplay_training.considered_actions': 2,
    'selfplay_training.width': 2,
    'selfplay_training.log_every': 2,
  }
  flags = [
    '--config=launch/configs/irving_mnist.py:selfplay_k6_cpu',
    f'--data_dir={data_dir}',
    f'--judge_workdir={judge}',
    *(f'--config.{k}={v}' for k, v in overrides.items()),
  ]
  procs = _start_processes('launch.run', [*flags, f'--workdir={tmp_path / "two"}'], tmp_path / 'log')
  config = irving_mnist.get_config('selfplay_k6_cpu')  # Meanwhile, the same run in this process (4 devices).
  for field, value in overrides.items():
    parent, _, name = field.rpartition('.')
    (config[parent] if parent else config)[name] = value
  records = image_experiment.run_image_experiment(
    config, str(tmp_path / 'one'), data_dir=str(data_dir), judge_workdir=str(judge), log=lambda _: None
  )
  _wait_all(procs, tmp_path / 'log')
  for i, shard in enumerate(('0..127 of 256', '128..255 of 256')):  # Each process loaded only its half.
    assert f'self-play training images: {shard} in this process' in open(tmp_path / f'log.{i}.log').read()
  name = 'image_selfplay_mlp_k3_step10_seed0'
  two = json.loads((tmp_path / 'two' / 'agents' / name / 'metrics.json').read_text())['history']
  one = json.loads((tmp_path / 'one' / 'agents' / name / 'metrics.json').read_text())['history']
  assert [h['step'] for h in two] == [h['step'] for h in one] == [2, 4]
  for ours, theirs in zip(two, one):  # The same games; the gradient's all-reduce rounds differently.
    assert ours['liar_win_rate'] == theirs['liar_win_rate']
    np.testing.assert_allclose(
      [ours[m] for m in ('loss', 'policy_loss', 'value_loss')],
      [theirs[m] for m in ('loss', 'policy_loss', 'value_loss')],
      rtol=1e-4,
    )
  _assert_same_rows(runfiles.read_jsonl(tmp_path / 'two' / grid.RESULTS), records)


def test_sigterm_to_one_process_stops_both_at_the_same_step_and_the_job_resumes(tmp_path, data_dir):
  # No scheduled checkpoint before step 1000: any checkpoint is the one SIGTERM asked for.
  flags = [
    *_flags(steps=100_000, checkpoint_every=1000, log_every=1),
    f'--data_dir={data_dir}',
    f'--workdir={tmp_path / "run"}',
  ]
  procs = _start_processes('launch.train_judge', flags, tmp_path / 'log')
  try:
    _wait_for(lambda: len(_logged_steps(tmp_path / 'run')) >= 5, procs[0])
    procs[1].send_signal(signal.SIGTERM)  # As a scheduler evicting one host would.
    statuses = [proc.wait(timeout=120) for proc in procs]
  finally:
    for proc in procs:
      proc.kill()
  logs = [open(tmp_path / f'log.{i}.log').read() for i in (0, 1)]
  assert statuses == [cli.EXIT_PREEMPTED] * 2, '\n'.join(log[-3000:] for log in logs)
  (step,) = [int(name) for name in os.listdir(tmp_path / 'run' / train.CHECKPOINTS)]
  for log in logs:  # Both processes stopped after the same step and saved it together.
    assert f'preempted (SIGTERM) at step {step}: saved a checkpoint' in log and 'Traceback' not in log
  assert _logged_steps(tmp_path / 'run')[-1] == step
  # The same command, with the job's end moved near: it resumes from that checkpoint on both processes.
  flags = [f for f in flags if not f.startswith('--config.steps=')] + [f'--config.steps={step + 3}']
  procs = _start_processes('launch.train_judge', flags, tmp_path / 'resumed')
  _wait_all(procs, tmp_path / 'resumed')
  for i in (0, 1):
    assert f'resumed from the checkpoint at step {step}' in open(tmp_path / f'resumed.{i}.log').read()
  assert _logged_steps(tmp_path / 'run')[-3:] == [step + 1, step + 2, step + 3]


def test_single_process_helpers_are_identities():
  value = {'cells': ['a|b', 'c'], 'n': 3}
  assert multihost.broadcast_json(value) == value
  assert multihost.is_writer()
  x = jax.device_put(
    np.arange(8),
    jax.sharding.NamedSharding(
      jax.sharding.Mesh(np.array(jax.devices()), ('data',)), jax.sharding.PartitionSpec('data')
    ),
  )
  host = multihost.to_host({'x': x, 'none': None})
  assert isinstance(host['x'], np.ndarray) and host['x'].tolist() == list(range(8)) and host['none'] is None


@pytest.mark.parametrize(
  'mode, address, processes, index, expected',
  [
    ('off', None, None, None, None),
    ('auto', None, None, None, {}),
    ('auto', None, 4, None, {'num_processes': 4}),
    ('off', 'h:1', 2, 1, {'coordinator_address': 'h:1', 'num_processes': 2, 'process_id': 1}),
  ],
)
def test_distributed_settings(mode, address, processes, index, expected):
  assert cli.distributed_settings(mode, address, processes, index) == expected


@pytest.mark.parametrize(
  'mode, address, processes, index, message',
  [
    ('off', 'h:1', 2, None, 'missing --process_id'),
    ('off', None, 2, 0, 'missing --coordinator_address'),
    ('off', 'h', 2, 0, 'expected HOST:PORT'),
    ('off', 'h:1', 0, 0, '--num_processes must be >= 1'),
    ('off', 'h:1', 2, 2, r'--process_id must be in \[0, --num_processes\)'),
  ],
)
def test_bad_distributed_flags_are_refused(mode, address, processes, index, message):
  with pytest.raises(ValueError, match=message):
    cli.distributed_settings(mode, address, processes, index)


def test_bad_distributed_flags_exit_with_status_2_before_anything_runs(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      '-m',
      'launch.run',
      '--config=launch/configs/chain.py:smoke',
      f'--workdir={tmp_path / "w"}',
      '--num_processes=2',
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert result.returncode == 2 and 'missing --coordinator_address, --process_id' in result.stderr
  assert not (tmp_path / 'w').exists()
