#!/usr/bin/env bash
# Browser end-to-end tests of the web page: installs the pinned npm packages, builds the
# `restless` binary when missing, and runs `node --test` against Debian's Chromium.
#   RESTLESS_BIN   the binary to test (default: target/debug/restless, built or refreshed here)
#   CHROMIUM       the browser (default: /usr/bin/chromium; `apt-get install -y chromium`)
# Screenshots of every step go to e2e/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "e2e/run.sh: node is missing (apt-get install -y nodejs npm)" >&2; exit 1; }
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "e2e/run.sh: $CHROMIUM is missing (apt-get install -y chromium)" >&2; exit 1; }
export CHROMIUM

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

if [ -z "${RESTLESS_BIN:-}" ]; then
  # A no-op when `cargo test --workspace` has already built it.
  (cd .. && cargo build --locked -p restless-cli)
  RESTLESS_BIN="$PWD/../target/debug/restless"
fi
export RESTLESS_BIN
echo "e2e: $RESTLESS_BIN, $("$CHROMIUM" --version 2>/dev/null || echo chromium)"

mkdir -p screenshots
exec node --test --test-concurrency=1 web.test.mjs
