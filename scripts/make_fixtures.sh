#!/usr/bin/env bash
# Regenerate the real fixture zoo in tests/data and its ETDumps (needs torch + executorch[ethos-u]).
# Extra arguments go to the zoo, e.g. `scripts/make_fixtures.sh --only u55_upsample`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONHASHSEED=0
"$PYTHON" -m edgeinspect.export.zoo --out tests/data --jobs 2 "$@"
# The ETDump fixtures (tests/data/etdump): zoo programs run by ExecuTorch's runtime, ETDump on.
exec "$PYTHON" -m edgeinspect.export.profile --fixtures tests/data
