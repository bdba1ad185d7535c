// The CPU asks the board (CpuPlatform) for the MSRs and CR8 behaviour of devices it does not
// know: x2APIC registers, TSC deadline, the TPR.
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

struct FakePlatform : CpuPlatform {
  u64 tpr_reg = 0x20, deadline = 0;
  std::vector<u64> tprs, bases;
  bool platform_read_msr(u32 index, u64& value) override {
    if (index == 0x808) { value = tpr_reg; return true; }
    return false;
  }
  bool platform_write_msr(u32 index, u64 value) override {
    if (index == 0x6E0) { deadline = value; return true; }
    return false;
  }
  void tpr_written(u64 cr8) override { tprs.push_back(cr8); }
  bool apic_base_written(u64 value) override {
    bases.push_back(value);
    return true;
  }
};

TEST(PlatformHooks, MsrsTheCoreDoesNotModelGoToTheBoard) {
  CpuEnv env;
  FakePlatform pf;
  env.cpu.set_platform(&pf);
  // mov ecx,0x808 ; rdmsr ; mov ebx,eax ; mov ecx,0x6E0 ; mov eax,0x1234 ; xor edx,edx ; wrmsr ;
  // mov ecx,0x1B ; rdmsr ; wrmsr (APIC base written back) ; hlt
  env.real_mode_code(0x1000, {0x66, 0xB9, 0x08, 0x08, 0x00, 0x00, 0x0F, 0x32, 0x66, 0x89, 0xC3,
                              0x66, 0xB9, 0xE0, 0x06, 0x00, 0x00, 0x66, 0xB8, 0x34, 0x12, 0x00, 0x00,
                              0x66, 0x31, 0xD2, 0x0F, 0x30,
                              0x66, 0xB9, 0x1B, 0x00, 0x00, 0x00, 0x0F, 0x32, 0x0F, 0x30});
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RBX] & 0xFFFFFFFF, 0x20u);
  EXPECT_EQ(pf.deadline, 0x1234u);
  ASSERT_EQ(pf.bases.size(), 1u);
  EXPECT_EQ(pf.bases[0], env.cpu.state().apic_base);
}

TEST(PlatformHooks, UnknownMsrStillFaults) {
  CpuEnv env;
  FakePlatform pf;
  env.cpu.set_platform(&pf);
  // An IVT entry for #GP (vector 13) pointing at a HLT at 0x3000.
  env.mem.write(13 * 4, 0x3000, 2);
  env.mem.write(13 * 4 + 2, 0, 2);
  env.mem.write(0x3000, 0xF4, 1);
  env.real_mode_code(0x1000, {0x66, 0xB9, 0x09, 0x08, 0x00, 0x00, 0x0F, 0x32});   // rdmsr 0x809
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().rip, 0x3001u);   // halted in the #GP handler
}

TEST(PlatformHooks, MovToCr8NotifiesTheBoard) {
  CpuEnv env;
  FakePlatform pf;
  env.cpu.set_platform(&pf);
  // Identity-map the first 2 MiB with one large page and enter 64-bit mode directly.
  env.mem.write(0x10000, 0x11000 | 3, 8);
  env.mem.write(0x11000, 0x12000 | 3, 8);
  env.mem.write(0x12000, 0x83, 8);
  std::vector<u8> code = {0x48, 0xC7, 0xC0, 0x09, 0x00, 0x00, 0x00,   // mov rax, 9
                          0x44, 0x0F, 0x22, 0xC0,                     // mov cr8, rax
                          0xF4};
  env.mem.write_bytes(0x1000, code.data(), code.size());
  CpuState& s = env.cpu.state();
  s.cr0 = kCr0Pe | kCr0Pg;
  s.cr4 = kCr4Pae;
  s.efer = kEferLme | kEferLma;
  s.cr3 = 0x10000;
  s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};
  s.seg[SS] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
  s.rip = 0x1000;
  s.halted = false;
  env.cpu.state_changed();
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(s.cr8, 9u);
  EXPECT_EQ(pf.tprs, (std::vector<u64>{9}));
}

}  // namespace
}  // namespace rv::test
