#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests need when missing
# (tshark for the oracle, tcpdump + openssl + nginx for re-recording, chromium for the UI),
# builds, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ]; then ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund; fi
npm run --silent build
# The build checks the core and the Node side; the web UI and the tests are checked here (Vite and
# vitest run them without checking types).
npx tsc -p app/renderer/tsconfig.json
npx tsc -p test/tsconfig.json
npx vitest run "$@"
