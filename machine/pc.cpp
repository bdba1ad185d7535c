#include "machine/pc.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "machine/kvm.h"
#include "memory/log.h"

namespace rv {

namespace {
double cpu_time_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

u64 checked_ram(u64 bytes) {
  if (bytes < kMinRam || bytes > kMaxRam)
    throw ConfigError("memory size of " + std::to_string(bytes) + " bytes is outside 1 MiB..64 GiB");
  return bytes;
}
}  // namespace

Pc::Pc(PcConfig cfg)
    : m_cfg(std::move(cfg)),
      m_mem(checked_ram(m_cfg.ram_bytes)),
      m_debug_exit([this](u32) { m_exit_requested = true; m_cpu.request_stop(); }),
      m_port92([this] { request_reset(); }, [this](bool) { set_a20_gate(); }),
      m_cpu(m_mem, m_io) {
  if (!m_cfg.bios && !m_cfg.kernel) throw ConfigError("no BIOS image given");
  if (m_cfg.bios) check_bios_size(m_cfg.bios->size(), m_cfg.bios_name);
  m_cpu.set_features(m_cfg.cpu);
  map_memory();
  wire();
  setup_engines();
  // One clock: devices read the scheduler's time, the TSC reads the same, and an event
  // scheduled earlier than the running slice's end shortens the slice so it fires on time.
  if (m_cfg.host_clock) m_host_epoch = m_cfg.host_clock();
  m_sched.set_time_source([this] { return now(); });
  m_sched.set_deadline_listener([this](Nanos when) {
    if (host_timed()) return;   // realtime slices are short; the event fires at the slice's end
    Nanos t = now();
    u64 insns = when > t ? (when - t + kNsPerInsn - 1) / kNsPerInsn : 0;
    m_cpu.limit_run_to(m_cpu.state().icount + insns);
  });
  m_cpu.set_tsc_source([this] { return tsc_from_ns(now()); });
  reset();
}

Pc::~Pc() = default;

void Pc::map_memory() {
  const u64 ram = m_cfg.ram_bytes;
  m_mem.map_ram(0, std::min(ram, kLowRamEnd), 0, "ram-low");
  if (ram > kHighRamStart)
    m_mem.map_ram(kHighRamStart, std::min(ram, kPciHoleStart) - kHighRamStart, kHighRamStart, "ram");
  if (ram > kPciHoleStart) m_mem.map_ram(k4GiB, ram - kPciHoleStart, kPciHoleStart, "ram-above-4g");

  if (!m_cfg.bios) {
    // Direct kernel boot: the BIOS area holds the ACPI tables (machine/boot/acpi_tables.h).
    // RAM offsets equal addresses below 4 GiB, so these offsets are otherwise unused.
    if (ram >= kHighRamStart) m_mem.map_ram(kBiosAreaStart, kHighRamStart - kBiosAreaStart, kBiosAreaStart, "bios-area");
    return;
  }
  // The reset vector is at linear 0xFFFFFFF0 (SDM Vol.3A §9.1.4): the image ends at 4 GiB.
  // A small image is also visible ending at 1 MiB, where real-mode code (after the first
  // far jump to F000:xxxx) finds it, as a PC chipset aliases the top 128 KiB of flash.
  const u64 size = m_cfg.bios->size();
  m_mem.map_rom(k4GiB - size, m_cfg.bios, "bios");
  if (size <= kLowBiosMax) m_mem.map_rom(kHighRamStart - size, m_cfg.bios, "bios-low");
}

void Pc::flush_serial() {
  if (m_cfg.serial) m_cfg.serial->flush();
  for (CharSink* s : m_cfg.serial_extra)
    if (s) s->flush();
}

std::string Pc::triple_fault_text() const {
  if (!m_kvm_triple.empty()) return m_kvm_triple;
  const std::string& m = m_cpu.triple_fault_message();
  if (m.rfind("triple fault", 0) == 0) return m;
  return m.empty() ? "triple fault" : "triple fault: " + m;
}

void Pc::reset() {
  m_debug_exit.reset();
  m_port92.reset();
  m_post.reset();
  m_exit_requested = false;
  m_reset_requested = false;
  m_power_off_requested = false;
  m_sleep_requested = -1;
  m_kvm_live = false;   // the vCPU is loaded from the reset state at the next KVM slice
  m_kvm_halted = false;
  m_kvm_triple.clear();
  m_cpu.reset();
  reset_devices();
  set_a20_gate();
  update_intr();
  if (m_cfg.kernel) direct_boot();
}

bool Pc::take_due_snapshots() {
  while (m_next_savevm < m_cfg.savevm_at.size() && m_cfg.savevm_at[m_next_savevm].first <= m_cpu.state().icount) {
    const std::string& path = m_cfg.savevm_at[m_next_savevm++].second;
    try {
      save_snapshot(*this, path, m_cfg.snapshot_origin);
    } catch (const SnapshotError& e) {
      m_savevm_error = std::string("--savevm-at: ") + e.what();
      return false;
    }
  }
  return true;
}

RunResult Pc::run() {
  RunResult res;
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_time_now();
  auto finish = [&](StopKind kind, int status, std::string message) {
    res.kind = kind;
    res.exit_status = status;
    res.message = std::move(message);
    if (kind != StopKind::Breakpoint && kind != StopKind::DebuggerInterrupt && kind != StopKind::Stepped &&
        kind != StopKind::Reached && kind != StopKind::ReplayDiverged) {
      door_end(res);
      if (!m_replay_error.empty()) {
        res.kind = StopKind::ReplayDiverged;
        res.exit_status = kExitUsage;
        res.message = m_replay_error;
      }
    }
    res.host_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    res.cpu_seconds = cpu_time_now() - cpu0;
    if (m_cfg.debugcon) m_cfg.debugcon->flush();
    flush_serial();
    return res;
  };

  const Nanos host0 = host_clock();
  // The watchdog: a turn of this loop that neither retires an instruction nor advances
  // virtual time makes no progress; a long run of them is an emulator bug, reported with the
  // guest's CS:RIP instead of spinning forever (issue 15).
  u64 stall_turns = 0, last_icount = ~0ull;
  Nanos last_now = -1;
  for (;;) {
    if (m_cpu.state().icount != last_icount || now() != last_now) {
      last_icount = m_cpu.state().icount;
      last_now = now();
      stall_turns = 0;
    } else if (++stall_turns > kMaxStallTurns) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "emulator bug: the run loop turned %llu times without progress at %04x:%llx "
                    "(please report it)", static_cast<unsigned long long>(stall_turns), m_cpu.state().seg[CS].sel,
                    static_cast<unsigned long long>(m_cpu.state().rip));
      return finish(StopKind::EngineError, kExitUsage, buf);
    }
    // A position asked for (run_to): the first turn at that instruction count, before the door.
    if (m_stop_at != kNoStop && m_cpu.state().icount >= m_stop_at) {
      m_stop_at = kNoStop;
      return finish(StopKind::Reached, 0, "");
    }
    // The debugger's Ctrl-C ends the run before this turn's door poll, so that a run called
    // again polls it once, as an uninterrupted run would (a replay stays in step).
    if (m_cfg.debugger_poll && m_cfg.debugger_poll()) return finish(StopKind::DebuggerInterrupt, 0, "");
    if (!m_door_polled) {
      if (m_timeline_hook) m_timeline_hook();
      if (!take_due_snapshots()) return finish(StopKind::OutputError, kExitUsage, m_savevm_error);
      const DoorResult door = poll_door();
      m_door_polled = true;   // until the CPU next runs: run() called again polls no second time
      if (door == DoorResult::Quit) return finish(StopKind::Quit, 0, "quit from the terminal (Ctrl-A X or the monitor's quit)");
      if (door == DoorResult::Diverged) return finish(StopKind::ReplayDiverged, kExitUsage, m_replay_error);
    }
    if (m_cfg.output_error) {
      std::string e = m_cfg.output_error();
      if (!e.empty()) return finish(StopKind::OutputError, kExitUsage, e);
    }
    const Nanos host_elapsed = host_clock() - host0;
    while (std::optional<Engine> to = due_switch(host_elapsed)) switch_engine(*to, res);
    if (!m_engine_error.empty()) return finish(StopKind::EngineError, kExitUsage, m_engine_error);
    StopReason why;
    if (m_engine == Engine::Kvm) {
      const Nanos h0 = host_clock();
      why = run_kvm_slice(res, host_elapsed);
      m_door_polled = false;
      res.kvm_seconds += static_cast<double>(host_clock() - h0) / 1e9;
      flush_serial();
      if (!m_engine_error.empty()) return finish(StopKind::EngineError, kExitUsage, m_engine_error);
    } else {
    u64 slice = std::min(kSliceInsns, insns_to_next_switch());
    if (m_step_pending) slice = 1;
    if (m_next_savevm < m_cfg.savevm_at.size()) {   // stop exactly at the next --savevm-at
      const u64 at = m_cfg.savevm_at[m_next_savevm].first, ic = m_cpu.state().icount;
      if (at > ic) slice = std::min(slice, at - ic);
    }
    if (m_cfg.max_insns) {
      if (res.guest_insns >= m_cfg.max_insns)
        return finish(StopKind::InsnLimit, kExitInsnLimit, "instruction limit reached");
      slice = std::min(slice, m_cfg.max_insns - res.guest_insns);
    }
    {
      // The loop turns at every position it must act at, however earlier slices fell (a run
      // continued from a checkpoint or a debugger stop): the position asked for, the replay
      // log's next record, the timeline's next checkpoint.
      const u64 ic = m_cpu.state().icount;
      auto cap = [&](u64 at) { if (at > ic) slice = std::min(slice, at - ic); };
      if (m_stop_at != kNoStop) cap(m_stop_at);
      if (m_replay && m_have_next) cap(m_next_rec.icount);
      if (m_checkpoint_due != kNoStop) cap(m_checkpoint_due);
    }
    // Run to the next device deadline at most, so events fire at their exact time.
    const Nanos deadline = m_sched.next_deadline();
    if (realtime()) {
      slice = std::min(slice, kRealtimeSliceInsns);
    } else if (deadline != kNever) {
      const Nanos t = now();
      slice = std::min<u64>(slice, deadline > t ? std::max<u64>(1, (deadline - t) / kNsPerInsn) : 1);
    }
    const u64 before = m_cpu.state().icount;
    why = m_cpu.run(slice);
    m_door_polled = false;
    res.guest_insns += m_cpu.state().icount - before;
    m_sched.run_until(now());
    if (m_step_pending && m_cpu.state().icount != before && why != StopReason::Requested) {
      m_step_pending = false;
      return finish(StopKind::Stepped, 0, "");
    }
    // Console output without a newline (a shell prompt) must reach the host now, not when
    // the sink's buffer fills: flush once per slice (nothing to do when nothing was written).
    flush_serial();
    }

    switch (why) {
      case StopReason::Budget:
        break;
      case StopReason::Requested:
        // The debugger reads which breakpoint or watchpoint it was, then clears it.
        if (m_cpu.debugger_hit()) return finish(StopKind::Breakpoint, 0, "");
        if (m_power_off_requested) return finish(StopKind::PowerOff, kExitPowerOff, "guest powered off");
        if (m_sleep_requested >= 0) {
          // Sleep states keep RAM and wait for a wake event; this board has none (no RTC alarm,
          // power button or keyboard wake is wired to the PM1 status), so nothing could ever
          // resume the guest through its waking vector: the run ends as a dead halt does.
          char buf[200];
          std::snprintf(buf, sizeof buf,
                        "guest entered an ACPI sleep state (PM1a_CNT SLP_TYP %d, not S5): sleep states are not emulated and no wake event exists here",
                        m_sleep_requested);
          return finish(StopKind::HaltIdle, kExitHalted, buf);
        }
        if (m_exit_requested) {
          // exit() keeps the low 8 bits of the status, as QEMU's does.
          return finish(StopKind::DebugExit, static_cast<int>(*m_debug_exit.exit_status() & 0xFF), "");
        }
        if (m_reset_requested && m_cfg.no_reboot)
          return finish(StopKind::GuestReset, kExitPowerOff, "guest reset the machine (--no-reboot)");
        if (m_reset_requested) {
          // Logged once per run: a guest in a reset loop would flood the terminal.
          if (res.resets == 0) log_message("retrovisor: the guest reset the machine (further resets not logged)");
          res.resets++;
          reset();
        }
        break;
      case StopReason::Halted:
        return finish(StopKind::Halted, kExitHalted, "guest halted with interrupts disabled");
      case StopReason::HaltIdle: {
        // Interrupts are enabled: jump virtual time to the next event instead of spinning.
        // A CPU that no interrupt woke for kMaxIdleNs also ends the run (pc.h).
        const Nanos next = m_sched.next_deadline();
        if (m_idle_start == kNever || m_idle_since_icount != m_cpu.state().icount ||
            m_engine == Engine::Kvm) {
          m_idle_start = now();
          m_idle_since_icount = m_cpu.state().icount;
          m_idle_events = 0;
        }
        if (next == kNever)
          return finish(StopKind::HaltIdle, kExitHalted,
                        "guest halted with interrupts enabled and no device event pending");
        if (next - m_idle_start > kMaxIdleNs)
          return finish(StopKind::HaltIdle, kExitHalted,
                        "guest halted with interrupts enabled and no interrupt for 600 s of virtual time");
        if (!host_timed() && !m_cfg.pace && ++m_idle_events > kMaxIdleEvents)
          return finish(StopKind::HaltIdle, kExitHalted,
                        "guest halted with interrupts enabled and no interrupt for a million device events");
        if (host_timed()) {
          // Wait for the host clock, in short steps so serial input stays responsive.
          const Nanos t = now();
          if (next > t) host_sleep(std::min(next - t, kRealtimeMaxSleep));
        } else if (next > now()) {
          if (m_cfg.pace) {
            // Paced: wait as long in host time, in steps (input stays responsive); virtual
            // time advances by each step, so the sum is the same jump as unpaced.
            // A replay keeps the steps (the recorded positions count them) without the waits.
            const Nanos step = std::min(next - now(), kPacedMaxStep);
            if (!m_replay) {
              if (m_cfg.idle_wait) m_cfg.idle_wait(step);
              else host_sleep(step);
            }
            m_idle_ns += step;
          } else {
            m_idle_ns += next - now();
          }
        }
        m_sched.run_until(now());
        break;
      }
      case StopReason::TripleFault:
        if (m_cfg.on_triple_fault == TripleFaultAction::Stop)
          return finish(StopKind::TripleFault, kExitTripleFault, triple_fault_text());
        if (res.resets == 0)
          log_message("retrovisor: %s; resetting the machine (further resets not logged)", triple_fault_text().c_str());
        res.resets++;
        reset();
        break;
    }
  }
}

}  // namespace rv
