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

# measure NAME CMD...: runs CMD (stdout -> $W/NAME.out, stderr -> $W/NAME.err, no stdin)
# and sets STATUS and CPU (user + sys seconds of CMD and its children).
measure() {
    local name=$1; shift
    local TIMEFORMAT='%3U %3S'
    STATUS=0
    { time timeout "$TIMEOUT" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null; } 2>"$W/$name.time" || STATUS=$?
    CPU=$(awk '{ printf "%.3f", $1 + $2 }' "$W/$name.time")
}
checksum_of() { grep -ao 'CHECKSUM=[0-9a-f]*' "$1" | head -1 | cut -d= -f2 || true; }

declare -A SUM INSNS SECS NOTE
want=${KNOWN_CHECKSUM[$ITER]:-}

for engine in $ENGINES; do
    case $engine in
    retrovisor)
        if [ ! -x "$RETROVISOR" ]; then
            "$root/scripts/build.sh" retrovisor >/dev/null
        fi
        echo "running retrovisor (interpreter)..." >&2
        measure retrovisor "$RETROVISOR" --bios "$W/cpubench.bin" -m 64M --debugcon stdio --stats
        SUM[retrovisor]=$(checksum_of "$W/retrovisor.out")
        INSNS[retrovisor]=$(grep -o 'guest_insns=[0-9]*' "$W/retrovisor.err" | cut -d= -f2 || true)
        SECS[retrovisor]=$CPU
        [ "$STATUS" -eq 1 ] || NOTE[retrovisor]="exit status $STATUS, expected 1: $(grep -v 'stats:' "$W/retrovisor.err" | tail -1)"
        ;;
    qemu)
        if ! command -v qemu-system-x86_64 >/dev/null; then
            NOTE[qemu]="not installed (scripts/setup.sh --bench)"; continue
        fi
        echo "running qemu-system-x86_64 (TCG)..." >&2
        measure qemu qemu-system-x86_64 -accel tcg -bios "$W/cpubench.bin" -display none -m 64 \
            -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial none -monitor none
        SUM[qemu]=$(checksum_of "$W/qemu.out")
        SECS[qemu]=$CPU
        [ "$STATUS" -eq 1 ] || NOTE[qemu]="exit status $STATUS: $(tail -1 "$W/qemu.err")"
        ;;
    bochs)
        if ! command -v bochs >/dev/null; then
            NOTE[bochs]="not installed (scripts/setup.sh --bench)"; continue
        fi
        # Debian's Bochs has no "nogui" display library and includes the debugger: the rfb
        # display with timeout=0 runs headless (it only listens on a loopback port), and the
        # debugger is fed "continue". The ROM ends Bochs by writing "Shutdown" to port 0x8900.
        cat >"$W/bochsrc" <<BXRC
display_library: rfb, options="timeout=0"
megs: 64
romimage: file=$W/cpubench.bin, address=0xffff0000
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: count=1, ips=100000000, reset_on_triple_fault=0
port_e9_hack: enabled=1
clock: sync=none
speaker: enabled=0
mouse: enabled=0
log: $W/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
BXRC
        printf 'continue\nquit\n' >"$W/bochs.cmds"
        echo "running bochs..." >&2
        measure bochs bochs -q -rc "$W/bochs.cmds" -f "$W/bochsrc"
        SUM[bochs]=$(checksum_of "$W/bochs.out")
        SECS[bochs]=$CPU
        # The debugger prints the instruction count when the simulation stops: "(0).[N]".
        INSNS[bochs]=$(sed -n 's/^(0)\.\[\([0-9]*\)\].*/\1/p' "$W/bochs.out" | tail -1)
        if [ -z "${SUM[bochs]}" ]; then
            NOTE[bochs]="cannot run headless here: $(grep -a -m1 -iE 'panic|error|cannot' "$W/bochs.out" "$W/bochs.err" "$W/bochs.log" 2>/dev/null | head -1)"
        fi
        ;;
    *) echo "cpubench.sh: unknown engine '$engine'" >&2; exit 2 ;;
    esac
done

# The expected checksum: the known one for this ITER, else QEMU's.
[ -z "$want" ] && want=${SUM[qemu]:-}
estimate=$(awk -v n="$ITER" 'BEGIN { printf "%d", n * 1712500 }')
if [ -n "${SUM[qemu]:-}" ]; then
    if [ -n "${INSNS[retrovisor]:-}" ] && [ "${SUM[retrovisor]:-}" = "${SUM[qemu]}" ]; then
        INSNS[qemu]=${INSNS[retrovisor]}
    else
        INSNS[qemu]="~$estimate"
    fi
fi

echo
echo "cpubench.asm, ITER=$ITER, expected CHECKSUM=${want:-unknown}; CPU seconds = user + sys"
printf '%-12s %-4s %-17s %13s %9s %9s %15s\n' engine ok checksum "guest insns" "cpu s" MIPS "retrovisor is"
rv_mips=""
for engine in $ENGINES; do
    sum=${SUM[$engine]:-}
    if [ -z "$sum" ] && [ -n "${NOTE[$engine]:-}" ]; then
        printf '%-12s %s\n' "$engine" "${NOTE[$engine]}"
        continue
    fi
    ok=yes
    [ -n "$want" ] && [ "$sum" != "$want" ] && ok=NO
    n=${INSNS[$engine]:-}
    [ -z "$n" ] && n="~$estimate"
    mips=$(awk -v n="${n#\~}" -v s="${SECS[$engine]}" 'BEGIN { if (s > 0) printf "%.1f", n / s / 1e6; else print "-" }')
    [ "$engine" = retrovisor ] && rv_mips=$mips
    ratio="-"
    if [ "$engine" != retrovisor ] && [ -n "$rv_mips" ] && [ "$mips" != "-" ]; then
        ratio=$(awk -v a="$rv_mips" -v b="$mips" 'BEGIN { printf "%.2fx", a / b }')
    fi
    printf '%-12s %-4s %-17s %13s %9s %9s %15s\n' "$engine" "$ok" "${sum:-none}" "$n" "${SECS[$engine]}" "$mips" "$ratio"
    [ -n "${NOTE[$engine]:-}" ] && printf '%-12s note: %s\n' "" "${NOTE[$engine]}"
done
echo "(\"retrovisor is\" = Retrovisor's MIPS / that engine's MIPS; ~ = estimated count)"

if [[ " $ENGINES " == *" retrovisor "* ]]; then
    if [ -z "${SUM[retrovisor]:-}" ] || { [ -n "$want" ] && [ "${SUM[retrovisor]}" != "$want" ]; }; then
        echo "cpubench.sh: Retrovisor did not print the expected checksum" >&2
        exit 1
    fi
fi
