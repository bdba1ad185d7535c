// Uart16550: the National Semiconductor PC16550D UART (the "16550A" of PC serial ports).
//
// What it is: an asynchronous serial port with a 16-byte receive FIFO, a transmitter, the
// modem control/status lines, a baud-rate divisor from a 1.8432 MHz clock, and one
// interrupt output with four prioritised sources (PC16550D datasheet, June 1995: "Register
// Description", Table IV "Interrupt Control Functions").
// Wiring (the board's job): COM1 0x3F8 IRQ4, COM2 0x2F8 IRQ3, COM3 0x3E8 IRQ4, COM4 0x2E8
// IRQ3, eight ports each (offsets 0-7). The interrupt reaches the bus only while MCR OUT2
// is 1 (the PC's IRQ gate, which Linux sets; in loopback mode OUT2 is internal and the
// output is gated off, as on a PC board). Output bytes go to the CharSink; host input
// arrives with push_input() (the board should hold input while rx_space() is 0, as a
// sender with flow control would: a byte pushed into a full FIFO is an overrun).
// Timing choice: transmission is immediate. A byte written to THR reaches the sink at once
// and THR/TSR are empty again at once (LSR THRE and TEMT always read 1; the THRE interrupt
// is re-armed by each write). Pacing output at the programmed baud rate would make every
// polled console write cost a character time of guest instructions for no benefit to the
// guest. Receive timing is real: the character timeout (FIFO mode) fires four character
// times, at the programmed divisor and frame format, after the last byte was received or
// read, through the scheduler.
// Not emulated: parity, framing and break errors (nothing produces them: the host sends
// bytes), the transmit FIFO (not needed with immediate transmission), DMA mode signalling
// (FCR bit 3, TXRDY/RXRDY pins), the word length (all 8 bits go to the host and to the
// loopback, whatever LCR says).
#pragma once
#include <string>
#include <vector>

#include "devices/char_sink.h"
#include "memory/io_bus.h"
#include "memory/irq_line.h"
#include "memory/scheduler.h"

namespace rv {

class StateVisitor;

class Uart16550 final : public PortDevice {
 public:
  static constexpr u16 kCom1 = 0x3F8, kCom2 = 0x2F8, kCom3 = 0x3E8, kCom4 = 0x2E8;
  static constexpr u16 kPortCount = 8;
  static constexpr u64 kBaseBaud = 115200;   // 1.8432 MHz / 16
  static constexpr unsigned kFifoSize = 16;
  // Register offsets (DLAB=0 unless noted).
  enum : u16 { kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };
  static constexpr u8 kIerRda = 0x01, kIerThre = 0x02, kIerRls = 0x04, kIerMs = 0x08;
  static constexpr u8 kIirNone = 0x01, kIirRls = 0x06, kIirRda = 0x04, kIirTimeout = 0x0C, kIirThre = 0x02,
                      kIirMs = 0x00, kIirFifo = 0xC0;
  static constexpr u8 kLcrDlab = 0x80;
  static constexpr u8 kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
  static constexpr u8 kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10,
                      kLsrThre = 0x20, kLsrTemt = 0x40;
  static constexpr u8 kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

  struct State {
    u8 ier = 0, lcr = 0, mcr = 0, scr = 0, dll = 0, dlm = 0;
    u8 lsr_errors = 0;         // OE/PE/FE/BI until LSR is read
    u8 msr_deltas = 0;         // DCTS/DDSR/TERI/DDCD until MSR is read
    u8 msr_status = 0;         // CTS/DSR/RI/DCD as last seen (for the deltas)
    u8 modem_inputs = kMsrCts | kMsrDsr | kMsrDcd;   // host side, MSR bit positions
    bool fifo_enabled = false;
    u8 trigger = 1;            // receive FIFO trigger level in bytes
    std::vector<u8> rx;        // receive FIFO (one byte deep without FIFOs)
    bool thre_pending = false;
    bool timeout_pending = false;
    bool irq_level = false;
    bool operator==(const State&) const = default;
  };

  // `name` makes the scheduler event unique per port ("com1" -> "uart.com1.timeout"); each
  // UART of a board needs its own.
  Uart16550(Scheduler& sched, IrqLine irq, CharSink& out, const std::string& name);
  void reset();
  u32 io_read(u16 offset, unsigned size) override;
  void io_write(u16 offset, u32 value, unsigned size) override;

  // Host side.
  void push_input(u8 byte);
  unsigned rx_space() const;
  void set_modem_inputs(bool cts, bool dsr, bool ri, bool dcd);

  u8 iir() const;   // the interrupt identification now (no side effects)
  Nanos char_time() const;   // one frame at the programmed divisor and format

  State save() const { return m_s; }
  void load(const State& s);
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  u8 modem_status() const;
  void update_modem_status();
  void receive(u8 byte);
  void restart_timeout();
  void update_irq();

  Scheduler& m_sched;
  IrqLine m_irq;
  CharSink& m_out;
  Scheduler::EventId m_timeout_event;
  State m_s;
};

}  // namespace rv
