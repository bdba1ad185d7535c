#include "machine/boot/kernel_loader.h"

#include <algorithm>

#include "machine/boot/byte_io.h"
#include "machine/boot/elf.h"
#include "machine/boot/linux_boot.h"
#include "machine/boot/multiboot.h"
#include "machine/boot/pvh_boot.h"

namespace rv::boot {

Detection detect_protocol(std::span<const u8> k) {
  Detection d;
  if (k.empty()) {
    d.why_not = "the file is empty";
    return d;
  }
  if (looks_like_bzimage(k)) {
    d.protocol = BootProtocol::LinuxBzImage;
    return d;
  }
  bool bad_checksum = false;
  const bool multiboot = find_multiboot_header(k, &bad_checksum).has_value();
  if (is_elf(k)) {
    try {
      const FileView f(k, "");
      const ElfImage elf = parse_elf(f);
      if (find_pvh_entry(f, elf)) {
        d.protocol = BootProtocol::Pvh;
        return d;
      }
    } catch (const BootError&) {
      // A malformed ELF file: the loader it falls to reports the details.
      if (!multiboot) {
        d.protocol = BootProtocol::Pvh;
        return d;
      }
    }
    if (multiboot) {
      d.protocol = BootProtocol::Multiboot;
      return d;
    }
    d.why_not = "an ELF file without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) or a multiboot header";
    return d;
  }
  if (multiboot) {
    d.protocol = BootProtocol::Multiboot;
    return d;
  }
  if (bad_checksum) {
    d.why_not = "the multiboot header has a bad checksum";
    return d;
  }
  if (k.size() > 0x1FF && get_le<u16>(&k[0x1FE]) == 0xAA55)
    d.why_not = "not a kernel: a boot sector without a Linux setup header (\"HdrS\")";
  else
    d.why_not = "not a kernel (no bzImage setup header, PVH ELF note or multiboot header)";
  return d;
}

BootResult load_kernel(PhysMemory& mem, const BootRequest& req) {
  const Detection d = detect_protocol(req.kernel);
  if (!d.protocol) throw BootError(req.kernel_name + ": " + d.why_not);
  switch (*d.protocol) {
    case BootProtocol::LinuxBzImage: return load_bzimage(mem, req);
    case BootProtocol::Pvh: return load_pvh(mem, req);
    case BootProtocol::Multiboot: return load_multiboot(mem, req);
  }
  throw BootError(req.kernel_name + ": unknown boot protocol");
}

std::vector<E820Entry> pc_memory_map(u64 ram, u64 hole) {
  std::vector<E820Entry> m;
  m.push_back({0, std::min<u64>(ram, 0xA0000), E820Type::Ram});
  m.push_back({0xE0000, 0x20000, E820Type::Reserved});
  if (ram > 0x100000) m.push_back({0x100000, std::min(ram, hole) - 0x100000, E820Type::Ram});
  if (ram > hole) m.push_back({kFourGiB, ram - hole, E820Type::Ram});
  return m;
}

}  // namespace rv::boot
