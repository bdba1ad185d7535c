; tss16.asm - hardware task switches with a 16-bit (80286) TSS (SDM Vol.3A §7.3, §7.6,
; Figure 7-11).
;
; 32-bit protected mode. The running task has the 32-bit TSS of lib.inc (TR = SEL_TSS). A
; far CALL to a 16-bit TSS descriptor switches to a 16-bit task running 16-bit code, which
; records what it sees (EAX, ECX with bits 31:16 set to ones, FS and GS null, FLAGS.NT set by
; the CALL, its stack), changes AX and returns with IRET (NT=1: back to the caller's task).
; The 32-bit task then prints those records, what the switch saved in the 16-bit TSS (IP
; after the IRET, AX, the FLAGS image without NT, the back link) and the descriptor types
; (the 16-bit TSS available again, ours still busy). Last, a JMP to a 32-bit TSS whose T bit
; is set: #DB with DR6.BT arrives before the new task's first instruction (SDM Vol.3B
; §17.3.1.5), with the frame pointing at that instruction.
; Bochs 2.7 prints the same; QEMU 7.2 zero-extends the 16-bit registers (eax=00001234)
; and ignores the T bit.
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

SEL_TSS16 equ SEL_FREE           ; 16-bit TSS descriptor
SEL_TSSC  equ SEL_FREE + 8       ; 32-bit TSS with the T bit
TSSB      equ 0x3400             ; the 16-bit task's TSS
TSSC      equ 0x3500             ; the T-bit task's TSS
REC       equ VARS + 0x100       ; what the 16-bit task saw
DBREC     equ VARS + 0x180       ; #DB: count, DR6, EIP

start:  ENTER_PM32
        mov ax, SEL_TSS
        ltr ax
        ; descriptor: base TSSB, limit 0x2B, present, DPL 0, type 1 (16-bit TSS, available)
        mov dword [GDT_RAM + SEL_TSS16], (TSSB << 16) | 0x2B
        mov dword [GDT_RAM + SEL_TSS16 + 4], 0x00008100
        mov edi, TSSB
        mov ecx, 0x2C
        xor eax, eax
        rep stosb
        mov word [TSSB + 0x0E], task_b - $$             ; IP
        mov word [TSSB + 0x10], 0x0002                  ; FLAGS
        mov word [TSSB + 0x12], 0x1234                  ; AX
        mov word [TSSB + 0x14], 0x0005                  ; CX
        mov word [TSSB + 0x1A], 0x6800                  ; SP
        mov word [TSSB + 0x22], SEL_DATA16              ; ES
        mov word [TSSB + 0x24], SEL_CODE16              ; CS (base 0xF0000)
        mov word [TSSB + 0x26], SEL_DATA16              ; SS
        mov word [TSSB + 0x28], SEL_DATA16              ; DS

        call SEL_TSS16:0
back:
        P32 "16-bit task saw: eax="
        HEX32 [REC + 0], 8
        P32 " ecx="
        HEX32 [REC + 4], 8
        P32 " fs="
        movzx eax, word [REC + 8]
        HEX32 eax, 4
        P32 " gs="
        movzx eax, word [REC + 10]
        HEX32 eax, 4
        P32 " flags="
        movzx eax, word [REC + 12]
        HEX32 eax, 4
        P32 " esp="
        HEX32 [REC + 16], 8
        NL32
        P32 "16-bit TSS after: ip=iret+"
        movzx eax, word [TSSB + 0x0E]
        sub eax, after_iret - $$
        HEX32 eax, 2
        P32 " ax="
        movzx eax, word [TSSB + 0x12]
        HEX32 eax, 4
        P32 " flags="
        movzx eax, word [TSSB + 0x10]
        HEX32 eax, 4
        P32 " link="
        movzx eax, word [TSSB + 0x00]
        HEX32 eax, 4
        P32 " type="
        movzx eax, byte [GDT_RAM + SEL_TSS16 + 5]
        HEX32 eax, 2
        NL32
        P32 "32-bit task again: tr="
        str ax
        movzx eax, ax
        HEX32 eax, 4
        P32 " own type="
        movzx eax, byte [GDT_RAM + SEL_TSS + 5]
        HEX32 eax, 2
        P32 " eflags.nt="
        pushfd
        pop eax
        shr eax, 14
        and eax, 1
        HEX32 eax, 1
        NL32

        ; the T bit: a 32-bit TSS, entered by JMP
        call install_exc32
        mov ebx, 1
        mov eax, ROMBASE + (db32 - $$)
        mov cx, SEL_CODE32
        mov dx, 0x8E00
        call set_idt32
        mov dword [GDT_RAM + SEL_TSSC], (TSSC << 16) | 0x67
        mov dword [GDT_RAM + SEL_TSSC + 4], 0x00008900
        mov edi, TSSC
        mov ecx, 0x68
        xor eax, eax
        rep stosb
        mov dword [TSSC + 0x20], ROMBASE + (task_c - $$)   ; EIP
        mov dword [TSSC + 0x24], 0x0002                      ; EFLAGS
        mov dword [TSSC + 0x38], 0x6000                      ; ESP
        mov dword [TSSC + 0x48], SEL_DATA                    ; ES
        mov dword [TSSC + 0x4C], SEL_CODE32                  ; CS
        mov dword [TSSC + 0x50], SEL_DATA                    ; SS
        mov dword [TSSC + 0x54], SEL_DATA                    ; DS
        mov dword [TSSC + 0x58], SEL_DATA                    ; FS
        mov dword [TSSC + 0x5C], SEL_DATA                    ; GS
        mov word [TSSC + 0x64], 1                            ; T
        mov word [TSSC + 0x66], 0x68                         ; no I/O bitmap
        mov dword [DBREC], 0
        jmp SEL_TSSC:0

task_c: P32 "T bit: #DB count="
        mov eax, [DBREC]
        HEX32 eax, 1
        P32 " dr6="
        mov eax, [DBREC + 4]
        HEX32 eax, 8
        P32 " eip=task_c+"
        mov eax, [DBREC + 8]
        sub eax, ROMBASE + (task_c - $$)
        HEX32 eax, 2
        P32 " tr="
        str ax
        movzx eax, ax
        HEX32 eax, 4
        NL32
        EXIT 0

db32:   push eax
        inc dword [DBREC]
        mov eax, dr6
        mov [DBREC + 4], eax
        mov eax, [esp + 4]               ; frame: EIP, CS, EFLAGS
        mov [DBREC + 8], eax
        mov eax, 0xFFFF0FF0
        mov dr6, eax
        pop eax
        iretd

        bits 16
task_b: o32 mov [REC + 0], eax
        o32 mov [REC + 4], ecx
        mov [REC + 8], fs
        mov [REC + 10], gs
        pushf
        pop ax
        mov [REC + 12], ax
        o32 mov [REC + 16], esp
        mov ax, 0xBEEF
        iret                    ; NT=1: back to the task in the back link
after_iret:
        jmp after_iret

        bits 32
        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
