// MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
//
// Flags (SDM Vol.2 "MUL", "IMUL", "DIV", "IDIV"): MUL/IMUL set CF = OF = "the result does not
// fit the destination"; SF ZF AF PF are undefined: we set SF ZF PF from the (low half of the)
// result and clear AF. DIV/IDIV leave every flag undefined: we leave them unchanged.
// #DE on a zero divisor or a quotient that does not fit (SDM Vol.2 "DIV" Operation); the
// check comes before any register changes.
#include "cpu/interp/integer_parts.h"

namespace rv::interp {
namespace {

using u128 = unsigned __int128;
using i128 = __int128;
using alu::mask;
using alu::sext;

void mul_flags(Cpu& cpu, unsigned size, u64 low, bool overflow) {
  alu::set_result_flags(cpu, size, low, flag_if(overflow, (kFlagCF | kFlagOF)));
}

// Writes the double-width product/dividend halves: AX for bytes, else rDX:rAX.
void write_pair(Cpu& cpu, unsigned size, u64 lo, u64 hi) {
  if (size == 1) {
    cpu.write_reg(RAX, 2, false, (lo & 0xFF) | ((hi & 0xFF) << 8));
    return;
  }
  cpu.write_reg(RAX, size, true, lo);
  cpu.write_reg(RDX, size, true, hi);
}

void mul(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  no_lock(cpu, d);
  u64 src = cpu.read_E(d, size);
  u64 a = cpu.read_reg(RAX, size, true);
  u128 p = static_cast<u128>(a) * src;
  u64 lo = static_cast<u64>(p) & mask(size);
  u64 hi = size == 8 ? static_cast<u64>(p >> 64) : static_cast<u64>(p >> (8 * size)) & mask(size);
  write_pair(cpu, size, lo, hi);
  mul_flags(cpu, size, lo, hi != 0);
}

// Signed product of two sign-extended operands, and whether it fits `size`.
i128 smul(u64 a, u64 b, unsigned size, bool& overflow) {
  i128 p = static_cast<i128>(sext(a, size)) * static_cast<i128>(sext(b, size));
  u64 lo = static_cast<u64>(p) & mask(size);
  overflow = static_cast<i128>(sext(lo, size)) != p;
  return p;
}

void imul1(Cpu& cpu, const DecodedInsn& d, unsigned size) {
  no_lock(cpu, d);
  u64 src = cpu.read_E(d, size);
  bool ovf;
  i128 p = smul(cpu.read_reg(RAX, size, true), src, size, ovf);
  u64 lo = static_cast<u64>(p) & mask(size);
  u64 hi = static_cast<u64>(p >> (8 * size)) & mask(size);
  write_pair(cpu, size, lo, hi);
  mul_flags(cpu, size, lo, ovf);
}

void imul_g(Cpu& cpu, const DecodedInsn& d, u64 a, u64 b) {
  const unsigned size = d.osize;
  bool ovf;
  u64 lo = static_cast<u64>(smul(a, b, size, ovf)) & mask(size);
  cpu.write_G(d, size, lo);
  mul_flags(cpu, size, lo, ovf);
}

void divide(Cpu& cpu, const DecodedInsn& d, unsigned size, bool is_signed) {
  no_lock(cpu, d);
  u64 src = cpu.read_E(d, size) & mask(size);
  if (src == 0) cpu.fault_no_error(kDE);
  u64 lo, hi;
  if (size == 1) {
    u64 ax = cpu.gpr(RAX) & 0xFFFF;
    lo = ax & 0xFF;
    hi = ax >> 8;
  } else {
    lo = cpu.read_reg(RAX, size, true);
    hi = cpu.read_reg(RDX, size, true);
  }
  const unsigned w = 8 * size;
  u128 dividend = size == 8 ? (static_cast<u128>(hi) << 64) | lo : static_cast<u128>((hi << w) | lo);
  u64 q, r;
  if (!is_signed) {
    u128 qq = dividend / src;
    if (qq > mask(size)) cpu.fault_no_error(kDE);
    q = static_cast<u64>(qq);
    r = static_cast<u64>(dividend % src);
  } else {
    // Sign-extend the 2w-bit dividend.
    i128 sd = static_cast<i128>(dividend << (128 - 2 * w)) >> (128 - 2 * w);
    i128 ss = sext(src, size);
    // INT_MIN(2w) / -1 overflows i128 only for w = 64; that quotient never fits anyway.
    if (w == 64 && ss == -1 && sd == static_cast<i128>(static_cast<u128>(1) << 127)) cpu.fault_no_error(kDE);
    i128 qq = sd / ss;
    i128 lim = static_cast<i128>(1) << (w - 1);
    if (qq >= lim || qq < -lim) cpu.fault_no_error(kDE);
    q = static_cast<u64>(qq) & mask(size);
    r = static_cast<u64>(sd % ss) & mask(size);
  }
  write_pair(cpu, size, q, r);
}

void exec_MUL_Eb(Cpu& cpu, const DecodedInsn& d) { mul(cpu, d, 1); }
void exec_MUL_Ev(Cpu& cpu, const DecodedInsn& d) { mul(cpu, d, d.osize); }
void exec_IMUL_Eb(Cpu& cpu, const DecodedInsn& d) { imul1(cpu, d, 1); }
void exec_IMUL_Ev(Cpu& cpu, const DecodedInsn& d) { imul1(cpu, d, d.osize); }
void exec_DIV_Eb(Cpu& cpu, const DecodedInsn& d) { divide(cpu, d, 1, false); }
void exec_DIV_Ev(Cpu& cpu, const DecodedInsn& d) { divide(cpu, d, d.osize, false); }
void exec_IDIV_Eb(Cpu& cpu, const DecodedInsn& d) { divide(cpu, d, 1, true); }
void exec_IDIV_Ev(Cpu& cpu, const DecodedInsn& d) { divide(cpu, d, d.osize, true); }

void exec_IMUL_Gv_Ev(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  imul_g(cpu, d, cpu.read_G(d, d.osize), cpu.read_E(d, d.osize));
}
// The immediate is already sign-extended by the decoder (Iz, or Ib for 6B).
void exec_IMUL_Gv_Ev_Iz(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  imul_g(cpu, d, cpu.read_E(d, d.osize), d.imm);
}
void exec_IMUL_Gv_Ev_Ib(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  imul_g(cpu, d, cpu.read_E(d, d.osize), d.imm);
}

}  // namespace

void register_muldiv(Table& t) {
  set_handler(t, OpId::MUL_Eb, exec_MUL_Eb);
  set_handler(t, OpId::MUL_Ev, exec_MUL_Ev);
  set_handler(t, OpId::IMUL_Eb, exec_IMUL_Eb);
  set_handler(t, OpId::IMUL_Ev, exec_IMUL_Ev);
  set_handler(t, OpId::DIV_Eb, exec_DIV_Eb);
  set_handler(t, OpId::DIV_Ev, exec_DIV_Ev);
  set_handler(t, OpId::IDIV_Eb, exec_IDIV_Eb);
  set_handler(t, OpId::IDIV_Ev, exec_IDIV_Ev);
  set_handler(t, OpId::IMUL_Gv_Ev, exec_IMUL_Gv_Ev);
  set_handler(t, OpId::IMUL_Gv_Ev_Iz, exec_IMUL_Gv_Ev_Iz);
  set_handler(t, OpId::IMUL_Gv_Ev_Ib, exec_IMUL_Gv_Ev_Ib);
}

}  // namespace rv::interp
