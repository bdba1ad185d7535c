// Virtual time: events fire at the exact instruction their deadline maps to, a halted CPU
// jumps to the next event, and the TSC reads the same clock.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "machine/pc.h"

namespace rv {
namespace {

std::shared_ptr<const std::vector<u8>> rom(std::vector<u8> code) {
  auto v = std::make_shared<std::vector<u8>>(4096, 0xF4);
  for (size_t i = 0; i < code.size() && i < 16; i++) (*v)[4096 - 16 + i] = code[i];
  return v;
}

PcConfig config(std::vector<u8> code, u64 max_insns) {
  PcConfig c;
  c.ram_bytes = 2 * MiB;
  c.bios = rom(std::move(code));
  c.max_insns = max_insns;
  return c;
}

TEST(VirtualTime, EventFiresAtItsInstruction) {
  Pc pc(config({0xEB, 0xFE}, 5000));   // jmp $
  u64 fired_icount = 0;
  Nanos fired_at = 0;
  auto ev = pc.scheduler().register_event("probe", [&](u64, Nanos late) {
    fired_icount = pc.cpu().state().icount;
    fired_at = pc.scheduler().now();
    EXPECT_EQ(late, 0u);
  });
  pc.scheduler().schedule_at(ev, 1234);
  RunResult r = pc.run();
  EXPECT_EQ(r.kind, StopKind::InsnLimit);
  EXPECT_EQ(fired_icount, 1234u / Pc::kNsPerInsn);
  EXPECT_EQ(fired_at, 1234u);
}

TEST(VirtualTime, EventScheduledMidSliceShortensIt) {
  Pc pc(config({0xEB, 0xFE}, 100000));
  std::vector<u64> fired;
  Scheduler::EventId second = 0;
  second = pc.scheduler().register_event("second", [&](u64, Nanos) { fired.push_back(pc.cpu().state().icount); });
  auto first = pc.scheduler().register_event("first", [&](u64, Nanos) {
    fired.push_back(pc.cpu().state().icount);
    pc.scheduler().schedule_in(second, 10);
  });
  pc.scheduler().schedule_at(first, 50);
  pc.run();
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], 50u);
  EXPECT_EQ(fired[1], 60u);
}

// A device written in the middle of a CPU slice schedules an event 10 ns ahead: the slice
// must end in time for it to fire at exactly that instruction.
struct ArmingPort : PortDevice {
  Scheduler& sched;
  Scheduler::EventId ev;
  u64 armed_icount = 0;
  const Cpu& cpu;
  ArmingPort(Scheduler& s, Scheduler::EventId e, const Cpu& c) : sched(s), ev(e), cpu(c) {}
  u32 io_read(u16, unsigned) override { return 0; }
  void io_write(u16, u32, unsigned) override {
    armed_icount = cpu.state().icount;
    sched.schedule_in(ev, 10);
  }
};

TEST(VirtualTime, DeviceArmedMidSliceFiresOnTime) {
  Pc pc(config({0xB0, 0x01, 0xE6, 0x99, 0xEB, 0xFE}, 100000));   // mov al,1 ; out 0x99,al ; jmp $
  u64 fired_icount = 0;
  auto ev = pc.scheduler().register_event("armed", [&](u64, Nanos) { fired_icount = pc.cpu().state().icount; });
  ArmingPort port(pc.scheduler(), ev, pc.cpu());
  pc.io().map(0x99, 1, &port, "arming");
  pc.run();
  EXPECT_EQ(port.armed_icount, 1u);   // OUT is the second instruction: one retired before it
  EXPECT_EQ(fired_icount, port.armed_icount + 10);
}

TEST(VirtualTime, HaltedCpuJumpsToTheNextEvent) {
  Pc pc(config({0xFB, 0xF4, 0xEB, 0xFD}, 100));   // sti ; hlt ; jmp back to the hlt
  Nanos fired_at = 0;
  u64 fired_icount = 0;
  auto ev = pc.scheduler().register_event("wake", [&](u64, Nanos) {
    fired_at = pc.scheduler().now();
    fired_icount = pc.cpu().state().icount;
  });
  pc.scheduler().schedule_at(ev, 3 * kNsPerSec);
  RunResult r = pc.run();
  EXPECT_EQ(fired_at, 3 * kNsPerSec);
  EXPECT_LE(fired_icount, 2u);   // nothing executed while the clock jumped
  EXPECT_EQ(r.kind, StopKind::HaltIdle);   // nothing pending afterwards
  EXPECT_GE(pc.now(), 3 * kNsPerSec);
}

TEST(VirtualTime, TscFollowsTheClock) {
  // rdtsc ; mov ebx, eax ; rdtsc ; hlt   (cli first so HLT ends the run)
  Pc pc(config({0xFA, 0x0F, 0x31, 0x66, 0x89, 0xC3, 0x0F, 0x31, 0xF4}, 100));
  pc.run();
  const CpuState& s = pc.cpu().state();
  // The first RDTSC executes after 1 instruction (CLI), the second after 3.
  EXPECT_EQ(s.gpr[RBX] & 0xFFFFFFFF, 1u * Pc::kNsPerInsn);
  EXPECT_EQ(s.gpr[RAX] & 0xFFFFFFFF, 3u * Pc::kNsPerInsn);
}

}  // namespace
}  // namespace rv
