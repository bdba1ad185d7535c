#include "memory/phys_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace rv {

PhysMemory::PhysMemory(u64 ram_bytes) : m_ram_size(ram_bytes) {
  // Round up to whole pages; mmap gives zeroed, lazily committed memory.
  m_ram_alloc = (ram_bytes + kPageSize - 1) & kPageMask;
  if (m_ram_alloc == 0) m_ram_alloc = kPageSize;
  void* p = mmap(nullptr, m_ram_alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot allocate " + std::to_string(ram_bytes >> 20) + " MiB of guest RAM");
  m_ram = static_cast<u8*>(p);
  m_code_pages.assign(m_ram_alloc / kPageSize, 0);
}

PhysMemory::~PhysMemory() { munmap(m_ram, m_ram_alloc); }

void PhysMemory::add_region(Region r) {
  if (r.size == 0) throw std::invalid_argument("region '" + r.name + "' is empty");
  if (r.base + r.size < r.base) throw std::invalid_argument("region '" + r.name + "' wraps the address space");
  for (const Region& o : m_regions) {
    if (r.base < o.base + o.size && o.base < r.base + r.size)
      throw std::invalid_argument("region '" + r.name + "' overlaps region '" + o.name + "'");
  }
  auto it = std::lower_bound(m_regions.begin(), m_regions.end(), r.base,
                             [](const Region& a, u64 b) { return a.base < b; });
  m_regions.insert(it, std::move(r));
  m_last = nullptr;
}

void PhysMemory::map_ram(u64 base, u64 size, u64 ram_offset, std::string name) {
  if (ram_offset + size > m_ram_alloc) throw std::invalid_argument("RAM window '" + name + "' exceeds the RAM size");
  Region r;
  r.base = base; r.size = size; r.kind = RegionKind::Ram;
  r.host = m_ram + ram_offset; r.ram_offset = ram_offset; r.name = std::move(name);
  add_region(std::move(r));
}

void PhysMemory::map_rom(u64 base, std::shared_ptr<const std::vector<u8>> image, std::string name) {
  Region r;
  r.base = base; r.size = image->size(); r.kind = RegionKind::Rom;
  r.host = const_cast<u8*>(image->data()); r.name = std::move(name);
  add_region(std::move(r));
  m_rom_images.push_back(std::move(image));
}

void PhysMemory::map_mmio(u64 base, u64 size, MmioDevice* dev, std::string name) {
  Region r;
  r.base = base; r.size = size; r.kind = RegionKind::Mmio; r.device = dev; r.name = std::move(name);
  add_region(std::move(r));
}

const Region* PhysMemory::find(u64 paddr) const {
  if (m_last && paddr - m_last->base < m_last->size) return m_last;
  auto it = std::upper_bound(m_regions.begin(), m_regions.end(), paddr,
                             [](u64 a, const Region& b) { return a < b.base; });
  if (it == m_regions.begin()) return nullptr;
  --it;
  if (paddr - it->base >= it->size) return nullptr;
  m_last = &*it;
  return m_last;
}

Region* PhysMemory::find_mut(u64 paddr) { return const_cast<Region*>(find(paddr)); }

PageMapping PhysMemory::map_page(u64 paddr) {
  paddr &= kPageMask;
  const Region* r = find(paddr);
  // Only whole pages inside one region get a direct pointer.
  if (!r || r->kind == RegionKind::Mmio || paddr + kPageSize > r->base + r->size) return {};
  PageMapping m;
  m.host = r->host + (paddr - r->base);
  m.writable = r->kind == RegionKind::Ram && !m_code_pages[(r->ram_offset + (paddr - r->base)) / kPageSize];
  return m;
}

void PhysMemory::notify_ram_write(const Region& r, u64 paddr) {
  u64 page = (r.ram_offset + (paddr - r.base)) / kPageSize;
  u8& f = m_code_pages[page];
  if (RV_UNLIKELY(f)) {
    const bool code = f & kPageCode;
    if (f & kPageClean) m_dirty.push_back(static_cast<u32>(page));
    f = 0;
    if (code && m_on_code_write) m_on_code_write(paddr & kPageMask);
  }
}

bool PhysMemory::page_is_zero(const u8* p) {
  u64 any = 0;
  for (size_t i = 0; i < kPageSize; i += 8) {
    u64 w;
    std::memcpy(&w, p + i, 8);
    any |= w;
  }
  return any == 0;
}

std::vector<bool> PhysMemory::committed_ram_pages() const {
  const u64 pages = m_ram_size / kPageSize;
  std::vector<unsigned char> resident(pages);
  if (pages == 0 || mincore(m_ram, pages * kPageSize, resident.data()) != 0) return std::vector<bool>(pages, true);
  std::vector<bool> r(pages);
  for (u64 i = 0; i < pages; i++) r[i] = resident[i] & 1;
  return r;
}

std::vector<u32> PhysMemory::nonzero_ram_pages() const {
  const std::vector<bool> committed = committed_ram_pages();
  std::vector<u32> out;
  for (u64 pg = 0; pg < committed.size(); pg++)
    if (committed[pg] && !page_is_zero(m_ram + pg * kPageSize)) out.push_back(static_cast<u32>(pg));
  return out;
}

void PhysMemory::ram_page_replaced(u32 page) {
  if (page >= m_code_pages.size() || !(m_code_pages[page] & kPageCode)) return;
  m_code_pages[page] &= static_cast<u8>(~kPageCode);
  if (!m_on_code_write) return;
  const u64 off = static_cast<u64>(page) * kPageSize;
  for (const Region& r : m_regions)
    if (r.kind == RegionKind::Ram && off >= r.ram_offset && off < r.ram_offset + r.size) m_on_code_write(r.base + (off - r.ram_offset));
}

void PhysMemory::track_writes() {
  for (u8& f : m_code_pages) f |= kPageClean;
  m_dirty.clear();
}

u64 PhysMemory::read(u64 paddr, unsigned size) {
  const Region* r = find(paddr);
  if (r && paddr + size <= r->base + r->size) {
    if (r->kind == RegionKind::Mmio) return r->device->mmio_read(paddr - r->base, size);
    u64 v = 0;
    std::memcpy(&v, r->host + (paddr - r->base), size);
    return v;
  }
  if (!r && size == 1) return 0xFF;
  // Straddles regions or unmapped: assemble byte by byte.
  u64 v = 0;
  for (unsigned i = 0; i < size; i++) {
    const Region* b = find(paddr + i);
    u64 byte = 0xFF;
    if (b) byte = b->kind == RegionKind::Mmio ? b->device->mmio_read(paddr + i - b->base, 1) & 0xFF
                                              : b->host[paddr + i - b->base];
    v |= byte << (8 * i);
  }
  return v;
}

void PhysMemory::write(u64 paddr, u64 value, unsigned size) {
  Region* r = find_mut(paddr);
  if (r && paddr + size <= r->base + r->size) {
    if (r->kind == RegionKind::Mmio) return r->device->mmio_write(paddr - r->base, value, size);
    if (r->kind == RegionKind::Rom) return;
    std::memcpy(r->host + (paddr - r->base), &value, size);
    notify_ram_write(*r, paddr);
    if (((paddr + size - 1) & kPageMask) != (paddr & kPageMask)) notify_ram_write(*r, paddr + size - 1);
    return;
  }
  for (unsigned i = 0; i < size; i++) {
    Region* b = find_mut(paddr + i);
    u8 byte = static_cast<u8>(value >> (8 * i));
    if (!b || b->kind == RegionKind::Rom) continue;
    if (b->kind == RegionKind::Mmio) { b->device->mmio_write(paddr + i - b->base, byte, 1); continue; }
    b->host[paddr + i - b->base] = byte;
    notify_ram_write(*b, paddr + i);
  }
}

bool PhysMemory::read_bytes(u64 paddr, void* dst, u64 len) {
  u8* d = static_cast<u8*>(dst);
  while (len) {
    const Region* r = find(paddr);
    if (!r || r->kind == RegionKind::Mmio) return false;
    u64 n = std::min(len, r->base + r->size - paddr);
    std::memcpy(d, r->host + (paddr - r->base), n);
    d += n; paddr += n; len -= n;
  }
  return true;
}

bool PhysMemory::write_bytes(u64 paddr, const void* src, u64 len) {
  const u8* s = static_cast<const u8*>(src);
  while (len) {
    Region* r = find_mut(paddr);
    if (!r || r->kind == RegionKind::Mmio) return false;
    u64 n = std::min(len, r->base + r->size - paddr);
    std::memcpy(r->host + (paddr - r->base), s, n);
    if (r->kind == RegionKind::Ram)
      for (u64 a = paddr & kPageMask; a < paddr + n; a += kPageSize) notify_ram_write(*r, std::max(a, paddr));
    s += n; paddr += n; len -= n;
  }
  return true;
}

bool PhysMemory::mark_code(u64 paddr) {
  const Region* r = find(paddr);
  if (!r || r->kind != RegionKind::Ram) return false;
  u8& bit = m_code_pages[(r->ram_offset + (paddr - r->base)) / kPageSize];
  if (bit & kPageCode) return false;
  bit |= kPageCode;
  return true;
}

bool PhysMemory::is_code(u64 paddr) const {
  const Region* r = find(paddr);
  return r && r->kind == RegionKind::Ram && (m_code_pages[(r->ram_offset + (paddr - r->base)) / kPageSize] & kPageCode);
}

void PhysMemory::clear_ram() {
  // A private anonymous mapping reads as zeros again after MADV_DONTNEED.
  if (madvise(m_ram, m_ram_alloc, MADV_DONTNEED) != 0) std::memset(m_ram, 0, m_ram_alloc);
  for (u8& f : m_code_pages) f &= static_cast<u8>(~kPageCode);   // write tracking stays as it was
}

void PhysMemory::clear_code(u64 paddr) {
  const Region* r = find(paddr);
  if (r && r->kind == RegionKind::Ram) m_code_pages[(r->ram_offset + (paddr - r->base)) / kPageSize] &= static_cast<u8>(~kPageCode);
}

}  // namespace rv
