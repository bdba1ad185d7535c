// Helpers for the boot-protocol tests: a PC-shaped guest memory, readers, and builders for
// synthetic kernel images (a fake bzImage, ELF files with notes, multiboot images).
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "machine/boot/boot_types.h"
#include "machine/boot/byte_io.h"
#include "machine/boot/kernel_loader.h"
#include "memory/phys_memory.h"

namespace rv::boot::test {

// RAM as the PC board maps it, plus RAM behind the BIOS area (0xE0000-0xFFFFF) for ACPI.
struct TestMachine {
  explicit TestMachine(u64 ram_bytes = 128ull << 20) : mem(ram_bytes), map(pc_memory_map(ram_bytes)) {
    mem.map_ram(0, 0xA0000, 0, "ram-low");
    mem.map_ram(0xE0000, 0x20000, 0xE0000, "bios-area");
    if (ram_bytes > 0x100000) mem.map_ram(0x100000, ram_bytes - 0x100000, 0x100000, "ram");
  }
  u8 r8(u64 a) { return u8(mem.read(a, 1)); }
  u16 r16(u64 a) { return u16(mem.read(a, 2)); }
  u32 r32(u64 a) { return u32(mem.read(a, 4)); }
  u64 r64(u64 a) { return mem.read(a, 8); }
  std::vector<u8> bytes(u64 a, u64 n) {
    std::vector<u8> v(n);
    EXPECT_TRUE(mem.read_bytes(a, v.data(), n));
    return v;
  }
  std::string cstr(u64 a, u64 max = 4096) {
    std::string s;
    for (u64 i = 0; i < max; ++i) {
      char c = char(r8(a + i));
      if (!c) break;
      s += c;
    }
    return s;
  }
  void fill(u64 a, u64 n, u8 v) {
    std::vector<u8> buf(n, v);
    ASSERT_TRUE(mem.write_bytes(a, buf.data(), n));
  }
  BootRequest request(const std::vector<u8>& kernel, std::string cmdline = "console=ttyS0") {
    BootRequest r;
    r.kernel = kernel;
    r.kernel_name = "test-kernel";
    r.cmdline = std::move(cmdline);
    r.memory_map = map;
    return r;
  }
  PhysMemory mem;
  std::vector<E820Entry> map;
};

inline std::vector<u8> pattern(u64 n, u8 seed) {
  std::vector<u8> v(n);
  for (u64 i = 0; i < n; ++i) v[i] = u8(i * 7 + seed + (i >> 8));
  return v;
}

// Expects `fn` to throw BootError whose message contains every one of `parts`.
template <typename Fn>
void expect_boot_error(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no BootError thrown";
  } catch (const BootError& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

// ---- fake bzImage -------------------------------------------------------------------------
struct FakeBzImage {
  u16 version = 0x20F;
  u8 setup_sects = 4;
  u8 loadflags = 0x01;            // LOADED_HIGH
  u16 xloadflags = 0x03;          // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  bool relocatable = true;
  u32 kernel_alignment = 0x200000;
  u64 pref_address = 0x1000000;
  u32 init_size = 0x800000;
  u32 cmdline_size = 2047;
  u32 initrd_addr_max = 0x7FFFFFFF;
  u32 kernel_bytes = 0x6000;
  u32 payload_offset = 0x200, payload_length = 0x4000;
  u8 header_len = 0x6A;           // jump byte at 0x201: header ends at 0x202 + this
};
std::vector<u8> build_bzimage(const FakeBzImage& o);

// ---- ELF ----------------------------------------------------------------------------------
struct ElfSeg {
  u32 type = 1;                   // PT_LOAD
  u64 paddr = 0, vaddr = 0;
  std::vector<u8> data;
  u64 memsz = 0;                  // 0: data.size()
  u64 align = 16;
};
std::vector<u8> build_elf(bool is64, u64 entry, const std::vector<ElfSeg>& segs, u16 machine = 0);
// One ELF note: name, type, desc (4-byte aligned).
std::vector<u8> elf_note(const std::string& name, u32 type, const std::vector<u8>& desc);
std::vector<u8> le_bytes(u64 v, unsigned n);

// ---- multiboot ----------------------------------------------------------------------------
std::vector<u8> multiboot_header(u32 flags, u32 header_addr = 0, u32 load_addr = 0, u32 load_end = 0, u32 bss_end = 0,
                                 u32 entry = 0);

}  // namespace rv::boot::test
