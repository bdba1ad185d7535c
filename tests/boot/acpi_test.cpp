// ACPI tables: checksums, the links between tables, and the fields the board passes in.
#include "boot_test_util.h"
#include "machine/boot/acpi_tables.h"

namespace rv::boot::test {
namespace {

u8 sum(const std::vector<u8>& v) {
  u8 s = 0;
  for (u8 b : v) s = u8(s + b);
  return s;
}

std::string sig(TestMachine& m, u64 a) { return std::string(reinterpret_cast<const char*>(m.bytes(a, 4).data()), 4); }

// Checks the header checksum of the table at `a` and returns it whole.
std::vector<u8> table(TestMachine& m, u64 a, const char* want) {
  EXPECT_EQ(sig(m, a), want);
  const u32 len = m.r32(a + 4);
  EXPECT_GE(len, 36u);
  EXPECT_LT(len, 0x1000u);
  auto t = m.bytes(a, len);
  EXPECT_EQ(sum(t), 0) << want << " checksum";
  return t;
}

TEST(Acpi, RsdpAndRootTablesLinkEverything) {
  TestMachine m;
  AcpiConfig c;
  c.cpu_count = 2;
  const AcpiLayout l = write_acpi_tables(m.mem, c);
  EXPECT_EQ(l.rsdp, 0xE0000u);
  EXPECT_LE(l.end, 0x100000u);
  const auto rsdp = m.bytes(l.rsdp, 36);
  EXPECT_EQ(std::string(rsdp.begin(), rsdp.begin() + 8), "RSD PTR ");
  EXPECT_EQ(sum(std::vector<u8>(rsdp.begin(), rsdp.begin() + 20)), 0);
  EXPECT_EQ(sum(rsdp), 0);
  EXPECT_EQ(rsdp[15], 2);
  EXPECT_EQ(m.r32(l.rsdp + 20), 36u);
  const u32 rsdt = m.r32(l.rsdp + 16);
  const u64 xsdt = m.r64(l.rsdp + 24);
  EXPECT_EQ(rsdt, l.rsdt);
  EXPECT_EQ(xsdt, l.xsdt);

  const auto x = table(m, xsdt, "XSDT");
  const auto r = table(m, rsdt, "RSDT");
  ASSERT_EQ(x.size(), 36u + 3 * 8);
  ASSERT_EQ(r.size(), 36u + 3 * 4);
  std::vector<std::string> sigs;
  for (unsigned i = 0; i < 3; ++i) {
    const u64 a = m.r64(xsdt + 36 + 8 * i);
    EXPECT_EQ(m.r32(rsdt + 36 + 4 * i), a);
    sigs.push_back(sig(m, a));
    table(m, a, sigs.back().c_str());
  }
  EXPECT_EQ(sigs, (std::vector<std::string>{"FACP", "APIC", "HPET"}));
}

TEST(Acpi, FadtFieldsComeFromTheConfig) {
  TestMachine m;
  AcpiConfig c;
  c.sci_irq = 10;
  c.pm1a_evt_blk = 0xB000;
  c.pm1a_cnt_blk = 0xB004;
  c.pm_tmr_blk = 0xB008;
  c.reset_port = 0x64;
  c.reset_value = 0xFE;
  const AcpiLayout l = write_acpi_tables(m.mem, c);
  const auto f = table(m, l.fadt, "FACP");
  ASSERT_EQ(f.size(), 276u);
  EXPECT_EQ(f[8], 6);                                        // revision 6
  EXPECT_EQ(get_le<u16>(&f[46]), 10u);                       // SCI_INT
  EXPECT_EQ(get_le<u32>(&f[56]), 0xB000u);                   // PM1a_EVT_BLK
  EXPECT_EQ(get_le<u32>(&f[64]), 0xB004u);                   // PM1a_CNT_BLK
  EXPECT_EQ(get_le<u32>(&f[76]), 0xB008u);                   // PM_TMR_BLK
  EXPECT_EQ(f[88], 4); EXPECT_EQ(f[89], 2); EXPECT_EQ(f[91], 4);
  const u32 flags = get_le<u32>(&f[112]);
  EXPECT_EQ(flags & (1u << 20), 0u);                         // not HW-reduced
  EXPECT_NE(flags & (1u << 10), 0u);                         // RESET_REG_SUP
  EXPECT_NE(flags & (1u << 8), 0u);                          // TMR_VAL_EXT
  EXPECT_EQ(f[116], 1); EXPECT_EQ(f[117], 8);                // RESET_REG: system I/O, 8 bits
  EXPECT_EQ(f[119], 1);                                      // byte access
  EXPECT_EQ(get_le<u64>(&f[120]), 0x64u);
  EXPECT_EQ(f[128], 0xFE);                                   // RESET_VALUE
  EXPECT_EQ(get_le<u64>(&f[148 + 4]), 0xB000u);              // X_PM1a_EVT_BLK
  EXPECT_EQ(f[172], 1); EXPECT_EQ(f[173], 16);               // X_PM1a_CNT_BLK: I/O, 16 bits
  EXPECT_EQ(get_le<u64>(&f[172 + 4]), 0xB004u);
  EXPECT_EQ(get_le<u64>(&f[208 + 4]), 0xB008u);
  // FACS and DSDT, both 32- and 64-bit pointers.
  EXPECT_EQ(get_le<u32>(&f[36]), l.facs);
  EXPECT_EQ(get_le<u64>(&f[132]), l.facs);
  EXPECT_EQ(l.facs % 64, 0u);
  EXPECT_EQ(sig(m, l.facs), "FACS");
  EXPECT_EQ(m.r32(l.facs + 4), 64u);
  EXPECT_EQ(get_le<u32>(&f[40]), l.dsdt);
  EXPECT_EQ(get_le<u64>(&f[140]), l.dsdt);
}

TEST(Acpi, DsdtHoldsS5) {
  TestMachine m;
  AcpiConfig c;
  c.s5_slp_typ = 5;
  const AcpiLayout l = write_acpi_tables(m.mem, c);
  const auto d = table(m, l.dsdt, "DSDT");
  const std::vector<u8> aml(d.begin() + 36, d.end());
  EXPECT_EQ(aml, dsdt_s5_aml(5));
  // NameOp "_S5_" PackageOp, PkgLength covering exactly the rest, 4 elements.
  ASSERT_EQ(aml.size(), 16u);
  EXPECT_EQ(aml[0], 0x08);
  EXPECT_EQ(std::string(aml.begin() + 1, aml.begin() + 5), "_S5_");
  EXPECT_EQ(aml[5], 0x12);
  EXPECT_EQ(aml[6], aml.size() - 6);
  EXPECT_EQ(aml[7], 4);
  EXPECT_EQ(aml[9], 5);
  EXPECT_EQ(aml[11], 5);
}

TEST(Acpi, MadtDescribesApicsAndOverrides) {
  TestMachine m;
  AcpiConfig c;
  c.cpu_count = 3;
  c.sci_irq = 9;
  c.ioapic_addr = 0xFEC00000;
  const AcpiLayout l = write_acpi_tables(m.mem, c);
  const auto t = table(m, l.madt, "APIC");
  EXPECT_EQ(get_le<u32>(&t[36]), 0xFEE00000u);
  EXPECT_EQ(get_le<u32>(&t[40]) & 1, 1u);                   // PCAT_COMPAT
  unsigned lapics = 0, ioapics = 0;
  bool irq0 = false, sci = false, nmi = false;
  for (size_t o = 44; o < t.size();) {
    const u8 type = t[o], len = t[o + 1];
    ASSERT_GE(len, 2);
    ASSERT_LE(o + len, t.size());
    if (type == 0) { EXPECT_EQ(t[o + 3], lapics); EXPECT_EQ(get_le<u32>(&t[o + 4]), 1u); ++lapics; }
    if (type == 1) { ++ioapics; EXPECT_EQ(get_le<u32>(&t[o + 4]), 0xFEC00000u); EXPECT_EQ(get_le<u32>(&t[o + 8]), 0u); }
    if (type == 2 && t[o + 3] == 0) { irq0 = true; EXPECT_EQ(get_le<u32>(&t[o + 4]), 2u); }
    if (type == 2 && t[o + 3] == 9) { sci = true; EXPECT_EQ(get_le<u32>(&t[o + 4]), 9u); EXPECT_EQ(get_le<u16>(&t[o + 8]), 0xFu); }
    if (type == 4) { nmi = true; EXPECT_EQ(t[o + 5], 1); }
    o += len;
  }
  EXPECT_EQ(lapics, 3u);
  EXPECT_EQ(ioapics, 1u);
  EXPECT_TRUE(irq0);
  EXPECT_TRUE(sci);
  EXPECT_TRUE(nmi);
}

TEST(Acpi, HpetTable) {
  TestMachine m;
  AcpiConfig c;
  c.hpet_addr = 0xFED00000;
  const AcpiLayout l = write_acpi_tables(m.mem, c);
  const auto t = table(m, l.hpet, "HPET");
  ASSERT_EQ(t.size(), 56u);
  EXPECT_EQ(get_le<u32>(&t[36]), 0x8086A201u);
  EXPECT_EQ(t[40], 0);                                      // system memory
  EXPECT_EQ(get_le<u64>(&t[44]), 0xFED00000u);
  // Without an HPET the root tables list only FACP and APIC.
  TestMachine m2;
  c.hpet = false;
  const AcpiLayout l2 = write_acpi_tables(m2.mem, c);
  EXPECT_EQ(l2.hpet, 0u);
  EXPECT_EQ(table(m2, l2.xsdt, "XSDT").size(), 36u + 16);
}

TEST(Acpi, Errors) {
  TestMachine m;
  AcpiConfig c;
  c.limit = c.base + 0x100;
  expect_boot_error([&] { write_acpi_tables(m.mem, c); }, {"ACPI", "do not fit"});
  c = {};
  c.base = 0xA0000;   // the unmapped legacy hole
  c.limit = 0xC0000;
  expect_boot_error([&] { write_acpi_tables(m.mem, c); }, {"ACPI", "not backed"});
  c = {};
  c.cpu_count = 0;
  expect_boot_error([&] { write_acpi_tables(m.mem, c); }, {"CPUs"});
}

TEST(Acpi, ChecksumHelper) {
  std::vector<u8> v{1, 2, 3, 0};
  v[3] = acpi_checksum(v);
  EXPECT_EQ(v[3], 250);
  EXPECT_EQ(sum(v), 0);
}

}  // namespace
}  // namespace rv::boot::test
