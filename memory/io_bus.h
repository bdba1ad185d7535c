// The port-I/O bus: 64 Ki ports mapped to devices by range. A device sees offsets from the
// base it was mapped at. Unmapped reads return all ones (open bus), logged once per port;
// unmapped writes are dropped, logged once per port. Overlapping ranges are rejected.
#pragma once
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv {

class PortDevice {
 public:
  virtual ~PortDevice() = default;
  // size is 1, 2 or 4; offset is relative to the mapped base.
  virtual u32 io_read(u16 offset, unsigned size) = 0;
  virtual void io_write(u16 offset, u32 value, unsigned size) = 0;
};

class IoBus {
 public:
  IoBus();
  void map(u16 base, u16 count, PortDevice* dev, std::string name);
  u32 read(u16 port, unsigned size);
  void write(u16 port, u32 value, unsigned size);
  // Name of the device at `port`, or "" (for traces and error messages).
  const std::string& name_at(u16 port) const;

 private:
  struct Mapping { u16 base; u16 count; PortDevice* dev; std::string name; };
  std::vector<Mapping> m_maps;
  std::vector<i16> m_index;        // port -> mapping index, -1 unmapped
  std::vector<u8> m_warned;        // per port: open-bus access already logged
};

}  // namespace rv
