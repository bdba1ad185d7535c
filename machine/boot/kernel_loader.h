// The entry point of machine/boot/: `--kernel FILE` picks the protocol from the file.
//   a bzImage ("HdrS" setup header)                -> Linux boot protocol (linux_boot.h)
//   an ELF file with a Xen PVH entry note          -> PVH (pvh_boot.h)
//   a Multiboot v1 header in the first 8 KiB       -> Multiboot (multiboot.h)
// A file that is none of these gets a BootError saying what was looked for.
#pragma once
#include <optional>

#include "machine/boot/boot_types.h"

namespace rv {
class PhysMemory;
}

namespace rv::boot {

struct Detection {
  std::optional<BootProtocol> protocol;
  std::string why_not;   // when no protocol matched: what the file is and what is missing
};

// Looks at the file only (no loading); never throws.
Detection detect_protocol(std::span<const u8> kernel);

// Detects the protocol and loads the kernel, initrd and command line into `mem`.
// Throws BootError (one line: file name and problem).
BootResult load_kernel(PhysMemory& mem, const BootRequest& req);

// The memory map of the PC board (machine/pc.h map_memory()): RAM below 640 KiB, the BIOS
// area 0xE0000-0xFFFFF reserved (ACPI tables live there for direct boots), RAM from 1 MiB
// to the PCI hole, and the RAM above it relocated to 4 GiB.
std::vector<E820Entry> pc_memory_map(u64 ram_bytes, u64 pci_hole_start = 0xE0000000);

}  // namespace rv::boot
