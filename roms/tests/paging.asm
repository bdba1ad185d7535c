; paging.asm - 4-level paging permissions, error codes, A/D bits, TLB invalidation.
;
; 64-bit mode, 4 KiB pages at 0x400000 + i*0x1000 (PML4E/PDPTE/PDE all P|RW|US so the PTE
; alone decides). For each PTE permission set (P, R/W, U/S, XD with EFER.NXE=1) and CR0.WP
; = 0 and 1, six accesses are made: supervisor read/write/fetch (sR sW sX) and user-mode
; read/write/fetch (uR uW uX, CPL 3 reached with IRETQ, back with INT 0x80). Each access
; prints "ok" or "PF e=<error code> cr2=<CR2>". (The reserved-bit fault of a PTE with XD
; set while EFER.NXE=0 is in sdmonly.asm: QEMU 7.2 leaves P=0 in that error code.)
; Then: Accessed/Dirty bits (PTE low 12 bits after a read and after a write, 4 KiB page
; and 2 MiB page, plus the PDE's A bit), TLB effects that the SDM guarantees: a changed
; PTE is seen after INVLPG, after a CR3 reload (non-global page), and for a global page
; (CR4.PGE, G=1) after INVLPG and after toggling CR4.PGE; a not-present -> present change
; needs no invalidation (not-present translations are never cached). Where the SDM allows
; either a stale or a fresh translation (no invalidation, or a global page across a CR3
; write), nothing is printed, since both are correct.
;
; SDM references: vol. 3A 4.5 (4-level paging), 4.6 (access rights: 4.6.1 supervisor
; writes and CR0.WP, user accesses, execute-disable), 4.7 (page-fault exceptions, error
; code bits P W/R U/S RSVD I/D), 4.8 (accessed and dirty flags), 4.10.2.2 / 4.10.4
; (TLB invalidation: INVLPG, MOV to CR3, CR4.PGE, global pages), 4.10.4.3 (optional
; invalidation: not-present entries are not cached).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

PT      equ 0x22000             ; PTEs for 0x400000-0x5FFFFF
TPAGE   equ 0x400000
KSAVE   equ VARS + 0x20         ; kernel RSP saved by run_user
XD      equ 0x8000000000000000

start:  ENTER_PM32
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero32
        mov dword [TSS_RAM + 4], 0x6000         ; RSP0
        ENTER_LONG
        call install_exc64
        mov ebx, 14
        mov rax, ROMBASE + (pf_entry - $$)
        mov cx, SEL_CODE64
        mov dx, 0x8E00
        call set_idt64
        mov ebx, 0x80
        mov rax, ROMBASE + (user_exit_handler - $$)
        mov dx, 0xEE00                          ; DPL 3 interrupt gate
        call set_idt64
        mov ax, SEL_TSS
        ltr ax
        ; user-accessible upper levels; first 2 MiB (ROM, stacks) user too
        mov qword [LM_PML4], LM_PDPT | 7
        mov qword [LM_PDPT], LM_PD | 7
        mov qword [LM_PD + 0*8], 0x87
        mov qword [LM_PD + 2*8], PT | 7
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        add eax, TPAGE | 3
        mov [PT + rcx*8], rax
        inc ecx
        cmp ecx, 512
        jb .pt
        mov rax, cr3
        mov cr3, rax
        ; each test page: "jmp r10" at +0x30
        xor ecx, ecx
.code:  mov eax, ecx
        shl eax, 12
        mov dword [TPAGE + rax + 0x30], 0x00E2FF41
        inc ecx
        cmp ecx, 16
        jb .code
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1 << 11                         ; NXE
        wrmsr

        ; ------------------------------------------------ permission matrix
        xor r15d, r15d                          ; WP
.wploop:
        mov rax, cr0
        and eax, ~(1 << 16)
        mov ecx, r15d
        shl ecx, 16
        or eax, ecx
        mov cr0, rax
        xor r14d, r14d                          ; config index
.cfg:   mov rax, [ROMBASE + (configs - $$) + r14*8]
        call test_config
        inc r14d
        cmp r14d, NCONFIGS
        jb .cfg
        inc r15d
        cmp r15d, 2
        jb .wploop

        ; ------------------------------------------------ accessed / dirty
        mov rbx, TPAGE + 0x10000                ; 4 KiB page, PT index 16
        mov qword [PT + 16*8], (TPAGE + 0x10000) | 7
        mov qword [LM_PD + 3*8], 0x600000 | 0x87 ; 2 MiB page at 0x600000
        and qword [LM_PD + 2*8], ~0x20          ; clear the PDE's A bit
        mov rax, cr3
        mov cr3, rax
        P64 "A/D 4K: pte="
        mov rax, [PT + 16*8]
        and eax, 0xFFF
        HEX64 rax, 3
        mov al, [rbx]
        P64 " read->"
        mov rax, [PT + 16*8]
        and eax, 0xFFF
        HEX64 rax, 3
        mov byte [rbx], 1
        P64 " write->"
        mov rax, [PT + 16*8]
        and eax, 0xFFF
        HEX64 rax, 3
        P64 " pde="
        mov rax, [LM_PD + 2*8]
        and eax, 0xFFF
        HEX64 rax, 3
        NL64
        P64 "A/D 2M: pde="
        mov rax, [LM_PD + 3*8]
        and eax, 0xFFF
        HEX64 rax, 3
        mov al, [0x600000]
        P64 " read->"
        mov rax, [LM_PD + 3*8]
        and eax, 0xFFF
        HEX64 rax, 3
        mov byte [0x601000], 1
        P64 " write->"
        mov rax, [LM_PD + 3*8]
        and eax, 0xFFF
        HEX64 rax, 3
        NL64
        ; a write through a TLB entry made by a read must still set D
        mov qword [PT + 17*8], (TPAGE + 0x11000) | 7
        mov al, [TPAGE + 0x11000]
        mov al, [TPAGE + 0x11000]
        mov byte [TPAGE + 0x11000], 2
        P64 "A/D read,read,write: pte="
        mov rax, [PT + 17*8]
        and eax, 0xFFF
        HEX64 rax, 3
        NL64

        ; ------------------------------------------------ TLB invalidation
        mov dword [0x700000], 0xAAAAAAAA
        mov dword [0x701000], 0xBBBBBBBB
        mov dword [0x702000], 0xCCCCCCCC
        mov rbx, TPAGE + 0x20000                ; PT index 32
        mov qword [PT + 32*8], 0x700000 | 3
        invlpg [rbx]
        mov eax, [rbx]
        P64 "tlb: A="
        HEX64 rax, 8
        mov qword [PT + 32*8], 0x701000 | 3
        invlpg [rbx]
        mov eax, [rbx]
        P64 " invlpg->"
        HEX64 rax, 8
        mov qword [PT + 32*8], 0x702000 | 3
        mov rax, cr3
        mov cr3, rax
        mov eax, [rbx]
        P64 " cr3 reload->"
        HEX64 rax, 8
        NL64
        ; not present -> present needs no invalidation
        mov rbx, TPAGE + 0x21000                ; PT index 33
        mov qword [PT + 33*8], 0
        invlpg [rbx]
        P64 "tlb: not present: "
        TRY
        mov eax, [rbx]
        ENDTRY64
        NL64
        mov qword [PT + 33*8], 0x701000 | 3
        mov eax, [rbx]
        P64 "tlb: made present, no invlpg->"
        HEX64 rax, 8
        NL64
        ; global page
        mov rax, cr4
        or eax, 1 << 7                          ; PGE
        mov cr4, rax
        mov rbx, TPAGE + 0x22000                ; PT index 34
        mov qword [PT + 34*8], 0x700000 | 0x103 ; G
        invlpg [rbx]
        mov eax, [rbx]
        P64 "global: A="
        HEX64 rax, 8
        mov qword [PT + 34*8], 0x701000 | 0x103
        invlpg [rbx]
        mov eax, [rbx]
        P64 " invlpg->"
        HEX64 rax, 8
        mov qword [PT + 34*8], 0x702000 | 0x103
        mov rax, cr4
        and eax, ~(1 << 7)
        mov cr4, rax                            ; flushes global entries too
        or eax, 1 << 7
        mov cr4, rax
        mov eax, [rbx]
        P64 " PGE toggle->"
        HEX64 rax, 8
        NL64
        P64 "PASS paging", 10
        EXIT 0

; test_config: RAX = PTE flags for test page R14; prints one line with six accesses
test_config:
        mov r13, rax
        mov rbx, r14
        shl rbx, 12
        add rbx, TPAGE
        or rax, rbx
        mov [PT + r14*8], rax
        invlpg [rbx]
        P64 "pte="
        mov al, '-'
        test r13b, 1
        jz .1
        mov al, 'P'
.1:     out 0xE9, al
        mov al, '-'
        test r13b, 2
        jz .2
        mov al, 'W'
.2:     out 0xE9, al
        mov al, '-'
        test r13b, 4
        jz .3
        mov al, 'U'
.3:     out 0xE9, al
        mov al, '-'
        bt r13, 63
        jnc .4
        mov al, 'X'
.4:     out 0xE9, al
        P64 " wp="
        HEX64 r15, 1
        P64 ":"
        xor edx, edx                            ; supervisor
.priv:  P64 " "
        mov al, 's'
        test dl, dl
        jz .5
        mov al, 'u'
.5:     out 0xE9, al
        P64 "R:"
        lea rsi, [rbx + 0x10]
        mov rdi, ROMBASE + (st_read - $$)
        mov r11, ROMBASE + (st_read_r - $$)
        call do_access
        P64 " "
        mov al, 's'
        test dl, dl
        jz .6
        mov al, 'u'
.6:     out 0xE9, al
        P64 "W:"
        lea rsi, [rbx + 0x20]
        mov rdi, ROMBASE + (st_write - $$)
        mov r11, ROMBASE + (st_write_r - $$)
        call do_access
        P64 " "
        mov al, 's'
        test dl, dl
        jz .7
        mov al, 'u'
.7:     out 0xE9, al
        P64 "X:"
        lea rsi, [rbx + 0x30]
        mov rdi, ROMBASE + (st_fetch - $$)
        mov r11, ROMBASE + (st_fetch_r - $$)
        call do_access
        inc edx
        cmp edx, 2
        jb .priv
        NL64
        ret

; do_access: run stub RDI (resume point R11) on address RSI, at CPL 3 if DL=1
do_access:
        push rbx
        push rdx
        mov [RESUME], r11
        mov dword [FAULTED], 0
        mov rbx, rsi
        test dl, dl
        jnz .user
        mov r12, ROMBASE + (.back - $$)
        jmp rdi
.user:  mov r12, ROMBASE + (user_exit - $$)
        call run_user
.back:  cmp dword [FAULTED], 0
        jne .f
        P64 "ok"
.f:     pop rdx
        pop rbx
        ret

; run_user: IRETQ to RDI at CPL 3; returns when the user code executes INT 0x80
run_user:
        mov [KSAVE], rsp
        push SEL_UDATA
        push STACK3
        push 0x3002                             ; IOPL 3, IF 0
        push SEL_UCODE64
        push rdi
        iretq
user_exit_handler:
        mov rsp, [KSAVE]
        ret

; access stubs: address in RBX, continue with JMP R12
st_read:
        mov al, [rbx]
st_read_r:
        jmp r12
st_write:
        mov byte [rbx], 0x5A
st_write_r:
        jmp r12
st_fetch:
        lea r10, [rel st_fetch_r]               ; the page holds "jmp r10" at +0x30
        jmp rbx
st_fetch_r:
        jmp r12
user_exit:
        int 0x80

pf_entry:
        push rax
        P64 "PF e="
        mov rax, [rsp+8]
        HEX64 rax, 2
        P64 " cr2="
        mov rax, cr2
        HEX64 rax, 8
        mov dword [FAULTED], 1
        mov rax, [RESUME]
        mov [rsp+16], rax
        pop rax
        add rsp, 8
        iretq

        EXC_STUBS64 std_exc64
        STD_EXC64

configs:
        dq 0                    ; not present
        dq 1                    ; P, read-only, supervisor
        dq 3                    ; P RW
        dq 5                    ; P US (read-only user)
        dq 7                    ; P RW US
        dq 7 | XD               ; P RW US XD
        dq 5 | XD               ; P US XD
        dq 3 | XD               ; P RW XD (supervisor)
NCONFIGS equ ($ - configs) / 8

        RESET_VECTOR start
