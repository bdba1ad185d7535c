; enterstack.asm - ENTER's frame pointer comes from (E)SP by the operand size, not by the
; stack's size (SDM Vol.2 ENTER: "IF OperandSize = 32 THEN Push(EBP); FrameTemp <- ESP"):
; on a 16-bit stack (SS.B = 0) a 32-bit ENTER leaves EBP with ESP's upper half; the stack
; pointer itself moves in SP only. Nesting levels 0, 1 and 2, and a 16-bit ENTER (66h) on a
; 32-bit stack for contrast. 32-bit protected mode. Issue 14 item 6.
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

start:  ENTER_PM32
        call install_exc32
        mov dword [0x6000], 0x11111111          ; frames the nested levels copy
        mov dword [0x5FFC], 0x22222222
%assign lvl 0
%rep 3
        mov ax, SEL_DATA16                      ; 16-bit stack, base 0
        mov ss, ax
        mov esp, 0x12347000                     ; SP = 7000, upper half set
        mov ebp, 0xABCD6000                     ; BP = 6000 (a nested level reads [BP-4]...)
        enter 8, lvl
        mov ebx, esp
        mov ecx, ebp
        mov ax, SEL_DATA
        mov ss, ax
        mov esp, STACK0
        P32 "enter 8,"
        HEX32 lvl, 1
        P32 " on a 16-bit stack: ESP="
        HEX32 ebx, 8
        P32 " EBP="
        HEX32 ecx, 8
        NL32
%assign lvl lvl+1
%endrep
        mov esp, 0x7000
        mov ebp, 0xABCD1234
        o16 enter 4, 0                          ; 16-bit operand size, 32-bit stack
        mov ebx, esp
        mov ecx, ebp
        mov esp, STACK0
        P32 "o16 enter 4,0 on a 32-bit stack: ESP="
        HEX32 ebx, 8
        P32 " EBP="
        HEX32 ecx, 8
        NL32
        EXIT 0

        EXC_STUBS32 std_exc32
        STD_EXC32

        RESET_VECTOR start
