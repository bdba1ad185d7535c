// SSE/SSE2/SSE3 floating point and data movement (cpu/interp/sse_*.cpp): results compared with
// the host's own instructions run under the same MXCSR, the SIMD exception rules (masked,
// unmasked -> #XM or #UD, destination unchanged), the CR0/CR4 preconditions and the 16-byte
// alignment #GP of legacy SSE memory operands.
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

// Every encoding of opcodes_sse.inc has a handler (none falls back to the #UD stub).
TEST(SseChecks, EveryOpcodeHasAHandler) {
  const Handler* t = handler_table();
  const Handler stub = t[static_cast<unsigned>(OpId::Invalid)];
  unsigned n = 0;
#define X(name, map, opc, count, reg, form)                                \
  EXPECT_NE(t[static_cast<unsigned>(OpId::name)], stub) << #name;          \
  n++;
#include "cpu/decoder/opcodes_sse.inc"
#undef X
  EXPECT_GT(n, 250u);
}

// ---- preconditions ----

TEST(SseChecks, OsfxsrClearIsUd) {
  SseEnv e;
  e.s.cr4 &= ~kCr4Osfxsr;
  e.code({0x0F, 0x58, 0xC1});   // addps xmm0, xmm1
  EXPECT_EQ(e.run(), kUD);
}
TEST(SseChecks, EmIsUdAndTsIsNm) {
  SseEnv e;
  e.s.cr0 |= kCr0Em;
  e.code({0x66, 0x0F, 0xEF, 0xC1});   // pxor xmm0, xmm1
  EXPECT_EQ(e.run(), kUD);
  SseEnv f;
  f.s.cr0 |= kCr0Ts;
  f.code({0x66, 0x0F, 0xEF, 0xC1});
  EXPECT_EQ(f.run(), kNM);
}
TEST(SseChecks, MovntiNeedsNoSseState) {
  SseEnv e;
  e.s.cr4 &= ~kCr4Osfxsr;
  e.s.cr0 |= kCr0Ts;
  e.s.gpr[RAX] = 0x1122334455667788ull;
  e.code({0x48, 0x0F, 0xC3, 0x03});   // movnti [rbx], rax
  EXPECT_EQ(e.run(), -1);
  EXPECT_EQ(e.mem.read(SseEnv::kData, 8), 0x1122334455667788ull);
}

// ---- moves and alignment ----

TEST(SseMove, AlignedLoadStore) {
  SseEnv e;
  __m128i v = _mm_setr_epi32(0x11111111, 0x22222222, 0x33333333, 0x44444444);
  e.put128(SseEnv::kData, v);
  e.code({0x0F, 0x28, 0x03,               // movaps xmm0, [rbx]
          0x66, 0x0F, 0x7F, 0x43, 0x10,   // movdqa [rbx+16], xmm0
          0x0F, 0x10, 0x4B, 0x01});       // movups xmm1, [rbx+1]
  EXPECT_EQ(e.run(), -1);
  EXPECT_TRUE(same(e.xmm(0), v));
  EXPECT_TRUE(same(e.get128(SseEnv::kData + 16), v));
  u8 raw[16];
  for (int i = 0; i < 16; i++) raw[i] = static_cast<u8>(e.mem.read(SseEnv::kData + 1 + i, 1));
  __m128i expect;
  std::memcpy(&expect, raw, 16);
  EXPECT_TRUE(same(e.xmm(1), expect));
}

TEST(SseMove, MisalignedAlignedFormsGp) {
  struct Case { std::vector<u8> code; const char* name; };
  const Case cases[] = {
      {{0x0F, 0x28, 0x43, 0x08}, "movaps load"},
      {{0x66, 0x0F, 0x28, 0x43, 0x08}, "movapd load"},
      {{0x66, 0x0F, 0x6F, 0x43, 0x08}, "movdqa load"},
      {{0x0F, 0x29, 0x43, 0x08}, "movaps store"},
      {{0x66, 0x0F, 0x7F, 0x43, 0x08}, "movdqa store"},
      {{0x0F, 0x2B, 0x43, 0x08}, "movntps"},
      {{0x66, 0x0F, 0xE7, 0x43, 0x08}, "movntdq"},
      {{0x0F, 0x58, 0x43, 0x08}, "addps m128"},
      {{0x66, 0x0F, 0xFC, 0x43, 0x08}, "paddb m128"},
      {{0x66, 0x0F, 0x70, 0x43, 0x08, 0x1B}, "pshufd m128"},
      {{0x0F, 0x54, 0x43, 0x08}, "andps m128"},
  };
  for (const Case& k : cases) {
    SseEnv e;
    __m128i marker = _mm_set1_epi32(0x5A5A5A5A);
    e.set_xmm(0, marker);
    e.put128(SseEnv::kData + 8, _mm_set1_epi32(0x01020304));
    e.code(k.code);
    EXPECT_EQ(e.run(), kGP) << k.name;
    EXPECT_EQ(e.last_error, 0u) << k.name;
    EXPECT_TRUE(same(e.xmm(0), marker)) << k.name;
    EXPECT_EQ(e.mem.read(SseEnv::kData + 8, 4), 0x01020304u) << k.name;
  }
}

TEST(SseMove, RealModeLimitAndAlignment) {
  struct Case { u16 bx; std::vector<u8> code; int vector; };
  const Case cases[] = {
      {0x0FF0, {0x0F, 0x10, 0x07}, -1},    // movups xmm0, [bx]
      {0xFFF0, {0x0F, 0x10, 0x07}, -1},    // last 16 bytes of the segment
      {0xFFF8, {0x0F, 0x10, 0x07}, kGP},   // runs past the limit: no wrap to offset 0
      {0xFFF8, {0x0F, 0x11, 0x07}, kGP},   // movups [bx], xmm0
      {0x0FF8, {0x0F, 0x28, 0x07}, kGP},   // movaps misaligned
  };
  for (const Case& k : cases) {
    CpuEnv e;
    e.real_mode_code(0x1000, k.code);
    e.cpu.state().cr4 |= kCr4Osfxsr;
    e.cpu.state().gpr[RBX] = k.bx;
    e.cpu.state_changed();
    SseFaultHook hook(e.cpu);
    e.cpu.set_trace(&hook);
    e.cpu.run(100);
    e.cpu.set_trace(nullptr);
    EXPECT_EQ(hook.m_vector, k.vector) << std::hex << k.bx << " " << int(k.code[1]);
  }
}

TEST(SseMove, UnalignedFormsDoNotFault) {
  const std::vector<std::vector<u8>> codes = {
      {0x0F, 0x10, 0x43, 0x08},         // movups
      {0x66, 0x0F, 0x10, 0x43, 0x08},   // movupd
      {0xF3, 0x0F, 0x6F, 0x43, 0x08},   // movdqu
      {0xF2, 0x0F, 0xF0, 0x43, 0x08},   // lddqu
      {0x0F, 0x12, 0x43, 0x08},         // movlps
      {0x66, 0x0F, 0x16, 0x43, 0x08},   // movhpd
      {0xF3, 0x0F, 0x58, 0x43, 0x01},   // addss m32
      {0xF2, 0x0F, 0x12, 0x43, 0x08},   // movddup m64
  };
  for (const auto& c : codes) {
    SseEnv e;
    e.code(c);
    EXPECT_EQ(e.run(), -1) << int(c[1]) << " " << int(c[2]);
  }
}

TEST(SseMove, ScalarAndHalfMoves) {
  SseEnv e;
  __m128i a = _mm_setr_epi32(1, 2, 3, 4), b = _mm_setr_epi32(5, 6, 7, 8);
  e.set_xmm(0, a);
  e.set_xmm(1, b);
  e.set_xmm(2, a);
  e.set_xmm(3, a);
  e.set_xmm(4, a);
  e.put128(SseEnv::kData, _mm_setr_epi32(9, 10, 11, 12));
  e.code({0xF3, 0x0F, 0x10, 0xC1,    // movss xmm0, xmm1  (merge)
          0xF2, 0x0F, 0x10, 0x13,    // movsd xmm2, [rbx] (zero upper)
          0x0F, 0x12, 0xD9,          // movhlps xmm3, xmm1
          0x0F, 0x16, 0xE1});        // movlhps xmm4, xmm1
  EXPECT_EQ(e.run(), -1);
  EXPECT_TRUE(same(e.xmm(0), _mm_setr_epi32(5, 2, 3, 4)));
  EXPECT_TRUE(same(e.xmm(2), _mm_setr_epi32(9, 10, 0, 0)));
  EXPECT_TRUE(same(e.xmm(3), _mm_setr_epi32(7, 8, 3, 4)));
  EXPECT_TRUE(same(e.xmm(4), _mm_setr_epi32(1, 2, 5, 6)));
}

TEST(SseMove, MovdMovqGprForms) {
  SseEnv e;
  e.s.gpr[RAX] = 0xFEDCBA9876543210ull;
  e.set_xmm(0, _mm_set1_epi32(-1));
  e.set_xmm(1, _mm_set1_epi32(-1));
  e.set_xmm(2, _mm_setr_epi32(0x0BADF00D, 0x12345678, 7, 7));
  e.code({0x66, 0x0F, 0x6E, 0xC0,          // movd xmm0, eax
          0x66, 0x48, 0x0F, 0x6E, 0xC8,    // movq xmm1, rax
          0x66, 0x0F, 0x7E, 0xD1,          // movd ecx, xmm2
          0x66, 0x48, 0x0F, 0x7E, 0xD2});  // movq rdx, xmm2
  EXPECT_EQ(e.run(), -1);
  EXPECT_TRUE(same(e.xmm(0), _mm_setr_epi32(0x76543210, 0, 0, 0)));
  EXPECT_TRUE(same(e.xmm(1), _mm_set_epi64x(0, static_cast<i64>(0xFEDCBA9876543210ull))));
  EXPECT_EQ(e.s.gpr[RCX], 0x0BADF00Du);
  EXPECT_EQ(e.s.gpr[RDX], 0x123456780BADF00Dull);
}

TEST(SseMove, MovmskAndPmovmskbAndPextrw) {
  SseEnv e;
  e.set_xmm(1, _mm_castps_si128(ps4(-1.0f, 2.0f, -0.0f, 4.0f)));
  e.set_xmm(2, _mm_setr_epi8(-1, 0, 0, -128, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5));
  e.set_xmm(3, _mm_setr_epi16(0, 1, 2, 3, 4, -2, 6, 7));
  e.s.gpr[RAX] = ~0ull;
  e.s.gpr[RCX] = ~0ull;
  e.code({0x0F, 0x50, 0xC1,                 // movmskps eax, xmm1
          0x66, 0x0F, 0xD7, 0xCA,           // pmovmskb ecx, xmm2
          0x66, 0x0F, 0xC5, 0xD3, 0x05,     // pextrw edx, xmm3, 5
          0x66, 0x0F, 0xC4, 0xD8, 0x02});   // pinsrw xmm3, eax, 2
  EXPECT_EQ(e.run(), -1);
  EXPECT_EQ(e.s.gpr[RAX], 0x5u);
  EXPECT_EQ(e.s.gpr[RCX], 0x8009u);
  EXPECT_EQ(e.s.gpr[RDX], 0xFFFEu);
  EXPECT_TRUE(same(e.xmm(3), _mm_setr_epi16(0, 1, 5, 3, 4, -2, 6, 7)));
}

TEST(SseMove, MaskmovdquStoresSelectedBytes) {
  SseEnv e;
  e.s.gpr[RDI] = SseEnv::kData + 3;   // no alignment requirement
  e.put128(SseEnv::kData + 3, _mm_set1_epi8(0x77));
  e.set_xmm(0, _mm_setr_epi8(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
  e.set_xmm(1, _mm_setr_epi8(-128, 0, 0x7F, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -100));
  e.code({0x66, 0x0F, 0xF7, 0xC1});
  EXPECT_EQ(e.run(), -1);
  EXPECT_TRUE(same(e.get128(SseEnv::kData + 3),
                   _mm_setr_epi8(1, 0x77, 0x77, 4, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 16)));
}

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

// ---- packed integer (XMM forms) against the host ----

TEST(SseInt, XmmOpsMatchHost) {
  struct Op { u8 opc; __m128i (*host)(__m128i, __m128i); };
#define H(f) [](__m128i x, __m128i y) { return f(x, y); }
  const Op ops[] = {
      {0xFC, H(_mm_add_epi8)}, {0xFD, H(_mm_add_epi16)}, {0xFE, H(_mm_add_epi32)}, {0xD4, H(_mm_add_epi64)},
      {0xF8, H(_mm_sub_epi8)}, {0xF9, H(_mm_sub_epi16)}, {0xFA, H(_mm_sub_epi32)}, {0xFB, H(_mm_sub_epi64)},
      {0xEC, H(_mm_adds_epi8)}, {0xED, H(_mm_adds_epi16)}, {0xDC, H(_mm_adds_epu8)}, {0xDD, H(_mm_adds_epu16)},
      {0xE8, H(_mm_subs_epi8)}, {0xE9, H(_mm_subs_epi16)}, {0xD8, H(_mm_subs_epu8)}, {0xD9, H(_mm_subs_epu16)},
      {0x74, H(_mm_cmpeq_epi8)}, {0x75, H(_mm_cmpeq_epi16)}, {0x76, H(_mm_cmpeq_epi32)},
      {0x64, H(_mm_cmpgt_epi8)}, {0x65, H(_mm_cmpgt_epi16)}, {0x66, H(_mm_cmpgt_epi32)},
      {0xD5, H(_mm_mullo_epi16)}, {0xE5, H(_mm_mulhi_epi16)}, {0xE4, H(_mm_mulhi_epu16)}, {0xF4, H(_mm_mul_epu32)},
      {0xF5, H(_mm_madd_epi16)}, {0xF6, H(_mm_sad_epu8)}, {0xE0, H(_mm_avg_epu8)}, {0xE3, H(_mm_avg_epu16)},
      {0xDA, H(_mm_min_epu8)}, {0xDE, H(_mm_max_epu8)}, {0xEA, H(_mm_min_epi16)}, {0xEE, H(_mm_max_epi16)},
      {0xDB, H(_mm_and_si128)}, {0xDF, H(_mm_andnot_si128)}, {0xEB, H(_mm_or_si128)}, {0xEF, H(_mm_xor_si128)},
      {0x60, H(_mm_unpacklo_epi8)}, {0x61, H(_mm_unpacklo_epi16)}, {0x62, H(_mm_unpacklo_epi32)}, {0x6C, H(_mm_unpacklo_epi64)},
      {0x68, H(_mm_unpackhi_epi8)}, {0x69, H(_mm_unpackhi_epi16)}, {0x6A, H(_mm_unpackhi_epi32)}, {0x6D, H(_mm_unpackhi_epi64)},
      {0x63, H(_mm_packs_epi16)}, {0x6B, H(_mm_packs_epi32)}, {0x67, H(_mm_packus_epi16)},
  };
#undef H
  std::mt19937_64 rng(7);
  for (const Op& op : ops) {
    for (int iter = 0; iter < 4; iter++) {
      __m128i a = _mm_set_epi64x(static_cast<i64>(rng()), static_cast<i64>(rng()));
      __m128i b = _mm_set_epi64x(static_cast<i64>(rng()), static_cast<i64>(rng()));
      if (iter == 3) b = a;   // equal lanes for the compares
      SseEnv e;
      e.set_xmm(0, a);
      e.put128(SseEnv::kData, b);
      e.code({0x66, 0x0F, op.opc, 0x03});   // op xmm0, [rbx]
      ASSERT_EQ(e.run(), -1) << std::hex << int(op.opc);
      EXPECT_TRUE(same(e.xmm(0), op.host(a, b))) << std::hex << int(op.opc);
    }
  }
}

TEST(SseInt, ShiftsAndShuffles) {
  std::mt19937_64 rng(9);
  __m128i a = _mm_set_epi64x(static_cast<i64>(rng()), static_cast<i64>(rng()));
  for (u8 cnt : {0, 1, 7, 15, 16, 31, 33, 64, 200}) {
    SseEnv e;
    for (int r = 0; r < 8; r++) e.set_xmm(r, a);
    e.set_xmm(8, _mm_cvtsi32_si128(cnt));
    e.code({0x66, 0x0F, 0x71, 0xD0, cnt,   // psrlw xmm0, cnt
            0x66, 0x0F, 0x72, 0xE1, cnt,   // psrad xmm1, cnt
            0x66, 0x0F, 0x73, 0xF2, cnt,   // psllq xmm2, cnt
            0x66, 0x0F, 0x73, 0xDB, cnt,   // psrldq xmm3, cnt
            0x66, 0x0F, 0x73, 0xFC, cnt,   // pslldq xmm4, cnt
            0x66, 0x41, 0x0F, 0xE1, 0xE8,  // psraw xmm5, xmm8
            0x66, 0x0F, 0x70, 0xF7, cnt,   // pshufd xmm6, xmm7, cnt
            0xF3, 0x0F, 0x70, 0xFF, cnt}); // pshufhw xmm7, xmm7, cnt
    ASSERT_EQ(e.run(), -1);
    const __m128i c = _mm_cvtsi32_si128(cnt);
    EXPECT_TRUE(same(e.xmm(0), _mm_srl_epi16(a, c))) << int(cnt);
    EXPECT_TRUE(same(e.xmm(1), _mm_sra_epi32(a, c))) << int(cnt);
    EXPECT_TRUE(same(e.xmm(2), _mm_sll_epi64(a, c))) << int(cnt);
    EXPECT_TRUE(same(e.xmm(5), _mm_sra_epi16(a, c))) << int(cnt);
    u8 src[16], r3[16] = {}, r4[16] = {};
    std::memcpy(src, &a, 16);
    for (int i = 0; i < 16; i++) {
      if (i + cnt < 16) r3[i] = src[i + cnt];
      if (i - int(cnt) >= 0) r4[i] = src[i - cnt];
    }
    __m128i e3, e4;
    std::memcpy(&e3, r3, 16);
    std::memcpy(&e4, r4, 16);
    EXPECT_TRUE(same(e.xmm(3), e3)) << int(cnt);
    EXPECT_TRUE(same(e.xmm(4), e4)) << int(cnt);
    u32 d[4], pd[4];
    std::memcpy(d, &a, 16);
    for (int i = 0; i < 4; i++) pd[i] = d[(cnt >> (2 * i)) & 3];
    __m128i e6;
    std::memcpy(&e6, pd, 16);
    EXPECT_TRUE(same(e.xmm(6), e6)) << int(cnt);
    u16 w[8], hw[8];
    std::memcpy(w, &a, 16);
    std::memcpy(hw, w, 16);
    for (int i = 0; i < 4; i++) hw[4 + i] = w[4 + ((cnt >> (2 * i)) & 3)];
    __m128i e7;
    std::memcpy(&e7, hw, 16);
    EXPECT_TRUE(same(e.xmm(7), e7)) << int(cnt);
  }
}

TEST(SseInt, StrlenStyleLoop) {
  // The glibc SSE2 strlen core: pcmpeqb against zero, pmovmskb, bsf.
  SseEnv e;
  const char* str = "hello, retrovisor world";
  e.put(SseEnv::kData, str, 24);
  e.code({0x66, 0x0F, 0xEF, 0xC0,        // pxor xmm0, xmm0
          0xF3, 0x0F, 0x6F, 0x4B, 0x10,  // movdqu xmm1, [rbx+16]
          0x66, 0x0F, 0x74, 0xC8,        // pcmpeqb xmm1, xmm0
          0x66, 0x0F, 0xD7, 0xC1,        // pmovmskb eax, xmm1
          0x0F, 0xBC, 0xC8});            // bsf ecx, eax
  e.put128(SseEnv::kData + 24, _mm_set1_epi8(0x41));
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ(e.s.gpr[RCX] + 16, std::strlen(str));
}

}  // namespace
}  // namespace rv::test
