#!/usr/bin/env bash
# gdb_test.sh RETROVISOR NASM: a real gdb drives --gdb. The guest is a tiny Multiboot kernel
# (32-bit flat code at 1 MiB: linear address = EIP). gdb connects, sees the entry point,
# breaks at an instruction, reads registers, single-steps, reads guest memory and code,
# writes a register and lets the guest store it, then continues until the guest powers off
# (gdb: "exited normally"). Also: a write watchpoint, and Ctrl-C (SIGINT to gdb) stopping a
# spinning guest.
set -u
RV=$1 NASM=$2
T=$(mktemp -d)
trap 'kill $rvpid 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL [gdb]: $*"; echo "--- gdb:"; cat "$T/gdb.out" 2>/dev/null; echo "--- retrovisor:"; cat "$T/rv.err" 2>/dev/null; exit 1; }
# gdb is installed by scripts/setup.sh; a host without it skips (77), saying so.
command -v gdb >/dev/null || { echo "SKIP: gdb is not installed (scripts/setup.sh installs it)"; exit 77; }

cat >"$T/k.asm" <<'ASM'
bits 32
org 0x100000
hdr:    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), hdr, hdr, end, end, start
start:  mov eax, 0x11111111
        mov ebx, 0x22222222
bp1:    add eax, ebx
        mov [0x200000], eax
        cmp dword [0x200004], 0         ; set by gdb to make the guest spin
        jne spin
        mov dx, 0x604                   ; ACPI power off
        mov ax, 0x2000
        out dx, ax
        hlt
spin:   jmp spin
end:
ASM
"$NASM" -f bin -o "$T/k.bin" "$T/k.asm" -l "$T/k.lst" || fail "nasm"
entry=0x100020 bp1=0x10002a

start_rv() {
  port=$((20000 + RANDOM % 20000))
  "$RV" --kernel "$T/k.bin" --gdb $port >"$T/rv.out" 2>"$T/rv.err" &
  rvpid=$!
  for _ in $(seq 50); do grep -q "waiting for gdb" "$T/rv.err" && return; sleep 0.1; done
  fail "retrovisor did not start listening"
}

start_rv
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" \
  -ex "printf \"entry=%#x\\n\", \$pc" \
  -ex "break *$bp1" -ex "continue" \
  -ex "printf \"at=%#x eax=%#x ebx=%#x\\n\", \$pc, \$eax, \$ebx" \
  -ex "stepi" -ex "printf \"stepped eax=%#x\\n\", \$eax" \
  -ex "x/2xw $entry" \
  -ex "set \$rax = 0x44444444" -ex "stepi" -ex "x/1xw 0x200000" \
  -ex "set \$xmm1.v4_int32 = {1, 2, 3, 0x7f}" -ex "set \$mxcsr = 0x1fc0" -ex "set \$st0 = 2.5" -ex "stepi" \
  -ex "printf \"xmm1=%x,%x,%x,%x mxcsr=%#x\n\", \$xmm1.v4_int32[0], \$xmm1.v4_int32[1], \$xmm1.v4_int32[2], \$xmm1.v4_int32[3], \$mxcsr" \
  -ex "print \$st0" \
  -ex "delete" -ex "continue" >"$T/gdb.out" 2>&1
wait $rvpid; st=$?
grep -q "entry=0x100020" "$T/gdb.out" || fail "gdb did not see the entry point"
grep -q "at=0x10002a eax=0x11111111 ebx=0x22222222" "$T/gdb.out" || fail "breakpoint stop or registers wrong"
grep -q "stepped eax=0x33333333" "$T/gdb.out" || fail "stepi did not execute the ADD"
grep -qE "0x100020:\s+0x111111b8\s+0x2222bb11" "$T/gdb.out" || fail "code bytes read wrong"
grep -qE "0x200000:\s+0x44444444" "$T/gdb.out" || fail "register write or guest store wrong"
grep -q "xmm1=1,2,3,7f mxcsr=0x1fc0" "$T/gdb.out" || fail "XMM/MXCSR writes did not stick"
grep -qE '^\$[0-9]+ = 2\.5$' "$T/gdb.out" || fail "ST0 write did not stick"
grep -qi "exited normally" "$T/gdb.out" || fail "the guest's power-off did not end gdb's session"
[ $st -eq 0 ] || fail "retrovisor exit status $st after the guest powered off, expected 0"
echo "PASS gdb: entry, breakpoint, registers, stepi, memory read, register writes (GPR, XMM, MXCSR, ST0), exit"

# A write watchpoint: gdb stops right after the MOV that stores the sum, with the new value.
start_rv
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" -ex "watch *(int*)0x200000" \
  -ex "continue" -ex "printf \"after store at=%#x\n\", \$pc" -ex "delete" -ex "continue" >"$T/gdb.out" 2>&1
wait $rvpid; st=$?
grep -q "New value = 858993459" "$T/gdb.out" || fail "the watchpoint did not report the stored value (0x33333333)"
grep -q "after store at=0x100031" "$T/gdb.out" || fail "the watchpoint did not stop after the storing instruction"
grep -qi "exited normally" "$T/gdb.out" || fail "continuing after the watchpoint did not run to the end"
echo "PASS gdb: write watchpoint stops after the store with the new value"

# A hostile client: garbage, bad checksums and malformed packets get error or empty replies;
# the stub keeps serving (a well-formed 'g' still answers) and 'k' ends the run.
start_rv
python3 - "$port" >"$T/gdb.out" 2>&1 <<'PY' || fail "the stub did not survive malformed packets"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def pkt(body):
    return b"$" + body + b"#%02x" % (sum(body) & 0xFF)
def ask(body):
    s.sendall(pkt(body))
    data = b""
    while not (data.count(b"#") and len(data) >= data.rindex(b"#") + 3 and b"$" in data):
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed after %r" % body)
        data += chunk
    return data[data.index(b"$") + 1:data.rindex(b"#")]
s.sendall(b"\x00\xff garbage $g#00 ++--")              # bad checksum: NAKed, ignored
for bad, want in [(b"m", b"E01"), (b"mzz,4", b"E01"), (b"m100000,ffffffffffffffff", None),
                  (b"M100000,4:00", b"E01"), (b"Mffffffffffff0000,1:00", b"E14"), (b"P99=00", b"E01"),
                  (b"Z0,zz,1", b"E01"), (b"Z2,200000,9", b"E01"), (b"qXfer:features:read:target.xml:zz", b"E01"),
                  (b"vCont?", b""), (b"X100000,0:", b""), (b"p1000", b"E01")]:
    got = ask(bad)
    if want is not None and got != want:
        raise SystemExit("%r -> %r, expected %r" % (bad, got, want))
# A packet that never ends ('$' and megabytes without '#'): dropped at 16 KiB (NAK), memory
# stays bounded, the stub keeps serving.
s.sendall(b"$" + b"A" * (4 << 20))
regs = ask(b"g")
if len(regs) != 1072:
    raise SystemExit("g reply has %d hex digits, expected 1072" % len(regs))
s.sendall(pkt(b"k"))
print("survived")
PY
wait $rvpid
grep -q survived "$T/gdb.out" || fail "hostile client"
grep -q "dropped a packet longer than" "$T/rv.err" || fail "the endless packet was not reported"
echo "PASS gdb: malformed packets get error replies and the stub keeps serving"

# Ctrl-C: the guest spins (gdb writes the flag it tests), gdb is interrupted after a second.
start_rv
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" -ex "set *(int*)0x200004 = 1" \
  -ex "shell (sleep 1; kill -INT \$PPID) &" -ex "continue" \
  -ex "printf \"interrupted at=%#x\\n\", \$pc" -ex "kill" >"$T/gdb.out" 2>&1
wait $rvpid; st=$?
grep -qE "interrupted at=0x1000(3[0-9a-f]|4[0-9a-f])" "$T/gdb.out" || fail "Ctrl-C did not stop the spinning guest"
echo "PASS gdb: Ctrl-C stops a running guest (retrovisor status $st after kill)"

# Attach, detach, attach again: the guest spins between the sessions (spin: jmp spin); the
# second gdb stops it where it is, sees it there, and kills it.
start_rv
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" -ex "set *(int*)0x200004 = 1" \
  -ex "detach" >"$T/gdb1.out" 2>&1 || fail "first gdb session: $(cat "$T/gdb1.out")"
sleep 0.5
kill -0 $rvpid 2>/dev/null || fail "the guest did not run on after detach"
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" \
  -ex "printf \"again at=%#x\\n\", \$pc" -ex "kill" >"$T/gdb.out" 2>&1
wait $rvpid; st=$?
grep -qE "again at=0x1000(3[0-9a-f]|4[0-9a-f])" "$T/gdb.out" || fail "the second gdb did not stop the spinning guest"
grep -q "gdb attached again" "$T/rv.err" || fail "no attach message"
grep -q "killed by the debugger" "$T/rv.err" || fail "the second gdb's kill did not end the run"
echo "PASS gdb: attach, detach, attach again"

# Real mode: $pc is the linear address (CS base + IP), from the reset vector on.
printf '\xea\x00\xf0\x00\xf0' > "$T/jmp.bin"   # F000:FFF0: jmp F000:F000
python3 -c "
import sys; r = bytearray(b'\xf4' * 65536); r[0xF000:0xF003] = b'\x90\x90\xf4'; r[0xFFF0:0xFFF5] = open(sys.argv[1], 'rb').read(); open(sys.argv[2], 'wb').write(r)" \
  "$T/jmp.bin" "$T/real.bin"
port=$((20000 + RANDOM % 20000))
"$RV" --bios "$T/real.bin" --gdb $port >"$T/rv.out" 2>"$T/rv.err" &
rvpid=$!
for _ in $(seq 50); do grep -q "waiting for gdb" "$T/rv.err" && break; sleep 0.1; done
timeout 60 gdb -nx -batch -ex "set confirm off" -ex "target remote :$port" \
  -ex "printf \"reset pc=%#x cs=%#x\\n\", \$pc, \$cs" -ex "stepi" -ex "printf \"after pc=%#x cs=%#x\\n\", \$pc, \$cs" \
  -ex "break *0xff001" -ex "continue" -ex "printf \"bp pc=%#x\\n\", \$pc" -ex "kill" >"$T/gdb.out" 2>&1
wait $rvpid
grep -q "reset pc=0xfffffff0 cs=0xf000" "$T/gdb.out" || fail "real-mode \$pc at reset: $(grep pc= "$T/gdb.out")"
grep -q "after pc=0xff000 cs=0xf000" "$T/gdb.out" || fail "real-mode \$pc after the far jump: $(grep pc= "$T/gdb.out")"
grep -q "bp pc=0xff001" "$T/gdb.out" || fail "a real-mode breakpoint at a linear address: $(grep pc= "$T/gdb.out")"
echo "PASS gdb: real-mode \$pc is CS base + IP"
