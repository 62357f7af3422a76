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

# front-end assets vendored into the package (ECharts, from npm) for the HTML reports
bash scripts/install_assets.sh
# headless Chromium for the browser tests (Debian package; never `playwright install`)
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "chromium is missing: run 'sudo apt-get install -y chromium' (browser tests need it)" >&2
    exit 1
  fi
fi

# throwaway PostgreSQL so the API tests also run on it (stopped on exit); SQLite always runs
if [ -z "${CHURNRADAR_TEST_POSTGRES_URL:-}" ]; then
  # shellcheck source=scripts/test_postgres.sh
  . scripts/test_postgres.sh || true
fi

echo "== ruff"
ruff check src tests benchmarks
ruff format --check src tests benchmarks

echo "== pytest"
# in parallel, one worker per core (PYTEST_WORKERS to change; 0 runs in this process)
python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"

# the hostile suite (corrupted files, SIGKILLs, every route x role x region, API fuzzing): CI sets
# CHURNRADAR_TEST_HOSTILE=1; run it by hand with `python -m pytest -m hostile`
if [ "${CHURNRADAR_TEST_HOSTILE:-0}" = 1 ]; then
  echo "== pytest -m hostile"
  python -m pytest -m hostile -q -n 2
  echo "== pytest -m ci"
  python -m pytest -m ci -q -n 2
fi
