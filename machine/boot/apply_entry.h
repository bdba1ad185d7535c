// Applies a loader's EntryState to the CPU. Header-only and kept apart from the loaders so
// that machine/boot/*.cpp (and rv_boot_tests) do not depend on the CPU: the board includes
// this after load_kernel() and before running.
#pragma once
#include "cpu/cpu.h"
#include "machine/boot/boot_types.h"

namespace rv::boot {

inline Segment to_cpu_segment(const BootSegment& b) {
  Segment s;
  s.sel = b.sel;
  s.attr = b.attr;
  s.limit = b.limit;
  s.base = b.base;
  return s;
}

// Everything the protocols define; the rest of the state stays as reset left it.
inline void apply_entry_state(Cpu& cpu, const EntryState& e) {
  CpuState& s = cpu.state();
  s.gpr = {};
  s.gpr[RAX] = e.rax; s.gpr[RBX] = e.rbx; s.gpr[RCX] = e.rcx; s.gpr[RDX] = e.rdx;
  s.gpr[RSI] = e.rsi; s.gpr[RDI] = e.rdi; s.gpr[RBP] = e.rbp; s.gpr[RSP] = e.rsp;
  s.rip = e.rip;
  s.rflags = e.rflags;
  s.lazy = LazyFlags{};   // LazyOp::None: rflags holds every flag
  s.cr0 = e.cr0; s.cr3 = e.cr3; s.cr4 = e.cr4; s.efer = e.efer;
  s.seg[ES] = to_cpu_segment(e.es); s.seg[CS] = to_cpu_segment(e.cs); s.seg[SS] = to_cpu_segment(e.ss);
  s.seg[DS] = to_cpu_segment(e.ds); s.seg[FS] = to_cpu_segment(e.fs); s.seg[GS] = to_cpu_segment(e.gs);
  s.tr = to_cpu_segment(e.tr);
  s.ldtr = Segment{};
  s.gdtr = {e.gdtr.base, e.gdtr.limit};
  s.idtr = {e.idtr.base, e.idtr.limit};
  s.halted = false;
  cpu.state_changed();
}

}  // namespace rv::boot
