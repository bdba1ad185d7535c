; debugregs.asm - hardware breakpoints (SDM Vol.3B §17.2, §17.3): DR0-DR3, DR6, DR7.
;
; 64-bit mode, CPL 0. A #DB handler records DR6, the pushed RIP and RFLAGS, counts the
; exceptions, clears DR6, clears TF and sets RF in the frame (as debuggers do), and returns.
; Each case prints the count, DR6, where the frame points (relative to a label) and the
; pushed RF (SDM Vol.3B §17.3.1.1: 1 for faults except instruction breakpoints):
;   exec  instruction breakpoint: a fault before the instruction (frame at it, RF=0 pushed),
;         and after IRETQ with RF set the instruction runs without a second #DB
;   write 4-byte write breakpoint: a read does not hit, a byte write into it and a qword
;         write overlapping it do (traps: frame after the instruction), a write next to it not
;   rw    8-byte read/write breakpoint (LEN=10): a byte read at its last byte hits
;   io    I/O breakpoint (CR4.DE, R/W=10) on port 0x80: OUT 0x80 hits, OUT 0x84 does not
;   gd    general detect (DR7.GD): MOV from DR0 faults with DR6.BD; GD is clear in the handler
;   tf    a single step and a data breakpoint on the same instruction: one #DB, BS and B1
; Bochs 2.7 gives the same output but pushes RF=0 for the GD fault (the SDM: RF=1 for every
; fault-class exception except instruction breakpoints). QEMU 7.2 ignores DR7.GD and raises
; two #DBs for the last case, where the SDM reports both conditions in one (B1 and BS).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

DB_COUNT equ VARS + 0x100
DB_DR6   equ VARS + 0x108
DB_RIP   equ VARS + 0x110
DB_FLAGS equ VARS + 0x118
VAR_W    equ VARS + 0x200        ; 4-byte write breakpoint
VAR_RW   equ VARS + 0x208        ; 8-byte read/write breakpoint

%macro REPORT 2                  ; REPORT "name", label: count, DR6, frame RIP - label, RF
        P64 %1
        P64 " n="
        mov eax, [DB_COUNT]
        HEX64 rax, 1
        P64 " dr6="
        mov rax, [DB_DR6]
        HEX64 rax, 8
        P64 " at=+"
        mov rax, [DB_RIP]
        sub rax, ROMBASE + (%2 - $$)
        HEX64 rax, 2
        P64 " rf="
        mov rax, [DB_FLAGS]
        shr rax, 16
        and eax, 1
        HEX64 rax, 1
        NL64
%endmacro

%macro ARM 0                     ; reset the record
        mov dword [DB_COUNT], 0
        mov qword [DB_DR6], 0
        mov qword [DB_RIP], 0
        mov qword [DB_FLAGS], 0
%endmacro

%macro DISARM 0
        mov eax, 0x400
        mov dr7, rax
%endmacro

start:  ENTER_PM32
        ENTER_LONG
        call install_exc64
        mov ebx, 1
        mov eax, ROMBASE + (db_handler - $$)
        mov cx, SEL_CODE64
        mov dx, 0x8E00
        call set_idt64

        ; exec
        ARM
        mov rax, ROMBASE + (bp_exec - $$)
        mov dr0, rax
        mov eax, 1                       ; L0, R/W0 = 00 (execution), LEN0 = 00
        mov dr7, rax
        mov ecx, 5
bp_exec:
        inc ecx
        DISARM
        REPORT "exec:", bp_exec
        cmp ecx, 6
        je .exec_ok
        P64 "exec: the instruction at the breakpoint did not run once"
        NL64
.exec_ok:

        ; write
        ARM
        mov rax, VAR_W
        mov dr1, rax
        mov eax, (1 << 2) | (1 << 20) | (3 << 22)   ; L1, R/W1 = 01 (write), LEN1 = 11 (4)
        mov dr7, rax
        mov eax, [VAR_W]                 ; a read: no hit
        mov word [VAR_W + 4], 1          ; next to it: no hit
        mov byte [VAR_W + 3], 1          ; hit
after_w1:
        REPORT "write byte:", after_w1
        ARM
        mov qword [VAR_W - 4], 0         ; overlaps the first 4 bytes: hit
after_w2:
        DISARM
        REPORT "write qword:", after_w2

        ; rw
        ARM
        mov rax, VAR_RW
        mov dr2, rax
        mov eax, (1 << 4) | (3 << 24) | (2 << 26)   ; L2, R/W2 = 11, LEN2 = 10 (8)
        mov dr7, rax
        mov al, [VAR_RW + 7]             ; hit
after_rw:
        DISARM
        REPORT "rw read:", after_rw

        ; io
        ARM
        mov rax, cr4
        or eax, 1 << 3                   ; DE
        mov cr4, rax
        mov eax, 0x80
        mov dr3, rax
        mov eax, (1 << 6) | (2 << 28)    ; L3, R/W3 = 10 (I/O), LEN3 = 00
        mov dr7, rax
        mov al, 0x55
        out 0x84, al                     ; no hit
        out 0x80, al                     ; hit
after_io:
        DISARM
        REPORT "io:", after_io

        ; gd
        ARM
        mov eax, 0x2000 | 0x400          ; GD
        mov dr7, rax
bp_gd:  mov rax, dr0
        REPORT "gd:", bp_gd
        mov rax, dr7
        P64 "gd: dr7 after="
        HEX64 rax, 8
        NL64

        ; tf + data breakpoint
        ARM
        mov rax, VAR_W
        mov dr1, rax
        mov eax, (1 << 2) | (1 << 20) | (3 << 22)
        mov dr7, rax
        pushfq
        or qword [rsp], 0x100            ; TF: the instruction after POPFQ traps
        popfq
        mov dword [VAR_W], 7             ; single step and write breakpoint together
after_tf:
        DISARM
        REPORT "tf+write:", after_tf
        EXIT 0

db_handler:
        push rax
        mov rax, dr6
        mov [DB_DR6], rax
        mov rax, [rsp + 8]               ; frame: RIP, CS, RFLAGS, RSP, SS
        mov [DB_RIP], rax
        mov rax, [rsp + 24]
        mov [DB_FLAGS], rax
        inc dword [DB_COUNT]
        and qword [rsp + 24], ~0x100     ; no further single steps
        or qword [rsp + 24], 0x10000     ; RF: resume past an instruction breakpoint
        mov eax, 0xFFFF0FF0
        mov dr6, rax
        pop rax
        iretq

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
