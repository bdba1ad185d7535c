#include "tests/oracle/report.h"

#include <capstone/capstone.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "tests/oracle/generator.h"

namespace rv::oracle {

bool g_strict_rf = false;

namespace {

const char* const kRegNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string vector_name(int v) {
  static const char* const kNames[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?9",
                                       "#TS", "#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC"};
  if (v < 0) return "no fault";
  if (v < 18) return kNames[v];
  return fmt("vector %d", v);
}

void mem_diff(std::string& out, const char* what, u64 base, const std::vector<u8>& n, const std::vector<u8>& i) {
  if (n.size() != i.size()) { out += fmt("  %s: page missing in one run\n", what); return; }
  unsigned shown = 0, total = 0;
  for (size_t k = 0; k < n.size(); k++) {
    if (n[k] == i[k]) continue;
    total++;
    if (shown++ < 8) out += fmt("  %s byte 0x%" PRIx64 ": native %02x interp %02x\n", what, base + k, n[k], i[k]);
  }
  if (total > 8) out += fmt("  %s: %u bytes differ in all\n", what, total);
}

// x87/SSE state, FXSAVE layout (SDM Vol.1 Table 10-2): FCW, FSW (less the condition codes the
// SDM leaves undefined after the instructions executed), the abridged tag word, MXCSR, the
// valid x87/MMX registers (80 bits each, in stack order; MMX registers are the low 64 bits
// plus the all-ones exponent an MMX write sets) and the XMM registers (8 in compatibility
// mode). Not compared, each for a reason:
//   bytes 6..7 FOP, 8..15 FIP/FCS, 16..23 FDP/FDS: this AMD host's FXSAVE writes FOP/FIP/FDP
//     only while an unmasked exception is pending (AMD APM Vol.2 §11.4.4.3, FXSAVE "FFXSR"),
//     and FCS/FDS are deprecated (zero on CPUs with CPUID.(EAX=7):EBX[13]), so the native
//     values say nothing about the interpreter;
//   byte 5 and bytes 10..15 of each ST slot: reserved;
//   bytes 28..31 MXCSR_MASK: a property of the CPU, not state (host AMD 0002FFFF with the
//     MM bit 17, ours 0000FFFF; the interpreter's is installed by interp_runner.cpp);
//   bytes 288..511 (XMM8-15 in compatibility mode, reserved, available): unused or
//     inaccessible to the sequence;
//   empty x87 registers (native tag 0): their contents are not architectural until an MMX
//     instruction marks them valid again, and then they are compared.
//   after an MMX instruction that faults (#PF, #GP, #AC on its memory operand), vendors
//     differ on whether it had already made the x87-to-MMX transition (TOP = 0, every tag
//     valid): Intel has, AMD has not. Then TOP and the tag word are not compared, and the
//     registers valid in both runs are compared by physical register instead of stack slot.
void fpu_diff(std::string& out, Mode mode, const std::vector<u8>& n, const std::vector<u8>& i, unsigned fsw_undef,
              bool mmx_fault) {
  if (n.size() != 512 || i.size() != 512) {
    if (n.size() != i.size()) out += "  fpu: state missing in one run\n";
    return;
  }
  auto u16at = [](const std::vector<u8>& v, size_t o) { return static_cast<unsigned>(v[o] | v[o + 1] << 8); };
  auto u32at = [](const std::vector<u8>& v, size_t o) { u32 x; std::memcpy(&x, &v[o], 4); return x; };
  if (u16at(n, 0) != u16at(i, 0)) out += fmt("  fcw: native %04x interp %04x\n", u16at(n, 0), u16at(i, 0));
  unsigned fsw_mask = 0xFFFF & ~fsw_undef;   // condition codes the SDM leaves undefined
  if (mmx_fault) fsw_mask &= ~0x3800u;       // TOP
  if ((u16at(n, 2) & fsw_mask) != (u16at(i, 2) & fsw_mask))
    out += fmt("  fsw: native %04x interp %04x (undefined bits %04x not compared)\n", u16at(n, 2), u16at(i, 2), fsw_undef);
  if (n[4] != i[4] && !mmx_fault) out += fmt("  ftw (abridged): native %02x interp %02x\n", n[4], i[4]);
  if (u32at(n, 24) != u32at(i, 24)) out += fmt("  mxcsr: native %08x interp %08x\n", u32at(n, 24), u32at(i, 24));
  unsigned top = (u16at(n, 2) >> 11) & 7, itop = mmx_fault ? (u16at(i, 2) >> 11) & 7 : top;
  for (unsigned r = 0; r < 8; r++) {
    unsigned phys = (top + r) & 7, ir = (phys - itop) & 7;   // the interpreter's slot of that register
    if (!(n[4] & (1u << phys))) continue;   // empty in the native run
    if (mmx_fault && !(i[4] & (1u << phys))) continue;
    if (std::memcmp(&n[32 + 16 * r], &i[32 + 16 * ir], 10) == 0) continue;
    std::string a, b;
    for (int k = 9; k >= 0; k--) { a += fmt("%02x", n[32 + 16 * r + k]); b += fmt("%02x", i[32 + 16 * ir + k]); }
    out += fmt("  st%u: native %s interp %s\n", r, a.c_str(), b.c_str());
  }
  for (unsigned x = 0; x < (mode == Mode::Long64 ? 16u : 8u); x++) {
    if (std::memcmp(&n[160 + 16 * x], &i[160 + 16 * x], 16) == 0) continue;
    std::string a, b;
    for (int k = 15; k >= 0; k--) { a += fmt("%02x", n[160 + 16 * x + k]); b += fmt("%02x", i[160 + 16 * x + k]); }
    out += fmt("  xmm%u: native %s interp %s\n", x, a.c_str(), b.c_str());
  }
}

// The mnemonic and operands (Capstone's text) of the sequence's instruction at `rip`; false
// when `rip` is outside the sequence or Capstone cannot decode it.
bool insn_text_at(const Case& c, u64 rip, std::string& mnemonic, std::string& ops) {
  if (rip < kSeqAddr || rip >= kSeqAddr + c.code.size()) return false;
  csh h;
  if (cs_open(CS_ARCH_X86, c.mode == Mode::Long64 ? CS_MODE_64 : CS_MODE_32, &h) != CS_ERR_OK) return false;
  cs_insn* insn = nullptr;
  const size_t off = rip - kSeqAddr;
  const bool ok = cs_disasm(h, c.code.data() + off, c.code.size() - off, rip, 1, &insn) == 1;
  if (ok) {
    mnemonic = insn[0].mnemonic;
    ops = insn[0].op_str;
    cs_free(insn, 1);
  }
  cs_close(&h);
  return ok;
}

// Whether the instruction at `rip` (in the sequence) has an MMX register operand.
bool faults_in_mmx(const Case& c, u64 rip) {
  std::string m, ops;
  if (!insn_text_at(c, rip, m, ops)) return false;
  for (size_t p = ops.find("mm"); p != std::string::npos; p = ops.find("mm", p + 1))
    if ((p == 0 || ops[p - 1] != 'x') && p + 2 < ops.size() && ops[p + 2] >= '0' && ops[p + 2] <= '7') return true;
  return false;
}

// The operand size of a multi-part x87/FXSAVE store at `rip`, or 0. Such a store that
// faults part-way (#PF at a page edge) may already have written the bytes below the edge:
// this Intel host's FBSTP does, AMD's does not, and the SDM promises neither; those bytes of
// the operand are not compared.
unsigned multipart_store_size(const Case& c, u64 rip) {
  std::string m, ops;
  if (!insn_text_at(c, rip, m, ops)) return 0;
  const bool m80 = ops.find("xword") != std::string::npos || ops.find("tbyte") != std::string::npos;
  if (m == "fbstp" || (m == "fstp" && m80)) return 10;
  if (m == "fnstenv" || m == "fstenv") return 28;
  if (m == "fnsave" || m == "fsave") return 108;
  if (m == "fxsave" || m == "fxsave64") return 512;
  return 0;
}

}  // namespace

std::string hex(const std::vector<u8>& bytes) {
  std::string s;
  for (u8 b : bytes) s += fmt("%02x ", b);
  if (!s.empty()) s.pop_back();
  return s;
}

std::string compare(const Case& c, const Snapshot& n, const Snapshot& i) {
  std::string out;
  if (!n.note.empty()) out += "  native: " + n.note + "\n";
  if (!i.note.empty()) out += "  interp: " + i.note + "\n";
  if (!out.empty()) return out;
  bool m32 = c.mode == Mode::Compat32;
  u64 wmask = m32 ? 0xFFFFFFFFull : ~0ull;
  if (n.vector != i.vector) {
    out += fmt("  exception: native %s", vector_name(n.vector).c_str());
    if (n.vector >= 0) out += fmt(" at %" PRIx64, n.fault_rip & wmask);
    out += fmt(", interp %s", vector_name(i.vector).c_str());
    if (i.vector >= 0) out += fmt(" at %" PRIx64, i.fault_rip & wmask);
    out += "\n";
    return out;
  }
  if (n.vector >= 0 && (n.fault_rip & wmask) != (i.fault_rip & wmask))
    out += fmt("  fault rip: native %" PRIx64 " interp %" PRIx64 "\n", n.fault_rip & wmask, i.fault_rip & wmask);
  bool has_error = n.vector == 8 || (n.vector >= 10 && n.vector <= 14) || n.vector == 17;
  // A user access to the upper half hits the host kernel's (present) pages: ignore P there.
  u64 emask = n.vector == 14 && n.cr2 >= 0xFFFF800000000000ull ? 0xFFFE : 0xFFFF;
  if (has_error && (n.error & emask) != (i.error & emask))
    out += fmt("  error code: native %" PRIx64 " interp %" PRIx64 "\n", n.error & 0xFFFF, i.error & 0xFFFF);
  if (n.vector == 14 && n.cr2 != i.cr2) out += fmt("  cr2: native %" PRIx64 " interp %" PRIx64 "\n", n.cr2, i.cr2);
  if (n.vector < 0) {
    static const char* const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
    for (int r : {0, 2, 3, 4, 5})
      if (n.sreg[r] != i.sreg[r]) out += fmt("  %s: native %04x interp %04x\n", kSeg[r], n.sreg[r], i.sreg[r]);
  }
  for (int r = 0; r < (m32 ? 8 : 16); r++) {
    if ((n.gpr[r] & wmask) != (i.gpr[r] & wmask))
      out += fmt("  %s: native %016" PRIx64 " interp %016" PRIx64 "\n", kRegNames[r], n.gpr[r] & wmask, i.gpr[r] & wmask);
  }
  u64 undef = n.vector < 0 ? c.undef_end : c.undef_at(n.fault_rip & wmask);
  u64 fm = kComparedFlags & ~undef;
  // In an exception frame TF and IF are meaningful too. RF (set by the CPU in the image pushed
  // for faults, SDM Vol.3A §17.3.1.1) is compared only with --strict-rf.
  if (n.vector >= 0) fm |= g_strict_rf ? 0x10300 : 0x300;
  if ((n.rflags & fm) != (i.rflags & fm)) {
    std::string a, b, u;
    out += fmt("  rflags: native %04" PRIx64 " interp %04" PRIx64 " differ in [%s] (not compared: [%s])\n",
               n.rflags & fm, i.rflags & fm, flag_names((n.rflags ^ i.rflags) & fm, a),
               flag_names(undef, u));
  }
  fpu_diff(out, c.mode, n.fpu, i.fpu, static_cast<unsigned>((undef & kFccAll) >> kFccShift),
           n.vector >= 0 && faults_in_mmx(c, n.fault_rip & wmask));
  if (n.vector == 14 && (n.error & 2) && n.cr2 > kDataBase && n.cr2 <= kDataBase + kPage && n.data.size() == kPage &&
      i.data.size() == kPage) {
    if (unsigned size = multipart_store_size(c, n.fault_rip & wmask)) {
      std::vector<u8> nd = n.data;
      for (u64 a = n.cr2 > kDataBase + size ? n.cr2 - size : kDataBase; a < n.cr2; a++) nd[a - kDataBase] = i.data[a - kDataBase];
      mem_diff(out, "data", kDataBase, nd, i.data);
    } else {
      mem_diff(out, "data", kDataBase, n.data, i.data);
    }
  } else {
    mem_diff(out, "data", kDataBase, n.data, i.data);
  }
  if (n.vector >= 0 && n.stack.size() == kPage && i.stack.size() == kPage) {
    // A multi-store instruction that faults part-way (PUSHA, ENTER, far CALL) may have done
    // some of its stores; it is restarted, so the bytes just below RSP are not compared.
    std::vector<u8> ns = n.stack, is = i.stack;
    u64 sp = n.gpr[4] & wmask;
    for (u64 a = sp >= 64 ? sp - 64 : 0; a < sp; a++)
      if (a >= kStackBase && a < kStackBase + kPage) ns[a - kStackBase] = is[a - kStackBase];
    mem_diff(out, "stack", kStackBase, ns, is);
  } else {
    mem_diff(out, "stack", kStackBase, n.stack, i.stack);
  }
  return out;
}

std::string disassembly(const Case& c) {
  std::string out;
  csh h;
  if (cs_open(CS_ARCH_X86, c.mode == Mode::Long64 ? CS_MODE_64 : CS_MODE_32, &h) != CS_ERR_OK) return "  (capstone unavailable)\n";
  for (size_t it = 0; it < c.item_offset.size(); it++) {
    size_t lo = c.item_offset[it], hi = it + 1 < c.item_offset.size() ? c.item_offset[it + 1] : c.code.size();
    std::string in, o;
    out += fmt("    #%zu %s  (undefined flags in: %s, out: %s)\n", it, c.item_name[it].c_str(),
               flag_names(c.item_undef_in[it], in), flag_names(c.item_undef_out[it], o));
    cs_insn* insn = nullptr;
    size_t n = cs_disasm(h, c.code.data() + lo, hi - lo, kSeqAddr + lo, 0, &insn);
    size_t done = lo;
    for (size_t k = 0; k < n; k++) {
      std::string bytes;
      for (unsigned b = 0; b < insn[k].size; b++) bytes += fmt("%02x ", insn[k].bytes[b]);
      out += fmt("      %08" PRIx64 "  %-30s %s %s\n", insn[k].address, bytes.c_str(), insn[k].mnemonic, insn[k].op_str);
      done += insn[k].size;
    }
    if (n) cs_free(insn, n);
    if (done < hi) {
      std::vector<u8> rest(c.code.begin() + static_cast<long>(done), c.code.begin() + static_cast<long>(hi));
      out += fmt("      %08" PRIx64 "  %s (capstone cannot decode)\n", kSeqAddr + done, hex(rest).c_str());
    }
  }
  cs_close(&h);
  return out;
}

std::string state_line(const Case& c) {
  std::string out = "    ";
  bool m32 = c.mode == Mode::Compat32;
  for (int r = 0; r < (m32 ? 8 : 16); r++) {
    out += fmt("%s=%016" PRIx64 "%s", kRegNames[r], c.gpr[r], r % 4 == 3 ? "\n    " : " ");
  }
  std::string f;
  out += fmt("rflags=%" PRIx64 " [%s]\n", c.rflags, flag_names(c.rflags & kComparedFlags, f));
  if (c.fpu.size() == 512) {   // the x87/SSE start state (FXSAVE layout), for SIMD repros
    const std::vector<u8>& v = c.fpu;
    u32 mx;
    std::memcpy(&mx, &v[24], 4);
    out += fmt("    fcw=%04x fsw=%04x ftw=%02x mxcsr=%08x\n", v[0] | v[1] << 8, v[2] | v[3] << 8, v[4], mx);
    for (unsigned r = 0; r < 8; r++) {
      std::string a;
      for (int k = 9; k >= 0; k--) a += fmt("%02x", v[32 + 16 * r + k]);
      out += fmt("    st%u=%s%s", r, a.c_str(), r % 4 == 3 ? "\n" : " ");
    }
    for (unsigned x = 0; x < (m32 ? 8u : 16u); x++) {
      std::string a;
      for (int k = 15; k >= 0; k--) a += fmt("%02x", v[160 + 16 * x + k]);
      out += fmt("    xmm%u=%s%s", x, a.c_str(), x % 2 == 1 ? "\n" : " ");
    }
  }
  return out;
}

std::string result_line(Mode mode, const Snapshot& s) {
  std::string out = "    ";
  bool m32 = mode == Mode::Compat32;
  for (int r = 0; r < (m32 ? 8 : 16); r++)
    out += fmt("%s=%016" PRIx64 "%s", kRegNames[r], s.gpr[r], r % 4 == 3 ? "\n    " : " ");
  std::string f;
  out += fmt("rflags=%" PRIx64 " [%s]", s.rflags, flag_names(s.rflags & kComparedFlags, f));
  if (s.vector >= 0) out += fmt(" %s at %" PRIx64, vector_name(s.vector).c_str(), s.fault_rip);
  if (!s.note.empty()) out += " (" + s.note + ")";
  return out + "\n";
}

}  // namespace rv::oracle
