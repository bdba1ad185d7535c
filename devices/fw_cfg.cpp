#include "devices/fw_cfg.h"
#include "memory/state_visitor.h"

#include <algorithm>
#include <stdexcept>

#include "memory/log.h"

namespace rv {

namespace {

void put_le(std::vector<u8>& out, u64 v, unsigned bytes) {
  for (unsigned i = 0; i < bytes; i++) out.push_back(static_cast<u8>(v >> (8 * i)));
}
void put_be(std::vector<u8>& out, u64 v, unsigned bytes) {
  for (unsigned i = bytes; i-- > 0;) out.push_back(static_cast<u8>(v >> (8 * i)));
}

}  // namespace

FwCfg::FwCfg(PhysMemory* dma_memory) : m_mem(dma_memory) {
  add_item(kSignature, {'Q', 'E', 'M', 'U'});
  std::vector<u8> id;
  put_le(id, kFeatureTraditional | (m_mem ? kFeatureDma : 0), 4);
  add_item(kId, id);
  rebuild_directory();
}

u32 FwCfg::io_read(u16 offset, unsigned size) {
  if (m_mem && offset >= kDmaOffset && offset < kDmaOffset + 8) {
    // The signature, big-endian: "QEMU" at 0x514, " CFG" at 0x518.
    u64 sig = kDmaSignature;
    u32 v = 0;
    for (unsigned i = 0; i < size && offset - kDmaOffset + i < 8; i++)
      v |= u32(u8(sig >> (8 * (7 - (offset - kDmaOffset + i))))) << (8 * i);
    return v;
  }
  if (offset != 1) return 0;   // the selector is write only
  // The data register is 8 bits wide on x86; the IoBus splits wider accesses that start
  // here, so size is 1.
  auto it = m_items.find(static_cast<u16>(m_s.selector & ~kWriteBit));
  if (it == m_items.end() || m_s.offset >= it->second.size()) return 0;
  return it->second[m_s.offset++];
}

void FwCfg::io_write(u16 offset, u32 value, unsigned size) {
  if (offset >= kDmaOffset) {
    if (!m_mem || size != 4) {
      RV_UNUSUAL("fw_cfg: %u-byte write at DMA offset %u (dropped)", size, unsigned(offset));
      return;
    }
    // The register is big-endian: a 32-bit OUT stores the host-order value byte-swapped.
    u32 be = __builtin_bswap32(value);
    if (offset == kDmaOffset) m_s.dma_high = be;
    else if (offset == kDmaOffset + 4) {
      u64 address = (u64(m_s.dma_high) << 32) | be;
      m_s.dma_high = 0;
      run_dma(address);
    }
    return;
  }
  if (offset == 0) {
    if (size != 2) RV_UNUSUAL("fw_cfg: %u-byte write to the 16-bit selector", size);
    m_s.selector = static_cast<u16>(value);
    m_s.offset = 0;
    if (m_s.selector & kWriteBit) RV_UNUSUAL("fw_cfg: selector with the deprecated write bit");
  } else {
    RV_UNUSUAL("fw_cfg: write to the data register (items are read only; ignored)");
  }
}

void FwCfg::add_item(u16 key, std::vector<u8> data) { m_items[key] = std::move(data); }

void FwCfg::set_ram_size(u64 bytes) {
  std::vector<u8> v;
  put_le(v, bytes, 8);
  add_item(kRamSize, v);
}

void FwCfg::set_cpu_count(u16 cpus) {
  std::vector<u8> v;
  put_le(v, cpus, 2);
  add_item(kNbCpus, v);
  add_item(kMaxCpus, v);
}

u16 FwCfg::add_file(const std::string& name, std::vector<u8> data) {
  if (name.empty() || name.size() > kMaxNameLen) throw std::invalid_argument("fw_cfg file name '" + name + "' is empty or too long");
  if (m_files.count(name)) throw std::invalid_argument("fw_cfg file '" + name + "' exists already");
  u16 key = m_next_file++;
  m_files[name] = key;
  add_item(key, std::move(data));
  rebuild_directory();
  return key;
}

void FwCfg::set_e820(std::span<const E820Entry> entries) {
  std::vector<u8> v;
  for (const E820Entry& e : entries) {
    put_le(v, e.address, 8);
    put_le(v, e.length, 8);
    put_le(v, static_cast<u32>(e.type), 4);
  }
  auto it = m_files.find("etc/e820");
  if (it == m_files.end()) {
    add_file("etc/e820", std::move(v));
  } else {
    add_item(it->second, std::move(v));
    rebuild_directory();
  }
}

const std::vector<u8>* FwCfg::item(u16 key) const {
  auto it = m_items.find(key);
  return it == m_items.end() ? nullptr : &it->second;
}

void FwCfg::rebuild_directory() {
  std::vector<u8> dir;
  put_be(dir, m_files.size(), 4);
  for (const auto& [name, key] : m_files) {
    put_be(dir, m_items[key].size(), 4);
    put_be(dir, key, 2);
    put_be(dir, 0, 2);
    size_t at = dir.size();
    dir.resize(at + kDirEntrySize - 8, 0);
    std::copy(name.begin(), name.end(), dir.begin() + static_cast<std::ptrdiff_t>(at));
  }
  m_items[kFileDir] = std::move(dir);
}

bool FwCfg::guest_ram(u64 address, u64 length) const {
  if (address + length < address) return false;
  while (length) {
    const Region* r = m_mem->find(address);
    if (!r || r->kind != RegionKind::Ram) return false;
    u64 n = r->base + r->size - address < length ? r->base + r->size - address : length;
    address += n;
    length -= n;
  }
  return true;
}

void FwCfg::run_dma(u64 address) {
  u8 raw[16];
  if (!guest_ram(address, sizeof raw) || !m_mem->read_bytes(address, raw, sizeof raw)) {
    RV_UNUSUAL("fw_cfg: DMA descriptor at 0x%llx is outside RAM (ignored)", (unsigned long long)address);
    return;
  }
  auto be = [&](unsigned at, unsigned n) {
    u64 v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | raw[at + i];
    return v;
  };
  u32 control = static_cast<u32>(be(0, 4));
  bool ok = dma_transfer(control, static_cast<u32>(be(4, 4)), be(8, 8));
  u8 out[4] = {0, 0, 0, u8(ok ? 0 : kDmaError)};
  m_mem->write_bytes(address, out, sizeof out);
}

bool FwCfg::dma_transfer(u32 control, u32 length, u64 address) {
  auto advance = [&](u64 n) { m_s.offset = static_cast<u32>(std::min<u64>(u64(m_s.offset) + n, 0xFFFFFFFFull)); };
  if (control & kDmaSelect) {
    m_s.selector = static_cast<u16>(control >> 16);
    m_s.offset = 0;
  }
  if (control & kDmaWrite) return false;   // no writable items
  auto it = m_items.find(static_cast<u16>(m_s.selector & ~kWriteBit));
  u64 size = it == m_items.end() ? 0 : it->second.size();
  if (control & kDmaRead) {
    // Item bytes first, then zeros for the part past the end; every byte must be in RAM.
    if (!guest_ram(address, length)) return false;   // checked before any byte is written
    u64 avail = m_s.offset < size ? size - m_s.offset : 0;
    u64 copy = avail < length ? avail : length;
    if (copy && !m_mem->write_bytes(address, it->second.data() + m_s.offset, copy)) return false;
    static const u8 kZeros[4096] = {};
    for (u64 done = copy; done < length;) {
      u64 n = length - done < sizeof kZeros ? length - done : sizeof kZeros;
      if (!m_mem->write_bytes(address + done, kZeros, n)) return false;
      done += n;
    }
    advance(length);
  } else if (control & kDmaSkip) {
    advance(length);
  }
  return true;
}

void FwCfg::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("fw_cfg", 1);
  v.field("selector", s.selector);
  v.field("offset", s.offset);
  v.field("dma_high", s.dma_high);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
