// Interrupt and exception delivery (SDM Vol.3A §6.12 protected mode, §6.14 IA-32e mode,
// §20.1.4 real mode), INT n/INT3/INTO/INT1, the TSS stack lookups shared with call gates,
// and the I/O permission check (SDM Vol.1 §19.5).
//
// deliver_event() is called by the run loop (faults, external interrupts, NMI, single-step
// traps) and by software_interrupt(). A fault during delivery propagates as GuestFault to
// the caller, which turns it into #DF or a triple fault (cpu.cpp handle_fault); nothing is
// committed until every check and stack write of the delivery has succeeded.
//
// Error codes for faults during delivery carry EXT (bit 0) unless the event is a software
// interrupt (SDM Vol.3A §6.13). IDT-related errors have IDT (bit 1) set with the vector.
#include "cpu/descriptor.h"
#include "memory/log.h"

namespace rv {

// ---- TSS stacks ----

void tss_inner_stack(Cpu& cpu, u8 new_cpl, u32 ext, u16& ss, u64& sp) {
  const Segment& tr = cpu.state().tr;
  const u32 err = (tr.sel & 0xFFFC) | ext;
  if (!tr.present()) cpu.fault(kTS, err);
  const u64 base = tr.base & 0xFFFFFFFF;
  if (tr.type() == desc::kTss16Busy || tr.type() == desc::kTss16Avail) {
    u32 off = 2 + 4 * new_cpl;
    if (off + 3 > tr.limit) cpu.fault(kTS, err);
    sp = cpu.read_sys(base + off, 2);
    ss = static_cast<u16>(cpu.read_sys(base + off + 2, 2));
  } else {
    u32 off = 4 + 8 * new_cpl;
    if (off + 5 > tr.limit) cpu.fault(kTS, err);
    sp = cpu.read_sys(base + off, 4);
    ss = static_cast<u16>(cpu.read_sys(base + off + 4, 2));
  }
}

u64 tss64_stack(Cpu& cpu, u8 new_cpl, unsigned ist, u32 ext) {
  const Segment& tr = cpu.state().tr;
  const u32 err = (tr.sel & 0xFFFC) | ext;
  if (!tr.present()) cpu.fault(kTS, err);
  u32 off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * new_cpl;
  if (off + 7 > tr.limit) cpu.fault(kTS, err);
  return cpu.read_sys(tr.base + off, 8);
}

Segment load_inner_ss(Cpu& cpu, u16 ss_sel, u8 new_cpl, u32 ext) {
  const u32 err = (ss_sel & 0xFFFC) | ext;
  if ((ss_sel & 0xFFFC) == 0) cpu.fault(kTS, ext);
  u64 d, addr;
  if (!fetch_descriptor(cpu, ss_sel, d, &addr)) cpu.fault(kTS, err);
  if ((ss_sel & 3) != new_cpl || desc::dpl(d) != new_cpl || !desc::is_writable_data(d)) cpu.fault(kTS, err);
  if (!desc::present(d)) cpu.fault(kSS, err);
  set_accessed(cpu, addr, d);
  return desc::to_segment(ss_sel, d);
}

// ---- delivery ----

void Cpu::deliver_event(u8 vector, bool has_error, u32 error, bool software, bool external) {
  (void)external;
  // A delivery (exception, external interrupt, NMI) advances the instruction count, and so
  // the budget and virtual time, by one, as the hardware's clock runs on while it delivers:
  // a guest whose handler faults on its first instruction (a fault storm) still reaches
  // --max-insns and the next device deadline. INT n, INT3, INTO and INT1 are instructions
  // and count as such (once, when they retire).
  if (!software) m_s.icount++;
  else m_sw_event = true;   // no single-step trap follows INT n (SDM Vol.3B §17.3.1.4)
  end_block();
  m_s.halted = false;
  // Fault-class exceptions push RF=1 (SDM Vol.3A §17.3.1.1), so the IRET back to the faulting
  // instruction does not re-trigger an instruction breakpoint on it.
  const u64 old_flags = rflags() | (m_push_rf ? kFlagRF : 0);
  m_push_rf = false;
  const u64 old_rsp = m_s.gpr[RSP];
  const u64 old_rip = m_s.rip;
  const u16 old_cs = m_s.seg[CS].sel;

  if (!protected_mode()) {
    // Real mode: the IVT (SDM Vol.3A §20.1.4). No error codes.
    if (vector * 4u + 3 > m_s.idtr.limit) fault(kGP, vector * 8u + 2);
    u32 ent = static_cast<u32>(read_sys((m_s.idtr.base + vector * 4u) & 0xFFFFFFFF, 4));
    StackBuilder sb(*this, m_s.seg[SS], old_rsp, static_cast<unsigned>(stack_width()), false, 0);
    sb.push(old_flags, 2);
    sb.push(old_cs, 2);
    sb.push(old_rip, 2);
    m_s.gpr[RSP] = sb.final_rsp(old_rsp);
    load_seg_real(CS, static_cast<u16>(ent >> 16));
    m_s.rip = ent & 0xFFFF;
    set_rflags(old_flags & ~(kFlagIF | kFlagTF | kFlagAC | kFlagRF));
    mode_changed();
    return;
  }
  const bool from_v86 = v86();

  const bool lm = m_s.efer & kEferLma;
  const u32 ext = software ? 0 : 1;
  const u32 idt_err = vector * 8u + 2 + ext;
  const unsigned esize = lm ? 16 : 8;
  if (vector * esize + esize - 1 > m_s.idtr.limit) fault(kGP, idt_err);
  u64 gla = m_s.idtr.base + vector * esize;
  if (!lm) gla &= 0xFFFFFFFF;
  const u64 g = read_sys(gla, 8);
  const u64 ghi = lm ? read_sys(gla + 8, 8) : 0;
  const u8 t = desc::type(g);
  bool valid = !desc::is_segment(g) &&
               (lm ? (t == desc::kIntGate32 || t == desc::kTrapGate32)
                   : (t == desc::kTaskGate || t == desc::kIntGate16 || t == desc::kTrapGate16 ||
                      t == desc::kIntGate32 || t == desc::kTrapGate32));
  if (!valid) fault(kGP, idt_err);
  if (software && desc::dpl(g) < m_cpl) fault(kGP, idt_err);   // SDM Vol.3A §6.12.1.1
  if (!desc::present(g)) fault(kNP, idt_err);
  if (t == desc::kTaskGate) {
    // SDM Vol.3A §6.12.2: switch to the task; an error code goes on its stack.
    const u16 tss_sel = desc::gate_selector(g);
    const u32 terr = (tss_sel & 0xFFFC) | ext;
    u64 td;
    if ((tss_sel & 4) || !fetch_descriptor(*this, tss_sel, td)) fault(kGP, terr);
    if (desc::is_segment(td) || (desc::type(td) != desc::kTss32Avail && desc::type(td) != desc::kTss16Avail))
      fault(kGP, terr);
    return task_switch(*this, tss_sel, td, TaskSource::Int, has_error, error, ext);
  }

  const u16 cs_sel = desc::gate_selector(g);
  const u32 cs_err = (cs_sel & 0xFFFC) | ext;
  if ((cs_sel & 0xFFFC) == 0) fault(kGP, ext);
  u64 cd, caddr;
  if (!fetch_descriptor(*this, cs_sel, cd, &caddr)) fault(kGP, cs_err);
  if (!desc::is_code(cd) || desc::dpl(cd) > m_cpl) fault(kGP, cs_err);
  if (!desc::present(cd)) fault(kNP, cs_err);
  if (lm && (!desc::code_l(cd) || desc::code_d(cd))) fault(kGP, cs_err);

  // From V86 mode the handler must be non-conforming ring-0 code (SDM Vol.3A §20.3.1.1).
  if (from_v86 && (desc::is_conforming(cd) || desc::dpl(cd) != 0)) fault(kGP, cs_err);
  const unsigned sz = lm ? 8 : (t & 8) ? 4 : 2;
  const u8 new_cpl = desc::is_conforming(cd) ? m_cpl : desc::dpl(cd);
  const bool change = new_cpl < m_cpl;
  u64 target = desc::gate_offset(g);
  Segment new_ss = m_s.seg[SS];
  u64 sp = old_rsp;
  unsigned width;
  u32 ss_err = ext;
  if (lm) {
    // IA-32e: 64-bit frame, SS:RSP always pushed, RSP aligned to 16 (SDM Vol.3A §6.14.2).
    target |= (ghi & 0xFFFFFFFF) << 32;
    if (!desc::canonical(target)) fault(kGP, ext);
    unsigned ist = desc::gate_ist(g);
    if (change || ist) sp = tss64_stack(*this, new_cpl, ist, ext);
    if (change) new_ss = desc::null_segment(new_cpl, new_cpl);
    sp &= ~0xFull;
    width = 8;
  } else {
    target &= mask_of(sz);
    if (target > desc::limit(cd)) fault(kGP, ext);
    if (change) {
      u16 ss_sel;
      tss_inner_stack(*this, new_cpl, ext, ss_sel, sp);
      new_ss = load_inner_ss(*this, ss_sel, new_cpl, ext);
      ss_err = (ss_sel & 0xFFFC) | ext;
      width = new_ss.db() ? 4 : 2;
    } else {
      width = static_cast<unsigned>(stack_width());
    }
  }
  StackBuilder sb(*this, new_ss, sp, width, change, ss_err);
  if (from_v86) {
    for (u8 r : {GS, FS, DS, ES}) sb.push(m_s.seg[r].sel, sz);
  }
  if (lm || change) {
    sb.push(m_s.seg[SS].sel, sz);
    sb.push(old_rsp, sz);
  }
  sb.push(old_flags, sz);
  sb.push(old_cs, sz);
  sb.push(old_rip, sz);
  if (has_error) sb.push(error, sz);

  set_accessed(*this, caddr, cd);
  if (from_v86) {
    for (u8 r : {GS, FS, DS, ES}) m_s.seg[r] = desc::null_segment(0);
  }
  m_s.seg[SS] = new_ss;
  if (width == 2) m_s.gpr[RSP] = (old_rsp & ~0xFFFFull) | (sb.sp() & 0xFFFF);
  else m_s.gpr[RSP] = sb.sp();
  m_s.seg[CS] = desc::to_segment(static_cast<u16>((cs_sel & 0xFFFC) | new_cpl), cd);
  m_s.rip = target;
  // SDM Vol.3A §6.12.1.3: TF, VM, RF, NT cleared; IF too for interrupt gates.
  u64 nf = old_flags & ~(kFlagTF | kFlagVM | kFlagRF | kFlagNT);
  if (!(t & 1)) nf &= ~kFlagIF;
  set_rflags(nf);
  mode_changed();
}

// kind: 0 = INT n, 1 = INT3, 2 = INTO, 3 = INT1 (ICEBP). RIP already points past the
// instruction, which is the return address pushed for these trap-class events.
void Cpu::software_interrupt(u8 vector, unsigned len_kind) {
  end_block();
  // Without VME, INT n in V86 mode is IOPL-sensitive (SDM Vol.3A §20.3.1.1).
  if (len_kind == 0 && v86() && ((rflags() >> 12) & 3) < 3) fault(kGP, 0);
  // INT1 is delivered like a hardware #DB: no gate DPL check, EXT set (SDM Vol.2 INT n).
  deliver_event(vector, false, 0, len_kind != 3);
}

// ---- I/O permission (SDM Vol.1 §19.5) ----

bool Cpu::io_allowed(u16 port, unsigned size) {
  if (!protected_mode()) return true;
  if (!v86() && m_cpl <= ((rflags() >> 12) & 3)) return true;
  const Segment& tr = m_s.tr;
  if (!tr.present() || (tr.type() != desc::kTss32Avail && tr.type() != desc::kTss32Busy)) return false;
  if (tr.limit < 0x67) return false;
  const u64 base = (m_s.efer & kEferLma) ? tr.base : tr.base & 0xFFFFFFFF;
  u32 map = static_cast<u32>(read_sys(base + 0x66, 2));
  u32 off = map + port / 8;
  if (off + 1 > tr.limit) return false;   // both bytes are always read
  u32 bits = static_cast<u32>(read_sys(base + off, 2));
  u32 mask = ((1u << size) - 1) << (port & 7);
  return (bits & mask) == 0;
}

}  // namespace rv
