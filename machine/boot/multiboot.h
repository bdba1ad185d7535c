// Multiboot v1 (the Multiboot Specification 0.6.96, §3): for small test kernels. The image
// carries a header in its first 8 KiB (magic 0x1BADB002, flags, checksum; 4-byte aligned).
// ELF kernels are loaded from their program headers; with flags bit 16 (the "a.out kludge")
// the header's address fields say where the file goes instead. The kernel starts in flat
// 32-bit protected mode, paging off, with EAX = 0x2BADB002 and EBX = the multiboot_info.
#pragma once
#include <optional>

#include "machine/boot/boot_memory.h"
#include "machine/boot/byte_io.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

constexpr u32 kMultibootMagic = 0x1BADB002;
constexpr u32 kMultibootBootloaderMagic = 0x2BADB002;
constexpr u64 kMultibootSearch = 8192;

// Header flags (spec §3.1.2).
constexpr u32 kMbPageAlign = 1u << 0, kMbMemInfo = 1u << 1, kMbVideoMode = 1u << 2, kMbAoutKludge = 1u << 16;

// multiboot_info offsets (spec §3.3) and the flags we set.
namespace mbi {
constexpr u64 kFlags = 0, kMemLower = 4, kMemUpper = 8, kCmdline = 16, kModsCount = 20, kModsAddr = 24,
              kMmapLength = 44, kMmapAddr = 48, kBootLoaderName = 64, kSize = 120;
constexpr u32 kHasMem = 1u << 0, kHasCmdline = 1u << 2, kHasMods = 1u << 3, kHasMmap = 1u << 6, kHasLoaderName = 1u << 9;
constexpr u64 kModsOffset = 0x80, kMmapOffset = 0x100, kModNameOffset = 0xE00, kLoaderNameOffset = 0xF00;
}  // namespace mbi

struct MultibootHeader {
  u64 offset = 0;      // in the file
  u32 flags = 0;
  u32 header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0, entry_addr = 0;   // flags bit 16
};

// The first header with a valid checksum in the first 8 KiB, if any. If `bad_checksum` is
// given, it is set when a magic number was found whose checksum does not match.
std::optional<MultibootHeader> find_multiboot_header(std::span<const u8> data, bool* bad_checksum = nullptr);

BootResult load_multiboot(PhysMemory& mem, const BootRequest& req);

}  // namespace rv::boot
