#!/usr/bin/env bash
# Install everything the test suite needs and run it (ruff + pytest).
# Used by newcomers (README.md) and by CI (.ci/run). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
python -m pip install --quiet -e '.[test]' 2>&1 | grep -v "is ignored" || true
python -c "import churnradar, duckdb, ibis, hypothesis" # fail early when the install failed

echo "== ruff"
ruff check src tests benchmarks
ruff format --check src tests benchmarks

echo "== pytest"
python -m pytest "$@"
