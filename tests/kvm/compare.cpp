#include "tests/kvm/compare.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "cpu/flags.h"
#include "tests/kvm/long_mode_env.h"
#include "tests/oracle/oracle.h"

namespace rv::kvmtest {
namespace {

const char* const kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kSegNames[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

const char* kind_name(StopKind k) {
  static const char* const kNames[] = {"DebugExit", "Halted",   "HaltIdle", "TripleFault", "InsnLimit",
                                       "PowerOff",  "Quit",     "GuestReset", "EngineError"};
  const auto i = static_cast<unsigned>(k);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "?";
}

std::string seg_text(const Segment& s) {
  return fmt("sel=%04x attr=%04x limit=%08x base=%016" PRIx64, s.sel, s.attr, s.limit, s.base);
}

std::string hex_le(const u8* p, unsigned n) {
  std::string s;
  for (int k = static_cast<int>(n) - 1; k >= 0; k--) s += fmt("%02x", p[k]);
  return s;
}

class Differ {
 public:
  Differ(const char* a, const char* b) : m_a(a), m_b(b) {}
  std::string out;
  void u64s(const std::string& what, u64 a, u64 b) {
    if (a != b) out += fmt("  %s: %s %016" PRIx64 " %s %016" PRIx64 "\n", what.c_str(), m_a, a, m_b, b);
  }
  void text(const std::string& what, const std::string& a, const std::string& b) {
    if (a != b) out += fmt("  %s: %s %s, %s %s\n", what.c_str(), m_a, a.c_str(), m_b, b.c_str());
  }
  void bytes(const std::string& what, const u8* a, const u8* b, unsigned n) {
    if (std::memcmp(a, b, n) != 0) text(what, hex_le(a, n), hex_le(b, n));
  }
  // Memory area `name`: up to 8 differing bytes shown, then a count.
  void area(const Area& ar, const std::vector<u8>& a, const std::vector<u8>& b) {
    if (a.size() != b.size()) {
      out += fmt("  %s: captured in one run only\n", ar.name);
      return;
    }
    unsigned shown = 0, total = 0;
    for (size_t k = 0; k < a.size(); k++) {
      if (a[k] == b[k]) continue;
      total++;
      if (shown++ < 8)
        out += fmt("  %s byte at %" PRIx64 " (phys %" PRIx64 "): %s %02x %s %02x\n", ar.name, ar.virt + k, ar.phys + k, m_a,
                   a[k], m_b, b[k]);
    }
    if (total > 8) out += fmt("  %s: %u bytes differ in all\n", ar.name, total);
  }

 private:
  const char* m_a;
  const char* m_b;
};

u64 get64(const u8* p) {
  u64 v;
  std::memcpy(&v, p, 8);
  return v;
}

void fpu_diff(Differ& d, const u8* a, const u8* b, u64 undef_flags) {
  auto g16 = [](const u8* p, unsigned o) { return static_cast<u64>(p[o] | p[o + 1] << 8); };
  auto g32 = [](const u8* p, unsigned o) { u32 v; std::memcpy(&v, p + o, 4); return static_cast<u64>(v); };
  const u64 fsw_mask = 0xFFFF & ~((undef_flags & oracle::kFccAll) >> oracle::kFccShift);
  d.u64s("fcw", g16(a, 0), g16(b, 0));
  d.u64s("fsw (undefined C0-C3 masked)", g16(a, 2) & fsw_mask, g16(b, 2) & fsw_mask);
  d.u64s("ftw (abridged)", a[4], b[4]);
  d.u64s("fop", g16(a, 6) & 0x7FF, g16(b, 6) & 0x7FF);
  d.u64s("fip", get64(a + 8), get64(b + 8));
  d.u64s("fdp", get64(a + 16), get64(b + 16));
  d.u64s("mxcsr", g32(a, 24), g32(b, 24));
  const unsigned top = (g16(a, 2) >> 11) & 7;
  for (unsigned r = 0; r < 8; r++) {
    if (!(a[4] & (1u << ((top + r) & 7))) && !(b[4] & (1u << ((top + r) & 7)))) continue;   // empty in both
    d.bytes(fmt("st%u", r), a + 32 + 16 * r, b + 32 + 16 * r, 10);
  }
  for (unsigned x = 0; x < 16; x++) d.bytes(fmt("xmm%u", x), a + 160 + 16 * x, b + 160 + 16 * x, 16);
}

}  // namespace

std::string compare(const Outcome& a, const Outcome& b, const CompareOptions& opt, const char* an, const char* bn) {
  Differ d(an, bn);
  if (!a.note.empty()) d.out += fmt("  %s run: %s\n", an, a.note.c_str());
  if (!b.note.empty()) d.out += fmt("  %s run: %s\n", bn, b.note.c_str());
  if (!d.out.empty()) return d.out;
  if (a.kind != b.kind || a.status != b.status)
    d.out += fmt("  end of run: %s %s status %d (%s), %s %s status %d (%s)\n", an, kind_name(a.kind), a.status,
                 a.message.c_str(), bn, kind_name(b.kind), b.status, b.message.c_str());
  if (a.debugcon != b.debugcon)
    d.out += fmt("  debugcon output differs:\n--- %s (%zu bytes)\n%s\n--- %s (%zu bytes)\n%s\n---\n", an, a.debugcon.size(),
                 a.debugcon.c_str(), bn, b.debugcon.size(), b.debugcon.c_str());
  d.u64s("hook-port writes", a.hook_writes, b.hook_writes);

  const CpuState &x = a.cpu, &y = b.cpu;
  for (int r = 0; r < 16; r++) d.u64s(kGprNames[r], x.gpr[r], y.gpr[r]);
  d.u64s("rip", x.rip, y.rip);
  const u64 fmask = ~(opt.undef_flags & kArithFlags);
  const u64 fx = materialize_flags(x) & fmask, fy = materialize_flags(y) & fmask;
  if (fx != fy)
    d.out += fmt("  rflags: %s %06" PRIx64 " %s %06" PRIx64 " (differ in %06" PRIx64 "; undefined, not compared: %06" PRIx64
                 ")\n",
                 an, fx, bn, fy, fx ^ fy, opt.undef_flags & kArithFlags);
  for (int s = 0; s < 6; s++) d.text(kSegNames[s], seg_text(x.seg[s]), seg_text(y.seg[s]));
  d.text("ldtr", seg_text(x.ldtr), seg_text(y.ldtr));
  d.text("tr", seg_text(x.tr), seg_text(y.tr));
  d.text("gdtr", fmt("%016" PRIx64 "/%x", x.gdtr.base, x.gdtr.limit), fmt("%016" PRIx64 "/%x", y.gdtr.base, y.gdtr.limit));
  d.text("idtr", fmt("%016" PRIx64 "/%x", x.idtr.base, x.idtr.limit), fmt("%016" PRIx64 "/%x", y.idtr.base, y.idtr.limit));
  d.u64s("cr0", x.cr0, y.cr0);
  d.u64s("cr2", x.cr2, y.cr2);
  d.u64s("cr3", x.cr3, y.cr3);
  d.u64s("cr4", x.cr4, y.cr4);
  d.u64s("cr8", x.cr8, y.cr8);
  d.u64s("xcr0", x.xcr0, y.xcr0);
  for (int r : {0, 1, 2, 3, 6, 7}) d.u64s(fmt("dr%d", r), x.dr[r], y.dr[r]);
  d.u64s("efer", x.efer, y.efer);
  d.u64s("star", x.star, y.star);
  d.u64s("lstar", x.lstar, y.lstar);
  d.u64s("cstar", x.cstar, y.cstar);
  d.u64s("sfmask", x.sfmask, y.sfmask);
  d.u64s("kernel_gs_base", x.kernel_gs_base, y.kernel_gs_base);
  d.u64s("sysenter_cs", x.sysenter_cs, y.sysenter_cs);
  d.u64s("sysenter_esp", x.sysenter_esp, y.sysenter_esp);
  d.u64s("sysenter_eip", x.sysenter_eip, y.sysenter_eip);
  d.u64s("tsc_aux", x.tsc_aux, y.tsc_aux);
  d.u64s("apic_base", x.apic_base, y.apic_base);
  d.u64s("pat", x.pat, y.pat);
  d.u64s("misc_enable", x.misc_enable, y.misc_enable);
  d.u64s("mtrr_def_type", x.mtrr_def_type, y.mtrr_def_type);
  for (int i = 0; i < 16; i++) d.u64s(fmt("mtrr_var[%d]", i), x.mtrr_var[i], y.mtrr_var[i]);
  for (int i = 0; i < 11; i++) d.u64s(fmt("mtrr_fixed[%d]", i), x.mtrr_fixed[i], y.mtrr_fixed[i]);
  d.u64s("halted", x.halted, y.halted);
  d.u64s("nmi_pending", x.nmi_pending, y.nmi_pending);
  if (opt.fpu) fpu_diff(d, x.fpu.fxsave, y.fpu.fxsave, opt.undef_flags);

  if (!a.mem.empty() || !b.mem.empty()) {
    for (const Area& ar : areas()) {
      std::vector<u8> ma = area_bytes(a, ar.name), mb = area_bytes(b, ar.name);
      // The RFLAGS image of an exception frame (SDM Vol.3A §6.14.2) has the same undefined bits.
      if (std::strcmp(ar.name, "ist stack") == 0 && ma.size() == mb.size() && ma.size() >= 24) {
        const size_t at = kIstTop - 24 - kIstBase;
        for (std::vector<u8>* m : {&ma, &mb}) {
          u64 v = get64(m->data() + at) & fmask;
          std::memcpy(m->data() + at, &v, 8);
        }
      }
      d.area(ar, ma, mb);
    }
  }
  return d.out;
}

std::string brief_state(const Outcome& o) {
  std::string s;
  for (int r = 0; r < 16; r++) s += fmt("%s=%016" PRIx64 "%s", kGprNames[r], o.cpu.gpr[r], r % 4 == 3 ? "\n" : " ");
  s += fmt("rip=%016" PRIx64 " rflags=%06" PRIx64 " end=%s status=%d", o.cpu.rip, materialize_flags(o.cpu), kind_name(o.kind),
           o.status);
  if (!o.message.empty()) s += " (" + o.message + ")";
  return s + "\n";
}

}  // namespace rv::kvmtest
