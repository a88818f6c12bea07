#!/usr/bin/env bash
# Run every benchmarks/bench_*.py (each writes results/<name>.json + .md), then write each
# finished one's section into benchmarks/RESULTS.md (benchmarks/machine.py --update: it replaces
# the block with the same heading; notes of earlier runs are kept).
#
#   bash benchmarks/run_all.sh                 # all benchmarks
#   bash benchmarks/run_all.sh dag bootstrap   # only these (by name)
#   BENCH_ARGS="--repeats 3" bash benchmarks/run_all.sh   # extra arguments for every benchmark
#
# A benchmark that fails is reported (and named in RESULTS.md); the others still run; the exit
# status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || { echo "run_all.sh: $PY not found: run 'bash setup.sh' first" >&2; exit 2; }

if [ $# -gt 0 ]; then
  benches=()
  for name in "$@"; do
    f="benchmarks/bench_${name}.py"
    [ -f "$f" ] || { echo "run_all.sh: no $f" >&2; exit 2; }
    benches+=("$f")
  done
else
  mapfile -t benches < <(ls benchmarks/bench_*.py | sort)
fi

mkdir -p benchmarks/results
failed=()
finished=()
for bench in "${benches[@]}"; do
  name="$(basename "$bench" .py)"; name="${name#bench_}"
  echo "=== $name ($(date -u +%H:%M:%S)) ==="
  start=$SECONDS
  # shellcheck disable=SC2086  # BENCH_ARGS is meant to split into words
  if nice -n 10 "$PY" "$bench" ${BENCH_ARGS:-}; then
    echo "=== $name done in $((SECONDS - start)) s"
    finished+=("$name")
  else
    echo "=== $name FAILED (exit $?) after $((SECONDS - start)) s" >&2
    failed+=("$name")
  fi
done

if [ ${#finished[@]} -gt 0 ]; then
  "$PY" benchmarks/machine.py --update "${finished[@]}" --failed "${failed[@]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
