// The whole board's devices through port I/O, with time passing: the input is a list of
// 5-byte commands (kind, port, value) turned into a real-mode ROM program (OUT/IN of 8, 16
// and 32 bits, delay loops, STI/CLI/HLT) and run on a fresh Pc for a bounded number of
// instructions. Ports are mostly the board's own (PIC, ELCR, PIT, port 0x61, RTC, COM1-2,
// i8042, port 0x92, PCI configuration, the reset register, fw_cfg and its DMA interface,
// ACPI PM, POST), sometimes any. Every run must end with one of the documented stops: never
// a crash, a sanitizer report or a hang.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "machine/pc.h"

namespace {

const uint16_t kPorts[] = {0x20,  0x21,  0xA0,  0xA1,  0x4D0, 0x4D1, 0x40,  0x41,  0x42,  0x43,  0x61,  0x70,
                           0x71,  0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF, 0x2F8, 0x2F9, 0x2FD,
                           0x60,  0x64,  0x92,  0xCF8, 0xCFC, 0xCFD, 0xCFE, 0xCFF, 0xCF9, 0x510, 0x511, 0x514,
                           0x518, 0x600, 0x602, 0x604, 0x608, 0x80};

void emit(std::vector<uint8_t>& c, std::initializer_list<uint8_t> b) { c.insert(c.end(), b); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kRom = 0x10000, kCodeMax = 0xF000;
  std::vector<uint8_t> code;
  for (size_t i = 0; i + 5 <= size && code.size() < kCodeMax - 32; i += 5) {
    const uint8_t kind = data[i];
    uint16_t port = static_cast<uint16_t>(data[i + 1] | data[i + 2] << 8);
    if (!(port & 0x8000)) port = kPorts[port % (sizeof kPorts / sizeof kPorts[0])];
    const uint8_t lo = data[i + 3], hi = data[i + 4];
    if (port == 0xF4 || port == 0xF5) port = 0x80;   // not the debug exit: keep running
    emit(code, {0xBA, static_cast<uint8_t>(port), static_cast<uint8_t>(port >> 8)});   // mov dx, port
    switch (kind % 9) {
      case 0: emit(code, {0xB0, lo, 0xEE}); break;                                  // mov al; out dx, al
      case 1: emit(code, {0xB8, lo, hi, 0xEF}); break;                              // mov ax; out dx, ax
      case 2: emit(code, {0x66, 0xB8, lo, hi, lo, hi, 0x66, 0xEF}); break;          // out dx, eax
      case 3: emit(code, {0xEC}); break;                                            // in al, dx
      case 4: emit(code, {0xED}); break;                                            // in ax, dx
      case 5: emit(code, {0x66, 0xED}); break;                                      // in eax, dx
      case 6: emit(code, {0xB9, lo, static_cast<uint8_t>(hi & 0x3F), 0xE2, 0xFE}); break;   // mov cx; loop $
      case 7: emit(code, {0xFB, 0x90, 0xFA}); break;                                // sti; nop; cli (an interrupt window)
      default: emit(code, {0xFB, 0xF4}); break;                                     // sti; hlt (wait for an IRQ)
    }
  }
  emit(code, {0xFA, 0xF4});   // cli; hlt: the end
  std::vector<uint8_t> rom(kRom, 0xF4);
  // Real-mode IVT entries are 0 (RAM): point them all at an IRET in the ROM first.
  std::vector<uint8_t> pro = {0x31, 0xC0, 0x8E, 0xC0, 0x31, 0xFF, 0xB9, 0x00, 0x01,   // xor ax,ax; mov es,ax; xor di,di; mov cx,256
                              0xB8, 0xFF, 0xFF, 0xAB, 0xB8, 0x00, 0xF0, 0xAB, 0xE2, 0xF6,   // l: mov ax,0xFFFF; stosw; mov ax,0xF000; stosw; loop l
                              0x31, 0xC0, 0x8E, 0xD0, 0xBC, 0x00, 0x7C};   // xor ax,ax; mov ss,ax; mov sp,0x7C00
  std::memcpy(rom.data(), pro.data(), pro.size());
  std::memcpy(rom.data() + pro.size(), code.data(), code.size());
  rom[0xFFFF] = 0xCF;   // F000:FFFF: IRET (the interrupt handlers)
  const uint8_t reset[] = {0xEA, 0x00, 0x00, 0x00, 0xF0};   // jmp F000:0000
  std::memcpy(rom.data() + 0xFFF0, reset, sizeof reset);
  rv::PcConfig cfg;
  cfg.ram_bytes = 2 << 20;
  cfg.bios = std::make_shared<const std::vector<uint8_t>>(std::move(rom));
  cfg.max_insns = 200000;
  cfg.on_triple_fault = rv::TripleFaultAction::Stop;
  rv::Pc pc(cfg);
  pc.run();
  return 0;
}
