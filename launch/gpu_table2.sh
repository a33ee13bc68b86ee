#!/usr/bin/env bash
# Irving et al.'s Table 2 on one accelerator in a fixed time (issue 16, item 4): measures image-debate games/s
# at the paper's 10k simulations per move, plays as much of `irving_mnist.py:table2_k6` (or _k4) as fits in
# the time left, and prints the projection for the paper's full table (10,000 images x 9 lies x 3 seeds,
# both first players, precommit and not) at the measured rate.
#
#   launch/gpu_table2.sh ../shared/data/mnist DIR                # 480 s in all, the shipped k = 6 judge
#   SECONDS_TOTAL=300 JUDGE=irving_k4 VARIANT=table2_k4 launch/gpu_table2.sh ../shared/data/mnist DIR
#
# Writes DIR/bench (bench_images.json/.md: games/s, judge evaluations/s, efficiency against the plain
# forward pass), DIR/table2 (the run's records; every finished block of images is kept, so the same command,
# or `launch.run` with the same config, resumes it later on any machine) and DIR/projection.json.
#
# Settings (environment variables):
#   SECONDS_TOTAL  wall-clock budget for the bench and the games together (default 480)
#   SIMULATIONS    MCTS simulations per move in the bench (default 10000)
#   BATCHES        game batch sizes the bench tries (default 32,128; a 10k-simulation game's tree is
#                  about 0.07 GB); the fastest sets the games' batch
#   GAME_MEMORY_GB the games' search trees are held to this (default 40: fits an 80 GB accelerator)
#   JUDGE, VARIANT the shipped judge and the config variant (default irving_k6, table2_k6)
#   BLOCK_IMAGES   test images per saved block of the games (default 20: one block per cell and first player)
#   EXTRA_FLAGS    more flags for launch.run (e.g. to check the script on a CPU with a small budget)
set -euo pipefail

DATA_DIR="${1:?usage: launch/gpu_table2.sh DATA_DIR WORKDIR}"
WORKDIR="${2:?usage: launch/gpu_table2.sh DATA_DIR WORKDIR}"
SECONDS_TOTAL="${SECONDS_TOTAL:-480}"
SIMULATIONS="${SIMULATIONS:-10000}"
BATCHES="${BATCHES:-32,128}"
GAME_MEMORY_GB="${GAME_MEMORY_GB:-40}"
JUDGE="${JUDGE:-irving_k6}"
VARIANT="${VARIANT:-table2_k6}"
BLOCK_IMAGES="${BLOCK_IMAGES:-20}"
PYTHON="${PYTHON:-python}"
K="$("$PYTHON" -c "from launch.configs import irving_mnist; print(irving_mnist.get_config('$VARIANT').k)")"
start=$(date +%s)

"$PYTHON" -m launch.bench --task=images --simulations="$SIMULATIONS" --image_batch_sizes="$BATCHES" \
  --k="$K" --repeats=2 --devices=1 --out="$WORKDIR/bench"
best_batch="$("$PYTHON" -c "
import json
rows = json.load(open('$WORKDIR/bench/bench_images.json'))['rows']
print(max(rows, key=lambda row: row['games_per_s'])['batch'])")"

left=$((SECONDS_TOTAL - ($(date +%s) - start) - 15))
if ((left > 30)); then
  # Killed at the deadline (status 124): the finished blocks stay in DIR/table2/blocks for a later resume.
  timeout --signal=KILL "$left" "$PYTHON" -m launch.run --config="launch/configs/irving_mnist.py:$VARIANT" \
    --data_dir="$DATA_DIR" --judge_workdir="pretrained:$JUDGE" --workdir="$WORKDIR/table2" \
    --config.game_batch_size="$best_batch" --config.block_images="$BLOCK_IMAGES" \
    --config.game_memory_gb="$GAME_MEMORY_GB" ${EXTRA_FLAGS:-} || true
fi

"$PYTHON" - "$WORKDIR" "$K" <<'EOF'
"""The paper's full table at the bench's best games/s, and what the timed run finished."""
import glob, json, os, sys

from debate.rollouts import images as image_rollout
from launch.configs import irving_mnist

workdir, k = sys.argv[1], int(sys.argv[2])
rows = json.load(open(os.path.join(workdir, 'bench', 'bench_images.json')))['rows']
best = max(rows, key=lambda row: row['games_per_s'])
paper = irving_mnist.get_config('k6')  # The paper's configuration: its debate games, both first players.
games = sum(
  paper.game.num_images * len(paper.game.first) * paper.game.seeds_per_lie
  * image_rollout.lies_per_image(image_rollout.parse_image_arm(spec), paper.num_classes)
  for spec in paper.game.protocols if spec != 'direct'
)
results = os.path.join(workdir, 'table2', 'results.jsonl')
cells = [json.loads(line) for line in open(results)] if os.path.exists(results) else []
projection = {
  'k': k,
  'simulations': best['budget'],
  'batch': best['batch'],
  'games_per_s': best['games_per_s'],
  'judge_evals_per_s': best['judge_evals_per_s'],
  'efficiency': best['efficiency'],
  'full_table_games': games,
  'full_table_hours': games / best['games_per_s'] / 3600,
  'cells_finished': [
    {key: c[key] for key in ('cell', 'games', 'accuracy', 'ci95', 'games_per_s', 'wall_s')} for c in cells
  ],
  'blocks_saved': len(glob.glob(os.path.join(workdir, 'table2', 'blocks', '*', '*.npz'))),
}
json.dump(projection, open(os.path.join(workdir, 'projection.json'), 'w'), indent=1)
print(json.dumps(projection, indent=1))
EOF
