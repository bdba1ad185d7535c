// The monitor's command line on random input, over a machine whose memory and paging state
// come from the input too, so that the teaching views walk hostile page tables and
// descriptor tables: every command answers (a reply or an error line); never a crash, a hang
// or an unbounded output. Input: byte 0 = paging mode (bit 0 PG, bit 1 PAE, bit 2 long mode,
// bit 3 PSE, bit 4 NX), bytes 1-8 = CR3 (and table limits), bytes 9-10 = N, then N bytes
// copied to RAM at 0 (tables, GDT at 0x1000, IDT at 0x2000, LDT at 0x3000), then the
// command lines. savevm and loadvm are skipped
// (they touch host files).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "frontends/monitor.h"
#include "machine/pc.h"
#include "tests/fuzz/fuzz_machine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 11) return 0;
  rv::Pc& pc = fuzz_machine(100);
  rv::CpuState& s = pc.cpu().state();
  const uint8_t mode = data[0];
  uint64_t cr3;
  std::memcpy(&cr3, data + 1, 8);
  s.cr0 = 0x60000010 | 1 | ((mode & 1) ? 0x80000000u : 0);
  s.cr4 = ((mode & 2) ? 0x20 : 0) | ((mode & 8) ? 0x10 : 0);
  s.efer = ((mode & 4) && (mode & 2) && (mode & 1) ? 0x500 : 0) | ((mode & 16) ? 0x800 : 0);
  s.cr3 = cr3 & 0x1FFFFF;   // inside (or just past) the 2 MiB of RAM
  s.gdtr = {0x1000, static_cast<rv::u32>(cr3 >> 32) & 0xFFFF};
  s.idtr = {0x2000, static_cast<rv::u32>(cr3 >> 48) & 0xFFFF};
  s.ldtr.sel = static_cast<rv::u16>(cr3 >> 40) & 0xFFF8;
  s.ldtr.base = 0x3000;
  s.ldtr.limit = static_cast<rv::u32>(cr3 >> 21) & 0xFFFF;
  pc.cpu().state_changed();
  size_t at = 11;
  const size_t ram = std::min<size_t>(size - at, static_cast<size_t>(data[9] | data[10] << 8));
  pc.memory().write_bytes(0, data + at, ram);
  at += ram;
  rv::Monitor m(pc);
  std::string_view rest(reinterpret_cast<const char*>(data + at), size - at);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t w = line.find_first_not_of(" \t");
    if (w != std::string_view::npos && (line.substr(w, 6) == "savevm" || line.substr(w, 6) == "loadvm")) continue;
    const rv::Monitor::Reply r = m.execute(line);
    if (r.text.size() > (1u << 20)) __builtin_trap();   // a reply of over 1 MiB: unbounded output
  }
  return 0;
}
