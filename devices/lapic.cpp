#include "devices/lapic.h"
#include "memory/state_visitor.h"

#include <bit>
#include <string>

#include "memory/log.h"

namespace rv {

namespace {

bool test_bit(const std::array<u32, 8>& r, u8 v) { return r[v >> 5] & (1u << (v & 31)); }
void set_bit(std::array<u32, 8>& r, u8 v) { r[v >> 5] |= 1u << (v & 31); }
void clear_bit(std::array<u32, 8>& r, u8 v) { r[v >> 5] &= ~(1u << (v & 31)); }
int highest_bit(const std::array<u32, 8>& r) {
  for (int i = 7; i >= 0; i--)
    if (r[i]) return i * 32 + 31 - std::countl_zero(r[i]);
  return -1;
}

// Writable bits of each LVT entry (SDM Figure 10-8): vector, delivery mode (not for the
// timer and error entries), polarity and trigger (LINT only), mask, timer mode.
constexpr u32 kLvtWritable[Lapic::kLvtCount] = {
    0x000600FF, 0x000107FF, 0x000107FF, 0x0001A7FF, 0x0001A7FF, 0x000100FF};

}  // namespace

Lapic::Lapic(Scheduler& sched, Config cfg, Callbacks cb) : m_sched(sched), m_cfg(cfg), m_cb(std::move(cb)) {
  m_timer_event = m_sched.register_event("lapic" + std::to_string(cfg.id) + ".timer",
                                         [this](u64, Nanos late) { on_timer(late); });
  reset_state();   // no `changed` call: the board may still be wiring itself
}

void Lapic::reset() {
  reset_state();
  notify();
}

void Lapic::reset_state() {
  u8 lint = m_s.lint;   // the input wires keep their levels
  m_s = State{};
  m_s.lint = lint;
  m_s.apic_base = kBase | kBaseEnable | (m_cfg.bsp ? kBaseBsp : 0);
  m_s.id = m_cfg.id;
  for (u32& l : m_s.lvt) l = kLvtMasked;
  if (m_cfg.bsp) {
    m_s.lvt[kLvtLint0] = u32(DeliveryMode::ExtInt) << 8;   // virtual wire (see the header)
    m_s.lvt[kLvtLint1] = u32(DeliveryMode::Nmi) << 8;
  }
  m_sched.cancel(m_timer_event);
}

bool Lapic::set_apic_base(u64 value) {
  // Bits 12-35 hold the base (36-bit physical addresses here), 8 is read only.
  constexpr u64 kWritable = 0x0000000F'FFFFF000ull | kBaseExtd | kBaseEnable;
  if (value & ~(kWritable | kBaseBsp)) return false;
  bool en = value & kBaseEnable, extd = value & kBaseExtd;
  // SDM §10.12.5 Figure 10-27: EXTD without EN is invalid; x2APIC -> xAPIC and
  // disabled -> x2APIC are invalid transitions.
  if (extd && !en) return false;
  if (x2apic() && en && !extd) return false;
  if (!enabled() && extd) return false;
  bool was_enabled = enabled(), was_x2 = x2apic();
  m_s.apic_base = (value & kWritable) | (m_s.apic_base & kBaseBsp);
  u64 base = value & 0x0000000F'FFFFF000ull;
  if (base != kBase) RV_UNIMPLEMENTED("local APIC base moved to 0x%llx", (unsigned long long)base);
  if (was_enabled && !en) {
    // Disabling puts the APIC in its power-up state (SDM §10.4.3), base register aside.
    u64 saved = m_s.apic_base;
    reset();
    m_s.apic_base = saved;
  } else if (!was_x2 && x2apic()) {
    // The logical ID becomes derived from the x2APIC ID (SDM §10.12.10.2).
    m_s.ldr = ((m_s.id >> 4) << 16) | (1u << (m_s.id & 0xF));
  }
  notify();
  return true;
}

// ---- register access ----

u64 Lapic::mmio_read(u64 offset, unsigned size) {
  if (!enabled() || x2apic()) {
    // The page is then not the APIC's: the access goes to what lies beneath, and at the
    // APIC's fixed base (0xFEE00000, in the PCI hole) nothing does: all ones, as unmapped.
    RV_UNUSUAL("local APIC MMIO read while the xAPIC interface is off (nothing beneath: all ones)");
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  }
  unsigned sub = offset & 0xF;
  if (sub + size > 4) {
    RV_UNUSUAL("local APIC: %u-byte read at offset 0x%llx (registers are 32-bit)", size,
               (unsigned long long)offset);
    if (sub >= 4) return 0;
  }
  auto v = read_reg(static_cast<u32>(offset & 0xFF0));
  if (!v) {
    record_error(kEsrIllegalRegister);
    return 0;
  }
  u64 r = u64(*v) >> (8 * sub);
  return size >= 4 ? r : r & ((1ull << (8 * size)) - 1);
}

void Lapic::mmio_write(u64 offset, u64 value, unsigned size) {
  if (!enabled() || x2apic()) {
    RV_UNUSUAL("local APIC MMIO write while the xAPIC interface is off (nothing beneath: dropped)");
    return;
  }
  if ((offset & 0xF) != 0 || size < 4) {
    RV_UNUSUAL("local APIC: %u-byte write at offset 0x%llx (dropped; registers are 32-bit)", size,
               (unsigned long long)offset);
    return;
  }
  u32 reg = static_cast<u32>(offset & 0xFF0);
  if (reg == kRegSelfIpi || !write_reg(reg, static_cast<u32>(value))) record_error(kEsrIllegalRegister);
}

std::optional<u64> Lapic::msr_read(u32 msr) {
  if (!x2apic() || msr < kMsrBase || msr > kMsrLast) return std::nullopt;
  u32 reg = (msr - kMsrBase) << 4;
  switch (reg) {
    case kRegApr: case kRegRrd: case kRegDfr: case kRegIcrHigh: case kRegEoi: case kRegSelfIpi:
      return std::nullopt;   // not in x2APIC mode, or write only (SDM Table 10-6)
    case kRegIcrLow: return (u64(m_s.icr_high) << 32) | m_s.icr_low;
  }
  auto v = read_reg(reg);
  if (!v) return std::nullopt;
  return *v;
}

bool Lapic::msr_write(u32 msr, u64 value) {
  if (!x2apic() || msr < kMsrBase || msr > kMsrLast) return false;
  u32 reg = (msr - kMsrBase) << 4;
  // Reserved bits of the 32-bit registers must be zero (SDM §10.12.1.2).
  if (reg != kRegIcrLow && (value >> 32)) return false;
  switch (reg) {
    case kRegId: case kRegLdr: case kRegApr: case kRegRrd: case kRegDfr: case kRegIcrHigh:
    case kRegCurrentCount:
      return false;
    case kRegEoi:
    case kRegEsr:
      if (value != 0) return false;
      break;
    case kRegIcrLow:
      m_s.icr_high = static_cast<u32>(value >> 32);
      m_s.icr_low = static_cast<u32>(value) & 0x000CCFFF;
      send_ipi(m_s.icr_low, m_s.icr_high);
      return true;
    case kRegSelfIpi:
      if (value & ~0xFFull) return false;
      // SDM §10.12.11: the same as an ICR write of fixed mode, edge, shorthand self.
      send_ipi((1u << 18) | static_cast<u32>(value), 0);
      return true;
  }
  return write_reg(reg, static_cast<u32>(value));
}

std::optional<u32> Lapic::read_reg(u32 reg) const {
  bool x2 = x2apic();
  if (reg >= kRegIsr && reg < kRegIsr + 0x80) return m_s.isr[(reg - kRegIsr) >> 4];
  if (reg >= kRegTmr && reg < kRegTmr + 0x80) return m_s.tmr[(reg - kRegTmr) >> 4];
  if (reg >= kRegIrr && reg < kRegIrr + 0x80) return m_s.irr[(reg - kRegIrr) >> 4];
  switch (reg) {
    case kRegId: return x2 ? m_s.id : m_s.id << 24;
    case kRegVersion: return kVersion;
    case kRegTpr: return m_s.tpr;
    case kRegApr: return 0;
    case kRegPpr: return ppr();
    case kRegEoi: return 0;
    case kRegLdr: return m_s.ldr;
    case kRegDfr: return m_s.dfr;
    case kRegSvr: return m_s.svr;
    case kRegEsr: return m_s.esr;
    case kRegIcrLow: return m_s.icr_low;
    case kRegIcrHigh: return m_s.icr_high;
    case kRegLvtTimer: case kRegLvtThermal: case kRegLvtPerf: case kRegLvtLint0: case kRegLvtLint1:
    case kRegLvtError:
      return m_s.lvt[(reg - kRegLvtTimer) >> 4];
    case kRegInitialCount: return m_s.initial_count;
    case kRegCurrentCount: return current_count();
    case kRegDivide: return m_s.divide;
  }
  return std::nullopt;   // reserved (also CMCI: this version has no CMCI entry)
}

bool Lapic::write_reg(u32 reg, u32 value) {
  bool x2 = x2apic();
  switch (reg) {
    case kRegId:
      // xAPIC: bits 31:24, writable on P6 and later (SDM §10.4.6).
      m_s.id = value >> 24;
      return true;
    case kRegTpr:
      m_s.tpr = static_cast<u8>(value);
      notify();
      return true;
    case kRegEoi: do_eoi(); return true;
    case kRegLdr: m_s.ldr = value & 0xFF000000u; return true;
    case kRegDfr: m_s.dfr = value | 0x0FFFFFFFu; return true;
    case kRegSvr: write_svr(value); return true;
    case kRegEsr:
      // A write latches the errors seen since the last write (SDM §10.5.3).
      m_s.esr = m_s.esr_pending;
      m_s.esr_pending = 0;
      return true;
    case kRegIcrLow:
      m_s.icr_low = value & 0x000CCFFF;   // delivery status (bit 12) reads idle
      send_ipi(m_s.icr_low, x2 ? m_s.icr_high : m_s.icr_high >> 24);
      return true;
    case kRegIcrHigh: m_s.icr_high = value & 0xFF000000u; return true;
    case kRegLvtTimer: case kRegLvtThermal: case kRegLvtPerf: case kRegLvtLint0: case kRegLvtLint1:
    case kRegLvtError:
      write_lvt((reg - kRegLvtTimer) >> 4, value);
      return true;
    case kRegInitialCount: write_initial_count(value); return true;
    case kRegDivide: write_divide(value); return true;
    case kRegVersion: case kRegApr: case kRegPpr: case kRegRrd: case kRegCurrentCount:
      return !x2;   // read only: xAPIC ignores the write, x2APIC raises #GP
  }
  if (reg >= kRegIsr && reg < kRegIrr + 0x80) return !x2;
  return false;
}

void Lapic::write_lvt(unsigned idx, u32 value) {
  u32 old = m_s.lvt[idx];
  u32 v = value & kLvtWritable[idx];
  if (idx == kLvtLint0 || idx == kLvtLint1) v |= old & kLvtRemoteIrr;
  if (!(m_s.svr & kSvrEnable)) v |= kLvtMasked;   // SDM §10.4.7.2: masks stay set
  m_s.lvt[idx] = v;
  if (idx == kLvtTimer) {
    TimerMode old_mode = TimerMode((old >> 17) & 3);
    if (timer_mode() == 3) RV_UNUSUAL("local APIC: reserved timer mode 3 (runs as one-shot)");
    if (old_mode != timer_mode()) timer_mode_changed(old_mode);
  }
  if (idx == kLvtLint0) notify();
}

void Lapic::write_svr(u32 value) {
  // Bits 0-7 spurious vector, 8 APIC software enable, 9 focus processor checking; bit 12
  // (EOI-broadcast suppression) is reserved in this version (kVersion bit 24 clear).
  m_s.svr = value & 0x3FF;
  if (!(m_s.svr & kSvrEnable))
    for (u32& l : m_s.lvt) l |= kLvtMasked;
  notify();
}

// ---- priorities (SDM §10.8.3) ----

u8 Lapic::ppr() const {
  int isrv = highest_bit(m_s.isr);
  u8 isr_class = isrv < 0 ? 0 : static_cast<u8>(isrv & 0xF0);
  return (m_s.tpr & 0xF0) >= isr_class ? m_s.tpr : isr_class;
}

bool Lapic::has_interrupt() const {
  if (!enabled() || !(m_s.svr & kSvrEnable)) return false;
  int v = highest_bit(m_s.irr);
  return v >= 0 && (v & 0xF0) > (ppr() & 0xF0);
}

u8 Lapic::acknowledge() {
  // An interrupt that lost its priority between has_interrupt() and the INTA cycle (a TPR
  // raise) gives the spurious vector, with no ISR change (SDM §10.9).
  if (!has_interrupt()) return static_cast<u8>(m_s.svr);
  u8 v = static_cast<u8>(highest_bit(m_s.irr));
  clear_bit(m_s.irr, v);
  set_bit(m_s.isr, v);
  notify();
  return v;
}

bool Lapic::extint_pending() const {
  bool lint0 = m_s.lint & 1;
  if (!enabled()) return lint0;   // a disabled APIC passes LINT0 through as INTR (SDM §10.4.3)
  u32 l = m_s.lvt[kLvtLint0];
  return lint0 && !(l & kLvtMasked) && DeliveryMode((l >> 8) & 7) == DeliveryMode::ExtInt;
}

void Lapic::do_eoi() {
  int v = highest_bit(m_s.isr);
  if (v < 0) return;
  clear_bit(m_s.isr, u8(v));
  if (test_bit(m_s.tmr, u8(v))) {
    // Level-triggered: broadcast to the IOAPICs (SDM §10.8.5), and release a level LINT.
    if (m_cb.eoi_broadcast) m_cb.eoi_broadcast(u8(v));
    for (unsigned i : {kLvtLint0, kLvtLint1}) {
      u32& l = m_s.lvt[i];
      if ((l & kLvtRemoteIrr) && u8(l) == v) {
        l &= ~kLvtRemoteIrr;
        set_irq(i - kLvtLint0, m_s.lint & (1u << (i - kLvtLint0)));
      }
    }
  }
  notify();
}

// ---- accepting interrupts ----

void Lapic::accept(u8 vector, bool level) {
  if (vector < 16) {
    record_error(kEsrReceiveIllegalVector);
    return;
  }
  set_bit(m_s.irr, vector);
  if (level) set_bit(m_s.tmr, vector);
  else clear_bit(m_s.tmr, vector);
  notify();
}

bool Lapic::addressed(const ApicMessage& m) const {
  bool x2 = x2apic();
  if (!m.logical) return m.dest == m_s.id || m.dest == (x2 ? 0xFFFFFFFFu : 0xFFu);
  if (x2) {
    // SDM §10.12.10.2: cluster in bits 31:16, member bitmap in 15:0.
    return m.dest == 0xFFFFFFFFu || ((m.dest >> 16) == (m_s.ldr >> 16) && (m.dest & m_s.ldr & 0xFFFF));
  }
  u8 dest = static_cast<u8>(m.dest), ldr = static_cast<u8>(m_s.ldr >> 24);
  if (dest == 0xFF) return true;
  if ((m_s.dfr >> 28) == 0xF) return dest & ldr;                      // flat model
  return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0x0F);             // cluster model
}

bool Lapic::deliver(const ApicMessage& m) {
  if (!enabled() || !addressed(m)) return false;
  switch (m.mode) {
    case DeliveryMode::Fixed:
    case DeliveryMode::LowestPriority: accept(m.vector, m.level); break;
    case DeliveryMode::Nmi: if (m_cb.nmi) m_cb.nmi(); break;
    case DeliveryMode::ExtInt:
      RV_UNIMPLEMENTED("ExtINT message from the bus (only LINT0 ExtINT is emulated)");
      break;
    case DeliveryMode::Smi: RV_UNIMPLEMENTED("SMI message (no SMM)"); break;
    case DeliveryMode::Init: RV_UNIMPLEMENTED("INIT message to a running CPU"); break;
    case DeliveryMode::StartUp: RV_UNUSUAL("SIPI to the BSP (ignored, as on hardware)"); break;
  }
  return true;
}

void Lapic::send_ipi(u32 low, u32 dest) {
  ApicMessage m;
  m.vector = static_cast<u8>(low);
  m.mode = DeliveryMode((low >> 8) & 7);
  m.logical = low & (1u << 11);
  m.level = low & (1u << 15);
  m.dest = dest;
  unsigned shorthand = (low >> 18) & 3;
  // INIT level de-assert (level trigger, level 0): a no-op since the Pentium 4.
  if (m.mode == DeliveryMode::Init && m.level && !(low & (1u << 14))) return;
  if ((m.mode == DeliveryMode::Fixed || m.mode == DeliveryMode::LowestPriority) && m.vector < 16) {
    record_error(kEsrSendIllegalVector);
    return;
  }
  m.level = false;   // IPIs are edge triggered, except INIT level de-assert (SDM §10.6.1)
  switch (shorthand) {
    case 0:
      if (!deliver(m)) RV_UNIMPLEMENTED("IPI to APIC 0x%x: no other CPU exists (--smp 1)", dest);
      break;
    case 1:
      if (m.mode != DeliveryMode::Fixed)
        RV_UNUSUAL("self IPI with delivery mode %u (invalid; sent as fixed)", unsigned(m.mode));
      accept(m.vector, false);
      break;
    case 2:
      m.logical = false;
      m.dest = x2apic() ? 0xFFFFFFFFu : 0xFFu;
      deliver(m);
      break;
    case 3: break;   // all excluding self: there is no one else
  }
}

void Lapic::local_interrupt(unsigned idx) {
  u32 l = m_s.lvt[idx];
  if (l & kLvtMasked) return;
  switch (DeliveryMode((l >> 8) & 7)) {
    case DeliveryMode::Fixed: accept(static_cast<u8>(l), false); break;
    case DeliveryMode::Nmi: if (m_cb.nmi) m_cb.nmi(); break;
    default: RV_UNIMPLEMENTED("local interrupt with delivery mode %u", unsigned((l >> 8) & 7));
  }
}

void Lapic::record_error(u32 bit) {
  bool first = !(m_s.esr_pending & bit);
  m_s.esr_pending |= bit;
  if (first) local_interrupt(kLvtError);
}

// ---- LINT0/LINT1 (SDM §10.5.1) ----

void Lapic::set_irq(unsigned input, bool level) {
  if (input > 1) return;
  u8 bit = static_cast<u8>(1u << input);
  bool rising = level && !(m_s.lint & bit);
  m_s.lint = level ? (m_s.lint | bit) : (m_s.lint & ~bit);
  if (!enabled()) {
    if (input == 1 && rising && m_cb.nmi) m_cb.nmi();   // disabled: LINT1 is the NMI pin
    notify();
    return;
  }
  u32& l = m_s.lvt[kLvtLint0 + input];
  DeliveryMode mode = DeliveryMode((l >> 8) & 7);
  if (mode == DeliveryMode::ExtInt) {
    notify();
  } else if (l & kLvtMasked) {
    return;
  } else if (mode == DeliveryMode::Fixed && (l & kLvtLevel)) {
    // Level: accepted while asserted, once until the EOI clears remote IRR.
    if (level && !(l & kLvtRemoteIrr)) {
      l |= kLvtRemoteIrr;
      accept(static_cast<u8>(l), true);
    }
  } else if (rising) {
    local_interrupt(kLvtLint0 + input);   // NMI, SMI, INIT are edge sensitive
  }
}

void Lapic::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("lapic", 1);
  v.field("apic_base", s.apic_base);
  v.field("id", s.id);
  v.field("tpr", s.tpr);
  v.field("ldr", s.ldr);
  v.field("dfr", s.dfr);
  v.field("svr", s.svr);
  v.field("isr", s.isr);
  v.field("tmr", s.tmr);
  v.field("irr", s.irr);
  v.field("esr", s.esr);
  v.field("esr_pending", s.esr_pending);
  v.field("icr_low", s.icr_low);
  v.field("icr_high", s.icr_high);
  v.field("lvt", s.lvt);
  v.field("initial_count", s.initial_count);
  v.field("divide", s.divide);
  v.field("timer_armed", s.timer_armed);
  v.field("timer_start", s.timer_start);
  v.field("start_count", s.start_count);
  v.field("tsc_deadline", s.tsc_deadline);
  v.field("lint", s.lint);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
