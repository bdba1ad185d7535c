; sdmonly.asm - SDM behaviour that our reference, QEMU 7.2 TCG, gets wrong.
;
; THE EXPECTED OUTPUT OF THIS ROM IS WRITTEN BY HAND FROM THE SDM, NOT RECORDED FROM QEMU.
; QEMU 7.2's output differs on every line marked [qemu: ...] below; each test prints the
; same format as exceptions.asm (STD_EXC32/64 in lib.inc).
;
; 32-bit protected mode:
;  1. INT1 (ICEBP, F1): #DB trap, EIP after the instruction. [qemu: #UD, WANT_ICEBP is off]
;     (SDM vol. 2 INT n/INTO/INT1/INT3; vol. 3A 17.3.1.2 / 6.15 interrupt 1)
;  2. #AC: CPL 3, CR0.AM=1, EFLAGS.AC=1, misaligned dword load -> #AC(0), a fault.
;     [qemu: no alignment checking in TCG] (SDM vol. 3A 6.15 interrupt 17)
;  3. data access beyond a segment limit (byte-granular limit FFFH, read at 1000H) ->
;     #GP(0). [qemu: TCG does no limit checks on data accesses] (SDM vol. 3A 5.3)
; 64-bit mode:
;  4. INT 0x40 to a not-present gate: #NP error code 40H*8+2 = 202H (the error code's index
;     field holds the vector, also with 16-byte gates); INT 0x41 to a type-0 gate:
;     #GP(20AH). [qemu: vector*16+2 = 402H / 412H, fixed upstream later]
;     (SDM vol. 3A 6.13 error code, vol. 2 INT n 64-bit pseudocode error_code(vector,1,EXT))
;  5. JMP to a non-canonical address: #GP(0) on the JMP itself, RIP = the JMP.
;     [qemu: faults on the target, RIP = the non-canonical address] (SDM vol. 2 JMP
;     64-bit mode exceptions: "#GP(0) if the target offset is non-canonical")
;  6. non-canonical stack reference ([RBP]): #SS(0), not #GP(0). [qemu: #GP(0)]
;     (SDM vol. 3A 3.3.7.1, 6.15 interrupt 12)
;  7. PTE with bit 63 (XD) set while EFER.NXE=0: reserved-bit #PF with P=1 and RSVD=1,
;     error code 09H for a supervisor read. [qemu: 08H, P left 0] (SDM vol. 3A 4.7: P=0 only
;     when some entry was not present)
;  8. SYSCALL keeps the arithmetic flags not in IA32_FMASK: RFLAGS=403H (DF, CF) with
;     FMASK=700H gives RFLAGS=003H in the handler and R11=403H. [qemu: 002H, CF lost]
;     (SDM vol. 2 SYSCALL: RFLAGS <- RFLAGS AND NOT(IA32_FMASK))
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

KSAVE   equ VARS + 0x20
PT      equ 0x22000
SEL_SMALL equ 0x78              ; data, limit FFFH byte granular
SEL_K64   equ 0x80              ; code64 ring 0 for STAR (0x88 = data)

start:  ENTER_PM32
        mov esi, ROMBASE + (extra_gdt - $$)
        mov edi, GDT_RAM + SEL_FREE
        mov ecx, extra_gdt_end - extra_gdt
        rep movsb
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        call install_exc32
        mov ebx, 0x83
        mov eax, ROMBASE + (back32 - $$)
        mov cx, SEL_CODE32
        mov dx, 0xEE00
        call set_idt32
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero32
        mov dword [TSS_RAM + 4], 0x6000
        mov dword [TSS_RAM + 8], SEL_DATA
        mov ax, SEL_TSS
        ltr ax

        P32 "1 int1: "
        TRY
        int1
        ENDTRY32

        mov eax, cr0
        or eax, 1 << 18                         ; AM
        mov cr0, eax
        mov [KSAVE], esp
        push SEL_UDATA
        push STACK3
        push 0x43002                            ; AC, IOPL 3
        push SEL_UCODE32
        push ROMBASE + (user32 - $$)
        iretd
user32: mov ax, SEL_UDATA
        mov ds, ax
        mov es, ax
        mov ebx, 0x5001
        P32 "2 #AC misaligned load at CPL 3: "
        TRY
        mov eax, [ebx]
        ENDTRY32
        int 0x83
back32: mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov esp, [KSAVE]

        P32 "3 load beyond segment limit: "
        mov ax, SEL_SMALL
        mov fs, ax
        TRY
        mov eax, [fs:0x1000]
        ENDTRY32

        ; ---------------------------------------------------------------- 64-bit
        ENTER_LONG
        call install_exc64
        mov ebx, 0x40
        mov rax, ROMBASE + (std_exc64 - $$)
        mov cx, SEL_CODE64
        mov dx, 0x0E00
        call set_idt64
        inc ebx
        mov dx, 0x8000
        call set_idt64
        P64 "4 int 0x40 (gate not present): "
        TRY
        int 0x40
        ENDTRY64
        P64 "4 int 0x41 (gate type 0): "
        TRY
        int 0x41
        ENDTRY64
        P64 "5 jmp non-canonical: "
        mov rbx, 0xFFFF7FFFFFFFF000
        TRY
        jmp rbx
        ENDTRY64
        P64 "6 non-canonical [rbp]: "
        mov rbp, 0x0000800000000000
        TRY
        mov rax, [rbp]
        ENDTRY64

        ; XD with NXE=0
        mov edi, PT
        mov ecx, 0x1000
        call zero64
        mov rax, 0x8000000000400003
        mov [PT], rax
        mov qword [LM_PD + 2*8], PT | 3
        mov rax, cr3
        mov cr3, rax
        P64 "7 XD set with NXE=0, read: "
        TRY
        mov eax, [0x400010]
        ENDTRY64

        ; SYSCALL from ring 0 keeps CF
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1
        wrmsr
        mov ecx, 0xC0000081
        xor eax, eax
        mov edx, (0x30 << 16) | SEL_K64
        wrmsr
        mov ecx, 0xC0000082
        mov rax, ROMBASE + (sc - $$)
        mov rdx, rax
        shr rdx, 32
        wrmsr
        mov ecx, 0xC0000084
        mov eax, 0x700
        xor edx, edx
        wrmsr
        push 0x403
        popfq
        syscall
sc_ret: P64 "PASS sdmonly", 10
        EXIT 0
sc:     pushfq
        pop rdx
        cld
        P64 "8 syscall with RFLAGS=403: handler RFLAGS="
        HEX64 rdx, 8
        P64 " R11="
        HEX64 r11, 8
        NL64
        jmp rcx

        EXC_STUBS32 std_exc32
        STD_EXC32
        EXC_STUBS64 std_exc64
        STD_EXC64

extra_gdt:
        DESC 0, 0xFFF, 0x4092                   ; 0x78 data, limit 0xFFF
        DESC 0, 0xFFFFF, 0xA09A                 ; 0x80 code64 ring 0
        DESC 0, 0xFFFFF, 0xC092                 ; 0x88 data ring 0
extra_gdt_end:

        RESET_VECTOR start
