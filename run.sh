#!/usr/bin/env bash
# Quick start, command 1: install (first time) and run the whole study on the synthetic default.
# Extra arguments go to snakemake, e.g. `bash run.sh --configfile config/presets/paper.yaml`.
# A full run of the default targets ends with the HTML report (results/report.html); a dry run,
# named targets or a non-run mode (--lint, --report, ...) do not (src/echocmr/runargs.py).
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
# `--configfile site.yaml results/x.csv` would read the target as a config file: say how to call it.
PYTHONPATH=src .venv/bin/python -m echocmr.runargs --check-configfile "$@" || exit 2
report=()
if PYTHONPATH=src .venv/bin/python -m echocmr.runargs "$@"; then
    report=(--report results/report.html --report-after-run)
fi
exec .venv/bin/snakemake --cores "${CORES:-all}" ${report[@]+"${report[@]}"} "$@"
