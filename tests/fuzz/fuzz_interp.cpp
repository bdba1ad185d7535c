// The interpreter on random code: the oracle's long-mode machine (tests/oracle/
// interp_runner.h: 4-level paging, Linux-shaped GDT/IDT, handlers that HLT) runs the input
// as a sequence in 64-bit or compatibility mode at CPL 3 or 0 (the first byte picks), from
// a start state also taken from the input, under an instruction budget. Every run ends
// (HLT, a triple fault, the budget): never a crash, a sanitizer report or a hang.
#include <cstdint>
#include <cstring>
#include <vector>

#include "memory/log.h"
#include "tests/oracle/interp_runner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rv::oracle;
  if (size < 1 + 128 + 1) return 0;
  static bool quiet = (rv::set_log_quiet(true), true);
  (void)quiet;
  const bool cpl3 = !(data[0] & 2);
  static InterpRunner runner3(true), runner0(false);
  Case c;
  c.mode = data[0] & 1 ? Mode::Compat32 : Mode::Long64;
  std::memcpy(c.gpr.data(), data + 1, 128);
  c.gpr[4] = kStackTop;
  c.rflags = 0x202;
  const size_t n = std::min<size_t>(size - 129, kSeqMax);
  c.code.assign(data + 129, data + 129 + n);
  c.data.assign(kPage, 0);
  c.stack.assign(kPage, 0);
  for (size_t i = 0; i < kPage && i < n; i++) c.data[i] = c.code[i];
  c.fpu.assign(512, 0);
  c.fpu[0] = 0x7F; c.fpu[1] = 0x03;     // FCW 037F
  c.fpu[24] = 0x80; c.fpu[25] = 0x1F;   // MXCSR 1F80
  c.tail.assign(16, 0xCC);
  (cpl3 ? runner3 : runner0).run(c, 20000);
  return 0;
}
