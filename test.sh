#!/usr/bin/env bash
# Quick start, command 2: install (first time) and run the test suite, end-to-end tests included.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
bash tests/setup_system.sh
exec .venv/bin/python -m pytest "$@"
