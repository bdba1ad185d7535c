#!/usr/bin/env bash
# build.sh: configures (Ninja, Release) and builds everything into build/ (or $BUILD_DIR).
# Extra arguments go to the build tool, e.g. `scripts/build.sh retrovisor`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
if [ $# -gt 0 ]; then
    cmake --build "$build" --target "$@"
else
    cmake --build "$build"
fi
