// Ps2Mouse: an IBM PS/2 mouse with the Microsoft IntelliMouse extensions.
//
// What it is: the auxiliary device of the PS/2 link. It answers the host commands (reset
// 0xAA 0x00, set scaling, resolution, sample rate, status request, stream/remote/wrap
// modes, read data, device ID, enable/disable reporting, defaults, resend) and reports
// movement as 3-byte packets (IBM PS/2 Mouse Technical Reference, "Commands" and "Data
// Report"). The IntelliMouse "knock" (sample rates 200, 100, 80) turns it into a wheel
// mouse (ID 3, 4-byte packets with Z); then 200, 200, 80 into an IntelliMouse Explorer (ID
// 4: Z in bits 0-3, buttons 4 and 5 in bits 4-5 of byte 4).
// Wiring: owned by I8042; the host side calls move() with relative motion in PS/2
// convention (+x right, +y up; dz as byte 4 carries it, positive = wheel turned towards
// the user) and the absolute button state (bit 0 left, 1 right, 2 middle, 3 button 4,
// 4 button 5).
// Behaviour: in stream mode with reporting enabled, each move() sends one packet
// (movement beyond -256..255 sets the overflow bit and is lost, as on hardware). 2:1
// scaling applies in stream mode only. Motion accumulates while no packet can be sent and
// is read with 0xEB in remote mode.
// Not emulated: the sample rate as a time limit (the host decides when motion arrives).
#pragma once
#include <array>
#include <vector>

#include "memory/types.h"

namespace rv {

class StateVisitor;

class Ps2Mouse {
 public:
  static constexpr unsigned kQueueSize = 64;
  static constexpr u8 kAck = 0xFA, kResend = 0xFE, kBatOk = 0xAA;

  struct State {
    std::vector<u8> queue;
    u8 pending_cmd = 0;        // 0xE8 or 0xF3 waiting for its parameter
    bool remote = false, wrap = false, reporting = false, scaling21 = false;
    u8 resolution = 2;         // 4 counts/mm
    u8 sample_rate = 100;
    u8 id = 0;
    std::array<u8, 3> rates{}; // the last three sample rates set (the knock)
    i32 dx = 0, dy = 0, dz = 0;
    u8 buttons = 0;
    u8 last_sent = 0;
    bool operator==(const State&) const = default;
  };

  void reset() { m_s = State{}; }
  void write(u8 byte);
  bool has_data() const { return !m_s.queue.empty(); }
  u8 pop();
  void move(i32 dx, i32 dy, i32 dz, u8 buttons);
  u8 id() const { return m_s.id; }
  bool reporting() const { return m_s.reporting; }

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  void send(u8 byte);
  void send_packet(bool stream);
  void set_defaults();
  void command(u8 byte);
  unsigned packet_size() const { return m_s.id >= 3 ? 4 : 3; }

  State m_s;
};

}  // namespace rv
