// SSE/SSE2 conversions (SDM Vol.2 CVT*): between packed/scalar single and double, signed
// doubleword/quadword integers in XMM, MMX and general registers, with the truncating forms.
// The host's CVT instructions give the rounding, the integer indefinite value (80000000H /
// 8000000000000000H) on invalid or out-of-range input, and the exception flags.
// The forms with an MMX operand are also MMX instructions: they check for a pending x87
// exception and move the x87 unit to MMX state (TOP = 0, all tags valid); CVTPI2PS/PD do
// that only for a register source, as hardware does. The transition happens after the memory
// operand is read but before a SIMD floating-point exception is raised.
#include "cpu/interp/sse_core.h"

namespace rv::interp {
namespace {

#define RV_OP(name, expr) \
  RV_INLINE V name(V a, V b) { return expr; }
RV_OP(op_cvtps2pd, vi(_mm_cvtps_pd(ps(b))))
RV_OP(op_cvtss2sd, vi(_mm_cvtss_sd(pd(a), ps(b))))
RV_OP(op_cvtpd2ps, vi(_mm_cvtpd_ps(pd(b))))
RV_OP(op_cvtsd2ss, vi(_mm_cvtsd_ss(ps(a), pd(b))))
RV_OP(op_cvtdq2ps, vi(_mm_cvtepi32_ps(b)))
RV_OP(op_cvtps2dq, _mm_cvtps_epi32(ps(b)))
RV_OP(op_cvttps2dq, _mm_cvttps_epi32(ps(b)))
RV_OP(op_cvttpd2dq, _mm_cvttpd_epi32(pd(b)))
RV_OP(op_cvtdq2pd, vi(_mm_cvtepi32_pd(b)))
RV_OP(op_cvtpd2dq, _mm_cvtpd_epi32(pd(b)))
#undef RV_OP

// Only the register form is an MMX access: a pending x87 exception raises #MF for
// CVTPI2PS/CVTPI2PD xmm, mm alone (SDM Vol.3B Table 22-6 note 1), the m64 form needs just the
// SSE checks and leaves the x87 state alone.
RV_INLINE void cvtpi2p_check(Cpu& c, const DecodedInsn& d) {
  if (d.mod == 3) sse_mmx_check(c);
  else sse_check(c);
}

// CVTPI2PS xmm, mm/m64: low two singles replaced, high quadword kept.
void exec_CVTPI2PS_Vps_Qpi(Cpu& c, const DecodedInsn& d) {
  cvtpi2p_check(c, d);
  V b = v64(read_Qq(c, d));
  V a = xmm_get(c, d.reg);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(b);
    return vi(_mm_cvtepi32_ps(b));
  });
  if (d.mod == 3) to_mmx_state(c);   // before a #XM, as CVT*2PI do
  fp_commit(c, mx, flags);
  xmm_set(c, d.reg, make_v(lo64(r), hi64(a)));
}
// CVTPI2PD xmm, mm/m64: exact, no floating-point exception possible.
void exec_CVTPI2PD_Vpd_Qpi(Cpu& c, const DecodedInsn& d) {
  cvtpi2p_check(c, d);
  V b = v64(read_Qq(c, d));
  if (d.mod == 3) to_mmx_state(c);
  xmm_set(c, d.reg, vi(_mm_cvtepi32_pd(b)));
}

// CVT(T)PS2PI / CVT(T)PD2PI mm, xmm/m: two doublewords into an MMX register.
template <bool Double, bool Truncate>
void exec_cvt_to_pi(Cpu& c, const DecodedInsn& d) {
  sse_mmx_check(c);
  // The single-precision forms convert the low two elements only: the upper ones are cleared
  // so they raise no exception.
  V b = Double ? read_Wx(c, d) : _mm_move_epi64(read_Wq(c, d));
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(b);
    if constexpr (Double) return Truncate ? _mm_cvttpd_epi32(pd(b)) : _mm_cvtpd_epi32(pd(b));
    else return Truncate ? _mm_cvttps_epi32(ps(b)) : _mm_cvtps_epi32(ps(b));
  });
  to_mmx_state(c);   // before a #XM: observed on hardware (oracle harness)
  fp_commit(c, mx, flags);
  mm_set(c, d.reg, lo64(r));
}

// CVTSI2SS/CVTSI2SD xmm, r/m32 (r/m64 with REX.W).
template <bool Double>
void exec_cvtsi2s(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  const bool w = d.rex & 8;
  i64 v = static_cast<i64>(c.read_E(d, w ? 8 : 4));
  V a = xmm_get(c, d.reg);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(a);
    opaque(v);
    if constexpr (Double)
      return w ? vi(_mm_cvtsi64_sd(pd(a), v)) : vi(_mm_cvtsi32_sd(pd(a), static_cast<i32>(v)));
    else
      return w ? vi(_mm_cvtsi64_ss(ps(a), v)) : vi(_mm_cvtsi32_ss(ps(a), static_cast<i32>(v)));
  });
  fp_commit(c, mx, flags);
  xmm_set(c, d.reg, r);
}

// CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m.
template <bool Double, bool Truncate>
void exec_cvts2si(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  const bool w = d.rex & 8;
  V b = Double ? read_Wq(c, d) : read_Wd(c, d);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  i64 r = host_fp(mx, flags, [&] {
    opaque(b);
    i64 out;
    if constexpr (Double) {
      if (w) out = Truncate ? _mm_cvttsd_si64(pd(b)) : _mm_cvtsd_si64(pd(b));
      else out = static_cast<u32>(Truncate ? _mm_cvttsd_si32(pd(b)) : _mm_cvtsd_si32(pd(b)));
    } else {
      if (w) out = Truncate ? _mm_cvttss_si64(ps(b)) : _mm_cvtss_si64(ps(b));
      else out = static_cast<u32>(Truncate ? _mm_cvttss_si32(ps(b)) : _mm_cvtss_si32(ps(b)));
    }
    return out;
  });
  fp_commit(c, mx, flags);
  c.write_reg(d.reg, w ? 8 : 4, d.rex, static_cast<u64>(r));
}

}  // namespace

#define RV_REG(op, ...) t[static_cast<unsigned>(OpId::op)] = __VA_ARGS__
void register_sse_convert(Table& t) {
  RV_REG(CVTPI2PS_Vps_Qpi, exec_CVTPI2PS_Vps_Qpi);
  RV_REG(CVTPI2PD_Vpd_Qpi, exec_CVTPI2PD_Vpd_Qpi);
  RV_REG(CVTSI2SS_Vss_Ey, exec_cvtsi2s<false>);
  RV_REG(CVTSI2SD_Vsd_Ey, exec_cvtsi2s<true>);
  RV_REG(CVTTPS2PI_Ppi_Wps, exec_cvt_to_pi<false, true>);
  RV_REG(CVTPS2PI_Ppi_Wps, exec_cvt_to_pi<false, false>);
  RV_REG(CVTTPD2PI_Ppi_Wpd, exec_cvt_to_pi<true, true>);
  RV_REG(CVTPD2PI_Ppi_Wpd, exec_cvt_to_pi<true, false>);
  RV_REG(CVTTSS2SI_Gy_Wss, exec_cvts2si<false, true>);
  RV_REG(CVTSS2SI_Gy_Wss, exec_cvts2si<false, false>);
  RV_REG(CVTTSD2SI_Gy_Wsd, exec_cvts2si<true, true>);
  RV_REG(CVTSD2SI_Gy_Wsd, exec_cvts2si<true, false>);
  RV_REG(CVTPS2PD_Vpd_Wps, exec_fp<op_cvtps2pd, 8>);
  RV_REG(CVTSS2SD_Vsd_Wss, exec_fp<op_cvtss2sd, 4>);
  RV_REG(CVTPD2PS_Vps_Wpd, exec_fp<op_cvtpd2ps, 16, Tiny::PS, Refine::CvtD2S>);
  RV_REG(CVTSD2SS_Vss_Wsd, exec_fp<op_cvtsd2ss, 8, Tiny::SS, Refine::CvtD2S>);
  RV_REG(CVTDQ2PS_Vps_Wdq, exec_fp<op_cvtdq2ps, 16>);
  RV_REG(CVTPS2DQ_Vdq_Wps, exec_fp<op_cvtps2dq, 16>);
  RV_REG(CVTTPS2DQ_Vdq_Wps, exec_fp<op_cvttps2dq, 16>);
  RV_REG(CVTTPD2DQ_Vx_Wpd, exec_fp<op_cvttpd2dq, 16>);
  RV_REG(CVTDQ2PD_Vx_Wpd, exec_fp<op_cvtdq2pd, 8>);
  RV_REG(CVTPD2DQ_Vx_Wpd, exec_fp<op_cvtpd2dq, 16>);
}
#undef RV_REG

}  // namespace rv::interp
