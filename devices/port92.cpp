#include "devices/port92.h"

#include "memory/log.h"

namespace rv {

// Mapped one port wide, so the IoBus splits wider accesses and size is always 1 here.
u32 Port92::io_read(u16 offset, unsigned size) { return m_value; }

void Port92::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  bool reset_edge = (v & kInitNow) && !(m_value & kInitNow);
  if (!(v & kA20)) RV_UNIMPLEMENTED("A20 masking: the guest closed the A20 gate at port 0x92; it stays open");
  m_value = static_cast<u8>(v | kA20);
  if (reset_edge && m_on_reset) {
    m_value &= static_cast<u8>(~kInitNow);   // the chipset clears INIT_NOW with the reset
    m_on_reset();
  }
}

}  // namespace rv
