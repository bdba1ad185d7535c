; kvmtsc.asm - the TSC never goes backwards, and advances, while the machine is moved
; between engines (tests/engines/engine_switch.sh switches it; alone it runs on one engine).
; 64-bit mode; ITER rounds of RDTSC, each compared with the previous value; a few thousand
; instructions of work between reads. Prints the count of backward steps and of reads that
; did not advance. Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

%ifndef ITER
%define ITER 200000
%endif

start:  ENTER_PM32
        ENTER_LONG
        call install_exc64
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov r8, rax                     ; previous TSC
        mov r9, rax                     ; first TSC
        xor r10, r10                    ; backward steps
        xor r11, r11                    ; reads that did not advance
        mov r12d, ITER
.loop:  mov ecx, 20
.work:  imul rbx, rcx
        dec ecx
        jnz .work
        rdtsc
        shl rdx, 32
        or rax, rdx
        cmp rax, r8
        ja .up
        jb .back
        inc r11
        jmp .next
.back:  inc r10
.up:
.next:  mov r8, rax
        dec r12d
        jnz .loop
        P64 "tsc backward steps: "
        HEX64 r10, 8
        NL64
        P64 "tsc reads not advancing: "
        HEX64 r11, 8
        NL64
        cmp r8, r9
        jbe .flat
        P64 "tsc advanced"
        NL64
        EXIT 0
.flat:  P64 "tsc did not advance"
        NL64
        EXIT 0

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
