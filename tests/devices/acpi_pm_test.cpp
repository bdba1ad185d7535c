// AcpiPm: PM timer, PM1 status/enable/control and the reset register (ACPI spec 6.x §4.8).
#include "devices/acpi_pm.h"

#include <gtest/gtest.h>

namespace rv {
namespace {

struct Sci : IrqSink {
  bool level = false;
  int rises = 0;
  void set_irq(unsigned, bool l) override {
    rises += l && !level;
    level = l;
  }
};

constexpr u8 kS5 = 5;

struct AcpiPmTest : ::testing::Test {
  Scheduler sched;
  Sci sci;
  int power_offs = 0, resets = 0;
  AcpiPm pm{sched, IrqLine(&sci, 9), AcpiPm::Config{kS5, 0x06, false}, [this] { power_offs++; }, [this] { resets++; }};

  // The time at which the PM timer reaches `ticks` (rounded up).
  static Nanos at_tick(u64 ticks) { return static_cast<Nanos>((ticks * kNsPerSec + AcpiPm::kTimerHz - 1) / AcpiPm::kTimerHz); }
  u32 rd(u16 off, unsigned size) { return pm.io_read(off, size); }
  void wr(u16 off, u32 v, unsigned size) { pm.io_write(off, v, size); }
};

TEST_F(AcpiPmTest, TimerRateAndWrap24) {
  sched.run_until(kNsPerSec);
  EXPECT_EQ(rd(AcpiPm::kRegTmr, 4), 3'579'545u);
  sched.run_until(at_tick((1u << 24) + 5));
  EXPECT_EQ(rd(AcpiPm::kRegTmr, 4), 5u);                 // 24 bits wide
  EXPECT_EQ(rd(AcpiPm::kRegTmr + 1, 1), 0u);             // byte reads of the timer
}

TEST(AcpiPmTimer32, Wraps32) {
  Scheduler sched;
  Sci sci;
  AcpiPm pm{sched, IrqLine(&sci, 9), AcpiPm::Config{kS5, 0x06, true}, nullptr, nullptr};
  u64 ticks = (1ull << 24) + 7;
  sched.run_until(static_cast<Nanos>((ticks * kNsPerSec + AcpiPm::kTimerHz - 1) / AcpiPm::kTimerHz));
  EXPECT_EQ(pm.io_read(AcpiPm::kRegTmr, 4), (1u << 24) + 7);
}

TEST_F(AcpiPmTest, TimerOverflowStatusAndSci) {
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2) & AcpiPm::kTmrSts, 0u);
  sched.run_until(at_tick(1u << 23) - 1);
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2) & AcpiPm::kTmrSts, 0u);
  sched.run_until(at_tick(1u << 23));                   // bit 23 changes
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2) & AcpiPm::kTmrSts, AcpiPm::kTmrSts);
  EXPECT_FALSE(sci.level);                              // TMR_EN is clear
  wr(AcpiPm::kRegSts, AcpiPm::kTmrSts, 2);              // write 1 to clear
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2) & AcpiPm::kTmrSts, 0u);
  wr(AcpiPm::kRegEn, AcpiPm::kTmrSts, 2);               // TMR_EN
  EXPECT_EQ(rd(AcpiPm::kRegEn, 2), AcpiPm::kTmrSts);
  sched.run_until(at_tick(2u << 23) - 1);
  EXPECT_FALSE(sci.level);
  sched.run_until(at_tick(2u << 23));                   // the event raises the SCI
  EXPECT_TRUE(sci.level);
  wr(AcpiPm::kRegSts, AcpiPm::kTmrSts, 2);
  EXPECT_FALSE(sci.level);
}

TEST_F(AcpiPmTest, PowerButtonAndSciEnable) {
  pm.press_power_button();
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2), AcpiPm::kPwrBtnSts);
  EXPECT_FALSE(sci.level);
  wr(AcpiPm::kRegSts, 0x0001'0000u | 0, 4);             // a dword write: PM1_EN = 1 (TMR_EN) only
  EXPECT_EQ(rd(AcpiPm::kRegEn, 2), AcpiPm::kTmrSts);
  wr(AcpiPm::kRegEn + 1, AcpiPm::kPwrBtnSts >> 8, 1);   // byte write to PM1_EN's high half
  EXPECT_EQ(rd(AcpiPm::kRegEn, 2), AcpiPm::kTmrSts | AcpiPm::kPwrBtnSts);
  EXPECT_TRUE(sci.level);
  wr(AcpiPm::kRegCnt, 0, 2);                            // SCI_EN off: no SCI
  EXPECT_FALSE(sci.level);
  wr(AcpiPm::kRegCnt, AcpiPm::kSciEn, 2);
  EXPECT_TRUE(sci.level);
  wr(AcpiPm::kRegSts, AcpiPm::kPwrBtnSts, 2);
  EXPECT_FALSE(sci.level);
  EXPECT_EQ(rd(AcpiPm::kRegSts, 2), 0u);
}

TEST_F(AcpiPmTest, SlpEnWithS5PowersOff) {
  EXPECT_EQ(rd(AcpiPm::kRegCnt, 2), AcpiPm::kSciEn);    // ACPI mode from reset
  wr(AcpiPm::kRegCnt, AcpiPm::kSciEn | (1u << AcpiPm::kSlpTypShift), 2);   // type only
  EXPECT_EQ(power_offs, 0);
  wr(AcpiPm::kRegCnt, AcpiPm::kSciEn | (3u << AcpiPm::kSlpTypShift) | AcpiPm::kSlpEn, 2);   // S3: not emulated
  EXPECT_EQ(power_offs, 0);
  wr(AcpiPm::kRegCnt, AcpiPm::kSciEn | (u32(kS5) << AcpiPm::kSlpTypShift) | AcpiPm::kSlpEn, 2);
  EXPECT_EQ(power_offs, 1);
  EXPECT_EQ(rd(AcpiPm::kRegCnt, 2) & AcpiPm::kSlpEn, 0u);   // SLP_EN reads 0
  EXPECT_EQ((rd(AcpiPm::kRegCnt, 2) >> AcpiPm::kSlpTypShift) & 7, kS5);
}

TEST_F(AcpiPmTest, ResetRegister) {
  pm.reset_register().io_write(0, 0x02, 1);
  EXPECT_EQ(resets, 0);
  pm.reset_register().io_write(0, 0x06, 1);
  EXPECT_EQ(resets, 1);
}

TEST_F(AcpiPmTest, SaveLoadSaveRoundTrip) {
  wr(AcpiPm::kRegEn, AcpiPm::kPwrBtnSts, 2);
  pm.press_power_button();
  sched.run_until(at_tick(1u << 23));
  AcpiPm::State s = pm.save();
  Scheduler sched2;
  Sci sci2;
  AcpiPm copy{sched2, IrqLine(&sci2, 9), AcpiPm::Config{kS5, 0x06, false}, nullptr, nullptr};
  copy.load(s);
  EXPECT_EQ(copy.save(), s);
  EXPECT_TRUE(sci2.level);                              // load drives the SCI
}

}  // namespace
}  // namespace rv
