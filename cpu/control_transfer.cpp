// Far control transfers: JMP/CALL far (direct and through call gates), RET far and IRET, in
// real, V86, protected, compatibility and 64-bit mode. SDM Vol.2 JMP, CALL, RET, IRET
// "Operation" sections; Vol.3A §5.8 (privilege checks for control transfers).
//
// Every check that can fault runs before any register changes; stack writes for a call go
// to memory below the (unchanged) RSP first, so a fault part-way leaves the state exact.
#include "cpu/descriptor.h"
#include "memory/log.h"

namespace rv {
namespace {

bool lma(const Cpu& cpu) { return cpu.state().efer & kEferLma; }

// The instruction pointer for a transfer to code descriptor `d`: canonical for 64-bit code,
// within the segment limit otherwise. #GP(0) if not.
u64 checked_target(Cpu& cpu, u64 d, u64 off, unsigned osize) {
  if (lma(cpu) && desc::code_l(d)) {
    if (!desc::canonical(off)) cpu.fault(kGP, 0);
    return off;
  }
  u64 ip = off & Cpu::mask_of(osize);
  if (ip > desc::limit(d)) cpu.fault(kGP, 0);
  return ip;
}

// Direct JMP/CALL to a code segment (SDM Vol.3A §5.8.2).
void check_direct_code(Cpu& cpu, u64 d, u16 sel) {
  const u16 err = sel & 0xFFFC;
  if (!desc::is_code(d)) cpu.fault(kGP, err);
  if (desc::is_conforming(d)) {
    if (desc::dpl(d) > cpu.cpl()) cpu.fault(kGP, err);
  } else if ((sel & 3) > cpu.cpl() || desc::dpl(d) != cpu.cpl()) {
    cpu.fault(kGP, err);
  }
  if (!desc::present(d)) cpu.fault(kNP, err);
  if (lma(cpu) && desc::code_l(d) && desc::code_d(d)) cpu.fault(kGP, err);
}

// The code segment a call gate points to (SDM Vol.2 CALL, "CALL-GATE").
struct GateTarget {
  u16 sel;
  u64 d;
  u64 addr;
  u64 offset;
  unsigned size;   // 2, 4 or 8: the gate's width
};

GateTarget check_call_gate(Cpu& cpu, u16 gate_sel, u64 g, u64 g_addr) {
  const u16 gerr = gate_sel & 0xFFFC;
  GateTarget t{};
  u64 ghi = 0;
  if (lma(cpu)) {
    // 64-bit call gates are 16 bytes; the upper half's type field must be 0.
    if (desc::type(g) != desc::kCallGate32) cpu.fault(kGP, gerr);
    u64 tmp;
    if (!fetch_descriptor(cpu, gate_sel, tmp, nullptr, &ghi)) cpu.fault(kGP, gerr);
    if (((ghi >> 40) & 0x1F) != 0) cpu.fault(kGP, gerr);
  }
  if (desc::dpl(g) < cpu.cpl() || desc::dpl(g) < (gate_sel & 3)) cpu.fault(kGP, gerr);
  if (!desc::present(g)) cpu.fault(kNP, gerr);
  t.sel = desc::gate_selector(g);
  const u16 err = t.sel & 0xFFFC;
  if (err == 0) cpu.fault(kGP, 0);
  if (!fetch_descriptor(cpu, t.sel, t.d, &t.addr)) cpu.fault(kGP, err);
  if (!desc::is_code(t.d) || desc::dpl(t.d) > cpu.cpl()) cpu.fault(kGP, err);
  if (!desc::present(t.d)) cpu.fault(kNP, err);
  if (lma(cpu)) {
    if (!desc::code_l(t.d) || desc::code_d(t.d)) cpu.fault(kGP, err);
    t.offset = desc::gate_offset(g) | ((ghi & 0xFFFFFFFF) << 32);
    t.size = 8;
  } else {
    t.size = desc::type(g) == desc::kCallGate32 ? 4 : 2;
    t.offset = desc::gate_offset(g) & Cpu::mask_of(t.size);
  }
  (void)g_addr;
  return t;
}

// JMP/CALL to a TSS or task gate: the checks of SDM Vol.3A §7.3, then the (missing) switch.
void task_transfer(Cpu& cpu, u16 sel, u64 d, TaskSource src) {
  const u16 err = sel & 0xFFFC;
  if (lma(cpu)) cpu.fault(kGP, err);   // no task switches in IA-32e mode
  if (desc::dpl(d) < cpu.cpl() || desc::dpl(d) < (sel & 3)) cpu.fault(kGP, err);
  u16 tss_sel = sel;
  u64 tss = d;
  if (desc::type(d) == desc::kTaskGate) {
    if (!desc::present(d)) cpu.fault(kNP, err);
    tss_sel = desc::gate_selector(d);
    if ((tss_sel & 4) || !fetch_descriptor(cpu, tss_sel, tss)) cpu.fault(kGP, tss_sel & 0xFFFC);
    if (desc::is_segment(tss) || (desc::type(tss) != desc::kTss16Avail && desc::type(tss) != desc::kTss32Avail))
      cpu.fault(kGP, tss_sel & 0xFFFC);
  } else if (desc::type(d) == desc::kTss16Busy || desc::type(d) == desc::kTss32Busy) {
    cpu.fault(kGP, err);
  }
  if (!desc::present(tss)) cpu.fault(kNP, tss_sel & 0xFFFC);
  u32 min_limit = desc::type(tss) == desc::kTss32Avail ? 0x67 : 0x2B;
  if (desc::limit(tss) < min_limit) cpu.fault(kTS, tss_sel & 0xFFFC);
  task_switch(cpu, tss_sel, tss, src, false, 0, 0);
}

// The code segment a far RET or IRET returns to (SDM Vol.2 RET and IRET, "RETURN-TO-SAME/
// OUTER-PRIVILEGE-LEVEL"): a non-null code selector with RPL >= CPL, DPL rules by conformity,
// present, not L+D. Returns whether it is a 64-bit segment; `d`/`addr`: descriptor and address.
bool check_return_cs(Cpu& cpu, u16 sel, u64& d, u64& addr) {
  const u16 err = sel & 0xFFFC;
  const u8 rpl = sel & 3;
  if (err == 0) cpu.fault(kGP, 0);
  if (!fetch_descriptor(cpu, sel, d, &addr)) cpu.fault(kGP, err);
  if (!desc::is_code(d) || rpl < cpu.cpl()) cpu.fault(kGP, err);
  if (desc::is_conforming(d) ? desc::dpl(d) > rpl : desc::dpl(d) != rpl) cpu.fault(kGP, err);
  if (!desc::present(d)) cpu.fault(kNP, err);
  if (lma(cpu) && desc::code_l(d) && desc::code_d(d)) cpu.fault(kGP, err);
  return lma(cpu) && desc::code_l(d);
}

}  // namespace

void Cpu::far_jump(u16 sel, u64 off, unsigned osize) {
  end_block();
  if (!protected_mode() || v86()) {
    u64 ip = mask_ip(off, osize);
    if (ip > m_s.seg[CS].limit) fault(kGP, 0);
    load_seg_real(CS, sel);
    m_s.rip = ip;
    mode_changed();
    return;
  }
  const u16 err = sel & 0xFFFC;
  if (err == 0) fault(kGP, 0);
  u64 d, addr;
  if (!fetch_descriptor(*this, sel, d, &addr)) fault(kGP, err);
  if (desc::is_segment(d)) {
    check_direct_code(*this, d, sel);
    u64 ip = checked_target(*this, d, off, osize);
    set_accessed(*this, addr, d);
    load_cs_for_transfer(sel, d, m_cpl);
    m_s.rip = ip;
    return;
  }
  switch (desc::type(d)) {
    case desc::kCallGate16:
    case desc::kCallGate32: {
      if (lma(*this) && desc::type(d) == desc::kCallGate16) fault(kGP, err);
      GateTarget t = check_call_gate(*this, sel, d, addr);
      // JMP never changes CPL: a non-conforming target must be at CPL.
      if (!desc::is_conforming(t.d) && desc::dpl(t.d) != m_cpl) fault(kGP, t.sel & 0xFFFC);
      u64 ip = checked_target(*this, t.d, t.offset, t.size);
      set_accessed(*this, t.addr, t.d);
      load_cs_for_transfer(t.sel, t.d, m_cpl);
      m_s.rip = ip;
      return;
    }
    case desc::kTaskGate:
    case desc::kTss16Avail:
    case desc::kTss32Avail:
    case desc::kTss16Busy:
    case desc::kTss32Busy:
      return task_transfer(*this, sel, d, TaskSource::Jmp);
    default:
      fault(kGP, err);
  }
}

void Cpu::far_call(u16 sel, u64 off, unsigned osize) {
  end_block();
  const u64 old_rsp = m_s.gpr[RSP];
  const u16 old_cs = m_s.seg[CS].sel;
  const u64 old_rip = m_s.rip;
  if (!protected_mode() || v86()) {
    u64 ip = mask_ip(off, osize);
    if (ip > m_s.seg[CS].limit) fault(kGP, 0);
    StackBuilder sb(*this, m_s.seg[SS], old_rsp, static_cast<unsigned>(stack_width()), false, 0);
    sb.push(old_cs, osize);
    sb.push(old_rip, osize);
    m_s.gpr[RSP] = sb.final_rsp(old_rsp);
    load_seg_real(CS, sel);
    m_s.rip = ip;
    mode_changed();
    return;
  }
  const u16 err = sel & 0xFFFC;
  if (err == 0) fault(kGP, 0);
  u64 d, addr;
  if (!fetch_descriptor(*this, sel, d, &addr)) fault(kGP, err);
  if (desc::is_segment(d)) {
    check_direct_code(*this, d, sel);
    u64 ip = checked_target(*this, d, off, osize);
    StackBuilder sb(*this, m_s.seg[SS], old_rsp, static_cast<unsigned>(stack_width()), false, 0);
    sb.push(old_cs, osize);
    sb.push(old_rip, osize);
    set_accessed(*this, addr, d);
    m_s.gpr[RSP] = sb.final_rsp(old_rsp);
    load_cs_for_transfer(sel, d, m_cpl);
    m_s.rip = ip;
    return;
  }
  switch (desc::type(d)) {
    case desc::kCallGate16:
    case desc::kCallGate32: break;
    case desc::kTaskGate:
    case desc::kTss16Avail:
    case desc::kTss32Avail:
    case desc::kTss16Busy:
    case desc::kTss32Busy:
      return task_transfer(*this, sel, d, TaskSource::Call);
    default:
      fault(kGP, err);
  }
  if (lma(*this) && desc::type(d) == desc::kCallGate16) fault(kGP, err);
  GateTarget t = check_call_gate(*this, sel, d, addr);
  const unsigned sz = t.size;
  u64 ip = checked_target(*this, t.d, t.offset, sz);
  if (desc::is_conforming(t.d) || desc::dpl(t.d) == m_cpl) {
    // Same privilege (SDM Vol.2 CALL, "SAME-PRIVILEGE").
    StackBuilder sb(*this, m_s.seg[SS], old_rsp, static_cast<unsigned>(stack_width()), false, 0);
    sb.push(old_cs, sz);
    sb.push(old_rip, sz);
    set_accessed(*this, t.addr, t.d);
    m_s.gpr[RSP] = sb.final_rsp(old_rsp);
    load_cs_for_transfer(t.sel, t.d, m_cpl);
    m_s.rip = ip;
    return;
  }
  // More privilege: switch to the stack for the new CPL from the TSS, copying parameters
  // (SDM Vol.3A §5.8.5, Figure 5-13).
  const u8 new_cpl = desc::dpl(t.d);
  const Segment old_ss = m_s.seg[SS];
  Segment new_ss;
  u64 sp;
  unsigned width;
  u32 ss_err;
  if (lma(*this)) {
    sp = tss64_stack(*this, new_cpl, 0, 0);
    new_ss = desc::null_segment(new_cpl, new_cpl);
    width = 8;
    ss_err = 0;
  } else {
    u16 ss_sel;
    tss_inner_stack(*this, new_cpl, 0, ss_sel, sp);
    new_ss = load_inner_ss(*this, ss_sel, new_cpl, 0);
    width = new_ss.db() ? 4 : 2;
    ss_err = ss_sel & 0xFFFC;
  }
  StackBuilder sb(*this, new_ss, sp, width, true, ss_err);
  sb.push(old_ss.sel, sz);
  sb.push(old_rsp, sz);
  if (!lma(*this)) {
    unsigned n = desc::gate_params(d);
    u64 mask = sp_mask();
    for (unsigned i = n; i-- > 0;) sb.push(read_mem(SS, (old_rsp + i * sz) & mask, sz), sz);
  }
  sb.push(old_cs, sz);
  sb.push(old_rip, sz);
  set_accessed(*this, t.addr, t.d);
  m_s.seg[SS] = new_ss;
  m_s.gpr[RSP] = width == 2 ? (old_rsp & ~0xFFFFull) | sb.sp() : sb.sp();
  load_cs_for_transfer(t.sel, t.d, new_cpl);
  m_s.rip = ip;
}

// RET far (SDM Vol.2 RET, "PROTECTED-MODE" / "RETURN-TO-OUTER-PRIVILEGE-LEVEL").
void Cpu::far_return(unsigned osize, u16 pop_extra) {
  end_block();
  const u64 old_rsp = m_s.gpr[RSP];
  StackReader r(*this);
  u64 off = r.pop(osize);
  u16 sel = static_cast<u16>(r.pop(osize));
  if (!protected_mode() || v86()) {
    u64 ip = off & mask_of(osize);
    if (ip > m_s.seg[CS].limit) fault(kGP, 0);
    r.skip(pop_extra);
    m_s.gpr[RSP] = r.final_rsp(old_rsp);
    load_seg_real(CS, sel);
    m_s.rip = ip;
    mode_changed();
    return;
  }
  const u8 rpl = sel & 3;
  u64 d, addr;
  const bool target64 = check_return_cs(*this, sel, d, addr);
  if (rpl == m_cpl) {
    u64 ip = checked_target(*this, d, off, osize);
    r.skip(pop_extra);
    set_accessed(*this, addr, d);
    m_s.gpr[RSP] = r.final_rsp(old_rsp);
    load_cs_for_transfer(sel, d, m_cpl);
    m_s.rip = ip;
    return;
  }
  r.skip(pop_extra);
  u64 new_sp = r.pop(osize);
  u16 ss_sel = static_cast<u16>(r.pop(osize));
  Segment new_ss = check_outer_ss(*this, ss_sel, rpl, target64);
  u64 ip = checked_target(*this, d, off, osize);
  set_accessed(*this, addr, d);
  m_s.seg[SS] = new_ss;
  new_sp += pop_extra;
  if (target64) m_s.gpr[RSP] = new_sp;
  else if (new_ss.db()) m_s.gpr[RSP] = new_sp & 0xFFFFFFFF;
  else m_s.gpr[RSP] = (old_rsp & ~0xFFFFull) | (new_sp & 0xFFFF);
  load_cs_for_transfer(sel, d, rpl);
  m_s.rip = ip;
  invalidate_data_segments(*this, rpl);
}

Segment check_outer_ss(Cpu& cpu, u16 ss_sel, u8 rpl, bool target64) {
  const u16 err = ss_sel & 0xFFFC;
  if (err == 0) {
    // IA-32e mode: a return to 64-bit code at CPL 0..2 may load a null SS.
    if (target64 && rpl != 3) return desc::null_segment(ss_sel, rpl);
    cpu.fault(kGP, 0);
  }
  u64 d, addr;
  if (!fetch_descriptor(cpu, ss_sel, d, &addr)) cpu.fault(kGP, err);
  if ((ss_sel & 3) != rpl || !desc::is_writable_data(d) || desc::dpl(d) != rpl) cpu.fault(kGP, err);
  if (!desc::present(d)) cpu.fault(kSS, err);
  set_accessed(cpu, addr, d);
  return desc::to_segment(ss_sel, d);
}

// IRET/IRETD/IRETQ (SDM Vol.2 IRET "Operation"; Vol.3A §6.14.3 for 64-bit mode).
void Cpu::iret(unsigned osize) {
  end_block();
  m_s.nmi_blocked = false;   // IRET ends NMI blocking (a pending NMI is taken after it)
  const u64 old_rsp = m_s.gpr[RSP];
  const u64 old_flags = rflags();
  const unsigned iopl = (old_flags >> 12) & 3;
  constexpr u64 kBase = kFlagCF | kFlagPF | kFlagAF | kFlagZF | kFlagSF | kFlagTF | kFlagDF | kFlagOF | kFlagNT |
                        kFlagRF | kFlagAC | kFlagID;
  auto merge = [&](u64 popped, u64 mask) {
    if (osize == 2) mask &= 0xFFFF;
    return (old_flags & ~mask) | (popped & mask);
  };

  if (!protected_mode() || v86()) {
    if (v86() && iopl < 3) fault(kGP, 0);   // no VME: IRET in V86 is IOPL-sensitive
    StackReader r(*this);
    u64 ip = r.pop(osize);
    u16 sel = static_cast<u16>(r.pop(osize));
    u64 fl = r.pop(osize);
    ip &= mask_of(osize);
    if (ip > m_s.seg[CS].limit) fault(kGP, 0);
    u64 mask = kBase | kFlagIF | (v86() ? u64{0} : u64{kFlagIOPL});   // VM, VIF, VIP unchanged
    m_s.gpr[RSP] = r.final_rsp(old_rsp);
    load_seg_real(CS, sel);
    m_s.rip = ip;
    set_rflags(merge(fl, mask));
    mode_changed();
    return;
  }

  if (old_flags & kFlagNT) {
    // Return to the previous task (SDM Vol.2 IRET "TASK-RETURN").
    if (lma(*this)) fault(kGP, 0);
    u16 link = static_cast<u16>(read_sys(m_s.tr.base & 0xFFFFFFFF, 2));
    u64 td;
    if ((link & 4) || !fetch_descriptor(*this, link, td) || desc::is_segment(td) ||
        (desc::type(td) != desc::kTss32Busy && desc::type(td) != desc::kTss16Busy))
      fault(kTS, link & 0xFFFC);
    return task_switch(*this, link, td, TaskSource::Iret, false, 0, 0);
  }
  StackReader r(*this);
  u64 off = r.pop(osize);
  u16 sel = static_cast<u16>(r.pop(osize));
  u64 fl = r.pop(osize);
  if (osize == 2) fl &= 0xFFFF;
  if ((fl & kFlagVM) && m_cpl == 0 && osize == 4 && !lma(*this)) {
    // Return to virtual-8086 mode (SDM Vol.2 IRET "RETURN-TO-VIRTUAL-8086-MODE"): the frame
    // also holds ESP, SS, ES, DS, FS, GS; EFLAGS is taken whole.
    u64 new_sp = r.pop(4);
    u16 sels[5];   // SS ES DS FS GS
    for (u16& v : sels) v = static_cast<u16>(r.pop(4));
    if ((off & 0xFFFFFFFF) > 0xFFFF) fault(kGP, 0);
    set_rflags(fl & 0xFFFFFFFF);
    load_seg_real(CS, sel);
    load_seg_real(SS, sels[0]);
    load_seg_real(ES, sels[1]);
    load_seg_real(DS, sels[2]);
    load_seg_real(FS, sels[3]);
    load_seg_real(GS, sels[4]);
    m_s.gpr[RSP] = new_sp & 0xFFFFFFFF;
    m_s.rip = off & 0xFFFF;
    mode_changed();
    return;
  }
  const u8 rpl = sel & 3;
  u64 d, addr;
  const bool target64 = check_return_cs(*this, sel, d, addr);

  u64 mask = kBase;
  if (m_cpl <= iopl) mask |= kFlagIF;
  if (m_cpl == 0) mask |= kFlagIOPL | kFlagVIF | kFlagVIP;
  const u64 new_flags = merge(fl, mask) & ~kFlagVM;

  // 64-bit mode always pops SS:RSP; otherwise only on a return to an outer level.
  if (rpl == m_cpl && !long64()) {
    u64 ip = checked_target(*this, d, off, osize);
    set_accessed(*this, addr, d);
    m_s.gpr[RSP] = r.final_rsp(old_rsp);
    load_cs_for_transfer(sel, d, m_cpl);
    m_s.rip = ip;
    set_rflags(new_flags);
    mode_changed();
    return;
  }
  u64 new_sp = r.pop(osize);
  u16 ss_sel = static_cast<u16>(r.pop(osize));
  Segment new_ss = check_outer_ss(*this, ss_sel, rpl, target64);
  u64 ip = checked_target(*this, d, off, osize);
  set_accessed(*this, addr, d);
  const bool outer = rpl > m_cpl;
  m_s.seg[SS] = new_ss;
  if (target64) m_s.gpr[RSP] = new_sp;
  else if (new_ss.db()) m_s.gpr[RSP] = new_sp & 0xFFFFFFFF;
  else m_s.gpr[RSP] = (old_rsp & ~0xFFFFull) | (new_sp & 0xFFFF);
  load_cs_for_transfer(sel, d, rpl);
  m_s.rip = ip;
  set_rflags(new_flags);
  if (outer) invalidate_data_segments(*this, rpl);
  mode_changed();
}

}  // namespace rv
