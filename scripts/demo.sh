#!/usr/bin/env bash
# Train the default DCGAN on MNIST on the CPU (under 10 minutes on 2 cores) and print where
# the sample grid, training curves, metrics and checkpoint are. Extra arguments go to `ganforge train`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/ganforge train --epochs 3 --minutes 8 "$@"
