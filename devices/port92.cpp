#include "devices/port92.h"


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

}  // namespace rv
