// Table-driven x86 decoder.
//
// Steps: legacy prefixes (66 67 F0 F2 F3 and segment overrides, any order, last segment
// wins), REX in 64-bit mode (only when it immediately precedes the opcode), VEX/EVEX/XOP
// escapes (length only: those instructions are #UD here), the opcode map and byte, ModRM/SIB/
// displacement, immediates. The ModRM and immediate shape of each opcode comes from the
// per-map tables below (SDM Vol.2 Appendix A opcode maps); the meaning comes from opcodes.inc.
#include "cpu/decoder/decoder.h"

#include <array>
#include <vector>

namespace rv {
namespace {

// Immediate kinds.
enum Imm : u8 {
  kNone, kIb, kIw, kIz, kIv, kIwIb, kAp, kMoffs, kJb, kJz,
  kIbSx,     // Ib sign-extended to the operand size
  kGrpF6,    // F6: Ib only for /0 /1
  kGrpF7,    // F7: Iz only for /0 /1
  kId,       // XOP map A: 4 bytes
};

struct OpShape { bool modrm; Imm imm; };

// Constraint bits for opcodes.inc's `form` column.
namespace form {
constexpr u32 A = 0, M = 1u << 0, R = 1u << 1, P66 = 1u << 2, PF3 = 1u << 3, PF2 = 1u << 4,
              N64 = 1u << 5, O64 = 1u << 6, NP = 1u << 7, NF2 = 1u << 8, RmSpecific = 1u << 9;
constexpr u32 rm(u32 n) { return R | RmSpecific | (n << 12); }
constexpr u32 R0 = rm(0), R1 = rm(1), R2 = rm(2), R3 = rm(3), R4 = rm(4), R5 = rm(5), R6 = rm(6), R7 = rm(7);
}  // namespace form

struct Entry { OpId op; i8 reg; u32 form; };

struct Tables {
  std::array<OpShape, 256> shape[5];
  std::vector<Entry> entries[5][256];

  Tables() {
    build_one_byte();
    build_0f();
    for (int op = 0; op < 256; op++) {
      shape[3][op] = {true, kNone};   // 0F 38: ModRM, no immediate
      shape[4][op] = {true, kIb};     // 0F 3A: ModRM + Ib
    }
    using namespace form;
#define X(name, map, opc, count, reg, frm)                 \
    for (int i = 0; i < (count); i++) entries[map][(opc) + i].push_back({OpId::name, static_cast<i8>(reg), static_cast<u32>(frm)});
#include "cpu/decoder/opcodes.inc"
#undef X
  }

  void build_one_byte() {
    auto& s = shape[1];
    for (int op = 0; op < 256; op++) s[op] = {false, kNone};
    for (int row = 0; row < 8; row++) {      // ALU rows 00-3F
      int b = row * 8;
      for (int k = 0; k < 4; k++) s[b + k] = {true, kNone};
      s[b + 4] = {false, kIb};
      s[b + 5] = {false, kIz};
    }
    for (int op : {0x62, 0x63, 0x8C, 0x8D, 0x8E, 0x8F, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B,
                   0xC4, 0xC5, 0xD0, 0xD1, 0xD2, 0xD3, 0xFE, 0xFF})
      s[op] = {true, kNone};
    for (int op = 0xD8; op <= 0xDF; op++) s[op] = {true, kNone};
    s[0x68] = {false, kIz};   s[0x69] = {true, kIz};
    s[0x6A] = {false, kIbSx}; s[0x6B] = {true, kIbSx};
    for (int op = 0x70; op <= 0x7F; op++) s[op] = {false, kJb};
    s[0x80] = {true, kIb}; s[0x81] = {true, kIz}; s[0x82] = {true, kIb}; s[0x83] = {true, kIbSx};
    s[0x9A] = {false, kAp};
    for (int op = 0xA0; op <= 0xA3; op++) s[op] = {false, kMoffs};
    s[0xA8] = {false, kIb}; s[0xA9] = {false, kIz};
    for (int op = 0xB0; op <= 0xB7; op++) s[op] = {false, kIb};
    for (int op = 0xB8; op <= 0xBF; op++) s[op] = {false, kIv};
    s[0xC0] = {true, kIb}; s[0xC1] = {true, kIb};
    s[0xC2] = {false, kIw}; s[0xC6] = {true, kIb}; s[0xC7] = {true, kIz};
    s[0xC8] = {false, kIwIb}; s[0xCA] = {false, kIw}; s[0xCD] = {false, kIb};
    s[0xD4] = {false, kIb}; s[0xD5] = {false, kIb};
    for (int op = 0xE0; op <= 0xE3; op++) s[op] = {false, kJb};
    for (int op = 0xE4; op <= 0xE7; op++) s[op] = {false, kIb};
    s[0xE8] = {false, kJz}; s[0xE9] = {false, kJz}; s[0xEA] = {false, kAp}; s[0xEB] = {false, kJb};
    s[0xF6] = {true, kGrpF6}; s[0xF7] = {true, kGrpF7};
  }

  void build_0f() {
    auto& s = shape[2];
    for (int op = 0; op < 256; op++) s[op] = {true, kNone};
    for (int op : {0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0E, 0x30, 0x31, 0x32, 0x33, 0x34,
                   0x35, 0x36, 0x37, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA})
      s[op] = {false, kNone};
    for (int op = 0x80; op <= 0x8F; op++) s[op] = {false, kJz};
    for (int op = 0xC8; op <= 0xCF; op++) s[op] = {false, kNone};
    for (int op : {0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6}) s[op] = {true, kIb};
    s[0x0F] = {true, kIb};   // 3DNow!: ModRM then the opcode as a trailing byte
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

bool matches(const Entry& e, const DecodedInsn& d, u8 mand, bool mode64) {
  using namespace form;
  if (e.reg >= 0 && (d.mod == 0xFF || (d.reg & 7) != e.reg)) return false;
  if ((e.form & M) && d.mod == 3) return false;
  if ((e.form & R) && d.mod != 3) return false;
  if ((e.form & RmSpecific) && (d.rm & 7) != ((e.form >> 12) & 7)) return false;
  if ((e.form & N64) && mode64) return false;
  if ((e.form & O64) && !mode64) return false;
  if ((e.form & PF3) && mand != 0xF3) return false;
  if ((e.form & PF2) && mand != 0xF2) return false;
  if ((e.form & P66) && mand != 0x66) return false;
  if ((e.form & NP) && mand != 0) return false;
  if ((e.form & NF2) && mand == 0xF2) return false;
  return true;
}

struct Reader {
  const u8* p;
  unsigned avail;
  unsigned pos = 0;
  bool ok = true;
  u8 u8_() {
    if (pos >= avail || pos >= 15) { ok = false; return 0; }
    return p[pos++];
  }
  u64 le(unsigned n) {
    u64 v = 0;
    for (unsigned i = 0; i < n; i++) v |= u64(u8_()) << (8 * i);
    return v;
  }
};

u64 sext(u64 v, unsigned bytes) {
  unsigned sh = 64 - 8 * bytes;
  return static_cast<u64>(static_cast<i64>(v << sh) >> sh);
}

// ModRM + SIB + displacement. 16-bit forms: SDM Vol.2 Table 2-1; 32/64: Tables 2-2, 2-3.
void decode_modrm(Reader& r, DecodedInsn& d, bool mode64, bool no_mem_form) {
  u8 m = r.u8_();
  d.mod = m >> 6;
  d.reg = ((m >> 3) & 7) | ((d.rex & 4) << 1);
  d.rm = (m & 7) | ((d.rex & 1) << 3);
  if (no_mem_form) { d.mod = 3; return; }   // MOV CR/DR: mod is ignored (SDM MOV-Control Registers)
  if (d.mod == 3) return;
  if (d.asize == 2) {
    static const u8 kBase[8] = {3, 3, 5, 5, 6, 7, 5, 3};         // BX BX BP BP SI DI BP BX
    static const u8 kIndex[8] = {6, 7, 6, 7, kNoReg, kNoReg, kNoReg, kNoReg};
    u8 rm = m & 7;
    d.rm = rm;
    if (d.mod == 0 && rm == 6) {
      d.base = kNoReg; d.index = kNoReg;
      d.disp = static_cast<i32>(sext(r.le(2), 2));
      return;
    }
    d.base = kBase[rm]; d.index = kIndex[rm];
    if (rm == 2 || rm == 3 || rm == 6) d.seg = SS;
    if (d.mod == 1) d.disp = static_cast<i32>(sext(r.le(1), 1));
    else if (d.mod == 2) d.disp = static_cast<i32>(sext(r.le(2), 2));
    return;
  }
  u8 rm = m & 7;
  if (rm == 4) {
    u8 sib = r.u8_();
    d.scale = sib >> 6;
    u8 idx = ((sib >> 3) & 7) | ((d.rex & 2) << 2);
    d.index = idx == 4 ? kNoReg : idx;
    u8 base = sib & 7;
    if (base == 5 && d.mod == 0) {
      d.base = kNoReg;
      d.disp = static_cast<i32>(r.le(4));
    } else {
      d.base = base | ((d.rex & 1) << 3);
    }
  } else if (rm == 5 && d.mod == 0) {
    d.base = mode64 ? kRipReg : kNoReg;
    d.index = kNoReg;
    d.disp = static_cast<i32>(r.le(4));
  } else {
    d.base = rm | ((d.rex & 1) << 3);
    d.index = kNoReg;
  }
  if (d.base == 4 || d.base == 5) d.seg = SS;   // ESP/EBP (not R12/R13) default to SS
  if (d.mod == 1) d.disp = static_cast<i32>(sext(r.le(1), 1));
  else if (d.mod == 2) d.disp = static_cast<i32>(r.le(4));
}

// VEX/EVEX/XOP: decode only the length, as #UD-raising Vex/Evex/Xop ops.
DecodeStatus decode_vex_like(Reader& r, DecodedInsn& d, u8 esc, bool mode64) {
  u8 map = 1;
  u8 opcode;
  bool evex = esc == 0x62, xop = esc == 0x8F;
  if (esc == 0xC5) {
    u8 b1 = r.u8_();
    d.rex = 0x40 | ((~b1 >> 5) & 4);
    opcode = r.u8_();
  } else if (evex) {
    u8 p0 = r.u8_();
    r.u8_();
    r.u8_();
    map = p0 & 3;
    d.rex = 0x40 | ((~p0 >> 5) & 7);
    opcode = r.u8_();
  } else {
    u8 b1 = r.u8_();
    r.u8_();
    map = b1 & 0x1F;
    d.rex = 0x40 | ((~b1 >> 5) & 7);
    opcode = r.u8_();
  }
  if (!mode64) d.rex &= ~7;
  d.op = evex ? OpId::Evex : xop ? OpId::Xop : OpId::Vex;
  d.opcode = opcode;
  d.map = map;
  Imm imm = kNone;
  bool modrm = true;
  if (xop) {
    imm = map == 8 ? kIb : map == 0xA ? kId : kNone;
  } else if (map == 1) {
    if (opcode == 0x77 && !evex) modrm = false;   // VZEROUPPER/VZEROALL
    if ((opcode >= 0x70 && opcode <= 0x73) || opcode == 0xC2 || opcode == 0xC4 || opcode == 0xC5 || opcode == 0xC6)
      imm = kIb;
  } else if (map == 3) {
    imm = kIb;
  }
  if (modrm) decode_modrm(r, d, mode64, false);
  if (imm == kIb) d.imm = r.le(1);
  else if (imm == kId) d.imm = r.le(4);
  if (!r.ok) return r.pos >= 15 ? DecodeStatus::TooLong : DecodeStatus::Truncated;
  d.len = static_cast<u8>(r.pos);
  return DecodeStatus::Ok;
}

}  // namespace

DecodeStatus decode(const u8* bytes, unsigned avail, CpuMode mode, DecodedInsn& d) {
  d = DecodedInsn{};
  const bool mode64 = mode == CpuMode::Long64;
  const bool def32 = mode == CpuMode::Prot32;
  Reader r{bytes, avail};
  bool p66 = false, p67 = false;
  u8 mand = 0;             // last of 66/F2/F3 for mandatory-prefix purposes (F2/F3 beat 66)
  u8 seg_override = kNoSeg;
  u8 b;
  for (;;) {
    b = r.u8_();
    if (!r.ok) break;
    switch (b) {
      case 0x66: p66 = true; if (!mand) mand = 0x66; continue;
      case 0x67: p67 = true; continue;
      case 0xF0: d.lock = true; continue;
      case 0xF2: d.rep = 2; mand = 0xF2; continue;
      case 0xF3: d.rep = 3; mand = 0xF3; continue;
      // In 64-bit mode the ES/CS/SS/DS overrides are ignored (AMD APM Vol.3 §1.2.4, "Segment
      // overrides in 64-bit mode"; SDM Vol.1 §3.7.4.1): taken literally, they neither select
      // their segment nor cancel an earlier FS/GS, and the default (SS for rBP/rSP) stays.
      case 0x26: if (!mode64) seg_override = ES; continue;
      case 0x2E: if (!mode64) seg_override = CS; continue;
      case 0x36: if (!mode64) seg_override = SS; continue;
      case 0x3E: if (!mode64) seg_override = DS; continue;
      case 0x64: seg_override = FS; continue;
      case 0x65: seg_override = GS; continue;
      default: break;
    }
    if (mode64 && (b & 0xF0) == 0x40) {
      d.rex = b;   // a REX followed by another prefix is ignored (SDM Vol.2 §2.2.1)
      u8 nb = r.pos < avail ? bytes[r.pos] : 0;
      if (nb == 0x66 || nb == 0x67 || nb == 0xF0 || nb == 0xF2 || nb == 0xF3 || nb == 0x26 || nb == 0x2E ||
          nb == 0x36 || nb == 0x3E || nb == 0x64 || nb == 0x65 || (nb & 0xF0) == 0x40) {
        d.rex = 0;
        continue;
      }
      b = r.u8_();
    }
    break;
  }
  if (!r.ok) return r.pos >= 15 ? DecodeStatus::TooLong : DecodeStatus::Truncated;
  d.pfx66 = p66;
  if (mode64) {
    d.asize = p67 ? 4 : 8;
    d.osize = (d.rex & 8) ? 8 : p66 ? 2 : 4;
  } else {
    d.asize = (def32 != p67) ? 4 : 2;
    d.osize = (def32 != p66) ? 4 : 2;
  }
  d.seg = DS;

  // VEX/EVEX/XOP escapes (C4/C5 and 62 are LES/LDS/BOUND outside 64-bit mode unless the
  // next byte has mod == 3; 8F is XOP when the next byte's reg field is non-zero).
  if (b == 0xC4 || b == 0xC5 || b == 0x62 || b == 0x8F) {
    u8 nb = r.pos < avail ? bytes[r.pos] : 0;
    bool esc = (b == 0x8F) ? ((nb >> 3) & 7) != 0 : (mode64 || (nb >> 6) == 3);
    if (esc && r.pos < avail) {
      DecodeStatus st = decode_vex_like(r, d, b, mode64);
      if (seg_override != kNoSeg) d.seg = seg_override;   // after ModRM chose DS or SS
      return st;
    }
  }

  u8 map = 1;
  if (b == 0x0F) {
    map = 2;
    b = r.u8_();
    if (b == 0x38) { map = 3; b = r.u8_(); }
    else if (b == 0x3A) { map = 4; b = r.u8_(); }
  }
  if (!r.ok) return r.pos >= 15 ? DecodeStatus::TooLong : DecodeStatus::Truncated;
  d.map = map;
  d.opcode = b;
  const Tables& t = tables();
  OpShape sh = t.shape[map][b];

  // Operand-size defaults that change how immediates are read in 64-bit mode.
  if (mode64 && map == 1 && ((b >= 0x70 && b <= 0x7F) || b == 0xE8 || b == 0xE9 || b == 0xEB ||
                             (b >= 0xE0 && b <= 0xE3)))
    d.osize = 8;   // near branches: 64-bit operand size, 66 ignored (Intel; SDM Vol.1 §3.6.1)
  if (mode64 && map == 2 && b >= 0x80 && b <= 0x8F) d.osize = 8;

  if (sh.modrm) decode_modrm(r, d, mode64, map == 2 && b >= 0x20 && b <= 0x23);
  else d.reg = (b & 7) | ((d.rex & 1) << 3);
  // The override applies to ModRM memory operands and to moffs/string/XLAT sources.
  if (seg_override != kNoSeg) d.seg = seg_override;

  // Immediates.
  unsigned zsize = d.osize == 2 ? 2 : 4;
  switch (sh.imm) {
    case kNone: break;
    case kIb: d.imm = r.le(1); break;
    case kIbSx: d.imm = sext(r.le(1), 1); break;
    case kIw: d.imm = r.le(2); break;
    case kIz: d.imm = sext(r.le(zsize), zsize); break;
    case kIv: d.imm = d.osize == 8 ? r.le(8) : r.le(d.osize); break;
    case kIwIb: d.imm = r.le(2); d.imm2 = static_cast<u16>(r.le(1)); break;
    case kAp: d.imm = r.le(zsize); d.imm2 = static_cast<u16>(r.le(2)); break;
    case kMoffs: d.imm = r.le(d.asize); break;
    case kJb: d.imm = sext(r.le(1), 1); break;
    case kJz: d.imm = sext(r.le(mode64 ? 4 : zsize), mode64 ? 4 : zsize); break;
    case kGrpF6: if ((d.reg & 7) < 2) d.imm = r.le(1); break;
    case kGrpF7: if ((d.reg & 7) < 2) d.imm = sext(r.le(zsize), zsize); break;
    case kId: d.imm = r.le(4); break;
  }
  // AMD SSE4a EXTRQ (66 0F 78 /0 ib ib) and INSERTQ (F2 0F 78 /r ib ib), register forms only
  // (AMD APM Vol.4). On Intel these encodings are #UD (VMREAD takes no prefix), so only the
  // length matters.
  if (map == 2 && b == 0x78 && d.mod == 3 && (mand == 0x66 || mand == 0xF2)) {
    d.imm = r.le(1);
    d.imm2 = static_cast<u16>(r.le(1));
  }
  if (!r.ok) return r.pos >= 15 ? DecodeStatus::TooLong : DecodeStatus::Truncated;
  d.len = static_cast<u8>(r.pos);

  // Meaning.
  for (const Entry& e : t.entries[map][b]) {
    if (matches(e, d, mand, mode64)) { d.op = e.op; break; }
  }
  // 90 with REX.B is XCHG r8, rAX; F3 90 with REX.B stays XCHG too.
  if (map == 1 && b == 0x90 && (d.rex & 1)) d.op = OpId::XCHG_Zv_rAX;
  return DecodeStatus::Ok;
}

const char* op_name(OpId op) {
  static const char* const kNames[] = {
      "Invalid",
#define X(name, map, opc, count, reg, form) #name,
#include "cpu/decoder/opcodes.inc"
#undef X
      "Vex", "Evex", "Xop"};
  auto i = static_cast<unsigned>(op);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "?";
}

}  // namespace rv
