; demo.asm - the Retrovisor demo ROM: a guided tour from the reset vector to long mode.
;
; This is the default guest of the default machine until Linux boots. It is meant to be
; read: every step says what it does and why, on port 0xE9 and in these comments.
; Build: nasm -f bin -I roms/tests/ -o demo.bin roms/demo/demo.asm
; Output goes to port 0xE9 (the "debug console"); the final write of 0 to port 0xF4 ends
; the run with exit status 1 (= (0<<1)|1, QEMU's isa-debug-exit convention).
; Note: the CPUID vendor line shows whatever CPU runs the ROM, so demo.expected (recorded
; on QEMU TCG, vendor "AuthenticAMD") is only right for a CPU reporting that vendor.
;
; SDM pointers for the curious: vol. 3A 9.1 (state after reset), 9.9 (mode switching),
; 3.4-3.5 (segments, descriptors), 4 (paging), 10.8.5 (entering IA-32e mode),
; vol. 2 CPUID.

        bits 16
        org 0
%include "lib.inc"

CRCTAB  equ 0x100000            ; 1 KiB CRC table, above 1 MiB (needs A20, on at reset)
SIEVE   equ 0x110000

start:
        ; The CPU starts at F000:FFF0, 16 bytes below the top of the first megabyte,
        ; where the ROM's last 16 bytes hold a far jump to here. We are in real mode:
        ; addresses are segment*16 + offset, 16-bit registers, no protection.
        cli
        cld
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, STACK0
        P16 "Retrovisor demo ROM: real mode, CS=F000 IP=FFF0 at reset", 10
        P16 "  real mode addresses are segment*16+offset: CS="
        mov ax, cs
        movzx eax, ax
        HEX16 eax, 4
        P16 " so this code runs at linear F0000+IP", 10
        P16 "  CR0="
        mov eax, cr0
        HEX16 eax, 8
        P16 " (PE=0: no protection yet)", 10

        ; Protected mode needs a Global Descriptor Table: 8-byte descriptors giving each
        ; segment a base, a limit and access rights. lib.inc's std_gdt has flat 4 GiB code
        ; and data segments; we copy it to RAM (the ROM is read-only and the CPU writes
        ; "accessed" bits into descriptors) and point GDTR at it.
        P16 "Loading a GDT and setting CR0.PE: switching to 32-bit protected mode...", 10
        call setup_gdt16
        mov eax, cr0
        or al, 1
        mov cr0, eax
        ; A far jump loads CS with a selector (index 1 of the GDT = 0x08, a 32-bit code
        ; segment): from here on instructions are decoded as 32-bit code.
        jmp dword SEL_CODE32:(ROMBASE + (pm32 - $$))

        bits 32
pm32:   mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK0
        mov edi, esp
        P32 "  in protected mode: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " DS="
        mov eax, ds
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        NL32

        ; CPUID tells who made the CPU: the vendor string is in EBX, EDX, ECX.
        xor eax, eax
        cpuid
        mov [VARS + 0x40], ebx
        mov [VARS + 0x44], edx
        mov [VARS + 0x48], ecx
        mov byte [VARS + 0x4C], 0
        P32 "CPUID vendor: "
        mov esi, VARS + 0x40
        call puts32
        NL32

        ; A little work in 32-bit mode: the primes below 100 with a sieve.
        P32 "Primes below 100 (sieve of Eratosthenes, 32-bit code):", 10, " "
        mov edi, SIEVE
        mov ecx, 100
        mov al, 1
        rep stosb
        mov ebx, 2
.sv:    mov eax, ebx
        imul eax, ebx
        cmp eax, 100
        jae .svd
        cmp byte [SIEVE + ebx], 0
        je .svn
.svm:   mov byte [SIEVE + eax], 0
        add eax, ebx
        cmp eax, 100
        jb .svm
.svn:   inc ebx
        jmp .sv
.svd:   mov ebx, 2
.pr:    cmp byte [SIEVE + ebx], 0
        je .prn
        P32 " "
        call pdec32
.prn:   inc ebx
        cmp ebx, 100
        jb .pr
        NL32

        ; Long mode (IA-32e) requires paging. The 4-level tables map virtual addresses
        ; to physical ones; here 0-1 GiB maps to itself with 2 MiB pages (PML4 -> PDPT ->
        ; PD entries with PS=1). Then: CR4.PAE=1, CR3 = the PML4, EFER.LME=1 (MSR
        ; C0000080H), and finally CR0.PG=1 activates long mode (EFER.LMA becomes 1).
        P32 "Building 4-level page tables (identity map of 1 GiB, 2 MiB pages),", 10
        P32 "setting CR4.PAE, EFER.LME and CR0.PG: entering long mode...", 10
        ENTER_LONG
        P64 "  in 64-bit mode: CS="
        mov rax, cs
        HEX64 rax, 4
        P64 " CR0="
        mov rax, cr0
        HEX64 rax, 8
        P64 " CR4="
        mov rax, cr4
        HEX64 rax, 8
        P64 " EFER="
        mov ecx, 0xC0000080
        rdmsr
        HEX64 rax, 8
        NL64
        P64 "  64-bit registers: 0x0123456789ABCDEF rotated left by 16 = "
        mov rax, 0x0123456789ABCDEF
        rol rax, 16
        HEX64 rax, 16
        NL64

        ; CRC-32 (the one in zip and Ethernet) of a string, table driven.
        xor ecx, ecx
.ct:    mov eax, ecx
        mov edx, 8
.ctb:   shr eax, 1
        jnc .ctn
        xor eax, 0xEDB88320
.ctn:   dec edx
        jnz .ctb
        mov [CRCTAB + rcx*4], eax
        inc ecx
        cmp ecx, 256
        jb .ct
        mov rsi, ROMBASE + (crcmsg - $$)
        mov eax, 0xFFFFFFFF
.crc:   movzx edx, byte [rsi]
        test edx, edx
        jz .crcd
        xor dl, al
        shr eax, 8
        xor eax, [CRCTAB + rdx*4]
        inc rsi
        jmp .crc
.crcd:  not eax
        P64 "CRC-32 of '123456789' = "
        HEX64 rax, 8
        P64 " (the standard check value is CBF43926)", 10
        P64 "Done: writing 0 to port 0xF4 to exit. Bye!", 10
        EXIT 0

        bits 32
; pdec32: print EBX in decimal
pdec32: pushad
        mov eax, ebx
        xor ecx, ecx
        mov ebx, 10
.d:     xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .d
.o:     pop eax
        add al, '0'
        out 0xE9, al
        loop .o
        popad
        ret

crcmsg: db "123456789", 0

        RESET_VECTOR start
