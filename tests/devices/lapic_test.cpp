// Lapic: register-level tests against Intel SDM Vol.3A ch.10 (priorities §10.8, timer
// §10.5.4, x2APIC §10.12), driven by a hand-advanced scheduler.
#include "devices/lapic.h"

#include "devices/ioapic.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv {
namespace {

constexpr u64 kTimerHz = 100'000'000;   // 10 ns per bus clock

struct LapicTest : ::testing::Test {
  Scheduler sched;
  int nmis = 0;
  std::vector<u8> eois;
  Lapic apic{sched, Lapic::Config{0, true, kTimerHz},
             Lapic::Callbacks{[this] { nmis++; }, [this](u8 v) { eois.push_back(v); }, nullptr,
                              [](u64 tsc) -> Nanos { return tsc / 2; }}};   // a 2 GHz TSC

  u32 rd(u32 reg) { return static_cast<u32>(apic.mmio_read(reg, 4)); }
  void wr(u32 reg, u32 v) { apic.mmio_write(reg, v, 4); }
  bool irr(u8 v) { return rd(Lapic::kRegIrr + (v >> 5) * 0x10) & (1u << (v & 31)); }
  bool isr(u8 v) { return rd(Lapic::kRegIsr + (v >> 5) * 0x10) & (1u << (v & 31)); }
  bool tmr(u8 v) { return rd(Lapic::kRegTmr + (v >> 5) * 0x10) & (1u << (v & 31)); }
  void enable() { wr(Lapic::kRegSvr, 0x1FF); }
  void run(Nanos t) { sched.run_until(t); }
};

TEST_F(LapicTest, ResetState) {
  EXPECT_EQ(rd(Lapic::kRegVersion), 0x00050014u);
  EXPECT_EQ(rd(Lapic::kRegSvr), 0xFFu);
  EXPECT_EQ(rd(Lapic::kRegDfr), 0xFFFFFFFFu);
  EXPECT_EQ(rd(Lapic::kRegLvtTimer), Lapic::kLvtMasked);
  EXPECT_EQ(rd(Lapic::kRegLvtError), Lapic::kLvtMasked);
  EXPECT_EQ(rd(Lapic::kRegLvtLint0), 0x700u);   // ExtINT (virtual wire)
  EXPECT_EQ(rd(Lapic::kRegLvtLint1), 0x400u);   // NMI
  EXPECT_EQ(apic.apic_base(), 0xFEE00000ull | Lapic::kBaseEnable | Lapic::kBaseBsp);
}

TEST_F(LapicTest, PriorityIsrAndEoi) {
  enable();
  apic.accept(0x45, false);
  apic.accept(0x32, false);
  ASSERT_TRUE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0x45);
  EXPECT_TRUE(isr(0x45));
  EXPECT_FALSE(irr(0x45));
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x40u);
  EXPECT_FALSE(apic.has_interrupt());   // 0x32 is below the in-service class
  apic.accept(0x41, false);
  EXPECT_FALSE(apic.has_interrupt());   // same class as in service: held
  apic.accept(0x51, false);
  ASSERT_TRUE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0x51);
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x50u);
  wr(Lapic::kRegEoi, 0);                // ends 0x51, the highest in service
  EXPECT_FALSE(isr(0x51));
  EXPECT_TRUE(isr(0x45));
  wr(Lapic::kRegEoi, 0);
  EXPECT_EQ(rd(Lapic::kRegPpr), 0u);
  EXPECT_TRUE(eois.empty());            // edge-triggered: no EOI broadcast
  wr(Lapic::kRegTpr, 0x4F);             // TPR class 4 blocks 0x41, and 0x32
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x4Fu);
  EXPECT_FALSE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0xFF);  // spurious vector, nothing moves
  EXPECT_TRUE(irr(0x41));
  wr(Lapic::kRegTpr, 0x30);
  EXPECT_EQ(apic.acknowledge(), 0x41);
}

TEST_F(LapicTest, PprTakesTprWhenItsClassIsNotBelowIsr) {
  enable();
  apic.accept(0x45, false);
  EXPECT_EQ(apic.acknowledge(), 0x45);
  wr(Lapic::kRegTpr, 0x4F);             // same class as in service: PPR = TPR (SDM §10.8.3.1)
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x4Fu);
  wr(Lapic::kRegTpr, 0x3F);             // lower class: PPR = ISRV[7:4] << 4
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x40u);
  wr(Lapic::kRegTpr, 0x52);
  EXPECT_EQ(rd(Lapic::kRegPpr), 0x52u);
}

TEST_F(LapicTest, LevelEoiIsBroadcast) {
  enable();
  apic.accept(0x60, true);
  EXPECT_TRUE(tmr(0x60));
  EXPECT_EQ(apic.acknowledge(), 0x60);
  wr(Lapic::kRegEoi, 0);
  ASSERT_EQ(eois.size(), 1u);
  EXPECT_EQ(eois[0], 0x60);
  apic.accept(0x60, false);             // edge acceptance clears the TMR bit
  EXPECT_FALSE(tmr(0x60));
}

TEST_F(LapicTest, SoftwareDisableMasksLvtAndHoldsInterrupts) {
  apic.accept(0x70, false);
  EXPECT_FALSE(apic.has_interrupt());   // SVR bit 8 clear after reset
  wr(Lapic::kRegLvtTimer, 0x30);
  EXPECT_EQ(rd(Lapic::kRegLvtTimer), 0x30u | Lapic::kLvtMasked);
  enable();
  EXPECT_TRUE(apic.has_interrupt());
  wr(Lapic::kRegLvtTimer, 0x30);
  EXPECT_EQ(rd(Lapic::kRegLvtTimer), 0x30u);
  wr(Lapic::kRegSvr, 0x0FF);
  EXPECT_EQ(rd(Lapic::kRegLvtTimer), 0x30u | Lapic::kLvtMasked);
}

TEST_F(LapicTest, OneShotTimer) {
  enable();
  wr(Lapic::kRegDivide, 0x0);           // divide by 2: 20 ns per count
  wr(Lapic::kRegLvtTimer, 0x30);
  wr(Lapic::kRegInitialCount, 1000);
  run(10'000);
  EXPECT_EQ(rd(Lapic::kRegCurrentCount), 500u);
  run(19'999);
  EXPECT_FALSE(irr(0x30));
  run(20'000);
  EXPECT_TRUE(irr(0x30));
  EXPECT_EQ(rd(Lapic::kRegCurrentCount), 0u);
  EXPECT_EQ(rd(Lapic::kRegInitialCount), 1000u);
  EXPECT_EQ(apic.acknowledge(), 0x30);
  run(100'000);
  EXPECT_FALSE(irr(0x30));              // one shot only
}

TEST_F(LapicTest, PeriodicTimerReloads) {
  enable();
  wr(Lapic::kRegDivide, 0xB);           // divide by 1
  wr(Lapic::kRegLvtTimer, (Lapic::kPeriodic << 17) | 0x31);
  wr(Lapic::kRegInitialCount, 100);     // 1000 ns
  for (int k = 1; k <= 3; k++) {
    run(Nanos(k) * 1000 - 1);
    EXPECT_FALSE(irr(0x31)) << k;
    run(Nanos(k) * 1000);
    EXPECT_TRUE(irr(0x31)) << k;
    EXPECT_EQ(apic.acknowledge(), 0x31);
    wr(Lapic::kRegEoi, 0);
  }
  run(3250);
  EXPECT_EQ(rd(Lapic::kRegCurrentCount), 75u);
  wr(Lapic::kRegInitialCount, 0);       // stops the timer
  run(10'000);
  EXPECT_FALSE(irr(0x31));
}

TEST_F(LapicTest, PeriodicTimerCollapsesMissedPeriods) {
  int changes = 0;
  Scheduler s2;
  Lapic fast{s2, Lapic::Config{0, true, kTimerHz}, Lapic::Callbacks{nullptr, nullptr, [&] { changes++; }, nullptr}};
  EXPECT_EQ(changes, 0);                 // construction does not call back
  fast.mmio_write(Lapic::kRegSvr, 0x1FF, 4);
  fast.mmio_write(Lapic::kRegDivide, 0xB, 4);
  fast.mmio_write(Lapic::kRegLvtTimer, (Lapic::kPeriodic << 17) | 0x34, 4);
  fast.mmio_write(Lapic::kRegInitialCount, 1, 4);   // a 10 ns period
  int before = changes;
  s2.run_until(1'000'000);               // 100000 periods late: one expiry, not 100000
  EXPECT_EQ(changes - before, 1);
  EXPECT_EQ(s2.next_deadline(), 1'000'010u);
  EXPECT_EQ(fast.acknowledge(), 0x34);
}

TEST_F(LapicTest, DivideValues) {
  enable();
  const std::pair<u32, unsigned> table[] = {{0x0, 2},  {0x1, 4},  {0x2, 8},   {0x3, 16},
                                            {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1}};
  for (auto [dcr, div] : table) {
    wr(Lapic::kRegDivide, dcr);
    EXPECT_EQ(rd(Lapic::kRegDivide), dcr);
    wr(Lapic::kRegLvtTimer, 0x32);
    Nanos start = sched.now();
    wr(Lapic::kRegInitialCount, 10);
    Nanos due = start + Nanos(10) * div * 10;
    run(due - 1);
    EXPECT_FALSE(irr(0x32)) << "divide " << div;
    run(due);
    EXPECT_TRUE(irr(0x32)) << "divide " << div;
    apic.acknowledge();
    wr(Lapic::kRegEoi, 0);
  }
}

TEST_F(LapicTest, TscDeadlineTimer) {
  enable();
  apic.set_tsc_deadline(1000);          // one-shot mode: ignored, reads 0
  EXPECT_EQ(apic.tsc_deadline(), 0u);
  wr(Lapic::kRegLvtTimer, (Lapic::kTscDeadline << 17) | 0x33);
  wr(Lapic::kRegInitialCount, 5);       // ignored in TSC-deadline mode
  EXPECT_EQ(rd(Lapic::kRegInitialCount), 0u);
  apic.set_tsc_deadline(10'000);        // TSC 10000 = 5000 ns
  EXPECT_EQ(apic.tsc_deadline(), 10'000u);
  run(4999);
  EXPECT_FALSE(irr(0x33));
  run(5000);
  EXPECT_TRUE(irr(0x33));
  EXPECT_EQ(apic.tsc_deadline(), 0u);   // cleared when it fires
  apic.acknowledge();
  wr(Lapic::kRegEoi, 0);
  apic.set_tsc_deadline(100);           // already past: fires at once
  run(sched.now());
  EXPECT_TRUE(irr(0x33));
  apic.acknowledge();
  wr(Lapic::kRegEoi, 0);
  apic.set_tsc_deadline(20'000);
  apic.set_tsc_deadline(0);             // 0 disarms
  run(50'000);
  EXPECT_FALSE(irr(0x33));
  apic.set_tsc_deadline(200'000);
  wr(Lapic::kRegLvtTimer, 0x33);        // back to one-shot: disarmed and cleared
  EXPECT_EQ(apic.tsc_deadline(), 0u);
  run(200'000);
  EXPECT_FALSE(irr(0x33));
}

TEST_F(LapicTest, SelfIpiThroughIcr) {
  enable();
  wr(Lapic::kRegIcrLow, (1u << 18) | 0x40);   // shorthand self, fixed
  EXPECT_TRUE(irr(0x40));
  wr(Lapic::kRegIcrHigh, 0x00000000);         // destination = our ID 0
  wr(Lapic::kRegIcrLow, 0x41);
  EXPECT_TRUE(irr(0x41));
  EXPECT_EQ(rd(Lapic::kRegIcrLow) & (1u << 12), 0u);   // delivery status idle
  wr(Lapic::kRegIcrLow, (2u << 18) | (4u << 8));       // NMI to all including self
  EXPECT_EQ(nmis, 1);
  wr(Lapic::kRegIcrLow, (1u << 18) | 0x05);            // illegal vector
  EXPECT_FALSE(irr(0x05));
  wr(Lapic::kRegEsr, 0);
  EXPECT_EQ(rd(Lapic::kRegEsr), Lapic::kEsrSendIllegalVector);
  wr(Lapic::kRegEsr, 0);
  EXPECT_EQ(rd(Lapic::kRegEsr), 0u);
}

TEST_F(LapicTest, IllegalVectorReceivedSetsEsr) {
  enable();
  wr(Lapic::kRegLvtError, 0xFE);
  apic.accept(0x07, false);
  EXPECT_FALSE(irr(0x07));
  EXPECT_TRUE(irr(0xFE));               // the error LVT fired
  wr(Lapic::kRegEsr, 0);
  EXPECT_EQ(rd(Lapic::kRegEsr), Lapic::kEsrReceiveIllegalVector);
}

TEST_F(LapicTest, X2apicMsrs) {
  EXPECT_FALSE(apic.msr_read(0x802));   // xAPIC mode: the MSRs #GP
  ASSERT_TRUE(apic.set_apic_base(Lapic::kBase | Lapic::kBaseEnable | Lapic::kBaseExtd));
  EXPECT_TRUE(apic.x2apic());
  EXPECT_EQ(apic.msr_read(0x802), 0u);
  EXPECT_EQ(apic.msr_read(0x803), 0x00050014u);
  EXPECT_EQ(apic.msr_read(0x80D), 1u);  // LDR derived from ID 0: cluster 0, bit 0
  EXPECT_FALSE(apic.msr_write(0x802, 5));      // ID read only
  EXPECT_FALSE(apic.msr_read(0x80E));          // no DFR in x2APIC mode
  EXPECT_FALSE(apic.msr_read(0x80B));          // EOI is write only
  EXPECT_FALSE(apic.msr_read(0x83F));          // SELF IPI is write only
  EXPECT_FALSE(apic.msr_write(0x80B, 1));      // EOI must be written with 0
  EXPECT_FALSE(apic.msr_write(0x808, 1ull << 32));   // reserved bits
  EXPECT_TRUE(apic.msr_write(0x80F, 0x1FF));
  EXPECT_TRUE(apic.msr_write(0x83F, 0x50));    // self IPI
  EXPECT_TRUE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0x50);
  EXPECT_EQ(apic.msr_read(0x810 + (0x50 >> 5)), 1ull << (0x50 & 31));   // ISR
  EXPECT_TRUE(apic.msr_write(0x80B, 0));
  EXPECT_EQ(apic.msr_read(0x80A), 0u);         // PPR back to 0
  EXPECT_TRUE(apic.msr_write(0x830, 0x00000000'00000052ull));   // 64-bit ICR, dest 0
  EXPECT_EQ(apic.msr_read(0x830), 0x52u);
  EXPECT_EQ(apic.acknowledge(), 0x52);
  EXPECT_FALSE(apic.msr_write(0x839, 0));      // current count is read only
  EXPECT_TRUE(apic.msr_write(0x838, 1000));
  EXPECT_EQ(apic.msr_read(0x838), 1000u);
  EXPECT_EQ(apic.mmio_read(Lapic::kRegVersion, 4), 0xFFFFFFFFu);   // MMIO interface is off: nothing beneath (all ones)
  // x2APIC -> xAPIC is invalid; x2APIC -> disabled -> xAPIC is fine.
  EXPECT_FALSE(apic.set_apic_base(Lapic::kBase | Lapic::kBaseEnable));
  EXPECT_TRUE(apic.set_apic_base(Lapic::kBase));
  EXPECT_FALSE(apic.set_apic_base(Lapic::kBase | Lapic::kBaseExtd));   // EXTD without EN
  EXPECT_TRUE(apic.set_apic_base(Lapic::kBase | Lapic::kBaseEnable));
  EXPECT_EQ(rd(Lapic::kRegSvr), 0xFFu);        // disabling reset the APIC
}

TEST_F(LapicTest, Lint0ExtIntAndLint1Nmi) {
  enable();
  EXPECT_FALSE(apic.extint_pending());
  apic.set_irq(0, true);
  EXPECT_TRUE(apic.extint_pending());
  wr(Lapic::kRegLvtLint0, 0x10700);            // masked
  EXPECT_FALSE(apic.extint_pending());
  apic.set_irq(0, false);
  apic.set_irq(1, true);
  EXPECT_EQ(nmis, 1);
  apic.set_irq(1, true);                       // no edge
  EXPECT_EQ(nmis, 1);
  apic.set_irq(1, false);
  wr(Lapic::kRegLvtLint1, 0x10400);
  apic.set_irq(1, true);
  EXPECT_EQ(nmis, 1);                          // masked
}

TEST_F(LapicTest, LogicalAndPhysicalDestinations) {
  enable();
  ApicMessage m{0x61, DeliveryMode::Fixed, true, false, 0x01};
  wr(Lapic::kRegLdr, 0x01000000);               // flat model (DFR all ones)
  EXPECT_TRUE(apic.deliver(m));
  m.dest = 0x06;
  EXPECT_FALSE(apic.deliver(m));
  wr(Lapic::kRegDfr, 0x0FFFFFFF);               // cluster model: cluster 2, member bit 0
  EXPECT_EQ(rd(Lapic::kRegDfr), 0x0FFFFFFFu);
  wr(Lapic::kRegLdr, 0x21000000);
  m.dest = 0x23;
  EXPECT_TRUE(apic.deliver(m));
  m.dest = 0x11;
  EXPECT_FALSE(apic.deliver(m));
  m = ApicMessage{0x62, DeliveryMode::Fixed, false, false, 0xFF};   // physical broadcast
  EXPECT_TRUE(apic.deliver(m));
  m.dest = 3;
  EXPECT_FALSE(apic.deliver(m));
  EXPECT_TRUE(irr(0x61));
  EXPECT_TRUE(irr(0x62));
}

// IOAPIC -> local APIC -> EOI broadcast -> IOAPIC, as the board wires them.
TEST(LapicIoapic, LevelInterruptRoundTrip) {
  Scheduler sched;
  Ioapic* io_ptr = nullptr;
  Lapic apic{sched, Lapic::Config{}, Lapic::Callbacks{nullptr, [&](u8 v) { io_ptr->eoi(v); }, nullptr, nullptr}};
  Ioapic io{[&](const ApicMessage& m) { apic.deliver(m); }};
  io_ptr = &io;
  apic.mmio_write(Lapic::kRegSvr, 0x1FF, 4);
  apic.mmio_write(Lapic::kRegLdr, 0x01000000, 4);
  io.mmio_write(Ioapic::kIoRegSel, 0x10 + 2 * 11 + 1, 4);
  io.mmio_write(Ioapic::kIoWin, 0x01000000, 4);                        // logical dest 1
  io.mmio_write(Ioapic::kIoRegSel, 0x10 + 2 * 11, 4);
  io.mmio_write(Ioapic::kIoWin, Ioapic::kLevel | Ioapic::kDestLogical | 0x3B, 4);
  io.set_irq(11, true);
  ASSERT_TRUE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0x3B);
  EXPECT_FALSE(apic.has_interrupt());
  apic.mmio_write(Lapic::kRegEoi, 0, 4);   // the line is still up: delivered again
  ASSERT_TRUE(apic.has_interrupt());
  EXPECT_EQ(apic.acknowledge(), 0x3B);
  io.set_irq(11, false);                   // the device was serviced
  apic.mmio_write(Lapic::kRegEoi, 0, 4);
  EXPECT_FALSE(apic.has_interrupt());
  EXPECT_FALSE(io.redirection(11) & Ioapic::kRemoteIrr);
}

TEST_F(LapicTest, SaveLoadSaveRoundTrip) {
  enable();
  wr(Lapic::kRegLvtTimer, (Lapic::kPeriodic << 17) | 0x31);
  wr(Lapic::kRegInitialCount, 1234);
  apic.accept(0x44, true);
  apic.acknowledge();
  apic.accept(0x66, false);
  run(777);
  Lapic::State s = apic.save();
  Scheduler sched2;
  Lapic copy{sched2, Lapic::Config{0, true, kTimerHz}, Lapic::Callbacks{}};
  copy.load(s);
  EXPECT_EQ(copy.save(), s);
  EXPECT_EQ(copy.ppr(), 0x40);
  EXPECT_TRUE(copy.has_interrupt());
}

}  // namespace
}  // namespace rv
