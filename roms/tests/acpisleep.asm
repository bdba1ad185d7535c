; acpisleep.asm - a guest that asks for an ACPI sleep state other than S5 (here SLP_TYP 1, S3
; as QEMU's DSDT numbers it) through PM1a_CNT (port 0x604: SLP_TYP bits 12:10, SLP_EN bit 13)
; is never left running on as if nothing happened, nor spinning: the board has no wake
; event that could resume it through its waking vector, so the run ends there, with the
; status of a dead halt (6) and a line saying why (issue 14 item 10). Writing the same with
; SLP_EN clear only sets SLP_TYP and the guest goes on.
        bits 16
        org 0
%include "lib.inc"

start:  P16 "typ only: "
        mov dx, 0x604
        mov ax, 1 << 10                 ; SLP_TYP 1, no SLP_EN
        out dx, ax
        in ax, dx
        and ax, 7 << 10
        movzx eax, ax
        HEX16 eax, 4
        NL16
        P16 "sleep", 10
        mov ax, (1 << 10) | (1 << 13)   ; SLP_TYP 1, SLP_EN
        out dx, ax
        P16 "still running", 10
        EXIT 0

        RESET_VECTOR start
