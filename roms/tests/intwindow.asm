; intwindow.asm - the instruction at which an interrupt is taken is a function of the machine
; state alone (DESIGN.md decision 7): the same whether the CPU runs blocks, single-steps or
; traces (ctest runs this ROM plain and under --trace; both must print exactly this).
; 32-bit protected mode, the local APIC's xAPIC MMIO page at 0xFEE00000, vector 0x40. The
; handler records the return EIP; each case prints it relative to where the SDM says the
; interrupt is recognised:
;   A  self-IPI (ICR write) with IF=1: taken right after the MOV that wrote the ICR
;   B  self-IPI while IF=0, then STI; NOP; CLI: taken after the NOP (STI's one-instruction
;      shadow, SDM Vol.2 STI), not after STI nor never
;   C  pending but masked by the TPR (class 4 <= TPR class 5), then TPR := 0: taken right
;      after the TPR write
;   D  pending while IF=0, then POPF sets IF: taken right after the POPF (no shadow)
;   E  a second self-IPI sent from inside the handler (lower priority than none in service:
;      same vector, so it waits for the EOI): taken right after the IRET... of the first,
;      i.e. at the first instruction of the interrupted code
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

APIC        equ 0xFEE00000
APIC_TPR    equ APIC + 0x80
APIC_EOI    equ APIC + 0xB0
APIC_SVR    equ APIC + 0xF0
APIC_ICR    equ APIC + 0x300
IPI_SELF    equ 0x00040040          ; fixed, self shorthand, vector 0x40
VEC         equ 0x40
RET_EIP     equ VARS + 0x100        ; dword: EIP the handler interrupted
HITS        equ VARS + 0x104        ; dword: handler runs
AGAIN       equ VARS + 0x108        ; dword: the handler sends one more self-IPI

start:  ENTER_PM32
        call install_exc32
        mov eax, ROMBASE + (handler - $$)
        mov ebx, VEC
        mov cx, SEL_CODE32
        mov dx, 0x8E00
        call set_idt32
        mov dword [APIC_SVR], 0x1FF     ; APIC software-enabled, spurious vector 0xFF
        mov dword [APIC_TPR], 0

        ; A: IF=1, the ICR write raises the interrupt
        P32 "A: "
        mov dword [HITS], 0
        sti
        nop
        mov dword [APIC_ICR], IPI_SELF
.a:     nop
        nop
        nop
        cli
        mov eax, ROMBASE + (.a - $$)
        call report

        ; B: pending while IF=0, then STI; NOP; CLI
        P32 "B: "
        mov dword [HITS], 0
        mov dword [APIC_ICR], IPI_SELF
        nop
        nop
        sti
        nop
.b:     cli
        nop
        mov eax, ROMBASE + (.b - $$)
        call report

        ; C: masked by the TPR, then unmasked by lowering it
        P32 "C: "
        mov dword [HITS], 0
        mov dword [APIC_TPR], 0x50
        sti
        mov dword [APIC_ICR], IPI_SELF
        nop
        nop
        mov dword [APIC_TPR], 0
.c:     nop
        nop
        cli
        mov eax, ROMBASE + (.c - $$)
        call report

        ; D: POPF sets IF with the interrupt pending
        P32 "D: "
        mov dword [HITS], 0
        mov dword [APIC_ICR], IPI_SELF
        pushfd
        or dword [esp], 0x200
        popfd
.d:     nop
        nop
        cli
        mov eax, ROMBASE + (.d - $$)
        call report

        ; E: the handler sends one more (same vector: delivered after its EOI and IRET)
        P32 "E: "
        mov dword [HITS], 0
        mov dword [AGAIN], 1
        sti
        mov dword [APIC_ICR], IPI_SELF
.e:     nop
        nop
        cli
        mov eax, ROMBASE + (.e - $$)
        call report
        EXIT 0

; report: EAX = where the interrupt should have been taken; prints "taken at +N (K hits)"
; with N = recorded EIP - EAX (0 is right).
report: cmp dword [HITS], 0
        jne .hit
        P32 "not taken", 10
        ret
.hit:   mov ebx, [RET_EIP]
        sub ebx, eax
        P32 "taken at +"
        HEX32 ebx, 8
        P32 " ("
        HEX32 [HITS], 2
        P32 " hits)", 10
        ret

        align 16
handler:
        push eax
        mov eax, [esp+4]                ; the interrupted EIP
        mov [RET_EIP], eax
        inc dword [HITS]
        cmp dword [AGAIN], 0
        je .eoi
        mov dword [AGAIN], 0
        mov dword [APIC_ICR], IPI_SELF  ; pending until the EOI below (vector in service)
.eoi:   mov dword [APIC_EOI], 0
        pop eax
        iretd

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
