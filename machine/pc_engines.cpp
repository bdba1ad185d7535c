// The board's engines: which one runs the CPU, moving a running machine between them, and
// the KVM engine's run loop (exits served by the same devices as the interpreter's accesses).
//
// The CPU state lives in cpu().state() while the interpreter runs and in the vCPU while KVM
// does (m_kvm_live); a switch copies it whole (machine/kvm.h) at an instruction boundary.
// The interrupt controllers, timers and all other devices are the board's own objects under
// both engines, so a switch moves nothing else. Virtual time: see Pc::now().
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "machine/kvm.h"
#include "machine/pc.h"
#include "memory/log.h"

namespace rv {

namespace {
constexpr Nanos kKvmSliceNs = 10'000'000;   // back to the run loop (input, switches) this often
}

// The KVM engine times the guest by the host's clock. It is read here, through the
// frontend's clock when it gave one (--clock realtime), else the monotonic clock: a run
// under KVM is not repeatable anyway (docs/ARCHITECTURE.md "Engines").
Nanos Pc::host_clock() const {
  if (m_cfg.host_clock) return m_cfg.host_clock();
  return static_cast<Nanos>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

void Pc::host_sleep(Nanos ns) {
  if (m_cfg.host_sleep) return m_cfg.host_sleep(ns);
  std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

void Pc::setup_engines() {
  for (const EngineSwitch& sw : m_cfg.engine_switches) (sw.after_seconds ? m_after_switches : m_at_switches).push_back(sw);
  std::stable_sort(m_at_switches.begin(), m_at_switches.end(),
                   [](const EngineSwitch& a, const EngineSwitch& b) { return a.insns < b.insns; });
  std::stable_sort(m_after_switches.begin(), m_after_switches.end(),
                   [](const EngineSwitch& a, const EngineSwitch& b) { return a.seconds < b.seconds; });
  bool need_kvm = m_cfg.accel == Accel::Kvm || m_cfg.kvm_ready;
  for (const EngineSwitch& sw : m_cfg.engine_switches) need_kvm |= sw.to == Engine::Kvm;
  if (!need_kvm && m_cfg.accel != Accel::Auto) return;

  std::string why;
  m_kvm = KvmVcpu::open(m_mem, why, m_cfg.kvm_device);
  if (!m_kvm) {
    if (m_cfg.accel == Accel::Auto && !need_kvm) {
      m_accel_note = "--accel auto: KVM cannot be used (" + why + "); running on the interpreter";
      return;
    }
    throw ConfigError("the KVM engine cannot be used: " + why + "; use --accel interp");
  }
  if (!m_kvm->selftest_problem().empty()) {
    if (m_cfg.accel == Accel::Auto && !need_kvm) {
      m_accel_note = "--accel auto: the host's KVM fails its self-test (" + m_kvm->selftest_problem() +
                     "); running on the interpreter";
      m_kvm.reset();
      return;
    }
    log_message("retrovisor: warning: the host's KVM fails its self-test: %s. Under KVM a guest may stop with a "
                "KVM error there, or see a CPU other than the interpreter's",
                m_kvm->selftest_problem().c_str());
  }
  // One CPU model for both engines: what this model offers and KVM can run, so a guest
  // moved between them never loses a feature it saw in CPUID.
  const CpuFeatures f = m_kvm->supported(m_cfg.cpu);
  if (!(f == m_cfg.cpu)) {
    std::string lost;
    const CpuFeatures& w = m_cfg.cpu;
    const std::pair<bool, const char*> names[] = {
        {w.sse3 && !f.sse3, "SSE3"},     {w.ssse3 && !f.ssse3, "SSSE3"},   {w.sse41 && !f.sse41, "SSE4.1"},
        {w.sse42 && !f.sse42, "SSE4.2"}, {w.popcnt && !f.popcnt, "POPCNT"}, {w.cx16 && !f.cx16, "CMPXCHG16B"},
        {w.movbe && !f.movbe, "MOVBE"},  {w.lahf_lm && !f.lahf_lm, "LAHF-LM"}, {w.lzcnt && !f.lzcnt, "LZCNT"},
        {w.xsave && !f.xsave, "XSAVE"},  {w.xsaveopt && !f.xsaveopt, "XSAVEOPT"}, {w.pcid && !f.pcid, "PCID"},
        {w.rdtscp && !f.rdtscp, "RDTSCP"}};
    for (const auto& [gone, name] : names)
      if (gone) lost += std::string(lost.empty() ? "" : " ") + name;
    log_message("retrovisor: the host's KVM cannot run %s; neither engine offers it in this run", lost.c_str());
  }
  m_cpu.set_features(f);
  m_dev->platform.set_x2apic_supported(false);
  m_kvm->set_cpuid(m_cpu);
  if (m_kvm->tsc_khz()) m_tsc_khz = m_kvm->tsc_khz();
  if (m_cfg.accel != Accel::Interp) m_engine = Engine::Kvm;
  if (m_cfg.accel == Accel::Auto) m_accel_note = "--accel auto: running on KVM (" + m_kvm->describe() + ")";
  if (m_engine == Engine::Kvm) {
    m_kvm_t0 = 0;
    m_kvm_h0 = host_clock();
  }
}

bool Pc::request_engine(Engine e, std::string& why) {
  if (e == Engine::Kvm && !m_kvm) {
    why = "KVM is not open in this run (start with --accel interp,kvm, kvm or auto, or a --switch-engine option naming kvm)";
    return false;
  }
  m_engine_request = e;
  m_cpu.request_stop();
  return true;
}

std::optional<Engine> Pc::due_switch(Nanos host_elapsed) {
  if (m_engine_request) {
    Engine e = *m_engine_request;
    m_engine_request.reset();
    if (e != m_engine) return e;
  }
  while (m_next_at < m_at_switches.size() && m_cpu.state().icount >= m_at_switches[m_next_at].insns) {
    const Engine e = m_at_switches[m_next_at++].to;
    if (e != m_engine) return e;
  }
  while (m_next_after < m_after_switches.size() &&
         static_cast<double>(host_elapsed) / 1e9 >= m_after_switches[m_next_after].seconds) {
    const Engine e = m_after_switches[m_next_after++].to;
    if (e != m_engine) return e;
  }
  return std::nullopt;
}

u64 Pc::insns_to_next_switch() const {
  if (m_next_at >= m_at_switches.size()) return ~0ull;
  const u64 at = m_at_switches[m_next_at].insns, now_i = m_cpu.state().icount;
  return at > now_i ? at - now_i : 1;
}

Nanos Pc::host_time_to_next_switch(Nanos host_elapsed) const {
  if (m_next_after >= m_after_switches.size()) return kNever;
  const Nanos at = static_cast<Nanos>(m_after_switches[m_next_after].seconds * 1e9);
  return at > host_elapsed ? at - host_elapsed : 0;
}

void Pc::switch_engine(Engine to, RunResult& res) {
  if (to == m_engine) return;
  const Nanos t = now();
  if (to == Engine::Kvm) {
    m_kvm_t0 = t;
    m_kvm_h0 = host_clock();
    m_engine = Engine::Kvm;
    m_kvm_live = false;   // loaded at the start of the next KVM slice
  } else {
    if (m_kvm_live) kvm_take_state();
    m_engine = Engine::Interp;
    // The interpreter's clock continues from KVM's (now() = icount + m_idle_ns).
    m_idle_ns = t - static_cast<Nanos>(m_cpu.state().icount) * kNsPerInsn;
  }
  res.engine_switches++;
}

void Pc::kvm_give_state() {
  CpuState& s = m_cpu.state();
  m_kvm->refresh_rom();
  if (!m_cpu.a20()) RV_UNIMPLEMENTED("the A20 gate is closed, but KVM runs the guest with it open");
  m_kvm_entry_tsc = m_cpu.tsc();
  m_kvm->put_state(s, m_kvm_entry_tsc);
  m_kvm_halted = s.halted;
  m_kvm_cr8 = s.cr8;
  m_kvm_live = true;
}

void Pc::kvm_take_state() {
  CpuState& s = m_cpu.state();
  const u64 old_apic_base = s.apic_base;
  u64 tsc = 0;
  KvmVcpu::PendingEvent pending;
  m_kvm->get_state(s, tsc, pending);
  m_kvm_live = false;
  s.halted = m_kvm_halted;
  // The interpreter's TSC continues from KVM's (which differs from ours only if the guest
  // wrote it). A TSC that went backwards is a KVM that does not report it: ours continues.
  if (tsc >= m_kvm_entry_tsc) {
    s.tsc_offset = 0;
    s.tsc_offset = tsc - m_cpu.tsc();
  } else {
    RV_UNUSUAL("the host's KVM reports a guest TSC below the one it was given; the TSC continues from virtual time");
  }
  // Under KVM every guest write bypassed the code-page tracking: drop every decoded block.
  m_cpu.state_changed();
  if (s.apic_base != old_apic_base && m_cpu.platform()) m_cpu.platform()->apic_base_written(s.apic_base);
  if (pending.vector >= 0)
    m_cpu.inject_event(static_cast<u8>(pending.vector), pending.has_error, pending.error, pending.external);
}

void Pc::sync_cpu_state() {
  if (m_engine != Engine::Kvm || !m_kvm_live) return;
  u64 tsc = 0;
  KvmVcpu::PendingEvent pending;
  CpuState copy = m_cpu.state();
  m_kvm->get_state(copy, tsc, pending);
  copy.halted = m_kvm_halted;
  m_cpu.state() = copy;
}

// " at CS:RIP" of the instruction KVM stopped at, for messages (the CPU state synchronised).
std::string Pc::kvm_stop_place() {
  sync_cpu_state();
  char where[48];
  std::snprintf(where, sizeof where, " at %04x:%llx", m_cpu.state().seg[CS].sel,
                static_cast<unsigned long long>(m_cpu.state().rip));
  return where;
}

void Pc::serve_kvm_io(const KvmExit& x) {
  for (u32 i = 0; i < x.count; i++) {
    u8* p = x.data + static_cast<u64>(i) * x.size;
    if (x.write) {
      u32 v = 0;
      std::memcpy(&v, p, x.size);
      m_io.write(x.port, v, x.size);
    } else {
      const u32 v = m_io.read(x.port, x.size);
      std::memcpy(p, &v, x.size);
    }
  }
}

// Runs the CPU under KVM for up to kKvmSliceNs of host time. Before each KVM_RUN: an
// interrupt the board's controllers raise is injected when the guest can take it (else KVM
// is asked to exit when it can), and a host timer is set for the next device event, so the
// devices' timers fire on time while the guest runs without exits.
StopReason Pc::run_kvm_slice(RunResult& res, Nanos host_elapsed) {
  if (!m_kvm_live) {
    try {
      kvm_give_state();
    } catch (const std::exception& e) {
      m_engine_error = e.what();
      return StopReason::Requested;
    }
  }
  Nanos slice_end = now() + std::min(kKvmSliceNs, host_time_to_next_switch(host_elapsed));
  for (;;) {
    if (m_exit_requested || m_reset_requested || m_power_off_requested || m_sleep_requested >= 0 || m_engine_request)
      return StopReason::Requested;
    const Nanos t = now();
    m_sched.run_until(t);
    if (t >= slice_end) return StopReason::Budget;
    try {
      CpuState& s = m_cpu.state();   // devices raise NMIs here, also under KVM
      const bool nmi = s.nmi_pending;
      if (nmi) {
        s.nmi_pending = false;
        m_kvm->inject_nmi();
      }
      if (m_kvm_halted) {
        const bool wake = nmi || (m_cpu.intr() && m_kvm->interrupt_flag());
        if (!wake) return m_kvm->interrupt_flag() ? StopReason::HaltIdle : StopReason::Halted;
        m_kvm_halted = false;
        m_idle_start = kNever;
      }
      bool injected = false;
      if (m_cpu.intr() && m_kvm->can_inject()) {
        m_kvm->inject_interrupt(intr_acknowledge());
        injected = true;
      }
      const Nanos next = std::min(m_sched.next_deadline(), slice_end);
      m_kvm->kick_after(next > t ? next - t : 0);
      const KvmExit x = m_kvm->run(m_cpu.intr() && !injected);
      res.kvm_exits++;
      if (m_kvm->cr8() != m_kvm_cr8) {
        m_kvm_cr8 = m_kvm->cr8();
        if (m_cpu.platform()) m_cpu.platform()->tpr_written(m_kvm_cr8);
      }
      switch (x.kind) {
        case KvmExit::Kind::Io:
          serve_kvm_io(x);
          break;
        case KvmExit::Kind::Mmio:
          if (x.write) {
            u64 v = 0;
            std::memcpy(&v, x.data, x.size);
            m_mem.write(x.addr, v, x.size);
          } else {
            const u64 v = m_mem.read(x.addr, x.size);
            std::memcpy(x.data, &v, x.size);
          }
          break;
        case KvmExit::Kind::Halt:
          m_kvm_halted = true;
          break;
        case KvmExit::Kind::IrqWindow:
        case KvmExit::Kind::Kicked:
          break;
        case KvmExit::Kind::Shutdown:
          m_kvm_triple = "triple fault under KVM (shutdown)" + kvm_stop_place();
          return StopReason::TripleFault;
        case KvmExit::Kind::Failed:
          m_engine_error = "KVM engine: " + x.error + kvm_stop_place();
          return StopReason::Requested;
      }
    } catch (const std::exception& e) {
      m_engine_error = e.what();
      return StopReason::Requested;
    }
  }
}

}  // namespace rv
