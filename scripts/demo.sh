#!/usr/bin/env bash
# Train the default DCGAN on MNIST on the CPU (about 6 minutes on 2 cores, capped at 8), then
# evaluate it against real digits. Prints where the sample grid, training curves, metrics and
# checkpoint are. Extra arguments go to `ganforge train` (e.g. --epochs 2 for a quicker look).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
name="demo-$(date +%Y%m%d-%H%M%S)"
.venv/bin/ganforge train --precision auto --epochs 8 --minutes 8 --out runs --name "$name" "$@"
echo
.venv/bin/ganforge evaluate "runs/$name" --n 10000
