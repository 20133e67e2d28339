#!/usr/bin/env bash
# Proves `npm install roomwire` works as a dependency of another package, both ways:
#  1. with the prebuilt addon the package carries: installed into an empty project on a
#     machine where nothing can compile (cmake and the compilers replaced by failing stubs,
#     Boost out of reach), it must load the prebuild;
#  2. built from source (`npm install --build-from-source`): cmake-js and node-api-headers.
# Each copy then runs the smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm run --silent build:prebuild
tarball=$(npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n 1)
contents=$(tar -tzf "$work/$tarball")
grep -q 'package/prebuilds/linux-x64/node.napi.glibc.node' <<<"$contents" \
  || { echo "check-package: the tarball carries no prebuild" >&2; exit 1; }

# 1. No compiler, no cmake, no Boost: only the prebuild can make this work.
mkdir -p "$work/nobuild/bin" "$work/prebuilt"
for tool in cmake make ninja cc c++ gcc g++ clang clang++; do
  printf '#!/bin/sh\necho "check-package: %s must not run for a prebuilt install" >&2\nexit 1\n' "$tool" >"$work/nobuild/bin/$tool"
  chmod +x "$work/nobuild/bin/$tool"
done
cd "$work/prebuilt"
npm init -y >/dev/null
PATH="$work/nobuild/bin:$PATH" BOOST_ROOT="$work/nobuild" \
  npm install --no-audit --no-fund --loglevel=error "$work/$tarball"
[ ! -e node_modules/roomwire/build/Release/roomwire.node ] \
  || { echo "check-package: the prebuilt install compiled the addon" >&2; exit 1; }
cd - >/dev/null
echo "== check-package: prebuilt install"
ROOMWIRE_MODULE="$work/prebuilt/node_modules/roomwire" node scripts/smoke.js

# 2. From source, as when no prebuild fits the machine.
mkdir -p "$work/source"
cd "$work/source"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error --build-from-source "$work/$tarball"
[ -e node_modules/roomwire/build/Release/roomwire.node ] \
  || { echo "check-package: --build-from-source did not build the addon" >&2; exit 1; }
cd - >/dev/null
echo "== check-package: built from source"
ROOMWIRE_MODULE="$work/source/node_modules/roomwire" node scripts/smoke.js
