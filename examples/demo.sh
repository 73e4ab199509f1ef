#!/usr/bin/env bash
# Installs slmswap into .venv and runs the main job on the embedded default model (SmolLM2-135M-Instruct).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install
.venv/bin/python examples/smoke.py "$@"
