// The checking itself must be able to fail: an interpreter outcome compared with a copy of
// itself passes, every kind of change the KVM tests rely on is reported, and a run that hangs
// or crashes in its child process is reported as such. Needs no KVM.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "tests/kvm/compare.h"
#include "tests/kvm/long_mode_env.h"

namespace rv::kvmtest {
namespace {

Outcome sample() {
  KvmProbe all;   // the full model, nothing left out: any template works for the interpreter
  const auto templates = kvm_templates(all);
  oracle::Case c;
  EXPECT_TRUE(make_case(0xC0FFEE, templates, 1, c));
  return run_case(c, on_engine(Accel::Interp), CpuFeatures{});
}

TEST(CompareSelfTest, EqualOutcomesPass) {
  const Outcome a = sample();
  ASSERT_TRUE(a.note.empty()) << a.note;
  ASSERT_FALSE(a.mem.empty());
  EXPECT_EQ(compare(a, a, CompareOptions{}, "a", "b"), "");
}

TEST(CompareSelfTest, EveryKindOfDifferenceIsReported) {
  const Outcome a = sample();
  struct Change {
    const char* what;
    void (*apply)(Outcome&);
  };
  const Change changes[] = {
      {"r13", [](Outcome& o) { o.cpu.gpr[R13] ^= 1ull << 40; }},
      {"rip", [](Outcome& o) { o.cpu.rip += 1; }},
      {"rflags", [](Outcome& o) { o.cpu.rflags ^= kFlagRF; }},
      {"rflags", [](Outcome& o) { o.cpu.lazy = LazyFlags{}; o.cpu.rflags ^= kFlagZF; }},
      {"gs", [](Outcome& o) { o.cpu.seg[GS].base ^= 0x1000; }},
      {"cs", [](Outcome& o) { o.cpu.seg[CS].attr ^= 1; }},
      {"tr", [](Outcome& o) { o.cpu.tr.limit += 1; }},
      {"cr2", [](Outcome& o) { o.cpu.cr2 ^= 4; }},
      {"kernel_gs_base", [](Outcome& o) { o.cpu.kernel_gs_base ^= 8; }},
      {"mtrr_fixed[3]", [](Outcome& o) { o.cpu.mtrr_fixed[3] ^= 6; }},
      {"dr7", [](Outcome& o) { o.cpu.dr[7] ^= 1; }},
      {"xmm9", [](Outcome& o) { o.cpu.fpu.fxsave[160 + 16 * 9 + 15] ^= 0x80; }},
      {"mxcsr", [](Outcome& o) { o.cpu.fpu.fxsave[24] ^= 0x40; }},
      {"fip", [](Outcome& o) { o.cpu.fpu.fxsave[8] ^= 1; }},
      {"data byte", [](Outcome& o) { o.mem[2 * 4096 + 77] ^= 1; }},   // areas(): code (2 pages), data
      {"end of run", [](Outcome& o) { o.kind = StopKind::EngineError; }},
      {"debugcon", [](Outcome& o) { o.debugcon += "x"; }},
      {"hook-port writes", [](Outcome& o) { o.hook_writes++; }},
  };
  for (const Change& ch : changes) {
    Outcome b = a;
    ch.apply(b);
    const std::string d = compare(a, b, CompareOptions{}, "a", "b");
    EXPECT_NE(d.find(ch.what), std::string::npos) << "a change of " << ch.what << " was reported as:\n" << d;
  }
}

TEST(CompareSelfTest, UndefinedFlagsAndEmptyX87RegistersAreMasked) {
  Outcome a = sample();
  a.cpu.rflags = materialize_flags(a.cpu);
  a.cpu.lazy = LazyFlags{};
  Outcome b = a;
  b.cpu.rflags ^= kFlagAF;
  EXPECT_EQ(compare(a, b, CompareOptions{kFlagAF}, "a", "b"), "");
  EXPECT_NE(compare(a, b, CompareOptions{kFlagCF}, "a", "b"), "");
  // The C1 condition code (FSW bit 9) as the oracle's undefined bit kFccC1.
  b = a;
  b.cpu.fpu.fxsave[3] ^= 0x02;
  EXPECT_EQ(compare(a, b, CompareOptions{oracle::kFccC1}, "a", "b"), "");
  EXPECT_NE(compare(a, b, CompareOptions{}, "a", "b"), "");
  // An x87 register empty in both runs is not compared; a valid one is.
  b = a;
  a.cpu.fpu.fxsave[4] = b.cpu.fpu.fxsave[4] = 0;   // all empty
  b.cpu.fpu.fxsave[32] ^= 1;
  EXPECT_EQ(compare(a, b, CompareOptions{}, "a", "b"), "");
  a.cpu.fpu.fxsave[4] = b.cpu.fpu.fxsave[4] = 0xFF;
  EXPECT_NE(compare(a, b, CompareOptions{}, "a", "b"), "");
}

TEST(HarnessSelfTest, HungAndCrashedRunsAreReported) {
  const Outcome hung = run_isolated([] { sleep(30); return Outcome{}; }, 0.5);
  EXPECT_NE(hung.note.find("did not finish"), std::string::npos) << hung.note;
  const Outcome crashed = run_isolated([]() -> Outcome { kill(getpid(), SIGKILL); pause(); return {}; }, 10);
  EXPECT_NE(crashed.note.find("died with signal"), std::string::npos) << crashed.note;
  const Outcome threw = run_isolated([]() -> Outcome { throw std::runtime_error("boom"); }, 10);
  EXPECT_NE(threw.note.find("boom"), std::string::npos) << threw.note;
  // A run that finishes comes back whole.
  Outcome one;
  one.cpu.gpr[R9] = 0x123456789ull;
  one.debugcon = "text";
  one.mem = {1, 2, 3};
  const Outcome back = run_isolated([&] { return one; }, 10);
  EXPECT_EQ(back.note, "");
  EXPECT_EQ(back.cpu, one.cpu);
  EXPECT_EQ(back.debugcon, "text");
  EXPECT_EQ(back.mem, one.mem);
}

}  // namespace
}  // namespace rv::kvmtest
