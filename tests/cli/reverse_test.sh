#!/usr/bin/env bash
# reverse_test.sh RETROVISOR NASM: stock gdb goes backwards in a replay (--replay FILE --gdb
# PORT). A Multiboot kernel adds each byte it reads from COM1 to a variable at 2 MiB and
# echoes it; the run is recorded with input typed in pauses (tens of millions of
# instructions of polling in between). In the replay gdb:
#   - stops at a breakpoint on the ADD, steps forward 40 instructions printing the registers
#     at each, then reverse-steps 40 and must print exactly the same states in reverse order;
#   - reverse-continues with a write watchpoint on the variable: stops at the ADD that wrote
#     it last (before it: the old value in memory), then at the one before;
#   - reverse-continues without breakpoints to the start of the recording ("No more
#     reverse-execution history"), at the kernel's entry point;
#   - continues forward to the recording's end (the same message), and detaches: the replay
#     ends as recorded, with the serial output of the live run exactly once.
#
# reverse_test.sh RETROVISOR NASM live: the same gdb session on a live run recorded with
# --record (--serial stdio, input from a pipe, part of it only arriving while gdb works):
# going back replays the run's own log, going forward past where it had been reads the pipe
# again; the output is printed once, and the log, replayed afterwards, gives the same output
# and instruction count.
set -u
RV=$1 NASM=$2 MODE=${3:-replay}
T=$(mktemp -d)
rvpid=
trap '[ -n "$rvpid" ] && kill $rvpid 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL [reverse]: $*"; echo "--- gdb:"; cat "$T/gdb.out" 2>/dev/null; echo "--- retrovisor:"; cat "$T/rv.err" 2>/dev/null; exit 1; }
command -v gdb >/dev/null || { echo "SKIP: gdb is not installed (scripts/setup.sh installs it)"; exit 77; }

cat >"$T/k.asm" <<'ASM'
bits 32
org 0x100000
hdr:    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), hdr, hdr, end, end, start
start:  xor ecx, ecx
        mov dword [0x200000], 0
poll:   mov dx, 0x3FD
        in al, dx
        test al, 1
        jz poll
        mov dx, 0x3F8
        in al, dx
        cmp al, '.'
        je off
        movzx eax, al
        inc ecx
add_it: add [0x200000], eax             ; the variable the watchpoint watches
        imul ebx, ecx, 7
        lea esi, [ebx + eax * 2]
        xor edi, esi
        out dx, al
        jmp poll
off:    mov dx, 0x604
        mov ax, 0x2000
        out dx, ax
        hlt
end:
ASM
"$NASM" -f bin -o "$T/k.bin" "$T/k.asm" -l "$T/k.lst" || fail "nasm"
addr() { printf '0x%x' $((0x100000 + 0x$(grep -E "^ *[0-9]+ [0-9A-F]{8} [0-9A-F]+ *$1:" "$T/k.lst" | awk '{print $2}'))); }
entry=$(addr start) add_it=$(addr add_it)

port=$((20000 + RANDOM % 20000))
if [ "$MODE" = replay ]; then
    # The recording: input in three bursts with pauses.
    { printf 'ab'; sleep 0.3; printf 'cd'; sleep 0.3; printf 'e.'; } |
        timeout 60 "$RV" --kernel "$T/k.bin" --serial stdio --record "$T/r.rvr" --stats >"$T/live.txt" 2>"$T/rec.err" ||
        fail "the recording failed: $(cat "$T/rec.err")"
    [ "$(cat "$T/live.txt")" = "abcde" ] || fail "the live run printed '$(cat "$T/live.txt")', expected abcde"
    total=$(grep -o 'guest_insns=[0-9]*' "$T/rec.err" | grep -o '[0-9]*$')
    "$RV" --replay "$T/r.rvr" --gdb $port --serial file:"$T/replayed.txt" --stats >"$T/rv.out" 2>"$T/rv.err" &
else
    # Live, recorded: 'e.' arrives a second after the rest, while gdb steps back and forth.
    { printf 'abcd'; sleep 1; printf 'e.'; } |
        "$RV" --kernel "$T/k.bin" --serial stdio --record "$T/r.rvr" --gdb $port --stats >"$T/replayed.txt" 2>"$T/rv.err" &
fi
rvpid=$!
for _ in $(seq 50); do grep -q "waiting for gdb" "$T/rv.err" && break; sleep 0.1; done
grep -q "waiting for gdb" "$T/rv.err" || fail "retrovisor did not start listening"

regs='"%#lx %#lx %#lx %#lx %#lx %#lx %#lx %#lx %#lx\n", $pc, $rax, $rbx, $rcx, $rdx, $rsi, $rdi, $rsp, $eflags'
cat >"$T/cmds.gdb" <<GDB
set confirm off
set pagination off
target remote :$port
printf "entry=%#lx\n", \$pc
monitor info replay
monitor engine kvm
break *$add_it
continue
continue
delete
set \$i = 0
while \$i < 40
  printf "F %d ", \$i
  printf $regs
  stepi
  set \$i = \$i + 1
end
printf "F %d ", \$i
printf $regs
while \$i > 0
  reverse-stepi
  set \$i = \$i - 1
  printf "R %d ", \$i
  printf $regs
end
break *$add_it
continue
continue
delete
printf "before watch: pc=%#lx var=%#x\n", \$pc, *(int*)0x200000
watch *(int*)0x200000
reverse-continue
printf "W1 pc=%#lx var=%#x\n", \$pc, *(int*)0x200000
reverse-continue
printf "W2 pc=%#lx var=%#x\n", \$pc, *(int*)0x200000
python
for cmd in ("set var *(int*)0x200000 = 0x1000", "set var \$rax = 0x1234"):
    try:
        gdb.execute(cmd)
        print("write accepted:", cmd)
    except gdb.error as e:
        print("write refused:", e)
end
printf "after writes var=%#x rax=%#lx\n", *(int*)0x200000, \$rax
delete
reverse-continue
printf "start pc=%#lx\n", \$pc
continue
printf "end var=%#x\n", *(int*)0x200000
monitor info replay
detach
GDB
timeout 120 gdb -nx -batch -x "$T/cmds.gdb" >"$T/gdb.out" 2>&1
wait $rvpid; st=$?; rvpid=
grep -q "entry=$entry" "$T/gdb.out" || fail "gdb did not start at the entry point $entry"
grep '^F ' "$T/gdb.out" | sort >"$T/f.txt"
grep '^R ' "$T/gdb.out" | sed 's/^R /F /' | sort >"$T/r.txt"
[ "$(wc -l <"$T/f.txt")" -eq 41 ] || fail "expected 41 forward states, got $(wc -l <"$T/f.txt")"
[ "$(wc -l <"$T/r.txt")" -eq 40 ] || fail "expected 40 states stepping back, got $(wc -l <"$T/r.txt")"
grep -v '^F 40 ' "$T/f.txt" | cmp -s - "$T/r.txt" || { diff "$T/f.txt" "$T/r.txt"; fail "stepping back did not retrace the forward states"; }
[ "$(cut -d' ' -f3 "$T/f.txt" | sort -u | wc -l)" -gt 5 ] || fail "the forward steps did not move"
# 'a'+'b'+'c' = 0x126 when the breakpoint stopped at the fourth ADD (before adding 'd'); the
# watchpoint going back stops at the ADD of 'c' (var 0xc3 before it), then of 'b' (0x61).
grep -q "before watch: pc=$add_it var=0x126" "$T/gdb.out" || fail "the breakpoint at the fourth ADD did not stop there"
grep -q "W1 pc=$add_it var=0xc3" "$T/gdb.out" || fail "reverse-continue to the watchpoint did not stop before the last write"
grep -q "W2 pc=$add_it var=0x61" "$T/gdb.out" || fail "a second reverse-continue did not stop before the write before"
grep -q "after writes var=0x61 rax=0x62" "$T/gdb.out" || fail "gdb changed the replayed machine (its writes must be refused)"
[ "$(grep -c "write refused" "$T/gdb.out")" -eq 2 ] || fail "gdb was not told that its memory and register writes were refused"
grep -q "start pc=$entry" "$T/gdb.out" || fail "reverse-continue without breakpoints did not reach the start"
[ "$(grep -c 'No more reverse-execution history' "$T/gdb.out")" -ge 2 ] || fail "gdb was not told of the recording's start and end"
grep -q "end var=0x1ef" "$T/gdb.out" || fail "continuing to the end did not add every byte (a+b+c+d+e = 0x1ef)"
grep -q "monitor engine: not from gdb" "$T/gdb.out" || fail "monitor engine was not refused from gdb"
[ $st -eq 0 ] || fail "the run's exit status $st, expected 0 (the guest's power-off)"
[ "$(cat "$T/replayed.txt")" = "abcde" ] || fail "the serial output is '$(cat "$T/replayed.txt")', expected abcde once"
if [ "$MODE" != replay ]; then
    grep -q "recording to $T/r.rvr: at instruction 0; 0 inputs logged" "$T/gdb.out" || fail "monitor info replay at the start of the recording"
    grep -q "recording to $T/r.rvr: at instruction [0-9]*; 6 inputs logged, [0-9]* bytes; the run has ended" "$T/gdb.out" ||
        fail "monitor info replay at the end of the recording"
    # The log of a run that went back and forth is the run's: it replays to the same end.
    total=$(grep -o 'guest_insns=[0-9]*' "$T/rv.err" | grep -o '[0-9]*$')
    timeout 60 "$RV" --replay "$T/r.rvr" --serial file:"$T/again.txt" --stats >/dev/null 2>"$T/again.err"; st=$?
    [ $st -eq 0 ] || fail "replaying the recording made under gdb: status $st: $(cat "$T/again.err")"
    [ "$(cat "$T/again.txt")" = "abcde" ] || fail "the replay of the recording made under gdb printed '$(cat "$T/again.txt")'"
    again=$(grep -o 'guest_insns=[0-9]*' "$T/again.err" | grep -o '[0-9]*$')
    [ "$again" = "$total" ] || fail "the replay ran $again instructions, the recording under gdb $total"
    echo "PASS reverse (live --record): 40 steps forward and back retrace the same states; reverse-continue to a watchpoint twice, to the start; forward to the end past the recorded input; output once; the log replays to the same $total instructions"
    exit 0
fi
# gdb's monitor command: the replay's position, end and inputs at the start and the end.
grep -q "replaying $T/r.rvr: at instruction 0; the recording ends at instruction $total (exit status 0, 0.0% done)" "$T/gdb.out" ||
    fail "monitor info replay at the start"
grep -q "inputs: 0 of 6 delivered; next: serial byte 'a' (0x61) at instruction" "$T/gdb.out" || fail "monitor info replay: the first input"
grep -q "at instruction $total; the recording ends at instruction $total (exit status 0, 100.0% done)" "$T/gdb.out" ||
    fail "monitor info replay at the end"
grep -q "inputs: 6 of 6 delivered; no more input" "$T/gdb.out" || fail "monitor info replay: every input delivered at the end"
echo "PASS reverse: 40 steps forward and back retrace the same states; reverse-continue to a watchpoint twice, to the start; forward to the end; output once ($total instructions)"
