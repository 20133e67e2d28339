#!/usr/bin/env bash
# Runs the race-prone Jest tests under contention: the Jest process (server and clients)
# pinned to CPU 0, a busy loop on every CPU meanwhile, and each racy scenario repeated
# ROOMWIRE_REPEAT times inside its test (default 30). An idle machine hides races that a
# loaded CI machine meets; a race that shows once in eight runs shows here.
#   bash scripts/contention.sh [repeats] [jest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-30}
shift || true
# The tests whose scenarios race between I/O threads, the JS thread and close(), between
# the servers of a cluster, between a room's publishers and a rejoin with history, and
# between the client's reconnects and the server.
tests=(test/integration/graceful.test.ts test/integration/races.test.ts test/integration/cluster.test.ts
  test/integration/history.test.ts test/integration/client.test.ts test/integration/events-client.test.ts)
[ $# -gt 0 ] && tests=("$@")

busy=()
cleanup() { for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for cpu in $(seq 0 $(( $(nproc) - 1 ))); do
  taskset -c "$cpu" node -e 'for(;;){}' &
  busy+=($!)
done

echo "== contention: ${tests[*]} x$repeats, Jest on CPU 0, busy loops on $(nproc) CPUs"
report=$(mktemp --suffix=.json)
status=0
ROOMWIRE_REPEAT=$repeats taskset -c 0 npx --no-install jest --ci --runInBand --json --outputFile="$report" \
  "${tests[@]}" 2>"${report%.json}.err" >/dev/null || status=$?
[ $status -eq 0 ] || grep -E -A30 "●" "${report%.json}.err" | head -80 || true
rm -f "${report%.json}.err"
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`contention: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$report" || true
rm -f "$report"
exit $status
