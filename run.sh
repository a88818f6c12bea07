#!/usr/bin/env bash
# Quick start, command 1: install (first time) and run the whole study on the synthetic default.
# Extra arguments go to snakemake, e.g. `bash run.sh --configfile config/presets/paper.yaml`.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/snakemake --cores "${CORES:-all}" "$@"
