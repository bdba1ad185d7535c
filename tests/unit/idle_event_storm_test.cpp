// A halted CPU (IF=1) next to a fast timer whose interrupt is never delivered: the board
// jumps virtual time from one device event to the next, one turn of Pc::run per event, so
// the host work one HLT costs must be bounded by the number of events, not only by the
// 600 s of virtual time (kMaxIdleNs). Found by the `pc` fuzz target (regression seed
// tests/fuzz/corpus/pc/09f3fe16d67a8cf8b82f00139c92e06ccc4be380): PIT channel 0 in mode 3
// with count 128 and IRQ0 left in service (an IRET without EOI) gave 11.2 million turns
// for one HLT.
#include <gtest/gtest.h>

#include "machine/pc.h"
#include "tests/unit/rom_image.h"

namespace rv {
namespace {

struct IdleRun {
  RunResult r;
  Nanos end_time = 0;
};

// Real mode: vector 0x20 -> an IRET (no EOI); the master 8259A at base 0x20 with IMR `imr`;
// PIT channel 0 programmed with `control` and the 16-bit `count`; STI; HLT; JMP back to HLT.
IdleRun run_idle(u8 control, u16 count, u8 imr) {
  std::vector<u8> p = {
      0xFA,                                      // cli
      0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0,        // xor ax,ax ; mov ds,ax ; mov ss,ax
      0xBC, 0x00, 0x70,                          // mov sp,0x7000
      0xC7, 0x06, 0x80, 0x00, 0x00, 0x00,        // mov word [0x80], iret (patched)
      0xC7, 0x06, 0x82, 0x00, 0x00, 0xF0,        // mov word [0x82], 0xF000
  };
  const std::vector<u8> pic = pic_init_code(imr);
  p.insert(p.end(), pic.begin(), pic.end());
  const std::vector<u8> rest = {
      0xB0, control, 0xE6, 0x43,                 // PIT channel 0 control word
      0xB0, static_cast<u8>(count), 0xE6, 0x40,
      0xB0, static_cast<u8>(count >> 8), 0xE6, 0x40,
      0xFB,                                      // sti
      0xF4,                                      // hlt
      0xEB, 0xFD,                                // jmp back to hlt
  };
  p.insert(p.end(), rest.begin(), rest.end());
  const u16 handler = static_cast<u16>(p.size());
  p[14] = static_cast<u8>(handler);
  p[15] = static_cast<u8>(handler >> 8);
  p.push_back(0xCF);                             // iret, and no EOI: IRQ0 stays in service
  PcConfig c;
  c.ram_bytes = 4 * MiB;
  c.bios = rom_at_f000(p);
  c.max_insns = 200'000;
  Pc pc(c);
  IdleRun run;
  run.r = pc.run();
  run.end_time = pc.now();
  return run;
}

// The fuzzer's case: one IRQ0 is taken, its handler never sends EOI, and the PIT's OUT0
// keeps toggling every 64 clocks (53.6 us) under a halted CPU. The run ends as HaltIdle after
// Pc::kMaxIdleEvents events, long before 600 s of virtual time.
TEST(IdleEventStorm, Irq0InServiceWithoutEoiEndsAfterTheEventBound) {
  IdleRun run = run_idle(0x36, 128, 0xFE);   // LSB/MSB, mode 3, count 128; only IRQ0 unmasked
  EXPECT_EQ(run.r.kind, StopKind::HaltIdle);
  EXPECT_LT(run.r.guest_insns, 100u);        // the program, the one interrupt, its IRET
  EXPECT_LT(run.end_time, Pc::kMaxIdleNs);
  // About kMaxIdleEvents edges of 64 clocks each.
  const Nanos per_edge = 64 * kNsPerSec / 1'193'182;
  EXPECT_GE(run.end_time, (Pc::kMaxIdleEvents - 1000) * per_edge);
  EXPECT_LE(run.end_time, (Pc::kMaxIdleEvents + 1000) * per_edge);
}

// The fastest legal programming (mode 2, count 2: an OUT0 edge on every clock) with IRQ0
// masked: 716 million events in 600 s of virtual time without the bound.
TEST(IdleEventStorm, MaskedMode2Count2EndsAfterTheEventBound) {
  IdleRun run = run_idle(0x34, 2, 0xFF);
  EXPECT_EQ(run.r.kind, StopKind::HaltIdle);
  EXPECT_LT(run.end_time, kNsPerSec);        // 10^6 edges of one clock (838 ns) each
}

}  // namespace
}  // namespace rv
