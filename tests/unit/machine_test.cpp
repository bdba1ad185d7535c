// The PC board: memory map, BIOS placement and size checks, the memory-size parser, and
// how runs end (debug exit, halt, instruction limit, port-0x92 reset) on tiny ROMs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "devices/char_sink.h"
#include "machine/pc.h"
#include "memory/log.h"

namespace rv {
namespace {

// A ROM of `size` bytes filled with HLT, with `code` placed at the reset vector (the
// image's last 16 bytes, linear 0xFFFFFFF0).
std::shared_ptr<const std::vector<u8>> rom(u64 size, std::vector<u8> code = {}) {
  auto v = std::make_shared<std::vector<u8>>(size, 0xF4);
  for (size_t i = 0; i < code.size() && i < 16; i++) (*v)[size - 16 + i] = code[i];
  return v;
}

PcConfig config(u64 ram, std::shared_ptr<const std::vector<u8>> bios) {
  PcConfig c;
  c.ram_bytes = ram;
  c.bios = std::move(bios);
  return c;
}

TEST(Pc, SmallRomIsMappedAtBothPlaces) {
  auto image = rom(64 * KiB);
  (*std::const_pointer_cast<std::vector<u8>>(image))[0] = 0x5A;
  Pc pc(config(32 * MiB, image));
  PhysMemory& m = pc.memory();
  EXPECT_EQ(m.read(0xFFFF0000, 1), 0x5Au);        // 4 GiB - 64 KiB
  EXPECT_EQ(m.read(0xF0000, 1), 0x5Au);           // 1 MiB - 64 KiB
  EXPECT_EQ(m.read(0xFFFFFFFF, 1), 0xF4u);
  EXPECT_EQ(m.read(0xFFFFF, 1), 0xF4u);
  const Region* low = m.find(0xF0000);
  ASSERT_NE(low, nullptr);
  EXPECT_EQ(low->kind, RegionKind::Rom);
  m.write(0xF0000, 0, 1);                         // read-only
  EXPECT_EQ(m.read(0xF0000, 1), 0x5Au);
  EXPECT_EQ(m.find(0xEFFFF), nullptr);            // hole below the low window
}

TEST(Pc, LargeRomIsOnlyBelow4GiB) {
  Pc pc(config(32 * MiB, rom(256 * KiB)));
  EXPECT_NE(pc.memory().find(0xFFFC0000), nullptr);
  EXPECT_EQ(pc.memory().find(0xFFFFF), nullptr);
  EXPECT_EQ(pc.memory().read(0xE0000, 1), 0xFFu);   // open bus
}

TEST(Pc, RamLayoutHasTheLegacyHole) {
  Pc pc(config(32 * MiB, rom(4 * KiB)));
  PhysMemory& m = pc.memory();
  m.write(0x9FFFF, 0x11, 1);
  m.write(0x100000, 0x22, 1);
  m.write(0x1FFFFFF, 0x33, 1);
  EXPECT_EQ(m.read(0x9FFFF, 1), 0x11u);
  EXPECT_EQ(m.read(0x100000, 1), 0x22u);
  EXPECT_EQ(m.read(0x1FFFFFF, 1), 0x33u);
  EXPECT_EQ(m.find(0xA0000), nullptr);
  EXPECT_EQ(m.find(0x2000000), nullptr);   // past the end of RAM
}

TEST(Pc, RamAbove3_5GiBMovesAbove4GiB) {
  Pc pc(config(4 * GiB, rom(4 * KiB)));   // lazily committed: costs no host memory
  PhysMemory& m = pc.memory();
  EXPECT_NE(m.find(0xDFFFFFFF), nullptr);
  EXPECT_EQ(m.find(0xE0000000), nullptr);
  const Region* hi = m.find(0x100000000ull);
  ASSERT_NE(hi, nullptr);
  EXPECT_EQ(hi->size, 512 * MiB);
  EXPECT_EQ(m.find(0x100000000ull + 512 * MiB), nullptr);
}

TEST(Pc, BadRomSizesAreRejected) {
  EXPECT_THROW(Pc(config(32 * MiB, std::make_shared<std::vector<u8>>())), ConfigError);
  EXPECT_THROW(Pc(config(32 * MiB, std::make_shared<std::vector<u8>>(16 * MiB + 1))), ConfigError);
  EXPECT_THROW(Pc(config(32 * MiB, nullptr)), ConfigError);
  EXPECT_NO_THROW(Pc(config(32 * MiB, std::make_shared<std::vector<u8>>(16 * MiB, 0xF4))));
  EXPECT_NO_THROW(Pc(config(32 * MiB, std::make_shared<std::vector<u8>>(100, 0xF4))));   // odd size
}

TEST(Pc, BadRamSizesAreRejected) {
  EXPECT_THROW(Pc(config(512 * KiB, rom(4 * KiB))), ConfigError);
  EXPECT_THROW(Pc(config(65 * GiB, rom(4 * KiB))), ConfigError);
}

TEST(PcConfig, LoadBiosImageErrorsNameTheFile) {
  try {
    load_bios_image("/nonexistent/bios.bin");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/bios.bin"), std::string::npos);
  }
  std::string empty = ::testing::TempDir() + "rv_empty_bios.bin";
  { std::ofstream f(empty, std::ios::binary); }
  EXPECT_THROW(load_bios_image(empty), ConfigError);
  std::string ok = ::testing::TempDir() + "rv_ok_bios.bin";
  { std::ofstream f(ok, std::ios::binary); f << "abc"; }
  auto img = load_bios_image(ok);
  ASSERT_EQ(img->size(), 3u);
  EXPECT_EQ((*img)[2], 'c');
  std::remove(empty.c_str());
  std::remove(ok.c_str());
  EXPECT_THROW(load_bios_image("/"), ConfigError);
}

TEST(PcConfig, ParseMemorySize) {
  EXPECT_EQ(parse_memory_size("512M"), 512 * MiB);
  EXPECT_EQ(parse_memory_size("512m"), 512 * MiB);
  EXPECT_EQ(parse_memory_size("2G"), 2 * GiB);
  EXPECT_EQ(parse_memory_size("64"), 64 * MiB);          // bare number: MiB
  EXPECT_EQ(parse_memory_size("2048K"), 2 * MiB);
  EXPECT_EQ(parse_memory_size("1.5G"), 1536 * MiB);
  EXPECT_EQ(parse_memory_size("16MiB"), 16 * MiB);
  EXPECT_EQ(parse_memory_size("256Mi"), 256 * MiB);      // as 256MiB
  EXPECT_EQ(parse_memory_size("1Gi"), GiB);
  EXPECT_EQ(parse_memory_size("1048577B"), MiB + kPageSize);   // rounded up to a page
  for (const char* bad : {"", "M", "abc", "12Q", "1..5G", "-5", "512 M", "0", "64K", "65G", "1T", "99999999999999999999G"})
    EXPECT_THROW(parse_memory_size(bad), ConfigError) << "'" << bad << "'";
}

// ---- runs on tiny ROMs (real-mode MOV/OUT/JMP/HLT only) ----

struct RomRun {
  RunResult r;
  std::string out;
};

RomRun run_rom(std::vector<u8> code, u64 max_insns = 0) {
  StringSink sink;
  PcConfig c = config(2 * MiB, rom(4 * KiB, std::move(code)));
  c.debugcon = &sink;
  c.max_insns = max_insns;
  Pc pc(c);
  RomRun run;
  run.r = pc.run();
  run.out = sink.text();
  return run;
}

TEST(PcRun, DebugExitEndsTheRunWithItsStatus) {
  // mov al,'h' ; out 0xE9,al ; mov al,'i' ; out 0xE9,al ; mov al,0x10 ; out 0xF4,al ; hlt
  RomRun run = run_rom({0xB0, 'h', 0xE6, 0xE9, 0xB0, 'i', 0xE6, 0xE9, 0xB0, 0x10, 0xE6, 0xF4, 0xF4});
  EXPECT_EQ(run.out, "hi");
  EXPECT_EQ(run.r.kind, StopKind::DebugExit);
  EXPECT_EQ(run.r.exit_status, 0x21);
  EXPECT_EQ(run.r.guest_insns, 6u);
}

TEST(PcRun, HaltWithInterruptsOffStopsWithTheHaltStatus) {
  RomRun run = run_rom({0xFA, 0xF4});   // cli ; hlt
  EXPECT_EQ(run.r.kind, StopKind::Halted);
  EXPECT_EQ(run.r.exit_status, 6);   // kExitHalted: not 0, which is a power-off
  EXPECT_EQ(run.r.message, "guest halted with interrupts disabled");
}

TEST(PcRun, HaltWithInterruptsOnAndNoDevicesStops) {
  RomRun run = run_rom({0xFB, 0xF4});   // sti ; hlt
  EXPECT_EQ(run.r.kind, StopKind::HaltIdle);
  EXPECT_EQ(run.r.exit_status, kExitHalted);
}

TEST(PcRun, InstructionLimit) {
  RomRun run = run_rom({0xEB, 0xFE}, 12345);   // jmp $
  EXPECT_EQ(run.r.kind, StopKind::InsnLimit);
  EXPECT_EQ(run.r.exit_status, kExitInsnLimit);
  EXPECT_EQ(run.r.guest_insns, 12345u);
}

// A guest that runs every byte of 1.5 MiB of RAM as code (JMP $+2, each a block of its own)
// makes more blocks than the cache keeps: it stays bounded and the run is still right.
TEST(PcRun, BlockCacheIsBounded) {
  std::vector<u8> k;
  auto u32le = [&](u32 v) { for (int i = 0; i < 4; i++) k.push_back(static_cast<u8>(v >> (8 * i))); };
  // Multiboot v1 a.out kludge: header_addr, load_addr, load_end_addr, bss_end_addr, entry.
  const u32 base = 0x100000, code = base + 32, n = 3 * 256 * 1024;
  for (u32 v : {0x1BADB002u, 0x10000u, 0u - (0x1BADB002u + 0x10000u), base, base, code + 2 * n + 1, code + 2 * n + 1, code})
    u32le(v);
  for (u32 i = 0; i < n; i++) k.insert(k.end(), {0xEB, 0x00});   // jmp $+2
  k.push_back(0xF4);                                              // hlt (IF=0: the end)
  PcConfig c;
  c.ram_bytes = 8 * MiB;
  c.kernel = std::make_shared<const std::vector<u8>>(std::move(k));
  Pc pc(c);
  RunResult r = pc.run();
  EXPECT_EQ(r.kind, StopKind::Halted);
  EXPECT_EQ(r.guest_insns, n + 1);
  EXPECT_LE(pc.cpu().cached_blocks(), Cpu::kMaxCachedBlocks);
  EXPECT_GE(pc.cpu().cache_flushes(), 1u);
}

TEST(PcRun, LimitAcrossSlices) {
  RomRun run = run_rom({0xEB, 0xFE}, Pc::kSliceInsns + 7);
  EXPECT_EQ(run.r.kind, StopKind::InsnLimit);
  EXPECT_EQ(run.r.guest_insns, Pc::kSliceInsns + 7);
}

TEST(PcRun, Port92ResetRestartsTheGuest) {
  // out 0xE9,al (AL='R' first time via mov) ; mov al,1 ; out 0x92,al ; jmp $
  RomRun run = run_rom({0xB0, 'R', 0xE6, 0xE9, 0xB0, 0x03, 0xE6, 0x92, 0xEB, 0xFE}, 100);
  EXPECT_GE(run.r.resets, 2u);
  EXPECT_EQ(run.out.substr(0, 2), "RR");
  EXPECT_EQ(run.r.kind, StopKind::InsnLimit);
}

}  // namespace
}  // namespace rv
