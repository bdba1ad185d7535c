; sysfast.asm - SYSENTER/SYSEXIT (32-bit protected mode) and SYSCALL/SYSRET (64-bit mode).
;
; Part 1, 32-bit protected mode: IA32_SYSENTER_CS=58H (so CS=58H, SS=60H on entry, and
; SYSEXIT gives CS=6BH, SS=73H), IA32_SYSENTER_ESP, IA32_SYSENTER_EIP. Ring-3 code calls
; SYSENTER; the handler prints the CS/SS/ESP it runs with, EFLAGS.IF (cleared by
; SYSENTER) and the argument, then SYSEXITs to EDX with ESP=ECX; user code prints what it
; gets back.
; Part 2, 64-bit mode: EFER.SCE, STAR (kernel CS=78H/SS=80H, SYSRET base 30H), LSTAR,
; SFMASK (IF|TF|DF). Ring-3 64-bit code with DF=1 executes SYSCALL: the handler prints
; CS/SS, RCX (return RIP, relative to the label after SYSCALL), R11 (the RFLAGS image),
; its own RFLAGS (DF masked), RSP (unchanged by SYSCALL), then SYSRETQ -> 64-bit CS=43H
; SS=3BH, RFLAGS restored from R11. A second SYSCALL returns with a 32-bit SYSRET to
; compatibility mode (CS=33H), which gets back to ring 0 through INT 0x80.
;
; SDM references: vol. 3A 5.8.7 (SYSENTER/SYSEXIT), 5.8.8 (SYSCALL/SYSRET in IA-32e mode),
; vol. 2 SYSENTER, SYSEXIT, SYSCALL, SYSRET pseudocode (RFLAGS <- R11 & 3C7FD7H | 2,
; CS/SS selector arithmetic from STAR), vol. 4 MSRs 174H-176H, C0000080H-C0000084H.
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

KSAVE   equ VARS + 0x20
SEL_K64 equ SEL_FREE            ; 0x78 code64 ring 0, 0x80 data ring 0 (for STAR)

start:  ENTER_PM32
        mov esi, ROMBASE + (extra_gdt - $$)
        mov edi, GDT_RAM + SEL_FREE
        mov ecx, extra_gdt_end - extra_gdt
        rep movsb
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        call install_exc32
        ; ---------------------------------------------------------------- SYSENTER
        mov ecx, 0x174
        xor edx, edx
        mov eax, SEL_SE_CS
        wrmsr
        inc ecx
        mov eax, 0x6000
        wrmsr
        inc ecx
        mov eax, ROMBASE + (se_handler - $$)
        wrmsr
        mov [KSAVE], esp
        push SEL_SE_CS + 24 + 3                 ; SS
        push STACK3                             ; ESP
        push 0x3002                             ; EFLAGS: IOPL 3, IF 0
        push SEL_SE_CS + 16 + 3                 ; CS
        push ROMBASE + (user32 - $$)
        iretd

user32: mov ax, SEL_SE_CS+24+3
        mov ds, ax
        mov es, ax
        P32 "user32: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        NL32
        mov eax, 0x1234
        mov ecx, esp
        mov edx, ROMBASE + (user32_back - $$)
        sysenter
user32_back:
        mov ebx, eax
        mov edi, esp
        P32 "user32 after sysexit: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        P32 " EAX="
        HEX32 ebx, 8
        NL32
        xor eax, eax                            ; "done"
        sysenter

se_handler:
        test eax, eax
        jz se_done
        mov ebx, eax
        mov edi, esp
        pushfd
        pop esi
        P32 "sysenter: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        P32 " IF="
        shr esi, 9
        and esi, 1
        HEX32 esi, 1
        P32 " EAX="
        HEX32 ebx, 8
        NL32
        lea eax, [ebx + 1]
        sysexit                                 ; EIP <- EDX, ESP <- ECX
se_done:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, [KSAVE]
        P32 "back in ring 0: CS="
        mov eax, cs
        HEX32 eax, 4
        NL32

        ; ---------------------------------------------------------------- SYSCALL
        ENTER_LONG
        mov qword [LM_PML4], LM_PDPT | 7        ; ring 3 may use the first 2 MiB
        mov qword [LM_PDPT], LM_PD | 7
        mov qword [LM_PD], 0x87
        mov rax, cr3
        mov cr3, rax
        call install_exc64
        mov ebx, 0x80
        mov rax, ROMBASE + (int80 - $$)
        mov cx, SEL_CODE64
        mov dx, 0xEE00
        call set_idt64
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero64
        mov qword [TSS_RAM + 4], 0x6000         ; RSP0
        mov ax, SEL_TSS
        ltr ax
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1                               ; SCE
        wrmsr
        mov ecx, 0xC0000081                     ; STAR
        xor eax, eax
        mov edx, (0x30 << 16) | SEL_K64
        wrmsr
        mov ecx, 0xC0000082                     ; LSTAR
        mov rax, ROMBASE + (sc_handler - $$)
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, 0xC0000084                     ; SFMASK
        mov eax, 0x700                          ; TF IF DF
        xor edx, edx
        wrmsr
        mov [KSAVE], rsp
        push SEL_UDATA
        push STACK3
        push 0x3002
        push SEL_UCODE64
        mov rax, ROMBASE + (user64 - $$)
        push rax
        iretq

user64: P64 "user64: CS="
        mov rax, cs
        HEX64 rax, 4
        NL64
        mov rax, 0x1111
        mov rbx, rsp
        push 0x3402                             ; DF=1 (IOPL 3); arithmetic flags 0:
                                                ; see sdmonly.asm for why
        popfq
        syscall
sc_ret1:
        pushfq
        pop rdx
        cld
        mov r8, rax
        P64 "user64 after sysretq: CS="
        mov rax, cs
        HEX64 rax, 4
        P64 " SS="
        mov rax, ss
        HEX64 rax, 4
        P64 " RFLAGS="
        HEX64 rdx, 8
        P64 " RAX="
        HEX64 r8, 8
        NL64
        mov rax, 2                              ; ask for a return to compatibility mode
        push 0x3002
        popfq
        syscall
sc_ret2:

sc_handler:
        pushfq
        pop rdx
        mov r8, rax
        P64 "syscall: CS="
        mov rax, cs
        HEX64 rax, 4
        P64 " SS="
        mov rax, ss
        HEX64 rax, 4
        P64 " RCX="
        mov rax, rcx
        mov r9, ROMBASE + (sc_ret1 - $$)
        cmp r8, 2
        jne .l1
        mov r9, ROMBASE + (sc_ret2 - $$)
.l1:    sub rax, r9
        P64 "label+"
        HEX64 rax, 2
        P64 " R11="
        HEX64 r11, 8
        P64 " RFLAGS="
        HEX64 rdx, 8
        P64 " RSP=user:"
        cmp rsp, rbx
        sete al
        movzx eax, al
        HEX64 rax, 1
        P64 " RAX="
        HEX64 r8, 8
        NL64
        cmp r8, 2
        je .compat
        lea rax, [r8 + 1]
        o64 sysret
.compat:
        mov ecx, ROMBASE + (user_compat - $$)
        and r11d, ~0x400
        sysret                                  ; 32-bit operand size: to compatibility mode

        bits 32
user_compat:
        mov ax, 0x3B
        mov ds, ax
        P32 "compat after sysret: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        NL32
        int 0x80

        bits 64
int80:  mov rsp, [KSAVE]
        P64 "back in ring 0: CS="
        mov rax, cs
        HEX64 rax, 4
        NL64
        P64 "PASS sysfast", 10
        EXIT 0

        EXC_STUBS32 std_exc32
        STD_EXC32
        EXC_STUBS64 std_exc64
        STD_EXC64

extra_gdt:
        DESC 0, 0xFFFFF, 0xA09A                 ; 0x78 code64 ring 0 (STAR kernel CS)
        DESC 0, 0xFFFFF, 0xC092                 ; 0x80 data ring 0
extra_gdt_end:

        RESET_VECTOR start
