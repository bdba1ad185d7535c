// Cpu::visit: the CPU's part of a snapshot or state hash (memory/state_visitor.h).
#include "cpu/cpu.h"
#include "memory/state_visitor.h"

namespace rv {
namespace {

void visit_segment(StateVisitor& v, std::string_view name, Segment& s) {
  v.begin(name, 1);
  v.field("sel", s.sel);
  v.field("attr", s.attr);
  v.field("limit", s.limit);
  v.field("base", s.base);
  v.end();
}

void visit_table(StateVisitor& v, std::string_view name, DescTable& t) {
  v.begin(name, 1);
  v.field("base", t.base);
  v.field("limit", t.limit);
  v.end();
}

}  // namespace

void Cpu::visit(StateVisitor& v) {
  CpuState s = m_s;
  u64 flags = rflags();
  u64 ss_shadow_at = m_ss_shadow_at, held_db = m_held_db;
  v.begin("cpu", 1);
  v.field("gpr", s.gpr);
  v.field("rip", s.rip);
  v.field("rflags", flags);
  static constexpr std::string_view kSegNames[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
  for (unsigned i = 0; i < 6; i++) visit_segment(v, kSegNames[i], s.seg[i]);
  visit_segment(v, "ldtr", s.ldtr);
  visit_segment(v, "tr", s.tr);
  visit_table(v, "gdtr", s.gdtr);
  visit_table(v, "idtr", s.idtr);
  v.field("cr0", s.cr0);
  v.field("cr2", s.cr2);
  v.field("cr3", s.cr3);
  v.field("cr4", s.cr4);
  v.field("cr8", s.cr8);
  v.field("xcr0", s.xcr0);
  v.field("dr", s.dr);
  v.field("efer", s.efer);
  v.field("star", s.star);
  v.field("lstar", s.lstar);
  v.field("cstar", s.cstar);
  v.field("sfmask", s.sfmask);
  v.field("kernel_gs_base", s.kernel_gs_base);
  v.field("sysenter_cs", s.sysenter_cs);
  v.field("sysenter_esp", s.sysenter_esp);
  v.field("sysenter_eip", s.sysenter_eip);
  v.field("tsc_offset", s.tsc_offset);
  v.field("tsc_aux", s.tsc_aux);
  v.field("apic_base", s.apic_base);
  v.field("pat", s.pat);
  v.field("misc_enable", s.misc_enable);
  v.field("mtrr_def_type", s.mtrr_def_type);
  v.field("mtrr_var", s.mtrr_var);
  v.field("mtrr_fixed", s.mtrr_fixed);
  v.blob("fxsave", s.fpu.fxsave, sizeof s.fpu.fxsave);
  v.field("halted", s.halted);
  v.field("nmi_pending", s.nmi_pending);
  v.field("nmi_blocked", s.nmi_blocked);
  v.field("int_shadow_until", s.int_shadow_until);
  v.field("icount", s.icount);
  v.field("ss_shadow_at", ss_shadow_at);
  v.field("held_db", held_db);
  v.end();
  if (!v.loading()) return;
  v.check((s.cr0 & kCr0Pg) == 0 || (s.cr0 & kCr0Pe), "cr0", "has PG without PE");
  s.rflags = flags | kFixed1;
  s.lazy = LazyFlags{};
  m_s = s;
  state_changed();
  m_ss_shadow_at = ss_shadow_at;
  m_held_db = held_db;
}

}  // namespace rv
