// Ioapic: register-level tests against the Intel 82093AA datasheet (§3.2).
#include "devices/ioapic.h"

#include <gtest/gtest.h>

#include <vector>

namespace rv {
namespace {

struct IoapicTest : ::testing::Test {
  std::vector<ApicMessage> sent;
  Ioapic io{[this](const ApicMessage& m) { sent.push_back(m); }};

  u32 rd(u8 index) {
    io.mmio_write(Ioapic::kIoRegSel, index, 4);
    return static_cast<u32>(io.mmio_read(Ioapic::kIoWin, 4));
  }
  void wr(u8 index, u32 v) {
    io.mmio_write(Ioapic::kIoRegSel, index, 4);
    io.mmio_write(Ioapic::kIoWin, v, 4);
  }
  void program(unsigned pin, u64 entry) {
    wr(static_cast<u8>(0x11 + 2 * pin), static_cast<u32>(entry >> 32));
    wr(static_cast<u8>(0x10 + 2 * pin), static_cast<u32>(entry));
  }
};

TEST_F(IoapicTest, IdVersionArbitrationAndResetMask) {
  EXPECT_EQ(rd(0x01), 0x00170011u);   // 24 entries, version 0x11
  wr(0x00, 0x0A000000);
  EXPECT_EQ(rd(0x00), 0x0A000000u);
  EXPECT_EQ(rd(0x02), 0x0A000000u);
  wr(0x02, 0x05000000);               // arbitration ID is read only
  EXPECT_EQ(rd(0x02), 0x0A000000u);
  for (unsigned pin = 0; pin < 24; pin++) EXPECT_EQ(rd(static_cast<u8>(0x10 + 2 * pin)), 0x00010000u) << pin;
  // IOREGSEL reads back.
  io.mmio_write(Ioapic::kIoRegSel, 0x23, 4);
  EXPECT_EQ(io.mmio_read(Ioapic::kIoRegSel, 4), 0x23u);
}

TEST_F(IoapicTest, EdgePinSendsOncePerRisingEdge) {
  program(4, 0x03000000'00000831ull);   // vector 0x31, logical, edge, dest 3
  io.set_irq(4, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].vector, 0x31);
  EXPECT_EQ(sent[0].mode, DeliveryMode::Fixed);
  EXPECT_TRUE(sent[0].logical);
  EXPECT_FALSE(sent[0].level);
  EXPECT_EQ(sent[0].dest, 3u);
  io.set_irq(4, true);                  // no edge
  EXPECT_EQ(sent.size(), 1u);
  io.set_irq(4, false);
  io.set_irq(4, true);
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_EQ(rd(0x18) & Ioapic::kRemoteIrr, 0u);   // edge entries never set remote IRR
}

TEST_F(IoapicTest, EdgeWhileMaskedIsLost) {
  program(5, 0x10000 | 0x35);
  io.set_irq(5, true);
  io.set_irq(5, false);
  program(5, 0x35);
  EXPECT_TRUE(sent.empty());
}

TEST_F(IoapicTest, LevelPinRemoteIrrAndEoi) {
  program(9, Ioapic::kLevel | 0x49);
  io.set_irq(9, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].level);
  EXPECT_TRUE(rd(0x22) & Ioapic::kRemoteIrr);
  io.set_irq(9, true);                  // still in service: nothing new
  EXPECT_EQ(sent.size(), 1u);
  io.eoi(0x50);                         // another vector: no effect
  EXPECT_TRUE(rd(0x22) & Ioapic::kRemoteIrr);
  io.eoi(0x49);                         // still asserted: sent again
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_TRUE(rd(0x22) & Ioapic::kRemoteIrr);
  io.set_irq(9, false);
  io.eoi(0x49);
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_FALSE(rd(0x22) & Ioapic::kRemoteIrr);
  // Software cannot set remote IRR or delivery status.
  wr(0x22, static_cast<u32>(Ioapic::kLevel | Ioapic::kRemoteIrr | Ioapic::kDeliveryStatus | 0x49));
  EXPECT_EQ(rd(0x22), static_cast<u32>(Ioapic::kLevel | 0x49));
}

TEST_F(IoapicTest, UnmaskingAssertedLevelPinSends) {
  program(10, Ioapic::kMasked | Ioapic::kLevel | 0x4A);
  io.set_irq(10, true);
  EXPECT_TRUE(sent.empty());
  program(10, Ioapic::kLevel | Ioapic::kPolarityLow | 0x4A);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(rd(0x24), static_cast<u32>(Ioapic::kLevel | Ioapic::kPolarityLow | Ioapic::kRemoteIrr | 0x4A));
}

TEST_F(IoapicTest, NmiModeAndPhysicalDestination) {
  program(2, 0x01000000'00000400ull);   // NMI, physical dest 1
  io.set_irq(2, true);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].mode, DeliveryMode::Nmi);
  EXPECT_FALSE(sent[0].logical);
  EXPECT_EQ(sent[0].dest, 1u);
}

TEST_F(IoapicTest, SaveLoadSaveRoundTrip) {
  program(3, 0x02000000'0000A833ull);
  io.set_irq(3, true);
  wr(0x00, 0x03000000);
  Ioapic::State s = io.save();
  std::vector<ApicMessage> other_sent;
  Ioapic copy{[&](const ApicMessage& m) { other_sent.push_back(m); }};
  copy.load(s);
  EXPECT_EQ(copy.save(), s);
  EXPECT_EQ(copy.redirection(3), io.redirection(3));
  copy.eoi(0x33);   // the loaded copy has the remote IRR and the asserted pin
  EXPECT_EQ(other_sent.size(), 1u);
}

}  // namespace
}  // namespace rv
