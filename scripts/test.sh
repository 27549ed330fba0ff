#!/usr/bin/env bash
# Set up .venv with everything the whole test suite needs (torch, executorch with the Arm
# toolchain, Model Explorer, Debian chromium for the browser tests) and run it.
# Works on a fresh machine with Python 3.11; safe to run again (it reuses .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned in the [export] extra; never let a resolver pick an unpinned (CUDA) torch.
.venv/bin/python -m pip install -q -e ".[all]"

# Browser tests drive Debian's chromium through playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
fi

export PYTHONHASHSEED=0
exec .venv/bin/python -m pytest -q -ra "$@"
