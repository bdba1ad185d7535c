// Differential tests of the KVM engine against the interpreter (tests/kvm/).
//
// The interpreter is the reference (DESIGN.md decision 15): the same guest runs once on a
// Pc with Accel::Interp and once on a Pc with Accel::Kvm (or switching between them), and the
// whole architectural state at the end must agree, with the memory the guest wrote.
//
// KVM on a test host may be missing, refuse a capability, or (on a host whose KVM is itself
// emulated in software) hang or fail on some guests. So:
//   * kvm_probe() decides once per process whether KVM can be used: KvmVcpu::open on a small
//     PhysMemory, then a tiny 64-bit program run under KVM in a child process with a deadline.
//     Every test derived from KvmDiffTest skips with the reason when it cannot. It also
//     probes what this KVM cannot do like hardware (kvm_limits.cpp), for the tests to leave out.
//   * Every run that uses KVM happens in a forked child (run_isolated): a hang there is a
//     test failure naming the guest, not a stuck test binary, and the parent process never
//     opens a vCPU (the KVM engine's kick signal targets one vCPU per process).
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/state.h"
#include "machine/pc.h"
#include "tests/oracle/oracle.h"

namespace rv::kvmtest {

// What a run left: the board's verdict, the CPU state (exact: Pc::sync_cpu_state() was
// called), the guest memory the caller asked for, and what the devices saw.
struct Outcome {
  std::string note;              // the runner's own problem (timeout, crash, exception); "" if none
  StopKind kind = StopKind::Halted;
  int status = 0;
  std::string message;           // RunResult::message
  CpuState cpu;
  std::vector<u8> mem;           // guest-physical bytes, concatenated (see long_mode_env.h areas())
  std::string debugcon;          // port 0xE9 output
  u64 hook_writes = 0;           // writes to the test's hook port (long_mode_env.h)
  u32 engine_switches = 0;
  u64 kvm_exits = 0;
  Engine final_engine = Engine::Interp;
};

// The Outcome of a finished run: how it ended and the exact CPU state (synchronised from
// the vCPU if KVM holds it). Memory, debugcon output and hook counts are the caller's.
Outcome outcome_of(Pc& pc, const RunResult& r);

// Runs `fn` in a forked child and returns its Outcome. If the child does not finish within
// `timeout_s` it is killed; if it dies or throws, the returned Outcome's note says so.
Outcome run_isolated(const std::function<Outcome()>& fn, double timeout_s);

// KVM runs get this much host time each (a few million guest instructions per second on a
// software-emulated KVM; the guests here are a few thousand instructions).
constexpr double kKvmRunTimeout = 20.0;

struct KvmProbe {
  bool usable = false;
  std::string why;               // why not, for GTEST_SKIP
  CpuFeatures features;          // the CPU model both engines run: "max" less what KVM cannot offer
  std::string fpu_problem;       // KvmVcpu::selftest_problem(): x87/SSE cannot run under this KVM
  // What a KVM that is itself an emulator may get wrong (kvm_limits.cpp), each probed with a
  // small program whose result the SDM fixes:
  // templates it cannot run -> what happened;
  std::vector<std::pair<std::string, std::string>> template_limits;
  // a store that straddles into a read-only page writes its first bytes before the #PF
  // (hardware writes nothing); empty if not;
  std::string partial_store;
  // REPE/REPNE CMPS/SCAS cut short by a #PF: the frame's arithmetic flags are not those of
  // the last iteration done (SDM: each iteration sets them); empty if they are;
  std::string rep_flags;
  // a non-canonical access with an SS prefix but no RSP/RBP base raises #SS, where the host
  // CPU raises #GP (checked natively: SIGSEGV, not SIGBUS); empty if #GP;
  std::string ss_override;
  // the byte that fills unused code (a wild jump lands on it): INT3, or when this KVM cannot
  // deliver #BP, 0xD6 (#UD in 64-bit mode); `filler_why` says why.
  u8 filler = 0xCC;
  std::string filler_why;
  double seconds = 0;            // host time of the probe's 64-bit run
};
const KvmProbe& kvm_probe();
// The KVM device: RV_KVM_DEVICE, else /dev/kvm (a missing path shows the skip path).
std::string kvm_device();
// kvm_limits.cpp: fills the probe's limits (p.usable and p.features are set).
void probe_limits(KvmProbe& p);
// A program `code` with zeroed data and stack pages, registers zero but RSP (for probes).
oracle::Case probe_case(std::vector<u8> code);

// Base fixture: skips every test when KVM cannot be used.
class KvmDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const KvmProbe& p = kvm_probe();
    if (!p.usable) GTEST_SKIP() << p.why;
  }
};

// The seeds of a random test: `fallback` (or RV_KVM_PROGRAMS) seeds derived from `base`, a
// fixed list; or only RV_KVM_SEED when set (to re-run one program a failure named).
std::vector<u64> program_seeds(u64 base, unsigned fallback);

}  // namespace rv::kvmtest
