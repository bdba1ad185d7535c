// Templates: stack (PUSH/POP, PUSHF/POPF, PUSHA/POPA, ENTER/LEAVE), string instructions with
// REP, forward control transfers (Jcc, JMP, LOOP, JrCXZ, CALL, RET, indirect JMP), BCD,
// SALC, XLAT. Flags per SDM Vol.2 "Flags Affected".
#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

constexpr u8 kRAX = 0, kRCX = 1, kRBX = 3, kRSP = 4, kRBP = 5, kRSI = 6, kRDI = 7;

unsigned stack_size(Gen& g) { return g.rng.chance(20) ? 2 : (g.l64 ? 8 : 4); }
// PUSH/POP's operand size: 8 is the default in 64-bit mode (no REX.W needed).
unsigned enc_size(unsigned s) { return s == 8 ? 4 : s; }

void push_pop(Gen& g) {
  unsigned s = stack_size(g);
  switch (g.rng.below(7)) {
    case 0: g.a.opreg(enc_size(s), {}, 0x50, static_cast<u8>(g.rng.below(g.l64 ? 16 : 8))); break;
    case 1: g.a.opreg(enc_size(s), {}, 0x58, g.gpr_dst()); break;
    case 2:
      if (g.rng.chance(50)) g.a.plain(enc_size(s), {0x6A}, 1, g.value(1));
      else g.a.plain(enc_size(s), {0x68}, s == 2 ? 2 : 4, g.value(4));
      break;
    case 3: g.insn(enc_size(s), {0xFF}, 6, false, RM::m(g.mem(s))); break;
    case 4: g.insn(enc_size(s), {0x8F}, 0, false, RM::m(g.mem(s))); break;   // [rsp+d] uses the popped RSP
    case 5:
      g.a.opreg(enc_size(s), {}, 0x50, static_cast<u8>(g.rng.below(g.l64 ? 16 : 8)));
      g.a.opreg(enc_size(s), {}, 0x58, g.gpr_dst());
      break;
    default:   // POP RSP: the stack pointer comes from the stack (SDM POP: RSP gets the popped value)
      g.a.plain(4, {0x68}, 4, kStackTop - 0x100 + g.rng.below(0x200));
      g.a.byte(0x5C);
  }
}

void pushf_popf(Gen& g) {
  unsigned s = stack_size(g);
  switch (g.rng.below(3)) {
    case 0: g.reads(kArith6); g.a.plain(enc_size(s), {0x9C}); break;
    case 1: g.reads(kArith6); g.a.plain(enc_size(s), {0x9C}); g.a.opreg(enc_size(s), {}, 0x58, g.gpr_dst()); break;
    default: {
      // The arithmetic flags, DF and AC (TF is the traps template's; IF/IOPL are not
      // writable at CPL 3).
      u64 v = 0x202 | (g.rng.next() & kArith6) | (g.rng.chance(30) ? kFlagDF : 0);
      // AC: Linux runs with CR0.AM=1, so misaligned accesses after this raise #AC (CPL 3 only).
      if (g.cpl3 && g.rng.chance(30)) { v |= kFlagAC; g.ac_maybe = true; }
      g.a.plain(enc_size(s), {0x68}, s == 2 ? 2 : 4, v);
      g.a.plain(enc_size(s), {0x9D});
      g.effect(kArith6, 0);
    }
  }
}

void pusha_popa(Gen& g) {
  unsigned s = g.rng.chance(25) ? 2 : 4;
  if (g.rng.chance(50)) { g.a.plain(s, {0x60}); return; }
  if (g.rng.chance(50)) g.a.plain(s, {0x60});
  g.a.plain(s, {0x61});
}

void enter_leave(Gen& g) {
  unsigned s = stack_size(g);
  u8 level = static_cast<u8>(g.rng.chance(50) ? 0 : g.rng.below(g.rng.chance(90) ? 4 : 9));
  // A 16-bit ENTER sets only BP, and LEAVE then copies all of RBP/EBP to the stack pointer:
  // keep RBP inside the stack page so the POP does not read the (runner-specific) code page.
  if (level > 1 || s == 2 || g.rng.chance(30)) g.set_reg(kRBP, kStackBase + 0x600 + g.rng.below(0x400));
  // With AC set, this host's ENTER faults (#AC) when the new stack pointer is misaligned
  // even though it does not access it (the SDM describes no such access): keep it aligned.
  u32 frame = g.rng.below(0x101);
  if (g.ac_maybe) frame &= ~7u;
  g.a.plain(enc_size(s), {0xC8}, 2, frame);
  g.a.byte(level);
  if (g.rng.chance(30)) g.a.opreg(enc_size(s), {}, 0x50, static_cast<u8>(g.rng.below(8)));
  if (g.rng.chance(75)) g.a.plain(enc_size(s), {0xC9});
}

// MOVS CMPS STOS LODS SCAS.
void string_op(Gen& g) {
  static const u8 kOpc[] = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
  unsigned kind = g.rng.below(5), size = g.osize_any();
  bool cmp = kind == 1 || kind == 4;
  Prefixes p;
  unsigned r = g.rng.below(3);
  if (r == 1) p.rep = 0xF3;
  else if (r == 2 && cmp) p.rep = 0xF2;
  if (g.l64 && g.rng.chance(20)) p.a67 = true;
  if ((kind <= 1 || kind == 3) && g.rng.chance(15)) { static const u8 kSeg[] = {0x26, 0x2E, 0x36, 0x3E}; p.seg = g.rng.pick(kSeg); }
  u64 si = kDataBase + 0x200 + g.rng.below(0xC00), di = kDataBase + 0x200 + g.rng.below(0xC00);
  u32 count = g.rng.below(13);
  u32 shape = g.rng.below(10);
  if (shape == 0 && p.rep) {          // a long run in a known direction
    bool down = g.rng.chance(50);
    g.a.byte(down ? 0xFD : 0xFC);
    count = g.rng.below(0x700 / size);
    si = down ? kDataBase + 0xFF8 - g.rng.below(0x100) : kDataBase + g.rng.below(0x100);
    di = down ? kDataBase + 0xFF8 - g.rng.below(0x100) : kDataBase + g.rng.below(0x100);
  } else if (shape == 1 && p.rep) {   // runs off the page: #PF with RCX/RSI/RDI mid-way
    g.a.byte(0xFC);
    count = 0x3000;
    si = kDataBase + 0xF00 + g.rng.below(0x100);
    di = kDataBase + 0xF00 + g.rng.below(0x100);
  } else {
    if (g.rng.chance(50)) g.a.byte(g.rng.chance(50) ? 0xFC : 0xFD);   // CLD / STD
    if (shape == 2) di = si + g.rng.below(9) - 4;                       // overlapping MOVS
    if (shape == 3 && p.rep) {                                          // long overlapping run
      g.a.byte(0xFC);
      count = g.rng.below(0x200 / size);
      si = kDataBase + 0x100 + g.rng.below(0x400);
      di = si + g.rng.below(33) - 16;
    }
  }
  if (kind == 1 && g.rng.chance(30)) di = si;   // equal strings: REPE runs to the end
  if (kind != 2 && kind != 4) g.set_reg(kRSI, si);
  if (kind != 3) g.set_reg(kRDI, di);
  if (p.rep) g.set_reg(kRCX, count);
  g.a.plain(size, {static_cast<u8>(kOpc[kind] + (size == 1 ? 0 : 1))}, 0, 0, p);
  if (cmp && (!p.rep || count != 0)) g.effect(kArith6, 0);
  // A fault in the middle of REPE/REPNE CMPS/SCAS: Intel reports the arithmetic flags as
  // before the instruction, AMD as after the last completed iteration (the SDM does not
  // say), so they are not compared at a fault inside this item.
  if (cmp && p.rep) g.undef_any |= kArith6;
}

void jumps(Gen& g) {
  switch (g.rng.below(10)) {
    case 0: {
      u8 cc = static_cast<u8>(g.rng.below(16));
      g.reads(cc_reads(cc));
      g.a.raw({static_cast<u8>(0x70 + cc), 0});
      g.jump_fixup(Fixup::Rel8, 1);
      break;
    }
    case 1: {
      u8 cc = static_cast<u8>(g.rng.below(16));
      g.reads(cc_reads(cc));
      g.a.raw({0x0F, static_cast<u8>(0x80 + cc), 0, 0, 0, 0});
      g.jump_fixup(Fixup::Rel32, 4);
      break;
    }
    case 2:
      if (g.rng.chance(50)) { g.a.raw({0xEB, 0}); g.jump_fixup(Fixup::Rel8, 1); }
      else { g.a.raw({0xE9, 0, 0, 0, 0}); g.jump_fixup(Fixup::Rel32, 4); }
      break;
    case 3: {   // LOOP / LOOPE / LOOPNE
      u8 opc = static_cast<u8>(0xE0 + g.rng.below(3));
      if (g.rng.chance(50)) g.set_reg(kRCX, g.rng.below(3));
      if (opc != 0xE2) g.reads(kFlagZF);
      if (g.rng.chance(20)) g.a.byte(0x67);
      g.a.raw({opc, 0});
      g.jump_fixup(Fixup::Rel8, 1);
      break;
    }
    case 4:     // JrCXZ
      if (g.rng.chance(50)) g.set_reg(kRCX, g.rng.below(2));
      if (g.rng.chance(20)) g.a.byte(0x67);
      g.a.raw({0xE3, 0});
      g.jump_fixup(Fixup::Rel8, 1);
      break;
    case 5:     // CALL next; POP r: the return address is the next RIP
      g.a.raw({0xE8, 0, 0, 0, 0});
      g.a.opreg(4, {}, 0x58, g.gpr_dst());
      break;
    case 6:     // CALL forward (the return address stays on the stack)
      g.a.raw({0xE8, 0, 0, 0, 0});
      g.jump_fixup(Fixup::Rel32, 4);
      break;
    case 7: {   // PUSH target; RET [imm16]
      g.a.raw({0x68, 0, 0, 0, 0});
      g.jump_fixup(Fixup::Abs32, 4);
      if (g.rng.chance(30)) g.a.raw({0xC2, static_cast<u8>(g.rng.below(5) * (g.l64 ? 8 : 4)), 0});
      else g.a.byte(0xC3);
      break;
    }
    case 8: {   // MOV r, target; JMP r
      u8 r = g.gpr_dst();
      g.a.opreg(4, {}, 0xB8, r, 4, 0);
      g.jump_fixup(Fixup::Abs32, 4);
      g.a.modrm(4, {0xFF}, 4, false, RM::r(r));
      break;
    }
    default: {  // MOV [m], target; JMP [m]
      unsigned s = g.l64 ? 8 : 4;
      Mem m = g.mem(s, 1, false);
      g.insn(s, {0xC7}, 0, false, RM::m(m), 4, 0);
      g.jump_fixup(Fixup::Abs32, 4);
      g.insn(4, {0xFF}, 4, false, RM::m(m));
    }
  }
}

void bcd(Gen& g) {
  if (g.rng.chance(50)) g.set_reg(kRAX, g.value(2));
  switch (g.rng.below(6)) {
    case 0: case 1:   // DAA / DAS
      g.reads(kFlagAF | kFlagCF);
      g.a.byte(g.rng.chance(50) ? 0x27 : 0x2F);
      g.effect(kArith6 & ~kFlagOF, kFlagOF);
      break;
    case 2: case 3:   // AAA / AAS
      g.reads(kFlagAF);
      g.a.byte(g.rng.chance(50) ? 0x37 : 0x3F);
      g.effect(kFlagAF | kFlagCF, kFlagOF | kFlagSF | kFlagZF | kFlagPF);
      break;
    default: {        // AAM / AAD with imm8 (AAM 0 raises #DE)
      u8 imm = g.rng.chance(60) ? 10 : static_cast<u8>(g.rng.below(256));
      g.a.raw({static_cast<u8>(g.rng.chance(50) ? 0xD4 : 0xD5), imm});
      g.effect(kFlagSF | kFlagZF | kFlagPF, kFlagOF | kFlagAF | kFlagCF);
    }
  }
}

void salc(Gen& g) { g.reads(kFlagCF); g.a.byte(0xD6); }

void xlat(Gen& g) {
  g.set_reg(kRBX, kDataBase + g.rng.below(kPage - 256));
  g.a.plain(g.l64 && g.rng.chance(30) ? 8 : 4, {0xD7});
}

// Instructions that fault at CPL 3 (or always): the vector, error code and state must match.
void traps(Gen& g) {
  switch (g.rng.below(12)) {
    case 0: g.a.byte(0xCC); break;                                    // INT3: #BP, RIP after it
    case 1: {                                                         // INT n: #GP(n*8+2) unless DPL 3
      u8 n = static_cast<u8>(g.rng.below(256));
      if (n == 0x80) n = 0x81;                                        // Linux's 32-bit syscall gate
      g.a.raw({0xCD, n});
      break;
    }
    case 2: g.a.raw({0x0F, 0x0B}); break;                             // UD2
    case 3: g.a.byte(0xF4); break;                                    // HLT: #GP(0)
    case 4: g.a.byte(g.rng.chance(50) ? 0xFA : 0xFB); break;          // CLI/STI with IOPL 0: #GP(0)
    case 5: {                                                         // IN/OUT without permission
      static const u8 kIo[] = {0xE4, 0xE5, 0xE6, 0xE7, 0xEC, 0xED, 0xEE, 0xEF};
      u8 op = g.rng.pick(kIo);
      g.a.byte(op);
      if (op < 0xE8) g.a.byte(static_cast<u8>(g.rng.below(256)));
      break;
    }
    case 6: {                                                         // privileged: #GP(0)
      switch (g.rng.below(6)) {
        case 0: g.a.raw({0x0F, 0x20, static_cast<u8>(0xC0 | g.rng.below(8))}); break;   // MOV r, CR0
        case 1: g.a.raw({0x0F, 0x32}); break;                                           // RDMSR
        case 2: g.a.raw({0x0F, 0x30}); break;                                           // WRMSR
        case 3: g.a.raw({0x0F, 0x06}); break;                                           // CLTS
        case 4: g.a.raw({0x0F, 0x09}); break;                                           // WBINVD
        default: g.insn(4, {0x0F, 0x01}, 7, false, RM::m(g.mem(1)));                   // INVLPG
      }
      break;
    }
    case 7: {                                                         // LOCK on a non-lockable instruction: #UD
      Prefixes p;
      p.lock = true;
      RM rm = g.rm(4, true, 50);
      g.insn(4, {static_cast<u8>(g.rng.chance(50) ? 0x89 : 0x8B)}, g.gpr_dst(), true, rm, 0, 0, p);
      break;
    }
    case 8:                                                           // INTO: #OF if OF (#UD in 64-bit mode)
      g.reads(kFlagOF);
      g.a.byte(0xCE);
      break;
    case 9: {                                                         // BOUND r, m: #BR outside the bounds
      if (g.l64) { g.a.byte(0xCE); break; }
      unsigned size = g.rng.chance(30) ? 2 : 4;
      g.insn(size, {0x62}, g.gpr_dst(), true, RM::m(g.mem(2 * size)));
      break;
    }
    case 10: {                                                        // single step: TF set by POPF
      // SDM Vol.3A §17.3.1.4: the #DB trap follows the instruction after the POPF.
      u64 v = 0x302 | (g.rng.next() & kArith6);
      g.a.plain(4, {0x68}, 4, v);
      g.a.byte(0x9D);
      g.effect(kArith6, 0);
      if (g.rng.chance(50)) g.a.byte(0x90);
      else g.a.modrm(4, {0xFF}, static_cast<u8>(g.rng.below(2)), false, RM::r(g.gpr_dst()));   // INC/DEC r32
      g.effect(0, 0);
      break;
    }
    case 11: {                                                        // more #UD/#GP encodings
      // Not INT1 (ICEBP): on this host (nested AMD virtualization) the native #DB reports the
      // RIP of the INT1 itself rather than the next instruction (SDM: a trap), so it is not a
      // usable oracle there.
      switch (1 + g.rng.below(4)) {
        case 1: g.a.raw({0x0F, 0xB9, static_cast<u8>(0xC0 | g.rng.below(64))}); break;   // UD1
        case 2: g.a.raw({0xF0, static_cast<u8>(0xA4 + g.rng.below(12))}); break;         // LOCK string op
        case 3: {                                                     // > 15 bytes: #GP(0)
          unsigned n = 14 + g.rng.below(3);
          for (unsigned i = 0; i < n; i++) g.a.byte(0x66);
          g.a.byte(0x90);
          break;
        }
        default: {                                                    // invalid in 64-bit mode (#UD)
          if (!g.l64) { g.a.raw({0x0F, 0x0B}); break; }
          static const u8 kInvalid[] = {0x06, 0x07, 0x0E, 0x16, 0x17, 0x1E, 0x1F, 0x27, 0x2F, 0x37, 0x3F, 0x60, 0x61, 0xD6};
          g.a.byte(g.rng.pick(kInvalid));
        }
      }
      break;
    }
  }
}

// Segment registers: MOV to/from, PUSH/POP, LAR/LSL/VERR/VERW, with selectors that are valid,
// null, privileged, system or LDT (Linux's GDT layout; FS/GS are never loaded, they hold
// the native run's TLS).
void segs(Gen& g) {
  static const u16 kSel[] = {0, 3, 0x2B, 0x28, 0x29, 0x2A, 0x23, 0x33, 0x18, 0x1B, 0x10, 0x40, 0x2F, 0x43, 0x48};
  static const u8 kLoadable[] = {0, 2, 3};   // ES SS DS
  switch (g.rng.below(6)) {
    case 0: {   // MOV r/m, Sreg
      RM rm = g.rm(2, true, 40);
      g.insn(rm.is_mem ? 4 : g.osize_v(), {0x8C}, static_cast<u8>(g.rng.below(6)), false, rm);
      break;
    }
    case 1: case 2: {   // MOV Sreg, r/m
      u8 sr = g.rng.pick(kLoadable);
      u16 sel = g.rng.pick(kSel);
      if (g.rng.chance(50)) {
        u8 r = g.gpr_dst();
        g.set_reg(r, sel | (g.rng.chance(20) ? 0xABCD0000u : 0));
        g.a.modrm(4, {0x8E}, sr, false, RM::r(r));
      } else {
        g.fault_percent = 0;
        Mem m = g.mem(2, 1, false);
        g.insn(2, {0xC7}, 0, false, RM::m(m), 2, sel);
        g.insn(4, {0x8E}, sr, false, RM::m(m));
      }
      break;
    }
    case 3: {   // PUSH/POP Sreg
      // Vendors differ (SDM Vol.2 PUSH): with a 32- or 64-bit operand size a segment register
      // is pushed zero-extended (AMD) or with a 16-bit move that leaves the rest of the slot
      // as it was (recent Intel). Zero the slot first (MOV [rSP-size], 0: the same address,
      // so it faults where the push would), so that both give the same bytes.
      unsigned slot = g.l64 ? 8 : 4;
      auto zero_slot = [&] {
        Mem m;
        m.base = kRSP;
        m.disp = -static_cast<i32>(slot);
        g.a.modrm(slot, {0xC7}, 0, false, RM::m(m), 4, 0);
      };
      if (g.l64) { zero_slot(); g.a.raw({0x0F, static_cast<u8>(g.rng.chance(50) ? 0xA0 : 0xA8)}); break; }   // PUSH FS/GS
      static const u8 kPush[] = {0x06, 0x0E, 0x16, 0x1E};
      static const u8 kPop[] = {0x07, 0x17, 0x1F};
      if (g.rng.chance(50)) { zero_slot(); g.a.byte(g.rng.pick(kPush)); }
      else { g.a.raw({0x68}); g.a.imm(g.rng.pick(kSel), 4); g.a.byte(g.rng.pick(kPop)); }
      break;
    }
    default: {  // LAR / LSL / VERR / VERW: ZF says whether the selector passed the checks
      u8 r = g.gpr_dst();
      u16 sel = g.rng.pick(kSel);
      g.set_reg(r, sel);
      u32 k = g.rng.below(4);
      if (k == 0) {
        // SDM LAR: the result is masked with 00FxFF00H, bits 16-19 undefined. Keep ZF in a
        // register and clear those bits.
        u8 d = g.gpr_dst(), z = g.gpr_low8();
        unsigned sz = g.osize_v();
        g.a.modrm(sz, {0x0F, 0x02}, d, true, RM::r(r));
        g.a.modrm(1, {0x0F, 0x94}, 0, false, RM::r(z));                        // SETZ
        g.a.modrm(sz == 2 ? 4 : sz, {0x81}, 4, false, RM::r(d), 4, 0xFFF0FFFF);  // AND d, ~000F0000h
        g.effect(kArith6, kFlagAF);
        break;
      }
      if (k == 1) g.a.modrm(g.osize_v(), {0x0F, 0x03}, g.gpr_dst(), true, RM::r(r));
      else g.a.modrm(2, {0x0F, 0x00}, static_cast<u8>(k == 2 ? 4 : 5), false, RM::r(r), 0, 0, Prefixes{.no_66 = true});
      g.effect(kFlagZF, 0);
    }
  }
}

}  // namespace

void add_misc_templates(std::vector<Template>& t) {
  t.push_back({"push_pop", 3, 0, push_pop});
  t.push_back({"pushf_popf", 3, 0, pushf_popf});
  t.push_back({"pusha_popa", 2, 0, pusha_popa});
  t.push_back({"enter_leave", 3, 0, enter_leave});
  t.push_back({"string", 3, 0, string_op});
  t.push_back({"jumps", 3, 0, jumps});
  t.push_back({"bcd", 2, 0, bcd});
  t.push_back({"salc", 2, 0, salc});
  t.push_back({"xlat", 3, 0, xlat});
  t.push_back({"traps", 3, 0, traps});   // CPL 3 only (not with --cpl0)
  t.push_back({"segs", 3, 0, segs});     // CPL 3 only
}

}  // namespace rv::oracle
