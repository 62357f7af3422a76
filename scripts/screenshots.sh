#!/usr/bin/env bash
# Screenshots of every dashboard page in zh-CN and en at 1440 px and 390 px, written to
# out/screenshots/pages/<lang>-<width>/<page>.png (git-ignored) on a small simulated, trained and
# scored operator. Needs the test environment (bash scripts/test.sh installs it, Chromium included).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest tests/browser/test_screenshots.py -q -p no:cacheprovider -m "slow or not slow" "$@"
echo "screenshots in $(pwd)/out/screenshots/pages/"
