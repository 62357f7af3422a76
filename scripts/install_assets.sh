#!/usr/bin/env bash
# Install the front-end assets the package vendors (never committed): ECharts and htmx from npm, pinned by
# package-lock.json, copied into src/churnradar/_static/vendor/ (git-ignored, shipped in wheels).
# Called by scripts/test.sh and by the README's demo command. Needs Node.js and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "install_assets.sh: npm not found; install Node.js (20 or later) and npm first" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
mkdir -p src/churnradar/_static/vendor
cp node_modules/echarts/dist/echarts.min.js src/churnradar/_static/vendor/echarts.min.js
cp node_modules/echarts/LICENSE src/churnradar/_static/vendor/echarts.LICENSE.txt
# htmx for the dashboard (src/churnradar/api)
cp node_modules/htmx.org/dist/htmx.min.js src/churnradar/_static/vendor/htmx.min.js
cp node_modules/htmx.org/LICENSE src/churnradar/_static/vendor/htmx.LICENSE.txt
echo "assets: echarts $(node -p "require('./node_modules/echarts/package.json').version"), htmx $(node -p "require('./node_modules/htmx.org/package.json').version") -> src/churnradar/_static/vendor/"
