#include "devices/ps2_keyboard.h"
#include "memory/state_visitor.h"

#include "memory/log.h"

namespace rv {

namespace {
// The 8042 translation table, set 2 code -> set 1 code (IBM PS/2 Hardware Interface
// Technical Reference, keyboard controller: "Scan Code Translation"). Codes 0x88-0xFF
// translate to themselves, which keeps the keyboard's responses (0xFA, 0xAA, 0xEE, 0xFE)
// intact; 0x83 (F7) and 0x84 (Alt+SysRq) are the two non-identity entries above 0x7F.
constexpr u8 kTranslate[0x88] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
    0x80, 0x81, 0x82, 0x41, 0x54, 0x85, 0x86, 0x87,
};
}  // namespace

u8 Ps2Keyboard::translate(u8 set2) { return set2 < sizeof kTranslate ? kTranslate[set2] : set2; }

void Ps2Keyboard::send(u8 byte) {
  if (m_s.queue.size() < kQueueSize) m_s.queue.push_back(byte);
  m_s.last_sent = byte;
}

u8 Ps2Keyboard::pop() {
  if (m_s.queue.empty()) return 0;
  u8 b = m_s.queue.front();
  m_s.queue.erase(m_s.queue.begin());
  return b;
}

void Ps2Keyboard::set_defaults() {
  m_s.scancode_set = 2;
  m_s.typematic = 0x2B;
  m_s.leds = 0;
}

void Ps2Keyboard::write(u8 byte) {
  // A parameter byte; a byte with bit 7 set is a new command instead (every valid
  // parameter of ED, F0 and F3 is below 0x80).
  if (m_s.pending_cmd && byte < 0x80) {
    u8 cmd = m_s.pending_cmd;
    m_s.pending_cmd = 0;
    switch (cmd) {
      case 0xED:   // set/reset mode indicators: bit 0 scroll, 1 num, 2 caps lock
        m_s.leds = byte & 7;
        send(kAck);
        break;
      case 0xF0:   // select alternate scan codes: 0 reports the current set
        if (byte == 0) {
          send(kAck);
          send(m_s.scancode_set);
        } else if (byte <= 3) {
          if (byte == 3) RV_UNIMPLEMENTED("PS/2 keyboard scan code set 3; set 2 codes are sent");
          m_s.scancode_set = byte;
          send(kAck);
        } else {
          send(kResend);
        }
        break;
      default:     // 0xF3 set typematic rate/delay
        m_s.typematic = byte;
        send(kAck);
        break;
    }
    return;
  }
  m_s.pending_cmd = 0;
  command(byte);
}

void Ps2Keyboard::command(u8 byte) {
  switch (byte) {
    case 0xED:
    case 0xF0:
    case 0xF3:
      m_s.pending_cmd = byte;
      send(kAck);
      break;
    case 0xEE: send(kEcho); break;   // echo: answered with 0xEE, no acknowledge
    case 0xF2:                        // read ID: MF II keyboard
      send(kAck);
      send(0xAB);
      send(0x83);
      break;
    case 0xF4:                        // enable: clears the output buffer, starts scanning
      m_s.queue.clear();
      m_s.scanning = true;
      send(kAck);
      break;
    case 0xF5:                        // default disable
      m_s.queue.clear();
      set_defaults();
      m_s.scanning = false;
      send(kAck);
      break;
    case 0xF6:                        // set default, keep scanning
      m_s.queue.clear();
      set_defaults();
      m_s.scanning = true;
      send(kAck);
      break;
    case 0xF7: case 0xF8: case 0xF9: case 0xFA: case 0xFB: case 0xFC: case 0xFD:
      RV_UNIMPLEMENTED("PS/2 keyboard set 3 key type command 0x%02X; acknowledged", byte);
      send(kAck);
      break;
    case 0xFE: {                      // resend the last byte
      u8 last = m_s.last_sent;
      send(last);
      break;
    }
    case 0xFF:                        // reset: acknowledge, then the basic assurance test
      m_s.queue.clear();
      set_defaults();
      m_s.scanning = true;
      send(kAck);
      send(kBatOk);
      break;
    default:
      send(kResend);                  // invalid command
      break;
  }
}

void Ps2Keyboard::key_event(u16 set2_code, bool pressed) {
  if (!m_s.scanning) return;
  bool extended = (set2_code >> 8) == 0xE0;
  u8 code = static_cast<u8>(set2_code);
  u8 bytes[3];
  unsigned n = 0;
  if (extended) bytes[n++] = 0xE0;
  if (m_s.scancode_set == 1) {
    bytes[n++] = static_cast<u8>(translate(code) | (pressed ? 0 : 0x80));
  } else {
    if (!pressed) bytes[n++] = 0xF0;
    bytes[n++] = code;
  }
  if (m_s.queue.size() + n > kQueueSize - 1) {
    // Buffer overrun: one overrun code takes the place of the lost keys.
    u8 overrun = m_s.scancode_set == 1 ? 0xFF : 0x00;
    if (m_s.queue.size() < kQueueSize && (m_s.queue.empty() || m_s.queue.back() != overrun))
      m_s.queue.push_back(overrun);
    return;
  }
  for (unsigned i = 0; i < n; i++) send(bytes[i]);
}

void Ps2Keyboard::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("ps2_keyboard", 1);
  v.bytes("queue", s.queue, kQueueSize);
  v.field("pending_cmd", s.pending_cmd);
  v.field("scancode_set", s.scancode_set);
  v.check(s.scancode_set >= 1 && s.scancode_set <= 3, "scancode_set", "is not 1, 2 or 3");
  v.field("leds", s.leds);
  v.field("typematic", s.typematic);
  v.field("scanning", s.scanning);
  v.field("last_sent", s.last_sent);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
