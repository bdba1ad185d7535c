// A fake interrupt controller for device tests: records each input's level, its rising
// edges and the full sequence of set_irq calls.
#pragma once
#include <array>
#include <utility>
#include <vector>

#include "memory/irq_line.h"

namespace rv::test {

class IrqRecorder final : public IrqSink {
 public:
  void set_irq(unsigned input, bool level) override {
    if (level && !m_level.at(input)) m_rises[input]++;
    m_level[input] = level;
    m_log.emplace_back(input, level);
  }
  bool level(unsigned input) const { return m_level.at(input); }
  int rises(unsigned input) const { return m_rises.at(input); }
  const std::vector<std::pair<unsigned, bool>>& log() const { return m_log; }
  void clear() {
    m_rises.fill(0);
    m_log.clear();
  }

 private:
  std::array<bool, 16> m_level{};
  std::array<int, 16> m_rises{};
  std::vector<std::pair<unsigned, bool>> m_log;
};

}  // namespace rv::test
