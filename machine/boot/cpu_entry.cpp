#include "machine/boot/cpu_entry.h"

#include "machine/boot/byte_io.h"

namespace rv::boot {

void write_boot_gdt(BootMemory& bm, EntryMode mode) {
  // SDM Vol.3A §3.4.5 (segment descriptors) and §7.2.2 (TSS descriptor).
  const u64 code = mode == EntryMode::Long64 ? 0x00AF9B000000FFFFull : 0x00CF9B000000FFFFull;
  const u64 gdt[5] = {0, 0, code, 0x00CF93000000FFFFull, 0x00008B0000000067ull};
  std::vector<u8> buf;
  for (unsigned i = 0; i < 5; ++i) put_le<u64>(buf, i * 8, gdt[i]);
  bm.claim("boot GDT", kBootGdtAddr, buf.size());
  bm.write(kBootGdtAddr, buf);
}

u64 write_identity_page_tables(BootMemory& bm) {
  // SDM Vol.3A §4.5 (4-level paging): PML4[0] -> PDPT, PDPT[0..3] -> 4 page directories of
  // 512 2-MiB pages each (PS=1). P|RW = 0x3, P|RW|PS = 0x83.
  const u64 pml4 = kBootPageTablesAddr, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
  std::vector<u8> buf(kBootPageTablesSize, 0);
  put_le<u64>(buf, 0, pdpt | 0x3);
  for (u64 i = 0; i < 4; ++i) put_le<u64>(buf, 0x1000 + i * 8, (pd + i * 0x1000) | 0x3);
  for (u64 i = 0; i < 4 * 512; ++i) put_le<u64>(buf, 0x2000 + i * 8, (i << 21) | 0x83);
  bm.claim("boot page tables", kBootPageTablesAddr, kBootPageTablesSize);
  bm.write(kBootPageTablesAddr, buf);
  return pml4;
}

static EntryState flat_state(u16 code_attr) {
  EntryState s;
  s.cs = {kBootCs, code_attr, 0xFFFFFFFF, 0};
  const BootSegment data{kBootDs, kAttrData, 0xFFFFFFFF, 0};
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = {kBootTss, kAttrTss32Busy, 0x67, 0};
  s.gdtr = {kBootGdtAddr, 5 * 8 - 1};
  s.idtr = {0, 0};
  s.rflags = 0x2;
  return s;
}

EntryState protected32_entry(u64 eip) {
  EntryState s = flat_state(kAttrCode32);
  s.mode = EntryMode::Protected32;
  s.rip = eip;
  s.cr0 = kCr0Pe | kCr0Et;
  return s;
}

EntryState long64_entry(u64 rip, u64 cr3) {
  EntryState s = flat_state(kAttrCode64);
  s.mode = EntryMode::Long64;
  s.rip = rip;
  s.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  s.cr3 = cr3;
  s.cr4 = kCr4Pae;
  s.efer = kEferLme | kEferLma;
  return s;
}

}  // namespace rv::boot
