// SSE/SSE2/SSE3 floating-point arithmetic, logic, compares and shuffles: ADD/SUB/MUL/DIV/MIN/MAX/
// SQRT in PS/SS/PD/SD, RCP/RSQRT PS/SS, AND/ANDN/OR/XOR PS/PD, CMPccPS/SS/PD/SD, (U)COMISS/SD,
// SHUFPS/PD, UNPCKL/HPS/PD, ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD. Every floating-point result comes
// from the host's SSE unit under the guest MXCSR (sse_core.h host_fp), so rounding, DAZ/FTZ, NaN
// propagation and the exception flags are the hardware's; fp_commit applies SDM Vol.1 §11.5.
#include "cpu/interp/sse_core.h"

namespace rv::interp {
namespace {

// Operations as (destination, source) -> result over the whole register.
#define RV_OP(name, expr) \
  RV_INLINE V name(V a, V b) { return expr; }
// The arithmetic runs as the exact guest instruction (inline asm): with two NaN operands the
// result is the first operand's NaN (SDM Vol.1 Table 4-7), and the compiler would otherwise be
// free to swap the operands of a commutative ADD/MUL.
#define RV_ASM_OP(name, insn)                              \
  RV_INLINE V name(V a, V b) {                             \
    asm(insn " %1, %0" : "+x"(a) : "x"(b));                \
    return a;                                              \
  }
RV_ASM_OP(op_addps, "addps")
RV_ASM_OP(op_addss, "addss")
RV_ASM_OP(op_addpd, "addpd")
RV_ASM_OP(op_addsd, "addsd")
RV_ASM_OP(op_subps, "subps")
RV_ASM_OP(op_subss, "subss")
RV_ASM_OP(op_subpd, "subpd")
RV_ASM_OP(op_subsd, "subsd")
RV_ASM_OP(op_mulps, "mulps")
RV_ASM_OP(op_mulss, "mulss")
RV_ASM_OP(op_mulpd, "mulpd")
RV_ASM_OP(op_mulsd, "mulsd")
RV_ASM_OP(op_divps, "divps")
RV_ASM_OP(op_divss, "divss")
RV_ASM_OP(op_divpd, "divpd")
RV_ASM_OP(op_divsd, "divsd")
RV_ASM_OP(op_minps, "minps")
RV_ASM_OP(op_minss, "minss")
RV_ASM_OP(op_minpd, "minpd")
RV_ASM_OP(op_minsd, "minsd")
RV_ASM_OP(op_maxps, "maxps")
RV_ASM_OP(op_maxss, "maxss")
RV_ASM_OP(op_maxpd, "maxpd")
RV_ASM_OP(op_maxsd, "maxsd")
RV_ASM_OP(op_sqrtss, "sqrtss")
RV_ASM_OP(op_sqrtsd, "sqrtsd")
RV_ASM_OP(op_rsqrtss, "rsqrtss")
RV_ASM_OP(op_rcpss, "rcpss")
RV_ASM_OP(op_addsubps, "addsubps")
RV_ASM_OP(op_addsubpd, "addsubpd")
RV_ASM_OP(op_haddps, "haddps")
RV_ASM_OP(op_haddpd, "haddpd")
RV_ASM_OP(op_hsubps, "hsubps")
RV_ASM_OP(op_hsubpd, "hsubpd")
RV_OP(op_sqrtps, vi(_mm_sqrt_ps(ps(b))))
RV_OP(op_sqrtpd, vi(_mm_sqrt_pd(pd(b))))
RV_OP(op_rsqrtps, vi(_mm_rsqrt_ps(ps(b))))
RV_OP(op_rcpps, vi(_mm_rcp_ps(ps(b))))
// Bitwise: no floating-point exceptions.
RV_OP(op_and, _mm_and_si128(a, b))
RV_OP(op_andn, _mm_andnot_si128(a, b))
RV_OP(op_or, _mm_or_si128(a, b))
RV_OP(op_xor, _mm_xor_si128(a, b))
RV_OP(op_unpcklps, vi(_mm_unpacklo_ps(ps(a), ps(b))))
RV_OP(op_unpckhps, vi(_mm_unpackhi_ps(ps(a), ps(b))))
RV_OP(op_unpcklpd, _mm_unpacklo_epi64(a, b))
RV_OP(op_unpckhpd, _mm_unpackhi_epi64(a, b))
#undef RV_OP
#undef RV_ASM_OP

// A bitwise or shuffling operation with an aligned m128 source.
template <V (*Op)(V, V)>
void exec_bits(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = read_Wx(c, d);
  xmm_set(c, d.reg, Op(xmm_get(c, d.reg), b));
}

// CMPPS/CMPSS/CMPPD/CMPSD with predicates 0-7 of imm8 (legacy encoding: imm8[7:3] ignored).
// Kind: 0 PS, 1 SS, 2 PD, 3 SD.
template <int Kind>
RV_INLINE V cmp_op(V a, V b, unsigned pred) {
#define RV_CMP(sfx)                                                 \
  switch (pred) {                                                   \
    case 0: return vi(_mm_cmpeq_##sfx(A, B));                       \
    case 1: return vi(_mm_cmplt_##sfx(A, B));                       \
    case 2: return vi(_mm_cmple_##sfx(A, B));                       \
    case 3: return vi(_mm_cmpunord_##sfx(A, B));                    \
    case 4: return vi(_mm_cmpneq_##sfx(A, B));                      \
    case 5: return vi(_mm_cmpnlt_##sfx(A, B));                      \
    case 6: return vi(_mm_cmpnle_##sfx(A, B));                      \
    default: return vi(_mm_cmpord_##sfx(A, B));                     \
  }
  if constexpr (Kind == 0) {
    __m128 A = ps(a), B = ps(b);
    RV_CMP(ps)
  } else if constexpr (Kind == 1) {
    __m128 A = ps(a), B = ps(b);
    RV_CMP(ss)
  } else if constexpr (Kind == 2) {
    __m128d A = pd(a), B = pd(b);
    RV_CMP(pd)
  } else {
    __m128d A = pd(a), B = pd(b);
    RV_CMP(sd)
  }
#undef RV_CMP
}
template <int Kind>
void exec_cmp(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = Kind == 1 ? read_Wd(c, d) : Kind == 3 ? read_Wq(c, d) : read_Wx(c, d);
  V a = xmm_get(c, d.reg);
  const unsigned pred = d.imm & 7;
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(a);
    opaque(b);
    return cmp_op<Kind>(a, b, pred);
  });
  fp_commit(c, mx, flags);
  xmm_set(c, d.reg, r);
}

// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the comparison (all three set when
// unordered); OF, SF, AF cleared. COMIS* signal invalid on QNaN too, UCOMIS* only on SNaN.
template <bool Signal, bool Double>
void exec_comi(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = Double ? read_Wq(c, d) : read_Wd(c, d);
  V a = xmm_get(c, d.reg);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  u32 bits = host_fp(mx, flags, [&] {
    opaque(a);
    opaque(b);
    u8 z, p, cy;
    if constexpr (Signal && Double)
      asm volatile("comisd %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=q"(z), "=q"(p), "=q"(cy) : "x"(b), "x"(a) : "cc");
    else if constexpr (Signal)
      asm volatile("comiss %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=q"(z), "=q"(p), "=q"(cy) : "x"(b), "x"(a) : "cc");
    else if constexpr (Double)
      asm volatile("ucomisd %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=q"(z), "=q"(p), "=q"(cy) : "x"(b), "x"(a) : "cc");
    else
      asm volatile("ucomiss %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=q"(z), "=q"(p), "=q"(cy) : "x"(b), "x"(a) : "cc");
    u32 out = (z ? u32{kFlagZF} : 0u) | (p ? u32{kFlagPF} : 0u) | (cy ? u32{kFlagCF} : 0u);
    return out;
  });
  fp_commit(c, mx, flags);
  c.set_arith_flags(bits, kFlagZF | kFlagPF | kFlagCF | kFlagOF | kFlagSF | kFlagAF);
}

// HADDPS/HSUBPS/HADDPD/HSUBPD: the result comes from the guest instruction (Op); with an
// unmasked overflow or underflow the precision flag is recomputed by refine_precision on the
// equivalent vertical operation (Pair) of the even and odd elements, lane for lane the same
// additions (SDM Vol.2 HADDPS: dest[0] = a0 + a1, ... src[0] + src[1] ...).
template <V (*Op)(V, V), V (*Pair)(V, V), bool Double>
void exec_hfp(Cpu& c, const DecodedInsn& d) {
  constexpr Tiny K = Double ? Tiny::PD : Tiny::PS;
  sse_check(c);
  V b = read_Wx(c, d);
  V a = xmm_get(c, d.reg);
  const u32 mx = fx::mxcsr(c);
  u32 flags;
  V r = host_fp(mx, flags, [&] {
    opaque(a);
    opaque(b);
    return Op(a, b);
  });
  exact_underflow<K>(mx, flags, r);
  const u32 unmasked = flags & ~(mx >> 7);
  if (RV_UNLIKELY((unmasked & (kMxOe | kMxUe)) && !(unmasked & (kMxIe | kMxDe | kMxZe)) && (flags & kMxPe))) {
    V even, odd;
    if constexpr (Double) {
      even = vi(_mm_unpacklo_pd(pd(a), pd(b)));
      odd = vi(_mm_unpackhi_pd(pd(a), pd(b)));
    } else {
      even = vi(_mm_shuffle_ps(ps(a), ps(b), _MM_SHUFFLE(2, 0, 2, 0)));
      odd = vi(_mm_shuffle_ps(ps(a), ps(b), _MM_SHUFFLE(3, 1, 3, 1)));
    }
    flags = refine_precision<Pair, K, Refine::Add>(mx, flags, even, odd);
  }
  fp_commit(c, mx, flags);
  xmm_set(c, d.reg, r);
}

void exec_SHUFPS_Vps_Wps_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V vb = read_Wx(c, d);
  u32 a[4], b[4], r[4];
  std::memcpy(a, fx::xmm(c, d.reg), 16);
  std::memcpy(b, &vb, 16);
  const unsigned imm = d.imm & 0xFF;
  r[0] = a[imm & 3];
  r[1] = a[(imm >> 2) & 3];
  r[2] = b[(imm >> 4) & 3];
  r[3] = b[(imm >> 6) & 3];
  std::memcpy(fx::xmm(c, d.reg), r, 16);
}
void exec_SHUFPD_Vpd_Wpd_Ib(Cpu& c, const DecodedInsn& d) {
  sse_check(c);
  V b = read_Wx(c, d);
  V a = xmm_get(c, d.reg);
  u64 lo = (d.imm & 1) ? hi64(a) : lo64(a);
  u64 hi = (d.imm & 2) ? hi64(b) : lo64(b);
  xmm_set(c, d.reg, make_v(lo, hi));
}

}  // namespace

#define RV_REG(op, ...) t[static_cast<unsigned>(OpId::op)] = __VA_ARGS__
#define RV_FP4(N, n, R)                                                   \
  RV_REG(N##PS_Vps_Wps, exec_fp<op_##n##ps, 16, Tiny::PS, Refine::R>);    \
  RV_REG(N##SS_Vss_Wss, exec_fp<op_##n##ss, 4, Tiny::SS, Refine::R>);     \
  RV_REG(N##PD_Vpd_Wpd, exec_fp<op_##n##pd, 16, Tiny::PD, Refine::R>);    \
  RV_REG(N##SD_Vsd_Wsd, exec_fp<op_##n##sd, 8, Tiny::SD, Refine::R>)
// MIN/MAX and SQRT never underflow (they return an operand or a larger value).
#define RV_FP4_NO_UE(N, n)                             \
  RV_REG(N##PS_Vps_Wps, exec_fp<op_##n##ps, 16>);      \
  RV_REG(N##SS_Vss_Wss, exec_fp<op_##n##ss, 4>);       \
  RV_REG(N##PD_Vpd_Wpd, exec_fp<op_##n##pd, 16>);      \
  RV_REG(N##SD_Vsd_Wsd, exec_fp<op_##n##sd, 8>)
void register_sse_arith(Table& t) {
  RV_FP4(ADD, add, Add);
  RV_FP4(SUB, sub, Add);
  RV_FP4(MUL, mul, Mul);
  RV_FP4(DIV, div, Div);
  RV_FP4_NO_UE(MIN, min);
  RV_FP4_NO_UE(MAX, max);
  RV_FP4_NO_UE(SQRT, sqrt);
  RV_REG(RSQRTPS_Vps_Wps, exec_fp<op_rsqrtps, 16>);
  RV_REG(RSQRTSS_Vss_Wss, exec_fp<op_rsqrtss, 4>);
  RV_REG(RCPPS_Vps_Wps, exec_fp<op_rcpps, 16>);
  RV_REG(RCPSS_Vss_Wss, exec_fp<op_rcpss, 4>);
  RV_REG(ADDSUBPS_Vps_Wps, exec_fp<op_addsubps, 16, Tiny::PS, Refine::Add>);
  RV_REG(ADDSUBPD_Vpd_Wpd, exec_fp<op_addsubpd, 16, Tiny::PD, Refine::Add>);
  RV_REG(HADDPS_Vps_Wps, exec_hfp<op_haddps, op_addps, false>);
  RV_REG(HADDPD_Vpd_Wpd, exec_hfp<op_haddpd, op_addpd, true>);
  RV_REG(HSUBPS_Vps_Wps, exec_hfp<op_hsubps, op_subps, false>);
  RV_REG(HSUBPD_Vpd_Wpd, exec_hfp<op_hsubpd, op_subpd, true>);
  RV_REG(ANDPS_Vps_Wps, exec_bits<op_and>);
  RV_REG(ANDPD_Vpd_Wpd, exec_bits<op_and>);
  RV_REG(ANDNPS_Vps_Wps, exec_bits<op_andn>);
  RV_REG(ANDNPD_Vpd_Wpd, exec_bits<op_andn>);
  RV_REG(ORPS_Vps_Wps, exec_bits<op_or>);
  RV_REG(ORPD_Vpd_Wpd, exec_bits<op_or>);
  RV_REG(XORPS_Vps_Wps, exec_bits<op_xor>);
  RV_REG(XORPD_Vpd_Wpd, exec_bits<op_xor>);
  RV_REG(UNPCKLPS_Vps_Wps, exec_bits<op_unpcklps>);
  RV_REG(UNPCKHPS_Vps_Wps, exec_bits<op_unpckhps>);
  RV_REG(UNPCKLPD_Vpd_Wpd, exec_bits<op_unpcklpd>);
  RV_REG(UNPCKHPD_Vpd_Wpd, exec_bits<op_unpckhpd>);
  RV_REG(CMPPS_Vps_Wps_Ib, exec_cmp<0>);
  RV_REG(CMPSS_Vss_Wss_Ib, exec_cmp<1>);
  RV_REG(CMPPD_Vpd_Wpd_Ib, exec_cmp<2>);
  RV_REG(CMPSD_Vsd_Wsd_Ib, exec_cmp<3>);
  RV_REG(COMISS_Vss_Wss, exec_comi<true, false>);
  RV_REG(UCOMISS_Vss_Wss, exec_comi<false, false>);
  RV_REG(COMISD_Vsd_Wsd, exec_comi<true, true>);
  RV_REG(UCOMISD_Vsd_Wsd, exec_comi<false, true>);
  RV_REG(SHUFPS_Vps_Wps_Ib, exec_SHUFPS_Vps_Wps_Ib);
  RV_REG(SHUFPD_Vpd_Wpd_Ib, exec_SHUFPD_Vpd_Wpd_Ib);
}
#undef RV_FP4
#undef RV_FP4_NO_UE
#undef RV_REG

}  // namespace rv::interp
