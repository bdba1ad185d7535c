#include "devices/uart16550.h"
#include "memory/state_visitor.h"

namespace rv {

Uart16550::Uart16550(Scheduler& sched, IrqLine irq, CharSink& out, const std::string& name)
    : m_sched(sched), m_irq(irq), m_out(out) {
  m_timeout_event = m_sched.register_event("uart." + name + ".timeout", [this](u64, Nanos) {
    if (m_s.fifo_enabled && !m_s.rx.empty()) m_s.timeout_pending = true;
    update_irq();
  });
  reset();
}

// Datasheet Table III "UART Reset Configuration": IER, FCR, LCR, MCR = 0, IIR = 1,
// LSR = 0x60, MSR deltas = 0 and status = the input signals. The divisor is not reset.
void Uart16550::reset() {
  u8 inputs = m_s.modem_inputs;
  u8 dll = m_s.dll, dlm = m_s.dlm;
  m_s = State{};
  m_s.modem_inputs = inputs;
  m_s.dll = dll;
  m_s.dlm = dlm;
  m_s.msr_status = modem_status();
  m_sched.cancel(m_timeout_event);
  m_irq.set(false);
}

// Loopback (MCR bit 4): the modem outputs drive the modem inputs internally (DTR->DSR,
// RTS->CTS, OUT1->RI, OUT2->DCD; datasheet, MCR bit 4).
u8 Uart16550::modem_status() const {
  if (!(m_s.mcr & kMcrLoop)) return m_s.modem_inputs;
  u8 m = m_s.mcr;
  return static_cast<u8>(((m & kMcrRts) ? kMsrCts : 0) | ((m & kMcrDtr) ? kMsrDsr : 0) |
                         ((m & kMcrOut1) ? kMsrRi : 0) | ((m & kMcrOut2) ? kMsrDcd : 0));
}

void Uart16550::update_modem_status() {
  u8 now = modem_status();
  u8 changed = now ^ m_s.msr_status;
  if (changed & kMsrCts) m_s.msr_deltas |= 0x01;
  if (changed & kMsrDsr) m_s.msr_deltas |= 0x02;
  if ((changed & kMsrRi) && !(now & kMsrRi)) m_s.msr_deltas |= 0x04;   // trailing edge of RI only
  if (changed & kMsrDcd) m_s.msr_deltas |= 0x08;
  m_s.msr_status = now;
}

// Interrupt priority (datasheet Table IV): receiver line status, received data available
// (FIFO at its trigger level), character timeout, THR empty, modem status.
u8 Uart16550::iir() const {
  u8 fifo = m_s.fifo_enabled ? kIirFifo : 0;
  unsigned level = m_s.fifo_enabled ? m_s.trigger : 1;
  if ((m_s.ier & kIerRls) && (m_s.lsr_errors & (kLsrOe | kLsrPe | kLsrFe | kLsrBi))) return fifo | kIirRls;
  if ((m_s.ier & kIerRda) && m_s.rx.size() >= level) return fifo | kIirRda;
  if ((m_s.ier & kIerRda) && m_s.timeout_pending) return fifo | kIirTimeout;
  if ((m_s.ier & kIerThre) && m_s.thre_pending) return fifo | kIirThre;
  if ((m_s.ier & kIerMs) && m_s.msr_deltas) return fifo | kIirMs;
  return fifo | kIirNone;
}

void Uart16550::update_irq() {
  bool gate = (m_s.mcr & kMcrOut2) && !(m_s.mcr & kMcrLoop);
  bool level = gate && !(iir() & kIirNone);
  if (level != m_s.irq_level) {
    m_s.irq_level = level;
    m_irq.set(level);
  }
}

Nanos Uart16550::char_time() const {
  u64 divisor = static_cast<u64>(m_s.dlm) << 8 | m_s.dll;
  if (divisor == 0) divisor = 1;
  unsigned word = 5 + (m_s.lcr & 3);
  // Frame in half bits: start + data + parity, then 1, 1.5 (5-bit words) or 2 stop bits.
  u64 half_bits = 2 * (1 + word + ((m_s.lcr & 0x08) ? 1 : 0));
  half_bits += (m_s.lcr & 0x04) ? (word == 5 ? 3 : 4) : 2;
  return half_bits * divisor * kNsPerSec / (2 * kBaseBaud);
}

// Four character times without input or a read (datasheet "FIFO Interrupt Mode Operation").
void Uart16550::restart_timeout() {
  if (m_s.fifo_enabled && !m_s.rx.empty()) m_sched.schedule_in(m_timeout_event, 4 * char_time());
  else m_sched.cancel(m_timeout_event);
}

void Uart16550::receive(u8 byte) {
  if (m_s.fifo_enabled) {
    // FIFO full: the byte in the shift register is lost, the FIFO keeps its contents.
    if (m_s.rx.size() >= kFifoSize) m_s.lsr_errors |= kLsrOe;
    else m_s.rx.push_back(byte);
  } else if (!m_s.rx.empty()) {
    m_s.lsr_errors |= kLsrOe;   // without FIFOs the new byte overwrites the unread one
    m_s.rx[0] = byte;
  } else {
    m_s.rx.push_back(byte);
  }
  restart_timeout();
  update_irq();
}

void Uart16550::push_input(u8 byte) {
  if (m_s.mcr & kMcrLoop) return;   // in loopback the serial input is disconnected
  receive(byte);
}

unsigned Uart16550::rx_space() const {
  unsigned cap = m_s.fifo_enabled ? kFifoSize : 1;
  return m_s.rx.size() >= cap ? 0 : cap - static_cast<unsigned>(m_s.rx.size());
}

void Uart16550::set_modem_inputs(bool cts, bool dsr, bool ri, bool dcd) {
  m_s.modem_inputs = static_cast<u8>((cts ? kMsrCts : 0) | (dsr ? kMsrDsr : 0) | (ri ? kMsrRi : 0) |
                                     (dcd ? kMsrDcd : 0));
  update_modem_status();
  update_irq();
}

u32 Uart16550::io_read(u16 offset, unsigned size) {
  bool dlab = m_s.lcr & kLcrDlab;
  switch (offset & 7) {
    case kRbrThr: {
      if (dlab) return m_s.dll;
      u8 v = 0;
      if (!m_s.rx.empty()) {
        v = m_s.rx.front();
        m_s.rx.erase(m_s.rx.begin());
      }
      m_s.timeout_pending = false;
      restart_timeout();
      update_irq();
      return v;
    }
    case kIer: return dlab ? m_s.dlm : m_s.ier;
    case kIirFcr: {
      u8 v = iir();
      if ((v & 0x0F) == kIirThre) m_s.thre_pending = false;   // reading IIR clears THRE
      update_irq();
      return v;
    }
    case kLcr: return m_s.lcr;
    case kMcr: return m_s.mcr;
    case kLsr: {
      u8 v = static_cast<u8>(m_s.lsr_errors | kLsrThre | kLsrTemt | (m_s.rx.empty() ? 0 : kLsrDr));
      if (m_s.fifo_enabled && (m_s.lsr_errors & (kLsrPe | kLsrFe | kLsrBi))) v |= 0x80;
      m_s.lsr_errors = 0;
      update_irq();
      return v;
    }
    case kMsr: {
      u8 v = static_cast<u8>(m_s.msr_status | m_s.msr_deltas);
      m_s.msr_deltas = 0;
      update_irq();
      return v;
    }
    default: return m_s.scr;
  }
}

void Uart16550::io_write(u16 offset, u32 value, unsigned size) {
  u8 v = static_cast<u8>(value);
  bool dlab = m_s.lcr & kLcrDlab;
  switch (offset & 7) {
    case kRbrThr:
      if (dlab) {
        m_s.dll = v;
        break;
      }
      if (m_s.mcr & kMcrLoop) receive(v);
      else m_out.put(v);
      m_s.thre_pending = true;   // transmitted at once: THR is empty again
      break;
    case kIer:
      if (dlab) {
        m_s.dlm = v;
        break;
      }
      // Enabling ETBEI while THR is empty raises the THRE interrupt at once.
      if ((v & kIerThre) && !(m_s.ier & kIerThre)) m_s.thre_pending = true;
      if (!(v & kIerThre)) m_s.thre_pending = false;
      m_s.ier = v & 0x0F;
      break;
    case kIirFcr: {
      bool enable = v & 0x01;
      if (enable != m_s.fifo_enabled) {   // changing FIFO mode clears both FIFOs
        m_s.rx.clear();
        m_s.timeout_pending = false;
      }
      m_s.fifo_enabled = enable;
      if (enable) {
        if (v & 0x02) {
          m_s.rx.clear();
          m_s.timeout_pending = false;
        }
        static constexpr u8 kTrigger[4] = {1, 4, 8, 14};
        m_s.trigger = kTrigger[v >> 6];
      }
      restart_timeout();
      break;
    }
    case kLcr: m_s.lcr = v; break;
    case kMcr:
      m_s.mcr = v & 0x1F;
      update_modem_status();
      break;
    case kLsr:
    case kMsr: break;   // factory test writes: ignored
    default: m_s.scr = v; break;
  }
  update_irq();
}

void Uart16550::load(const State& s) {
  m_s = s;
  m_irq.set(m_s.irq_level);
}

void Uart16550::visit(StateVisitor& v) {
  State s = m_s;
  v.begin("uart16550", 1);
  v.field("ier", s.ier);
  v.field("lcr", s.lcr);
  v.field("mcr", s.mcr);
  v.field("scr", s.scr);
  v.field("dll", s.dll);
  v.field("dlm", s.dlm);
  v.field("lsr_errors", s.lsr_errors);
  v.field("msr_deltas", s.msr_deltas);
  v.field("msr_status", s.msr_status);
  v.field("modem_inputs", s.modem_inputs);
  v.field("fifo_enabled", s.fifo_enabled);
  v.field("trigger", s.trigger);
  v.check(s.trigger >= 1 && s.trigger <= kFifoSize, "trigger", "is not 1..16");
  v.bytes("rx", s.rx, s.fifo_enabled ? kFifoSize : 1);
  v.field("thre_pending", s.thre_pending);
  v.field("timeout_pending", s.timeout_pending);
  v.field("irq_level", s.irq_level);
  v.end();
  if (v.loading()) load(s);
}

}  // namespace rv
