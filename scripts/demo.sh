#!/usr/bin/env bash
# Train the conditional DCGAN (--preset cond-dcgan: one column of the grid per digit) on MNIST on
# the CPU (8 epochs, capped at 8 minutes), then evaluate it against real digits. Prints where the
# sample grid, training curves, metrics and checkpoint are. Extra arguments go to `ganforge train`
# (e.g. --preset dcgan for the classic unconditional DCGAN, --epochs 2 for a quicker look).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
name="demo-$(date +%Y%m%d-%H%M%S)"
.venv/bin/ganforge train --preset cond-dcgan --precision auto --epochs 8 --minutes 8 --out runs --name "$name" "$@"
echo
.venv/bin/ganforge evaluate "runs/$name" --n 10000
