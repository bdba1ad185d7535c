#!/usr/bin/env bash
# gdbbench.sh: what a debugger costs. Boots the Linux benchmark guest (bench/linuxbench.sh's,
# in build/benchguest) for INSNS guest instructions three times: alone, under --gdb with gdb
# attached and continuing, and under --gdb with a breakpoint and a watchpoint that are never
# hit. Prints MIPS (per CPU second) of each and the ratios; the goal is within 10%.
#   INSNS=1500000000  RETROVISOR=build/retrovisor  GUEST_DIR=build/benchguest  PORT=4567
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
RETROVISOR=${RETROVISOR:-$root/build/retrovisor}
GUEST_DIR=${GUEST_DIR:-$root/build/benchguest}
INSNS=${INSNS:-1500000000}
PORT=${PORT:-4567}
command -v gdb >/dev/null || { echo "gdbbench.sh: gdb is missing (scripts/setup.sh)" >&2; exit 2; }
[ -f "$GUEST_DIR/vmlinux" ] || { echo "gdbbench.sh: no $GUEST_DIR/vmlinux: run bench/linuxbench.sh once" >&2; exit 2; }
append="console=ttyS0 quiet panic=-1 acpi=off nokaslr mitigations=off noapic nolapic no_timer_check cryptomgr.notests tsc_early_khz=1000000"
args=(--kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initramfs.cpio.gz" --append "$append" -m 512M --no-reboot
      --stats --max-insns "$INSNS" --clock virtual,pace=off)
mips() { grep -o 'mips=[0-9.]*' | tail -1 | cut -d= -f2; }
run_with_gdb() {   # run_with_gdb GDB-COMMAND...
    local out
    out=$(mktemp)
    "$RETROVISOR" "${args[@]}" --gdb "$PORT" >/dev/null 2>"$out" &
    local pid=$!
    sleep 0.5
    local ex=()
    for c in "$@"; do ex+=(-ex "$c"); done
    timeout 600 gdb -nx -batch -ex "target remote :$PORT" "${ex[@]}" -ex continue >/dev/null 2>&1
    wait $pid
    mips <"$out"
    rm -f "$out"
}
alone=$("$RETROVISOR" "${args[@]}" 2>&1 >/dev/null | mips)
attached=$(run_with_gdb)
armed=$(run_with_gdb "break *0x1234" "watch *(int*)0x5000")
echo "guest: $INSNS instructions of the Linux benchmark guest's boot (vmlinux, lean)"
printf '%-40s %8s MIPS\n' "alone" "$alone" "gdb attached" "$attached" "gdb, a breakpoint and a watchpoint unhit" "$armed"
awk -v a="$alone" -v b="$armed" 'BEGIN { printf "armed / alone = %.3f (goal: at least 0.90)\n", b / a; exit !(b / a >= 0.9) }'
