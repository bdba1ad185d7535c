// Multiboot v1: a.out-kludge and ELF kernels, multiboot_info contents, errors.
#include "boot_test_util.h"
#include "machine/boot/cpu_entry.h"
#include "machine/boot/multiboot.h"

namespace rv::boot::test {
namespace {

constexpr u32 kKludge = 1u << 16;

// A flat image loaded at 1 MiB: 0x40 bytes of code, the header at file offset 0x40.
std::vector<u8> aout_image(u32 flags, u32 bss_end = 0x102000, u32 entry = 0x100080, u64 size = 0x1000) {
  auto img = pattern(size, 8);
  const auto h = multiboot_header(flags | kKludge, 0x100040, 0x100000, u32(0x100000 + size), bss_end, entry);
  std::copy(h.begin(), h.end(), img.begin() + 0x40);
  return img;
}

TEST(Multiboot, AoutKludgeImage) {
  TestMachine m;
  m.fill(0x100000, 0x3000, 0xCC);
  const auto img = aout_image(0x3);
  const auto mod = pattern(0x1800, 2);
  BootRequest req = m.request(img, "test-arg=1");
  req.has_initrd = true;
  req.initrd = mod;
  req.initrd_name = "module.bin";
  const BootResult r = load_kernel(m.mem, req);
  EXPECT_EQ(r.protocol, BootProtocol::Multiboot);
  EXPECT_EQ(m.bytes(0x100000, img.size()), img);
  EXPECT_EQ(m.bytes(0x101000, 0x1000), std::vector<u8>(0x1000, 0));   // bss zeroed
  EXPECT_EQ(m.r8(0x102000), 0xCCu);

  // Spec §3.2: EAX magic, EBX info, flat 32-bit protected mode, paging off.
  const EntryState& e = r.entry;
  EXPECT_EQ(e.mode, EntryMode::Protected32);
  EXPECT_EQ(e.rip, 0x100080u);
  EXPECT_EQ(e.rax, 0x2BADB002u);
  EXPECT_EQ(e.rbx, kBootInfoAddr);
  EXPECT_EQ(e.cr0 & 0x80000001u, 1u);
  EXPECT_EQ(e.cs.limit, 0xFFFFFFFFu);

  const u64 mi = e.rbx;
  const u32 flags = m.r32(mi);
  EXPECT_EQ(flags & 0x24Du, 0x24Du);       // mem, cmdline, mods, mmap, loader name
  EXPECT_EQ(m.r32(mi + 4), 640u);
  EXPECT_EQ(m.r32(mi + 8), (128u << 10) - 1024u);
  EXPECT_EQ(m.cstr(m.r32(mi + 16)), "test-kernel test-arg=1");   // the file name first, as GRUB and QEMU
  ASSERT_EQ(m.r32(mi + 20), 1u);
  const u32 mods = m.r32(mi + 24);
  const u32 ms = m.r32(mods), me = m.r32(mods + 4);
  EXPECT_EQ(ms % 4096, 0u);
  EXPECT_EQ(me - ms, mod.size());
  EXPECT_EQ(m.bytes(ms, mod.size()), mod);
  EXPECT_EQ(m.cstr(m.r32(mods + 8)), "module.bin");
  const u32 len = m.r32(mi + 44), mm = m.r32(mi + 48);
  ASSERT_EQ(len, 24 * m.map.size());
  for (size_t i = 0; i < m.map.size(); ++i) {
    EXPECT_EQ(m.r32(mm + 24 * i), 20u);
    EXPECT_EQ(m.r64(mm + 24 * i + 4), m.map[i].base);
    EXPECT_EQ(m.r64(mm + 24 * i + 12), m.map[i].size);
    EXPECT_EQ(m.r32(mm + 24 * i + 20), u32(m.map[i].type));
  }
  EXPECT_EQ(m.cstr(m.r32(mi + 64)), "Retrovisor");
}

TEST(Multiboot, ElfKernelLinkedHigh) {
  TestMachine m;
  // Code linked at 0xC0100000, loaded at 1 MiB (AT()), with the header inside the first 8 KiB.
  auto code = pattern(0x800, 1);
  const auto h = multiboot_header(0x3);
  std::copy(h.begin(), h.end(), code.begin());
  const auto img = build_elf(false, 0xC0100010, {{1, 0x100000, 0xC0100000, code, 0x1000}});
  const BootResult r = load_kernel(m.mem, m.request(img));
  EXPECT_EQ(r.protocol, BootProtocol::Multiboot);
  EXPECT_EQ(r.entry.rip, 0x100010u);       // the entry translated to its physical address
  EXPECT_EQ(m.bytes(0x100000, 0x800), code);
  EXPECT_EQ(m.cstr(m.r32(r.boot_info + 16)), "test-kernel console=ttyS0");
}

TEST(MultibootErrors, HeaderProblems) {
  TestMachine m;
  auto img = aout_image(0x3);
  img[0x48] ^= 1;   // checksum
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"test-kernel: ", "bad checksum"});
  img = aout_image(0x8);   // bit 3: unknown requirement
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"requires features", "0x8"});
  // The header beyond the first 8 KiB is not found.
  std::vector<u8> late(0x3000, 0);
  const auto h = multiboot_header(0x3);
  std::copy(h.begin(), h.end(), late.begin() + 0x2000);
  expect_boot_error([&] { load_kernel(m.mem, m.request(late)); }, {"not a kernel"});
  // Not ELF and no address fields.
  std::vector<u8> raw(0x100, 0);
  std::copy(h.begin(), h.end(), raw.begin());
  expect_boot_error([&] { load_kernel(m.mem, m.request(raw)); }, {"flags bit 16"});
}

TEST(MultibootErrors, BadAddressFields) {
  TestMachine m;
  auto make = [](u32 header_addr, u32 load, u32 load_end, u32 bss_end, u32 entry) {
    auto img = pattern(0x1000, 8);
    const auto h = multiboot_header(kKludge, header_addr, load, load_end, bss_end, entry);
    std::copy(h.begin(), h.end(), img.begin() + 0x40);
    return img;
  };
  auto img = make(0x100040, 0x100080, 0, 0, 0x100080);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"load_addr", "above header_addr"});
  img = make(0x100040, 0xF0000, 0, 0, 0x100080);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"before the start of the file"});
  img = make(0x100040, 0x100000, 0x0FFFFF, 0, 0x100080);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"load_end_addr"});
  img = make(0x100040, 0x100000, 0x102000, 0, 0x100080);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"truncated"});
  img = make(0x100040, 0x100000, 0, 0x100800, 0x100080);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"bss_end_addr"});
  img = make(0x100040, 0x100000, 0, 0, 0x200000);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"entry_addr"});
  img = make(0x7040, 0x7000, 0, 0, 0x7080);   // over the multiboot info page
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel", "overlaps multiboot info"});
  img = make(0x50000040, 0x50000000, 0, 0, 0x50000080);   // above RAM
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel", "RAM"});
}

}  // namespace
}  // namespace rv::boot::test
