#!/usr/bin/env bash
# scripts/sanitize.sh [asan|tsan|all] — builds the LibTorch-free unit and
# control-plane tests (core, config, protocol, coordinator/control, report)
# with AddressSanitizer + UndefinedBehaviorSanitizer, and with ThreadSanitizer,
# each in its own build folder (build-asan, build-tsan), and runs them.
# Any sanitizer report fails the run (halt_on_error / exitcode), so the exit
# code says whether it ran clean.
#
# LibTorch's own code is not instrumented (Debian ships it without sanitizers),
# so the tests that link it are left out: a sanitizer would either miss its
# memory errors or report false races inside its thread pool.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
TESTS=(condenser_core_tests condenser_config_tests condenser_protocol_tests
       condenser_coordinator_control_tests condenser_report_tests)

export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime

# build_and_run NAME FLAGS: configures build-NAME with FLAGS, builds TESTS, runs each.
build_and_run() {
  local name=$1 flags=$2 dir=build-$1
  echo "== $name: $flags"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" > /dev/null
  if ! cmake --build "$dir" --target "${TESTS[@]}"; then
    echo "FAILED: the $name build"
    return 1
  fi
  local failed=0 t exe
  for t in "${TESTS[@]}"; do
    exe=$(find "$dir/tests" -name "$t" -type f -executable | head -1)
    echo "-- $name $t"
    if ! "$exe" --gtest_brief=1 > "$dir/$t.log" 2>&1; then
      failed=1
      echo "FAILED: $t under $name (log: $dir/$t.log)"
      grep -E "ERROR: (Address|Thread|Leak|Undefined)Sanitizer|runtime error:|WARNING: ThreadSanitizer|FAILED" \
        "$dir/$t.log" | sort | uniq -c | head -20 || true
    fi
  done
  return $failed
}

status=0
if [ "$which" = asan ] || [ "$which" = all ]; then
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  build_and_run asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined" || status=1
fi
if [ "$which" = tsan ] || [ "$which" = all ]; then
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  build_and_run tsan "-fsanitize=thread" || status=1
fi
[ $status = 0 ] && echo "sanitizers: clean" || echo "sanitizers: reports above"
exit $status
