; triplefault.asm - a triple fault stops the machine.
;
; Prints one line, loads an IDT with limit 0 in 32-bit protected mode and executes UD2:
; #UD cannot be delivered (vector beyond the IDT limit -> #GP), #GP cannot be delivered
; either (-> #DF), and #DF cannot be delivered -> triple fault -> shutdown. Nothing after
; the UD2 may run, so the second line must never appear.
;
; SDM references: vol. 3A 6.10 (IDT limit: a vector beyond it -> #GP), 6.15 "Interrupt 8
; Double Fault" (a fault while delivering #DF -> shutdown/triple fault), table 6-5.
; Exit status: 4 is our emulator's convention for a triple fault (message on stderr).
; QEMU with -no-reboot simply exits with status 0 on the triple fault; .status says 4.

        bits 16
        org 0
%include "lib.inc"

start:  ENTER_PM32
        P32 "triplefault: about to load an empty IDT and execute UD2", 10
        lidt [ROMBASE + (empty_idtr - $$)]
        ud2
        P32 "FAIL: still running after the triple fault", 10
        EXIT 1

empty_idtr:
        dw 0
        dd IDT_RAM

        RESET_VECTOR start
