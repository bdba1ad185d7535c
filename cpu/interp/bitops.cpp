// Bit tests and bit scans: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT, POPCNT.
//
// BT* with a register bit offset and a memory operand address the bit string beyond the
// operand: the offset is a signed operand-size value; the operand accessed is at
// EA + (offset SAR log2(width)) * size, bit offset & (width - 1) (SDM Vol.2 "BT", Table 3-2
// note and Vol.1 §3.4.1 "Bit field"). The immediate and register-destination forms take the
// offset modulo the width. Only CF is defined; ZF is unchanged and OF SF AF PF (undefined)
// are left unchanged too.
#include <bit>

#include "cpu/interp/integer_parts.h"

namespace rv::interp {
namespace {

using alu::mask;

enum class BitOp { Test, Set, Reset, Complement };

void bit_op(Cpu& cpu, const DecodedInsn& d, BitOp op, u64 offset, bool reg_offset) {
  if (op == BitOp::Test) no_lock(cpu, d);
  else lockable(cpu, d);
  const unsigned size = d.osize;
  const unsigned w = 8 * size;
  unsigned bit;
  u64 value, la = 0;
  if (d.mod == 3) {
    bit = offset & (w - 1);
    value = cpu.read_reg(d.rm, size, d.rex);
  } else {
    u64 off = cpu.ea(d);
    if (reg_offset) {
      i64 so = alu::sext(offset, size);
      off = (off + static_cast<u64>((so >> (size == 2 ? 4 : size == 4 ? 5 : 6)) * static_cast<i64>(size))) & mask(d.asize);
    }
    bit = offset & (w - 1);
    la = cpu.seg_linear(d.seg, off, size, op == BitOp::Test ? Access::Read : Access::Write);
    if (op != BitOp::Test) alu::rmw_probe(cpu, la, size);
    value = cpu.read_lin(la, size);
  }
  const u64 b = 1ull << bit;
  bool cf = value & b;
  if (op != BitOp::Test) {
    u64 nv = op == BitOp::Set ? value | b : op == BitOp::Reset ? value & ~b : value ^ b;
    if (d.mod == 3) cpu.write_reg(d.rm, size, d.rex, nv);
    else cpu.write_lin(la, size, nv);
  }
  set_flags(cpu, kFlagCF, flag_if(cf, kFlagCF));
}

void exec_BT_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Test, cpu.read_G(d, d.osize), true); }
void exec_BTS_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Set, cpu.read_G(d, d.osize), true); }
void exec_BTR_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Reset, cpu.read_G(d, d.osize), true); }
void exec_BTC_Ev_Gv(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Complement, cpu.read_G(d, d.osize), true); }
void exec_BT_Ev_Ib(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Test, d.imm & 0xFF, false); }
void exec_BTS_Ev_Ib(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Set, d.imm & 0xFF, false); }
void exec_BTR_Ev_Ib(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Reset, d.imm & 0xFF, false); }
void exec_BTC_Ev_Ib(Cpu& cpu, const DecodedInsn& d) { bit_op(cpu, d, BitOp::Complement, d.imm & 0xFF, false); }

// BSF/BSR: ZF = (source == 0); the destination is left unchanged when the source is 0 (AMD
// documents this, Intel CPUs behave so; SDM: "the content of the destination operand is
// undefined"). CF OF SF AF PF are undefined: left unchanged.
void bit_scan(Cpu& cpu, const DecodedInsn& d, bool reverse) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  u64 src = cpu.read_E(d, size) & mask(size);
  if (src == 0) {
    set_flags(cpu, kFlagZF, kFlagZF);
    return;
  }
  u64 idx = reverse ? 63 - std::countl_zero(src) : std::countr_zero(src);
  cpu.write_G(d, size, idx);
  set_flags(cpu, kFlagZF, 0);
}
void exec_BSF_Gv_Ev(Cpu& cpu, const DecodedInsn& d) { bit_scan(cpu, d, false); }
void exec_BSR_Gv_Ev(Cpu& cpu, const DecodedInsn& d) { bit_scan(cpu, d, true); }

// TZCNT/LZCNT (SDM Vol.2 "TZCNT", "LZCNT"): CF = (source == 0), ZF = (result == 0); OF SF AF
// PF undefined (left unchanged). The result is the operand width for a zero source.
void count_zeros(Cpu& cpu, const DecodedInsn& d, bool leading) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  const unsigned w = 8 * size;
  u64 src = cpu.read_E(d, size) & mask(size);
  u64 res;
  if (src == 0) res = w;
  else if (leading) res = std::countl_zero(src) - (64 - w);
  else res = std::countr_zero(src);
  cpu.write_G(d, size, res);
  set_flags(cpu, kFlagCF | kFlagZF, flag_if(src == 0, kFlagCF) | flag_if(res == 0, kFlagZF));
}
void exec_TZCNT_Gv_Ev(Cpu& cpu, const DecodedInsn& d) { count_zeros(cpu, d, false); }
void exec_LZCNT_Gv_Ev(Cpu& cpu, const DecodedInsn& d) { count_zeros(cpu, d, true); }

// POPCNT: ZF = (source == 0), OF SF AF CF PF cleared (SDM Vol.2 "POPCNT").
void exec_POPCNT_Gv_Ev(Cpu& cpu, const DecodedInsn& d) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  u64 src = cpu.read_E(d, size) & mask(size);
  cpu.write_G(d, size, std::popcount(src));
  set_flags(cpu, kArithFlags, flag_if(src == 0, kFlagZF));
}

}  // namespace

void register_bitops(Table& t) {
  set_handler(t, OpId::BT_Ev_Gv, exec_BT_Ev_Gv);
  set_handler(t, OpId::BTS_Ev_Gv, exec_BTS_Ev_Gv);
  set_handler(t, OpId::BTR_Ev_Gv, exec_BTR_Ev_Gv);
  set_handler(t, OpId::BTC_Ev_Gv, exec_BTC_Ev_Gv);
  set_handler(t, OpId::BT_Ev_Ib, exec_BT_Ev_Ib);
  set_handler(t, OpId::BTS_Ev_Ib, exec_BTS_Ev_Ib);
  set_handler(t, OpId::BTR_Ev_Ib, exec_BTR_Ev_Ib);
  set_handler(t, OpId::BTC_Ev_Ib, exec_BTC_Ev_Ib);
  set_handler(t, OpId::BSF_Gv_Ev, exec_BSF_Gv_Ev);
  set_handler(t, OpId::BSR_Gv_Ev, exec_BSR_Gv_Ev);
  set_handler(t, OpId::TZCNT_Gv_Ev, exec_TZCNT_Gv_Ev);
  set_handler(t, OpId::LZCNT_Gv_Ev, exec_LZCNT_Gv_Ev);
  set_handler(t, OpId::POPCNT_Gv_Ev, exec_POPCNT_Gv_Ev);
}

}  // namespace rv::interp
