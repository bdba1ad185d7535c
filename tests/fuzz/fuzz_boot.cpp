// The kernel loaders (bzImage, ELF with a PVH note, Multiboot) on random and mutated images:
// building the board loads the kernel (and an initrd, from the same bytes when the first one
// says so); a bad image must be a ConfigError or boot::BootError with a message, never a
// crash or a read outside the image. A loaded kernel then runs a few thousand instructions.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "machine/pc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  rv::PcConfig cfg;
  cfg.ram_bytes = 32 << 20;
  cfg.kernel = std::make_shared<const std::vector<uint8_t>>(data + 1, data + size);
  if (data[0] & 1) cfg.initrd = std::make_shared<const std::vector<uint8_t>>(data + 1, data + size / 2 + 1);
  cfg.cmdline = "console=ttyS0";
  cfg.max_insns = 5000;
  try {
    rv::Pc pc(cfg);
    pc.run();
  } catch (const std::exception&) {
    // ConfigError / BootError: the one-line refusal the CLI prints
  }
  return 0;
}
