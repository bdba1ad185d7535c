#!/usr/bin/env bash
# cpubench.sh: the CPU benchmark. Assembles the shared workload ROM cpubench.asm
# (../shared/bench, 64-bit integer code; see its README) and runs it under Retrovisor's
# interpreter and, where installed, under QEMU (TCG) and Bochs, in the same run. Prints
# each one's checksum, guest instructions, CPU seconds (user + sys of the emulator process)
# and MIPS, then the interpreter's speed relative to the others.
#
# Environment (all optional):
#   ITER=200           workload iterations (about 1.71 million guest instructions each)
#   SHARED_BENCH=dir   where cpubench.asm is (default: ../shared/bench beside the repo)
#   RETROVISOR=path    the emulator binary (default: build/retrovisor, built if missing)
#   ENGINES="retrovisor qemu bochs"   which to run
#   TIMEOUT=600        seconds per emulator
# Exit status: 0 when Retrovisor printed the expected checksum (or, for an ITER whose
# checksum is not known, QEMU's, or any when QEMU is absent), 1 otherwise.
#
# Guest instruction counts: Retrovisor counts them itself (--stats; every REP iteration
# counts one, as QEMU and Bochs count). Bochs reports its own count on exit. QEMU cannot
# without a plugin, so it is credited with the count Retrovisor measured for the same ROM
# when their checksums agree, else with the README's 1.7125 million per iteration.
# The runner and the report are bench_lib.sh, shared with fpbench.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$root/../shared/bench}
ITER=${ITER:-200}
RETROVISOR=${RETROVISOR:-$root/build/retrovisor}
ENGINES=${ENGINES:-retrovisor qemu bochs}
TIMEOUT=${TIMEOUT:-600}
declare -A KNOWN_CHECKSUM=([200]=e434066936fc09b6)

[ -f "$SHARED_BENCH/cpubench.asm" ] || { echo "cpubench.sh: no $SHARED_BENCH/cpubench.asm (set SHARED_BENCH)" >&2; exit 2; }
command -v nasm >/dev/null || { echo "cpubench.sh: nasm is missing (scripts/setup.sh)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/cpubench.XXXXXX")
trap 'rm -rf "$W"' EXIT
nasm -f bin -DITER="$ITER" -o "$W/cpubench.bin" "$SHARED_BENCH/cpubench.asm"

ROM=$W/cpubench.bin
# shellcheck source=bench/bench_lib.sh
. "$root/bench/bench_lib.sh"
bench_run_engines
want=${KNOWN_CHECKSUM[$ITER]:-}
estimate=$(awk -v n="$ITER" 'BEGIN { printf "%d", n * 1712500 }')
if ! bench_report cpubench.asm "$want" "$estimate"; then
    echo "cpubench.sh: Retrovisor did not print the expected checksum" >&2
    exit 1
fi
