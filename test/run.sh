#!/usr/bin/env bash
# `npm test`: the whole suite. Installs what it needs (npm packages; mosquitto,
# libcoap and openssl from apt when running as root), builds, lints, type-checks,
# then runs the unit and end-to-end tests against the real built server.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v coap-client-notls >/dev/null || missing+=(libcoap3-bin)
command -v openssl >/dev/null || missing+=(openssl)
command -v socat >/dev/null || missing+=(socat)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v prlimit >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ninho test: installing ${missing[*]} from apt…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "ninho test: missing tools; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
npx tsc -b test
npm run --silent check -w web
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }
npx vitest run "$@"
