#!/usr/bin/env bash
# The main job on a fresh machine: installs slmswap into .venv, then runs `slmswap demo` on the embedded default
# model (SmolLM2-135M-Instruct) and the bundled demo dataset: doctor, base evaluation, LoRA fine-tune, tuned
# evaluation, and a report in slmswap-demo/report/. Arguments go to `slmswap demo` (e.g. --quick, --steps 96).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install constrained
.venv/bin/slmswap demo "$@"
