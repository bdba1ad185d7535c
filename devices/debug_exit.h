// DebugExit: QEMU's isa-debug-exit device, a way for a guest to end the emulator with a
// status of its choosing.
//
// What it is: a write-only port with no real-hardware counterpart. A write of V ends the
// run with host exit status (V << 1) | 1, so a guest can never produce 0 (QEMU's
// definition: status 1 means "guest wrote 0").
// Wiring: the board maps it at port 0xF4, 4 ports wide (QEMU's
// `-device isa-debug-exit,iobase=0xf4,iosize=0x04`, which our test ROMs and the shared
// benchmark assume). The stop request goes to the callback given at construction; the
// device knows nothing about the CPU or the run loop.
// Behaviour: any write to any of its ports, of any width, requests the stop with the value
// as written; the host's exit() keeps the low 8 bits of the status, as with QEMU. Reads
// return 0 (as QEMU's device does). A second write before the board has stopped replaces
// the first.
// Not emulated: nothing else exists.
#pragma once
#include <functional>
#include <optional>

#include "memory/io_bus.h"

namespace rv {

class DebugExit final : public PortDevice {
 public:
  static constexpr u16 kPort = 0xF4;
  static constexpr u16 kPortCount = 4;
  using StopFn = std::function<void(u32 status)>;

  explicit DebugExit(StopFn on_stop) : m_on_stop(std::move(on_stop)) {}
  void reset() { m_status.reset(); }
  u32 io_read(u16 offset, unsigned size) override { return 0; }
  void io_write(u16 offset, u32 value, unsigned size) override;

  // The status requested by the last write, if any since reset().
  std::optional<u32> exit_status() const { return m_status; }

 private:
  StopFn m_on_stop;
  std::optional<u32> m_status;
};

}  // namespace rv
