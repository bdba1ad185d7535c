// Pit8254: the Intel 8254 programmable interval timer, and port 0x61 (NMI status and
// control) which holds channel 2's gate and the speaker data bit.
//
// What it is: three 16-bit down counters clocked at 1.193182 MHz, each with six modes, BCD
// or binary counting, LSB/MSB/both read and write formats, the counter latch and read-back
// commands (Intel 8254 datasheet, order 231164).
// Wiring (the board's job): ports 0x40-0x43 (offsets 0-3); OUT0 drives IRQ0 (the IrqLine
// given here: connect it to the master 8259A input 0 and the IOAPIC pin 2). Channel 0 and 1
// gates are tied high; channel 2's gate is port 0x61 bit 0 (class Port61, mapped at 0x61,
// one port). Channel 1 (DRAM refresh on old PCs) has no output connected.
// Timing: the counters are computed from the scheduler's time (count at time t = f(t) with
// t in 1.193182 MHz ticks since power-on, so they agree with the other time sources); the
// only event is channel 0's next OUT transition. Channel 1 and 2 outputs are computed when
// read.
// Simplifications: in modes 2 and 3 a count written while counting takes effect at the end
// of the current period (the datasheet loads mode 3's at the end of the half-cycle); in
// mode 3 an odd count gives (N+1)/2 high and (N-1)/2 low clocks with the count read back
// stepping by two. Count 1 in modes 2 and 3 (illegal per the datasheet) gives a constant
// output. The speaker makes no sound.
#pragma once
#include <array>

#include "memory/io_bus.h"
#include "memory/irq_line.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class Pit8254 final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x40;
  static constexpr u16 kPortCount = 4;
  static constexpr u64 kClockHz = 1'193'182;

  struct Channel {
    u8 mode = 0, rw = 3;
    bool bcd = false;
    u16 cr = 0;                  // count register as written
    bool write_msb_next = false, read_msb_next = false;
    bool count_latched = false, latch_msb_next = false;
    u16 latch = 0;
    bool status_latched = false;
    u8 status = 0;
    bool gate = true;
    bool armed = false;          // a count was written since the control word
    bool triggered = false;      // modes 1 and 5: a gate edge started the count
    bool running = false;        // the counting element is being clocked
    u32 n = 0;                   // the count in use, 1..65536 (binary)
    u64 start_tick = 0;          // tick at which the elapsed count was elapsed_base
    u64 elapsed_base = 0;
    u64 load_tick = ~0ull;       // when CR reached the counting element (null count before)
    bool has_next = false;       // modes 2 and 3: a new count waiting for the reload
    u32 next_n = 0;
    u64 next_tick = 0;
    bool operator==(const Channel&) const = default;
  };
  struct State {
    std::array<Channel, 3> ch{};
    bool irq_level = false;      // OUT0 as last driven on IRQ0
    bool operator==(const State&) const = default;
  };

  Pit8254(Scheduler& sched, IrqLine irq0);
  void reset();
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  void set_gate(unsigned channel, bool level);
  bool gate(unsigned channel) const { return m_s.ch[channel].gate; }
  bool out(unsigned channel);          // OUTn now
  u16 count(unsigned channel);         // the counting element now (binary or BCD as programmed)

  State save() const { return m_s; }
  void load(const State& s);     // with the clock at the state's time: reschedules OUT0
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h); a
                                 // machine's load leaves OUT0's event to the scheduler's

 private:
  u64 tick_now() const;
  static Nanos ns_of_tick(u64 tick);
  u32 decode(const Channel& c) const;
  void normalize(Channel& c, u64 t);
  u64 elapsed(const Channel& c, u64 t) const;
  bool out_at(const Channel& c, u64 t) const;
  u32 ce_at(const Channel& c, u64 t) const;      // binary counting element value
  u64 next_change(const Channel& c, u64 t) const;
  void load_count(Channel& c, u64 t);
  void write_control(u8 v);
  u8 status_of(unsigned channel, u64 t);
  u16 reported_count(const Channel& c, u64 t) const;
  void refresh_irq();                  // drives IRQ0 and schedules channel 0's next change

  Scheduler& m_sched;
  IrqLine m_irq;
  Scheduler::EventId m_event;
  Nanos m_event_time = kNever;   // inside the event callback: the time it was due
  State m_s;
};

// Port 0x61, "NMI Status and Control" (Intel 82371AB PIIX4 datasheet §4.1.13; IBM PC/AT
// technical reference, port B). Bit 0: timer 2 gate (rw); bit 1: speaker data (rw); bits 2
// and 3: IOCHK/PCI SERR enables (rw, no effect here); bit 4: refresh cycle toggle (ro, flips
// every 15.085 us of virtual time, which BIOS delay loops count); bit 5: OUT2 (ro); bits 6
// and 7: IOCHK and SERR status (ro, always 0: no such errors are emulated).
class Port61 final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x61;
  static constexpr Nanos kRefreshPeriod = 15'085;
  Port61(Pit8254& pit, Scheduler& sched) : m_pit(pit), m_sched(sched) {}
  void reset() { m_value = 0; m_pit.set_gate(2, false); }
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;
  bool speaker_on() const { return (m_value & 3) == 3; }

  struct State {
    u8 value = 0;
    bool operator==(const State&) const = default;
  };
  State save() const { return {m_value}; }
  void load(const State& s) { m_value = s.value; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  Pit8254& m_pit;
  Scheduler& m_sched;
  u8 m_value = 0;
};

}  // namespace rv
