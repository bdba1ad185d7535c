#!/usr/bin/env bash
# fpbench.sh: the floating-point benchmark, the companion of cpubench.sh. Assembles
# bench/fpbench.asm (SSE2 scalar and packed double arithmetic and an x87 loop, 64-bit) and
# runs it under Retrovisor's interpreter and, where installed, QEMU (TCG) and Bochs, in the
# same run; prints each one's checksum, guest instructions, CPU seconds and MIPS side by side
# (bench_lib.sh). With BOTH=1 it runs cpubench.sh first, so the integer and floating-point
# MIPS are reported together.
#
# Environment (all optional):
#   ITER=1000          workload iterations (about 81,000 guest instructions each)
#   RETROVISOR=path    the emulator binary (default: build/retrovisor, built if missing)
#   ENGINES="retrovisor qemu bochs"   which to run
#   TIMEOUT=600        seconds per emulator
#   BOTH=1             also run cpubench.sh (with its own ITER default)
# Exit status: 0 when Retrovisor printed the expected checksum (or, for an ITER whose
# checksum is not known, QEMU's, or any when QEMU is absent), 1 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ITER_FP=${ITER:-1000}
RETROVISOR=${RETROVISOR:-$root/build/retrovisor}
ENGINES=${ENGINES:-retrovisor qemu bochs}
TIMEOUT=${TIMEOUT:-600}
# Checksums computed by QEMU 7.2 TCG and Retrovisor alike (IEEE basic operations only).
declare -A KNOWN_CHECKSUM=([1]=c6475d85eede6c14 [10]=7d19caf141082790 [1000]=32e619ba5ed6e6d5)

status=0
if [ "${BOTH:-0}" = 1 ]; then
    env -u ITER RETROVISOR="$RETROVISOR" ENGINES="$ENGINES" TIMEOUT="$TIMEOUT" "$root/bench/cpubench.sh" || status=1
fi
ITER=$ITER_FP
command -v nasm >/dev/null || { echo "fpbench.sh: nasm is missing (scripts/setup.sh)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/fpbench.XXXXXX")
trap 'rm -rf "$W"' EXIT
ROM=$W/fpbench.bin
nasm -f bin -DITER="$ITER" -o "$ROM" "$root/bench/fpbench.asm"
# shellcheck source=bench/bench_lib.sh
. "$root/bench/bench_lib.sh"
bench_run_engines
estimate=$(awk -v n="$ITER" 'BEGIN { printf "%d", n * 81000 }')
if ! bench_report fpbench.asm "${KNOWN_CHECKSUM[$ITER]:-}" "$estimate"; then
    echo "fpbench.sh: Retrovisor did not print the expected checksum" >&2
    exit 1
fi
exit $status
