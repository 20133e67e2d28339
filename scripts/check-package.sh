#!/usr/bin/env bash
# Proves `npm install roomwire` works as a dependency of another package: packs this
# checkout, installs the tarball into an empty project (its install script builds the
# addon with cmake-js and node-api-headers), and runs the smoke test against that copy.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n 1)
mkdir -p "$work/consumer"
cd "$work/consumer"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$work/$tarball"
cd - >/dev/null
ROOMWIRE_MODULE="$work/consumer/node_modules/roomwire" node scripts/smoke.js
