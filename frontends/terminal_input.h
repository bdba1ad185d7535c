// TerminalInput: the host side of `--serial stdio` input. Reads standard input without
// blocking (poll() with a zero timeout) and hands bytes to COM1 through
// PcConfig::serial_input. When standard input is a terminal it is put in raw mode (no
// echo, no line editing, no signals: Ctrl-C goes to the guest) and restored when this
// object is destroyed, at exit(), and on SIGTERM/SIGHUP/SIGQUIT.
// Escapes, as in QEMU: Ctrl-A X quits (the run ends with status 0), Ctrl-A C switches the
// terminal between the guest's console and the monitor (frontends/monitor.h), Ctrl-A H
// prints a line about the escapes, Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A followed by
// anything else sends both bytes.
// In the monitor, typed bytes are echoed and collected into a line (Backspace/DEL erases,
// other control characters are ignored); Enter (CR or LF; CR LF counts once) runs it and
// prints the reply and a new prompt on standard output, the guest's console, so the two
// stay in order. The guest keeps running meanwhile and gets no input. After each command
// next() returns kNoInput, so the run loop acts on it (an engine switch) before the next.
// Input that is not a terminal (a pipe, a file) is read the same way, so scripted
// sessions work; end of file means no more input.
#pragma once
#include <string>

namespace rv {

class Monitor;

class TerminalInput {
 public:
  static constexpr int kCtrlA = 0x01;
  TerminalInput();
  ~TerminalInput();
  TerminalInput(const TerminalInput&) = delete;
  TerminalInput& operator=(const TerminalInput&) = delete;

  // Ctrl-A C reaches `m` from now on (null: Ctrl-A C goes to the guest as two bytes).
  void attach_monitor(Monitor* m) { m_monitor = m; }

  // The next byte for the guest, kNoInput or kInputQuit (machine/pc_config.h).
  int next();
  // Waits up to `ns` nanoseconds for input (returns early when a byte is there; sleeps the
  // whole time once the input has ended): the paced clock's idle wait.
  void wait(long long ns);

 private:
  int read_byte();   // -1: nothing now
  enum class Typed { More, Ran, Quit };
  Typed monitor_byte(int c);   // one byte typed at the monitor
  void toggle_monitor();
  bool m_eof = false;
  bool m_escape = false;
  int m_pending = -1;   // a byte to send after the escape's Ctrl-A
  Monitor* m_monitor = nullptr;
  bool m_in_monitor = false;
  bool m_after_cr = false;   // the last byte was CR: an LF right after it is the same Enter
  std::string m_line;
  static constexpr size_t kMaxLine = 256;
};

}  // namespace rv
