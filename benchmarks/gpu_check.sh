#!/usr/bin/env bash
# The one command for the first GPU node (under 8 minutes on an H100): environment, the data
# path's clips/s per loader worker (uint8 vs float), the paper net's training on synthetic clips
# (clips/s, data wait vs compute, GPU memory and utilisation; channels_last_3d vs NCDHW, bf16 vs
# fp32), one real `fit` epoch on CUDA, and the GPU-relevant tests. Writes
# benchmarks/results/gpu.{json,md}; details in benchmarks/gpu_check.py.
#
#   bash benchmarks/gpu_check.sh                 # on the GPU node (e.g. inside srun --gpus=1)
#   bash benchmarks/gpu_check.sh --steps 80      # more timed steps per variant
#
# Without a usable GPU it still runs the environment, data-path and test parts and says why the
# GPU part did not run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || { echo "gpu_check.sh: $PY not found: run 'bash setup.sh' first" >&2; exit 2; }
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
else
  echo "gpu_check.sh: no nvidia-smi on this node" >&2
fi
# 8 minutes in all: stop the Python part in time to leave its results on disk
exec timeout 470 "$PY" benchmarks/gpu_check.py "$@"
