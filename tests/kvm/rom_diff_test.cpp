// The test ROMs under the interpreter and under KVM: the same port-0xE9 output, the same exit
// status and the same final state (compare.h: registers, RIP, RFLAGS, segments, system
// registers, MSRs, x87/SSE).
//   smc, repfault   self-modifying code and REP string instructions interrupted by #PF
//   kvmsum_int      a 64-bit checksum with the PIT ticking (integer only; ~15 M instructions,
//                   the slowest case under a software KVM)
//   kvmsum          the same with x87 and SSE (skipped where the KVM fails its x87/SSE self-test)
// A ROM that has not been built is skipped, saying so.
#include <gtest/gtest.h>

#include "tests/kvm/compare.h"
#include "tests/kvm/kvm_harness.h"
#include "tests/kvm/rom_run.h"

namespace rv::kvmtest {
namespace {

constexpr double kRomTimeout = 90.0;   // kvmsum_int takes ~17 s on a software KVM

class RomDiff : public KvmDiffTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    KvmDiffTest::SetUp();
    if (IsSkipped()) return;
    const std::string name = GetParam();
    if (!rom_exists(name)) GTEST_SKIP() << rom_path(name) << " does not exist (build the `roms` target)";
    if (name == "kvmsum" && !kvm_probe().fpu_problem.empty())
      GTEST_SKIP() << "kvmsum uses x87 and SSE, and this host's KVM fails its x87/SSE self-test ("
                   << kvm_probe().fpu_problem << "); kvmsum_int covers the rest";
  }
};

TEST_P(RomDiff, InterpreterAndKvmAgree) {
  const std::string name = GetParam();
  const CpuFeatures f = kvm_probe().features;
  RomSpec interp, kvm;
  kvm.accel = Accel::Kvm;
  const Outcome ref = run_rom(name, interp, f);
  ASSERT_EQ(ref.kind, StopKind::DebugExit) << name << " under the interpreter: " << ref.message;
  ASSERT_FALSE(ref.debugcon.empty());
  const Outcome got = run_isolated([&] { return run_rom(name, kvm, f); }, kRomTimeout);
  EXPECT_EQ(got.final_engine, Engine::Kvm);
  const std::string diff = compare(ref, got, CompareOptions{}, "interp", "kvm");
  EXPECT_TRUE(diff.empty()) << name << ": interp and kvm differ:\n"
                            << diff << "  interp end state:\n"
                            << brief_state(ref) << "  kvm end state:\n"
                            << brief_state(got);
}

INSTANTIATE_TEST_SUITE_P(Roms, RomDiff, ::testing::Values("smc", "repfault", "kvmsum_int", "kvmsum"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace rv::kvmtest
