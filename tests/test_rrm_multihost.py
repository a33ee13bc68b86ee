"""The RRM runner as 2 local JAX processes (2 CPU devices each, a localhost coordinator; helpers of
tests/test_multihost.py): the records of one process, written once."""

import os

import pytest
from test_multihost import _start_processes, _wait_all, _without_timing

from debate.experiments import grid, runfiles
from debate.experiments import rrm as rrm_experiment
from launch.configs import rrm_chain

# Levels 0 and 1 (level 1 labelled with the level-0 models, gathered from both processes), a short training
# (float rounding has not yet flipped a sampled claim, so the counts agree exactly).
OVERRIDES = {
  'seeds': (0,),
  'levels': 1,
  'methods': ('rrm',),
  'num_segments': 8,
  'rm_width': 16,
  'agent_width': 16,
  'rounds': 2,
  'rm_steps': 20,
  'agent_steps': 10,
  'batch_size': 32,
  'num_eval': 64,
}


def test_rrm_on_two_processes_gives_the_single_process_records(tmp_path):
  # Params split over 'model' = 2 devices of each process, the batch over all 4 devices of both.
  flags = [
    '--config=launch/configs/rrm_chain.py:smoke',
    '--config.model_parallelism=2',
    *(f'--config.{k}={v}' for k, v in OVERRIDES.items()),
  ]
  workdir = tmp_path / 'two'
  procs = _start_processes('launch.run', [*flags, f'--workdir={workdir}'], tmp_path / 'log')
  config = rrm_chain.get_config('smoke')  # Meanwhile, the same run in this process (4 devices, 4 x 1).
  config.update(OVERRIDES)
  records = rrm_experiment.run_rrm(config, str(tmp_path / 'one'), log=lambda _: None)
  _wait_all(procs, tmp_path / 'log')
  two = _without_timing(runfiles.read_jsonl(workdir / grid.RESULTS))  # One line per cell.
  assert [r['cell'] for r in two] == [r['cell'] for r in records] and len(two) == 2
  for new, old in zip(two, _without_timing(records)):
    assert new.keys() == old.keys()
    for field, value in old.items():
      if isinstance(value, float):
        assert new[field] == pytest.approx(value, rel=1e-5, abs=1e-6), (new['cell'], field)
      else:
        assert new[field] == value, (new['cell'], field)
  assert sorted(os.listdir(workdir / rrm_experiment.MODELS)) == sorted(
    os.listdir(tmp_path / 'one' / rrm_experiment.MODELS)
  )
  assert (workdir / 'rrm_table.md').read_text() != ''
  assert 'training on a (data x model) = 2x2 mesh' in open(tmp_path / 'log.1.log').read()
