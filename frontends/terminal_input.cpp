#include "frontends/terminal_input.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "machine/pc_config.h"

namespace rv {

namespace {
// The terminal's settings before raw mode; restored by every exit path.
struct termios g_saved;
volatile std::sig_atomic_t g_raw = 0;

void restore_terminal() {
  if (g_raw) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    g_raw = 0;
  }
}

void restore_and_die(int sig) {
  restore_terminal();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
}  // namespace

TerminalInput::TerminalInput() {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &g_saved) != 0) return;
  struct termios raw = g_saved;
  cfmakeraw(&raw);
  raw.c_oflag |= OPOST | ONLCR;   // keep our own messages readable; the guest sends \r\n
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) return;
  g_raw = 1;
  static bool registered = false;
  if (!registered) {
    std::atexit(restore_terminal);
    for (int sig : {SIGTERM, SIGHUP, SIGQUIT}) std::signal(sig, restore_and_die);
    registered = true;
  }
}

TerminalInput::~TerminalInput() { restore_terminal(); }

int TerminalInput::read_byte() {
  if (m_eof) return -1;
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return -1;
  unsigned char c;
  ssize_t n = read(STDIN_FILENO, &c, 1);
  if (n <= 0) {
    m_eof = true;
    return -1;
  }
  return c;
}

int TerminalInput::next() {
  if (m_pending >= 0) {
    int c = m_pending;
    m_pending = -1;
    return c;
  }
  int c = read_byte();
  if (c < 0) return kNoInput;
  if (!m_escape) {
    if (c != kCtrlA) return c;
    m_escape = true;
    c = read_byte();
    if (c < 0) return kNoInput;   // the escape waits for its second byte
  }
  m_escape = false;
  if (c == 'x' || c == 'X') return kInputQuit;
  if (c == kCtrlA) return kCtrlA;
  m_pending = c;
  return kCtrlA;
}

}  // namespace rv
