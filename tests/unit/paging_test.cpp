// Page walks, permission faults, Accessed/Dirty bits and TLB behaviour (SDM Vol.3A ch.4).
#include <gtest/gtest.h>

#include "tests/unit/cpu_env.h"

namespace rv::test {
namespace {

constexpr u64 P = 1, RW = 2, US = 4, A = 32, D = 64, PS = 128, NX = 1ull << 63;

struct PagingEnv : CpuEnv {
  u64 next_table = 0x100000;
  u64 pml4 = 0;

  u64 alloc() {
    u64 t = next_table;
    next_table += 0x1000;
    std::vector<u8> zero(0x1000, 0);
    mem.write_bytes(t, zero.data(), zero.size());
    return t;
  }
  u64 rd(u64 pa) { return mem.read(pa, 8); }
  void wr(u64 pa, u64 v) { mem.write(pa, v, 8); }

  void long_mode(bool wp, bool nxe) {
    pml4 = alloc();
    CpuState& s = cpu.state();
    s.cr0 = kCr0Pe | kCr0Pg | (wp ? kCr0Wp : 0);
    s.cr4 = kCr4Pae;
    s.efer = kEferLme | kEferLma | (nxe ? kEferNxe : 0);
    s.cr3 = pml4;
    s.seg[CS] = Segment{0x08, 0x209B, 0xFFFFFFFF, 0};   // 64-bit code, DPL 0
    s.seg[SS] = Segment{0x10, 0x4093, 0xFFFFFFFF, 0};
    cpu.state_changed();
  }
  // Maps one 4 KiB page with the given leaf flags; upper levels get P|RW|US.
  u64 map4k(u64 va, u64 pa, u64 flags) {
    u64 table = pml4;
    for (int level = 4; level > 1; level--) {
      u64 idx = (va >> (12 + 9 * (level - 1))) & 0x1FF;
      u64 e = rd(table + idx * 8);
      if (!(e & P)) {
        e = alloc() | P | RW | US;
        wr(table + idx * 8, e);
      }
      table = e & 0xFFFFFFFFF000ull;
    }
    u64 pte_pa = table + ((va >> 12) & 0x1FF) * 8;
    wr(pte_pa, pa | flags);
    return pte_pa;
  }
  // Returns the #PF error code, or -1 when the access succeeds.
  int try_access(u64 la, Access acc, bool user) {
    try {
      cpu.translate(la, acc, user);
      return -1;
    } catch (const GuestFault& f) {
      EXPECT_EQ(f.vector, kPF);
      EXPECT_EQ(cpu.state().cr2, la);
      return static_cast<int>(f.error);
    }
  }
};

TEST(Paging, NotPresentErrorCodes) {
  PagingEnv e;
  e.long_mode(true, true);
  e.map4k(0x400000, 0x200000, 0);   // not present
  EXPECT_EQ(e.try_access(0x400123, Access::Read, false), 0);
  EXPECT_EQ(e.try_access(0x400123, Access::Write, false), 2);
  EXPECT_EQ(e.try_access(0x400123, Access::Read, true), 4);
  EXPECT_EQ(e.try_access(0x400123, Access::Write, true), 6);
  EXPECT_EQ(e.try_access(0x400123, Access::Exec, false), 0x10);
}

TEST(Paging, WriteProtectAndUserChecks) {
  PagingEnv e;
  e.long_mode(false, true);
  e.map4k(0x400000, 0x200000, P | US);        // read-only user page
  e.map4k(0x401000, 0x201000, P | RW);        // supervisor page
  EXPECT_EQ(e.try_access(0x400000, Access::Write, false), -1);   // CR0.WP=0: supervisor may write
  EXPECT_EQ(e.try_access(0x400000, Access::Write, true), 7);
  EXPECT_EQ(e.try_access(0x401000, Access::Read, true), 5);
  EXPECT_EQ(e.try_access(0x401000, Access::Write, false), -1);
  e.cpu.state().cr0 |= kCr0Wp;
  e.cpu.tlb_flush(true);
  EXPECT_EQ(e.try_access(0x400000, Access::Write, false), 3);
}

TEST(Paging, NoExecuteAndReservedBits) {
  PagingEnv e;
  e.long_mode(true, true);
  e.map4k(0x400000, 0x200000, P | RW | US | NX);
  EXPECT_EQ(e.try_access(0x400000, Access::Read, true), -1);
  EXPECT_EQ(e.try_access(0x400000, Access::Exec, false), 0x11);
  EXPECT_EQ(e.try_access(0x400000, Access::Exec, true), 0x15);
  e.map4k(0x402000, 0x202000 | (1ull << 45), P | RW);   // bit 45 is above MAXPHYADDR=40
  EXPECT_EQ(e.try_access(0x402000, Access::Read, false), 9);
  // With EFER.NXE clear, bit 63 is reserved.
  e.cpu.state().efer &= ~kEferNxe;
  e.cpu.tlb_flush(true);
  EXPECT_EQ(e.try_access(0x400000, Access::Read, false), 9);
}

TEST(Paging, AccessedAndDirtyBits) {
  PagingEnv e;
  e.long_mode(true, true);
  u64 pte = e.map4k(0x400000, 0x200000, P | RW);
  EXPECT_EQ(e.cpu.read_lin(0x400010, 4), 0u);
  EXPECT_EQ(e.rd(pte) & (A | D), A);
  EXPECT_EQ(e.rd(e.pml4) & A, A);
  e.cpu.write_lin(0x400010, 4, 0xDEADBEEF);
  EXPECT_EQ(e.rd(pte) & (A | D), A | D);
  EXPECT_EQ(e.mem.read(0x200010, 4), 0xDEADBEEFu);
}

TEST(Paging, LargePagesAndTlbStaleness) {
  PagingEnv e;
  e.long_mode(true, true);
  // 2 MiB page at VA 0x40000000 -> PA 0x600000 via a PDE with PS.
  u64 pdpt = e.alloc(), pd = e.alloc();
  e.wr(e.pml4 + 0, pdpt | P | RW);
  e.wr(pdpt + 1 * 8, pd | P | RW);
  e.wr(pd + 0, 0x600000 | P | RW | PS);
  e.mem.write(0x600000 + 0x1234, 0x55, 1);
  EXPECT_EQ(e.cpu.read_lin(0x40001234, 1), 0x55u);
  // Remap without INVLPG: the TLB still holds the old translation (as hardware may).
  e.wr(pd + 0, 0x800000 | P | RW | PS);
  e.mem.write(0x800000 + 0x1234, 0x66, 1);
  EXPECT_EQ(e.cpu.read_lin(0x40001234, 1), 0x55u);
  e.cpu.tlb_flush_page(0x40001000);
  EXPECT_EQ(e.cpu.read_lin(0x40001234, 1), 0x66u);
}

TEST(Paging, Legacy32BitWith4MPages) {
  PagingEnv e;
  CpuState& s = e.cpu.state();
  u64 pd = e.alloc(), pt = e.alloc();
  e.mem.write(pd + 1 * 4, 0x00C00000 | P | RW | PS, 4);   // 4 MiB page: VA 0x400000 -> PA 0xC00000
  e.mem.write(pd + 2 * 4, pt | P | RW | US, 4);
  e.mem.write(pt + 3 * 4, 0x00203000 | P | US, 4);         // VA 0x803000 -> PA 0x203000, read-only user
  s.cr0 = kCr0Pe | kCr0Pg | kCr0Wp;
  s.cr4 = kCr4Pse;
  s.cr3 = pd;
  s.seg[CS] = Segment{0x08, 0x409B, 0xFFFFFFFF, 0};
  e.cpu.state_changed();
  EXPECT_EQ(e.cpu.translate(0x4ABCDE, Access::Read, false), 0xCABCDEu);
  EXPECT_EQ(e.cpu.translate(0x803456, Access::Read, true), 0x203456u);
  EXPECT_EQ(e.try_access(0x803456, Access::Write, true), 7);
  EXPECT_EQ(e.try_access(0x4ABCDE, Access::Read, true), 5);
  EXPECT_EQ(e.mem.read(pt + 3 * 4, 4) & A, A);
}

TEST(Paging, PaeThreeLevel) {
  PagingEnv e;
  CpuState& s = e.cpu.state();
  u64 pdpt = e.alloc(), pd = e.alloc(), pt = e.alloc();
  e.wr(pdpt + 2 * 8, pd | P);                 // VA 0x80000000..
  e.wr(pd + 1 * 8, pt | P | RW);              // +0x200000
  e.wr(pt + 5 * 8, 0x345000 | P | RW | NX);   // +0x5000
  s.cr0 = kCr0Pe | kCr0Pg;
  s.cr4 = kCr4Pae;
  s.efer = kEferNxe;
  s.cr3 = pdpt;
  s.seg[CS] = Segment{0x08, 0x409B, 0xFFFFFFFF, 0};
  e.cpu.state_changed();
  EXPECT_EQ(e.cpu.translate(0x80205ABC, Access::Read, false), 0x345ABCu);
  EXPECT_EQ(e.try_access(0x80205ABC, Access::Exec, false), 0x11);
}

// The debugger's translation (Cpu::debug_translate, used by the gdb stub) agrees with the
// CPU's walk in every paging mode and never changes the guest: no A/D bits, no CR2, no fault.
TEST(Paging, DebugTranslateHasNoSideEffects) {
  {
    PagingEnv e;   // 4-level, 4 KiB and 2 MiB pages, a hole
    e.long_mode(true, true);
    const u64 pte = e.map4k(0x400000, 0x200000, P | RW);
    const u64 pdpt = e.alloc(), pd = e.alloc();
    e.wr(e.pml4 + 1 * 8, pdpt | P | RW);
    e.wr(pdpt + 0, pd | P | RW);
    e.wr(pd + 3 * 8, 0xA00000 | P | RW | PS);   // VA 0x8000600000 -> PA 0xA00000 (2 MiB)
    e.cpu.state().cr2 = 0x1234;
    u64 pa = 0;
    ASSERT_TRUE(e.cpu.debug_translate(0x400ABC, pa));
    EXPECT_EQ(pa, 0x200ABCu);
    ASSERT_TRUE(e.cpu.debug_translate(0x8000612345, pa));
    EXPECT_EQ(pa, 0xA12345u);
    EXPECT_FALSE(e.cpu.debug_translate(0x7000000000, pa));   // not mapped: no fault
    EXPECT_EQ(e.rd(pte) & (A | D), 0u);
    EXPECT_EQ(e.rd(e.pml4) & A, 0u);
    EXPECT_EQ(e.rd(pd + 3 * 8) & A, 0u);
    EXPECT_EQ(e.cpu.state().cr2, 0x1234u);
    EXPECT_EQ(e.cpu.translate(0x400ABC, Access::Read, false), 0x200ABCu);   // the CPU agrees
    EXPECT_EQ(e.cpu.translate(0x8000612345, Access::Read, false), 0xA12345u);
  }
  {
    PagingEnv e;   // legacy 32-bit with a 4 MiB page and a 4 KiB page
    CpuState& s = e.cpu.state();
    const u64 pd = e.alloc(), pt = e.alloc();
    e.mem.write(pd + 1 * 4, 0x00C00000 | P | RW | PS, 4);
    e.mem.write(pd + 2 * 4, pt | P | RW | US, 4);
    e.mem.write(pt + 3 * 4, 0x00203000 | P | US, 4);
    s.cr0 = kCr0Pe | kCr0Pg;
    s.cr4 = kCr4Pse;
    s.cr3 = pd;
    s.seg[CS] = Segment{0x08, 0x409B, 0xFFFFFFFF, 0};
    e.cpu.state_changed();
    u64 pa = 0;
    ASSERT_TRUE(e.cpu.debug_translate(0x4ABCDE, pa));
    EXPECT_EQ(pa, 0xCABCDEu);
    ASSERT_TRUE(e.cpu.debug_translate(0x803456, pa));
    EXPECT_EQ(pa, 0x203456u);
    EXPECT_FALSE(e.cpu.debug_translate(0xC00000, pa));
    EXPECT_EQ(e.mem.read(pt + 3 * 4, 4) & A, 0u);
  }
  {
    PagingEnv e;   // PAE three-level
    CpuState& s = e.cpu.state();
    const u64 pdpt = e.alloc(), pd = e.alloc(), pt = e.alloc();
    e.wr(pdpt + 2 * 8, pd | P);
    e.wr(pd + 1 * 8, pt | P | RW);
    e.wr(pt + 5 * 8, 0x345000 | P | RW);
    s.cr0 = kCr0Pe | kCr0Pg;
    s.cr4 = kCr4Pae;
    s.cr3 = pdpt;
    s.seg[CS] = Segment{0x08, 0x409B, 0xFFFFFFFF, 0};
    e.cpu.state_changed();
    u64 pa = 0;
    ASSERT_TRUE(e.cpu.debug_translate(0x80205ABC, pa));
    EXPECT_EQ(pa, 0x345ABCu);
    EXPECT_FALSE(e.cpu.debug_translate(0x40000000, pa));
    EXPECT_EQ(e.rd(pt + 5 * 8) & A, 0u);
  }
}

}  // namespace
}  // namespace rv::test
