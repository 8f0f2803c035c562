#!/usr/bin/env bash
# Train a GAN on MNIST on the CPU for 6 minutes, then evaluate it against real digits. Prints where
# the sample grid, training curves, metrics and checkpoint are.
#
# The recipe is the one that scores best in 6 CPU-minutes (docs/training.md, "Evidence: MNIST"):
# the class-conditional cond-sngan preset at width 32. `bash scripts/demo.sh --classic` trains the
# classic DCGAN instead (8 epochs, at most 8 minutes). Other arguments go to `ganforge train`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
recipe=(--preset cond-sngan --width 32 --epochs 20 --minutes 6)
if [ "${1:-}" = --classic ]; then
  shift
  recipe=(--preset dcgan --epochs 8 --minutes 8)
fi
bash scripts/setup.sh
name="demo-$(date +%Y%m%d-%H%M%S)"
.venv/bin/ganforge train --precision auto "${recipe[@]}" --out runs --name "$name" "$@"
echo
.venv/bin/ganforge evaluate "runs/$name" --n 10000
