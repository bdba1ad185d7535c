; nmiblock.asm - NMI blocking (SDM Vol.3A §6.7.1): from the delivery of an NMI until the next
; IRET, further NMIs are held, and only one is kept pending; it is taken right after the IRET.
; 32-bit protected mode; NMIs sent to itself through the xAPIC ICR (physical destination 0,
; delivery mode NMI). The first handler run sends two more NMIs and runs on: neither may nest.
; Printed: how many handler runs, the deepest nesting, and where each run interrupted the code
; relative to the instruction after the ICR write (both +0: the pending one waits for the
; IRET and is taken before that instruction runs). Also run under --trace (rom.nmiblock.traced).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

APIC_ICR_LO equ 0xFEE00300
APIC_ICR_HI equ 0xFEE00310
APIC_SVR    equ 0xFEE000F0
NMI_ICR     equ 0x00000400          ; delivery mode NMI (100b), physical, no shorthand
RUNS        equ VARS + 0x100
DEPTH       equ VARS + 0x104
MAXDEPTH    equ VARS + 0x108
EIP1        equ VARS + 0x10C
EIP2        equ VARS + 0x110

start:  ENTER_PM32
        call install_exc32
        mov eax, ROMBASE + (nmi_handler - $$)
        mov ebx, 2
        mov cx, SEL_CODE32
        mov dx, 0x8E00
        call set_idt32
        mov dword [APIC_SVR], 0x1FF
        mov dword [APIC_ICR_HI], 0      ; destination APIC ID 0 (this CPU)
        mov dword [APIC_ICR_LO], NMI_ICR
.after: nop
        nop
        nop
        P32 "runs="
        HEX32 [RUNS], 2
        P32 " max_depth="
        HEX32 [MAXDEPTH], 2
        P32 " first at +"
        mov eax, [EIP1]
        sub eax, ROMBASE + (.after - $$)
        HEX32 eax, 2
        P32 " second at +"
        mov eax, [EIP2]
        sub eax, ROMBASE + (.after - $$)
        HEX32 eax, 2
        NL32
        EXIT 0

        align 16
nmi_handler:
        push eax
        inc dword [DEPTH]
        mov eax, [DEPTH]
        cmp eax, [MAXDEPTH]
        jbe .nomax
        mov [MAXDEPTH], eax
.nomax: inc dword [RUNS]
        mov eax, [esp + 4]              ; the interrupted EIP
        cmp dword [RUNS], 1
        jne .second
        mov [EIP1], eax
        mov dword [APIC_ICR_LO], NMI_ICR   ; two more while this one runs: held, one kept
        nop
        mov dword [APIC_ICR_LO], NMI_ICR
        nop
        nop
        jmp .out
.second:
        mov [EIP2], eax
.out:   dec dword [DEPTH]
        pop eax
        iretd

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
