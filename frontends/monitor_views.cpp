// The monitor's teaching views (frontends/monitor.h): the devices' state as named fields,
// the descriptor tables decoded, and the page walk of a linear address explained level by
// level. Everything here only reads the machine (no accessed or dirty bits are set).
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "frontends/monitor.h"
#include "machine/pc.h"
#include "memory/state_visitor.h"

namespace rv {

namespace {

std::string hex(u64 v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*" PRIx64, digits, v);
  return buf;
}

// The state component names of the short forms (Pc::visit_state's).
std::string component_of(std::string_view name) {
  if (name == "pic") return "pic8259";
  if (name == "pit") return "pit8254";
  if (name == "apic") return "lapic";
  if (name == "rtc") return "rtc_cmos";
  if (name == "uart") return "uart16550";
  return std::string(name);
}

// A code or data descriptor's type bits, or a system descriptor's type, in words.
std::string type_name(u32 hi, bool long_mode) {
  const unsigned type = (hi >> 8) & 0xF;
  if (hi & (1u << 12)) {   // S: code or data
    std::string t;
    if (type & 8) {
      t = (hi & (1u << 21)) && long_mode ? "code64" : (hi & (1u << 22)) ? "code32" : "code16";
      if (type & 4) t += " conforming";
      if (type & 2) t += " readable";
    } else {
      t = (hi & (1u << 22)) ? "data32" : "data16";
      if (type & 4) t += " expand-down";
      t += (type & 2) ? " writable" : " read-only";
    }
    if (type & 1) t += " accessed";
    return t;
  }
  static const char* const kSystem[16] = {"reserved", "tss16 available", "ldt", "tss16 busy", "call gate16", "task gate",
                                          "interrupt gate16", "trap gate16", "reserved", "tss available", "reserved",
                                          "tss busy", "call gate", "reserved", "interrupt gate", "trap gate"};
  std::string t = kSystem[type];
  if (long_mode && (type == 9 || type == 11)) t.replace(0, 3, "tss64");
  else if (type == 9 || type == 11) t.replace(0, 3, "tss32");
  if (!long_mode && (type == 12 || type == 14 || type == 15)) t += "32";
  return t;
}

// One paging entry's bits by name (a set bit by its name, a clear one as name-).
std::string entry_bits(u64 e, bool leaf, bool large, bool nx_on) {
  std::string s;
  auto bit = [&](u64 mask, const char* name) {
    s += name;
    if (!(e & mask)) s += "-";
    s += " ";
  };
  bit(1, "P");
  bit(2, "RW");
  bit(4, "US");
  bit(8, "PWT");
  bit(16, "PCD");
  bit(32, "A");
  if (leaf) bit(64, "D");
  if (leaf && large) bit(128, "PS");
  if (leaf) bit(large ? (1ull << 12) : 128, "PAT");
  if (leaf) bit(256, "G");
  if (nx_on) bit(1ull << 63, "NX");
  s.pop_back();
  return s;
}

}  // namespace

std::string Monitor::info_devices(std::string_view name) {
  StatePrinter p;
  m_pc.visit_state(p);
  if (name.empty()) {
    std::string out;
    for (const std::string& l : p.lines())
      if (l.rfind("pc.cpu.", 0) != 0) out += l + "\n";   // the CPU: info registers
    return out;
  }
  const std::string comp = component_of(name);
  std::string out;
  std::vector<std::string> names;
  for (const std::string& l : p.lines()) {
    // pc.COMPONENT.field or pc.COMPONENT[i].field / pc.board.COMPONENT.field
    const size_t at = l.find("." + comp);
    if (at != std::string::npos && at + 1 + comp.size() < l.size() &&
        (l[at + 1 + comp.size()] == '.' || l[at + 1 + comp.size()] == '[' || l[at + 1 + comp.size()] == ' ' ||
         l[at + 1 + comp.size()] == '#'))
      out += l + "\n";
    const size_t a = l.find('.'), b = a == std::string::npos ? a : l.find_first_of(".[ #", a + 1);
    if (a != std::string::npos && b != std::string::npos) {
      const std::string c = l.substr(a + 1, b - a - 1);
      if (names.empty() || names.back() != c) names.push_back(c);
    }
  }
  if (!out.empty()) return out;
  std::string known;
  for (const std::string& c : names)
    if (c != "cpu" && known.find(" " + c + ",") == std::string::npos) known += " " + c + ",";
  if (!known.empty()) known.pop_back();
  return "error: info devices: no device '" + std::string(name) + "' (there are:" + known + ")\n";
}

std::string Monitor::info_descriptors(char table) {
  m_pc.sync_cpu_state();
  const CpuState& s = m_pc.cpu().state();
  const bool long_mode = s.efer & kEferLma;
  auto read32 = [&](u64 la, u32& v) {
    v = 0;
    for (int i = 0; i < 4; i++) {
      u8 b;
      if (!guest_byte(la + i, false, b)) return false;
      v |= static_cast<u32>(b) << (8 * i);
    }
    return true;
  };
  std::string out;
  char buf[256];
  if (table == 'i' && !(s.cr0 & kCr0Pe)) {
    // Real mode: the IVT, 4-byte far pointers.
    std::snprintf(buf, sizeof buf, "IVT (real mode) at linear %s, limit %s\n", hex(s.idtr.base, 8).c_str(), hex(s.idtr.limit, 4).c_str());
    out += buf;
    for (u64 v = 0; v < 256 && v * 4 + 3 <= s.idtr.limit; v++) {
      u32 e;
      if (!read32(s.idtr.base + v * 4, e)) break;
      if (e == 0) continue;
      std::snprintf(buf, sizeof buf, "  vector %02" PRIx64 "  %04x:%04x\n", v, e >> 16, e & 0xFFFF);
      out += buf;
    }
    return out;
  }
  if (!(s.cr0 & kCr0Pe)) return "info gdt/ldt: the CPU is in real mode (no descriptor tables in use)\n";
  u64 base = 0, limit = 0;
  const char* what = table == 'g' ? "GDT" : table == 'i' ? "IDT" : "LDT";
  if (table == 'g') {
    base = s.gdtr.base;
    limit = s.gdtr.limit;
  } else if (table == 'i') {
    base = s.idtr.base;
    limit = s.idtr.limit;
  } else {
    if ((s.ldtr.sel & ~3u) == 0) return "LDT: none (LDTR holds the null selector)\n";
    base = s.ldtr.base;
    limit = s.ldtr.limit;
  }
  std::snprintf(buf, sizeof buf, "%s at linear %s, limit %s (%s mode)\n", what, hex(base, long_mode ? 16 : 8).c_str(),
                hex(limit, 4).c_str(), long_mode ? "long" : "protected");
  out += buf;
  const unsigned gate_size = table == 'i' && long_mode ? 16 : 8;
  for (u64 off = 0; off + gate_size - 1 <= limit;) {
    u32 lo, hi;
    if (!read32(base + off, lo) || !read32(base + off + 4, hi)) {
      out += "  (the rest is not mapped)\n";
      break;
    }
    const bool system = !(hi & (1u << 12));
    const unsigned type = (hi >> 8) & 0xF;
    const bool wide = long_mode && system && (table != 'i') && (type == 2 || type == 9 || type == 11 || type == 12);
    const unsigned size = table == 'i' ? gate_size : wide ? 16 : 8;
    u32 hi2 = 0;
    if (size == 16) read32(base + off + 8, hi2);
    const bool present = hi & (1u << 15);
    if (lo == 0 && hi == 0) {
      off += size;
      continue;
    }
    const unsigned dpl = (hi >> 13) & 3;
    if (table == 'i') {
      const u64 target = (lo & 0xFFFF) | (hi & 0xFFFF0000u) | (static_cast<u64>(hi2) << 32);
      std::snprintf(buf, sizeof buf, "  vector %02" PRIx64 "  %-18s %04x:%s  DPL%u %s", off / gate_size, type_name(hi, long_mode).c_str(),
                    lo >> 16, hex(type == 5 ? 0 : target, long_mode ? 16 : 8).c_str(), dpl, present ? "P" : "not present");
      out += buf;
      if (long_mode && (hi & 7)) out += "  IST" + std::to_string(hi & 7);
      out += "\n";
    } else {
      u64 b = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u);
      if (size == 16) b |= static_cast<u64>(hi2) << 32;
      u64 lim = (lo & 0xFFFF) | (hi & 0xF0000);
      if (hi & (1u << 23)) lim = (lim << 12) | 0xFFF;
      const bool gate = system && (type == 4 || type == 5 || type == 12);
      if (gate) {
        const u64 target = (lo & 0xFFFF) | (hi & 0xFFFF0000u) | (static_cast<u64>(hi2) << 32);
        std::snprintf(buf, sizeof buf, "  %04" PRIx64 "  %-26s %04x:%s DPL%u %s\n", off | (table == 'l' ? 4 : 0),
                      type_name(hi, long_mode).c_str(), lo >> 16, hex(target, 8).c_str(), dpl, present ? "P" : "not present");
      } else {
        std::snprintf(buf, sizeof buf, "  %04" PRIx64 "  %-26s base %s limit %s DPL%u %s%s%s\n", off | (table == 'l' ? 4 : 0),
                      type_name(hi, long_mode).c_str(), hex(b, size == 16 ? 16 : 8).c_str(), hex(lim, 8).c_str(), dpl,
                      present ? "P" : "not present", (hi & (1u << 23)) ? " G" : "", (hi & (1u << 20)) ? " AVL" : "");
      }
      out += buf;
    }
    off += size;
  }
  return out;
}

std::string Monitor::explain(std::string_view addr_text) {
  u64 la;
  if (!parse_number(addr_text, 16, la)) return "error: explain: expected a hex linear address, not '" + std::string(addr_text) + "'\n";
  m_pc.sync_cpu_state();
  const CpuState& s = m_pc.cpu().state();
  std::string out;
  char buf[320];
  PhysMemory& mem = m_pc.memory();
  if (!(s.cr0 & kCr0Pg)) {
    const u64 pa = (s.efer & kEferLma) ? la : la & 0xFFFFFFFF;
    std::snprintf(buf, sizeof buf, "linear %s: paging is off (CR0.PG=0): the physical address is the linear one, %s%s\n",
                  hex(la, 8).c_str(), hex(pa, 8).c_str(),
                  (pa & (1u << 20)) && !(m_pc.cpu().a20_mask() & (1u << 20)) ? " (A20 is closed: bit 20 is masked)" : "");
    return buf;
  }
  const bool lm = s.efer & kEferLma, pae = s.cr4 & kCr4Pae, nx_on = (s.efer & kEferNxe) && pae;
  if (lm && (static_cast<u64>(static_cast<i64>(la << 16) >> 16) != la))
    return "linear " + hex(la, 16) + ": not canonical (bits 63:47 differ): any access faults (#GP, or #SS on the stack)\n";
  struct Level {
    const char* name;
    unsigned shift;
    unsigned bits;
  };
  std::vector<Level> levels;
  u64 table;
  if (lm) {
    levels = {{"PML4E", 39, 9}, {"PDPTE", 30, 9}, {"PDE", 21, 9}, {"PTE", 12, 9}};
    table = s.cr3 & 0x000FFFFFFFFFF000ull;
    std::snprintf(buf, sizeof buf, "linear %s, 4-level paging (CR0.PG, CR4.PAE, EFER.LMA), CR3=%s\n", hex(la, 16).c_str(), hex(s.cr3, 16).c_str());
  } else if (pae) {
    levels = {{"PDPTE", 30, 2}, {"PDE", 21, 9}, {"PTE", 12, 9}};
    table = s.cr3 & 0xFFFFFFE0ull;
    la &= 0xFFFFFFFF;
    std::snprintf(buf, sizeof buf, "linear %s, PAE paging (CR0.PG, CR4.PAE), CR3=%s\n", hex(la, 8).c_str(), hex(s.cr3, 8).c_str());
  } else {
    levels = {{"PDE", 22, 10}, {"PTE", 12, 10}};
    table = s.cr3 & 0xFFFFF000ull;
    la &= 0xFFFFFFFF;
    std::snprintf(buf, sizeof buf, "linear %s, 32-bit paging (CR0.PG)%s, CR3=%s\n", hex(la, 8).c_str(),
                  (s.cr4 & kCr4Pse) ? " with 4 MiB pages (CR4.PSE)" : "", hex(s.cr3, 8).c_str());
  }
  out += buf;
  bool writable = true, user = true, exec = true;
  const unsigned entry_size = (lm || pae) ? 8 : 4;
  for (size_t i = 0; i < levels.size(); i++) {
    const Level& L = levels[i];
    const u64 index = (la >> L.shift) & ((1ull << L.bits) - 1);
    const u64 at = table + index * entry_size;
    u64 e = 0;
    if (!mem.read_bytes(at, &e, entry_size)) {
      std::snprintf(buf, sizeof buf, "  %-5s index %3" PRIu64 " at physical %s: not RAM (a device's registers or nothing), not read here; the CPU would read it\n",
                    L.name, index, hex(at, 9).c_str());
      return out + buf;
    }
    const bool last = i + 1 == levels.size();
    // PS makes a leaf of a PDPTE (1 GiB, 4-level only) or a PDE (2 MiB, or 4 MiB without PAE).
    const bool pdpte_pae = pae && !lm && i == 0;
    const bool can_be_large = !last && !pdpte_pae && (i == levels.size() - 2 || (lm && i == 1)) && (entry_size == 8 || (s.cr4 & kCr4Pse));
    const bool large = can_be_large && (e & 0x80);
    const bool leaf = last || large;
    std::snprintf(buf, sizeof buf, "  %-5s index %3" PRIu64 " at physical %s = %s  %s\n", L.name, index, hex(at, 9).c_str(),
                  hex(e, entry_size * 2).c_str(), pdpte_pae ? ((e & 1) ? "P" : "P-") : entry_bits(e, leaf, large, nx_on).c_str());
    out += buf;
    if (!(e & 1)) {
      out += "  not present: an access raises #PF (error code P=0) with CR2 = the linear address\n";
      return out;
    }
    if (!pdpte_pae) {
      writable = writable && (e & 2);
      user = user && (e & 4);
      if (nx_on && (e >> 63)) exec = false;
    }
    u64 frame_mask = entry_size == 8 ? 0x000FFFFFFFFFF000ull : 0xFFFFF000ull;
    if (leaf) {
      u64 page_bits = L.shift;
      u64 frame;
      if (large && entry_size == 4) {   // 4 MiB: bits 39:32 of the frame in PDE bits 20:13
        frame = (e & 0xFFC00000ull) | ((e & 0x1FE000ull) << 19);
      } else {
        frame = e & frame_mask & ~((1ull << page_bits) - 1);
      }
      const u64 pa = (frame | (la & ((1ull << page_bits) - 1))) & m_pc.cpu().a20_mask();
      const char* size = page_bits == 30 ? "1 GiB" : page_bits == 22 ? "4 MiB" : page_bits == 21 ? "2 MiB" : "4 KiB";
      std::snprintf(buf, sizeof buf, "  -> a %s page at physical %s; linear %s is physical %s\n", size, hex(frame, 9).c_str(),
                    hex(la, lm ? 16 : 8).c_str(), hex(pa, 9).c_str());
      out += buf;
      const bool wp = s.cr0 & (1u << 16);
      std::snprintf(buf, sizeof buf, "  access: %s, %s%s%s\n", user ? "user and supervisor" : "supervisor only",
                    writable ? "writable" : wp ? "read-only (CR0.WP: for the supervisor too)" : "read-only for user code (CR0.WP=0: the supervisor may write)",
                    nx_on ? (exec ? ", executable" : ", not executable (NX)") : "",
                    (e & 0x20) ? "" : "; not yet accessed (A=0)");
      out += buf;
      return out;
    }
    table = e & frame_mask;
  }
  return out;
}

std::string Monitor::info_tlb() {
  m_pc.sync_cpu_state();
  if (m_pc.engine() != Engine::Interp) return "info tlb: the CPU runs under KVM: its TLB is the host's (engine interp shows the interpreter's)\n";
  std::string out;
  char buf[200];
  for (unsigned set = 0; set < 2; set++) {
    const std::vector<Cpu::TlbView> v = m_pc.cpu().tlb_entries(set);
    std::snprintf(buf, sizeof buf, "%s TLB: %zu of %u entries valid (r/w: reads/writes go straight to host memory; x: fetches use it; g: global)\n",
                  set ? "user" : "supervisor", v.size(), 1024u);
    out += buf;
    for (const Cpu::TlbView& e : v) {
      std::snprintf(buf, sizeof buf, "  %s -> %s  %c%c%c%c\n", hex(e.vpage, 16).c_str(), hex(e.paddr, 9).c_str(), e.direct_read ? 'r' : '-',
                    e.direct_write ? 'w' : '-', e.exec ? 'x' : '-', e.global ? 'g' : '-');
      out += buf;
    }
  }
  out += "(a page without r/w is reached through the slow path: MMIO, code pages (w), watched pages, pages not yet dirty)\n";
  return out;
}

std::string Monitor::info_blocks() {
  const Cpu& cpu = m_pc.cpu();
  const std::vector<Cpu::BlockPageView> pages = cpu.block_pages();
  std::string out;
  char buf[200];
  std::snprintf(buf, sizeof buf, "decoded blocks: %zu (at most %zu, then the cache is emptied: %llu times so far) on %zu code pages\n",
                cpu.cached_blocks(), Cpu::kMaxCachedBlocks, static_cast<unsigned long long>(cpu.cache_flushes()), pages.size());
  out += buf;
  constexpr size_t kShown = 512;
  for (size_t i = 0; i < pages.size() && i < kShown; i++) {
    std::snprintf(buf, sizeof buf, "  page %s  %5zu blocks, %6llu bytes of code\n", hex(pages[i].page, 9).c_str(), pages[i].blocks,
                  static_cast<unsigned long long>(pages[i].bytes));
    out += buf;
  }
  if (pages.size() > kShown) out += "  ... (" + std::to_string(pages.size() - kShown) + " more pages)\n";
  return out;
}

std::string Monitor::info_mem(std::string_view from_text) {
  u64 from = 0;
  if (!from_text.empty() && !parse_number(from_text, 16, from))
    return "error: info mem: expected a hex linear address to start from, not '" + std::string(from_text) + "'\n";
  m_pc.sync_cpu_state();
  const CpuState& s = m_pc.cpu().state();
  if (!(s.cr0 & kCr0Pg)) return "info mem: paging is off (CR0.PG=0): every linear address is the physical one\n";
  const bool lm = s.efer & kEferLma, pae = s.cr4 & kCr4Pae, nx_on = (s.efer & kEferNxe) && pae;
  const unsigned esize = (lm || pae) ? 8 : 4;
  const u64 frame_mask = esize == 8 ? 0x000FFFFFFFFFF000ull : 0xFFFFF000ull;
  struct Level {
    unsigned shift, entries;
    bool can_be_large;
  };
  std::vector<Level> levels;
  u64 root;
  if (lm) {
    levels = {{39, 512, false}, {30, 512, true}, {21, 512, true}, {12, 512, false}};
    root = s.cr3 & frame_mask;
  } else if (pae) {
    levels = {{30, 4, false}, {21, 512, true}, {12, 512, false}};
    root = s.cr3 & 0xFFFFFFE0ull;
  } else {
    levels = {{22, 1024, (s.cr4 & kCr4Pse) != 0}, {12, 1024, false}};
    root = s.cr3 & 0xFFFFF000ull;
  }
  struct Range {
    u64 la = 0, pa = 0, size = 0;
    bool user = false, write = false, exec = false;
  };
  std::vector<Range> ranges;
  PhysMemory& mem = m_pc.memory();
  constexpr size_t kMaxRanges = 4096;
  size_t entries_read = 0;
  // Depth-first over present entries; a leaf extends the last range when it continues it.
  std::function<void(size_t, u64, u64, bool, bool, bool)> walk = [&](size_t depth, u64 table, u64 la_base, bool u, bool w, bool x) {
    const Level& L = levels[depth];
    for (u64 i = 0; i < L.entries && ranges.size() <= kMaxRanges; i++) {
      u64 e = 0;
      if (!mem.read_bytes(table + i * esize, &e, esize)) return;   // a table outside RAM: not read (side effects)
      if (++entries_read > 4'000'000) return;   // bounds a hostile guest's tables
      if (!(e & 1)) continue;
      u64 la = la_base | (i << L.shift);
      {
        u64 canon = la;
        if (lm && (canon >> 47)) canon |= 0xFFFF000000000000ull;
        if (canon + (1ull << L.shift) - 1 < from) continue;   // wholly before the start asked for
      }
      const bool pdpte_pae = pae && !lm && depth == 0;
      const bool uu = pdpte_pae ? u : u && (e & 4), ww = pdpte_pae ? w : w && (e & 2), xx = x && !(nx_on && (e >> 63));
      const bool last = depth + 1 == levels.size();
      if (!last && !(L.can_be_large && (e & 0x80))) {
        walk(depth + 1, e & frame_mask, la, uu, ww, xx);
        continue;
      }
      u64 pa = (esize == 4 && !last) ? (e & 0xFFC00000ull) | ((e & 0x1FE000ull) << 19) : e & frame_mask & ~((1ull << L.shift) - 1);
      if (lm && (la >> 47)) la |= 0xFFFF000000000000ull;   // canonical: bits 63:48 copy bit 47
      const u64 size = 1ull << L.shift;
      if (!ranges.empty()) {
        Range& r = ranges.back();
        if (r.la + r.size == la && r.user == uu && r.write == ww && r.exec == xx) {   // as QEMU's: by rights
          r.size += size;
          continue;
        }
      }
      ranges.push_back({la, pa, size, uu, ww, xx});
    }
  };
  walk(0, root, 0, true, true, true);
  std::string out;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s paging, CR3=%s: %s%zu ranges%s%s\n", lm ? "4-level" : pae ? "PAE" : "32-bit",
                hex(s.cr3, lm ? 16 : 8).c_str(), ranges.size() > kMaxRanges ? "the first " : "", std::min(ranges.size(), kMaxRanges),
                from ? " from " : "", from ? hex(from, lm ? 16 : 8).c_str() : "");
  out += buf;
  for (size_t i = 0; i < ranges.size() && i < kMaxRanges; i++) {
    const Range& r = ranges[i];
    const u64 kib = r.size >> 10;
    std::string sz = kib >= (1u << 20) && kib % (1u << 20) == 0 ? std::to_string(kib >> 20) + " GiB"
                     : kib >= 1024 && kib % 1024 == 0           ? std::to_string(kib >> 10) + " MiB"
                                                                : std::to_string(kib) + " KiB";
    std::snprintf(buf, sizeof buf, "  %s-%s  %9s  %c%c%c  (first page at physical %s)\n", hex(r.la, lm ? 16 : 8).c_str(),
                  hex(r.la + r.size - 1, lm ? 16 : 8).c_str(), sz.c_str(), r.user ? 'u' : 's',
                  r.write ? 'w' : 'r', r.exec ? 'x' : '-', hex(r.pa, 9).c_str());
    out += buf;
  }
  if (ranges.size() > kMaxRanges) out += "  ... (more follow: info mem ADDR starts at ADDR)\n";
  return out;
}

}  // namespace rv
