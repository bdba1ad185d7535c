; gates.asm - privilege-level changes through gates, TSS stack switches, conforming code.
;
; Part 1, 32-bit protected mode (TSS: SS0=10H, ESP0=6000H; ring 3: CS=33H SS=3BH):
;   * IRETD to ring 3 (outer level): CS/SS/ESP loaded from the frame; FS held a DPL-0 data
;     selector and is nulled, GS held a DPL-3 one and is kept
;   * INT 0x80, DPL-3 interrupt gate: handler runs on SS0:ESP0 (prints SS/ESP), IF=0,
;     the frame holds the ring-3 EIP/CS/EFLAGS/ESP/SS
;   * INT 0x81, DPL-3 trap gate: IF stays 1
;   * INT 0x82 from ring 3 to a DPL-0 gate: #GP(82H*8+2)
;   * far CALL through a DPL-3 call gate with 2 parameters (copied to the ring-0 stack),
;     RETF 8 back to ring 3
;   * far CALL to a DPL-0 conforming code segment from ring 3: CPL stays 3 (CS.RPL=3), no
;     stack switch; far CALL to a DPL-0 non-conforming segment: #GP(selector)
; Part 2, 64-bit mode (TSS: RSP0=6000H, IST1=A000H; ring 3: CS=43H SS=3BH):
;   * IRETQ to ring 3
;   * INT 0x80, interrupt gate with IST=1: RSP = IST1 - 40, SS = 0 (null, CPL change)
;   * INT 0x81, gate without IST: RSP = RSP0 - 40
;   * INT 0x80 from ring 0: the IST switch happens without a privilege change too
;   * 64-bit call gate (16-byte descriptor): RSP0 stack, SS = 0, frame SS/RSP/CS/RIP,
;     RETFQ back to ring 3
;
; SDM references: vol. 3A 5.8.3-5.8.6 (call gates, stack switching, parameter copy,
; returning from a called procedure), 5.8.1.2 / 5.8.2 (conforming code segments), 6.12.1
; (exception/interrupt procedures, stack switch, interrupt vs trap gate IF behaviour,
; gate DPL check for INT n), 6.14.2-6.14.5 (64-bit IDT gates, stack frame, IST), 5.8.3.1
; (IA-32e call gates), 7.2 / 7.7 (TSS layouts), vol. 2 IRET (RETURN-TO-OUTER-PRIVILEGE-
; LEVEL nulls data segment registers whose DPL < CPL).
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

KSAVE   equ VARS + 0x20
SEL_CG32  equ 0x78              ; 32-bit call gate, DPL 3, 2 parameters
SEL_CONF  equ 0x80              ; conforming code, DPL 0
SEL_CG64  equ 0x88              ; 64-bit call gate (16 bytes: 0x88, 0x90)

start:  ENTER_PM32
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero32
        call install_exc32
        ; 32-bit call gate -> SEL_CODE32:cg32, DPL 3, 2 dword parameters
        mov eax, ROMBASE + (cg32 - $$)
        mov word [GDT_RAM + SEL_CG32], ax
        mov word [GDT_RAM + SEL_CG32 + 2], SEL_CODE32
        mov word [GDT_RAM + SEL_CG32 + 4], 0xEC02
        shr eax, 16
        mov word [GDT_RAM + SEL_CG32 + 6], ax
        mov dword [GDT_RAM + SEL_CONF], 0x0000FFFF      ; conforming code, DPL 0
        mov dword [GDT_RAM + SEL_CONF + 4], 0x00CF9E00
        ; IDT: 0x80 interrupt gate DPL3, 0x81 trap gate DPL3, 0x82 DPL0, 0x83 DPL3 exit
        mov cx, SEL_CODE32
        mov ebx, 0x80
        mov eax, ROMBASE + (h32_int - $$)
        mov dx, 0xEE00
        call set_idt32
        inc ebx
        mov eax, ROMBASE + (h32_trap - $$)
        mov dx, 0xEF00
        call set_idt32
        inc ebx
        mov dx, 0x8E00
        call set_idt32
        inc ebx
        mov eax, ROMBASE + (h32_exit - $$)
        mov dx, 0xEE00
        call set_idt32
        ; TSS
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero32
        mov dword [TSS_RAM + 4], 0x6000
        mov dword [TSS_RAM + 8], SEL_DATA
        mov word [TSS_RAM + 0x66], 0x68         ; no I/O bitmap
        mov ax, SEL_TSS
        ltr ax

        mov [KSAVE], esp
        mov ax, SEL_DATA
        mov fs, ax
        mov ax, SEL_UDATA
        mov gs, ax
        push SEL_UDATA
        push STACK3
        push 0x3202                             ; IOPL 3, IF 1 (no interrupt sources exist)
        push SEL_UCODE32
        push ROMBASE + (user32 - $$)
        iretd

user32: mov edi, esp
        mov ax, SEL_UDATA
        mov ds, ax
        mov es, ax
        P32 "iretd to ring 3: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        P32 " FS="
        mov eax, fs
        HEX32 eax, 4
        P32 " GS="
        mov eax, gs
        HEX32 eax, 4
        NL32
        int 0x80
u_int:  int 0x81
u_trap: P32 "int 0x82 (DPL 0 gate) from ring 3: "
        TRY
        int 0x82
        ENDTRY32
        push dword 0x1111
        push dword 0x2222
        call SEL_CG32 | 3:0
u_cg:   mov edi, esp
        P32 "back from call gate: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        NL32
        call SEL_CONF | 3:(ROMBASE + (conf - $$))
        P32 "far call to DPL 0 non-conforming code: "
        TRY
        call SEL_CODE32:(ROMBASE + (conf - $$))
        ENDTRY32
        int 0x83

conf:   mov edi, esp
        P32 "conforming code: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 edi, 8
        NL32
        retf

; common print of a 32-bit ring3->ring0 frame: EBP = handler ESP at entry
pframe32:
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 ebp, 8
        P32 " frame: CS="
        HEX32 [ebp+4], 4
        P32 " EFLAGS="
        HEX32 [ebp+8], 8
        P32 " ESP="
        HEX32 [ebp+12], 8
        P32 " SS="
        HEX32 [ebp+16], 4
        ret

h32_int:
        mov ebp, esp
        pushfd
        pop esi
        P32 "int 0x80 (interrupt gate): IF="
        shr esi, 9
        and esi, 1
        HEX32 esi, 1
        call pframe32
        P32 " EIP=u_int+"
        mov eax, [ebp]
        sub eax, ROMBASE + (u_int - $$)
        HEX32 eax, 2
        NL32
        iretd
h32_trap:
        mov ebp, esp
        pushfd
        pop esi
        P32 "int 0x81 (trap gate): IF="
        shr esi, 9
        and esi, 1
        HEX32 esi, 1
        call pframe32
        P32 " EIP=u_trap+"
        mov eax, [ebp]
        sub eax, ROMBASE + (u_trap - $$)
        HEX32 eax, 2
        NL32
        iretd
cg32:   mov ebp, esp
        P32 "call gate: CS="
        mov eax, cs
        HEX32 eax, 4
        P32 " SS="
        mov eax, ss
        HEX32 eax, 4
        P32 " ESP="
        HEX32 ebp, 8
        P32 " params="
        HEX32 [ebp+8], 8
        P32 ","
        HEX32 [ebp+12], 8
        P32 " ret CS="
        HEX32 [ebp+4], 4
        P32 " EIP=u_cg+"
        mov eax, [ebp]
        sub eax, ROMBASE + (u_cg - $$)
        HEX32 eax, 2
        P32 " ESP="
        HEX32 [ebp+16], 8
        P32 " SS="
        HEX32 [ebp+20], 4
        NL32
        retf 8
h32_exit:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov esp, [KSAVE]

        ; ---------------------------------------------------------------- 64-bit
        ENTER_LONG
        mov qword [LM_PML4], LM_PDPT | 7
        mov qword [LM_PDPT], LM_PD | 7
        mov qword [LM_PD], 0x87
        mov rax, cr3
        mov cr3, rax
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero64
        call install_exc64
        mov cx, SEL_CODE64
        mov ebx, 0x80
        mov rax, ROMBASE + (h64_ist - $$)
        mov dx, 0xEE01                          ; IST 1
        call set_idt64
        inc ebx
        mov rax, ROMBASE + (h64_noist - $$)
        mov dx, 0xEE00
        call set_idt64
        inc ebx
        mov rax, ROMBASE + (h64_exit - $$)
        call set_idt64
        ; 64-bit call gate
        mov rax, ROMBASE + (cg64 - $$)
        mov word [GDT_RAM + SEL_CG64], ax
        mov word [GDT_RAM + SEL_CG64 + 2], SEL_CODE64
        mov word [GDT_RAM + SEL_CG64 + 4], 0xEC00
        shr rax, 16
        mov word [GDT_RAM + SEL_CG64 + 6], ax
        shr rax, 16
        mov dword [GDT_RAM + SEL_CG64 + 8], eax
        mov dword [GDT_RAM + SEL_CG64 + 12], 0
        ; 64-bit TSS (reuse the descriptor: mark available again)
        mov edi, TSS_RAM
        mov ecx, 0x68
        call zero64
        mov qword [TSS_RAM + 4], 0x6000         ; RSP0
        mov qword [TSS_RAM + 0x24], STACK_IST   ; IST1
        and byte [GDT_RAM + SEL_TSS + 5], ~2
        mov ax, SEL_TSS
        ltr ax

        P64 "int 0x80 from ring 0 (IST): "
        mov rbp, rsp
        int 0x80
k_int:  mov [KSAVE], rsp
        push SEL_UDATA
        push STACK3
        push 0x3202
        push SEL_UCODE64
        mov rax, ROMBASE + (user64 - $$)
        push rax
        iretq

user64: mov rdi, rsp
        P64 "iretq to ring 3: CS="
        mov rax, cs
        HEX64 rax, 4
        P64 " SS="
        mov rax, ss
        HEX64 rax, 4
        P64 " RSP="
        HEX64 rdi, 8
        NL64
        P64 "int 0x80 from ring 3 (IST):"
        int 0x80
u64_a:  P64 "int 0x81 from ring 3 (RSP0):"
        int 0x81
u64_b:  call far dword [rel cg64_ptr]
u64_c:  mov rdi, rsp
        P64 "back from 64-bit call gate: CS="
        mov rax, cs
        HEX64 rax, 4
        P64 " RSP="
        HEX64 rdi, 8
        NL64
        int 0x82
cg64_ptr:
        dd 0
        dw SEL_CG64 | 3

; print a 64-bit frame: RBP = RSP at handler entry, RBX = label for RIP
pframe64:
        P64 " SS="
        mov rax, ss
        HEX64 rax, 4
        P64 " RSP="
        HEX64 rbp, 8
        P64 " frame: RIP=label+"
        mov rax, [rbp]
        sub rax, rbx
        HEX64 rax, 2
        P64 " CS="
        HEX64 [rbp+8], 4
        P64 " RFLAGS="
        HEX64 [rbp+16], 8
        P64 " RSP="
        HEX64 [rbp+24], 8
        P64 " SS="
        HEX64 [rbp+32], 4
        NL64
        ret

h64_ist:
        mov rbx, rbp                            ; caller's RBP when from ring 0
        mov rbp, rsp
        mov rax, [rbp+8]
        test al, 3
        jnz .u
        P64 "RSP="
        HEX64 rbp, 8
        P64 " pushed RSP=kernel RSP:"
        cmp [rbp+24], rbx
        sete al
        movzx eax, al
        HEX64 rax, 1
        NL64
        iretq
.u:     mov rbx, ROMBASE + (u64_a - $$)
        call pframe64
        iretq
h64_noist:
        mov rbp, rsp
        mov rbx, ROMBASE + (u64_b - $$)
        call pframe64
        iretq
cg64:   mov rbp, rsp
        P64 "64-bit call gate: CS="
        mov rax, cs
        HEX64 rax, 4
        mov rbx, ROMBASE + (u64_c - $$)
        call pframe64.cg
        o64 retf
h64_exit:
        mov rsp, [KSAVE]
        P64 "PASS gates", 10
        EXIT 0

; call-gate frame: [rbp]=RIP, +8 CS, +16 RSP, +24 SS (no RFLAGS)
pframe64.cg:
        P64 " SS="
        mov rax, ss
        HEX64 rax, 4
        P64 " RSP="
        HEX64 rbp, 8
        P64 " frame: RIP=label+"
        mov rax, [rbp]
        sub rax, rbx
        HEX64 rax, 2
        P64 " CS="
        HEX64 [rbp+8], 4
        P64 " RSP="
        HEX64 [rbp+16], 8
        P64 " SS="
        HEX64 [rbp+24], 4
        NL64
        ret

        EXC_STUBS32 std_exc32
        STD_EXC32
        EXC_STUBS64 std_exc64
        STD_EXC64

        RESET_VECTOR start
