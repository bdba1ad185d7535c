// FwCfg: the traditional fw_cfg interface (QEMU docs/specs/fw_cfg.txt).
#include "devices/fw_cfg.h"

#include <gtest/gtest.h>

#include <memory>

#include <stdexcept>
#include <string>
#include <vector>

namespace rv {
namespace {

struct FwCfgTest : ::testing::Test {
  FwCfg fw;
  std::vector<u8> read(u16 key, size_t n) {
    fw.io_write(0, key, 2);
    std::vector<u8> out;
    for (size_t i = 0; i < n; i++) out.push_back(static_cast<u8>(fw.io_read(1, 1)));
    return out;
  }
  static u32 be32(const std::vector<u8>& v, size_t at) {
    return u32(v[at]) << 24 | u32(v[at + 1]) << 16 | u32(v[at + 2]) << 8 | v[at + 3];
  }
  static u16 be16(const std::vector<u8>& v, size_t at) { return static_cast<u16>(v[at] << 8 | v[at + 1]); }
};

TEST_F(FwCfgTest, SignatureAndId) {
  EXPECT_EQ(read(FwCfg::kSignature, 6), (std::vector<u8>{'Q', 'E', 'M', 'U', 0, 0}));   // past the end: 0
  EXPECT_EQ(read(FwCfg::kSignature, 2), (std::vector<u8>{'Q', 'E'}));   // selecting rewinds
  EXPECT_EQ(read(FwCfg::kId, 4), (std::vector<u8>{1, 0, 0, 0}));        // traditional only
  EXPECT_EQ(read(0x1234, 2), (std::vector<u8>{0, 0}));                  // no such item
}

TEST_F(FwCfgTest, RamSizeAndCpuCountLittleEndian) {
  fw.set_ram_size(0x1'2345'6000ull);
  fw.set_cpu_count(1);
  EXPECT_EQ(read(FwCfg::kRamSize, 8), (std::vector<u8>{0x00, 0x60, 0x45, 0x23, 0x01, 0, 0, 0}));
  EXPECT_EQ(read(FwCfg::kNbCpus, 2), (std::vector<u8>{1, 0}));
  EXPECT_EQ(read(FwCfg::kMaxCpus, 2), (std::vector<u8>{1, 0}));
}

TEST_F(FwCfgTest, FileDirectoryIsBigEndianAndSorted) {
  EXPECT_EQ(read(FwCfg::kFileDir, 4), (std::vector<u8>{0, 0, 0, 0}));
  u16 k1 = fw.add_file("opt/zz", std::vector<u8>(0x123, 0xAB));
  FwCfg::E820Entry e820[] = {{0, 0x9FC00, FwCfg::E820Type::Ram}, {0x100000, 0x7F00000, FwCfg::E820Type::Ram},
                             {0xFEC00000, 0x1000, FwCfg::E820Type::Reserved}};
  fw.set_e820(e820);
  EXPECT_EQ(k1, 0x20);
  std::vector<u8> dir = read(FwCfg::kFileDir, 4 + 2 * 64);
  EXPECT_EQ(be32(dir, 0), 2u);
  // Sorted by name: etc/e820 (selector 0x21) before opt/zz (0x20).
  EXPECT_EQ(be32(dir, 4), 60u);                // three 20-byte records
  EXPECT_EQ(be16(dir, 8), 0x21);
  EXPECT_EQ(be16(dir, 10), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&dir[12])), "etc/e820");
  for (size_t i = 12 + 8; i < 68; i++) EXPECT_EQ(dir[i], 0) << i;   // NUL padded to 56
  EXPECT_EQ(be32(dir, 68), 0x123u);
  EXPECT_EQ(be16(dir, 72), 0x20);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&dir[76])), "opt/zz");
  // The e820 file: {u64 address; u64 length; u32 type} little-endian, packed.
  std::vector<u8> f = read(0x21, 60);
  EXPECT_EQ(f[20 + 2], 0x10);                  // 0x100000
  EXPECT_EQ(f[20 + 8 + 2], 0xF0);              // 0x7F00000
  EXPECT_EQ(f[20 + 8 + 3], 0x07);
  EXPECT_EQ(f[20 + 16], 1);
  EXPECT_EQ(f[40 + 3], 0xFE);
  EXPECT_EQ(f[40 + 16], 2);
  EXPECT_EQ(read(0x20, 1)[0], 0xAB);
  // Replacing the e820 table keeps its selector and updates the directory's size.
  fw.set_e820(std::span(e820, 1));
  dir = read(FwCfg::kFileDir, 12);
  EXPECT_EQ(be32(dir, 4), 20u);
  EXPECT_EQ(be16(dir, 8), 0x21);
}

TEST_F(FwCfgTest, BadFileNamesAreRejected) {
  fw.add_file("etc/acpi/tables", {1});
  EXPECT_THROW(fw.add_file("etc/acpi/tables", {2}), std::invalid_argument);
  EXPECT_THROW(fw.add_file(std::string(56, 'x'), {}), std::invalid_argument);
  EXPECT_NO_THROW(fw.add_file(std::string(55, 'x'), {}));
}

// The DMA interface against a 1 MiB RAM with a ROM window above it.
struct FwCfgDmaTest : ::testing::Test {
  PhysMemory mem{1 << 20};
  FwCfg fw{&mem};
  void SetUp() override {
    mem.map_ram(0, 1 << 20, 0);
    mem.map_rom(0x100000, std::make_shared<const std::vector<u8>>(4096, 0x5A));
  }
  void put_be(u64 at, u64 v, unsigned n) {
    for (unsigned i = 0; i < n; i++) mem.write(at + i, u8(v >> (8 * (n - 1 - i))), 1);
  }
  // Writes a descriptor at `desc` and starts it through the two big-endian halves.
  u32 dma(u64 desc, u32 control, u32 length, u64 address) {
    put_be(desc, control, 4);
    put_be(desc + 4, length, 4);
    put_be(desc + 8, address, 8);
    fw.io_write(FwCfg::kDmaOffset, __builtin_bswap32(u32(desc >> 32)), 4);
    fw.io_write(FwCfg::kDmaOffset + 4, __builtin_bswap32(u32(desc)), 4);
    u32 c = 0;
    for (unsigned i = 0; i < 4; i++) c = c << 8 | u8(mem.read(desc + i, 1));
    return c;
  }
};

TEST_F(FwCfgDmaTest, IdAndSignature) {
  fw.io_write(0, FwCfg::kId, 2);
  EXPECT_EQ(fw.io_read(1, 1), 3u);   // traditional and DMA
  std::string sig;
  for (u16 o = 0; o < 8; o++) sig += char(fw.io_read(u16(FwCfg::kDmaOffset + o), 1));
  EXPECT_EQ(sig, "QEMU CFG");
  EXPECT_EQ(fw.io_read(FwCfg::kDmaOffset, 4), 0x554D4551u);   // "QEMU" in port order
}

TEST_F(FwCfgDmaTest, SelectReadAndSkip) {
  EXPECT_EQ(dma(0x1000, u32(FwCfg::kSignature) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaRead, 6, 0x2000), 0u);
  std::vector<u8> got(6);
  ASSERT_TRUE(mem.read_bytes(0x2000, got.data(), 6));
  EXPECT_EQ(got, (std::vector<u8>{'Q', 'E', 'M', 'U', 0, 0}));   // zeros past the end
  u16 key = fw.add_file("etc/test", {1, 2, 3, 4, 5});
  EXPECT_EQ(dma(0x1000, u32(key) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaSkip, 2, 0), 0u);
  EXPECT_EQ(dma(0x1000, FwCfg::kDmaRead, 2, 0x3000), 0u);          // continues after the skip
  EXPECT_EQ(mem.read(0x3000, 2), 0x0403u);
  EXPECT_EQ(fw.io_read(1, 1), 5u);                                 // and the data port follows
}

TEST_F(FwCfgDmaTest, HostileAddressesSetTheErrorBit) {
  const u32 read_sig = u32(FwCfg::kSignature) << 16 | FwCfg::kDmaSelect | FwCfg::kDmaRead;
  EXPECT_EQ(dma(0x1000, read_sig, 4, 0xFFFFFFF0), FwCfg::kDmaError);            // unmapped
  EXPECT_EQ(dma(0x1000, read_sig, 16, 0xFFFF8), FwCfg::kDmaError);              // runs into ROM
  EXPECT_EQ(mem.read(0x100000, 1), 0x5Au);                                      // ROM untouched
  EXPECT_EQ(mem.read(0xFFFF8, 1), 0u);                                          // nothing written
  EXPECT_EQ(dma(0x1000, read_sig, 0xFFFFFFFF, 0x4000), FwCfg::kDmaError);       // longer than RAM
  EXPECT_EQ(dma(0x1000, FwCfg::kDmaWrite, 4, 0x4000), FwCfg::kDmaError);        // items are read only
  EXPECT_EQ(dma(0x1000, read_sig, 4, ~0ull - 1), FwCfg::kDmaError);             // wraps
  // A descriptor outside RAM is ignored.
  fw.io_write(FwCfg::kDmaOffset, 0, 4);
  fw.io_write(FwCfg::kDmaOffset + 4, __builtin_bswap32(0xFFFFFF00u), 4);
  EXPECT_EQ(dma(0x1000, read_sig, 4, 0x5000), 0u);                              // still works
}

TEST_F(FwCfgTest, SaveLoadSaveRoundTrip) {
  fw.io_write(0, FwCfg::kSignature, 2);
  fw.io_read(1, 1);
  fw.io_read(1, 1);
  FwCfg::State s = fw.save();
  FwCfg copy;
  copy.load(s);
  EXPECT_EQ(copy.save(), s);
  EXPECT_EQ(copy.io_read(1, 1), u32('M'));   // continues where the saved one was
}

}  // namespace
}  // namespace rv
