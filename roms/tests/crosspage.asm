; crosspage.asm - an instruction that crosses a page end, run often enough to be cached
; (the interpreter caches it as a block of its own, keyed by both pages): writes to either
; page, and a new mapping of the second page, must be seen at once; a second page made
; not present must raise #PF with CR2 = its start and RIP = the instruction's start.
;
; 64-bit mode; 4 KiB pages at 0x400000-0x5FFFFF (identity, then remapped). The instruction
; is MOV EAX, imm32 at 0x400FFD: B8 and two immediate bytes on the first page, two on the
; second, then RET at 0x401002. Each case calls it 1000 times and prints EAX once.
; SDM Vol.3A 4.10.4.2 (a write to a paging-structure entry needs INVLPG to be seen; here it
; is always followed by one), 11.6 (self-modifying code: a write to a code page is seen by
; the next instruction fetched after it).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

PT      equ 0x22000             ; PTEs for 0x400000-0x5FFFFF
INSN    equ 0x400FFD
PAGE2   equ 0x401000
ALT     equ 0x402000            ; the other physical page for the second half

start:  ENTER_PM32
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        ENTER_LONG
        call install_exc64
        mov qword [LM_PD + 2*8], PT | 3
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        add eax, 0x400000 | 3
        mov [PT + rcx*8], rax
        inc ecx
        cmp ecx, 512
        jb .pt
        mov rax, cr3
        mov cr3, rax
        ; MOV EAX, 0x44332211 / RET across the page end; the other page holds 55 66 C3
        mov byte [INSN], 0xB8
        mov word [INSN + 1], 0x2211
        mov dword [PAGE2], 0x00C34433
        mov dword [ALT], 0x00C36655

        P64 "cached:        "
        call run_insn
        mov byte [PAGE2], 0x99          ; second page, from code
        P64 "page 2 write:  "
        call run_insn
        mov byte [INSN + 1], 0x77       ; first page
        P64 "page 1 write:  "
        call run_insn
        mov qword [PT + 1*8], ALT | 3   ; the second page mapped elsewhere
        invlpg [PAGE2]
        P64 "page 2 remap:  "
        call run_insn
        mov qword [PT + 1*8], PAGE2 | 3 ; and back
        invlpg [PAGE2]
        P64 "page 2 back:   "
        call run_insn
        mov qword [PT + 1*8], 0         ; not present
        invlpg [PAGE2]
        P64 "page 2 absent: "
        mov rbx, INSN
        TRY_AT INSN
        jmp rbx
        ENDTRY64
        EXIT 0

; run_insn: 1000 calls of the instruction, then prints EAX.
run_insn:
        mov ecx, 1000
        mov rbx, INSN
.l:     xor eax, eax
        call rbx
        dec ecx
        jnz .l
        HEX64 rax, 8
        NL64
        ret

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
