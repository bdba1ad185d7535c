#!/usr/bin/env bash
# setup.sh [--bench|--sanitizers]: installs the Debian 12 packages that building and testing
# Retrovisor need (non-interactive; uses sudo when not root). With --bench, also the emulators
# the benchmark compares against (QEMU, Bochs); with --sanitizers, clang and its sanitizer
# runtimes (scripts/test-sanitizers.sh). Does nothing when everything is installed.
set -euo pipefail

packages=(cmake ninja-build ccache g++ nasm pkg-config libcapstone-dev
          libboost-program-options-dev libgtest-dev libzstd-dev zstd zlib1g-dev python3 xz-utils gdb)
if [ "${1:-}" = "--bench" ]; then
    packages+=(qemu-system-x86 bochs bochs-term bochsbios vgabios busybox-static cpio gcc libc6-dev)
elif [ "${1:-}" = "--sanitizers" ]; then
    packages+=(clang libclang-rt-14-dev)
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--bench|--sanitizers]" >&2
    exit 2
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
