// PVH direct boot of an uncompressed ELF kernel (Xen's docs/misc/pvh.pandoc, and
// xen/include/public/arch-x86/hvm/start_info.h for the structures). A kernel that supports
// it carries an ELF note "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18), holding the physical
// address of its 32-bit entry. Linux's vmlinux has one (CONFIG_PVH); booting it this way skips
// the bzImage decompressor. The kernel starts in flat 32-bit protected mode with paging off
// and EBX pointing to struct hvm_start_info (version 1: with a memory map).
#pragma once
#include <optional>

#include "machine/boot/boot_memory.h"
#include "machine/boot/elf.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

constexpr u32 kXenElfnotePhys32Entry = 18;
constexpr u32 kHvmStartMagic = 0x336ec578;

// hvm_start_info (56 bytes), hvm_modlist_entry (32), hvm_memmap_table_entry (24) offsets.
namespace hvm {
constexpr u64 kMagic = 0, kVersion = 4, kFlags = 8, kNrModules = 12, kModlistPaddr = 16, kCmdlinePaddr = 24,
              kRsdpPaddr = 32, kMemmapPaddr = 40, kMemmapEntries = 48, kSize = 56;
constexpr u64 kModlistOffset = 0x40;    // inside the boot info page
constexpr u64 kMemmapOffset = 0x100;
constexpr unsigned kMemmapMax = 128;
}  // namespace hvm

// The PVH entry point, if the ELF file has the note; throws BootError on a malformed note.
std::optional<u64> find_pvh_entry(const FileView& file, const ElfImage& elf);

BootResult load_pvh(PhysMemory& mem, const BootRequest& req);

}  // namespace rv::boot
