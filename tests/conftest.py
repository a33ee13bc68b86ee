"""Test-session setup: four simulated CPU devices, set before JAX initialises."""

import os

import pytest

_FLAG = '--xla_force_host_platform_device_count=4'
if _FLAG not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') + ' ' + _FLAG).strip()


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
