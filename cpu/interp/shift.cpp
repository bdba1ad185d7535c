// Shifts and rotates: group 2 (C0 C1 D0..D3: ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD.
//
// Flag rules (SDM Vol.2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD"):
//  * The count is masked to 5 bits (6 with a 64-bit operand). A masked count of 0 changes
//    nothing, flags included (and a memory destination is still written back).
//  * Rotates change only CF and OF; shifts set SF ZF PF from the result, CF to the last bit
//    shifted out, and OF for a count of 1.
//  * Where the SDM leaves a flag undefined (OF for counts > 1, AF for shifts, CF for shift
//    counts >= the width) we produce what iterating the 1-bit operation `count` times
//    produces, which is what the 80286 microcode does (the SingleStepTests 80286 vectors
//    check CF and OF of 8-bit shifts by up to 31): OF = the count-1 formula applied to the
//    last step, CF = the last bit out (0 once everything has been shifted out, the sign for
//    SAR). AF is cleared, as on current Intel CPUs.
#include "cpu/interp/integer_parts.h"
#include "cpu/interp/threaded.h"

#include <array>
#include <utility>

namespace rv::interp {
namespace {

using alu::mask;
using alu::sign_bit;

inline unsigned count_mask(unsigned size) { return size == 8 ? 0x3F : 0x1F; }
inline u64 msb(u64 v, unsigned size) { return (v >> (8 * size - 1)) & 1; }

// The outcome of a group-2 operation: the value and the flags it sets. Rotates change only CF
// and OF; shifts also SF ZF PF (from the result) and AF.
struct ShiftResult {
  u64 value;
  u64 flags;      // CF OF AF bits
  bool rotate;
};

// Group-2 operation `op` (ModRM.reg) on `v` (masked to `size`) by a non-zero masked count.
__attribute__((always_inline)) inline ShiftResult shift_op(bool cf_in, unsigned op, unsigned size, u64 v, unsigned count) {
  const unsigned w = 8 * size;
  const u64 m = mask(size);
  u64 res;
  bool cf, of;
  switch (op & 7) {
    case 0: {  // ROL
      unsigned r = count % w;
      res = r ? ((v << r) | (v >> (w - r))) & m : v;
      cf = res & 1;
      of = msb(res, size) ^ cf;
      return {res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF), true};
    }
    case 1: {  // ROR
      unsigned r = count % w;
      res = r ? ((v >> r) | (v << (w - r))) & m : v;
      cf = msb(res, size);
      of = cf ^ ((res >> (w - 2)) & 1);
      return {res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF), true};
    }
    case 2:    // RCL: rotate the (w+1)-bit value CF:v
    case 3: {  // RCR
      const unsigned W = w + 1;
      unsigned r = count % W;   // 8-bit: mod 9, 16-bit: mod 17; 32/64: count < W already
      using u128 = unsigned __int128;
      u128 x = (static_cast<u128>(cf_in) << w) | v;
      u128 xm = (static_cast<u128>(1) << W) - 1;
      if (r) x = ((op & 7) == 2 ? (x << r) | (x >> (W - r)) : (x >> r) | (x << (W - r))) & xm;
      res = static_cast<u64>(x) & m;
      cf = static_cast<u64>(x >> w) & 1;
      of = (op & 7) == 2 ? (msb(res, size) ^ cf) : (msb(res, size) ^ ((res >> (w - 2)) & 1));
      return {res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF), true};
    }
    case 4:    // SHL
    case 6: {  // SAL (/6 is an alias of /4)
      if (count < w) { res = (v << count) & m; cf = (v >> (w - count)) & 1; }
      else { res = 0; cf = count == w ? (v & 1) : 0; }
      of = msb(res, size) ^ cf;
      return {res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF), false};
    }
    case 5: {  // SHR
      if (count < w) { res = v >> count; cf = (v >> (count - 1)) & 1; }
      else { res = 0; cf = count == w ? msb(v, size) : 0; }
      of = count == 1 && msb(v, size);   // MSB of the operand before the last 1-bit step
      return {res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF), false};
    }
    default: {  // 7: SAR
      i64 sv = alu::sext(v, size);
      if (count < w) { res = static_cast<u64>(sv >> count) & m; cf = (sv >> (count - 1)) & 1; }
      else { res = sv < 0 ? m : 0; cf = sv < 0; }
      return {res, flag_if(cf, kFlagCF), false};
    }
  }
}

template <unsigned Fixed>   // operand size 1, or 0 for the instruction's osize
void grp2(Cpu& cpu, const DecodedInsn& d, unsigned raw_count) {
  no_lock(cpu, d);
  const unsigned size = Fixed ? Fixed : d.osize;
  unsigned count = raw_count & count_mask(size);
  alu::EOperand e(cpu, d, size);
  u64 v = e.read();
  if (count == 0) {
    // No flag changes; the destination is still written (a 32-bit register destination is
    // zero-extended to 64 bits like any 32-bit write, SDM Vol.1 §3.4.1.1).
    e.write(v);
    return;
  }
  ShiftResult r = shift_op(cpu.cf(), d.reg, size, v, count);
  e.write(r.value);   // may fault: flags change only after it
  if (r.rotate) set_flags(cpu, kFlagCF | kFlagOF, r.flags);
  else alu::set_result_flags(cpu, size, r.value, r.flags);
}

void exec_GRP2_Eb_Ib(Cpu& cpu, const DecodedInsn& d) { grp2<1>(cpu, d, static_cast<unsigned>(d.imm)); }
void exec_GRP2_Ev_Ib(Cpu& cpu, const DecodedInsn& d) { grp2<0>(cpu, d, static_cast<unsigned>(d.imm)); }
void exec_GRP2_Eb_1(Cpu& cpu, const DecodedInsn& d) { grp2<1>(cpu, d, 1); }
void exec_GRP2_Ev_1(Cpu& cpu, const DecodedInsn& d) { grp2<0>(cpu, d, 1); }
void exec_GRP2_Eb_CL(Cpu& cpu, const DecodedInsn& d) { grp2<1>(cpu, d, cpu.gpr(RCX) & 0xFF); }
void exec_GRP2_Ev_CL(Cpu& cpu, const DecodedInsn& d) { grp2<0>(cpu, d, cpu.gpr(RCX) & 0xFF); }

// SHLD/SHRD. A 16-bit operand with a count of 17..31 has an undefined result; like Intel
// CPUs we shift the 48-bit chain dest:src:dest, so bits of dest re-enter after src's.
// OF (defined for a count of 1) is set when the sign changed; AF is cleared.
void double_shift(Cpu& cpu, const DecodedInsn& d, unsigned raw_count, bool left) {
  no_lock(cpu, d);
  const unsigned size = d.osize;
  const unsigned w = 8 * size;
  unsigned count = raw_count & count_mask(size);
  alu::EOperand e(cpu, d, size);
  u64 dst = e.read();
  u64 src = cpu.read_G(d, size);
  if (count == 0) {
    e.write(dst);
    return;
  }
  u64 res;
  bool cf;
  if (size == 2) {
    u64 chain = (dst << 32) | (src << 16) | dst;   // 48 bits
    if (left) { res = (chain << count >> 32) & 0xFFFF; cf = (chain >> (48 - count)) & 1; }
    else { res = (chain >> count) & 0xFFFF; cf = (chain >> (count - 1)) & 1; }
  } else {
    const u64 m = mask(size);
    if (left) { res = ((dst << count) | (src >> (w - count))) & m; cf = (dst >> (w - count)) & 1; }
    else { res = ((dst >> count) | (src << (w - count))) & m; cf = (dst >> (count - 1)) & 1; }
  }
  bool of = msb(res, size) != msb(dst, size);
  e.write(res);
  alu::set_result_flags(cpu, size, res, flag_if(cf, kFlagCF) | flag_if(of, kFlagOF));
}

void exec_SHLD_Ev_Gv_Ib(Cpu& cpu, const DecodedInsn& d) { double_shift(cpu, d, static_cast<unsigned>(d.imm), true); }
void exec_SHLD_Ev_Gv_CL(Cpu& cpu, const DecodedInsn& d) { double_shift(cpu, d, cpu.gpr(RCX) & 0xFF, true); }
void exec_SHRD_Ev_Gv_Ib(Cpu& cpu, const DecodedInsn& d) { double_shift(cpu, d, static_cast<unsigned>(d.imm), false); }
void exec_SHRD_Ev_Gv_CL(Cpu& cpu, const DecodedInsn& d) { double_shift(cpu, d, cpu.gpr(RCX) & 0xFF, false); }

// Register-destination forms specialised on operation and size when a block is built
// (the hot shifts of compiled code): same semantics as grp2, without its generic operand.
template <unsigned Op, unsigned S, int Count>   // Count: -1 = imm8, -2 = CL, else the constant
void grp2_reg(Cpu& cpu, const DecodedInsn& d) {
  const unsigned raw = Count == -1 ? static_cast<unsigned>(d.imm) : Count == -2 ? cpu.gpr(RCX) & 0xFF : Count;
  const unsigned count = raw & count_mask(S);
  u64 v = cpu.read_reg(d.rm, S, d.rex);
  if (count == 0) {
    cpu.write_reg(d.rm, S, d.rex, v);
    return;
  }
  ShiftResult r = shift_op((Op == 2 || Op == 3) ? cpu.cf() : false, Op, S, v, count);
  cpu.write_reg(d.rm, S, d.rex, r.value);
  if (r.rotate) set_flags(cpu, kFlagCF | kFlagOF, r.flags);
  else alu::set_result_flags(cpu, S, r.value, r.flags);
}

template <unsigned S, int Count, size_t... Op>
constexpr std::array<Threaded, 8> grp2_row(std::index_sequence<Op...>) {
  return {threaded<grp2_reg<static_cast<unsigned>(Op), S, Count>>...};
}
template <int Count>
constexpr std::array<std::array<Threaded, 8>, 4> grp2_table() {
  auto ops = std::make_index_sequence<8>{};
  return {grp2_row<1, Count>(ops), grp2_row<2, Count>(ops), grp2_row<4, Count>(ops), grp2_row<8, Count>(ops)};
}
constexpr auto kGrp2Imm = grp2_table<-1>();
constexpr auto kGrp2One = grp2_table<1>();
constexpr auto kGrp2Cl = grp2_table<-2>();

}  // namespace

Threaded specialize_shift(const DecodedInsn& d) {
  if (d.mod != 3 || d.lock) return nullptr;
  unsigned size_idx = d.osize == 2 ? 1 : d.osize == 4 ? 2 : 3;
  unsigned op = d.reg & 7;
  switch (d.op) {
    case OpId::GRP2_Eb_Ib: return kGrp2Imm[0][op];
    case OpId::GRP2_Ev_Ib: return kGrp2Imm[size_idx][op];
    case OpId::GRP2_Eb_1: return kGrp2One[0][op];
    case OpId::GRP2_Ev_1: return kGrp2One[size_idx][op];
    case OpId::GRP2_Eb_CL: return kGrp2Cl[0][op];
    case OpId::GRP2_Ev_CL: return kGrp2Cl[size_idx][op];
    default: return nullptr;
  }
}

void register_shift(Table& t) {
  set_handler(t, OpId::GRP2_Eb_Ib, exec_GRP2_Eb_Ib);
  set_handler(t, OpId::GRP2_Ev_Ib, exec_GRP2_Ev_Ib);
  set_handler(t, OpId::GRP2_Eb_1, exec_GRP2_Eb_1);
  set_handler(t, OpId::GRP2_Ev_1, exec_GRP2_Ev_1);
  set_handler(t, OpId::GRP2_Eb_CL, exec_GRP2_Eb_CL);
  set_handler(t, OpId::GRP2_Ev_CL, exec_GRP2_Ev_CL);
  set_handler(t, OpId::SHLD_Ev_Gv_Ib, exec_SHLD_Ev_Gv_Ib);
  set_handler(t, OpId::SHLD_Ev_Gv_CL, exec_SHLD_Ev_Gv_CL);
  set_handler(t, OpId::SHRD_Ev_Gv_Ib, exec_SHRD_Ev_Gv_Ib);
  set_handler(t, OpId::SHRD_Ev_Gv_CL, exec_SHRD_Ev_Gv_CL);
}

}  // namespace rv::interp
