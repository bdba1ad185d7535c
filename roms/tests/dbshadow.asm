; dbshadow.asm - where single-step #DBs are taken around MOV SS and INT n (issue 14 items
; 1 and 2). SDM Vol.3A §6.8.3: after MOV SS or POP SS, debug exceptions wait until after the
; next instruction; with MOV SS; INT n that is at the handler's first instruction (the
; CVE-2018-8897 case). SDM Vol.3B §17.3.1.4: INT n clears TF and no single-step trap
; follows it, also when an IRET set TF just before.
; 32-bit protected mode, ring 0. The #DB handler records each frame's EIP and DR6 and clears
; TF in the frame after its second hit; the INT 0x80 handler is one IRETD.
; Printed per case: the #DB count and each EIP relative to a label (ent = the INT 0x80
; handler's entry, a/b/c = the instruction after the one each case expects).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

%macro TF_ON 0
        pushfd
        or dword [esp], 0x100
        popfd
%endmacro
%macro TF_OFF 0
        pushfd
        and dword [esp], ~0x100
        popfd
%endmacro

HITS    equ VARS + 0x100
EIPS    equ VARS + 0x104        ; up to 4 dwords
DR6S    equ VARS + 0x114

start:  ENTER_PM32
        call install_exc32
        mov cx, SEL_CODE32
        mov dx, 0x8E00
        mov ebx, 1
        mov eax, ROMBASE + (db_handler - $$)
        call set_idt32
        mov ebx, 0x80
        mov eax, ROMBASE + (int80 - $$)
        call set_idt32

        ; A: TF from POPFD; MOV SS: its step trap waits for the NOP; one #DB after the NOP
        call clear
        mov ax, ss
        TF_ON
        mov ss, ax
        nop
.a:     nop
        TF_OFF
        P32 "A mov ss; nop:      "
        mov edi, ROMBASE + (.a - $$)
        call report

        ; B: TF set; MOV SS; INT 0x80: the held #DB is taken at the handler's entry, then the
        ; step trap after the instruction after INT 0x80 (TF back from the handler's IRETD)
        call clear
        mov ax, ss
        TF_ON
        mov ss, ax
        int 0x80
        nop
.b:     nop
        TF_OFF
        P32 "B mov ss; int 0x80: "
        mov edi, ROMBASE + (.b - $$)
        call report

        ; C: an IRETD that sets TF returns to INT 0x80: no trap inside the handler; the step
        ; trap comes after the instruction after INT 0x80
        call clear
        pushfd                          ; an IRETD frame with TF set
        or dword [esp], 0x100
        push dword SEL_CODE32
        push dword ROMBASE + (.c0 - $$)
        iretd
.c0:    int 0x80
        nop
.c:     nop
        TF_OFF
        P32 "C iretd to int 0x80:"
        mov edi, ROMBASE + (.c - $$)
        call report
        EXIT 0

clear:  mov dword [HITS], 0
        ret

; report: EDI = the case's label; prints the count, then each EIP as ent+N or lbl+N (N signed
; as two's complement bytes) and DR6's BS bit.
report: P32 " #DBs="
        HEX32 [HITS], 1
        xor esi, esi
.l:     cmp esi, [HITS]
        jae .end
        P32 " eip="
        mov eax, [EIPS + esi*4]
        cmp eax, ROMBASE + (int80 - $$)
        jne .lbl
        P32 "ent"
        jmp .bs
.lbl:   sub eax, edi
        P32 "lbl+"
        HEX32 eax, 2
.bs:    P32 "/bs="
        mov eax, [DR6S + esi*4]
        shr eax, 14
        and eax, 1
        HEX32 eax, 1
        inc esi
        jmp .l
.end:   NL32
        ret

        align 16
db_handler:
        push eax
        push ebx
        mov ebx, [HITS]
        cmp ebx, 4
        jae .skip
        mov eax, [esp + 8]              ; the frame's EIP
        mov [EIPS + ebx*4], eax
        mov eax, dr6
        mov [DR6S + ebx*4], eax
.skip:  inc dword [HITS]
        xor eax, eax
        mov dr6, eax
        cmp dword [HITS], 2
        jb .out
        and dword [esp + 16], ~0x100    ; enough: stop stepping
.out:   pop ebx
        pop eax
        iretd

        align 16
int80:  iretd

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
