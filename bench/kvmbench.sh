#!/usr/bin/env bash
# kvmbench.sh: the KVM engine's speed next to the interpreter's, on one workload: the kvmsum
# ROM (roms/tests/kvmsum.asm: a 64-bit checksum loop with a ~1 kHz PIT interrupt), or its
# integer-only variant kvmsum_int where the host's KVM fails its x87/SSE self-test. Prints one
# table: host seconds, guest MIPS (the interpreter's retired-instruction count for the
# program, divided by each engine's host seconds), KVM exits per second, and whether both
# engines printed the same checksum; then the KVM/interpreter speed ratio.
# On our build machines /dev/kvm is implemented in software (../shared/DESIGN.md): the KVM
# figures there say nothing about a VT-x/AMD-V host, where this is the number to watch.
#
# Environment (all optional):
#   RETROVISOR=path   the emulator binary (default build/retrovisor, built if missing)
#   ITER=N            the ROM's loop iterations (default 300000: about 15 million instructions)
#   TIMEOUT=600       seconds per run
# Exit status: 0 when both engines printed the same checksum, 1 otherwise, 2 on a setup
# error, 77 when KVM cannot be used here (the reason is printed).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RETROVISOR=${RETROVISOR:-$root/build/retrovisor}
ITER=${ITER:-300000}
TIMEOUT=${TIMEOUT:-600}
command -v nasm >/dev/null || { echo "kvmbench.sh: nasm is missing (scripts/setup.sh)" >&2; exit 2; }
if [ ! -x "$RETROVISOR" ]; then
    [ "$RETROVISOR" = "$root/build/retrovisor" ] || { echo "kvmbench.sh: $RETROVISOR does not exist" >&2; exit 2; }
    "$root/scripts/build.sh" retrovisor >&2 || exit 2
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

nasm -f bin -DITER="$ITER" -I "$root/roms/tests/" -o "$W/kvmsum_int.bin" "$root/roms/tests/kvmsum_int.asm" || exit 2
"$RETROVISOR" --bios "$W/kvmsum_int.bin" --accel interp,kvm --max-insns 1 >/dev/null 2>"$W/probe.err"
if grep -q "KVM engine cannot be used" "$W/probe.err"; then
    echo "kvmbench: skipped: $(grep -m1 'cannot be used' "$W/probe.err" | sed 's/^retrovisor: error: //')"
    exit 77
fi
rom=kvmsum
if grep -q "x87/SSE instructions stop" "$W/probe.err"; then
    rom=kvmsum_int
    echo "kvmbench: the host's KVM fails its x87/SSE self-test: using the integer-only kvmsum_int"
fi
nasm -f bin -DITER="$ITER" -I "$root/roms/tests/" -o "$W/rom.bin" "$root/roms/tests/$rom.asm" || exit 2

run() {   # run ENGINE: sets OUT, HOST_S, INSNS, EXITS
    local engine=$1
    timeout "$TIMEOUT" "$RETROVISOR" --bios "$W/rom.bin" --debugcon stdio --stats --accel "$engine" \
        >"$W/$engine.out" 2>"$W/$engine.err"
    OUT=$(head -1 "$W/$engine.out")
    HOST_S=$(sed -n 's/.*host_s=\([0-9.]*\).*/\1/p' "$W/$engine.err" | head -1)
    INSNS=$(sed -n 's/.*guest_insns=\([0-9]*\).*/\1/p' "$W/$engine.err" | head -1)
    EXITS=$(sed -n 's/.*kvm_exits=\([0-9]*\).*/\1/p' "$W/$engine.err" | head -1)
}
run interp
i_out=$OUT i_s=$HOST_S insns=$INSNS
run kvm
k_out=$OUT k_s=$HOST_S k_exits=${EXITS:-0}
[ -n "$i_s" ] && [ -n "$k_s" ] || { echo "kvmbench: a run did not finish:"; cat "$W/interp.err" "$W/kvm.err"; exit 1; }
printf '%-8s %10s %10s %12s  %s\n' engine host_s MIPS exits/s output
awk -v n="$insns" -v s="$i_s" -v o="$i_out" 'BEGIN { printf "%-8s %10.3f %10.1f %12s  %s\n", "interp", s, n / s / 1e6, "-", o }'
awk -v n="$insns" -v s="$k_s" -v e="$k_exits" -v o="$k_out" \
    'BEGIN { printf "%-8s %10.3f %10.1f %12.0f  %s\n", "kvm", s, n / s / 1e6, e / s, o }'
awk -v a="$i_s" -v b="$k_s" -v n="$insns" \
    'BEGIN { printf "KVM runs the program %.3gx as fast as the interpreter (%s guest instructions)\n", a / b, n }'
if [ "$i_out" = "$k_out" ] && [ -n "$i_out" ]; then
    echo "checksums agree"
    exit 0
fi
echo "checksums differ"
exit 1
