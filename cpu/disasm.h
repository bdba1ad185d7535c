// Capstone disassembly for humans: traces, #UD logs, the debugger. Not on the execution path.
#pragma once
#include <string>

#include "cpu/decoder/decoder.h"

namespace rv {

// One instruction as "mnemonic operands"; "(bad)" when Capstone cannot decode it.
std::string disassemble(const u8* bytes, unsigned len, CpuMode mode, u64 address);
std::string hex_bytes(const u8* bytes, unsigned len);

}  // namespace rv
