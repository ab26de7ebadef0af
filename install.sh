#!/usr/bin/env bash
# Create .venv with grokkit and its test tools. Idempotent; safe to re-run.
#
# Torch is the one heavy dependency: an installed torch is reused (the venv sees
# system site-packages); otherwise the pinned CPU build (2.13.0, a local wheel on
# our machines) is installed, falling back to PyTorch's CPU index, so an open-ended
# `torch` requirement never pulls several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install -q "torch==2.13.0" \
        || .venv/bin/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
.venv/bin/python -m pip install -q -e ".[test]"
echo "grokkit installed in $(pwd)/.venv (torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
