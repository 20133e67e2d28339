#!/usr/bin/env bash
# Builds native/core and its GoogleTest suite (including the multi-threaded stress test)
# with sanitizers and runs it under ctest.
#   bash scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this)
#   bash scripts/sanitize.sh tsan   # ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-asan}
case "$kind" in
  asan) flags="address,undefined"; export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ;;
  tsan) flags="thread"; export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ;;
  *) echo "usage: $0 asan|tsan" >&2; exit 2 ;;
esac
dir="build-$kind"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOMWIRE_SANITIZE="$flags" >/dev/null
fi
cmake --build "$dir" --target roomwire_core_tests --parallel 2
echo "== native/core under $kind ($flags)"
ctest --test-dir "$dir" --output-on-failure --timeout 300
