#!/usr/bin/env bash
# The whole test suite: GoogleTest (ctest) for native/core, type tests for
# types/index.d.ts, and Jest (unit and integration over real sockets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== native/core: GoogleTest"
cmake --build build --target roomwire_core_tests --parallel 2 >/dev/null
ctest --test-dir build --output-on-failure --timeout 120

echo "== types/index.d.ts: type tests"
npx --no-install tsc -p test/types/tsconfig.json
echo "type tests passed"

echo "== Jest"
npx --no-install jest --ci "$@"
