// DebugCon: the Bochs/QEMU "port 0xE9 hack" debug console.
//
// What it is: a write-only console with no real-hardware counterpart. Firmware and test
// ROMs write bytes to one I/O port and the emulator shows them (QEMU: -debugcon, device
// isa-debugcon; Bochs: port_e9_hack).
// Wiring: the board maps it at port 0xE9 (one port); its output goes to the CharSink given
// at construction (stdout, a file, or nothing).
// Behaviour: a write sends the low byte of the value to the sink (wider writes send only
// their low byte, as QEMU does). A read returns 0xE9, the value QEMU and Bochs read back so
// that software (SeaBIOS, for one) can detect the console.
// Not emulated: nothing else exists.
#pragma once
#include "devices/char_sink.h"
#include "memory/io_bus.h"

namespace rv {

class DebugCon final : public PortDevice {
 public:
  static constexpr u16 kPort = 0xE9;
  static constexpr u8 kReadback = 0xE9;

  explicit DebugCon(CharSink& out) : m_out(out) {}
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

 private:
  CharSink& m_out;
};

}  // namespace rv
