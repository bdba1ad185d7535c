// Templates: two-operand ALU, TEST, INC/DEC, NEG/NOT, MOV family, LEA, CMOVcc/SETcc,
// CBW/CWD, XCHG, BSWAP, flag instructions, LAHF/SAHF, NOPs. Flags per SDM Vol.2 "Flags
// Affected" of each instruction.
#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

// ADD OR ADC SBB AND SUB XOR CMP (ModRM.reg / opcode row order).
void alu_effect(Gen& g, unsigned op) {
  bool logic = op == 1 || op == 4 || op == 6;
  // SDM: AND/OR/XOR clear OF and CF, set SF ZF PF; AF is undefined.
  if (logic) g.effect(kArith6, kFlagAF);
  else g.effect(kArith6, 0);
}
u64 alu_reads(unsigned op) { return op == 2 || op == 3 ? kFlagCF : 0; }

void alu_rm_r(Gen& g) {
  unsigned op = g.rng.below(8), size = g.osize_any();
  g.pick_byte_class();
  RM rm = g.rm(size, op != 7);
  u8 reg = g.reg_src(size);
  Prefixes p;
  p.lock = rm.is_mem && op != 7 ? g.rng.chance(20) : g.rng.chance(2);   // LOCK on a register or CMP: #UD
  g.reads(alu_reads(op));
  g.insn(size, {static_cast<u8>(op * 8 + (size == 1 ? 0 : 1))}, reg, true, rm, 0, 0, p);
  alu_effect(g, op);
}

void alu_r_rm(Gen& g) {
  unsigned op = g.rng.below(8), size = g.osize_any();
  g.pick_byte_class();
  RM rm = g.rm(size, false);
  u8 reg = op == 7 ? g.reg_src(size) : g.reg_dst(size);
  g.reads(alu_reads(op));
  g.insn(size, {static_cast<u8>(op * 8 + (size == 1 ? 2 : 3))}, reg, true, rm);
  alu_effect(g, op);
}

void alu_acc_imm(Gen& g) {
  unsigned op = g.rng.below(8), size = g.osize_any();
  g.reads(alu_reads(op));
  g.a.plain(size, {static_cast<u8>(op * 8 + (size == 1 ? 4 : 5))}, imm_bytes(size), g.value(size));
  alu_effect(g, op);
}

void alu_rm_imm(Gen& g) {
  unsigned op = g.rng.below(8), size = g.osize_any();
  g.pick_byte_class();
  RM rm = g.rm(size, op != 7);
  Prefixes p;
  p.lock = rm.is_mem && op != 7 && g.rng.chance(20);
  g.reads(alu_reads(op));
  if (size == 1) {
    u8 opc = !g.l64 && g.rng.chance(20) ? 0x82 : 0x80;   // 82 is 80's alias outside 64-bit mode
    g.insn(1, {opc}, static_cast<u8>(op), false, rm, 1, g.value(1), p);
  } else if (g.rng.chance(50)) {
    g.insn(size, {0x83}, static_cast<u8>(op), false, rm, 1, g.value(1), p);
  } else {
    g.insn(size, {0x81}, static_cast<u8>(op), false, rm, imm_bytes(size), g.value(size), p);
  }
  alu_effect(g, op);
}

void test_op(Gen& g) {
  unsigned size = g.osize_any();
  g.pick_byte_class();
  switch (g.rng.below(3)) {
    case 0: {
      RM rm = g.rm(size, false);
      g.insn(size, {static_cast<u8>(size == 1 ? 0x84 : 0x85)}, g.reg_src(size), true, rm);
      break;
    }
    case 1: g.a.plain(size, {static_cast<u8>(size == 1 ? 0xA8 : 0xA9)}, imm_bytes(size), g.value(size)); break;
    default: {
      RM rm = g.rm(size, false);
      u8 ext = g.rng.chance(10) ? 1 : 0;   // F6/F7 /1 is an undocumented alias of /0
      g.insn(size, {static_cast<u8>(size == 1 ? 0xF6 : 0xF7)}, ext, false, rm, imm_bytes(size), g.value(size));
    }
  }
  g.effect(kArith6, kFlagAF);
}

void incdec(Gen& g) {
  unsigned size = g.osize_any();
  bool dec = g.rng.chance(50);
  if (!g.l64 && size != 1 && g.rng.chance(40)) {
    g.a.opreg(size, {}, dec ? 0x48 : 0x40, g.gpr_dst());
  } else {
    g.pick_byte_class();
    RM rm = g.rm(size, true);
    Prefixes p;
    p.lock = rm.is_mem && g.rng.chance(20);
    g.insn(size, {static_cast<u8>(size == 1 ? 0xFE : 0xFF)}, dec ? 1 : 0, false, rm, 0, 0, p);
  }
  g.effect(kArith6 & ~kFlagCF, 0);
}

void negnot(Gen& g) {
  unsigned size = g.osize_any();
  bool neg = g.rng.chance(50);
  g.pick_byte_class();
  RM rm = g.rm(size, true);
  Prefixes p;
  p.lock = rm.is_mem && g.rng.chance(20);
  g.insn(size, {static_cast<u8>(size == 1 ? 0xF6 : 0xF7)}, neg ? 3 : 2, false, rm, 0, 0, p);
  if (neg) g.effect(kArith6, 0);
}

void mov(Gen& g) {
  unsigned size = g.osize_any();
  g.pick_byte_class();
  switch (g.rng.below(6)) {
    case 0: {
      RM rm = g.rm(size, true);
      g.insn(size, {static_cast<u8>(size == 1 ? 0x88 : 0x89)}, g.reg_src(size), true, rm);
      break;
    }
    case 1: {
      RM rm = g.rm(size, false);
      g.insn(size, {static_cast<u8>(size == 1 ? 0x8A : 0x8B)}, g.reg_dst(size), true, rm);
      break;
    }
    case 2: {
      RM rm = g.rm(size, true);
      g.insn(size, {static_cast<u8>(size == 1 ? 0xC6 : 0xC7)}, 0, false, rm, imm_bytes(size), g.value(size));
      break;
    }
    case 3:
      if (size == 1) g.a.opreg(1, {}, 0xB0, g.reg_dst(1), 1, g.value(1));
      else g.a.opreg(size, {}, 0xB8, g.reg_dst(size), size, g.value(size));   // imm64 with REX.W
      break;
    default: {   // MOV AL/rAX <-> moffs (SDM: A0-A3; 64-bit offset in 64-bit mode, 32 with 0x67)
      u32 off = g.rng.below(kPage - size + 1);
      Prefixes p;
      unsigned asz = 4;
      if (g.l64) { if (g.rng.chance(30)) p.a67 = true; else asz = 8; }
      u8 opc = static_cast<u8>((g.rng.chance(50) ? 0xA0 : 0xA2) + (size == 1 ? 0 : 1));
      g.a.plain(size, {opc}, asz, kDataBase + off, p);
    }
  }
}

void movx(Gen& g) {
  g.pick_byte_class();
  unsigned size = g.osize_v();
  switch (g.rng.below(g.l64 ? 5 : 4)) {
    case 0: case 1: {   // MOVZX/MOVSX Gv, Eb
      RM rm = g.rm(1, false);
      u8 dst = g.legacy_bytes ? g.gpr_low8() : g.gpr_dst();
      Prefixes p;
      p.rm_byte = true;
      g.insn(size, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0xB6 : 0xBE)}, dst, true, rm, 0, 0, p);
      break;
    }
    case 2: case 3: {   // MOVZX/MOVSX Gv, Ew
      RM rm = g.rm(2, false);
      g.insn(size, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0xB7 : 0xBF)}, g.gpr_dst(), true, rm);
      break;
    }
    default: {   // MOVSXD Gv, Ed
      RM rm = g.rm(4, false);
      g.insn(g.rng.chance(80) ? 8 : 4, {0x63}, g.gpr_dst(), true, rm);
    }
  }
}

void lea(Gen& g) {
  unsigned size = g.osize_v();
  Mem m;
  if (!g.l64 && g.rng.chance(25)) {   // 16-bit addressing (0x67 in a 32-bit segment)
    m.a16 = true;
    m.rm16 = static_cast<u8>(g.rng.below(9));
    m.disp = g.rng.chance(50) ? static_cast<i32>(g.rng.below(256)) - 128 : static_cast<i32>(g.rng.below(0x10000)) - 0x8000;
  } else {
    unsigned nregs = g.l64 ? 16 : 8;
    if (g.rng.chance(85)) m.base = static_cast<u8>(g.rng.below(nregs));
    if (g.rng.chance(50)) {
      do m.index = static_cast<u8>(g.rng.below(nregs)); while (m.index == 4);
      m.scale = static_cast<u8>(g.rng.below(4));
    }
    switch (g.rng.below(3)) {
      case 0: m.disp = 0; break;
      case 1: m.disp = static_cast<i32>(g.rng.below(256)) - 128; break;
      default: m.disp = static_cast<i32>(g.rng.next());
    }
    if (g.l64 && g.rng.chance(25)) m.addr32 = true;
    if (g.l64 && g.rng.chance(10)) { m.rip = true; m.base = m.index = kNone; }
  }
  g.a.modrm(size, {0x8D}, g.gpr_dst(), true, RM::m(m));
}

void cmov(Gen& g) {
  unsigned size = g.osize_v();
  u8 cc = static_cast<u8>(g.rng.below(16));
  RM rm = g.rm(size, false);
  g.reads(cc_reads(cc));
  g.insn(size, {0x0F, static_cast<u8>(0x40 + cc)}, g.gpr_dst(), true, rm);
}

void setcc(Gen& g) {
  u8 cc = static_cast<u8>(g.rng.below(16));
  g.pick_byte_class();
  RM rm = g.rm(1, true);
  g.reads(cc_reads(cc));
  g.insn(1, {0x0F, static_cast<u8>(0x90 + cc)}, g.rng.chance(80) ? 0 : static_cast<u8>(g.rng.below(8)), false, rm);
}

void cbw_cwd(Gen& g) { g.a.plain(g.osize_v(), {static_cast<u8>(g.rng.chance(50) ? 0x98 : 0x99)}); }

void xchg(Gen& g) {
  unsigned size = g.osize_any();
  g.pick_byte_class();
  if (size != 1 && g.rng.chance(30)) {   // 90+r with rAX (r = 0 with REX.B is R8)
    u8 r = g.gpr_dst();
    if (r == 0) r = g.l64 ? 8 : 1;
    g.a.opreg(size, {}, 0x90, r);
    return;
  }
  RM rm = g.rm(size, true);
  Prefixes p;
  p.lock = rm.is_mem && g.rng.chance(20);
  g.insn(size, {static_cast<u8>(size == 1 ? 0x86 : 0x87)}, g.reg_dst(size), true, rm, 0, 0, p);
}

void bswap(Gen& g) { g.a.opreg(g.l64 && g.rng.chance(50) ? 8 : 4, {0x0F}, 0xC8, g.gpr_dst()); }

void flagops(Gen& g) {
  switch (g.rng.below(5)) {
    case 0: g.a.byte(0xF8); g.effect(kFlagCF, 0); break;   // CLC
    case 1: g.a.byte(0xF9); g.effect(kFlagCF, 0); break;   // STC
    case 2: g.reads(kFlagCF); g.a.byte(0xF5); break;       // CMC
    case 3: g.a.byte(0xFC); break;                         // CLD
    default: g.a.byte(0xFD);                               // STD
  }
}

void lahf_sahf(Gen& g) {
  if (g.rng.chance(50)) {
    g.reads(kArith6 & ~kFlagOF);
    g.a.byte(0x9F);
  } else {
    if (g.rng.chance(50)) g.a.opreg(1, {}, 0xB0, kAH, 1, g.value(1));
    g.a.byte(0x9E);
    g.effect(kArith6 & ~kFlagOF, 0);
  }
}

void nops(Gen& g) {
  switch (g.rng.below(4)) {
    case 0: g.a.byte(0x90); break;
    case 1: g.a.raw({0x66, 0x90}); break;
    case 2: g.a.raw({0xF3, 0x90}); break;   // PAUSE
    default: {   // 0F 1F /0: no memory access, so any address (even non-canonical) is fine
      Mem m;
      m.base = static_cast<u8>(g.rng.below(g.l64 ? 16 : 8));
      m.disp = static_cast<i32>(g.rng.below(256)) - 128;
      g.a.modrm(g.osize_v(), {0x0F, 0x1F}, 0, false, g.rng.chance(80) ? RM::m(m) : RM::r(g.gpr_dst()));
    }
  }
}

}  // namespace

void add_alu_templates(std::vector<Template>& t) {
  t.push_back({"alu_rm_r", 3, 0, alu_rm_r});
  t.push_back({"alu_r_rm", 3, 0, alu_r_rm});
  t.push_back({"alu_acc_imm", 3, 0, alu_acc_imm});
  t.push_back({"alu_rm_imm", 3, 0, alu_rm_imm});
  t.push_back({"test", 3, 0, test_op});
  t.push_back({"incdec", 3, 0, incdec});
  t.push_back({"negnot", 3, 0, negnot});
  t.push_back({"mov", 3, 0, mov});
  t.push_back({"movx", 3, 0, movx});
  t.push_back({"lea", 3, 0, lea});
  t.push_back({"cmov", 3, 0, cmov});
  t.push_back({"setcc", 3, 0, setcc});
  t.push_back({"cbw_cwd", 3, 0, cbw_cwd});
  t.push_back({"xchg", 3, 0, xchg});
  t.push_back({"bswap", 3, 0, bswap});
  t.push_back({"flagops", 3, 0, flagops});
  t.push_back({"lahf_sahf", 3, 0, lahf_sahf});
  t.push_back({"nop", 3, 0, nops});
}

}  // namespace rv::oracle
