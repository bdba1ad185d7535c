// Protocol detection, and hostile input: mutated and truncated images must give a BootError
// or load, never crash or throw anything else.
#include <random>

#include "boot_test_util.h"
#include "machine/boot/linux_boot.h"

namespace rv::boot::test {
namespace {

std::vector<u8> pvh_elf() {
  auto note = elf_note("Xen", 18, le_bytes(0x1000000, 8));
  return build_elf(true, 0, {{1, 0x1000000, 0x1000000, pattern(0x400, 1), 0x800, 16}, {4, 0, 0, note, 0, 4}});
}

std::vector<u8> multiboot_aout() {
  auto img = pattern(0x400, 2);
  const auto h = multiboot_header(0x10003, 0x100000, 0x100000, 0, 0x101000, 0x100020);
  std::copy(h.begin(), h.end(), img.begin());
  return img;
}

TEST(Detect, PicksTheProtocolFromTheFile) {
  EXPECT_EQ(detect_protocol(build_bzimage({})).protocol, BootProtocol::LinuxBzImage);
  EXPECT_EQ(detect_protocol(pvh_elf()).protocol, BootProtocol::Pvh);
  EXPECT_EQ(detect_protocol(multiboot_aout()).protocol, BootProtocol::Multiboot);
  const auto plain_elf = build_elf(true, 0x100000, {{1, 0x100000, 0x100000, pattern(0x100, 1)}});
  const Detection d = detect_protocol(plain_elf);
  EXPECT_FALSE(d.protocol);
  EXPECT_NE(d.why_not.find("PVH"), std::string::npos);
  EXPECT_FALSE(detect_protocol(pattern(0x4000, 3)).protocol);
  EXPECT_FALSE(detect_protocol({}).protocol);
  std::vector<u8> text(100, 'a');
  EXPECT_NE(detect_protocol(text).why_not.find("not a kernel"), std::string::npos);
}

TEST(Detect, TextFileGivesOneLine) {
  TestMachine m(16ull << 20);
  const std::string s = "#!/bin/sh\necho hello\n";
  std::vector<u8> text(s.begin(), s.end());
  expect_boot_error([&] { load_kernel(m.mem, m.request(text)); }, {"test-kernel: not a kernel"});
}

// Random byte flips in the headers and random truncations, a few thousand of each kind.
void fuzz(const std::vector<u8>& base, u32 seed, u64 hot_bytes) {
  std::mt19937 rng(seed);
  TestMachine m(64ull << 20);
  const auto rd = pattern(0x1000, 1);
  int loaded = 0, rejected = 0;
  for (int i = 0; i < 1500; ++i) {
    auto img = base;
    const int flips = 1 + int(rng() % 6);
    for (int k = 0; k < flips; ++k) {
      const u64 at = rng() % std::min<u64>(hot_bytes, img.size());
      img[at] = (rng() % 3 == 0) ? u8(0xFF) : u8(rng());
    }
    if (rng() % 4 == 0) img.resize(rng() % img.size());
    BootRequest req = m.request(img);
    req.has_initrd = rng() % 2;
    req.initrd = rd;
    try {
      load_kernel(m.mem, req);
      ++loaded;
    } catch (const BootError& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).rfind("test-kernel: ", 0) == 0 || std::string(e.what()).rfind("initrd: ", 0) == 0, true) << e.what();
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(loaded, 0);   // the mutations are not all fatal: loading paths get exercised too
  EXPECT_EQ(loaded + rejected, 1500);
}

TEST(Hostile, MutatedBzImages) { fuzz(build_bzimage({}), 1, 0x300); }
TEST(Hostile, MutatedPvhElf) { fuzz(pvh_elf(), 2, 0x140); }
TEST(Hostile, MutatedMultiboot) { fuzz(multiboot_aout(), 3, 0x30); }
TEST(Hostile, MutatedMultibootElf) {
  auto code = pattern(0x200, 4);
  const auto h = multiboot_header(0x3);
  std::copy(h.begin(), h.end(), code.begin());
  fuzz(build_elf(false, 0x100000, {{1, 0x100000, 0x100000, code, 0x1000}}), 4, 0xA0);
}

TEST(PcMemoryMap, MatchesTheBoard) {
  auto m = pc_memory_map(128ull << 20);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (E820Entry{0, 0xA0000, E820Type::Ram}));
  EXPECT_EQ(m[1], (E820Entry{0xE0000, 0x20000, E820Type::Reserved}));
  EXPECT_EQ(m[2], (E820Entry{0x100000, (128ull << 20) - 0x100000, E820Type::Ram}));
  m = pc_memory_map(4ull << 30);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[2].size, 0xE0000000ull - 0x100000);
  EXPECT_EQ(m[3], (E820Entry{0x100000000ull, (4ull << 30) - 0xE0000000ull, E820Type::Ram}));
}

}  // namespace
}  // namespace rv::boot::test
