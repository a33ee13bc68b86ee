"""Test-session setup, before JAX initialises: four simulated CPU devices, and XLA's CPU backend at
optimisation level 0. The suite's programs are tiny games and trainings whose run time is negligible next
to their compilation, which level 0 halves (measured: tests/test_protocols.py and test_learned_agents.py
242 s -> 143 s); every run a test compares (in this process or in the subprocesses it starts with
`xla_env`) compiles the same way. Experiments and benchmarks use XLA's default level."""

import os

import pytest

TEST_FLAGS = '--xla_backend_optimization_level=0'


def xla_flags(devices: int) -> str:
  """XLA_FLAGS of the suite with `devices` simulated CPU devices."""
  return f'{TEST_FLAGS} --xla_force_host_platform_device_count={devices}'


def xla_env(devices: int) -> dict:
  """os.environ for a subprocess of a test: the suite's XLA flags with `devices` devices."""
  return dict(os.environ, XLA_FLAGS=xla_flags(devices))


os.environ['XLA_FLAGS'] = xla_flags(4)

# A tiny Irving judge (an MLP on 3 pixels of 3 classes, 30 steps) for the subprocess tests of launch.train_judge
# and launch.run on tiny IDX files; each test file adds its checkpoint and evaluation settings.
TINY_IMAGE_JUDGE_FLAGS = [
  '--config=launch/configs/irving_mnist.py:smoke',
  '--config.judge=mlp',
  '--config.k=3',
  '--config.num_classes=3',
  '--config.batch_size=32',
  '--config.learning_rate=0.003',
  '--config.steps=30',
  '--config.log_every=10',
]


@pytest.fixture(scope='module')
def weak_judge():
  """A barely trained learned checker over Z_7: it gets many steps wrong, in learnable ways."""
  from judges import chain_checkers as cc  # Imported here, after XLA_FLAGS is set above.

  checker = cc.parse_checker('learned:16', 7)
  params, metrics = cc.build_judge(
    checker,
    seed=0,
    workdir=None,
    log=lambda _: None,
    train_config=cc.TrainConfig(steps=100, batch_size=128, log_every=100),
  )
  return checker, params, metrics
