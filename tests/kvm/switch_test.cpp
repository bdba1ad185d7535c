// Engine switches in the middle of a run (DESIGN.md decision 1: every engine leaves CpuState
// exact, so the machine can move between them at any instruction boundary) must end in the
// same state as the interpreter alone.
//   * Random programs with three `OUT 0xE0, AL` items inserted at random item boundaries; the
//     board's device at port 0xE0 asks for the other engine at each write (Pc::request_engine,
//     the way the monitor does). Half the programs start on the interpreter and also have a
//     PcConfig::engine_switches entry to KVM after a random number of interpreted
//     instructions; half start on KVM. The number of writes the device saw must match too:
//     an OUT executed twice (once by each engine) would show there.
//   * The smc and repfault ROMs: a switch to KVM after a third and after two thirds of the
//     interpreter's instructions (--switch-engine-at; it counts interpreted instructions only,
//     so it cannot bring the machine back), and a switch at every line the ROM prints (a
//     debugcon hook), starting on either engine.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/kvm/compare.h"
#include "tests/kvm/kvm_harness.h"
#include "tests/kvm/long_mode_env.h"
#include "tests/kvm/program_check.h"
#include "tests/kvm/rom_run.h"

namespace rv::kvmtest {
namespace {

class SwitchPrograms : public KvmDiffTest {};

TEST_F(SwitchPrograms, HookSwitchesEndInTheInterpretersState) {
  const KvmProbe& probe = kvm_probe();
  const auto templates = kvm_templates(probe);
  ASSERT_FALSE(templates.empty());
  const std::vector<u64> seeds = program_seeds(0x5357495400, 60);
  ProgramStats kvm_stats, sw_stats;
  unsigned i = 0;
  for (const u64 seed : seeds) {
    oracle::Case c;
    ASSERT_TRUE(make_case(seed, templates, 3, c)) << "seed " << seed;
    const Outcome ref = run_case(c, on_engine(Accel::Interp, probe.filler), probe.features);
    const Outcome kvm = run_isolated([&] { return run_case(c, on_engine(Accel::Kvm, probe.filler), probe.features); },
                                     kKvmRunTimeout);
    check_program(c, ref, kvm, "kvm", kvm_stats);
    RunSpec sw = on_engine(i % 2 ? Accel::Kvm : Accel::Interp, probe.filler);
    sw.toggle = true;
    sw.kvm_ready = true;
    if (i % 2 == 0) {
      oracle::Rng r(seed);
      sw.switches.push_back(EngineSwitch{false, 1 + r.below(static_cast<u32>(std::max<u64>(ref.cpu.icount, 1))), 0,
                                         Engine::Kvm});
    }
    const Outcome got = run_isolated([&] { return run_case(c, sw, probe.features); }, kKvmRunTimeout);
    check_program(c, ref, got, i % 2 ? "kvm->interp->... switching" : "interp->kvm->... switching", sw_stats);
    i++;
  }
  std::printf("kvm alone: %s", kvm_stats.summary().c_str());
  std::printf("switching: %s", sw_stats.summary().c_str());
  EXPECT_EQ(kvm_stats.failures, 0u);
  EXPECT_EQ(sw_stats.failures, 0u);
  // The switches happened: about one per hook write that ran, plus the planned ones.
  EXPECT_GE(sw_stats.engine_switches, seeds.size());
}

class SwitchRoms : public KvmDiffTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(SwitchRoms, SwitchesEndInTheInterpretersState) {
  const std::string name = GetParam();
  if (!rom_exists(name)) GTEST_SKIP() << rom_path(name) << " does not exist (build the `roms` target)";
  const CpuFeatures f = kvm_probe().features;
  const Outcome ref = run_rom(name, RomSpec{}, f);
  ASSERT_EQ(ref.kind, StopKind::DebugExit) << name << " under the interpreter: " << ref.message;
  const u64 n = ref.cpu.icount;
  ASSERT_GT(n, 3u);
  struct Schedule {
    std::string what;
    RomSpec spec;
    u32 min_switches;
  };
  std::vector<Schedule> schedules;
  for (u64 at : {n / 3, 2 * n / 3}) {
    RomSpec s;
    s.switches.push_back(EngineSwitch{false, at, 0, Engine::Kvm});
    schedules.push_back({"interp, then kvm after " + std::to_string(at) + " instructions", s, 1});
  }
  RomSpec toggle;
  toggle.toggle_on_newline = true;
  schedules.push_back({"interp, switching at every line printed", toggle, 2});
  toggle.accel = Accel::Kvm;
  schedules.push_back({"kvm, switching at every line printed", toggle, 2});
  for (const Schedule& s : schedules) {
    const Outcome got = run_isolated([&] { return run_rom(name, s.spec, f); }, 60.0);
    const std::string diff = compare(ref, got, CompareOptions{}, "interp", "switching");
    EXPECT_TRUE(diff.empty()) << name << ", " << s.what << ": differs from the interpreter alone:\n"
                              << diff << "  interp end state:\n"
                              << brief_state(ref) << "  switching run's end state:\n"
                              << brief_state(got);
    EXPECT_GE(got.engine_switches, s.min_switches) << name << ", " << s.what;
  }
}

INSTANTIATE_TEST_SUITE_P(Roms, SwitchRoms, ::testing::Values("smc", "repfault"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace rv::kvmtest
