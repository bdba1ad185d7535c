// TerminalInput: the host side of `--serial stdio` input. Reads standard input without
// blocking (poll() with a zero timeout) and hands bytes to COM1 through
// PcConfig::serial_input. When standard input is a terminal it is put in raw mode (no
// echo, no line editing, no signals: Ctrl-C goes to the guest) and restored when this
// object is destroyed, at exit(), and on SIGTERM/SIGHUP/SIGQUIT.
// Escapes, as in QEMU: Ctrl-A X quits (the run ends with status 0), Ctrl-A Ctrl-A sends
// one Ctrl-A; Ctrl-A followed by anything else sends both bytes.
// Input that is not a terminal (a pipe, a file) is read the same way, so scripted
// sessions work; end of file means no more input.
#pragma once
#include <string>

namespace rv {

class TerminalInput {
 public:
  static constexpr int kCtrlA = 0x01;
  TerminalInput();
  ~TerminalInput();
  TerminalInput(const TerminalInput&) = delete;
  TerminalInput& operator=(const TerminalInput&) = delete;

  // The next byte for the guest, kNoInput or kInputQuit (machine/pc_config.h).
  int next();

 private:
  int read_byte();   // -1: nothing now
  bool m_eof = false;
  bool m_escape = false;
  int m_pending = -1;   // a byte to send after the escape's Ctrl-A
};

}  // namespace rv
