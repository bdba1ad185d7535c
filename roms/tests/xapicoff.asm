; xapicoff.asm - the xAPIC MMIO page is the local APIC's only while the xAPIC interface is on
; (IA32_APIC_BASE.EN=1, EXTD=0). With the APIC globally disabled, or in x2APIC mode, an
; access at 0xFEE00000 goes to whatever lies beneath: on this board nothing (the PCI hole),
; so reads give all ones and writes vanish, as on any unmapped address (SDM Vol.3A 11.4.3,
; 11.12.1). Issue 14 item 7: they read 0 instead.
;   A  on: the version register (0x30) reads the APIC's version, the TPR (0x80) holds a write
;   B  globally disabled (EN=0): both read all ones, a TPR write is dropped
;   C  enabled again (a disable reset the APIC): the TPR reads 0, the dropped write left nothing
;   D  x2APIC mode (EXTD=1): MMIO reads all ones; the TPR through its MSR (0x808) is there
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

APIC        equ 0xFEE00000
APIC_VER    equ APIC + 0x30
APIC_TPR    equ APIC + 0x80
MSR_APICBASE equ 0x1B

start:  ENTER_PM32
        call install_exc32

        P32 "A: ver "
        mov eax, [APIC_VER]
        and eax, 0xFF                   ; the version byte
        HEX32 eax, 2
        mov dword [APIC_TPR], 0x30
        P32 " tpr "
        HEX32 [APIC_TPR], 8
        NL32

        P32 "B: ver "
        mov ecx, MSR_APICBASE
        rdmsr
        and eax, ~(1 << 11)             ; EN=0: globally disabled
        wrmsr
        HEX32 [APIC_VER], 8
        mov dword [APIC_TPR], 0x20
        P32 " tpr "
        HEX32 [APIC_TPR], 8
        P32 " byte "
        movzx eax, byte [APIC_VER]
        HEX32 eax, 2
        NL32

        P32 "C: tpr "
        mov ecx, MSR_APICBASE
        rdmsr
        or eax, 1 << 11                 ; EN=1 again
        wrmsr
        HEX32 [APIC_TPR], 8
        NL32

        P32 "D: ver "
        mov ecx, MSR_APICBASE
        rdmsr
        or eax, 1 << 10                 ; EXTD=1: x2APIC
        wrmsr
        HEX32 [APIC_VER], 8
        mov ecx, 0x808                  ; x2APIC TPR
        mov eax, 0x40
        xor edx, edx
        wrmsr
        rdmsr
        P32 " msr tpr "
        HEX32 eax, 8
        P32 " mmio tpr "
        HEX32 [APIC_TPR], 8
        NL32
        EXIT 0

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
