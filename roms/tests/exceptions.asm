; exceptions.asm - raise each architectural exception and report what the handler sees.
;
; Part 1, 32-bit protected mode (CPL 0, 32-bit paging with a 4 MiB PSE page and a 4 KiB
; page table, CR0.WP=1), and part 2, 64-bit mode (4-level paging): every test brackets one
; instruction with TRY/ENDTRY; the common handler (STD_EXC32/64 in lib.inc) prints
; vector, mnemonic, error code (only when the CPU pushes one), CR2 for #PF and the saved
; EIP/RIP relative to the instruction's label (faults: L+0, traps: after the instruction),
; then resumes after the instruction. "no exception" is printed where none occurs.
;
;   #DE div by 0 and quotient overflow      #DB EFLAGS.TF single step (DR6.BS)
;   #BP INT3 / INT 3                         #OF INTO with OF=1 (and no fault with OF=0)
;   #BR BOUND                                #UD UD2, LOCK on a register operand
;   #NM x87 with CR0.TS                      #DF #NP while delivering #DE (gate 0 not present)
;   #TS JMP to a TSS whose limit < 67H       #NP not-present IDT gate / data segment
;   #SS loading SS with a not-present seg    #GP selector beyond GDT limit, far JMP to null,
;   #PF read/write not-present, write to     bad gate type, non-canonical address (64-bit)
;       read-only with WP, fetch (I/D only with EFER.NXE in 64-bit)
;   64-bit: INTO is #UD.
; Where QEMU 7.2 TCG departs from the SDM the test lives in sdmonly.asm instead, whose
; expected output is written by hand: INT1/ICEBP (#UD in QEMU), #AC, IDT-gate error codes
; in 64-bit mode (QEMU reports vector*16+2), #GP on a JMP to a non-canonical target (QEMU
; faults on the target instead), #SS(0) for non-canonical stack references.
;
; SDM references: vol. 3A 6.3-6.15 (exceptions, error codes, contributory classes and the
; double-fault table 6-5), 6.12.1 (gate checks), 4.7 (page-fault error code: I/D only with
; NXE or SMEP), 7.3 (task switch checks: TSS limit >= 67H else #TS), 17.3.1.4 (single-step
; trap after the instruction following the one that set TF), vol. 2 BOUND, INTO, INT1,
; UD2, LOCK; vol. 3A 3.4.5.1 / 6.14.1 (64-bit mode specifics, INTO invalid).
; Expected exit status: 1.

        bits 16
        org 0
%include "lib.inc"

PD32    equ 0x20000
PT32    equ 0x21000             ; linear 0x400000-0x7FFFFF
PT64    equ 0x22000             ; linear 0x400000-0x5FFFFF in 64-bit mode
BOUNDS  equ VARS + 0x40

SEL_BADTSS  equ 0x78            ; TSS descriptor with limit 0x20
SEL_NPDATA  equ 0x80            ; data segment, not present

start:  ENTER_PM32
        ; extra descriptors
        mov esi, ROMBASE + (extra_gdt - $$)
        mov edi, GDT_RAM + SEL_FREE
        mov ecx, extra_gdt_end - extra_gdt
        rep movsb
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        call install_exc32
        ; int 0x40: not present gate, int 0x41: present gate of invalid type 0
        mov ebx, 0x40
        mov eax, ROMBASE + (std_exc32 - $$)
        mov cx, SEL_CODE32
        mov dx, 0x0E00
        call set_idt32
        inc ebx
        mov dx, 0x8000
        call set_idt32
        mov ax, SEL_TSS
        ltr ax
        ; 32-bit paging: PD[0] = 4 MiB page at 0, PD[1] -> PT32
        mov edi, PD32
        mov ecx, 0x2000
        call zero32
        mov dword [PD32 + 0*4], 0x00000083
        mov dword [PD32 + 1*4], PT32 | 7
        xor ecx, ecx
.pt:    mov eax, ecx
        shl eax, 12
        add eax, 0x400000 | 3
        mov [PT32 + ecx*4], eax
        inc ecx
        cmp ecx, 1024
        jb .pt
        mov dword [PT32 + 0*4], 0                       ; 0x400000 not present
        mov dword [PT32 + 1*4], 0x401000 | 1            ; 0x401000 read-only
        mov eax, cr4
        or eax, 1 << 4                                  ; PSE
        mov cr4, eax
        mov eax, PD32
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000                              ; PG | WP
        mov cr0, eax

        P32 "32-bit protected mode", 10
        P32 "de div0: "
        xor edx, edx
        mov eax, 1
        xor ecx, ecx
        TRY
        div ecx
        ENDTRY32
        P32 "de quotient overflow: "
        mov ax, 0x1000
        mov cl, 2
        TRY
        div cl
        ENDTRY32
        P32 "db tf: "
        xor eax, eax
        mov dr6, eax
        pushfd
        or dword [esp], 0x100
        TRY
        popfd
        nop
        ENDTRY32
        P32 "  dr6.bs="
        mov eax, dr6
        shr eax, 14
        and eax, 1
        HEX32 eax, 1
        NL32
        P32 "bp int3: "
        TRY
        int3
        ENDTRY32
        P32 "bp int 3: "
        TRY
        db 0xCD, 0x03
        ENDTRY32
        P32 "of into OF=1: "
        mov al, 0x7F
        add al, 1
        TRY
        into
        ENDTRY32
        P32 "of into OF=0: "
        xor eax, eax
        TRY
        into
        ENDTRY32
        P32 "br bound: "
        mov dword [BOUNDS], 10
        mov dword [BOUNDS+4], 20
        mov eax, 21
        TRY
        bound eax, [BOUNDS]
        ENDTRY32
        P32 "br bound in range: "
        mov eax, 20
        TRY
        bound eax, [BOUNDS]
        ENDTRY32
        P32 "ud ud2: "
        TRY
        ud2
        ENDTRY32
        P32 "ud lock add eax,ebx: "
        TRY
        db 0xF0, 0x01, 0xD8
        ENDTRY32
        P32 "nm fld1 with TS: "
        mov eax, cr0
        or eax, 1 << 3
        mov cr0, eax
        TRY
        fld1
        ENDTRY32
        clts
        P32 "np int 0x40 (gate not present): "
        TRY
        int 0x40
        ENDTRY32
        P32 "gp int 0x41 (gate type 0): "
        TRY
        int 0x41
        ENDTRY32
        P32 "df (#DE with gate 0 not present): "
        and byte [IDT_RAM + 0*8 + 5], 0x7F
        xor edx, edx
        xor ecx, ecx
        TRY
        div ecx
        ENDTRY32
        or byte [IDT_RAM + 0*8 + 5], 0x80
        P32 "ts jmp to short TSS: "
        TRY
        jmp SEL_BADTSS:0
        ENDTRY32
        P32 "np mov ds: "
        mov ax, SEL_NPDATA
        TRY
        mov ds, ax
        ENDTRY32
        P32 "ss mov ss: "
        mov ax, SEL_NPDATA
        TRY
        mov ss, ax
        ENDTRY32
        P32 "gp mov ds beyond GDT limit: "
        mov ax, 0x1F8
        TRY
        mov ds, ax
        ENDTRY32
        P32 "gp jmp far null: "
        TRY
        jmp 0:0
        ENDTRY32
        P32 "pf read not present: "
        TRY
        mov eax, [0x400010]
        ENDTRY32
        P32 "pf write not present: "
        TRY
        mov [0x400020], eax
        ENDTRY32
        P32 "pf write read-only (WP=1): "
        TRY
        mov [0x401030], eax
        ENDTRY32
        P32 "pf fetch not present: "
        mov eax, 0x400000
        TRY_AT 0x400000
        jmp eax
        ENDTRY32

        ; ---------------------------------------------------------------- 64-bit mode
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        ENTER_LONG
        call install_exc64
        ; LM_PD[2] (0x400000-0x5FFFFF) -> PT64 with 0x400000 absent, 0x401000 read-only
        xor ecx, ecx
.pt64:  mov eax, ecx
        shl eax, 12
        add eax, 0x400000 | 3
        mov [PT64 + rcx*8], rax
        inc ecx
        cmp ecx, 512
        jb .pt64
        mov qword [PT64 + 0*8], 0
        mov qword [PT64 + 1*8], 0x401000 | 1
        mov qword [LM_PD + 2*8], PT64 | 3
        mov rax, cr3
        mov cr3, rax

        P64 "64-bit mode", 10
        P64 "de div0: "
        xor edx, edx
        mov eax, 1
        xor ecx, ecx
        TRY
        div rcx
        ENDTRY64
        P64 "db tf: "
        pushfq
        or qword [rsp], 0x100
        TRY
        popfq
        nop
        ENDTRY64
        P64 "bp int3: "
        TRY
        int3
        ENDTRY64
        P64 "ud ud2: "
        TRY
        ud2
        ENDTRY64
        P64 "ud into (invalid in 64-bit): "
        mov al, 0x7F
        add al, 1
        TRY
        db 0xCE
        ENDTRY64
        P64 "nm fld1 with TS: "
        mov rax, cr0
        or eax, 1 << 3
        mov cr0, rax
        TRY
        fld1
        ENDTRY64
        clts
        P64 "gp non-canonical load: "
        mov rbx, 0x0000800000000000
        TRY
        mov rax, [rbx]
        ENDTRY64
        P64 "np mov ds: "
        mov ax, SEL_NPDATA
        TRY
        mov ds, ax
        ENDTRY64
        P64 "df (#DE with gate 0 not present): "
        and byte [IDT_RAM + 0*16 + 5], 0x7F
        xor edx, edx
        xor ecx, ecx
        TRY
        div ecx
        ENDTRY64
        or byte [IDT_RAM + 0*16 + 5], 0x80
        P64 "pf read not present: "
        TRY
        mov eax, [0x400010]
        ENDTRY64
        P64 "pf write not present: "
        TRY
        mov [0x400020], eax
        ENDTRY64
        P64 "pf write read-only (WP=1): "
        TRY
        mov [0x401030], eax
        ENDTRY64
        P64 "pf fetch not present, NXE=0: "
        mov eax, 0x400000
        TRY_AT 0x400000
        jmp rax
        ENDTRY64
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1 << 11
        wrmsr
        P64 "pf fetch not present, NXE=1: "
        mov eax, 0x400000
        TRY_AT 0x400000
        jmp rax
        ENDTRY64
        P64 "PASS exceptions", 10
        EXIT 0

        EXC_STUBS32 std_exc32
        STD_EXC32
        EXC_STUBS64 std_exc64
        STD_EXC64

extra_gdt:
        DESC 0x3100, 0x20, 0x0089       ; 0x78 TSS, limit too small
        DESC 0, 0xFFFFF, 0xC012         ; 0x80 data, not present
extra_gdt_end:

        RESET_VECTOR start
