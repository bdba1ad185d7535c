// Port92: "System Control Port A" (PS/2 and every PC chipset since), the fast A20 gate and
// fast CPU reset.
//
// What it is: one register at I/O port 0x92 (Intel 82371AB PIIX4 datasheet §4.1.10 "Port
// 92h"; Intel ICH datasheets "Reset Control / Port 92"). Bit 0 (INIT_NOW): writing a 1
// after it read as 0 resets the CPU. Bit 1 (ALT_A20_GATE): 1 lets address line 20 through.
// Other bits are kept as written (bit 3 is a chipset password lock we do not act on).
// Wiring: the board maps it at port 0x92; the reset request goes to the callback given at
// construction (the board resets the CPU between run slices).
// Not emulated: A20 masking. The A20 gate is always open: a guest that closes it gets an
// "unimplemented" log line and keeps seeing A20 enabled when it reads the port back, so a
// guest that checks the gate sees the truth. (Only pre-386 DOS software relies on the
// 1 MiB wraparound.)
#pragma once
#include <functional>

#include "memory/io_bus.h"

namespace rv {

class Port92 final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x92;
  static constexpr u8 kInitNow = 1u << 0;
  static constexpr u8 kA20 = 1u << 1;
  using ResetFn = std::function<void()>;

  explicit Port92(ResetFn on_reset) : m_on_reset(std::move(on_reset)) {}
  void reset() { m_value = kA20; }   // A20 open at power-on (the BIOS would open it anyway)
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

 private:
  ResetFn m_on_reset;
  u8 m_value = kA20;
};

}  // namespace rv
