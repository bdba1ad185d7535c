// The Linux x86 boot protocol for a bzImage (Documentation/x86/boot.rst, protocol 2.06 and
// later): the protected-mode kernel is placed where the setup header says, the zero page
// (struct boot_params, Documentation/x86/zero-page.rst) gets a copy of the setup header, the
// e820 map, the command line pointer and the initrd, and the kernel is entered through its
// 64-bit entry (startup_64, 0x200 past the load address, boot.rst "64-bit BOOT PROTOCOL")
// or its 32-bit entry (code32_start, boot.rst "32-bit BOOT PROTOCOL"). The real-mode setup
// code is not run: everything it would have gathered comes from the board.
#pragma once
#include "machine/boot/boot_memory.h"
#include "machine/boot/byte_io.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

// Setup header offsets (boot.rst, "THE REAL-MODE KERNEL HEADER").
namespace bzhdr {
constexpr u64 kSetupSects = 0x1F1, kSysSize = 0x1F4, kBootFlag = 0x1FE, kJump = 0x200, kHeader = 0x202,
              kVersion = 0x206, kTypeOfLoader = 0x210, kLoadFlags = 0x211, kCode32Start = 0x214,
              kRamdiskImage = 0x218, kRamdiskSize = 0x21C, kHeapEndPtr = 0x224, kCmdLinePtr = 0x228,
              kInitrdAddrMax = 0x22C, kKernelAlignment = 0x230, kRelocatable = 0x234, kXLoadFlags = 0x236,
              kCmdlineSize = 0x238, kPayloadOffset = 0x248, kPayloadLength = 0x24C, kPrefAddress = 0x258,
              kInitSize = 0x260;
constexpr u32 kMagicHdrS = 0x53726448;   // "HdrS"
constexpr u8 kLoadedHigh = 0x01, kCanUseHeap = 0x80;
constexpr u16 kXlfKernel64 = 0x01;
}  // namespace bzhdr

// Zero page offsets (zero-page.rst).
namespace zp {
constexpr u64 kAcpiRsdpAddr = 0x070, kExtRamdiskImage = 0x0C0, kExtRamdiskSize = 0x0C4, kExtCmdLinePtr = 0x0C8,
              kAltMemK = 0x1E0, kE820Entries = 0x1E8, kSetupHeader = 0x1F1, kSetupHeaderEnd = 0x290,
              kE820Table = 0x2D0;
constexpr unsigned kE820Max = 128;
}  // namespace zp

struct BzImageHeader {
  u16 version = 0;
  u32 setup_size = 0;          // bytes before the protected-mode kernel: (setup_sects + 1) * 512
  u32 header_end = 0;          // 0x202 + the byte at 0x201
  u8 loadflags = 0;
  u16 xloadflags = 0;          // 2.12+
  u32 code32_start = 0;
  u32 initrd_addr_max = 0;     // highest address the initrd may occupy (inclusive)
  u32 kernel_alignment = 0;    // 2.05+
  bool relocatable = false;    // 2.05+
  u32 cmdline_size = 0;        // 2.06+: longest command line, without the NUL
  u32 payload_offset = 0, payload_length = 0;  // 2.08+, relative to setup_size
  u64 pref_address = 0;        // 2.10+
  u32 init_size = 0;           // 2.10+: memory the kernel needs from its runtime start
  u64 kernel_size = 0;         // bytes of protected-mode kernel in the file
  bool has_64bit_entry() const { return version >= 0x20C && (xloadflags & bzhdr::kXlfKernel64); }
};

bool looks_like_bzimage(std::span<const u8> data);   // boot flag 0xAA55 and "HdrS"
// Parses and checks the setup header; throws BootError (too old, truncated, not bzImage).
BzImageHeader parse_bzimage(const FileView& file);

// Where the protected-mode kernel is loaded and where it will run (the decompressor moves
// itself to max(load address aligned to kernel_alignment, pref_address)).
constexpr u64 kBzImageLowLoad = 0x100000;

BootResult load_bzimage(PhysMemory& mem, const BootRequest& req);

}  // namespace rv::boot
