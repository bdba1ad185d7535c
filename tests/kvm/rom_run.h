// Running a test ROM (roms/tests/, built into RV_ROM_DIR) on a 32 MiB Pc under either engine
// or switching between them, with its port-0xE9 output collected.
#pragma once
#include <string>
#include <vector>

#include "tests/kvm/kvm_harness.h"

namespace rv::kvmtest {

struct RomSpec {
  Accel accel = Accel::Interp;
  std::vector<EngineSwitch> switches;   // PcConfig::engine_switches
  // Every newline the ROM prints (a debugcon write, a device hook) asks for the other
  // engine (Pc::request_engine), so the machine changes engines at each line.
  bool toggle_on_newline = false;
};

// Path of ROM `name` ("smc" -> RV_ROM_DIR/smc.bin).
std::string rom_path(const std::string& name);
bool rom_exists(const std::string& name);

// Runs the ROM to its end (debug exit) and captures the outcome (no guest memory).
Outcome run_rom(const std::string& name, const RomSpec& spec, const CpuFeatures& cpu);

}  // namespace rv::kvmtest
