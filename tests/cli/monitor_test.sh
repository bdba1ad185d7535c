#!/usr/bin/env bash
# monitor_test.sh RETROVISOR NASM CASE: the monitor on `--serial stdio` (frontends/monitor.h,
# frontends/terminal_input.h) driven through a pipe, as a script or a user at a terminal
# would. The guest is a tiny Multiboot kernel that echoes each COM1 byte c as "<c>" until it
# reads '.', then powers off, so the guest's own output tells which bytes reached it.
# Exits 0 if every check passed, 1 if one failed, 77 (SKIP) if KVM cannot be used.
set -uo pipefail
if [ $# -ne 3 ]; then echo "usage: $0 RETROVISOR NASM CASE" >&2; exit 2; fi
RV=$1 NASM=$2 CASE=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/rv_mon.XXXXXX")
trap 'rm -rf "$T"' EXIT
failed=0
A=$'\001'   # Ctrl-A

fail() { echo "FAIL [$CASE]: $*" >&2; failed=1; }
show() { echo "--- stdout:"; cat "$T/out"; echo; echo "--- stderr:"; cat "$T/err"; echo "--- status: $status"; }
has() { grep -qF -- "$1" "$T/out" || fail "stdout does not contain '$1'"; }
count() { grep -cF -- "$1" "$T/out"; }
# The bytes the guest echoed, in order.
guest_saw() { grep -o '<.>' "$T/out" | tr -d '<>\n'; }

# feed INPUT ARGS...: pipes INPUT (printf-free: given as is) into retrovisor with the echo
# guest; sets $status, $T/out, $T/err.
feed() {
    local input=$1; shift
    printf '%s' "$input" | timeout 60 "$RV" --kernel "$T/echo.bin" --serial stdio "$@" >"$T/out" 2>"$T/err"
    status=$?
    [ $status -eq 124 ] && fail "timed out"
}

{ cat <<'ASM'
bits 32
org 0x100000
hdr: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), hdr, hdr, end, end, start
start:  mov ebp, 0x5EC0DE           ; seen by `info registers`
.wait:  mov dx, 0x3FD
        in al, dx
        test al, 1
        jz .wait
        mov dx, 0x3F8
        in al, dx
        cmp al, '.'
        je .off
        mov bl, al
        mov al, '<'
        out dx, al
        mov al, bl
        out dx, al
        mov al, '>'
        out dx, al
        jmp .wait
.off:   mov dx, 0x604               ; ACPI PM1a_CNT: SLP_EN, S5
        mov ax, 0x2000
        out dx, ax
        hlt
end:
ASM
} >"$T/echo.asm"
"$NASM" -f bin -o "$T/echo.bin" "$T/echo.asm" || { echo "nasm failed" >&2; exit 1; }

case $CASE in
monitor_commands)
    # Bytes typed in the monitor never reach the guest; Backspace edits; CR LF is one Enter.
    feed "ab${A}cinfo engine"$'\r\n'"help"$'\n'"infx"$'\177'"o registers"$'\n'"foo bar"$'\n'"engine kvm"$'\n'"engine vax"$'\n'"engine interp"$'\n'"x 100000 8"$'\n'"x 0x10000c"$'\n'"x zz"$'\n'"x fffffffffffffffe 4"$'\n'"${A}c${A}hcd."
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    grep -qF "guest powered off" "$T/err" || fail "the guest did not power off"
    [ "$(guest_saw)" = "abcd" ] || fail "the guest saw '$(guest_saw)', expected 'abcd'"
    has "(retrovisor) "
    has "current engine: interp; KVM not open"
    has "info engine         the engine running the CPU"
    grep -qE '^RIP=00000000001000[0-9a-f]{2} RFLAGS=[0-9a-f]{8} engine=interp' "$T/out" ||
        fail "no RIP line inside the guest kernel"
    has "RBP=00000000005ec0de"
    grep -qE '^CS=0010 SS=0018 CR0=[0-9a-f]{7}1 ' "$T/out" || fail "no CS/SS/CR0 line (protected mode)"
    has "error: unknown command 'foo bar' (try 'help')"
    has "error: engine: KVM is not open in this run"
    has "error: engine: expected interp or kvm, not 'vax'"
    has "engine: already running on interp"
    has "Ctrl-A C: switch between the guest console and the monitor"
    has "0000000000100000: 02 b0 ad 1b 00 00 01 00"      # the Multiboot header at 1 MiB
    grep -qE '^000000000010000c: 00 00 10 00 00 00 10 00' "$T/out" || fail "x with the default count"
    has "error: x: expected a hex address, not 'zz'"
    has "fffffffffffffffe: -- -- 00 00"   # 32-bit mode, no paging: 0xFFFFFFFE-F unmapped, then the wrap to 0
    [ "$(count '(retrovisor) ')" -eq 12 ] || fail "$(count '(retrovisor) ') prompts, expected 12 (one per Enter, one on entry)"
    ;;
monitor_qemu_habits)
    # QEMU's spellings: x/NF (hex units, instructions), xp, info status, q; the commands it
    # lacks are answered by name; a bare x says what it needs.
    feed "a${A}cx/4xb 100000"$'\n'"x/2xw 0x100000"$'\n'"x/1g 100000"$'\n'"x/3i 100020"$'\n'"xp/2w 100000"$'\n'"info status"$'\n'"x"$'\n'"stop"$'\n'"system_powerdown"$'\n'"x/2q 100000"$'\n'"q"$'\n'
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    has "quitting"
    has "0000000000100000: 02 b0 ad 1b"
    has "0000000000100000: 1badb002 00010000"
    has "0000000000100000: 000100001badb002"
    grep -qE '^0000000000100020: bd de c0 5e 00 +mov ebp, 0x5ec0de' "$T/out" || fail "x/3i does not disassemble the entry"
    has "0000000000100029: ec "
    has "0000000000100025: 66 ba fd 03"
    has "VM status: running; engine interp;"
    has "error: x: expected an address"
    has "error: not supported by the retrovisor monitor: stop"
    has "error: not supported by the retrovisor monitor: system_powerdown"
    has "error: x/2q: formats are x (hex) and i (instructions), units b, h, w, g"
    [ "$(grep -c '^0000000000100000: 1badb002 00010000' "$T/out")" -eq 2 ] || fail "xp/2w at the same (identity-mapped) address differs"
    ;;
monitor_snapshots)
    # savevm saves where the machine is; loadvm puts it back there (the instruction count
    # goes back to the saved one); a bad or foreign file is an error line and the guest goes
    # on; the saved file starts a new run with --loadvm, which takes its input from there.
    feed "ab${A}csavevm $T/m.rvs"$'\n'"info status"$'\n'"${A}cc${A}cloadvm $T/m.rvs"$'\n'"info status"$'\n'"loadvm $T/none.rvs"$'\n'"savevm"$'\n'"loadvm $T/echo.bin"$'\n'"${A}cd."
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    grep -qF "guest powered off" "$T/err" || fail "the guest did not power off"
    [ "$(guest_saw)" = "abcd" ] || fail "the guest saw '$(guest_saw)', expected 'abcd'"
    saved=$(grep -o 'savevm: saved the machine at instruction [0-9]*' "$T/out" | grep -o '[0-9]*$')
    [ -n "$saved" ] || fail "savevm did not say where it saved"
    has "loadvm: the machine is at instruction $saved from $T/m.rvs"
    has "error: loadvm: cannot open '$T/none.rvs'"
    has "error: savevm: expected one file name: savevm FILE"
    has "error: loadvm: $T/echo.bin: not a retrovisor snapshot"
    # The snapshot of another machine (-m 64M) is refused by name.
    feed "x${A}cloadvm $T/m.rvs"$'\n'"${A}c." -m 64M
    show
    has "is a snapshot of another machine"
    [ "$(guest_saw)" = "x" ] || fail "the guest saw '$(guest_saw)', expected 'x'"
    # A new process from the snapshot: the guest waits for input where it was saved.
    printf 'e.' | timeout 60 "$RV" --loadvm "$T/m.rvs" --serial stdio >"$T/out" 2>"$T/err"; status=$?
    show
    [ $status -eq 0 ] || fail "--loadvm: exit status $status, expected 0"
    [ "$(guest_saw)" = "e" ] || fail "the loaded guest saw '$(guest_saw)', expected 'e'"
    ;;
monitor_replay_info)
    # info replay: nothing without --record; in a recording, the position and the inputs
    # logged so far (the bytes typed for the guest, not those of the monitor).
    feed "ab${A}cinfo replay"$'\n'"${A}c."
    show
    has "not recording or replaying (--record FILE, --replay FILE)"
    feed "ab${A}cinfo replay"$'\n'"${A}cc." --record "$T/r.rvr"
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    [ "$(guest_saw)" = "abc" ] || fail "the guest saw '$(guest_saw)', expected 'abc'"
    grep -qE "^recording to $T/r.rvr: at instruction [1-9][0-9]*; 2 inputs logged, [0-9]+ bytes" "$T/out" ||
        fail "info replay did not describe the recording"
    ;;
monitor_views)
    # The teaching views in the Multiboot kernel's protected mode (paging off); on a Linux
    # guest with paging: linux.monitor_views.
    feed "a${A}cexplain 100000"$'\n'"explain zz"$'\n'"explain"$'\n'"info gdt"$'\n'"info idt"$'\n'"info pit"$'\n'"info devices vga"$'\n'"info tlb"$'\n'"info blocks"$'\n'"${A}c."
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    [ "$(guest_saw)" = "a" ] || fail "the guest saw '$(guest_saw)', expected 'a'"
    has "linear 00100000: paging is off (CR0.PG=0): the physical address is the linear one, 00100000"
    has "error: explain: expected a hex linear address, not 'zz'"
    has "error: explain: expected one linear address: explain ADDR (hex)"
    grep -qE "^GDT at linear [0-9a-f]{8}, limit [0-9a-f]{4} \(protected mode\)" "$T/out" || fail "info gdt: no header"
    grep -qE "^  0010  code32 readable( accessed)? +base 00000000 limit ffffffff DPL0 P G" "$T/out" || fail "info gdt: the Multiboot code segment"
    grep -qE "^IDT at linear [0-9a-f]{8}, limit [0-9a-f]{4} \(protected mode\)" "$T/out" || fail "info idt: no header"
    grep -qE "^pc\.pit8254\.ch0\.mode = " "$T/out" || fail "info pit: no channel 0 fields"
    has "error: info devices: no device 'vga' (there are:"
    # The kernel's code page at 1 MiB: in the TLB (read, fetch; no direct writes to code) and
    # in the block cache.
    grep -qE "^supervisor TLB: [1-9][0-9]* of 1024 entries valid" "$T/out" || fail "info tlb: no supervisor entries"
    has "  0000000000100000 -> 000100000  r-x-"
    grep -qE "^decoded blocks: [1-9][0-9]* \(at most 131072, then the cache is emptied: 0 times so far\) on 1 code pages" "$T/out" || fail "info blocks: the summary"
    grep -qE "^  page 000100000 +[1-9][0-9]* blocks, +[1-9][0-9]* bytes of code" "$T/out" || fail "info blocks: the kernel's page"
    ;;
monitor_quit)
    # `quit` ends a run the guest would never end by itself, with status 0.
    feed "x${A}cquit"$'\n'"y"
    show
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    has "quitting"
    [ "$(guest_saw)" = "x" ] || fail "the guest saw '$(guest_saw)', expected 'x'"
    grep -qF "guest powered off" "$T/err" && fail "the guest powered off instead of the monitor quitting"
    ;;
monitor_no_monitor_without_stdio)
    # Without --serial stdio there is no terminal input and no monitor: the guest waits for
    # input that never comes, and --max-insns ends the run.
    printf '%s' "${A}cquit"$'\n' | timeout 60 "$RV" --kernel "$T/echo.bin" --max-insns 1000000 >"$T/out" 2>"$T/err"
    status=$?
    show
    grep -qF "(retrovisor)" "$T/out" && fail "a monitor prompt without --serial stdio"
    grep -qF "instruction limit" "$T/err" || fail "the run did not end at --max-insns"
    ;;
monitor_engine_switch)
    # interp -> kvm -> interp from the monitor; the guest keeps echoing on each engine and
    # its registers move with it.
    feed "a${A}cinfo engine"$'\n'"engine kvm"$'\n'"info engine"$'\n'"${A}cb${A}cinfo registers"$'\n'"engine interp"$'\n'"info engine"$'\n'"info registers"$'\n'"${A}cc." \
         --accel interp,kvm --stats
    show
    if [ $status -eq 2 ] && grep -q "KVM" "$T/err"; then
        echo "SKIP: KVM cannot be used here: $(head -1 "$T/err")"
        exit 77
    fi
    [ $status -eq 0 ] || fail "exit status $status, expected 0"
    grep -qF "guest powered off" "$T/err" || fail "the guest did not power off"
    [ "$(guest_saw)" = "abc" ] || fail "the guest saw '$(guest_saw)', expected 'abc'"
    has "current engine: interp; KVM open"
    has "engine: switching to kvm"
    has "current engine: kvm; KVM open"
    has "engine: switching to interp"
    [ "$(count 'current engine: interp; KVM open')" -eq 2 ] || fail "'info engine' did not say interp twice"
    grep -qE '^RIP=00000000001000[0-9a-f]{2} RFLAGS=[0-9a-f]{8} engine=kvm' "$T/out" || fail "no RIP line under KVM"
    grep -qE '^RIP=00000000001000[0-9a-f]{2} RFLAGS=[0-9a-f]{8} engine=interp' "$T/out" ||
        fail "no RIP line back on the interpreter"
    [ "$(count 'RBP=00000000005ec0de')" -eq 2 ] || fail "RBP did not survive both switches"
    grep -qE 'engine_switches=2 kvm_s=[0-9.]+' "$T/err" || fail "--stats does not report 2 engine switches"
    ;;
*)
    echo "unknown case $CASE" >&2
    exit 2 ;;
esac

[ $failed -eq 0 ] && echo "PASS [$CASE]"
exit $failed
