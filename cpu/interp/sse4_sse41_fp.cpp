// SSE4.1 floating-point instructions (SDM Vol.2, per instruction): ROUNDPS/PD/SS/SD and
// DPPS/DPPD. Computed by the host's own instructions with the guest's MXCSR installed (the
// imm8 must be a compile-time constant, hence one instantiation per imm8 value), then the
// SIMD exception rules of sse4_core.h decide whether the result is written.
#include "cpu/interp/sse4_core.h"

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

}  // namespace

void register_sse41_fp(Table& t) {
  auto put = [&t](OpId op, Handler h) { t[static_cast<unsigned>(op)] = h; };
  put(OpId::ROUNDPS_Vps_Wps_Ib, exec_fp_imm<kRoundPs, 15, 16, false>);
  put(OpId::ROUNDPD_Vpd_Wpd_Ib, exec_fp_imm<kRoundPd, 15, 16, true>);
  put(OpId::ROUNDSS_Vss_Wss_Ib, exec_fp_imm<kRoundSs, 15, 4, false>);
  put(OpId::ROUNDSD_Vsd_Wsd_Ib, exec_fp_imm<kRoundSd, 15, 8, true>);
  put(OpId::DPPS_Vps_Wps_Ib, exec_fp_imm<kDpps, 255, 16, false>);
  put(OpId::DPPD_Vpd_Wpd_Ib, exec_fp_imm<kDppd, 255, 16, true>);
}

}  // namespace rv::interp::s4
