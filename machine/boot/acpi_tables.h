// ACPI tables for direct kernel boots (ACPI 6.4 §5.2), written into guest memory by the
// board: RSDP -> XSDT and RSDT -> FADT (-> FACS, DSDT), MADT, HPET. The DSDT holds only
// \_S5, so a guest's poweroff writes SLP_TYP|SLP_EN to PM1a_CNT, which the PM device turns
// into the end of the run. Everything the tables point at (ports, IRQs, MMIO addresses)
// comes from the board in AcpiConfig; the tables describe it and do nothing else.
//
// Layout, from AcpiConfig::base (the BIOS area 0xE0000 by default, where a guest's legacy
// RSDP scan looks; ACPI 6.4 §5.2.5.1): RSDP (36 bytes, 16-aligned), FACS (64-aligned), DSDT,
// FADT, MADT, HPET, RSDT, XSDT.
#pragma once
#include <span>
#include <vector>

#include "machine/boot/boot_types.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

struct AcpiConfig {
  u64 base = 0xE0000;             // where the RSDP and the tables go
  u64 limit = 0x100000;           // end of the area they may use
  u32 cpu_count = 1;              // one Processor Local APIC entry each (APIC IDs 0..n-1)
  u32 lapic_addr = 0xFEE00000;
  u8 ioapic_id = 0;
  u32 ioapic_addr = 0xFEC00000;
  u32 ioapic_gsi_base = 0;
  u16 sci_irq = 9;                // ISA IRQ of the SCI; level, active-low override in the MADT
  u32 smi_cmd = 0;                // 0: no SMI command port (the hardware is always in ACPI mode)
  u8 acpi_enable = 0, acpi_disable = 0;
  u16 pm1a_evt_blk = 0x600;       // PM1 status/enable (4 bytes)
  u16 pm1a_cnt_blk = 0x604;       // PM1 control (2 bytes)
  u16 pm_tmr_blk = 0x608;         // PM timer (4 bytes)
  bool pm_timer_32bit = true;     // FADT TMR_VAL_EXT
  u16 gpe0_blk = 0;               // 0: none
  u8 gpe0_blk_len = 0;
  u16 reset_port = 0xCF9;         // FADT RESET_REG (system I/O) and RESET_VALUE
  u8 reset_value = 0x06;
  u8 rtc_century = 0x32;          // CMOS index of the century byte; 0: none
  bool i8042 = true;              // IA-PC boot architecture flags
  bool vga = false;
  bool hpet = true;
  u64 hpet_addr = 0xFED00000;
  u32 hpet_block_id = 0x8086A201; // the HPET's capabilities register, bits 31:0
  u16 hpet_min_tick = 0x80;
  u8 s5_slp_typ = 0;              // SLP_TYP the PM device treats as soft-off (PIIX4: 0)
};

struct AcpiLayout {
  u64 rsdp = 0, facs = 0, dsdt = 0, fadt = 0, madt = 0, hpet = 0, rsdt = 0, xsdt = 0, end = 0;
};

// Builds the tables and writes them; throws BootError if they do not fit below limit or the
// area is not backed by RAM or ROM.
AcpiLayout write_acpi_tables(PhysMemory& mem, const AcpiConfig& cfg);

// The byte that makes `bytes` sum to zero (mod 256) when stored in a zero checksum field.
u8 acpi_checksum(std::span<const u8> bytes);

// The DSDT's AML body (after the 36-byte header): Name (_S5, Package () {typ, typ, 0, 0}).
std::vector<u8> dsdt_s5_aml(u8 slp_typ);

}  // namespace rv::boot
