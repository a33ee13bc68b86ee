"""Scaling fits: double ReLU recovery, model selection, logistic accuracy, nested oversight."""

import math

import numpy as np
import pytest

from debate.analysis import scaling


def _planted_double_relu(rng, n=200, noise=25.0):
  x = rng.uniform(-400.0, 1400.0, size=n)
  y = scaling.double_relu(x, floor_x=200.0, ceiling_x=800.0, slope=0.8, intercept=100.0)
  return x, y + rng.normal(0.0, noise, size=n)


def test_double_relu_shape():
  x = np.array([-1000.0, 200.0, 500.0, 800.0, 5000.0])
  y = scaling.double_relu(x, floor_x=200.0, ceiling_x=800.0, slope=0.5, intercept=10.0)
  np.testing.assert_allclose(y, [110.0, 110.0, 260.0, 410.0, 410.0])
  no_caps = scaling.double_relu(x, floor_x=-np.inf, ceiling_x=np.inf, slope=2.0, intercept=0.0)
  np.testing.assert_allclose(no_caps, 2.0 * x)
  with pytest.raises(ValueError, match='floor_x'):
    scaling.double_relu(x, floor_x=5.0, ceiling_x=1.0, slope=1.0, intercept=0.0)


def test_fit_double_relu_recovers_planted_breakpoints():
  x, y = _planted_double_relu(np.random.default_rng(1))
  fit = scaling.fit_double_relu(x, y)
  assert fit.floor_x == pytest.approx(200.0, abs=40.0)
  assert fit.ceiling_x == pytest.approx(800.0, abs=40.0)
  assert fit.slope == pytest.approx(0.8, abs=0.06)
  assert fit.n == 200 and fit.num_params == 5
  # The fitted curve is as good as the truth on the data (least squares).
  truth_sse = np.sum((y - scaling.double_relu(x, floor_x=200.0, ceiling_x=800.0, slope=0.8, intercept=100.0)) ** 2)
  assert fit.sse <= truth_sse
  np.testing.assert_allclose(fit.sse, np.sum((y - fit.predict(x)) ** 2))


def test_fit_double_relu_exact_on_noiseless_data():
  x = np.arange(12) * 100.0
  y = scaling.double_relu(x, floor_x=250.0, ceiling_x=720.0, slope=1.5, intercept=-30.0)
  fit = scaling.fit_double_relu(x, y)
  np.testing.assert_allclose(fit.predict(x), y, atol=0.05)
  assert fit.floor_x == pytest.approx(250.0, abs=1.0)
  assert fit.ceiling_x == pytest.approx(720.0, abs=1.0)


def test_fit_double_relu_reports_missing_floor_and_ceiling():
  x = np.linspace(0.0, 1000.0, 30)
  y = scaling.double_relu(x, floor_x=-np.inf, ceiling_x=600.0, slope=1.0, intercept=0.0)
  fit = scaling.fit_double_relu(x, y)
  assert fit.floor_x == -np.inf and fit.ceiling_x == pytest.approx(600.0, abs=1.0)
  line = scaling.fit_double_relu(x, 3.0 * x + 7.0)
  assert line.floor_x == -np.inf and line.ceiling_x == np.inf
  assert line.slope == pytest.approx(3.0) and line.intercept == pytest.approx(7.0)


def test_fit_linear_matches_polyfit_and_uses_weights():
  rng = np.random.default_rng(2)
  x = rng.uniform(0.0, 10.0, 50)
  y = 2.0 * x - 1.0 + rng.normal(0.0, 0.5, 50)
  fit = scaling.fit_linear(x, y)
  np.testing.assert_allclose([fit.slope, fit.intercept], np.polyfit(x, y, 1))
  # Zero-weight outliers are ignored.
  y_out = y.copy()
  y_out[:5] += 100.0
  w = np.ones(50)
  w[:5] = 0.0
  weighted = scaling.fit_linear(x, y_out, weights=w)
  np.testing.assert_allclose([weighted.slope, weighted.intercept], np.polyfit(x[5:], y[5:], 1))


def test_select_model_prefers_the_true_shape():
  x, y = _planted_double_relu(np.random.default_rng(3))
  result = scaling.select_model(x, y)
  assert result['chosen'] == 'double_relu' and result['delta_bic'] > 10.0
  assert result['chosen_by_aic'] == 'double_relu'
  assert result['chosen_fit'] is result['double_relu']

  rng = np.random.default_rng(4)
  x = rng.uniform(-400.0, 1400.0, 200)
  y = 0.5 * x + 30.0 + rng.normal(0.0, 25.0, 200)
  result = scaling.select_model(x, y)
  assert result['chosen'] == 'linear' and result['delta_bic'] < 0.0
  assert result['chosen_fit'] is result['linear']


def test_fit_errors():
  with pytest.raises(ValueError, match='same length'):
    scaling.fit_linear(np.zeros(3), np.zeros(4))
  with pytest.raises(ValueError, match='distinct'):
    scaling.fit_double_relu(np.array([1.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
  with pytest.raises(ValueError, match='non-negative'):
    scaling.fit_linear(np.arange(3.0), np.arange(3.0), weights=-np.ones(3))


def test_logistic_accuracy_recovers_parameters():
  rng = np.random.default_rng(5)
  elo = np.linspace(-400.0, 400.0, 9)
  games = np.full(9, 4000)
  a, b = 0.3, 0.8
  correct = rng.binomial(games, 1.0 / (1.0 + np.exp(-(a + b * elo / 400.0))))
  a_hat, b_hat = scaling.fit_logistic_accuracy(elo, correct, games)
  assert a_hat == pytest.approx(a, abs=0.05) and b_hat == pytest.approx(b, abs=0.08)
  # Score equations hold at the MLE: observed == expected totals (and Elo-weighted totals).
  p = 1.0 / (1.0 + np.exp(-(a_hat + b_hat * elo / 400.0)))
  np.testing.assert_allclose(np.sum(games * p), np.sum(correct), rtol=1e-8)
  np.testing.assert_allclose(np.sum(games * p * elo), np.sum(correct * elo), atol=1e-3)

  curve = scaling.bootstrap_logistic_accuracy(elo, correct, games, num_samples=300, seed=0)
  true_curve = 1.0 / (1.0 + np.exp(-(a + b * curve.elo_grid / 400.0)))
  assert np.all(curve.ci_low <= curve.accuracy) and np.all(curve.accuracy <= curve.ci_high)
  assert np.mean((curve.ci_low <= true_curve) & (true_curve <= curve.ci_high)) > 0.9
  assert np.all(curve.ci_high - curve.ci_low < 0.05)


def test_logistic_accuracy_separated_data_raises():
  with pytest.raises(ValueError, match='separated'):
    scaling.fit_logistic_accuracy([0.0, 100.0, 200.0], [0, 5, 10], [10, 10, 10])
  with pytest.raises(ValueError, match='separated'):
    scaling.fit_logistic_accuracy([0.0, 100.0], [10, 10], [10, 10])


def test_guard_win_probability():
  assert scaling.guard_win_probability(500.0, 500.0) == pytest.approx(0.5)
  assert scaling.guard_win_probability(400.0, 0.0) == pytest.approx(10.0 / 11.0)
  np.testing.assert_allclose(scaling.guard_win_probability(np.array([0.0, 400.0]), 0.0), [0.5, 10.0 / 11.0])


def _identity(x):
  return x


@pytest.mark.parametrize('gap', [-300.0, 0.0, 400.0, 1000.0])
def test_nso_identity_maps_closed_form(gap):
  # Each step is a guard-vs-houdini game gap / n apart: p(n) = (1 / (1 + 10^(gap / (400 n))))^n.
  for n in (1, 2, 3, 7, 20):
    want = (1.0 / (1.0 + 10.0 ** (gap / (400.0 * n)))) ** n
    got = scaling.nso_success_probability(gap, n, _identity, _identity, start_elo=123.0)
    assert got == pytest.approx(want, rel=1e-12)
  # d/dn log p(n) = t sigmoid(t) - log(1 + e^t) < 0 for every t = gap ln10 / (400 n), so with
  # identity maps each extra step strictly lowers success: one step is always optimal.
  best_n, best_p, probs = scaling.optimal_nso(gap, _identity, _identity, max_steps=30)
  assert best_n == 1
  assert best_p == pytest.approx(1.0 / (1.0 + 10.0 ** (gap / 400.0)))
  assert np.all(np.diff(probs) < 0.0)


def test_nso_saturating_houdini_optimum_matches_brute_force():
  # Houdini's domain Elo grows twice as fast as the Guard's but saturates (ceiling at general
  # Elo 500); the Guard keeps improving. Total gap 2000.
  def guard(x):
    return x

  def houdini(x):
    return scaling.double_relu(x, floor_x=-np.inf, ceiling_x=500.0, slope=2.0, intercept=-800.0)

  gap, max_steps = 2000.0, 40

  def brute(n):
    p = 1.0
    for k in range(n):
      g = k * gap / n
      h = min((k + 1) * gap / n, 500.0) * 2.0 - 800.0
      p *= 1.0 / (1.0 + 10.0 ** ((h - g) / 400.0))
    return p

  brute_probs = np.array([brute(n) for n in range(1, max_steps + 1)])
  best_n, best_p, probs = scaling.optimal_nso(gap, guard, houdini, max_steps=max_steps)
  np.testing.assert_allclose(probs, brute_probs, rtol=1e-12)
  assert best_n == int(np.argmax(brute_probs)) + 1
  assert best_p == pytest.approx(brute_probs.max())
  # More steps help, up to a point.
  assert 1 < best_n < max_steps
  assert best_p > probs[0] + 0.1 and best_p > probs[-1]

  # The saturation is what makes nesting pay: without the ceiling, one step is best.
  def unsaturated(x):
    return 2.0 * x - 800.0

  assert scaling.optimal_nso(gap, guard, unsaturated, max_steps=max_steps)[0] == 1


def test_nso_accepts_scalar_callables_and_fits():
  fit = scaling.DoubleReluFit(
    floor_x=-np.inf, ceiling_x=500.0, slope=1.0, intercept=0.0, sse=0.0, aic=0.0, bic=0.0, n=0
  )
  vector = scaling.nso_success_probability(1000.0, 4, _identity, fit.predict)
  scalar = scaling.nso_success_probability(1000.0, 4, lambda v: math.fabs(v) * 1.0, lambda v: min(v, 500.0))
  assert vector == pytest.approx(scalar)
  with pytest.raises(ValueError, match='n_steps'):
    scaling.nso_success_probability(1000.0, 0, _identity, _identity)


def test_logistic_fit_converges_on_well_behaved_data_near_float_precision():
  # A case whose last Newton steps are below what the line search can resolve in float64.
  elo = np.array([-344.77198399, -154.85745346, -46.959108, 86.15878039, 252.49546416])
  correct = np.array([3509, 2816, 2283, 1522, 764])
  a, b = scaling.fit_logistic_accuracy(elo, correct, np.full(5, 4000))
  p = 1.0 / (1.0 + np.exp(-(a + b * elo / 400.0)))
  gradient = np.array([np.sum(correct - 4000 * p), np.sum((correct - 4000 * p) * elo / 400.0)])
  assert np.all(np.abs(gradient) < 1e-6)  # the score equations hold: it is the maximum


def test_logistic_accuracy_on_another_scale_recovers_parameters_and_matches_elo_scale():
  rng = np.random.default_rng(11)
  gap = np.linspace(-3.0, 6.0, 10)  # e.g. doublings of compute
  games = np.full(10, 3000)
  a, b = 1.5, -0.7
  correct = rng.binomial(games, 1.0 / (1.0 + np.exp(-(a + b * gap))))
  a_hat, b_hat = scaling.fit_logistic_accuracy(gap, correct, games, scale=1.0)
  assert a_hat == pytest.approx(a, abs=0.08) and b_hat == pytest.approx(b, abs=0.03)
  # The same data on the Elo scale (x * 400 / 400) gives the same parameters.
  same = scaling.fit_logistic_accuracy(gap * 400.0, correct, games)
  np.testing.assert_allclose(same, (a_hat, b_hat), rtol=1e-7)
  curve = scaling.bootstrap_logistic_accuracy(gap, correct, games, num_samples=200, scale=1.0)
  assert curve.scale == 1.0 and curve.b == pytest.approx(b_hat)
  lo, hi = np.quantile(curve.samples[:, 1], [0.025, 0.975])
  assert lo < b < hi
  with pytest.raises(ValueError, match='scale'):
    scaling.fit_logistic_accuracy(gap, correct, games, scale=0.0)


def test_logistic_deviance_hand_computed():
  # Two points: the logistic curve passes through both proportions, so the deviance is 0.
  a, b = scaling.fit_logistic_accuracy([0.0, 1.0], [30, 60], [100, 100], scale=1.0)
  assert scaling.logistic_deviance([0.0, 1.0], [30, 60], [100, 100], a, b, scale=1.0) == pytest.approx(0.0, abs=1e-8)
  # a = b = 0 predicts 1/2 everywhere: G^2 = 2 sum k ln(k / (n / 2)) over successes and failures.
  want = 2 * (30 * math.log(30 / 50) + 70 * math.log(70 / 50) + 60 * math.log(60 / 50) + 40 * math.log(40 / 50))
  assert scaling.logistic_deviance([0.0, 1.0], [30, 60], [100, 100], 0.0, 0.0) == pytest.approx(want)
  # All-correct points contribute only through their successes (0 ln 0 = 0).
  assert scaling.logistic_deviance([0.0], [10], [10], 0.0, 0.0) == pytest.approx(2 * 10 * math.log(2))


def test_optimal_nso_all_steps_at_once_match_one_count_at_a_time():
  def guard(x):
    return scaling.double_relu(x, floor_x=100.0, ceiling_x=900.0, slope=1.3, intercept=50.0)

  def houdini(x):
    return 0.6 * np.asarray(x) - 100.0

  best_n, best_p, probs = scaling.optimal_nso(1500.0, guard, houdini, max_steps=25, start_elo=40.0)
  one_by_one = [scaling.nso_success_probability(1500.0, n, guard, houdini, start_elo=40.0) for n in range(1, 26)]
  np.testing.assert_allclose(probs, one_by_one, rtol=1e-12)
  assert best_n == int(np.argmax(one_by_one)) + 1 and best_p == pytest.approx(max(one_by_one))


def test_logistic_seed_bootstrap_spans_per_seed_slopes_and_matches_games_for_identical_seeds():
  # Two seeds whose judges differ: accuracy falls by 1.0 logits per 400 Elo in one, 2.0 in the other
  # (expected counts, 2000 games per point). The pooled slope is in between; the game-level interval
  # misses both per-seed slopes, the seed-level one (seeds redrawn, then games) spans them.
  elo = np.linspace(-400.0, 400.0, 5)
  slopes = np.array([-1.0, -2.0])
  games = np.full((2, elo.size), 2000.0)
  correct = np.round(games / (1.0 + np.exp(-(0.3 + slopes[:, None] * elo / 400.0))))
  by_games = scaling.bootstrap_logistic_accuracy(elo, correct, games, num_samples=1000, seed=0)
  by_seeds = scaling.bootstrap_logistic_accuracy(elo, correct, games, num_samples=1000, seed=0, resample='seeds')
  assert (by_games.a, by_games.b) == (by_seeds.a, by_seeds.b)
  assert (by_games.resample, by_seeds.resample) == ('games', 'seeds')
  pooled = scaling.fit_logistic_accuracy(elo, correct.sum(axis=0), games.sum(axis=0))
  assert by_seeds.b == pytest.approx(pooled[1]) and -2.0 < by_seeds.b < -1.0
  games_ci = np.quantile(by_games.samples[:, 1], [0.025, 0.975])
  seeds_ci = np.quantile(by_seeds.samples[:, 1], [0.025, 0.975])
  assert games_ci[1] - games_ci[0] < 0.2 and not games_ci[0] <= -2.0
  assert seeds_ci[0] <= -2.0 and -1.0 <= seeds_ci[1]
  assert np.all(by_seeds.ci_high - by_seeds.ci_low >= by_games.ci_high - by_games.ci_low - 1e-3)

  # Identical seeds: nothing to resample between them, both bootstraps draw Binomial(pooled games, rate).
  same = np.broadcast_to(correct[:1], correct.shape)
  a = scaling.bootstrap_logistic_accuracy(elo, same, games, num_samples=2000, seed=1)
  b = scaling.bootstrap_logistic_accuracy(elo, same, games, num_samples=2000, seed=2, resample='seeds')
  np.testing.assert_allclose(a.samples.std(axis=0), b.samples.std(axis=0), rtol=0.1)

  with pytest.raises(ValueError, match='at least 2 seeds'):
    scaling.bootstrap_logistic_accuracy(elo, correct[0], games[0], resample='seeds')
  with pytest.raises(ValueError, match='same cells'):
    scaling.bootstrap_logistic_accuracy(elo, correct * [[1], [0]], games * [[1], [0]], resample='seeds')
  with pytest.raises(ValueError, match=r'\[K, n\]'):
    scaling.bootstrap_logistic_accuracy(elo, correct, games[0])
