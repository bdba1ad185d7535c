; realmode.asm - real-address mode: segments, offset wrap, IVT interrupts, flags, far
; calls, string instructions with DF, BCD adjust instructions.
;
; Everything runs in real mode right from the reset vector (no BIOS, so the IVT is ours).
;   seg:     linear = seg*16 + offset; two seg:off pairs for one byte
;   wrap:    16-bit effective addresses wrap at 64 KiB ([bx+si] with bx+si > FFFF; LODSB
;            at SI=FFFF leaves SI=0000; PUSH with SP=0000 stores at SS:FFFE)
;   int:     INT n through the IVT (0000:4*n), the handler sees IF=0/TF=0 and the pushed
;            FLAGS/CS/IP; IRET restores FLAGS; #DE (vector 0) pushes the IP of the DIV
;   flags:   PUSHF images after ADD/SUB/INC (INC keeps CF)
;   far:     CALL FAR / RETF to CS=EF00, which aliases the same ROM bytes
;   string:  REP MOVSB forward (DF=0) and backward (DF=1, overlapping move), REP STOSW,
;            REPNE SCASB (CX left), REPE CMPSB
;   bcd:     DAA, DAS, AAA, AAS, AAM, AAD (also AAM/AAD with base 16), printing only the
;            flags the SDM defines for each
;
; SDM references: vol. 3A 20.1 (real-address mode operation, address translation,
; 20.1.1), 20.1.4 (IVT), 20.1.5 (interrupt and exception handling in real mode),
; vol. 1 3.4.3 (EFLAGS), 7.3.9 (string instructions, DF), 7.3.2.x / vol. 2 DAA, DAS, AAA,
; AAS, AAM, AAD (flags affected), INT n/IRET real-address-mode pseudocode.
; Exit status: 1.

        bits 16
        org 0
%include "lib.inc"

FLAGMASK_ARITH equ 0x08D5       ; OF SF ZF AF PF CF
DATA    equ 0x5000              ; scratch segment for string tests (linear 0x50000)

start:  cli
        cld
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, STACK0
        P16 "realmode: CS="
        mov ax, cs
        movzx eax, ax
        HEX16 eax, 4
        NL16

        ; ---- segment arithmetic
        mov ax, 0x3000
        mov es, ax
        mov byte [es:0x0123], 0x5A
        mov ax, 0x3012
        mov es, ax
        movzx eax, byte [es:0x0003]     ; 3012:0003 = 0x30123 = 3000:0123
        P16 "seg: 3000:0123 = 3012:0003 -> "
        HEX16 eax, 2
        NL16

        ; ---- 16-bit offset wrap
        mov ax, 0x3000
        mov es, ax
        mov word [es:0x0010], 0x1234
        mov bx, 0xFFF0
        mov si, 0x0020
        movzx eax, word [es:bx+si]      ; offset (FFF0+0020) & FFFF = 0010
        P16 "wrap: [es:FFF0+0020] -> "
        HEX16 eax, 4
        push ds
        push es
        pop ds
        mov si, 0xFFFF
        mov byte [si], 0x77
        lodsb
        pop ds
        movzx ebx, si
        movzx eax, al
        P16 " lodsb@FFFF al="
        HEX16 eax, 2
        P16 " si="
        HEX16 ebx, 4
        ; push with SP=0 writes at SS:FFFE
        mov ax, ss
        mov bx, sp
        mov cx, 0x3000
        mov ss, cx
        xor sp, sp
        push word 0xABCD
        mov dx, sp
        mov ss, ax
        mov sp, bx
        movzx edx, dx
        P16 " push@sp=0 sp="
        HEX16 edx, 4
        P16 " [3000:FFFE]="
        movzx eax, word [es:0xFFFE]
        HEX16 eax, 4
        NL16

        ; ---- IVT: INT 0x80 and #DE
        mov word [0x80*4], int80
        mov word [0x80*4+2], 0xF000
        mov word [0*4], de_handler
        mov word [0*4+2], 0xF000
        mov ax, 0x0100
        sti
        int 0x80
after_int:
        pushf
        cli
        pop dx
        movzx eax, ax
        and edx, 0x0200
        P16 "int: ax after=" 
        HEX16 eax, 4
        P16 " IF after iret="
        HEX16 edx, 4
        NL16
        xor dx, dx
        mov ax, 1
        xor cx, cx
div_at: div cx
        P16 "de: resumed", 10

        ; ---- flags
        mov al, 0xFF
        add al, 1
        pushf
        pop ax
        and ax, FLAGMASK_ARITH
        movzx eax, ax
        P16 "flags: FF+1="
        HEX16 eax, 4
        mov al, 0x80
        sub al, 1
        pushf
        pop ax
        and ax, FLAGMASK_ARITH
        movzx eax, ax
        P16 " 80-1="
        HEX16 eax, 4
        stc
        mov al, 0x7F
        inc al
        pushf
        pop ax
        and ax, FLAGMASK_ARITH
        movzx eax, ax
        P16 " stc;7F+1(inc)="
        HEX16 eax, 4
        pushf
        pop ax
        movzx eax, ax
        P16 " pushf="
        HEX16 eax, 4
        NL16

        ; ---- far call into an aliasing code segment
        call 0xEF00:(far_target + 0x1000)
far_ret:
        P16 "far: in CS="
        movzx ebx, bx
        HEX16 ebx, 4
        P16 " IP=.ip+1000+"
        movzx ecx, cx
        sub ecx, far_target.ip + 0x1000
        HEX16 ecx, 2
        P16 " pushed CS:IP="
        movzx edi, di
        HEX16 edi, 4
        P16 ":far_ret+"
        movzx esi, si
        sub esi, far_ret
        HEX16 esi, 2
        P16 " back in CS="
        mov ax, cs
        movzx eax, ax
        HEX16 eax, 4
        NL16

        ; ---- string instructions
        mov ax, DATA
        mov es, ax
        push cs
        pop ds
        mov si, abc
        xor di, di
        mov cx, 8
        cld
        rep movsb                       ; ES:0000 = "ABCDEFGH"
        push es
        pop ds
        ; overlapping move right by 2, must go backwards
        std
        mov si, 5
        mov di, 7
        mov cx, 6
        rep movsb                       ; "ABABCDEF"
        cld
        mov byte [8], 0
        P16 "string: std rep movsb -> "
        xor si, si
.pr:    mov al, [si]
        test al, al
        jz .prd
        out 0xE9, al
        inc si
        jmp .pr
.prd:   mov di, 0x20
        mov ax, 0x2A2A
        mov cx, 3
        rep stosw
        movzx eax, di
        P16 " stosw di="
        HEX16 eax, 4
        xor di, di
        mov al, 'D'
        mov cx, 8
        repne scasb
        movzx eax, cx
        movzx ebx, di
        P16 " scasb(D) cx="
        HEX16 eax, 4
        P16 " di="
        HEX16 ebx, 4
        push cs
        pop ds
        mov si, abc
        xor di, di
        mov cx, 8
        repe cmpsb                      ; "ABCDEFGH" vs "ABABCDEF": differ at index 2
        movzx eax, cx
        movzx ebx, si
        P16 " cmpsb cx="
        HEX16 eax, 4
        P16 " si-abc="
        sub bx, abc
        HEX16 ebx, 4
        NL16
        xor ax, ax
        mov ds, ax

        ; ---- BCD
        mov al, 0x19
        add al, 0x28
        daa
        call pr_al_flags_d5
        P16 "=daa(19+28) "
        mov al, 0x99
        add al, 0x01
        daa
        call pr_al_flags_d5
        P16 "=daa(99+01) "
        mov al, 0x47
        sub al, 0x28
        das
        call pr_al_flags_d5
        P16 "=das(47-28) "
        mov al, 0x10
        sub al, 0x11
        das
        call pr_al_flags_d5
        P16 "=das(10-11)", 10
        mov ax, 0x0008
        add al, 0x06
        aaa
        call pr_ax_flags_11
        P16 "=aaa(08+06) "
        mov ax, 0x0102
        sub al, 0x05
        aas
        call pr_ax_flags_11
        P16 "=aas(0102-05) "
        mov ax, 0x003F
        aam
        call pr_ax_flags_c4
        P16 "=aam(3F) "
        aad
        call pr_ax_flags_c4
        P16 "=aad(0603) "
        mov ax, 0x003F
        db 0xD4, 0x10                   ; aam 16
        call pr_ax_flags_c4
        P16 "=aam16(3F) "
        db 0xD5, 0x10                   ; aad 16
        call pr_ax_flags_c4
        P16 "=aad16(030F)", 10

        ; ---- 32-bit operands in real mode
        mov eax, 0x12345678
        mov ebx, 0x10
        mul ebx
        P16 "o32: 12345678*10="
        HEX16 edx, 1
        HEX16 eax, 8
        NL16
        P16 "PASS realmode", 10
        EXIT 0

; print AL and (FLAGS & 0xD5) as "AL/FL"
pr_al_flags_d5:
        pushf
        push ax
        movzx eax, al
        HEX16 eax, 2
        pop ax
        P16 "/"
        pop ax
        and ax, 0xD5
        movzx eax, ax
        HEX16 eax, 2
        ret
pr_ax_flags_11:
        pushf
        movzx eax, ax
        HEX16 eax, 4
        P16 "/"
        pop ax
        and ax, 0x11
        movzx eax, ax
        HEX16 eax, 2
        ret
pr_ax_flags_c4:
        pushf
        push ax
        movzx eax, ax
        HEX16 eax, 4
        P16 "/"
        pop ax
        pop bx
        and bx, 0xC4
        movzx ebx, bx
        HEX16 ebx, 2
        ret

int80:  ; entered with IF=0 (INT clears IF and TF); stack: IP, CS, FLAGS
        push bp
        mov bp, sp
        pushf
        pop bx
        movzx ebx, bx
        and ebx, 0x0300
        P16 "int: in handler IF|TF="
        HEX16 ebx, 4
        P16 " pushed CS="
        movzx ebx, word [bp+4]
        HEX16 ebx, 4
        P16 " IP=after_int+"
        movzx ebx, word [bp+2]
        sub ebx, after_int
        HEX16 ebx, 2
        P16 " FLAGS.IF="
        movzx ebx, word [bp+6]
        and ebx, 0x200
        HEX16 ebx, 4
        NL16
        add ax, 0x0023
        pop bp
        iret

de_handler:                     ; #DE: the pushed IP is the DIV itself (a fault)
        push bp
        mov bp, sp
        movzx eax, word [bp+2]
        sub eax, div_at
        P16 "de: vector 0, pushed IP=div_at+"
        HEX16 eax, 2
        NL16
        add word [bp+2], 2      ; skip "div cx" (2 bytes)
        pop bp
        iret

far_target:                     ; reached as EF00:(far_target+1000); no printing here,
        mov bx, cs              ; the helpers use CS-relative string offsets
        call .ip
.ip:    pop cx
        mov bp, sp
        mov si, [bp]            ; return IP
        mov di, [bp+2]          ; return CS
        retf

abc:    db "ABCDEFGH"

        RESET_VECTOR start
