// Lapic: the local APIC of one x86 CPU (Intel SDM Vol.3A ch.10 "Advanced Programmable
// Interrupt Controller (APIC)"; ch.11 in recent editions), as a device that knows nothing
// about the CPU core.
//
// What it is: the CPU's interrupt controller. It accepts interrupt messages (from the IOAPIC,
// its own ICR, its local vector table), keeps them in IRR/ISR/TMR (256 bits each), decides by
// priority (TPR, PPR) which one the core takes next, and has a timer with one-shot, periodic
// and TSC-deadline modes. Registers are reached through a 4 KiB MMIO page (xAPIC mode,
// offsets below; SDM Table 10-1) or through MSRs 0x800 + (offset >> 4) (x2APIC mode, SDM
// §10.12.1.2 Table 10-6), selected by IA32_APIC_BASE (SDM §10.4.4, §10.12.1).
// Version 0x14 with six LVT entries (timer, thermal, performance counters, LINT0, LINT1,
// error): a Pentium 4 / Xeon-class APIC without CMCI and without EOI-broadcast suppression.
// Wiring (the board's job):
//   MMIO window at 0xFEE00000 (this device sees offsets; map it while IA32_APIC_BASE says so);
//   the CPU's RDMSR/WRMSR of IA32_APIC_BASE go to apic_base()/set_apic_base(), of
//   IA32_TSC_DEADLINE to tsc_deadline()/set_tsc_deadline(), of 0x800-0x8FF to
//   msr_read()/msr_write() (an empty optional / false means #GP);
//   IOAPIC messages go to deliver(); at an instruction boundary with IF=1 the core asks
//   has_interrupt() and takes acknowledge()'s vector; with extint_pending() it runs the
//   8259A's INTA instead (LINT0 in ExtINT mode: the PIC's INT output drives input 0 of this
//   IrqSink, NMI sources drive LINT1 = input 1);
//   callbacks: nmi (to the core), eoi_broadcast(vector) (to Ioapic::eoi), changed (the
//   interrupt outputs may have changed: re-evaluate the core's INTR), tsc_to_ns (the
//   scheduler time at which the TSC reaches a value: how the TSC-deadline timer is timed).
// Time: the timer counts at timer_hz / divide (timer_hz is the "bus clock", a constructor
// parameter); its count is computed from the scheduler's time, and its only event is the
// next expiry. The event is scheduler state: load() does not reschedule it.
// Reset: as SDM §10.4.7.1 except LINT0 = ExtINT and LINT1 = NMI, unmasked, on the BSP: the
// virtual-wire setup a PC BIOS leaves (MP spec 1.4 §3.6.2.2), which direct kernel boots
// rely on to get 8259A interrupts before they program the APIC.
// Emulator choices: as in the IOAPIC, LINT inputs carry "asserted" (the polarity bit is
// stored only). Interrupts accepted while the APIC is software-disabled are held in IRR and
// delivered once it is enabled. Delivery status always reads idle.
// Not emulated: other CPUs (--smp 1): an IPI to another APIC ID is logged as unimplemented
// and dropped, "all excluding self" reaches nobody; INIT, SMI and SIPI to this CPU are
// logged; relocating the APIC base (stored and read back; the board keeps the window at
// 0xFEE00000); the lowest-priority arbitration (one CPU always wins); APR reads 0.
#pragma once
#include <array>
#include <functional>
#include <optional>

#include "devices/apic_message.h"
#include "memory/irq_line.h"
#include "memory/phys_memory.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class Lapic final : public MmioDevice, public IrqSink {
 public:
  static constexpr u64 kBase = 0xFEE00000;
  static constexpr u64 kSize = 0x1000;
  static constexpr u32 kVersion = 0x00050014;   // version 0x14, max LVT entry 5
  // IA32_APIC_BASE bits (SDM §10.4.4, §10.12.1).
  static constexpr u64 kBaseBsp = 1ull << 8, kBaseExtd = 1ull << 10, kBaseEnable = 1ull << 11;
  // Register offsets in the MMIO page (SDM Table 10-1); MSR = 0x800 + (offset >> 4).
  enum Reg : u32 {
    kRegId = 0x020, kRegVersion = 0x030, kRegTpr = 0x080, kRegApr = 0x090, kRegPpr = 0x0A0,
    kRegEoi = 0x0B0, kRegRrd = 0x0C0, kRegLdr = 0x0D0, kRegDfr = 0x0E0, kRegSvr = 0x0F0,
    kRegIsr = 0x100, kRegTmr = 0x180, kRegIrr = 0x200, kRegEsr = 0x280, kRegCmci = 0x2F0,
    kRegIcrLow = 0x300, kRegIcrHigh = 0x310, kRegLvtTimer = 0x320, kRegLvtThermal = 0x330,
    kRegLvtPerf = 0x340, kRegLvtLint0 = 0x350, kRegLvtLint1 = 0x360, kRegLvtError = 0x370,
    kRegInitialCount = 0x380, kRegCurrentCount = 0x390, kRegDivide = 0x3E0, kRegSelfIpi = 0x3F0,
  };
  static constexpr u32 kMsrBase = 0x800, kMsrLast = 0x8FF;
  enum Lvt : unsigned { kLvtTimer, kLvtThermal, kLvtPerf, kLvtLint0, kLvtLint1, kLvtError, kLvtCount };
  static constexpr u32 kLvtMasked = 1u << 16;
  static constexpr u32 kLvtLevel = 1u << 15, kLvtRemoteIrr = 1u << 14;
  static constexpr u32 kSvrEnable = 1u << 8;
  // LVT timer mode, bits 18:17 (SDM §10.5.4).
  enum TimerMode : u32 { kOneShot = 0, kPeriodic = 1, kTscDeadline = 2 };
  // ESR bits (SDM §10.5.3).
  static constexpr u32 kEsrSendIllegalVector = 1u << 5, kEsrReceiveIllegalVector = 1u << 6;
  static constexpr u32 kEsrIllegalRegister = 1u << 7;

  struct Config {
    u32 id = 0;
    bool bsp = true;
    u64 timer_hz = 1'000'000'000;   // the APIC timer's input clock, before the divider
  };
  struct Callbacks {
    std::function<void()> nmi;
    std::function<void(u8 vector)> eoi_broadcast;
    std::function<void()> changed;
    std::function<Nanos(u64 tsc)> tsc_to_ns;
  };

  struct State {
    u64 apic_base = 0;
    u32 id = 0;
    u8 tpr = 0;
    u32 ldr = 0, dfr = 0xFFFFFFFF, svr = 0xFF;
    std::array<u32, 8> isr{}, tmr{}, irr{};
    u32 esr = 0, esr_pending = 0;
    u32 icr_low = 0, icr_high = 0;
    std::array<u32, kLvtCount> lvt{};
    u32 initial_count = 0;
    u8 divide = 0;                  // divide configuration register, bits 0, 1, 3
    bool timer_armed = false;       // one-shot/periodic count running
    Nanos timer_start = 0;          // the time at which the count was start_count
    u32 start_count = 0;
    u64 tsc_deadline = 0;
    u8 lint = 0;                    // LINT0/LINT1 input levels
    bool operator==(const State&) const = default;
  };

  Lapic(Scheduler& sched, Config cfg, Callbacks cb);

  void reset();
  u64 mmio_read(u64 offset, unsigned size) override;
  void mmio_write(u64 offset, u64 value, unsigned size) override;
  void set_irq(unsigned input, bool level) override;   // 0 = LINT0, 1 = LINT1

  // IA32_APIC_BASE; set_apic_base() returns false (#GP) for an invalid mode transition.
  u64 apic_base() const { return m_s.apic_base; }
  bool set_apic_base(u64 value);
  bool enabled() const { return m_s.apic_base & kBaseEnable; }
  bool x2apic() const { return enabled() && (m_s.apic_base & kBaseExtd); }
  // x2APIC MSRs 0x800-0x8FF; nullopt / false = #GP (also for every MSR outside x2APIC mode).
  std::optional<u64> msr_read(u32 msr);
  bool msr_write(u32 msr, u64 value);
  // IA32_TSC_DEADLINE (MSR 0x6E0): reads 0 and ignores writes outside TSC-deadline mode.
  u64 tsc_deadline() const;
  void set_tsc_deadline(u64 tsc);
  // The guest changed the TSC: recompute when the armed deadline falls.
  void tsc_changed();

  // An interrupt message from the bus (IOAPIC, another APIC). Returns false if this APIC
  // is not among its destinations.
  bool deliver(const ApicMessage& m);
  // Puts `vector` in IRR (TMR = level). Vectors 0-15 are illegal (ESR bit 6).
  void accept(u8 vector, bool level);

  bool has_interrupt() const;     // IRR holds a vector whose class is above PPR's
  u8 acknowledge();               // IRR -> ISR; the spurious vector if nothing qualifies
  bool extint_pending() const;    // LINT0 passes the 8259A's INT through (ExtINT)
  u8 ppr() const;

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  // lapic.cpp
  void reset_state();
  std::optional<u32> read_reg(u32 offset) const;
  bool write_reg(u32 offset, u32 value);   // false: illegal or read-only register
  void write_lvt(unsigned idx, u32 value);
  void write_svr(u32 value);
  void do_eoi();
  void send_ipi(u32 low, u32 dest);
  void local_interrupt(unsigned lvt_idx);
  void record_error(u32 bit);
  bool addressed(const ApicMessage& m) const;
  void notify() { if (m_cb.changed) m_cb.changed(); }
  // lapic_timer.cpp
  TimerMode timer_mode() const { return TimerMode((m_s.lvt[kLvtTimer] >> 17) & 3); }
  unsigned divisor() const;
  Nanos ns_for_ticks(u64 ticks) const;
  u32 current_count() const;
  void start_count(u32 count);
  void write_initial_count(u32 value);
  void write_divide(u32 value);
  void timer_mode_changed(TimerMode old_mode);
  void on_timer(Nanos late);

  Scheduler& m_sched;
  Config m_cfg;
  Callbacks m_cb;
  Scheduler::EventId m_timer_event;
  State m_s;
};

}  // namespace rv
