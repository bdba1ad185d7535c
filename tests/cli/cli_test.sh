#!/usr/bin/env bash
# cli_test.sh RETROVISOR NASM CASE: one end-to-end test of the command line. Prints what
# it checked; exits 0 only if every check passed.
set -uo pipefail
if [ $# -ne 3 ]; then echo "usage: $0 RETROVISOR NASM CASE" >&2; exit 2; fi
RV=$1 NASM=$2 CASE=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/rv_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
failed=0

fail() { echo "FAIL [$CASE]: $*" >&2; failed=1; }
show() { echo "--- stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"; echo "--- status: $status"; }

# run ARGS...: runs retrovisor with a 30 s limit; sets $status, $T/out, $T/err.
run() {
    timeout 30 "$RV" "$@" >"$T/out" 2>"$T/err"
    status=$?
    [ $status -eq 124 ] && fail "timed out: $*"
}

expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"; }
expect_stdout() { [ "$(cat "$T/out")" = "$1" ] || fail "stdout is '$(cat "$T/out")', expected '$1'"; }
expect_stderr_has() { grep -qF -- "$1" "$T/err" || fail "stderr does not contain '$1'"; }

# usage_error PATTERN ARGS...: exit status 2, nothing on stdout, exactly one line on
# stderr starting "retrovisor: error: " and containing PATTERN.
usage_error() {
    local pattern=$1; shift
    run "$@"
    expect_status 2
    [ -s "$T/out" ] && fail "stdout not empty for: $*"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "stderr is not one line for: $*"
    grep -q '^retrovisor: error: ' "$T/err" || fail "stderr does not start with 'retrovisor: error: ' for: $*"
    grep -qiF -- "$pattern" "$T/err" || fail "error for '$*' does not mention '$pattern'"
    show
}

# rom NAME: assembles stdin (16-bit code starting at F000:F000) into $T/NAME.bin, a 4 KiB
# ROM whose reset vector (F000:FFF0) jumps to the start of the code.
rom() {
    { echo "bits 16"; echo "org 0xF000"; echo "start:"; cat
      echo "times 0xFF0-(\$-\$\$) db 0xF4"
      echo "jmp 0xF000:start"
      echo "times 0x1000-(\$-\$\$) db 0xF4"; } >"$T/$1.asm"
    "$NASM" -f bin -o "$T/$1.bin" "$T/$1.asm" || { echo "nasm failed" >&2; exit 1; }
}

hi_rom() {
    rom hi <<'ASM'
        mov al, 'h'
        out 0xE9, al
        mov al, 'i'
        out 0xE9, al
        mov al, 0x10
        out 0xF4, al
        hlt
ASM
}

# mb_kernel NAME: assembles stdin (32-bit code) into $T/NAME.bin, a Multiboot v1 kernel
# (a.out kludge) loaded at 1 MiB.
mb_kernel() {
    { echo "bits 32"; echo "org 0x100000"
      echo "hdr: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), hdr, hdr, end, end, start"
      echo "start:"; cat; echo "end:"; } >"$T/$1.asm"
    "$NASM" -f bin -o "$T/$1.bin" "$T/$1.asm" || { echo "nasm failed" >&2; exit 1; }
}

# echo_kernel [store]: a Multiboot kernel that echoes each byte from COM1 (polling LSR.DR)
# until it reads '.', then powers off; with "store" it also keeps every byte read in RAM at
# 2 MiB (so that different input leaves a different machine).
echo_kernel() {
    local keep="" start=""
    if [ "${1:-}" = store ]; then start="mov edi, 0x200000"; keep="stosb"; fi
    mb_kernel echo <<ASM
        $start
.wait:  mov dx, 0x3FD
        in al, dx
        test al, 1
        jz .wait
        mov dx, 0x3F8
        in al, dx
        $keep
        cmp al, '.'
        je .off
        out dx, al
        jmp .wait
.off:   mov dx, 0x604
        mov ax, 0x2000
        out dx, ax
        hlt
ASM
}

# A Multiboot kernel that prints "hello" on COM1 and powers off through PM1a_CNT (0x604).
hello_kernel() {
    mb_kernel hello <<'ASM'
        mov dx, 0x3F8
        mov esi, msg
.l:     lodsb
        test al, al
        jz .off
        out dx, al
        jmp .l
.off:   mov dx, 0x604
        mov ax, 0x2000
        out dx, ax
        cli
        hlt
msg:    db "hello", 10, 0
ASM
}

case $CASE in
help)
    run --help
    expect_status 0
    for w in --bios --memory --debugcon --max-insns --trace --on-triple-fault --stats "Exit statuses" "(V<<1)|1"; do
        grep -qF -- "$w" "$T/out" || fail "--help does not mention '$w'"
    done ;;
version)
    run --version
    expect_status 0
    grep -qE '^retrovisor [0-9]+\.[0-9]+' "$T/out" || fail "no version line" ;;
no_bios)          usage_error "--bios" ;;
missing_value)    usage_error "bios" --bios ;;
missing_file)     usage_error "/nonexistent/rom.bin" --bios /nonexistent/rom.bin ;;
directory_bios)   usage_error "directory" --bios "$T" ;;
empty_bios)       : >"$T/empty.bin"; usage_error "empty" --bios "$T/empty.bin" ;;
big_bios)         truncate -s 17M "$T/big.bin"; usage_error "16 MiB" --bios "$T/big.bin" ;;
unknown_option)   hi_rom; usage_error "--frobnicate" --bios "$T/hi.bin" --frobnicate ;;
stray_argument)   hi_rom; usage_error "extra.bin" --bios "$T/hi.bin" extra.bin ;;
bad_memory)
    hi_rom
    for m in 12Q abc 0 512K 100G 1.2.3M ""; do usage_error "memory" --bios "$T/hi.bin" -m "$m"; done
    usage_error "'7X'" --bios "$T/hi.bin" --memory 7X ;;
bad_debugcon)     hi_rom; usage_error "tty" --bios "$T/hi.bin" --debugcon tty ;;
bad_max_insns)
    hi_rom
    usage_error "max-insns" --bios "$T/hi.bin" --max-insns -5
    usage_error "max-insns" --bios "$T/hi.bin" --max-insns 12abc ;;
bad_triple_fault) hi_rom; usage_error "on-triple-fault" --bios "$T/hi.bin" --on-triple-fault maybe ;;
bad_debugcon_file) hi_rom; usage_error "/nonexistent/dir/con.txt" --bios "$T/hi.bin" --debugcon file:/nonexistent/dir/con.txt ;;
bad_trace_file)   hi_rom; usage_error "/nonexistent/dir/trace.txt" --bios "$T/hi.bin" --trace /nonexistent/dir/trace.txt ;;
bad_cpu)          hi_rom; usage_error "unknown CPU model 'pentium'" --bios "$T/hi.bin" --cpu pentium ;;
cpu_models)
    # CPUID.1:ECX.SSE3 and .POPCNT under each model: "y"/"n" each
    rom cpuid <<'ASM'
        mov eax, 1
        cpuid
        mov al, 'n'
        test cl, 1
        jz .a
        mov al, 'y'
.a:     out 0xE9, al
        mov al, 'n'
        test ecx, 1 << 23
        jz .b
        mov al, 'y'
.b:     out 0xE9, al
        mov al, 0
        out 0xF4, al
        hlt
ASM
    run --bios "$T/cpuid.bin" --debugcon stdio
    show; expect_status 1; expect_stdout "yy"
    run --bios "$T/cpuid.bin" --debugcon stdio --cpu max
    show; expect_status 1; expect_stdout "yy"
    run --bios "$T/cpuid.bin" --debugcon stdio --cpu v1
    show; expect_status 1; expect_stdout "nn" ;;
hi_exit)
    hi_rom
    run --bios "$T/hi.bin" --debugcon stdio
    show
    expect_status $(((0x10 << 1) | 1))
    expect_stdout "hi" ;;
debugcon_none)
    hi_rom
    run --bios "$T/hi.bin"
    expect_status 33
    expect_stdout "" ;;
debugcon_file)
    hi_rom
    run --bios "$T/hi.bin" --debugcon "file:$T/con.txt"
    expect_status 33
    expect_stdout ""
    [ "$(cat "$T/con.txt")" = "hi" ] || fail "console file holds '$(cat "$T/con.txt")'" ;;
halted)
    rom halt <<'ASM'
        mov al, 'x'
        out 0xE9, al
        cli
        hlt
ASM
    run --bios "$T/halt.bin" --debugcon stdio
    show
    expect_status 6
    expect_stdout "x"
    expect_stderr_has "guest halted with interrupts disabled" ;;
halted_sti)
    rom idle <<'ASM'
        sti
        hlt
ASM
    # unpaced: the 600 s of virtual time without an interrupt pass at once
    run --bios "$T/idle.bin" --clock virtual,pace=off
    show
    expect_status 6
    expect_stderr_has "halted" ;;
max_insns)
    rom loop <<'ASM'
        jmp $
ASM
    run --bios "$T/loop.bin" --max-insns 1000 --stats
    show
    expect_status 5
    expect_stderr_has "instruction limit reached"
    expect_stderr_has "guest_insns=1000 " ;;
stats)
    hi_rom
    run --bios "$T/hi.bin" --stats
    show
    expect_status 33
    # the far jump at the reset vector, then mov/out three times
    expect_stderr_has "guest_insns=7 "
    grep -qE 'mips=[0-9]+\.[0-9]' "$T/err" || fail "no mips= in the stats line" ;;
trace)
    rom tr <<'ASM'
        mov ax, 0x1234
        mov al, 0x10
        out 0xF4, al
ASM
    run --bios "$T/tr.bin" --trace "$T/trace.txt"
    expect_status 33
    echo "--- trace:"; cat "$T/trace.txt"
    [ "$(wc -l <"$T/trace.txt")" -eq 4 ] || fail "trace has $(wc -l <"$T/trace.txt") lines, expected 4"
    l1=$(sed -n 1p "$T/trace.txt"); l2=$(sed -n 2p "$T/trace.txt"); l4=$(sed -n 4p "$T/trace.txt")
    case $l1 in f000:fff0*"ea 00 f0 00 f0"*jmp*"0xf000:0xf000"*cs=f000*) ;; *) fail "line 1: '$l1'";; esac
    case $l2 in f000:f000*"b8 34 12"*"mov ax, 0x1234"*eax=00001234*) ;; *) fail "line 2: '$l2'";; esac
    case $l4 in f000:f005*"e6 f4"*"out 0xf4, al"*) ;; *) fail "line 4: '$l4'";; esac
    # A faulting instruction: "!#UD" on its line, then what the delivery changed.
    rom ud <<'ASM'
        xor ax, ax
        mov ds, ax
        mov word [6*4], handler
        mov word [6*4+2], 0xF000
        ud2
handler:
        mov al, 0x10
        out 0xF4, al
ASM
    run --bios "$T/ud.bin" --trace "$T/ud.txt"
    expect_status 33
    echo "--- trace:"; cat "$T/ud.txt"
    grep -qE '^f000:f010 +0f 0b +ud2 +!#UD$' "$T/ud.txt" || fail "no '!#UD' line for ud2"
    grep -qE '^  delivered: esp=0000fffa$' "$T/ud.txt" || fail "no 'delivered: esp=0000fffa' line"
    grep -qE '^f000:f012 ' "$T/ud.txt" || fail "the handler's first instruction is not traced" ;;
memory_sizes)
    hi_rom
    for m in 1M 2 512M 2G 1.5G 4096K 16MiB; do
        run --bios "$T/hi.bin" -m "$m"
        expect_status 33
    done ;;
triple_fault_reset)
    # Real mode with an IDT limit of 0: INT3 cannot be delivered (#GP), nor can the #GP,
    # nor the #DF: a triple fault (SDM Vol.3A §20.1.4: limit check on the IVT).
    rom tf <<'ASM'
        mov al, 'T'
        out 0xE9, al
        lidt [cs:idt0]
        int3
        hlt
idt0:   dw 0
        dd 0
ASM
    run --bios "$T/tf.bin" --debugcon stdio
    show
    expect_status 4
    expect_stdout "T"
    expect_stderr_has "triple fault"
    run --bios "$T/tf.bin" --debugcon stdio --on-triple-fault reset --max-insns 100 --stats
    show
    expect_status 5
    # 6 counts per boot: 4 instructions retire (the reset vector's far jump, mov, out, lidt;
    # the faulting int3 does not) and 2 deliveries are attempted (#GP, #DF; each delivery
    # counts one, cpu/interrupts.cpp): 17 boots in 100, the last one stopped by the limit.
    expect_stdout "TTTTTTTTTTTTTTTTT"
    expect_stderr_has "resetting the machine"
    grep -qE 'resets=16$' "$T/err" || fail "stderr does not report resets=16" ;;
demo)
    [ -f "${RV_DEMO_ROM:-}" ] || { fail "no demo ROM at '${RV_DEMO_ROM:-}' (RV_DEMO_ROM)"; exit 1; }
    run --bios "$RV_DEMO_ROM" --debugcon stdio
    show
    expect_status 1
    grep -q "Retrovisor demo ROM" "$T/out" || fail "no demo banner"
    grep -q "in 64-bit mode" "$T/out" || fail "the demo did not reach long mode" ;;
kernel_boot)
    hello_kernel
    run --kernel "$T/hello.bin" --serial stdio --append "x=1"
    show; expect_status 0; expect_stdout "hello"; expect_stderr_has "guest powered off"
    run --kernel "$T/hello.bin" --serial "file:$T/serial.txt"
    show; expect_status 0; expect_stdout ""
    [ "$(cat "$T/serial.txt")" = "hello" ] || fail "serial file is '$(cat "$T/serial.txt")'" ;;
serial_input)
    echo_kernel
    printf 'abc\001\001.' | timeout 30 "$RV" --kernel "$T/echo.bin" --serial stdio >"$T/out" 2>"$T/err"
    status=$?
    show; expect_status 0; expect_stdout "abc"$'\001'; expect_stderr_has "guest powered off"
    # Ctrl-A X quits a guest that never ends by itself.
    printf 'q\001x' | timeout 30 "$RV" --kernel "$T/echo.bin" --serial stdio >"$T/out" 2>"$T/err"
    status=$?
    show; expect_status 0; expect_stdout "q"; expect_stderr_has "Ctrl-A X" ;;
kernel_missing)   usage_error "/nonexistent/vmlinux" --kernel /nonexistent/vmlinux ;;
kernel_not_a_kernel)
    head -c 20000 /dev/zero | tr '\0' 'x' >"$T/junk.bin"
    usage_error "junk.bin" --kernel "$T/junk.bin" ;;
kernel_truncated)
    hello_kernel
    head -c 40 "$T/hello.bin" >"$T/short.bin"
    usage_error "short.bin" --kernel "$T/short.bin" ;;
kernel_empty)     : >"$T/empty.bin"; usage_error "empty" --kernel "$T/empty.bin" ;;
kernel_big_initrd)
    hello_kernel; truncate -s 17M "$T/initrd.img"
    usage_error "initrd" --kernel "$T/hello.bin" --initrd "$T/initrd.img" -m 16M ;;
kernel_small_ram) hello_kernel; usage_error "hello.bin" --kernel "$T/hello.bin" -m 1M ;;
kernel_and_bios)  hello_kernel; hi_rom; usage_error "--kernel" --kernel "$T/hello.bin" --bios "$T/hi.bin" ;;
initrd_no_kernel) hi_rom; usage_error "--kernel" --bios "$T/hi.bin" --initrd "$T/hi.bin" ;;
bad_serial)       hello_kernel; usage_error "--serial" --kernel "$T/hello.bin" --serial tty ;;
serial_ports)
    # One line on each of COM1-COM4 (0x3F8, 0x2F8, 0x3E8, 0x2E8); each --serial names the next
    # port's host side; COM3 has none, so its line goes nowhere.
    mb_kernel ports <<'ASM'
        mov esp, 0x90000        ; Multiboot leaves ESP undefined
        mov dx, 0x3F8
        mov esi, m1
        call puts
        mov dx, 0x2F8
        mov esi, m2
        call puts
        mov dx, 0x3E8
        mov esi, m3
        call puts
        mov dx, 0x2E8
        mov esi, m4
        call puts
        mov dx, 0x604
        mov ax, 0x2000
        out dx, ax
        cli
        hlt
puts:   lodsb
        test al, al
        jz .d
        out dx, al
        jmp puts
.d:     ret
m1:     db "on com1", 10, 0
m2:     db "on com2", 10, 0
m3:     db "on com3", 10, 0
m4:     db "on com4", 10, 0
ASM
    run --kernel "$T/ports.bin" --serial "file:$T/c1" --serial "file:$T/c2" --serial none --serial "file:$T/c4"
    expect_status 0
    [ "$(cat "$T/c1")" = "on com1" ] || fail "COM1 file: '$(cat "$T/c1")'"
    [ "$(cat "$T/c2")" = "on com2" ] || fail "COM2 file: '$(cat "$T/c2")'"
    [ "$(cat "$T/c4")" = "on com4" ] || fail "COM4 file: '$(cat "$T/c4")'"
    run --kernel "$T/ports.bin" --serial stdio --serial "file:$T/d2"
    expect_status 0
    expect_stdout "on com1"
    [ "$(cat "$T/d2")" = "on com2" ] || fail "COM2 file with COM1 on stdio: '$(cat "$T/d2")'"
    usage_error "at most 4" --kernel "$T/ports.bin" --serial none --serial none --serial none --serial none --serial none
    usage_error "stdio is for COM1" --kernel "$T/ports.bin" --serial none --serial stdio ;;
bad_gdb)
    hello_kernel
    usage_error "--gdb: expected a TCP port" --kernel "$T/hello.bin" --gdb 0
    usage_error "--gdb: expected a TCP port" --kernel "$T/hello.bin" --gdb 70000
    usage_error "--gdb needs the interpreter" --kernel "$T/hello.bin" --gdb 1234 --accel kvm
    # --checkpoint-mem sizes the checkpoints of a replay under gdb, nothing else.
    usage_error "--checkpoint-mem is for --gdb with --replay or --record" --kernel "$T/hello.bin" --checkpoint-mem 1G
    usage_error "--checkpoint-mem is for --gdb with --replay or --record" --replay "$T/none.rvr" --checkpoint-mem 1G
    usage_error "--checkpoint-mem:" --replay "$T/none.rvr" --gdb 1234 --checkpoint-mem lots ;;
bad_smp)          hello_kernel; usage_error "--smp" --kernel "$T/hello.bin" --smp 2 ;;
bad_clock)        hello_kernel; usage_error "--clock" --kernel "$T/hello.bin" --clock wall ;;
fault_storm)
    # The #UD handler faults again on its first instruction: deliveries advance the count,
    # so --max-insns ends the run (issue 15's seven-instruction reproducer).
    python3 -c "r=bytearray(b'\xf4'*65536);c=bytes.fromhex('31c08ed8c706180080ffc7061a0000f0b800908ed00f0b');r[0xFF00:0xFF00+len(c)]=c;r[0xFF80:0xFF82]=b'\x0f\x0b';r[0xFFF0:0xFFF5]=bytes.fromhex('ea00ff00f0');open('$T/storm.bin','wb').write(r)"
    run --bios "$T/storm.bin" --max-insns 100
    show; expect_status 5; expect_stderr_has "instruction limit reached"
    run --bios "$T/storm.bin" --max-insns 200000 --stats
    show; expect_status 5; expect_stderr_has "guest_insns=200000 " ;;
output_full)
    # A full disk (/dev/full) under each output: one line naming it, status 2.
    hello_kernel
    run --kernel "$T/hello.bin" --serial file:/dev/full
    show; expect_status 2; expect_stderr_has "cannot write to '/dev/full': No space left on device"
    hi_rom
    run --bios "$T/hi.bin" --debugcon file:/dev/full
    show; expect_status 2; expect_stderr_has "cannot write to '/dev/full': No space left on device"
    run --bios "$T/hi.bin" --trace /dev/full
    show; expect_status 2; expect_stderr_has "cannot write to the trace file: No space left on device" ;;
snapshot_roundtrip)
    # The demo ROM saved at two points: each snapshot continues to the same end (the same
    # debug-console bytes after its point, the same instruction count), a snapshot saved again
    # right after loading is the same file byte for byte, and one saved later from a loaded
    # run equals the one the uninterrupted run saved there.
    demo=${RV_DEMO_ROM:?}
    run --bios "$demo" --debugcon file:"$T/full.txt" --stats --savevm-at 20000:"$T/a.rvs" --savevm-at 30000:"$T/b.rvs"
    show; expect_status 1
    total=$(grep -o 'guest_insns=[0-9]*' "$T/err" | grep -o '[0-9]*$')
    [ -s "$T/a.rvs" ] && [ -s "$T/b.rvs" ] || fail "--savevm-at wrote no snapshot"
    ls "$T"/*.tmp 2>/dev/null && fail "a temporary file was left behind"
    run --loadvm "$T/a.rvs" --debugcon file:"$T/rest.txt" --stats --savevm-at 20000:"$T/a2.rvs" --savevm-at 30000:"$T/b2.rvs"
    show; expect_status 1
    rest=$(grep -o 'guest_insns=[0-9]*' "$T/err" | grep -o '[0-9]*$')
    [ $((20000 + rest)) -eq "$total" ] || fail "the loaded run ended at 20000 + $rest, the full run at $total"
    n=$(stat -c %s "$T/rest.txt")
    [ "$n" -gt 0 ] || fail "the loaded run printed nothing"
    tail -c "$n" "$T/full.txt" | cmp -s - "$T/rest.txt" || fail "the loaded run's output is not the end of the full run's"
    cmp -s "$T/a.rvs" "$T/a2.rvs" || fail "a snapshot saved again after loading differs from the one loaded"
    cmp -s "$T/b.rvs" "$T/b2.rvs" || fail "the snapshot at 30000 from the loaded run differs from the full run's"
    # The machine is the snapshot's: its command line, not this one's; its files must not change.
    usage_error "cannot be changed" --loadvm "$T/a.rvs" -m 64M
    usage_error "--savevm-at: expected INSNS:FILE" --bios "$demo" --savevm-at 100
    usage_error "--savevm-at: expected INSNS:FILE" --bios "$demo" --savevm-at x:"$T/x.rvs"
    usage_error "not supported yet" --loadvm "$T/a.rvs" --record "$T/r.rvr"
    cp "$demo" "$T/demo.bin"
    run --bios "$T/demo.bin" --savevm-at 20000:"$T/c.rvs" --max-insns 20001
    printf 'x' >>"$T/demo.bin"
    run --loadvm "$T/c.rvs"
    show; expect_status 2; expect_stderr_has "differs from the file the snapshot's machine read"
    rm "$T/demo.bin"
    run --loadvm "$T/c.rvs"
    show; expect_status 2; expect_stderr_has "demo.bin"
    # A snapshot that cannot be written: status 2, the reason, no file left behind.
    run --bios "$demo" --savevm-at 100:"$T/no/such/dir.rvs"
    show; expect_status 2; expect_stderr_has "--savevm-at: cannot create"
    ;;
snapshot_errors)
    # Malformed snapshots: truncated at every 64th byte, single bit flips, another version,
    # not a snapshot: one line naming the file, status 2, never a crash or a hang.
    demo=${RV_DEMO_ROM:?}
    run --bios "$demo" --savevm-at 20000:"$T/a.rvs" --max-insns 20001
    size=$(stat -c %s "$T/a.rvs")
    [ "$size" -gt 100 ] || fail "no snapshot to break"
    one_line_error() {   # FILE WHAT
        timeout 30 "$RV" --loadvm "$1" --debugcon none >/dev/null 2>"$T/err"; st=$?
        [ $st -eq 2 ] || fail "$2: status $st, expected 2: $(cat "$T/err")"
        [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$2: not one line: $(cat "$T/err")"
        grep -q "^retrovisor: error: --loadvm: .*$(basename "$1")" "$T/err" || fail "$2: the message does not name the file: $(cat "$T/err")"
    }
    for ((cut = 0; cut < size; cut += 64)); do
        head -c $cut "$T/a.rvs" >"$T/cut.rvs"
        one_line_error "$T/cut.rvs" "truncated at $cut of $size bytes"
    done
    python3 - "$T/a.rvs" "$T" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
for at in range(0, len(b), 53):
    f = bytearray(b); f[at] ^= 1 << (at % 8)
    open(f"{sys.argv[2]}/flip-{at}.rvs", 'wb').write(f)
f = bytearray(b); f[4] = 3
open(f"{sys.argv[2]}/v3.rvs", 'wb').write(f)
PY
    for ((at = 0; at < size; at += 53)); do
        one_line_error "$T/flip-$at.rvs" "bit flip at byte $at"
    done
    one_line_error "$T/v3.rvs" "version 3"
    grep -qF "snapshot version 3; this build reads version 2 (it was written by a newer retrovisor)" "$T/err" || fail "no newer-version message: $(cat "$T/err")"
    one_line_error "$demo" "a ROM"
    grep -qF "not a retrovisor snapshot" "$T/err" || fail "a ROM was not refused as a non-snapshot"
    : >"$T/empty.rvs"; one_line_error "$T/empty.rvs" "an empty file"
    mkdir "$T/dir.rvs"; one_line_error "$T/dir.rvs" "a directory"
    one_line_error "$T/missing.rvs" "a missing file"
    echo "checked $(( (size + 63) / 64 )) truncations and $(( (size + 52) / 53 )) bit flips of a $size-byte snapshot"
    ;;
record_replay)
    # Input typed with pauses is recorded; the replay prints the same bytes from the log
    # alone (stdin is not read) and ends at the same instruction. The kernel also keeps what
    # it read in RAM, so a different input leaves a different machine.
    echo_kernel store
    { printf 'abc'; sleep 0.3; printf 'xyz'; sleep 0.3; printf '.'; } |
        timeout 30 "$RV" --kernel "$T/echo.bin" --serial stdio --record "$T/r.rvr" --stats >"$T/out" 2>"$T/err"
    status=$?
    show; expect_status 0; expect_stdout "abcxyz"
    live_insns=$(grep -o 'guest_insns=[0-9]*' "$T/err")
    cp "$T/out" "$T/live.txt"
    run --replay "$T/r.rvr" --serial file:"$T/replayed.txt" --stats </dev/null
    show; expect_status 0
    cmp -s "$T/live.txt" "$T/replayed.txt" || fail "the replay's serial output differs from the live run's"
    grep -qF "$live_insns " "$T/err" || fail "the replay did not end at the live run's $live_insns"
    # stdout too (--serial stdio under --replay writes, never reads)
    echo "typed" | timeout 30 "$RV" --replay "$T/r.rvr" --serial stdio >"$T/out" 2>"$T/err"; status=$?
    show; expect_status 0; expect_stdout "abcxyz"
    # A modified log (one input byte changed, its checksum made right): the replay stops
    # with the first difference it meets.
    python3 - "$T/r.rvr" "$T/mod.rvr" <<'PY'
import sys, struct, zlib
b = bytearray(open(sys.argv[1], 'rb').read())
hl = struct.unpack_from('<I', b, 8)[0]
p = 12 + hl + 4
def varint(p):
    v = s = 0
    while True:
        x = b[p]; p += 1; v |= (x & 0x7F) << s; s += 7
        if not x & 0x80: return v, p
while p < len(b):
    start = p; kind = b[p]; p += 1
    _, p = varint(p); _, p = varint(p); vstart = p; val, p = varint(p)
    if kind == 4: _, p = varint(p)
    if kind == 1 and val == ord('y'):
        b[vstart] = ord('Y')
        struct.pack_into('<I', b, p, zlib.crc32(bytes(b[start:p])))
        break
    p += 4
open(sys.argv[2], 'wb').write(b)
PY
    run --replay "$T/mod.rvr" --serial file:"$T/mod.txt"
    show; expect_status 2; expect_stderr_has "replay diverged"
    [ "$(cat "$T/mod.txt")" = "abcxYz" ] || fail "the modified replay printed '$(cat "$T/mod.txt")'"
    # Truncated at every byte (so also at each record boundary, where the guest then polls
    # for input the log no longer holds), and single bit flips: one line naming the log,
    # status 2, never a hang.
    size=$(stat -c %s "$T/r.rvr")
    for ((cut = 0; cut < size; cut++)); do
        head -c $cut "$T/r.rvr" >"$T/cut.rvr"
        timeout 30 "$RV" --replay "$T/cut.rvr" >/dev/null 2>"$T/err"; st=$?
        [ $st -eq 2 ] || fail "log truncated at $cut of $size bytes: status $st"
        grep -q "cut.rvr" "$T/err" || fail "log truncated at $cut: the message does not name the log: $(cat "$T/err")"
    done
    for ((at = 0; at < size; at += 7)); do
        python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[3])]^=0x04; open(sys.argv[2],'wb').write(b)" \
            "$T/r.rvr" "$T/flip.rvr" $at
        timeout 30 "$RV" --replay "$T/flip.rvr" >/dev/null 2>"$T/err"; st=$?
        [ $st -eq 2 ] || fail "bit flip at byte $at: status $st ($(cat "$T/err"))"
    done
    echo "checked $size truncations and $(( (size + 6) / 7 )) bit flips"
    usage_error "--replay runs the recorded machine" --replay "$T/r.rvr" --kernel "$T/echo.bin"
    usage_error "virtual clock" --kernel "$T/echo.bin" --record "$T/x.rvr" --clock realtime
    usage_error "cannot open" --replay /nonexistent.rvr ;;
qemu_flags)
    # QEMU's spellings: the ones Retrovisor has run; the others are refused by name.
    hi_rom
    run -bios "$T/hi.bin" -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 64M -display none
    show; expect_status 33; expect_stdout "hi"
    run -bios "$T/hi.bin" -m size=64M -debugcon file:"$T/con.txt" -serial null -monitor none -accel tcg -cpu qemu64 -machine pc
    show; expect_status 33
    [ "$(cat "$T/con.txt")" = "hi" ] || fail "-debugcon file: holds '$(cat "$T/con.txt")'"
    run -bios "$T/hi.bin" -m 64Mi -d in_asm -D "$T/trace.txt"
    show; expect_status 33
    grep -q "out dx, al\|out 0xe9, al" "$T/trace.txt" || fail "-d in_asm -D FILE wrote no trace"
    hello_kernel
    run -kernel "$T/hello.bin" -append "x=1" -nographic -no-reboot
    show; expect_status 0; expect_stdout "hello"
    run -kernel "$T/hello.bin" -serial mon:stdio
    show; expect_status 0; expect_stdout "hello"
    usage_error "-machine q35 (this board is an i440FX PC)" -machine q35 -kernel "$T/hello.bin"
    usage_error "-hda" -kernel "$T/hello.bin" -hda disk.img
    usage_error "-mem-prealloc" -mem-prealloc -kernel "$T/hello.bin"
    usage_error "-S without" -S -kernel "$T/hello.bin"
    usage_error "-serial pty" -serial pty -kernel "$T/hello.bin"
    usage_error "-cpu Haswell" -cpu Haswell -kernel "$T/hello.bin"
    usage_error "-d guest_errors" -d guest_errors -kernel "$T/hello.bin"
    usage_error "-device e1000" -device e1000 -kernel "$T/hello.bin"
    usage_error "unrecognised option '--s'" --s -kernel "$T/hello.bin"
    usage_error "unrecognised option '-foo'" -foo -kernel "$T/hello.bin"
    # our own spellings are unchanged, also where a value starts with a dash
    run --kernel "$T/hello.bin" --append "-x -kernel" --serial stdio
    show; expect_status 0; expect_stdout "hello" ;;
ud_messages)
    # An encoding invalid on hardware too is logged as such, with CS:IP in real mode; LOCK on
    # a register form likewise (issue 14 item 11).
    rom movcs <<'ASM'
        mov ax, cs
        mov cs, ax
ASM
    run --bios "$T/movcs.bin" --max-insns 50
    show
    expect_stderr_has "#UD as on hardware (MOV to CS) at f000:f002: 8ec8 (mov cs, ax)"
    grep -q "not implemented" "$T/err" && fail "an architectural #UD was logged as not implemented"
    rom lockreg <<'ASM'
        lock add ax, bx
ASM
    run --bios "$T/lockreg.bin" --max-insns 50
    show
    expect_stderr_has "#UD as on hardware (LOCK on an instruction or form that takes none) at f000:f000" ;;
*)
    echo "unknown case $CASE" >&2
    exit 2 ;;
esac

[ $failed -eq 0 ] && echo "PASS [$CASE]"
exit $failed
