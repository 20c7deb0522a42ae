#!/usr/bin/env bash
# `npm start`: installs dependencies when missing or stale, builds, and runs ninho
# on its embedded defaults (SQLite in ./data, MQTT 1883, HTTP 8080, CoAP 5683).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ninho: installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi
echo "ninho: building…"
npm run --silent build
exec node server/dist/main.js
