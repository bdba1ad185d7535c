// Templates: self-modifying code and far control transfers (same mode, and round trips
// between 64-bit and compatibility mode through Linux's user selectors 0x33 and 0x23).
#include <string>

#include "tests/oracle/templates_common.h"

namespace rv::oracle {
namespace {

constexpr u16 kCs32 = 0x23, kCs64 = 0x33;

Mem abs_mem(u64 addr) { Mem m; m.disp = static_cast<i32>(addr); return m; }
void put32(std::vector<u8>& b, size_t at, u32 v) { for (int i = 0; i < 4; i++) b[at + i] = static_cast<u8>(v >> (8 * i)); }

// Stores to the instruction that follows (SDM Vol.3A §11.6: a store to an instruction in
// the prefetch queue or pipeline is seen by its execution). The patched instruction either
// gets a new immediate (MOV r32, imm32) or becomes DEC instead of INC (same flags).
void smc(Gen& g) {
  u8 r = g.gpr_dst();
  bool opcode_patch = g.rng.chance(30);
  u8 newb = static_cast<u8>(g.rng.below(256));
  u32 which = g.rng.below(4);
  bool riprel = g.l64 && g.rng.chance(50);
  bool via_reg = !riprel && g.rng.chance(40);
  u8 ptr = 0;
  if (via_reg) { do ptr = g.gpr_dst(); while (ptr == r); }
  if (opcode_patch) newb = static_cast<u8>(0xC8 | (r & 7));   // FF /1 = DEC
  // The store, with its address field patched once the target offset is known.
  size_t field;
  if (riprel) {
    Mem m;
    m.rip = true;
    g.a.modrm(1, {0xC6}, 0, false, RM::m(m), 1, newb);
    field = g.a.size() - 5;
  } else if (via_reg) {
    g.a.opreg(4, {}, 0xB8, ptr, 4, 0);
    field = g.a.size() - 4;
    g.a.modrm(1, {0xC6}, 0, false, RM::m([&] { Mem m; m.base = ptr; return m; }()), 1, newb);
  } else {
    g.a.modrm(1, {0xC6}, 0, false, RM::m(abs_mem(0)), 1, newb);
    field = g.a.size() - 5;
  }
  size_t store_end = g.a.size();
  size_t target;
  if (opcode_patch) {
    g.a.modrm(4, {0xFF}, 0, false, RM::r(r));   // INC r32
    target = g.a.size() - 1;                    // the ModRM byte
  } else {
    g.a.opreg(4, {}, 0xB8, r, 4, g.value(4));
    target = g.a.size() - 4 + which;
  }
  if (riprel) put32(g.a.bytes(), field, static_cast<u32>(target - store_end));
  else g.self_fixup(Fixup::Abs32, static_cast<u32>(field), static_cast<u32>(target));
  if (opcode_patch) g.effect(kArith6 & ~kFlagCF, 0);
}

// A short piece of code for the other mode: moves, NOT, BSWAP (no flags), on `r`.
void other_mode_code(Asm& o, Gen& g, u8 r) {
  unsigned n = 1 + g.rng.below(3);
  for (unsigned i = 0; i < n; i++) {
    unsigned size = o.long64() && g.rng.chance(50) ? 8 : 4;
    switch (g.rng.below(3)) {
      case 0: o.opreg(size, {}, 0xB8, r, size, g.value(size)); break;
      case 1: o.modrm(size, {0xF7}, 2, false, RM::r(r)); break;
      default: o.opreg(size, {0x0F}, 0xC8, r);
    }
  }
}

void far_transfer(Gen& g) {
  u16 same = g.l64 ? kCs64 : kCs32, other = g.l64 ? kCs32 : kCs64;
  u64 m = kDataBase + g.rng.below(kPage - 16);
  // To the other mode and back needs compatibility mode natively: not on hosts without it
  // (such cases come from the recorded corpus there, corpus.h).
  switch (g.rng.below(g_native_compat32 ? 4 : 3)) {
    case 0: {   // PUSH CS; PUSH target; RETF (REX.W in 64-bit mode: the pushes are 8 bytes)
      g.a.raw({0x6A, static_cast<u8>(same), 0x68, 0, 0, 0, 0});
      g.jump_fixup(Fixup::Abs32, 4);
      if (g.l64) g.a.byte(0x48);
      g.a.byte(0xCB);
      break;
    }
    case 1: case 2: {   // JMP FAR / CALL FAR through an m16:32 pointer, same mode
      g.a.modrm(4, {0xC7}, 0, false, RM::m(abs_mem(m)), 4, 0);
      g.jump_fixup(Fixup::Abs32, 4);
      g.a.modrm(2, {0xC7}, 0, false, RM::m(abs_mem(m + 4)), 2, same);
      if (!g.l64 && g.rng.chance(50)) {   // direct JMP/CALL ptr16:32 (not in 64-bit mode)
        g.a.byte(g.rng.chance(50) ? 0xEA : 0x9A);
        g.a.imm(0, 4);
        g.jump_fixup(Fixup::Abs32, 4);
        g.a.imm(same, 2);
        break;
      }
      g.a.modrm(4, {0xFF}, g.rng.chance(50) ? 5 : 3, false, RM::m(abs_mem(m)));
      break;
    }
    default: {  // to the other mode and back: JMP FAR [m] ... JMP FAR [m+8]
      u8 r = g.gpr_low8();
      g.a.modrm(4, {0xC7}, 0, false, RM::m(abs_mem(m)), 4, 0);
      size_t f_there = g.a.size() - 4;
      g.a.modrm(2, {0xC7}, 0, false, RM::m(abs_mem(m + 4)), 2, other);
      g.a.modrm(4, {0xC7}, 0, false, RM::m(abs_mem(m + 8)), 4, 0);
      size_t f_back = g.a.size() - 4;
      g.a.modrm(2, {0xC7}, 0, false, RM::m(abs_mem(m + 12)), 2, same);
      g.a.modrm(4, {0xFF}, 5, false, RM::m(abs_mem(m)));
      size_t there = g.a.size();
      Asm o(!g.l64);
      other_mode_code(o, g, r);
      o.modrm(4, {0xFF}, 5, false, RM::m(abs_mem(m + 8)));
      for (u8 b : o.bytes()) g.a.byte(b);
      size_t back = g.a.size();
      // SDM Vol.1 §3.4.1.1: register bits 63:32 are undefined after compatibility mode;
      // rewrite the register the 32-bit code used so they are defined again.
      if (g.l64) g.a.modrm(4, {0x89}, r, true, RM::r(r));
      g.self_fixup(Fixup::Abs32, static_cast<u32>(f_there), static_cast<u32>(there));
      g.self_fixup(Fixup::Abs32, static_cast<u32>(f_back), static_cast<u32>(back));
    }
  }
}

// A counted loop around 1-3 items from other templates, so blocks run many times (block
// cache, chaining, specialised handlers). The counter lives in an unused corner of the code
// area (kCodeBase + 0x7F0), which memory operands never target.
void loop(Gen& g) {
  constexpr u64 kCounter = kCodeBase + 0x7F0;
  u32 n = 2 + g.rng.below(19);
  g.a.modrm(4, {0xC7}, 0, false, RM::m(abs_mem(kCounter)), 4, 0);     // MOV dword [counter], 0
  // Arithmetic flags are all defined at the back edge (CMP); x87 condition codes may not be.
  g.undef |= kFccAll;
  g.undef_any |= g.undef;
  g.ac_maybe = g.cpl3;   // a POPF later in the body may set AC for the next iteration
  size_t head = g.a.size();
  unsigned body = 1 + g.rng.below(3);
  const auto& all = all_templates();
  for (unsigned k = 0; k < body; k++) {
    const Template* t;
    do t = &all[g.rng.below(static_cast<u32>(all.size()))];
    while (t->fn == loop || t->opt_in || !(t->modes & (g.l64 ? 1 : 2)) || (t->feature && !(host_features() & t->feature)) ||
           std::string(t->name) == "traps" || std::string(t->name) == "far" || std::string(t->name) == "segs");
    g.reserved = 0;
    g.legacy_bytes = true;
    t->fn(g);
  }
  g.a.modrm(4, {0xFF}, 0, false, RM::m(abs_mem(kCounter)));                 // INC dword [counter]
  g.a.modrm(4, {0x81}, 7, false, RM::m(abs_mem(kCounter)), 4, n);           // CMP dword [counter], n
  i64 rel = static_cast<i64>(head) - static_cast<i64>(g.a.size() + 2);
  if (rel >= -128) {
    g.a.raw({0x72, static_cast<u8>(rel)});                                  // JB head
  } else {
    rel = static_cast<i64>(head) - static_cast<i64>(g.a.size() + 6);
    g.a.raw({0x0F, 0x82});
    g.a.imm(static_cast<u64>(rel), 4);
  }
  g.effect(kArith6, 0);
}

// Jumps to an instruction that straddles the end of the code area (or ends exactly at it):
// instruction fetch from the unmapped next page must raise #PF with CR2 = 0x10002000 and
// RIP = the instruction start (or the page start), after the complete instruction ran.
void fetch(Gen& g) {
  // One tail per program: a second fetch item goes to the instruction the first one placed
  // (else it would rewrite the tail under the first one's jump).
  if (g.tail_start) {
    g.a.plain(4, {0x68}, 4, g.tail_start);
    g.a.byte(0xC3);
    return;
  }
  std::vector<u8> insn;
  switch (g.rng.below(5)) {
    case 0: insn = {0x90}; break;
    case 1: insn = {0xB8, 1, 2, 3, 4}; break;                                   // MOV EAX, imm32
    case 2: insn = {0x8D, 0x44, 0x24, 0x10}; break;                             // LEA EAX, [ESP+16]
    case 3: insn = {0x66, 0xC7, 0xC1, 0x34, 0x12}; break;                       // MOV CX, imm16
    default:
      if (g.l64) insn = {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8};                   // MOV RAX, imm64
      else insn = {0xC7, 0xC2, 9, 8, 7, 6};                                     // MOV EDX, imm32
  }
  u32 k = 1 + g.rng.below(static_cast<u32>(insn.size()));   // bytes before the page end
  g.tail.assign(16, 0xCC);
  for (u32 b = 0; b < k; b++) g.tail[16 - k + b] = insn[b];
  u64 start = kTailAddr + 16 - k;
  g.tail_start = start;
  g.a.plain(4, {0x68}, 4, start);   // PUSH start; RET
  g.a.byte(0xC3);
}

}  // namespace

void add_flow_templates(std::vector<Template>& t) {
  t.push_back({"fetch", 3, 0, fetch});
  t.push_back({"loop", 3, 0, loop});
  t.push_back({"smc", 3, 0, smc});
  t.push_back({"far", 3, 0, far_transfer});   // CPL 3 only (Linux's user selectors)
}

}  // namespace rv::oracle
