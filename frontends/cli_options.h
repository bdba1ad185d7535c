// The `retrovisor` command line: parsing (Boost.Program_options) into CliOptions, --help
// and --version text. Only frontends/ knows Boost.Program_options (DESIGN.md, layers).
#pragma once
#include <array>
#include <optional>
#include <string>

#include "machine/pc_config.h"

namespace rv {

struct CliOptions {
  std::string bios_path;
  u64 ram_bytes = kDefaultRam;
  std::string debugcon = "none";   // "stdio", "none" or "file:PATH"
  std::string serial = "none";     // COM1: "stdio", "none" or "file:PATH"
  std::array<std::string, 3> serial_extra{"none", "none", "none"};   // COM2-COM4: "none" or "file:PATH"
  std::string kernel_path;         // direct boot (machine/boot/); empty: none
  std::string initrd_path;
  std::string append;
  u64 max_insns = 0;
  std::string trace_path;          // empty: no trace
  TripleFaultAction on_triple_fault = TripleFaultAction::Stop;
  bool stats = false;
  bool no_reboot = false;
  bool realtime_clock = false;   // --clock realtime
  bool pace = true;                // --clock virtual,pace=off: false
  CpuFeatures cpu;                 // --cpu MODEL
  Accel accel = Accel::Interp;     // --accel
  bool kvm_ready = false;          // --accel interp,kvm
  int gdb_port = 0;                // --gdb PORT; 0: no debugger
  u64 checkpoint_mem = 1ull << 30; // --checkpoint-mem SIZE (--replay with --gdb)
  std::string kvm_device = "/dev/kvm";   // --kvm-device
  std::vector<EngineSwitch> engine_switches;   // --switch-engine-at/-after, in command-line order
  std::string record_path;         // --record FILE
  std::string replay_path;         // --replay FILE (the machine options come from its log)
  std::vector<std::pair<u64, std::string>> savevm_at;   // --savevm-at INSNS:FILE, by INSNS
  std::string loadvm_path;         // --loadvm FILE (the machine options come from the snapshot)
  // The options that shape the machine (all but the run's own: --record, --replay,
  // --savevm-at, --loadvm, --gdb, --trace, --stats, --serial, --debugcon, --max-insns), in
  // our spelling: what a snapshot keeps to build the same machine again.
  std::vector<std::string> machine_args;
};

// Parsed command line, or the text to print and the status to exit with (--help,
// --version: 0; a usage error: kExitUsage with a one-line message "retrovisor: error: ...").
struct CliParse {
  std::optional<CliOptions> options;
  std::string text;
  int exit_status = 0;
};

CliParse parse_command_line(int argc, const char* const* argv);

constexpr const char* kVersion = "0.1.0";

}  // namespace rv
