// RtcCmos: the Motorola MC146818A real-time clock with its battery-backed CMOS RAM.
//
// What it is: a clock/calendar (seconds to year, BCD or binary, 12 or 24 hour), an alarm,
// a periodic interrupt from a 32.768 kHz divider chain, an update-ended interrupt, and
// RAM bytes 0x0E-0x7F that firmware uses for configuration (MC146818A datasheet; IBM PC/AT
// technical reference, "CMOS RAM Address Map").
// Wiring (the board's job): ports 0x70 (index; bit 7 = NMI mask) and 0x71 (data), offsets
// 0-1; IRQ8 (the IrqLine given here: slave 8259A input 0 and the IOAPIC pin 8). The board
// tells it the RAM layout with set_memory_layout() and may set other bytes with set_byte().
// nmi_masked() is the NMI mask written with the index (the board gates NMIs with it).
// Time: the clock counts from `base_unix_seconds` (wall-clock time at power-on, chosen by
// the board: fixed for deterministic runs) plus the scheduler's virtual time, never from a
// host clock. The time registers change at each second boundary (an event each virtual
// second while the clock runs); UIP (register A bit 7) reads 1 for the 244 us before the
// update cycle plus the 1984 us of the cycle (datasheet: tBUC and the update cycle time at
// 32.768 kHz), i.e. the 2228 us before the registers change.
// Behaviour: register C is cleared by reading it, which also lowers IRQ8; the periodic flag
// is set at every period of the rate in register A whether or not PIE is set (computed when
// C is read, so no event runs while PIE is clear); setting SET stops updates and clears
// UIE; time registers written while SET is 0 take effect at once; a change of DM or 24/12
// rewrites the time registers in the new format (a real chip leaves them for software).
// Not emulated: daylight saving (DSE: logged), the square-wave output, time bases other
// than 32.768 kHz (logged; the clock runs as if 32.768 kHz), the 500 ms delay after the
// divider leaves reset (the first update follows one second later).
#pragma once
#include <array>

#include "memory/io_bus.h"
#include "memory/irq_line.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class RtcCmos final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x70;
  static constexpr u16 kPortCount = 2;
  // Register indexes (datasheet "Address Map"; PC/AT CMOS map for 0x0E and up).
  enum : u8 {
    kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03, kHours = 0x04,
    kHoursAlarm = 0x05, kDayOfWeek = 0x06, kDayOfMonth = 0x07, kMonth = 0x08, kYear = 0x09,
    kRegA = 0x0A, kRegB = 0x0B, kRegC = 0x0C, kRegD = 0x0D, kCentury = 0x32,
  };
  static constexpr u8 kAUip = 0x80;
  static constexpr u8 kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBSqwe = 0x08, kBDm = 0x04,
                      kB24h = 0x02, kBDse = 0x01;
  static constexpr u8 kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
  static constexpr u8 kDVrt = 0x80;
  static constexpr Nanos kUipWindow = 244'000 + 1'984'000;

  struct State {
    std::array<u8, 128> cmos{};
    u8 index = 0;
    bool nmi_masked = false;
    i64 seconds = 0;          // the clock, Unix seconds, as of the last update
    Nanos phase_ref = 0;      // updates happen at phase_ref + k seconds
    Nanos pf_since = 0;       // periodic flag: boundaries after this time count (lazy PF)
    bool irq_level = false;
    bool operator==(const State&) const = default;
  };

  RtcCmos(Scheduler& sched, IrqLine irq8, i64 base_unix_seconds);
  void reset();   // the RESET pin: clears PIE/AIE/UIE/SQWE and the flags; keeps time and RAM
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  // Board side: the memory-size bytes (0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D) and
  // the standard checksum over 0x10-0x2D at 0x2E-0x2F.
  void set_memory_layout(u64 ram_below_4g, u64 ram_above_4g);
  void set_byte(u8 index, u8 value);
  u8 byte(u8 index) const { return m_s.cmos[index & 0x7F]; }
  bool nmi_masked() const { return m_s.nmi_masked; }
  i64 unix_time() const;   // the clock now, Unix seconds

  State save() const { return m_s; }
  void load(const State& s);
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

  // Calendar helpers (proleptic Gregorian), public for tests.
  static i64 days_from_civil(i64 y, unsigned m, unsigned d);
  static void civil_from_days(i64 days, i64& y, unsigned& m, unsigned& d);

 private:
  bool running() const;
  u8 to_reg(unsigned v) const;
  unsigned from_reg(u8 r) const;
  void fill_time_regs();
  void parse_time_regs();
  void update_tick();           // the once-a-second update cycle
  void periodic_tick();
  void schedule_update();
  void schedule_periodic();
  Nanos now() const { return m_event_time != kNever ? m_event_time : m_sched.now(); }
  u64 periodic_ticks() const;   // period in 32.768 kHz ticks, 0 = off
  void update_irq();
  u8 read_reg(u8 index);
  void write_reg(u8 index, u8 v);
  void update_checksum();

  Scheduler& m_sched;
  IrqLine m_irq;
  Scheduler::EventId m_update_event, m_periodic_event;
  Nanos m_event_time = kNever;   // inside an event callback: the time it was due
  State m_s;
};

}  // namespace rv
