// Lazy arithmetic flags (STYLE.md guideline 5): the ALU records {op, size, a, b, res} and the
// six arithmetic flags are computed only when read. Formulas: SDM Vol.1 Appendix A and the
// per-instruction "Flags Affected" sections.
#pragma once
#include "cpu/state.h"

namespace rv {

// Indexed by operand size in bytes (1, 2, 4, 8).
constexpr u64 kSizeMask[9] = {0, 0xFF, 0xFFFF, 0, 0xFFFFFFFFull, 0, 0, 0, ~0ull};
constexpr u64 kSizeSign[9] = {0, 0x80, 0x8000, 0, 0x80000000ull, 0, 0, 0, 1ull << 63};
inline u64 lazy_mask(u8 size) { return kSizeMask[size]; }
inline u64 lazy_sign(u8 size) { return kSizeSign[size]; }

// An if-chain, most frequent producer first: a switch compiles to an indirect jump that the
// host predicts poorly at this hot spot (INC/DEC read CF on every execution).
inline bool flag_cf(const CpuState& s) {
  const LazyFlags& l = s.lazy;
  const u64 m = kSizeMask[l.size];
  if (l.op == LazyOp::Sub) return l.cin ? (l.a & m) <= (l.b & m) : (l.a & m) < (l.b & m);
  if (l.op == LazyOp::Add) return l.cin ? (l.res & m) <= (l.a & m) : (l.res & m) < (l.a & m);
  if (l.op == LazyOp::Logic) return false;
  return s.rflags & kFlagCF;   // None, Result, Inc, Dec: CF lives in rflags
}
inline bool flag_zf(const CpuState& s) {
  if (s.lazy.op == LazyOp::None) return s.rflags & kFlagZF;
  return (s.lazy.res & lazy_mask(s.lazy.size)) == 0;
}
inline bool flag_sf(const CpuState& s) {
  if (s.lazy.op == LazyOp::None) return s.rflags & kFlagSF;
  return s.lazy.res & lazy_sign(s.lazy.size);
}
inline bool flag_pf(const CpuState& s) {
  if (s.lazy.op == LazyOp::None) return s.rflags & kFlagPF;
  return !__builtin_parity(static_cast<unsigned>(s.lazy.res & 0xFF));
}
inline bool flag_af(const CpuState& s) {
  const LazyFlags& l = s.lazy;
  switch (l.op) {
    case LazyOp::None: case LazyOp::Result: return s.rflags & kFlagAF;
    case LazyOp::Logic: return false;
    case LazyOp::Inc: case LazyOp::Dec: case LazyOp::Add: case LazyOp::Sub: return (l.a ^ l.b ^ l.res) & 0x10;
  }
  return false;
}
inline bool flag_of(const CpuState& s) {
  const LazyFlags& l = s.lazy;
  u64 sign = lazy_sign(l.size);
  switch (l.op) {
    case LazyOp::None: case LazyOp::Result: return s.rflags & kFlagOF;
    case LazyOp::Logic: return false;
    case LazyOp::Add: case LazyOp::Inc: return ((l.a ^ l.res) & (l.b ^ l.res)) & sign;
    case LazyOp::Sub: case LazyOp::Dec: return ((l.a ^ l.b) & (l.a ^ l.res)) & sign;
  }
  return false;
}

inline u64 materialize_flags(const CpuState& s) {
  if (s.lazy.op == LazyOp::None) return s.rflags;
  u64 f = s.rflags & ~kArithFlags;
  if (flag_cf(s)) f |= kFlagCF;
  if (flag_pf(s)) f |= kFlagPF;
  if (flag_af(s)) f |= kFlagAF;
  if (flag_zf(s)) f |= kFlagZF;
  if (flag_sf(s)) f |= kFlagSF;
  if (flag_of(s)) f |= kFlagOF;
  return f;
}

// Condition codes tttn (SDM Vol.2 Appendix B.1.4.7). The common producers (CMP/SUB and the
// logical ops) are answered straight from the recorded operands.
inline bool eval_cond_generic(const CpuState& s, u8 cc) {
  bool r;
  switch ((cc >> 1) & 7) {
    case 0: r = flag_of(s); break;
    case 1: r = flag_cf(s); break;
    case 2: r = flag_zf(s); break;
    case 3: r = flag_cf(s) || flag_zf(s); break;
    case 4: r = flag_sf(s); break;
    case 5: r = flag_pf(s); break;
    case 6: r = flag_sf(s) != flag_of(s); break;
    default: r = flag_zf(s) || (flag_sf(s) != flag_of(s)); break;
  }
  return (cc & 1) ? !r : r;
}

__attribute__((always_inline)) inline bool eval_cond(const CpuState& s, u8 cc) {
  const LazyFlags& l = s.lazy;
  bool r;
  if (RV_UNLIKELY(l.op == LazyOp::None)) return eval_cond_generic(s, cc);
  switch ((cc >> 1) & 7) {
    case 2: r = (l.res & lazy_mask(l.size)) == 0; break;   // E: every lazy op defines ZF from res
    case 4: r = l.res & lazy_sign(l.size); break;          // S
    case 1:                                                // B
      if (l.op == LazyOp::Sub && !l.cin) { r = (l.a & lazy_mask(l.size)) < (l.b & lazy_mask(l.size)); break; }
      return eval_cond_generic(s, cc);
    case 3:                                                // BE
      if (l.op == LazyOp::Sub && !l.cin) { r = (l.a & lazy_mask(l.size)) <= (l.b & lazy_mask(l.size)); break; }
      if (l.op == LazyOp::Logic) { r = (l.res & lazy_mask(l.size)) == 0; break; }
      return eval_cond_generic(s, cc);
    case 6: case 7: {                                      // L, LE
      const unsigned sh = 64 - 8 * l.size;
      if (l.op == LazyOp::Sub && !l.cin) {
        i64 a = static_cast<i64>(l.a << sh), b = static_cast<i64>(l.b << sh);
        r = (cc & 2) ? a <= b : a < b;
        break;
      }
      if (l.op == LazyOp::Logic) {
        bool sf = l.res & lazy_sign(l.size);
        r = (cc & 2) ? (sf || (l.res & lazy_mask(l.size)) == 0) : sf;
        break;
      }
      return eval_cond_generic(s, cc);
    }
    default: return eval_cond_generic(s, cc);
  }
  return (cc & 1) ? !r : r;
}

}  // namespace rv
