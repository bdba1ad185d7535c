#!/usr/bin/env bash
# test-sanitizers.sh: builds Retrovisor with AddressSanitizer and UndefinedBehaviorSanitizer
# (clang, RelWithDebInfo, in build-asan/ or $ASAN_BUILD_DIR) and runs the tests that cover
# what a guest, an input file or a debugger client can reach: unit, device, decoder,
# conformance, ROM and CLI tests. Left out, as they need the host's KVM or native execution
# of random code (which the sanitizers' own signal handling disturbs) or take too long under
# them: kvm, engines, oracle, linux, bench. Any sanitizer report fails the test it came from.
# Extra arguments go to ctest. A non-Release build also proves that nothing relies on
# inlining (an ODR violation once made every control-flow handler vanish outside Release).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASAN_BUILD_DIR:-$root/build-asan}
"$root/scripts/setup.sh" --sanitizers
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRV_SANITIZE=ON
fi
cmake --build "$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j2 -LE 'kvm|engines|oracle|linux|bench' "$@"
