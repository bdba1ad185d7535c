// Pic8259: the Intel 8259A programmable interrupt controller, and the PIIX ELCR.
//
// What it is: eight interrupt request inputs (IR0-7) with an interrupt request register
// (IRR), in-service register (ISR) and mask register (IMR), a priority resolver, and one INT
// output (Intel 8259A datasheet, order 231468). A PC has two, cascaded: the slave's INT
// drives the master's IR2.
// Wiring (the board's job):
//   master: ports 0x20-0x21 (offsets 0-1), INT -> the CPU's INTR (an IrqLine given here),
//           IRQ0-7 on inputs 0-7;
//   slave:  ports 0xA0-0xA1, INT -> master input 2 (IrqLine(&master, 2)), IRQ8-15 on 0-7;
//   master.attach_slave(slave, 2) so that acknowledge() (the INTA cycle) on the master
//   fetches the slave's vector;
//   Elcr:   ports 0x4D0-0x4D1 (offsets 0-1), the edge/level control registers of the PIIX
//           (Intel 82371AB PIIX4 datasheet §4.1.11 "ELCR1/ELCR2").
// Behaviour: ICW1-ICW4 initialisation, OCW1-OCW3, fully nested mode with automatic and
// specific rotation, special mask mode, poll mode, auto-EOI (with rotation), specific and
// non-specific EOI, edge or level triggering per input (ICW1 LTIM for all, or the ELCR per
// input), IRR/ISR reads through OCW3, spurious IRQ 7 (and 15 on the slave).
// Emulator choice: the cascade input on the master (ICW3 bits) follows the slave's INT as a
// level, whatever the trigger mode, so no slave request is ever lost to a missed edge.
// Not emulated: 8080/8085 mode (ICW4 bit 0 = 0: logged, treated as x86 mode), buffered
// mode (no effect on a PC), the exact timing of the INTA pulses.
#pragma once
#include "memory/io_bus.h"
#include "memory/irq_line.h"

namespace rv {

class StateVisitor;

class Pic8259 final : public PortDevice, public IrqSink {
 public:
  static constexpr u16 kMasterPort = 0x20;
  static constexpr u16 kSlavePort = 0xA0;
  static constexpr u16 kPortCount = 2;
  static constexpr u16 kElcrPort = 0x4D0;

  struct State {
    u8 irr = 0, isr = 0, imr = 0;
    u8 lines = 0;            // current level of each input
    u8 elcr = 0;             // 1 = level triggered (PIIX ELCR)
    u8 vector_base = 0;      // ICW2 & 0xF8
    u8 icw3 = 0;
    u8 init_step = 0;        // 0 = ready; 2, 3, 4 = the ICW expected next
    bool icw4_needed = false, single = false, ltim = false;
    bool auto_eoi = false, rotate_on_aeoi = false, sfnm = false;
    bool special_mask = false, read_isr = false, poll = false;
    u8 lowest_priority = 7;  // the IR with the lowest priority (7 after ICW1)
    bool int_out = false;
    bool operator==(const State&) const = default;
  };

  explicit Pic8259(IrqLine int_out) : m_int(int_out) { reset(); }

  void reset();
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;
  void set_irq(unsigned input, bool level) override;

  // The cascade: `slave`'s INT reaches our input `input`.
  void attach_slave(Pic8259& slave, unsigned input = 2) {
    m_slave = &slave;
    m_slave_input = input;
  }
  // INTA: returns the vector of the highest-priority request and marks it in service.
  // On the master this runs the slave's INTA when the request comes through the cascade.
  // With nothing to deliver it returns the spurious vector (IR7 of the chip, no ISR bit).
  u8 acknowledge();
  bool int_output() const { return m_s.int_out; }

  void set_elcr(u8 value) { m_s.elcr = value; update(); }
  u8 elcr() const { return m_s.elcr; }

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; m_int.set(m_s.int_out); }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  bool is_level(unsigned input) const;
  int priority_of(u8 mask) const;   // 0 = highest, 8 = none
  int highest(u8 mask) const;       // IR number with the highest priority in mask, or -1
  int pending_irq() const;          // the IR that INT would signal now, or -1
  void ack_irq(unsigned irq);       // sets ISR (or auto-EOI), clears an edge IRR bit
  u8 poll_read();
  void eoi(int irq, bool rotate);
  void write_command(u8 v);
  void write_data(u8 v);
  void update();

  IrqLine m_int;
  Pic8259* m_slave = nullptr;
  unsigned m_slave_input = 2;
  State m_s;
};

// ELCR1/ELCR2 at 0x4D0/0x4D1: one bit per IRQ, 1 = level triggered. IRQ0, 1, 2, 8 and 13
// must stay edge triggered (PIIX4 datasheet §4.1.11: those bits are reserved, read 0).
class Elcr final : public PortDevice {
 public:
  static constexpr u8 kMasterMask = 0xF8;
  static constexpr u8 kSlaveMask = 0xDE;
  Elcr(Pic8259& master, Pic8259& slave) : m_pic{&master, &slave} {}
  u32 io_read(u16 offset, unsigned size) override { return offset < 2 ? m_pic[offset]->elcr() : 0xFF; }
  void io_write(u16 offset, u32 value, unsigned size) override {
    if (offset < 2) m_pic[offset]->set_elcr(static_cast<u8>(value) & (offset ? kSlaveMask : kMasterMask));
  }

 private:
  Pic8259* m_pic[2];
};

}  // namespace rv
