// Hpet: the IA-PC High Precision Event Timer (Intel/Microsoft "IA-PC HPET Specification"
// rev 1.0a, 2004), one block with a 64-bit main counter and three comparators.
//
// What it is: a free-running up counter (here 100 MHz: period 10 ns = 10^7 fs) and three
// timers, each with a comparator that interrupts when the counter reaches it, one-shot or
// periodic, edge or level triggered, 64-bit or in 32-bit mode. Registers (spec §2.3, 1 KiB
// of MMIO): 0x000 capabilities/ID, 0x010 general configuration (ENABLE_CNF, LEG_RT_CNF),
// 0x020 general interrupt status (write 1 to clear), 0x0F0 main counter, and per timer N at
// 0x100 + 0x20*N: configuration/capabilities, +0x08 comparator, +0x10 FSB route.
// Wiring (the board's job): MMIO window at 0xFED00000 (the HPET ACPI table says where);
// `gsi[i]` reaches IOAPIC pin i (IrqLine(&ioapic, i)) for the per-timer routing field;
// in legacy replacement mode timer 0 drives `legacy_irq0` (connect it to the 8259A IRQ0
// and IOAPIC pin 2) and timer 1 `legacy_irq8` (8259A IRQ8, IOAPIC pin 8), and the 8254's
// and RTC's interrupts must be cut off: the board does that in on_legacy(bool) (spec
// §2.3.9.1, Table 2).
// Time: the counter is computed from the scheduler's time while ENABLE_CNF is set and
// frozen while it is clear; each timer has one event, its next comparator match.
// Behaviour: in periodic mode a comparator write sets the period, and also the comparator
// when Tn_VAL_SET_CNF is set (or in one-shot mode); Tn_VAL_SET_CNF clears itself after the
// write (the sequence Linux uses). After a periodic match the comparator advances by the
// period, past the counter if service was late. Level-triggered timers set their status bit
// on a match (also with Tn_INT_ENB_CNF clear, spec §2.3.6) and hold the line while it is
// set; edge-triggered timers pulse it and leave status alone.
// Not emulated: FSB (MSI) delivery (Tn_FSB_INT_DEL_CAP = 0), the 32-bit counter option
// (COUNT_SIZE_CAP = 1, all timers 64-bit capable).
#pragma once
#include <array>
#include <functional>

#include "memory/irq_line.h"
#include "memory/phys_memory.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class Hpet final : public MmioDevice {
 public:
  static constexpr u64 kBase = 0xFED00000;
  static constexpr u64 kSize = 0x400;
  static constexpr unsigned kTimers = 3;
  static constexpr u64 kPeriodFs = 10'000'000;              // 10 ns per counter tick
  static constexpr Nanos kNsPerTick = kPeriodFs / 1'000'000;
  static constexpr u32 kRouteCap = 0x00FF0104;              // IOAPIC pins 2, 8, 16-23
  // Registers (spec §2.3.1).
  static constexpr u64 kRegCap = 0x000, kRegConfig = 0x010, kRegStatus = 0x020, kRegCounter = 0x0F0;
  static constexpr u64 kRegTimer0 = 0x100, kTimerStride = 0x20;
  static constexpr u64 kCapabilities = (kPeriodFs << 32) | (0x8086ull << 16) | (1ull << 15) |
                                       (1ull << 13) | ((kTimers - 1ull) << 8) | 0x01;
  // General configuration bits (spec §2.3.5).
  static constexpr u64 kEnable = 1ull << 0, kLegacy = 1ull << 1;
  // Timer configuration bits (spec §2.3.8).
  static constexpr u64 kTnLevel = 1ull << 1, kTnIntEnable = 1ull << 2, kTnPeriodic = 1ull << 3,
                       kTnPeriodicCap = 1ull << 4, kTnSize64Cap = 1ull << 5, kTnValSet = 1ull << 6,
                       kTn32Bit = 1ull << 8, kTnRouteShift = 9, kTnRouteMask = 0x1Full << 9;
  static constexpr u64 kTnWritable = kTnLevel | kTnIntEnable | kTnPeriodic | kTnValSet | kTn32Bit | kTnRouteMask;

  struct Lines {
    std::array<IrqLine, 24> gsi{};
    IrqLine legacy_irq0, legacy_irq8;
  };
  using LegacyFn = std::function<void(bool legacy_on)>;

  struct Timer {
    u64 config = 0;       // writable bits only; capabilities are added on read
    u64 comparator = ~0ull;
    u64 period = 0;
    bool operator==(const Timer&) const = default;
  };
  struct State {
    u64 config = 0;
    u64 status = 0;
    u64 counter_base = 0;     // the counter at time base_ns (the frozen value when halted)
    Nanos base_ns = 0;
    std::array<Timer, kTimers> timers{};
    bool operator==(const State&) const = default;
  };

  Hpet(Scheduler& sched, Lines lines, LegacyFn on_legacy = {});

  void reset();
  u64 mmio_read(u64 offset, unsigned size) override;
  void mmio_write(u64 offset, u64 value, unsigned size) override;

  u64 counter() const;
  bool legacy_replacement() const { return m_s.config & kLegacy; }

  State save() const { return m_s; }
  // Restores registers and drives the lines to match; the match events are scheduler state.
  void load(const State& s);
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  u64 read64(u64 reg) const;
  void write64(u64 reg, u64 value, u64 mask);
  void write_timer(unsigned n, u64 reg, u64 value, u64 mask);
  bool is32(unsigned n) const { return m_s.timers[n].config & kTn32Bit; }
  Nanos time_of(u64 count) const { return m_s.base_ns + (count - m_s.counter_base) * kNsPerTick; }
  void schedule(unsigned n);
  void on_match(unsigned n);
  IrqLine* line_for(unsigned n);
  void drive(unsigned n);   // level mode: makes the line follow status & enables

  Scheduler& m_sched;
  Lines m_lines;
  LegacyFn m_on_legacy;
  std::array<Scheduler::EventId, kTimers> m_events{};
  std::array<IrqLine*, kTimers> m_raised{};   // the line a level timer holds high, if any
  State m_s;
};

}  // namespace rv
