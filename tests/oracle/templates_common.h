// Helpers shared by the template files (templates_*.cpp).
#pragma once
#include "tests/oracle/generator.h"

namespace rv::oracle {

// Immediate size of an Ib/Iz operand for an operand size: 1, 2, or 4 (64-bit sign-extends imm32).
inline unsigned imm_bytes(unsigned size) { return size == 1 ? 1 : size == 2 ? 2 : 4; }

// Flags read by condition code `cc` (SDM Vol.1 Appendix B, Table B-1).
inline u64 cc_reads(u8 cc) {
  switch (cc >> 1) {
    case 0: return kFlagOF;
    case 1: return kFlagCF;
    case 2: return kFlagZF;
    case 3: return kFlagCF | kFlagZF;
    case 4: return kFlagSF;
    case 5: return kFlagPF;
    case 6: return kFlagSF | kFlagOF;
    default: return kFlagZF | kFlagSF | kFlagOF;
  }
}

// ---- SSE/MMX helpers (templates_fp.cpp, templates_simd.cpp) ----

inline u8 xmm(Gen& g) { return static_cast<u8>(g.rng.below(g.l64 ? 16 : 8)); }
inline u8 mmx(Gen& g) { return static_cast<u8>(g.rng.below(8)); }

// An XMM register or a memory operand of `size` bytes. 16-byte operands are aligned unless
// `misalign_percent` hits (legacy SSE packed operands must be aligned: #GP otherwise; the
// instructions that allow misalignment pass a high percentage).
inline RM xmm_rm(Gen& g, unsigned size, unsigned misalign_percent = 3) {
  if (!g.rng.chance(40)) return RM::r(xmm(g));
  if (size == 16 && g.rng.chance(misalign_percent)) return RM::m(g.mem(16, 1));
  return RM::m(g.mem(size, size == 16 ? 16 : 1));
}
inline RM mmx_rm(Gen& g, unsigned size = 8) {
  if (!g.rng.chance(40)) return RM::r(mmx(g));
  return RM::m(g.mem(size, 1));
}

// One SSE instruction: `pfx` is 0, 0x66, 0xF3 or 0xF2 (mandatory prefix); imm8 if imm >= 0.
inline void sse(Gen& g, u8 pfx, std::initializer_list<u8> opc, u8 reg, const RM& rm, bool rex_w = false, int imm = -1) {
  Prefixes p;
  p.rex_w = rex_w;
  unsigned osize = 4;
  if (pfx == 0x66) osize = 2;
  else if (pfx) p.rep = pfx;
  g.insn(osize, opc, reg, true, rm, imm >= 0 ? 1 : 0, imm >= 0 ? static_cast<u64>(imm) : 0, p);
}

}  // namespace rv::oracle
