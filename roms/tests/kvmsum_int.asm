; kvmsum_int.asm - kvmsum.asm without its x87 and SSE parts (integer, memory, stack,
; port I/O and the timer interrupt only), for KVMs that run only the integer ISA.
; Exit status: 1.
%define NOFPU
%include "kvmsum.asm"
