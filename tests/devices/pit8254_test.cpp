// Intel 8254 (datasheet order 231164) and port 0x61, at register level. Times are in
// counter clocks of 1.193182 MHz; a count written at tick 0 is loaded at tick 1.
#include <gtest/gtest.h>

#include "devices/pit8254.h"
#include "tests/devices/irq_recorder.h"

namespace rv {
namespace {

using test::IrqRecorder;

Nanos at_tick(u64 tick) {   // the first nanosecond of counter clock `tick`
  return static_cast<Nanos>((static_cast<unsigned __int128>(tick) * kNsPerSec + Pit8254::kClockHz - 1) /
                            Pit8254::kClockHz);
}

struct PitEnv {
  Scheduler sched;
  IrqRecorder pic;
  Pit8254 pit{sched, IrqLine(&pic, 0)};
  Port61 port61{pit, sched};

  void program(unsigned ch, u8 control, u16 count) {
    pit.io_write(3, static_cast<u32>(ch << 6 | control), 1);
    unsigned rw = (control >> 4) & 3;
    if (rw != 2) pit.io_write(ch, count & 0xFF, 1);
    if (rw != 1) pit.io_write(ch, count >> 8, 1);
  }
  void to_tick(u64 t) { sched.run_until(at_tick(t)); }
  u16 read16(unsigned ch) {
    u16 lo = static_cast<u16>(pit.io_read(ch, 1));
    return static_cast<u16>(lo | pit.io_read(ch, 1) << 8);
  }
};

TEST(Pit8254, Mode2RateGeneratorPulsesIrq0) {
  PitEnv e;
  e.program(0, 0x34, 1000);   // LSB/MSB, mode 2
  EXPECT_TRUE(e.pic.level(0));
  e.to_tick(999);             // count 1 at tick 1000 (1 + 999)
  EXPECT_TRUE(e.pit.out(0));
  e.to_tick(1000);
  EXPECT_FALSE(e.pit.out(0));
  EXPECT_FALSE(e.pic.level(0));
  e.to_tick(1001);            // reloaded: high again for the next period
  EXPECT_TRUE(e.pic.level(0));
  int rises = e.pic.rises(0);
  e.to_tick(1001 + 10 * 1000);
  EXPECT_EQ(e.pic.rises(0) - rises, 10);
  // Only the next transition is pending: no per-tick events.
  EXPECT_EQ(e.sched.pending().size(), 1u);
  EXPECT_EQ(e.sched.next_deadline(), at_tick(1000 + 11 * 1000));
}

TEST(Pit8254, Mode0InterruptOnTerminalCount) {
  PitEnv e;
  e.program(0, 0x30, 100);    // mode 0
  EXPECT_FALSE(e.pic.level(0));
  e.to_tick(100);
  EXPECT_FALSE(e.pit.out(0));
  e.to_tick(101);             // N+1 clocks after the write
  EXPECT_TRUE(e.pic.level(0));
  EXPECT_EQ(e.pic.rises(0), 1);
  e.to_tick(200000);          // stays high; the counter wraps and keeps counting
  EXPECT_TRUE(e.pit.out(0));
  EXPECT_EQ(e.pic.rises(0), 1);
  EXPECT_EQ(e.sched.next_deadline(), kNever);
  // Writing the first byte of a new count drives OUT low at once.
  e.pit.io_write(0, 0x10, 1);
  EXPECT_FALSE(e.pic.level(0));
  e.pit.io_write(0, 0x00, 1);   // count 0x0010 = 16
  u64 now = 200000;
  e.to_tick(now + 16);
  EXPECT_FALSE(e.pic.level(0));
  e.to_tick(now + 17);
  EXPECT_TRUE(e.pic.level(0));
}

TEST(Pit8254, Mode3SquareWaveOnChannel2ViaPort61) {
  PitEnv e;
  e.port61.io_write(0, 0x01, 1);   // gate 2 high, speaker off
  e.program(2, 0xB6, 10);          // channel 2, LSB/MSB, mode 3
  auto out2 = [&] { return (e.port61.io_read(0, 1) & 0x20) != 0; };
  e.to_tick(1);
  EXPECT_TRUE(out2());
  e.to_tick(5);
  EXPECT_TRUE(out2());
  e.to_tick(6);                    // 5 clocks high
  EXPECT_FALSE(out2());
  e.to_tick(10);
  EXPECT_FALSE(out2());
  e.to_tick(11);                   // 5 clocks low
  EXPECT_TRUE(out2());
  // Odd count 7: high 4, low 3.
  e.program(2, 0xB6, 7);
  u64 t0 = 11;
  e.to_tick(t0 + 4);
  EXPECT_TRUE(out2());
  e.to_tick(t0 + 5);
  EXPECT_FALSE(out2());
  e.to_tick(t0 + 8);
  EXPECT_TRUE(out2());
  // Gate low forces OUT high and stops the count.
  e.to_tick(t0 + 13);
  EXPECT_FALSE(out2());
  e.port61.io_write(0, 0x00, 1);
  EXPECT_TRUE(out2());
  EXPECT_EQ(e.port61.io_read(0, 1) & 0x03, 0u);
}

TEST(Pit8254, CounterLatchHoldsValue) {
  PitEnv e;
  e.program(0, 0x34, 1000);
  e.to_tick(100);               // 99 clocks counted since the load at tick 1
  e.pit.io_write(3, 0x00, 1);   // latch channel 0
  e.to_tick(500);
  EXPECT_EQ(e.read16(0), 901);
  EXPECT_EQ(e.read16(0), 1000 - 499);   // latch released: live count again
}

TEST(Pit8254, ReadWriteFormats) {
  PitEnv e;
  e.program(1, 0x10, 0x0080);   // LSB only, mode 0 -> count 0x80
  e.to_tick(0x11);              // 16 clocks counted
  EXPECT_EQ(e.pit.io_read(1, 1), 0x70u);
  EXPECT_EQ(e.pit.io_read(1, 1), 0x70u);   // LSB only: no flip-flop
  e.program(1, 0x20, 0x0200);   // MSB only -> count 0x200
  u64 t0 = 0x11;
  e.to_tick(t0 + 1 + 0x100);
  EXPECT_EQ(e.pit.io_read(1, 1), 0x01u);
}

TEST(Pit8254, ReadBackStatusAndCount) {
  PitEnv e;
  e.program(0, 0x34, 1000);
  // Read-back at the tick of the write: status shows null count (not yet loaded).
  e.pit.io_write(3, 0xC2, 1);   // latch count and status of channel 0
  EXPECT_EQ(e.pit.io_read(0, 1), 0x80u | 0x40u | 0x34u);   // OUT high, null count, LSB/MSB mode 2
  e.to_tick(50);
  e.pit.io_write(3, 0xC2, 1);   // status already read: relatched; the unread count is kept
  EXPECT_EQ(e.pit.io_read(0, 1), 0x80u | 0x34u);
  EXPECT_EQ(e.read16(0), 1000);   // the count latched at tick 0 (before loading: CR)
  e.pit.io_write(3, 0xD2, 1);     // count only
  e.to_tick(60);
  EXPECT_EQ(e.read16(0), 1000 - 49);
  e.pit.io_write(3, 0xE2 | 0x08, 1);   // status of channels 0 and 2 (2 unprogrammed: OUT low)
  EXPECT_EQ(e.pit.io_read(2, 1) & 0x80, 0u);
}

TEST(Pit8254, BcdCounting) {
  PitEnv e;
  e.program(0, 0x31, 0x0100);   // mode 0, BCD, count 100
  e.to_tick(51);
  EXPECT_EQ(e.read16(0), 0x0050);
  e.to_tick(100);
  EXPECT_EQ(e.read16(0), 0x0001);
  EXPECT_FALSE(e.pit.out(0));
  e.to_tick(101);
  EXPECT_TRUE(e.pit.out(0));
  e.to_tick(102);
  EXPECT_EQ(e.read16(0), 0x9999);   // wraps in BCD
}

TEST(Pit8254, Mode0GateSuspendsCounting) {
  PitEnv e;
  e.program(2, 0xB0, 100);   // gate 2 low (port 0x61 at reset): loads but does not count
  e.to_tick(50);
  EXPECT_EQ(e.read16(2), 100);
  e.port61.io_write(0, 0x01, 1);
  e.to_tick(60);
  EXPECT_EQ(e.read16(2), 90);
  e.port61.io_write(0, 0x00, 1);
  e.to_tick(1000);
  EXPECT_EQ(e.read16(2), 90);
  EXPECT_FALSE(e.pit.out(2));
}

TEST(Pit8254, Mode1HardwareOneShot) {
  PitEnv e;
  e.program(2, 0xB2, 20);    // mode 1: waits for a gate edge
  e.to_tick(100);
  EXPECT_TRUE(e.pit.out(2));
  e.port61.io_write(0, 0x01, 1);   // trigger at tick 100, loaded at 101
  e.to_tick(101);
  EXPECT_FALSE(e.pit.out(2));
  e.to_tick(120);
  EXPECT_FALSE(e.pit.out(2));
  e.to_tick(121);
  EXPECT_TRUE(e.pit.out(2));
  // Retrigger: another rising edge restarts the one-shot.
  e.port61.io_write(0, 0x00, 1);
  e.port61.io_write(0, 0x01, 1);
  e.to_tick(122);
  EXPECT_FALSE(e.pit.out(2));
}

TEST(Pit8254, Mode4And5Strobes) {
  PitEnv e;
  e.program(0, 0x38, 5);     // mode 4 on channel 0
  e.to_tick(5);
  EXPECT_TRUE(e.pic.level(0));
  e.to_tick(6);              // one clock low when the count reaches 0
  EXPECT_FALSE(e.pic.level(0));
  e.to_tick(7);
  EXPECT_TRUE(e.pic.level(0));
  e.to_tick(100000);
  EXPECT_TRUE(e.pic.level(0));

  e.program(2, 0xBA, 5);     // mode 5 on channel 2: needs a trigger
  e.to_tick(100010);
  EXPECT_TRUE(e.pit.out(2));
  e.port61.io_write(0, 0x01, 1);
  e.to_tick(100015);
  EXPECT_TRUE(e.pit.out(2));
  e.to_tick(100016);
  EXPECT_FALSE(e.pit.out(2));
  e.to_tick(100017);
  EXPECT_TRUE(e.pit.out(2));
}

TEST(Pit8254, Mode2NewCountAtEndOfPeriod) {
  PitEnv e;
  e.program(0, 0x34, 100);
  e.to_tick(50);
  e.program(0, 0x34, 100);   // a control word restarts the counter
  e.to_tick(60);
  e.pit.io_write(0, 200 & 0xFF, 1);
  e.pit.io_write(0, 0, 1);   // new count 200 while counting: applies at the reload
  e.to_tick(50 + 1 + 99);    // count 1 of the current period (loaded at 51)
  EXPECT_FALSE(e.pit.out(0));
  e.to_tick(151);
  EXPECT_TRUE(e.pit.out(0));
  e.to_tick(151 + 199);
  EXPECT_FALSE(e.pit.out(0));
}

TEST(Pit8254, Port61RefreshToggleFollowsVirtualTime) {
  PitEnv e;
  u8 a = e.port61.io_read(0, 1) & 0x10;
  e.sched.run_until(Port61::kRefreshPeriod);
  u8 b = e.port61.io_read(0, 1) & 0x10;
  EXPECT_NE(a, b);
  e.port61.io_write(0, 0xFF, 1);
  EXPECT_EQ(e.port61.io_read(0, 1) & 0xCF, 0x0Fu);   // bits 6-7 read-only, 0
  EXPECT_TRUE(e.port61.speaker_on());
}

TEST(Pit8254, SaveLoadRoundTrip) {
  PitEnv e;
  e.program(0, 0x34, 1000);
  e.port61.io_write(0, 0x01, 1);
  e.program(2, 0xB0, 300);
  e.to_tick(123);
  e.pit.io_write(3, 0x80, 1);   // latch channel 2
  Pit8254::State s = e.pit.save();

  PitEnv f;
  f.sched.run_until(e.sched.now());
  f.pit.load(s);
  f.port61.load(e.port61.save());
  EXPECT_EQ(f.pit.save(), s);
  EXPECT_EQ(f.port61.save(), e.port61.save());
  EXPECT_EQ(f.sched.next_deadline(), e.sched.next_deadline());
  EXPECT_EQ(f.read16(2), e.read16(2));
  e.to_tick(5000);
  f.to_tick(5000);
  EXPECT_EQ(f.read16(0), e.read16(0));
  EXPECT_EQ(f.pic.level(0), e.pic.level(0));
  EXPECT_EQ(f.pit.save(), e.pit.save());
}

}  // namespace
}  // namespace rv
