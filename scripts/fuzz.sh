#!/usr/bin/env bash
# Builds the libFuzzer targets in native/fuzz with clang (ASan+UBSan) and runs each for a
# fixed number of executions from the seed corpus.
#   bash scripts/fuzz.sh [runs per target, default 10000000] [target ...]
# Targets: protocol (client-frame codec), route (patterns and targets), room_api (REST),
# ws_frames (WebSocket frame parser), hooks (the hooks compiler and machine).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(protocol route room_api ws_frames hooks)
if ! command -v clang++ >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
dir=build-fuzz
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOMWIRE_FUZZ=ON >/dev/null
fi
cmake --build "$dir" --parallel 2 --target $(printf 'fuzz_%s ' "${targets[@]}")
for t in "${targets[@]}"; do
  work="$dir/corpus-$t"
  mkdir -p "$work" "$dir/artifacts-$t"
  echo "== fuzz_$t: $runs runs"
  start=$(date +%s)
  log="$dir/fuzz_$t.log"
  status=0
  ASAN_OPTIONS=detect_leaks=1 "$dir/fuzz_$t" -runs="$runs" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/artifacts-$t/" \
    "$work" "native/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)' "$log" || true
  echo "fuzz_$t: exit $status after $(( $(date +%s) - start )) s"
  [ "$status" -eq 0 ] || exit "$status"
done
