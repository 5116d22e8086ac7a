#!/usr/bin/env bash
# Create .venv and install stanceframe with its test tools.
# Without a CUDA GPU the CPU build of torch goes in first, so pip never pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "CUDA GPU found: installing torch==$TORCH_VERSION (CUDA build)"
    pip_install "torch==$TORCH_VERSION"
  else
    # Where PyPI serves CUDA wheels, set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
    echo "no CUDA GPU: installing the CPU build of torch==$TORCH_VERSION"
    pip_install "torch==$TORCH_VERSION" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  fi
fi
pip_install -e ".[dev,labelstudio]"
"$VENV/bin/python" -c "import torch, stanceframe; print('stanceframe', stanceframe.__version__, '| torch', torch.__version__, '| cuda', torch.cuda.is_available())"
