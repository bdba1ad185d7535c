#include "machine/tracer.h"

#include <cerrno>
#include <cstring>

#include "cpu/disasm.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>

namespace rv {

namespace {
const char* const kGpr64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kGpr32[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
const char* const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
const char* const kVectorNames[32] = {"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "09", "TS",
                                      "NP", "SS", "GP",  "PF", "15", "MF", "AC", "MC", "XM", "VE", "CP",
                                      "22", "23", "24",  "25", "26", "27", "28", "29", "30", "31"};

void appendf(std::string& s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& s, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) s.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

void pad_to(std::string& s, size_t col) {
  if (s.size() < col) s.append(col - s.size(), ' ');
  else s.push_back(' ');
}

}  // namespace

InsnTracer::InsnTracer(std::FILE* out) : m_out(out) {}

InsnTracer::~InsnTracer() { flush(); }

void InsnTracer::flush() {
  if (m_pending) emit("");
  errno = 0;
  if (std::fflush(m_out) != 0 && m_error.empty())
    m_error = std::string("cannot write to the trace file: ") + std::strerror(errno ? errno : EIO);
}

void InsnTracer::before(const Cpu& cpu, u64 rip, const u8* bytes, unsigned len) {
  if (m_pending) emit("");   // the previous instruction never reported back
  if (m_delivered) {
    // What delivering the last event changed (stack, CS, flags, ...), on its own line.
    m_delivered = false;
    std::string changes;
    append_changes(cpu, changes);
    m_line = "  delivered:";
    m_tail_col = 0;
    emit(changes);
  }
  const CpuState& s = cpu.state();
  m_prev = s;
  m_prev_flags = cpu.rflags();
  m_line.clear();
  const CpuMode mode = cpu.mode();
  if (mode == CpuMode::Real16 || cpu.v86())
    appendf(m_line, "%04x:%04x", s.seg[CS].sel, static_cast<unsigned>(rip & 0xFFFF));
  else if (mode == CpuMode::Long64)
    appendf(m_line, "%016" PRIx64, rip);
  else
    appendf(m_line, "%08" PRIx64, (s.seg[CS].base + rip) & 0xFFFFFFFFu);
  m_line += "  ";
  for (unsigned i = 0; i < len; i++) appendf(m_line, i ? " %02x" : "%02x", bytes[i]);
  pad_to(m_line, mode == CpuMode::Long64 ? 46 : 38);
  m_tail_col = m_line.size() + 32;

  m_line += disassemble(bytes, len, mode, rip);   // Capstone, in the mode the CPU decodes in
  m_pending = true;
}

void InsnTracer::after(const Cpu& cpu) {
  if (!m_pending) return;
  std::string changes;
  append_changes(cpu, changes);
  emit(changes);
}

void InsnTracer::exception(const Cpu& cpu, u8 vector, bool has_error, u32 error) {
  std::string what = "!#";
  what += vector < 32 ? kVectorNames[vector] : std::to_string(vector);
  if (has_error) appendf(what, "(%04x)", error);
  if (!m_pending) {
    m_prev = cpu.state();
    m_prev_flags = cpu.rflags();
    m_line = "event";
    m_tail_col = 0;
    m_pending = true;
  }
  emit(what);
  m_delivered = true;   // m_prev still holds the state before the faulting instruction
}

void InsnTracer::emit(const std::string& tail) {
  if (!tail.empty()) {
    pad_to(m_line, m_tail_col);
    m_line += tail;
  }
  while (!m_line.empty() && m_line.back() == ' ') m_line.pop_back();
  m_line.push_back('\n');
  errno = 0;
  if (m_error.empty() && std::fwrite(m_line.data(), 1, m_line.size(), m_out) != m_line.size())
    m_error = std::string("cannot write to the trace file: ") + std::strerror(errno ? errno : EIO);
  m_pending = false;
  m_lines++;
}

void InsnTracer::append_changes(const Cpu& cpu, std::string& out) const {
  const CpuState& a = m_prev;
  const CpuState& b = cpu.state();
  const bool wide = cpu.long64() || a.efer & kEferLma;
  auto sep = [&] { if (!out.empty()) out.push_back(' '); };
  for (int r = 0; r < (wide ? 16 : 8); r++) {
    if (a.gpr[r] == b.gpr[r]) continue;
    sep();
    if (wide) appendf(out, "%s=%016" PRIx64, kGpr64[r], b.gpr[r]);
    else appendf(out, "%s=%08" PRIx64, kGpr32[r], b.gpr[r] & 0xFFFFFFFFu);
  }
  const u64 flags = cpu.rflags();
  if (flags != m_prev_flags) {
    sep();
    appendf(out, wide ? "rflags=%08" PRIx64 : "eflags=%08" PRIx64, flags);
  }
  const bool real_like = cpu.mode() == CpuMode::Real16 || cpu.v86();
  for (int i = 0; i < 6; i++) {
    const Segment& x = a.seg[i];
    const Segment& y = b.seg[i];
    if (x == y) continue;
    sep();
    appendf(out, "%s=%04x", kSeg[i], y.sel);
    if (!real_like || y.base != u64(y.sel) << 4)
      appendf(out, "{base=%" PRIx64 ",limit=%x,attr=%x}", y.base, y.limit, y.attr);
  }
  auto reg = [&](const char* name, u64 x, u64 y) {
    if (x == y) return;
    sep();
    appendf(out, "%s=%" PRIx64, name, y);
  };
  reg("cr0", a.cr0, b.cr0);
  reg("cr2", a.cr2, b.cr2);
  reg("cr3", a.cr3, b.cr3);
  reg("cr4", a.cr4, b.cr4);
  reg("cr8", a.cr8, b.cr8);
  reg("xcr0", a.xcr0, b.xcr0);
  reg("efer", a.efer, b.efer);
  static const char* const kDr[8] = {"dr0", "dr1", "dr2", "dr3", "dr4", "dr5", "dr6", "dr7"};
  for (int i = 0; i < 8; i++) reg(kDr[i], a.dr[i], b.dr[i]);
  if (!(a.gdtr == b.gdtr)) { sep(); appendf(out, "gdtr=%" PRIx64 ":%x", b.gdtr.base, b.gdtr.limit); }
  if (!(a.idtr == b.idtr)) { sep(); appendf(out, "idtr=%" PRIx64 ":%x", b.idtr.base, b.idtr.limit); }
  if (!(a.ldtr == b.ldtr)) { sep(); appendf(out, "ldtr=%04x{base=%" PRIx64 ",limit=%x}", b.ldtr.sel, b.ldtr.base, b.ldtr.limit); }
  if (!(a.tr == b.tr)) { sep(); appendf(out, "tr=%04x{base=%" PRIx64 ",limit=%x}", b.tr.sel, b.tr.base, b.tr.limit); }
  reg("star", a.star, b.star);
  reg("lstar", a.lstar, b.lstar);
  reg("cstar", a.cstar, b.cstar);
  reg("sfmask", a.sfmask, b.sfmask);
  reg("kernel_gs_base", a.kernel_gs_base, b.kernel_gs_base);
  reg("sysenter_cs", a.sysenter_cs, b.sysenter_cs);
  reg("sysenter_esp", a.sysenter_esp, b.sysenter_esp);
  reg("sysenter_eip", a.sysenter_eip, b.sysenter_eip);
  reg("tsc_aux", a.tsc_aux, b.tsc_aux);
  reg("apic_base", a.apic_base, b.apic_base);
  reg("pat", a.pat, b.pat);
  if (b.halted && !a.halted) { sep(); out += "halted"; }
}

}  // namespace rv
