// Every x87 encoding, one instruction at a time, from random states rich in hard operands
// (zeros, denormals, pseudo-denormals, unnormals, infinities, QNaN/SNaN, pseudo-NaN and
// pseudo-infinity, extreme exponents, BCD and integer limits), random TOP, tags, condition
// codes, rounding/precision control and exception masks, compared with the host executing the
// same bytes (x87_harness.h). Which encodings are valid is checked against the SDM's opcode
// map (Vol.2 Appendix A.4), written out here independently of cpu/interp/x87.cpp.
#include <random>

#include "tests/unit/x87_harness.h"

namespace rv::test {
namespace {

// SDM Vol.2 Appendix A.4.2 (x87 escape opcode maps, ModRM C0..FF): the reserved register forms
// that raise #UD. FFREEP (DF C0+i), the 8087/287 leftovers FNENI/FNDISI/FNSETPM (DB E0, E1,
// E4; no operation since the 387) and the undocumented aliases hardware runs (FSTP1 D9 D8+i,
// FCOM2/FCOMP3 DC D0+i/D8+i, FXCH4 DD C8+i, FCOMP5 DE D0+i, FXCH7/FSTP8/FSTP9 DF C8+i..D8+i)
// are accepted, and compared with the host like every other form.
bool sdm_reserved_reg(unsigned opc, unsigned m) {
  switch (opc) {
    case 0xD9: return (m >= 0xD1 && m <= 0xD7) || m == 0xE2 || m == 0xE3 || m == 0xE6 || m == 0xE7 || m == 0xEF;
    case 0xDA: return m >= 0xE0 && m != 0xE9;
    case 0xDB: return (m >= 0xE5 && m <= 0xE7) || m >= 0xF8;
    case 0xDD: return m >= 0xF0;
    case 0xDE: return (m >= 0xD8 && m <= 0xDF) && m != 0xD9;
    case 0xDF: return (m >= 0xE1 && m <= 0xE7) || m >= 0xF8;
    default: return false;
  }
}
bool sdm_reserved_mem(unsigned opc, unsigned reg) {
  return (opc == 0xD9 && reg == 1) || (opc == 0xDB && (reg == 4 || reg == 6)) || (opc == 0xDD && reg == 5);
}

struct Gen {
  std::mt19937_64 rng{0x87F00D};
  u64 r() { return rng(); }
  // An 80-bit value of a random class.
  void f80(u8* p) {
    u64 m = r();
    u16 e = static_cast<u16>(r() & 0x7FFF);
    switch (r() % 13) {
      case 0: m = 0; e = 0; break;                                     // zero
      case 1: m &= ~(1ull << 63); e = 0; if (!m) m = 1; break;        // denormal
      case 2: m |= 1ull << 63; e = 0; break;                           // pseudo-denormal
      case 3: m |= 1ull << 63; if (e == 0x7FFF || !e) e = 0x4000; break;   // normal
      case 4: m |= 1ull << 63; e = static_cast<u16>(0x3FFF + (r() % 11) - 5); break;
      case 5: m = 1ull << 63; e = 0x7FFF; break;                       // infinity
      case 6: m |= 3ull << 62; e = 0x7FFF; break;                      // QNaN
      case 7: m = (m | 1ull << 63) & ~(1ull << 62); if (m == 1ull << 63) m |= 1; e = 0x7FFF; break;   // SNaN
      case 8: m &= ~(1ull << 63); e = 0x7FFF; break;                   // pseudo-NaN / pseudo-infinity
      case 9: m &= ~(1ull << 63); if (!e || e == 0x7FFF) e = 0x1234; break;   // unnormal
      case 10: m = (r() % 2000) << 53 | 1ull << 63; e = 0x3FFF + 10; break;   // integer-valued
      case 11: m |= 1ull << 63; e = (r() & 1) ? 0x7FFE : 1; break;     // extremes
      default: m = 3ull << 62; e = 0x7FFF; break;                      // QNaN indefinite
    }
    if (r() & 1) e |= 0x8000;
    std::memcpy(p, &m, 8);
    std::memcpy(p + 8, &e, 2);
  }
  // Memory operand bytes: a double, float, integer limit, BCD or 80-bit value.
  void operand(u8* p) {
    const u64 x = r();
    const double dv[] = {0.0, -0.0, 1.0, -2.5, 1e308, 4.9e-324, 1e-310, 3.0e9, -9.3e18,
                         std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
                         std::numeric_limits<double>::signaling_NaN(), 0.1};
    switch (x % 6) {
      case 0: { const double v = dv[r() % std::size(dv)]; std::memcpy(p, &v, 8); break; }
      case 1: { const float v = static_cast<float>(dv[r() % std::size(dv)]); std::memcpy(p, &v, 4); break; }
      case 2: { const u64 lim[] = {0x8000, 0x7FFF, 0x80000000, 0x7FFFFFFF, 0x8000000000000000ull, 0, 1, ~0ull};
                const u64 v = lim[r() % std::size(lim)]; std::memcpy(p, &v, 8); break; }
      case 3: for (int i = 0; i < 9; i++) p[i] = static_cast<u8>((r() % 10) | (r() % 10) << 4);
              p[9] = (r() & 1) ? 0x80 : 0; break;
      case 4: f80(p); break;
      default: for (int i = 0; i < 10; i++) p[i] = static_cast<u8>(r()); break;
    }
  }
  Image state() {
    // Half the states mask every exception (the usual case, and the fast path's).
    const u16 fcw = static_cast<u16>((r() & 0x0F3F) | 0x40 | ((r() & 1) ? 0x3F : 0));
    Image im = initial_image(fcw);
    // Sticky flags only where masked: an unmasked one would be a pending #MF on both sides.
    const u16 fsw = static_cast<u16>((r() & (0x4700 | 0x3800 | x87::kSF)) | (r() & 0x3F & fcw));
    std::memcpy(im.b + 2, &fsw, 2);
    im.b[4] = static_cast<u8>(r());
    for (unsigned i = 0; i < 8; i++) f80(im.b + 32 + 16 * i);
    return im;
  }
};

// mov al, imm8; cmp al, imm8: CF/ZF/PF for FCMOVcc, the same on both sides.
Bytes flag_setup(Gen& g) { return {0xB0, static_cast<u8>(g.r()), 0x3C, static_cast<u8>(g.r() % 4 ? g.r() : 0)}; }

void one(Gen& g, const Bytes& insn, bool reserved, unsigned& ran) {
  Data d{};
  for (unsigned off = 0; off < kDataSize; off += 16) g.operand(d.data() + off);
  const Image im = g.state();
  // pushfq; pop rax; and eax, OF|SF|ZF|AF|PF|CF; mov [rsi+0x70], eax
  const Bytes code = cat({flag_setup(g), insn, {0x9C, 0x58, 0x25, 0xD5, 0x08, 0x00, 0x00, 0x89, 0x46, 0x70}});
  X87Env e;
  Data gd = d;
  e.run_code(code, im, gd.data());
  if (reserved) {
    EXPECT_EQ(e.vector, kUD) << hex(insn.data(), 2);
    return;
  }
  ASSERT_NE(e.vector, kUD) << "valid encoding raised #UD: " << hex(insn.data(), 2);
  ran++;
  compare(code, d, im, hex(insn.data(), 2).c_str());
}

TEST(X87Fuzz, EveryRegisterFormFromRandomStates) {
  Gen g;
  unsigned ran = 0;
  for (unsigned opc = 0xD8; opc <= 0xDF; opc++)
    for (unsigned m = 0xC0; m <= 0xFF; m++) {
      if (opc == 0xDF && m == 0xE0) continue;   // FNSTSW AX: covered in x87_test.cpp
      const bool reserved = sdm_reserved_reg(opc, m);
      for (int rep = 0; rep < (reserved ? 1 : 6); rep++) one(g, R(static_cast<u8>(opc), static_cast<u8>(m)), reserved, ran);
    }
  EXPECT_GT(ran, 2000u);
}

TEST(X87Fuzz, EveryMemoryFormFromRandomStates) {
  Gen g;
  unsigned ran = 0;
  for (unsigned opc = 0xD8; opc <= 0xDF; opc++)
    for (unsigned reg = 0; reg < 8; reg++) {
      // FNSTENV and FNSAVE write the host's own FIP/FDP: EnvironmentAndSaveImages covers them.
      if ((opc == 0xD9 && reg == 6) || (opc == 0xDD && reg == 6)) continue;
      const bool reserved = sdm_reserved_mem(opc, reg);
      for (int rep = 0; rep < (reserved ? 1 : 40); rep++) one(g, M(static_cast<u8>(opc), reg, 0x20), reserved, ran);
    }
  EXPECT_GT(ran, 2000u);
}

}  // namespace
}  // namespace rv::test
