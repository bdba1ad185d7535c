// The small machine some fuzz targets act on: 2 MiB of RAM and a ROM of HLTs, run for
// `max_insns` once at start-up (so its devices and scheduler hold a state), kept for the
// whole fuzzing process.
#pragma once
#include <memory>
#include <vector>

#include "machine/pc.h"

inline rv::Pc& fuzz_machine(rv::u64 max_insns) {
  static std::unique_ptr<rv::Pc> pc = [max_insns] {
    rv::PcConfig c;
    c.ram_bytes = 2 * rv::MiB;
    c.bios = std::make_shared<std::vector<rv::u8>>(64 * rv::KiB, 0xF4);   // HLT everywhere
    c.max_insns = max_insns;
    auto p = std::make_unique<rv::Pc>(c);
    p->run();
    return p;
  }();
  return *pc;
}
