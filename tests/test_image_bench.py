"""`launch.bench --task=images`: the rows it measures and its flag errors."""

import os
import subprocess
import sys

import jax
import numpy as np

from debate.rollouts import images as image_rollout
from debate.rollouts import runner
from debate.rollouts import throughput as image_bench
from judges import image_judges

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_judge_calls_per_game_count_the_root_rollout_every_simulation_and_the_verdict():
  assert image_bench.judge_evaluations_per_game(k=6, budget=100) == 6 * 101 + 1


def test_measure_images_reports_throughput_against_the_forward_pass():
  images = image_bench.synthetic_digits(12, size=8, nonzero=10)
  rows = image_bench.measure_images(
    budgets=[2], batch_sizes=[4], k=2, judge='mlp', repeats=1, images=images, log=lambda _: None
  )
  (row,) = rows
  assert row['budget'] == 2 and row['batch'] == 4 and row['games_per_s'] > 0
  assert row['judge_evals_per_s'] > 0 and row['forward_evals_per_s'] > 0 and row['efficiency'] > 0
  assert row['host_peak_rss_gb'] > 0
  body = image_bench.render_images_markdown(rows).splitlines()[2]
  assert [cell.strip() for cell in body.strip('|').split('|')][:2] == ['2', '4']


def test_bad_image_bench_flags_exit_2_naming_the_flag():
  result = subprocess.run(
    [sys.executable, '-m', 'launch.bench', '--task=images', '--simulations=0'], cwd=ROOT, capture_output=True, text=True
  )
  assert result.returncode == 2 and '--simulations' in result.stderr and 'Traceback' not in result.stderr


def test_one_compilation_of_image_games_serves_every_judge_of_an_architecture_and_every_seed():
  rng = np.random.default_rng(0)
  images = np.where(rng.random((3, 4, 4)) < 0.5, rng.random((3, 4, 4)), 0).astype(np.float32)
  images[:, 0, 0] = 0.5  # At least one nonzero pixel each.
  labels = np.array([0, 1, 2], np.int32)
  judge = image_judges.ImageJudge('mlp', num_classes=3)
  ladder = [image_judges.init_judge(image_judges.make_judge('mlp', 3), jax.random.key(i), (4, 4)) for i in range(2)]
  arm = image_rollout.parse_image_arm('debate/random')
  mesh = runner.data_mesh(jax.devices()[:1])
  run = lambda params, seed: image_rollout.run_games(
    arm,
    judge,
    params,
    images,
    labels,
    np.arange(3),
    k=2,
    num_actions=16,
    num_classes=3,
    first='liar',
    seed=seed,
    repeats=2,
    batch_size=12,
    mesh=mesh,
  )
  run(ladder[0], 0)
  before = runner.compilations()
  results = {(j, seed): run(params, seed) for j, params in enumerate(ladder) for seed in (0, 1)}
  assert runner.compilations() == before
  compiled = runner.compiled_games(image_rollout.ImagePlayer(arm.structure, judge, 2, 16, 3), mesh, 5, 5)
  assert compiled._cache_size() == 1
  games = np.arange(12)  # (image, lie, repeat) of game g: (g // 4, (g // 2) % 2, g % 2).
  inputs = (images[games // 4], labels[games // 4], (games // 4).astype(np.int32), (games // 2) % 2, games % 2)
  inputs = [np.asarray(x, np.float32 if x.ndim == 3 else np.int32) for x in inputs]
  for (j, seed), (outcome, _) in results.items():  # The outcomes of the old per-(judge, seed) compilations.
    closed = jax.jit(
      lambda *x, j=j, seed=seed: compiled(*x, jax.random.key(seed), ladder[j], True, False, (None, None))
    )
    old, _ = jax.device_get(closed(*inputs))
    np.testing.assert_array_equal(old['correct'].reshape(3, 2, 2), outcome['correct'])
  assert not np.array_equal(results[0, 0][1]['revealed'], results[0, 1][1]['revealed'])
  np.testing.assert_array_equal(
    results[1, 0][1]['claim'], results[0, 0][1]['claim']
  )  # Claims: the seed's, not the judge's.
