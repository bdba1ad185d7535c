// Ioapic: the Intel 82093AA I/O advanced programmable interrupt controller.
//
// What it is: 24 interrupt input pins, each with a 64-bit redirection table entry that
// turns a pin event into an interrupt message for the local APICs (Intel 82093AA datasheet,
// order 290566, §3). Software reaches its registers indirectly: IOREGSEL (offset 0x00, the
// register index) and IOWIN (offset 0x10, the 32-bit data window). Registers: 0x00 IOAPICID
// (bits 27:24), 0x01 IOAPICVER (version 0x11, maximum redirection entry 23 in bits 23:16),
// 0x02 IOAPICARB (arbitration ID, bits 27:24, read only), 0x10-0x3F the redirection table
// (entry n at 0x10 + 2n low dword, 0x11 + 2n high dword).
// Wiring (the board's job): MMIO window at 0xFEC00000 (4 KiB; this device sees offsets);
// ISA IRQs reach pins 0-15 (with the MADT's override IRQ0 -> pin 2), PCI PIRQs pins 16-23.
// The device is an IrqSink: IrqLine(&ioapic, pin). Messages go to the callback given at
// construction (the board forwards them to the CPU's local APIC); the board calls eoi(vector)
// when the local APIC broadcasts an EOI for a level-triggered interrupt.
// Behaviour: edge-triggered pins send one message per rising edge while unmasked (an edge
// that arrives while the pin is masked is lost, as on the 82093AA); level-triggered pins
// send a message while the pin is asserted, the entry unmasked and remote IRR clear, and set
// remote IRR (fixed and lowest-priority modes); eoi() clears remote IRR of every level entry
// with that vector and re-sends if the pin is still asserted. Unmasking an asserted level
// pin sends at once.
// Emulator choice: an IrqLine carries "asserted", not the electrical level, so the polarity
// bit (13) is stored and read back but does not invert the input (PCI lines, active low on
// the board, are raised by their devices like ISA lines). The delivery status bit (12)
// always reads 0: messages are accepted at once.
// Not emulated: the 0x20 version's directed EOI register (this is version 0x11; the local
// APIC's EOI broadcast does the job), the APIC bus arbitration protocol.
#pragma once
#include <array>
#include <functional>

#include "devices/apic_message.h"
#include "memory/irq_line.h"
#include "memory/phys_memory.h"

namespace rv {

class StateVisitor;

class Ioapic final : public MmioDevice, public IrqSink {
 public:
  static constexpr u64 kBase = 0xFEC00000;
  static constexpr u64 kSize = 0x1000;
  static constexpr unsigned kPins = 24;
  static constexpr u8 kVersion = 0x11;
  // MMIO offsets and register indexes (82093AA §3.0, §3.2).
  static constexpr u64 kIoRegSel = 0x00, kIoWin = 0x10;
  static constexpr u8 kRegId = 0x00, kRegVer = 0x01, kRegArb = 0x02, kRegRedirBase = 0x10;
  // Redirection entry bits (82093AA §3.2.4).
  static constexpr u64 kVectorMask = 0xFF;
  static constexpr u64 kDestLogical = 1ull << 11;
  static constexpr u64 kDeliveryStatus = 1ull << 12;
  static constexpr u64 kPolarityLow = 1ull << 13;
  static constexpr u64 kRemoteIrr = 1ull << 14;
  static constexpr u64 kLevel = 1ull << 15;
  static constexpr u64 kMasked = 1ull << 16;
  static constexpr u64 kWritable = 0xFF000000'0001AFFFull;   // all but delivery status, remote IRR

  using SendFn = std::function<void(const ApicMessage&)>;

  struct State {
    u8 regsel = 0;
    u8 id = 0;                             // IOAPICID bits 27:24
    std::array<u64, kPins> redir{};
    u32 pins = 0;                          // current input levels, bit per pin
    bool operator==(const State&) const = default;
  };

  explicit Ioapic(SendFn send) : m_send(std::move(send)) { reset(); }

  void reset();
  u64 mmio_read(u64 offset, unsigned size) override;
  void mmio_write(u64 offset, u64 value, unsigned size) override;
  void set_irq(unsigned pin, bool level) override;
  // The local APIC broadcast an EOI for `vector` (level-triggered interrupts only).
  void eoi(u8 vector);

  u64 redirection(unsigned pin) const { return pin < kPins ? m_s.redir[pin] : 0; }

  State save() const { return m_s; }
  void load(const State& s) { m_s = s; }
  void visit(StateVisitor& v);   // snapshots, state hashes (memory/state_visitor.h)

 private:
  u32 read_register(u8 index) const;
  void write_register(u8 index, u32 value);
  void service(unsigned pin);   // sends a level-triggered pin's message if it is due
  void send(unsigned pin);

  SendFn m_send;
  State m_s;
};

}  // namespace rv
