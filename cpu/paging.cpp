// Linear -> physical translation and the software TLB.
//
// Page walks for 32-bit paging (with 4 MiB pages under CR4.PSE), PAE paging and 4-level
// paging (SDM Vol.3A §4.3, §4.4, §4.5). The walk sets Accessed bits on every entry it uses
// and the Dirty bit on the final entry of a write, as hardware does, and raises #PF with
// the error code of SDM Vol.3A §4.7 and CR2 = the faulting linear address.
//
// The TLB is direct-mapped, one set for supervisor and one for user accesses, each entry
// caching one 4 KiB page with separate read/write/execute tags. A write tag is given only
// when the page is writable for that privilege, its Dirty bit is already set (so the first
// write still walks and sets D), and the page holds no cached code.
#include "cpu/cpu.h"

namespace rv {

namespace {
constexpr u64 kP = 1, kRW = 2, kUS = 4, kPWT = 8, kPCD = 16, kA = 32, kD = 64, kPS = 128, kG = 256;
constexpr u64 kNX = 1ull << 63;
constexpr unsigned kMaxPhysBits = 40;   // CPUID 0x80000008 (cpuid in system_regs.cpp)
constexpr u64 kAddrMask = ((1ull << kMaxPhysBits) - 1) & ~0xFFFull;
constexpr u64 kRsvdHigh = ~((1ull << kMaxPhysBits) - 1) & ~kNX & ((1ull << 52) - 1);   // bits 51:40
}  // namespace

void Cpu::tlb_flush(bool include_global) {
  m_epoch++;
  for (auto& set : m_tlb)
    for (TlbEntry& e : set)
      if (include_global || !e.global) e = TlbEntry{};
  if (include_global) m_tlb_has_large = false;
}

void Cpu::tlb_flush_page(u64 la) {
  m_epoch++;
  if (m_tlb_has_large) {   // a large page may cover `la` through many 4 KiB entries
    tlb_flush(true);
    return;
  }
  for (auto& set : m_tlb) {
    TlbEntry& e = set[(la >> 12) & (kTlbSize - 1)];
    if (e.tag_r == (la & kPageMask) || e.tag_w == (la & kPageMask) || e.tag_x == (la & kPageMask)) e = TlbEntry{};
  }
}

void Cpu::page_fault(u64 la, Access acc, bool user, bool present, bool rsvd) {
  u32 err = (present ? 1u : 0u) | (acc == Access::Write ? 2u : 0u) | (user ? 4u : 0u) | (rsvd ? 8u : 0u);
  // I/D is reported for fetches when NX paging is on (SDM Vol.3A §4.7).
  if (acc == Access::Exec && (m_s.efer & kEferNxe) && (m_s.cr4 & kCr4Pae)) err |= 16;
  m_s.cr2 = la;
  fault(kPF, err);
}

u64 Cpu::walk(u64 la, Access acc, bool user, bool& writable, bool& executable, bool& is_global, bool& dirty) {
  const bool nxe = m_s.efer & kEferNxe;
  const bool wp = m_s.cr0 & kCr0Wp;
  bool rw = true, us = true, nx = false;
  u64 entry_pa[5];
  u64 entries[5];
  int levels = 0;
  u64 pa = 0;
  u64 page_size = kPageSize;
  bool large = false;

  auto read_entry = [&](u64 epa, bool wide) -> u64 { return m_mem.read(epa, wide ? 8 : 4); };
  auto rsvd_fault = [&]() { page_fault(la, acc, user, true, true); };

  if (!(m_s.cr4 & kCr4Pae)) {
    // 32-bit paging: PDE then PTE, 4-byte entries.
    u64 pde_pa = (m_s.cr3 & 0xFFFFF000) | ((la >> 20) & 0xFFC);
    u64 pde = read_entry(pde_pa, false);
    if (!(pde & kP)) page_fault(la, acc, user, false, false);
    entry_pa[levels] = pde_pa; entries[levels++] = pde;
    rw &= bool(pde & kRW); us &= bool(pde & kUS);
    if ((pde & kPS) && (m_s.cr4 & kCr4Pse)) {
      pa = (pde & 0xFFC00000) | ((pde & 0x1FE000) << 19) | (la & 0x3FFFFF);   // PSE-36 bits 20:13
      page_size = 4u << 20;
      large = true;
    } else {
      u64 pte_pa = (pde & 0xFFFFF000) | ((la >> 10) & 0xFFC);
      u64 pte = read_entry(pte_pa, false);
      if (!(pte & kP)) page_fault(la, acc, user, false, false);
      entry_pa[levels] = pte_pa; entries[levels++] = pte;
      rw &= bool(pte & kRW); us &= bool(pte & kUS);
      pa = (pte & 0xFFFFF000) | (la & 0xFFF);
    }
  } else {
    const bool lm = m_s.efer & kEferLma;
    int top = lm ? 4 : 3;
    u64 table = lm ? (m_s.cr3 & kAddrMask) : (m_s.cr3 & 0xFFFFFFE0);
    for (int level = top; level >= 1; level--) {
      unsigned shift = 12 + 9 * (level - 1);
      u64 idx = (level == 3 && !lm) ? ((la >> 30) & 3) : ((la >> shift) & 0x1FF);
      u64 epa = table + idx * 8;
      u64 e = read_entry(epa, true);
      if (!(e & kP)) page_fault(la, acc, user, false, false);
      if (e & kRsvdHigh) rsvd_fault();
      if ((e & kNX) && !nxe) rsvd_fault();
      if (level == 3 && !lm) {
        // PAE PDPTE: no R/W, U/S, NX or A bits (SDM Vol.3A §4.4.1).
        if (e & 0x1E6) rsvd_fault();
        table = e & kAddrMask;
        continue;
      }
      entry_pa[levels] = epa; entries[levels++] = e;
      rw &= bool(e & kRW); us &= bool(e & kUS); nx |= nxe && (e & kNX);
      if (level == 4 && (e & kPS)) rsvd_fault();
      if ((level == 2 || level == 3) && (e & kPS)) {
        u64 psz = 1ull << shift;
        if (e & (psz - 1) & ~0x1FFFull & kAddrMask) rsvd_fault();   // reserved bits below the frame
        pa = (e & kAddrMask & ~(psz - 1)) | (la & (psz - 1));
        page_size = psz;
        large = true;
        break;
      }
      if (level == 1) { pa = (e & kAddrMask) | (la & 0xFFF); break; }
      table = e & kAddrMask;
    }
  }

  // Permission checks (SDM Vol.3A §4.6). Supervisor writes to read-only pages fault only
  // with CR0.WP; user accesses need U/S at every level.
  if (user && !us) page_fault(la, acc, user, true, false);
  if (acc == Access::Write && !rw && (user || wp)) page_fault(la, acc, user, true, false);
  if (acc == Access::Exec && nx) page_fault(la, acc, user, true, false);

  // Accessed on every level; Dirty on the leaf for writes.
  for (int i = 0; i < levels; i++) {
    u64 e = entries[i];
    u64 ne = e | kA;
    if (i == levels - 1 && acc == Access::Write) ne |= kD;
    if (ne != e) m_mem.write(entry_pa[i], ne, (m_s.cr4 & kCr4Pae) ? 8 : 4);
    entries[i] = ne;
  }
  u64 leaf = entries[levels - 1];
  writable = rw || (!user && !wp);
  executable = !nx;
  is_global = (leaf & kG) && (m_s.cr4 & kCr4Pge);
  dirty = leaf & kD;
  if (large) m_tlb_has_large = true;
  (void)page_size;
  return pa;
}

void Cpu::tlb_fill(u64 la, u64 pa, bool user_tlb, bool w, bool x, bool global, bool dirty, Access acc) {
  TlbEntry& e = m_tlb[user_tlb][(la >> 12) & (kTlbSize - 1)];
  e = TlbEntry{};
  u64 vpage = la & kPageMask;
  e.paddr = pa & kPageMask;
  e.global = global;
  PageMapping pm = m_mem.map_page(e.paddr);
  // A page with a data breakpoint gets no data tags: its accesses take the slow path, which
  // checks them (note_data_breakpoints()).
  if (pm.host && !(m_watch_count && watched_page(vpage))) {
    e.addend = reinterpret_cast<u64>(pm.host) - vpage;
    e.tag_r = vpage;
    if (w && dirty && pm.writable) e.tag_w = vpage;
  }
  if (x) e.tag_x = vpage;   // exec uses paddr, valid for MMIO too
  (void)acc;
}

u64 Cpu::translate(u64 la, Access acc, bool user) {
  // Never cache a non-canonical address: the inline 64-bit access paths rely on it.
  if (long64() && RV_UNLIKELY(static_cast<u64>(static_cast<i64>(la << 16) >> 16) != la)) fault(kGP, 0);
  if (!(m_s.cr0 & kCr0Pg)) {
    // No paging: identity. Outside long mode linear addresses are 32 bits.
    u64 pa = la & m_a20_mask;
    tlb_fill(la, pa, user, true, true, false, true, acc);
    return pa;
  }
  bool w, x, g, dirty;
  u64 pa = walk(la, acc, user, w, x, g, dirty) & m_a20_mask;
  tlb_fill(la, pa, user, w, x, g, dirty, acc);
  return pa;
}

// Slow-path read: alignment check, page-crossing split, translation (with write intent for
// the read half of a read-modify-write).
u64 Cpu::read_lin_access(u64 la, unsigned size, unsigned user, Access acc) {
  if (user == 2) {   // alignment checking on (update_access_mode)
    if (la & (size - 1) & 7) fault(kAC, 0);
    user = 1;
  }
  if (RV_UNLIKELY(m_watch_count)) note_data_breakpoints(la, size, false);
  unsigned in_page = static_cast<unsigned>(kPageSize - (la & 0xFFF));
  if (size > in_page) {
    u64 la2 = long64() ? la + in_page : (la + in_page) & 0xFFFFFFFF;
    u64 pa1 = translate(la, acc, user);
    u64 pa2 = translate(la2, acc, user);
    return m_mem.read(pa1, in_page) | (m_mem.read(pa2, size - in_page) << (8 * in_page));
  }
  const TlbEntry& e = m_tlb[user][(la >> 12) & (kTlbSize - 1)];
  u64 tag = acc == Access::Write ? e.tag_w : e.tag_r;
  u64 pa = tag == (la & kPageMask) ? e.paddr | (la & 0xFFF) : translate(la, acc, user);
  return m_mem.read(pa, size);
}

u64 Cpu::read_lin_slow(u64 la, unsigned size, unsigned user) { return read_lin_access(la, size, user, Access::Read); }
u64 Cpu::read_lin_rmw_slow(u64 la, unsigned size, unsigned user) { return read_lin_access(la, size, user, Access::Write); }

void Cpu::write_lin_slow(u64 la, unsigned size, u64 v, unsigned user) {
  if (user == 2) {   // alignment checking on (update_access_mode)
    if (la & (size - 1) & 7) fault(kAC, 0);
    user = 1;
  }
  if (RV_UNLIKELY(m_watch_count)) note_data_breakpoints(la, size, true);
  unsigned in_page = static_cast<unsigned>(kPageSize - (la & 0xFFF));
  if (size > in_page) {
    u64 la2 = long64() ? la + in_page : (la + in_page) & 0xFFFFFFFF;
    u64 pa1 = translate(la, Access::Write, user);
    u64 pa2 = translate(la2, Access::Write, user);
    m_mem.write(pa1, v, in_page);
    m_mem.write(pa2, v >> (8 * in_page), size - in_page);
    return;
  }
  u64 pa = translate(la, Access::Write, user);
  m_mem.write(pa, v, size);
}

bool Cpu::debug_translate(u64 la, u64& pa) const {
  if (!(m_s.cr0 & kCr0Pg)) {
    pa = (long64() ? la : la & 0xFFFFFFFF) & m_a20_mask;
    return true;
  }
  // RAM and ROM only: a table entry in MMIO space is not read (a device read has side
  // effects) and counts as not present.
  auto entry = [&](u64 epa, bool wide) {
    u64 v = 0;
    return const_cast<PhysMemory&>(m_mem).read_bytes(epa, &v, wide ? 8 : 4) ? v : 0;
  };
  if (!(m_s.cr4 & kCr4Pae)) {
    const u64 pde = entry((m_s.cr3 & 0xFFFFF000) | ((la >> 20) & 0xFFC), false);
    if (!(pde & kP)) return false;
    if ((pde & kPS) && (m_s.cr4 & kCr4Pse)) {
      pa = (pde & 0xFFC00000) | ((pde & 0x1FE000) << 19) | (la & 0x3FFFFF);
    } else {
      const u64 pte = entry((pde & 0xFFFFF000) | ((la >> 10) & 0xFFC), false);
      if (!(pte & kP)) return false;
      pa = (pte & 0xFFFFF000) | (la & 0xFFF);
    }
    pa &= m_a20_mask;
    return true;
  }
  const bool lm = m_s.efer & kEferLma;
  u64 table = lm ? (m_s.cr3 & kAddrMask) : (m_s.cr3 & 0xFFFFFFE0);
  for (int level = lm ? 4 : 3; level >= 1; level--) {
    const unsigned shift = 12 + 9 * (level - 1);
    const u64 idx = (level == 3 && !lm) ? ((la >> 30) & 3) : ((la >> shift) & 0x1FF);
    const u64 e = entry(table + idx * 8, true);
    if (!(e & kP)) return false;
    if ((level == 2 || (level == 3 && lm)) && (e & kPS)) {
      const u64 psz = 1ull << shift;
      pa = ((e & kAddrMask & ~(psz - 1)) | (la & (psz - 1))) & m_a20_mask;
      return true;
    }
    if (level == 1) {
      pa = ((e & kAddrMask) | (la & 0xFFF)) & m_a20_mask;
      return true;
    }
    table = e & kAddrMask;
  }
  return false;
}

}  // namespace rv
