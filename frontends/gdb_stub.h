// GdbStub: gdb's remote serial protocol over TCP (`--gdb PORT`), for debugging a guest with
// gdb: `target remote :PORT`. The machine waits at its first instruction until gdb connects.
//
// Served: registers as gdb's amd64 layout (general, RIP, EFLAGS, segment selectors, x87,
// XMM, MXCSR; target.xml names the architecture), guest memory read and write at linear
// addresses (translated through the guest's page tables without side effects), software
// and hardware breakpoints (Z0/Z1: execution stops before the instruction), write, read
// and access watchpoints (Z2-Z4, up to 8 of 1-8 bytes: execution stops after the accessing
// instruction), continue, single step, Ctrl-C, kill and detach. The run is the
// interpreter's (--accel interp), so it stays repeatable with a debugger attached.
// Registers can be written (P, G) except the segment selectors (a load needs the
// descriptor checks of the instruction that loads them); one thread.
//
// Under --replay (with a Timeline, machine/timeline.h) gdb can also go backwards: the stub
// offers ReverseStep and ReverseContinue, so reverse-stepi, reverse-nexti, reverse-step,
// reverse-next, reverse-continue and reverse-finish work (gdb builds the others from bs and
// bc with breakpoints). bs returns to the previous instruction count; bc to the last
// breakpoint or watchpoint hit before the current position (a watchpoint: before the
// instruction that touched it), or to the start of the recording ("replaylog:begin"). The
// end of the recording stops the machine there ("replaylog:end") instead of ending the
// run, so gdb can go back from it. A replayed machine is not changed from gdb: register and
// memory writes and a resume at another address are refused (E01), since the log does not
// hold them.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "machine/pc.h"

namespace rv {

class GdbStub {
 public:
  // Listens on 127.0.0.1:port; throws ConfigError if it cannot.
  GdbStub(Pc& pc, int port, class Timeline* timeline = nullptr);
  ~GdbStub();
  GdbStub(const GdbStub&) = delete;
  GdbStub& operator=(const GdbStub&) = delete;

  // Waits for gdb, serves it until the guest's run ends, gdb kills it, or gdb detaches or
  // goes away (the run then goes on without a debugger). Returns how the run ended.
  // Serves gdb until the run ends. After a detach (or a dropped connection) the machine runs
  // on, and a new connection stops it and is served in turn.
  RunResult serve();

 private:
  bool read_packet(std::string& out);      // false: connection closed
  std::optional<RunResult> serve_connection();
  static u64 pc_linear(const Cpu& cpu);     // $pc: CS base + RIP outside 64-bit mode   // a result when the run ended; none on detach
  void send_packet(const std::string& body);
  std::string handle(const std::string& p, bool& resume, bool& step, bool& quit, bool& detach);
  std::string read_registers();
  std::string read_memory(u64 addr, u64 len);
  bool write_memory(u64 addr, const std::string& hex);
  bool write_register(unsigned n, const std::string& hex);
  void update_breakpoints();
  bool poll_interrupt();                   // a Ctrl-C (0x03) from gdb arrived
  std::string monitor_command(const std::string& hex);   // qRcmd (gdb's `monitor CMD`)
  std::string reverse_step();              // bs
  std::string reverse_continue();          // bc
  static std::string watch_reply(const Cpu::DebugWatch& w);

  Pc& m_pc;
  class Timeline* m_timeline;
  int m_port;
  int m_listen = -1, m_conn = -1;
  std::set<u64> m_breaks;
  std::vector<Cpu::DebugWatch> m_watches;
  std::string m_pending;                   // bytes read ahead (at most kMaxPacket + one read)
  static constexpr size_t kMaxPacket = 16384;
  bool m_warned_long = false;
  bool m_closed = false;
};

}  // namespace rv
