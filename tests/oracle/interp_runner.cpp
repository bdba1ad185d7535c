#include "tests/oracle/interp_runner.h"

#include <cstring>

namespace rv::oracle {
namespace {

// Guest-physical = virtual (identity paging) for every page we map.
constexpr u64 kTables = 0x100000;             // page-table pool, 16 pages
constexpr u64 kSys = 0x50000000;              // GDT, IDT, TSS, handler stubs, IST stack
constexpr u64 kGdt = kSys, kIdt = kSys + 0x1000, kTss = kSys + 0x2000, kStubs = kSys + 0x3000,
              kIstTop = kSys + 0x5000;
constexpr u16 kKernCs32 = 0x08, kKernCs64 = 0x10, kKernDs = 0x18, kUserCs32 = 0x23, kUserDs = 0x2B,
              kUserCs64 = 0x33, kTssSel = 0x40;
constexpr u64 kPteP = 1, kPteW = 2, kPteU = 4;

// Access byte (type, S, DPL, P) and flags nibble (AVL, L, D/B, G): SDM Vol.3A §3.4.5.
u64 descriptor(u8 access, u8 flags) {
  u64 limit = 0xFFFFF;
  return (limit & 0xFFFF) | (static_cast<u64>(access) << 40) | (((limit >> 16) & 0xF) << 48) |
         (static_cast<u64>(flags) << 52);
}
Segment seg(u16 sel, u8 access, u8 flags) {
  return Segment{sel, static_cast<u16>(access | (flags << 12)), 0xFFFFFFFF, 0};
}

}  // namespace

InterpRunner::InterpRunner(bool cpl3) : m_cpl3(cpl3), m_mem(0x20000), m_cpu(m_mem, m_io) {
  m_mem.map_ram(kTables, 0x10000, 0x0000, "tables");
  m_mem.map_ram(kCodeBase, 2 * kPage, 0x10000, "code");
  m_mem.map_ram(kDataBase, kPage, 0x12000, "data");
  m_mem.map_ram(kStackBase, kPage, 0x13000, "stack");
  m_mem.map_ram(kSys, 6 * kPage, 0x14000, "sys");
  m_mem.map_ram(kRoBase, kPage, 0x1A000, "ro");
  m_mem.write_bytes(kRoBase, ro_page_pattern().data(), kPage);
  m_cpu.reset();
  std::memcpy(m_reset_fpu, m_cpu.state().fpu.fxsave, 512);
  build_tables();
}

u8* InterpRunner::host(u64 pa) {
  const Region* r = m_mem.find(pa);
  return r->host + (pa - r->base);
}

void InterpRunner::map4k(u64 va, bool user, bool writable) {
  u64 table = kTables;   // PML4
  for (int level = 3; level >= 1; level--) {
    u64* e = reinterpret_cast<u64*>(host(table)) + ((va >> (12 + 9 * level)) & 511);
    if (!(*e & kPteP)) {
      m_next_table += kPage;
      *e = m_next_table | kPteP | kPteW | kPteU;
    }
    table = *e & ~0xFFFull;
  }
  u64* pte = reinterpret_cast<u64*>(host(table)) + ((va >> 12) & 511);
  *pte = va | kPteP | (writable ? kPteW : 0) | (user ? kPteU : 0);
}

void InterpRunner::build_tables() {
  m_next_table = kTables;
  map4k(kCodeBase, true, true);          // writable: sequences may modify their own code
  map4k(kCodeBase + kPage, true, true);
  map4k(kDataBase, true, true);
  map4k(kRoBase, true, false);
  map4k(kStackBase, true, true);
  for (u64 p = 0; p < 6; p++) map4k(kSys + p * kPage, false, true);

  // GDT laid out like Linux's, so selectors match the native run.
  u64* gdt = reinterpret_cast<u64*>(host(kGdt));
  gdt[kKernCs32 >> 3] = descriptor(0x9B, 0xC);
  gdt[kKernCs64 >> 3] = descriptor(0x9B, 0xA);
  gdt[kKernDs >> 3] = descriptor(0x93, 0xC);
  gdt[kUserCs32 >> 3] = descriptor(0xFB, 0xC);
  gdt[kUserDs >> 3] = descriptor(0xF3, 0xC);
  gdt[kUserCs64 >> 3] = descriptor(0xFB, 0xA);
  // 64-bit TSS descriptor (16 bytes, busy), SDM Vol.3A §8.2.3.
  gdt[kTssSel >> 3] = 0x67 | ((kTss & 0xFFFFFF) << 16) | (0x8Bull << 40) | ((kTss >> 24 & 0xFF) << 56);
  gdt[(kTssSel >> 3) + 1] = kTss >> 32;

  // TSS: RSP0 and IST1 both point at the IST stack (SDM Vol.3A §8.7).
  u8* tss = host(kTss);
  u64 top = kIstTop;
  std::memcpy(tss + 4, &top, 8);
  std::memcpy(tss + 0x24, &top, 8);
  u16 iomap = 0x68;
  std::memcpy(tss + 0x66, &iomap, 2);

  // IDT: vector v -> stub v (HLT; JMP back), interrupt gate, IST1, DPL 3 (SDM Vol.3A §6.14.1).
  u64* idt = reinterpret_cast<u64*>(host(kIdt));
  u8* stubs = host(kStubs);
  for (u64 v = 0; v < 256; v++) {
    u64 off = kStubs + v * 16;
    stubs[v * 16] = 0xF4;
    stubs[v * 16 + 1] = 0xEB;
    stubs[v * 16 + 2] = 0xFD;
    // Gate DPL as Linux sets it: INT3 and INTO may be used from user mode, INT n is #GP.
    u64 attr = v == 3 || v == 4 ? 0xEE : 0x8E;
    idt[v * 2] = (off & 0xFFFF) | (static_cast<u64>(kKernCs64) << 16) | (1ull << 32) | (attr << 40) |
                 ((off >> 16 & 0xFFFF) << 48);
    idt[v * 2 + 1] = off >> 32;
  }

  for (int m = 0; m < 2; m++) {
    CpuState& s = m_tmpl[m];
    s = CpuState{};
    s.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg;
    s.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
    s.cr3 = kTables;
    s.efer = kEferSce | kEferLme | kEferLma | kEferNxe;
    s.gdtr = {kGdt, 0x7F};   // Linux: 16 entries
    s.idtr = {kIdt, 0xFFF};
    s.tr = Segment{kTssSel, 0x8B, 0x67, kTss};
    s.ldtr = Segment{};   // no LDT, as in a Linux process
    bool compat = m == static_cast<int>(Mode::Compat32);
    if (m_cpl3) {
      s.seg[CS] = compat ? seg(kUserCs32, 0xFB, 0xC) : seg(kUserCs64, 0xFB, 0xA);
      s.seg[SS] = seg(kUserDs, 0xF3, 0xC);
    } else {
      s.seg[CS] = compat ? seg(kKernCs32, 0x9B, 0xC) : seg(kKernCs64, 0x9B, 0xA);
      s.seg[SS] = seg(kKernDs, 0x93, 0xC);
    }
    // 64-bit Linux processes run with null DS/ES; the native 32-bit prologue loads 0x2B.
    s.seg[DS] = s.seg[ES] = compat ? seg(kUserDs, 0xF3, 0xC) : Segment{};
    s.seg[FS] = s.seg[GS] = Segment{};
    if (!compat) s.seg[GS].base = kDataBase;   // as the native worker sets it (arch_prctl)
  }
}

Snapshot InterpRunner::run(const Case& c, u64 budget) {
  Snapshot s;
  // Code: the sequence then HLT; the rest of the page is INT3 so a wild jump is caught.
  std::vector<u8> page(2 * kPage, 0xCC);
  if (!c.code.empty()) std::memcpy(page.data() + (kSeqAddr - kCodeBase), c.code.data(), c.code.size());
  page[kSeqAddr - kCodeBase + c.code.size()] = 0xF4;
  if (c.tail.size() == 16) std::memcpy(page.data() + (kTailAddr - kCodeBase), c.tail.data(), 16);
  m_mem.write_bytes(kCodeBase, page.data(), page.size());
  m_mem.write_bytes(kDataBase, c.data.data(), kPage);
  m_mem.write_bytes(kStackBase, c.stack.data(), kPage);

  CpuState& st = m_cpu.state();
  st = m_tmpl[static_cast<int>(c.mode)];
  st.gpr = c.gpr;
  st.rip = kSeqAddr;
  st.rflags = c.rflags;
  // MXCSR_MASK (bytes 28..31) is the CPU's, not the start state's: FXRSTOR ignores the field
  // natively, and our CPU keeps its mask there (reset value, SDM Vol.1 §11.6.6).
  u8 mxcsr_mask[4];
  std::memcpy(mxcsr_mask, m_reset_fpu + 28, 4);
  std::memcpy(st.fpu.fxsave, c.fpu.data(), 512);
  std::memcpy(st.fpu.fxsave + 28, mxcsr_mask, 4);
  m_cpu.state_changed();

  StopReason why;
  try {
    why = m_cpu.run(budget);
  } catch (const std::exception& e) {
    s.note = std::string("interpreter threw: ") + e.what();
    return s;
  }
  u64 end = kSeqAddr + c.code.size();
  u64 rip = st.rip;
  s.gpr = st.gpr;
  s.data.assign(host(kDataBase), host(kDataBase) + kPage);
  s.stack.assign(host(kStackBase), host(kStackBase) + kPage);
  s.fpu.assign(st.fpu.fxsave, st.fpu.fxsave + 512);
  if (why != StopReason::Halted && why != StopReason::HaltIdle) {
    s.note = why == StopReason::TripleFault ? "interpreter triple fault: " + m_cpu.triple_fault_message()
                                            : "interpreter did not stop (budget exhausted)";
    s.rflags = m_cpu.rflags();
    return s;
  }
  for (int r = 0; r < 6; r++) s.sreg[r] = st.seg[r].sel;
  // At CPL 0 the stack segment is the kernel's; report the user selector the sequence
  // started with, so only changes made by the sequence count.
  if (!m_cpl3 && s.sreg[SS] == kKernDs) s.sreg[SS] = kUserDs;
  if (!m_cpl3 && rip == end + 1) {   // HLT at CPL 0 ends the run directly
    s.rflags = m_cpu.rflags();
    return s;
  }
  if (rip < kStubs || rip >= kStubs + 256 * 16) {
    s.note = "interpreter halted outside the sequence end and the handlers, rip=" + std::to_string(rip);
    s.rflags = m_cpu.rflags();
    return s;
  }
  int vector = static_cast<int>((rip - kStubs) / 16);
  // Frame on the IST stack (SDM Vol.3A §6.14.2): [error], RIP, CS, RFLAGS, RSP, SS.
  u64 rsp = st.gpr[RSP];
  if (rsp != kIstTop - 40 && rsp != kIstTop - 48) {
    s.note = "unexpected handler stack pointer " + std::to_string(rsp);
    return s;
  }
  const u64* frame = reinterpret_cast<const u64*>(host(kIstTop - 40));
  if (rsp == kIstTop - 48) s.error = frame[-1];
  s.cr2 = st.cr2;
  s.sreg[CS] = static_cast<u16>(frame[1]);
  s.sreg[SS] = static_cast<u16>(frame[4]);
  s.fault_rip = frame[0];
  s.rflags = frame[2];
  s.gpr[RSP] = frame[3];
  if (m_cpl3 && vector == kGP && s.fault_rip == end) return s;   // the HLT that ends the sequence
  s.vector = vector;
  if (!m_cpl3 && vector == kPF) s.error |= 4;   // the native run is a user access (U/S = 1)
  return s;
}

}  // namespace rv::oracle
