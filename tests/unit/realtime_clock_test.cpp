// --clock realtime: time follows the host clock the frontend provides, and a halted CPU waits
// for it (through host_sleep) instead of jumping ahead.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "machine/pc.h"

namespace rv {
namespace {

TEST(RealtimeClock, EventsFollowTheHostClockAndHaltsWait) {
  Nanos host = 5'000'000'000;   // arbitrary epoch: the machine's time starts at 0
  unsigned sleeps = 0;
  PcConfig c;
  c.ram_bytes = 2 * MiB;
  auto rom = std::make_shared<std::vector<u8>>(4096, 0xF4);
  const u8 code[] = {0xFB, 0xF4, 0xEB, 0xFD};   // sti ; hlt ; jmp back to the hlt
  for (size_t i = 0; i < sizeof code; i++) (*rom)[4096 - 16 + i] = code[i];
  c.bios = rom;
  c.max_insns = 1000;
  c.host_clock = [&] { return host; };
  c.host_sleep = [&](Nanos ns) {
    sleeps++;
    host += ns;   // the fake host clock moves only while the machine waits
  };
  Pc pc(c);
  Nanos fired_at = 0;
  auto ev = pc.scheduler().register_event("wake", [&](u64, Nanos) { fired_at = pc.scheduler().now(); });
  pc.scheduler().schedule_at(ev, 25'000'000);   // 25 ms
  EXPECT_EQ(pc.now(), 0u);
  RunResult r = pc.run();
  EXPECT_EQ(r.kind, StopKind::HaltIdle);
  EXPECT_GE(fired_at, 25'000'000u);
  EXPECT_LT(fired_at, 25'000'000u + Pc::kRealtimeMaxSleep);
  EXPECT_GE(sleeps, 3u);   // waited in steps of at most 10 ms
  EXPECT_LE(pc.cpu().state().icount, 4u);   // nothing executed while waiting
}

}  // namespace
}  // namespace rv
