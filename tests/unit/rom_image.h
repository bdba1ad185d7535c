// Tiny test ROMs for the board's unit tests: a 64 KiB image (mapped at 0xF0000 and below
// 4 GiB) that is HLT (F4) everywhere but a far jump to F000:0000 at the reset vector; tests
// put their real-mode code at its start (and handlers elsewhere).
#pragma once
#include <algorithm>
#include <iterator>
#include <memory>
#include <vector>

#include "memory/types.h"

namespace rv {

inline std::shared_ptr<std::vector<u8>> blank_rom() {
  auto v = std::make_shared<std::vector<u8>>(64 * KiB, 0xF4);
  const u8 jmp[] = {0xEA, 0x00, 0x00, 0x00, 0xF0};   // jmp far F000:0000
  std::copy(std::begin(jmp), std::end(jmp), v->end() - 16);
  return v;
}

// `code` at F000:0000.
inline std::shared_ptr<const std::vector<u8>> rom_at_f000(const std::vector<u8>& code) {
  auto v = blank_rom();
  std::copy(code.begin(), code.end(), v->begin());
  return v;
}

// Real-mode code that programs the master 8259A as the BIOS does (edge, cascade, vector base
// 0x20, 8086 mode) with interrupt mask `imr`: `out` instructions through AL.
inline std::vector<u8> pic_init_code(u8 imr) {
  return {
      0xB0, 0x11, 0xE6, 0x20,   // ICW1: edge, cascade, ICW4
      0xB0, 0x20, 0xE6, 0x21,   // ICW2: vector base 0x20
      0xB0, 0x04, 0xE6, 0x21,   // ICW3: slave on IR2
      0xB0, 0x01, 0xE6, 0x21,   // ICW4: 8086 mode
      0xB0, imr,  0xE6, 0x21,   // OCW1
  };
}

}  // namespace rv
