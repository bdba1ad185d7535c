// Fast path for the common x87 instructions when every exception is masked and no stack fault
// can occur: only the operands go to the host x87 (FLD TBYTE, which is exact and raises
// nothing), the same instruction runs on them (register forms re-based to ST0/ST1, memory
// forms on [rcx]), and the results come back with FSTP TBYTE, instead of the whole-state
// FRSTOR/FNSAVE of x87_host.cpp (several times slower). With all exceptions masked the result
// and flags depend only on the operands and FCW. Condition codes: arithmetic and loads write
// C1 and keep C0/C2/C3; FCOM-type compares, FTST and FXAM write all four; FCOMI keeps them
// all; FCMOVcc changes none (as the host does; tests/unit/x87_fuzz_test.cpp checks every
// encoding against it). Anything else returns false and takes the general path.
#include <array>
#include <utility>

#include "cpu/interp/x87_core.h"

namespace rv::interp::x87 {
namespace {

// Returns FSW | (host SF ZF AF PF CF, LAHF layout) << 16 after the instruction.
using Op = u32 (*)(u8* mem);

template <unsigned OP, unsigned MODRM>
u32 op_stub(u8* mem) {
  u32 sw, fl;
  asm volatile(".byte %c[op], %c[mr]\n\tlahf\n\tmovzbl %%ah, %%edx\n\tfnstsw %%ax"
               : "=a"(sw), "=d"(fl)
               : "c"(mem), [op] "i"(OP), [mr] "i"(MODRM)
               : "memory", "cc");
  return (sw & 0xFFFF) | fl << 16;
}
// Register forms with rm 0 or 1 (the operands are re-based to ST0/ST1 on the host), memory
// forms with [rcx]; indexed [opc][reg][form]: form 0 = rm 0, 1 = rm 1, 2 = memory.
template <size_t... I>
constexpr std::array<Op, 192> make_ops(std::index_sequence<I...>) {
  return {&op_stub<0xD8 + I / 24, (I % 3 == 2) ? (((I / 3) % 8) << 3 | 1) : (0xC0 | ((I / 3) % 8) << 3 | (I % 3))>...};
}
constexpr std::array<Op, 192> kOps = make_ops(std::make_index_sequence<192>{});
template <size_t... I>
constexpr std::array<Op, 32> make_d9(std::index_sequence<I...>) {
  return {&op_stub<0xD9, 0xE0 + I>...};
}
constexpr std::array<Op, 32> kD9 = make_d9(std::make_index_sequence<32>{});   // D9 E0..FF

inline bool valid_tag(const Cpu& c, unsigned st) { return ftw(c) & (1u << ((top(c) + st) & 7)); }

// Runs op on host ST0..ST(k-1) = in[0..k-1]; stores host ST0..ST(m-1) to out; returns what
// op returned. The host's sticky exception flags are only cleared (FNCLEX is slow) when one of
// them is not already set in the guest FSW: otherwise a flag raised again could not be told
// from one left over, but the guest has it set anyway, and merge_status ORs the flags in.
u32 host_op(const Cpu& c, Op op, const u8* const* in, unsigned k, u8* mem, u8 (*out)[10], unsigned m) {
  u16 host_cw, host_sw;
  const u16 cw = fcw(c);
  asm volatile("fnstcw %0\n\tfnstsw %1" : "=m"(host_cw), "=m"(host_sw));
  if (host_sw & kExcMask & ~fsw(c)) asm volatile("fnclex");
  if (host_cw != cw) asm volatile("fldcw %0" : : "m"(cw));
  for (unsigned j = k; j-- > 0;) asm volatile("fldt %0" : : "m"(*reinterpret_cast<const u8(*)[10]>(in[j])));
  const u32 sw = op(mem);
  for (unsigned j = 0; j < m; j++) asm volatile("fstpt %0" : "=m"(out[j]));
  if (host_cw != cw) asm volatile("fldcw %0" : : "m"(host_cw));
  return sw;
}

// Arithmetic and loads: C1 from the operation, C0/C2/C3 kept. Comparisons and FXAM: all four.
void merge_status(Cpu& c, u32 host_sw, u16 cc = kC1) {
  set_fsw(c, static_cast<u16>((fsw(c) & ~cc) | (host_sw & (cc | kExcMask))));
}
constexpr u16 kCc = kC0 | kC1 | kC2 | kC3;
// FCOMI family: ZF PF CF from the host, OF SF AF cleared.
void comi_flags(Cpu& c, u32 r) {
  const u32 f = r >> 16;
  const u64 bits = ((f & 0x40) ? u64{kFlagZF} : 0) | ((f & 4) ? u64{kFlagPF} : 0) | ((f & 1) ? u64{kFlagCF} : 0);
  c.set_arith_flags(bits, kFlagZF | kFlagPF | kFlagCF | kFlagOF | kFlagSF | kFlagAF);
}
void push(Cpu& c, const u8* v) {
  set_top(c, top(c) - 1);
  set_ftw(c, static_cast<u8>(ftw(c) | (1u << top(c))));
  std::memcpy(fx::st(c, 0), v, 10);
}
void pop(Cpu& c) {
  set_ftw(c, static_cast<u8>(ftw(c) & ~(1u << top(c))));
  set_top(c, top(c) + 1);
}

}  // namespace

bool try_fast(Cpu& c, const DecodedInsn& d, unsigned opc, unsigned reg, unsigned rm, u8* mem, FastMem mk) {
  if ((fcw(c) & kExcMask) != kExcMask) return false;
  u8 out[2][10];
  const u8* in[2] = {fx::st(c, 0), fx::st(c, rm)};
  const bool compare = reg == 2 || reg == 3;   // FCOM/FCOMP (D8, DC, DA, DE memory)

  if (d.mod == 3) {
    const unsigned k = rm ? 2 : 1, form = rm ? 1 : 0;
    const Op op = kOps[opc * 24 + reg * 3 + form];
    const bool both = valid_tag(c, 0) && valid_tag(c, rm);
    if ((opc == 0 || opc == 4 || (opc == 6 && rm != 0)) && !compare) {
      // D8: ST0 = ST0 op ST(i); DC: ST(i) = ST(i) op ST0; DE: the same, then pop.
      if (!both) return false;
      const u32 r = host_op(c, op, in, k, nullptr, out, opc == 6 ? 1 : k);
      std::memcpy(fx::st(c, opc == 0 ? 0 : rm), out[opc == 4 && rm ? 1 : 0], 10);
      merge_status(c, r);
      if (opc == 6) pop(c);
      return true;
    }
    const bool fcom = opc == 0 && compare, fucom = opc == 5 && (reg == 4 || reg == 5);
    const bool fcompp = (opc == 6 && reg == 3 && rm == 1) || (opc == 2 && reg == 5 && rm == 1);
    const bool fcomi = (opc == 3 || opc == 7) && (reg == 5 || reg == 6);
    if (fcom || fucom || fcompp || fcomi) {
      if (!both) return false;
      const unsigned pops = fcompp ? 2 : (fcom && reg == 3) || (fucom && reg == 5) || (fcomi && opc == 7) ? 1 : 0;
      const u32 r = host_op(c, op, in, k, nullptr, out, k - pops);
      merge_status(c, r, fcomi ? 0 : kCc);   // FCOMI leaves C0..C3 as they were
      if (fcomi) comi_flags(c, r);
      for (unsigned j = 0; j < pops; j++) pop(c);
      return true;
    }
    if ((opc == 2 || opc == 3) && reg < 4) {   // FCMOVcc: B E BE U / NB NE NBE NU; flags untouched
      if (!both) return false;
      static constexpr u8 kCond[4] = {0x2, 0x4, 0x6, 0xA};   // Jcc condition codes
      if (c.cond(static_cast<u8>(kCond[reg] ^ (opc == 3 ? 1 : 0)))) std::memcpy(fx::st(c, 0), fx::st(c, rm), 10);
      return true;
    }
    if (opc == 1 && reg == 0) {   // FLD ST(i): no exception but the stack fault
      if (!valid_tag(c, rm) || valid_tag(c, 7)) return false;
      u8 v[10];
      std::memcpy(v, fx::st(c, rm), 10);
      push(c, v);
      set_fsw(c, fsw(c) & ~kC1);
      return true;
    }
    if (opc == 1 && reg == 1) {   // FXCH
      if (!both) return false;
      u8 v[10];
      std::memcpy(v, fx::st(c, 0), 10);
      std::memcpy(fx::st(c, 0), fx::st(c, rm), 10);
      std::memcpy(fx::st(c, rm), v, 10);
      set_fsw(c, fsw(c) & ~kC1);
      return true;
    }
    if (opc == 5 && (reg == 2 || reg == 3)) {   // FST/FSTP ST(i): an exact copy (no #IA for 80-bit)
      if (!valid_tag(c, 0)) return false;
      std::memcpy(fx::st(c, rm), fx::st(c, 0), 10);
      set_ftw(c, static_cast<u8>(ftw(c) | (1u << ((top(c) + rm) & 7))));
      set_fsw(c, fsw(c) & ~kC1);
      if (reg == 3) pop(c);
      return true;
    }
    if (opc == 1 && ((reg == 4 && rm != 2 && rm != 3) || (reg == 7 && (rm == 2 || rm == 4)))) {
      // FCHS FABS FTST FXAM FSQRT FRNDINT on ST0 (FXAM of an empty register: general path)
      if (!valid_tag(c, 0) || (reg == 4 && rm >= 6)) return false;
      const u32 r = host_op(c, kD9[reg * 8 + rm - 32], in, 1, nullptr, out, 1);
      const bool test = reg == 4 && rm >= 4;
      if (!test) std::memcpy(fx::st(c, 0), out[0], 10);
      merge_status(c, r, test ? kCc : kC1);
      return true;
    }
    if (opc == 1 && reg == 5 && rm != 7) {   // FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ
      if (valid_tag(c, 7)) return false;
      const u32 r = host_op(c, kD9[reg * 8 + rm - 32], in, 0, nullptr, out, 1);
      push(c, out[0]);
      merge_status(c, r);
      return true;
    }
    return false;
  }

  const Op op = kOps[opc * 24 + reg * 3 + 2];
  if (!(opc & 1)) {   // ST0 op m (m32fp, m32int, m64fp, m16int), or compare
    if (!valid_tag(c, 0)) return false;
    const u32 r = host_op(c, op, in, 1, mem, out, reg == 3 ? 0 : 1);
    if (!compare) std::memcpy(fx::st(c, 0), out[0], 10);
    merge_status(c, r, compare ? kCc : kC1);
    if (reg == 3) pop(c);
    return true;
  }
  if (mk == FastMem::Load) {   // FLD m32/m64/m80, FILD m16/m32/m64, FBLD
    if (valid_tag(c, 7)) return false;
    const u32 r = host_op(c, op, in, 0, mem, out, 1);
    push(c, out[0]);
    merge_status(c, r);
    return true;
  }
  if (mk == FastMem::Store) {   // FST(P), FIST(P), FISTTP, FBSTP: the caller writes `mem`
    if (!valid_tag(c, 0)) return false;
    const bool popping = reg != 2;
    const u32 r = host_op(c, op, in, 1, mem, out, popping ? 0 : 1);
    merge_status(c, r);
    if (popping) pop(c);
    return true;
  }
  return false;
}

}  // namespace rv::interp::x87
