// Pc: the PC board. It owns the guest-physical memory, the port-I/O bus, the devices and
// the CPU, wires them together (wire(), one readable function) and runs the CPU in slices
// until something ends the run.
//
// Memory map (machine/pc.cpp, map_memory()):
//   0x00000000-0x0009FFFF  RAM (the first 640 KiB)
//   0x000A0000-0x000FFFFF  legacy hole; a BIOS image of up to 128 KiB also ends at 1 MiB;
//                          without a BIOS (direct kernel boot) 0xE0000-0xFFFFF is RAM that
//                          holds the ACPI tables (E820 reserved, machine/boot/acpi_tables.h)
//   0x00100000-...         RAM up to min(RAM size, 3.5 GiB)
//   0xE0000000-0xFFFFFFFF  PCI hole: IOAPIC 0xFEC00000, HPET 0xFED00000, local APIC
//                          0xFEE00000; the BIOS image ends at 4 GiB
//   0x100000000-...        the RAM above 3.5 GiB, if any
// RAM offsets equal guest addresses below 4 GiB (the 384 KiB under the hole is unused),
// and the RAM above the hole starts at offset 3.5 GiB.
//
// Devices and interrupt routing: machine/pc_wiring.cpp (wire()), described there.
//
// A run ends (RunResult) when the guest writes the debug-exit port, powers off through
// ACPI, resets the machine with --no-reboot, halts with nothing that could wake it, triple-faults (unless told to reset), or
// reaches --max-insns.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "cpu/cpu.h"
#include "memory/scheduler.h"
#include "devices/char_sink.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/port92.h"
#include "devices/post_port.h"
#include "machine/board_devices.h"
#include "machine/pc_config.h"
#include "machine/replay_log.h"

namespace rv {

constexpr u64 kLowRamEnd = 0xA0000;          // 640 KiB
constexpr u64 kBiosAreaStart = 0xE0000;      // the upper BIOS area (ACPI tables)
constexpr u64 kHighRamStart = 0x100000;      // 1 MiB
constexpr u64 kPciHoleStart = 0xE0000000;    // 3.5 GiB
constexpr u64 k4GiB = 0x100000000ull;

enum class StopKind : u8 {
  DebugExit, Halted, HaltIdle, TripleFault, InsnLimit, PowerOff, Quit, GuestReset, EngineError, OutputError,
  ReplayDiverged,
  // An outside debugger's stops (frontends/gdb_stub.h); run() can be called again to go on.
  // Reached: the instruction count asked for with run_to().
  Breakpoint, DebuggerInterrupt, Stepped, Reached,
};

class KvmVcpu;

struct RunResult {
  StopKind kind = StopKind::Halted;
  int exit_status = 0;
  std::string message;      // for the user; empty for a debug exit
  u64 guest_insns = 0;      // retired instructions (each REP iteration counts one)
  double host_seconds = 0;  // wall time of run()
  double cpu_seconds = 0;   // user + system CPU time of run()
  u32 resets = 0;           // triple-fault or guest-requested resets during the run
  u32 engine_switches = 0;
  u64 kvm_exits = 0;        // exits from KVM_RUN served (I/O, MMIO, HLT, timer kicks, ...)
  double kvm_seconds = 0;   // host time spent with KVM running the CPU
};

class Pc {
 public:
  // Throws ConfigError on a bad configuration (RAM size, BIOS image), boot::BootError on a
  // kernel that cannot be loaded (direct boot).
  explicit Pc(PcConfig cfg);
  ~Pc();
  Pc(const Pc&) = delete;
  Pc& operator=(const Pc&) = delete;

  RunResult run();
  void reset();                       // power-on reset of the CPU and the devices
                                      // (and, for a direct boot, the kernel is loaded again)

  Cpu& cpu() { return m_cpu; }
  Scheduler& scheduler() { return m_sched; }
  // Virtual time (DESIGN.md decision 7): nanoseconds since power-on, a pure function of the
  // retired instruction count (kNsPerInsn each) plus the time skipped while the CPU was
  // halted waiting for an event. The TSC counts nanoseconds (a 1 GHz TSC).
  // With --clock realtime it is the host's monotonic clock since the machine was built.
  // Under KVM, which retires instructions uncounted, virtual time follows the host's clock
  // from the value it had when KVM took over, and the interpreter continues from where KVM
  // left it.
  Nanos now() const {
    if (m_cfg.host_clock) return m_cfg.host_clock() - m_host_epoch;
    if (m_engine == Engine::Kvm) return m_kvm_t0 + (host_clock() - m_kvm_h0);
    return m_cpu.state().icount * kNsPerInsn + m_idle_ns;
  }
  bool realtime() const { return static_cast<bool>(m_cfg.host_clock); }
  // The TSC counts virtual time at m_tsc_khz: 1 GHz (one count per nanosecond), or, when KVM
  // is open, the rate KVM's vCPU TSC runs at, so the guest sees one rate under both engines.
  u64 tsc_from_ns(Nanos ns) const { return static_cast<u64>(static_cast<unsigned __int128>(ns) * m_tsc_khz / 1'000'000); }
  Nanos ns_from_tsc(u64 tsc) const { return static_cast<Nanos>(static_cast<unsigned __int128>(tsc) * 1'000'000 / m_tsc_khz); }
  bool host_timed() const { return realtime() || m_engine == Engine::Kvm; }

  // --- engines (machine/pc_engines.cpp) ---
  Engine engine() const { return m_engine; }
  bool kvm_available() const { return m_kvm != nullptr; }
  // Asks for a switch at the next instruction boundary the run loop reaches (the monitor's
  // "engine" command). Returns false with `why` set if that engine cannot run here.
  bool request_engine(Engine e, std::string& why);
  // What --accel auto chose and why, for the frontend to print; empty otherwise.
  const std::string& accel_note() const { return m_accel_note; }
  // Makes cpu().state() exact while KVM holds the CPU (for inspection; KVM keeps running
  // from the vCPU's own copy).
  void sync_cpu_state();
  // The next run() ends (StopKind::Stepped) as soon as one instruction has retired.
  void request_single_step() { m_step_pending = true; }
  void set_debugger_poll(std::function<bool()> poll) { m_cfg.debugger_poll = std::move(poll); }
  const std::function<bool()>& debugger_poll() const { return m_cfg.debugger_poll; }
  // The next run() ends (StopKind::Reached) at the first turn of the loop whose instruction
  // count is at least `icount`, before the door is polled there: the same place a forward
  // single-step stops. Cleared when reached.
  static constexpr u64 kNoStop = ~0ull;
  void run_to(u64 icount) { m_stop_at = icount; }
  // The timeline (machine/timeline.h): called at each turn of the loop before the door, and
  // the instruction count the loop must turn at for its next checkpoint (kNoStop: none).
  void set_timeline_hook(std::function<void()> hook) { m_timeline_hook = std::move(hook); }
  void set_checkpoint_due(u64 icount) { m_checkpoint_due = icount; }
  // What the replay's door holds besides the machine state: the log's read position, its
  // lookahead and the next hash's count. A checkpoint keeps it; restoring one puts it back.
  struct DoorMark {
    LogReader::Cursor cursor;
    bool have_next = false;
    LogRecord next_rec;
    u64 next_hash = 0;
  };
  DoorMark door_mark() const;
  void restore_door(const DoorMark& m);
  bool replaying() const { return m_replay != nullptr; }
  // Where a recording or replay stands, for people (the monitor's and gdb's `info replay`):
  // the position, the recording's end, the inputs delivered and the next one.
  std::string replay_info();
  // --- record/replay (machine/replay.cpp; the log: machine/replay_log.h) ---
  // Record: every input the door takes is logged with its position, a state hash every
  // `hash_interval` counted instructions, and the run's end. Replay: the input comes only
  // from the log (serial_input is not read); a position reached without its recorded
  // input, a hash that differs, or an end elsewhere stops the run (StopKind::ReplayDiverged).
  void set_record(LogWriter* log, u64 hash_interval);
  void set_replay(LogReader* log, u64 hash_interval);
  // The machine's state (Pc::visit_state: CPU, board, devices, scheduler) and a digest of
  // RAM (zero pages left out, so it does not depend on which pages the host has committed).
  u64 state_hash();
  bool recording_or_replaying() const { return m_record || m_replay; }
  u64 ram_digest();
  // The whole machine's state but RAM, walked in load order (machine/snapshot.cpp); used by
  // snapshots, checkpoints and state hashes. Loading re-derives the A20 gate and INTR.
  void visit_state(StateVisitor& v);
  static constexpr u64 kRealtimeSliceInsns = 200'000;   // events are checked at least this often
  static constexpr Nanos kRealtimeMaxSleep = 10'000'000;   // 10 ms: input stays responsive
  static constexpr Nanos kPacedMaxStep = 100'000'000;      // 100 ms (input ends a wait early)
  static constexpr Nanos kNsPerInsn = 1;
  PhysMemory& memory() { return m_mem; }
  IoBus& io() { return m_io; }
  const PcConfig& config() const { return m_cfg; }
  void set_trace(TraceHook* hook) { m_cpu.set_trace(hook); }
  BoardDevices& devices() { return *m_dev; }
  // Board internals the device callbacks use (pc_wiring.cpp).
  void update_intr();           // the CPU's INTR from the PIC and the local APIC
  void set_a20_gate();          // port 0x92 OR the i8042's output port
  void request_reset() { m_reset_requested = true; m_cpu.request_stop(); }

  // A halted CPU (IF=1) that gets no interrupt for this much virtual time ends the run as
  // HaltIdle: the RTC's once-a-second update event alone would otherwise idle forever.
  static constexpr Nanos kMaxIdleNs = 600 * kNsPerSec;
  // ... and so does one that this many device events in a row have not woken: a guest can
  // leave a fast timer running that nothing delivers (PIT mode 2, count 2, IRQ0 masked or
  // in service without an EOI: 1.19 million events per virtual second), and each event is a
  // turn of this loop; without this bound one HLT could cost minutes of host time.
  static constexpr u64 kMaxIdleEvents = 1'000'000;

  static constexpr u64 kSliceInsns = 1'000'000;
  static constexpr u64 kMaxStallTurns = 10'000'000;   // the run loop's watchdog (pc.cpp)

 private:
  void map_memory();
  void setup_engines();          // pc_engines.cpp: opens KVM if --accel or a switch needs it
  void switch_engine(Engine to, RunResult& res);
  std::optional<Engine> due_switch(Nanos host_elapsed);
  u64 insns_to_next_switch() const;          // interpreter budget before a planned switch
  Nanos host_time_to_next_switch(Nanos host_elapsed) const;
  StopReason run_kvm_slice(RunResult& res, Nanos host_elapsed);
  void kvm_take_state();         // KVM -> CpuState (the interpreter's turn)
  void kvm_give_state();         // CpuState -> KVM
  void serve_kvm_io(const struct KvmExit& x);
  std::string kvm_stop_place();
  Nanos host_clock() const;
  void host_sleep(Nanos ns);
  // The input door (DESIGN.md decision 8), polled once per turn of the run loop: COM1's
  // input from the host, or from the replay log; records, hashes and checks positions.
  enum class DoorResult { Go, Quit, Diverged };
  DoorResult poll_door();
  void door_end(const RunResult& res);   // the end record (record) or check (replay)
  bool replay_next(LogRecord& r);         // the log's next record (lookahead kept)
  std::string truncated_log_message() const;
  void flush_serial();          // COM1-COM4's host sinks (once per slice: prompts show at once)
  void wire();                  // pc_wiring.cpp
  void reset_devices();         // pc_wiring.cpp
  void direct_boot();           // pc_wiring.cpp: ACPI tables, kernel, entry state
  void pic_int_changed(bool level);
  u8 intr_acknowledge();        // pc_wiring.cpp: the INTA cycle
  std::string triple_fault_text() const;

  PcConfig m_cfg;
  PhysMemory m_mem;
  IoBus m_io;
  std::unique_ptr<DebugCon> m_debugcon;   // only with a sink
  DebugExit m_debug_exit;
  Port92 m_port92;
  PostPort m_post;
  NullSink m_null_sink;          // COM1's output without --serial
  Cpu m_cpu;
  Scheduler m_sched;
  std::unique_ptr<BoardDevices> m_dev;
  Nanos m_idle_ns = 0;           // virtual time skipped by halts (see now())
  Nanos m_host_epoch = 0;        // host clock at construction (realtime mode)
  Nanos m_idle_start = kNever;   // when the current uninterrupted halt began
  u64 m_idle_since_icount = 0;
  u64 m_idle_events = 0;         // turns of the current uninterrupted halt (kMaxIdleEvents)
  bool m_exit_requested = false;
  bool m_reset_requested = false;
  bool m_power_off_requested = false;
  int m_sleep_requested = -1;    // SLP_TYP of an ACPI sleep (S1-S4) the guest asked for
  // Record/replay (replay.cpp).
  LogWriter* m_record = nullptr;
  LogReader* m_replay = nullptr;
  u64 m_hash_interval = 0, m_next_hash = 0;
  u64 m_door_icount = ~0ull, m_door_poll = 0;   // the door's position (see replay_log.h)
  bool m_have_next = false;                     // m_next_rec holds the log's next record
  LogRecord m_next_rec;
  std::string m_replay_error;
  bool m_door_polled = false;                   // this turn's door poll is done (pc.cpp)
  // A live recording that went back (restore_door): its own log, read as a replay's up to
  // the frontier (the last door position it reached live), then live again.
  std::unique_ptr<LogReader> m_behind;
  u64 m_front_icount = 0, m_front_poll = 0;
  bool m_record_ended = false;                  // the End record is written
  u64 m_stop_at = kNoStop;                      // run_to()
  u64 m_checkpoint_due = kNoStop;
  std::function<void()> m_timeline_hook;
  size_t m_next_savevm = 0;                     // the next of m_cfg.savevm_at
  std::string m_savevm_error;
  bool take_due_snapshots();                    // false: a save failed (m_savevm_error)

  // Engines (pc_engines.cpp).
  Engine m_engine = Engine::Interp;
  std::unique_ptr<KvmVcpu> m_kvm;
  bool m_kvm_live = false;       // the vCPU holds the CPU's state; cpu().state() is stale
  bool m_kvm_halted = false;     // HLT under KVM, waiting for an interrupt
  u64 m_kvm_cr8 = 0;
  u64 m_tsc_khz = 1'000'000;
  u64 m_kvm_entry_tsc = 0;       // the TSC given to the vCPU when KVM took over
  Nanos m_kvm_t0 = 0, m_kvm_h0 = 0;   // virtual and host time when KVM took over
  std::optional<Engine> m_engine_request;
  std::vector<EngineSwitch> m_at_switches, m_after_switches;   // sorted; consumed in order
  size_t m_next_at = 0, m_next_after = 0;
  std::string m_engine_error;    // a KVM failure that ends the run
  std::string m_kvm_triple;      // a triple fault under KVM
  std::string m_accel_note;
  bool m_step_pending = false;
  friend struct BoardDevices;
};

}  // namespace rv
