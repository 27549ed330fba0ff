#!/usr/bin/env bash
# Install Arm's pte-adapter-model-explorer into its own venv, benchmarks/.cache/venv-pte-adapter.
# It needs flatbuffers>25.9, which tosa-tools (in the main .venv) forbids, so it cannot share it.
# bench_load.py calls its converter directly (PteGraphBuilder), no Model Explorer server.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
VENV=.cache/venv-pte-adapter
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "pte-adapter-model-explorer==0.2.0"
"$VENV/bin/python" -c "from pte_adapter_model_explorer.builder.builder import PteGraphBuilder; import flatbuffers; print('pte-adapter ready, flatbuffers', flatbuffers.__version__ if hasattr(flatbuffers, '__version__') else '?')"
