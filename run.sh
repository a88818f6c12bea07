#!/usr/bin/env bash
# Quick start, command 1: install (first time) and run the whole study on the synthetic default.
# Extra arguments go to snakemake, e.g. `bash run.sh --configfile config/presets/paper.yaml`.
# A full run of the default targets ends with the HTML report (results/report.html), then audits
# it for identifiers (rule audit_report); a dry run, named targets or a non-run mode (--lint,
# --report, ...) do neither (tools/runargs.py).
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
# `--configfile site.yaml results/x.csv` would read the target as a config file: say how to call it.
.venv/bin/python tools/runargs.py --check-configfile "$@" || exit 2
if ! .venv/bin/python tools/runargs.py "$@"; then
    exec .venv/bin/snakemake --cores "${CORES:-all}" "$@"
fi
.venv/bin/snakemake --cores "${CORES:-all}" --report results/report.html --report-after-run "$@"
# The report is written after the run, so the PHI gate reads it now (same config arguments).
exec .venv/bin/snakemake --cores "${CORES:-all}" "$@" -- results/audit/report_audit.csv
