; simd_state.asm - x87/SSE state management from a bare machine: CR4.OSFXSR, OSXMMEXCPT,
; OSXSAVE and XCR0 are enabled by hand, then the FXSAVE/XSAVE images of a known state are
; printed byte by byte, and the exceptions that guard the state are checked.
;
;   before OSFXSR/OSXSAVE: LDMXCSR and XORPS #UD, XGETBV/XSAVE #UD, FXSAVE skips MXCSR/XMM
;   CPUID.1:ECX.OSXSAVE follows CR4; XSETBV #GP for XCR0 = 0 / 2 and ECX = 1; XGETBV
;   CPUID.(0DH,0): supported x87|SSE, EBX = 576 for XCR0 = 3
;   state: FNINIT, FLD1, FLDPI, FLDZ, FLD m32 (FIP/FDP known), LDMXCSR (RC = down), XMM0..15
;          loaded with a pattern, then PADDB, PXOR, DIVSD (1/10, inexact), MULPD
;   FXSAVE64 image: every byte except FOP (undefined here) and FIP/FDP (printed as
;          differences from the FLD's address and its operand's: 0), bytes 416..511 untouched; FXSAVE (32-bit format): FIP[31:0],
;          FCS = 0 (CPUID.(7,0):EBX[13], FCS/FDS deprecated), FDP[31:0], FDS = 0, the rest as
;          FXSAVE64; XSAVE legacy region = FXSAVE, header (only XSTATE_BV[1:0] written)
;   XRSTOR with XSTATE_BV = 0 (init: FCW 037F, everything else 0, MXCSR from memory), XRSTOR
;          round trip, #GP for XSTATE_BV outside XCR0, XCOMP_BV != 0, reserved MXCSR bits
;          (LDMXCSR, FXRSTOR), misaligned FXSAVE (16) and XSAVE (64)
;   #NM with CR0.TS (FXSAVE, MOVAPS, XSAVE, LDMXCSR); CR0.EM: MOVAPS #UD, FXSAVE #NM, XSAVE runs
;   unmasked #Z from DIVPS: #XM with OSXMMEXCPT, #UD without it, #XM again with ZE already
;          set; ZE set, destination unchanged
;
; Differences from QEMU 7.2 TCG (the expected output follows the SDM there):
;   * FIP/FDP: QEMU stores 0; the SDM stores the last non-control x87 instruction's RIP and
;     its operand's offset (Vol.1 §8.1.8, Table 10-2), so "fip-L"/"fdp-V" print 0.
;   * FOP: QEMU leaves bytes 6..7 unwritten; processors write FOP, whose value is defined only
;     after an unmasked x87 exception (Vol.1 §8.1.9.1: recent processors have no fopcode
;     compatibility mode), so the image dump skips it; after XRSTOR's init it must be 0.
;   * Bytes 10..15 of each ST slot: QEMU leaves them unwritten; processors write 0 (checked
;     on the host by tests/unit/fpu_state_test.cpp), so the init check also reads "yes".
;   * Reserved MXCSR bits: QEMU loads them; the SDM raises #GP(0) in LDMXCSR, FXRSTOR and
;     XRSTOR (so MXCSR stays 3FA0).
;   * XSAVE with CR0.TS: QEMU runs it; the SDM raises #NM (Vol.2 XSAVE exceptions).
;   * Unmasked SIMD exceptions: QEMU TCG never raises them; the SDM raises #XM with
;     CR4.OSXMMEXCPT = 1 and #UD without, leaving the destination unchanged (Vol.1 §11.5.1);
;     QEMU also ends with ZE clear (mxcsr=1D80) where the SDM sets it (1D84).
;
; SDM references: Vol.1 §8.1.8-8.1.10, §10.5 and Table 10-2 (FXSAVE area), §11.5 (SIMD
; exceptions), ch.13 (XSAVE: §13.4.2 header, §13.6 init configuration, §13.7 XSAVE, §13.8.1
; standard XRSTOR checks); Vol.2 FXSAVE, FXRSTOR, LDMXCSR, XSAVE, XRSTOR, XGETBV, XSETBV, CPUID;
; Vol.3A §2.5 (CR0.EM/TS/MP/NE, CR4.OSFXSR/OSXMMEXCPT/OSXSAVE), §13.1-13.5 (enabling SSE).
; Expected exit status: 1.

        bits 16
        org 0
%include "lib.inc"

BUF1    equ 0x40000             ; FXSAVE64
BUF2    equ 0x41000             ; FXSAVE
BUF3    equ 0x42000             ; XSAVE
BUF4    equ 0x43000             ; scratch images for XRSTOR/FXRSTOR
BUF5    equ 0x44000             ; FXSAVE64 after XRSTOR
MXTMP   equ VARS + 0x100

%define ROM(x) (ROMBASE + ((x) - $$))

start:  ENTER_PM32
        ENTER_LONG
        mov edi, IDT_RAM
        mov ecx, 256*16
        call zero64
        call install_exc64
        P64 "simd_state", 10
        ; CR0: MP=1 NE=1 EM=0 TS=0 (SDM Vol.3A §13.1)
        mov rax, cr0
        and eax, ~((1 << 2) | (1 << 3))
        or eax, (1 << 1) | (1 << 5)
        mov cr0, rax
        call show_cpuid1

        ; ---------------------------------------------------------- before OSFXSR/OSXSAVE
        mov dword [MXTMP], 0x1F80
        P64 "ud ldmxcsr without OSFXSR: "
        TRY
        ldmxcsr [MXTMP]
        ENDTRY64
        P64 "ud xorps without OSFXSR: "
        TRY
        xorps xmm0, xmm0
        ENDTRY64
        xor ecx, ecx
        P64 "ud xgetbv without OSXSAVE: "
        TRY
        xgetbv
        ENDTRY64
        mov eax, 3
        xor edx, edx
        P64 "ud xsave without OSXSAVE: "
        TRY
        xsave [BUF3]
        ENDTRY64
        mov edi, BUF4
        mov ecx, 512
        mov al, 0xCC
        call fill64
        fxsave64 [BUF4]
        P64 "fxsave without OSFXSR, bytes 24..31 and 160..175:", 10
        mov esi, BUF4 + 24
        mov edx, 24
        mov ecx, 8
        call dump64
        mov esi, BUF4 + 160
        mov edx, 160
        mov ecx, 16
        call dump64

        ; ---------------------------------------------------------- enable SSE and XSAVE
        mov rax, cr4
        or eax, (1 << 9) | (1 << 10) | (1 << 18)
        mov cr4, rax
        call show_cpuid1
        xor ecx, ecx
        xor eax, eax
        xor edx, edx
        P64 "gp xsetbv xcr0=0: "
        TRY
        xsetbv
        ENDTRY64
        mov eax, 2
        P64 "gp xsetbv xcr0=2: "
        TRY
        xsetbv
        ENDTRY64
        mov ecx, 1
        mov eax, 3
        P64 "gp xsetbv ecx=1: "
        TRY
        xsetbv
        ENDTRY64
        xor ecx, ecx
        P64 "xsetbv xcr0=3: "
        TRY
        xsetbv
        ENDTRY64
        xor ecx, ecx
        xgetbv
        P64 "xgetbv: edx="
        HEX64 rdx, 8
        P64 " eax="
        HEX64 rax, 8
        NL64
        mov eax, 0xD
        xor ecx, ecx
        cpuid
        P64 "cpuid.0d.0: eax&3="
        and eax, 3
        HEX64 rax, 1
        P64 " ebx="
        HEX64 rbx, 8
        NL64

        ; ---------------------------------------------------------- a known state
        fninit
        fld1
        fldpi
        fldz
fld_insn:
        fld dword [ROM(c_onehalf)]
        ldmxcsr [ROM(c_mxcsr)]
        mov esi, ROM(xmm_pattern)
        movdqu xmm0, [rsi + 0*16]
        movdqu xmm1, [rsi + 1*16]
        movdqu xmm2, [rsi + 2*16]
        movdqu xmm3, [rsi + 3*16]
        movdqu xmm4, [rsi + 4*16]
        movdqu xmm5, [rsi + 5*16]
        movdqu xmm6, [rsi + 6*16]
        movdqu xmm7, [rsi + 7*16]
        movdqu xmm8, [rsi + 8*16]
        movdqu xmm9, [rsi + 9*16]
        movdqu xmm10, [rsi + 10*16]
        movdqu xmm11, [rsi + 11*16]
        movdqu xmm12, [rsi + 12*16]
        movdqu xmm13, [rsi + 13*16]
        movdqu xmm14, [rsi + 14*16]
        movdqu xmm15, [rsi + 15*16]
        paddb xmm1, xmm2
        pxor xmm3, xmm4
        movsd xmm14, [ROM(c_one)]
        divsd xmm14, [ROM(c_ten)]       ; 1/10 rounded down: 3FB9999999999999, PE
        movupd xmm12, [ROM(c_pair)]
        mulpd xmm12, [ROM(c_pair2)]     ; {2*3, -0.5*8} = {6, -4}, exact

        mov al, 0xCC
        mov ecx, 1024
        mov edi, BUF1
        call fill64
        mov edi, BUF2
        call fill64
        mov edi, BUF3
        call fill64
        fxsave64 [BUF1]
        fxsave [BUF2]
        mov eax, 3
        xor edx, edx
        xsave [BUF3]

        P64 "fxsave64 image (FOP, bytes 6..7, not shown):", 10
        mov esi, BUF1
        xor edx, edx
        mov ecx, 6
        call dump64
        P64 "fip-L="
        mov rax, [BUF1 + 8]
        sub rax, ROM(fld_insn)
        HEX64 rax, 16
        P64 " fdp-V="
        mov rax, [BUF1 + 16]
        sub rax, ROM(c_onehalf)
        HEX64 rax, 16
        NL64
        mov esi, BUF1 + 24
        mov edx, 24
        mov ecx, 512 - 24
        call dump64

        P64 "fxsave: fip-L="
        mov eax, [BUF2 + 8]
        sub eax, ROM(fld_insn)
        HEX64 rax, 8
        P64 " fcs="
        movzx eax, word [BUF2 + 12]
        HEX64 rax, 4
        P64 " rsv="
        movzx eax, word [BUF2 + 14]
        HEX64 rax, 4
        P64 " fdp-V="
        mov eax, [BUF2 + 16]
        sub eax, ROM(c_onehalf)
        HEX64 rax, 8
        P64 " fds="
        movzx eax, word [BUF2 + 20]
        HEX64 rax, 4
        P64 " rsv="
        movzx eax, word [BUF2 + 22]
        HEX64 rax, 4
        NL64
        P64 "fxsave bytes 0..7 vs fxsave64: "
        mov esi, BUF2
        mov edi, BUF1
        mov ecx, 8
        call memeq
        P64 "fxsave bytes 24..511 vs fxsave64: "
        mov esi, BUF2 + 24
        mov edi, BUF1 + 24
        mov ecx, 512 - 24
        call memeq
        P64 "xsave bytes 0..511 vs fxsave: "
        mov esi, BUF3
        mov edi, BUF2
        mov ecx, 512
        call memeq
        P64 "xsave header:", 10
        mov esi, BUF3 + 512
        mov edx, 512
        mov ecx, 64
        call dump64

        ; ---------------------------------------------------------- XRSTOR
        ; BUF4 = the XSAVE image with a zero header: XSTATE_BV = 0 initialises both components.
        mov esi, BUF3
        mov edi, BUF4
        mov ecx, 512
        rep movsb
        mov edi, BUF4 + 512
        mov ecx, 64
        call zero64
        mov eax, 3
        xor edx, edx
        P64 "xrstor xstate_bv=0: "
        TRY
        xrstor [BUF4]
        ENDTRY64
        mov al, 0xCC
        mov edi, BUF5
        mov ecx, 512
        call fill64
        fxsave64 [BUF5]
        mov esi, BUF5
        xor edx, edx
        mov ecx, 32
        call dump64
        P64 "st/xmm after init all zero: "
        mov esi, BUF5 + 32
        mov ecx, 416 - 32
        call allzero
        ; back to the saved state: XSTATE_BV = 3, rest of the header 0
        mov qword [BUF3 + 512], 3
        mov edi, BUF3 + 520
        mov ecx, 56
        call zero64
        mov eax, 3
        xor edx, edx
        P64 "xrstor xstate_bv=3: "
        TRY
        xrstor [BUF3]
        ENDTRY64
        mov al, 0xCC
        mov edi, BUF5
        mov ecx, 512
        call fill64
        fxsave64 [BUF5]
        P64 "fxsave64 after xrstor vs first: "
        mov esi, BUF5
        mov edi, BUF1
        mov ecx, 512
        call memeq

        mov qword [BUF4 + 512], 4
        mov eax, 3
        xor edx, edx
        P64 "gp xrstor xstate_bv=4: "
        TRY
        xrstor [BUF4]
        ENDTRY64
        mov qword [BUF4 + 512], 3
        mov qword [BUF4 + 520], 1
        P64 "gp xrstor xcomp_bv=1: "
        TRY
        xrstor [BUF4]
        ENDTRY64
        mov qword [BUF4 + 520], 0
        mov dword [BUF4 + 24], 0x11F80
        P64 "gp xrstor mxcsr bit 16: "
        TRY
        xrstor [BUF4]
        ENDTRY64
        mov dword [MXTMP], 0x11F80
        P64 "gp ldmxcsr bit 16: "
        TRY
        ldmxcsr [MXTMP]
        ENDTRY64
        P64 "gp fxrstor mxcsr bit 16: "
        TRY
        fxrstor64 [BUF4]
        ENDTRY64
        P64 "gp fxsave misaligned 8: "
        TRY
        fxsave [BUF1 + 8]
        ENDTRY64
        mov eax, 3
        xor edx, edx
        P64 "gp xsave misaligned 16: "
        TRY
        xsave [BUF3 + 16]
        ENDTRY64
        stmxcsr [MXTMP]
        P64 "mxcsr="
        mov eax, [MXTMP]
        HEX64 rax, 8
        NL64

        ; ---------------------------------------------------------- CR0.TS and CR0.EM
        mov rax, cr0
        or eax, 1 << 3
        mov cr0, rax
        P64 "nm fxsave with TS: "
        TRY
        fxsave [BUF1]
        ENDTRY64
        P64 "nm movaps with TS: "
        TRY
        movaps xmm0, xmm1
        ENDTRY64
        mov eax, 3
        xor edx, edx
        P64 "nm xsave with TS: "
        TRY
        xsave [BUF3]
        ENDTRY64
        P64 "nm ldmxcsr with TS: "
        TRY
        ldmxcsr [MXTMP]
        ENDTRY64
        clts
        mov rax, cr0
        or eax, 1 << 2
        mov cr0, rax
        P64 "ud movaps with EM: "
        TRY
        movaps xmm0, xmm1
        ENDTRY64
        P64 "nm fxsave with EM: "
        TRY
        fxsave [BUF1]
        ENDTRY64
        mov eax, 3
        xor edx, edx
        P64 "xsave with EM: "
        TRY
        xsave [BUF3]
        ENDTRY64
        mov rax, cr0
        and eax, ~(1 << 2)
        mov cr0, rax

        ; ---------------------------------------------------------- #XM versus #UD
        mov dword [MXTMP], 0x1D80       ; ZM clear: division by zero unmasked
        ldmxcsr [MXTMP]
        movups xmm0, [ROM(c_f4)]
        xorps xmm1, xmm1
        P64 "xm divps by zero, OSXMMEXCPT=1: "
        TRY
        divps xmm0, xmm1
        ENDTRY64
        mov rax, cr4
        and eax, ~(1 << 10)
        mov cr4, rax
        ldmxcsr [MXTMP]                 ; ZE clear again
        P64 "ud divps by zero, OSXMMEXCPT=0: "
        TRY
        divps xmm0, xmm1
        ENDTRY64
        mov rax, cr4
        or eax, 1 << 10
        mov cr4, rax
        ; the flags are sticky, the exception is not conditional on them (Vol.1 §11.5.1)
        P64 "xm divps by zero with ZE already set: "
        TRY
        divps xmm0, xmm1
        ENDTRY64
        stmxcsr [MXTMP]
        P64 "mxcsr="
        mov eax, [MXTMP]
        HEX64 rax, 8
        P64 " xmm0 unchanged: "
        movups [BUF4], xmm0
        mov esi, BUF4
        mov edi, ROM(c_f4)
        mov ecx, 16
        call memeq

        P64 "PASS simd_state", 10
        EXIT 0

; show_cpuid1: "cpuid.1 xsave=N osxsave=N"
show_cpuid1:
        push rax
        push rbx
        push rcx
        push rdx
        mov eax, 1
        xor ecx, ecx
        cpuid
        P64 "cpuid.1 xsave="
        mov eax, ecx
        shr eax, 26
        and eax, 1
        HEX64 rax, 1
        P64 " osxsave="
        mov eax, ecx
        shr eax, 27
        and eax, 1
        HEX64 rax, 1
        NL64
        pop rdx
        pop rcx
        pop rbx
        pop rax
        ret

; fill64: fill RCX bytes at RDI with AL
fill64: push rcx
        push rdi
        rep stosb
        pop rdi
        pop rcx
        ret

; dump64: print RCX bytes at RSI, 16 per line, each line prefixed with its offset (from RDX)
dump64: push rax
        push rbx
        push rcx
        push rdx
        push rsi
        push r8
        mov rbx, rcx
.line:  test rbx, rbx
        jz .done
        HEX64 rdx, 3
        P64 ":"
        mov r8d, 16
.byte:  P64 " "
        movzx eax, byte [rsi]
        HEX64 rax, 2
        inc rsi
        inc rdx
        dec rbx
        jz .eol
        dec r8d
        jnz .byte
.eol:   NL64
        jmp .line
.done:  pop r8
        pop rsi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        ret

; memeq: compare RCX bytes at RSI and RDI; print "equal" or "differ at N"
memeq:  push rax
        push rcx
        push rsi
        push rdi
        mov rax, rsi
        repe cmpsb
        jne .ne
        P64 "equal", 10
        jmp .out
.ne:    dec rsi
        sub rsi, rax
        P64 "differ at "
        HEX64 rsi, 3
        NL64
.out:   pop rdi
        pop rsi
        pop rcx
        pop rax
        ret

; allzero: print "yes" if the RCX bytes at RSI are all 0, else "no"
allzero:
        push rax
        push rcx
        push rdi
        mov rdi, rsi
        xor eax, eax
        repe scasb
        jne .no
        P64 "yes", 10
        jmp .out
.no:    P64 "no", 10
.out:   pop rdi
        pop rcx
        pop rax
        ret

        EXC_STUBS64 std_exc64
        STD_EXC64

        align 16
c_pair:     dq 0x4000000000000000, 0xBFE0000000000000   ; 2.0, -0.5
c_pair2:    dq 0x4008000000000000, 0x4020000000000000   ; 3.0, 8.0
c_f4:       dd 0x3F800000, 0x40000000, 0x40400000, 0x40800000   ; 1.0f 2.0f 3.0f 4.0f
c_one:      dq 0x3FF0000000000000      ; 1.0
c_ten:      dq 0x4024000000000000      ; 10.0
c_onehalf:  dd 0x3FC00000              ; 1.5f
c_mxcsr:    dd 0x3F80                  ; all masked, RC = down
xmm_pattern:
%assign i 0
%rep 256
        db (i * 7 + 3) & 0xFF
%assign i i + 1
%endrep

        RESET_VECTOR start
