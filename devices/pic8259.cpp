#include "devices/pic8259.h"
#include "memory/state_visitor.h"

#include "memory/log.h"

namespace rv {

// Register bits, Intel 8259A datasheet "Initialization Command Words" and "Operation
// Command Words".
namespace {
constexpr u8 kIcw1 = 0x10;       // A0=0, D4=1: ICW1
constexpr u8 kIcw1Ic4 = 0x01;    // ICW4 needed
constexpr u8 kIcw1Sngl = 0x02;   // single (no ICW3)
constexpr u8 kIcw1Ltim = 0x08;   // level triggered mode
constexpr u8 kOcw3 = 0x08;       // A0=0, D4=0, D3=1: OCW3
constexpr u8 kOcw3Ris = 0x01, kOcw3Rr = 0x02, kOcw3Poll = 0x04, kOcw3Smm = 0x20, kOcw3Esmm = 0x40;
constexpr u8 kIcw4Upm = 0x01, kIcw4Aeoi = 0x02, kIcw4Sfnm = 0x10;
}  // namespace

void Pic8259::reset() {
  m_s = State{};
  m_int.set(false);
}

bool Pic8259::is_level(unsigned input) const {
  if (m_slave && input == m_slave_input) return true;   // cascade: see the header
  return m_s.ltim || ((m_s.elcr >> input) & 1);
}

// Fully nested mode: IR(lowest_priority + 1) has priority 0 (highest), going round.
int Pic8259::priority_of(u8 mask) const {
  for (int p = 0; p < 8; p++)
    if (mask & (1u << ((m_s.lowest_priority + 1 + p) & 7))) return p;
  return 8;
}

int Pic8259::highest(u8 mask) const {
  int p = priority_of(mask);
  return p == 8 ? -1 : (m_s.lowest_priority + 1 + p) & 7;
}

int Pic8259::pending_irq() const {
  int irq = highest(m_s.irr & ~m_s.imr);
  if (irq < 0) return -1;
  u8 in_service = m_s.isr;
  // Special mask mode: a masked level does not inhibit the others (datasheet, "Special
  // Mask Mode"). Special fully nested mode: the cascade input stays open to higher
  // requests of its slave while it is in service ("Special Fully Nest Mode").
  if (m_s.special_mask) in_service &= static_cast<u8>(~m_s.imr);
  if (m_s.sfnm && m_slave && static_cast<unsigned>(irq) == m_slave_input)
    in_service &= static_cast<u8>(~(1u << irq));
  if (priority_of(in_service) <= priority_of(static_cast<u8>(1u << irq))) return -1;
  return irq;
}

void Pic8259::update() {
  bool out = pending_irq() >= 0;
  if (out != m_s.int_out) {
    m_s.int_out = out;
    m_int.set(out);
  }
}

void Pic8259::set_irq(unsigned input, bool level) {
  if (input > 7) return;
  u8 bit = static_cast<u8>(1u << input);
  bool was = m_s.lines & bit;
  m_s.lines = level ? (m_s.lines | bit) : (m_s.lines & ~bit);
  if (is_level(input)) {
    m_s.irr = level ? (m_s.irr | bit) : (m_s.irr & ~bit);
  } else if (level && !was) {
    m_s.irr |= bit;   // edge: latched on the rising edge, kept until acknowledged
  }
  update();
}

void Pic8259::ack_irq(unsigned irq) {
  u8 bit = static_cast<u8>(1u << irq);
  if (!is_level(irq)) m_s.irr &= static_cast<u8>(~bit);   // a level request stays while high
  if (m_s.auto_eoi) {
    // Auto-EOI: the ISR bit is cleared at the end of the INTA sequence; with "rotate in
    // automatic EOI mode" the level just serviced becomes the lowest (OCW2 R=1, SL=0, EOI=0).
    if (m_s.rotate_on_aeoi) m_s.lowest_priority = static_cast<u8>(irq);
  } else {
    m_s.isr |= bit;
  }
}

u8 Pic8259::acknowledge() {
  int irq = pending_irq();
  if (irq < 0) {
    // Spurious: the request went away before INTA; the chip answers IR7 without setting
    // ISR (datasheet, "Interrupt Sequence"; Linux counts these as spurious IRQ 7/15).
    update();
    return static_cast<u8>(m_s.vector_base | 7);
  }
  ack_irq(static_cast<unsigned>(irq));
  u8 vector = static_cast<u8>(m_s.vector_base + irq);
  if (m_slave && static_cast<unsigned>(irq) == m_slave_input) vector = m_slave->acknowledge();
  update();
  return vector;
}

// Poll command (OCW3 P=1): the next read returns 0x80 | level if a request is pending and
// treats it as an INTA; 0 otherwise (datasheet, "The Poll Command").
u8 Pic8259::poll_read() {
  m_s.poll = false;
  int irq = pending_irq();
  if (irq < 0) return 0;
  ack_irq(static_cast<unsigned>(irq));
  update();
  return static_cast<u8>(0x80 | irq);
}

void Pic8259::eoi(int irq, bool rotate) {
  if (irq < 0) return;
  m_s.isr &= static_cast<u8>(~(1u << irq));
  if (rotate) m_s.lowest_priority = static_cast<u8>(irq);
  update();
}

void Pic8259::write_command(u8 v) {
  if (v & kIcw1) {
    // ICW1 resets the edge sense (a high input must go low and high again), clears IMR and
    // ISR, gives IR7 the lowest priority, clears special mask mode, selects IRR for reads,
    // and without IC4 zeroes every ICW4 function.
    m_s.icw4_needed = v & kIcw1Ic4;
    m_s.single = v & kIcw1Sngl;
    m_s.ltim = v & kIcw1Ltim;
    m_s.imr = 0;
    m_s.isr = 0;
    m_s.irr = 0;
    for (unsigned i = 0; i < 8; i++)
      if (is_level(i) && (m_s.lines & (1u << i))) m_s.irr |= static_cast<u8>(1u << i);
    m_s.lowest_priority = 7;
    m_s.special_mask = m_s.read_isr = m_s.poll = false;
    m_s.auto_eoi = m_s.rotate_on_aeoi = m_s.sfnm = false;
    m_s.init_step = 2;
    update();
    return;
  }
  if (v & kOcw3) {
    if (v & kOcw3Poll) m_s.poll = true;
    if (v & kOcw3Rr) m_s.read_isr = v & kOcw3Ris;
    if (v & kOcw3Esmm) m_s.special_mask = v & kOcw3Smm;
    update();
    return;
  }
  // OCW2: R, SL, EOI in bits 7-5, level in bits 2-0.
  unsigned level = v & 7;
  switch (v >> 5) {
    case 0: m_s.rotate_on_aeoi = false; break;                    // clear rotate in AEOI
    case 1: eoi(highest(m_s.isr), false); break;                  // non-specific EOI
    case 2: break;                                                // no operation
    case 3: eoi(static_cast<int>(level), false); break;           // specific EOI
    case 4: m_s.rotate_on_aeoi = true; break;                     // set rotate in AEOI
    case 5: eoi(highest(m_s.isr), true); break;                   // rotate on non-specific EOI
    case 6: m_s.lowest_priority = static_cast<u8>(level); update(); break;   // set priority
    case 7: eoi(static_cast<int>(level), true); break;            // rotate on specific EOI
  }
}

void Pic8259::write_data(u8 v) {
  switch (m_s.init_step) {
    case 2:   // ICW2: T7-T3 of the vector
      m_s.vector_base = v & 0xF8;
      m_s.init_step = m_s.single ? (m_s.icw4_needed ? 4 : 0) : 3;
      break;
    case 3:   // ICW3: master: which IRs have slaves; slave: its ID
      m_s.icw3 = v;
      m_s.init_step = m_s.icw4_needed ? 4 : 0;
      break;
    case 4:   // ICW4
      if (!(v & kIcw4Upm)) RV_UNIMPLEMENTED("8259A MCS-80/85 mode (ICW4 uPM=0); x86 mode used");
      m_s.auto_eoi = v & kIcw4Aeoi;
      m_s.sfnm = v & kIcw4Sfnm;
      m_s.init_step = 0;
      break;
    default:  // OCW1
      m_s.imr = v;
      update();
      break;
  }
}

u32 Pic8259::io_read(u16 offset, unsigned size) {
  if (m_s.poll) return poll_read();
  if (offset & 1) return m_s.imr;
  return m_s.read_isr ? m_s.isr : m_s.irr;
}

void Pic8259::io_write(u16 offset, u32 value, unsigned size) {
  if (offset & 1) write_data(static_cast<u8>(value));
  else write_command(static_cast<u8>(value));
}

void Pic8259::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("pic8259", 1);
  v.field("irr", s.irr);
  v.field("isr", s.isr);
  v.field("imr", s.imr);
  v.field("lines", s.lines);
  v.field("elcr", s.elcr);
  v.field("vector_base", s.vector_base);
  v.field("icw3", s.icw3);
  v.field("init_step", s.init_step);
  v.check(s.init_step == 0 || (s.init_step >= 2 && s.init_step <= 4), "init_step", "is not 0, 2, 3 or 4");
  v.field("icw4_needed", s.icw4_needed);
  v.field("single", s.single);
  v.field("ltim", s.ltim);
  v.field("auto_eoi", s.auto_eoi);
  v.field("rotate_on_aeoi", s.rotate_on_aeoi);
  v.field("sfnm", s.sfnm);
  v.field("special_mask", s.special_mask);
  v.field("read_isr", s.read_isr);
  v.field("poll", s.poll);
  v.field("lowest_priority", s.lowest_priority);
  v.check(s.lowest_priority < 8, "lowest_priority", "is above 7");
  v.field("int_out", s.int_out);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
