// Where Capstone 4.0.2 and our decoder disagree, and the manual text that settles it.
//
// Every row is narrow: a predicate on the bytes (and on what each side said), so that any
// other mismatch still fails the test. Rows are counted and printed by the test.
#include <cstring>
#include <string_view>

#include "tests/decoder/oracle.h"

namespace rv::dectest {
namespace {

// The legacy prefixes and REX of a test string, scanned independently of both decoders.
struct Prefixes {
  bool p66 = false, p67 = false, f2 = false, f3 = false;
  u8 last = 0;       // the last prefix before the opcode (and its REX), 0 if none
  u8 rex = 0;        // a REX that takes effect (immediately before the opcode, 64-bit mode)
  unsigned opc = 0;  // index of the first opcode byte
};

bool is_legacy(u8 b) {
  switch (b) {
    case 0x66: case 0x67: case 0xF0: case 0xF2: case 0xF3:
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65: return true;
    default: return false;
  }
}

Prefixes scan(const Case& c) {
  Prefixes p;
  const bool m64 = c.mode == CpuMode::Long64;
  unsigned i = 0;
  for (; i < kBufLen; i++) {
    u8 b = c.bytes[i];
    if (is_legacy(b)) {
      p.p66 |= b == 0x66; p.p67 |= b == 0x67; p.f2 |= b == 0xF2; p.f3 |= b == 0xF3;
      p.last = b;
      p.rex = 0;
    } else if (m64 && (b & 0xF0) == 0x40) {
      if (p.rex) p.last = p.rex;   // a REX followed by another REX is an ignored prefix
      p.rex = b;
    } else {
      break;
    }
  }
  p.opc = i;
  return p;
}

bool cs_is(const Case& c, std::string_view mn) {
  std::string_view m(c.cs.mnemonic);
  size_t sp = m.rfind(' ');
  if (sp != std::string_view::npos) m.remove_prefix(sp + 1);
  return m == mn;
}

bool near_rel_branch(OpId op) { return op == OpId::CALL_Jz || op == OpId::JMP_Jz || op == OpId::JCC_Jz; }

int len_diff(const Case& c) { return static_cast<int>(c.cs.len) - static_cast<int>(c.ours.len); }

// ---- predicates ----

// Capstone stops right after 0F B9 / 0F FF; we go on to the ModRM (and SIB, displacement).
bool stops_after_opcode(const Case& c) { return c.cs.len == scan(c).opc + 2 && len_diff(c) < 0; }

bool ud1_modrm(const Case& c) {
  return c.status == DecodeStatus::Ok && c.ours.op == OpId::UD1 && cs_is(c, "ud2b") && stops_after_opcode(c);
}

bool ud0_modrm(const Case& c) {
  return c.status == DecodeStatus::Ok && c.ours.op == OpId::UD0 && cs_is(c, "ud0") && stops_after_opcode(c);
}

bool branch66_64(const Case& c) {
  if (c.mode != CpuMode::Long64 || c.status != DecodeStatus::Ok || !near_rel_branch(c.ours.op)) return false;
  Prefixes p = scan(c);
  return len_diff(c) == -2 && (p.p66 || (p.p67 && (p.rex & 8)));
}

bool dropped66(const Case& c) {
  if (c.status != DecodeStatus::Ok) return false;
  if (!near_rel_branch(c.ours.op) && c.ours.op != OpId::PUSH_Iz) return false;
  Prefixes p = scan(c);
  return p.p66 && (p.f2 || p.f3) && !(p.rex & 8) && (len_diff(c) == 2 || len_diff(c) == -2);
}

bool ret_iw(const Case& c) {
  return c.status == DecodeStatus::Ok && c.ours.op == OpId::RET_Iw && len_diff(c) == 2;
}

// Capstone shows a rounding mode ("{rn-sae}"...) and consumes one more byte.
bool evex_rounding(const Case& c) {
  if (c.status != DecodeStatus::Ok || c.ours.op != OpId::Evex || c.ours.mod != 3) return false;
  return len_diff(c) == 1 && std::strstr(c.cs.op_str, "-sae}") != nullptr;
}

bool xop_id16(const Case& c) {
  return c.mode != CpuMode::Long64 && c.status == DecodeStatus::Ok && c.ours.op == OpId::Xop &&
         c.ours.map == 0xA && len_diff(c) == -2;
}

// F3 (or F2) counts as a mandatory prefix only when Capstone sees it last.
bool rep_not_last(const Case& c) {
  if (c.status != DecodeStatus::Ok) return false;
  Prefixes p = scan(c);
  const u8 want = c.ours.rep == 3 ? 0xF3 : c.ours.rep == 2 ? 0xF2 : 0;
  if (!want || p.last == want) return false;
  const OpId op = c.ours.op;
  if (op == OpId::LZCNT_Gv_Ev) return cs_is(c, "bsr");
  if (op == OpId::TZCNT_Gv_Ev) return cs_is(c, "bsf");
  if (op == OpId::POPCNT_Gv_Ev) return true;
  if (op == OpId::PAUSE) return cs_is(c, "nop");
  return false;
}

// 0F 78 register form: Capstone takes 66/F2 as EXTRQ/INSERTQ's prefix only when it is the last
// prefix (and never in 16-bit code); otherwise it prints VMREAD, with no immediates.
bool extrq_prefix(const Case& c) {
  if (c.status != DecodeStatus::Ok || c.ours.map != 2 || c.ours.opcode != 0x78 || c.ours.mod != 3) return false;
  Prefixes p = scan(c);
  const bool cs_sees_it = p.last == 0x66 || p.last == 0xF2;   // Capstone: only a last 66/F2
  if (cs_is(c, "vmread")) return len_diff(c) == -2 && (!cs_sees_it || mode_bits(c.mode) == 16);
  if (cs_is(c, "extrq") || cs_is(c, "insertq")) return len_diff(c) == 2 && c.ours.rep == 3;
  return false;
}

// Capstone 4 has no LZCNT/TZCNT in 16-bit mode (prints BSR/BSF for F3 0F BD/BC).
bool lzcnt16(const Case& c) {
  if (c.status != DecodeStatus::Ok || mode_bits(c.mode) != 16) return false;
  return (c.ours.op == OpId::LZCNT_Gv_Ev && cs_is(c, "bsr")) || (c.ours.op == OpId::TZCNT_Gv_Ev && cs_is(c, "bsf"));
}

// 67 taken as a mandatory 66: Capstone decodes 67 0F 78 /r (register form) as EXTRQ.
bool extrq67(const Case& c) {
  if (c.status != DecodeStatus::Ok || c.ours.map != 2 || c.ours.opcode != 0x78 || !cs_is(c, "extrq")) return false;
  Prefixes p = scan(c);
  return p.p67 && !p.p66 && !p.f2 && !p.f3;
}

// EVEX with 67 in 64-bit mode: Capstone 4 sometimes reads ModRM rm=100 without its SIB byte
// and mod=00 rm=101 without its disp32 (showing [r12+..] / [rbp]).
bool evex_addr32(const Case& c) {
  if (c.mode != CpuMode::Long64 || c.ours.op != OpId::Evex || c.ours.asize != 4 || !c.ours.has_mem())
    return false;
  const unsigned skipped = c.ours.base == kRipReg ? 4 : (c.ours.rm & 7) == 4 ? 1 : 0;
  if (!skipped) return false;
  if (c.status == DecodeStatus::TooLong) return c.cs.len + skipped > 15;   // ours needs > 15 bytes
  return c.status == DecodeStatus::Ok && len_diff(c) == -static_cast<int>(skipped);
}

// Capstone shows an ES/CS/SS/DS override in 64-bit mode, which our decoder drops.
bool null_seg64(const Case& c) {
  if (c.mode != CpuMode::Long64 || c.cs.seg > DS) return false;
  u8 fs_gs = kNoSeg;   // the last FS/GS prefix, which stays in effect
  for (unsigned i = 0; i < scan(c).opc; i++)
    if (c.bytes[i] == 0x64 || c.bytes[i] == 0x65) fs_gs = c.bytes[i] == 0x64 ? FS : GS;
  const u8 dflt = (c.ours.base == 4 || c.ours.base == 5) ? SS : DS;   // rSP/rBP, not r12/r13
  return c.ours.seg == (fs_gs != kNoSeg ? fs_gs : dflt);
}

// 66 0F AE F8 was PCOMMIT, which Intel withdrew (2016) before any processor shipped it.
bool pcommit(const Case& c) { return c.ours.op == OpId::SFENCE && cs_is(c, "pcommit"); }

bool nop90(const Case& c) {
  if (c.status != DecodeStatus::Ok || c.ours.map != 1 || c.ours.opcode != 0x90) return false;
  if (c.ours.op != OpId::PAUSE && c.ours.op != OpId::XCHG_Zv_rAX) return false;
  Prefixes p = scan(c);
  return (p.f2 || p.f3 || p.p66 || c.mode != CpuMode::Long64) && (cs_is(c, "nop") || cs_is(c, "pause") || cs_is(c, "xchg"));
}

bool evex_disp8n(const Case& c) {
  if (c.ours.op != OpId::Evex || c.ours.mod != 1 || !c.cs.has_mem || c.cs.base != c.ours.base) return false;
  for (i64 n = 1; n <= 64; n *= 2)
    if (c.cs.disp == c.ours.disp * n) return true;
  return false;
}

bool femms_suffix(const Case& c) {
  return c.ours.map == 2 && c.ours.opcode == 0x0F && cs_is(c, "femms") && !c.cs.has_mem;
}

// MMX/SSE/SSE2/SSE3 encodings of the 0F map (opcodes_sse.inc) whose mandatory prefix is not
// the last legacy prefix: Capstone 4 decides the SIMD form by the prefix right before the
// opcode (and takes 67 as 66 in some forms); we use F2/F3 (the last of them) over 66,
// wherever they sit among the prefixes. In 16-bit code Capstone 4 ignores mandatory prefixes.
bool sse_mandatory_not_last(const Case& c) {
  static const struct SseOps {
    bool is[static_cast<unsigned>(OpId::Count)] = {};
    SseOps() {
#define X(name, map, opc, count, reg, form) is[static_cast<unsigned>(OpId::name)] = true;
#include "cpu/decoder/opcodes_sse.inc"
#include "cpu/decoder/opcodes_sse4.inc"
#undef X
    }
  } kSse;
  if (c.status != DecodeStatus::Ok || c.ours.map < 2 || !kSse.is[static_cast<unsigned>(c.ours.op)]) return false;
  const u8 mand = c.ours.rep == 3 ? 0xF3 : c.ours.rep == 2 ? 0xF2 : c.ours.pfx66 ? 0x66 : 0;
  return scan(c).last != mand || (mode_bits(c.mode) == 16 && mand != 0);
}

}  // namespace

std::span<const Disagreement> disagreements() {
  static const Disagreement kRows[] = {
      {"UD1 has a ModRM", Check::Length, ud1_modrm,
       "SDM Vol.2B UD: '0F B9 /r UD1 r32, r/m32'. Capstone 4 decodes ud2b without ModRM."},
      {"UD0 has a ModRM", Check::Length, ud0_modrm,
       "SDM Vol.2B UD: '0F FF /r UD0 r32, r/m32' (footnote: some older processors decode UD0 "
       "without ModRM). Capstone 4 stops after 0F FF."},
      {"64-bit near branch ignores 66", Check::Length, branch66_64,
       "SDM Vol.1 §6.3.7: in 64-bit mode the operand size of near branches is forced to 64 bits, "
       "operand-size prefixes are silently ignored, the displacement stays 32 bits (Jcc/JMP/CALL "
       "pages: rel32 only in 64-bit mode). Capstone 4 reads rel16 after 66 (or 67 with REX.W). "
       "AMD honours 66 here (APM Vol.1 §3.7.9); we follow Intel."},
      {"66 with F2/F3 still counts", Check::Length, dropped66,
       "SDM Vol.2A §2.1.1: prefixes of groups 1-4 combine in any order; F2/F3 (and BND) do not "
       "change the operand size of PUSH imm / CALL / JMP / Jcc. Capstone 4 drops the 66 when "
       "a F2/F3 prefix is also present and reads a 32-bit immediate."},
      {"RET imm16 is always 16 bits", Check::Length, ret_iw,
       "SDM Vol.2B RET: 'C2 iw RET imm16' in every mode and operand size. Capstone 4 reads 4 "
       "bytes with 66+REX.W or with a BND prefix."},
      {"EVEX.b register form", Check::Length, evex_rounding,
       "SDM Vol.2A 'Static Rounding Support in EVEX' / 'SAE Support in EVEX' (§2.6.8-2.6.9 in "
       "older editions): with mod=3 EVEX.b and EVEX.L'L select the rounding mode, no extra "
       "byte. Capstone 4 consumes one byte too many."},
      {"XOP map A immediate is id", Check::Length, xop_id16,
       "AMD APM Vol.3 BEXTR (immediate form) / TBM: '8F RXB.0A ... 10 /r id' (a 32-bit immediate "
       "regardless of operand size). Capstone 4 reads 16 bits in 16-bit code."},
      {"F2/F3 not the last prefix", Check::Mnemonic, rep_not_last,
       "SDM Vol.2A §2.1.1: 'Groups 1 through 4 may be placed in any order relative to each "
       "other', so F3 0F BD is LZCNT, F3 0F BC TZCNT, F3 90 PAUSE wherever the F3 sits among "
       "the prefixes. Capstone 4 honours F2/F3 only right before the opcode (or its REX)."},
      {"F3 90 / REX 90 naming", Check::Mnemonic, nop90,
       "SDM Vol.2B PAUSE ('F3 90') and XCHG ('REX.B + 90+rd XCHG r64, RAX'; 90 without REX.B is "
       "NOP). Capstone 4 prints nop/xchg/pause for F3/F2 + REX + 90 inconsistently (depends on "
       "prefix order), and nop for F3 90 in 16-bit mode."},
      {"EXTRQ/INSERTQ prefix position", Check::Length, extrq_prefix,
       "AMD APM Vol.4 EXTRQ '66 0F 78 /0 ib ib', INSERTQ 'F2 0F 78 /r ib ib'; SDM Vol.2A "
       "§2.1.1: prefix order is free, and F3 beats 66 as the mandatory prefix. Capstone 4 "
       "wants the 66/F2 last and has no INSERTQ/EXTRQ in 16-bit code. (#UD on Intel.)"},
      {"LZCNT/TZCNT in 16-bit code", Check::Mnemonic, lzcnt16,
       "SDM Vol.2A LZCNT, Vol.2B TZCNT: 'F3 0F BD /r' and 'F3 0F BC /r' are valid in "
       "compatibility/legacy mode, 16-bit operand size included. Capstone 4 prints bsr/bsf."},
      {"67 is not a mandatory prefix", Check::Length, extrq67,
       "SDM Vol.2A §2.1.1: 67 is the address-size prefix only; SDM Vol.2B VMREAD 'NP 0F 78'. "
       "Capstone 4 decodes 67 0F 78 /r (mod=3) as the AMD EXTRQ that needs 66 (AMD APM Vol.4)."},
      {"EVEX ModRM with 67", Check::Length, evex_addr32,
       "SDM Vol.2A §2.1.5 Table 2-2 (rm=100 is followed by a SIB byte) and §2.2.1.6 (mod=00 "
       "rm=101 is [EIP + disp32] in 64-bit mode with 67). Capstone 4 skips the SIB / disp32 "
       "for some EVEX forms with a 67 prefix."},
      {"PCOMMIT was withdrawn", Check::Mnemonic, pcommit,
       "Intel withdrew PCOMMIT (66 0F AE F8) in 2016 (ISA Extensions Reference rev. 027); it is "
       "not in the SDM. Our opcodes.inc decodes 0F AE F8 as SFENCE whatever the prefix."},
      {"EVEX disp8*N", Check::MemOperand, evex_disp8n,
       "SDM Vol.2A 'Compressed Displacement (disp8*N) Support in EVEX': disp8 is scaled by N. Our decoder keeps the raw disp8 (EVEX "
       "instructions are #UD here: CPUID reports no AVX-512), so only base/index are compared."},
      {"64-bit ES/CS/SS/DS override", Check::MemOperand, null_seg64,
       "AMD APM Vol.3 §1.2.4 and SDM Vol.1 §3.7.4.1: in 64-bit mode the CS, DS, ES and SS "
       "overrides are ignored, so after an FS/GS prefix they do not take its place. Capstone 4 "
       "prints the last segment prefix."},
      {"SSE mandatory prefix not last", Check::Mnemonic, sse_mandatory_not_last,
       "SDM Vol.2A §2.1.1 (prefix groups 1-4 in any order): the mandatory prefix of an SSE "
       "instruction is found among all its prefixes, F2/F3 over 66. "
       "Capstone 4 reads it from the last prefix only (and some 67 forms as 66), and in 16-bit "
       "code not at all."},
      {"3DNow! suffix 0E is not FEMMS", Check::MemOperand, femms_suffix,
       "AMD APM Vol.3 3DNow! opcode map (0F 0F /r ib): suffix 0Eh is undefined; FEMMS is 0F 0E. "
       "Capstone 4 prints femms with no operand for 0F 0F ModRM .. 0E."},
  };
  return kRows;
}

}  // namespace rv::dectest
