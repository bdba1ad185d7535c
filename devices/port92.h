// Port92: "System Control Port A" (PS/2 and every PC chipset since), the fast A20 gate and
// fast CPU reset.
//
// What it is: one register at I/O port 0x92 (Intel 82371AB PIIX4 datasheet §4.1.10 "Port
// 92h"; Intel ICH datasheets "Reset Control / Port 92"). Bit 0 (INIT_NOW): writing a 1
// after it read as 0 resets the CPU. Bit 1 (ALT_A20_GATE): 1 lets address line 20 through.
// Other bits are kept as written (bit 3 is a chipset password lock we do not act on).
// Wiring: the board maps it at port 0x92; the reset request and the A20 gate level go to the
// callbacks given at construction (the board resets the CPU between run slices, and tells the
// CPU to mask address line 20). On a PC the gate is the OR of this bit and the i8042's output
// port bit; the board combines them.
#pragma once
#include <functional>

#include "memory/io_bus.h"

namespace rv {

class StateVisitor;

class Port92 final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x92;
  static constexpr u8 kInitNow = 1u << 0;
  static constexpr u8 kA20 = 1u << 1;
  using ResetFn = std::function<void()>;
  using A20Fn = std::function<void(bool open)>;

  Port92(ResetFn on_reset, A20Fn on_a20 = {}) : m_on_reset(std::move(on_reset)), m_on_a20(std::move(on_a20)) {}
  // A20 open at power-on (the reset value on current chipsets; QEMU does the same).
  void reset() { m_value = kA20; }
  bool a20() const { return m_value & kA20; }
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  ResetFn m_on_reset;
  A20Fn m_on_a20;
  u8 m_value = kA20;
};

}  // namespace rv
