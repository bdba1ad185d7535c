// I8042: the keyboard controller of the PC/AT and PS/2 (Intel 8042 running IBM's firmware),
// with a PS/2 keyboard on its first port and a PS/2 mouse on its second.
//
// What it is: a microcontroller between the CPU and the keyboard/mouse links. The CPU sees
// a data port (output buffer / input buffer) and a status/command port; the controller
// keeps a command byte (IRQ enables, SYS flag, port disables, set 2 -> set 1 translation)
// and an output port whose bit 0 holds the CPU in reset and bit 1 is the A20 gate (IBM
// PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary Device Controller":
// status register, command byte, commands 20h-FFh).
// Wiring (the board's job): ports 0x60 (data) and 0x64 (status/command). As a PortDevice
// it uses offsets 0 and 4 from 0x60, but 0x61 (Port61) lies between them, so the board
// maps the two one-port views instead: io.map(0x60, 1, &kbc.data_port(), ...) and
// io.map(0x64, 1, &kbc.command_port(), ...). IRQ1
// (keyboard) and IRQ12 (mouse) are IrqLines given here. The A20 gate and the reset pulse
// go to callbacks: `on_a20(bool enabled)` and `on_reset()`.
// Behaviour: the controller answers at once (IBF always reads 0); a byte reaches the output
// buffer as soon as it is empty, controller answers first, then the keyboard, then the
// mouse; reading the data port clears OBF and lowers the IRQ, and the next byte raises it
// again (a fresh edge for the edge-triggered 8259A). At reset the state is what a PC BIOS
// leaves: command byte 0x47 (both IRQs, SYS, translation), A20 open, self-test passed, so
// a guest booted directly (without firmware) finds a working controller.
// Not emulated: the controller password (0xA4 says none is installed; 0xA5/0xA6 logged),
// the diagnostic dump 0xAC, input port polling 0xC1/0xC2, parity and timeout errors.
#pragma once
#include <array>
#include <functional>
#include <vector>

#include "devices/ps2_keyboard.h"
#include "devices/ps2_mouse.h"
#include "memory/io_bus.h"
#include "memory/irq_line.h"

namespace rv {

class StateVisitor;

class I8042 final : public PortDevice {
 public:
  static constexpr u16 kPort = 0x60;
  static constexpr u16 kDataOffset = 0, kStatusOffset = 4;
  // Status register bits.
  static constexpr u8 kStOutFull = 0x01, kStInFull = 0x02, kStSys = 0x04, kStCmd = 0x08, kStUnlocked = 0x10,
                      kStAuxData = 0x20, kStTimeout = 0x40, kStParity = 0x80;
  // Command byte bits.
  static constexpr u8 kCbKbdInt = 0x01, kCbAuxInt = 0x02, kCbSys = 0x04, kCbKbdDisable = 0x10,
                      kCbAuxDisable = 0x20, kCbXlate = 0x40;
  // Output port bits.
  static constexpr u8 kOpResetN = 0x01, kOpA20 = 0x02, kOpKbdFull = 0x10, kOpAuxFull = 0x20;
  static constexpr u8 kResetCommandByte = kCbKbdInt | kCbAuxInt | kCbSys | kCbXlate;
  static constexpr u8 kResetOutputPort = 0xCF;   // not in reset, A20 open, clock/data high

  using A20Fn = std::function<void(bool enabled)>;
  using ResetFn = std::function<void()>;

  struct Reply {
    u8 byte = 0;
    bool aux = false;
    bool operator==(const Reply&) const = default;
  };
  struct State {
    std::array<u8, 32> ram{};    // internal RAM; byte 0 is the command byte
    u8 output_port = kResetOutputPort;
    u8 status = kStSys | kStUnlocked;   // only SYS, CMD (A2) and the error bits are kept here
    u8 out = 0;                  // the output buffer
    bool out_full = false, out_aux = false;
    u8 pending = 0;              // controller command waiting for its data byte
    bool xlat_break = false;     // translation: 0xF0 seen, the next code gets bit 7
    std::vector<Reply> replies;  // controller answers and 0xD2/0xD3 bytes
    bool irq1 = false, irq12 = false;
    Ps2Keyboard::State kbd;
    Ps2Mouse::State mouse;
    bool operator==(const State&) const = default;
  };

  I8042(IrqLine irq1, IrqLine irq12, A20Fn on_a20, ResetFn on_reset);
  void reset();
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  // Host side: a key (scan code set 2 code, 0xE0xx extended) and mouse motion/buttons.
  void key_event(u16 set2_code, bool pressed);
  void mouse_event(i32 dx, i32 dy, i32 dz, u8 buttons);

  PortDevice& data_port() { return m_data_view; }
  PortDevice& command_port() { return m_command_view; }
  Ps2Keyboard& keyboard() { return m_kbd; }
  Ps2Mouse& mouse() { return m_mouse; }
  u8 command_byte() const { return m_s.ram[0]; }
  bool a20() const { return m_s.output_port & kOpA20; }

  State save() const;
  void load(const State& s);
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  // Controller answers queue behind the output buffer; a guest that issues commands without
  // reading the answers would grow the queue without bound, so it holds kMaxReplies (more are
  // dropped, as the real controller's single output buffer would lose them).
  static constexpr size_t kMaxReplies = 16;
  void reply(u8 byte, bool aux = false) {
    if (m_s.replies.size() < kMaxReplies) m_s.replies.push_back({byte, aux});
  }
  void controller_command(u8 cmd);
  void controller_data(u8 cmd, u8 v);
  void write_output_port(u8 v);
  void pump();          // fills an empty output buffer
  void update_irqs();

  // A one-port view of the controller at a fixed offset (0 = data, 4 = status/command).
  class View final : public PortDevice {
   public:
    View(I8042& c, u16 offset) : m_c(c), m_offset(offset) {}
    u32 io_read(u16, unsigned size) override { return m_c.io_read(m_offset, size); }
    void io_write(u16, u32 value, unsigned size) override { m_c.io_write(m_offset, value, size); }

   private:
    I8042& m_c;
    u16 m_offset;
  };

  View m_data_view{*this, kDataOffset}, m_command_view{*this, kStatusOffset};
  IrqLine m_irq1, m_irq12;
  A20Fn m_on_a20;
  ResetFn m_on_reset;
  Ps2Keyboard m_kbd;
  Ps2Mouse m_mouse;
  State m_s;
};

}  // namespace rv
