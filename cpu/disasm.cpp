#include "cpu/disasm.h"

#include <capstone/capstone.h>

#include <cstdio>

namespace rv {
namespace {
struct Handles {
  csh h[3] = {0, 0, 0};
  Handles() {
    cs_open(CS_ARCH_X86, CS_MODE_16, &h[0]);
    cs_open(CS_ARCH_X86, CS_MODE_32, &h[1]);
    cs_open(CS_ARCH_X86, CS_MODE_64, &h[2]);
  }
  ~Handles() {
    for (csh& x : h) if (x) cs_close(&x);
  }
};
}  // namespace

std::string disassemble(const u8* bytes, unsigned len, CpuMode mode, u64 address) {
  static thread_local Handles handles;
  csh h = handles.h[mode == CpuMode::Long64 ? 2 : mode == CpuMode::Prot32 ? 1 : 0];
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(h, bytes, len, address, 1, &insn);
  if (n == 0) return "(bad)";
  std::string s = insn[0].mnemonic;
  if (insn[0].op_str[0]) s += std::string(" ") + insn[0].op_str;
  cs_free(insn, n);
  return s;
}

std::string hex_bytes(const u8* bytes, unsigned len) {
  std::string s;
  char buf[4];
  for (unsigned i = 0; i < len; i++) {
    std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
    s += buf;
  }
  return s;
}

}  // namespace rv
