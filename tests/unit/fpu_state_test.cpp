// FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, the XSAVE family, XGETBV/XSETBV, CPUID leaf 0DH and the
// --cpu models (cpu/interp/fpu_state.cpp, cpu/system_regs.cpp, cpu/cpu_features.cpp).
// Images are compared with what the host CPU itself writes for the same state (loaded with the
// host's FXRSTOR64). Known host differences, checked separately: MXCSR_MASK (AMD sets bit 17,
// MM; we report the Intel value FFFFH), and FIP/FDP/FOP, which AMD saves only while an
// unmasked exception is pending (so the host comparisons use states with one pending).
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

constexpr u64 kGdt = 0x1000, kPml4 = 0x2000, kIdt = 0x5000, kStubs = 0x6000, kCode = 0x10000, kBuf = 0x20000;
constexpr u64 kCr4Base = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt | kCr4Osxsave;

// 64-bit ring-0 machine: identity-mapped first 2 MiB, IDT gates to HLT stubs (one per vector).
struct FpuEnv : CpuEnv {
  CpuState& s = cpu.state();
  void w(u64 pa, u64 v, unsigned n) { mem.write(pa, v, n); }

  FpuEnv() {
    w(kGdt + 8, 0x00AF9A000000FFFFull, 8);    // 0x08: 64-bit code
    w(kGdt + 16, 0x00CF92000000FFFFull, 8);   // 0x10: data
    w(kPml4, (kPml4 + 0x1000) | 3, 8);
    w(kPml4 + 0x1000, (kPml4 + 0x2000) | 3, 8);
    w(kPml4 + 0x2000, 0x83, 8);               // 2 MiB page at 0
    for (unsigned v = 0; v < 32; v++) {
      u64 h = kStubs + 16 * v;
      w(h, 0xF4, 1);
      w(kIdt + 16 * v, (h & 0xFFFF) | (0x08ull << 16) | (0x8Eull << 40) | ((h >> 16 & 0xFFFF) << 48), 8);
      w(kIdt + 16 * v + 8, h >> 32, 8);
    }
    s.gdtr = {kGdt, 23};
    s.idtr = {kIdt, 32 * 16 - 1};
    s.cr0 = kCr0Pe | kCr0Et | kCr0Ne | kCr0Mp | kCr0Pg;
    s.cr4 = kCr4Base;
    s.cr3 = kPml4;
    s.efer = kEferLme | kEferLma;
    s.xcr0 = 3;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
    for (u8 r : {DS, ES, SS, FS, GS}) s.seg[r] = Segment{0x10, 0xC093, 0xFFFFFFFF, 0};
    cpu.state_changed();
  }
  // Runs `code` then HLT; returns the exception vector taken, or -1 if it reached the HLT.
  int exec(std::vector<u8> code) {
    code.push_back(0xF4);
    mem.write_bytes(kCode, code.data(), code.size());
    s.rip = kCode;
    s.gpr[RSP] = 0x80000;
    s.halted = false;
    cpu.state_changed();
    cpu.run(1000);
    if (s.rip == kCode + code.size()) return -1;
    EXPECT_EQ((s.rip - 1 - kStubs) % 16, 0u) << "stopped at " << std::hex << s.rip;
    return static_cast<int>((s.rip - 1 - kStubs) / 16);
  }
  void put(u64 pa, const u8* p, size_t n) { mem.write_bytes(pa, p, n); }
  std::vector<u8> get(u64 pa, size_t n) {
    std::vector<u8> v(n);
    for (size_t i = 0; i < n; i++) v[i] = static_cast<u8>(mem.read(pa + i, 1));
    return v;
  }
  void fill(u64 pa, size_t n, u8 b) {
    std::vector<u8> v(n, b);
    put(pa, v.data(), n);
  }
};

// A legacy-region image with every field random (valid MXCSR) and an unmasked exception
// pending (see the file comment); FIP/FDP canonical.
void random_image(std::mt19937_64& rng, u8* img) {
  for (unsigned i = 0; i < 512; i++) img[i] = static_cast<u8>(rng());
  u16 fcw = static_cast<u16>(rng()) & ~1, fsw = static_cast<u16>(rng()) | 1;
  std::memcpy(img, &fcw, 2);
  std::memcpy(img + 2, &fsw, 2);
  u64 fip = rng() & 0x00007FFFFFFFFFFFull, fdp = rng() & 0x00007FFFFFFFFFFFull;
  std::memcpy(img + 8, &fip, 8);
  std::memcpy(img + 16, &fdp, 8);
  u32 mxcsr = static_cast<u32>(rng()) & 0xFFFF, mask = 0xFFFF;
  std::memcpy(img + 24, &mxcsr, 4);
  std::memcpy(img + 28, &mask, 4);
}

// Host: FXRSTOR64 `in`, then FXSAVE64 into out64, FXSAVE into out32, XSAVE (RFBM = 3) into
// xs; the host's own state is saved and restored around it.
void host_saves(const u8* in, u8* out64, u8* out32, u8* xs) {
  alignas(64) static u8 keep[512];
  asm volatile(
      "fxsave64 (%[keep])\n"
      "fxrstor64 (%[in])\n fxsave64 (%[o64])\n"
      "fxrstor64 (%[in])\n fxsave (%[o32])\n"
      "fxrstor64 (%[in])\n mov $3, %%eax\n xor %%edx, %%edx\n xsave (%[xs])\n"
      "fxrstor64 (%[keep])\n"
      :
      : [keep] "r"(keep), [in] "r"(in), [o64] "r"(out64), [o32] "r"(out32), [xs] "r"(xs)
      : "rax", "rdx", "memory");
}

void expect_same(const std::vector<u8>& ours, const u8* host, unsigned n, const char* what) {
  for (unsigned i = 0; i < n; i++) {
    if (i >= 28 && i < 32) continue;   // MXCSR_MASK: checked separately
    ASSERT_EQ(ours[i], host[i]) << what << " byte " << i;
  }
  EXPECT_EQ(ours[28] | ours[29] << 8 | ours[30] << 16 | ours[31] << 24, 0xFFFF) << what << " MXCSR_MASK";
}

TEST(FpuState, FxsaveAndXsaveImagesMatchHost) {
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 50; iter++) {
    alignas(64) u8 in[512], h64[1024], h32[1024], hx[1024];
    random_image(rng, in);
    std::memset(h64, 0xAA, sizeof h64);
    std::memset(h32, 0xAA, sizeof h32);
    std::memset(hx, 0xAA, sizeof hx);
    host_saves(in, h64, h32, hx);

    FpuEnv e;
    e.put(kBuf, in, 512);
    e.fill(kBuf + 0x1000, 0x3000, 0xAA);
    e.s.gpr[RBX] = kBuf;
    e.s.gpr[RSI] = kBuf + 0x1000;
    e.s.gpr[RDI] = kBuf + 0x2000;
    e.s.gpr[RBP] = kBuf + 0x3000;
    e.s.gpr[RAX] = 3;
    e.s.gpr[RDX] = 0;
    // fxrstor64 [rbx]; fxsave64 [rsi]; fxsave [rdi]; xsave [rbp+0]
    ASSERT_EQ(e.exec({0x48, 0x0F, 0xAE, 0x0B, 0x48, 0x0F, 0xAE, 0x06, 0x0F, 0xAE, 0x07, 0x0F, 0xAE, 0x65, 0x00}), -1);
    expect_same(e.get(kBuf + 0x1000, 1024), h64, 1024, "fxsave64");
    expect_same(e.get(kBuf + 0x2000, 1024), h32, 1024, "fxsave");
    expect_same(e.get(kBuf + 0x3000, 1024), hx, 1024, "xsave");
  }
}

// XSAVE with RFBM = x87 only / SSE only writes only that component (MXCSR goes with SSE) and
// only its XSTATE_BV bit; XSAVE64 stores 64-bit FIP/FDP.
TEST(FpuState, XsavePartialMasksMatchHost) {
  std::mt19937_64 rng(99);
  for (u32 mask : {0u, 1u, 2u, 3u}) {
    alignas(64) u8 in[512], hx[1024], h64[1024], keep[512];
    random_image(rng, in);
    std::memset(hx, 0xAA, sizeof hx);
    std::memset(h64, 0x55, sizeof h64);
    asm volatile(
        "fxsave64 (%[keep])\n fxrstor64 (%[in])\n xor %%edx, %%edx\n mov %[m], %%eax\n"
        "xsave (%[xs])\n xsave64 (%[x64])\n fxrstor64 (%[keep])\n"
        :
        : [keep] "r"(keep), [in] "r"(in), [xs] "r"(hx), [x64] "r"(h64), [m] "r"(mask)
        : "rax", "rdx", "memory");
    FpuEnv e;
    e.put(kBuf, in, 512);
    e.fill(kBuf + 0x1000, 1024, 0xAA);
    e.fill(kBuf + 0x2000, 1024, 0x55);
    e.s.gpr[RBX] = kBuf;
    e.s.gpr[RSI] = kBuf + 0x1000;
    e.s.gpr[RDI] = kBuf + 0x2000;
    e.s.gpr[RAX] = mask;
    e.s.gpr[RDX] = 0;
    // fxrstor64 [rbx]; xsave [rsi]; xsave64 [rdi]
    ASSERT_EQ(e.exec({0x48, 0x0F, 0xAE, 0x0B, 0x0F, 0xAE, 0x26, 0x48, 0x0F, 0xAE, 0x27}), -1);
    std::vector<u8> a = e.get(kBuf + 0x1000, 1024), b = e.get(kBuf + 0x2000, 1024);
    for (unsigned i = 0; i < 1024; i++) {
      if (i >= 28 && i < 32 && (mask & 2)) continue;   // MXCSR_MASK (AMD host: 2FFFFH)
      ASSERT_EQ(a[i], hx[i]) << "xsave rfbm=" << mask << " byte " << i;
      ASSERT_EQ(b[i], h64[i]) << "xsave64 rfbm=" << mask << " byte " << i;
    }
  }
}

TEST(FpuState, XrstorInitStateMatchesHost) {
  std::mt19937_64 rng(777);
  alignas(64) u8 in[1024] = {}, hx[1024], keep[512];
  random_image(rng, in);
  // XSTATE_BV = 0: both components initialised; MXCSR still comes from memory.
  std::memset(hx, 0xAA, sizeof hx);
  asm volatile(
      "fxsave64 (%[keep])\n mov $3, %%eax\n xor %%edx, %%edx\n"
      "xrstor (%[in])\n xsave (%[xs])\n fxrstor64 (%[keep])\n"
      :
      : [keep] "r"(keep), [in] "r"(in), [xs] "r"(hx)
      : "rax", "rdx", "memory");
  FpuEnv e;
  e.put(kBuf, in, 1024);
  e.fill(kBuf + 0x1000, 1024, 0xAA);
  e.s.gpr[RBX] = kBuf;
  e.s.gpr[RSI] = kBuf + 0x1000;
  e.s.gpr[RAX] = 3;
  e.s.gpr[RDX] = 0;
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x2B, 0x0F, 0xAE, 0x26}), -1);   // xrstor [rbx]; xsave [rsi]
  std::vector<u8> ours = e.get(kBuf + 0x1000, 1024);
  expect_same(ours, hx, 1024, "xsave after init");
  EXPECT_EQ(ours[512], 0xA8);   // XSTATE_BV: bits 0,1 = XINUSE = 0, others kept
}

TEST(FpuState, XrstorLoadsOnlyRequestedComponents) {
  FpuEnv e;
  alignas(64) u8 img[1024] = {};
  std::mt19937_64 rng(5);
  random_image(rng, img);
  std::memset(img + 512, 0, 64);
  img[512] = 1;   // XSTATE_BV = x87 only: SSE is initialised (XMM = 0), MXCSR loaded
  e.put(kBuf, img, 1024);
  std::memset(e.s.fpu.fxsave + 160, 0x5A, 256);
  e.s.gpr[RBX] = kBuf;
  e.s.gpr[RAX] = 3;
  e.s.gpr[RDX] = 0;
  ASSERT_EQ(e.exec({0x48, 0x0F, 0xAE, 0x2B}), -1);   // xrstor64 [rbx]
  for (unsigned i = 160; i < 416; i++) ASSERT_EQ(e.s.fpu.fxsave[i], 0) << i;
  EXPECT_EQ(std::memcmp(e.s.fpu.fxsave + 24, img + 24, 4), 0);
  EXPECT_EQ(std::memcmp(e.s.fpu.fxsave + 32, img + 32, 10), 0);   // ST0 loaded
  EXPECT_EQ(std::memcmp(e.s.fpu.fxsave + 8, img + 8, 16), 0);     // 64-bit FIP/FDP
  // RFBM = x87 only (EAX = 1): XMM and MXCSR untouched.
  std::memset(e.s.fpu.fxsave + 160, 0x5A, 256);
  u32 mx = 0x1F80;
  std::memcpy(e.s.fpu.fxsave + 24, &mx, 4);
  e.s.gpr[RAX] = 1;
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x2B}), -1);
  EXPECT_EQ(e.s.fpu.fxsave[160], 0x5A);
  EXPECT_EQ(e.s.fpu.fxsave[24], 0x80);
  // x87 initialised when XSTATE_BV[0] = 0.
  img[512] = 2;
  e.put(kBuf, img, 1024);
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x2B}), -1);
  EXPECT_EQ(e.s.fpu.fxsave[0] | e.s.fpu.fxsave[1] << 8, 0x037F);
  for (unsigned i = 2; i < 24; i++) EXPECT_EQ(e.s.fpu.fxsave[i], 0) << i;
  for (unsigned i = 32; i < 160; i++) ASSERT_EQ(e.s.fpu.fxsave[i], 0) << i;
}

TEST(FpuState, XrstorHeaderChecks) {
  struct Case {
    unsigned off;
    u8 value;
    int vector;
  } cases[] = {
      {512, 4, kGP},       // XSTATE_BV names AVX, not in XCR0
      {520, 1, kGP},       // XCOMP_BV != 0
      {527, 0x80, kGP},    // compacted form
      {528, 1, kGP},       // header bytes 23:16
      {540, 1, -1},        // bytes 63:24 are not checked
      {24, 0, -1},         // MXCSR = 0 is valid
      {26, 1, kGP},        // MXCSR bit 16: reserved (MXCSR_MASK = FFFFH)
  };
  for (const Case& c : cases) {
    FpuEnv e;
    alignas(64) u8 img[1024] = {};
    img[0] = 0x7F;
    img[1] = 0x03;
    img[25] = 0x1F;
    img[24] = 0x80;
    img[512] = 3;
    img[c.off] = c.value;
    e.put(kBuf, img, 1024);
    e.s.gpr[RBX] = kBuf;
    e.s.gpr[RAX] = 3;
    e.s.gpr[RDX] = 0;
    std::memset(e.s.fpu.fxsave + 160, 0x11, 16);
    EXPECT_EQ(e.exec({0x0F, 0xAE, 0x2B}), c.vector) << "byte " << c.off;
    if (c.vector >= 0) {
      EXPECT_EQ(e.s.fpu.fxsave[160], 0x11) << "state changed before the #GP";
    } else {
      EXPECT_EQ(e.s.fpu.fxsave[160], 0) << "XMM0 not loaded";
    }
  }
}

TEST(FpuState, AlignmentAndPreconditionFaults) {
  FpuEnv e;
  e.s.gpr[RBX] = kBuf + 8;   // 16-byte misaligned
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x03}), kGP);   // fxsave
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x0B}), kGP);   // fxrstor
  e.s.gpr[RBX] = kBuf + 32;  // 16- but not 64-byte aligned
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x03}), -1);
  e.s.gpr[RAX] = 3;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x23}), kGP);   // xsave
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x2B}), kGP);   // xrstor
  e.s.gpr[RBX] = kBuf;
  // CR0.TS: #NM for all; CR0.EM: #NM for FXSAVE, #UD for LDMXCSR, nothing for XSAVE.
  e.s.cr0 |= kCr0Ts;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x03}), kNM);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x23}), kNM);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x1B}), kNM);   // stmxcsr
  e.s.cr0 = (e.s.cr0 & ~kCr0Ts) | kCr0Em;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x03}), kNM);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x1B}), kUD);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x23}), -1);
  e.s.cr0 &= ~kCr0Em;
  // CR4.OSXSAVE clear: the XSAVE family and XGETBV are #UD.
  e.s.cr4 = kCr4Pae | kCr4Osfxsr;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x23}), kUD);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x2B}), kUD);
  EXPECT_EQ(e.exec({0x0F, 0x01, 0xD0}), kUD);
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x03}), -1);   // FXSAVE does not need it
  // CR4.OSFXSR clear: LDMXCSR #UD.
  e.s.cr4 = kCr4Pae;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x13}), kUD);
}

TEST(FpuState, FxsaveWithoutOsfxsrSkipsSseState) {
  FpuEnv e;
  e.s.cr4 = kCr4Pae;
  e.fill(kBuf, 512, 0xAA);
  e.s.gpr[RBX] = kBuf;
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x03}), -1);
  std::vector<u8> img = e.get(kBuf, 512);
  EXPECT_EQ(img[0], 0x40);   // power-on FCW 0040H
  for (unsigned i = 24; i < 32; i++) EXPECT_EQ(img[i], 0xAA) << i;
  for (unsigned i = 160; i < 512; i++) ASSERT_EQ(img[i], 0xAA) << i;
  // FXRSTOR neither loads nor checks MXCSR then.
  img[26] = 0xFF;
  img[160] = 0x42;
  e.put(kBuf, img.data(), 512);
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x0B}), -1);
  EXPECT_EQ(e.s.fpu.fxsave[26], 0);
  EXPECT_EQ(e.s.fpu.fxsave[160], 0);
}

TEST(FpuState, FxrstorRejectsReservedMxcsrBits) {
  FpuEnv e;
  alignas(16) u8 img[512] = {};
  u32 mx = 0x10000 | 0x1F80;
  std::memcpy(img + 24, &mx, 4);
  img[160] = 0x77;
  e.put(kBuf, img, 512);
  e.s.gpr[RBX] = kBuf;
  EXPECT_EQ(e.exec({0x0F, 0xAE, 0x0B}), kGP);
  EXPECT_EQ(e.s.fpu.fxsave[160], 0);
  EXPECT_EQ(e.s.fpu.fxsave[0], 0x40);   // x87 part not loaded either
}

TEST(FpuState, LdmxcsrStmxcsr) {
  FpuEnv e;
  e.s.gpr[RBX] = kBuf;
  e.w(kBuf, 0xFFBF, 4);   // every defined bit incl. DAZ
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x13, 0x0F, 0xAE, 0x5B, 0x10}), -1);   // ldmxcsr [rbx]; stmxcsr [rbx+16]
  EXPECT_EQ(e.mem.read(kBuf + 16, 4), 0xFFBFu);
  for (u32 bad : {0x10000u, 0x80000000u}) {
    e.w(kBuf, 0x1F80 | bad, 4);
    EXPECT_EQ(e.exec({0x0F, 0xAE, 0x13}), kGP);
    EXPECT_EQ(e.mem.read(kBuf + 16, 4), 0xFFBFu);
  }
  // The host agrees about the value it stores back.
  u32 host_in = 0xFFBF, host_out = 0, keep = 0;
  asm volatile("stmxcsr %0\n ldmxcsr %2\n stmxcsr %1\n ldmxcsr %0" : "+m"(keep), "=m"(host_out) : "m"(host_in));
  EXPECT_EQ(host_out, 0xFFBFu);
}

TEST(FpuState, XgetbvXsetbv) {
  FpuEnv e;
  auto xsetbv = [&](u32 ecx, u64 v) {
    e.s.gpr[RCX] = ecx;
    e.s.gpr[RAX] = v & 0xFFFFFFFF;
    e.s.gpr[RDX] = v >> 32;
    return e.exec({0x0F, 0x01, 0xD1});
  };
  EXPECT_EQ(xsetbv(0, 1), -1);
  EXPECT_EQ(e.s.xcr0, 1u);
  EXPECT_EQ(xsetbv(0, 0), kGP);          // bit 0 must stay set
  EXPECT_EQ(xsetbv(0, 2), kGP);
  EXPECT_EQ(xsetbv(0, 7), kGP);          // AVX not supported
  EXPECT_EQ(xsetbv(0, 1ull << 32 | 3), kGP);
  EXPECT_EQ(xsetbv(1, 3), kGP);          // only XCR0
  EXPECT_EQ(e.s.xcr0, 1u);
  EXPECT_EQ(xsetbv(0, 3), -1);
  e.s.gpr[RCX] = 0;
  ASSERT_EQ(e.exec({0x0F, 0x01, 0xD0}), -1);
  EXPECT_EQ(e.s.gpr[RAX], 3u);
  EXPECT_EQ(e.s.gpr[RDX], 0u);
  e.s.gpr[RCX] = 1;   // XGETBV ECX=1 needs CPUID.(0DH,1):EAX[2], not advertised
  EXPECT_EQ(e.exec({0x0F, 0x01, 0xD0}), kGP);
  // XSAVE honours XCR0: with XCR0 = 1 only the x87 part and XSTATE_BV[0] are written.
  ASSERT_EQ(xsetbv(0, 1), -1);
  e.fill(kBuf, 1024, 0xAA);
  e.s.gpr[RBX] = kBuf;
  e.s.gpr[RAX] = 3;
  e.s.gpr[RDX] = 0;
  ASSERT_EQ(e.exec({0x0F, 0xAE, 0x23}), -1);
  std::vector<u8> img = e.get(kBuf, 1024);
  EXPECT_EQ(img[0], 0x40);
  EXPECT_EQ(img[24], 0xAA);
  EXPECT_EQ(img[160], 0xAA);
  EXPECT_EQ(img[512], 0xAB);   // x87 not in init (FCW 0040H); bit 1 untouched
  for (unsigned i = 513; i < 1024; i++) ASSERT_EQ(img[i], 0xAA) << i;
}

// Outside 64-bit mode (here: compatibility mode) only XMM0..7 exist for FXSAVE/XSAVE: bytes
// 288..415 are neither written nor loaded, and FIP/FDP use the 32-bit format.
TEST(FpuState, CompatibilityModeSavesEightXmmRegisters) {
  FpuEnv e;
  e.w(kGdt + 24, 0x00CF9B000000FFFFull, 8);   // 0x18: 32-bit code
  std::memset(e.s.fpu.fxsave + 160, 0x11, 256);
  u64 fip = 0x123456789A;
  std::memcpy(e.s.fpu.fxsave + 8, &fip, 8);
  e.fill(kBuf, 1024, 0xAA);
  e.s.gpr[RBX] = kBuf;
  e.s.gpr[RSI] = kBuf + 0x400;
  e.s.gpr[RAX] = 3;
  e.s.gpr[RDX] = 0;
  e.fill(kBuf + 0x400, 1024, 0xAA);
  std::vector<u8> code = {0x0F, 0xAE, 0x03, 0x0F, 0xAE, 0x26, 0xF4};   // fxsave [ebx]; xsave [esi]; hlt
  e.mem.write_bytes(kCode, code.data(), code.size());
  e.s.seg[CS] = Segment{0x18, 0xC09B, 0xFFFFFFFF, 0};
  e.s.rip = kCode;
  e.s.gpr[RSP] = 0x80000;
  e.cpu.state_changed();
  ASSERT_EQ(e.cpu.mode(), CpuMode::Prot32);
  e.cpu.run(100);
  ASSERT_EQ(e.s.rip, kCode + code.size());
  for (u64 base : {kBuf, kBuf + 0x400}) {
    std::vector<u8> img = e.get(base, 512);
    EXPECT_EQ(img[8] | img[9] << 8 | img[10] << 16 | u32(img[11]) << 24, 0x3456789Au);
    for (unsigned i = 12; i < 16; i++) EXPECT_EQ(img[i], 0) << i;   // FCS = 0, reserved
    for (unsigned i = 160; i < 288; i++) ASSERT_EQ(img[i], 0x11) << i;
    for (unsigned i = 288; i < 512; i++) ASSERT_EQ(img[i], 0xAA) << i;
  }
  // FXRSTOR leaves XMM8..15 alone.
  std::vector<u8> img = e.get(kBuf, 512);
  std::memset(img.data() + 160, 0x22, 352);
  e.put(kBuf, img.data(), 512);
  code = {0x0F, 0xAE, 0x0B, 0xF4};   // fxrstor [ebx]; hlt
  e.mem.write_bytes(kCode, code.data(), code.size());
  e.s.rip = kCode;
  e.s.halted = false;
  e.cpu.state_changed();
  e.cpu.run(100);
  ASSERT_EQ(e.s.rip, kCode + code.size());
  EXPECT_EQ(e.s.fpu.fxsave[160], 0x22);
  EXPECT_EQ(e.s.fpu.fxsave[287], 0x22);
  EXPECT_EQ(e.s.fpu.fxsave[288], 0x11);
  EXPECT_EQ(e.s.fpu.fxsave[415], 0x11);
  u64 fip_after;
  std::memcpy(&fip_after, e.s.fpu.fxsave + 8, 8);
  EXPECT_EQ(fip_after, 0x3456789Au);   // 32-bit format: FIP[31:0], zero-extended
}

std::array<u32, 4> cpuid(FpuEnv& e, u32 leaf, u32 sub) {
  e.s.gpr[RAX] = leaf;
  e.s.gpr[RCX] = sub;
  EXPECT_EQ(e.exec({0x0F, 0xA2}), -1);
  return {u32(e.s.gpr[RAX]), u32(e.s.gpr[RBX]), u32(e.s.gpr[RCX]), u32(e.s.gpr[RDX])};
}

TEST(FpuState, CpuidExtendedStateLeaf) {
  FpuEnv e;
  EXPECT_GE(cpuid(e, 0, 0)[0], 0xDu);
  auto l1 = cpuid(e, 1, 0);
  for (unsigned b : {0u, 9u, 13u, 19u, 20u, 22u, 23u, 26u, 27u}) EXPECT_TRUE(l1[2] >> b & 1) << "ECX bit " << b;
  for (unsigned b : {1u, 12u, 25u, 28u, 29u, 30u}) EXPECT_FALSE(l1[2] >> b & 1) << "ECX bit " << b;   // no PCLMUL FMA AES AVX F16C RDRAND
  for (unsigned b : {0u, 23u, 24u, 25u, 26u}) EXPECT_TRUE(l1[3] >> b & 1) << "EDX bit " << b;
  EXPECT_EQ(cpuid(e, 0xD, 0), (std::array<u32, 4>{3, 576, 576, 0}));
  EXPECT_EQ(cpuid(e, 0xD, 1), (std::array<u32, 4>{1, 0, 0, 0}));
  EXPECT_EQ(cpuid(e, 0xD, 2), (std::array<u32, 4>{0, 0, 0, 0}));
  EXPECT_EQ(cpuid(e, 7, 0)[1] & (1u << 5), 0u);   // no AVX2
  // OSXSAVE follows CR4.
  e.s.cr4 &= ~kCr4Osxsave;
  EXPECT_FALSE(cpuid(e, 1, 0)[2] >> 27 & 1);
  // MOV CR4 can set it back (XSAVE is advertised).
  e.s.gpr[RAX] = kCr4Base;
  EXPECT_EQ(e.exec({0x0F, 0x22, 0xE0}), -1);   // mov cr4, rax
  EXPECT_TRUE(cpuid(e, 1, 0)[2] >> 27 & 1);
}

TEST(FpuState, CpuModelV1) {
  ASSERT_FALSE(CpuFeatures::named("pentium"));
  FpuEnv e;
  e.cpu.set_features(*CpuFeatures::named("v1"));
  auto l1 = cpuid(e, 1, 0);
  EXPECT_EQ(l1[2] & ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 26)), 0u);
  EXPECT_TRUE(l1[3] >> 26 & 1);   // SSE2 stays
  EXPECT_EQ(cpuid(e, 0xD, 0)[0], 0u);
  EXPECT_EQ(cpuid(e, 0x80000001, 0)[2] & 1, 0u);
  // CR4.OSXSAVE cannot be set without XSAVE.
  e.s.gpr[RAX] = kCr4Base;
  EXPECT_EQ(e.exec({0x0F, 0x22, 0xE0}), kGP);
  e.s.gpr[RCX] = 0xF0;
  EXPECT_EQ(e.exec({0xF3, 0x0F, 0xB8, 0xC1}), kUD);         // popcnt eax, ecx
  EXPECT_EQ(e.exec({0x48, 0x0F, 0xC7, 0x0B}), kUD);         // cmpxchg16b [rbx]
  EXPECT_EQ(e.exec({0x9F}), kUD);                           // lahf in 64-bit mode
  EXPECT_EQ(e.exec({0x66, 0x0F, 0x38, 0x00, 0xC1}), kUD);   // pshufb (SSSE3)
  EXPECT_EQ(e.exec({0xF2, 0x0F, 0x38, 0xF0, 0xC1}), kUD);   // crc32 (SSE4.2)
  EXPECT_EQ(e.exec({0xDD, 0x0B}), kUD);                     // fisttp qword [rbx] (SSE3)
  ASSERT_EQ(e.exec({0xF3, 0x0F, 0xBD, 0xC1}), -1);          // lzcnt eax, ecx = bsr
  EXPECT_EQ(e.s.gpr[RAX], 7u);
  ASSERT_EQ(e.exec({0xF3, 0x0F, 0xBC, 0xC1}), -1);          // tzcnt eax, ecx = bsf
  EXPECT_EQ(e.s.gpr[RAX], 4u);
  // The max model runs them.
  FpuEnv m;
  m.s.gpr[RCX] = 0xF0;
  ASSERT_EQ(m.exec({0xF3, 0x0F, 0xB8, 0xC1}), -1);
  EXPECT_EQ(m.s.gpr[RAX], 4u);
  ASSERT_EQ(m.exec({0xF3, 0x0F, 0xBD, 0xC1}), -1);
  EXPECT_EQ(m.s.gpr[RAX], 24u);
}

}  // namespace
}  // namespace rv::test
