#include "memory/io_bus.h"

#include <stdexcept>

#include "memory/log.h"

namespace rv {

IoBus::IoBus() : m_index(65536, -1), m_warned(65536, 0) {}

void IoBus::map(u16 base, u16 count, PortDevice* dev, std::string name) {
  if (count == 0 || u32(base) + count > 65536) throw std::invalid_argument("port range for '" + name + "' is invalid");
  for (u32 p = base; p < u32(base) + count; p++)
    if (m_index[p] >= 0)
      throw std::invalid_argument("ports of '" + name + "' overlap '" + m_maps[m_index[p]].name + "'");
  m_maps.push_back({base, count, dev, std::move(name)});
  for (u32 p = base; p < u32(base) + count; p++) m_index[p] = static_cast<i16>(m_maps.size() - 1);
}

const std::string& IoBus::name_at(u16 port) const {
  static const std::string kNone;
  return m_index[port] >= 0 ? m_maps[m_index[port]].name : kNone;
}

u32 IoBus::read(u16 port, unsigned size) {
  i16 idx = m_index[port];
  if (idx >= 0) {
    const Mapping& m = m_maps[idx];
    if (u32(port) + size <= u32(m.base) + m.count) return m.dev->io_read(static_cast<u16>(port - m.base), size);
    // Access straddles the device's range: split into bytes.
    u32 v = 0;
    for (unsigned i = 0; i < size; i++) v |= read(static_cast<u16>(port + i), 1) << (8 * i);
    return v;
  }
  if (!m_warned[port]) {
    m_warned[port] = 1;
    // Not RV_UNUSUAL: that logs once per call site, and this is once per port.
    log_gap(GapKind::Unusual, "IoBus::read", "read from unmapped port 0x%04x (returns all ones; logged once per port)", port);
  }
  return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

void IoBus::write(u16 port, u32 value, unsigned size) {
  i16 idx = m_index[port];
  if (idx >= 0) {
    const Mapping& m = m_maps[idx];
    if (u32(port) + size <= u32(m.base) + m.count) return m.dev->io_write(static_cast<u16>(port - m.base), value, size);
    for (unsigned i = 0; i < size; i++) write(static_cast<u16>(port + i), (value >> (8 * i)) & 0xFF, 1);
    return;
  }
  if (!m_warned[port]) {
    m_warned[port] = 1;
    log_gap(GapKind::Unusual, "IoBus::write", "write of 0x%x to unmapped port 0x%04x (dropped; logged once per port)", value, port);
  }
}

}  // namespace rv
