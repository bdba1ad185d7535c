// Random programs from the oracle's generator, run by the interpreter and by KVM from the
// same 64-bit CPL-0 state (long_mode_env.h): the final state and memory must agree.
// RV_KVM_PROGRAMS sets the number of programs (default 100; the seeds are a fixed list),
// RV_KVM_SEED re-runs one. Templates this host's KVM cannot run like hardware are left out
// (long_mode_env.h kvm_templates, kvm_limits.cpp); the list is printed.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/kvm/kvm_harness.h"
#include "tests/kvm/long_mode_env.h"
#include "tests/kvm/program_check.h"

namespace rv::kvmtest {
namespace {

class RandomPrograms : public KvmDiffTest {};

TEST_F(RandomPrograms, InterpreterAndKvmAgree) {
  const KvmProbe& probe = kvm_probe();
  std::string excluded;
  const auto templates = kvm_templates(probe, &excluded);
  ASSERT_FALSE(templates.empty());
  std::printf("templates left out:\n%s", excluded.c_str());
  if (!probe.filler_why.empty()) std::printf("note: %s\n", probe.filler_why.c_str());
  if (!probe.partial_store.empty())
    std::printf("note: %s; the data page's last 16 bytes are not compared after such a #PF\n", probe.partial_store.c_str());
  if (!probe.rep_flags.empty())
    std::printf("note: %s; the arithmetic flags are not compared after a #PF inside REPx CMPS/SCAS\n",
                probe.rep_flags.c_str());
  if (!probe.ss_override.empty())
    std::printf("note: %s; programs ending so are not compared (counted below)\n", probe.ss_override.c_str());
  const std::vector<u64> seeds = program_seeds(0x4B564D00, 100);
  ProgramStats stats;
  unsigned not_on_kvm = 0;
  for (const u64 seed : seeds) {
    oracle::Case c;
    ASSERT_TRUE(make_case(seed, templates, 0, c)) << "seed " << seed;
    const Outcome ref = run_case(c, on_engine(Accel::Interp, probe.filler), probe.features);
    const Outcome kvm =
        run_isolated([&] { return run_case(c, on_engine(Accel::Kvm, probe.filler), probe.features); }, kKvmRunTimeout);
    check_program(c, ref, kvm, "kvm", stats);
    if (kvm.note.empty() && (kvm.final_engine != Engine::Kvm || kvm.kvm_exits == 0)) not_on_kvm++;
  }
  EXPECT_EQ(not_on_kvm, 0u) << "runs asked for KVM that ended on the interpreter or without a KVM exit";
  std::printf("%s", stats.summary().c_str());
  EXPECT_EQ(stats.failures, 0u);
  // Most programs run to their end (a broken environment would fault every time).
  EXPECT_GE(stats.ran_to_end, seeds.size() / 4);
}

}  // namespace
}  // namespace rv::kvmtest
