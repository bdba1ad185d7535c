// Hardware task switches (SDM Vol.3A §7.3): JMP/CALL to a TSS or task gate, IRET with NT=1,
// and interrupts/exceptions through a task gate, with 32-bit and 16-bit (80286) TSSs in any
// mix; never in IA-32e mode (the callers raise #GP there).
//
// A 16-bit TSS (SDM Vol.3A §7.6, Figure 7-11) holds no CR3, FS, GS or upper register halves:
// switching to one keeps CR3, loads FS and GS null, and sets bits 31:16 of the general
// registers to ones, as Intel processors do (and Bochs and QEMU model); EIP and EFLAGS get
// the 16-bit IP and FLAGS zero-extended.
//
// Deviation, on purpose: every descriptor of the new task (LDT, CS, SS, data segments) is
// validated *before* the switch is committed, so a bad TSS faults in the old task's context
// with the SDM's error code, instead of after the commit point in the new task's context
// (SDM Vol.3A Table 7-1). The run loop restores RIP to the instruction start on a fault, and
// only the pre-commit form keeps that consistent.
#include "cpu/descriptor.h"
#include "memory/log.h"

namespace rv {
namespace {

// Where a TSS keeps each field (SDM Vol.3A Figure 7-2 for 32-bit, Figure 7-11 for 16-bit).
struct TssLayout {
  bool is32;
  u32 eip, eflags, eax, es, ldt;   // EAX..EDI and ES.. (CS SS DS [FS GS]) follow at `width` steps
  unsigned width;                  // bytes per register slot (4, or 2 for 16-bit)
  unsigned sel_stride;             // bytes per selector slot
  unsigned nsegs;                  // selectors held: 6, or 4 (ES CS SS DS)
  u32 min_limit;
};
constexpr u32 kBacklink = 0x00, kCr3 = 0x1C, kTrapWord = 0x64;
constexpr TssLayout kTss32{true, 0x20, 0x24, 0x28, 0x48, 0x60, 4, 4, 6, 0x67};
constexpr TssLayout kTss16{false, 0x0E, 0x10, 0x12, 0x22, 0x2A, 2, 2, 4, 0x2B};
const TssLayout& layout_of(u8 type) {
  return type == desc::kTss16Avail || type == desc::kTss16Busy ? kTss16 : kTss32;
}

struct NewTask {
  u32 cr3, eip, eflags;
  u32 gpr[8];
  u16 sel[6];       // ES CS SS DS FS GS
  u16 ldt_sel;
  Segment ldt;
  Segment seg[6];
  u64 seg_addr[6];  // descriptor addresses, for the accessed bits (0: none)
};

// Looks up `sel` in the GDT or in the new task's LDT.
bool fetch_in_task(Cpu& cpu, const Segment& ldt, u16 sel, u64& d, u64& addr) {
  if (!(sel & 4)) return fetch_descriptor(cpu, sel, d, &addr);
  if (!ldt.present() || (sel & ~7u) + 7 > ldt.limit) return false;
  addr = (ldt.base + (sel & ~7u)) & 0xFFFFFFFF;
  d = cpu.read_sys(addr, 8);
  return true;
}

void validate_segments(Cpu& cpu, NewTask& t) {
  const u16 cs = t.sel[CS], ss = t.sel[SS];
  const u8 cpl = cs & 3;
  u64 d, addr;
  // CS (SDM Vol.3A §7.3 step 13, Table 7-1).
  if (!(cs & 0xFFFC) || !fetch_in_task(cpu, t.ldt, cs, d, addr) || !desc::is_code(d)) cpu.fault(kTS, cs & 0xFFFC);
  if (desc::is_conforming(d) ? desc::dpl(d) > cpl : desc::dpl(d) != cpl) cpu.fault(kTS, cs & 0xFFFC);
  if (!desc::present(d)) cpu.fault(kNP, cs & 0xFFFC);
  t.seg[CS] = desc::to_segment(cs, d | (1ull << 40));
  t.seg_addr[CS] = addr;
  // SS
  if (!(ss & 0xFFFC) || !fetch_in_task(cpu, t.ldt, ss, d, addr)) cpu.fault(kTS, ss & 0xFFFC);
  if (!desc::is_writable_data(d) || desc::dpl(d) != cpl || (ss & 3) != cpl) cpu.fault(kTS, ss & 0xFFFC);
  if (!desc::present(d)) cpu.fault(kSS, ss & 0xFFFC);
  t.seg[SS] = desc::to_segment(ss, d | (1ull << 40));
  t.seg_addr[SS] = addr;
  // Data segments
  for (u8 r : {ES, DS, FS, GS}) {
    const u16 sel = t.sel[r];
    t.seg_addr[r] = 0;
    if (!(sel & 0xFFFC)) {
      t.seg[r] = desc::null_segment(sel);
      continue;
    }
    if (!fetch_in_task(cpu, t.ldt, sel, d, addr) || !desc::is_segment(d) || !desc::is_readable(d))
      cpu.fault(kTS, sel & 0xFFFC);
    if (!desc::is_conforming(d) && (desc::dpl(d) < cpl || desc::dpl(d) < (sel & 3))) cpu.fault(kTS, sel & 0xFFFC);
    if (!desc::present(d)) cpu.fault(kNP, sel & 0xFFFC);
    t.seg[r] = desc::to_segment(sel, d | (1ull << 40));
    t.seg_addr[r] = addr;
  }
}

void set_busy(Cpu& cpu, u16 sel, bool busy) {
  u64 d, addr;
  if (!fetch_descriptor(cpu, sel, d, &addr)) return;
  u8 access = (d >> 40) & 0xFF;
  cpu.write_sys(addr + 5, 1, busy ? access | 2 : access & ~2);
}

}  // namespace

void task_switch(Cpu& cpu, u16 sel, u64 d, TaskSource src, bool has_error, u32 error, u32 ext) {
  CpuState& s = cpu.state();
  const u16 err = (sel & 0xFFFC) | ext;
  const TssLayout& nl = layout_of(desc::type(d));
  if (!desc::present(d)) cpu.fault(kNP, err);
  if (desc::limit(d) < nl.min_limit) cpu.fault(kTS, err);
  const Segment& cur = s.tr;
  const TssLayout& ol = layout_of(cur.type());
  if (!cur.present() || cur.limit < ol.min_limit) cpu.fault(kTS, (cur.sel & 0xFFFC) | ext);

  // Read and validate the new task (all before the commit point; see the file comment).
  NewTask t{};
  const u64 nb = desc::base(d);
  const u32 hi = nl.is32 ? 0 : 0xFFFF0000u;   // 16-bit TSS: register bits 31:16 become ones
  t.cr3 = nl.is32 ? static_cast<u32>(cpu.read_sys(nb + kCr3, 4)) : static_cast<u32>(s.cr3);
  t.eip = static_cast<u32>(cpu.read_sys(nb + nl.eip, nl.width));
  t.eflags = static_cast<u32>(cpu.read_sys(nb + nl.eflags, nl.width));
  for (unsigned i = 0; i < 8; i++) t.gpr[i] = static_cast<u32>(cpu.read_sys(nb + nl.eax + nl.width * i, nl.width)) | hi;
  for (unsigned i = 0; i < 6; i++)
    t.sel[i] = i < nl.nsegs ? static_cast<u16>(cpu.read_sys(nb + nl.es + nl.sel_stride * i, 2)) : 0;
  t.ldt_sel = static_cast<u16>(cpu.read_sys(nb + nl.ldt, 2));
  t.ldt = desc::null_segment(t.ldt_sel);
  if (t.ldt_sel & 0xFFFC) {
    u64 ld;
    if ((t.ldt_sel & 4) || !fetch_descriptor(cpu, t.ldt_sel, ld) || desc::is_segment(ld) || desc::type(ld) != desc::kLdt)
      cpu.fault(kTS, (t.ldt_sel & 0xFFFC) | ext);
    if (!desc::present(ld)) cpu.fault(kTS, (t.ldt_sel & 0xFFFC) | ext);
    t.ldt = desc::to_segment(t.ldt_sel, ld);
  }
  const bool v86 = t.eflags & kFlagVM;
  if (v86) {
    RV_UNVERIFIED("task switch into virtual-8086 mode");
  } else {
    validate_segments(cpu, t);
  }

  // Commit: save the outgoing task.
  const u64 ob = cur.base & 0xFFFFFFFF;
  const u16 old_tr = cur.sel;
  u64 old_flags = cpu.rflags();
  if (src == TaskSource::Iret) old_flags &= ~kFlagNT;
  cpu.write_sys(ob + ol.eip, ol.width, s.rip & 0xFFFFFFFF);
  cpu.write_sys(ob + ol.eflags, ol.width, old_flags & 0xFFFFFFFF);
  for (unsigned i = 0; i < 8; i++) cpu.write_sys(ob + ol.eax + ol.width * i, ol.width, s.gpr[i] & 0xFFFFFFFF);
  for (unsigned i = 0; i < ol.nsegs; i++) cpu.write_sys(ob + ol.es + ol.sel_stride * i, 2, s.seg[i].sel);
  if (src == TaskSource::Jmp || src == TaskSource::Iret) set_busy(cpu, old_tr, false);
  if (src == TaskSource::Call || src == TaskSource::Int) {
    cpu.write_sys(nb + kBacklink, 2, old_tr);
    t.eflags |= kFlagNT;
  }
  if (src != TaskSource::Iret) set_busy(cpu, sel, true);
  for (unsigned r = 0; r < 6; r++)
    if (t.seg_addr[r]) {
      u64 raw = cpu.read_sys(t.seg_addr[r], 8);
      set_accessed(cpu, t.seg_addr[r], raw);
    }

  // Load the incoming task.
  s.tr = desc::to_segment(sel, d | (2ull << 40));
  s.cr0 |= kCr0Ts;
  s.ldtr = t.ldt;
  if ((s.cr0 & kCr0Pg) && nl.is32) {
    s.cr3 = t.cr3;
    cpu.tlb_flush(false);
  }
  for (unsigned i = 0; i < 8; i++) s.gpr[i] = t.gpr[i];
  s.rip = t.eip;
  cpu.set_rflags(t.eflags | kFixed1);
  if (v86) {
    for (u8 r = 0; r < 6; r++) cpu.load_seg_real(r, t.sel[r]);
  } else {
    for (u8 r = 0; r < 6; r++) s.seg[r] = t.seg[r];
  }
  cpu.mode_changed();
  cpu.end_block();
  // Exceptions with an error code push it on the new task's stack (SDM Vol.3A §7.3 step 14).
  if (has_error) cpu.push(error, nl.is32 ? 4 : 2);
  // The debug trap flag T of a 32-bit TSS (offset 0x64 bit 0): #DB with DR6.BT once the switch
  // completes, before the new task's first instruction (SDM Vol.3B §17.2.3, §17.3.1.5).
  if (nl.is32 && (cpu.read_sys(nb + kTrapWord, 2) & 1)) {
    s.dr[6] |= 0x8000;
    cpu.trap_at_boundary(kDB);
  }
}

}  // namespace rv
