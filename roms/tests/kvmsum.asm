; kvmsum.asm - a long checksum in 64-bit mode, with a timer interrupt ticking throughout.
;
; Written for engine switching (tests/engines/): the same checksum must come out whether
; the interpreter, KVM, or both in turns (--switch-engine-at/-after) run it. The state a
; switch must carry is all in use: general registers and flags (xorshift, MUL/DIV, ADC,
; ROL), memory (a 64 KiB buffer written and read at pseudo-random places, REP MOVSB),
; the stack (CALL/RET), SSE registers (PADDQ/PXOR/PSHUFD accumulators) and the x87 stack
; (an exact integer sum in ST0). IRQ0 from the PIT (mode 2, ~1 kHz) through the PIC,
; vector 0x20, interrupts the loop all along: its handler counts ticks and touches nothing
; else, so the checksum does not depend on when the interrupts come.
; No real-mode interrupts, no ring changes: the KVM of our build machines (software-nested)
; cannot run those (docs/ARCHITECTURE.md "Engines").
; With NOFPU defined (kvmsum_int.asm) the x87 and SSE parts are left out, for KVMs that
; cannot run them (the self-test in machine/kvm.cpp says so at start-up).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

%ifndef ITER
%define ITER 300000             ; about 15 million instructions
%endif
BUF     equ 0x200000            ; 64 KiB + a 32-byte landing zone for REP MOVSB
TICKS   equ VARS + 0x100        ; qword: IRQ0 count
XINT    equ VARS + 0x108        ; dword: integer for FILD
XOUT    equ VARS + 0x110        ; qword: FISTP result

start:  ENTER_PM32
        ENTER_LONG
        call install_exc64
%ifndef NOFPU
        mov rax, cr4
        or eax, (1 << 9) | (1 << 10)    ; OSFXSR, OSXMMEXCPT: SSE on
        mov cr4, rax
        fninit
%endif

        ; IRQ0 -> vector 0x20
        mov ebx, 0x20
        mov eax, ROMBASE + (tick - $$)
        mov cx, SEL_CODE64
        mov dx, 0x8E00
        call set_idt64
        mov al, 0x11                    ; PIC: ICW1 (edge, cascade, ICW4)
        out 0x20, al
        out 0xA0, al
        mov al, 0x20                    ; ICW2: master vectors 0x20-0x27
        out 0x21, al
        mov al, 0x28                    ;       slave 0x28-0x2F
        out 0xA1, al
        mov al, 0x04                    ; ICW3
        out 0x21, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01                    ; ICW4: 8086 mode
        out 0x21, al
        out 0xA1, al
        mov al, 0xFE                    ; only IRQ0
        out 0x21, al
        mov al, 0xFF
        out 0xA1, al
        mov al, 0x34                    ; PIT channel 0, lo/hi, mode 2
        out 0x43, al
        mov al, 1193 & 0xFF             ; 1193182 Hz / 1193 = ~1 kHz
        out 0x40, al
        mov al, 1193 >> 8
        out 0x40, al
        mov qword [TICKS], 0
        sti

        mov r8, 0x9E3779B97F4A7C15      ; xorshift state
        xor r9, r9                      ; the checksum
        mov r12d, ITER
%ifndef NOFPU
        pxor xmm0, xmm0
        movq xmm1, r8
        fldz
%endif
.loop:  mov rax, r8                     ; xorshift64 (13, 7, 17)
        shl rax, 13
        xor r8, rax
        mov rax, r8
        shr rax, 7
        xor r8, rax
        mov rax, r8
        shl rax, 17
        xor r8, rax
        mov rbx, r8                     ; a store and a load at pseudo-random places
        and ebx, 0xFFF8
        mov [BUF + rbx], r8
        mov rcx, r8
        shr rcx, 20
        and ecx, 0xFFF8
        add r9, [BUF + rcx]
        mov rax, r8                     ; MUL, DIV
        mul r9
        xor r9, rdx
        add r9, rax
        mov rax, r9
        xor edx, edx
        mov rcx, r8
        or rcx, 1
        div rcx
        rol r9, 5
        xor r9, rdx
        call mix
%ifndef NOFPU
        movq xmm2, r8                   ; SSE accumulators
        paddq xmm0, xmm2
        pxor xmm1, xmm0
        pshufd xmm1, xmm1, 0x4E
        mov [XINT], r8d                 ; x87: exact sum of 32-bit integers
        fild dword [XINT]
        faddp st1, st0
%endif
        lea rsi, [BUF + rbx]            ; REP MOVSB, 16 bytes
        mov edi, BUF + 0x10000
        mov ecx, 16
        rep movsb
        add r9, [BUF + 0x10008]
        add r9, r8
        adc r9, 0
        dec r12d
        jnz .loop
        cli

%ifndef NOFPU
        movq rax, xmm0
        add r9, rax
        psrldq xmm1, 8
        movq rax, xmm1
        xor r9, rax
        fistp qword [XOUT]
        add r9, [XOUT]
%endif
        P64 "kvmsum: "
        HEX64 r9, 16
        NL64
        cmp qword [TICKS], 0
        je .quiet
        P64 "timer: ticking"
        NL64
        EXIT 0
.quiet: P64 "timer: no ticks"
        NL64
        EXIT 0

mix:    mov rax, r9
        imul rax, rax, 0x5bd1e995
        xor r9, rax
        ret

tick:   push rax
        inc qword [TICKS]
        mov al, 0x20                    ; EOI
        out 0x20, al
        pop rax
        iretq

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
