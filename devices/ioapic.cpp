#include "devices/ioapic.h"
#include "memory/state_visitor.h"

#include "memory/log.h"

namespace rv {

void Ioapic::reset() {
  u32 pins = m_s.pins;   // the wires keep their levels across a reset
  m_s = State{};
  m_s.pins = pins;
  for (u64& e : m_s.redir) e = kMasked;   // 82093AA §3.2.4: mask bit set after reset
}

u64 Ioapic::mmio_read(u64 offset, unsigned size) {
  // Software must use 32-bit accesses (82093AA §3.0); narrower reads see the low bytes.
  u64 v = 0;
  if (offset == kIoRegSel) v = m_s.regsel;
  else if (offset >= kIoWin && offset < kIoWin + 4) v = read_register(m_s.regsel) >> (8 * (offset - kIoWin));
  return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void Ioapic::mmio_write(u64 offset, u64 value, unsigned size) {
  if (offset == kIoRegSel) {
    m_s.regsel = static_cast<u8>(value);
  } else if (offset == kIoWin) {
    if (size < 4) RV_UNUSUAL("IOAPIC: %u-byte write to IOWIN (treated as a dword write)", size);
    write_register(m_s.regsel, static_cast<u32>(value));
  }
}

u32 Ioapic::read_register(u8 index) const {
  switch (index) {
    case kRegId: return u32(m_s.id) << 24;
    case kRegVer: return u32(kPins - 1) << 16 | kVersion;
    case kRegArb: return u32(m_s.id) << 24;   // loaded from IOAPICID (82093AA §3.2.3)
  }
  if (index >= kRegRedirBase && index < kRegRedirBase + 2 * kPins) {
    u64 e = m_s.redir[(index - kRegRedirBase) / 2];
    return (index & 1) ? u32(e >> 32) : u32(e);
  }
  return 0;
}

void Ioapic::write_register(u8 index, u32 value) {
  if (index == kRegId) {
    m_s.id = (value >> 24) & 0x0F;
    return;
  }
  if (index < kRegRedirBase || index >= kRegRedirBase + 2 * kPins) return;   // read only/reserved
  unsigned pin = (index - kRegRedirBase) / 2;
  u64& e = m_s.redir[pin];
  u64 written = (index & 1) ? (u64(value) << 32) | (e & 0xFFFFFFFFull) : (e & ~0xFFFFFFFFull) | value;
  e = (e & ~kWritable) | (written & kWritable);
  if (!(e & kLevel)) e &= ~kRemoteIrr;   // remote IRR is undefined for edge entries: keep it 0
  if (u8(e) < 0x10 && !(e & kMasked) && ((e >> 8) & 7) <= 1)
    RV_UNUSUAL("IOAPIC: pin %u unmasked with the reserved vector 0x%02x", pin, unsigned(u8(e)));
  service(pin);
}

void Ioapic::set_irq(unsigned pin, bool level) {
  if (pin >= kPins) return;
  u32 bit = 1u << pin;
  bool was = m_s.pins & bit;
  m_s.pins = level ? (m_s.pins | bit) : (m_s.pins & ~bit);
  const u64 e = m_s.redir[pin];
  bool fixed = ((e >> 8) & 7) <= 1;
  if ((e & kLevel) && fixed) service(pin);
  else if (level && !was && !(e & kMasked)) send(pin);   // edges; level NMI/INIT/ExtINT once
}

void Ioapic::eoi(u8 vector) {
  for (unsigned pin = 0; pin < kPins; pin++) {
    u64& e = m_s.redir[pin];
    if ((e & kLevel) && (e & kRemoteIrr) && u8(e) == vector) {
      e &= ~kRemoteIrr;
      service(pin);
    }
  }
}

void Ioapic::service(unsigned pin) {
  u64& e = m_s.redir[pin];
  // Remote IRR tracks fixed and lowest-priority messages only: NMI, SMI, INIT and ExtINT
  // have no EOI (82093AA §3.2.4 "Remote IRR"); set_irq() sends those on the rising edge.
  if (((e >> 8) & 7) > 1) return;
  if (!(e & kLevel) || (e & kMasked) || (e & kRemoteIrr) || !(m_s.pins & (1u << pin))) return;
  e |= kRemoteIrr;
  send(pin);
}

void Ioapic::send(unsigned pin) {
  const u64 e = m_s.redir[pin];
  ApicMessage m;
  m.vector = static_cast<u8>(e & kVectorMask);
  m.mode = static_cast<DeliveryMode>((e >> 8) & 7);
  m.logical = e & kDestLogical;
  m.level = e & kLevel;
  m.dest = static_cast<u32>(e >> 56);
  if (m.mode == DeliveryMode::StartUp || unsigned(m.mode) == 3) {
    RV_UNUSUAL("IOAPIC: pin %u uses the reserved delivery mode %u (not sent)", pin, unsigned(m.mode));
    return;
  }
  if (m_send) m_send(m);
}

void Ioapic::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("ioapic", 1);
  v.field("regsel", s.regsel);
  v.field("id", s.id);
  v.field("redir", s.redir);
  v.field("pins", s.pins);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
