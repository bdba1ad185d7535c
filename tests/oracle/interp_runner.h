// Runs a Case in our interpreter: a long-mode machine with 4-level page tables that map the
// oracle's pages at the same virtual addresses as the native run, a GDT shaped like Linux's
// (0x23 32-bit user code, 0x2B user data, 0x33 64-bit user code), a TSS whose IST1 stack
// takes every exception, and an IDT whose handlers are one HLT each.
//
// The sequence runs at CPL 3 (or CPL 0 with --cpl0) and is followed by HLT. At CPL 3 the HLT
// raises #GP, which ends the run in the #GP handler with a frame whose RIP is the end of the
// sequence; any other vector or RIP is a fault inside the sequence. The exception frame on
// the IST stack gives RIP, RFLAGS and RSP at the fault, exactly what the native signal
// handler sees in its ucontext.
#pragma once
#include "cpu/cpu.h"
#include "tests/oracle/oracle.h"

namespace rv::oracle {

class InterpRunner {
 public:
  explicit InterpRunner(bool cpl3);
  // Runs the case for at most `budget` instructions (a sequence that does not stop by then
  // is a runner problem: Snapshot::note).
  Snapshot run(const Case& c, u64 budget = 200000);

 private:
  void build_tables();
  void map4k(u64 va, bool user, bool writable);
  u8* host(u64 pa);

  bool m_cpl3;
  PhysMemory m_mem;
  IoBus m_io;
  Cpu m_cpu;
  u64 m_next_table = 0;
  CpuState m_tmpl[2];   // by Mode
  u8 m_reset_fpu[512] = {};   // the CPU's x87/SSE state after RESET (for MXCSR_MASK)
};

}  // namespace rv::oracle
