"""`launch.bench --task=images`: the rows it measures and its flag errors."""

import os
import subprocess
import sys

from debate import image_bench

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
  assert '| 2 | 4 |' in image_bench.render_markdown(rows)


def test_bad_image_bench_flags_exit_2_naming_the_flag():
  result = subprocess.run(
    [sys.executable, '-m', 'launch.bench', '--task=images', '--simulations=0'], cwd=ROOT, capture_output=True, text=True
  )
  assert result.returncode == 2 and '--simulations' in result.stderr and 'Traceback' not in result.stderr
