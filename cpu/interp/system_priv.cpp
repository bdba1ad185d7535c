// System instructions, part 2: control/debug registers, MSRs, TSC, CPUID, descriptor-table
// registers (LGDT ... LTR, LAR/LSL/VERR/VERW), SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS,
// XGETBV/XSETBV. Each cites its SDM Vol.2 entry; privilege rules are checked first.
#include "cpu/descriptor.h"
#include "cpu/interp/handlers.h"
#include "memory/log.h"

namespace rv::interp {
namespace {

void require_cpl0(Cpu& c) {
  if (c.cpl() != 0) c.fault(kGP, 0);
}
void require_pmode(Cpu& c, const DecodedInsn& d) {
  if (!c.protected_mode() || c.v86()) c.fault_no_error(kUD);
  (void)d;
}
u64 mem_off(const Cpu& c, const DecodedInsn& d, u64 delta) { return (c.ea(d) + delta) & Cpu::mask_of(d.asize); }
bool lma(const Cpu& c) { return c.state().efer & kEferLma; }
void set_zf(Cpu& c, bool z) { c.set_arith_flags(z ? u64{kFlagZF} : u64{0}, kFlagZF); }

// ---- control and debug registers ----

void exec_MOV_Rd_Cd(Cpu& c, const DecodedInsn& d) {
  require_cpl0(c);
  const CpuState& s = c.state();
  u64 v;
  switch (d.reg) {
    case 0: v = s.cr0; break;
    case 2: v = s.cr2; break;
    case 3: v = s.cr3; break;
    case 4: v = s.cr4; break;
    case 8: v = s.cr8; break;
    default: c.fault_no_error(kUD);
  }
  c.write_reg(d.rm, c.long64() ? 8 : 4, false, v);
}

void exec_MOV_Cd_Rd(Cpu& c, const DecodedInsn& d) {
  if (d.reg != 0 && d.reg != 2 && d.reg != 3 && d.reg != 4 && d.reg != 8) c.fault_no_error(kUD);
  require_cpl0(c);
  u64 v = c.read_reg(d.rm, c.long64() ? 8 : 4, false);
  switch (d.reg) {
    case 0: c.set_cr0(v); break;
    case 2: c.state().cr2 = v; break;
    case 3: c.set_cr3(v); break;
    case 4: c.set_cr4(v); break;
    case 8:
      if (v & ~0xFull) c.fault(kGP, 0);
      c.state().cr8 = v;
      if (CpuPlatform* pl = c.platform()) pl->tpr_written(v);
      break;
  }
  c.end_block();
}

// DR4/DR5 alias DR6/DR7 unless CR4.DE (SDM Vol.3B §17.2.2).
// DR7.GD (general detect): any MOV DR raises a fault-class #DB first, with DR6.BD, and GD
// cleared so the handler can use the debug registers (SDM Vol.3B §17.2.4).
unsigned debug_reg(Cpu& c, const DecodedInsn& d) {
  unsigned r = d.reg;
  if (r > 7) c.fault_no_error(kUD);
  if (r == 4 || r == 5) {
    if (c.state().cr4 & kCr4De) c.fault_no_error(kUD);
    r += 2;
  }
  require_cpl0(c);
  if (c.state().dr[7] & 0x2000) {
    c.state().dr[7] &= ~0x2000ull;
    c.state().dr[6] |= 0x2000;
    c.raise_debug_fault();
  }
  return r;
}

void exec_MOV_Rd_Dd(Cpu& c, const DecodedInsn& d) {
  unsigned r = debug_reg(c, d);
  c.write_reg(d.rm, c.long64() ? 8 : 4, false, c.state().dr[r]);
}

void exec_MOV_Dd_Rd(Cpu& c, const DecodedInsn& d) {
  unsigned r = debug_reg(c, d);
  u64 v = c.read_reg(d.rm, c.long64() ? 8 : 4, false);
  if ((r == 6 || r == 7) && (v >> 32)) c.fault(kGP, 0);
  if (r == 6) v = (v & 0xE00F) | 0xFFFF0FF0;
  if (r == 7) v = (v & ~0xD800ull) | 0x400;
  c.state().dr[r] = v;
  if (r != 6) c.debug_regs_changed();
  c.end_block();
}

void exec_LMSW_Ew(Cpu& c, const DecodedInsn& d) {
  require_cpl0(c);
  u64 v = c.read_E(d, 2);
  u64 cr0 = c.state().cr0;
  c.set_cr0((cr0 & ~0xEull) | (v & 0xF) | (cr0 & kCr0Pe));   // LMSW cannot clear PE
  c.end_block();
}

void exec_SMSW_Ew(Cpu& c, const DecodedInsn& d) {
  u64 cr0 = c.state().cr0;
  if (d.mod == 3) c.write_reg(d.rm, d.osize, d.rex, cr0 & Cpu::mask_of(d.osize));
  else c.write_mem(d.seg, c.ea(d), 2, cr0 & 0xFFFF);
}

void exec_CLTS(Cpu& c, const DecodedInsn&) {
  require_cpl0(c);
  c.state().cr0 &= ~kCr0Ts;
  c.end_block();
}

void exec_INVLPG_M(Cpu& c, const DecodedInsn& d) {
  require_cpl0(c);
  u64 off = c.ea(d);
  const CpuState& s = c.state();
  u64 la = c.long64() ? off + (d.seg >= FS ? s.seg[d.seg].base : 0) : (s.seg[d.seg].base + off) & 0xFFFFFFFF;
  c.tlb_flush_page(la);
  c.end_block();
}

void exec_priv_nop(Cpu& c, const DecodedInsn&) { require_cpl0(c); }   // INVD, WBINVD

// ---- MSRs, TSC, CPUID ----

void exec_RDMSR(Cpu& c, const DecodedInsn&) {
  require_cpl0(c);
  u64 v;
  if (!c.read_msr(static_cast<u32>(c.state().gpr[RCX]), v)) c.fault(kGP, 0);
  c.state().gpr[RAX] = v & 0xFFFFFFFF;
  c.state().gpr[RDX] = v >> 32;
}

void exec_WRMSR(Cpu& c, const DecodedInsn&) {
  require_cpl0(c);
  const CpuState& s = c.state();
  u64 v = (s.gpr[RDX] << 32) | (s.gpr[RAX] & 0xFFFFFFFF);
  if (!c.write_msr(static_cast<u32>(s.gpr[RCX]), v)) c.fault(kGP, 0);
  c.end_block();
}

void exec_RDTSC(Cpu& c, const DecodedInsn&) {
  if ((c.state().cr4 & kCr4Tsd) && c.cpl() != 0 && c.protected_mode()) c.fault(kGP, 0);
  u64 t = c.tsc();
  c.state().gpr[RAX] = t & 0xFFFFFFFF;
  c.state().gpr[RDX] = t >> 32;
}

void exec_RDTSCP(Cpu& c, const DecodedInsn& d) {
  exec_RDTSC(c, d);
  c.state().gpr[RCX] = c.state().tsc_aux & 0xFFFFFFFF;
}

void exec_RDPMC(Cpu& c, const DecodedInsn&) {
  // No performance counters are advertised (CPUID leaf 0xA absent): any index is invalid.
  c.fault(kGP, 0);
}

void exec_CPUID(Cpu& c, const DecodedInsn&) {
  u32 out[4];
  CpuState& s = c.state();
  c.cpuid(static_cast<u32>(s.gpr[RAX]), static_cast<u32>(s.gpr[RCX]), out);
  s.gpr[RAX] = out[0];
  s.gpr[RBX] = out[1];
  s.gpr[RCX] = out[2];
  s.gpr[RDX] = out[3];
}

void exec_XGETBV(Cpu& c, const DecodedInsn&) {
  if (!(c.state().cr4 & kCr4Osxsave)) c.fault_no_error(kUD);
  if (static_cast<u32>(c.state().gpr[RCX]) != 0) c.fault(kGP, 0);
  c.state().gpr[RAX] = c.state().xcr0 & 0xFFFFFFFF;
  c.state().gpr[RDX] = c.state().xcr0 >> 32;
}

void exec_XSETBV(Cpu& c, const DecodedInsn&) {
  if (!(c.state().cr4 & kCr4Osxsave)) c.fault_no_error(kUD);
  require_cpl0(c);
  const CpuState& s = c.state();
  u64 v = (s.gpr[RDX] << 32) | (s.gpr[RAX] & 0xFFFFFFFF);
  if (static_cast<u32>(s.gpr[RCX]) != 0 || !(v & 1) || (v & ~3ull)) c.fault(kGP, 0);   // x87 | SSE only
  c.state().xcr0 = v;
  c.end_block();
}

// ---- descriptor-table registers ----

void exec_SGDT_SIDT(Cpu& c, const DecodedInsn& d, const DescTable& t) {
  unsigned bsz = c.long64() ? 8 : 4;
  u64 base = c.long64() ? t.base : d.osize == 2 ? t.base & 0xFFFFFF : t.base & 0xFFFFFFFF;
  c.probe_write(d.seg, c.ea(d), 2);
  c.probe_write(d.seg, mem_off(c, d, 2), bsz);
  c.write_mem(d.seg, c.ea(d), 2, t.limit & 0xFFFF);
  c.write_mem(d.seg, mem_off(c, d, 2), bsz, base);
}
void exec_SGDT_Ms(Cpu& c, const DecodedInsn& d) { exec_SGDT_SIDT(c, d, c.state().gdtr); }
void exec_SIDT_Ms(Cpu& c, const DecodedInsn& d) { exec_SGDT_SIDT(c, d, c.state().idtr); }

void exec_LGDT_LIDT(Cpu& c, const DecodedInsn& d, DescTable& t) {
  require_cpl0(c);
  u64 limit = c.read_mem(d.seg, c.ea(d), 2);
  u64 base = c.read_mem(d.seg, mem_off(c, d, 2), c.long64() ? 8 : 4);
  if (c.long64()) {
    if (!desc::canonical(base)) c.fault(kGP, 0);
  } else if (d.osize == 2) {
    base &= 0xFFFFFF;
  }
  t.base = base;
  t.limit = static_cast<u32>(limit);
  c.end_block();
}
void exec_LGDT_Ms(Cpu& c, const DecodedInsn& d) { exec_LGDT_LIDT(c, d, c.state().gdtr); }
void exec_LIDT_Ms(Cpu& c, const DecodedInsn& d) { exec_LGDT_LIDT(c, d, c.state().idtr); }

void store_selector(Cpu& c, const DecodedInsn& d, u16 sel) {
  if (d.mod == 3) c.write_reg(d.rm, d.osize, d.rex, sel);
  else c.write_mem(d.seg, c.ea(d), 2, sel);
}
void exec_SLDT_Ew(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  store_selector(c, d, c.state().ldtr.sel);
}
void exec_STR_Ew(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  store_selector(c, d, c.state().tr.sel);
}

// LLDT/LTR: GDT only; 16-byte descriptors in IA-32e mode (SDM Vol.3A §7.2.3, §3.5.2).
Segment load_system_segment(Cpu& c, u16 sel, u64& addr, u64& lo) {
  const u16 err = sel & 0xFFFC;
  u64 hi = 0;
  if ((sel & 4) || !fetch_descriptor(c, sel, lo, &addr, lma(c) ? &hi : nullptr)) c.fault(kGP, err);
  Segment s = desc::to_segment(sel, lo);
  if (lma(c)) {
    s.base |= (hi & 0xFFFFFFFF) << 32;
    if (!desc::canonical(s.base) || ((hi >> 40) & 0x1F) != 0) c.fault(kGP, err);
  }
  return s;
}

void exec_LLDT_Ew(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  require_cpl0(c);
  u16 sel = static_cast<u16>(c.read_E(d, 2));
  if ((sel & 0xFFFC) == 0) {
    c.state().ldtr = desc::null_segment(sel);
    return;
  }
  u64 addr, lo;
  Segment s = load_system_segment(c, sel, addr, lo);
  if (desc::is_segment(lo) || desc::type(lo) != desc::kLdt) c.fault(kGP, sel & 0xFFFC);
  if (!desc::present(lo)) c.fault(kNP, sel & 0xFFFC);
  c.state().ldtr = s;
}

void exec_LTR_Ew(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  require_cpl0(c);
  u16 sel = static_cast<u16>(c.read_E(d, 2));
  if ((sel & 0xFFFC) == 0) c.fault(kGP, 0);
  u64 addr, lo;
  Segment s = load_system_segment(c, sel, addr, lo);
  u8 t = desc::type(lo);
  bool ok = !desc::is_segment(lo) && (t == desc::kTss32Avail || (t == desc::kTss16Avail && !lma(c)));
  if (!ok) c.fault(kGP, sel & 0xFFFC);
  if (!desc::present(lo)) c.fault(kNP, sel & 0xFFFC);
  c.write_sys(addr + 5, 1, ((lo >> 40) & 0xFF) | 2);   // mark busy
  s.attr |= 2;
  c.state().tr = s;
}

// LAR/LSL/VERR/VERW: ZF reports whether the selector passes (SDM Vol.2 LAR, LSL, VERR/VERW).
bool visible_descriptor(Cpu& c, u16 sel, u64& dsc) {
  if ((sel & 0xFFFC) == 0 || !fetch_descriptor(c, sel, dsc)) return false;
  if (desc::is_conforming(dsc)) return true;
  return desc::dpl(dsc) >= c.cpl() && desc::dpl(dsc) >= (sel & 3);
}

template <bool Lsl>
void exec_LAR_LSL(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  u16 sel = static_cast<u16>(c.read_E(d, 2));
  u64 dsc;
  bool ok = visible_descriptor(c, sel, dsc);
  if (ok && !desc::is_segment(dsc)) {
    u8 t = desc::type(dsc);
    if (lma(c)) ok = t == desc::kLdt || t == desc::kTss32Avail || t == desc::kTss32Busy || (!Lsl && t == desc::kCallGate32);
    else ok = t == desc::kTss16Avail || t == desc::kLdt || t == desc::kTss16Busy || t == desc::kTss32Avail ||
              t == desc::kTss32Busy || (!Lsl && (t == desc::kCallGate16 || t == desc::kTaskGate || t == desc::kCallGate32));
  }
  set_zf(c, ok);
  if (!ok) return;
  u64 v = Lsl ? desc::limit(dsc) : (dsc >> 32) & 0x00F0FF00;
  c.write_G(d, d.osize, v & Cpu::mask_of(d.osize));
}

template <bool Write>
void exec_VERx(Cpu& c, const DecodedInsn& d) {
  require_pmode(c, d);
  u16 sel = static_cast<u16>(c.read_E(d, 2));
  u64 dsc;
  bool ok = visible_descriptor(c, sel, dsc) && desc::is_segment(dsc);
  if (ok) ok = Write ? desc::is_writable_data(dsc) : desc::is_readable(dsc);
  set_zf(c, ok);
}

// ---- fast system calls ----

// SYSCALL/SYSRET exist only in 64-bit mode on Intel (SDM Vol.2 SYSCALL, SYSRET).
void exec_SYSCALL(Cpu& c, const DecodedInsn&) {
  CpuState& s = c.state();
  if (!(s.efer & kEferSce) || !c.long64()) c.fault_no_error(kUD);
  u64 fl = c.rflags();
  s.gpr[RCX] = s.rip;
  s.gpr[R11] = fl & ~kFlagRF;
  u16 sel = static_cast<u16>(s.star >> 32);
  s.seg[CS] = desc::flat_segment(sel & 0xFFFC, 0xB, 0, true, false);
  s.seg[SS] = desc::flat_segment(static_cast<u16>(sel + 8), 0x3, 0, false, true);
  s.rip = s.lstar;
  c.set_rflags(fl & ~s.sfmask & ~kFlagRF);
  c.mode_changed();
}

void exec_SYSRET(Cpu& c, const DecodedInsn& d) {
  CpuState& s = c.state();
  if (!(s.efer & kEferSce) || !c.long64()) c.fault_no_error(kUD);
  require_cpl0(c);
  u16 sel = static_cast<u16>(s.star >> 48);
  if (d.osize == 8) {
    if (!desc::canonical(s.gpr[RCX])) c.fault(kGP, 0);
    s.seg[CS] = desc::flat_segment(static_cast<u16>((sel + 16) | 3), 0xB, 3, true, false);
    s.rip = s.gpr[RCX];
  } else {
    s.seg[CS] = desc::flat_segment(sel | 3, 0xB, 3, false, true);
    s.rip = s.gpr[RCX] & 0xFFFFFFFF;
  }
  s.seg[SS] = desc::flat_segment(static_cast<u16>((sel + 8) | 3), 0x3, 3, false, true);
  c.set_rflags((s.gpr[R11] & 0x3C7FD7) | kFixed1);
  c.mode_changed();
}

void exec_SYSENTER(Cpu& c, const DecodedInsn&) {
  CpuState& s = c.state();
  if (!c.protected_mode() || (s.sysenter_cs & 0xFFFC) == 0) c.fault(kGP, 0);
  const bool lm = lma(c);
  u16 sel = static_cast<u16>(s.sysenter_cs & 0xFFFC);
  c.set_rflags(c.rflags() & ~(kFlagVM | kFlagIF | kFlagRF));
  s.seg[CS] = desc::flat_segment(sel, 0xB, 0, lm, !lm);
  s.seg[SS] = desc::flat_segment(static_cast<u16>(sel + 8), 0x3, 0, false, true);
  s.gpr[RSP] = lm ? s.sysenter_esp : s.sysenter_esp & 0xFFFFFFFF;
  s.rip = lm ? s.sysenter_eip : s.sysenter_eip & 0xFFFFFFFF;
  c.mode_changed();
}

void exec_SYSEXIT(Cpu& c, const DecodedInsn& d) {
  CpuState& s = c.state();
  if (!c.protected_mode() || (s.sysenter_cs & 0xFFFC) == 0) c.fault(kGP, 0);
  require_cpl0(c);
  u16 cs = static_cast<u16>(s.sysenter_cs);
  if (d.osize == 8) {
    if (!desc::canonical(s.gpr[RCX]) || !desc::canonical(s.gpr[RDX])) c.fault(kGP, 0);
    s.seg[CS] = desc::flat_segment(static_cast<u16>((cs + 32) | 3), 0xB, 3, true, false);
    s.seg[SS] = desc::flat_segment(static_cast<u16>((cs + 40) | 3), 0x3, 3, false, true);
    s.gpr[RSP] = s.gpr[RCX];
    s.rip = s.gpr[RDX];
  } else {
    s.seg[CS] = desc::flat_segment(static_cast<u16>((cs + 16) | 3), 0xB, 3, false, true);
    s.seg[SS] = desc::flat_segment(static_cast<u16>((cs + 24) | 3), 0x3, 3, false, true);
    s.gpr[RSP] = s.gpr[RCX] & 0xFFFFFFFF;
    s.rip = s.gpr[RDX] & 0xFFFFFFFF;
  }
  c.mode_changed();
}

void exec_SWAPGS(Cpu& c, const DecodedInsn&) {
  if (!c.long64()) c.fault_no_error(kUD);
  require_cpl0(c);
  CpuState& s = c.state();
  std::swap(s.seg[GS].base, s.kernel_gs_base);
}

}  // namespace

#define RV_SET(op, fn) t[static_cast<unsigned>(OpId::op)] = fn

void register_system_priv(Table& t) {
  RV_SET(MOV_Rd_Cd, exec_MOV_Rd_Cd);
  RV_SET(MOV_Cd_Rd, exec_MOV_Cd_Rd);
  RV_SET(MOV_Rd_Dd, exec_MOV_Rd_Dd);
  RV_SET(MOV_Dd_Rd, exec_MOV_Dd_Rd);
  RV_SET(LMSW_Ew, exec_LMSW_Ew);
  RV_SET(SMSW_Ew, exec_SMSW_Ew);
  RV_SET(CLTS, exec_CLTS);
  RV_SET(INVLPG_M, exec_INVLPG_M);
  RV_SET(INVD, exec_priv_nop);
  RV_SET(WBINVD, exec_priv_nop);
  RV_SET(RDMSR, exec_RDMSR);
  RV_SET(WRMSR, exec_WRMSR);
  RV_SET(RDTSC, exec_RDTSC);
  RV_SET(RDTSCP, exec_RDTSCP);
  RV_SET(RDPMC, exec_RDPMC);
  RV_SET(CPUID, exec_CPUID);
  RV_SET(XGETBV, exec_XGETBV);
  RV_SET(XSETBV, exec_XSETBV);
  RV_SET(SGDT_Ms, exec_SGDT_Ms);
  RV_SET(SIDT_Ms, exec_SIDT_Ms);
  RV_SET(LGDT_Ms, exec_LGDT_Ms);
  RV_SET(LIDT_Ms, exec_LIDT_Ms);
  RV_SET(SLDT_Ew, exec_SLDT_Ew);
  RV_SET(STR_Ew, exec_STR_Ew);
  RV_SET(LLDT_Ew, exec_LLDT_Ew);
  RV_SET(LTR_Ew, exec_LTR_Ew);
  RV_SET(LAR_Gv_Ew, exec_LAR_LSL<false>);
  RV_SET(LSL_Gv_Ew, exec_LAR_LSL<true>);
  RV_SET(VERR_Ew, exec_VERx<false>);
  RV_SET(VERW_Ew, exec_VERx<true>);
  RV_SET(SYSCALL, exec_SYSCALL);
  RV_SET(SYSRET, exec_SYSRET);
  RV_SET(SYSENTER, exec_SYSENTER);
  RV_SET(SYSEXIT, exec_SYSEXIT);
  RV_SET(SWAPGS, exec_SWAPGS);
}

}  // namespace rv::interp
