// BoardDevices: the PC devices the board owns, and the small adapters that connect them
// (machine/pc_wiring.cpp builds and wires them; machine/pc.h describes the board).
//
// Interrupt routing:
//   ISA IRQ n (IsaIrqs) -> 8259A input n (master 0-7, slave 8-15) and IOAPIC pin n, except
//     IRQ0 -> IOAPIC pin 2 (the MADT's interrupt source override, as on every PC chipset);
//   the PIT's OUT0 (IRQ0) and the RTC (IRQ8) pass a gate that HPET legacy replacement closes
//     (IA-PC HPET spec §2.3.9.1, Table 2); the HPET's legacy lines then drive IRQ0/IRQ8;
//   the master 8259A's INT -> the local APIC's LINT0 (virtual wire, ExtINT) and the board;
//   the IOAPIC's messages -> Lapic::deliver(); the LAPIC's EOI broadcast -> Ioapic::eoi();
//   the CPU's INTR = LAPIC has_interrupt() || extint_pending() (the PIC through LINT0, or
//   directly while the APIC is globally disabled, SDM Vol.3A §10.4.3);
//   INTA = Lapic::acknowledge() for an APIC interrupt, else the 8259A's INTA cycle.
#pragma once
#include <array>
#include <memory>

#include "cpu/cpu.h"
#include "devices/acpi_pm.h"
#include "devices/char_sink.h"
#include "devices/fw_cfg.h"
#include "devices/hpet.h"
#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pci_host.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc_cmos.h"
#include "devices/uart16550.h"
#include "memory/state_visitor.h"

namespace rv {

class Pc;

// The 16 ISA interrupt lines, each fanned out to the 8259A pair and the IOAPIC. Inputs 0
// and 8 from the PIT and RTC go through the HPET legacy-replacement gate.
class IsaIrqs final : public IrqSink {
 public:
  static constexpr unsigned kPitIrq = 0, kRtcIrq = 8;
  // Second devices on a shared line (COM3 on IRQ4, COM4 on IRQ3): the line is the OR of both,
  // as the UARTs' OUT2-gated drivers make it on a PC.
  static constexpr unsigned kCom3Input = 16, kCom4Input = 17;
  void connect(Pic8259& master, Pic8259& slave, Ioapic& ioapic) {
    for (unsigned i = 0; i < 16; i++) {
      m_lines[i].connect(i < 8 ? &master : &slave, i & 7);
      m_lines[i].connect(&ioapic, i == 0 ? 2 : i);
    }
  }
  void set_irq(unsigned irq, bool level) override {
    if (irq == kCom3Input || irq == kCom4Input) {
      m_second[irq - kCom3Input] = level;
      return drive(irq == kCom3Input ? 4 : 3);
    }
    if (irq >= 16) return;
    m_in[irq] = level;
    if ((irq == kPitIrq || irq == kRtcIrq) && m_legacy) return;
    drive(irq);
  }
  // The HPET's legacy replacement drives IRQ0 and IRQ8 instead of the PIT and RTC.
  IrqSink* legacy_sink() { return &m_legacy_in; }
  // The inputs' levels and the legacy gate; loading drives every line from them (into the
  // PICs and the IOAPIC, whose own state is loaded after: Pc::visit_state).
  void visit(StateVisitor& v) {
    v.begin("isa_irqs", 1);
    for (unsigned i = 0; i < 16; i++) v.field("in", m_in[i], static_cast<int>(i));
    v.field("second", m_second[0], 0);
    v.field("second", m_second[1], 1);
    v.field("legacy_level", m_legacy_level[0], 0);
    v.field("legacy_level", m_legacy_level[1], 1);
    v.field("legacy", m_legacy);
    v.end();
    if (!v.loading()) return;
    for (unsigned irq = 0; irq < 16; irq++) {
      if ((irq == kPitIrq || irq == kRtcIrq) && m_legacy) m_lines[irq].set(m_legacy_level[irq == kRtcIrq]);
      else drive(irq);
    }
  }
  void set_hpet_legacy(bool on) {
    m_legacy = on;
    for (unsigned irq : {kPitIrq, kRtcIrq}) m_lines[irq].set(on ? m_legacy_level[irq == kRtcIrq] : m_in[irq]);
  }

 private:
  class LegacyIn final : public IrqSink {
   public:
    explicit LegacyIn(IsaIrqs& o) : m_o(o) {}
    void set_irq(unsigned which, bool level) override {   // 0 = IRQ0, 1 = IRQ8
      m_o.m_legacy_level[which & 1] = level;
      if (m_o.m_legacy) m_o.m_lines[which ? kRtcIrq : kPitIrq].set(level);
    }

   private:
    IsaIrqs& m_o;
  };
  void drive(unsigned irq) {
    m_lines[irq].set(m_in[irq] || (irq == 4 && m_second[0]) || (irq == 3 && m_second[1]));
  }
  std::array<IrqLine, 16> m_lines{};
  std::array<bool, 16> m_in{};
  std::array<bool, 2> m_second{};
  std::array<bool, 2> m_legacy_level{};
  bool m_legacy = false;
  LegacyIn m_legacy_in{*this};
};

// Calls a function when an input changes (the master 8259A's INT output).
class IrqToFunction final : public IrqSink {
 public:
  explicit IrqToFunction(std::function<void(bool)> fn) : m_fn(std::move(fn)) {}
  void set_irq(unsigned, bool level) override { m_fn(level); }

 private:
  std::function<void(bool)> m_fn;
};

// The local APIC's MMIO page; keeps CR8 equal to TPR[7:4] after writes (SDM §10.8.6.1).
class LapicWindow final : public MmioDevice {
 public:
  LapicWindow(Lapic& lapic, Cpu& cpu) : m_lapic(lapic), m_cpu(cpu) {}
  u64 mmio_read(u64 offset, unsigned size) override { return m_lapic.mmio_read(offset, size); }
  void mmio_write(u64 offset, u64 value, unsigned size) override {
    m_lapic.mmio_write(offset, value, size);
    m_cpu.state().cr8 = m_lapic.save().tpr >> 4;
  }

 private:
  Lapic& m_lapic;
  Cpu& m_cpu;
};

// The CPU's view of the board: x2APIC and TSC-deadline MSRs, CR8, IA32_APIC_BASE.
class BoardPlatform final : public CpuPlatform {
 public:
  static constexpr u32 kMsrTscDeadline = 0x6E0;
  BoardPlatform(Lapic& lapic, Cpu& cpu) : m_lapic(lapic), m_cpu(cpu) {}
  bool platform_read_msr(u32 index, u64& value) override;
  bool platform_write_msr(u32 index, u64 value) override;
  void tpr_written(u64 cr8) override;
  bool apic_base_written(u64 value) override;
  bool x2apic_supported() const override { return m_x2apic; }
  // Off when the KVM engine may run the CPU: its x2APIC MSRs would not reach this board.
  void set_x2apic_supported(bool on) { m_x2apic = on; }

 private:
  bool m_x2apic = true;
  Lapic& m_lapic;
  Cpu& m_cpu;
};

struct BoardDevices {
  BoardDevices(Pc& pc, CharSink& serial_out);

  IsaIrqs isa;
  IrqToFunction pic_int;
  Pic8259 pic_master, pic_slave;
  Elcr elcr;
  Pit8254 pit;
  Port61 port61;
  RtcCmos rtc;
  Uart16550 com1;
  NullSink no_backend;          // COM2-COM4 without --serial: output is dropped; never input
  CharSink& sink_or(CharSink* s) { return s ? *s : no_backend; }
  Uart16550 com2, com3, com4;
  I8042 kbc;
  Ioapic ioapic;
  Lapic lapic;
  LapicWindow lapic_window;
  BoardPlatform platform;
  Hpet hpet;
  AcpiPm pm;
  PciHost pci;
  I440fxHost pci_host_bridge;
  Piix3Isa pci_isa;
  Piix4Pm pci_pm;
  FwCfg fw_cfg;
  bool kbc_a20 = true;       // the i8042's output port A20 bit
};

}  // namespace rv
