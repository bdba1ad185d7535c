// Runs a Case on the host CPU (x86-64 Linux).
//
// The code page at kCodeBase holds a prologue that loads every GPR and RFLAGS from a control
// block, jumps to the sequence at kSeqAddr (for 32-bit cases: a far jump through an m16:32
// pointer to selector 0x23, Linux's 32-bit user code segment), and an epilogue that stores
// them back (32-bit code first far-jumps back to selector 0x33). The whole thing is called as
// a C function. A fault (SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP) is caught on an alternate
// signal stack; the handler records the vector (ucontext TRAPNO) and registers and
// siglongjmps back. Meant to run in a forked worker: a real crash only kills the worker.
#pragma once
#include <string>

#include "tests/oracle/oracle.h"

namespace rv::oracle {

class NativeRunner {
 public:
  // Maps the fixed pages (MAP_FIXED_NOREPLACE). Call once, before forking workers; throws
  // std::runtime_error if an address is taken.
  static void map_pages();
  // Installs the signal handlers and the alternate stack (in the worker).
  static void install_handlers();
  static Snapshot run(const Case& c);

  // What this host can run, found once by running two tiny sequences (ADD EAX, 1) in a forked
  // child: 64-bit code, and 32-bit code through the far JMP to selector 0x23 (some kernels
  // refuse compatibility mode to processes). Call after map_pages().
  struct Probe {
    bool ok64 = false, compat32 = false;
    std::string why64, why32;   // what went wrong, when not ok
  };
  static Probe probe();
};

}  // namespace rv::oracle
