// The real default guest, if scripts/make-guest.sh has built it: Debian's bzImage and the
// vmlinux extracted from it must parse and load. Skipped (with the reason) when absent.
// The guest directory: $RETROVISOR_GUEST_DIR, else ${XDG_CACHE_HOME:-~/.cache}/retrovisor/guest.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "boot_test_util.h"
#include "machine/boot/linux_boot.h"
#include "machine/boot/pvh_boot.h"

namespace rv::boot::test {
namespace {

std::filesystem::path guest_dir() {
  if (const char* d = std::getenv("RETROVISOR_GUEST_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "retrovisor/guest";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache/retrovisor/guest";
}

std::vector<u8> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

#define REQUIRE_GUEST_FILE(var, name)                                                                     \
  const auto var##_path = guest_dir() / name;                                                            \
  if (!std::filesystem::exists(var##_path))                                                              \
    GTEST_SKIP() << var##_path << " is absent: run scripts/make-guest.sh to build the default guest";    \
  const std::vector<u8> var = read_file(var##_path);                                                     \
  ASSERT_FALSE(var.empty()) << var##_path;

TEST(DebianKernel, BzImageHeaderAndLoad) {
  REQUIRE_GUEST_FILE(vmlinuz, "vmlinuz");
  REQUIRE_GUEST_FILE(initrd, "initramfs.cpio.gz");
  const BzImageHeader h = parse_bzimage(FileView(vmlinuz, "vmlinuz"));
  EXPECT_GE(h.version, 0x20Fu);
  EXPECT_TRUE(h.has_64bit_entry());
  EXPECT_TRUE(h.relocatable);
  EXPECT_EQ(h.pref_address, 0x1000000u);
  EXPECT_GE(h.cmdline_size, 255u);
  EXPECT_GT(h.init_size, h.kernel_size);
  // The payload the script decompressed: an XZ/gzip/zstd stream inside the file.
  ASSERT_GT(h.payload_length, 4u);
  const u8* p = vmlinuz.data() + h.setup_size + h.payload_offset;
  EXPECT_TRUE((p[0] == 0xFD && p[1] == '7') || (p[0] == 0x1F && p[1] == 0x8B) || (p[0] == 0x28 && p[1] == 0xB5));

  TestMachine m(256ull << 20);
  BootRequest req = m.request(vmlinuz, "console=ttyS0");
  req.kernel_name = "vmlinuz";
  req.has_initrd = true;
  req.initrd = initrd;
  const BootResult r = load_kernel(m.mem, req);
  EXPECT_EQ(r.protocol, BootProtocol::LinuxBzImage);
  EXPECT_EQ(r.entry.mode, EntryMode::Long64);
  EXPECT_EQ(r.entry.rip, h.pref_address + 0x200);
  EXPECT_EQ(m.bytes(h.pref_address, 4096), std::vector<u8>(vmlinuz.begin() + h.setup_size, vmlinuz.begin() + h.setup_size + 4096));
  EXPECT_EQ(m.r32(r.boot_info + 0x21C), initrd.size());
  EXPECT_EQ(m.bytes(m.r32(r.boot_info + 0x218), 2), (std::vector<u8>{0x1F, 0x8B}));

  // Too little RAM for the decompressed kernel: one clear line.
  TestMachine small(24ull << 20);
  BootRequest sreq = small.request(vmlinuz);
  sreq.kernel_name = "vmlinuz";
  expect_boot_error([&] { load_kernel(small.mem, sreq); }, {"vmlinuz: ", "RAM is too small"});
}

TEST(DebianKernel, VmlinuxHasPvhNoteAndLoads) {
  REQUIRE_GUEST_FILE(vmlinux, "vmlinux");
  const FileView f(vmlinux, "vmlinux");
  const ElfImage elf = parse_elf(f);
  EXPECT_TRUE(elf.is64);
  const auto entry = find_pvh_entry(f, elf);
  ASSERT_TRUE(entry) << "no XEN_ELFNOTE_PHYS32_ENTRY in vmlinux";
  EXPECT_GE(*entry, 0x1000000u);
  EXPECT_LT(*entry, 0x100000000u);
  EXPECT_EQ(detect_protocol(vmlinux).protocol, BootProtocol::Pvh);

  TestMachine m(256ull << 20);
  BootRequest req = m.request(vmlinux, "console=ttyS0");
  req.kernel_name = "vmlinux";
  const BootResult r = load_kernel(m.mem, req);
  EXPECT_EQ(r.entry.mode, EntryMode::Protected32);
  EXPECT_EQ(r.entry.rip, *entry);
  EXPECT_EQ(m.r32(r.entry.rbx), 0x336ec578u);
  // The bytes at the entry point are the file's bytes of the segment that holds it.
  for (const ElfSegment& s : elf.segments) {
    if (s.type != kPtLoad || *entry < s.paddr || *entry - s.paddr >= s.filesz) continue;
    const u64 off = s.offset + (*entry - s.paddr);
    EXPECT_EQ(m.bytes(*entry, 16), std::vector<u8>(vmlinux.begin() + off, vmlinux.begin() + off + 16));
  }
}

TEST(DebianKernel, InitramfsIsGzipNewc) {
  REQUIRE_GUEST_FILE(initrd, "initramfs.cpio.gz");
  EXPECT_EQ(initrd[0], 0x1F);
  EXPECT_EQ(initrd[1], 0x8B);
  EXPECT_EQ(initrd[3] & 0x08, 0);   // gzip -n: no file name
  EXPECT_EQ(get_le<u32>(&initrd[4]), 0u);   // ... and no mtime
}

}  // namespace
}  // namespace rv::boot::test
