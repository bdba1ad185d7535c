; modes.asm - walk through every x86 operating mode and back again.
;
; real mode -> 16-bit protected mode -> 32-bit protected mode -> 32-bit paging (4 KiB pages)
; -> PAE paging (2 MiB pages) -> IA-32e 64-bit mode -> compatibility mode -> 64-bit mode
; -> compatibility mode -> protected mode without paging -> 16-bit protected -> real mode.
; Each step prints a line with something computed in that mode (segment arithmetic, LSL,
; wide multiplies, reads through an alias mapping, EFER.LMA, the meaning of byte 0x48).
;
; SDM references (Intel SDM vol. 3A):
;   9.1.1 (processor state after reset: CR0=60000010H), 9.9.1 (switching to protected mode),
;   9.9.2 (switching back to real-address mode), 4.3 (32-bit paging), 4.4 (PAE paging),
;   4.5 (4-level paging), 10.8.5 (initializing IA-32e mode), 10.8.5.4 (switching out of
;   IA-32e mode), 5.2.1 / 10.8.2 (compatibility mode via CS.L=0), vol. 2 LSL.
; Expected exit status: 1 (write 0 to port 0xF4).

        bits 16
        org 0
%include "lib.inc"

PD32    equ PT_BASE + 0x0000    ; 32-bit paging directory
PT32A   equ PT_BASE + 0x1000    ; identity 0-4 MiB
PT32B   equ PT_BASE + 0x2000    ; linear 0x800000 -> physical 0x100000
PDPTPAE equ PT_BASE + 0x3000
PDPAE   equ PT_BASE + 0x4000    ; identity 0-1 GiB, 2 MiB pages
PDPAE2  equ PT_BASE + 0x5000    ; linear 0x40000000 -> physical 0x200000 (2 MiB page)
PML4    equ PT_BASE + 0x6000
PDPT64  equ PT_BASE + 0x7000

start:  cli
        cld
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, STACK0
        ; --- real mode: segment arithmetic 2345:0010 and 2346:0000 are the same byte
        mov ax, 0x2345
        mov es, ax
        mov word [es:0x0010], 0xBEEF
        mov ax, 0x2346
        mov es, ax
        mov bx, [es:0x0000]
        mov ax, 1234
        mov cx, 5678
        mul cx                  ; DX:AX = 1234*5678 = 0x006AE9BC
        P16 "real: CS="
        mov si, cs
        movzx esi, si
        HEX16 esi, 4
        P16 " [2346:0000]="
        HEX16 ebx, 4
        P16 " 1234*5678="
        HEX16 edx, 4
        HEX16 eax, 4
        NL16

        ; --- 16-bit protected mode (CS = code16 with base F0000)
        call setup_gdt16
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp SEL_CODE16:pm16
pm16:   mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, STACK0
        xor ax, ax
        mov cx, 100
.sum:   add ax, cx
        loop .sum               ; 1+...+100 = 5050 = 0x13BA
        mov bx, ax
        P16 "pm16: CS="
        mov si, cs
        movzx esi, si
        HEX16 esi, 4
        P16 " CR0="
        mov eax, cr0
        HEX16 eax, 8
        P16 " lsl(0020)="
        mov ax, SEL_CODE16
        movzx eax, ax
        lsl eax, eax
        HEX16 eax, 8
        P16 " sum(1..100)="
        HEX16 ebx, 4
        NL16
        jmp dword SEL_CODE32:(ROMBASE + (pm32 - $$))

        ; --- 32-bit protected mode
        bits 32
pm32:   mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK0
        mov eax, 0x12345678
        mov ebx, 0x9ABCDEF0
        mul ebx
        P32 "pm32: CS="
        mov ebx, cs
        HEX32 ebx, 4
        P32 " 12345678*9ABCDEF0="
        HEX32 edx, 8
        HEX32 eax, 8
        NL32

        ; --- 32-bit paging, 4 KiB pages; linear 0x800000 aliases physical 0x100000
        mov dword [0x100000], 0xCAFEBABE
        mov edi, PD32
        mov ecx, 0x3000
        call zero32
        mov dword [PD32 + 0*4], PT32A | 3
        mov dword [PD32 + 2*4], PT32B | 3
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        or eax, 3
        mov [PT32A + ecx*4], eax
        inc ecx
        cmp ecx, 1024
        jb .pt
        mov dword [PT32B + 0*4], 0x100000 | 3
        mov eax, PD32
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov dword [0x800004], 0x11223344        ; write via the alias
        P32 "paging32: CR0="
        mov eax, cr0
        HEX32 eax, 8
        P32 " CR3="
        mov eax, cr3
        HEX32 eax, 8
        P32 " [00800000]="
        HEX32 [0x800000], 8
        P32 " [00100004]="
        HEX32 [0x100004], 8
        NL32
        ; paging off again
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax

        ; --- PAE paging, 2 MiB pages; linear 0x40000000 aliases physical 0x200000
        mov dword [0x200000], 0x5EA5EA5E
        mov edi, PDPTPAE
        mov ecx, 0x5000
        call zero32
        mov dword [PDPTPAE + 0*8], PDPAE | 1    ; PDPTEs: only P (R/W, U/S reserved)
        mov dword [PDPTPAE + 1*8], PDPAE2 | 1
        xor ecx, ecx
.pd:    mov eax, ecx
        shl eax, 21
        or eax, 0x83
        mov [PDPAE + ecx*8], eax
        inc ecx
        cmp ecx, 512
        jb .pd
        mov dword [PDPAE2 + 0*8], 0x200000 | 0x83
        mov eax, cr4
        or eax, 1 << 5
        mov cr4, eax
        mov eax, PDPTPAE
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        P32 "pae: CR4="
        mov eax, cr4
        HEX32 eax, 8
        P32 " CR3="
        mov eax, cr3
        HEX32 eax, 8
        P32 " [40000000]="
        HEX32 [0x40000000], 8
        NL32
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax

        ; --- IA-32e mode: PML4[0] and PML4[256] both -> PDPT64 -> the PAE identity PD
        mov edi, PML4
        mov ecx, 0x2000
        call zero32
        mov dword [PML4 + 0*8], PDPT64 | 3
        mov dword [PML4 + 256*8], PDPT64 | 3    ; 0xFFFF800000000000 aliases 0
        mov dword [PDPT64 + 0*8], PDPAE | 3
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1 << 8                          ; EFER.LME
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax                            ; now IA-32e compatibility mode (LMA=1)
        jmp SEL_CODE64:(ROMBASE + (lm64 - $$))

        bits 64
lm64:   mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, STACK0
        P64 "long64: CS="
        mov rbx, cs
        HEX64 rbx, 4
        P64 " EFER="
        mov ecx, 0xC0000080
        rdmsr
        HEX64 rax, 8
        P64 " [FFFF800000100000]="
        mov rax, 0xFFFF800000100000
        HEX64 [rax], 8
        mov rax, 0x123456789ABCDEF0
        mov rbx, 0x10000000F
        mul rbx
        P64 " 123456789ABCDEF0*10000000F="
        HEX64 rdx, 16
        HEX64 rax, 16
        NL64
        ; to compatibility mode: far jump through a m16:32 pointer to the 32-bit code segment
        jmp far dword [rel compat_ptr]
compat_ptr:
        dd ROMBASE + (compat - $$)
        dw SEL_CODE32

        bits 32
compat: mov eax, 5
        dec eax                 ; 0x48: DEC EAX here, a REX prefix in 64-bit mode
        mov ebx, eax
        P32 "compat: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " EFER="
        mov ecx, 0xC0000080
        rdmsr
        HEX32 eax, 8
        P32 " dec eax(48)="
        HEX32 ebx, 8
        NL32
        jmp SEL_CODE64:(ROMBASE + (lm64b - $$))

        bits 64
lm64b:  mov rax, 0xF0F0F0F0F0F0F0F0
        xor ebx, ebx
.pc:    test rax, rax
        jz .pcd
        mov rcx, rax
        dec rcx
        and rax, rcx
        inc ebx
        jmp .pc
.pcd:   mov rcx, 0x8000000000000001
        rol rcx, 4
        P64 "long64 again: bits(F0F0F0F0F0F0F0F0)="
        HEX64 rbx, 2
        P64 " rol(8000000000000001,4)="
        HEX64 rcx, 16
        NL64
        ; leave IA-32e mode: go to compatibility mode, turn paging off, clear LME
        jmp far dword [rel compat2_ptr]
compat2_ptr:
        dd ROMBASE + (leave64 - $$)
        dw SEL_CODE32

        bits 32
leave64:
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax            ; LMA <- 0: legacy protected mode
        mov ecx, 0xC0000080
        rdmsr
        and eax, ~(1 << 8)
        wrmsr
        mov eax, cr4
        and eax, ~(1 << 5)
        mov cr4, eax
        mov esp, STACK0
        P32 "pm32 again: CR0="
        mov eax, cr0
        HEX32 eax, 8
        P32 " EFER="
        mov ecx, 0xC0000080
        rdmsr
        HEX32 eax, 8
        P32 " [00100004]="
        HEX32 [0x100004], 8
        NL32
        jmp SEL_CODE16:(pm16b - $$)

        bits 16
pm16b:  mov ax, SEL_DATA16      ; real-mode-like limits (64 KiB) before clearing PE
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        P16 "pm16 again: CS="
        mov si, cs
        movzx esi, si
        HEX16 esi, 4
        NL16
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp 0xF000:real2
real2:  xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, STACK0
        o32 lidt [cs:idtr_real]
        mov ax, 0x2346
        mov es, ax
        mov bx, [es:0x0000]
        P16 "real again: CS="
        mov si, cs
        movzx esi, si
        HEX16 esi, 4
        P16 " CR0="
        mov eax, cr0
        HEX16 eax, 8
        P16 " [2346:0000]="
        HEX16 ebx, 4
        NL16
        P16 "PASS modes", 10
        EXIT 0

        RESET_VECTOR start
