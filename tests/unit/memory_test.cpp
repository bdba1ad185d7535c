// PhysMemory and IoBus: region rules, ROM and unmapped behaviour, code-page tracking,
// open-bus port reads and overlap rejection.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "memory/io_bus.h"
#include "memory/log.h"
#include "memory/phys_memory.h"

namespace rv {
namespace {

std::shared_ptr<const std::vector<u8>> rom_of(std::vector<u8> bytes) {
  return std::make_shared<const std::vector<u8>>(std::move(bytes));
}

class MemoryTest : public ::testing::Test {
 protected:
  void SetUp() override { set_log_quiet(true); }
  void TearDown() override { set_log_quiet(false); }
};

TEST_F(MemoryTest, OverlappingRegionsAreRejected) {
  PhysMemory mem(64 * 1024);
  mem.map_ram(0, 0x8000, 0, "low");
  EXPECT_THROW(mem.map_ram(0x7000, 0x2000, 0x8000, "overlaps-end"), std::invalid_argument);
  EXPECT_THROW(mem.map_rom(0x4000, rom_of(std::vector<u8>(16, 0))), std::invalid_argument);
  EXPECT_THROW(mem.map_ram(0, 0x10, 0x8000, "same-base"), std::invalid_argument);
  // Touching but not overlapping is fine.
  EXPECT_NO_THROW(mem.map_ram(0x8000, 0x8000, 0x8000, "high"));
  EXPECT_EQ(mem.regions().size(), 2u);
}

TEST_F(MemoryTest, RamWindowBeyondAllocationIsRejected) {
  PhysMemory mem(64 * 1024);
  EXPECT_THROW(mem.map_ram(0x100000, 0x20000, 0, "too-big"), std::invalid_argument);
}

TEST_F(MemoryTest, RomWritesAreDropped) {
  PhysMemory mem(4096);
  mem.map_rom(0xF0000, rom_of({0x11, 0x22, 0x33, 0x44}), "rom");
  EXPECT_EQ(mem.read(0xF0000, 4), 0x44332211u);
  mem.write(0xF0000, 0xAABBCCDD, 4);
  mem.write(0xF0001, 0x99, 1);
  EXPECT_EQ(mem.read(0xF0000, 4), 0x44332211u);
}

TEST_F(MemoryTest, RomImageIsSharedByTwoWindows) {
  PhysMemory mem(4096);
  auto image = rom_of({1, 2, 3, 4});
  mem.map_rom(0xFFFFFFFC, image, "high");
  mem.map_rom(0xFFFFC, image, "low");
  EXPECT_EQ(mem.read(0xFFFFFFFC, 4), 0x04030201u);
  EXPECT_EQ(mem.read(0xFFFFC, 4), 0x04030201u);
}

TEST_F(MemoryTest, UnmappedReadsAreAllOnesAndWritesVanish) {
  PhysMemory mem(4096);
  mem.map_ram(0, 4096, 0);
  EXPECT_EQ(mem.read(0x10000, 1), 0xFFu);
  EXPECT_EQ(mem.read(0x10000, 4), 0xFFFFFFFFu);
  EXPECT_EQ(mem.read(0x10000, 8), ~0ull);
  mem.write(0x10000, 0x12345678, 4);
  EXPECT_EQ(mem.read(0x10000, 4), 0xFFFFFFFFu);
  // A read straddling the end of RAM: RAM bytes, then open bus.
  mem.write(4094, 0xBEEF, 2);
  EXPECT_EQ(mem.read(4094, 4), 0xFFFFBEEFu);
}

TEST_F(MemoryTest, RamReadsBackWhatWasWritten) {
  PhysMemory mem(8192);
  mem.map_ram(0, 8192, 0);
  mem.write(0x123, 0x0102030405060708ull, 8);
  EXPECT_EQ(mem.read(0x123, 8), 0x0102030405060708ull);
  EXPECT_EQ(mem.read(0x124, 2), 0x0607u);
  EXPECT_EQ(mem.ram()[0x123], 0x08);
  u8 buf[3];
  ASSERT_TRUE(mem.read_bytes(0x125, buf, 3));
  EXPECT_EQ(buf[0], 0x06);
  EXPECT_FALSE(mem.read_bytes(8190, buf, 3));   // runs off the end of RAM
}

TEST_F(MemoryTest, CodePageWriteCallsListenerOnceAndClearsTheBit) {
  PhysMemory mem(4 * kPageSize);
  mem.map_ram(0, 4 * kPageSize, 0);
  std::vector<u64> calls;
  mem.set_code_write_listener([&](u64 page) { calls.push_back(page); });

  EXPECT_TRUE(mem.mark_code(0x1010));
  EXPECT_FALSE(mem.mark_code(0x1FFF));   // same page, already marked
  EXPECT_TRUE(mem.is_code(0x1000));
  EXPECT_FALSE(mem.is_code(0x2000));
  EXPECT_FALSE(mem.map_page(0x1000).writable);   // no direct TLB writes to code
  EXPECT_TRUE(mem.map_page(0x2000).writable);

  mem.write(0x2000, 1, 1);   // not code: no call
  EXPECT_TRUE(calls.empty());
  mem.write(0x1800, 0xAB, 1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], 0x1000u);
  EXPECT_FALSE(mem.is_code(0x1000));
  EXPECT_TRUE(mem.map_page(0x1000).writable);
  mem.write(0x1800, 0xCD, 1);   // bit cleared: no second call
  EXPECT_EQ(calls.size(), 1u);
}

TEST_F(MemoryTest, WriteStraddlingIntoCodePageNotifiesThatPage) {
  PhysMemory mem(4 * kPageSize);
  mem.map_ram(0, 4 * kPageSize, 0);
  std::vector<u64> calls;
  mem.set_code_write_listener([&](u64 page) { calls.push_back(page); });
  mem.mark_code(0x2000);
  mem.write(0x1FFE, 0x11223344, 4);   // last two bytes land in the code page
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], 0x2000u);
  EXPECT_EQ(mem.read(0x2000, 2), 0x1122u);
}

TEST_F(MemoryTest, BulkWriteToCodePageNotifies) {
  PhysMemory mem(4 * kPageSize);
  mem.map_ram(0, 4 * kPageSize, 0);
  std::vector<u64> calls;
  mem.set_code_write_listener([&](u64 page) { calls.push_back(page); });
  mem.mark_code(0x3000);
  std::vector<u8> data(0x1800, 0x90);
  ASSERT_TRUE(mem.write_bytes(0x2000, data.data(), data.size()));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], 0x3000u);
}

TEST_F(MemoryTest, RomAndMmioPagesCannotBeMarkedAsCode) {
  PhysMemory mem(4096);
  mem.map_rom(0x10000, rom_of(std::vector<u8>(4096, 0xF4)));
  EXPECT_FALSE(mem.mark_code(0x10000));
  EXPECT_FALSE(mem.is_code(0x10000));
  PageMapping m = mem.map_page(0x10000);
  EXPECT_NE(m.host, nullptr);
  EXPECT_FALSE(m.writable);
}

class FakePort final : public PortDevice {
 public:
  u32 io_read(u16 offset, unsigned size) override { last_read = offset; return 0xA0 + offset; }
  void io_write(u16 offset, u32 value, unsigned size) override { writes.push_back({offset, value}); }
  u16 last_read = 0xFFFF;
  std::vector<std::pair<u16, u32>> writes;
};

TEST_F(MemoryTest, IoBusOpenBusReadsAllOnes) {
  IoBus io;
  EXPECT_EQ(io.read(0x1234, 1), 0xFFu);
  EXPECT_EQ(io.read(0x1234, 2), 0xFFFFu);
  EXPECT_EQ(io.read(0x1234, 4), 0xFFFFFFFFu);
  io.write(0x1234, 5, 1);   // dropped, no crash
  EXPECT_EQ(io.read(0xFFFF, 1), 0xFFu);
}

TEST_F(MemoryTest, IoBusRoutesOffsetsAndRejectsOverlaps) {
  IoBus io;
  FakePort a, b;
  io.map(0x3F8, 8, &a, "uart");
  EXPECT_THROW(io.map(0x3FF, 2, &b, "clash"), std::invalid_argument);
  EXPECT_THROW(io.map(0x3F0, 9, &b, "clash2"), std::invalid_argument);
  EXPECT_THROW(io.map(0xFFFF, 2, &b, "wraps"), std::invalid_argument);
  EXPECT_NO_THROW(io.map(0x400, 1, &b, "next"));
  EXPECT_EQ(io.read(0x3FA, 1), 0xA2u);
  EXPECT_EQ(a.last_read, 2);
  io.write(0x3FB, 0x80, 1);
  ASSERT_EQ(a.writes.size(), 1u);
  EXPECT_EQ(a.writes[0].first, 3);
  EXPECT_EQ(io.name_at(0x3FC), "uart");
  EXPECT_EQ(io.name_at(0x401), "");
}

TEST_F(MemoryTest, IoBusSplitsAccessStraddlingADevice) {
  IoBus io;
  FakePort a;
  io.map(0x100, 1, &a, "one");
  // Byte 0 from the device, bytes 1..3 open bus.
  EXPECT_EQ(io.read(0x100, 4), 0xFFFFFFA0u);
  io.write(0x100, 0x12345678, 4);
  ASSERT_EQ(a.writes.size(), 1u);
  EXPECT_EQ(a.writes[0].second, 0x78u);
}

}  // namespace
}  // namespace rv
