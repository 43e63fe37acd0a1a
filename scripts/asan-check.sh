#!/usr/bin/env bash
# Leak/memory-error check of the native addon: builds it with -fsanitize=address into build-asan/
# and runs test/leak/asan-driver.mts under LeakSanitizer. Reports from TF's and Node's own
# start-up allocations are suppressed; any leak with a frame in jetserve_native.node fails.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-asan --CDJETSERVE_SANITIZE=address >/dev/null
export JETSERVE_NATIVE_ADDON="$PWD/build-asan/Release/jetserve_native.node"
export JETSERVE_FIXTURES="${JETSERVE_FIXTURES:-$(node test/fixtures/ensure-fixtures.mjs | tail -1)}"
supp=$(mktemp)
printf 'leak:libtensorflow_cc\nleak:libtensorflow_framework\nleak:node\nleak:libpython\n' >"$supp"
log=$(mktemp)
LD_PRELOAD="$(g++ -print-file-name=libasan.so)" \
  ASAN_OPTIONS=detect_leaks=1:detect_odr_violation=0:alloc_dealloc_mismatch=0 \
  LSAN_OPTIONS="suppressions=$supp:print_suppressions=0" \
  node --expose-gc --import tsx test/leak/asan-driver.mts 2>&1 | tee "$log" | grep -v '^[WIE]0000' || true
if grep -q 'jetserve_native' "$log" && grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)' "$log"; then
  echo "asan-check: FAILED (see the report above)"; exit 1
fi
grep -q 'asan driver done' "$log" || { echo "asan-check: driver did not finish"; exit 1; }
echo "asan-check: no leak or memory error in jetserve_native.node"
