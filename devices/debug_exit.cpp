#include "devices/debug_exit.h"

namespace rv {

void DebugExit::io_write(u16 offset, u32 value, unsigned size) {
  m_status = (value << 1) | 1;
  if (m_on_stop) m_on_stop(*m_status);
}

}  // namespace rv
