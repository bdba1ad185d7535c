; smc.asm - self-modifying code: code written to RAM, run, patched, run again.
;
; 64-bit mode; the code lives at physical 0x300000 (identity-mapped 2 MiB pages) and is
; also reachable through an alias: linear 0x40000000+x -> physical 0x200000+x, so the
; code at 0x300000 is also at linear 0x40100000. Every line shows the value computed by
; the (re)written code, which must always reflect the latest bytes:
;   1. copy "mov eax,imm32; ret" to RAM, call, patch the immediate (same page), call
;   2. code straddling a 4 KiB boundary (0x300FFA..0x301004): patch the immediate that lies
;      in the second page, then the opcode byte in the first page (ADD -> SUB)
;   3. patch through the alias linear address, run through the original one, and the
;      other way round
;   4. an instruction that patches the very next instruction (must see the new byte)
;   5. a loop that patches its own ADD immediate each iteration (1+2+3+4+5)
;   6. code written by REP MOVSB over older code in the same page it runs from
;
; SDM references: vol. 3A 9.6 "Self-Modifying Code" (a write to a code byte that has been
; prefetched or is in the pipeline is detected on P6 and later processors, so the new
; code is executed; no serialization needed when written and run by the same processor
; through the same linear address), 9.6.1 / 11.6 (cross-modifying code, writes through a
; different linear address: the SDM recommends a serializing instruction; we execute a
; JMP/CALL which always suffices on modern processors and for our emulator's
; per-physical-page invalidation), vol. 3A 4.10 (linear aliases of one physical page).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

CODE    equ 0x300000
ALIAS   equ 0x40100000          ; same physical page as CODE
PD2     equ 0x23000

start:  ENTER_PM32
        ENTER_LONG
        call install_exc64
        mov edi, PD2
        mov ecx, 0x1000
        call zero64
        mov qword [PD2], 0x200000 | 0x83
        mov qword [LM_PDPT + 1*8], PD2 | 3
        mov rax, cr3
        mov cr3, rax

        ; 1. same page
        mov rsi, ROMBASE + (tA - $$)
        mov rdi, CODE
        mov ecx, tA_end - tA
        rep movsb
        mov eax, CODE
        call rax
        P64 "1 copied: "
        HEX64 rax, 8
        mov dword [CODE + 1], 0x22222222
        mov eax, CODE
        call rax
        P64 " patched imm: "
        HEX64 rax, 8
        NL64

        ; 2. across a page boundary
        mov rsi, ROMBASE + (tB - $$)
        mov rdi, CODE + 0xFFA
        mov ecx, tB_end - tB
        rep movsb
        mov eax, CODE + 0xFFA
        call rax
        P64 "2 straddling: "
        HEX64 rax, 8
        mov dword [CODE + 0x1000], 0x45                 ; ADD's immediate, 2nd page
        mov eax, CODE + 0xFFA
        call rax
        P64 " imm in 2nd page: "
        HEX64 rax, 8
        mov byte [CODE + 0xFFF], 0x2D                   ; ADD EAX -> SUB EAX, 1st page
        mov eax, CODE + 0xFFA
        call rax
        P64 " opcode in 1st page: "
        HEX64 rax, 8
        NL64

        ; 3. alias
        mov eax, CODE
        call rax
        P64 "3 before: "
        HEX64 rax, 8
        mov rbx, ALIAS
        mov dword [rbx + 1], 0x33333333                 ; write through the alias
        mov eax, CODE
        call rax
        P64 " written via alias, run via original: "
        HEX64 rax, 8
        mov dword [CODE + 1], 0x44444444                ; write through the original
        mov rax, ALIAS
        call rax
        P64 " written via original, run via alias: "
        HEX64 rax, 8
        NL64

        ; 4. next instruction
        mov rsi, ROMBASE + (tD - $$)
        mov rdi, CODE + 0x2000
        mov ecx, tD_end - tD
        rep movsb
        mov eax, CODE + 0x2000
        call rax
        P64 "4 patched next instruction: "
        HEX64 rax, 2
        NL64

        ; 5. loop patching itself
        mov rsi, ROMBASE + (tE - $$)
        mov rdi, CODE + 0x3000
        mov ecx, tE_end - tE
        rep movsb
        mov eax, CODE + 0x3000
        call rax
        P64 "5 self-patching loop sum: "
        HEX64 rax, 2
        mov eax, CODE + 0x3000
        call rax
        P64 " again (starts at 6): "
        HEX64 rax, 2
        NL64

        ; 6. code in the page overwritten by rep movsb from code in that page
        mov rsi, ROMBASE + (tF - $$)
        mov rdi, CODE + 0x4000
        mov ecx, tF_end - tF
        rep movsb
        mov eax, CODE + 0x4000
        call rax
        P64 "6 rep movsb over own page: "
        HEX64 rax, 8
        NL64
        P64 "PASS smc", 10
        EXIT 0

; ---- templates (position independent)
tA:     mov eax, 0x11111111
        ret
tA_end:

tB:     mov eax, 0x01000000
        add eax, strict dword 0x23
        ret
tB_end:

tD:     mov byte [rel .next + 1], 0x42
.next:  mov al, 0x00
        movzx eax, al
        ret
tD_end:

tE:     xor ebx, ebx
        mov ecx, 5
.l:     add ebx, strict byte 1
        inc byte [rel .l + 2]
        loop .l
        mov eax, ebx
        ret
tE_end:

tF:     ; copies the 6 bytes at .new over .old (in this same page), then runs .old
        lea rsi, [rel .new]
        lea rdi, [rel .old]
        mov ecx, 6
        rep movsb
.old:   mov eax, 0x0BAD0BAD
        ret
.new:   mov eax, 0x600D600D
        ret
tF_end:

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
