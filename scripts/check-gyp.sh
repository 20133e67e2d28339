#!/usr/bin/env bash
# Proves binding.gyp still builds the addon from the same sources as CMakeLists.txt:
# the source lists must match, node-gyp must build it (with the machine's Node headers,
# never downloaded), and the result must serve a WebSocket round trip.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake_sources=$(grep -oE 'native/(core|addon)/[a-z_/]+\.cpp' CMakeLists.txt | sort -u)
gyp_sources=$(grep -oE 'native/(core|addon)/[a-z_/]+\.cpp' binding.gyp | sort -u)
if [ "$cmake_sources" != "$gyp_sources" ]; then
  echo "binding.gyp and CMakeLists.txt list different sources:"
  diff <(echo "$cmake_sources") <(echo "$gyp_sources") || true
  exit 1
fi

nodedir=""
for d in "${npm_config_nodedir:-}" /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
  if [ -n "$d" ] && [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ]; then nodedir=$d; break; fi
done
if [ -z "$nodedir" ]; then
  echo "check-gyp: no local Node.js headers (include/node/common.gypi) found; node-gyp would download them" >&2
  exit 1
fi

# node-gyp builds into ./build, which cmake-js owns: build a mirror of the sources instead.
work=build-gyp
mkdir -p "$work"
# A changed binding.gyp is configured again; an unchanged one keeps the incremental build.
cmp -s binding.gyp "$work/binding.gyp" || { cp binding.gyp "$work/"; rm -f "$work/build/Makefile"; }
ln -sfn ../native "$work/native"
ln -sfn ../node_modules "$work/node_modules"
(
  cd "$work"
  if [ ! -f build/Makefile ]; then
    npx --no-install node-gyp configure --nodedir="$nodedir" --loglevel=warn
  fi
  CXX="ccache g++" npx --no-install node-gyp build --jobs 2 --loglevel=warn 2>&1 | tee build.log
)
# The project's code builds warning-free (Node's and node-addon-api's headers are system headers).
if grep -q "warning:" "$work/build.log"; then
  echo "check-gyp: the node-gyp build has warnings:" >&2
  grep "warning:" "$work/build.log" | sort -u | head -20 >&2
  exit 1
fi
ROOMWIRE_ADDON="$PWD/$work/build/Release/roomwire.node" node scripts/smoke.js
