// SSE/SSE2/SSE3 floating point and conversions (cpu/interp/sse_arith.cpp, sse_convert.cpp):
// results and MXCSR flags compared with the host's own instructions run under the same MXCSR,
// DAZ/FTZ, and the SIMD exception rules (masked; unmasked -> #XM or #UD with the destination
// unchanged; pre- versus post-computation exceptions; precision under unmasked overflow and
// underflow).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tests/unit/sse_env.h"

// SSE3 intrinsics for the host-side expectations (the host is x86-64-v2; see cpu/CMakeLists.txt).
#pragma GCC target("sse4.2")

namespace rv::test {
namespace {

__m128 ps4(float a, float b, float c, float d) { return _mm_setr_ps(a, b, c, d); }

// ---- floating point against the host ----

TEST(SseFp, PackedAndScalarArithmeticMatchHost) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1e6f, 1e6f);
  struct Op { u8 pfx; u8 opc; __m128 (*host)(__m128, __m128); };
  const Op ops[] = {
      {0, 0x58, [](__m128 a, __m128 b) { return _mm_add_ps(hide(a), hide(b)); }},
      {0xF3, 0x58, [](__m128 a, __m128 b) { return _mm_add_ss(hide(a), hide(b)); }},
      {0, 0x59, [](__m128 a, __m128 b) { return _mm_mul_ps(hide(a), hide(b)); }},
      {0xF3, 0x5C, [](__m128 a, __m128 b) { return _mm_sub_ss(hide(a), hide(b)); }},
      {0, 0x5E, [](__m128 a, __m128 b) { return _mm_div_ps(hide(a), hide(b)); }},
      {0, 0x5D, [](__m128 a, __m128 b) { return _mm_min_ps(hide(a), hide(b)); }},
      {0, 0x5F, [](__m128 a, __m128 b) { return _mm_max_ps(hide(a), hide(b)); }},
      {0, 0x51, [](__m128, __m128 b) { return _mm_sqrt_ps(hide(b)); }},
      {0xF2, 0xD0, [](__m128 a, __m128 b) { return _mm_addsub_ps(hide(a), hide(b)); }},
      {0xF2, 0x7C, [](__m128 a, __m128 b) { return _mm_hadd_ps(hide(a), hide(b)); }},
      {0xF2, 0x7D, [](__m128 a, __m128 b) { return _mm_hsub_ps(hide(a), hide(b)); }},
  };
  for (u32 rc : {0u, 1u, 2u, 3u}) {
    for (const Op& op : ops) {
      __m128 a = ps4(dist(rng), dist(rng), dist(rng), dist(rng));
      __m128 b = ps4(std::fabs(dist(rng)), dist(rng), 3.0f, dist(rng));
      SseEnv e;
      const u32 mx = 0x1F80 | (rc << 13);
      e.set_mxcsr(mx);
      e.set_xmm_ps(0, a);
      e.set_xmm_ps(1, b);
      std::vector<u8> c;
      if (op.pfx) c.push_back(op.pfx);
      c.insert(c.end(), {0x0F, op.opc, 0xC1});
      e.code(c);
      ASSERT_EQ(e.run(), -1);
      u32 flags;
      __m128 expect = host_with(mx, flags, [&] { return op.host(a, b); });
      EXPECT_TRUE(same(e.xmm_ps(0), expect)) << std::hex << int(op.pfx) << " " << int(op.opc) << " rc " << rc;
      EXPECT_EQ(e.mxcsr(), mx | flags) << std::hex << int(op.opc);
    }
  }
}

TEST(SseFp, DoubleArithmeticMatchesHost) {
  struct Op { u8 pfx; u8 opc; __m128d (*host)(__m128d, __m128d); };
  const Op ops[] = {
      {0x66, 0x58, [](__m128d a, __m128d b) { return _mm_add_pd(hide(a), hide(b)); }},
      {0xF2, 0x59, [](__m128d a, __m128d b) { return _mm_mul_sd(hide(a), hide(b)); }},
      {0xF2, 0x5E, [](__m128d a, __m128d b) { return _mm_div_sd(hide(a), hide(b)); }},
      {0xF2, 0x51, [](__m128d a, __m128d b) { return _mm_sqrt_sd(hide(a), hide(b)); }},
      {0x66, 0x7C, [](__m128d a, __m128d b) { return _mm_hadd_pd(hide(a), hide(b)); }},
      {0x66, 0xD0, [](__m128d a, __m128d b) { return _mm_addsub_pd(hide(a), hide(b)); }},
  };
  for (const Op& op : ops) {
    __m128d a = _mm_setr_pd(1.0 / 3.0, -7.25e300), b = _mm_setr_pd(3.0e-5, 1e10);
    SseEnv e;
    e.set_xmm_pd(0, a);
    e.set_xmm_pd(1, b);
    e.code({op.pfx, 0x0F, op.opc, 0xC1});
    ASSERT_EQ(e.run(), -1);
    u32 flags;
    __m128d expect = host_with(0x1F80, flags, [&] { return op.host(a, b); });
    EXPECT_TRUE(same(e.xmm_pd(0), expect)) << std::hex << int(op.opc);
    EXPECT_EQ(e.mxcsr(), 0x1F80u | flags) << std::hex << int(op.opc);
  }
}

TEST(SseFp, DazAndFtz) {
  const float tiny = 1e-39f;   // a single-precision denormal
  for (u32 mode : {0u, 0x40u, 0x8000u, 0x8040u}) {
    SseEnv e;
    const u32 mx = 0x1F80 | mode;
    e.set_mxcsr(mx);
    e.set_xmm_ps(0, ps4(tiny, 1e-20f, 1.0f, tiny));
    e.set_xmm_ps(1, ps4(2.0f, 1e-20f, tiny, 0.5f));
    e.code({0x0F, 0x59, 0xC1});   // mulps
    ASSERT_EQ(e.run(), -1);
    u32 flags;
    __m128 expect = host_with(mx, flags, [&] {
      return _mm_mul_ps(hide(ps4(tiny, 1e-20f, 1.0f, tiny)), hide(ps4(2.0f, 1e-20f, tiny, 0.5f)));
    });
    EXPECT_TRUE(same(e.xmm_ps(0), expect)) << mode;
    EXPECT_EQ(e.mxcsr(), mx | flags) << mode;
    EXPECT_NE(flags, 0u);
  }
}

TEST(SseFp, DivideByZeroMaskedAndUnmasked) {
  const __m128 a = ps4(1.0f, 5.0f, 6.0f, 7.0f), b = ps4(0.0f, 1.0f, 1.0f, 1.0f);
  {
    SseEnv e;
    e.set_xmm_ps(0, a);
    e.set_xmm_ps(1, b);
    e.code({0xF3, 0x0F, 0x5E, 0xC1});   // divss xmm0, xmm1
    ASSERT_EQ(e.run(), -1);
    EXPECT_TRUE(same(e.xmm_ps(0), ps4(INFINITY, 5.0f, 6.0f, 7.0f)));
    EXPECT_EQ(e.mxcsr(), 0x1F80u | 4u);   // ZE
  }
  for (bool osxmm : {true, false}) {
    SseEnv e;
    if (!osxmm) e.s.cr4 &= ~kCr4Osxmmexcpt;
    e.set_mxcsr(0x1F80 & ~0x200u);   // ZM clear
    e.set_xmm_ps(0, a);
    e.set_xmm_ps(1, b);
    e.code({0xF3, 0x0F, 0x5E, 0xC1});
    EXPECT_EQ(e.run(), osxmm ? kXM : kUD);
    EXPECT_TRUE(same(e.xmm_ps(0), a));              // destination unchanged
    EXPECT_EQ(e.mxcsr(), (0x1F80u & ~0x200u) | 4u);  // flag set
    EXPECT_EQ(e.s.rip, SseEnv::kCode);              // fault: RIP at the instruction
  }
}

TEST(SseFp, UnmaskedExceptionFaultsWhenItsFlagIsAlreadySet) {
  SseEnv e;
  const u32 mx = (0x1F80u & ~0x1000u) | 0x20u;   // PM clear, PE already set
  e.set_mxcsr(mx);
  e.set_xmm_ps(0, ps4(1.0f, 0, 0, 0));
  e.set_xmm_ps(1, ps4(3.0f, 0, 0, 0));
  e.code({0xF3, 0x0F, 0x5E, 0xC1});   // divss: 1/3 is inexact
  EXPECT_EQ(e.run(), kXM);
  EXPECT_EQ(e.mxcsr(), mx);
  EXPECT_EQ(_mm_cvtss_f32(e.xmm_ps(0)), 1.0f);
}

TEST(SseFp, UnmaskedPrecomputationSuppressesPostComputationFlags) {
  // Lane 0: SNaN (invalid, unmasked); lane 1: 1/3 (inexact, masked). Only IE may be set.
  const u32 snan_bits = 0x7F800001;
  float snan;
  std::memcpy(&snan, &snan_bits, 4);
  SseEnv e;
  e.set_mxcsr(0x1F80 & ~0x80u);   // IM clear
  const __m128 a = ps4(snan, 1.0f, 1.0f, 1.0f), b = ps4(1.0f, 3.0f, 1.0f, 1.0f);
  e.set_xmm_ps(0, a);
  e.set_xmm_ps(1, b);
  e.code({0x0F, 0x5E, 0xC1});   // divps
  EXPECT_EQ(e.run(), kXM);
  EXPECT_EQ(e.mxcsr(), (0x1F80u & ~0x80u) | 1u);
  EXPECT_TRUE(same(e.xmm_ps(0), a));
  // Unmasked precision only (a post-computation exception): every raised flag is set.
  SseEnv f;
  f.set_mxcsr(0x1F80 & ~0x1000u);   // PM clear
  f.set_xmm_ps(0, ps4(1.0f, 1.0f, 1.0f, 1.0f));
  f.set_xmm_ps(1, ps4(3.0f, 1.0f, 0.0f, 1.0f));
  f.code({0x0F, 0x5E, 0xC1});
  EXPECT_EQ(f.run(), kXM);
  EXPECT_EQ(f.mxcsr(), (0x1F80u & ~0x1000u) | 0x20u | 0x4u);   // PE and the masked ZE
}

TEST(SseFp, ExactTinyResultUnderflowsOnlyWhenUnmasked) {
  // 1.5 * 2^-126 - 2^-126 = 2^-127: an exact denormal. Masked: no flag at all (IEEE masked
  // underflow needs inexactness). Unmasked: UE and #XM (SDM Vol.1 §4.9.1.5).
  const float a = 1.5f * std::ldexp(1.0f, -126), b = std::ldexp(1.0f, -126);
  for (bool unmasked : {false, true}) {
    SseEnv e;
    const u32 mx = unmasked ? (0x1F80u & ~0x800u) : 0x1F80u;
    e.set_mxcsr(mx);
    e.set_xmm_ps(0, ps4(a, 1, 2, 3));
    e.set_xmm_ps(1, ps4(b, 0, 0, 0));
    e.code({0xF3, 0x0F, 0x5C, 0xC1});   // subss
    EXPECT_EQ(e.run(), unmasked ? kXM : -1);
    EXPECT_EQ(e.mxcsr(), mx | (unmasked ? 0x10u : 0u));
    const float r = _mm_cvtss_f32(e.xmm_ps(0));
    EXPECT_EQ(r, unmasked ? a : std::ldexp(1.0f, -127));
  }
}

TEST(SseFp, UnmaskedUnderflowPrecisionUsesUnboundedExponent) {
  // With UE unmasked, PE follows the result rounded with unbounded exponent (IEEE trapping
  // semantics), not the denormalized one. 1.5*2^-600 * 1.5*2^-500 = 2.25*2^-1100 is exact;
  // (1+2^-52)^2 * 2^-1100 is not.
  const double e1 = 1.0 + std::ldexp(1.0, -52);
  struct Case { double a, b; u32 flags; };
  const Case cases[] = {{1.5 * std::ldexp(1.0, -600), 1.5 * std::ldexp(1.0, -500), 0x10},
                        {e1 * std::ldexp(1.0, -600), e1 * std::ldexp(1.0, -500), 0x30}};
  for (const Case& k : cases) {
    for (u32 pm : {0u, 0x1000u}) {
      SseEnv e;
      const u32 mx = (0x1F80u & ~0x1800u) | pm;   // UM clear, PM as given
      e.set_mxcsr(mx);
      e.set_xmm_pd(0, _mm_setr_pd(k.a, 7.0));
      e.set_xmm_pd(1, _mm_setr_pd(k.b, 1.0));
      e.code({0x66, 0x0F, 0x59, 0xC1});   // mulpd: lane 1 is exact and normal
      EXPECT_EQ(e.run(), kXM);
      EXPECT_EQ(e.mxcsr(), mx | k.flags) << k.flags << " " << pm;
      EXPECT_EQ(_mm_cvtsd_f64(e.xmm_pd(0)), k.a);
    }
  }
  // The same for overflow (values checked natively on the host with the traps unmasked).
  const Case big[] = {{std::ldexp(1.5, 600), std::ldexp(1.5, 500), 0x08},
                      {std::ldexp(e1, 600), std::ldexp(e1, 500), 0x28}};
  for (const Case& k : big) {
    SseEnv e;
    const u32 mx = 0x1F80u & ~0x1400u;   // OM, PM clear
    e.set_mxcsr(mx);
    e.set_xmm_pd(0, _mm_setr_pd(k.a, 7.0));
    e.set_xmm_pd(1, _mm_setr_pd(k.b, 1.0));
    e.code({0x66, 0x0F, 0x59, 0xC1});
    EXPECT_EQ(e.run(), kXM);
    EXPECT_EQ(e.mxcsr(), mx | k.flags) << k.flags;
  }
}

TEST(SseFp, OverflowMaskedGivesHostResult) {
  SseEnv e;
  const __m128d a = _mm_setr_pd(1e300, 2.0), b = _mm_setr_pd(1e300, 3.0);
  e.set_xmm_pd(0, a);
  e.set_xmm_pd(1, b);
  e.set_mxcsr(0x1F80 | (3u << 13));   // round toward zero: overflow gives DBL_MAX
  e.code({0x66, 0x0F, 0x59, 0xC1});   // mulpd
  ASSERT_EQ(e.run(), -1);
  u32 flags;
  __m128d expect = host_with(0x1F80 | (3u << 13), flags, [&] { return _mm_mul_pd(hide(a), hide(b)); });
  EXPECT_TRUE(same(e.xmm_pd(0), expect));
  EXPECT_EQ(flags & 0x28u, 0x28u);   // OE, PE
  EXPECT_EQ(e.mxcsr(), 0x1F80u | (3u << 13) | flags);
}

TEST(SseFp, CmpPredicatesMatchHost) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  const __m128 a = ps4(1.0f, 2.0f, qnan, -0.0f), b = ps4(1.0f, 1.0f, 1.0f, 0.0f);
  __m128 (*host[8])(__m128, __m128) = {
      [](__m128 x, __m128 y) { return _mm_cmpeq_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmplt_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmple_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmpunord_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmpneq_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmpnlt_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmpnle_ps(hide(x), hide(y)); },
      [](__m128 x, __m128 y) { return _mm_cmpord_ps(hide(x), hide(y)); },
  };
  for (u8 p = 0; p < 8; p++) {
    SseEnv e;
    e.set_xmm_ps(0, a);
    e.set_xmm_ps(1, b);
    e.code({0x0F, 0xC2, 0xC1, p});
    ASSERT_EQ(e.run(), -1);
    u32 flags;
    __m128 expect = host_with(0x1F80, flags, [&] { return host[p](a, b); });
    EXPECT_TRUE(same(e.xmm_ps(0), expect)) << int(p);
    EXPECT_EQ(e.mxcsr(), 0x1F80u | flags) << int(p);
  }
}

TEST(SseFp, ComissAndUcomissFlags) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  struct Case { float a, b; u64 flags; };
  const Case cases[] = {
      {1.0f, 2.0f, kFlagCF}, {2.0f, 1.0f, 0}, {3.0f, 3.0f, kFlagZF}, {qnan, 1.0f, kFlagZF | kFlagPF | kFlagCF}};
  for (const Case& k : cases) {
    for (bool signal : {false, true}) {
      SseEnv e;
      e.set_xmm_ps(0, ps4(k.a, 0, 0, 0));
      e.set_xmm_ps(1, ps4(k.b, 0, 0, 0));
      e.cpu.set_rflags(kFlagOF | kFlagSF | kFlagAF | 2);
      e.code({0x0F, u8(signal ? 0x2F : 0x2E), 0xC1});
      ASSERT_EQ(e.run(), -1);
      EXPECT_EQ(e.cpu.rflags() & (kFlagCF | kFlagPF | kFlagZF | kFlagOF | kFlagSF | kFlagAF), k.flags);
      const bool nan = k.a != k.a;
      EXPECT_EQ(e.mxcsr(), 0x1F80u | ((nan && signal) ? 1u : 0u)) << signal;
    }
  }
}

// ---- conversions ----

TEST(SseCvt, IntegerIndefiniteAndRounding) {
  SseEnv e;
  e.set_xmm_ps(0, ps4(3e9f, 0, 0, 0));
  e.set_xmm_ps(1, ps4(-2.5f, 0, 0, 0));
  e.set_xmm_pd(2, _mm_setr_pd(1e19, 0));
  e.set_xmm_pd(3, _mm_setr_pd(-7.5, 0));
  e.code({0xF3, 0x0F, 0x2C, 0xC0,          // cvttss2si eax, xmm0  -> indefinite
          0xF3, 0x0F, 0x2D, 0xC9,          // cvtss2si ecx, xmm1   -> -2 (nearest even)
          0xF2, 0x48, 0x0F, 0x2C, 0xD2,    // cvttsd2si rdx, xmm2  -> indefinite 64
          0xF2, 0x48, 0x0F, 0x2D, 0xF3});  // cvtsd2si rsi, xmm3   -> -8
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ(e.s.gpr[RAX], 0x80000000u);
  EXPECT_EQ(e.s.gpr[RCX], 0xFFFFFFFEu);
  EXPECT_EQ(e.s.gpr[RDX], 0x8000000000000000ull);
  EXPECT_EQ(e.s.gpr[RSI], static_cast<u64>(-8));
  EXPECT_EQ(e.mxcsr(), 0x1F80u | 1u | 0x20u);   // IE from the out-of-range ones, PE from -2.5/-7.5
}

TEST(SseCvt, ConversionsMatchHost) {
  SseEnv e;
  const __m128 f = ps4(1.5f, -2.75f, 1e10f, 0.1f);
  const __m128d dv = _mm_setr_pd(0.1, -3e10);
  e.set_xmm_ps(1, f);
  e.set_xmm_pd(2, dv);
  e.s.gpr[RAX] = 0x7FFFFFFFFFFFFFFFull;
  e.set_xmm(0, _mm_set1_epi32(0x3F800000));
  e.code({0x0F, 0x5A, 0xD9,                // cvtps2pd xmm3, xmm1
          0x66, 0x0F, 0x5A, 0xE2,          // cvtpd2ps xmm4, xmm2
          0x66, 0x0F, 0x5B, 0xE9,          // cvtps2dq xmm5, xmm1
          0xF3, 0x48, 0x0F, 0x2A, 0xC0,    // cvtsi2ss xmm0, rax
          0x66, 0x0F, 0xE6, 0xF2});        // cvttpd2dq xmm6, xmm2
  ASSERT_EQ(e.run(), -1);
  u32 fl;
  EXPECT_TRUE(same(e.xmm_pd(3), host_with(0x1F80, fl, [&] { return _mm_cvtps_pd(hide(f)); })));
  EXPECT_TRUE(same(e.xmm_ps(4), host_with(0x1F80, fl, [&] { return _mm_cvtpd_ps(hide(dv)); })));
  EXPECT_TRUE(same(e.xmm(5), host_with(0x1F80, fl, [&] { return _mm_cvtps_epi32(hide(f)); })));
  EXPECT_TRUE(same(e.xmm_ps(0), host_with(0x1F80, fl, [&] {
    return _mm_cvtsi64_ss(hide(_mm_castsi128_ps(_mm_set1_epi32(0x3F800000))), 0x7FFFFFFFFFFFFFFFll);
  })));
  EXPECT_TRUE(same(e.xmm(6), _mm_setr_epi32(0, INT32_MIN, 0, 0)));
}

}  // namespace
}  // namespace rv::test
