// The guest-physical address space: RAM (one host mapping), ROM images and MMIO windows.
//
// Layout of a PC (as built by machine/): RAM below 0xA0000, the legacy hole 0xA0000-0xFFFFF
// (VGA window, option/BIOS ROM), RAM from 1 MiB to the bottom of the PCI hole, the rest of
// RAM above 4 GiB. All RAM lives in one host allocation; regions map guest ranges onto
// offsets in it. Regions never overlap: add_* rejects an overlapping range with an exception
// (a host/configuration error, raised at machine build time).
//
// Code tracking (DESIGN.md decision 3): each RAM page has a "holds code" bit, set by the CPU
// when it caches decoded instructions from the page. Every write that goes through this
// class to such a page calls the code-write listener, which drops the cached blocks and
// clears the bit. The CPU's TLB never holds a direct-write pointer to a code page, so guest
// stores to code also take this path.
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv {

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  // `offset` is relative to the window's base; size is 1, 2, 4 or 8.
  virtual u64 mmio_read(u64 offset, unsigned size) = 0;
  virtual void mmio_write(u64 offset, u64 value, unsigned size) = 0;
};

enum class RegionKind : u8 { Ram, Rom, Mmio };

struct Region {
  u64 base = 0;
  u64 size = 0;
  RegionKind kind = RegionKind::Ram;
  u8* host = nullptr;          // RAM/ROM: host address of `base`
  u64 ram_offset = 0;          // RAM: offset of `base` inside the RAM allocation
  MmioDevice* device = nullptr;
  std::string name;
};

// What the MMU needs to fill a TLB entry for one guest-physical page.
struct PageMapping {
  u8* host = nullptr;      // host address of the page start; null for MMIO/unmapped
  bool writable = false;   // direct host writes allowed (RAM that holds no code)
};

class PhysMemory {
 public:
  explicit PhysMemory(u64 ram_bytes);
  ~PhysMemory();
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  u64 ram_size() const { return m_ram_size; }
  u8* ram() { return m_ram; }
  // Zeroes all of RAM and returns its pages to the host (snapshot loads); forgets which pages
  // held code (the CPU's blocks must be dropped by the caller).
  void clear_ram();

  // Maps [base, base+size) of guest-physical space onto RAM at `ram_offset`.
  void map_ram(u64 base, u64 size, u64 ram_offset, std::string name = "ram");
  // Maps a read-only copy of `image`; several windows may show the same image.
  void map_rom(u64 base, std::shared_ptr<const std::vector<u8>> image, std::string name = "rom");
  void map_mmio(u64 base, u64 size, MmioDevice* dev, std::string name);
  const std::vector<Region>& regions() const { return m_regions; }

  PageMapping map_page(u64 paddr);
  const Region* find(u64 paddr) const;

  // Slow-path accesses; `size` 1..8 bytes. They may cross region boundaries (split per byte).
  // Unmapped reads return all ones; unmapped and ROM writes are dropped.
  u64 read(u64 paddr, unsigned size);
  void write(u64 paddr, u64 value, unsigned size);
  // Bulk copies for loaders and DMA; return false if any byte is outside RAM/ROM.
  bool read_bytes(u64 paddr, void* dst, u64 len);
  bool write_bytes(u64 paddr, const void* src, u64 len);   // also writes ROM images (loaders)

  // --- code tracking ---
  void set_code_write_listener(std::function<void(u64 paddr_page)> fn) { m_on_code_write = std::move(fn); }
  // Marks the RAM page holding paddr as code; returns true if it was not marked before.
  bool mark_code(u64 paddr);
  bool is_code(u64 paddr) const;
  void clear_code(u64 paddr);
  // --- RAM contents at a glance (snapshots, checkpoints, state hashes) ---
  static bool page_is_zero(const u8* page);   // 4 KiB
  // Per RAM page: whether the host has committed it (mincore(); pages never committed read
  // as zero, so a large guest costs what it uses). All true where mincore() fails.
  std::vector<bool> committed_ram_pages() const;
  // The RAM pages (ram_offset / 4096) holding anything but zeros, ascending.
  std::vector<u32> nonzero_ram_pages() const;
  // --- write tracking (machine/timeline.h: which pages changed since a checkpoint) ---
  // Makes every RAM page clean: the first write to a clean page through this class lists it
  // in dirty_pages() and makes it dirty. Clean pages get no direct-write mapping
  // (map_page().writable is false), so the CPU's stores to them come here too, once the
  // caller has flushed the direct-write pointers the CPU's TLB already holds. Writes that go
  // to ram() directly are not seen.
  void track_writes();
  // The caller changed RAM page `page` (ram_offset / 4096) through ram() directly (a
  // checkpoint restored): if it held decoded code, the code-write listener hears of it at
  // every guest-physical address the page is seen at, as for a write through this class.
  void ram_page_replaced(u32 page);
  const std::vector<u32>& dirty_pages() const { return m_dirty; }   // RAM page numbers

 private:
  Region* find_mut(u64 paddr);
  void add_region(Region r);
  void notify_ram_write(const Region& r, u64 paddr);

  u8* m_ram = nullptr;
  u64 m_ram_size = 0;
  u64 m_ram_alloc = 0;
  std::vector<Region> m_regions;          // sorted by base
  // Per RAM page (ram_offset / 4096): kPageCode (holds decoded code), kPageClean (written
  // tracking: not written since track_writes()). A page with either gets no direct writes.
  static constexpr u8 kPageCode = 1, kPageClean = 2;
  std::vector<u8> m_code_pages;
  std::vector<u32> m_dirty;
  std::function<void(u64)> m_on_code_write;
  mutable const Region* m_last = nullptr; // one-entry lookup cache
  std::vector<std::shared_ptr<const std::vector<u8>>> m_rom_images;
};

}  // namespace rv
