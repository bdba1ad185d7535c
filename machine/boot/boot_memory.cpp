#include "machine/boot/boot_memory.h"

#include <algorithm>
#include <cstdio>

#include "machine/boot/byte_io.h"
#include "memory/phys_memory.h"

namespace rv::boot {

std::string hex(u64 v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string mib(u64 bytes) {
  char buf[32];
  if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>((bytes + 1023) >> 10));
  return buf;
}

void FileView::need(u64 off, u64 len, const std::string& what) const {
  if (!has(off, len))
    fail("truncated or corrupt: " + what + " at offset " + hex(off) + " needs " + std::to_string(len) +
         " bytes, the file has " + std::to_string(size()));
}

const char* protocol_name(BootProtocol p) {
  switch (p) {
    case BootProtocol::LinuxBzImage: return "Linux bzImage";
    case BootProtocol::Pvh: return "PVH";
    case BootProtocol::Multiboot: return "Multiboot";
  }
  return "?";
}

const Placement* BootResult::find(const std::string& what) const {
  for (const Placement& p : placements)
    if (p.what == what) return &p;
  return nullptr;
}

static std::string range(u64 base, u64 size) { return "[" + hex(base) + "-" + hex(base + size) + ")"; }

BootMemory::BootMemory(PhysMemory& mem, std::vector<E820Entry> map, std::string image)
    : m_mem(mem), m_map(std::move(map)), m_image(std::move(image)) {
  if (m_map.empty()) fail("the machine's memory map is empty");
  std::sort(m_map.begin(), m_map.end(), [](const E820Entry& a, const E820Entry& b) { return a.base < b.base; });
  for (size_t i = 0; i < m_map.size(); ++i) {
    const E820Entry& e = m_map[i];
    u64 end;
    if (e.size == 0 || !add_ok(e.base, e.size, end)) fail("memory map entry " + range(e.base, e.size) + " is empty or wraps");
    if (i && m_map[i - 1].base + m_map[i - 1].size > e.base)
      fail("memory map entries " + range(m_map[i - 1].base, m_map[i - 1].size) + " and " + range(e.base, e.size) + " overlap");
    if (e.type != E820Type::Ram) continue;
    if (!m_ram.empty() && m_ram.back().second == e.base) m_ram.back().second = end;
    else m_ram.emplace_back(e.base, end);
  }
  if (m_ram.empty()) fail("the machine's memory map has no RAM");
}

bool BootMemory::is_ram(u64 base, u64 size) const {
  u64 end;
  if (!add_ok(base, size, end)) return false;
  for (const auto& [b, e] : m_ram)
    if (base >= b && end <= e) return true;
  return false;
}

u64 BootMemory::total_ram() const {
  u64 t = 0;
  for (const auto& [b, e] : m_ram) t += e - b;
  return t;
}

u64 BootMemory::ram_run_from(u64 start) const {
  for (const auto& [b, e] : m_ram)
    if (start >= b && start < e) return e - start;
  return 0;
}

const Placement* BootMemory::overlap(u64 base, u64 size) const {
  for (const Placement& p : m_placements)
    if (size && p.size && base < p.base + p.size && p.base < base + size) return &p;
  return nullptr;
}

void BootMemory::claim(const std::string& what, u64 base, u64 size) {
  u64 end;
  if (!add_ok(base, size, end) || end > (1ull << 52)) fail(what + " at " + hex(base) + " (" + mib(size) + ") lies outside the physical address space");
  if (size && !is_ram(base, size)) {
    u64 ram = total_ram();
    if (end > ram && ram < size + 0x100000)
      fail(what + " " + range(base, size) + " does not fit: the machine has only " + mib(ram) + " of RAM");
    fail(what + " " + range(base, size) + " is not inside the machine's RAM (" + mib(ram) + ")");
  }
  if (const Placement* p = overlap(base, size)) fail(what + " " + range(base, size) + " overlaps " + p->what + " " + range(p->base, p->size));
  m_placements.push_back({what, base, size});
}

u64 BootMemory::claim_high(const std::string& what, u64 size, u64 align, u64 limit) {
  // Candidate tops: the end of each RAM run and the start of each placement, highest first.
  std::vector<u64> tops;
  for (const auto& [b, e] : m_ram) tops.push_back(std::min(e, limit));
  for (const Placement& p : m_placements) tops.push_back(std::min(p.base, limit));
  std::sort(tops.rbegin(), tops.rend());
  for (u64 top : tops) {
    if (top < size) continue;
    u64 base = align_down(top - size, align);
    if (is_ram(base, size) && !overlap(base, size)) {
      m_placements.push_back({what, base, size});
      return base;
    }
  }
  fail(what + " (" + mib(size) + ") does not fit in free RAM below " + hex(limit) + " (the machine has " + mib(total_ram()) + ")");
}

void BootMemory::write(u64 addr, std::span<const u8> bytes) {
  if (!bytes.empty() && !m_mem.write_bytes(addr, bytes.data(), bytes.size()))
    fail("memory at " + range(addr, bytes.size()) + " is in the memory map but not mapped as RAM");
}

void BootMemory::zero(u64 addr, u64 size) {
  static const std::vector<u8> zeros(1 << 16, 0);
  while (size) {
    u64 n = std::min<u64>(size, zeros.size());
    write(addr, std::span<const u8>(zeros.data(), n));
    addr += n;
    size -= n;
  }
}

u64 place_cmdline(BootMemory& bm, const std::string& cmdline, u64 max_len) {
  max_len = std::min(max_len, kMaxCmdline - 1);
  if (cmdline.find('\0') != std::string::npos) bm.fail("the command line contains a NUL byte");
  if (cmdline.size() > max_len)
    bm.fail("the command line is " + std::to_string(cmdline.size()) + " bytes; this kernel accepts at most " + std::to_string(max_len));
  bm.claim("command line", kBootCmdlineAddr, cmdline.size() + 1);
  bm.write(kBootCmdlineAddr, std::span<const u8>(reinterpret_cast<const u8*>(cmdline.c_str()), cmdline.size() + 1));
  return kBootCmdlineAddr;
}

u64 place_initrd(BootMemory& bm, const BootRequest& req, u64 limit) {
  u64 size = req.initrd.size();
  if (size > bm.total_ram())
    throw BootError(req.initrd_name + ": the initrd (" + mib(size) + ") is larger than the guest RAM (" + mib(bm.total_ram()) + ")");
  u64 base;
  try {
    base = bm.claim_high("initrd", size ? size : 1, kPageSize, limit);
  } catch (const BootError&) {
    throw BootError(req.initrd_name + ": the initrd (" + mib(size) + ") does not fit in the free RAM below " + hex(limit) +
                    " next to the kernel (the machine has " + mib(bm.total_ram()) + "); give the machine more memory");
  }
  bm.write(base, req.initrd);
  return base;
}

}  // namespace rv::boot
