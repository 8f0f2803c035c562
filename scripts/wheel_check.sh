#!/usr/bin/env bash
# Build ganforge's wheel and use it as a user would: a fresh environment outside the checkout,
# `ganforge --help`, `python -m ganforge --help`, a 20-step train, sample and evaluate, the zoo
# (`ganforge models --check`, a zoo model sampled by name), and mypy
# seeing the package as typed. .ci/run calls it after the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/env"
pip() { "$work/env/bin/python" -m pip --disable-pip-version-check --quiet "$@"; }
pip install torch==2.13.0   # first: the CPU wheel, so the ganforge wheel's range never pulls a CUDA build
pip wheel --no-deps --wheel-dir "$work/dist" .
pip install "$work"/dist/ganforge-*.whl mypy
cd "$work"   # nothing of the checkout is importable from here
bin="$work/env/bin"
"$bin/ganforge" --help >/dev/null
"$bin/python" -m ganforge --help >/dev/null
"$bin/ganforge" train --dataset shapes --channels 1 --image-size 28 --limit 256 --steps 20 --no-progress \
  --out runs --name wheel
"$bin/ganforge" sample runs/wheel -n 100 -o reference.npy --seed 1
"$bin/ganforge" evaluate runs/wheel --ref reference.npy --n 50 --metrics fd,kid
# The zoo from the installed wheel: weights checked against their cards, a model sampled by name.
"$bin/ganforge" models --check
"$bin/ganforge" sample mnist-cond --labels 7 -n 16 -o sevens.png
"$bin/python" -c "import ganforge; assert ganforge.load('mnist-dcgan').sample(2).shape == (2, 1, 28, 28)"
printf 'import ganforge\nconfig: ganforge.RunConfig = ganforge.RunConfig()\n' > typed.py
"$bin/mypy" --no-incremental typed.py
"$bin/python" -c "import ganforge, sys; sys.exit(0 if ganforge.__file__.startswith('$work') else 'imported the checkout')"
echo "wheel check passed: $(ls "$work"/dist)"
