// Hpet: register-level tests against the IA-PC HPET specification 1.0a (§2.3), driven by a
// hand-advanced scheduler.
#include "devices/hpet.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv {
namespace {

// Records every level change on each input.
struct Recorder : IrqSink {
  struct Event { unsigned input; bool level; Nanos when; };
  std::vector<Event> events;
  std::array<bool, 32> level{};
  Scheduler* sched = nullptr;
  void set_irq(unsigned input, bool l) override {
    events.push_back({input, l, sched ? sched->now() : 0});
    level[input] = l;
  }
  unsigned rises(unsigned input) const {
    unsigned n = 0;
    for (const Event& e : events) n += e.input == input && e.level;
    return n;
  }
};

constexpr unsigned kLegacy0 = 30, kLegacy8 = 31;   // recorder inputs for the legacy lines

struct HpetTest : ::testing::Test {
  Scheduler sched;
  Recorder rec;
  std::vector<bool> legacy_calls;
  Hpet hpet{sched, make_lines(), [this](bool on) { legacy_calls.push_back(on); }};

  Hpet::Lines make_lines() {
    rec.sched = &sched;
    Hpet::Lines l;
    for (unsigned i = 0; i < 24; i++) l.gsi[i] = IrqLine(&rec, i);
    l.legacy_irq0 = IrqLine(&rec, kLegacy0);
    l.legacy_irq8 = IrqLine(&rec, kLegacy8);
    return l;
  }
  u64 rd(u64 reg) { return hpet.mmio_read(reg, 8); }
  void wr(u64 reg, u64 v) { hpet.mmio_write(reg, v, 8); }
  static u64 tcfg(unsigned n) { return Hpet::kRegTimer0 + Hpet::kTimerStride * n; }
  static u64 tcmp(unsigned n) { return tcfg(n) + 8; }
};

TEST_F(HpetTest, Capabilities) {
  u64 cap = rd(Hpet::kRegCap);
  EXPECT_EQ(cap >> 32, 10'000'000u);      // femtoseconds per tick, <= 100 ns (spec §2.3.4)
  EXPECT_EQ((cap >> 8) & 0x1F, 2u);       // three timers
  EXPECT_TRUE(cap & (1u << 13));          // 64-bit counter
  EXPECT_TRUE(cap & (1u << 15));          // legacy replacement capable
  EXPECT_EQ(hpet.mmio_read(Hpet::kRegCap + 4, 4), 10'000'000u);   // the high half alone
  u64 t0 = rd(tcfg(0));
  EXPECT_TRUE(t0 & Hpet::kTnPeriodicCap);
  EXPECT_TRUE(t0 & Hpet::kTnSize64Cap);
  EXPECT_EQ(t0 >> 32, Hpet::kRouteCap);
}

TEST_F(HpetTest, MainCounterRunsOnlyWhenEnabled) {
  sched.run_until(5000);
  EXPECT_EQ(rd(Hpet::kRegCounter), 0u);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(6000);
  EXPECT_EQ(rd(Hpet::kRegCounter), 100u);   // 1000 ns at 100 MHz
  wr(Hpet::kRegConfig, 0);
  sched.run_until(9000);
  EXPECT_EQ(rd(Hpet::kRegCounter), 100u);   // halted
  wr(Hpet::kRegCounter, 0x1'0000'0000ull);
  EXPECT_EQ(hpet.mmio_read(Hpet::kRegCounter + 4, 4), 1u);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(9100);
  EXPECT_EQ(hpet.mmio_read(Hpet::kRegCounter, 4), 10u);
}

TEST_F(HpetTest, OneShotComparatorEdge) {
  wr(tcfg(2), Hpet::kTnIntEnable | (20ull << Hpet::kTnRouteShift));
  wr(tcmp(2), 500);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(4999);
  EXPECT_EQ(rec.rises(20), 0u);
  sched.run_until(5000);
  EXPECT_EQ(rec.rises(20), 1u);
  EXPECT_FALSE(rec.level[20]);              // an edge: pulsed
  EXPECT_EQ(rd(Hpet::kRegStatus), 0u);      // edge mode leaves status alone
  sched.run_until(1'000'000);
  EXPECT_EQ(rec.rises(20), 1u);             // one shot
}

TEST_F(HpetTest, PeriodicWithValueSet) {
  // Linux's sequence: PERIODIC|VAL_SET, comparator = now + delta, then comparator = delta.
  wr(tcfg(2), Hpet::kTnIntEnable | Hpet::kTnPeriodic | Hpet::kTnValSet | (21ull << Hpet::kTnRouteShift));
  wr(tcmp(2), 100);
  wr(tcmp(2), 100);
  EXPECT_FALSE(rd(tcfg(2)) & Hpet::kTnValSet);   // cleared by the write
  EXPECT_EQ(rd(tcmp(2)), 100u);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  for (unsigned k = 1; k <= 3; k++) {
    sched.run_until(Nanos(k) * 1000 - 1);
    EXPECT_EQ(rec.rises(21), k - 1);
    sched.run_until(Nanos(k) * 1000);
    EXPECT_EQ(rec.rises(21), k);
    EXPECT_EQ(rd(tcmp(2)), 100u * (k + 1));     // advanced by the period
  }
  // A period write without VAL_SET changes the period, not the comparator.
  wr(tcmp(2), 50);
  EXPECT_EQ(rd(tcmp(2)), 400u);
  sched.run_until(4000);
  EXPECT_EQ(rd(tcmp(2)), 450u);
  sched.run_until(4500);
  EXPECT_EQ(rec.rises(21), 5u);
}

TEST_F(HpetTest, LegacyReplacementRouting) {
  wr(tcfg(0), Hpet::kTnIntEnable | (20ull << Hpet::kTnRouteShift));
  wr(tcfg(1), Hpet::kTnIntEnable | (21ull << Hpet::kTnRouteShift));
  wr(tcmp(0), 10);
  wr(tcmp(1), 20);
  wr(Hpet::kRegConfig, Hpet::kEnable | Hpet::kLegacy);
  ASSERT_EQ(legacy_calls.size(), 1u);
  EXPECT_TRUE(legacy_calls[0]);
  sched.run_until(1000);
  EXPECT_EQ(rec.rises(kLegacy0), 1u);
  EXPECT_EQ(rec.rises(kLegacy8), 1u);
  EXPECT_EQ(rec.rises(20) + rec.rises(21), 0u);   // the route fields are ignored
  wr(Hpet::kRegConfig, Hpet::kEnable);
  ASSERT_EQ(legacy_calls.size(), 2u);
  EXPECT_FALSE(legacy_calls[1]);
}

TEST_F(HpetTest, LevelStatusWriteOneToClear) {
  wr(tcfg(1), Hpet::kTnLevel | Hpet::kTnIntEnable | (22ull << Hpet::kTnRouteShift));
  wr(tcmp(1), 30);
  wr(tcfg(0), Hpet::kTnLevel);              // level, interrupt disabled: status only
  wr(tcmp(0), 40);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(300);
  EXPECT_EQ(rd(Hpet::kRegStatus), 2u);
  EXPECT_TRUE(rec.level[22]);               // held while status is set
  sched.run_until(400);
  EXPECT_EQ(rd(Hpet::kRegStatus), 3u);
  wr(Hpet::kRegStatus, 1);                  // clears only timer 0's bit
  EXPECT_EQ(rd(Hpet::kRegStatus), 2u);
  EXPECT_TRUE(rec.level[22]);
  wr(Hpet::kRegStatus, 2);
  EXPECT_EQ(rd(Hpet::kRegStatus), 0u);
  EXPECT_FALSE(rec.level[22]);
}

TEST_F(HpetTest, ThirtyTwoBitModeWraps) {
  wr(Hpet::kRegCounter, 0xFFFF'FFF0ull);
  wr(tcfg(2), Hpet::kTnIntEnable | Hpet::kTn32Bit | (23ull << Hpet::kTnRouteShift));
  wr(tcmp(2), 0x1'0000'0010ull);            // the high half is dropped in 32-bit mode
  EXPECT_EQ(rd(tcmp(2)), 0x10u);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(0x1F * 10);
  EXPECT_EQ(rec.rises(23), 0u);
  sched.run_until(0x20 * 10);               // counter 0x1'0000'0010: low half matches
  EXPECT_EQ(rec.rises(23), 1u);
}

TEST_F(HpetTest, SaveLoadSaveRoundTrip) {
  wr(tcfg(1), Hpet::kTnLevel | Hpet::kTnIntEnable | (22ull << Hpet::kTnRouteShift));
  wr(tcmp(1), 30);
  wr(Hpet::kRegConfig, Hpet::kEnable);
  sched.run_until(500);
  Hpet::State s = hpet.save();
  Scheduler sched2;
  Recorder rec2;
  Hpet::Lines lines;
  for (unsigned i = 0; i < 24; i++) lines.gsi[i] = IrqLine(&rec2, i);
  Hpet copy{sched2, lines};
  copy.load(s);
  EXPECT_EQ(copy.save(), s);
  EXPECT_TRUE(rec2.level[22]);              // load drives the level line again
}

}  // namespace
}  // namespace rv
