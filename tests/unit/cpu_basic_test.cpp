#include <gtest/gtest.h>

#include "tests/unit/cpu_env.h"

namespace rv::test {

TEST(CpuBasic, AddSetsCarryAndOverflow) {
  CpuEnv env;
  env.real_mode_code(0x1000, {0x66, 0x01, 0xD8});   // add eax, ebx
  env.cpu.state().gpr[RAX] = 0x7FFFFFFF;
  env.cpu.state().gpr[RBX] = 1;
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RAX], 0x80000000u);
  EXPECT_TRUE(env.cpu.of());
  EXPECT_FALSE(env.cpu.cf());
  EXPECT_TRUE(env.cpu.sf());
}

TEST(CpuBasic, LoopCountsAndSubBorrows) {
  CpuEnv env;
  // mov cx, 5; xor ax, ax; l: add ax, 3; loop l; sub ax, 16
  env.real_mode_code(0x1000, {0xB9, 0x05, 0x00, 0x31, 0xC0, 0x05, 0x03, 0x00, 0xE2, 0xFB, 0x2D, 0x10, 0x00});
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RAX] & 0xFFFF, 0xFFFFu);   // 15 - 16
  EXPECT_TRUE(env.cpu.cf());
  EXPECT_EQ(env.cpu.state().gpr[RCX] & 0xFFFF, 0u);
}

TEST(CpuBasic, SelfModifyingCodeSeesNewBytes) {
  CpuEnv env;
  // 0x1000: mov byte [0x1010], 0x42 ; jmp 0x1010 (via short jmp) ; at 0x1010: mov al, 0x00 ; hlt
  // First run executes 0x1010 once (al=0), then the patch changes the immediate to 0x42.
  std::vector<u8> code(0x20, 0x90);
  // run the target block first so it is cached
  code[0x00] = 0xE8; code[0x01] = 0x0D; code[0x02] = 0x00;          // call 0x1010
  code[0x03] = 0xC6; code[0x04] = 0x06; code[0x05] = 0x11; code[0x06] = 0x10; code[0x07] = 0x42;  // mov byte [0x1011], 0x42
  code[0x08] = 0xE8; code[0x09] = 0x05; code[0x0A] = 0x00;          // call 0x1010
  code[0x0B] = 0xF4;                                               // hlt
  code[0x10] = 0xB0; code[0x11] = 0x00;                              // mov al, 0
  code[0x12] = 0x88; code[0x13] = 0xC4;                              // mov ah, al
  code[0x14] = 0xC3;                                                 // ret
  env.real_mode_code(0x1000, code);
  env.cpu.state().gpr[RAX] = 0x1234;
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RAX] & 0xFFFF, 0x4242u);
}

TEST(CpuBasic, ClosedA20GateWrapsAtOneMebibyte) {
  CpuEnv env;
  // mov ax, 0xFFFF ; mov ds, ax ; mov al, [0x0020]   (linear 0x100010)
  env.real_mode_code(0x1000, {0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x20, 0x00});
  env.mem.write(0x000010, 0x11, 1);
  env.mem.write(0x100010, 0x22, 1);
  env.cpu.set_a20(false);
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RAX] & 0xFF, 0x11u);   // wrapped to 0x000010
  env.real_mode_code(0x1000, {0xB8, 0xFF, 0xFF, 0x8E, 0xD8, 0xA0, 0x20, 0x00});
  env.cpu.set_a20(true);
  EXPECT_EQ(env.run(), StopReason::Halted);
  EXPECT_EQ(env.cpu.state().gpr[RAX] & 0xFF, 0x22u);
}

}  // namespace rv::test
