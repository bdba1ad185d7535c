// Regressions found by the native-CPU oracle (tests/oracle) in the SSE interpreter: the
// CVTPI2PS/PD memory form and pending x87 exceptions, MXCSR flags of DPPS/DPPD/HADDPS when an
// unmasked overflow/underflow traps, and the alignment check before the canonical check.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tests/unit/sse_env.h"

#pragma GCC target("sse4.2")   // _mm_extract_epi64 for the expectations

namespace rv::test {
namespace {

void set_fcw(SseEnv& e, u16 v) { std::memcpy(e.s.fpu.fxsave, &v, 2); }
__m128i make(u64 lo, u64 hi) { return _mm_set_epi64x(static_cast<i64>(hi), static_cast<i64>(lo)); }

// CVTPI2PS/CVTPI2PD xmm, m64 are not MMX accesses: no #MF for a pending x87 exception and no
// x87 -> MMX transition (SDM Vol.3B Table 22-6 note 1). The xmm, mm form does raise #MF.
TEST(SseRegress, CvtPi2PMemoryFormIgnoresPendingX87Exception) {
  struct Form { std::vector<u8> mem, reg; bool dbl; };
  const Form forms[] = {{{0x66, 0x0F, 0x2A, 0x03}, {0x66, 0x0F, 0x2A, 0xC1}, true},   // cvtpi2pd
                        {{0x0F, 0x2A, 0x03}, {0x0F, 0x2A, 0xC1}, false}};             // cvtpi2ps
  for (const Form& f : forms) {
    for (bool reg : {false, true}) {
      SseEnv e;
      set_fcw(e, 0x037E);              // IM unmasked
      e.set_fsw(0x3881);               // TOP = 7, IE and ES: an unmasked exception is pending
      e.s.fpu.fxsave[4] = 0x01;        // FTW: only R0 valid
      const u64 pair = (static_cast<u64>(static_cast<u32>(-5)) << 32) | 7u;
      e.put(SseEnv::kData, &pair, 8);
      e.set_xmm(0, _mm_set1_epi32(0x55555555));
      e.code(reg ? f.reg : f.mem);
      const int v = e.run();
      if (reg) {
        EXPECT_EQ(v, kMF) << f.dbl;
        continue;
      }
      ASSERT_EQ(v, -1) << f.dbl;
      EXPECT_EQ(e.fsw(), 0x3881u);     // TOP and the tags unchanged
      EXPECT_EQ(e.ftw(), 0x01u);
      if (f.dbl) {
        EXPECT_TRUE(same(e.xmm_pd(0), _mm_setr_pd(7.0, -5.0)));
      } else {
        EXPECT_TRUE(same(_mm_move_epi64(e.xmm(0)), _mm_castps_si128(_mm_setr_ps(7.0f, -5.0f, 0, 0))));
        EXPECT_EQ(_mm_extract_epi64(e.xmm(0), 1), 0x5555555555555555ll);
      }
    }
  }
}

// HADDPS with OE unmasked: PE only when the sum rounded with unbounded exponent is inexact.
TEST(SseRegress, HaddpsUnmaskedOverflowPrecision) {
  const float big = std::ldexp(1.5f, 127), other_exact = FLT_MAX, other_inexact = std::ldexp(1.0f + std::ldexp(1.0f, -23), 127);
  struct Case { float a, b; u32 flags; };
  // 1.5*2^127 + (2-2^-23)*2^127 = (3.5-2^-23)*2^127 needs 25 bits: inexact. FLT_MAX+FLT_MAX is exact.
  const Case cases[] = {{FLT_MAX, other_exact, 0x08}, {big, other_inexact, 0x28}, {big, FLT_MAX, 0x28}};
  for (const Case& k : cases) {
    SseEnv e;
    const u32 mx = 0x1F80u & ~0x400u;   // OM clear
    e.set_mxcsr(mx);
    e.set_xmm_ps(0, _mm_setr_ps(k.a, k.b, 1.0f, 2.0f));
    e.set_xmm_ps(1, _mm_setr_ps(1.0f, 2.0f, 3.0f, 4.0f));
    e.code({0xF2, 0x0F, 0x7C, 0xC1});   // haddps xmm0, xmm1
    EXPECT_EQ(e.run(), kXM);
    EXPECT_EQ(e.mxcsr(), mx | k.flags) << k.a << " " << k.b;
    EXPECT_EQ(_mm_cvtss_f32(e.xmm_ps(0)), k.a);
  }
}

// DPPS: lanes imm8 masks out compute nothing; the operation runs step by step (products,
// pair sums, final sum) and stops at the step with an unmasked exception, keeping the flags
// of the earlier steps. Expected MXCSR values observed natively (oracle cases
// 0xe5d4857fe3bc1b66, 0x5aaf1368d550973c, 0x46e89027ae371d6f).
TEST(SseRegress, DppsFlagsWithUnmaskedExceptions) {
  struct Case { __m128i dst, src; std::vector<u8> code; u32 mx, expect; };
  const Case cases[] = {
      // dpps xmm4, xmm4, 0x8a: lane 0 (denormal) masked out, lane 3 squared underflows (UE unmasked)
      {make(0x0000000000000004ull, 0x0f4b4ef36c4b1b0bull), {}, {0x66, 0x0F, 0x3A, 0x40, 0xE4, 0x8A}, 0x5780, 0x57B0},
      // dpps xmm11, xmm6, 0x1e: product underflows (UE masked), the denormal product then
      // raises DE (unmasked) in the sum; a denormal in a masked-out lane of xmm6 raises nothing
      {make(0x87755cd080800001ull, 0x66fa61c47fc00000ull), make(0x3bb9ae540c000000ull, 0x0000000100000000ull),
       {0x66, 0x44, 0x0F, 0x3A, 0x40, 0xDE, 0x1E}, 0x3E80, 0x3EB2},
  };
  for (const Case& k : cases) {
    SseEnv e;
    e.set_mxcsr(k.mx);
    e.set_xmm(4, k.dst);
    e.set_xmm(11, k.dst);
    e.set_xmm(6, k.src);
    e.code(k.code);
    EXPECT_EQ(e.run(), kXM);
    EXPECT_EQ(e.mxcsr(), k.expect) << std::hex << k.mx;
  }
}

// A misaligned 16-byte legacy-SSE operand that is also non-canonical via RBP: #GP(0) from the
// alignment check, not #SS (oracle case 0x7b9b1716c2a149c9).
TEST(SseRegress, MisalignedNonCanonicalStackOperandIsGp) {
  const std::vector<u8> forms[] = {{0x66, 0x0F, 0x38, 0x2A, 0x6D, 0x00},    // movntdqa xmm5, [rbp]
                                   {0x66, 0x0F, 0x38, 0x0A, 0x6D, 0x00},    // psignd xmm5, [rbp]
                                   {0x66, 0x0F, 0x38, 0x02, 0x6D, 0x00}};   // phaddd xmm5, [rbp]
  for (const auto& f : forms) {
    for (u64 rbp : {0x8000000020000E25ull, 0x8000000020000E20ull}) {
      SseEnv e;
      e.s.gpr[RBP] = rbp;
      e.code(f);
      EXPECT_EQ(e.run(), (rbp & 15) ? kGP : kSS) << std::hex << rbp;
      EXPECT_EQ(e.last_error, 0u);
    }
  }
}

}  // namespace
}  // namespace rv::test
