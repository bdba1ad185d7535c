// Templates: MMX, SSE3, SSSE3, SSE4.1, SSE4.2 (PCMPxSTRx, CRC32, PCMPGTQ), PCLMULQDQ, the SSE
// moves and estimates templates_fp.cpp lacks, and random MXCSR loads. Operands come from the
// hard-case pools (generator.cpp) through the start XMM/x87 state and the data page. Every
// form: register and memory, aligned, and misaligned where the SDM allows it (a misaligned
// legacy-SSE 16-byte operand must #GP in both runs). Flags: SDM Vol.2 "Flags Affected".
#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

int imm8(Gen& g) { return static_cast<int>(g.rng.below(256)); }

// MMX (NP 0F xx on MM registers) and the MMX forms of SSE/SSE2/SSSE3. Every MMX instruction
// sets TOP=0 and all tags valid (SDM Vol.1 §9.5.1), EMMS empties them.
void mmx_ops(Gen& g) {
  static const u8 kOps[] = {0xEF, 0xDB, 0xEB, 0xDF, 0xFC, 0xFD, 0xFE, 0xD4, 0xF8, 0xF9, 0xFA, 0xFB, 0x74, 0x75, 0x76,
                            0x64, 0x65, 0x66, 0x60, 0x61, 0x62, 0x68, 0x69, 0x6A, 0xD5, 0xE5, 0xE4, 0xF4, 0xF5, 0x63,
                            0x6B, 0x67, 0xE0, 0xE3, 0xDA, 0xDE, 0xEA, 0xEE, 0xF6, 0xEC, 0xED, 0xDC, 0xDD, 0xE8, 0xE9,
                            0xD8, 0xD9, 0xD1, 0xD2, 0xD3, 0xE1, 0xE2, 0xF1, 0xF2, 0xF3, 0xF8, 0xFB};
  switch (g.rng.below(9)) {
    case 0: case 1: sse(g, 0, {0x0F, g.rng.pick(kOps)}, mmx(g), mmx_rm(g)); break;
    case 2: {   // shifts by immediate: 71/72 /2 /4 /6, 73 /2 /6
      static const u8 kGrp[][2] = {{0x71, 2}, {0x71, 4}, {0x71, 6}, {0x72, 2}, {0x72, 4}, {0x72, 6}, {0x73, 2}, {0x73, 6}};
      const u8* k = kGrp[g.rng.below(8)];
      sse(g, 0, {0x0F, k[0]}, k[1], RM::r(mmx(g)), false, static_cast<int>(g.count_for(8)));
      break;
    }
    case 3: {   // SSSE3 on MM registers, PALIGNR
      static const u8 kS[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0x0B, 0x1C, 0x1D, 0x1E};
      if (g.rng.chance(15)) sse(g, 0, {0x0F, 0x3A, 0x0F}, mmx(g), mmx_rm(g), false, static_cast<int>(g.rng.below(20)));
      else sse(g, 0, {0x0F, 0x38, g.rng.pick(kS)}, mmx(g), mmx_rm(g));
      break;
    }
    case 4: {   // MOVD/MOVQ, PSHUFW, MOVNTQ
      bool w = g.l64 && g.rng.chance(50);
      switch (g.rng.below(6)) {
        case 0: sse(g, 0, {0x0F, 0x6E}, mmx(g), g.rm(w ? 8 : 4, false), w); break;
        case 1: sse(g, 0, {0x0F, 0x7E}, mmx(g), g.rm(w ? 8 : 4, true), w); break;
        case 2: sse(g, 0, {0x0F, 0x6F}, mmx(g), mmx_rm(g)); break;
        case 3: sse(g, 0, {0x0F, 0x7F}, mmx(g), mmx_rm(g)); break;
        case 4: sse(g, 0, {0x0F, 0x70}, mmx(g), mmx_rm(g), false, imm8(g)); break;
        default: sse(g, 0, {0x0F, 0xE7}, mmx(g), RM::m(g.mem(8))); break;
      }
      break;
    }
    case 5: {   // PMOVMSKB, PEXTRW, PINSRW
      u32 k = g.rng.below(3);
      if (k == 0) sse(g, 0, {0x0F, 0xD7}, g.gpr_dst(), RM::r(mmx(g)));
      else if (k == 1) sse(g, 0, {0x0F, 0xC5}, g.gpr_dst(), RM::r(mmx(g)), false, imm8(g));
      else sse(g, 0, {0x0F, 0xC4}, mmx(g), g.rm(2, false), false, imm8(g));
      break;
    }
    case 6: {   // MOVQ2DQ, MOVDQ2Q, CVT between packed ints in MM and FP in XMM
      switch (g.rng.below(8)) {
        case 0: sse(g, 0xF3, {0x0F, 0xD6}, xmm(g), RM::r(mmx(g))); break;
        case 1: sse(g, 0xF2, {0x0F, 0xD6}, mmx(g), RM::r(xmm(g))); break;
        case 2: sse(g, 0, {0x0F, 0x2A}, xmm(g), mmx_rm(g)); break;                         // CVTPI2PS
        case 3: sse(g, 0, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x2D : 0x2C)}, mmx(g), xmm_rm(g, 8)); break;
        case 4: sse(g, 0x66, {0x0F, 0x2A}, xmm(g), mmx_rm(g)); break;                      // CVTPI2PD
        default: sse(g, 0x66, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x2D : 0x2C)}, mmx(g), xmm_rm(g, 16)); break;
      }
      break;
    }
    case 7: {   // MASKMOVQ: byte stores to DS:[(E/R)DI]
      u8 dst = 7;
      g.set_reg(dst, kDataBase + g.rng.below(kPage - 8));
      sse(g, 0, {0x0F, 0xF7}, mmx(g), RM::r(mmx(g)));
      break;
    }
    default: g.a.raw({0x0F, 0x77}); break;   // EMMS
  }
}

// SSE3: ADDSUB, HADD/HSUB, MOVSLDUP/MOVSHDUP/MOVDDUP, LDDQU (any alignment).
void sse3(Gen& g) {
  switch (g.rng.below(4)) {
    case 0: case 1: {
      static const u8 kOps[] = {0xD0, 0x7C, 0x7D};
      sse(g, g.rng.chance(50) ? 0x66 : 0xF2, {0x0F, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, 16));
      break;
    }
    case 2:
      if (g.rng.chance(33)) sse(g, 0xF2, {0x0F, 0x12}, xmm(g), xmm_rm(g, 8));
      else sse(g, 0xF3, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x12 : 0x16)}, xmm(g), xmm_rm(g, 16));
      break;
    default: sse(g, 0xF2, {0x0F, 0xF0}, xmm(g), RM::m(g.mem(16, g.rng.chance(50) ? 1 : 16))); break;
  }
}

// SSSE3 on XMM registers and PALIGNR.
void ssse3(Gen& g) {
  static const u8 kS[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0A, 0x0B, 0x1C, 0x1D, 0x1E};
  if (g.rng.chance(15)) sse(g, 0x66, {0x0F, 0x3A, 0x0F}, xmm(g), xmm_rm(g, 16), false, static_cast<int>(g.rng.below(40)));
  else sse(g, 0x66, {0x0F, 0x38, g.rng.pick(kS)}, xmm(g), xmm_rm(g, 16));
}

// SSE4.1.
void sse41(Gen& g) {
  bool w = g.l64 && g.rng.chance(50);
  switch (g.rng.below(10)) {
    case 0: case 1: {   // 66 0F 38: integer ops, BLENDV (implicit XMM0), PHMINPOSUW, PACKUSDW, PMULDQ
      static const u8 kOps[] = {0x10, 0x14, 0x15, 0x28, 0x29, 0x2B, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x41};
      sse(g, 0x66, {0x0F, 0x38, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, 16));
      break;
    }
    case 2: {           // PMOVSX/ZX: memory m64/m32/m16
      static const u8 kOps[] = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25};
      static const unsigned kSz[] = {8, 4, 2, 8, 4, 8};
      u32 k = g.rng.below(6);
      sse(g, 0x66, {0x0F, 0x38, static_cast<u8>(kOps[k] | (g.rng.chance(50) ? 0x10 : 0))}, xmm(g), xmm_rm(g, kSz[k]));
      break;
    }
    case 3:             // PTEST: ZF CF from the operands, AF OF PF SF cleared
      sse(g, 0x66, {0x0F, 0x38, 0x17}, xmm(g), xmm_rm(g, 16));
      g.effect(kArith6, 0);
      break;
    case 4: {           // ROUNDPS/PD/SS/SD: imm8[3:0] (rounding source, precision mask)
      u8 op = static_cast<u8>(0x08 + g.rng.below(4));
      int imm = g.rng.chance(85) ? static_cast<int>(g.rng.below(16)) : imm8(g);
      sse(g, 0x66, {0x0F, 0x3A, op}, xmm(g), xmm_rm(g, op == 0x0A ? 4 : op == 0x0B ? 8 : 16), false, imm);
      break;
    }
    case 5: {           // BLENDPS/PD, PBLENDW, DPPS, DPPD, MPSADBW, INSERTPS
      static const u8 kOps[] = {0x0C, 0x0D, 0x0E, 0x40, 0x41, 0x42, 0x40, 0x41};
      if (g.rng.chance(20)) sse(g, 0x66, {0x0F, 0x3A, 0x21}, xmm(g), xmm_rm(g, 4), false, imm8(g));
      else sse(g, 0x66, {0x0F, 0x3A, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, 16), false, imm8(g));
      break;
    }
    case 6: {           // PEXTRB/W/D/Q, EXTRACTPS: to r32/r64 or memory
      static const u8 kOps[] = {0x14, 0x15, 0x16, 0x17};
      static const unsigned kSz[] = {1, 2, 4, 4};
      u32 k = g.rng.below(4);
      unsigned sz = k == 2 && w ? 8 : kSz[k];
      RM rm = g.rng.chance(50) ? RM::m(g.mem(sz)) : RM::r(g.gpr_dst());
      sse(g, 0x66, {0x0F, 0x3A, kOps[k]}, xmm(g), rm, k == 2 && w, imm8(g));
      break;
    }
    case 7: {           // PINSRB/D/Q from r32/r64 or memory
      bool b = g.rng.chance(50);
      unsigned sz = b ? 1 : w ? 8 : 4;
      RM rm = g.rng.chance(50) ? RM::m(g.mem(sz)) : RM::r(g.gpr_dst());
      sse(g, 0x66, {0x0F, 0x3A, static_cast<u8>(b ? 0x20 : 0x22)}, xmm(g), rm, !b && w, imm8(g));
      break;
    }
    case 8:             // MOVNTDQA: aligned memory only
      sse(g, 0x66, {0x0F, 0x38, 0x2A}, xmm(g), RM::m(g.mem(16, g.rng.chance(5) ? 1 : 16)));
      break;
    default:            // PCMPGTQ (SSE4.2)
      sse(g, 0x66, {0x0F, 0x38, 0x37}, xmm(g), xmm_rm(g, 16));
  }
}

// PCLMULQDQ: not part of x86-64-v2 (issue 3's scope), opt-in.
void pclmul(Gen& g) { sse(g, 0x66, {0x0F, 0x3A, 0x44}, xmm(g), xmm_rm(g, 16), false, imm8(g)); }

// SSE4.2: PCMPESTRI/ESTRM/ISTRI/ISTRM with random imm8 and lengths in (E/R)AX, (E/R)DX;
// CRC32. PCMPxSTRx define CF ZF SF OF and clear AF PF (SDM Vol.2 §4.1.6).
void sse42(Gen& g) {
  if (g.rng.chance(35)) {   // CRC32 r32/r64, r/m8/16/32/64 (F2 0F 38 F0/F1)
    g.pick_byte_class();
    unsigned sz = g.rng.chance(30) ? 1 : g.osize_v();
    bool w = sz == 8 || (g.l64 && g.rng.chance(30));
    Prefixes p;
    p.rep = 0xF2;
    p.rex_w = w;
    if (sz == 1) p.rm_byte = true;
    RM rm = g.rm(sz, false);
    u8 dst = g.gpr_dst();
    if (sz == 1 && g.legacy_bytes && dst >= 8) dst &= 3;
    g.insn(sz == 2 ? 2 : 4, {0x0F, 0x38, static_cast<u8>(sz == 1 ? 0xF0 : 0xF1)}, dst, true, rm, 0, 0, p);
    return;
  }
  u8 op = static_cast<u8>(0x60 + g.rng.below(4));
  bool explicit_len = op < 0x62;
  bool w = g.l64 && g.rng.chance(30);
  if (explicit_len) {
    g.reserved = 1u << 0 | 1u << 2;   // EAX, EDX hold the lengths
    for (u8 r : {0, 2}) {
      i64 v = static_cast<i64>(g.rng.below(41)) - 20;
      if (g.rng.chance(10)) v = static_cast<i64>(g.value(8));
      g.set_reg(r, static_cast<u64>(v));
    }
  }
  RM rm = xmm_rm(g, 16, 50);   // PCMPxSTRx allow misaligned memory (SDM Vol.1 §12.10.1)
  sse(g, 0x66, {0x0F, 0x3A, op}, xmm(g), rm, w, imm8(g));
  g.effect(kArith6, 0);
}

// SSE/SSE2 not in templates_fp.cpp: RCP/RSQRT estimates, MOVLPS/MOVHPS/MOVHLPS/MOVLHPS,
// MOVLPD/MOVHPD, non-temporal stores, MASKMOVDQU, CMPPS with reserved imm8 bits,
// CVTPS2PD/CVTPD2PS with misaligned memory (#GP), MOVSS/MOVSD register forms.
void sse_more(Gen& g) {
  switch (g.rng.below(8)) {
    case 0: {
      u8 pfx = g.rng.chance(50) ? 0 : 0xF3;
      sse(g, pfx, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x52 : 0x53)}, xmm(g), xmm_rm(g, pfx ? 4 : 16));
      break;
    }
    case 1: {   // 0F 12/16: MOVLPS/MOVHPS m64 or MOVHLPS/MOVLHPS; 66: MOVLPD/MOVHPD m64
      u8 op = g.rng.chance(50) ? 0x12 : 0x16;
      if (g.rng.chance(50)) sse(g, 0, {0x0F, op}, xmm(g), xmm_rm(g, 8));
      else sse(g, 0x66, {0x0F, op}, xmm(g), RM::m(g.mem(8)));
      break;
    }
    case 2:     // stores MOVLPS/MOVHPS/MOVLPD/MOVHPD m64
      sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x13 : 0x17)}, xmm(g), RM::m(g.mem(8)));
      break;
    case 3: {   // MOVNTPS/PD, MOVNTDQ (aligned), MOVNTI
      switch (g.rng.below(3)) {
        case 0: sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, 0x2B}, xmm(g), RM::m(g.mem(16, g.rng.chance(5) ? 1 : 16))); break;
        case 1: sse(g, 0x66, {0x0F, 0xE7}, xmm(g), RM::m(g.mem(16, g.rng.chance(5) ? 1 : 16))); break;
        default: {
          bool w = g.l64 && g.rng.chance(50);
          g.insn(w ? 8 : 4, {0x0F, 0xC3}, g.reg_src(4), true, RM::m(g.mem(w ? 8 : 4)));
        }
      }
      break;
    }
    case 4:     // MASKMOVDQU: byte stores to DS:[(E/R)DI]
      // 16-byte access: with EFLAGS.AC possibly set, #AC is implementation-defined (see Gen::mem).
      g.set_reg(7, kDataBase + (g.ac_maybe ? g.rng.below((kPage - 16) / 16) * 16 : g.rng.below(kPage - 16)));
      sse(g, 0x66, {0x0F, 0xF7}, xmm(g), RM::r(xmm(g)));
      break;
    case 5: {   // CMPccPS/PD/SS/SD with imm8[7:3] set (reserved for the legacy encodings)
      static const u8 kPfx[] = {0, 0x66, 0xF3, 0xF2};
      u8 pfx = g.rng.pick(kPfx);
      sse(g, pfx, {0x0F, 0xC2}, xmm(g), xmm_rm(g, pfx == 0xF3 ? 4 : pfx == 0xF2 ? 8 : 16), false, imm8(g));
      break;
    }
    case 6: {   // MOVSS/MOVSD register forms and loads; MOVAPS/MOVUPS misaligned
      static const u8 kPfx[] = {0xF3, 0xF2};
      u8 pfx = g.rng.pick(kPfx);
      if (g.rng.chance(50)) sse(g, pfx, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x10 : 0x11)}, xmm(g), RM::r(xmm(g)));
      else sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, static_cast<u8>(0x10 + 0x18 * g.rng.below(2))}, xmm(g),
               RM::m(g.mem(16, 1)));
      break;
    }
    default: {  // CVTDQ2PD (m64), CVTPS2PD (m64), CVTPD2PS, CVTDQ2PS; misaligned memory allowed for m64
      switch (g.rng.below(3)) {
        case 0: sse(g, 0xF3, {0x0F, 0xE6}, xmm(g), xmm_rm(g, 8)); break;
        case 1: sse(g, 0, {0x0F, 0x5A}, xmm(g), xmm_rm(g, 8)); break;
        default: sse(g, 0x66, {0x0F, 0x5A}, xmm(g), xmm_rm(g, 16, 10)); break;
      }
    }
  }
}

// LDMXCSR with a random valid value: rounding, DAZ, FTZ, masks (an unmasked exception that a
// later instruction raises is #XM in both runs); reserved bits set (#GP) now and then.
void mxcsr(Gen& g) {
  Mem m = g.mem(4, 4);
  u32 v = 0x1F80 | (g.rng.below(4) << 13) | (g.rng.chance(30) ? 0x40 : 0) | (g.rng.chance(30) ? 0x8000 : 0);
  if (g.rng.chance(10)) v &= ~(0x80u << g.rng.below(6));
  if (g.rng.chance(10)) v |= static_cast<u32>(g.rng.below(64));   // sticky flags
  // Reserved bits: #GP. Bits 18..31 only: this AMD host's MXCSR_MASK is 0002FFFF (bit 17,
  // AMD's misaligned-exception mask MM, is writable there), ours is 0000FFFF.
  if (g.rng.chance(3)) v |= 1u << (18 + g.rng.below(14));
  g.insn(4, {0xC7}, 0, false, RM::m(m), 4, v);
  g.insn(4, {0x0F, 0xAE}, 2, false, RM::m(m));
}

}  // namespace

void add_simd_templates(std::vector<Template>& t) {
  t.push_back({"mmx", 3, 0, mmx_ops, false, true});
  t.push_back({"sse3", 3, kFeatSse3, sse3, false, true});
  t.push_back({"ssse3", 3, kFeatSsse3, ssse3, false, true});
  t.push_back({"sse41", 3, kFeatSse41, sse41, false, true});
  t.push_back({"sse42", 3, kFeatSse42, sse42, false, true});
  t.push_back({"sse_more", 3, 0, sse_more, false, true});
  t.push_back({"mxcsr", 3, 0, mxcsr, false, true});
  t.push_back({"pclmul", 3, 0, pclmul, true, false});
}

}  // namespace rv::oracle
