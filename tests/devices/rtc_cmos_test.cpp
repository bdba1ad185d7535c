// Motorola MC146818A RTC and the PC/AT CMOS map, at register level.
#include <gtest/gtest.h>

#include "devices/rtc_cmos.h"
#include "tests/devices/irq_recorder.h"

namespace rv {
namespace {

using test::IrqRecorder;

constexpr i64 kLeapEve = 1709251198;   // 2024-02-29 23:59:58 UTC, a Thursday
constexpr Nanos kMs = 1'000'000;

struct RtcEnv {
  Scheduler sched;
  IrqRecorder pic;
  RtcCmos rtc{sched, IrqLine(&pic, 8), kLeapEve};

  u8 read(u8 index) {
    rtc.io_write(0, index, 1);
    return static_cast<u8>(rtc.io_read(1, 1));
  }
  void write(u8 index, u8 v) {
    rtc.io_write(0, index, 1);
    rtc.io_write(1, v, 1);
  }
  void run_ms(u64 ms) { sched.run_until(sched.now() + ms * kMs); }
};

TEST(RtcCmos, CalendarHelpers) {
  EXPECT_EQ(RtcCmos::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(RtcCmos::days_from_civil(2024, 2, 29), 19782);
  i64 y;
  unsigned m, d;
  RtcCmos::civil_from_days(19783, y, m, d);
  EXPECT_EQ(y, 2024);
  EXPECT_EQ(m, 3u);
  EXPECT_EQ(d, 1u);
  RtcCmos::civil_from_days(-1, y, m, d);
  EXPECT_EQ(y, 1969);
  EXPECT_EQ(m, 12u);
  EXPECT_EQ(d, 31u);
}

TEST(RtcCmos, TimeFromBaseInBcd24h) {
  RtcEnv e;
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x58);
  EXPECT_EQ(e.read(RtcCmos::kMinutes), 0x59);
  EXPECT_EQ(e.read(RtcCmos::kHours), 0x23);
  EXPECT_EQ(e.read(RtcCmos::kDayOfWeek), 5);   // Thursday (1 = Sunday)
  EXPECT_EQ(e.read(RtcCmos::kDayOfMonth), 0x29);
  EXPECT_EQ(e.read(RtcCmos::kMonth), 0x02);
  EXPECT_EQ(e.read(RtcCmos::kYear), 0x24);
  EXPECT_EQ(e.read(RtcCmos::kCentury), 0x20);
  EXPECT_EQ(e.read(RtcCmos::kRegA), 0x26);
  EXPECT_EQ(e.read(RtcCmos::kRegB), 0x02);
  EXPECT_EQ(e.read(RtcCmos::kRegD), 0x80);   // VRT
}

TEST(RtcCmos, VirtualTimeRollsTheCalendar) {
  RtcEnv e;
  e.run_ms(999);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x58);
  e.run_ms(1);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x59);
  e.run_ms(1000);   // leap day -> 1 March, Friday
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x00);
  EXPECT_EQ(e.read(RtcCmos::kHours), 0x00);
  EXPECT_EQ(e.read(RtcCmos::kDayOfMonth), 0x01);
  EXPECT_EQ(e.read(RtcCmos::kMonth), 0x03);
  EXPECT_EQ(e.read(RtcCmos::kDayOfWeek), 6);
  EXPECT_EQ(e.rtc.unix_time(), kLeapEve + 2);
}

TEST(RtcCmos, BinaryAnd12HourModes) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kBDm);   // binary, 12-hour
  EXPECT_EQ(e.read(RtcCmos::kHours), 0x80 | 11);   // 11 PM
  EXPECT_EQ(e.read(RtcCmos::kMinutes), 59);
  EXPECT_EQ(e.read(RtcCmos::kDayOfMonth), 29);
  e.run_ms(2000);
  EXPECT_EQ(e.read(RtcCmos::kHours), 12);   // midnight is 12 AM
  e.write(RtcCmos::kRegB, 0);               // BCD 12-hour
  EXPECT_EQ(e.read(RtcCmos::kHours), 0x12);
}

TEST(RtcCmos, UpdateInProgressWindow) {
  RtcEnv e;
  EXPECT_EQ(e.read(RtcCmos::kRegA) & 0x80, 0);
  e.sched.run_until(kNsPerSec - RtcCmos::kUipWindow - 1);
  EXPECT_EQ(e.read(RtcCmos::kRegA) & 0x80, 0);
  e.sched.run_until(kNsPerSec - RtcCmos::kUipWindow);
  EXPECT_EQ(e.read(RtcCmos::kRegA) & 0x80, 0x80);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x58);   // registers not yet updated
  e.sched.run_until(kNsPerSec);
  EXPECT_EQ(e.read(RtcCmos::kRegA) & 0x80, 0);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x59);
}

TEST(RtcCmos, PeriodicInterrupt) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBPie);   // 1024 Hz (RS = 6)
  e.sched.run_until(976'562);
  EXPECT_FALSE(e.pic.level(8));
  e.sched.run_until(976'563);   // 32 ticks of 32.768 kHz = 976.5625 us
  EXPECT_TRUE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0xC0);   // IRQF | PF
  EXPECT_FALSE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0x00);   // read-to-clear
  e.pic.clear();
  for (int i = 0; i < 10; i++) {
    e.run_ms(1);
    e.read(RtcCmos::kRegC);
  }
  EXPECT_EQ(e.pic.rises(8), 10);
  e.write(RtcCmos::kRegA, 0x2F);   // RS = 15: 500 ms
  e.pic.clear();
  e.run_ms(499);
  e.read(RtcCmos::kRegC);
  e.run_ms(1001);
  EXPECT_EQ(e.pic.rises(8), 2);
}

TEST(RtcCmos, PeriodicFlagWithoutInterrupt) {
  RtcEnv e;
  e.run_ms(2);
  EXPECT_EQ(e.sched.next_deadline(), kNsPerSec);   // only the update cycle is scheduled
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0x40);         // PF, no IRQF
  EXPECT_EQ(e.pic.rises(8), 0);
  e.write(RtcCmos::kRegA, 0x20);                   // rate 0: no periodic flag
  e.run_ms(5);
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0x00);
}

TEST(RtcCmos, UpdateEndedInterrupt) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBUie);
  e.run_ms(999);
  EXPECT_FALSE(e.pic.level(8));
  e.run_ms(1);
  EXPECT_TRUE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegC) & 0xB0, 0x90);   // IRQF | UF (and PF: rate 6)
  e.run_ms(1000);
  EXPECT_EQ(e.pic.rises(8), 2);
}

TEST(RtcCmos, AlarmInterrupt) {
  RtcEnv e;
  e.write(RtcCmos::kSecondsAlarm, 0x00);
  e.write(RtcCmos::kMinutesAlarm, 0x00);
  e.write(RtcCmos::kHoursAlarm, 0x00);
  e.write(RtcCmos::kRegA, 0x20);   // no periodic flag, to see AF alone
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBAie);
  e.run_ms(1000);                  // 23:59:59: no match
  EXPECT_FALSE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0x10);   // UF only, no IRQF
  e.run_ms(1000);                  // 00:00:00
  EXPECT_TRUE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegC), 0xB0);   // IRQF | AF | UF
  // Don't-care codes in all three bytes: every second.
  e.write(RtcCmos::kSecondsAlarm, 0xC0);
  e.write(RtcCmos::kMinutesAlarm, 0xFF);
  e.write(RtcCmos::kHoursAlarm, 0xC5);
  e.pic.clear();
  e.run_ms(3000);
  EXPECT_EQ(e.pic.rises(8), 1);    // stays high until C is read
  EXPECT_EQ(e.read(RtcCmos::kRegC) & 0xA0, 0xA0);
  e.run_ms(1000);
  EXPECT_EQ(e.pic.rises(8), 2);
}

TEST(RtcCmos, SetBitFreezesAndSetsTime) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBUie);
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBUie | RtcCmos::kBSet);
  EXPECT_EQ(e.read(RtcCmos::kRegB), RtcCmos::kB24h | RtcCmos::kBSet);   // SET clears UIE
  e.run_ms(5000);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x58);
  EXPECT_EQ(e.read(RtcCmos::kRegA) & 0x80, 0);
  e.write(RtcCmos::kSeconds, 0x30);
  e.write(RtcCmos::kMinutes, 0x15);
  e.write(RtcCmos::kHours, 0x12);
  e.write(RtcCmos::kDayOfMonth, 0x04);
  e.write(RtcCmos::kMonth, 0x07);
  e.write(RtcCmos::kYear, 0x99);
  e.write(RtcCmos::kCentury, 0x19);
  e.write(RtcCmos::kRegB, RtcCmos::kB24h);
  EXPECT_EQ(e.rtc.unix_time(), RtcCmos::days_from_civil(1999, 7, 4) * 86400 + 12 * 3600 + 15 * 60 + 30);
  e.run_ms(999);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x30);
  e.run_ms(1);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x31);
  EXPECT_EQ(e.read(RtcCmos::kDayOfWeek), 1);   // 4 July 1999 was a Sunday
}

TEST(RtcCmos, WritingTimeWhileRunning) {
  RtcEnv e;
  e.run_ms(500);
  e.write(RtcCmos::kMinutes, 0x10);   // 23:10:58, same sub-second phase
  e.run_ms(499);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x58);
  e.run_ms(1);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x59);
  EXPECT_EQ(e.read(RtcCmos::kMinutes), 0x10);
}

TEST(RtcCmos, IndexPortNmiMaskAndRam) {
  RtcEnv e;
  e.rtc.io_write(0, 0x80 | 0x40, 1);
  EXPECT_TRUE(e.rtc.nmi_masked());
  e.rtc.io_write(1, 0xA5, 1);
  e.rtc.io_write(0, 0x40, 1);
  EXPECT_FALSE(e.rtc.nmi_masked());
  EXPECT_EQ(e.rtc.io_read(1, 1), 0xA5u);
  EXPECT_EQ(e.rtc.byte(0x40), 0xA5);
  e.write(RtcCmos::kRegD, 0x00);   // read-only
  EXPECT_EQ(e.read(RtcCmos::kRegD), 0x80);
}

TEST(RtcCmos, MemorySizeBytes) {
  RtcEnv e;
  e.rtc.set_memory_layout(32ull << 20, 0);
  EXPECT_EQ(e.read(0x15) | e.read(0x16) << 8, 640);
  EXPECT_EQ(e.read(0x17) | e.read(0x18) << 8, 31 * 1024);
  EXPECT_EQ(e.read(0x30) | e.read(0x31) << 8, 31 * 1024);
  EXPECT_EQ(e.read(0x34) | e.read(0x35) << 8, 16 * 16);   // 64 KiB units above 16 MiB
  EXPECT_EQ(e.read(0x5B) | e.read(0x5C) << 8 | e.read(0x5D) << 16, 0);
  e.rtc.set_memory_layout(3ull << 30, 6ull << 30);
  EXPECT_EQ(e.read(0x17) | e.read(0x18) << 8, 0xFFFF);   // capped
  EXPECT_EQ(e.read(0x34) | e.read(0x35) << 8, static_cast<int>(((3ull << 30) - (16ull << 20)) >> 16));
  EXPECT_EQ(e.read(0x5B) | e.read(0x5C) << 8 | e.read(0x5D) << 16, 6 << 14);
  unsigned sum = 0;
  for (u8 i = 0x10; i <= 0x2D; i++) sum += e.read(i);
  EXPECT_EQ(e.read(0x2E) << 8 | e.read(0x2F), static_cast<int>(sum));
  e.rtc.set_byte(0x10, 0x40);   // floppy types: inside the checksummed range
  EXPECT_EQ(e.read(0x2E) << 8 | e.read(0x2F), static_cast<int>(sum + 0x40));
  e.rtc.set_byte(0x5F, 0x01);   // outside it
  EXPECT_EQ(e.read(0x2E) << 8 | e.read(0x2F), static_cast<int>(sum + 0x40));
  EXPECT_EQ(e.read(0x5F), 0x01);
}

TEST(RtcCmos, ResetClearsEnablesKeepsTime) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBPie | RtcCmos::kBUie);
  e.run_ms(1000);
  EXPECT_TRUE(e.pic.level(8));
  e.rtc.reset();
  EXPECT_FALSE(e.pic.level(8));
  EXPECT_EQ(e.read(RtcCmos::kRegB), RtcCmos::kB24h);
  EXPECT_EQ(e.read(RtcCmos::kSeconds), 0x59);
}

TEST(RtcCmos, SaveLoadRoundTrip) {
  RtcEnv e;
  e.write(RtcCmos::kRegB, RtcCmos::kB24h | RtcCmos::kBPie);
  e.write(0x50, 0x77);
  e.rtc.set_memory_layout(64ull << 20, 0);
  e.run_ms(1500);
  RtcCmos::State s = e.rtc.save();

  RtcEnv f;
  f.sched.run_until(e.sched.now());
  f.rtc.load(s);
  EXPECT_EQ(f.rtc.save(), s);
  ASSERT_EQ(f.sched.pending().size(), e.sched.pending().size());
  for (size_t i = 0; i < e.sched.pending().size(); i++) {
    EXPECT_EQ(f.sched.pending()[i].name, e.sched.pending()[i].name);
    EXPECT_EQ(f.sched.pending()[i].when, e.sched.pending()[i].when);
  }
  EXPECT_EQ(f.pic.level(8), e.pic.level(8));
  e.run_ms(3000);
  f.run_ms(3000);
  EXPECT_EQ(f.read(RtcCmos::kSeconds), e.read(RtcCmos::kSeconds));
  EXPECT_EQ(f.read(RtcCmos::kRegC), e.read(RtcCmos::kRegC));
  EXPECT_EQ(f.rtc.save(), e.rtc.save());
  EXPECT_EQ(f.read(0x50), 0x77);
}

}  // namespace
}  // namespace rv
