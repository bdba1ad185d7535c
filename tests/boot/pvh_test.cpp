// PVH boot of a synthetic ELF vmlinux: segments, hvm_start_info, entry state, errors.
#include "boot_test_util.h"
#include "machine/boot/cpu_entry.h"
#include "machine/boot/pvh_boot.h"

namespace rv::boot::test {
namespace {

constexpr u64 kEntry = 0x1000040;

std::vector<ElfSeg> pvh_segments(u64 entry = kEntry, unsigned note_size = 8) {
  ElfSeg text{1, 0x1000000, 0xFFFFFFFF81000000ull, pattern(0x3000, 5), 0, 0x200000};
  ElfSeg data{1, 0x1200000, 0xFFFFFFFF81200000ull, pattern(0x800, 6), 0x5000, 0x1000};   // bss past filesz
  auto notes = elf_note("GNU", 3, {1, 2, 3, 4});
  auto xen = elf_note("Xen", 18, le_bytes(entry, note_size));
  notes.insert(notes.end(), xen.begin(), xen.end());
  ElfSeg note{4, 0, 0, notes, 0, 4};
  return {text, data, note};
}

TEST(Pvh, LoadsSegmentsAndBuildsStartInfo) {
  TestMachine m;
  m.fill(0x1200000, 0x6000, 0xCC);    // dirty memory: the bss must be zeroed
  const auto segs = pvh_segments();
  const auto img = build_elf(true, 0xFFFFFFFF81000040ull, segs);
  const auto initrd = pattern(0x2345, 4);
  BootRequest req = m.request(img, "console=ttyS0 root=/dev/ram0");
  req.has_initrd = true;
  req.initrd = initrd;
  req.rsdp_addr = 0xE0000;
  const BootResult r = load_kernel(m.mem, req);
  EXPECT_EQ(r.protocol, BootProtocol::Pvh);

  EXPECT_EQ(m.bytes(0x1000000, 0x3000), segs[0].data);
  EXPECT_EQ(m.bytes(0x1200000, 0x800), segs[1].data);
  EXPECT_EQ(m.bytes(0x1200800, 0x4800), std::vector<u8>(0x4800, 0));
  EXPECT_EQ(m.r8(0x1205000), 0xCCu);   // just past memsz: untouched

  // pvh.pandoc: 32-bit flat protected mode, paging off, EBX = start_info, TR a busy TSS.
  const EntryState& e = r.entry;
  EXPECT_EQ(e.mode, EntryMode::Protected32);
  EXPECT_EQ(e.rip, kEntry);
  EXPECT_EQ(e.rbx, kBootInfoAddr);
  EXPECT_EQ(e.cr0 & 0x80000001u, 1u);
  EXPECT_EQ(e.cr4, 0u);
  EXPECT_EQ(e.cs.attr, kAttrCode32);
  EXPECT_EQ(e.cs.limit, 0xFFFFFFFFu);
  EXPECT_EQ(e.ds.attr, kAttrData);
  EXPECT_EQ(e.tr.attr & 0xF, 0xBu);
  EXPECT_EQ(e.rflags & 0x20300, 0u);  // VM, IF, TF clear

  const u64 si = e.rbx;
  EXPECT_EQ(m.r32(si + 0), 0x336ec578u);
  EXPECT_EQ(m.r32(si + 4), 1u);
  EXPECT_EQ(m.cstr(m.r64(si + 24)), "console=ttyS0 root=/dev/ram0");
  EXPECT_EQ(m.r64(si + 32), 0xE0000u);
  ASSERT_EQ(m.r32(si + 12), 1u);
  const u64 mod = m.r64(si + 16);
  const u64 rd = m.r64(mod);
  EXPECT_EQ(m.r64(mod + 8), initrd.size());
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_EQ(m.bytes(rd, initrd.size()), initrd);
  ASSERT_EQ(m.r32(si + 48), m.map.size());
  const u64 mm = m.r64(si + 40);
  for (size_t i = 0; i < m.map.size(); ++i) {
    EXPECT_EQ(m.r64(mm + 24 * i), m.map[i].base);
    EXPECT_EQ(m.r64(mm + 24 * i + 8), m.map[i].size);
    EXPECT_EQ(m.r32(mm + 24 * i + 16), u32(m.map[i].type));
  }
}

TEST(Pvh, FourByteNoteAndNoInitrd) {
  TestMachine m;
  const auto img = build_elf(false, kEntry, pvh_segments(kEntry, 4));
  const BootResult r = load_kernel(m.mem, m.request(img, ""));
  EXPECT_EQ(r.protocol, BootProtocol::Pvh);
  EXPECT_EQ(r.entry.rip, kEntry);
  EXPECT_EQ(m.r32(r.boot_info + 12), 0u);
  EXPECT_EQ(m.cstr(m.r64(r.boot_info + 24)), "");
}

TEST(PvhErrors, NoNoteIsNotAKernel) {
  TestMachine m;
  auto segs = pvh_segments();
  segs.pop_back();
  const auto img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"test-kernel: ", "without a PVH entry note"});
  expect_boot_error([&] { load_pvh(m.mem, m.request(img)); }, {"no PVH entry note"});
}

TEST(PvhErrors, MalformedNotes) {
  TestMachine m;
  auto img = build_elf(true, kEntry, pvh_segments(kEntry, 2));
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"2-byte value"});
  auto segs = pvh_segments();
  segs[2].data.resize(segs[2].data.size() - 6);   // the last note runs past its segment
  img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"runs past its segment"});
}

TEST(PvhErrors, SegmentsOutsideRamOrOverlapping) {
  TestMachine m(64ull << 20);
  auto segs = pvh_segments();
  segs[1].paddr = 0x3FFF000;   // ends past 64 MiB
  auto img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel segment 1", "RAM"});
  segs = pvh_segments();
  segs[1].paddr = 0xA0000;     // the legacy hole
  img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel segment 1", "not inside the machine's RAM"});
  segs = pvh_segments();
  segs[1].paddr = 0x1002000;   // overlaps segment 0
  img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"kernel segment 1", "overlaps kernel segment 0"});
  segs = pvh_segments();
  segs[1].paddr = 0x7800;      // overlaps the boot data
  img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"overlaps start info"});
  segs = pvh_segments();
  segs[1].paddr = 0xFFFFFFFFFFFFF000ull;   // wraps
  img = build_elf(true, kEntry, segs);
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"malformed"});
}

TEST(PvhErrors, EntryAndHeaderProblems) {
  TestMachine m;
  auto img = build_elf(true, 0, pvh_segments(0x5000000));
  expect_boot_error([&] { load_kernel(m.mem, m.request(img)); }, {"not inside a loaded segment"});
  img = build_elf(true, 0, pvh_segments());
  std::vector<u8> cut(img.begin(), img.begin() + 100);   // program headers cut off
  expect_boot_error([&] { load_pvh(m.mem, m.request(cut)); }, {"truncated"});
  auto bad = img;
  bad[5] = 2;   // big-endian
  expect_boot_error([&] { load_pvh(m.mem, m.request(bad)); }, {"little-endian"});
  bad = build_elf(true, 0, pvh_segments(), 40);   // ARM
  expect_boot_error([&] { load_pvh(m.mem, m.request(bad)); }, {"not x86"});
  auto segs = pvh_segments();
  segs[0].memsz = 0x100;   // filesz > memsz
  bad = build_elf(true, 0, segs);
  expect_boot_error([&] { load_pvh(m.mem, m.request(bad)); }, {"malformed"});
  bad = img;
  put_le<u64>(bad, 32, 0xFFFFFFFFFFFFFF00ull);   // e_phoff far outside
  expect_boot_error([&] { load_pvh(m.mem, m.request(bad)); }, {"program headers"});
  bad = img;
  put_le<u64>(bad, 64 + 8, 0x7FFFFFFFFFFFFFFFull);   // segment 0's p_offset outside the file
  expect_boot_error([&] { load_pvh(m.mem, m.request(bad)); }, {"ELF segment 0"});
}

TEST(PvhErrors, InitrdTooBig) {
  TestMachine m(32ull << 20);
  const auto img = build_elf(true, 0, pvh_segments());
  std::vector<u8> rd(31ull << 20, 1);
  BootRequest req = m.request(img);
  req.has_initrd = true;
  req.initrd = rd;
  expect_boot_error([&] { load_kernel(m.mem, req); }, {"initrd: ", "does not fit"});
}

}  // namespace
}  // namespace rv::boot::test
