// The PC board's devices and how they are connected (routing: machine/board_devices.h).
// Ports and addresses: the PC/AT I/O map, the PIIX3/PIIX4 datasheets, and the QEMU i440FX
// machine layout that guests and firmware expect (PM base 0x600, fw_cfg 0x510).
#include <algorithm>

#include "machine/boot/acpi_tables.h"
#include "machine/boot/apply_entry.h"
#include "machine/boot/kernel_loader.h"
#include "machine/pc.h"
#include "memory/log.h"

namespace rv {

namespace {
constexpr u16 kPmBase = Piix4Pm::kDefaultPmBase;
constexpr u8 kSciIrq = Piix4Pm::kSciIrq;
constexpr unsigned kCom1Irq = 4, kCom2Irq = 3, kKbdIrq = 1, kMouseIrq = 12;

Lapic::Callbacks lapic_callbacks(Pc& pc, BoardDevices& d) {
  Lapic::Callbacks cb;
  cb.nmi = [&pc] { pc.cpu().raise_nmi(); };
  cb.eoi_broadcast = [&d](u8 vector) { d.ioapic.eoi(vector); };
  cb.changed = [&pc] { pc.update_intr(); };
  // The TSC counts virtual nanoseconds plus the guest's WRMSR offset (Pc::now()).
  cb.tsc_to_ns = [&pc](u64 tsc) { return pc.ns_from_tsc(tsc - pc.cpu().state().tsc_offset); };
  return cb;
}
}  // namespace

BoardDevices::BoardDevices(Pc& pc, CharSink& serial_out)
    : pic_int([&pc](bool level) { pc.pic_int_changed(level); }),
      pic_master(IrqLine(&pic_int, 0)),
      pic_slave(IrqLine(&pic_master, 2)),
      elcr(pic_master, pic_slave),
      pit(pc.scheduler(), IrqLine(&isa, 0)),
      port61(pit, pc.scheduler()),
      rtc(pc.scheduler(), IrqLine(&isa, 8), pc.config().rtc_base_unix),
      com1(pc.scheduler(), IrqLine(&isa, kCom1Irq), serial_out, "com1"),
      com2(pc.scheduler(), IrqLine(&isa, kCom2Irq), sink_or(pc.config().serial_extra[0]), "com2"),
      com3(pc.scheduler(), IrqLine(&isa, IsaIrqs::kCom3Input), sink_or(pc.config().serial_extra[1]), "com3"),   // IRQ4, shared
      com4(pc.scheduler(), IrqLine(&isa, IsaIrqs::kCom4Input), sink_or(pc.config().serial_extra[2]), "com4"),   // IRQ3, shared
      kbc(IrqLine(&isa, kKbdIrq), IrqLine(&isa, kMouseIrq),
          [&pc, this](bool on) { kbc_a20 = on; pc.set_a20_gate(); },
          [&pc] { pc.request_reset(); }),
      ioapic([this](const ApicMessage& m) { lapic.deliver(m); }),
      lapic(pc.scheduler(), Lapic::Config{}, lapic_callbacks(pc, *this)),
      lapic_window(lapic, pc.cpu()),
      platform(lapic, pc.cpu()),
      hpet(pc.scheduler(),
           [this] {
             Hpet::Lines l;
             for (unsigned i = 0; i < l.gsi.size(); i++) l.gsi[i] = IrqLine(&ioapic, i);
             l.legacy_irq0 = IrqLine(isa.legacy_sink(), 0);
             l.legacy_irq8 = IrqLine(isa.legacy_sink(), 1);
             return l;
           }(),
           [this](bool on) { isa.set_hpet_legacy(on); }),
      pm(pc.scheduler(), IrqLine(&isa, kSciIrq), AcpiPm::Config{0, 0x06, true},
         [&pc] { pc.m_power_off_requested = true; pc.cpu().request_stop(); },
         [&pc] { pc.request_reset(); }),
      pci([&pc] { pc.request_reset(); }),
      pci_pm(kPmBase),
      fw_cfg(nullptr) {
  pm.set_on_sleep([&pc](unsigned typ) {
    pc.m_sleep_requested = static_cast<int>(typ);
    pc.cpu().request_stop();
  });
  pic_master.attach_slave(pic_slave, 2);
  isa.connect(pic_master, pic_slave, ioapic);
  pci.add_device(0, 0, &pci_host_bridge);
  pci.add_device(1, 0, &pci_isa);
  pci.add_device(1, 3, &pci_pm);
}

// ---- the CPU's platform hooks ----

bool BoardPlatform::platform_read_msr(u32 index, u64& value) {
  if (index == kMsrTscDeadline) {
    value = m_lapic.tsc_deadline();
    return true;
  }
  if (index >= Lapic::kMsrBase && index <= Lapic::kMsrLast) {
    std::optional<u64> v = m_lapic.msr_read(index);
    if (!v) return false;
    value = *v;
    return true;
  }
  return false;
}

bool BoardPlatform::platform_write_msr(u32 index, u64 value) {
  if (index == kMsrTscDeadline) {
    m_lapic.set_tsc_deadline(value);
    return true;
  }
  if (index >= Lapic::kMsrBase && index <= Lapic::kMsrLast) {
    if (!m_lapic.msr_write(index, value)) return false;
    m_cpu.state().cr8 = m_lapic.save().tpr >> 4;
    return true;
  }
  return false;
}

// MOV CR8 writes TPR[7:4]; TPR[3:0] become 0 (SDM Vol.3A §10.8.6.1).
void BoardPlatform::tpr_written(u64 cr8) {
  const u32 tpr = static_cast<u32>(cr8 & 0xF) << 4;
  if (m_lapic.x2apic()) m_lapic.msr_write(Lapic::kMsrBase + (Lapic::kRegTpr >> 4), tpr);
  else m_lapic.mmio_write(Lapic::kRegTpr, tpr, 4);
}

bool BoardPlatform::apic_base_written(u64 value) {
  // The APIC refuses invalid mode transitions (SDM Vol.3A §10.12.5): the CPU then raises #GP.
  return m_lapic.set_apic_base(value);
}

// ---- the board ----

void Pc::wire() {
  if (m_cfg.debugcon) {
    m_debugcon = std::make_unique<DebugCon>(*m_cfg.debugcon);
    m_io.map(DebugCon::kPort, 1, m_debugcon.get(), "debugcon");
  }
  m_io.map(DebugExit::kPort, DebugExit::kPortCount, &m_debug_exit, "debug-exit");
  m_io.map(PostPort::kPort, 1, &m_post, "post");
  m_io.map(Port92::kPort, 1, &m_port92, "port92");

  CharSink* serial = m_cfg.serial ? m_cfg.serial : &m_null_sink;
  m_dev = std::make_unique<BoardDevices>(*this, *serial);
  BoardDevices& d = *m_dev;
  m_io.map(Pic8259::kMasterPort, Pic8259::kPortCount, &d.pic_master, "pic-master");
  m_io.map(Pic8259::kSlavePort, Pic8259::kPortCount, &d.pic_slave, "pic-slave");
  m_io.map(Pic8259::kElcrPort, 2, &d.elcr, "elcr");
  m_io.map(Pit8254::kPort, Pit8254::kPortCount, &d.pit, "pit");
  m_io.map(Port61::kPort, 1, &d.port61, "port61");
  m_io.map(RtcCmos::kPort, RtcCmos::kPortCount, &d.rtc, "rtc");
  m_io.map(Uart16550::kCom1, Uart16550::kPortCount, &d.com1, "com1");
  m_io.map(Uart16550::kCom2, Uart16550::kPortCount, &d.com2, "com2");
  m_io.map(Uart16550::kCom3, Uart16550::kPortCount, &d.com3, "com3");
  m_io.map(Uart16550::kCom4, Uart16550::kPortCount, &d.com4, "com4");
  m_io.map(I8042::kPort, 1, &d.kbc.data_port(), "i8042-data");
  m_io.map(I8042::kPort + I8042::kStatusOffset, 1, &d.kbc.command_port(), "i8042-cmd");
  m_io.map(kPmBase, AcpiPm::kPortCount, &d.pm, "acpi-pm");
  m_io.map(PciHost::kPort, PciHost::kPortCount, &d.pci, "pci");
  m_io.map(FwCfg::kPort, FwCfg::kPortCount, &d.fw_cfg, "fw-cfg");
  m_mem.map_mmio(Ioapic::kBase, Ioapic::kSize, &d.ioapic, "ioapic");
  m_mem.map_mmio(Hpet::kBase, 0x1000, &d.hpet, "hpet");
  m_mem.map_mmio(Lapic::kBase, Lapic::kSize, &d.lapic_window, "lapic");

  m_cpu.set_platform(&d.platform);
  m_cpu.set_intr_ack([this] { return intr_acknowledge(); });

  // Firmware-visible configuration.
  const u64 below = std::min(m_cfg.ram_bytes, kPciHoleStart);
  const u64 above = m_cfg.ram_bytes > kPciHoleStart ? m_cfg.ram_bytes - kPciHoleStart : 0;
  d.rtc.set_memory_layout(below, above);
  d.fw_cfg.set_ram_size(m_cfg.ram_bytes);
  d.fw_cfg.set_cpu_count(1);
  std::vector<FwCfg::E820Entry> e820;
  for (const boot::E820Entry& e : boot::pc_memory_map(m_cfg.ram_bytes, kPciHoleStart))
    e820.push_back({e.base, e.size, static_cast<FwCfg::E820Type>(e.type)});
  d.fw_cfg.set_e820(e820);
}

void Pc::reset_devices() {
  BoardDevices& d = *m_dev;
  d.isa.set_hpet_legacy(false);
  d.pic_master.reset();
  d.pic_slave.reset();
  d.pit.reset();
  d.port61.reset();
  d.rtc.reset();
  d.com1.reset();
  d.com2.reset();
  d.com3.reset();
  d.com4.reset();
  d.kbc.reset();
  d.kbc_a20 = d.kbc.a20();
  d.ioapic.reset();
  d.lapic.reset();
  d.hpet.reset();
  d.pm.reset();
  d.pci.reset();
  d.pci_host_bridge.reset();
  d.pci_isa.reset();
  d.pci_pm.reset();
  d.fw_cfg.reset();
}

void Pc::set_a20_gate() {
  // One gate, opened by either the i8042's output port or port 0x92 (PIIX4 §4.1.10).
  m_cpu.set_a20(m_port92.a20() || (m_dev && m_dev->kbc_a20));
}

void Pc::pic_int_changed(bool level) {
  if (!m_dev) return;   // during construction
  m_dev->lapic.set_irq(0, level);   // LINT0; its changed callback re-evaluates INTR
  update_intr();
}

void Pc::update_intr() {
  if (!m_dev) return;
  const Lapic& l = m_dev->lapic;
  m_cpu.set_intr(l.has_interrupt() || (l.extint_pending() && m_dev->pic_master.int_output()));
}

u8 Pc::intr_acknowledge() {
  BoardDevices& d = *m_dev;
  u8 v;
  if (d.lapic.has_interrupt()) v = d.lapic.acknowledge();
  else if (d.lapic.extint_pending() && d.pic_master.int_output()) v = d.pic_master.acknowledge();
  else v = d.lapic.acknowledge();   // the request went away: the APIC's spurious vector
  update_intr();
  return v;
}

void Pc::direct_boot() {
  boot::AcpiConfig ac;
  ac.pm1a_evt_blk = kPmBase + AcpiPm::kRegSts;
  ac.pm1a_cnt_blk = kPmBase + AcpiPm::kRegCnt;
  ac.pm_tmr_blk = kPmBase + AcpiPm::kRegTmr;
  ac.pm_timer_32bit = true;
  ac.sci_irq = kSciIrq;
  ac.reset_port = PciHost::kPort + 1;   // the PIIX3 reset control register 0xCF9
  ac.reset_value = 0x06;
  ac.lapic_addr = static_cast<u32>(Lapic::kBase);
  ac.ioapic_addr = static_cast<u32>(Ioapic::kBase);
  ac.hpet_addr = Hpet::kBase;
  ac.hpet_block_id = static_cast<u32>(Hpet::kCapabilities);
  ac.rtc_century = RtcCmos::kCentury;
  const boot::AcpiLayout acpi = boot::write_acpi_tables(m_mem, ac);

  boot::BootRequest req;
  req.kernel = *m_cfg.kernel;
  req.kernel_name = m_cfg.kernel_name;
  if (m_cfg.initrd) {
    req.has_initrd = true;
    req.initrd = *m_cfg.initrd;
    req.initrd_name = m_cfg.initrd_name;
  }
  req.cmdline = m_cfg.cmdline;
  req.memory_map = boot::pc_memory_map(m_cfg.ram_bytes, kPciHoleStart);
  req.rsdp_addr = acpi.rsdp;
  const boot::BootResult r = boot::load_kernel(m_mem, req);
  boot::apply_entry_state(m_cpu, r.entry);
}

}  // namespace rv
