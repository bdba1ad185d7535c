// Integer-ISA handlers (cpu/interp/{shift,muldiv,bitops,integer,string}.cpp): the tricky flag
// rules, faults, and the REP string machinery. Expected values come from independent
// reference models written here (bit-at-a-time loops) or from the SDM's worked rules.
#include <gtest/gtest.h>

#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

constexpr u64 kCode = 0x1000;

// Records the first exception and stops the run there.
class FaultHook final : public TraceHook {
 public:
  explicit FaultHook(Cpu& cpu) : m_cpu(cpu) {}
  void before(const Cpu&, u64, const u8*, unsigned) override {}
  void after(const Cpu&) override {}
  void exception(const Cpu&, u8 vector, bool has_error, u32 error) override {
    if (m_vector < 0) { m_vector = vector; m_error = error; }
    m_cpu.request_stop();
  }
  int m_vector = -1;
  u32 m_error = 0;

 private:
  Cpu& m_cpu;
};

struct IntEnv : CpuEnv {
  CpuState& s = cpu.state();

  void code(std::vector<u8> c) { real_mode_code(kCode, std::move(c)); }
  void flags(u64 f) { cpu.set_rflags(f | kFixed1); }
  u64 flags_now() { return cpu.rflags() & kArithFlags; }
  u16 r16(Gpr r) { return s.gpr[r] & 0xFFFF; }
  u8 r8(Gpr r) { return s.gpr[r] & 0xFF; }
  // Runs to the HLT; returns the first exception vector, or -1.
  int run_checked(u64 n = 100000) {
    FaultHook hook(cpu);
    cpu.set_trace(&hook);
    StopReason why = cpu.run(n);
    cpu.set_trace(nullptr);
    if (hook.m_vector < 0) {
      EXPECT_TRUE(why == StopReason::Halted || why == StopReason::HaltIdle);
    }
    last_error = hook.m_error;
    return hook.m_vector;
  }
  u32 last_error = 0;

  // 64-bit mode with the low 2 MiB identity-mapped through 4 KiB pages (RW) whose page table
  // entries can be changed with set_pte.
  u64 pt = 0;
  void long_mode_code(std::vector<u8> c) {
    c.push_back(0xF4);
    mem.write_bytes(kCode, c.data(), c.size());
    const u64 pml4 = 0x100000, pdpt = 0x101000, pd = 0x102000;
    pt = 0x103000;
    for (u64 t = pml4; t < pt + 0x1000; t += 8) mem.write(t, 0, 8);
    mem.write(pml4, pdpt | 7, 8);
    mem.write(pdpt, pd | 7, 8);
    mem.write(pd, pt | 7, 8);
    for (u64 i = 0; i < 512; i++) mem.write(pt + 8 * i, (i << 12) | 7, 8);
    s.cr0 = kCr0Pe | kCr0Pg | kCr0Wp;   // WP: supervisor writes honour read-only pages
    s.cr4 = kCr4Pae;
    s.efer = kEferLme | kEferLma;
    s.cr3 = pml4;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
    s.seg[SS] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    for (int r : {ES, DS, FS, GS}) s.seg[r] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    s.rip = kCode;
    s.gpr[RSP] = 0x80000;
    cpu.state_changed();
  }
  void set_pte(u64 va, u64 flags) {
    mem.write(pt + 8 * (va >> 12), (va & ~0xFFFull) | flags, 8);
    cpu.tlb_flush(true);
  }
};

// ---- shifts and rotates ----

TEST(Shift, MaskedCountOfZeroChangesNothing) {
  for (u8 cl : {0x00, 0x20, 0x40, 0xE0}) {   // all mask to 0 for an 8-bit operand
    IntEnv e;
    e.code({0xD2, 0xE0});   // shl al, cl
    e.s.gpr[RAX] = 0x81;
    e.s.gpr[RCX] = cl;
    e.flags(kFlagCF | kFlagOF | kFlagZF | kFlagAF);
    e.run();
    EXPECT_EQ(e.r8(RAX), 0x81) << int(cl);
    EXPECT_EQ(e.flags_now(), kFlagCF | kFlagOF | kFlagZF | kFlagAF) << int(cl);
  }
}

TEST(Shift, CountOfOneFlags) {
  struct Case { u8 op; u8 al; u8 res; bool cf, of; };
  const Case cases[] = {
      {0xE0, 0x40, 0x80, false, true},    // SHL: OF = MSB(result) ^ CF
      {0xE0, 0xC0, 0x80, true, false},
      {0xE8, 0x80, 0x40, false, true},    // SHR: OF = MSB(original)
      {0xE8, 0x01, 0x00, true, false},
      {0xF8, 0x81, 0xC0, true, false},    // SAR: OF = 0
      {0xF0, 0x40, 0x80, false, true},    // SAL (/6) = SHL
  };
  for (const Case& c : cases) {
    IntEnv e;
    e.code({0xD0, c.op});   // grp2 al, 1
    e.s.gpr[RAX] = c.al;
    e.flags(0);
    e.run();
    EXPECT_EQ(e.r8(RAX), c.res) << std::hex << int(c.op) << " " << int(c.al);
    EXPECT_EQ(e.cpu.cf(), c.cf) << std::hex << int(c.op) << " " << int(c.al);
    EXPECT_EQ(e.cpu.of(), c.of) << std::hex << int(c.op) << " " << int(c.al);
    EXPECT_EQ(e.cpu.zf(), c.res == 0);
    EXPECT_EQ(e.cpu.sf(), (c.res & 0x80) != 0);
  }
}

TEST(Shift, CountsBeyondTheWidth) {
  IntEnv e;
  // shl al, 8 -> 0, CF = old bit 0; shl al, 9 -> 0, CF = 0 (everything shifted out).
  e.code({0xC0, 0xE0, 0x08});
  e.s.gpr[RAX] = 0xFF;
  e.run();
  EXPECT_EQ(e.r8(RAX), 0);
  EXPECT_TRUE(e.cpu.cf());
  IntEnv f;
  f.code({0xC0, 0xE0, 0x09});
  f.s.gpr[RAX] = 0xFF;
  f.run();
  EXPECT_EQ(f.r8(RAX), 0);
  EXPECT_FALSE(f.cpu.cf());
  EXPECT_TRUE(f.cpu.zf());
  // sar al, 20 fills with the sign, CF = sign.
  IntEnv g;
  g.code({0xC0, 0xF8, 20});
  g.s.gpr[RAX] = 0x80;
  g.run();
  EXPECT_EQ(g.r8(RAX), 0xFF);
  EXPECT_TRUE(g.cpu.cf());
  // 32-bit shift count 33 masks to 1 (66 D3 E0: shl eax, cl in real mode).
  IntEnv h;
  h.code({0x66, 0xD3, 0xE0});
  h.s.gpr[RAX] = 0x40000001;
  h.s.gpr[RCX] = 33;
  h.run();
  EXPECT_EQ(h.s.gpr[RAX], 0x80000002u);
  EXPECT_TRUE(h.cpu.of());
}

// Reference: rotate through carry one bit at a time.
void rc_ref(bool left, unsigned width, u64& v, bool& cf, unsigned count) {
  u64 top = 1ull << (width - 1);
  for (unsigned i = 0; i < count; i++) {
    bool out = left ? (v & top) : (v & 1);
    v = left ? ((v << 1) & ((top << 1) - 1)) | cf : (v >> 1) | (cf ? top : 0);
    cf = out;
  }
}

TEST(Shift, RotateThroughCarryWithLargeCounts) {
  for (bool left : {true, false}) {
    for (unsigned width : {8u, 16u}) {
      for (unsigned count = 1; count < 32; count += 3) {
        for (bool cf_in : {false, true}) {
          IntEnv e;
          u8 modrm = left ? 0xD0 : 0xD8;   // /2 RCL, /3 RCR, rm = AL/AX
          e.code({static_cast<u8>(width == 8 ? 0xD2 : 0xD3), modrm});
          u64 v = width == 8 ? 0x5A : 0xA55A;
          e.s.gpr[RAX] = v;
          e.s.gpr[RCX] = count;
          e.flags(cf_in ? u64(kFlagCF) : 0);
          e.run();
          bool cf = cf_in;
          rc_ref(left, width, v, cf, count);
          EXPECT_EQ(e.s.gpr[RAX] & ((1u << width) - 1), v) << left << " w" << width << " n" << count << " cf" << cf_in;
          EXPECT_EQ(e.cpu.cf(), cf) << left << " w" << width << " n" << count << " cf" << cf_in;
        }
      }
    }
  }
}

TEST(Shift, RotateLeavesOtherFlags) {
  IntEnv e;
  e.code({0xD2, 0xC0});   // rol al, cl
  e.s.gpr[RAX] = 0x81;
  e.s.gpr[RCX] = 1;
  e.flags(kFlagZF | kFlagSF | kFlagPF);
  e.run();
  EXPECT_EQ(e.r8(RAX), 0x03);
  EXPECT_TRUE(e.cpu.cf());
  EXPECT_TRUE(e.cpu.zf() && e.cpu.sf() && e.cpu.pf());   // untouched by rotates
}

TEST(Shift, ShldAndShrd) {
  IntEnv e;
  e.code({0x0F, 0xA4, 0xD8, 0x04});   // shld ax, bx, 4
  e.s.gpr[RAX] = 0x1234;
  e.s.gpr[RBX] = 0xABCD;
  e.run();
  EXPECT_EQ(e.r16(RAX), 0x234A);
  EXPECT_TRUE(e.cpu.cf());   // last bit out: bit 12 of 0x1234 = 1
  IntEnv f;
  f.code({0x0F, 0xAC, 0xD8, 0x04});   // shrd ax, bx, 4
  f.s.gpr[RAX] = 0x1234;
  f.s.gpr[RBX] = 0xABCD;
  f.run();
  EXPECT_EQ(f.r16(RAX), 0xD123);
  EXPECT_FALSE(f.cpu.cf());   // bit 3 of 0x1234
}

TEST(Shift, SixtyFourBitCountMaskIsSixBits) {
  IntEnv e;
  e.long_mode_code({0x48, 0xD3, 0xE0});   // shl rax, cl
  e.s.gpr[RAX] = 1;
  e.s.gpr[RCX] = 63;
  EXPECT_EQ(e.run_checked(), -1);
  EXPECT_EQ(e.s.gpr[RAX], 1ull << 63);
}

TEST(Shift, FaultingWriteLeavesFlagsAndReportsAWrite) {
  // rol word [rbx], cl on a read-only page: #PF (a write), flags and memory unchanged.
  IntEnv e;
  e.long_mode_code({0x66, 0xD3, 0x03});
  e.s.gpr[RBX] = 0x5000;
  e.s.gpr[RCX] = 1;
  e.mem.write(0x5000, 0x8001, 2);
  e.set_pte(0x5000, 0x5);
  e.flags(kFlagZF);
  EXPECT_EQ(e.run_checked(), kPF);
  EXPECT_EQ(e.last_error & 2, 2u);
  EXPECT_EQ(e.flags_now(), kFlagZF);
  EXPECT_EQ(e.mem.read(0x5000, 2), 0x8001u);
  // bts [rbx], ecx on a not-present page: read with write intent, so W/R = 1 in the error.
  IntEnv f;
  f.long_mode_code({0x0F, 0xAB, 0x0B});
  f.s.gpr[RBX] = 0x5000;
  f.set_pte(0x5000, 0);
  EXPECT_EQ(f.run_checked(), kPF);
  EXPECT_EQ(f.last_error & 3, 2u);   // not present, write
}

// ---- multiply and divide ----

TEST(MulDiv, DivideErrors) {
  struct Case { std::vector<u8> code; u16 ax; u16 bx; };
  const Case cases[] = {
      {{0xF6, 0xF3}, 0x1000, 0x10},   // div bl: quotient 0x100 does not fit
      {{0xF6, 0xF3}, 0x1000, 0x00},   // div bl: divide by zero
      {{0xF6, 0xFB}, 0x0080, 0x01},   // idiv bl: +128 does not fit
      {{0xD4, 0x00}, 0x1234, 0x00},   // aam 0
  };
  for (const Case& c : cases) {
    IntEnv e;
    e.code(c.code);
    e.s.gpr[RAX] = c.ax;
    e.s.gpr[RBX] = c.bx;
    EXPECT_EQ(e.run_checked(), kDE);
    EXPECT_EQ(e.r16(RAX), c.ax);   // nothing changed
  }
  IntEnv ok;
  ok.code({0xF6, 0xFB});   // idiv bl: -128 / 1 fits
  ok.s.gpr[RAX] = 0xFF80;
  ok.s.gpr[RBX] = 1;
  EXPECT_EQ(ok.run_checked(), -1);
  EXPECT_EQ(ok.r16(RAX), 0x0080);
}

TEST(MulDiv, MultiplyOverflowFlags) {
  IntEnv e;
  e.code({0x69, 0xC3, 0x00, 0x01});   // imul ax, bx, 0x100
  e.s.gpr[RBX] = 0x0080;
  e.run();
  EXPECT_EQ(e.r16(RAX), 0x8000);
  EXPECT_TRUE(e.cpu.cf() && e.cpu.of());   // +32768 does not fit in 16 signed bits
  IntEnv f;
  f.code({0xF6, 0xE3});   // mul bl
  f.s.gpr[RAX] = 0x10;
  f.s.gpr[RBX] = 0x0F;
  f.run();
  EXPECT_EQ(f.r16(RAX), 0xF0);
  EXPECT_FALSE(f.cpu.cf() || f.cpu.of());
  IntEnv g;
  g.long_mode_code({0x48, 0xF7, 0xF1});   // div rcx (128-bit dividend)
  g.s.gpr[RDX] = 1;
  g.s.gpr[RAX] = 0;
  g.s.gpr[RCX] = 2;
  EXPECT_EQ(g.run_checked(), -1);
  EXPECT_EQ(g.s.gpr[RAX], 1ull << 63);
  EXPECT_EQ(g.s.gpr[RDX], 0u);
}

// ---- bit scans and tests ----

TEST(Bits, BsfZeroSourceLeavesDestination) {
  IntEnv e;
  e.code({0x0F, 0xBC, 0xC3});   // bsf ax, bx
  e.s.gpr[RAX] = 0x7777;
  e.s.gpr[RBX] = 0;
  e.run();
  EXPECT_EQ(e.r16(RAX), 0x7777);
  EXPECT_TRUE(e.cpu.zf());
  IntEnv f;
  f.code({0x0F, 0xBD, 0xC3});   // bsr ax, bx
  f.s.gpr[RBX] = 0x0120;
  f.run();
  EXPECT_EQ(f.r16(RAX), 8);
  EXPECT_FALSE(f.cpu.zf());
}

TEST(Bits, BitOffsetBeyondTheOperand) {
  IntEnv e;
  e.code({0x0F, 0xAB, 0x06, 0x00, 0x06});   // bts [0x600], ax
  e.s.gpr[RAX] = 35;                         // word at 0x604, bit 3
  e.run();
  EXPECT_EQ(e.mem.read(0x604, 2), 0x0008u);
  EXPECT_FALSE(e.cpu.cf());
  IntEnv f;
  f.code({0x0F, 0xA3, 0x06, 0x00, 0x06});   // bt [0x600], ax
  f.mem.write(0x5FE, 0x8000, 2);
  f.s.gpr[RAX] = 0xFFFF;                     // -1: word at 0x5FE, bit 15
  f.run();
  EXPECT_TRUE(f.cpu.cf());
}

TEST(Bits, CountInstructions) {
  IntEnv e;
  e.long_mode_code({0xF3, 0x48, 0x0F, 0xB8, 0xC1,    // popcnt rax, rcx
                    0xF3, 0x0F, 0xBD, 0xD1,          // lzcnt edx, ecx
                    0xF3, 0x0F, 0xBC, 0xD9});        // tzcnt ebx, ecx
  e.s.gpr[RCX] = 0xF000000000000F00ull;
  EXPECT_EQ(e.run_checked(), -1);
  EXPECT_EQ(e.s.gpr[RAX], 8u);
  EXPECT_EQ(e.s.gpr[RDX], 20u);   // ECX = 0x00000F00
  EXPECT_EQ(e.s.gpr[RBX], 8u);
  EXPECT_FALSE(e.cpu.cf());
}

// ---- CMPXCHG, XADD, misc ----

TEST(Exchange, CmpxchgFailureWritesTheDestination) {
  // A failing compare still writes the memory destination: on a read-only page it faults
  // with a write #PF and changes nothing.
  IntEnv e;
  e.long_mode_code({0x0F, 0xB1, 0x13});   // cmpxchg [rbx], edx
  e.s.gpr[RBX] = 0x5000;
  e.mem.write(0x5000, 0x11111111, 4);
  e.s.gpr[RAX] = 0x22222222;
  e.set_pte(0x5000, 0x5);   // present, user, read-only
  EXPECT_EQ(e.run_checked(), kPF);
  EXPECT_EQ(e.last_error & 2, 2u);   // W/R bit: a write
  EXPECT_EQ(e.s.gpr[RAX], 0x22222222u);
  // Writable: the accumulator gets the destination, ZF = 0, memory unchanged.
  IntEnv f;
  f.long_mode_code({0x0F, 0xB1, 0x13});
  f.s.gpr[RBX] = 0x5000;
  f.mem.write(0x5000, 0x11111111, 4);
  f.s.gpr[RAX] = 0xFFFFFFFF22222222ull;
  EXPECT_EQ(f.run_checked(), -1);
  EXPECT_EQ(f.s.gpr[RAX], 0x11111111u);   // 32-bit load zero-extends
  EXPECT_FALSE(f.cpu.zf());
  EXPECT_EQ(f.mem.read(0x5000, 4), 0x11111111u);
}

TEST(Exchange, CmpxchgRegisterForms) {
  IntEnv e;   // success: dest = src, accumulator untouched (upper half kept)
  e.long_mode_code({0x0F, 0xB1, 0xD1});   // cmpxchg ecx, edx
  e.s.gpr[RAX] = 0xAAAAAAAA00000005ull;
  e.s.gpr[RCX] = 0xBBBBBBBB00000005ull;
  e.s.gpr[RDX] = 0x77;
  EXPECT_EQ(e.run_checked(), -1);
  EXPECT_TRUE(e.cpu.zf());
  EXPECT_EQ(e.s.gpr[RCX], 0x77u);
  EXPECT_EQ(e.s.gpr[RAX], 0xAAAAAAAA00000005ull);
  IntEnv f;   // failure: accumulator = dest (zero-extended), dest untouched
  f.long_mode_code({0x0F, 0xB1, 0xD1});
  f.s.gpr[RAX] = 0xAAAAAAAA00000005ull;
  f.s.gpr[RCX] = 0xBBBBBBBB00000006ull;
  EXPECT_EQ(f.run_checked(), -1);
  EXPECT_FALSE(f.cpu.zf());
  EXPECT_EQ(f.s.gpr[RAX], 6u);
  EXPECT_EQ(f.s.gpr[RCX], 0xBBBBBBBB00000006ull);
}

TEST(Exchange, Cmpxchg16bNeedsAlignment) {
  IntEnv e;
  e.long_mode_code({0x48, 0x0F, 0xC7, 0x0B});   // cmpxchg16b [rbx]
  e.s.gpr[RBX] = 0x5008;
  EXPECT_EQ(e.run_checked(), kGP);
  IntEnv f;
  f.long_mode_code({0xF0, 0x48, 0x0F, 0xC7, 0x0B});   // lock cmpxchg16b [rbx]
  f.s.gpr[RBX] = 0x5000;
  f.mem.write(0x5000, 1, 8);
  f.mem.write(0x5008, 2, 8);
  f.s.gpr[RAX] = 1;
  f.s.gpr[RDX] = 2;
  f.s.gpr[RBX] = 0x5000;
  f.s.gpr[RCX] = 4;
  EXPECT_EQ(f.run_checked(), -1);
  EXPECT_TRUE(f.cpu.zf());
  EXPECT_EQ(f.mem.read(0x5000, 8), 0x5000u);   // RBX
  EXPECT_EQ(f.mem.read(0x5008, 8), 4u);        // RCX
}

TEST(Exchange, XaddAndLockRules) {
  IntEnv e;
  e.code({0x0F, 0xC1, 0x1E, 0x00, 0x06});   // xadd [0x600], bx
  e.mem.write(0x600, 0xFFFF, 2);
  e.s.gpr[RBX] = 1;
  e.run();
  EXPECT_EQ(e.mem.read(0x600, 2), 0u);
  EXPECT_EQ(e.r16(RBX), 0xFFFF);
  EXPECT_TRUE(e.cpu.cf() && e.cpu.zf());
  IntEnv f;
  f.code({0xF0, 0x0F, 0xA3, 0x06, 0x00, 0x06});   // lock bt [0x600], ax: BT is not lockable
  EXPECT_EQ(f.run_checked(), kUD);
  IntEnv g;
  g.code({0xF0, 0x0F, 0xC1, 0xD8});   // lock xadd ax, bx: register destination
  EXPECT_EQ(g.run_checked(), kUD);
}

TEST(Misc, BcdAdjusts) {
  IntEnv e;
  e.code({0x04, 0x28, 0x27});   // add al, 0x28; daa   (19 + 28 = 47 in BCD)
  e.s.gpr[RAX] = 0x19;
  e.run();
  EXPECT_EQ(e.r8(RAX), 0x47);
  EXPECT_FALSE(e.cpu.cf());
  IntEnv f;
  f.code({0x04, 0x05, 0x37});   // add al, 5; aaa   (AX 0x0009 + 5 -> 0x0104)
  f.s.gpr[RAX] = 0x0009;
  f.run();
  EXPECT_EQ(f.r16(RAX), 0x0104);
  EXPECT_TRUE(f.cpu.cf() && f.cpu.af());
  IntEnv g;
  g.code({0xD5, 0x0A});   // aad
  g.s.gpr[RAX] = 0x0307;
  g.run();
  EXPECT_EQ(g.r16(RAX), 37);
}

TEST(Misc, ByteSwaps) {
  IntEnv e;
  e.long_mode_code({0x48, 0x0F, 0xC8,                 // bswap rax
                    0x66, 0x0F, 0xC9,                 // bswap cx (undefined: zeroed)
                    0x48, 0x63, 0xD3,                 // movsxd rdx, ebx
                    0x0F, 0x38, 0xF1, 0x3E});         // movbe [rsi], edi
  e.s.gpr[RAX] = 0x0102030405060708ull;
  e.s.gpr[RCX] = 0x1111222233334444ull;
  e.s.gpr[RBX] = 0x80000000;
  e.s.gpr[RSI] = 0x6000;
  e.s.gpr[RDI] = 0x11223344;
  EXPECT_EQ(e.run_checked(), -1);
  EXPECT_EQ(e.s.gpr[RAX], 0x0807060504030201ull);
  EXPECT_EQ(e.s.gpr[RCX], 0x1111222233330000ull);
  EXPECT_EQ(e.s.gpr[RDX], 0xFFFFFFFF80000000ull);
  EXPECT_EQ(e.mem.read(0x6000, 4), 0x44332211u);
}

// ---- string instructions ----

TEST(String, RepMovsResumesAfterTheBudget) {
  IntEnv e;
  e.code({0xF3, 0xA4});   // rep movsb
  for (int i = 0; i < 100; i++) e.mem.write(0x2000 + i, i + 1, 1);
  e.s.gpr[RSI] = 0x2000;
  e.s.gpr[RDI] = 0x3000;
  e.s.gpr[RCX] = 100;
  u64 start = e.s.icount;
  EXPECT_EQ(e.run(10), StopReason::Budget);
  EXPECT_EQ(e.s.icount - start, 10u);   // one retired instruction per iteration
  EXPECT_EQ(e.r16(RCX), 90);
  EXPECT_EQ(e.r16(RSI), 0x200A);
  EXPECT_EQ(e.r16(RDI), 0x300A);
  EXPECT_EQ(e.s.rip, kCode);            // the instruction runs again
  EXPECT_EQ(e.mem.read(0x3009, 1), 10u);
  EXPECT_EQ(e.mem.read(0x300A, 1), 0u);
  EXPECT_EQ(e.run(1000), StopReason::Halted);
  EXPECT_EQ(e.s.icount - start, 101u);  // 100 iterations + HLT
  EXPECT_EQ(e.r16(RCX), 0);
  for (int i = 0; i < 100; i++) ASSERT_EQ(e.mem.read(0x3000 + i, 1), u64(i + 1)) << i;
}

// A HLT retired as a budget's last instruction reports the halt, as mid-budget: the board's
// slicing must not decide whether an idle step comes before the next door poll.
TEST(Misc, HaltOnTheBudgetsLastInstruction) {
  for (bool iflag : {true, false}) {
    IntEnv e;
    e.code({0x90, 0x90});   // nop; nop; then hlt
    if (iflag) e.s.rflags |= kFlagIF;
    const u64 start = e.s.icount;
    EXPECT_EQ(e.run(3), iflag ? StopReason::HaltIdle : StopReason::Halted);
    EXPECT_EQ(e.s.icount - start, 3u);
    IntEnv f;
    f.code({0x90, 0x90});
    if (iflag) f.s.rflags |= kFlagIF;
    EXPECT_EQ(f.run(2), StopReason::Budget);   // not yet halted: the budget ends the run
  }
}

// Element-by-element reference for a forward MOVS with overlapping operands.
void movs_ref(std::vector<u8>& m, size_t src, size_t dst, size_t size, size_t count) {
  for (size_t i = 0; i < count; i++) {
    u8 tmp[8];
    for (size_t k = 0; k < size; k++) tmp[k] = m[src + i * size + k];
    for (size_t k = 0; k < size; k++) m[dst + i * size + k] = tmp[k];
  }
}

TEST(String, OverlappingMovsIsElementByElement) {
  for (u8 op : {0xA4, 0xA5}) {
    for (unsigned dist : {1u, 2u, 3u}) {
      IntEnv e;
      e.code({0xF3, op});
      const size_t size = op == 0xA4 ? 1 : 2, count = 40;
      std::vector<u8> ref(0x200);
      for (size_t i = 0; i < ref.size(); i++) ref[i] = static_cast<u8>(i * 7 + 1);
      e.mem.write_bytes(0x2000, ref.data(), ref.size());
      e.s.gpr[RSI] = 0x2000;
      e.s.gpr[RDI] = 0x2000 + dist;
      e.s.gpr[RCX] = count;
      e.run();
      movs_ref(ref, 0, dist, size, count);
      std::vector<u8> got(ref.size());
      e.mem.read_bytes(0x2000, got.data(), got.size());
      EXPECT_EQ(got, ref) << "op " << int(op) << " distance " << dist;
    }
  }
}

TEST(String, BackwardAndAcrossPages) {
  IntEnv e;
  e.code({0xFD, 0xF3, 0xA4});   // std; rep movsb
  for (int i = 0; i < 16; i++) e.mem.write(0x2000 + i, 0xA0 + i, 1);
  e.s.gpr[RSI] = 0x200F;
  e.s.gpr[RDI] = 0x3007;   // 0x3007 down to 0x2FF8: crosses a page boundary
  e.s.gpr[RCX] = 16;
  e.run();
  for (int i = 0; i < 16; i++) EXPECT_EQ(e.mem.read(0x2FF8 + i, 1), u64(0xA0 + i));
  EXPECT_EQ(e.r16(RSI), 0x1FFF);
  EXPECT_EQ(e.r16(RDI), 0x2FF7);
  IntEnv f;
  f.code({0x66, 0xF3, 0xAB});   // rep stosd across a 4 KiB boundary
  f.s.gpr[RAX] = 0xDEADBEEF;
  f.s.gpr[RDI] = 0x2FF0;
  f.s.gpr[RCX] = 12;
  f.run();
  for (int i = 0; i < 12; i++) EXPECT_EQ(f.mem.read(0x2FF0 + 4 * i, 4), 0xDEADBEEFu) << i;
  EXPECT_EQ(f.mem.read(0x2FF0 + 48, 4), 0u);
  EXPECT_EQ(f.r16(RDI), 0x3020);
}

TEST(String, RepeConditionsStopTheLoop) {
  IntEnv e;
  e.code({0xF3, 0xA6});   // repe cmpsb
  const char a[] = "abcdefgh", b[] = "abcdeXgh";
  e.mem.write_bytes(0x2000, a, 8);
  e.mem.write_bytes(0x3000, b, 8);
  e.s.gpr[RSI] = 0x2000;
  e.s.gpr[RDI] = 0x3000;
  e.s.gpr[RCX] = 8;
  e.run();
  EXPECT_EQ(e.r16(RCX), 2);   // stopped after comparing index 5
  EXPECT_EQ(e.r16(RSI), 0x2006);
  EXPECT_FALSE(e.cpu.zf());
  IntEnv f;
  f.code({0xF2, 0xAE});   // repne scasb: find 0
  f.mem.write_bytes(0x3000, "hello", 6);
  f.s.gpr[RAX] = 0;
  f.s.gpr[RDI] = 0x3000;
  f.s.gpr[RCX] = 0xFFFF;
  f.run();
  EXPECT_EQ(f.r16(RDI), 0x3006);
  EXPECT_EQ(f.r16(RCX), 0xFFFF - 6);
  EXPECT_TRUE(f.cpu.zf());
}

TEST(String, FaultMidwayLeavesExactRegisters) {
  // rep movsq runs into a not-present page after 5 elements: RCX/RSI/RDI describe the 5
  // completed iterations and the instruction restarts there.
  IntEnv e;
  e.long_mode_code({0xF3, 0x48, 0xA5});
  e.s.gpr[RSI] = 0x2000;
  e.s.gpr[RDI] = 0x5FD8;   // 5 qwords to the end of the page
  e.s.gpr[RCX] = 20;
  for (int i = 0; i < 20; i++) e.mem.write(0x2000 + 8 * i, 0x1000 + i, 8);
  e.set_pte(0x6000, 0);    // not present
  EXPECT_EQ(e.run_checked(), kPF);
  EXPECT_EQ(e.s.cr2, 0x6000u);
  EXPECT_EQ(e.s.gpr[RCX], 15u);
  EXPECT_EQ(e.s.gpr[RSI], 0x2028u);
  EXPECT_EQ(e.s.gpr[RDI], 0x6000u);
  EXPECT_EQ(e.mem.read(0x5FF8, 8), 0x1004u);
}

}  // namespace
}  // namespace rv::test
