// The Linux boot protocol on a synthetic bzImage: placements, zero page, entry state, errors.
#include "boot_test_util.h"
#include "machine/boot/cpu_entry.h"
#include "machine/boot/linux_boot.h"

namespace rv::boot::test {
namespace {

struct Loaded {
  BootResult r;
  std::vector<u8> image;
};

TEST(BzImage, Loads64BitAtPrefAddressWithZeroPage) {
  TestMachine m;
  FakeBzImage o;
  const auto img = build_bzimage(o);
  const auto initrd = pattern(0x3456, 9);
  BootRequest req = m.request(img, "console=ttyS0 quiet");
  req.has_initrd = true;
  req.initrd = initrd;
  req.rsdp_addr = 0xE0000;
  const BootResult r = load_kernel(m.mem, req);

  EXPECT_EQ(r.protocol, BootProtocol::LinuxBzImage);
  // The protected-mode kernel at pref_address (relocatable), byte for byte.
  const u64 setup = 5 * 512;
  EXPECT_EQ(m.bytes(0x1000000, o.kernel_bytes), std::vector<u8>(img.begin() + setup, img.end()));
  const Placement* k = r.find("kernel");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->base, 0x1000000u);
  EXPECT_EQ(k->size, o.init_size);

  // Entry: 64-bit, startup_64 = load + 0x200, RSI = zero page (boot.rst 64-bit protocol).
  const EntryState& e = r.entry;
  EXPECT_EQ(e.mode, EntryMode::Long64);
  EXPECT_EQ(e.rip, 0x1000200u);
  EXPECT_EQ(e.rsi, kBootInfoAddr);
  EXPECT_EQ(e.cs.sel, 0x10);
  EXPECT_TRUE(e.cs.attr & 0x2000);        // L
  EXPECT_EQ(e.ds.sel, 0x18);
  EXPECT_EQ(e.ss.sel, 0x18);
  EXPECT_EQ(e.cr0 & 0x80000001u, 0x80000001u);
  EXPECT_EQ(e.cr4 & 0x20u, 0x20u);
  EXPECT_EQ(e.efer, 0x500u);
  EXPECT_EQ(e.cr3, kBootPageTablesAddr);
  EXPECT_EQ(e.rflags & 0x200, 0u);        // IF clear
  EXPECT_EQ(m.r64(kBootGdtAddr + 0x10), 0x00AF9B000000FFFFull);
  EXPECT_EQ(m.r64(kBootGdtAddr + 0x18), 0x00CF93000000FFFFull);

  // Zero page: setup header copied, loader fields set (boot.rst "Details of header fields").
  const u64 zp = r.boot_info;
  EXPECT_EQ(zp, kBootInfoAddr);
  EXPECT_EQ(m.r32(zp + 0x202), 0x53726448u);
  EXPECT_EQ(m.r16(zp + 0x206), 0x20Fu);
  EXPECT_EQ(m.r16(zp + 0x1FE), 0xAA55u);
  EXPECT_EQ(m.r8(zp + 0x210), 0xFFu);                    // type_of_loader
  EXPECT_EQ(m.r8(zp + 0x211), 0x81u);                    // LOADED_HIGH | CAN_USE_HEAP
  EXPECT_EQ(m.r16(zp + 0x224), 0xDE00u);                 // heap_end_ptr
  EXPECT_EQ(m.r32(zp + 0x214), 0x1000000u);              // code32_start = load address
  EXPECT_EQ(m.r8(zp + 0x290), 0u);                       // nothing past the header copied
  EXPECT_EQ(m.r64(zp + 0x070), 0xE0000u);                // acpi_rsdp_addr (2.14+)
  EXPECT_EQ(m.cstr(m.r32(zp + 0x228)), "console=ttyS0 quiet");
  // initrd: page-aligned, at the top of RAM below initrd_addr_max, bytes intact.
  const u32 rd = m.r32(zp + 0x218);
  EXPECT_EQ(m.r32(zp + 0x21C), initrd.size());
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_LE(rd + initrd.size(), 128ull << 20);
  EXPECT_GT(rd + initrd.size(), (128ull << 20) - 4096);
  EXPECT_EQ(m.bytes(rd, initrd.size()), initrd);
  // e820: the board's map, sorted.
  ASSERT_EQ(m.r8(zp + 0x1E8), m.map.size());
  for (size_t i = 0; i < m.map.size(); ++i) {
    EXPECT_EQ(m.r64(zp + 0x2D0 + 20 * i), m.map[i].base) << i;
    EXPECT_EQ(m.r64(zp + 0x2D0 + 20 * i + 8), m.map[i].size) << i;
    EXPECT_EQ(m.r32(zp + 0x2D0 + 20 * i + 16), u32(m.map[i].type)) << i;
  }
  EXPECT_EQ(m.r32(zp + 0x1E0), ((128u << 20) - 0x100000) >> 10);   // alt_mem_k
}

// Walks the boot page tables like the MMU (4-level, 2 MiB pages).
static u64 walk(TestMachine& m, u64 cr3, u64 va) {
  const u64 pml4e = m.r64(cr3 + ((va >> 39) & 511) * 8);
  if (!(pml4e & 1)) return ~0ull;
  const u64 pdpte = m.r64((pml4e & ~0xFFFull) + ((va >> 30) & 511) * 8);
  if (!(pdpte & 1)) return ~0ull;
  const u64 pde = m.r64((pdpte & ~0xFFFull) + ((va >> 21) & 511) * 8);
  if (!(pde & 1) || !(pde & 0x80)) return ~0ull;
  return (pde & ~0x1FFFFFull) + (va & 0x1FFFFF);
}

TEST(BzImage, IdentityPageTablesCoverFourGiB) {
  TestMachine m;
  const auto img = build_bzimage({});
  const BootResult r = load_kernel(m.mem, m.request(img));
  for (u64 va : {0x0ull, 0x7000ull, 0x1000200ull, 0x7FFFFFFull, 0xFEE00000ull, 0xFFFFFFFFull})
    EXPECT_EQ(walk(m, r.entry.cr3, va), va) << std::hex << va;
  EXPECT_EQ(walk(m, r.entry.cr3, 0x100000000ull), ~0ull);
}

TEST(BzImage, ThirtyTwoBitEntryWhenAskedOrWithoutXlfKernel64) {
  for (int variant = 0; variant < 2; ++variant) {
    TestMachine m;
    FakeBzImage o;
    if (variant == 1) o.xloadflags = 0;
    const auto img = build_bzimage(o);
    BootRequest req = m.request(img);
    if (variant == 0) req.linux_entry = LinuxEntry::Bits32;
    const BootResult r = load_kernel(m.mem, req);
    EXPECT_EQ(r.entry.mode, EntryMode::Protected32);
    EXPECT_EQ(r.entry.rip, 0x1000000u);            // code32_start
    EXPECT_EQ(r.entry.rsi, kBootInfoAddr);
    EXPECT_EQ(r.entry.cr0, 0x11u);                 // PE, paging off
    EXPECT_EQ(r.entry.efer, 0u);
    EXPECT_EQ(r.entry.cs.attr, kAttrCode32);
    EXPECT_EQ(r.entry.rbx | r.entry.rdi | r.entry.rbp, 0u);
    EXPECT_EQ(m.r64(kBootGdtAddr + 0x10), 0x00CF9B000000FFFFull);
    EXPECT_EQ(r.find("boot page tables"), nullptr);
  }
}

TEST(BzImage, NonRelocatableLoadsAtOneMiB) {
  TestMachine m;
  FakeBzImage o;
  o.relocatable = false;
  const auto img = build_bzimage(o);
  const BootResult r = load_kernel(m.mem, m.request(img));
  EXPECT_EQ(r.entry.rip, 0x100200u);
  ASSERT_NE(r.find("kernel"), nullptr);
  EXPECT_EQ(r.find("kernel")->base, 0x100000u);
  ASSERT_NE(r.find("kernel (decompressed)"), nullptr);
  EXPECT_EQ(r.find("kernel (decompressed)")->base, 0x1000000u);
  EXPECT_EQ(m.r32(kBootInfoAddr + 0x214), 0x100000u);
}

TEST(BzImage, InitrdStaysBelowInitrdAddrMax) {
  TestMachine m;
  FakeBzImage o;
  o.initrd_addr_max = 0x3FFFFFF;   // 64 MiB - 1
  const auto img = build_bzimage(o);
  const auto initrd = pattern(0x20000, 1);
  BootRequest req = m.request(img);
  req.has_initrd = true;
  req.initrd = initrd;
  const BootResult r = load_kernel(m.mem, req);
  const Placement* p = r.find("initrd");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base + p->size, 0x4000000u);
  EXPECT_EQ(m.r32(kBootInfoAddr + 0x218), p->base);
}

TEST(BzImageErrors, OldProtocol) {
  TestMachine m;
  FakeBzImage o;
  o.version = 0x204;
  const auto img = build_bzimage(o);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"test-kernel: ", "2.4", "2.06 or later"});
}

TEST(BzImageErrors, BadMagicIsNotAKernel) {
  TestMachine m;
  auto img = build_bzimage({});
  img[0x202] = 'X';
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"test-kernel: ", "not a kernel"});
  expect_boot_error([&] { load_bzimage(m.mem, m.request(img)); }, {"HdrS"});
}

TEST(BzImageErrors, TruncatedFiles) {
  TestMachine m;
  const auto img = build_bzimage({});
  for (size_t len : {size_t(0x300), size_t(0x9FF), size_t(0xA00), size_t(0xA00 + 0x1000), img.size() - 1}) {
    std::vector<u8> cut(img.begin(), img.begin() + len);
    expect_boot_error([&] { load_kernel(m.mem, m.request(cut)); }, {"test-kernel: ", "truncated"});
  }
  std::vector<u8> empty;
  expect_boot_error([&] { load_kernel(m.mem, m.request(empty)); }, {"empty"});
}

TEST(BzImageErrors, CommandLineTooLong) {
  TestMachine m;
  FakeBzImage o;
  o.cmdline_size = 16;
  const auto img = build_bzimage(o);
  EXPECT_NO_THROW(load_kernel(m.mem, m.request(img, std::string(16, 'a'))));
  expect_boot_error([&] { load_kernel(m.mem, m.request(img, std::string(17, 'a'))); }, {"command line is 17 bytes", "at most 16"});
}

TEST(BzImageErrors, InitrdLargerThanRam) {
  TestMachine m(64ull << 20);
  const auto img = build_bzimage({});
  std::vector<u8> big((64ull << 20) + 1, 0);
  BootRequest req = m.request(img);
  req.has_initrd = true;
  req.initrd = big;
  req.initrd_name = "big.cpio";
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"big.cpio: ", "larger than the guest RAM"});
  std::vector<u8> fits_not((60ull << 20), 0);   // smaller than RAM, but not next to the kernel
  req.initrd = fits_not;
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"big.cpio: ", "does not fit"});
}

TEST(BzImageErrors, RamTooSmallForKernel) {
  TestMachine m(20ull << 20);
  const auto img = build_bzimage({});   // needs 8 MiB from 16 MiB
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"test-kernel: ", "RAM is too small", "24.0 MiB"});
}

TEST(BzImageErrors, ZImageAndMissing64BitEntryAndBadHeader) {
  TestMachine m;
  FakeBzImage o;
  o.loadflags = 0;
  auto img = build_bzimage(o);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"zImage"});
  o = {};
  o.xloadflags = 0;
  img = build_bzimage(o);
  BootRequest req = m.request(img);
  req.linux_entry = LinuxEntry::Bits64;
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"no 64-bit entry"});
  o = {};
  o.header_len = 0x10;
  img = build_bzimage(o);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"setup header length"});
  o = {};
  o.kernel_alignment = 0x300000;
  img = build_bzimage(o);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel_alignment"});
  o = {};
  o.payload_length = 0x10000;   // runs past the end of the file
  img = build_bzimage(o);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"compressed kernel"});
}

TEST(BzImageErrors, BadMemoryMaps) {
  TestMachine m;
  const auto img = build_bzimage({});
  BootRequest req = m.request(img);
  req.memory_map = {};
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"memory map is empty"});
  req.memory_map = {{0, 0x100000, E820Type::Ram}, {0x80000, 0x100000, E820Type::Ram}};
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"overlap"});
  // The map claims RAM the board did not map: caught at the write.
  req.memory_map = m.map;
  req.memory_map.push_back({0x100000000ull, 0x100000, E820Type::Ram});
  std::vector<E820Entry> lying{{0, 0x9F000, E820Type::Ram}, {0x100000, 0x40000000, E820Type::Ram}};
  req.memory_map = lying;
  const auto initrd = pattern(0x1000, 2);
  req.has_initrd = true;
  req.initrd = initrd;
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"not mapped"});
}

}  // namespace
}  // namespace rv::boot::test
