#include "devices/port92.h"

#include "memory/state_visitor.h"


namespace rv {

// Mapped one port wide, so the IoBus splits wider accesses and size is always 1 here.
u32 Port92::io_read(u16 offset, unsigned size) { return m_value; }

void Port92::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  bool reset_edge = (v & kInitNow) && !(m_value & kInitNow);
  bool a20_changed = (v ^ m_value) & kA20;
  m_value = v;
  if (a20_changed && m_on_a20) m_on_a20(v & kA20);
  if (reset_edge && m_on_reset) {
    m_value &= static_cast<u8>(~kInitNow);   // the chipset clears INIT_NOW with the reset
    m_on_reset();
  }
}

// The A20 line is re-derived by the board after a load (Pc::set_a20_gate).
void Port92::visit(StateVisitor& v) {
  v.begin("port92", 1);
  v.field("value", m_value);
  v.end();
}

}  // namespace rv
