#!/usr/bin/env bash
# Runs a job on every worker (host) of a Cloud TPU VM pod slice: one JAX process per host, joined by
# `jax.distributed.initialize()`, which finds the coordinator, process count and index itself on Cloud TPU
# (--distributed=auto).
#
#   export TPU_NAME=my-v4-32 ZONE=us-central2-b REPO_URL=https://github.com/OWNER/oversight-sim.git
#   launch/tpu_pod.sh install          # on every worker: clone (or update) the repository, install it
#   launch/tpu_pod.sh copy ~/mnist     # a local folder (here the MNIST IDX files) to REPO/data/ on all
#   launch/tpu_pod.sh run launch.train_judge --config=launch/configs/irving_mnist.py:k6 \
#       --data_dir=data/mnist --workdir=/mnt/shared/judge_k6
#   launch/tpu_pod.sh run launch.run --config=launch/configs/chain.py --workdir=/mnt/shared/chain
#
# `run MODULE FLAGS...` runs `python -m MODULE FLAGS... --distributed=auto` in the repository on every
# worker at once; worker output is streamed here and kept in ~/oversight-logs/<time>.log on each worker.
#
# Settings (environment variables):
#   TPU_NAME, ZONE   the TPU VM and its zone (required); PROJECT: the Google Cloud project (default: gcloud's)
#   REPO_URL         where workers clone the repository from (install; required)
#   BRANCH           the branch or commit to check out (install; default: main)
#   REPO             the checkout's folder in each worker's home (default: oversight-sim)
#   PYTHON           the Python >= 3.11 used for the virtual environment (install; default: python3)
#
# The workdir must be storage every worker sees (a Filestore NFS share or a gcsfuse-mounted bucket, mounted
# at the same path on every worker): every worker takes part in Orbax checkpointing, and only process 0
# writes config, metrics and records. Each worker reads only its shard of the data from --data_dir (a
# local copy per worker is fine). On preemption (SIGTERM) the trainer saves a checkpoint at the current
# step on all workers and exits with status 143; run the same `run` command again to resume.
set -euo pipefail

: "${TPU_NAME:?set TPU_NAME to the TPU VM name}"
: "${ZONE:?set ZONE to the TPU zone, e.g. us-central2-b}"
BRANCH="${BRANCH:-main}"
REPO="${REPO:-oversight-sim}"
PYTHON="${PYTHON:-python3}"

on_all_workers() {  # on_all_workers COMMAND: runs the shell COMMAND on every worker, in parallel.
  gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" ${PROJECT:+--project="$PROJECT"} \
    --worker=all --command="$1"
}

quote() {  # quote ARGS...: the arguments as one shell-quoted string.
  local quoted
  printf -v quoted '%q ' "$@"
  printf '%s' "${quoted% }"
}

case "${1:-}" in
  install)
    : "${REPO_URL:?set REPO_URL to the repository to clone}"
    on_all_workers "set -e
      cd ~
      if [ -d $(quote "$REPO")/.git ]; then git -C $(quote "$REPO") fetch --quiet origin; else git clone --quiet $(quote "$REPO_URL") $(quote "$REPO"); fi
      cd $(quote "$REPO")
      git checkout --quiet $(quote "$BRANCH")
      git pull --quiet --ff-only || true
      mkdir -p data
      [ -d .venv ] || $(quote "$PYTHON") -m venv .venv
      .venv/bin/pip install --quiet --upgrade pip
      .venv/bin/pip install --quiet -e . 'jax[tpu]'
      .venv/bin/python -c 'import jax; print(jax.process_index(), jax.local_device_count(), jax.devices()[0].device_kind)'"
    ;;
  copy)
    [ $# -eq 2 ] || { echo "usage: $0 copy DIR" >&2; exit 2; }
    gcloud compute tpus tpu-vm scp --recurse "$2" "$TPU_NAME:$REPO/data/" --zone="$ZONE" \
      ${PROJECT:+--project="$PROJECT"} --worker=all
    ;;
  run)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 run MODULE FLAGS..." >&2; exit 2; }
    stamp="$(date +%Y%m%d-%H%M%S)"
    on_all_workers "mkdir -p ~/oversight-logs && cd ~/$(quote "$REPO") &&
      .venv/bin/python -m $(quote "$@") --distributed=auto 2>&1 | tee ~/oversight-logs/$stamp.log; exit \${PIPESTATUS[0]}"
    ;;
  *)
    echo "usage: $0 install | copy DIR | run MODULE FLAGS...  (see the header)" >&2
    exit 2
    ;;
esac
