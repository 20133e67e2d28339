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
report=$(mktemp --suffix=.json)
status=0
# Jest reports on stderr; --json also writes its JSON to stdout, which is not wanted here.
npx --no-install jest --ci --json --outputFile="$report" "$@" >/dev/null || status=$?
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$report" || true
rm -f "$report"
exit $status
