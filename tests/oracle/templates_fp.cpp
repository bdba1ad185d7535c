// Templates (the "simd" group, see --ops): SSE2 integer, SSE/SSE2 floating point,
// x87. The comparison covers FCW, FSW (less undefined condition codes), the abridged tag
// word, MXCSR, the valid x87 registers and the XMM registers. Transcendental x87 instructions
// are in: the interpreter computes them on the host's own x87 (issue 3), so they must match.
#include <cstring>

#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

void sse_int(Gen& g) {
  static const u8 kOps[] = {0xEF, 0xDB, 0xEB, 0xDF, 0xFC, 0xFD, 0xFE, 0xD4, 0xF8, 0xF9, 0xFA, 0xFB, 0x74, 0x75, 0x76,
                            0x64, 0x65, 0x66, 0x60, 0x61, 0x62, 0x6C, 0x68, 0x69, 0x6A, 0x6D, 0xD5, 0xE5, 0xE4, 0xF4,
                            0xF5, 0x63, 0x6B, 0x67, 0xE0, 0xE3, 0xDA, 0xDE, 0xEA, 0xEE, 0xF6, 0xEC, 0xED, 0xDC, 0xDD,
                            0xE8, 0xE9, 0xD8, 0xD9, 0xD1, 0xD2, 0xD3, 0xE1, 0xE2, 0xF1, 0xF2, 0xF3};
  switch (g.rng.below(6)) {
    case 0: case 1: sse(g, 0x66, {0x0F, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, 16)); break;
    case 2: {   // shifts by immediate: 71/72 /2 /4 /6, 73 /2 /3 /6 /7
      static const u8 kGrp[][2] = {{0x71, 2}, {0x71, 4}, {0x71, 6}, {0x72, 2}, {0x72, 4}, {0x72, 6},
                                   {0x73, 2}, {0x73, 3}, {0x73, 6}, {0x73, 7}};
      const u8* k = kGrp[g.rng.below(10)];
      sse(g, 0x66, {0x0F, k[0]}, k[1], RM::r(xmm(g)), false, static_cast<int>(g.count_for(8)));
      break;
    }
    case 3: {   // PSHUFD / PSHUFLW / PSHUFHW
      static const u8 kPfx[] = {0x66, 0xF2, 0xF3};
      sse(g, g.rng.pick(kPfx), {0x0F, 0x70}, xmm(g), xmm_rm(g, 16), false, static_cast<int>(g.rng.below(256)));
      break;
    }
    case 4: {   // MOVD/MOVQ between GPRs and XMM, MOVQ xmm, MOVDQA/MOVDQU
      bool w = g.l64 && g.rng.chance(50);
      switch (g.rng.below(6)) {
        case 0: sse(g, 0x66, {0x0F, 0x6E}, xmm(g), g.rm(w ? 8 : 4, false), w); break;
        case 1: sse(g, 0x66, {0x0F, 0x7E}, xmm(g), g.rm(w ? 8 : 4, true), w); break;
        case 2: sse(g, 0xF3, {0x0F, 0x7E}, xmm(g), xmm_rm(g, 8)); break;
        case 3: sse(g, 0x66, {0x0F, 0xD6}, xmm(g), g.rng.chance(50) ? RM::r(xmm(g)) : RM::m(g.mem(8))); break;
        case 4: sse(g, g.rng.chance(50) ? 0x66 : 0xF3, {0x0F, 0x6F}, xmm(g), xmm_rm(g, 16)); break;
        default: {
          bool aligned = g.rng.chance(50);
          sse(g, aligned ? 0x66 : 0xF3, {0x0F, 0x7F}, xmm(g), RM::m(g.mem(16, aligned ? 16 : 1)));
        }
      }
      break;
    }
    default: {  // PMOVMSKB, PEXTRW, PINSRW
      u32 k = g.rng.below(3);
      if (k == 0) sse(g, 0x66, {0x0F, 0xD7}, g.gpr_dst(), RM::r(xmm(g)));
      else if (k == 1) sse(g, 0x66, {0x0F, 0xC5}, g.gpr_dst(), RM::r(xmm(g)), false, static_cast<int>(g.rng.below(256)));
      else sse(g, 0x66, {0x0F, 0xC4}, xmm(g), g.rm(2, false), false, static_cast<int>(g.rng.below(256)));
    }
  }
}

void sse_fp(Gen& g) {
  static const u8 kPfx[] = {0, 0x66, 0xF3, 0xF2};   // ps pd ss sd
  u8 pfx = g.rng.pick(kPfx);
  bool packed = pfx == 0 || pfx == 0x66;
  unsigned msize = packed ? 16 : pfx == 0xF3 ? 4 : 8;
  switch (g.rng.below(8)) {
    case 0: case 1: {   // ADD MUL SUB DIV MIN MAX SQRT
      static const u8 kOps[] = {0x58, 0x59, 0x5C, 0x5E, 0x5D, 0x5F, 0x51};
      sse(g, pfx, {0x0F, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, msize));
      break;
    }
    case 2: {           // AND ANDN OR XOR UNPCKL UNPCKH (packed only), SHUFPS/PD
      static const u8 kOps[] = {0x54, 0x55, 0x56, 0x57, 0x14, 0x15};
      u8 p2 = g.rng.chance(50) ? 0 : 0x66;
      if (g.rng.chance(20)) sse(g, p2, {0x0F, 0xC6}, xmm(g), xmm_rm(g, 16), false, static_cast<int>(g.rng.below(256)));
      else sse(g, p2, {0x0F, g.rng.pick(kOps)}, xmm(g), xmm_rm(g, 16));
      break;
    }
    case 3:             // CMPccPS/PD/SS/SD
      sse(g, pfx, {0x0F, 0xC2}, xmm(g), xmm_rm(g, msize), false, static_cast<int>(g.rng.below(8)));
      break;
    case 4: {           // conversions between FP formats and packed integers
      static const u8 kOps[] = {0x5A, 0x5B, 0xE6};
      u8 op = g.rng.pick(kOps);
      u8 p2 = op == 0x5A ? pfx : op == 0x5B ? kPfx[g.rng.below(3)] : kPfx[1 + g.rng.below(3)];
      sse(g, p2, {0x0F, op}, xmm(g), xmm_rm(g, op == 0x5A && !(p2 == 0 || p2 == 0x66) ? msize : 16));
      break;
    }
    case 5: {           // CVTSI2SS/SD, CVT(T)SS/SD2SI
      u8 sp = g.rng.chance(50) ? 0xF3 : 0xF2;
      bool w = g.l64 && g.rng.chance(50);
      if (g.rng.chance(50)) sse(g, sp, {0x0F, 0x2A}, xmm(g), g.rm(w ? 8 : 4, false), w);
      else sse(g, sp, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x2C : 0x2D)}, g.gpr_dst(), xmm_rm(g, sp == 0xF3 ? 4 : 8), w);
      break;
    }
    case 6:             // COMISS/SD, UCOMISS/SD: ZF PF CF, OF SF AF cleared
      sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0x2E : 0x2F)}, xmm(g),
          xmm_rm(g, 8));
      g.effect(kArith6, 0);
      break;
    default: {          // moves, MOVMSK, LDMXCSR/STMXCSR
      switch (g.rng.below(5)) {
        case 0: sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, 0x28}, xmm(g), xmm_rm(g, 16)); break;
        case 1: sse(g, pfx, {0x0F, 0x10}, xmm(g), xmm_rm(g, msize)); break;
        case 2: sse(g, pfx, {0x0F, 0x11}, xmm(g), RM::m(g.mem(msize, packed && pfx == 0x66 ? 1 : 1))); break;
        case 3: sse(g, g.rng.chance(50) ? 0 : 0x66, {0x0F, 0x50}, g.gpr_dst(), RM::r(xmm(g))); break;
        default: {
          Mem m = g.mem(4, 4);
          if (g.rng.chance(50)) {   // a valid MXCSR: exception masks, rounding, FTZ/DAZ (unmasked ones raise #XM)
            u32 v = 0x1F80;
            if (g.rng.chance(40)) v = static_cast<u32>(g.rng.next() & 0xFFBF) | (g.rng.chance(80) ? 0x1F80 : 0);
            g.insn(4, {0xC7}, 0, false, RM::m(m), 4, v);
            g.insn(4, {0x0F, 0xAE}, 2, false, RM::m(m));
          } else {
            g.insn(4, {0x0F, 0xAE}, 3, false, RM::m(m));
          }
        }
      }
    }
  }
}

// x87. Condition codes after each instruction follow its SDM "FPU Flags Affected".
void x87(Gen& g) {
  u8 i = static_cast<u8>(g.rng.below(8));
  constexpr u64 kC023 = kFccC0 | kFccC2 | kFccC3;
  switch (g.rng.below(16)) {
    case 0: {   // FLD m32/m64/m80
      static const u8 kF[][2] = {{0xD9, 0}, {0xDD, 0}, {0xDB, 5}};
      static const unsigned kSz[] = {4, 8, 10};
      u32 k = g.rng.below(3);
      g.insn(4, {kF[k][0]}, kF[k][1], false, RM::m(g.mem(kSz[k])));
      g.effect(kFccC1, kC023);
      break;
    }
    case 1:     // FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ
      g.a.raw({0xD9, static_cast<u8>(0xE8 + g.rng.below(7))});
      g.effect(kFccC1, kC023);
      break;
    case 2: {   // FILD m16/m32/m64
      static const u8 kF[][2] = {{0xDF, 0}, {0xDB, 0}, {0xDF, 5}};
      static const unsigned kSz[] = {2, 4, 8};
      u32 k = g.rng.below(3);
      g.insn(4, {kF[k][0]}, kF[k][1], false, RM::m(g.mem(kSz[k])));
      g.effect(kFccC1, kC023);
      break;
    }
    case 3: {   // FADD FMUL FSUB FSUBR FDIV FDIVR: ST(0),ST(i) / ST(i),ST(0) / ...P / m32 / m64
      u8 op = static_cast<u8>(g.rng.chance(20) ? 0 : 1 + g.rng.below(7));
      if (op == 2 || op == 3) op = 1;   // /2 /3 are FCOM/FCOMP
      switch (g.rng.below(4)) {
        case 0: g.a.raw({0xD8, static_cast<u8>(0xC0 | op << 3 | i)}); break;
        case 1: g.a.raw({0xDC, static_cast<u8>(0xC0 | op << 3 | i)}); break;
        case 2: g.a.raw({0xDE, static_cast<u8>(0xC0 | op << 3 | i)}); break;
        default: {
          bool dbl = g.rng.chance(50);
          g.insn(4, {static_cast<u8>(dbl ? 0xDC : 0xD8)}, op, false, RM::m(g.mem(dbl ? 8 : 4)));
        }
      }
      g.effect(kFccC1, kC023);
      break;
    }
    case 4: {   // FCHS FABS FSQRT FRNDINT FSCALE FXTRACT; FTST FXAM define all
      static const u8 kOps[] = {0xE0, 0xE1, 0xFA, 0xFC, 0xFD, 0xF4, 0xE4, 0xE5};
      u8 op = g.rng.pick(kOps);
      g.a.raw({0xD9, op});
      if (op == 0xE4 || op == 0xE5) g.effect(kFccAll, 0);
      else g.effect(kFccC1, kC023);
      break;
    }
    case 5: {   // FXCH, FST/FSTP ST(i), FFREE, FINCSTP/FDECSTP
      switch (g.rng.below(5)) {
        case 0: g.a.raw({0xD9, static_cast<u8>(0xC8 | i)}); g.effect(kFccC1, kC023); break;
        case 1: g.a.raw({0xDD, static_cast<u8>(0xD0 | i)}); g.effect(kFccC1, kC023); break;
        case 2: g.a.raw({0xDD, static_cast<u8>(0xD8 | i)}); g.effect(kFccC1, kC023); break;
        case 3: g.a.raw({0xDD, static_cast<u8>(0xC0 | i)}); g.effect(0, kFccAll); break;
        default: g.a.raw({0xD9, static_cast<u8>(g.rng.chance(50) ? 0xF7 : 0xF6)}); g.effect(kFccC1, kC023);
      }
      break;
    }
    case 6: {   // FST/FSTP m32/m64/m80, FIST/FISTP m16/m32/m64, FISTTP
      static const u8 kF[][2] = {{0xD9, 2}, {0xDD, 2}, {0xD9, 3}, {0xDD, 3}, {0xDB, 7}, {0xDF, 2}, {0xDB, 2},
                                 {0xDF, 3}, {0xDB, 3}, {0xDF, 7}, {0xDB, 1}, {0xDD, 1}, {0xDF, 1}};
      static const unsigned kSz[] = {4, 8, 4, 8, 10, 2, 4, 2, 4, 8, 4, 8, 2};
      u32 k = g.rng.below(13);
      g.insn(4, {kF[k][0]}, kF[k][1], false, RM::m(g.mem(kSz[k])));
      g.effect(kFccC1, kC023);
      break;
    }
    case 7: {   // FCOM/FCOMP/FUCOM ST(i): C0 C2 C3 (C1 = 0); FCOMI/FUCOMI(P): EFLAGS ZF PF CF
      switch (g.rng.below(5)) {
        case 0: g.a.raw({0xD8, static_cast<u8>(0xD0 | i)}); g.effect(kFccAll, 0); break;
        case 1: g.a.raw({0xD8, static_cast<u8>(0xD8 | i)}); g.effect(kFccAll, 0); break;
        case 2: g.a.raw({0xDD, static_cast<u8>(0xE0 | i)}); g.effect(kFccAll, 0); break;
        default: {
          static const u8 kOp[][2] = {{0xDB, 0xF0}, {0xDB, 0xE8}, {0xDF, 0xF0}, {0xDF, 0xE8}};
          const u8* k = kOp[g.rng.below(4)];
          g.a.raw({k[0], static_cast<u8>(k[1] | i)});
          g.effect(kArith6 | kFccC1, 0);
        }
      }
      break;
    }
    case 8: {   // status/control: FNSTSW AX/m16, FNSTCW, FLDCW, FNCLEX, FNINIT
      switch (g.rng.below(6)) {
        case 0: g.reads(kFccAll); g.a.raw({0xDF, 0xE0}); break;
        case 1: g.reads(kFccAll); g.insn(4, {0xDD}, 7, false, RM::m(g.mem(2))); break;
        case 2: g.insn(4, {0xD9}, 7, false, RM::m(g.mem(2))); g.effect(0, kFccAll); break;
        case 3: {
          Mem m = g.mem(2);
          u16 cw = static_cast<u16>(0x037F | (g.rng.below(4) << 10) | (g.rng.chance(20) ? g.rng.below(4) << 8 : 0x300));
          if (g.rng.chance(10)) cw &= static_cast<u16>(~(1u << g.rng.below(6)));   // unmask one: #MF later
          g.insn(2, {0xC7}, 0, false, RM::m(m), 2, cw);
          g.insn(4, {0xD9}, 5, false, RM::m(m));
          g.effect(0, kFccAll);
          break;
        }
        case 4: g.a.raw({0xDB, 0xE2}); g.effect(0, kFccAll); break;
        default: g.a.raw({0xDB, 0xE3}); g.effect(kFccAll, 0);
      }
      break;
    }
    case 9:     // FPREM / FPREM1: C0 C1 C3 = quotient bits, C2 = incomplete
      g.a.raw({0xD9, static_cast<u8>(g.rng.chance(50) ? 0xF8 : 0xF5)});
      g.effect(kFccAll, 0);
      break;
    case 10: {  // transcendentals: F2XM1 FYL2X FPTAN FPATAN FYL2XP1 FSINCOS FSIN FCOS. The
                // interpreter computes them on the host's x87, so even last-bit results match.
                // FPTAN/FSIN/FCOS/FSINCOS: C2 = out of range; C1 = round-up; C0 C3 undefined.
      static const u8 kOps[] = {0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF};
      u8 op = g.rng.pick(kOps);
      g.a.raw({0xD9, op});
      bool c2 = op == 0xF2 || op == 0xFB || op == 0xFE || op == 0xFF;
      g.effect(c2 ? kFccC1 | kFccC2 : kFccC1, c2 ? kFccC0 | kFccC3 : kC023);
      break;
    }
    case 11: {  // FCMOVcc ST(0), ST(i): reads EFLAGS (SDM Vol.2 FCMOVcc)
      static const u8 kCc[] = {0x2 /*B*/, 0x4 /*E*/, 0x6 /*BE*/, 0xA /*P*/};
      u32 k = g.rng.below(4);
      bool neg = g.rng.chance(50);
      g.reads(cc_reads(kCc[k]));
      g.a.raw({static_cast<u8>(neg ? 0xDB : 0xDA), static_cast<u8>(0xC0 | k << 3 | i)});
      g.effect(kFccC1, kC023);
      break;
    }
    case 12: {  // FLD ST(i), FCOMPP, FUCOMPP, FUCOMP, FCOM(P) m32/m64, FICOM(P) m16/m32
      switch (g.rng.below(5)) {
        case 0: g.a.raw({0xD9, static_cast<u8>(0xC0 | i)}); g.effect(kFccC1, kC023); break;
        case 1: g.a.raw(g.rng.chance(50) ? std::initializer_list<u8>{0xDE, 0xD9} : std::initializer_list<u8>{0xDA, 0xE9});
                g.effect(kFccAll, 0); break;
        case 2: g.a.raw({0xDD, static_cast<u8>(0xE8 | i)}); g.effect(kFccAll, 0); break;
        case 3: {
          bool dbl = g.rng.chance(50);
          g.insn(4, {static_cast<u8>(dbl ? 0xDC : 0xD8)}, static_cast<u8>(2 + g.rng.below(2)), false, RM::m(g.mem(dbl ? 8 : 4)));
          g.effect(kFccAll, 0);
          break;
        }
        default: {
          bool w16 = g.rng.chance(50);
          g.insn(4, {static_cast<u8>(w16 ? 0xDE : 0xDA)}, static_cast<u8>(2 + g.rng.below(2)), false, RM::m(g.mem(w16 ? 2 : 4)));
          g.effect(kFccAll, 0);
        }
      }
      break;
    }
    case 13: {  // FIADD FIMUL FISUB FISUBR FIDIV FIDIVR m16/m32
      static const u8 kOps[] = {0, 1, 4, 5, 6, 7};
      bool w16 = g.rng.chance(50);
      g.insn(4, {static_cast<u8>(w16 ? 0xDE : 0xDA)}, g.rng.pick(kOps), false, RM::m(g.mem(w16 ? 2 : 4)));
      g.effect(kFccC1, kC023);
      break;
    }
    case 14:    // FBLD / FBSTP m80 (packed BCD), FNOP, FWAIT (raises a pending unmasked exception)
      switch (g.rng.below(4)) {
        case 0: g.insn(4, {0xDF}, 4, false, RM::m(g.mem(10))); g.effect(kFccC1, kC023); break;
        case 1: g.insn(4, {0xDF}, 6, false, RM::m(g.mem(10))); g.effect(kFccC1, kC023); break;
        case 2: g.a.raw({0xD9, 0xD0}); g.effect(0, kFccAll); break;
        default: g.a.byte(0x9B); g.effect(0, 0);
      }
      break;
    default:    // FLD with a hard-case 80-bit operand stored just before (SNaN, pseudo-denormal, unnormal...)
      if (g.rng.chance(50)) {
        u8 v[10];
        fp_hard80(g.rng, v);
        u64 lo, hi = 0;
        std::memcpy(&lo, v, 8);
        std::memcpy(&hi, v + 8, 2);
        // MOV r, imm64 / MOV [m], r would need a free register: use the stack page instead.
        g.a.mov_imm(0, lo);   // RAX
        Mem s;
        s.base = 4;
        s.disp = -0x200;
        g.a.modrm(g.l64 ? 8 : 4, {0x89}, 0, true, RM::m(s));
        if (!g.l64) { g.a.mov_imm(0, lo >> 32); s.disp += 4; g.a.modrm(4, {0x89}, 0, true, RM::m(s)); s.disp -= 4; }
        s.disp += 8;
        g.a.modrm(2, {0xC7}, 0, false, RM::m(s), 2, hi);
        s.disp -= 8;
        g.insn(4, {0xDB}, 5, false, RM::m(s));
      } else {
        g.insn(4, {0xDB}, 5, false, RM::m(g.mem(10)));
      }
      g.effect(kFccC1, kC023);
  }
}

// The x87/SSE environment instructions a user program can run: FNSTENV/FLDENV (14- and 28-byte
// formats), FNSAVE/FRSTOR, FXSAVE/FXRSTOR (and the 64-bit forms). The images in memory are
// compared byte by byte, except the fields that are this host's own (zeroed by MOVs emitted
// right after the store, so a round trip through FLDENV/FRSTOR/FXRSTOR loads zeros in both runs):
// the last-instruction pointers FIP/FCS/FOP/FDP/FDS (AMD writes FIP/FDP/FOP only while an
// exception is pending, FCS/FDS are deprecated) and FXSAVE's MXCSR_MASK (a CPU property: host
// AMD 0002FFFF, ours 0000FFFF; FXRSTOR ignores it). Between store and reload a field may be
// changed (tags, FSW, FCW), so the loaders' tag recomputation and pending-exception handling
// are exercised too.
void x87_env(Gen& g) {
  g.fault_percent = 0;   // several accesses to one area; faults are covered by the other templates
  // All accesses here go through g.a.modrm, without Gen::insn's noise prefixes: a random
  // segment override on the store but not on the zeroing MOVs would reach a different segment
  // (an earlier `segs` item may have loaded DS with something else).
  bool o16 = g.rng.chance(25);
  Prefixes p16;
  unsigned os = o16 ? 2 : 4;
  auto at = [](const Mem& m, i32 off) { Mem x = m; x.disp += off; x.force_disp32 = x.force_disp32 || off > 100; return x; };
  // The area's alignment: 4 mostly; 1, 2 or 8 to see which alignment FNSTENV/FNSAVE check
  // under EFLAGS.AC (SDM Vol.3A §6.15 #AC).
  static const unsigned kAlign[] = {4, 4, 4, 4, 1, 2, 8};
  unsigned align = g.rng.pick(kAlign);
  auto zero = [&](const Mem& m, i32 from, i32 to) {   // MOV [m+k], 0 over [from, to)
    for (i32 k = from; k < to;) {
      // Naturally aligned pieces: EFLAGS.AC may be set (#AC otherwise).
      unsigned n = align >= 4 && k % 4 == 0 && to - k >= 4 ? 4 : align >= 2 && k % 2 == 0 ? 2 : 1;
      if (n == 1) g.a.modrm(1, {0xC6}, 0, false, RM::m(at(m, k)), 1, 0);   // no noise prefixes (CS: #GP)
      else g.a.modrm(n, {0xC7}, 0, false, RM::m(at(m, k)), n == 4 ? 4 : 2, 0);
      k += static_cast<i32>(n);
    }
  };
  unsigned env = o16 ? 14 : 28;
  i32 fip = o16 ? 6 : 12;
  switch (g.rng.below(4)) {
    case 0: case 1: {   // FNSTENV [; modify; FLDENV]
      Mem m = g.mem(env, align, false);
      g.a.modrm(os, {0xD9}, 6, false, RM::m(m), 0, 0, p16);
      zero(m, fip, static_cast<i32>(env));
      if (g.rng.chance(60)) {
        i32 fsw_at = o16 ? 2 : 4, ftw_at = o16 ? 4 : 8;
        if (g.rng.chance(50)) g.a.modrm(2, {0xC7}, 0, false, RM::m(at(m, ftw_at)), 2, static_cast<u16>(g.rng.next()));
        if (g.rng.chance(30)) g.a.modrm(2, {0xC7}, 0, false, RM::m(at(m, fsw_at)), 2, static_cast<u16>(g.rng.next() & 0x7FFF));
        if (g.rng.chance(30))
          g.a.modrm(2, {0xC7}, 0, false, RM::m(at(m, 0)), 2, static_cast<u16>(0x37F ^ (g.rng.below(4) << 10) ^ (g.rng.chance(20) ? 1u << g.rng.below(6) : 0)));
        g.a.modrm(os, {0xD9}, 4, false, RM::m(m), 0, 0, p16);
        g.effect(kFccAll, 0);
      }
      break;
    }
    case 2: {           // FNSAVE (then FNINIT) [; FRSTOR]
      Mem m = g.mem(env + 80, align, false);
      g.a.modrm(os, {0xDD}, 6, false, RM::m(m), 0, 0, p16);
      zero(m, fip, static_cast<i32>(env));
      g.effect(kFccAll, 0);
      if (g.rng.chance(70)) {
        if (g.rng.chance(30)) g.a.modrm(2, {0xC7}, 0, false, RM::m(at(m, o16 ? 4 : 8)), 2, static_cast<u16>(g.rng.next()));
        g.a.modrm(os, {0xDD}, 4, false, RM::m(m), 0, 0, p16);
      }
      break;
    }
    default: {          // FXSAVE[64] [; modify the abridged tags; FXRSTOR[64]]
      bool w = g.l64 && g.rng.chance(50);
      // Misaligned: #GP, or #AC under EFLAGS.AC depending on the implementation (SDM Vol.3A
      // §6.15): misaligned only while AC is certainly clear.
      Mem m = g.mem(512, !g.ac_maybe && g.rng.chance(3) ? 8 : 16, false);
      Prefixes pw;
      pw.rex_w = w;
      g.a.modrm(4, {0x0F, 0xAE}, 0, false, RM::m(m), 0, 0, pw);
      zero(m, 6, 24);
      zero(m, 28, 32);
      if (g.rng.chance(70)) {
        if (g.rng.chance(40)) g.a.modrm(1, {0xC6}, 0, false, RM::m(at(m, 4)), 1, g.rng.below(256));
        g.a.modrm(4, {0x0F, 0xAE}, 1, false, RM::m(m), 0, 0, pw);
        g.effect(kFccAll, 0);
      }
    }
  }
}

}  // namespace

void add_fp_templates(std::vector<Template>& t) {
  t.push_back({"sse_int", 3, 0, sse_int, false, true});
  t.push_back({"sse_fp", 3, 0, sse_fp, false, true});
  t.push_back({"x87", 3, 0, x87, false, true});
  t.push_back({"x87_env", 3, 0, x87_env, false, true});
}

}  // namespace rv::oracle
