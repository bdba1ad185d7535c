// National PC16550D UART, at register level.
#include <gtest/gtest.h>

#include "devices/uart16550.h"
#include "tests/devices/irq_recorder.h"

namespace rv {
namespace {

using test::IrqRecorder;
using U = Uart16550;

struct UartEnv {
  Scheduler sched;
  IrqRecorder pic;
  StringSink sink;
  Uart16550 uart{sched, IrqLine(&pic, 4), sink, "com1"};

  u8 rd(u16 reg) { return static_cast<u8>(uart.io_read(reg, 1)); }
  void wr(u16 reg, u8 v) { uart.io_write(reg, v, 1); }
  // 115200 8N1, OUT2 on (the PC interrupt gate), as Linux's 8250 driver sets it up.
  void setup(u8 fcr = 0) {
    wr(U::kLcr, 0x80);
    wr(U::kRbrThr, 1);
    wr(U::kIer, 0);
    wr(U::kLcr, 0x03);
    wr(U::kIirFcr, fcr);
    wr(U::kMcr, U::kMcrOut2 | U::kMcrDtr | U::kMcrRts);
  }
  bool irq() const { return pic.level(4); }
};

TEST(Uart16550, TransmitsImmediatelyToSink) {
  UartEnv e;
  e.setup();
  EXPECT_EQ(e.rd(U::kLsr), 0x60);   // THRE | TEMT
  for (char c : std::string("hi\n")) e.wr(U::kRbrThr, static_cast<u8>(c));
  EXPECT_EQ(e.sink.text(), "hi\n");
  EXPECT_EQ(e.rd(U::kLsr), 0x60);
}

TEST(Uart16550, DivisorLatchAndRegisters) {
  UartEnv e;
  e.wr(U::kLcr, 0x83);
  e.wr(U::kRbrThr, 0x0C);
  e.wr(U::kIer, 0x00);   // DLM
  EXPECT_EQ(e.rd(U::kRbrThr), 0x0C);
  EXPECT_EQ(e.rd(U::kIer), 0x00);
  e.wr(U::kLcr, 0x03);
  EXPECT_EQ(e.rd(U::kIer), 0x00);   // IER, not DLM
  e.wr(U::kIer, 0xFF);
  EXPECT_EQ(e.rd(U::kIer), 0x0F);   // upper bits read 0
  EXPECT_EQ(e.sink.text(), "");     // divisor writes do not transmit
  // 9600 baud 8N1: 10 bits of 104.17 us.
  EXPECT_EQ(e.uart.char_time(), 10ull * 12 * kNsPerSec / 115200);
  e.wr(U::kScr, 0x5A);
  EXPECT_EQ(e.rd(U::kScr), 0x5A);
  EXPECT_EQ(e.rd(U::kIirFcr), 0x02);   // no FIFOs; THRE from enabling ETBEI
  EXPECT_EQ(e.rd(U::kIirFcr), 0x01);   // cleared by the read
}

TEST(Uart16550, ThrEmptyInterruptRules) {
  UartEnv e;
  e.setup();
  EXPECT_FALSE(e.irq());
  e.wr(U::kIer, U::kIerThre);    // enabling ETBEI with THR empty interrupts at once
  EXPECT_TRUE(e.irq());
  EXPECT_EQ(e.rd(U::kIirFcr), 0x02);
  EXPECT_FALSE(e.irq());         // reading IIR cleared it
  EXPECT_EQ(e.rd(U::kIirFcr), 0x01);
  e.wr(U::kRbrThr, 'x');         // THR empties again
  EXPECT_TRUE(e.irq());
  e.wr(U::kIer, 0);
  EXPECT_FALSE(e.irq());
  e.wr(U::kIer, U::kIerThre);
  EXPECT_TRUE(e.irq());
}

TEST(Uart16550, ReceiveWithoutFifo) {
  UartEnv e;
  e.setup();
  e.wr(U::kIer, U::kIerRda);
  e.uart.push_input('a');
  EXPECT_TRUE(e.irq());
  EXPECT_EQ(e.rd(U::kIirFcr), 0x04);
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, U::kLsrDr);
  EXPECT_EQ(e.uart.rx_space(), 0u);
  EXPECT_EQ(e.rd(U::kRbrThr), 'a');
  EXPECT_FALSE(e.irq());
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, 0);
}

TEST(Uart16550, OverrunWithoutFifoIsLineStatusInterrupt) {
  UartEnv e;
  e.setup();
  e.wr(U::kIer, U::kIerRda | U::kIerRls);
  e.uart.push_input('a');
  e.uart.push_input('b');   // overwrites 'a'
  EXPECT_EQ(e.rd(U::kIirFcr), 0x06);   // line status beats data available
  EXPECT_EQ(e.rd(U::kLsr) & (U::kLsrOe | U::kLsrDr), U::kLsrOe | U::kLsrDr);
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrOe, 0);   // cleared by reading LSR
  EXPECT_EQ(e.rd(U::kIirFcr), 0x04);
  EXPECT_EQ(e.rd(U::kRbrThr), 'b');
}

TEST(Uart16550, FifoTriggerLevels) {
  UartEnv e;
  e.setup(0xC7);   // enable, clear both, trigger 14
  e.wr(U::kIer, U::kIerRda);
  EXPECT_EQ(e.rd(U::kIirFcr), 0xC1);
  for (int i = 0; i < 13; i++) e.uart.push_input(static_cast<u8>('A' + i));
  EXPECT_FALSE(e.irq());
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, U::kLsrDr);
  e.uart.push_input('N');
  EXPECT_TRUE(e.irq());
  EXPECT_EQ(e.rd(U::kIirFcr), 0xC4);
  EXPECT_EQ(e.uart.rx_space(), 2u);
  EXPECT_EQ(e.rd(U::kRbrThr), 'A');   // first in, first out
  EXPECT_FALSE(e.irq());              // 13 left: below the trigger
  e.wr(U::kIirFcr, 0x47);             // trigger 4, clear the receive FIFO
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, 0);
  for (int i = 0; i < 3; i++) e.uart.push_input('x');
  EXPECT_FALSE(e.irq());
  e.uart.push_input('x');
  EXPECT_TRUE(e.irq());
}

TEST(Uart16550, FifoOverrunKeepsContents) {
  UartEnv e;
  e.setup(0x07);
  for (int i = 0; i < 17; i++) e.uart.push_input(static_cast<u8>(i));
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrOe, U::kLsrOe);
  for (int i = 0; i < 16; i++) EXPECT_EQ(e.rd(U::kRbrThr), i);
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, 0);
}

TEST(Uart16550, CharacterTimeout) {
  UartEnv e;
  e.setup(0x81);   // FIFO, trigger 8
  e.wr(U::kIer, U::kIerRda);
  Nanos four = 4 * e.uart.char_time();   // 4 x 86.8 us at 115200 8N1
  EXPECT_EQ(four, 4 * (10 * kNsPerSec / 115200));
  e.uart.push_input('q');
  e.sched.run_until(four - 1);
  EXPECT_FALSE(e.irq());
  e.uart.push_input('r');                // a new byte restarts the timer
  e.sched.run_until(2 * four - 2);
  EXPECT_FALSE(e.irq());
  e.sched.run_until(2 * four - 1);
  EXPECT_TRUE(e.irq());
  EXPECT_EQ(e.rd(U::kIirFcr), 0xCC);
  EXPECT_EQ(e.rd(U::kRbrThr), 'q');      // a read clears the timeout...
  EXPECT_FALSE(e.irq());
  e.sched.run_until(3 * four);           // ...and restarts it while bytes remain
  EXPECT_EQ(e.rd(U::kIirFcr), 0xCC);
  EXPECT_EQ(e.rd(U::kRbrThr), 'r');
  e.sched.run_until(10 * four);
  EXPECT_EQ(e.rd(U::kIirFcr), 0xC1);
}

TEST(Uart16550, InterruptPriorityOrder) {
  UartEnv e;
  e.setup();
  e.uart.push_input('1');
  e.uart.push_input('2');                  // overrun
  e.uart.set_modem_inputs(false, true, false, true);   // CTS dropped
  e.wr(U::kIer, 0x0F);
  EXPECT_EQ(e.rd(U::kIirFcr), 0x06);       // 1: line status
  e.rd(U::kLsr);
  EXPECT_EQ(e.rd(U::kIirFcr), 0x04);       // 2: data
  e.rd(U::kRbrThr);
  EXPECT_EQ(e.rd(U::kIirFcr), 0x02);       // 3: THR empty (cleared by this read)
  EXPECT_EQ(e.rd(U::kIirFcr), 0x00);       // 4: modem status
  EXPECT_EQ(e.rd(U::kMsr), 0xA1);          // DCD, DSR, delta CTS
  EXPECT_EQ(e.rd(U::kIirFcr), 0x01);
  EXPECT_FALSE(e.irq());
}

TEST(Uart16550, ModemStatusDeltas) {
  UartEnv e;
  e.setup();
  EXPECT_EQ(e.rd(U::kMsr), 0xB0);   // CTS, DSR, DCD from the host side at reset
  e.uart.set_modem_inputs(true, true, true, true);
  EXPECT_EQ(e.rd(U::kMsr), 0xF0);   // RI rising: no TERI
  e.uart.set_modem_inputs(true, true, false, true);
  EXPECT_EQ(e.rd(U::kMsr), 0xB4);   // trailing edge of RI
  e.uart.set_modem_inputs(true, false, false, false);
  EXPECT_EQ(e.rd(U::kMsr), 0x1A);   // DDSR, DDCD
  EXPECT_EQ(e.rd(U::kMsr), 0x10);
}

TEST(Uart16550, LoopbackRoutesDataAndModemLines) {
  UartEnv e;
  e.setup(0x01);
  e.wr(U::kIer, U::kIerRda);
  e.wr(U::kMcr, U::kMcrLoop | U::kMcrOut2 | U::kMcrRts);
  e.wr(U::kRbrThr, 0x42);
  EXPECT_EQ(e.sink.text(), "");              // nothing leaves the chip
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, U::kLsrDr);
  EXPECT_EQ(e.rd(U::kIirFcr), 0xC4);
  EXPECT_FALSE(e.irq());                     // OUT2 is internal in loopback: no IRQ
  EXPECT_EQ(e.rd(U::kRbrThr), 0x42);
  EXPECT_EQ(e.rd(U::kMsr) & 0xF0, U::kMsrCts | U::kMsrDcd);   // RTS->CTS, OUT2->DCD
  e.wr(U::kMcr, U::kMcrLoop | U::kMcrDtr | U::kMcrOut1);
  EXPECT_EQ(e.rd(U::kMsr), 0x60 | 0x0B);     // DSR, RI; deltas CTS, DSR and DCD
  e.uart.push_input('z');                    // serial input is cut off in loopback
  EXPECT_EQ(e.rd(U::kLsr) & U::kLsrDr, 0);
}

TEST(Uart16550, Out2GatesTheIrqLine) {
  UartEnv e;
  e.setup();
  e.wr(U::kMcr, 0);
  e.wr(U::kIer, U::kIerThre);
  EXPECT_EQ(e.uart.iir(), 0x02);
  EXPECT_FALSE(e.irq());
  e.wr(U::kMcr, U::kMcrOut2);
  EXPECT_TRUE(e.irq());
}

TEST(Uart16550, SaveLoadRoundTrip) {
  UartEnv e;
  e.setup(0x41);
  e.wr(U::kIer, 0x0D);
  e.wr(U::kScr, 0x99);
  e.uart.push_input('k');
  e.uart.push_input('l');
  U::State s = e.uart.save();

  UartEnv f;
  f.uart.load(s);
  EXPECT_EQ(f.uart.save(), s);
  EXPECT_EQ(f.rd(U::kRbrThr), 'k');
  EXPECT_EQ(f.rd(U::kRbrThr), 'l');
  EXPECT_EQ(f.rd(U::kScr), 0x99);
  EXPECT_NE(f.uart.save(), s);
}

}  // namespace
}  // namespace rv
