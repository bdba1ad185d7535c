// Private to cpu/interp: the integer-ISA handlers are split by concern (shift.cpp,
// muldiv.cpp, bitops.cpp, integer.cpp); register_integer() (handlers.h) fills the table
// entries of all of them through these.
#pragma once
#include "cpu/alu_ops.h"
#include "cpu/interp/handlers.h"

namespace rv::interp {

void register_shift(Table& t);    // shift.cpp: GRP2 (ROL..SAR), SHLD/SHRD
void register_muldiv(Table& t);   // muldiv.cpp: MUL/IMUL/DIV/IDIV, IMUL Gv forms
void register_bitops(Table& t);   // bitops.cpp: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT

inline void set_handler(Table& t, OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; }

// LOCK is valid only on the memory forms of the lockable instructions; everywhere else it
// raises #UD (SDM Vol.2 "LOCK—Assert LOCK# Signal Prefix").
inline void no_lock(Cpu& cpu, const DecodedInsn& d) {
  if (RV_UNLIKELY(d.lock)) cpu.fault_no_error(kUD);
}
inline void lockable(Cpu& cpu, const DecodedInsn& d) {
  if (RV_UNLIKELY(d.lock && d.mod == 3)) cpu.fault_no_error(kUD);
}

inline constexpr u64 flag_if(bool cond, u64 flag) { return cond ? flag : 0; }

// Sets only the arithmetic flags in `which` (materialising the others from the lazy record).
inline void set_flags(Cpu& cpu, u64 which, u64 bits) { cpu.set_arith_flags(bits & which, which); }

}  // namespace rv::interp
