#include "machine/boot/acpi_tables.h"

#include "machine/boot/byte_io.h"
#include "memory/phys_memory.h"

namespace rv::boot {

namespace {

constexpr char kOemId[] = "RTRVSR";        // 6 bytes
constexpr char kOemTableId[] = "RVPC    ";  // 8 bytes
constexpr u32 kCreatorId = 0x52565452;      // "RTVR"

// System description table header (ACPI 6.4 §5.2.6): signature, length, revision,
// checksum, OEM ID, OEM table ID, OEM revision, creator ID, creator revision.
std::vector<u8> sdt_header(const char sig[5], u8 revision) {
  std::vector<u8> t(36, 0);
  put_bytes(t, 0, sig, 4);
  put_le<u8>(t, 8, revision);
  put_bytes(t, 10, kOemId, 6);
  put_bytes(t, 16, kOemTableId, 8);
  put_le<u32>(t, 24, 1);
  put_le<u32>(t, 28, kCreatorId);
  put_le<u32>(t, 32, 1);
  return t;
}

// Sets the length and checksum fields once the table is complete.
void finish(std::vector<u8>& t) {
  put_le<u32>(t, 4, u32(t.size()));
  t[9] = 0;
  t[9] = acpi_checksum(t);
}

// Generic Address Structure (ACPI 6.4 §5.2.3.2): space 1 = system I/O; access size 1..4 =
// byte..qword.
void put_gas(std::vector<u8>& t, u64 off, u8 space, u8 bit_width, u8 access, u64 addr) {
  put_le<u8>(t, off, space);
  put_le<u8>(t, off + 1, bit_width);
  put_le<u8>(t, off + 2, 0);
  put_le<u8>(t, off + 3, addr ? access : 0);
  put_le<u64>(t, off + 4, addr);
}
// An I/O-port register block; access size 0 ("undefined", as the 32-bit FADT fields imply)
// lets the OS access the PM1 status/enable halves and the timer at their own widths.
void put_io_gas(std::vector<u8>& t, u64 off, u8 bytes, u64 port, u8 access = 0) {
  put_gas(t, off, port ? 1 : 0, port ? u8(bytes * 8) : 0, access, port);
}

std::vector<u8> build_fadt(const AcpiConfig& c, u64 facs, u64 dsdt) {
  // FADT revision 6 (ACPI 6.4 §5.2.9, Table 5.9): 276 bytes.
  std::vector<u8> t = sdt_header("FACP", 6);
  t.resize(276, 0);
  put_le<u32>(t, 36, u32(facs));          // FIRMWARE_CTRL
  put_le<u32>(t, 40, u32(dsdt));          // DSDT
  put_le<u8>(t, 45, 0);                   // Preferred_PM_Profile: unspecified
  put_le<u16>(t, 46, c.sci_irq);          // SCI_INT
  put_le<u32>(t, 48, c.smi_cmd);          // SMI_CMD
  put_le<u8>(t, 52, c.acpi_enable);
  put_le<u8>(t, 53, c.acpi_disable);
  put_le<u32>(t, 56, c.pm1a_evt_blk);     // PM1a_EVT_BLK
  put_le<u32>(t, 64, c.pm1a_cnt_blk);     // PM1a_CNT_BLK
  put_le<u32>(t, 76, c.pm_tmr_blk);       // PM_TMR_BLK
  put_le<u32>(t, 80, c.gpe0_blk);         // GPE0_BLK
  put_le<u8>(t, 88, 4);                   // PM1_EVT_LEN
  put_le<u8>(t, 89, 2);                   // PM1_CNT_LEN
  put_le<u8>(t, 91, c.pm_tmr_blk ? 4 : 0);  // PM_TMR_LEN
  put_le<u8>(t, 92, c.gpe0_blk ? c.gpe0_blk_len : 0);
  put_le<u16>(t, 96, 101);                // P_LVL2_LAT > 100: no C2
  put_le<u16>(t, 98, 1001);               // P_LVL3_LAT > 1000: no C3
  put_le<u8>(t, 108, c.rtc_century);      // CENTURY
  // IAPC_BOOT_ARCH (Table 5.11): bit 0 LEGACY_DEVICES, bit 1 8042, bit 2 VGA Not Present.
  put_le<u16>(t, 109, u16(1 | (c.i8042 ? 2 : 0) | (c.vga ? 0 : 4)));
  // Flags (Table 5.10): WBINVD(0), PROC_C1(2), SLP_BUTTON(5: no fixed sleep button),
  // TMR_VAL_EXT(8), RESET_REG_SUP(10), USE_PLATFORM_CLOCK(15); HW_REDUCED_ACPI(20) off.
  u32 flags = 1u << 0 | 1u << 2 | 1u << 5 | 1u << 15;
  if (c.pm_timer_32bit) flags |= 1u << 8;
  if (c.reset_port) flags |= 1u << 10;
  put_le<u32>(t, 112, flags);
  put_io_gas(t, 116, 1, c.reset_port, 1); // RESET_REG: one byte (ACPI 6.4 §4.8.3.6)
  put_le<u8>(t, 128, c.reset_value);      // RESET_VALUE
  put_le<u8>(t, 131, 0);                  // FADT minor version (6.0)
  put_le<u64>(t, 132, facs);              // X_FIRMWARE_CTRL
  put_le<u64>(t, 140, dsdt);              // X_DSDT
  put_io_gas(t, 148, 4, c.pm1a_evt_blk);  // X_PM1a_EVT_BLK
  put_io_gas(t, 172, 2, c.pm1a_cnt_blk);  // X_PM1a_CNT_BLK
  put_io_gas(t, 208, 4, c.pm_tmr_blk);    // X_PM_TMR_BLK
  if (c.gpe0_blk) put_gas(t, 220, 1, u8(c.gpe0_blk_len * 8), 0, c.gpe0_blk);   // X_GPE0_BLK
  finish(t);
  return t;
}

std::vector<u8> build_facs() {
  // FACS (ACPI 6.4 §5.2.10): 64 bytes, no checksum; version 2.
  std::vector<u8> t(64, 0);
  put_bytes(t, 0, "FACS", 4);
  put_le<u32>(t, 4, 64);
  put_le<u8>(t, 32, 2);
  return t;
}

std::vector<u8> build_madt(const AcpiConfig& c) {
  // MADT (ACPI 6.4 §5.2.12), revision 3: local APIC address, flags PCAT_COMPAT (8259s present).
  std::vector<u8> t = sdt_header("APIC", 3);
  put_le<u32>(t, 36, c.lapic_addr);
  put_le<u32>(t, 40, 1);
  for (u32 i = 0; i < c.cpu_count; ++i) {   // Processor Local APIC: type 0, length 8
    const u64 o = t.size();
    put_le<u8>(t, o, 0); put_le<u8>(t, o + 1, 8);
    put_le<u8>(t, o + 2, u8(i)); put_le<u8>(t, o + 3, u8(i));
    put_le<u32>(t, o + 4, 1);               // enabled
  }
  {                                         // I/O APIC: type 1, length 12
    const u64 o = t.size();
    put_le<u8>(t, o, 1); put_le<u8>(t, o + 1, 12);
    put_le<u8>(t, o + 2, c.ioapic_id); put_le<u8>(t, o + 3, 0);
    put_le<u32>(t, o + 4, c.ioapic_addr);
    put_le<u32>(t, o + 8, c.ioapic_gsi_base);
  }
  // Interrupt Source Overrides (type 2, length 10): bus 0 (ISA), source IRQ, GSI, MPS INTI
  // flags: polarity bits 1:0 (01 high, 11 low), trigger bits 3:2 (01 edge, 11 level).
  auto iso = [&](u8 irq, u32 gsi, u16 flags) {
    const u64 o = t.size();
    put_le<u8>(t, o, 2); put_le<u8>(t, o + 1, 10);
    put_le<u8>(t, o + 2, 0); put_le<u8>(t, o + 3, irq);
    put_le<u32>(t, o + 4, gsi);
    put_le<u16>(t, o + 8, flags);
  };
  iso(0, 2, 0x0000);                        // the PIT's IRQ0 is wired to IOAPIC pin 2
  iso(u8(c.sci_irq), c.sci_irq, 0x000F);    // SCI: level-triggered, active-low
  {                                         // Local APIC NMI: type 4, all CPUs, LINT1
    const u64 o = t.size();
    put_le<u8>(t, o, 4); put_le<u8>(t, o + 1, 6);
    put_le<u8>(t, o + 2, 0xFF); put_le<u16>(t, o + 3, 0); put_le<u8>(t, o + 5, 1);
  }
  finish(t);
  return t;
}

std::vector<u8> build_hpet(const AcpiConfig& c) {
  // IA-PC HPET Specification 1.0a §3.2.4: 56 bytes.
  std::vector<u8> t = sdt_header("HPET", 1);
  put_le<u32>(t, 36, c.hpet_block_id);
  put_gas(t, 40, 0, 64, 0, c.hpet_addr);   // system memory space
  put_le<u8>(t, 52, 0);                     // HPET number
  put_le<u16>(t, 53, c.hpet_min_tick);
  put_le<u8>(t, 55, 0);                     // no page protection
  finish(t);
  return t;
}

}  // namespace

u8 acpi_checksum(std::span<const u8> bytes) {
  u8 sum = 0;
  for (u8 b : bytes) sum = u8(sum + b);
  return u8(-sum);
}

std::vector<u8> dsdt_s5_aml(u8 typ) {
  // ASL:  Name (_S5, Package (0x04) { typ, typ, Zero, Zero })
  // AML (ACPI 6.4 §20.2.5.1, §20.2.5.4): NameOp 0x08, NameSeg "_S5_", PackageOp 0x12,
  // PkgLength 0x0A (one byte: itself + NumElements + 8 bytes of elements), NumElements 4,
  // then four BytePrefix (0x0A) constants: SLP_TYPa, SLP_TYPb, two reserved zeros.
  return {0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x04, 0x0A, typ, 0x0A, typ, 0x0A, 0x00, 0x0A, 0x00};
}

AcpiLayout write_acpi_tables(PhysMemory& mem, const AcpiConfig& c) {
  if (c.cpu_count == 0 || c.cpu_count > 255) throw BootError("ACPI: " + std::to_string(c.cpu_count) + " CPUs (1 to 255 supported)");
  AcpiLayout l;
  l.rsdp = align_up(c.base, 16);
  l.facs = align_up(l.rsdp + 36, 64);
  std::vector<u8> facs = build_facs();
  std::vector<u8> dsdt = sdt_header("DSDT", 2);   // revision 2: 64-bit AML integers
  const auto aml = dsdt_s5_aml(c.s5_slp_typ);
  dsdt.insert(dsdt.end(), aml.begin(), aml.end());
  finish(dsdt);
  l.dsdt = l.facs + facs.size();
  l.fadt = align_up(l.dsdt + dsdt.size(), 8);
  std::vector<u8> fadt = build_fadt(c, l.facs, l.dsdt);
  l.madt = align_up(l.fadt + fadt.size(), 8);
  std::vector<u8> madt = build_madt(c);
  l.hpet = align_up(l.madt + madt.size(), 8);
  std::vector<u8> hpet = c.hpet ? build_hpet(c) : std::vector<u8>{};
  l.rsdt = align_up(l.hpet + hpet.size(), 8);
  if (!c.hpet) l.hpet = 0;

  std::vector<u64> entries{l.fadt, l.madt};
  if (c.hpet) entries.push_back(l.hpet);
  std::vector<u8> rsdt = sdt_header("RSDT", 1), xsdt = sdt_header("XSDT", 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    put_le<u32>(rsdt, 36 + i * 4, u32(entries[i]));
    put_le<u64>(xsdt, 36 + i * 8, entries[i]);
  }
  finish(rsdt);
  l.xsdt = align_up(l.rsdt + rsdt.size(), 8);
  finish(xsdt);
  l.end = l.xsdt + xsdt.size();
  if (l.end > c.limit || l.end > 0x100000000ull) throw BootError("ACPI: the tables (" + std::to_string(l.end - c.base) + " bytes) do not fit below " + hex(c.limit));

  // RSDP (ACPI 6.4 §5.2.5.3), revision 2: checksum over the first 20 bytes, extended
  // checksum over all 36.
  std::vector<u8> rsdp(36, 0);
  put_bytes(rsdp, 0, "RSD PTR ", 8);
  put_bytes(rsdp, 9, kOemId, 6);
  put_le<u8>(rsdp, 15, 2);
  put_le<u32>(rsdp, 16, u32(l.rsdt));
  put_le<u32>(rsdp, 20, 36);
  put_le<u64>(rsdp, 24, l.xsdt);
  rsdp[8] = acpi_checksum(std::span<const u8>(rsdp.data(), 20));
  rsdp[32] = acpi_checksum(rsdp);

  const std::pair<u64, const std::vector<u8>*> blobs[] = {
      {l.rsdp, &rsdp}, {l.facs, &facs}, {l.dsdt, &dsdt}, {l.fadt, &fadt}, {l.madt, &madt},
      {l.hpet, &hpet}, {l.rsdt, &rsdt}, {l.xsdt, &xsdt}};
  for (const auto& [addr, blob] : blobs) {
    if (blob->empty()) continue;
    if (!mem.write_bytes(addr, blob->data(), blob->size()))
      throw BootError("ACPI: the table area at " + hex(addr) + " is not backed by RAM or ROM");
  }
  return l;
}

}  // namespace rv::boot
