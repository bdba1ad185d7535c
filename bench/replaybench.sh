#!/usr/bin/env bash
# replaybench.sh: what recording, replaying and going backwards cost, on the Linux benchmark
# guest (../shared/bench, built as bench/linuxbench.sh builds it: Debian 12's kernel booted
# from the vmlinux with the "lean" command line, then minibench at scale 1 and a reset with
# --no-reboot: about 3e9 guest instructions).
#
#   1. Record overhead: the same run without and with --record FILE, REPS times each,
#      alternating; the median CPU seconds (Retrovisor's own --stats cpu_s) of each and the
#      overhead (goal: at most 5%). The log's size.
#   2. Replay: --replay FILE, its CPU seconds; the serial output and instruction count must
#      be the recording's.
#   3. Going backwards in stock gdb (--replay FILE --gdb PORT), each step timed in gdb (wall
#      seconds from the command to gdb's prompt) with the instruction count before and after
#      (gdb's `monitor info replay`):
#        - continue from the start to the recording's end, then reverse-stepi three times;
#        - reverse-continue with a write watchpoint on minibench's sieve[] (static, at the
#          address `nm minibench` gives: written last by its sieve kernel, far back), then
#          reverse-stepi three times there;
#        - reverse-continue to the breakpoint at minibench's mark() (the start of a kernel)
#          twice, reverse-stepi three times after each;
#        - from the start, continue to k_sieve (forward, nothing planned there), then
#          reverse-stepi: the worst place, furthest from an adaptive checkpoint.
#      Goals: every reverse-stepi under 0.1 s; a reverse-continue to a watchpoint 1e9
#      instructions back in under 5 s (the table gives the distance and the rate).
#   4. The checkpoints' memory at the end (`monitor info replay`), under --checkpoint-mem.
#
# Environment (all optional):
#   GUEST_DIR=dir      the benchmark guest (default build/benchguest; built when missing)
#   SHARED_BENCH=dir   ../shared/bench beside the repository
#   RETROVISOR=path    the emulator (default build/retrovisor, built if missing)
#   REPS=3             runs of each kind for the record overhead
#   CHECKPOINT_MEM=1G  --checkpoint-mem for the gdb session
#   PORT=4568          gdb's port
#   KEEP=1             keep the scratch directory and print its path
# Exit status: 0 when every run completed with the expected checksum and the replays matched
# the recording (the goals are reported, not enforced); 1 otherwise; 2 when something needed
# is missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$root/../shared/bench}
GUEST_DIR=${GUEST_DIR:-$root/build/benchguest}
RV_DEFAULT=$root/build/retrovisor
RETROVISOR=${RETROVISOR:-$RV_DEFAULT}
REPS=${REPS:-3}
CHECKPOINT_MEM=${CHECKPOINT_MEM:-1G}
PORT=${PORT:-4568}
die2() { echo "replaybench.sh: $*" >&2; exit 2; }

command -v gdb >/dev/null || die2 "gdb is missing (apt-get install gdb; scripts/setup.sh installs it)"
command -v nm >/dev/null || die2 "nm is missing (apt-get install binutils)"
if [ ! -x "$RETROVISOR" ]; then
    [ "$RETROVISOR" = "$RV_DEFAULT" ] || die2 "no $RETROVISOR"
    "$root/scripts/build.sh" retrovisor >/dev/null || die2 "cannot build $RETROVISOR"
fi
for f in vmlinux initramfs.cpio.gz minibench expected-scale1.txt; do
    if [ ! -s "$GUEST_DIR/$f" ]; then
        echo "replaybench.sh: building the benchmark guest into $GUEST_DIR (make-guest.sh)..." >&2
        mkdir -p "$GUEST_DIR" || die2 "cannot create $GUEST_DIR"
        bash "$SHARED_BENCH/make-guest.sh" "$GUEST_DIR" >"$GUEST_DIR/make-guest.log" 2>&1 ||
            die2 "make-guest.sh failed: $(tail -1 "$GUEST_DIR/make-guest.log") (bench/linuxbench.sh names the packages it needs)"
        break
    fi
done
GUEST_DIR=$(cd "$GUEST_DIR" && pwd)
EXPECTED=$(grep -o 'checksum=0x[0-9a-f]*' "$GUEST_DIR/expected-scale1.txt" | head -1 | cut -d= -f2)
sym() { nm "$GUEST_DIR/minibench" | awk -v s="$1" '$3 == s { print "0x" $1; exit }'; }
SIEVE=$(sym sieve) MARK=$(sym mark) K_SIEVE=$(sym k_sieve)
[ -n "$SIEVE" ] && [ -n "$MARK" ] && [ -n "$K_SIEVE" ] || die2 "minibench has no symbols sieve, mark, k_sieve (nm $GUEST_DIR/minibench)"

W=$(mktemp -d "${TMPDIR:-/tmp}/replaybench.XXXXXX")
rvpid=
if [ "${KEEP:-0}" = 1 ]; then
    trap '[ -n "$rvpid" ] && kill $rvpid 2>/dev/null; echo "replaybench.sh: files kept in $W" >&2' EXIT
else
    trap '[ -n "$rvpid" ] && kill $rvpid 2>/dev/null; rm -rf "$W"' EXIT
fi
append="console=ttyS0 quiet panic=-1 acpi=off nokaslr mitigations=off noapic nolapic no_timer_check cryptomgr.notests tsc_early_khz=1000000 guest.scale=1"
args=(--kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initramfs.cpio.gz" --append "$append" -m 512M --no-reboot
      --clock virtual,pace=off --stats)
failed=0
stat_of() { grep -o " $2=[0-9.]*" "$1" | tail -1 | cut -d= -f2; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
check_run() {   # check_run NAME: the serial output has the expected checksum, status 0
    local sum
    sum=$(grep -ao 'checksum=0x[0-9a-f]*' "$W/$1.txt" | head -1 | cut -d= -f2)
    if [ "$(cat "$W/$1.status")" != 0 ] || [ "$sum" != "$EXPECTED" ]; then
        echo "replaybench.sh: $1: exit status $(cat "$W/$1.status"), checksum '${sum}' (expected $EXPECTED): $(grep -v stats: "$W/$1.err" | tail -1)" >&2
        failed=1
    fi
}

# ---- 1. record overhead ------------------------------------------------------------------------
plain=() rec=()
for ((i = 1; i <= REPS; i++)); do
    echo "replaybench.sh: run $i of $REPS without and with --record..." >&2
    "$RETROVISOR" "${args[@]}" --serial file:"$W/plain$i.txt" </dev/null >/dev/null 2>"$W/plain$i.err"
    echo $? >"$W/plain$i.status"; check_run "plain$i"
    rm -f "$W/r.rvr"
    "$RETROVISOR" "${args[@]}" --serial file:"$W/rec$i.txt" --record "$W/r.rvr" </dev/null >/dev/null 2>"$W/rec$i.err"
    echo $? >"$W/rec$i.status"; check_run "rec$i"
    plain+=("$(stat_of "$W/plain$i.err" cpu_s)") rec+=("$(stat_of "$W/rec$i.err" cpu_s)")
done
P=$(printf '%s\n' "${plain[@]}" | median) R=$(printf '%s\n' "${rec[@]}" | median)
INSNS=$(stat_of "$W/rec$REPS.err" guest_insns)
[ "$(stat_of "$W/plain1.err" guest_insns)" = "$INSNS" ] || { echo "replaybench.sh: the recorded run's instruction count differs from the plain run's" >&2; failed=1; }

# ---- 2. replay -------------------------------------------------------------------------------------
echo "replaybench.sh: replaying..." >&2
"$RETROVISOR" --replay "$W/r.rvr" --serial file:"$W/replay.txt" --stats </dev/null >/dev/null 2>"$W/replay.err"
echo $? >"$W/replay.status"; check_run replay
RP=$(stat_of "$W/replay.err" cpu_s)
strip_ms() { sed 's/ms=[0-9.]*//; s/uptime=[0-9.]*//; s/\[ *[0-9.]*\]//' "$1"; }
if [ "$(stat_of "$W/replay.err" guest_insns)" != "$INSNS" ] || ! cmp -s "$W/rec$REPS.txt" "$W/replay.txt"; then
    echo "replaybench.sh: the replay's output or instruction count differs from the recording's" >&2
    failed=1
fi

# ---- 3. going backwards in gdb ---------------------------------------------------------------
echo "replaybench.sh: gdb session on the replay (reverse-stepi, reverse-continue)..." >&2
cat >"$W/session.gdb" <<GDB
set confirm off
set pagination off
target remote :$PORT
python
import re, time
def at():
    m = re.search(r"at instruction (\d+)", gdb.execute("monitor info replay", to_string=True))
    return int(m.group(1)) if m else -1
def op(what, cmd):
    a = at(); t0 = time.time(); gdb.execute(cmd, to_string=True); t = time.time() - t0
    print("OP %s|%s|%.3f|%d|%d" % (what, cmd, t, a, at()))
op("forward", "continue")
for i in range(3): op("reverse-stepi at the end", "reverse-stepi")
gdb.execute("watch *(char*)$SIEVE", to_string=True)
op("reverse-continue to a watchpoint", "reverse-continue")
for i in range(3): op("reverse-stepi there", "reverse-stepi")
gdb.execute("delete", to_string=True)
gdb.execute("break *$MARK", to_string=True)
for k in range(2):
    op("reverse-continue to a breakpoint", "reverse-continue")
    for i in range(3): op("reverse-stepi there", "reverse-stepi")
gdb.execute("delete", to_string=True)
op("reverse-continue to the start", "reverse-continue")
gdb.execute("break *$K_SIEVE", to_string=True)
op("forward to a breakpoint", "continue")
for i in range(3): op("reverse-stepi after going forward", "reverse-stepi")
gdb.execute("delete", to_string=True)
for line in gdb.execute("monitor info replay", to_string=True).splitlines(): print("INFO " + line)
end
kill
GDB
"$RETROVISOR" --replay "$W/r.rvr" --gdb "$PORT" --checkpoint-mem "$CHECKPOINT_MEM" --serial file:"$W/gdb.txt" \
    </dev/null >/dev/null 2>"$W/gdb.err" &
rvpid=$!
for _ in $(seq 50); do grep -q "waiting for gdb" "$W/gdb.err" && break; sleep 0.1; done
timeout 1800 gdb -nx -batch -x "$W/session.gdb" >"$W/gdb.out" 2>&1
wait $rvpid 2>/dev/null; rvpid=
grep -q '^OP ' "$W/gdb.out" || { echo "replaybench.sh: the gdb session failed: $(tail -3 "$W/gdb.out")" >&2; failed=1; }

# ---- report --------------------------------------------------------------------------------------
echo
echo "Record, replay and reverse execution: Linux benchmark guest (vmlinux, lean), $INSNS guest instructions"
printf '%-34s %10s\n' "run (median of $REPS, CPU s)" "seconds"
printf '%-34s %10s\n' "plain" "$P" "--record" "$R" "--replay" "$RP"
awk -v p="$P" -v r="$R" -v b="$(stat -c %s "$W/r.rvr" 2>/dev/null || echo 0)" 'BEGIN {
    printf "record overhead: %+.1f%% (goal: at most +5%%); log %d bytes\n", (r - p) / p * 100, b }'
echo
printf '%-36s %-18s %9s %14s %14s %12s\n' "gdb" "command" "seconds" "from insn" "to insn" "M insns/s"
max_rsi=0
while IFS='|' read -r what cmd secs from to; do
    what=${what#OP }
    dist=$((from > to ? from - to : to - from))
    rate=$(awk -v d="$dist" -v s="$secs" 'BEGIN { if (s > 0 && d > 1000) printf "%.0f", d / s / 1e6; else print "-" }')
    printf '%-36s %-18s %9s %14s %14s %12s\n' "$what" "$cmd" "$secs" "$from" "$to" "$rate"
    [ "$cmd" = reverse-stepi ] && max_rsi=$(awk -v a="$max_rsi" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
done < <(grep '^OP ' "$W/gdb.out")
echo "slowest reverse-stepi: $max_rsi s (goal: under 0.1 s)"
grep '^OP reverse-continue to a watchpoint' "$W/gdb.out" | awk -F'|' '{
    d = $4 - $5; printf "reverse-continue to the watchpoint: %.2e instructions back in %.2f s (goal: 1e9 in under 5 s; at this rate 1e9 takes %.1f s)\n", d, $3, $3 / d * 1e9 }'
grep '^INFO ' "$W/gdb.out" | sed 's/^INFO //'
exit $failed
