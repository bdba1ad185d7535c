// SSE4.1 floating-point instructions (SDM Vol.2, per instruction): ROUNDPS/PD/SS/SD and
// DPPS/DPPD. Computed by the host's own instructions with the guest's MXCSR installed (the
// imm8 must be a compile-time constant, hence one instantiation per imm8 value), then the
// SIMD exception rules of sse4_core.h decide whether the result is written.
#include "cpu/interp/sse4_core.h"
#include "cpu/interp/sse_core.h"   // host_fp, refine_precision (DPPS/DPPD precision)

namespace rv::interp::s4 {
namespace {

// ROUNDxx imm8: [1:0] rounding mode, [2] use MXCSR.RC instead, [3] suppress precision
// exception; the upper bits are ignored (only 16 distinct behaviours).
struct RoundPs {
  template <int I> [[gnu::noinline]] static __m128 run(__m128 a, __m128 b) { (void)a; return _mm_round_ps(b, I); }
};
struct RoundPd {
  template <int I> [[gnu::noinline]] static __m128d run(__m128d a, __m128d b) { (void)a; return _mm_round_pd(b, I); }
};
struct RoundSs {
  template <int I> [[gnu::noinline]] static __m128 run(__m128 a, __m128 b) { return _mm_round_ss(a, b, I); }
};
struct RoundSd {
  template <int I> [[gnu::noinline]] static __m128d run(__m128d a, __m128d b) { return _mm_round_sd(a, b, I); }
};
struct Dpps {
  template <int I> [[gnu::noinline]] static __m128 run(__m128 a, __m128 b) { return _mm_dp_ps(a, b, I); }
};
struct Dppd {
  template <int I> [[gnu::noinline]] static __m128d run(__m128d a, __m128d b) { return _mm_dp_pd(a, b, I); }
};
constexpr auto kRoundPs = imm_table<RoundPs, 16>();
constexpr auto kRoundPd = imm_table<RoundPd, 16>();
constexpr auto kRoundSs = imm_table<RoundSs, 16>();
constexpr auto kRoundSd = imm_table<RoundSd, 16>();
constexpr auto kDpps = imm_table<Dpps, 256>();
constexpr auto kDppd = imm_table<Dppd, 256>();

inline __m128 ps(V v) { return _mm_castsi128_ps(v); }
inline __m128d pd(V v) { return _mm_castsi128_pd(v); }
inline V iv(__m128 v) { return _mm_castps_si128(v); }
inline V iv(__m128d v) { return _mm_castpd_si128(v); }

// Source operand: kMemBytes == 16 is an aligned m128, otherwise an unaligned scalar mN.
template <unsigned kMemBytes>
V fp_src(Cpu& c, const DecodedInsn& d) {
  if constexpr (kMemBytes == 16) return src_xmm(c, d);
  else return src_xmm_narrow(c, d, kMemBytes);
}

template <const auto& kTable, unsigned kMask, unsigned kMemBytes, bool kDouble>
void exec_fp_imm(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V s = fp_src<kMemBytes>(c, d);
  V a = xmm_get(c, d.reg);
  const unsigned imm = static_cast<unsigned>(d.imm) & kMask;
  auto op = [&](V& out) {
    if constexpr (kDouble) out = iv(kTable[imm](pd(a), pd(s)));
    else out = iv(kTable[imm](ps(a), ps(s)));
  };
  V r, scratch;
  const u32 flags = guest_fp_flags(c, [&] { op(r); }, [&] { op(scratch); });
  simd_fp_commit(c, flags);
  xmm_set(c, d.reg, r);
}

// ---- DPPS / DPPD ----
// imm8[7:4] (DPPD: [5:4]) selects the products; an unselected product is +0.0 and computes
// nothing, so it raises no flag (SDM Vol.2 DPPS "DP_primitive"). Zeroing the unselected
// elements of both operands gives exactly that +0.0 product.
inline V dp_select(V v, unsigned imm, bool dbl) {
  const unsigned n = dbl ? 2 : 4, w = dbl ? 8 : 4;
  alignas(16) u8 m[16] = {};
  for (unsigned i = 0; i < n; i++)
    if (imm & (0x10u << i)) std::memset(m + i * w, 0xFF, w);
  V mask;
  std::memcpy(&mask, m, 16);
  return _mm_and_si128(v, mask);
}
// The guest instruction's own operations, operand order as in the SDM (first operand's NaN).
inline V dp_mulps(V a, V b) { asm("mulps %1, %0" : "+x"(a) : "x"(b)); return a; }
inline V dp_addps(V a, V b) { asm("addps %1, %0" : "+x"(a) : "x"(b)); return a; }
inline V dp_mulpd(V a, V b) { asm("mulpd %1, %0" : "+x"(a) : "x"(b)); return a; }
inline V dp_addpd(V a, V b) { asm("addpd %1, %0" : "+x"(a) : "x"(b)); return a; }

// One step of the dot product on the host: ORs its flags (PE with unbounded exponent, as in
// sse_core.h refine_precision) into `acc` and tells whether it raised an unmasked exception,
// which ends the instruction. Hardware works step by step: the flags of the earlier steps
// stay (a denormal product with UE masked flags UE/PE, then DE in the sum that traps), the
// later steps raise nothing (observed natively with the oracle harness).
template <V (*Op)(V, V), interp::Tiny K, interp::Refine R>
bool dp_step(u32 mx, V x, V y, V& r, u32& acc) {
  u32 f;
  r = interp::host_fp(mx, f, [&] {
    interp::opaque(x);
    interp::opaque(y);
    return Op(x, y);
  });
  interp::exact_underflow<K>(mx, f, r);
  const u32 unmasked = f & ~(mx >> 7) & kMxFlags;
  if (unmasked & (kMxIE | kMxDE | kMxZE)) {
    f &= kMxIE | kMxDE | kMxZE;   // an unmasked pre-computation exception stops this step
  } else if ((unmasked & (interp::kMxOe | interp::kMxUe)) && (f & interp::kMxPe)) {
    f = interp::refine_precision<Op, K, R>(mx, f, x, y);
  }
  acc |= f;
  return unmasked != 0;
}
// The flags with an unmasked exception, recomputed step by step as the SDM defines the
// operation: products, the pair sums (p1+p0, p3+p2), the final sum, stopping at the step that
// traps. a and s have the unselected elements zeroed. Returns 0 if no step traps.
template <bool kDouble>
[[gnu::noinline, gnu::cold]] u32 dp_trap_flags(u32 mx, V a, V s) {
  using interp::Refine;
  using interp::Tiny;
  u32 acc = 0;
  bool trapped;
  const __m128 z = _mm_setzero_ps();
  V p, t, r;
  if constexpr (kDouble) {
    trapped = dp_step<dp_mulpd, Tiny::PD, Refine::Mul>(mx, a, s, p, acc);
    if (!trapped) {
      const V hi = _mm_srli_si128(p, 8), lo = _mm_move_epi64(p);
      trapped = dp_step<dp_addpd, Tiny::SD, Refine::Add>(mx, hi, lo, r, acc);
    }
  } else {
    trapped = dp_step<dp_mulps, Tiny::PS, Refine::Mul>(mx, a, s, p, acc);
    if (!trapped) {
      const V odd = iv(_mm_shuffle_ps(ps(p), z, _MM_SHUFFLE(0, 0, 3, 1)));
      const V even = iv(_mm_shuffle_ps(ps(p), z, _MM_SHUFFLE(0, 0, 2, 0)));
      trapped = dp_step<dp_addps, Tiny::PS, Refine::Add>(mx, odd, even, t, acc);
    }
    if (!trapped) {
      const V x = iv(_mm_move_ss(z, ps(t)));
      const V y = iv(_mm_move_ss(z, _mm_shuffle_ps(ps(t), ps(t), 1)));
      trapped = dp_step<dp_addps, Tiny::SS, Refine::Add>(mx, x, y, r, acc);
    }
  }
  return trapped ? acc : 0;
}

template <const auto& kTable, bool kDouble>
void exec_dp(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  const unsigned imm = static_cast<unsigned>(d.imm) & 0xFF;
  const V s = dp_select(src_xmm(c, d), imm, kDouble);
  const V a = dp_select(xmm_get(c, d.reg), imm, kDouble);
  auto op = [&](V& out) {
    if constexpr (kDouble) out = iv(kTable[imm](pd(a), pd(s)));
    else out = iv(kTable[imm](ps(a), ps(s)));
  };
  V r, scratch;
  u32 flags = guest_fp_flags(c, [&] { op(r); }, [&] { op(scratch); });
  const u32 mx = fx::mxcsr(c);
  if (RV_UNLIKELY(flags & ~(mx >> 7) & kMxFlags)) {
    if (const u32 trap = dp_trap_flags<kDouble>(mx, a, s)) {
      fx::set_mxcsr(c, mx | trap);
      c.fault_no_error((c.state().cr4 & kCr4Osxmmexcpt) ? kXM : kUD);
    }
  }
  simd_fp_commit(c, flags);
  xmm_set(c, d.reg, r);
}

}  // namespace

void register_sse41_fp(Table& t) {
  auto put = [&t](OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; };
  put(OpId::ROUNDPS_Vps_Wps_Ib, exec_fp_imm<kRoundPs, 15, 16, false>);
  put(OpId::ROUNDPD_Vpd_Wpd_Ib, exec_fp_imm<kRoundPd, 15, 16, true>);
  put(OpId::ROUNDSS_Vss_Wss_Ib, exec_fp_imm<kRoundSs, 15, 4, false>);
  put(OpId::ROUNDSD_Vsd_Wsd_Ib, exec_fp_imm<kRoundSd, 15, 8, true>);
  put(OpId::DPPS_Vps_Wps_Ib, exec_dp<kDpps, false>);
  put(OpId::DPPD_Vpd_Wpd_Ib, exec_dp<kDppd, true>);
}

}  // namespace rv::interp::s4
