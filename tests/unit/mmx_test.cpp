// MMX and the SSE additions on MMX registers (cpu/interp/mmx.cpp, sse_int.cpp MMX forms,
// sse_convert.cpp CVT*PI*): results against scalar reference models written here, the x87 ->
// MMX transition (TOP = 0, all tags valid, ST slots rotated so physical registers stay), EMMS,
// and the MMX preconditions (CR0.EM -> #UD, CR0.TS -> #NM, pending x87 exception -> #MF, no
// CR4.OSFXSR needed).
#include <random>

#include "tests/unit/sse_env.h"

namespace rv::test {
namespace {

u64 lanes(u64 a, u64 b, unsigned bits, u64 (*f)(u64, u64, unsigned)) {
  u64 r = 0, m = bits == 64 ? ~0ull : (1ull << bits) - 1;
  for (unsigned i = 0; i < 64; i += bits) r |= (f((a >> i) & m, (b >> i) & m, bits) & m) << i;
  return r;
}
i64 sx(u64 v, unsigned bits) { return static_cast<i64>(v << (64 - bits)) >> (64 - bits); }
u64 sat_s(i64 v, unsigned bits) {
  i64 lo = -(1ll << (bits - 1)), hi = (1ll << (bits - 1)) - 1;
  return static_cast<u64>(v < lo ? lo : v > hi ? hi : v);
}
u64 sat_u(i64 v, unsigned bits) {
  i64 hi = (1ll << bits) - 1;
  return static_cast<u64>(v < 0 ? 0 : v > hi ? hi : v);
}

TEST(Mmx, LaneOpsMatchReference) {
  struct Op { u8 opc; unsigned bits; u64 (*f)(u64, u64, unsigned); };
  const Op ops[] = {
      {0xFC, 8, [](u64 a, u64 b, unsigned) { return a + b; }},
      {0xFE, 32, [](u64 a, u64 b, unsigned) { return a + b; }},
      {0xD4, 64, [](u64 a, u64 b, unsigned) { return a + b; }},
      {0xF9, 16, [](u64 a, u64 b, unsigned) { return a - b; }},
      {0xEC, 8, [](u64 a, u64 b, unsigned n) { return sat_s(sx(a, n) + sx(b, n), n); }},
      {0xE9, 16, [](u64 a, u64 b, unsigned n) { return sat_s(sx(a, n) - sx(b, n), n); }},
      {0xDC, 8, [](u64 a, u64 b, unsigned n) { return sat_u(i64(a) + i64(b), n); }},
      {0xD9, 16, [](u64 a, u64 b, unsigned n) { return sat_u(i64(a) - i64(b), n); }},
      {0x74, 8, [](u64 a, u64 b, unsigned) -> u64 { return a == b ? ~u64{0} : 0; }},
      {0x65, 16, [](u64 a, u64 b, unsigned n) -> u64 { return sx(a, n) > sx(b, n) ? ~u64{0} : 0; }},
      {0xD5, 16, [](u64 a, u64 b, unsigned n) { return u64(sx(a, n) * sx(b, n)); }},
      {0xE5, 16, [](u64 a, u64 b, unsigned n) { return u64((sx(a, n) * sx(b, n)) >> 16); }},
      {0xE4, 16, [](u64 a, u64 b, unsigned) { return (a * b) >> 16; }},
      {0xE0, 8, [](u64 a, u64 b, unsigned) { return (a + b + 1) >> 1; }},
      {0xDA, 8, [](u64 a, u64 b, unsigned) { return a < b ? a : b; }},
      {0xEE, 16, [](u64 a, u64 b, unsigned n) { return sx(a, n) > sx(b, n) ? a : b; }},
      {0xF4, 64, [](u64 a, u64 b, unsigned) { return (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF); }},
      {0xDF, 64, [](u64 a, u64 b, unsigned) { return ~a & b; }},
  };
  std::mt19937_64 rng(3);
  for (const Op& op : ops) {
    for (int it = 0; it < 4; it++) {
      u64 a = rng(), b = it == 3 ? a : rng();
      SseEnv e;
      e.set_mm(0, a);
      e.set_mm(1, b);
      e.code({0x0F, op.opc, 0xC1});
      ASSERT_EQ(e.run(), -1) << std::hex << int(op.opc);
      EXPECT_EQ(e.mm(0), lanes(a, b, op.bits, op.f)) << std::hex << int(op.opc);
      EXPECT_EQ(e.mm(1), b);
    }
  }
}

TEST(Mmx, PackUnpackPmaddSad) {
  const u64 a = 0x8000'7FFF'0100'FF80ull, b = 0x0001'FFFF'0080'007Full;
  SseEnv e;
  for (int r = 0; r < 6; r++) e.set_mm(r, a);
  e.set_mm(7, b);
  e.mem.write(SseEnv::kData, 0x44332211, 4);
  e.mem.write(SseEnv::kData + 4, 0xDEADBEEF, 4);   // beyond the m32 operand: unused
  e.code({0x0F, 0x63, 0xC7,    // packsswb mm0, mm7
          0x0F, 0x67, 0xCF,    // packuswb mm1, mm7
          0x0F, 0x68, 0xD7,    // punpckhbw mm2, mm7
          0x0F, 0x60, 0x1B,    // punpcklbw mm3, [rbx] (m32)
          0x0F, 0xF5, 0xE7,    // pmaddwd mm4, mm7
          0x0F, 0xF6, 0xEF});  // psadbw mm5, mm7
  ASSERT_EQ(e.run(), -1);
  u64 pss = 0, pus = 0, hbw = 0, lbw = 0, madd = 0, sad = 0;
  for (int i = 0; i < 4; i++) {
    pss |= (sat_s(sx(a >> (16 * i), 16), 8) & 0xFF) << (8 * i);
    pss |= (sat_s(sx(b >> (16 * i), 16), 8) & 0xFF) << (8 * (i + 4));
    pus |= sat_u(sx(a >> (16 * i), 16), 8) << (8 * i);
    pus |= sat_u(sx(b >> (16 * i), 16), 8) << (8 * (i + 4));
    hbw |= ((a >> (8 * (i + 4))) & 0xFF) << (16 * i);
    hbw |= ((b >> (8 * (i + 4))) & 0xFF) << (16 * i + 8);
    lbw |= ((a >> (8 * i)) & 0xFF) << (16 * i);
    lbw |= ((0x44332211ull >> (8 * i)) & 0xFF) << (16 * i + 8);
  }
  for (int i = 0; i < 2; i++) {
    i64 s = sx(a >> (32 * i), 16) * sx(b >> (32 * i), 16) + sx(a >> (32 * i + 16), 16) * sx(b >> (32 * i + 16), 16);
    madd |= (u64(s) & 0xFFFFFFFF) << (32 * i);
  }
  for (int i = 0; i < 8; i++) {
    int x = (a >> (8 * i)) & 0xFF, y = (b >> (8 * i)) & 0xFF;
    sad += x > y ? x - y : y - x;
  }
  EXPECT_EQ(e.mm(0), pss);
  EXPECT_EQ(e.mm(1), pus);
  EXPECT_EQ(e.mm(2), hbw);
  EXPECT_EQ(e.mm(3), lbw);
  EXPECT_EQ(e.mm(4), madd);
  EXPECT_EQ(e.mm(5), sad);
}

TEST(Mmx, ShiftsShuffleInsertExtract) {
  const u64 a = 0x8123'4567'89AB'CDEFull;
  SseEnv e;
  for (int r = 0; r < 6; r++) e.set_mm(r, a);
  e.set_mm(7, 4);
  e.s.gpr[RAX] = 0xFFFF'1234;
  e.code({0x0F, 0x73, 0xD0, 0x04,        // psrlq mm0, 4
          0x0F, 0x71, 0xE1, 0x03,        // psraw mm1, 3
          0x0F, 0xF2, 0xD7,              // pslld mm2, mm7
          0x0F, 0x70, 0xDB, 0x1B,        // pshufw mm3, mm3, 0x1B (reverse)
          0x0F, 0xC4, 0xE0, 0x02,        // pinsrw mm4, eax, 2
          0x0F, 0xC5, 0xCD, 0x03,        // pextrw ecx, mm5, 3
          0x0F, 0xD7, 0xD5});            // pmovmskb edx, mm5
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ(e.mm(0), a >> 4);
  u64 sra = 0, sll = 0, rev = 0;
  for (int i = 0; i < 4; i++) {
    sra |= (u64(sx(a >> (16 * i), 16) >> 3) & 0xFFFF) << (16 * i);
    rev |= ((a >> (16 * (3 - i))) & 0xFFFF) << (16 * i);
  }
  for (int i = 0; i < 2; i++) sll |= ((((a >> (32 * i)) & 0xFFFFFFFF) << 4) & 0xFFFFFFFF) << (32 * i);
  EXPECT_EQ(e.mm(1), sra);
  EXPECT_EQ(e.mm(2), sll);
  EXPECT_EQ(e.mm(3), rev);
  EXPECT_EQ(e.mm(4), (a & ~0xFFFF'0000'0000ull) | (0x1234ull << 32));
  EXPECT_EQ(e.s.gpr[RCX], 0x8123u);
  u64 msk = 0;
  for (int i = 0; i < 8; i++) msk |= ((a >> (8 * i + 7)) & 1) << i;
  EXPECT_EQ(e.s.gpr[RDX], msk);
}

TEST(Mmx, MovdMovqAndXmmTransfers) {
  SseEnv e;
  e.s.gpr[RAX] = 0x1122334455667788ull;
  e.set_xmm(2, _mm_set_epi64x(0x7777, 0x0102030405060708));
  e.code({0x0F, 0x6E, 0xC0,          // movd mm0, eax
          0x48, 0x0F, 0x6E, 0xC8,    // movq mm1, rax
          0x0F, 0x7F, 0x0B,          // movq [rbx], mm1
          0x48, 0x0F, 0x7E, 0xC1,    // movq rcx, mm0
          0xF2, 0x0F, 0xD6, 0xD2,    // movdq2q mm2, xmm2
          0xF3, 0x0F, 0xD6, 0xD9});  // movq2dq xmm3, mm1
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ(e.mm(0), 0x55667788u);
  EXPECT_EQ(e.mm(1), 0x1122334455667788ull);
  EXPECT_EQ(e.mem.read(SseEnv::kData, 8), 0x1122334455667788ull);
  EXPECT_EQ(e.s.gpr[RCX], 0x55667788u);
  EXPECT_EQ(e.mm(2), 0x0102030405060708ull);
  EXPECT_TRUE(same(e.xmm(3), _mm_set_epi64x(0, 0x1122334455667788ll)));
}

TEST(Mmx, TransitionRotatesToTopZeroAndEmmsEmpties) {
  SseEnv e;
  // TOP = 3; slot j (ST(j)) holds a pattern naming it. Physical Ri = ST((i - 3) & 7).
  e.set_fsw(3 << 11);
  for (int j = 0; j < 8; j++) {
    u64 v = 0x1000 + j;
    std::memcpy(e.s.fpu.fxsave + 32 + 16 * j, &v, 8);
    e.s.fpu.fxsave[32 + 16 * j + 8] = static_cast<u8>(j);
    e.s.fpu.fxsave[32 + 16 * j + 9] = 0x40;
  }
  e.s.fpu.fxsave[4] = 0x0F;
  e.code({0x0F, 0x6F, 0xC1});   // movq mm0, mm1: mm1 = R1 = ST(6) = 0x1006
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ((e.fsw() >> 11) & 7, 0);
  EXPECT_EQ(e.ftw(), 0xFF);
  EXPECT_EQ(e.mm(0), 0x1006u);
  EXPECT_EQ(e.s.fpu.fxsave[32 + 8], 0xFF);   // written register: exponent all ones
  EXPECT_EQ(e.s.fpu.fxsave[32 + 9], 0xFF);
  for (int i = 1; i < 8; i++) {
    EXPECT_EQ(e.mm(i), 0x1000u + ((i - 3) & 7)) << i;   // physical registers kept their contents
    EXPECT_EQ(e.s.fpu.fxsave[32 + 16 * i + 8], (i - 3) & 7) << i;
  }
  SseEnv f;
  f.code({0x0F, 0xEF, 0xC0, 0x0F, 0x77});   // pxor mm0, mm0; emms
  ASSERT_EQ(f.run(), -1);
  EXPECT_EQ(f.ftw(), 0x00);
  // EMMS alone also sets TOP to 0 (hardware behaviour: FNSTSW shows TOP 0 after it).
  SseEnv g;
  g.set_fsw(7 << 11);
  g.s.fpu.fxsave[4] = 0x80;   // R7 valid = ST(0)
  u64 v = 0x123456789ull;
  std::memcpy(g.s.fpu.fxsave + 32, &v, 8);
  g.code({0x0F, 0x77});
  ASSERT_EQ(g.run(), -1);
  EXPECT_EQ((g.fsw() >> 11) & 7, 0);
  EXPECT_EQ(g.ftw(), 0x00);
  EXPECT_EQ(g.mm(7), 0x123456789ull);   // physical R7 keeps its contents
}

TEST(Mmx, Preconditions) {
  {
    SseEnv e;   // no OSFXSR needed, even for the SSE additions (pavgb mm)
    e.s.cr4 &= ~(kCr4Osfxsr | kCr4Osxmmexcpt);
    e.code({0x0F, 0xFC, 0xC1, 0x0F, 0xE0, 0xC1});
    EXPECT_EQ(e.run(), -1);
  }
  {
    SseEnv e;
    e.s.cr0 |= kCr0Em;
    e.code({0x0F, 0xFC, 0xC1});
    EXPECT_EQ(e.run(), kUD);
  }
  {
    SseEnv e;
    e.s.cr0 |= kCr0Ts;
    e.code({0x0F, 0x77});
    EXPECT_EQ(e.run(), kNM);
  }
  {
    SseEnv e;   // pending unmasked x87 divide-by-zero: #MF, MMX state untouched
    u16 fcw = 0x037B;   // ZM clear
    std::memcpy(e.s.fpu.fxsave, &fcw, 2);
    e.set_fsw(0x0084 | (5 << 11));   // ZE, ES, TOP=5
    e.code({0x0F, 0x6F, 0xC1});
    EXPECT_EQ(e.run(), kMF);
    EXPECT_EQ((e.fsw() >> 11) & 7, 5);
    EXPECT_EQ(e.ftw(), 0x00);
  }
  {
    SseEnv e;   // a faulting memory operand leaves the x87 state alone
    e.set_fsw(2 << 11);
    e.s.gpr[RBX] = 0x0000800000000000ull;   // non-canonical
    e.code({0x0F, 0x6F, 0x03});
    EXPECT_EQ(e.run(), kGP);
    EXPECT_EQ((e.fsw() >> 11) & 7, 2);
    EXPECT_EQ(e.ftw(), 0x00);
  }
}

TEST(Mmx, SseConversionsWithMmx) {
  SseEnv e;
  e.set_xmm(0, _mm_set1_epi32(0x3F800000));
  e.set_xmm(2, _mm_castps_si128(_mm_setr_ps(2.5f, -1.5f, 9.0f, 9.0f)));
  e.set_fsw(1 << 11);
  e.code({0x0F, 0x2A, 0xC1,    // cvtpi2ps xmm0, mm1
          0x0F, 0x2D, 0xDA,    // cvtps2pi mm3, xmm2 (nearest even: 2, -2)
          0x0F, 0x2C, 0xE2});  // cvttps2pi mm4, xmm2 (truncate: 2, -1)
  // TOP = 1: mm1 is physical R1 = ST(0), slot 0.
  const u64 src = (u64(u32(-3)) << 32) | 7;
  std::memcpy(e.s.fpu.fxsave + 32, &src, 8);
  ASSERT_EQ(e.run(), -1);
  EXPECT_TRUE(same(e.xmm_ps(0), _mm_setr_ps(7.0f, -3.0f, 1.0f, 1.0f)));
  EXPECT_EQ(e.mm(3), (u64(u32(-2)) << 32) | 2);
  EXPECT_EQ(e.mm(4), (u64(u32(-1)) << 32) | 2);
  EXPECT_EQ((e.fsw() >> 11) & 7, 0);
  EXPECT_EQ(e.mxcsr(), 0x1F80u | 0x20u);   // precision from 2.5 and -1.5
}

TEST(Mmx, CvtToPiEntersMmxStateBeforeXm) {
  SseEnv e;
  e.set_fsw(4 << 11);
  e.set_mxcsr(0x1F80 & ~0x80u);   // IM clear
  e.set_xmm_ps(2, _mm_setr_ps(3e9f, 1.0f, 0, 0));   // out of range: invalid
  e.code({0x0F, 0x2C, 0xE2});   // cvttps2pi mm4, xmm2
  EXPECT_EQ(e.run(), kXM);
  EXPECT_EQ((e.fsw() >> 11) & 7, 0);   // as the hardware does (oracle harness)
  EXPECT_EQ(e.ftw(), 0xFF);
  EXPECT_EQ(e.mxcsr(), (0x1F80u & ~0x80u) | 1u);
  EXPECT_EQ(e.s.fpu.fxsave[32 + 16 * 4 + 8], 0);   // mm4 not written
}

TEST(Mmx, MaskmovqAndMovntq) {
  SseEnv e;
  e.s.gpr[RDI] = SseEnv::kData + 1;
  e.mem.write(SseEnv::kData + 1, 0xAAAAAAAAAAAAAAAAull, 8);
  e.set_mm(0, 0x0807060504030201ull);
  e.set_mm(1, 0x8000000000FF0080ull);
  e.code({0x0F, 0xF7, 0xC1,          // maskmovq mm0, mm1
          0x0F, 0xE7, 0x43, 0x10});  // movntq [rbx+16], mm0
  ASSERT_EQ(e.run(), -1);
  EXPECT_EQ(e.mem.read(SseEnv::kData + 1, 8), 0x08AAAAAAAA03AA01ull);
  EXPECT_EQ(e.mem.read(SseEnv::kData + 16, 8), 0x0807060504030201ull);
}

}  // namespace
}  // namespace rv::test
