// PcConfig: everything the board is built from, and the host-side helpers that turn user
// input (a BIOS file name, a memory size) into it. Errors here are host/configuration
// errors (STYLE.md guideline 12, kind 3): ConfigError with a message for the user.
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "memory/scheduler.h"
#include "memory/types.h"
#include "machine/snapshot.h"

namespace rv {

class CharSink;

// A bad configuration or unusable host input; the message names the problem.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class TripleFaultAction : u8 { Stop, Reset };

// Host exit statuses of a run (README.md "Exit statuses"). A debug-exit write of V gives
// (V << 1) | 1, always odd.
constexpr int kExitPowerOff = 0;      // the guest powered off (or reset with --no-reboot), or a quit
constexpr int kExitHalted = 6;        // HLT with nothing left that could wake the CPU (a dead guest)
constexpr int kExitUsage = 2;         // bad command line, unreadable file, host error
constexpr int kExitTripleFault = 4;   // triple fault with --on-triple-fault=stop
constexpr int kExitInsnLimit = 5;     // --max-insns reached
constexpr int kNoInput = -1, kInputQuit = -2;   // PcConfig::serial_input results

constexpr u64 KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr u64 kMinRam = 1 * MiB;
constexpr u64 kMaxRam = 64 * GiB;      // the per-page code map is 1 byte per 4 KiB of RAM
constexpr u64 kDefaultRam = 128 * MiB; // QEMU's default
constexpr u64 kMaxBiosSize = 16 * MiB; // the flash window below 4 GiB on a PC
constexpr u64 kLowBiosMax = 128 * KiB; // larger images are visible only below 4 GiB

// The engines that can run the CPU (docs/ARCHITECTURE.md "Engines").
enum class Engine : u8 { Interp, Kvm };
// --accel: the engine a run starts on. Auto: KVM when the host's KVM works, else the
// interpreter; the board says which it chose (Pc::accel_note()).
enum class Accel : u8 { Interp, Kvm, Auto };
const char* engine_name(Engine e);   // "interp", "kvm"

// A planned engine switch: when the interpreter has retired `insns` instructions in all
// (--switch-engine-at), or when `seconds` of host time have passed since the run started
// (--switch-engine-after). Each fires once; a switch to the engine already running is a no-op.
struct EngineSwitch {
  bool after_seconds = false;
  u64 insns = 0;
  double seconds = 0;
  Engine to = Engine::Interp;
};

struct PcConfig {
  u64 ram_bytes = kDefaultRam;
  std::shared_ptr<const std::vector<u8>> bios;   // raw image; required unless `kernel` is set
  std::string bios_name = "BIOS image";          // for messages (usually the path)
  CharSink* debugcon = nullptr;                  // null: no device at port 0xE9
  TripleFaultAction on_triple_fault = TripleFaultAction::Stop;
  bool no_reboot = false;                        // a guest reset (not a triple fault) ends the run, status 0
  u64 max_insns = 0;                             // 0: no limit
  CpuFeatures cpu;                               // CPU model (--cpu): CPUID and available ISA
  CharSink* serial = nullptr;                    // COM1's output; null: discarded
  std::array<CharSink*, 3> serial_extra{};       // COM2-COM4's output; null: discarded
  // COM1's input: polled between CPU slices while the receive FIFO has room; returns a
  // byte, kNoInput, or kInputQuit to end the run (Ctrl-A X on the terminal).
  std::function<int()> serial_input;
  // An outside debugger, polled like serial_input: true ends run() with
  // StopKind::DebuggerInterrupt (gdb's Ctrl-C). Set by Pc::set_debugger_poll().
  std::function<bool()> debugger_poll;
  // The host side's output failures (a full disk under --serial file:, --debugcon file:,
  // --trace): polled once per slice; a non-empty message ends the run with status 2.
  std::function<std::string()> output_error;
  // --clock realtime: the host's monotonic clock in nanoseconds, and a way to wait. Both come
  // from frontends/ (DESIGN.md: only frontends read host time). Unset: virtual time.
  std::function<Nanos()> host_clock;
  std::function<void(Nanos)> host_sleep;
  // Virtual clock only: an idle guest (HLT, interrupts enabled) waits in host time until its
  // next event is due, in steps of at most Pc::kPacedMaxStep (input ends a step early),
  // virtual time advancing by each whole step (deterministic: the same jumps as unpaced;
  // --clock virtual, the default for the CLI); false jumps to the event at once
  // (pace=off). What the guest computes is the same either way.
  bool pace = false;
  // The paced clock's idle wait (frontends/: up to ns, returning early when host input is
  // there); unset: a plain sleep of ns.
  std::function<void(Nanos)> idle_wait;
  // Direct kernel boot (machine/boot/): no firmware runs; the board writes ACPI tables,
  // loads the kernel (bzImage, PVH ELF or Multiboot) and starts the CPU at its entry.
  std::shared_ptr<const std::vector<u8>> kernel;
  std::string kernel_name = "kernel";
  std::shared_ptr<const std::vector<u8>> initrd; // null: none
  std::string initrd_name = "initrd";
  std::string cmdline;
  Accel accel = Accel::Interp;
  std::string kvm_device = "/dev/kvm";
  bool kvm_ready = false;     // open KVM even if the run starts on the interpreter (monitor switches)
  std::vector<EngineSwitch> engine_switches;
  // --savevm-at: snapshots to take when the instruction count (CpuState::icount) reaches
  // each INSNS, sorted; a failure to write one ends the run (status 2). `snapshot_origin`
  // is what they record to build the machine again (machine/snapshot.h).
  std::vector<std::pair<u64, std::string>> savevm_at;
  SnapshotOrigin snapshot_origin;
  // The RTC's time at power-on (Unix seconds): fixed, so runs are repeatable.
  i64 rtc_base_unix = 1'700'000'000;             // 2023-11-14 22:13:20 UTC
};

// Reads a whole host file for the board (`what` names it in messages: "kernel", "initrd").
// Throws ConfigError if it is missing, unreadable, a directory, empty, or larger than
// `max_size` bytes (checked before reading; the message says "larger than <limit_name>").
std::shared_ptr<const std::vector<u8>> load_host_file(const std::string& path, const std::string& what,
                                                      u64 max_size, const std::string& limit_name);

// Reads a BIOS image; throws ConfigError if it is missing, unreadable, empty or larger
// than kMaxBiosSize.
std::shared_ptr<const std::vector<u8>> load_bios_image(const std::string& path);

// Checks an image's size (also used for images not read from a file).
void check_bios_size(u64 size, const std::string& name);

// Parses a memory size in QEMU's -m spelling: a number with an optional suffix K, M, G or
// T (powers of 1024, case-insensitive, an optional trailing "B" or "iB"); a bare number
// means MiB. Fractions are allowed with a suffix ("1.5G"). The result is rounded up to
// whole 4 KiB pages and must lie in [kMinRam, kMaxRam]. Throws ConfigError otherwise.
u64 parse_memory_size(const std::string& text);

}  // namespace rv
