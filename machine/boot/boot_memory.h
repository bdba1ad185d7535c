// BootMemory: how a loader sees guest RAM. It checks every placement against the board's
// memory map (only E820 RAM may be written), rejects placements that overlap one another
// (kernel segments, initrd, boot data), finds room for the initrd at the top of RAM, and
// records everything for BootResult::placements.
//
// The loaders' own data lives at fixed addresses in low RAM, below the EBDA and away from
// the real-mode IVT/BDA in the first page:
//   0x01000  GDT: 0x10 code (__BOOT_CS), 0x18 data (__BOOT_DS), 0x20 TSS
//   0x07000  zero page (Linux) / hvm_start_info + modlist + memmap (PVH) / multiboot_info
//   0x09000  identity page tables for a 64-bit entry: PML4, PDPT, 4 PDs (0-4 GiB, 2 MiB pages)
//   0x20000  command line (up to 64 KiB)
#pragma once
#include <span>
#include <string>
#include <vector>

#include "machine/boot/boot_types.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

constexpr u64 kBootGdtAddr = 0x1000;
constexpr u64 kBootInfoAddr = 0x7000;
constexpr u64 kBootInfoSize = 0x1000;
constexpr u64 kBootPageTablesAddr = 0x9000;
constexpr u64 kBootPageTablesSize = 6 * 0x1000;
constexpr u64 kBootCmdlineAddr = 0x20000;
constexpr u64 kMaxCmdline = 0x10000;     // bytes including the terminating NUL
constexpr u64 kFourGiB = 0x100000000ull;

class BootMemory {
 public:
  // Validates and sorts the map (throws BootError on an empty map, empty or wrapping
  // entries, or overlapping entries). `image` names the kernel in messages.
  BootMemory(PhysMemory& mem, std::vector<E820Entry> map, std::string image);

  // Records [base, base+size) as `what`; throws unless it is RAM in the map and overlaps
  // nothing placed before.
  void claim(const std::string& what, u64 base, u64 size);
  // Claims the highest `align`-aligned range of `size` bytes that ends at or below `limit`,
  // lies in RAM and overlaps nothing; throws if there is none. Returns its base.
  u64 claim_high(const std::string& what, u64 size, u64 align, u64 limit);
  // True if [base, base+size) lies inside one run of RAM in the map.
  bool is_ram(u64 base, u64 size) const;

  // Writes to claimed memory (the claim checked it is RAM; a map that lies about what the
  // board mapped is caught here too).
  void write(u64 addr, std::span<const u8> bytes);
  void write(u64 addr, const std::vector<u8>& bytes) { write(addr, std::span<const u8>(bytes)); }
  void zero(u64 addr, u64 size);

  // Bytes of RAM in the map; RAM contiguous from `start` (0 if `start` is not RAM).
  u64 total_ram() const;
  u64 ram_run_from(u64 start) const;

  const std::vector<E820Entry>& map() const { return m_map; }
  const std::vector<Placement>& placements() const { return m_placements; }
  std::vector<Placement> take_placements() { return std::move(m_placements); }
  const std::string& image() const { return m_image; }
  [[noreturn]] void fail(const std::string& msg) const { throw BootError(m_image + ": " + msg); }

 private:
  const Placement* overlap(u64 base, u64 size) const;

  PhysMemory& m_mem;
  std::vector<E820Entry> m_map;            // sorted by base
  std::vector<std::pair<u64, u64>> m_ram;  // merged RAM runs [begin, end)
  std::vector<Placement> m_placements;
  std::string m_image;
};

// The standard boot data every protocol uses: the command line (NUL-terminated, at most
// `max_len` bytes without the NUL) at kBootCmdlineAddr. Returns its address.
u64 place_cmdline(BootMemory& bm, const std::string& cmdline, u64 max_len);

// The initrd at the top of RAM below `limit`, page-aligned; throws a clear error if it is
// larger than RAM or does not fit. Returns its base.
u64 place_initrd(BootMemory& bm, const BootRequest& req, u64 limit);

}  // namespace rv::boot
