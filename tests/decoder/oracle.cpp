// Capstone wrapper and the per-instruction comparisons (oracle.h).
#include "tests/decoder/oracle.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace rv::dectest {
namespace {

cs_mode cs_mode_for(CpuMode mode) {
  switch (mode) {
    case CpuMode::Real16:
    case CpuMode::Prot16: return CS_MODE_16;
    case CpuMode::Prot32: return CS_MODE_32;
    case CpuMode::Long64: return CS_MODE_64;
  }
  return CS_MODE_32;
}

// Capstone register name -> our register number (any width), kRipReg, kNoReg, or kVecReg|n.
u8 parse_reg(std::string_view n) {
  static const char* const kLow[8] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"};
  if (n.empty() || n == "eiz" || n == "riz") return kNoReg;
  if (n == "rip" || n == "eip" || n == "ip") return kRipReg;
  std::string_view core = n;
  if (core.size() == 3 && (core[0] == 'e' || core[0] == 'r')) core.remove_prefix(1);
  for (u8 i = 0; i < 8; i++)
    if (core == kLow[i]) return i;
  if (n[0] == 'r' && n.size() >= 2 && n[1] >= '0' && n[1] <= '9') {
    unsigned v = 0;
    for (size_t i = 1; i < n.size() && n[i] >= '0' && n[i] <= '9'; i++) v = v * 10 + (n[i] - '0');
    return static_cast<u8>(v);
  }
  for (const char* vec : {"xmm", "ymm", "zmm"}) {
    if (n.substr(0, 3) == vec) return static_cast<u8>(kVecReg | std::atoi(std::string(n.substr(3)).c_str()));
  }
  return 0xFE;   // something unexpected: never equal to a decoded register
}

u8 parse_seg(std::string_view n) {
  static const char* const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
  for (u8 i = 0; i < 6; i++)
    if (n == kSeg[i]) return i;
  return kNoSeg;
}

std::string_view last_word(const char* s) {
  std::string_view v(s);
  size_t sp = v.rfind(' ');
  return sp == std::string_view::npos ? v : v.substr(sp + 1);
}

}  // namespace

std::string hex(const u8* bytes, unsigned n) {
  std::string s;
  char buf[4];
  for (unsigned i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", bytes[i]);
    s += buf;
  }
  return s;
}

std::string capstone_version() {
  int major = 0, minor = 0;
  ::cs_version(&major, &minor);
  return "Capstone " + std::to_string(major) + "." + std::to_string(minor);
}

int mode_bits(CpuMode mode) {
  return mode == CpuMode::Long64 ? 64 : mode == CpuMode::Prot32 ? 32 : 16;
}

Capstone::Capstone(CpuMode mode) {
  if (cs_open(CS_ARCH_X86, cs_mode_for(mode), &m_plain) != CS_ERR_OK ||
      cs_open(CS_ARCH_X86, cs_mode_for(mode), &m_detail) != CS_ERR_OK)
    throw std::runtime_error("cs_open failed");
  cs_option(m_detail, CS_OPT_DETAIL, CS_OPT_ON);
  m_insn_plain = cs_malloc(m_plain);
  m_insn_detail = cs_malloc(m_detail);
}

Capstone::~Capstone() {
  cs_free(m_insn_plain, 1);
  cs_free(m_insn_detail, 1);
  cs_close(&m_plain);
  cs_close(&m_detail);
}

u8 Capstone::map_reg(unsigned reg) const {
  if (reg == X86_REG_INVALID) return kNoReg;
  const char* n = cs_reg_name(m_detail, reg);
  return n ? parse_reg(n) : 0xFE;
}

void Capstone::disasm(const u8* bytes, unsigned n, bool detail, CsResult& out) {
  out.ok = false;
  out.detail = detail;
  out.has_mem = false;
  const u8* code = bytes;
  size_t size = n;
  u64 addr = 0;
  cs_insn* insn = detail ? m_insn_detail : m_insn_plain;
  if (!cs_disasm_iter(detail ? m_detail : m_plain, &code, &size, &addr, insn)) return;
  out.ok = true;
  out.len = insn->size;
  std::snprintf(out.mnemonic, sizeof out.mnemonic, "%s", insn->mnemonic);
  std::snprintf(out.op_str, sizeof out.op_str, "%s", insn->op_str);
  if (!detail) return;
  const cs_x86& x = insn->detail->x86;
  for (unsigned i = 0; i < x.op_count; i++) {
    const cs_x86_op& o = x.operands[i];
    if (o.type != X86_OP_MEM) continue;
    out.has_mem = true;
    out.base = map_reg(o.mem.base);
    out.index = map_reg(o.mem.index);
    out.scale = static_cast<u8>(o.mem.scale);
    out.seg = o.mem.segment == X86_REG_INVALID ? u8{kNoSeg} : parse_seg(cs_reg_name(m_detail, o.mem.segment));
    out.disp = o.mem.disp;
    break;
  }
}

// ---- mnemonic families ----

namespace {

// Our OpId family (the name up to the first '_', lower-cased) -> the mnemonics Capstone may
// print for it, separated by '|'; a trailing '*' matches any suffix. Families not listed
// must equal Capstone's mnemonic.
struct Alias { const char* family; const char* accepts; };
constexpr Alias kAliases[] = {
    {"pusha", "pushaw|pushal"}, {"popa", "popaw|popal"},
    {"pushf", "pushf|pushfd|pushfq"}, {"popf", "popf|popfd|popfq"},
    {"iret", "iret|iretd|iretq"}, {"retf", "retf|retfq"},
    {"cbw", "cbw|cwde|cdqe"}, {"cwd", "cwd|cdq|cqo"},
    {"callf", "lcall"}, {"jmpf", "ljmp"}, {"fwait", "wait"}, {"xlat", "xlatb"},
    {"jcxz", "jcxz|jecxz|jrcxz"},
    {"insv", "insw|insd"}, {"outsv", "outsw|outsd"}, {"movsv", "movsw|movsd|movsq"},
    {"cmpsv", "cmpsw|cmpsd|cmpsq"}, {"stosv", "stosw|stosd|stosq"},
    {"lodsv", "lodsw|lodsd|lodsq"}, {"scasv", "scasw|scasd|scasq"},
    {"mov", "mov|movabs"},
    {"sysret", "sysret|sysretq"}, {"sysexit", "sysexit|sysexitq"},
    {"cmpxchg8b", "cmpxchg8b|cmpxchg16b"},
    {"x87", "f*"},
    {"ud1", "ud1|ud2b"},
    // CLFLUSHOPT (66 0F AE /7) has CLFLUSH's semantics for an emulator (SDM CLFLUSHOPT).
    {"clflush", "clflush|clflushopt"},
    // 0F 0D: PREFETCH/PREFETCHW (AMD), or a NOP hint.
    {"prefetch", "prefetch|prefetchw|prefetchwt1|nop"},
    // 0F 18..1F: hint NOPs. SDM NOP page: 0F 1F /0; 0F 18 /0-3 are PREFETCHh; 0F 1A/1B are
    // MPX (a NOP while BNDCFGx.EN/CPUID say no MPX, SDM Vol.1 §17.3.1); F3 0F 1E FA/FB ENDBR.
    {"nop", "nop|prefetch*|bnd*|endbr*|rdssp*"},
    // MMX/SSE (opcodes_sse.inc): MOVD with REX.W is MOVQ (SDM Vol.2B MOVD/MOVQ), and Capstone
    // prints MOVQ F3 0F 7E with REX.W as movd; Capstone names CMPPS/SS/PD/SD by their imm8
    // predicate (SDM Vol.2A CMPPS, "Pseudo-Op and CMPPS Implementation").
    {"movd", "movd|movq"}, {"movq", "movq|movd"},
    // FXSAVE and the XSAVE family with REX.W are the 64-bit formats (SDM Vol.2 FXSAVE:
    // "FXSAVE64"); Capstone prints the 64 suffix.
    {"fxsave", "fxsave|fxsave64"}, {"fxrstor", "fxrstor|fxrstor64"}, {"xsave", "xsave|xsave64"},
    {"xrstor", "xrstor|xrstor64"}, {"xsaveopt", "xsaveopt|xsaveopt64"},
    // PEXTRD/PINSRD with REX.W are PEXTRQ/PINSRQ (SDM Vol.2B PEXTRB/D/Q, PINSRB/D/Q).
    {"pextrd", "pextrd|pextrq"}, {"pinsrd", "pinsrd|pinsrq"},
    {"cmpps", "cmpps|cmpeqps|cmpltps|cmpleps|cmpunordps|cmpneqps|cmpnltps|cmpnleps|cmpordps"},
    {"cmpss", "cmpss|cmpeqss|cmpltss|cmpless|cmpunordss|cmpneqss|cmpnltss|cmpnless|cmpordss"},
    {"cmppd", "cmppd|cmpeqpd|cmpltpd|cmplepd|cmpunordpd|cmpneqpd|cmpnltpd|cmpnlepd|cmpordpd"},
    {"cmpsd", "cmpsd|cmpeqsd|cmpltsd|cmplesd|cmpunordsd|cmpneqsd|cmpnltsd|cmpnlesd|cmpordsd"},
};

constexpr const char* kCond[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                   "s", "ns", "p", "np", "l", "ge", "le", "g"};
constexpr const char* kGrp1[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
constexpr const char* kGrp2[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};

bool pattern_matches(std::string_view accepts, std::string_view mn) {
  while (!accepts.empty()) {
    size_t bar = accepts.find('|');
    std::string_view p = accepts.substr(0, bar);
    if (!p.empty() && p.back() == '*') {
      if (mn.substr(0, p.size() - 1) == p.substr(0, p.size() - 1)) return true;
    } else if (p == mn) {
      return true;
    }
    if (bar == std::string_view::npos) break;
    accepts.remove_prefix(bar + 1);
  }
  return false;
}

}  // namespace

bool mnemonic_matches(const Case& c, std::string& expected) {
  const char* name = op_name(c.ours.op);
  std::string family;
  for (const char* p = name; *p && *p != '_'; p++)
    family += static_cast<char>(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  std::string_view mn = last_word(c.cs.mnemonic);
  const unsigned cc = c.ours.opcode & 15;
  const unsigned sub = c.ours.reg & 7;
  if (family == "jcc") expected = std::string("j") + kCond[cc];
  else if (family == "setcc") expected = std::string("set") + kCond[cc];
  else if (family == "cmovcc") expected = std::string("cmov") + kCond[cc];
  else if (family == "grp1") expected = kGrp1[sub];
  else if (family == "grp2") expected = kGrp2[sub];
  else {
    expected = family;
    for (const Alias& a : kAliases)
      if (family == a.family) { expected = a.accepts; break; }
  }
  return pattern_matches(expected, mn);
}

bool mem_operand_matches(const Case& c, std::string& why) {
  const DecodedInsn& d = c.ours;
  const CsResult& cs = c.cs;
  char buf[200];
  if (!cs.has_mem) {
    why = "Capstone shows no memory operand";
    return false;
  }
  const u64 mask = d.asize == 2 ? 0xFFFF : d.asize == 4 ? 0xFFFFFFFFu : ~u64{0};
  const bool vsib = cs.index != kNoReg && (cs.index & kVecReg);
  // Without an override (Capstone prints none) the segment is the default: SS for a BP, rBP
  // or rSP base (not r12/r13), DS otherwise (SDM Vol.1 §3.7.4, Table 3-5).
  const u8 default_seg = (d.base == 5 || (d.base == 4 && d.asize != 2)) ? SS : DS;
  bool ok = cs.base == d.base && (vsib || cs.index == d.index) &&
            (d.index == kNoReg || cs.scale == (1u << d.scale)) &&
            ((static_cast<u64>(static_cast<i64>(d.disp)) ^ static_cast<u64>(cs.disp)) & mask) == 0 &&
            (cs.seg == kNoSeg ? d.seg == default_seg : cs.seg == d.seg);
  if (ok) return true;
  std::snprintf(buf, sizeof buf,
                "ours base=%u index=%u scale=%u disp=%d seg=%u asize=%u; capstone base=%u index=%u "
                "scale=%u disp=%lld seg=%u",
                d.base, d.index, 1u << d.scale, d.disp, d.seg, d.asize, cs.base, cs.index, cs.scale,
                static_cast<long long>(cs.disp), cs.seg);
  why = buf;
  return false;
}

}  // namespace rv::dectest
