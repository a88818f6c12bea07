#!/usr/bin/env bash
# Create .venv from the exact pins (idempotent). Used by run.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")"
want="$(sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [ -f .venv/.installed ] && [ "$(cat .venv/.installed)" = "$want" ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip==26.3
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "$want" > .venv/.installed
