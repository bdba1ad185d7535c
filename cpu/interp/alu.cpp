// Data movement and two-operand arithmetic: ADD OR ADC SBB AND SUB XOR CMP TEST, INC DEC NOT
// NEG, MOV (all forms but segment registers), LEA, XCHG, MOVZX/MOVSX, CBW/CWD families,
// CMOVcc/SETcc, the flag instructions and LAHF/SAHF. Semantics: SDM Vol.2, per instruction.
#include "cpu/interp/handlers.h"
#include "cpu/interp/threaded.h"

#include <cstring>

namespace rv::interp {
namespace {

enum AluOp : u8 { kAdd, kOr, kAdc, kSbb, kAnd, kSub, kXor, kCmp };   // ModRM.reg of group 1
// The eight two-operand ALU operations, for the tables below: M(mnemonic, AluOp).
#define RV_FOR_EACH_ALU_OP(M) M(ADD, kAdd) M(OR, kOr) M(ADC, kAdc) M(SBB, kSbb) M(AND, kAnd) M(SUB, kSub) M(XOR, kXor) M(CMP, kCmp)

// `a op b` at `size` bytes and the lazy-flags record it produces. Callers store the result
// first and record the flags after, so a faulting store leaves RFLAGS untouched.
struct AluOut {
  u64 r;
  LazyOp op;
  u8 cin;
};

inline AluOut alu_compute(const Cpu& c, unsigned op, unsigned size, u64 a, u64 b) {
  const u64 m = Cpu::mask_of(size);
  switch (op) {
    case kAdd: return {(a + b) & m, LazyOp::Add, 0};
    case kOr: return {a | b, LazyOp::Logic, 0};
    case kAdc: {
      u8 cin = c.cf();
      return {(a + b + cin) & m, LazyOp::Add, cin};
    }
    case kSbb: {
      u8 cin = c.cf();
      return {(a - b - cin) & m, LazyOp::Sub, cin};
    }
    case kAnd: return {a & b, LazyOp::Logic, 0};
    case kXor: return {a ^ b, LazyOp::Logic, 0};
    default: return {(a - b) & m, LazyOp::Sub, 0};   // SUB, CMP
  }
}

inline void alu_flags(Cpu& c, const AluOut& o, unsigned size, u64 a, u64 b) {
  c.set_lazy(o.op, static_cast<u8>(size), o.r, a, b, o.cin);
}

// Register-only form: compute and record the flags at once.
inline u64 alu(Cpu& c, unsigned op, unsigned size, u64 a, u64 b) {
  AluOut o = alu_compute(c, op, size, a, b);
  alu_flags(c, o, size, a, b);
  return o.r;
}

// Memory-destination form: read, store, then record the flags.
inline void alu_mem(Cpu& c, unsigned op, unsigned size, u8 seg, u64 off, u64 b) {
  if (op == kCmp) {
    u64 a = c.read_mem(seg, off, size);
    alu_flags(c, alu_compute(c, op, size, a, b), size, a, b);
    return;
  }
  u64 la = c.seg_linear(seg, off, size, Access::Write);
  // Fast path: one TLB lookup gives a writable host pointer for both halves.
  if (RV_LIKELY((la & 0xFFF) <= kPageSize - size)) {
    if (u8* p = c.host_ptr(la, Access::Write)) {
      u64 a = 0;
      std::memcpy(&a, p, size);
      AluOut o = alu_compute(c, op, size, a, b);
      std::memcpy(p, &o.r, size);
      alu_flags(c, o, size, a, b);
      return;
    }
  }
  u64 a = c.read_mem_rmw(seg, off, size);
  AluOut o = alu_compute(c, op, size, a, b);
  c.write_mem(seg, off, size, o.r);
  alu_flags(c, o, size, a, b);
}

inline u64 sext(u64 v, unsigned from) {
  unsigned sh = 64 - 8 * from;
  return static_cast<u64>(static_cast<i64>(v << sh) >> sh);
}

// ---- ALU rows: Op E,G / G,E / acc,imm ----
template <unsigned Op, unsigned S>
void exec_ALU_E_G(Cpu& c, const DecodedInsn& d) {
  u64 b = c.read_reg(d.reg, S, d.rex);
  if (d.mod == 3) {
    u64 r = alu(c, Op, S, c.read_reg(d.rm, S, d.rex), b);
    if (Op != kCmp) c.write_reg(d.rm, S, d.rex, r);
    return;
  }
  alu_mem(c, Op, S, d.seg, c.ea(d), b);
}

template <unsigned Op, unsigned S>
void exec_ALU_G_E(Cpu& c, const DecodedInsn& d) {
  u64 r = alu(c, Op, S, c.read_reg(d.reg, S, d.rex), c.read_E(d, S));
  if (Op != kCmp) c.write_reg(d.reg, S, d.rex, r);
}

template <unsigned Op, unsigned S>
void exec_ALU_A_I(Cpu& c, const DecodedInsn& d) {
  u64 r = alu(c, Op, S, c.read_reg(RAX, S, false), d.imm & Cpu::mask_of(S));
  if (Op != kCmp) c.write_reg(RAX, S, false, r);
}

// Sized dispatch for Ev/Gv/Iz forms: one handler per operand size.
template <template <unsigned, unsigned> class F, unsigned Op>
struct Sized {
  static void run(Cpu& c, const DecodedInsn& d) {
    switch (d.osize) {
      case 2: return F<Op, 2>::f(c, d);
      case 4: return F<Op, 4>::f(c, d);
      default: return F<Op, 8>::f(c, d);
    }
  }
};
template <unsigned Op, unsigned S> struct EG { static void f(Cpu& c, const DecodedInsn& d) { exec_ALU_E_G<Op, S>(c, d); } };
template <unsigned Op, unsigned S> struct GE { static void f(Cpu& c, const DecodedInsn& d) { exec_ALU_G_E<Op, S>(c, d); } };
template <unsigned Op, unsigned S> struct AI { static void f(Cpu& c, const DecodedInsn& d) { exec_ALU_A_I<Op, S>(c, d); } };

// GRP1: 80/81/82/83, operation from ModRM.reg.
template <unsigned S>
void grp1(Cpu& c, const DecodedInsn& d, u64 imm) {
  unsigned op = d.reg & 7;
  imm &= Cpu::mask_of(S);
  if (d.mod == 3) {
    u64 r = alu(c, op, S, c.read_reg(d.rm, S, d.rex), imm);
    if (op != kCmp) c.write_reg(d.rm, S, d.rex, r);
    return;
  }
  alu_mem(c, op, S, d.seg, c.ea(d), imm);
}
void exec_GRP1_Eb_Ib(Cpu& c, const DecodedInsn& d) { grp1<1>(c, d, d.imm); }
void exec_GRP1_Ev_I(Cpu& c, const DecodedInsn& d) {   // 81 (Iz) and 83 (Ib sign-extended): imm already extended
  switch (d.osize) {
    case 2: return grp1<2>(c, d, d.imm);
    case 4: return grp1<4>(c, d, d.imm);
    default: return grp1<8>(c, d, d.imm);
  }
}

// ---- TEST ----
template <unsigned S>
void test_op(Cpu& c, u64 a, u64 b) { c.set_lazy(LazyOp::Logic, S, a & b, a, b); }
void exec_TEST_Eb_Gb(Cpu& c, const DecodedInsn& d) { test_op<1>(c, c.read_E(d, 1), c.read_G(d, 1)); }
void exec_TEST_Ev_Gv(Cpu& c, const DecodedInsn& d) {
  u8 s = d.osize;
  c.set_lazy(LazyOp::Logic, s, c.read_E(d, s) & c.read_G(d, s), 0, 0);
}
void exec_TEST_AL_Ib(Cpu& c, const DecodedInsn& d) { test_op<1>(c, c.read_reg(RAX, 1, false), d.imm & 0xFF); }
void exec_TEST_rAX_Iz(Cpu& c, const DecodedInsn& d) {
  u8 s = d.osize;
  c.set_lazy(LazyOp::Logic, s, c.read_reg(RAX, s, false) & d.imm & Cpu::mask_of(s), 0, 0);
}
void exec_TEST_Eb_Ib(Cpu& c, const DecodedInsn& d) { test_op<1>(c, c.read_E(d, 1), d.imm & 0xFF); }
void exec_TEST_Ev_Iz(Cpu& c, const DecodedInsn& d) {
  u8 s = d.osize;
  c.set_lazy(LazyOp::Logic, s, c.read_E(d, s) & d.imm & Cpu::mask_of(s), 0, 0);
}

// ---- INC/DEC/NOT/NEG ----
template <bool Dec, bool RegInOpcode>
void incdec_sized(Cpu& c, const DecodedInsn& d, unsigned s) {
  // CF is preserved: fold the current CF into rflags before switching the lazy op.
  bool cf = c.cf();
  u64 a;
  u64 off = 0;
  bool mem = !RegInOpcode && d.mod != 3;
  u8 r = RegInOpcode ? d.reg : d.rm;
  if (mem) { off = c.ea(d); a = c.read_mem_rmw(d.seg, off, s); }
  else a = c.read_reg(r, s, d.rex);
  u64 res = (Dec ? a - 1 : a + 1) & Cpu::mask_of(s);
  if (mem) c.write_mem(d.seg, off, s, res);
  else c.write_reg(r, s, d.rex, res);
  CpuState& st = c.state();
  st.rflags = cf ? (st.rflags | kFlagCF) : (st.rflags & ~kFlagCF);
  c.set_lazy(Dec ? LazyOp::Dec : LazyOp::Inc, static_cast<u8>(s), res, a, 1);
}
template <bool Dec, bool RegInOpcode>
void incdec_v(Cpu& c, const DecodedInsn& d) {
  switch (d.osize) {
    case 2: return incdec_sized<Dec, RegInOpcode>(c, d, 2);
    case 4: return incdec_sized<Dec, RegInOpcode>(c, d, 4);
    default: return incdec_sized<Dec, RegInOpcode>(c, d, 8);
  }
}
void exec_INC_Eb(Cpu& c, const DecodedInsn& d) { incdec_sized<false, false>(c, d, 1); }
void exec_DEC_Eb(Cpu& c, const DecodedInsn& d) { incdec_sized<true, false>(c, d, 1); }
void exec_INC_Ev(Cpu& c, const DecodedInsn& d) { incdec_v<false, false>(c, d); }
void exec_DEC_Ev(Cpu& c, const DecodedInsn& d) { incdec_v<true, false>(c, d); }
void exec_INC_Zv(Cpu& c, const DecodedInsn& d) { incdec_v<false, true>(c, d); }
void exec_DEC_Zv(Cpu& c, const DecodedInsn& d) { incdec_v<true, true>(c, d); }

void notneg(Cpu& c, const DecodedInsn& d, unsigned s, bool neg) {
  u64 off = 0;
  u64 a;
  if (d.mod != 3) { off = c.ea(d); a = c.read_mem_rmw(d.seg, off, s); }
  else a = c.read_reg(d.rm, s, d.rex);
  u64 res;
  if (neg) {
    res = (0 - a) & Cpu::mask_of(s);
  } else {
    res = ~a & Cpu::mask_of(s);
  }
  if (d.mod != 3) c.write_mem(d.seg, off, s, res);
  else c.write_reg(d.rm, s, d.rex, res);
  if (neg) c.set_lazy(LazyOp::Sub, static_cast<u8>(s), res, 0, a);   // NOT changes no flags
}
void exec_NOT_Eb(Cpu& c, const DecodedInsn& d) { notneg(c, d, 1, false); }
void exec_NOT_Ev(Cpu& c, const DecodedInsn& d) { notneg(c, d, d.osize, false); }
void exec_NEG_Eb(Cpu& c, const DecodedInsn& d) { notneg(c, d, 1, true); }
void exec_NEG_Ev(Cpu& c, const DecodedInsn& d) { notneg(c, d, d.osize, true); }

// ---- MOV ----
void exec_MOV_Eb_Gb(Cpu& c, const DecodedInsn& d) { c.write_E(d, 1, c.read_G(d, 1)); }
template <unsigned S> void mov_ev_gv(Cpu& c, const DecodedInsn& d) {
  u64 v = c.read_reg(d.reg, S, d.rex);
  if (d.mod == 3) c.write_reg(d.rm, S, d.rex, v);
  else c.write_mem(d.seg, c.ea(d), S, v);
}
template <unsigned S> void mov_gv_ev(Cpu& c, const DecodedInsn& d) {
  u64 v = d.mod == 3 ? c.read_reg(d.rm, S, d.rex) : c.read_mem(d.seg, c.ea(d), S);
  c.write_reg(d.reg, S, d.rex, v);
}
void exec_MOV_Ev_Gv(Cpu& c, const DecodedInsn& d) {
  switch (d.osize) { case 2: return mov_ev_gv<2>(c, d); case 4: return mov_ev_gv<4>(c, d); default: return mov_ev_gv<8>(c, d); }
}
void exec_MOV_Gb_Eb(Cpu& c, const DecodedInsn& d) { c.write_G(d, 1, c.read_E(d, 1)); }
void exec_MOV_Gv_Ev(Cpu& c, const DecodedInsn& d) {
  switch (d.osize) { case 2: return mov_gv_ev<2>(c, d); case 4: return mov_gv_ev<4>(c, d); default: return mov_gv_ev<8>(c, d); }
}
void exec_MOV_Eb_Ib(Cpu& c, const DecodedInsn& d) { c.write_E(d, 1, d.imm); }
void exec_MOV_Ev_Iz(Cpu& c, const DecodedInsn& d) { c.write_E(d, d.osize, d.imm); }
void exec_MOV_Zb_Ib(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, 1, d.rex, d.imm); }
void exec_MOV_Zv_Iv(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, d.osize, d.rex, d.imm); }
// moffs forms: the offset is an address-size immediate in d.imm, segment d.seg.
void exec_MOV_AL_Ob(Cpu& c, const DecodedInsn& d) { c.write_reg(RAX, 1, false, c.read_mem(d.seg, d.imm, 1)); }
void exec_MOV_rAX_Ov(Cpu& c, const DecodedInsn& d) { c.write_reg(RAX, d.osize, false, c.read_mem(d.seg, d.imm, d.osize)); }
void exec_MOV_Ob_AL(Cpu& c, const DecodedInsn& d) { c.write_mem(d.seg, d.imm, 1, c.read_reg(RAX, 1, false)); }
void exec_MOV_Ov_rAX(Cpu& c, const DecodedInsn& d) { c.write_mem(d.seg, d.imm, d.osize, c.read_reg(RAX, d.osize, false)); }

void exec_LEA_Gv_M(Cpu& c, const DecodedInsn& d) {
  // The address is computed at address size, then truncated or zero-extended to operand size.
  c.write_G(d, d.osize, c.ea(d));
}

void exec_MOVZX_Gv_Eb(Cpu& c, const DecodedInsn& d) { c.write_G(d, d.osize, c.read_E(d, 1)); }
void exec_MOVZX_Gv_Ew(Cpu& c, const DecodedInsn& d) { c.write_G(d, d.osize, c.read_E(d, 2)); }
void exec_MOVSX_Gv_Eb(Cpu& c, const DecodedInsn& d) { c.write_G(d, d.osize, sext(c.read_E(d, 1), 1)); }
void exec_MOVSX_Gv_Ew(Cpu& c, const DecodedInsn& d) { c.write_G(d, d.osize, sext(c.read_E(d, 2), 2)); }

// ---- XCHG (a memory operand implies LOCK; no flags) ----
void exec_XCHG_Eb_Gb(Cpu& c, const DecodedInsn& d) {
  if (d.mod == 3) {
    u64 a = c.read_reg(d.rm, 1, d.rex), b = c.read_G(d, 1);
    c.write_reg(d.rm, 1, d.rex, b);
    c.write_G(d, 1, a);
    return;
  }
  u64 off = c.ea(d);
  u64 a = c.read_mem_rmw(d.seg, off, 1);
  c.write_mem(d.seg, off, 1, c.read_G(d, 1));
  c.write_G(d, 1, a);
}
void exec_XCHG_Ev_Gv(Cpu& c, const DecodedInsn& d) {
  unsigned s = d.osize;
  if (d.mod == 3) {
    u64 a = c.read_reg(d.rm, s, d.rex), b = c.read_G(d, s);
    c.write_reg(d.rm, s, d.rex, b);
    c.write_G(d, s, a);
    return;
  }
  u64 off = c.ea(d);
  u64 a = c.read_mem_rmw(d.seg, off, s);
  c.write_mem(d.seg, off, s, c.read_G(d, s));
  c.write_G(d, s, a);
}
void exec_XCHG_Zv_rAX(Cpu& c, const DecodedInsn& d) {
  unsigned s = d.osize;
  u64 a = c.read_reg(d.reg, s, d.rex), b = c.read_reg(RAX, s, false);
  c.write_reg(d.reg, s, d.rex, b);
  c.write_reg(RAX, s, false, a);
}
void exec_NOP(Cpu&, const DecodedInsn&) {}

// ---- sign extension of the accumulator ----
void exec_CBW(Cpu& c, const DecodedInsn& d) {
  unsigned s = d.osize;
  c.write_reg(RAX, s, false, sext(c.read_reg(RAX, s / 2, false), s / 2));
}
void exec_CWD(Cpu& c, const DecodedInsn& d) {
  unsigned s = d.osize;
  u64 a = c.read_reg(RAX, s, false);
  bool neg = a >> (8 * s - 1) & 1;
  c.write_reg(RDX, s, false, neg ? ~0ull : 0);
}

// ---- CMOVcc / SETcc ----
void exec_CMOVCC_Gv_Ev(Cpu& c, const DecodedInsn& d) {
  u64 v = c.read_E(d, d.osize);   // the source is read (and may fault) whatever the condition
  if (c.cond(d.opcode & 0xF)) c.write_G(d, d.osize, v);
  else if (d.osize == 4) c.write_G(d, 4, c.read_G(d, 4));   // 32-bit form zero-extends anyway
}
void exec_SETCC_Eb(Cpu& c, const DecodedInsn& d) { c.write_E(d, 1, c.cond(d.opcode & 0xF) ? 1 : 0); }

// ---- flag instructions ----
void exec_CLC(Cpu& c, const DecodedInsn&) { c.set_arith_flags(0, kFlagCF); }
void exec_STC(Cpu& c, const DecodedInsn&) { c.set_arith_flags(kFlagCF, kFlagCF); }
void exec_CMC(Cpu& c, const DecodedInsn&) { c.set_arith_flags(c.cf() ? 0 : kFlagCF, kFlagCF); }
void exec_CLD(Cpu& c, const DecodedInsn&) { c.state().rflags &= ~kFlagDF; }
void exec_STD(Cpu& c, const DecodedInsn&) { c.state().rflags |= kFlagDF; }
void exec_LAHF(Cpu& c, const DecodedInsn&) { c.write_reg(4, 1, false, (c.rflags() & 0xD5) | 2); }   // AH
void exec_SAHF(Cpu& c, const DecodedInsn&) {
  c.set_arith_flags(c.read_reg(4, 1, false), kFlagSF | kFlagZF | kFlagAF | kFlagPF | kFlagCF);
}

}  // namespace

// Both tables come from one list: the plain handler and its threaded wrapper.
// ---- size-specialised threaded forms, chosen when a block is built (no size switch) ----
namespace {
template <unsigned S> void grp1_s(Cpu& c, const DecodedInsn& d) { grp1<S>(c, d, d.imm); }
template <bool Dec, bool RegOp, unsigned S> void incdec_s(Cpu& c, const DecodedInsn& d) { incdec_sized<Dec, RegOp>(c, d, S); }
template <unsigned S> void movzx_b_s(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, S, d.rex, c.read_E(d, 1)); }
template <unsigned S> void movzx_w_s(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, S, d.rex, c.read_E(d, 2)); }
template <unsigned S> void mov_r_imm_s(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, S, d.rex, d.imm); }

// Register-only forms (ModRM.mod == 3): no memory path, so no calls and no spills.
template <unsigned Op, unsigned S> void alu_rr_eg(Cpu& c, const DecodedInsn& d) {
  u64 r = alu(c, Op, S, c.read_reg(d.rm, S, d.rex), c.read_reg(d.reg, S, d.rex));
  if (Op != kCmp) c.write_reg(d.rm, S, d.rex, r);
}
template <unsigned Op, unsigned S> void alu_rr_ge(Cpu& c, const DecodedInsn& d) {
  u64 r = alu(c, Op, S, c.read_reg(d.reg, S, d.rex), c.read_reg(d.rm, S, d.rex));
  if (Op != kCmp) c.write_reg(d.reg, S, d.rex, r);
}
template <unsigned S> void grp1_r(Cpu& c, const DecodedInsn& d) {
  unsigned op = d.reg & 7;
  u64 r = alu(c, op, S, c.read_reg(d.rm, S, d.rex), d.imm & Cpu::mask_of(S));
  if (op != kCmp) c.write_reg(d.rm, S, d.rex, r);
}
template <bool Dec, unsigned S> void incdec_r(Cpu& c, const DecodedInsn& d) {
  bool cf = c.cf();
  u64 a = c.read_reg(d.rm, S, d.rex);
  u64 res = (Dec ? a - 1 : a + 1) & Cpu::mask_of(S);
  c.write_reg(d.rm, S, d.rex, res);
  CpuState& st = c.state();
  st.rflags = cf ? (st.rflags | kFlagCF) : (st.rflags & ~kFlagCF);
  c.set_lazy(Dec ? LazyOp::Dec : LazyOp::Inc, static_cast<u8>(S), res, a, 1);
}
template <unsigned S> void mov_rr(Cpu& c, const DecodedInsn& d) { c.write_reg(d.rm, S, d.rex, c.read_reg(d.reg, S, d.rex)); }
template <unsigned S> void mov_rr_ge(Cpu& c, const DecodedInsn& d) { c.write_reg(d.reg, S, d.rex, c.read_reg(d.rm, S, d.rex)); }

// 64-bit memory fast paths for threaded_fast: complete the instruction or change nothing.
template <unsigned S> inline u64 load(const u8* p) { u64 v = 0; std::memcpy(&v, p, S); return v; }
template <unsigned S> inline void store(u8* p, u64 v) { std::memcpy(p, &v, S); }

template <unsigned S> bool fast_load(Cpu& c, const DecodedInsn& d, u64 nrip) {          // MOV Gv, Mv
  const u8* p = c.fast_mem64(d, nrip, S, false);
  if (!p) return false;
  c.write_reg(d.reg, S, d.rex, load<S>(p));
  return true;
}
template <unsigned S> bool fast_store(Cpu& c, const DecodedInsn& d, u64 nrip) {         // MOV Mv, Gv
  u8* p = c.fast_mem64(d, nrip, S, true);
  if (!p) return false;
  store<S>(p, c.read_reg(d.reg, S, d.rex));
  return true;
}
template <unsigned S> bool fast_store_imm(Cpu& c, const DecodedInsn& d, u64 nrip) {     // MOV M, imm
  u8* p = c.fast_mem64(d, nrip, S, true);
  if (!p) return false;
  store<S>(p, d.imm);
  return true;
}
template <unsigned From, unsigned S, bool Signed> bool fast_movx(Cpu& c, const DecodedInsn& d, u64 nrip) {
  const u8* p = c.fast_mem64(d, nrip, From, false);
  if (!p) return false;
  u64 v = load<From>(p);
  c.write_reg(d.reg, S, d.rex, Signed ? sext(v, From) : v);
  return true;
}
template <unsigned Op, unsigned S> bool fast_alu_ge(Cpu& c, const DecodedInsn& d, u64 nrip) {   // op Gv, Mv
  const u8* p = c.fast_mem64(d, nrip, S, false);
  if (!p) return false;
  u64 r = alu(c, Op, S, c.read_reg(d.reg, S, d.rex), load<S>(p));
  if (Op != kCmp) c.write_reg(d.reg, S, d.rex, r);
  return true;
}
template <unsigned Op, unsigned S> bool fast_alu_mem(Cpu& c, const DecodedInsn& d, u64 nrip, u64 b) {
  u8* p = c.fast_mem64(d, nrip, S, Op != kCmp);
  if (!p) return false;
  u64 r = alu(c, Op, S, load<S>(p), b);
  if (Op != kCmp) store<S>(p, r);
  return true;
}
template <unsigned Op, unsigned S> bool fast_alu_eg(Cpu& c, const DecodedInsn& d, u64 nrip) {   // op Mv, Gv
  return fast_alu_mem<Op, S>(c, d, nrip, c.read_reg(d.reg, S, d.rex));
}
template <unsigned S> bool fast_grp1(Cpu& c, const DecodedInsn& d, u64 nrip) {                  // op Mv, imm
  const u64 imm = d.imm & Cpu::mask_of(S);
  switch (d.reg & 7) {
    case kAdd: return fast_alu_mem<kAdd, S>(c, d, nrip, imm);
    case kOr: return fast_alu_mem<kOr, S>(c, d, nrip, imm);
    case kAdc: return fast_alu_mem<kAdc, S>(c, d, nrip, imm);
    case kSbb: return fast_alu_mem<kSbb, S>(c, d, nrip, imm);
    case kAnd: return fast_alu_mem<kAnd, S>(c, d, nrip, imm);
    case kSub: return fast_alu_mem<kSub, S>(c, d, nrip, imm);
    case kXor: return fast_alu_mem<kXor, S>(c, d, nrip, imm);
    default: return fast_alu_mem<kCmp, S>(c, d, nrip, imm);
  }
}
template <bool Dec, unsigned S> bool fast_incdec(Cpu& c, const DecodedInsn& d, u64 nrip) {        // INC/DEC Mv
  u8* p = c.fast_mem64(d, nrip, S, true);
  if (!p) return false;
  bool cf = c.cf();
  u64 a = load<S>(p);
  u64 res = (Dec ? a - 1 : a + 1) & Cpu::mask_of(S);
  store<S>(p, res);
  CpuState& st = c.state();
  st.rflags = cf ? (st.rflags | kFlagCF) : (st.rflags & ~kFlagCF);
  c.set_lazy(Dec ? LazyOp::Dec : LazyOp::Inc, static_cast<u8>(S), res, a, 1);
  return true;
}

template <Handler H2, Handler H4, Handler H8>
Threaded by_size(unsigned osize) {
  return osize == 2 ? threaded<H2> : osize == 4 ? threaded<H4> : threaded<H8>;
}
template <FastFn F2, FastFn F4, FastFn F8>
Threaded fast_by_size(unsigned osize) {
  return osize == 2 ? threaded_fast<F2> : osize == 4 ? threaded_fast<F4> : threaded_fast<F8>;
}

// Fast (64-bit memory) forms; nullptr where none applies.
Threaded specialize_mem64(const DecodedInsn& d) {
  switch (d.op) {
#define RV_ALU_ROW(N, Op)                                                                                           \
    case OpId::N##_Eb_Gb: return threaded_fast<fast_alu_eg<Op, 1>>;                                                   \
    case OpId::N##_Gb_Eb: return threaded_fast<fast_alu_ge<Op, 1>>;                                                   \
    case OpId::N##_Ev_Gv: return fast_by_size<fast_alu_eg<Op, 2>, fast_alu_eg<Op, 4>, fast_alu_eg<Op, 8>>(d.osize);   \
    case OpId::N##_Gv_Ev: return fast_by_size<fast_alu_ge<Op, 2>, fast_alu_ge<Op, 4>, fast_alu_ge<Op, 8>>(d.osize);
    RV_FOR_EACH_ALU_OP(RV_ALU_ROW)
#undef RV_ALU_ROW
    case OpId::GRP1_Eb_Ib: return threaded_fast<fast_grp1<1>>;
    case OpId::GRP1_Ev_Iz: case OpId::GRP1_Ev_Ib: return fast_by_size<fast_grp1<2>, fast_grp1<4>, fast_grp1<8>>(d.osize);
    case OpId::INC_Eb: return threaded_fast<fast_incdec<false, 1>>;
    case OpId::DEC_Eb: return threaded_fast<fast_incdec<true, 1>>;
    case OpId::INC_Ev: return fast_by_size<fast_incdec<false, 2>, fast_incdec<false, 4>, fast_incdec<false, 8>>(d.osize);
    case OpId::DEC_Ev: return fast_by_size<fast_incdec<true, 2>, fast_incdec<true, 4>, fast_incdec<true, 8>>(d.osize);
    case OpId::MOV_Gb_Eb: return threaded_fast<fast_load<1>>;
    case OpId::MOV_Eb_Gb: return threaded_fast<fast_store<1>>;
    case OpId::MOV_Gv_Ev: return fast_by_size<fast_load<2>, fast_load<4>, fast_load<8>>(d.osize);
    case OpId::MOV_Ev_Gv: return fast_by_size<fast_store<2>, fast_store<4>, fast_store<8>>(d.osize);
    case OpId::MOV_Eb_Ib: return threaded_fast<fast_store_imm<1>>;
    case OpId::MOV_Ev_Iz: return fast_by_size<fast_store_imm<2>, fast_store_imm<4>, fast_store_imm<8>>(d.osize);
    case OpId::MOVZX_Gv_Eb: return fast_by_size<fast_movx<1, 2, false>, fast_movx<1, 4, false>, fast_movx<1, 8, false>>(d.osize);
    case OpId::MOVZX_Gv_Ew: return fast_by_size<fast_movx<2, 2, false>, fast_movx<2, 4, false>, fast_movx<2, 8, false>>(d.osize);
    case OpId::MOVSX_Gv_Eb: return fast_by_size<fast_movx<1, 2, true>, fast_movx<1, 4, true>, fast_movx<1, 8, true>>(d.osize);
    case OpId::MOVSX_Gv_Ew: return fast_by_size<fast_movx<2, 2, true>, fast_movx<2, 4, true>, fast_movx<2, 8, true>>(d.osize);
    default: return nullptr;
  }
}

// Register-only forms; nullptr where none applies.
Threaded specialize_reg(const DecodedInsn& d) {
  switch (d.op) {
#define RV_ALU_ROW(N, Op)                                                                                   \
    case OpId::N##_Eb_Gb: return threaded<alu_rr_eg<Op, 1>>;                                                  \
    case OpId::N##_Gb_Eb: return threaded<alu_rr_ge<Op, 1>>;                                                  \
    case OpId::N##_Ev_Gv: return by_size<alu_rr_eg<Op, 2>, alu_rr_eg<Op, 4>, alu_rr_eg<Op, 8>>(d.osize);      \
    case OpId::N##_Gv_Ev: return by_size<alu_rr_ge<Op, 2>, alu_rr_ge<Op, 4>, alu_rr_ge<Op, 8>>(d.osize);
    RV_FOR_EACH_ALU_OP(RV_ALU_ROW)
#undef RV_ALU_ROW
    case OpId::GRP1_Eb_Ib: return threaded<grp1_r<1>>;
    case OpId::GRP1_Ev_Iz: case OpId::GRP1_Ev_Ib: return by_size<grp1_r<2>, grp1_r<4>, grp1_r<8>>(d.osize);
    case OpId::INC_Eb: return threaded<incdec_r<false, 1>>;
    case OpId::DEC_Eb: return threaded<incdec_r<true, 1>>;
    case OpId::INC_Ev: return by_size<incdec_r<false, 2>, incdec_r<false, 4>, incdec_r<false, 8>>(d.osize);
    case OpId::DEC_Ev: return by_size<incdec_r<true, 2>, incdec_r<true, 4>, incdec_r<true, 8>>(d.osize);
    case OpId::MOV_Ev_Gv: return by_size<mov_rr<2>, mov_rr<4>, mov_rr<8>>(d.osize);
    case OpId::MOV_Gv_Ev: return by_size<mov_rr_ge<2>, mov_rr_ge<4>, mov_rr_ge<8>>(d.osize);
    default: return nullptr;
  }
}
}  // namespace

Threaded specialize_alu(const DecodedInsn& d, CpuMode mode) {
  if (d.mod == 3) {
    if (Threaded t = specialize_reg(d)) return t;
  } else if (d.mod != 0xFF && mode == CpuMode::Long64) {
    if (Threaded t = specialize_mem64(d)) return t;
  }
  switch (d.op) {
#define RV_ALU_ROW(N, Op)                                                                                  \
    case OpId::N##_Ev_Gv: return by_size<exec_ALU_E_G<Op, 2>, exec_ALU_E_G<Op, 4>, exec_ALU_E_G<Op, 8>>(d.osize); \
    case OpId::N##_Gv_Ev: return by_size<exec_ALU_G_E<Op, 2>, exec_ALU_G_E<Op, 4>, exec_ALU_G_E<Op, 8>>(d.osize); \
    case OpId::N##_rAX_Iz: return by_size<exec_ALU_A_I<Op, 2>, exec_ALU_A_I<Op, 4>, exec_ALU_A_I<Op, 8>>(d.osize);
    RV_FOR_EACH_ALU_OP(RV_ALU_ROW)
#undef RV_ALU_ROW
    case OpId::GRP1_Ev_Iz: case OpId::GRP1_Ev_Ib: return by_size<grp1_s<2>, grp1_s<4>, grp1_s<8>>(d.osize);
    case OpId::INC_Ev: return by_size<incdec_s<false, false, 2>, incdec_s<false, false, 4>, incdec_s<false, false, 8>>(d.osize);
    case OpId::DEC_Ev: return by_size<incdec_s<true, false, 2>, incdec_s<true, false, 4>, incdec_s<true, false, 8>>(d.osize);
    case OpId::INC_Zv: return by_size<incdec_s<false, true, 2>, incdec_s<false, true, 4>, incdec_s<false, true, 8>>(d.osize);
    case OpId::DEC_Zv: return by_size<incdec_s<true, true, 2>, incdec_s<true, true, 4>, incdec_s<true, true, 8>>(d.osize);
    case OpId::MOV_Ev_Gv: return by_size<mov_ev_gv<2>, mov_ev_gv<4>, mov_ev_gv<8>>(d.osize);
    case OpId::MOV_Gv_Ev: return by_size<mov_gv_ev<2>, mov_gv_ev<4>, mov_gv_ev<8>>(d.osize);
    case OpId::MOVZX_Gv_Eb: return by_size<movzx_b_s<2>, movzx_b_s<4>, movzx_b_s<8>>(d.osize);
    case OpId::MOVZX_Gv_Ew: return by_size<movzx_w_s<2>, movzx_w_s<4>, movzx_w_s<8>>(d.osize);
    case OpId::MOV_Zv_Iv: return by_size<mov_r_imm_s<2>, mov_r_imm_s<4>, mov_r_imm_s<8>>(d.osize);
    default: return nullptr;
  }
}



// Internal linkage: every handler file has its own register_all (one shared name with
// external linkage would be an ODR violation, and a non-inlining build keeps one copy).
template <class Set>
static void register_all(Set set) {
#define RV_ALU_SET(N, Op)                                                  \
  RV_SET(N##_Eb_Gb, (exec_ALU_E_G<Op, 1>));                               \
  RV_SET(N##_Ev_Gv, (Sized<EG, Op>::run));                                \
  RV_SET(N##_Gb_Eb, (exec_ALU_G_E<Op, 1>));                               \
  RV_SET(N##_Gv_Ev, (Sized<GE, Op>::run));                                \
  RV_SET(N##_AL_Ib, (exec_ALU_A_I<Op, 1>));                               \
  RV_SET(N##_rAX_Iz, (Sized<AI, Op>::run));
  RV_FOR_EACH_ALU_OP(RV_ALU_SET)
#undef RV_ALU_SET
  RV_SET(GRP1_Eb_Ib, (exec_GRP1_Eb_Ib));
  RV_SET(GRP1_Eb_Ib82, (exec_GRP1_Eb_Ib));
  RV_SET(GRP1_Ev_Iz, (exec_GRP1_Ev_I));
  RV_SET(GRP1_Ev_Ib, (exec_GRP1_Ev_I));
  RV_SET(TEST_Eb_Gb, (exec_TEST_Eb_Gb));
  RV_SET(TEST_Ev_Gv, (exec_TEST_Ev_Gv));
  RV_SET(TEST_AL_Ib, (exec_TEST_AL_Ib));
  RV_SET(TEST_rAX_Iz, (exec_TEST_rAX_Iz));
  RV_SET(TEST_Eb_Ib, (exec_TEST_Eb_Ib));
  RV_SET(TEST_Eb_Ib_alias, (exec_TEST_Eb_Ib));
  RV_SET(TEST_Ev_Iz, (exec_TEST_Ev_Iz));
  RV_SET(TEST_Ev_Iz_alias, (exec_TEST_Ev_Iz));
  RV_SET(INC_Eb, (exec_INC_Eb));
  RV_SET(DEC_Eb, (exec_DEC_Eb));
  RV_SET(INC_Ev, (exec_INC_Ev));
  RV_SET(DEC_Ev, (exec_DEC_Ev));
  RV_SET(INC_Zv, (exec_INC_Zv));
  RV_SET(DEC_Zv, (exec_DEC_Zv));
  RV_SET(NOT_Eb, (exec_NOT_Eb));
  RV_SET(NOT_Ev, (exec_NOT_Ev));
  RV_SET(NEG_Eb, (exec_NEG_Eb));
  RV_SET(NEG_Ev, (exec_NEG_Ev));
  RV_SET(MOV_Eb_Gb, (exec_MOV_Eb_Gb));
  RV_SET(MOV_Ev_Gv, (exec_MOV_Ev_Gv));
  RV_SET(MOV_Gb_Eb, (exec_MOV_Gb_Eb));
  RV_SET(MOV_Gv_Ev, (exec_MOV_Gv_Ev));
  RV_SET(MOV_Eb_Ib, (exec_MOV_Eb_Ib));
  RV_SET(MOV_Ev_Iz, (exec_MOV_Ev_Iz));
  RV_SET(MOV_Zb_Ib, (exec_MOV_Zb_Ib));
  RV_SET(MOV_Zv_Iv, (exec_MOV_Zv_Iv));
  RV_SET(MOV_AL_Ob, (exec_MOV_AL_Ob));
  RV_SET(MOV_rAX_Ov, (exec_MOV_rAX_Ov));
  RV_SET(MOV_Ob_AL, (exec_MOV_Ob_AL));
  RV_SET(MOV_Ov_rAX, (exec_MOV_Ov_rAX));
  RV_SET(LEA_Gv_M, (exec_LEA_Gv_M));
  RV_SET(MOVZX_Gv_Eb, (exec_MOVZX_Gv_Eb));
  RV_SET(MOVZX_Gv_Ew, (exec_MOVZX_Gv_Ew));
  RV_SET(MOVSX_Gv_Eb, (exec_MOVSX_Gv_Eb));
  RV_SET(MOVSX_Gv_Ew, (exec_MOVSX_Gv_Ew));
  RV_SET(XCHG_Eb_Gb, (exec_XCHG_Eb_Gb));
  RV_SET(XCHG_Ev_Gv, (exec_XCHG_Ev_Gv));
  RV_SET(XCHG_Zv_rAX, (exec_XCHG_Zv_rAX));
  RV_SET(NOP, (exec_NOP));
  RV_SET(PAUSE, (exec_NOP));
  RV_SET(CBW, (exec_CBW));
  RV_SET(CWD, (exec_CWD));
  RV_SET(CMOVCC_Gv_Ev, (exec_CMOVCC_Gv_Ev));
  RV_SET(SETCC_Eb, (exec_SETCC_Eb));
  RV_SET(CLC, (exec_CLC));
  RV_SET(STC, (exec_STC));
  RV_SET(CMC, (exec_CMC));
  RV_SET(CLD, (exec_CLD));
  RV_SET(STD, (exec_STD));
  RV_SET(LAHF, (exec_LAHF));
  RV_SET(SAHF, (exec_SAHF));
}




void register_alu(Table& t) { register_all(PlainSet{t}); }
void register_alu_threaded(ThreadedTable& t) { register_all(ThreadedSet{t}); }

}  // namespace rv::interp
