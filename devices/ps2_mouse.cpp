#include "devices/ps2_mouse.h"
#include "memory/state_visitor.h"

#include <algorithm>

namespace rv {

namespace {
// 2:1 scaling (PS/2 mouse technical reference, "Scaling"): 1->1, 2->1, 3->3, 4->6, 5->9,
// and 2n above 5, sign kept.
i32 scale21(i32 v) {
  static constexpr i32 kSmall[6] = {0, 1, 1, 3, 6, 9};
  i32 a = v < 0 ? -v : v;
  i32 r = a < 6 ? kSmall[a] : 2 * a;
  return v < 0 ? -r : r;
}
}  // namespace

void Ps2Mouse::send(u8 byte) {
  if (m_s.queue.size() < kQueueSize) m_s.queue.push_back(byte);
  m_s.last_sent = byte;
}

u8 Ps2Mouse::pop() {
  if (m_s.queue.empty()) return 0;
  u8 b = m_s.queue.front();
  m_s.queue.erase(m_s.queue.begin());
  return b;
}

void Ps2Mouse::set_defaults() {
  m_s.sample_rate = 100;
  m_s.resolution = 2;
  m_s.scaling21 = false;
  m_s.reporting = false;
  m_s.remote = false;
  m_s.dx = m_s.dy = m_s.dz = 0;
}

// Data report (technical reference, "Data Report"): byte 1 = Y overflow, X overflow,
// Y sign, X sign, 1, middle, right, left; bytes 2 and 3 = X and Y (9-bit two's complement
// with the sign bits of byte 1).
void Ps2Mouse::send_packet(bool stream) {
  i32 dx = m_s.dx, dy = m_s.dy;
  if (stream && m_s.scaling21) {
    dx = scale21(dx);
    dy = scale21(dy);
  }
  bool ox = dx < -256 || dx > 255, oy = dy < -256 || dy > 255;
  dx = std::clamp(dx, -256, 255);
  dy = std::clamp(dy, -256, 255);
  send(static_cast<u8>((m_s.buttons & 7) | 0x08 | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0) | (ox ? 0x40 : 0) |
                       (oy ? 0x80 : 0)));
  send(static_cast<u8>(dx));
  send(static_cast<u8>(dy));
  i32 dz = std::clamp(m_s.dz, -8, 7);
  if (m_s.id == 3) send(static_cast<u8>(dz));
  if (m_s.id == 4)
    send(static_cast<u8>((dz & 0x0F) | ((m_s.buttons & 0x08) ? 0x10 : 0) | ((m_s.buttons & 0x10) ? 0x20 : 0)));
  m_s.dx = m_s.dy = m_s.dz = 0;
}

void Ps2Mouse::move(i32 dx, i32 dy, i32 dz, u8 buttons) {
  m_s.dx = std::clamp(m_s.dx + dx, -4096, 4095);
  m_s.dy = std::clamp(m_s.dy + dy, -4096, 4095);
  m_s.dz = std::clamp(m_s.dz + dz, -128, 127);
  m_s.buttons = buttons & 0x1F;
  if (!m_s.remote && m_s.reporting && !m_s.wrap && m_s.queue.size() + packet_size() <= kQueueSize)
    send_packet(true);
}

void Ps2Mouse::write(u8 byte) {
  // Wrap (echo) mode: everything but "reset wrap mode" and "reset" comes straight back.
  if (m_s.wrap && byte != 0xEC && byte != 0xFF) {
    send(byte);
    return;
  }
  if (m_s.pending_cmd) {
    u8 cmd = m_s.pending_cmd;
    m_s.pending_cmd = 0;
    if (cmd == 0xE8) {
      if (byte > 3) {
        send(kResend);
        return;
      }
      m_s.resolution = byte;
    } else {
      m_s.sample_rate = byte;
      m_s.rates = {m_s.rates[1], m_s.rates[2], byte};
      // The IntelliMouse knocks (Microsoft, "Wheel mouse and IntelliMouse Explorer").
      if (m_s.rates == std::array<u8, 3>{200, 100, 80} && m_s.id == 0) m_s.id = 3;
      else if (m_s.rates == std::array<u8, 3>{200, 200, 80} && m_s.id == 3) m_s.id = 4;
    }
    send(kAck);
    return;
  }
  command(byte);
}

void Ps2Mouse::command(u8 byte) {
  switch (byte) {
    case 0xE6: m_s.scaling21 = false; send(kAck); break;
    case 0xE7: m_s.scaling21 = true; send(kAck); break;
    case 0xE8:
    case 0xF3:
      m_s.pending_cmd = byte;
      send(kAck);
      break;
    case 0xE9: {   // status request: mode, enable, scaling, L, M, R; resolution; rate
      u8 b = m_s.buttons;
      send(kAck);
      send(static_cast<u8>((m_s.remote ? 0x40 : 0) | (m_s.reporting ? 0x20 : 0) | (m_s.scaling21 ? 0x10 : 0) |
                           ((b & 1) ? 0x04 : 0) | ((b & 4) ? 0x02 : 0) | ((b & 2) ? 0x01 : 0)));
      send(m_s.resolution);
      send(m_s.sample_rate);
      break;
    }
    case 0xEA:   // set stream mode
      m_s.remote = false;
      m_s.dx = m_s.dy = m_s.dz = 0;
      send(kAck);
      break;
    case 0xEB:   // read data (one packet, as in remote mode)
      send(kAck);
      send_packet(false);
      break;
    case 0xEC: m_s.wrap = false; send(kAck); break;
    case 0xEE:
      m_s.wrap = true;
      m_s.dx = m_s.dy = m_s.dz = 0;
      send(kAck);
      break;
    case 0xF0:   // set remote mode
      m_s.remote = true;
      m_s.dx = m_s.dy = m_s.dz = 0;
      send(kAck);
      break;
    case 0xF2: send(kAck); send(m_s.id); break;
    case 0xF4: m_s.reporting = true; m_s.dx = m_s.dy = m_s.dz = 0; send(kAck); break;
    case 0xF5: m_s.reporting = false; m_s.dx = m_s.dy = m_s.dz = 0; send(kAck); break;
    case 0xF6: set_defaults(); send(kAck); break;
    case 0xFE: {
      u8 last = m_s.last_sent;
      send(last);
      break;
    }
    case 0xFF:   // reset: acknowledge, self-test passed, ID 0; back to a plain mouse
      m_s.queue.clear();
      set_defaults();
      m_s.wrap = false;
      m_s.id = 0;
      m_s.rates = {};
      send(kAck);
      send(kBatOk);
      send(0x00);
      break;
    default: send(kResend); break;
  }
}

void Ps2Mouse::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("ps2_mouse", 1);
  v.bytes("queue", s.queue, kQueueSize);
  v.field("pending_cmd", s.pending_cmd);
  v.field("remote", s.remote);
  v.field("wrap", s.wrap);
  v.field("reporting", s.reporting);
  v.field("scaling21", s.scaling21);
  v.field("resolution", s.resolution);
  v.field("sample_rate", s.sample_rate);
  v.field("id", s.id);
  v.field("rates", s.rates);
  v.field("dx", s.dx);
  v.field("dy", s.dy);
  v.field("dz", s.dz);
  v.field("buttons", s.buttons);
  v.field("last_sent", s.last_sent);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
