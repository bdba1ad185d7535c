// IrqLine: an interrupt request wire from a device to interrupt controllers (STYLE.md
// guideline 9). A device raises and lowers its line; what that means (edge or level, which
// vector) is the receiver's business. One line may fan out to several receivers, as an ISA
// IRQ reaches both the 8259A and the IOAPIC on a PC. Value type: copy it into the device.
#pragma once
#include <array>

#include "memory/types.h"

namespace rv {

// Something with numbered interrupt inputs: a PIC, an IOAPIC, a test recorder.
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq(unsigned input, bool level) = 0;
};

class IrqLine {
 public:
  IrqLine() = default;
  IrqLine(IrqSink* sink, unsigned input) { connect(sink, input); }

  // Adds a receiver (up to kMaxTargets). Returns false when full.
  bool connect(IrqSink* sink, unsigned input) {
    for (Target& t : m_targets)
      if (!t.sink) {
        t = {sink, input};
        return true;
      }
    return false;
  }
  void set(bool level) {
    m_level = level;
    for (const Target& t : m_targets)
      if (t.sink) t.sink->set_irq(t.input, level);
  }
  void raise() { set(true); }
  void lower() { set(false); }
  void pulse() { set(true); set(false); }   // an edge for edge-triggered receivers
  bool level() const { return m_level; }
  bool connected() const { return m_targets[0].sink != nullptr; }

 private:
  static constexpr unsigned kMaxTargets = 2;
  struct Target {
    IrqSink* sink = nullptr;
    unsigned input = 0;
  };
  std::array<Target, kMaxTargets> m_targets{};
  bool m_level = false;
};

}  // namespace rv
