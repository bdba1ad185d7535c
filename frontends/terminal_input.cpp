#include "frontends/terminal_input.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "frontends/monitor.h"
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

void TerminalInput::wait(long long ns) {
  if (m_pending >= 0 || ns <= 0) return;
  if (m_eof) {
    struct timespec t{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    nanosleep(&t, nullptr);
    return;
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>((ns + 999999) / 1000000));
}

int TerminalInput::next() {
  for (;;) {
    if (m_pending >= 0) {
      int c = m_pending;
      m_pending = -1;
      return c;
    }
    const int c = read_byte();
    if (c < 0) return kNoInput;   // an escape waits for its second byte (m_escape stays set)
    if (m_escape) {
      m_escape = false;
      if (c == 'x' || c == 'X') return kInputQuit;
      if (c == 'h' || c == 'H') {
        std::fputs("\n[Ctrl-A X: quit; Ctrl-A C: switch between the guest console and the monitor; "
                   "Ctrl-A Ctrl-A: send Ctrl-A; Ctrl-A H: this help]\n",
                   stdout);
        std::fflush(stdout);
        continue;
      }
      if ((c == 'c' || c == 'C') && m_monitor) {
        toggle_monitor();
        continue;
      }
      if (m_in_monitor) continue;   // the monitor has no use for other escapes
      if (c == kCtrlA) return kCtrlA;
      m_pending = c;
      return kCtrlA;
    }
    if (c == kCtrlA) {
      m_escape = true;
      continue;
    }
    if (!m_in_monitor) return c;
    switch (monitor_byte(c)) {
      case Typed::More: break;
      case Typed::Ran: return kNoInput;   // let the run loop act on the command first
      case Typed::Quit: return kInputQuit;
    }
  }
}

void TerminalInput::toggle_monitor() {
  m_in_monitor = !m_in_monitor;
  m_line.clear();
  m_after_cr = false;
  if (m_in_monitor)
    std::fprintf(stdout, "\n[retrovisor monitor: 'help' lists the commands; Ctrl-A C returns to the guest]\n%s",
                 Monitor::kPrompt);
  else
    std::fputs("\n[guest console]\n", stdout);
  std::fflush(stdout);
}

TerminalInput::Typed TerminalInput::monitor_byte(int c) {
  const bool lf_after_cr = c == '\n' && m_after_cr;
  m_after_cr = c == '\r';
  if (lf_after_cr) return Typed::More;
  if (c == '\r' || c == '\n') {
    std::fputc('\n', stdout);
    const Monitor::Reply r = m_monitor->execute(m_line);
    m_line.clear();
    std::fputs(r.text.c_str(), stdout);
    if (!r.quit) std::fputs(Monitor::kPrompt, stdout);
    std::fflush(stdout);
    return r.quit ? Typed::Quit : Typed::Ran;
  }
  if (c == 0x7F || c == 0x08) {   // DEL (what a terminal's Backspace sends) or BS
    if (!m_line.empty()) {
      m_line.pop_back();
      std::fputs("\b \b", stdout);
    }
  } else if (c >= 0x20 && c < 0x7F && m_line.size() < kMaxLine) {
    m_line.push_back(static_cast<char>(c));
    std::fputc(c, stdout);
  }
  std::fflush(stdout);
  return Typed::More;
}

}  // namespace rv
