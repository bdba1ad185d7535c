; fpbench.asm - a 64 KiB PC ROM: the floating-point companion of cpubench.asm (same entry,
; exits and checksum line). Reset vector -> protected mode -> long mode, enable SSE
; (CR0.MP, CR4.OSFXSR/OSXMMEXCPT), then ITER times over N doubles in [0,1):
;   1. SSE2 scalar: Horner polynomial, SQRTSD, DIVSD, CVTTSD2SI, summed with ADDSD
;   2. SSE2 packed: Y = Y*0.5 + X (MULPD/ADDPD), then the dot product X.Y (MULPD/ADDPD)
;   3. x87: acc = acc*0.999 + sqrt(x*x + 1) / (x + 1) in 80-bit extended precision
; Every result is an IEEE basic operation under round-to-nearest (no transcendentals), so the
; checksum is the same on every correct emulator. Prints CHECKSUM=<16 hex digits> on port
; 0xE9, writes 0 to port 0xF4 (QEMU isa-debug-exit) and "Shutdown" to port 0x8900 (Bochs).
; Build: nasm -f bin -DITER=1000 -o fpbench.bin fpbench.asm (about 81,000 guest instructions
; per iteration).
%ifndef ITER
%define ITER 1000
%endif
        bits 16
        org 0x0000              ; ROM is mapped at 0xF0000 (and 0xFFFF0000)
ROMBASE equ 0xF0000
PML4    equ 0x10000
PDPT    equ 0x11000
PD      equ 0x12000
N       equ 2048                ; doubles per array
ARRX    equ 0x200000
ARRY    equ 0x210000
TMP     equ 0x220000

start16:
        cli
        cld
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        ; identity map the first 1 GiB with 2 MiB pages
        mov ax, PML4 >> 4
        mov es, ax
        xor di, di
        mov cx, 0x3000/2
        xor ax, ax
        rep stosw
        mov dword [es:0], PDPT | 3
        mov dword [es:0x1000], PD | 3
        xor si, si
        mov di, 0x2000
        mov cx, 512
.pd:    mov eax, esi
        shl eax, 21
        or eax, 0x83
        mov [es:di], eax
        mov dword [es:di+4], 0
        add di, 8
        inc si
        loop .pd
        o32 lgdt [cs:gdtr]
        mov eax, cr0
        or eax, 1
        mov cr0, eax
        jmp dword 0x08:(ROMBASE + pm32)

        bits 32
pm32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7000
        mov eax, cr4
        or eax, (1 << 5) | (1 << 9) | (1 << 10)   ; PAE, OSFXSR, OSXMMEXCPT
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xC0000080     ; EFER
        rdmsr
        or eax, 1 << 8          ; LME
        wrmsr
        mov eax, cr0
        and eax, ~((1 << 2) | (1 << 3))   ; EM = TS = 0
        or eax, 0x80000000 | (1 << 1) | (1 << 5)   ; PG, MP, NE
        mov cr0, eax
        jmp 0x18:(ROMBASE + lm64)

        bits 64
lm64:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, 0x7000
        fninit
        ; X[i], Y[i] = 53 random bits * 2^-53 (xorshift64)
        mov r14, 0x9E3779B97F4A7C15
        mov rdi, ARRX
        mov ecx, 2 * N          ; ARRX, then ARRY
.init:  mov rax, r14
        shl rax, 13
        xor r14, rax
        mov rax, r14
        shr rax, 7
        xor r14, rax
        mov rax, r14
        shl rax, 17
        xor r14, rax
        mov rax, r14
        shr rax, 11
        cvtsi2sd xmm0, rax
        mulsd xmm0, [ROMBASE + c_2m53]
        movsd [rdi], xmm0
        add rdi, 8
        cmp rdi, ARRX + 8 * N
        jne .next
        mov rdi, ARRY
.next:  dec ecx
        jnz .init

        xor r15, r15            ; checksum accumulator
        mov r13d, ITER
.iter:
        ; ---- 1. SSE2 scalar
        xorpd xmm7, xmm7
        mov rsi, ARRX
        mov ecx, N
.sc:    movsd xmm0, [rsi]
        movsd xmm1, [ROMBASE + c_c3]
        mulsd xmm1, xmm0
        addsd xmm1, [ROMBASE + c_c2]
        mulsd xmm1, xmm0
        addsd xmm1, [ROMBASE + c_c1]
        mulsd xmm1, xmm0
        addsd xmm1, [ROMBASE + c_c0]        ; p(x) >= 1
        sqrtsd xmm2, xmm1
        divsd xmm2, xmm1
        addsd xmm7, xmm2
        mulsd xmm1, [ROMBASE + c_1k]
        cvttsd2si eax, xmm1
        add r15, rax
        add rsi, 8
        dec ecx
        jnz .sc
        movq rax, xmm7
        xor r15, rax
        rol r15, 7

        ; ---- 2. SSE2 packed: Y = Y*0.5 + X, then dot(X, Y)
        movapd xmm6, [ROMBASE + c_half2]
        mov rsi, ARRX
        mov rdi, ARRY
        mov ecx, N / 2
.ax:    movapd xmm0, [rdi]
        mulpd xmm0, xmm6
        addpd xmm0, [rsi]
        movapd [rdi], xmm0
        add rsi, 16
        add rdi, 16
        dec ecx
        jnz .ax
        xorpd xmm5, xmm5
        mov rsi, ARRX
        mov rdi, ARRY
        mov ecx, N / 2
.dot:   movapd xmm0, [rsi]
        mulpd xmm0, [rdi]
        addpd xmm5, xmm0
        add rsi, 16
        add rdi, 16
        dec ecx
        jnz .dot
        movapd xmm0, xmm5
        unpckhpd xmm0, xmm0
        addsd xmm5, xmm0
        movq rax, xmm5
        xor r15, rax
        rol r15, 11

        ; ---- 3. x87, extended precision
        fldz                            ; acc
        mov rsi, ARRX
        mov ecx, N
.x87:   fmul qword [ROMBASE + c_999]    ; acc*0.999
        fld qword [rsi]                 ; x acc
        fld st0                         ; x x acc
        fmul st0, st0                   ; x2 x acc
        fld1
        faddp st1, st0                  ; x2+1 x acc
        fsqrt                           ; s x acc
        fxch st1                        ; x s acc
        fld1
        faddp st1, st0                  ; x+1 s acc
        fdivp st1, st0                  ; s/(x+1) acc
        faddp st1, st0                  ; acc
        add rsi, 8
        dec ecx
        jnz .x87
        fstp tword [TMP]
        mov rax, [TMP]
        xor r15, rax
        movzx eax, word [TMP + 8]
        add r15, rax
        rol r15, 13

        dec r13d
        jnz .iter

        ; ---- report
        mov rsi, ROMBASE + msg
        call puts
        mov rbx, r15
        mov ecx, 16
.hex:   rol rbx, 4
        mov eax, ebx
        and eax, 15
        mov al, [ROMBASE + hexd + rax]
        out 0xE9, al
        dec ecx
        jnz .hex
        mov al, 10
        out 0xE9, al
        xor eax, eax
        out 0xF4, al            ; QEMU: exit status 1
        mov dx, 0x8900          ; Bochs: shutdown
        mov rsi, ROMBASE + shutdown
.sd:    lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .sd
.halt:  cli
        hlt
        jmp .halt

puts:   lodsb
        test al, al
        jz .d
        out 0xE9, al
        jmp puts
.d:     ret

msg:    db "CHECKSUM=", 0
hexd:   db "0123456789abcdef"
shutdown: db "Shutdown", 0

        align 16
c_half2: dq 0.5, 0.5
c_2m53: dq 0x3CA0000000000000   ; 2^-53
c_c3:   dq 0.25
c_c2:   dq 1.5
c_c1:   dq 0.75
c_c0:   dq 1.0
c_1k:   dq 1000.0
c_999:  dq 0.999

        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF   ; 0x08 code32
        dq 0x00CF92000000FFFF   ; 0x10 data
        dq 0x00AF9A000000FFFF   ; 0x18 code64
gdtend:
gdtr:   dw gdtend - gdt - 1
        dd ROMBASE + gdt

        times 0xFFF0 - ($ - $$) db 0xFF
        bits 16
reset:  jmp 0xF000:start16
        times 0x10000 - ($ - $$) db 0xFF
