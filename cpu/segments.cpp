// Segmentation: linear addresses outside 64-bit mode, segment-register loads with their
// protection checks, descriptor-table access, the stack helpers and the derived CPU mode.
//
// CPL is kept where VMX keeps it: in SS.DPL (SDM Vol.3C §26.3.1.5). Every transfer that
// changes CPL loads SS too (a null SS in 64-bit mode carries the new CPL in its DPL field),
// so mode_changed() can recompute CPL from CpuState alone.
#include "cpu/descriptor.h"
#include "memory/log.h"

namespace rv {

// ---- descriptor tables ----

bool fetch_descriptor(Cpu& cpu, u16 sel, u64& d, u64* addr, u64* hi) {
  const CpuState& s = cpu.state();
  u64 base;
  u32 limit;
  if (sel & 4) {
    if (!s.ldtr.present()) return false;
    base = s.ldtr.base;
    limit = s.ldtr.limit;
  } else {
    base = s.gdtr.base;
    limit = s.gdtr.limit;
  }
  u64 off = sel & ~7u;
  if (off + (hi ? 15 : 7) > limit) return false;
  u64 la = base + off;
  if (!cpu.long64() && !(cpu.state().efer & kEferLma)) la &= 0xFFFFFFFFull;
  d = cpu.read_sys(la, 8);
  if (hi) *hi = cpu.read_sys(la + 8, 8);
  if (addr) *addr = la;
  return true;
}

void set_accessed(Cpu& cpu, u64 addr, u64& d) {
  if (d & (1ull << 40)) return;
  d |= 1ull << 40;
  cpu.write_sys(addr + 5, 1, (d >> 40) & 0xFF);
}

u64 Cpu::read_descriptor(u16 sel, u8 vector_on_fault) {
  u64 d;
  if (!fetch_descriptor(*this, sel, d)) fault(vector_on_fault, sel & 0xFFFC);
  return d;
}

void invalidate_data_segments(Cpu& cpu, u8 new_cpl) {
  for (u8 r : {ES, DS, FS, GS}) {
    Segment& sg = cpu.state().seg[r];
    // SDM IRET/RET pseudocode: "IF SegmentSelector == NULL OR (DPL < CPL AND data or
    // non-conforming code) THEN SegmentSelector <- 0": a null selector with RPL 1-3 becomes 0.
    if ((sg.sel & 0xFFFC) == 0) {
      sg.sel = 0;
      continue;
    }
    bool conforming_code = sg.s() && (sg.type() & 0xC) == 0xC;
    if (sg.present() && !conforming_code && sg.dpl() < new_cpl) {
      u64 base = (r == FS || r == GS) ? sg.base : 0;   // 64-bit FS/GS bases come from the MSRs
      sg = desc::null_segment(0);
      if (cpu.state().efer & kEferLma) sg.base = base;
    }
  }
}

// ---- linear addresses (legacy and compatibility mode) ----

// SDM Vol.3A §5.3 (limit checks), §5.4.1 (null selectors), §5.14 (type checks).
u64 Cpu::seg_linear_legacy(u8 seg, u64 off, unsigned size, Access acc) {
  const Segment& s = m_s.seg[seg];
  if ((m_s.cr0 & kCr0Pe) && !(m_s.rflags & kFlagVM)) {
    bool bad;
    if (RV_UNLIKELY(!s.present())) bad = true;
    else if (acc == Access::Write) bad = (s.type() & 0xA) != 2;   // must be writable data
    else if (acc == Access::Read) bad = (s.type() & 0xA) == 8;    // execute-only code
    else bad = false;
    if (RV_UNLIKELY(bad)) fault(seg == SS ? kSS : kGP, 0);
  }
  if (RV_UNLIKELY(!desc::within_limit(s, off, size))) fault(seg == SS ? kSS : kGP, 0);
  return (s.base + off) & 0xFFFFFFFFull;
}

// ---- segment register loads ----

void Cpu::load_seg_real(u8 seg, u16 sel) {
  // Real and V86 mode: only the selector and base change in real mode; the limit stays
  // ("unreal mode"). V86 reloads the whole cache (SDM Vol.3A §20.1.1).
  Segment& s = m_s.seg[seg];
  s.sel = sel;
  s.base = static_cast<u64>(sel) << 4;
  u8 type = seg == CS ? 0xB : 0x3;
  if (m_s.rflags & kFlagVM) {
    s.limit = 0xFFFF;
    s.attr = static_cast<u16>(type | 0x10 | (3 << 5) | 0x80);
  } else {
    s.attr = static_cast<u16>((s.attr & 0xF000) | type | 0x10 | 0x80);
  }
}

// MOV Sreg / POP Sreg / LxS (SDM Vol.2 MOV "Operation").
void Cpu::load_seg(u8 seg, u16 sel) {
  if (!(m_s.cr0 & kCr0Pe) || (m_s.rflags & kFlagVM)) return load_seg_real(seg, sel);
  RV_ASSERT(seg != CS);
  const u16 err = sel & 0xFFFC;
  const u8 rpl = sel & 3;
  if (seg == SS) {
    if (err == 0) {
      // 64-bit mode allows a null SS at CPL 0..2 when RPL = CPL.
      if (m_mode == CpuMode::Long64 && m_cpl != 3 && rpl == m_cpl) {
        m_s.seg[SS] = desc::null_segment(sel, m_cpl);
        return;
      }
      fault(kGP, 0);
    }
    u64 d, addr;
    if (!fetch_descriptor(*this, sel, d, &addr)) fault(kGP, err);
    if (rpl != m_cpl || !desc::is_writable_data(d) || desc::dpl(d) != m_cpl) fault(kGP, err);
    if (!desc::present(d)) fault(kSS, err);
    set_accessed(*this, addr, d);
    m_s.seg[SS] = desc::to_segment(sel, d);
    return;
  }
  if (err == 0) {
    m_s.seg[seg] = desc::null_segment(sel);   // Intel clears the base, FS/GS included
    return;
  }
  u64 d, addr;
  if (!fetch_descriptor(*this, sel, d, &addr)) fault(kGP, err);
  if (!desc::is_segment(d) || !desc::is_readable(d)) fault(kGP, err);
  if (!desc::is_conforming(d) && (rpl > desc::dpl(d) || m_cpl > desc::dpl(d))) fault(kGP, err);
  if (!desc::present(d)) fault(kNP, err);
  set_accessed(*this, addr, d);
  Segment ns = desc::to_segment(sel, d);
  if (m_mode == CpuMode::Long64 && seg >= FS) ns.base &= 0xFFFFFFFFull;
  m_s.seg[seg] = ns;
}

// Loads CS for a far transfer whose checks are done; `desc` is the raw code descriptor.
void Cpu::load_cs_for_transfer(u16 sel, u64 d, u8 new_cpl) {
  m_s.seg[CS] = desc::to_segment(static_cast<u16>((sel & 0xFFFC) | new_cpl), d | (1ull << 40));
  mode_changed();
}

// ---- stack ----

u64 Cpu::stack_width() const {
  if (m_mode == CpuMode::Long64) return 8;
  return m_s.seg[SS].db() ? 4 : 2;
}

void Cpu::push(u64 v, unsigned size) {
  u64 w = stack_width();
  u64 m = mask_of(w);
  u64 rsp = m_s.gpr[RSP];
  u64 nsp = (rsp - size) & m;
  write_mem(SS, nsp, size, v);
  m_s.gpr[RSP] = w == 2 ? (rsp & ~0xFFFFull) | nsp : nsp;
}

u64 Cpu::pop(unsigned size) {
  u64 w = stack_width();
  u64 m = mask_of(w);
  u64 rsp = m_s.gpr[RSP];
  u64 v = read_mem(SS, rsp & m, size);
  u64 nsp = (rsp + size) & m;
  m_s.gpr[RSP] = w == 2 ? (rsp & ~0xFFFFull) | nsp : nsp;
  return v;
}

// ---- mode ----

void Cpu::mode_changed() {
  if (!(m_s.cr0 & kCr0Pe)) {
    m_mode = CpuMode::Real16;
    m_cpl = 0;
  } else if (m_s.rflags & kFlagVM) {
    m_mode = CpuMode::Real16;   // V86 decodes as 16-bit code
    m_cpl = 3;
  } else {
    m_cpl = m_s.seg[SS].dpl();
    const Segment& cs = m_s.seg[CS];
    if ((m_s.efer & kEferLma) && cs.l()) m_mode = CpuMode::Long64;
    else m_mode = cs.db() ? CpuMode::Prot32 : CpuMode::Prot16;
  }
  m_ip_mask = m_mode == CpuMode::Long64 ? ~0ull : m_mode == CpuMode::Prot32 ? 0xFFFFFFFFull : 0xFFFFull;
  update_access_mode();
  abort_block();
  m_epoch++;   // block links were made under the old mode/CPL
}

}  // namespace rv
