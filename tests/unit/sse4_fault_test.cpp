// SSSE3 / SSE4 / CRC32 exception paths and state rules that the host oracle cannot show:
// CR0/CR4 gating (#UD, #NM, #MF), 16-byte alignment #GP, unmasked SIMD exceptions (#XM or
// #UD, destination untouched, MXCSR flags), the MMX TOP/tag transition, LOCK, and CRC32
// against an independent bit-at-a-time CRC-32C.
#include <gtest/gtest.h>

#include "tests/unit/sse4_env.h"

namespace rv::test::sse4 {
namespace {

void set_xmm(Guest& g, unsigned i, u64 lo, u64 hi) {
  std::memcpy(g.xmm(i), &lo, 8);
  std::memcpy(g.xmm(i) + 8, &hi, 8);
}
u64 xmm_lo(Guest& g, unsigned i) {
  u64 v;
  std::memcpy(&v, g.xmm(i), 8);
  return v;
}
u64 xmm_hi(Guest& g, unsigned i) {
  u64 v;
  std::memcpy(&v, g.xmm(i) + 8, 8);
  return v;
}
u64 f32x2(float a, float b) {
  u32 x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x | (static_cast<u64>(y) << 32);
}

const std::vector<u8> kPshufbXmm = {0x66, 0x0F, 0x38, 0x00, 0xC1};   // pshufb xmm0, xmm1
const std::vector<u8> kPabsbMm = {0x0F, 0x38, 0x1C, 0xCA};           // pabsb mm1, mm2
const std::vector<u8> kCrc32Eax = {0xF2, 0x0F, 0x38, 0xF1, 0xC3};    // crc32 eax, ebx

TEST(Sse4Faults, OsfxsrClearMakesXmmFormsUndefinedButNotMmxOrCrc32) {
  Guest g;
  g.s.cr4 &= ~kCr4Osfxsr;
  set_xmm(g, 0, 0x1111, 0x2222);
  g.load(kPshufbXmm);
  EXPECT_EQ(g.run_checked(), kUD);
  EXPECT_EQ(xmm_lo(g, 0), 0x1111u);
  g.load({0x66, 0x0F, 0x3A, 0x0B, 0xC1, 0x00});   // roundsd xmm0, xmm1, 0
  EXPECT_EQ(g.run_checked(), kUD);
  g.load(kPabsbMm);
  EXPECT_EQ(g.run_checked(), -1);
  g.load(kCrc32Eax);
  EXPECT_EQ(g.run_checked(), -1);
}

TEST(Sse4Faults, EmulationAndTaskSwitchedFlags) {
  Guest g;
  g.s.cr0 |= kCr0Em;
  g.cpu.state_changed();
  g.load(kPshufbXmm);
  EXPECT_EQ(g.run_checked(), kUD);
  g.load(kPabsbMm);
  EXPECT_EQ(g.run_checked(), kUD);
  g.load(kCrc32Eax);   // a general-purpose instruction: no FPU gating
  EXPECT_EQ(g.run_checked(), -1);

  g.s.cr0 = (g.s.cr0 & ~kCr0Em) | kCr0Ts;
  g.cpu.state_changed();
  g.load(kPshufbXmm);
  EXPECT_EQ(g.run_checked(), kNM);
  g.load(kPabsbMm);
  EXPECT_EQ(g.run_checked(), kNM);
  g.load({0x66, 0x0F, 0x3A, 0x63, 0xC1, 0x0C});   // pcmpistri
  EXPECT_EQ(g.run_checked(), kNM);
  g.load(kCrc32Eax);
  EXPECT_EQ(g.run_checked(), -1);
}

TEST(Sse4Faults, MmxFormsReportPendingX87Exception) {
  Guest g;
  u16 fsw = 0x8081;   // B, ES, IE
  std::memcpy(g.s.fpu.fxsave + 2, &fsw, 2);
  g.load(kPabsbMm);   // IE masked in FCW (037Fh): nothing pending
  EXPECT_EQ(g.run_checked(), -1);
  std::memcpy(g.s.fpu.fxsave + 2, &fsw, 2);
  u16 fcw = 0x037E;   // IE unmasked: the exception is pending
  std::memcpy(g.s.fpu.fxsave + 0, &fcw, 2);
  g.load(kPabsbMm);
  EXPECT_EQ(g.run_checked(), kMF);
  g.load(kPshufbXmm);   // SSE forms do not look at the x87 state
  EXPECT_EQ(g.run_checked(), -1);
}

TEST(Sse4Faults, LockPrefixIsUndefined) {
  Guest g;
  g.load({0xF0, 0x66, 0x0F, 0x38, 0x40, 0x06});   // lock pmulld xmm0, [rsi]
  g.s.gpr[RSI] = kData;
  EXPECT_EQ(g.run_checked(), kUD);
}

TEST(Sse4Faults, SixteenByteOperandsMustBeAligned) {
  struct Case {
    std::vector<u8> code;
    bool faults;
  };
  const Case cases[] = {
      {{0x66, 0x0F, 0x38, 0x40, 0x46, 0x01}, true},         // pmulld xmm0, [rsi+1]
      {{0x66, 0x0F, 0x38, 0x2A, 0x46, 0x08}, true},         // movntdqa xmm0, [rsi+8]
      {{0x66, 0x0F, 0x38, 0x17, 0x46, 0x04}, true},         // ptest xmm0, [rsi+4]
      {{0x66, 0x0F, 0x38, 0x00, 0x46, 0x02}, true},         // pshufb xmm0, [rsi+2]
      {{0x66, 0x0F, 0x3A, 0x08, 0x46, 0x01, 0x00}, true},   // roundps xmm0, [rsi+1], 0
      {{0x66, 0x0F, 0x3A, 0x40, 0x46, 0x01, 0xFF}, true},   // dpps xmm0, [rsi+1], 0xFF
      {{0x66, 0x0F, 0x3A, 0x0F, 0x46, 0x01, 0x03}, true},   // palignr xmm0, [rsi+1], 3
      {{0x66, 0x0F, 0x3A, 0x63, 0x46, 0x01, 0x0C}, false},  // pcmpistri: unaligned allowed
      {{0x66, 0x0F, 0x3A, 0x61, 0x46, 0x03, 0x0C}, false},  // pcmpestri
      {{0x66, 0x0F, 0x38, 0x30, 0x46, 0x01}, false},        // pmovzxbw xmm0, [rsi+1] (m64)
      {{0x66, 0x0F, 0x3A, 0x0A, 0x46, 0x01, 0x00}, false},  // roundss xmm0, [rsi+1] (m32)
      {{0x0F, 0x38, 0x00, 0x46, 0x01}, false},              // pshufb mm0, [rsi+1] (m64)
      {{0x66, 0x0F, 0x38, 0x40, 0x46, 0x10}, false},        // pmulld xmm0, [rsi+16]
  };
  for (const Case& c : cases) {
    Guest g;
    g.s.gpr[RSI] = kData;
    set_xmm(g, 0, 0xAAAA, 0xBBBB);
    g.load(c.code);
    int v = g.run_checked();
    EXPECT_EQ(v, c.faults ? kGP : -1) << "code byte 4: " << int(c.code[3]) << " disp " << int(c.code.back());
    if (c.faults) {
      EXPECT_EQ(xmm_lo(g, 0), 0xAAAAu);
      EXPECT_EQ(xmm_hi(g, 0), 0xBBBBu);
    }
  }
}

// roundps xmm1, xmm2, imm: 1.5 is inexact under every rounding mode.
TEST(Sse4Faults, UnmaskedPrecisionRaisesXmOrUdAndKeepsDestination) {
  for (bool osxmm : {true, false}) {
    Guest g;
    if (!osxmm) g.s.cr4 &= ~kCr4Osxmmexcpt;
    g.set_mxcsr(0x1F80 & ~0x1000);   // PM clear
    set_xmm(g, 1, 0x1234, 0x5678);
    set_xmm(g, 2, f32x2(1.5f, 2.0f), f32x2(-3.0f, 4.0f));
    g.load({0x66, 0x0F, 0x3A, 0x08, 0xCA, 0x00});
    EXPECT_EQ(g.run_checked(), osxmm ? kXM : kUD);
    EXPECT_EQ(xmm_lo(g, 1), 0x1234u);
    EXPECT_EQ(xmm_hi(g, 1), 0x5678u);
    EXPECT_EQ(g.mxcsr() & 0x3F, 0x20u);   // PE recorded
  }
  // imm8[3] suppresses the precision exception: no fault, result written, PE stays clear.
  Guest g;
  g.set_mxcsr(0x1F80 & ~0x1000);
  set_xmm(g, 2, f32x2(1.5f, 2.0f), f32x2(-3.5f, 4.0f));
  g.load({0x66, 0x0F, 0x3A, 0x08, 0xCA, 0x08});   // round to nearest even, inexact suppressed
  EXPECT_EQ(g.run_checked(), -1);
  EXPECT_EQ(xmm_lo(g, 1), f32x2(2.0f, 2.0f));
  EXPECT_EQ(xmm_hi(g, 1), f32x2(-4.0f, 4.0f));
  EXPECT_EQ(g.mxcsr() & 0x3F, 0u);
  // Masked precision: result written and PE set.
  Guest m;
  set_xmm(m, 2, f32x2(2.5f, 0.0f), 0);
  m.load({0x66, 0x0F, 0x3A, 0x0A, 0xCA, 0x01});   // roundss xmm1, xmm2, floor
  EXPECT_EQ(m.run_checked(), -1);
  EXPECT_EQ(static_cast<u32>(xmm_lo(m, 1)), static_cast<u32>(f32x2(2.0f, 0)));
  EXPECT_EQ(m.mxcsr() & 0x3F, 0x20u);
}

// A signalling NaN is a pre-computation invalid operation: with IM clear it stops DPPS before
// the post-computation precision exception is looked at (SDM Vol.1 §11.5.1).
TEST(Sse4Faults, UnmaskedInvalidStopsBeforePostComputationExceptions) {
  Guest g;
  g.set_mxcsr(0x1F80 & ~0x0080);   // IM clear, PM masked
  const u32 snan = 0x7FA00000;
  set_xmm(g, 0, f32x2(1.0f, 2.0f), f32x2(3.0f, 4.0f));
  set_xmm(g, 1, snan | (static_cast<u64>(0x3DCCCCCD) << 32), f32x2(1.0f, 3.0f));   // sNaN, 0.1
  g.load({0x66, 0x0F, 0x3A, 0x40, 0xC1, 0xFF});   // dpps xmm0, xmm1, 0xFF
  EXPECT_EQ(g.run_checked(), kXM);
  EXPECT_EQ(xmm_lo(g, 0), f32x2(1.0f, 2.0f));
  EXPECT_EQ(g.mxcsr() & 0x3F, 0x01u);   // IE only
}

// 2^-70 * 2^-70 = 2^-140 is tiny but exact (a single-precision denormal). Masked UE: no flag,
// exact result. Unmasked UE: underflow is signalled for any tiny result (SDM Vol.1 §4.9.1.5).
TEST(Sse4Faults, UnmaskedUnderflowIncludesExactTinyResults) {
  const u32 two_m70 = (127 - 70) << 23, two_m140 = 1u << (149 - 140);
  for (bool unmasked : {false, true}) {
    Guest g;
    g.set_mxcsr(unmasked ? 0x1F80 & ~0x0800 : 0x1F80);
    set_xmm(g, 0, two_m70, 0);
    set_xmm(g, 1, two_m70, 0);
    g.load({0x66, 0x0F, 0x3A, 0x40, 0xC1, 0x11});   // dpps xmm0, xmm1, 0x11
    EXPECT_EQ(g.run_checked(), unmasked ? kXM : -1);
    EXPECT_EQ(xmm_lo(g, 0), unmasked ? two_m70 : two_m140);
    // (DE may also be set: the denormal product is an operand of DPPS's additions.)
    EXPECT_EQ(g.mxcsr() & 0x10, unmasked ? 0x10u : 0u);
  }
}

// With TOP = 3, MMi is ST((i - 3) & 7). After an MMX instruction TOP = 0, every tag is valid,
// and each physical register keeps its contents (now at ST(i) = Ri).
TEST(Sse4Faults, MmxFormsResetTopAndTags) {
  Guest g;
  u16 fsw = 3 << 11;
  std::memcpy(g.s.fpu.fxsave + 2, &fsw, 2);
  g.s.fpu.fxsave[4] = 0x00;   // all empty
  u64 phys[8];
  for (unsigned i = 0; i < 8; i++) {
    phys[i] = 0x0101010101010101ull * (i + 1) | (i == 2 ? 0x8080808080808080ull : 0);
    u8* slot = g.st((i - 3) & 7);
    std::memcpy(slot, &phys[i], 8);
    slot[8] = static_cast<u8>(0x10 + i);   // exponent bytes, to see which are replaced
    slot[9] = 0x40;
  }
  g.load(kPabsbMm);   // mm1 = |mm2| per byte
  ASSERT_EQ(g.run_checked(), -1);
  std::memcpy(&fsw, g.s.fpu.fxsave + 2, 2);
  EXPECT_EQ((fsw >> 11) & 7, 0u);
  EXPECT_EQ(g.s.fpu.fxsave[4], 0xFF);
  u64 want1 = 0;
  for (unsigned b = 0; b < 8; b++) {
    i8 x = static_cast<i8>(phys[2] >> (8 * b));
    want1 |= static_cast<u64>(static_cast<u8>(x < 0 ? -x : x)) << (8 * b);
  }
  for (unsigned i = 0; i < 8; i++) {
    u64 v;
    std::memcpy(&v, g.st(i), 8);
    EXPECT_EQ(v, i == 1 ? want1 : phys[i]) << "R" << i;
    EXPECT_EQ(g.st(i)[8], i == 1 ? 0xFF : 0x10 + i) << "R" << i;
    EXPECT_EQ(g.st(i)[9], i == 1 ? 0xFF : 0x40) << "R" << i;
  }
}

// PTEST sets ZF and CF from the AND / ANDN tests and clears AF OF PF SF.
TEST(Sse4Semantics, PtestFlags) {
  struct Case {
    u64 d_lo, d_hi, s_lo, s_hi;
  };
  const Case cases[] = {{0xF0, 0, 0x0F, 0}, {0xFF, 1, 0x0F, 1}, {0, 0, 0, 0}, {1, 0, 2, 0x8000000000000000}};
  for (const Case& c : cases) {
    Guest g;
    set_xmm(g, 3, c.d_lo, c.d_hi);
    set_xmm(g, 4, c.s_lo, c.s_hi);
    g.cpu.set_rflags(kArithFlags | kFixed1);
    g.load({0x66, 0x0F, 0x38, 0x17, 0xDC});   // ptest xmm3, xmm4
    ASSERT_EQ(g.run_checked(), -1);
    const bool zf = ((c.d_lo & c.s_lo) | (c.d_hi & c.s_hi)) == 0;
    const bool cf = ((~c.d_lo & c.s_lo) | (~c.d_hi & c.s_hi)) == 0;
    EXPECT_EQ(g.cpu.rflags() & kArithFlags, (zf ? u64{kFlagZF} : 0) | (cf ? u64{kFlagCF} : 0));
  }
}

// Bit-at-a-time CRC-32C (reflected polynomial 82F63B78h), no final inversion: what CRC32 does.
u32 crc32c_ref(u32 crc, u64 data, unsigned bytes) {
  for (unsigned i = 0; i < 8 * bytes; i++) {
    const u32 bit = (crc ^ static_cast<u32>(data >> i)) & 1;
    crc = (crc >> 1) ^ (bit ? 0x82F63B78u : 0);
  }
  return crc;
}

TEST(Sse4Semantics, Crc32AllSourceSizes) {
  const u64 src = 0x0123456789ABCDEFull;
  struct Case {
    std::vector<u8> code;
    unsigned bytes;
  };
  const Case cases[] = {
      {{0xF2, 0x0F, 0x38, 0xF0, 0xC3}, 1},              // crc32 eax, bl
      {{0xF2, 0x0F, 0x38, 0xF0, 0xC7}, 1},              // crc32 eax, bh (no REX)
      {{0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xC3}, 2},        // crc32 eax, bx
      {{0xF2, 0x0F, 0x38, 0xF1, 0xC3}, 4},              // crc32 eax, ebx
      {{0xF2, 0x48, 0x0F, 0x38, 0xF1, 0xC3}, 8},        // crc32 rax, rbx
      {{0xF2, 0x48, 0x0F, 0x38, 0xF0, 0xC3}, 1},        // crc32 rax, bl
      {{0xF2, 0x0F, 0x38, 0xF1, 0x06}, 4},              // crc32 eax, dword [rsi]
  };
  for (const Case& c : cases) {
    Guest g;
    g.s.gpr[RAX] = 0xFFFFFFFF00C0FFEEull;
    g.s.gpr[RBX] = src;
    g.s.gpr[RSI] = kData;
    g.mem.write(kData, src, 8);
    g.cpu.set_rflags(kFlagCF | kFlagZF | kFixed1);
    g.load(c.code);
    ASSERT_EQ(g.run_checked(), -1);
    const u64 data = c.code[4] == 0xC7 ? (src >> 8) : src;   // BH
    EXPECT_EQ(g.s.gpr[RAX], crc32c_ref(0x00C0FFEE, data, c.bytes)) << "bytes " << c.bytes;
    EXPECT_EQ(g.cpu.rflags() & kArithFlags, u64{kFlagCF | kFlagZF});
  }
}

// MOVBE keeps 0F 38 F0/F1 without F2.
TEST(Sse4Semantics, MovbeStillDecodes) {
  Guest g;
  g.s.gpr[RSI] = kData;
  g.mem.write(kData, 0x11223344, 4);
  g.load({0x0F, 0x38, 0xF0, 0x06});   // movbe eax, [rsi]
  ASSERT_EQ(g.run_checked(), -1);
  EXPECT_EQ(g.s.gpr[RAX], 0x44332211u);
}

// The legacy modes decode the same encodings (66 is both operand size and mandatory prefix).
TEST(Sse4Semantics, RealModePshufb) {
  CpuEnv e;
  e.real_mode_code(0x1000, {0x66, 0x0F, 0x38, 0x00, 0xC1});   // pshufb xmm0, xmm1
  e.cpu.state().cr4 |= kCr4Osfxsr;
  e.cpu.state_changed();
  u8* x = e.cpu.state().fpu.fxsave + 160;
  for (unsigned i = 0; i < 16; i++) {
    x[i] = static_cast<u8>(0xA0 + i);
    x[16 + i] = static_cast<u8>(i == 3 ? 0x80 : 15 - i);   // reverse, byte 3 zeroed
  }
  EXPECT_EQ(e.run(), StopReason::Halted);
  for (unsigned i = 0; i < 16; i++) EXPECT_EQ(x[i], i == 3 ? 0 : 0xA0 + 15 - i) << i;
}

}  // namespace
}  // namespace rv::test::sse4

namespace rv::test::sse4 {
namespace {

// 32-bit protected mode (flat, no paging): the default operand size is 32, REX does not exist.
TEST(Sse4Semantics, ProtectedMode32ExtractCrcInsert) {
  CpuEnv e;
  CpuState& s = e.cpu.state();
  const std::vector<u8> code = {
      0x66, 0x0F, 0x3A, 0x16, 0xC8, 0x02,   // pextrd eax, xmm1, 2
      0xF2, 0x0F, 0x38, 0xF1, 0xD8,         // crc32 ebx, eax
      0x66, 0x0F, 0x3A, 0x22, 0xD3, 0x01,   // pinsrd xmm2, ebx, 1
      0xF4};
  e.mem.write_bytes(0x1000, code.data(), code.size());
  s.cr0 = kCr0Pe | kCr0Mp | kCr0Ne;
  s.cr4 = kCr4Osfxsr;
  s.seg[CS] = Segment{0x08, 0x409B, 0xFFFFFFFF, 0};
  for (int r : {ES, SS, DS, FS, GS}) s.seg[r] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
  s.rip = 0x1000;
  s.gpr[RBX] = 0x12345678;
  const u32 x1[4] = {0x11111111, 0x22222222, 0xCAFEBABE, 0x44444444};
  std::memcpy(s.fpu.fxsave + 160 + 16, x1, 16);
  e.cpu.state_changed();
  ASSERT_EQ(e.run(), StopReason::Halted);
  EXPECT_EQ(s.gpr[RAX], 0xCAFEBABEu);
  const u32 crc = crc32c_ref(0x12345678, 0xCAFEBABE, 4);
  EXPECT_EQ(s.gpr[RBX], crc);
  u32 x2[4];
  std::memcpy(x2, s.fpu.fxsave + 160 + 32, 16);
  EXPECT_EQ(x2[1], crc);
  EXPECT_EQ(x2[0], 0u);
}

// Real mode: the default operand size is 16, so F2 0F 38 F1 takes a 16-bit source and 66
// selects the 32-bit one; the destination is a 32-bit register either way.
TEST(Sse4Semantics, RealModeCrc32OperandSizes) {
  for (bool p66 : {false, true}) {
    CpuEnv e;
    std::vector<u8> code = {0xF2, 0x0F, 0x38, 0xF1, 0xC3};   // crc32 eax, bx / ebx
    if (p66) code.insert(code.begin(), 0x66);
    e.real_mode_code(0x1000, code);
    e.cpu.state().gpr[RAX] = 0xFFFFFFFF;
    e.cpu.state().gpr[RBX] = 0x89ABCDEF;
    EXPECT_EQ(e.run(), StopReason::Halted);
    EXPECT_EQ(e.cpu.state().gpr[RAX] & 0xFFFFFFFF, crc32c_ref(0xFFFFFFFF, 0x89ABCDEF, p66 ? 4 : 2));
  }
}

}  // namespace
}  // namespace rv::test::sse4
