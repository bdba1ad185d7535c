// The CPU state the direct-boot protocols start a kernel in, and the boot GDT and identity
// page tables that state refers to. All protocols use one GDT layout, the one the Linux boot
// protocol requires (Documentation/x86/boot.rst, "32-bit BOOT PROTOCOL"):
//   0x10 __BOOT_CS: flat 4 GiB code, execute/read (64-bit code for a 64-bit entry)
//   0x18 __BOOT_DS: flat 4 GiB data, read/write
//   0x20 a busy 32-bit TSS (the PVH ABI asks for TR to hold one)
#pragma once
#include "machine/boot/boot_memory.h"

namespace rv::boot {

constexpr u16 kBootCs = 0x10;
constexpr u16 kBootDs = 0x18;
constexpr u16 kBootTss = 0x20;

constexpr u64 kCr0Pe = 1ull << 0, kCr0Et = 1ull << 4, kCr0Pg = 1ull << 31;
constexpr u64 kCr4Pae = 1ull << 5;
constexpr u64 kEferLme = 1ull << 8, kEferLma = 1ull << 10;

// Segment-cache attributes, packed as cpu/state.h's Segment::attr.
constexpr u16 kAttrCode32 = 0xC09B;   // G, D, P, S, type 0xB (execute/read, accessed)
constexpr u16 kAttrCode64 = 0xA09B;   // G, L, P, S, type 0xB
constexpr u16 kAttrData = 0xC093;     // G, B, P, S, type 0x3 (read/write, accessed)
constexpr u16 kAttrTss32Busy = 0x008B;

// Writes the boot GDT at kBootGdtAddr (claimed as "boot GDT").
void write_boot_gdt(BootMemory& bm, EntryMode mode);
// Writes page tables at kBootPageTablesAddr that identity-map 0-4 GiB with 2 MiB pages
// (claimed as "boot page tables"); returns the PML4 address for CR3.
u64 write_identity_page_tables(BootMemory& bm);

// 32-bit flat protected mode, paging off, interrupts off: CS=0x10, DS=ES=FS=GS=SS=0x18.
EntryState protected32_entry(u64 eip);
// 64-bit mode with the identity page tables at `cr3` (PAE, LME/LMA, PG), the same selectors.
EntryState long64_entry(u64 rip, u64 cr3);

}  // namespace rv::boot
