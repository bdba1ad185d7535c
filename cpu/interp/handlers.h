// Handler registration: each cpu/interp/*.cpp file fills the table entries of its OpIds.
// Handlers are named after SDM operand notation: exec_ADD_Ev_Gv.
#pragma once
#include "cpu/cpu.h"

namespace rv::interp {

using Table = Handler[static_cast<unsigned>(OpId::Count)];

void register_alu(Table& t);        // alu.cpp: ADD..CMP, TEST, INC/DEC, NOT/NEG, MOV, LEA, XCHG, MOVZX/SX, CMOV/SETcc, flag ops
void register_control(Table& t);    // control.cpp: near JMP/Jcc/CALL/RET, LOOP, JCXZ, PUSH/POP, ENTER/LEAVE, NOP
void register_integer(Table& t);    // integer.cpp: shifts/rotates, MUL/DIV, bit ops, BCD, CMPXCHG/XADD, misc
void register_string(Table& t);     // string.cpp: MOVS CMPS STOS LODS SCAS INS OUTS with REP
void register_system(Table& t);     // system.cpp: segment regs, far transfers, INT/IRET, CR/DR/MSR, CPUID, I/O, ...
void register_x87(Table& t);        // x87.cpp: D8..DF
void register_sse(Table& t);        // sse*.cpp: MMX, SSE, SSE2, SSE3 (opcodes_sse.inc)
void register_sse4(Table& t);       // sse4*.cpp: SSSE3, SSE4.1, SSE4.2 (opcodes_sse4.inc)
void register_fpu_state(Table& t);  // fpu_state.cpp: FXSAVE/FXRSTOR, XSAVE family, LDMXCSR/STMXCSR

}  // namespace rv::interp
