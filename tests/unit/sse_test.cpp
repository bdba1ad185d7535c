// SSE/SSE2 data movement and packed integer operations (cpu/interp/sse_move.cpp, sse_int.cpp):
// results compared with host intrinsics, the CR0/CR4 preconditions, the 16-byte alignment #GP
// of legacy SSE memory operands and segment limits. Floating point: sse_fp_test.cpp.
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
