#!/usr/bin/env bash
# Create .venv and install stanceframe with its test tools (and Debian's chromium for the browser tests).
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
pip_install -e ".[dev,labelstudio,ray]"

# The browser tests (tests/test_web_browser.py) drive Debian's Chromium through Playwright; Playwright's
# own browser download is never used. Install it where it is missing and we may (root, or sudo without
# a password); elsewhere those tests skip and say why. STANCEFRAME_NO_BROWSER=1 skips this step.
has_chromium() { [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; }
if [ -z "${STANCEFRAME_NO_BROWSER:-}" ] && ! has_chromium && command -v apt-get >/dev/null 2>&1; then
  as_root=none
  if [ "$(id -u)" = 0 ]; then
    as_root=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
  fi
  if [ "$as_root" = none ]; then
    echo "chromium is not installed and this is not root: the browser tests will be skipped" \
      "(sudo apt-get install -y chromium runs them)"
  else
    echo "installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    if ! $as_root apt-get install -y -q chromium >/dev/null 2>&1; then
      $as_root apt-get update -q >/dev/null 2>&1 || true
      $as_root apt-get install -y -q chromium >/dev/null 2>&1 \
        || echo "could not install chromium: the browser tests will be skipped"
    fi
  fi
fi
"$VENV/bin/python" -c "import torch, stanceframe; print('stanceframe', stanceframe.__version__, '| torch', torch.__version__, '| cuda', torch.cuda.is_available())"
