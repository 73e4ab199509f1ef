#!/usr/bin/env bash
# Installs slmswap with its development tools into .venv, then runs every check CI runs:
# lint (ruff), types (mypy --strict), and the test suite (pytest) on the real default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install dev
echo "== ruff"
.venv/bin/ruff check slmswap tests examples benchmarks
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
