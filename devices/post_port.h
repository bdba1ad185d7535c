// PostPort: the POST diagnostic port 0x80.
//
// What it is: on a real PC, writes to port 0x80 go to the LPC/ISA bus where a POST card
// may show them on a 7-segment display; firmware writes its progress codes there and
// Linux writes to it as a short I/O delay (outb_p).
// Wiring: the board maps it at port 0x80, one port.
// Behaviour: remembers the last byte written (last_code(), for debugging and tests);
// reads return it, as on chipsets that latch the port.
// Not emulated: there is no display; codes are not logged (Linux writes here constantly).
#pragma once
#include "memory/io_bus.h"
#include "memory/state_visitor.h"

namespace rv {

class PostPort final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x80;

  void reset() { m_last = 0; }
  u32 io_read(u16 offset, unsigned size) override { return m_last; }
  void io_write(u16 offset, u32 value, unsigned size) override { m_last = static_cast<u8>(value); }
  u8 last_code() const { return m_last; }
  void visit(StateVisitor& v) {
    v.begin("post", 1);
    v.field("last", m_last);
    v.end();
  }

 private:
  u8 m_last = 0;
};

}  // namespace rv
