#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test (unit, decoder, oracle,
# conformance, ROM and CLI tests) under ctest. Extra arguments go to ctest, e.g.
# `scripts/test.sh -R rom.` or `scripts/test.sh -L rom`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j2 "$@"
