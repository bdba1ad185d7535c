# bench_lib.sh: the engine runner and report shared by cpubench.sh and fpbench.sh (sourced).
#
# The caller sets (plain shell variables):
#   root        the repository root          W     a scratch directory (removed by the caller)
#   ROM         the assembled ROM to run     ITER  its iteration count (for the report)
#   RETROVISOR  ENGINES  TIMEOUT             as documented in cpubench.sh
# and then calls:
#   bench_run_engines          runs ROM under each of ENGINES; fills SUM INSNS SECS NOTE
#   bench_report TITLE WANT EST
#                              prints the side-by-side table (WANT: expected checksum, may be
#                              empty: then QEMU's is used; EST: estimated guest instructions,
#                              credited to QEMU unless its checksum matches Retrovisor's, whose
#                              own count it then gets); returns 1 when Retrovisor ran and did not
#                              print the expected checksum.
# Guest instruction counts: Retrovisor counts them itself (--stats; every REP iteration
# counts one, as QEMU and Bochs count). Bochs reports its own count on exit. QEMU cannot
# without a plugin.

declare -A SUM INSNS SECS NOTE

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

bench_run_engines() {
    local engine
    for engine in $ENGINES; do
        case $engine in
        retrovisor)
            if [ ! -x "$RETROVISOR" ]; then
                "$root/scripts/build.sh" retrovisor >/dev/null
            fi
            echo "running retrovisor (interpreter)..." >&2
            measure retrovisor "$RETROVISOR" --bios "$ROM" -m 64M --debugcon stdio --stats --clock virtual,pace=off
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
            measure qemu qemu-system-x86_64 -accel tcg -bios "$ROM" -display none -m 64 \
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
romimage: file=$ROM, address=0xffff0000
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
        *) echo "bench: unknown engine '$engine'" >&2; exit 2 ;;
        esac
    done
}

bench_report() {
    local title=$1 want=$2 estimate=$3 engine
    [ -z "$want" ] && want=${SUM[qemu]:-}
    if [ -n "${SUM[qemu]:-}" ]; then
        if [ -n "${INSNS[retrovisor]:-}" ] && [ "${SUM[retrovisor]:-}" = "${SUM[qemu]}" ]; then
            INSNS[qemu]=${INSNS[retrovisor]}
        else
            INSNS[qemu]="~$estimate"
        fi
    fi
    echo
    echo "$title, ITER=$ITER, expected CHECKSUM=${want:-unknown}; CPU seconds = user + sys"
    printf '%-12s %-4s %-17s %13s %9s %9s %15s\n' engine ok checksum "guest insns" "cpu s" MIPS "retrovisor is"
    local rv_mips="" sum ok n mips ratio
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
            return 1
        fi
    fi
    return 0
}
