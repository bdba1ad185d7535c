// A minimal CPU test bench: flat RAM, no devices, code loaded at a physical address, run
// until HLT. Used by per-instruction tests.
#pragma once
#include <vector>

#include "cpu/cpu.h"

namespace rv::test {

struct CpuEnv {
  PhysMemory mem{16 << 20};
  IoBus io;
  Cpu cpu{mem, io};

  CpuEnv() { mem.map_ram(0, 16 << 20, 0); }

  // Real mode, CS=DS=ES=SS=0, code at `at`.
  void real_mode_code(u64 at, std::vector<u8> code) {
    code.push_back(0xF4);   // HLT
    mem.write_bytes(at, code.data(), code.size());
    CpuState& s = cpu.state();
    for (Segment& sg : s.seg) sg = Segment{0, 0x93, 0xFFFF, 0};
    s.seg[CS] = Segment{0, 0x9B, 0xFFFF, 0};
    s.rip = at;
    s.gpr[RSP] = 0x8000;
    s.halted = false;   // a previous run may have ended on the HLT
    cpu.state_changed();
  }
  StopReason run(u64 n = 1000) { return cpu.run(n); }
};

}  // namespace rv::test
