; iretsegs.asm - IRET and RET far to an outer privilege level (SDM Vol.2 IRET and RET
; pseudocode, RETURN-TO-OUTER-PRIVILEGE-LEVEL): each of ES, DS, FS, GS that holds a null
; selector (any RPL: 0 or 3), or a data or non-conforming code segment with DPL < the new
; CPL, gets selector 0; a DPL-3 data segment stays. (Linux's sigreturn to a 32-bit process
; that asked for DS=ES=0 relies on it: the kernel leaves selector 3 there.)
; 32-bit protected mode: ring 0 loads DS=3 (null, RPL 3), ES=0 (null), FS=SEL_DATA (DPL 0),
; GS=SEL_UDATA (DPL 3), then IRETD to ring 3, which prints the four selectors; the same with
; RETF to ring 3.
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

KSAVE   equ VARS + 0x20

start:  ENTER_PM32
        call install_exc32
        mov cx, SEL_CODE32
        mov ebx, 0x80
        mov eax, ROMBASE + (back - $$)
        mov dx, 0xEE00                          ; DPL 3: ring 3 comes back with INT 0x80
        call set_idt32
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero32
        mov dword [TSS_RAM + 4], 0x6000
        mov dword [TSS_RAM + 8], SEL_DATA
        mov word [TSS_RAM + 0x66], 0x68
        mov ax, SEL_TSS
        ltr ax

        mov [KSAVE], esp
        call load_segs
        push SEL_UDATA
        push STACK3
        push 0x3002                             ; IOPL 3
        push SEL_UCODE32
        push ROMBASE + (user - $$)
        iretd

back:   mov esp, [KSAVE]                        ; from ring 3 (INT 0x80), once for each return
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        inc dword [VARS + 0x30]
        cmp dword [VARS + 0x30], 2
        je .done
        call load_segs
        push SEL_UDATA
        push STACK3
        push SEL_UCODE32
        push ROMBASE + (user - $$)
        retf                                    ; RET far to ring 3
.done:  EXIT 0

load_segs:
        mov ax, 3
        mov ds, ax                              ; null, RPL 3
        xor ax, ax
        mov es, ax                              ; null
        mov ax, SEL_DATA
        mov fs, ax                              ; DPL 0 data
        mov ax, SEL_UDATA
        mov gs, ax                              ; DPL 3 data
        mov ax, SEL_DATA
        mov ds, ax                              ; (for the pushes below: DS is reloaded last)
        mov ax, 3
        mov ds, ax
        ret

user:   mov ebx, ds
        mov ecx, es
        mov edx, fs
        mov esi, gs
        mov ax, SEL_UDATA
        mov ds, ax
        P32 "ring 3: DS="
        HEX32 ebx, 4
        P32 " ES="
        HEX32 ecx, 4
        P32 " FS="
        HEX32 edx, 4
        P32 " GS="
        HEX32 esi, 4
        NL32
        int 0x80

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
