"""Tests for debate.analysis.stats."""

import math

import pytest

from debate.analysis.stats import Z_95, wilson_interval


def wilson_closed_form(correct: int, games: int, z: float = Z_95) -> tuple[float, float]:
  """Textbook Wilson score interval, written independently of the implementation."""
  p = correct / games
  denom = 1 + z**2 / games
  center = p + z**2 / (2 * games)
  spread = z * math.sqrt(p * (1 - p) / games + z**2 / (4 * games**2))
  return (center - spread) / denom, (center + spread) / denom


def test_zero_of_ten():
  low, high = wilson_interval(0, 10)
  assert low == 0.0
  # With p = 0 the upper bound reduces to z^2 / (n + z^2).
  assert high == pytest.approx(Z_95**2 / (10 + Z_95**2), abs=1e-12)
  assert high == pytest.approx(0.277533, abs=1e-6)


def test_ten_of_ten():
  low, high = wilson_interval(10, 10)
  assert high == 1.0
  assert low == pytest.approx(10 / (10 + Z_95**2), abs=1e-12)
  assert low == pytest.approx(0.722467, abs=1e-6)


def test_fifty_of_hundred_is_symmetric():
  low, high = wilson_interval(50, 100)
  assert (low, high) == pytest.approx(wilson_closed_form(50, 100), abs=1e-12)
  assert (low, high) == pytest.approx((0.403832, 0.596168), abs=1e-6)
  assert low + high == pytest.approx(1.0, abs=1e-12)


def test_literature_value():
  # 81 successes in 263 trials: Wilson 95% interval (0.2553, 0.3662).
  low, high = wilson_interval(81, 263)
  assert low == pytest.approx(0.2553, abs=5e-5)
  assert high == pytest.approx(0.3662, abs=5e-5)


@pytest.mark.parametrize('correct,games', [(1, 3), (7, 20), (1900, 2000), (1999, 2000), (1, 2000)])
def test_matches_closed_form_and_contains_estimate(correct, games):
  low, high = wilson_interval(correct, games)
  assert (low, high) == pytest.approx(wilson_closed_form(correct, games), abs=1e-12)
  assert 0.0 <= low <= correct / games <= high <= 1.0


def test_larger_z_gives_wider_interval():
  low95, high95 = wilson_interval(30, 100)
  low99, high99 = wilson_interval(30, 100, z=2.5758293035489)
  assert low99 < low95 and high99 > high95


def test_no_games():
  assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize('correct,games', [(-1, 10), (0, -1), (-1, -1), (11, 10), (1, 0)])
def test_bad_counts_raise(correct, games):
  with pytest.raises(ValueError):
    wilson_interval(correct, games)


def test_bad_z_raises():
  with pytest.raises(ValueError):
    wilson_interval(1, 2, z=0.0)
