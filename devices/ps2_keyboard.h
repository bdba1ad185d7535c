// Ps2Keyboard: an IBM PS/2 (MF II) keyboard as seen by the i8042 controller.
//
// What it is: the keyboard end of the PS/2 link: it answers the host commands (reset with
// self-test 0xAA, set LEDs, echo, identify 0xAB 0x83, scancode set, typematic rate,
// enable/disable, defaults, resend) and sends make/break codes for key presses (IBM
// Keyboard and Auxiliary Device Controller / Keyboard technical references, "Commands
// (System to Keyboard)" and "Scan Code Tables").
// Wiring: owned by I8042, which moves its bytes to the output buffer and translates them to
// set 1 when the controller's command byte asks for it. The host side calls key_event()
// with a scan code set 2 code; 0xE0xx is an extended key (E0-prefixed).
// Behaviour: sets 1 and 2 (set 1 codes are the 8042 translation of the set 2 codes, which
// is what IBM's set 1 table is); the queue holds 32 bytes and a full queue gives the
// overrun code (0x00 in set 2, 0xFF in set 1).
// Not emulated: scan code set 3 (accepted, logged, codes stay set 2), typematic repeat (the
// host repeats keys itself), Pause and Print Screen's special sequences (send them as
// separate codes), the timing of the link.
#pragma once
#include <vector>

#include "memory/types.h"

namespace rv {

class StateVisitor;

class Ps2Keyboard {
 public:
  static constexpr unsigned kQueueSize = 32;
  static constexpr u8 kAck = 0xFA, kResend = 0xFE, kBatOk = 0xAA, kEcho = 0xEE;

  struct State {
    std::vector<u8> queue;
    u8 pending_cmd = 0;        // 0xED, 0xF0 or 0xF3 waiting for its parameter; 0 = none
    u8 scancode_set = 2;
    u8 leds = 0;
    u8 typematic = 0x2B;       // 10.9 characters/s, 500 ms (the power-on default)
    bool scanning = true;
    u8 last_sent = 0;
    bool operator==(const State&) const = default;
  };

  void reset() { m_s = State{}; }
  void write(u8 byte);                      // a byte from the controller
  bool has_data() const { return !m_s.queue.empty(); }
  u8 pop();
  void key_event(u16 set2_code, bool pressed);
  u8 leds() const { return m_s.leds; }
  u8 scancode_set() const { return m_s.scancode_set; }
  bool scanning() const { return m_s.scanning; }

  // The 8042's set 2 -> set 1 translation of one byte (0xF0 is handled by the caller).
  static u8 translate(u8 set2);

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  void send(u8 byte);
  void set_defaults();
  void command(u8 byte);

  State m_s;
};

}  // namespace rv
