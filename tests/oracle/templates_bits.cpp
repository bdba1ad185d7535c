// Templates: shifts and rotates, SHLD/SHRD, MUL/IMUL, DIV/IDIV, BT*, BSF/BSR, LZCNT/TZCNT/
// POPCNT, MOVBE, XADD, CMPXCHG, CMPXCHG8B/16B. Flags per SDM Vol.2 "Flags Affected".
#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

constexpr u8 kRAX = 0, kRCX = 1, kRDX = 2;

// Sets CL to a known count (returns it) or leaves RCX as it is (returns -1).
int cl_count(Gen& g, unsigned size, unsigned known_percent) {
  g.reserved |= 1u << kRCX;
  if (!g.rng.chance(known_percent)) return -1;
  u8 c = g.count_for(size);
  g.a.opreg(1, {}, 0xB0, kRCX, 1, c);   // MOV CL, imm8
  return c;
}

// ROL ROR RCL RCR SHL SHR SAL SAR (ModRM.reg order).
void shift(Gen& g) {
  unsigned size = g.osize_any(), bits = size * 8, op = g.rng.below(8);
  g.pick_byte_class();
  unsigned form = g.rng.below(3);
  int count = 1;
  if (form == 2) count = cl_count(g, size, 60);
  else if (form == 1) count = g.count_for(size);
  RM rm = g.rm(size, true);
  bool rc = op == 2 || op == 3, rot = op <= 3, shl_shr = op == 4 || op == 5 || op == 6;
  int masked = count < 0 ? -1 : count & (size == 8 ? 63 : 31);
  if (rc && masked != 0) g.reads(kFlagCF);
  u8 b = size == 1 ? 0 : 1;
  if (form == 0) g.insn(size, {static_cast<u8>(0xD0 + b)}, static_cast<u8>(op), false, rm);
  else if (form == 1) g.insn(size, {static_cast<u8>(0xC0 + b)}, static_cast<u8>(op), false, rm, 1, static_cast<u64>(count));
  else g.insn(size, {static_cast<u8>(0xD2 + b)}, static_cast<u8>(op), false, rm);
  if (masked < 0) {   // unknown count: a zero count changes nothing, so nothing becomes defined
    u64 u = kFlagOF;
    if (!rot) u |= kFlagAF | (shl_shr && size <= 2 ? kFlagCF : 0);
    g.effect(0, u);
    return;
  }
  if (masked == 0) return;   // SDM: a zero count affects no flags
  u64 of = masked == 1 ? kFlagOF : 0;
  if (rot) { g.effect(kFlagCF | of, kFlagOF & ~of); return; }
  u64 def = kFlagCF | kFlagSF | kFlagZF | kFlagPF | of, undef = kFlagAF | (kFlagOF & ~of);
  // SDM SHL/SHR: CF is undefined when the count is >= the operand size.
  if (shl_shr && static_cast<unsigned>(masked) >= bits) { def &= ~kFlagCF; undef |= kFlagCF; }
  g.effect(def, undef);
}

void shld_shrd(Gen& g) {
  unsigned size = g.osize_v();
  bool right = g.rng.chance(50), by_cl = g.rng.chance(50);
  // A 16-bit count above 16 leaves the result undefined (SDM SHLD): keep counts <= 16 there.
  auto pick = [&]() -> u8 {
    if (size == 2) return static_cast<u8>(g.rng.below(17) + (g.rng.chance(20) ? 32 : 0));
    return g.count_for(size);
  };
  int count;
  if (by_cl) {
    g.reserved |= 1u << kRCX;
    if (size == 2 || g.rng.chance(60)) { count = pick(); g.a.opreg(1, {}, 0xB0, kRCX, 1, static_cast<u64>(count)); }
    else count = -1;
  } else {
    count = pick();
  }
  RM rm = g.rm(size, true);
  u8 opc = static_cast<u8>((right ? 0xAC : 0xA4) + (by_cl ? 1 : 0));
  if (by_cl) g.insn(size, {0x0F, opc}, g.reg_src(size), true, rm);
  else g.insn(size, {0x0F, opc}, g.reg_src(size), true, rm, 1, static_cast<u64>(count));
  if (count < 0) { g.effect(0, kFlagOF | kFlagAF); return; }
  int masked = count & (size == 8 ? 63 : 31);
  if (masked == 0) return;
  u64 of = masked == 1 ? kFlagOF : 0;
  g.effect(kFlagCF | kFlagSF | kFlagZF | kFlagPF | of, kFlagAF | (kFlagOF & ~of));
}

void mul(Gen& g) {
  switch (g.rng.below(4)) {
    case 0: {   // MUL/IMUL r/m (AX, DX:AX, EDX:EAX, RDX:RAX)
      unsigned size = g.osize_any();
      g.pick_byte_class();
      RM rm = g.rm(size, false);
      g.insn(size, {static_cast<u8>(size == 1 ? 0xF6 : 0xF7)}, g.rng.chance(50) ? 4 : 5, false, rm);
      break;
    }
    case 1: {
      unsigned size = g.osize_v();
      RM rm = g.rm(size, false);
      g.insn(size, {0x0F, 0xAF}, g.gpr_dst(), true, rm);
      break;
    }
    case 2: {
      unsigned size = g.osize_v();
      RM rm = g.rm(size, false);
      g.insn(size, {0x6B}, g.gpr_dst(), true, rm, 1, g.value(1));
      break;
    }
    default: {
      unsigned size = g.osize_v();
      RM rm = g.rm(size, false);
      g.insn(size, {0x69}, g.gpr_dst(), true, rm, imm_bytes(size), g.value(size));
    }
  }
  g.effect(kFlagCF | kFlagOF, kFlagSF | kFlagZF | kFlagAF | kFlagPF);   // SDM MUL/IMUL
}

void div(Gen& g) {
  unsigned size = g.osize_any();
  bool sgn = g.rng.chance(50);
  g.pick_byte_class();
  u8 ext = sgn ? 7 : 6;
  u8 opc = size == 1 ? 0xF6 : 0xF7;
  if (g.rng.chance(25)) {   // anything goes: #DE must match too
    RM rm = g.rm(size, false);
    g.insn(size, {opc}, ext, false, rm);
    g.effect(0, kArith6);
    return;
  }
  u64 mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
  u64 d = g.value(size) & mask;
  if (d == 0) d = 1 + g.rng.below(100);
  if (sgn && d == mask) d = 3;                                   // -1 could overflow
  if (size == 8 && static_cast<u64>(static_cast<i64>(static_cast<i32>(d))) != d) d = static_cast<u32>(d) | 1;
  g.reserved |= (1u << kRAX) | (1u << kRDX);
  RM rm;
  if (g.rng.chance(50)) {
    rm = RM::m(g.mem(size, 1, false));
    g.insn(size, {static_cast<u8>(size == 1 ? 0xC6 : 0xC7)}, 0, false, rm, imm_bytes(size), d);   // MOV [m], divisor
  } else {
    u8 r;
    do r = g.reg_dst(size); while (r == kRAX || r == kAH || (size != 1 && r == kRDX));
    if (size == 1) g.a.opreg(1, {}, 0xB0, r, 1, d);
    else g.set_reg(r, d);
    rm = RM::r(r);
  }
  if (sgn) {
    g.a.plain(size == 1 ? 2 : size, {static_cast<u8>(size == 1 ? 0x98 : 0x99)});   // CBW / CWD / CDQ / CQO
  } else {
    u64 hi = g.value(size) & mask;
    hi = d == 0 ? 0 : hi % d;
    if (size == 1) g.a.opreg(1, {}, 0xB0, kAH, 1, hi);
    else g.set_reg(kRDX, hi);
  }
  g.insn(size, {opc}, ext, false, rm);
  g.effect(0, kArith6);   // SDM DIV/IDIV: all six undefined
}

// BT BTS BTR BTC.
void bt(Gen& g) {
  unsigned size = g.osize_v(), op = 4 + g.rng.below(4);
  if (g.rng.chance(50)) {
    RM rm = g.rm(size, op != 4);
    Prefixes p;
    p.lock = rm.is_mem && op != 4 && g.rng.chance(20);
    g.insn(size, {0x0F, 0xBA}, static_cast<u8>(op), false, rm, 1, g.rng.below(256), p);
  } else {
    static const u8 kOpc[] = {0xA3, 0xAB, 0xB3, 0xBB};
    u8 off = g.gpr_dst();
    RM rm;
    if (g.rng.chance(50)) {
      // Memory with a register bit offset addresses up to offset/8 bytes away (SDM BT).
      g.set_reg(off, static_cast<u64>(static_cast<i64>(g.rng.below(4001)) - 2000));
      g.reserved |= 1u << off;
      g.mem_lo = 0x180;
      g.mem_hi = kPage - 0x180;
      rm = RM::m(g.mem(size));
    } else {
      rm = RM::r(op == 4 ? g.reg_src(size) : g.gpr_dst());
    }
    Prefixes p;
    p.lock = rm.is_mem && op != 4 && g.rng.chance(20);
    g.insn(size, {0x0F, kOpc[op - 4]}, off, true, rm, 0, 0, p);
  }
  g.effect(kFlagCF, kFlagOF | kFlagSF | kFlagAF | kFlagPF);   // ZF unchanged
}

void bsf_bsr(Gen& g) {
  unsigned size = g.osize_v();
  RM rm = g.rm(size, false);
  g.insn(size, {0x0F, static_cast<u8>(g.rng.chance(50) ? 0xBC : 0xBD)}, g.gpr_dst(), true, rm);
  g.effect(kFlagZF, kArith6 & ~kFlagZF);
}

void cnt_op(Gen& g, u8 opc, u64 def, u64 undef) {
  unsigned size = g.osize_v();
  RM rm = g.rm(size, false);
  Prefixes p;
  p.rep = 0xF3;
  g.insn(size, {0x0F, opc}, g.gpr_dst(), true, rm, 0, 0, p);
  g.effect(def, undef);
}
void lzcnt(Gen& g) { cnt_op(g, 0xBD, kFlagCF | kFlagZF, kFlagOF | kFlagSF | kFlagPF | kFlagAF); }
void tzcnt(Gen& g) { cnt_op(g, 0xBC, kFlagCF | kFlagZF, kFlagOF | kFlagSF | kFlagPF | kFlagAF); }
void popcnt(Gen& g) { cnt_op(g, 0xB8, kArith6, 0); }

void movbe(Gen& g) {
  unsigned size = g.osize_v();
  RM rm = RM::m(g.mem(size));
  bool store = g.rng.chance(50);
  g.insn(size, {0x0F, 0x38, static_cast<u8>(store ? 0xF1 : 0xF0)}, store ? g.reg_src(size) : g.gpr_dst(), true, rm);
}

void xadd(Gen& g) {
  unsigned size = g.osize_any();
  g.pick_byte_class();
  RM rm = g.rm(size, true);
  Prefixes p;
  p.lock = rm.is_mem && g.rng.chance(30);
  g.insn(size, {0x0F, static_cast<u8>(size == 1 ? 0xC0 : 0xC1)}, g.reg_dst(size), true, rm, 0, 0, p);
  g.effect(kArith6, 0);
}

void cmpxchg(Gen& g) {
  unsigned size = g.osize_any();
  g.pick_byte_class();
  g.reserved |= 1u << kRAX;
  RM rm = g.rm(size, true, 50);
  if (g.rng.chance(35))   // make the comparison succeed: copy the accumulator to the destination
    g.insn(size, {static_cast<u8>(size == 1 ? 0x88 : 0x89)}, kRAX, true, rm);
  Prefixes p;
  p.lock = rm.is_mem && g.rng.chance(30);
  g.insn(size, {0x0F, static_cast<u8>(size == 1 ? 0xB0 : 0xB1)}, g.reg_src(size), true, rm, 0, 0, p);
  g.effect(kArith6, 0);
}

void cmpxchg8b(Gen& g) {
  bool wide = g.l64 && (host_features() & kFeatCx16) && g.rng.chance(40);
  unsigned n = wide ? 16 : 8;
  g.reserved |= (1u << kRAX) | (1u << kRDX);
  Mem m = g.mem(n, wide ? 16 : 1, false);
  if (g.rng.chance(35)) {   // equal case: store rDX:rAX to the operand first
    Mem hi = m;
    hi.disp += static_cast<i32>(n / 2);
    g.insn(n / 2, {0x89}, kRAX, true, RM::m(m));
    g.insn(n / 2, {0x89}, kRDX, true, RM::m(hi));
  }
  Prefixes p;
  p.lock = g.rng.chance(30);
  p.rex_w = wide;
  g.insn(4, {0x0F, 0xC7}, 1, false, RM::m(m), 0, 0, p);
  g.effect(kFlagZF, 0);
}

}  // namespace

void add_bits_templates(std::vector<Template>& t) {
  t.push_back({"shift", 3, 0, shift});
  t.push_back({"shld_shrd", 3, 0, shld_shrd});
  t.push_back({"mul", 3, 0, mul});
  t.push_back({"div", 3, 0, div});
  t.push_back({"bt", 3, 0, bt});
  t.push_back({"bsf_bsr", 3, 0, bsf_bsr});
  t.push_back({"lzcnt", 3, kFeatLzcnt, lzcnt});
  t.push_back({"tzcnt", 3, kFeatBmi1, tzcnt});
  t.push_back({"popcnt", 3, kFeatPopcnt, popcnt});
  t.push_back({"movbe", 3, kFeatMovbe, movbe});
  t.push_back({"xadd", 3, 0, xadd});
  t.push_back({"cmpxchg", 3, 0, cmpxchg});
  t.push_back({"cmpxchg8b", 3, 0, cmpxchg8b});
}

}  // namespace rv::oracle
