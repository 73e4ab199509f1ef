#!/usr/bin/env bash
# Installs slmswap with its development and documentation tools into .venv, then runs every check CI runs:
# lint (ruff), types (mypy --strict), the test suite (pytest) on the real default model, and the Sphinx
# documentation build (warnings are errors) with its doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install dev,docs,serve,constrained,curate,gateway
# The browser test of the HTML report needs Debian's chromium; skipped cleanly (the test says why) where apt-get
# is not there or not allowed.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing chromium (for the report's browser test)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
    >/dev/null 2>&1 || echo "chromium could not be installed: the browser test will be skipped"
fi
# The gateway's replica tests start a PostgreSQL server of their own: Debian's postgresql package, skipped
# cleanly (the test says why) where it cannot be installed.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && command -v apt-get >/dev/null 2>&1 \
  && [ "$(id -u)" = 0 ]; then
  echo "== installing postgresql (for the gateway's replica tests)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) \
    >/dev/null 2>&1 || echo "postgresql could not be installed: the PostgreSQL store tests will be skipped"
fi
echo "== ruff"
.venv/bin/ruff check slmswap tests examples benchmarks docs
.venv/bin/ruff format --check slmswap tests examples benchmarks docs
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
echo "== docs (sphinx -W) and doctests"
.venv/bin/python -m sphinx -q -W --keep-going -b html docs docs/_build/html
.venv/bin/python -m sphinx -q -W --keep-going -b doctest docs docs/_build/doctest
