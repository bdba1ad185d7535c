// PciHost and the i440FX/PIIX functions: configuration mechanism #1 (PCI 3.0 §3.2.2.3.2).
#include "devices/pci_host.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace rv {
namespace {

struct PciTest : ::testing::Test {
  int resets = 0, route_changes = 0;
  PciHost host{[this] { resets++; }};
  I440fxHost i440fx;
  Piix3Isa isa{[this] { route_changes++; }};
  Piix4Pm pm{0xB000};

  void SetUp() override {
    host.add_device(0, 0, &i440fx);
    host.add_device(1, 0, &isa);
    host.add_device(1, 3, &pm);
  }
  static u32 addr(u8 dev, u8 fn, u8 reg, u8 bus = 0) {
    return PciHost::kEnable | u32(bus) << 16 | u32(dev) << 11 | u32(fn) << 8 | reg;
  }
  u32 cfg_read(u32 address, unsigned size) {
    host.io_write(0, address & ~3u, 4);
    return host.io_read(static_cast<u16>(4 + (address & 3)), size);
  }
  void cfg_write(u32 address, u32 v, unsigned size) {
    host.io_write(0, address & ~3u, 4);
    host.io_write(static_cast<u16>(4 + (address & 3)), v, size);
  }
};

TEST_F(PciTest, ConfigAddressRegister) {
  host.io_write(0, 0x80001237u | 3, 4);
  EXPECT_EQ(host.io_read(0, 4), 0x80001234u);   // bits 1:0 read 0
  host.io_write(3, 0x01, 1);                    // a byte write is no CONFIG_ADDRESS write
  EXPECT_EQ(host.io_read(0, 4), 0x80001234u);
  EXPECT_EQ(host.io_read(0, 2), 0xFFFFu);
}

TEST_F(PciTest, HostBridgeIdentityAndUnalignedAccess) {
  EXPECT_EQ(cfg_read(addr(0, 0, 0x00), 4), 0x12378086u);
  EXPECT_EQ(cfg_read(addr(0, 0, 0x02), 2), 0x1237u);
  EXPECT_EQ(cfg_read(addr(0, 0, 0x03), 1), 0x12u);
  EXPECT_EQ(cfg_read(addr(0, 0, 0x08), 4), 0x06000002u);   // class 06/00/00, rev 2
  EXPECT_EQ(cfg_read(addr(1, 0, 0x00), 4), 0x70008086u);
  EXPECT_EQ(cfg_read(addr(1, 0, 0x0E), 1), 0x80u);         // multi-function
  EXPECT_EQ(cfg_read(addr(1, 0, 0x0A), 2), 0x0601u);       // ISA bridge
  EXPECT_EQ(cfg_read(addr(1, 3, 0x00), 4), 0x71138086u);
  // Vendor and device IDs are read only.
  cfg_write(addr(0, 0, 0x00), 0xDEADBEEF, 4);
  EXPECT_EQ(cfg_read(addr(0, 0, 0x00), 4), 0x12378086u);
}

TEST_F(PciTest, AbsentFunctionsReadAllOnes) {
  EXPECT_EQ(cfg_read(addr(5, 0, 0x00), 4), 0xFFFFFFFFu);
  EXPECT_EQ(cfg_read(addr(1, 1, 0x00), 2), 0xFFFFu);
  EXPECT_EQ(cfg_read(addr(0, 0, 0x00, 1), 4), 0xFFFFFFFFu);   // bus 1 does not exist
  host.io_write(0, 0x00000000, 4);                           // enable bit clear
  EXPECT_EQ(host.io_read(4, 4), 0xFFFFFFFFu);
  EXPECT_EQ(host.io_read(6, 1), 0xFFu);
  cfg_write(addr(5, 0, 0x3C), 0x12, 1);                      // dropped, no crash
}

TEST_F(PciTest, PirqRoutingByteWrites) {
  for (unsigned n = 0; n < 4; n++) {
    EXPECT_EQ(cfg_read(addr(1, 0, static_cast<u8>(0x60 + n)), 1), 0x80u);
    EXPECT_FALSE(isa.pirq_irq(n));
  }
  cfg_write(addr(1, 0, 0x61), 0x0B, 1);       // PIRQB -> IRQ 11 through port 0xCFD
  EXPECT_EQ(route_changes, 1);
  EXPECT_EQ(isa.pirq_irq(1), 11);
  EXPECT_EQ(cfg_read(addr(1, 0, 0x60), 4), 0x80800B80u);
  cfg_write(addr(1, 0, 0x62), 0x0A09, 2);     // PIRQC -> 9, PIRQD -> 10 (a word at 0xCFE)
  EXPECT_EQ(isa.pirq_irq(2), 9);
  EXPECT_EQ(isa.pirq_irq(3), 10);
  cfg_write(addr(1, 0, 0x60), 0xFF, 1);       // bits 6:4 are reserved
  EXPECT_EQ(cfg_read(addr(1, 0, 0x60), 1), 0x8Fu);
  EXPECT_FALSE(isa.pirq_irq(0));
}

TEST_F(PciTest, PmFunctionBaseIsFixed) {
  EXPECT_EQ(cfg_read(addr(1, 3, 0x40), 4), 0xB001u);
  cfg_write(addr(1, 3, 0x40), 0x1001, 4);
  EXPECT_EQ(cfg_read(addr(1, 3, 0x40), 4), 0xB001u);
  EXPECT_EQ(cfg_read(addr(1, 3, 0x80), 1) & 1, 1u);
  EXPECT_EQ(cfg_read(addr(1, 3, 0x3C), 1), 9u);
}

TEST_F(PciTest, CommandAndStatusBits) {
  cfg_write(addr(1, 3, 0x04), 0xFFFF0007, 4);  // command; status error bits are W1C
  EXPECT_EQ(cfg_read(addr(1, 3, 0x04), 2), 0x0007u);
  EXPECT_EQ(cfg_read(addr(1, 3, 0x06), 2), 0x0280u);   // status unchanged (nothing to clear)
  cfg_write(addr(1, 3, 0x3C), 0x0A, 1);
  EXPECT_EQ(cfg_read(addr(1, 3, 0x3C), 1), 0x0Au);
  pm.reset();
  EXPECT_EQ(cfg_read(addr(1, 3, 0x3C), 1), 9u);
}

TEST_F(PciTest, ResetControlRegister) {
  host.io_write(1, 0x02, 1);
  EXPECT_EQ(resets, 0);
  EXPECT_EQ(host.io_read(1, 1), 0x02u);
  host.io_write(1, 0x06, 1);
  EXPECT_EQ(resets, 1);
}

TEST_F(PciTest, SlotConflictsAreRejected) {
  Piix3Isa other;
  EXPECT_THROW(host.add_device(1, 0, &other), std::invalid_argument);
  EXPECT_THROW(host.add_device(32, 0, &other), std::invalid_argument);
}

TEST_F(PciTest, SaveLoadSaveRoundTrip) {
  cfg_write(addr(1, 0, 0x63), 0x05, 1);
  PciHost::State hs = host.save();
  PciFunction::State fs = isa.save();
  PciHost host2;
  Piix3Isa isa2;
  host2.load(hs);
  isa2.load(fs);
  EXPECT_EQ(host2.save(), hs);
  EXPECT_EQ(isa2.save(), fs);
  EXPECT_EQ(isa2.pirq_irq(3), 5);
}

}  // namespace
}  // namespace rv
