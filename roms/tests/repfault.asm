; repfault.asm - REP string instructions interrupted by #PF and resumed.
;
; 64-bit mode. Each REP instruction runs into a not-present 4 KiB page part-way through.
; The #PF handler prints the error code, CR2 and the remaining RCX / current RSI / RDI,
; maps the page and returns with IRETQ to the same instruction, which must resume where it
; stopped and complete. A checksum of the destination then shows the copy/fill is right.
;   1. rep movsb, destination crosses into a not-present page
;   2. rep stosd, destination crosses into a not-present page
;   3. rep stosd with a dword that straddles the page boundary (CR2 = first byte of the
;      not-present page, RCX/RDI unchanged for that element)
;   4. rep movsq, source crosses into a not-present page (read fault)
;   5. std; rep movsb going down into a not-present page (CR2 = last byte of that page)
;
; SDM references: vol. 2 REP/REPE/REPNE ("a repeating string operation can be suspended by
; an exception or interrupt ... the registers point to the next element, RIP to the
; instruction"), vol. 1 7.3.9.3 (fast-string operation: ECX holds the value following the
; last successful iteration), vol. 3A 4.7 (CR2 holds the faulting linear address), 6.15
; interrupt 14 (the saved RIP points to the faulting instruction).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

PT      equ 0x22000             ; 4 KiB PTEs for 0x400000-0x5FFFFF
TPAGE   equ 0x400000
SRC     equ 0x200000            ; identity-mapped source data
NFAULTS equ VARS + 0x20

start:  ENTER_PM32
        ENTER_LONG
        call install_exc64
        mov ebx, 14
        mov rax, ROMBASE + (pf_entry - $$)
        mov cx, SEL_CODE64
        mov dx, 0x8E00
        call set_idt64
        ; PT: every page present except the odd ones 0x401000, 0x403000, ...
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        add eax, TPAGE | 3
        test ecx, 1
        jz .pres
        xor eax, eax
.pres:  mov [PT + rcx*8], rax
        inc ecx
        cmp ecx, 512
        jb .pt
        mov qword [LM_PD + 2*8], PT | 3
        mov rax, cr3
        mov cr3, rax
        ; source pattern
        mov rdi, SRC
        xor ecx, ecx
.fill:  imul eax, ecx, 7
        add eax, 3
        mov [rdi + rcx], al
        inc ecx
        cmp ecx, 0x3000
        jb .fill
        mov dword [NFAULTS], 0

        P64 "1 rep movsb 0x200 bytes to 0x400F00:", 10
        cld
        mov rsi, SRC
        mov rdi, TPAGE + 0xF00
        mov rcx, 0x200
        rep movsb
        call after
        mov rsi, TPAGE + 0xF00
        mov ecx, 0x200
        call checksum

        P64 "2 rep stosd 0x40 dwords to 0x402F80:", 10
        mov eax, 0x11223344
        mov rdi, TPAGE + 0x2F80
        mov rcx, 0x40
        rep stosd
        call after
        mov rsi, TPAGE + 0x2F80
        mov ecx, 0x100
        call checksum

        P64 "3 rep stosd 4 dwords to 0x404FFA (straddling):", 10
        mov eax, 0xA5B6C7D8
        mov rdi, TPAGE + 0x4FFA
        mov rcx, 4
        rep stosd
        call after
        mov rsi, TPAGE + 0x4FFA
        mov ecx, 16
        call checksum

        P64 "4 rep movsq 0x40 qwords from 0x406F00:", 10
        mov rdi, TPAGE + 0x6F00
        mov rsi, SRC
        mov ecx, 0x100
        rep movsb                               ; source data into the present page
        mov qword [PT + 7*8], (TPAGE + 0x7000) | 3
        mov rdi, TPAGE + 0x7000
        mov rsi, SRC + 0x100
        mov ecx, 0x100
        rep movsb                               ; ...and into the next one
        mov qword [PT + 7*8], 0
        invlpg [TPAGE + 0x7000]
        mov rsi, TPAGE + 0x6F00
        mov rdi, 0x300000
        mov rcx, 0x40
        rep movsq
        call after
        mov rsi, 0x300000
        mov ecx, 0x200
        call checksum

        P64 "5 std rep movsb 0x40 bytes down from 0x40A020:", 10
        std
        mov rsi, SRC + 0x1FF
        mov rdi, TPAGE + 0xA020
        mov rcx, 0x40
        rep movsb
        cld
        call after
        mov rsi, TPAGE + 0xA020 - 0x3F
        mov ecx, 0x40
        call checksum
        P64 "faults handled="
        HEX64 [NFAULTS], 2
        NL64
        P64 "PASS repfault", 10
        EXIT 0

; after: print the registers once the instruction has completed
after:  P64 "  done: rcx="
        HEX64 rcx, 4
        P64 " rsi="
        HEX64 rsi, 8
        P64 " rdi="
        HEX64 rdi, 8
        NL64
        ret

; checksum: RSI = buffer, ECX = length; prints h = h*31 + byte (32-bit)
checksum:
        xor eax, eax
.l:     imul eax, eax, 31
        movzx edx, byte [rsi]
        add eax, edx
        inc rsi
        dec ecx
        jnz .l
        P64 "  checksum="
        HEX64 rax, 8
        NL64
        ret

pf_entry:
        push rax
        push rbx
        P64 "  #PF e="
        mov rax, [rsp+16]
        HEX64 rax, 2
        P64 " cr2="
        mov rax, cr2
        HEX64 rax, 8
        P64 " rcx="
        HEX64 rcx, 4
        P64 " rsi="
        HEX64 rsi, 8
        P64 " rdi="
        HEX64 rdi, 8
        P64 " rip=rep?"
        mov rax, [rsp+24]
        mov al, [rax]
        cmp al, 0xF3
        sete al
        movzx eax, al
        HEX64 rax, 1
        NL64
        inc dword [NFAULTS]
        ; map the page
        mov rax, cr2
        and rax, ~0xFFF
        mov rbx, rax
        sub rbx, TPAGE
        shr rbx, 12
        or rax, 3
        mov [PT + rbx*8], rax
        pop rbx
        pop rax
        add rsp, 8
        iretq

        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
