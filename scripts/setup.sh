#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine ready to run roomwire's demo and tests: system
# packages, npm dependencies, the native addon and the TypeScript build. Idempotent; a
# second run with everything in place only checks and finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*"; }

# --- Node.js: the machine's own; npm packages need 20.17 or newer.
if ! command -v node >/dev/null 2>&1; then
  log "Node.js 20.17+ is required (https://nodejs.org or your distribution's nodejs package)"; exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)'; then
  log "Node.js 20.17+ is required, found $(node --version)"; exit 1
fi

# --- System packages (Debian/Ubuntu names).
# chromium: the browser end-to-end test drives Debian's build (no browser download);
# python3: the backpressure test's never-reading client. libhiredis-dev: the cluster's Redis
# client, built into the addon; zlib1g-dev, libssl-dev: permessage-deflate and TLS; openssl: the
# TLS tests' and the demo's certificates, made at run time; redis-server: the tests start their own (never the service).
packages=(libboost1.81-dev libhiredis-dev zlib1g-dev libssl-dev openssl redis-server cmake g++ make ninja-build ccache libgtest-dev chromium python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    log "install these packages (or their equivalents) first: ${missing[*]}"; exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm dependencies: `npm ci` when node_modules is missing or older than the lock file.
# It runs the package's install script, which builds the addon.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- Native addon (incremental) and TypeScript.
if [ ! -f build/Release/roomwire.node ] || [ -n "$(find native CMakeLists.txt -newer build/Release/roomwire.node -print -quit)" ]; then
  log "building the native addon"
  npx --no-install cmake-js compile --out build --parallel 2 --log-level warn >/dev/null
fi
if [ ! -f dist/lib/index.js ] || [ ! -f dist/client/cjs/package.json ] \
  || [ -n "$(find lib types tsconfig*.json -newer dist/lib/index.js -print -quit)" ] \
  || [ -n "$(find lib/client tsconfig.client*.json -newer dist/client/cjs/package.json -print -quit)" ]; then
  log "compiling TypeScript"
  npx --no-install tsc -p tsconfig.json
  node scripts/build-client.js
fi
log "ready"
