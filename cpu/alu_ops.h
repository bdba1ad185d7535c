// Width-generic ALU semantics shared by the interpreter handlers (alu.cpp, integer.cpp,
// string.cpp) and, later, the JIT's slow paths (STYLE.md guideline 4): each helper computes a
// result and the lazy-flags record that describes it; the caller stores the value and then
// commits the flags. `size` is the operand size in bytes (1, 2, 4, 8); inputs may carry junk
// above the operand width, outputs never do.
//
// Also here: EOperand, a ModRM E operand that is read, modified and written back with one
// address computation and one segment check (read-modify-write instructions).
#pragma once
#include "cpu/cpu.h"

namespace rv::alu {

inline constexpr u64 mask(unsigned size) { return Cpu::mask_of(size); }
inline constexpr u64 sign_bit(unsigned size) { return 1ull << (8 * size - 1); }
inline constexpr i64 sext(u64 v, unsigned size) {
  unsigned sh = 64 - 8 * size;
  return static_cast<i64>(v << sh) >> sh;
}
inline constexpr bool parity_even(u64 v) { return !__builtin_parity(static_cast<unsigned>(v & 0xFF)); }

// The value plus the lazy-flags record (flags.h) of one operation.
struct Result {
  u64 value;
  LazyOp op;
  u64 a, b;
  u8 cin;
};

inline Result add(unsigned size, u64 a, u64 b, bool cin = false) {
  u64 m = mask(size);
  return {(a + b + cin) & m, LazyOp::Add, a & m, b & m, static_cast<u8>(cin)};
}
inline Result sub(unsigned size, u64 a, u64 b, bool cin = false) {
  u64 m = mask(size);
  return {(a - b - cin) & m, LazyOp::Sub, a & m, b & m, static_cast<u8>(cin)};
}
inline Result adc(unsigned size, u64 a, u64 b, bool cf) { return add(size, a, b, cf); }
inline Result sbb(unsigned size, u64 a, u64 b, bool cf) { return sub(size, a, b, cf); }
inline Result logic_and(unsigned size, u64 a, u64 b) { return {a & b & mask(size), LazyOp::Logic, 0, 0, 0}; }
inline Result logic_or(unsigned size, u64 a, u64 b) { return {(a | b) & mask(size), LazyOp::Logic, 0, 0, 0}; }
inline Result logic_xor(unsigned size, u64 a, u64 b) { return {(a ^ b) & mask(size), LazyOp::Logic, 0, 0, 0}; }
inline Result inc(unsigned size, u64 a) { u64 m = mask(size); return {(a + 1) & m, LazyOp::Inc, a & m, 1, 0}; }
inline Result dec(unsigned size, u64 a) { u64 m = mask(size); return {(a - 1) & m, LazyOp::Dec, a & m, 1, 0}; }
inline Result neg(unsigned size, u64 a) { return sub(size, 0, a); }

// Group-1 operation by its ModRM.reg / opcode row index (SDM Vol.2 Table A-6):
// 0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP. CMP's result is not stored.
inline Result group1(unsigned op, unsigned size, u64 a, u64 b, bool cf) {
  switch (op & 7) {
    case 0: return add(size, a, b);
    case 1: return logic_or(size, a, b);
    case 2: return adc(size, a, b, cf);
    case 3: return sbb(size, a, b, cf);
    case 4: return logic_and(size, a, b);
    case 6: return logic_xor(size, a, b);
    default: return sub(size, a, b);   // 5 SUB, 7 CMP
  }
}

inline void commit(Cpu& cpu, unsigned size, const Result& r) { cpu.set_lazy(r.op, size, r.value, r.a, r.b, r.cin); }

// Sets SF ZF PF from `res` and CF OF AF from `cf_of_af` (only those bits are read), without
// materialising the previous flags: LazyOp::Result takes SF ZF PF from the result and the
// other three from rflags.
inline void set_result_flags(Cpu& cpu, unsigned size, u64 res, u64 cf_of_af) {
  CpuState& s = cpu.state();
  s.rflags = (s.rflags & ~(kFlagCF | kFlagOF | kFlagAF)) | (cf_of_af & (kFlagCF | kFlagOF | kFlagAF));
  cpu.set_lazy(LazyOp::Result, static_cast<u8>(size), res & mask(size), 0, 0);
}

// Read-modify-write memory operands are read with write intent: hardware checks the page for
// writing on the first (read) access, so a not-present or read-only destination faults with
// the W/R bit set in the #PF error code before anything changes (the CPU oracle shows it).
// Free when the TLB already holds a write pointer for the page.
inline void rmw_probe(Cpu& cpu, u64 la, unsigned size) {
  if (RV_LIKELY((la & 0xFFF) <= kPageSize - size && cpu.host_ptr(la, Access::Write))) return;
  cpu.check_alignment(la, size);   // #AC comes before the page walk
  const bool user = cpu.cpl() == 3;
  cpu.translate(la, Access::Write, user);
  if ((la & 0xFFF) > kPageSize - size) {
    u64 la2 = (la | 0xFFF) + 1;   // first byte on the next page (CR2 on a fault there)
    if (!cpu.long64()) la2 &= 0xFFFFFFFF;
    cpu.translate(la2, Access::Write, user);
  }
}

// A ModRM E operand for read-modify-write: the linear address is computed and checked for
// writing once, segment and page (rmw_probe), so a write-protected destination faults before
// anything changes.
class EOperand {
 public:
  EOperand(Cpu& cpu, const DecodedInsn& d, unsigned size, Access acc = Access::Write) : m_cpu(cpu), m_d(d), m_size(size) {
    if (d.mod != 3) {
      m_la = cpu.seg_linear(d.seg, cpu.ea(d), size, acc);
      if (acc == Access::Write) rmw_probe(cpu, m_la, size);
    }
  }
  bool is_mem() const { return m_d.mod != 3; }
  u64 linear() const { return m_la; }
  u64 read() { return is_mem() ? m_cpu.read_lin(m_la, m_size) : m_cpu.read_reg(m_d.rm, m_size, m_d.rex); }
  void write(u64 v) {
    if (is_mem()) m_cpu.write_lin(m_la, m_size, v);
    else m_cpu.write_reg(m_d.rm, m_size, m_d.rex, v);
  }

 private:
  Cpu& m_cpu;
  const DecodedInsn& m_d;
  unsigned m_size;
  u64 m_la = 0;
};

}  // namespace rv::alu
