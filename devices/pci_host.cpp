#include "devices/pci_host.h"
#include "memory/state_visitor.h"

#include <stdexcept>
#include <string>

#include "memory/log.h"

namespace rv {

// ---- PciFunction ----

PciFunction::PciFunction(u16 vendor, u16 device, u32 class_code, u8 revision, u8 header_type) {
  set16(0x00, vendor);
  set16(0x02, device);
  set8(0x08, revision);
  set8(0x09, u8(class_code));          // programming interface
  set8(0x0A, u8(class_code >> 8));     // sub-class
  set8(0x0B, u8(class_code >> 16));    // base class
  set8(0x0E, header_type);
  // Command: I/O, memory, bus master, and INTx disable (bit 10); status: the error bits
  // are write 1 to clear (PCI 3.0 §6.2.2, §6.2.3).
  writable(0x04, 0x07);
  writable(0x05, 0x04);
  write_clears(0x07, 0xF9);
  writable(0x0D, 0xFF);   // latency timer
  writable(0x3C, 0xFF);   // interrupt line (scratch for the OS)
}

void PciFunction::reset() { m_cfg = m_reset_cfg; }

u32 PciFunction::config_read(u8 offset, unsigned size) {
  u32 v = 0;
  for (unsigned i = 0; i < size && offset + i < 256; i++) v |= u32(m_cfg[offset + i]) << (8 * i);
  return v;
}

void PciFunction::config_write(u8 offset, u32 value, unsigned size) {
  bool changed = false;
  for (unsigned i = 0; i < size && offset + i < 256; i++) {
    unsigned o = offset + i;
    u8 b = static_cast<u8>(value >> (8 * i));
    u8 old = m_cfg[o];
    u8 v = static_cast<u8>((old & ~m_wmask[o]) | (b & m_wmask[o]));
    v = static_cast<u8>(v & ~(b & m_w1c[o]));
    m_cfg[o] = v;
    changed |= v != old;
  }
  if (changed) config_written(offset, size);
}

// ---- PciHost ----

void PciHost::add_device(u8 dev, u8 fn, PciFunction* f) {
  if (dev >= 32 || fn >= 8) throw std::invalid_argument("PCI slot out of range");
  if (m_fns[dev][fn])
    throw std::invalid_argument("PCI slot 00:" + std::to_string(dev) + "." + std::to_string(fn) + " is taken");
  m_fns[dev][fn] = f;
}

PciFunction* PciHost::selected() const {
  u32 a = m_s.address;
  if (!(a & kEnable) || ((a >> 16) & 0xFF) != 0) return nullptr;   // bus 0 only
  return m_fns[(a >> 11) & 0x1F][(a >> 8) & 7];
}

u32 PciHost::io_read(u16 offset, unsigned size) {
  u32 ones = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
  if (offset < 4) {
    if (offset == 0 && size == 4) return m_s.address;
    if (offset == 1 && size == 1) return m_s.reset_control;
    return ones;   // not CONFIG_ADDRESS: byte/word cycles go to the ISA bus (PCI 3.0 §3.2.2.3.2)
  }
  PciFunction* f = selected();
  if (!f) return ones;
  u8 reg = static_cast<u8>((m_s.address & 0xFC) + (offset - 4));
  return f->config_read(reg, size);
}

void PciHost::io_write(u16 offset, u32 value, unsigned size) {
  if (offset < 4) {
    if (offset == 0 && size == 4) {
      m_s.address = value & 0x80FFFFFCu;   // bits 30:24 reserved, 1:0 read 0
    } else if (offset == 1 && size == 1) {
      // PIIX3 RC: bit 1 system reset type, bit 2 reset CPU on a 0 -> 1 change.
      bool go = (value & 4) && !(m_s.reset_control & 4);
      m_s.reset_control = static_cast<u8>(value & 0x06);
      if (go) {
        m_s.reset_control &= static_cast<u8>(~4);
        if (m_on_reset) m_on_reset();
      }
    }
    return;
  }
  if (PciFunction* f = selected()) f->config_write(static_cast<u8>((m_s.address & 0xFC) + (offset - 4)), value, size);
}

// ---- i440FX host bridge (82441FX PMC) ----

I440fxHost::I440fxHost() : PciFunction(0x8086, 0x1237, 0x060000, 0x02, 0x00) {
  writable(0x04, 0x00);   // the host bridge's command bits are fixed
  set16(0x04, 0x0006);
  set16(0x06, 0x0080);
  for (u8 o = kPam0; o < kPam0 + 7; o++) writable(o, o == kPam0 ? 0x30 : 0x33);
  set8(kSmram, 0x02);
  writable(kSmram, 0x78);
  finish_init();
}

void I440fxHost::config_written(u8 offset, unsigned size) {
  if (offset + size > kPam0 && offset < kPam0 + 7)
    RV_UNIMPLEMENTED("i440FX PAM registers: BIOS shadow RAM attributes do not change the memory map");
  if (offset <= kSmram && offset + size > kSmram) RV_UNIMPLEMENTED("i440FX SMRAM control (no SMM)");
}

// ---- PIIX3 PCI-to-ISA bridge (82371SB function 0) ----

Piix3Isa::Piix3Isa(std::function<void()> on_route_change)
    : PciFunction(0x8086, 0x7000, 0x060100, 0x00, 0x80), m_on_route_change(std::move(on_route_change)) {
  set16(0x04, 0x0007);
  set16(0x06, 0x0200);
  for (u8 o = kPirqRc; o < kPirqRc + 4; o++) {
    set8(o, kPirqDisabled);   // 82371SB §2.2.11: routing disabled after reset
    writable(o, 0x8F);
  }
  finish_init();
}

std::optional<u8> Piix3Isa::pirq_irq(unsigned n) const {
  if (n > 3) return std::nullopt;
  u8 v = get8(static_cast<u8>(kPirqRc + n));
  u8 irq = v & 0x0F;
  // IRQ 0-2, 8 and 13 are reserved route values (82371SB §2.2.11).
  if ((v & kPirqDisabled) || irq < 3 || irq == 8 || irq == 13) return std::nullopt;
  return irq;
}

void Piix3Isa::config_written(u8 offset, unsigned size) {
  if (offset < kPirqRc + 4 && offset + size > kPirqRc && m_on_route_change) m_on_route_change();
}

// ---- PIIX4 power management function (82371AB function 3) ----

Piix4Pm::Piix4Pm(u16 pm_base) : PciFunction(0x8086, 0x7113, 0x068000, 0x03, 0x00), m_pm_base(pm_base) {
  set16(0x06, 0x0280);
  set8(0x3C, kSciIrq);
  set8(0x3D, 0x01);                                // INTA#
  set32(kPmba, u32(pm_base) | 1);                  // I/O space indicator
  set8(kPmRegMisc, 0x01);                          // PMIOSE: PM I/O space enabled
  finish_init();
}

void PciFunction::visit(StateVisitor& v) {
  std::array<u8, 256> cfg = m_cfg;
  v.begin("pci_function", 1);
  v.field("cfg", cfg);
  v.end();
  if (v.loading()) {
    m_cfg = cfg;
    state_loaded();
  }
}

void PciHost::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("pci_host", 1);
  v.field("address", s.address);
  v.field("reset_control", s.reset_control);
  v.end();
  if (v.loading()) load(s);
}

void Piix3Isa::state_loaded() {
  if (m_on_route_change) m_on_route_change();
}

}  // namespace rv
