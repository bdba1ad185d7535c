#include "devices/debugcon.h"

namespace rv {

// Mapped one port wide, so the IoBus splits wider accesses and size is always 1 here.
u32 DebugCon::io_read(u16 offset, unsigned size) { return kReadback; }

void DebugCon::io_write(u16 offset, u32 value, unsigned size) { m_out.put(static_cast<u8>(value)); }

}  // namespace rv
