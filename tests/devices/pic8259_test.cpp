// Intel 8259A (datasheet order 231468) and PIIX4 ELCR, at register level.
#include <gtest/gtest.h>

#include "devices/pic8259.h"
#include "tests/devices/irq_recorder.h"

namespace rv {
namespace {

using test::IrqRecorder;

// A PC pair: master at 0x20 (vectors 0x20-0x27), slave at 0xA0 (0x28-0x2F) on IR2, as
// Linux's init_8259A programs it.
struct PicPair {
  IrqRecorder cpu;
  Pic8259 master{IrqLine(&cpu, 0)};
  Pic8259 slave{IrqLine(&master, 2)};
  Elcr elcr{master, slave};

  explicit PicPair(u8 icw4 = 0x01) {
    master.attach_slave(slave, 2);
    init(master, 0x20, 0x04, icw4);
    init(slave, 0x28, 0x02, icw4);
  }
  static void init(Pic8259& p, u8 base, u8 icw3, u8 icw4) {
    p.io_write(0, 0x11, 1);   // ICW1: edge, cascade, ICW4 needed
    p.io_write(1, base, 1);   // ICW2
    p.io_write(1, icw3, 1);   // ICW3
    p.io_write(1, icw4, 1);   // ICW4: x86 mode (+AEOI if asked)
  }
  u8 isr(Pic8259& p) {
    p.io_write(0, 0x0B, 1);   // OCW3: read ISR
    u8 v = static_cast<u8>(p.io_read(0, 1));
    p.io_write(0, 0x0A, 1);   // back to IRR
    return v;
  }
  u8 irr(Pic8259& p) {
    p.io_write(0, 0x0A, 1);
    return static_cast<u8>(p.io_read(0, 1));
  }
  void eoi(Pic8259& p) { p.io_write(0, 0x20, 1); }
  bool intr() const { return cpu.level(0); }
};

TEST(Pic8259, InitSequenceDeliversVectorFromIcw2) {
  PicPair pc;
  EXPECT_FALSE(pc.intr());
  pc.master.set_irq(1, true);
  EXPECT_TRUE(pc.intr());
  EXPECT_EQ(pc.irr(pc.master), 0x02);
  EXPECT_EQ(pc.master.acknowledge(), 0x21);
  EXPECT_FALSE(pc.intr());   // the in-service level blocks itself
  EXPECT_EQ(pc.isr(pc.master), 0x02);
  EXPECT_EQ(pc.irr(pc.master), 0x00);   // edge: IRR cleared by INTA
  pc.eoi(pc.master);
  EXPECT_EQ(pc.isr(pc.master), 0x00);
  EXPECT_FALSE(pc.intr());
}

TEST(Pic8259, FullyNestedPriority) {
  PicPair pc;
  pc.master.set_irq(3, true);
  pc.master.set_irq(1, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x21);   // IR1 beats IR3
  EXPECT_FALSE(pc.intr());                    // IR3 is lower than IR1 in service
  pc.master.set_irq(0, true);
  EXPECT_TRUE(pc.intr());                     // IR0 is higher: nests
  EXPECT_EQ(pc.master.acknowledge(), 0x20);
  EXPECT_EQ(pc.isr(pc.master), 0x03);
  pc.eoi(pc.master);                          // non-specific EOI clears the highest: IR0
  EXPECT_EQ(pc.isr(pc.master), 0x02);
  pc.eoi(pc.master);
  EXPECT_TRUE(pc.intr());
  EXPECT_EQ(pc.master.acknowledge(), 0x23);
}

TEST(Pic8259, MaskRegister) {
  PicPair pc;
  pc.master.io_write(1, 0x02, 1);   // OCW1
  EXPECT_EQ(pc.master.io_read(1, 1), 0x02u);
  pc.master.set_irq(1, true);
  EXPECT_FALSE(pc.intr());
  EXPECT_EQ(pc.irr(pc.master), 0x02);   // still requested
  pc.master.io_write(1, 0x00, 1);
  EXPECT_TRUE(pc.intr());
}

TEST(Pic8259, CascadeThroughSlave) {
  PicPair pc;
  pc.slave.set_irq(4, true);   // IRQ12
  EXPECT_TRUE(pc.intr());
  EXPECT_EQ(pc.master.acknowledge(), 0x2C);
  EXPECT_EQ(pc.isr(pc.master), 0x04);
  EXPECT_EQ(pc.isr(pc.slave), 0x10);
  EXPECT_FALSE(pc.intr());
  pc.eoi(pc.slave);
  pc.eoi(pc.master);
  EXPECT_EQ(pc.isr(pc.master), 0x00);
  EXPECT_EQ(pc.isr(pc.slave), 0x00);
  // A master IR0 request beats the cascade (IR2).
  pc.slave.set_irq(0, true);
  pc.master.set_irq(0, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x20);
  pc.eoi(pc.master);
  EXPECT_EQ(pc.master.acknowledge(), 0x28);
}

TEST(Pic8259, SpecialFullyNestedModeOpensCascadeToHigherSlaveLevels) {
  for (bool sfnm : {false, true}) {
    PicPair pc;
    if (sfnm) PicPair::init(pc.master, 0x20, 0x04, 0x11);   // ICW4 SFNM on the master
    pc.slave.set_irq(4, true);
    EXPECT_EQ(pc.master.acknowledge(), 0x2C);
    pc.slave.set_irq(1, true);   // higher than IR4 on the same slave
    EXPECT_EQ(pc.intr(), sfnm) << "sfnm=" << sfnm;
    if (sfnm) {
      EXPECT_EQ(pc.master.acknowledge(), 0x29);
    }
  }
}

TEST(Pic8259, SpuriousIrq7WhenRequestVanishes) {
  PicPair pc;
  pc.elcr.io_write(0, 0x20, 1);   // IRQ5 level triggered
  pc.master.set_irq(5, true);
  EXPECT_TRUE(pc.intr());
  pc.master.set_irq(5, false);    // gone before INTA
  EXPECT_FALSE(pc.intr());
  EXPECT_EQ(pc.master.acknowledge(), 0x27);
  EXPECT_EQ(pc.isr(pc.master), 0x00);   // a spurious IRQ 7 sets no ISR bit
  EXPECT_EQ(pc.slave.acknowledge(), 0x2F);   // the slave's own spurious vector (IRQ 15)
  EXPECT_EQ(pc.isr(pc.slave), 0x00);
}

TEST(Pic8259, EdgeLatchesLevelFollows) {
  PicPair pc;
  pc.master.set_irq(3, true);
  pc.master.set_irq(3, false);   // a pulse: latched in IRR
  EXPECT_EQ(pc.irr(pc.master), 0x08);
  EXPECT_EQ(pc.master.acknowledge(), 0x23);
  pc.eoi(pc.master);
  EXPECT_FALSE(pc.intr());
  // Edge: a line held high does not interrupt again.
  pc.master.set_irq(4, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x24);
  pc.eoi(pc.master);
  EXPECT_FALSE(pc.intr());
  // Level (ELCR): still high after EOI -> requests again.
  pc.elcr.io_write(0, 0x40, 1);
  pc.master.set_irq(6, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x26);
  pc.eoi(pc.master);
  EXPECT_TRUE(pc.intr());
  pc.master.set_irq(6, false);
  EXPECT_FALSE(pc.intr());
  EXPECT_EQ(pc.irr(pc.master) & 0x40, 0);
}

TEST(Pic8259, LtimMakesAllInputsLevel) {
  IrqRecorder cpu;
  Pic8259 p{IrqLine(&cpu, 0)};
  p.io_write(0, 0x1B, 1);   // ICW1: LTIM, single, ICW4
  p.io_write(1, 0x40, 1);   // ICW2 (no ICW3 in single mode)
  p.io_write(1, 0x01, 1);   // ICW4
  p.set_irq(2, true);
  EXPECT_EQ(p.acknowledge(), 0x42);
  p.io_write(0, 0x20, 1);
  EXPECT_TRUE(cpu.level(0));   // still high
}

TEST(Pic8259, ElcrReservedBitsReadZero) {
  PicPair pc;
  pc.elcr.io_write(0, 0xFF, 1);
  pc.elcr.io_write(1, 0xFF, 1);
  EXPECT_EQ(pc.elcr.io_read(0, 1), 0xF8u);   // IRQ0-2 always edge
  EXPECT_EQ(pc.elcr.io_read(1, 1), 0xDEu);   // IRQ8 and IRQ13 always edge
}

TEST(Pic8259, AutoEoiLeavesIsrClear) {
  PicPair pc(0x03);
  pc.master.set_irq(1, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x21);
  EXPECT_EQ(pc.isr(pc.master), 0x00);
  pc.master.set_irq(3, true);
  EXPECT_TRUE(pc.intr());   // nothing in service blocks it
}

TEST(Pic8259, AutomaticRotation) {
  PicPair pc;
  pc.master.set_irq(0, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x20);
  pc.master.io_write(0, 0xA0, 1);   // OCW2: rotate on non-specific EOI -> IR0 lowest
  pc.master.set_irq(0, false);
  pc.master.set_irq(0, true);
  pc.master.set_irq(7, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x27);   // priority now 1..7, 0
  pc.master.io_write(0, 0x20, 1);
  EXPECT_EQ(pc.master.acknowledge(), 0x20);
}

TEST(Pic8259, SpecificRotationAndSpecificEoi) {
  PicPair pc;
  pc.master.io_write(0, 0xC4, 1);   // OCW2 set priority: IR4 lowest, IR5 highest
  pc.master.set_irq(3, true);
  pc.master.set_irq(6, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x26);
  // IR3 is below IR6 in service (order 5, 6, 7, 0, 1, 2, 3, 4): an INTA now is spurious.
  EXPECT_EQ(pc.master.acknowledge(), 0x27);
  EXPECT_EQ(pc.isr(pc.master), 0x40);
  pc.master.io_write(0, 0x66, 1);   // specific EOI for IR6
  EXPECT_EQ(pc.isr(pc.master), 0x00);
  EXPECT_EQ(pc.master.acknowledge(), 0x23);
  pc.master.io_write(0, 0xE3, 1);   // rotate on specific EOI: IR3 becomes lowest
  EXPECT_EQ(pc.isr(pc.master), 0x00);
  pc.master.set_irq(2, true);
  pc.master.set_irq(4, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x24);   // order is now 4..7, 0..3
}

TEST(Pic8259, SpecialMaskModeEnablesLowerLevels) {
  PicPair pc;
  pc.master.set_irq(3, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x23);
  pc.master.set_irq(5, true);
  EXPECT_FALSE(pc.intr());          // IR5 is below IR3 in service
  pc.master.io_write(1, 0x08, 1);   // mask IR3
  pc.master.io_write(0, 0x68, 1);   // OCW3: set special mask mode
  EXPECT_TRUE(pc.intr());
  EXPECT_EQ(pc.master.acknowledge(), 0x25);
  pc.master.io_write(0, 0x48, 1);   // reset special mask mode
  pc.master.io_write(0, 0x65, 1);
  pc.master.set_irq(5, false);
  pc.master.set_irq(5, true);
  EXPECT_FALSE(pc.intr());          // IR3 in service blocks again
}

TEST(Pic8259, PollMode) {
  PicPair pc;
  pc.master.io_write(1, 0xFF, 1);   // masked: poll sees only unmasked requests
  pc.master.set_irq(6, true);
  pc.master.io_write(0, 0x0C, 1);   // OCW3 poll
  EXPECT_EQ(pc.master.io_read(0, 1), 0x00u);
  pc.master.io_write(1, 0x00, 1);
  pc.master.io_write(0, 0x0C, 1);
  EXPECT_EQ(pc.master.io_read(0, 1), 0x86u);
  EXPECT_EQ(pc.isr(pc.master), 0x40);   // the poll acted as INTA
  EXPECT_EQ(pc.master.io_read(0, 1), 0x00u);   // a normal IRR read again
}

TEST(Pic8259, Icw1ResetsMaskAndEdgeSense) {
  PicPair pc;
  pc.master.io_write(1, 0xF0, 1);
  pc.master.set_irq(1, true);
  PicPair::init(pc.master, 0x20, 0x04, 0x01);
  EXPECT_EQ(pc.master.io_read(1, 1), 0x00u);
  EXPECT_FALSE(pc.intr());   // IR1 stays high but needs a new rising edge
  pc.master.set_irq(1, false);
  pc.master.set_irq(1, true);
  EXPECT_TRUE(pc.intr());
}

TEST(Pic8259, SaveLoadRoundTrip) {
  PicPair pc;
  pc.elcr.io_write(1, 0x08, 1);
  pc.master.io_write(1, 0x10, 1);
  pc.master.set_irq(1, true);
  pc.master.set_irq(3, true);
  EXPECT_EQ(pc.master.acknowledge(), 0x21);
  pc.master.io_write(0, 0x0B, 1);
  Pic8259::State m = pc.master.save(), s = pc.slave.save();

  PicPair other;
  other.master.load(m);
  other.slave.load(s);
  EXPECT_EQ(other.master.save(), m);
  EXPECT_EQ(other.slave.save(), s);
  EXPECT_EQ(other.master.io_read(0, 1), 0x02u);   // OCW3 ISR select survived
  other.eoi(other.master);
  EXPECT_EQ(other.master.acknowledge(), 0x23);
  EXPECT_NE(other.master.save(), m);
}

}  // namespace
}  // namespace rv
