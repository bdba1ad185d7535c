#include "devices/i8042.h"
#include "memory/state_visitor.h"

#include "memory/log.h"

namespace rv {

I8042::I8042(IrqLine irq1, IrqLine irq12, A20Fn on_a20, ResetFn on_reset)
    : m_irq1(irq1), m_irq12(irq12), m_on_a20(std::move(on_a20)), m_on_reset(std::move(on_reset)) {
  reset();
}

void I8042::reset() {
  m_s = State{};
  m_s.ram[0] = kResetCommandByte;
  m_kbd.reset();
  m_mouse.reset();
  m_irq1.set(false);
  m_irq12.set(false);
}

void I8042::update_irqs() {
  bool irq1 = m_s.out_full && !m_s.out_aux && (m_s.ram[0] & kCbKbdInt);
  bool irq12 = m_s.out_full && m_s.out_aux && (m_s.ram[0] & kCbAuxInt);
  if (irq1 != m_s.irq1) {
    m_s.irq1 = irq1;
    m_irq1.set(irq1);
  }
  if (irq12 != m_s.irq12) {
    m_s.irq12 = irq12;
    m_irq12.set(irq12);
  }
}

void I8042::pump() {
  if (!m_s.out_full) {
    u8 cb = m_s.ram[0];
    if (!m_s.replies.empty()) {
      Reply r = m_s.replies.front();
      m_s.replies.erase(m_s.replies.begin());
      m_s.out = r.byte;
      m_s.out_aux = r.aux;
      m_s.out_full = true;
    } else if (!(cb & kCbKbdDisable) && m_kbd.has_data()) {
      u8 b = m_kbd.pop();
      bool deliver = true;
      if (cb & kCbXlate) {
        // Translation: the break prefix F0 is swallowed and sets bit 7 of the next code.
        if (b == 0xF0) {
          m_s.xlat_break = true;
          deliver = m_kbd.has_data();
          if (deliver) b = m_kbd.pop();
        }
        if (deliver) {
          b = static_cast<u8>(Ps2Keyboard::translate(b) | (m_s.xlat_break ? 0x80 : 0));
          m_s.xlat_break = false;
        }
      }
      if (deliver) {
        m_s.out = b;
        m_s.out_aux = false;
        m_s.out_full = true;
      }
    } else if (!(cb & kCbAuxDisable) && m_mouse.has_data()) {
      m_s.out = m_mouse.pop();
      m_s.out_aux = true;
      m_s.out_full = true;
    }
  }
  update_irqs();
}

u32 I8042::io_read(u16 offset, unsigned size) {
  if (offset == kDataOffset) {
    u8 v = m_s.out;   // an empty buffer reads its last byte again
    if (m_s.out_full) {
      m_s.out_full = false;
      update_irqs();   // lower first, so a following byte gives a new edge
      pump();
    }
    return v;
  }
  if (offset == kStatusOffset) {
    u8 v = static_cast<u8>((m_s.status & (kStCmd | kStTimeout | kStParity)) | kStUnlocked |
                           ((m_s.ram[0] & kCbSys) ? kStSys : 0) | (m_s.out_full ? kStOutFull : 0) |
                           (m_s.out_full && m_s.out_aux ? kStAuxData : 0));
    return v;
  }
  return 0xFF;
}

void I8042::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  if (offset == kStatusOffset) {
    m_s.status |= kStCmd;
    m_s.pending = 0;   // a new command abandons one waiting for data
    controller_command(v);
  } else if (offset == kDataOffset) {
    m_s.status &= static_cast<u8>(~kStCmd);
    if (m_s.pending) {
      u8 cmd = m_s.pending;
      m_s.pending = 0;
      controller_data(cmd, v);
    } else {
      m_kbd.write(v);
    }
  } else {
    return;
  }
  pump();
}

void I8042::controller_command(u8 cmd) {
  if (cmd >= 0x20 && cmd <= 0x3F) {   // read internal RAM (0x20: the command byte)
    reply(m_s.ram[cmd & 0x1F]);
    return;
  }
  if ((cmd >= 0x60 && cmd <= 0x7F) || (cmd >= 0xD1 && cmd <= 0xD4)) {   // commands with data
    m_s.pending = cmd;
    return;
  }
  if (cmd >= 0xF0) {
    // Pulse output port bits 0-3 low where the command's low nibble is 0; bit 0 low is the
    // CPU reset (0xFE: how Linux's "reboot=k" and many BIOSes reset the machine).
    if (!(cmd & 1) && m_on_reset) m_on_reset();
    return;
  }
  switch (cmd) {
    case 0xA4: reply(0xF1); break;   // password not installed
    case 0xA7: m_s.ram[0] |= kCbAuxDisable; break;
    case 0xA8: m_s.ram[0] &= static_cast<u8>(~kCbAuxDisable); break;
    case 0xA9: reply(0x00); break;   // auxiliary interface test: no error
    case 0xAA:                        // self-test: 0x55, sets the system flag
      m_s.ram[0] |= kCbSys;
      reply(0x55);
      break;
    case 0xAB: reply(0x00); break;   // keyboard interface test: no error
    case 0xAD: m_s.ram[0] |= kCbKbdDisable; break;
    case 0xAE: m_s.ram[0] &= static_cast<u8>(~kCbKbdDisable); break;
    case 0xC0: reply(0xB0); break;   // input port: not inhibited, no jumper, 512K, colour
    case 0xD0: {                      // read output port (bits 4/5 mirror the buffer)
      u8 op = m_s.output_port & static_cast<u8>(~(kOpKbdFull | kOpAuxFull));
      if (m_s.out_full) op |= m_s.out_aux ? kOpAuxFull : kOpKbdFull;
      reply(op);
      break;
    }
    case 0xDD: write_output_port(m_s.output_port & static_cast<u8>(~kOpA20)); break;   // HP: A20 off
    case 0xDF: write_output_port(m_s.output_port | kOpA20); break;                    // HP: A20 on
    case 0xE0: reply(0x00); break;   // test inputs: clock and data low
    default: RV_UNIMPLEMENTED("i8042 controller command 0x%02X; ignored", cmd); break;
  }
}

void I8042::controller_data(u8 cmd, u8 v) {
  if (cmd >= 0x60 && cmd <= 0x7F) {
    m_s.ram[cmd & 0x1F] = v;
    if (!(m_s.ram[0] & kCbXlate)) m_s.xlat_break = false;
    return;
  }
  switch (cmd) {
    case 0xD1: write_output_port(v); break;
    case 0xD2: reply(v, false); break;   // as if from the keyboard
    case 0xD3: reply(v, true); break;    // as if from the mouse
    default: m_mouse.write(v); break;    // 0xD4: to the mouse
  }
}

void I8042::write_output_port(u8 v) {
  bool a20_changed = (m_s.output_port ^ v) & kOpA20;
  m_s.output_port = static_cast<u8>(v | kOpResetN);   // the reset, if any, completes at once
  if (a20_changed && m_on_a20) m_on_a20(v & kOpA20);
  if (!(v & kOpResetN) && m_on_reset) m_on_reset();
}

void I8042::key_event(u16 set2_code, bool pressed) {
  m_kbd.key_event(set2_code, pressed);
  pump();
}

void I8042::mouse_event(i32 dx, i32 dy, i32 dz, u8 buttons) {
  m_mouse.move(dx, dy, dz, buttons);
  pump();
}

I8042::State I8042::save() const {
  State s = m_s;
  s.kbd = m_kbd.save();
  s.mouse = m_mouse.save();
  return s;
}

void I8042::load(const State& s) {
  m_s = s;
  m_kbd.load(s.kbd);
  m_mouse.load(s.mouse);
  m_irq1.set(m_s.irq1);
  m_irq12.set(m_s.irq12);
}

void I8042::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("i8042", 1);
  v.field("ram", s.ram);
  v.field("output_port", s.output_port);
  v.field("status", s.status);
  v.field("out", s.out);
  v.field("out_full", s.out_full);
  v.field("out_aux", s.out_aux);
  v.field("pending", s.pending);
  v.field("xlat_break", s.xlat_break);
  // The answers as byte pairs (byte, aux).
  std::vector<u8> replies;
  for (const Reply& r : s.replies) {
    replies.push_back(r.byte);
    replies.push_back(r.aux);
  }
  v.bytes("replies", replies, 2 * kMaxReplies);
  v.check(replies.size() % 2 == 0, "replies", "has an odd length");
  if (v.loading()) {
    s.replies.clear();
    for (size_t i = 0; i + 1 < replies.size(); i += 2) {
      v.check(replies[i + 1] <= 1, "replies", "has an aux flag that is not 0 or 1");
      s.replies.push_back({replies[i], replies[i + 1] != 0});
    }
  }
  v.field("irq1", s.irq1);
  v.field("irq12", s.irq12);
  m_kbd.visit(v);
  m_mouse.visit(v);
  v.end();
  if (v.loading()) {
    s.kbd = m_kbd.save();
    s.mouse = m_mouse.save();
    load(s);
  }
}

}  // namespace rv
