// Types shared by the direct-boot loaders (machine/boot/): what the board passes in (a kernel
// image, an initrd, a command line and its memory map) and what a loader hands back (the
// CPU's entry state as data, and where everything went). The loaders write guest memory
// through PhysMemory and never touch the CPU: the board applies EntryState to CpuState.
//
// Errors: kernel images, initrds and command lines are host input and may be hostile or
// broken (DESIGN.md decision 11). Every problem is a BootError whose message names the
// file and the problem in one line; the frontend prints it and exits with status 2.
#pragma once
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "memory/types.h"

namespace rv::boot {

class BootError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// BIOS INT 15h E820 address range types (ACPI 6.4 §15.3, Table 15.312).
enum class E820Type : u32 { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 };

struct E820Entry {
  u64 base = 0;
  u64 size = 0;
  E820Type type = E820Type::Ram;
  bool operator==(const E820Entry&) const = default;
};

// One range of guest memory a loader filled (kernel, initrd, zero page, ...).
struct Placement {
  std::string what;
  u64 base = 0;
  u64 size = 0;
};

// A segment register with its descriptor cache, packed as cpu/state.h's Segment: attr holds
// descriptor bits 40-47 in bits 0-7 (type, S, DPL, P) and bits 52-55 in bits 12-15
// (AVL, L, D/B, G); limit is the expanded byte limit.
struct BootSegment {
  u16 sel = 0;
  u16 attr = 0;
  u32 limit = 0;
  u64 base = 0;
  bool operator==(const BootSegment&) const = default;
};

struct BootTable {
  u64 base = 0;
  u32 limit = 0;
  bool operator==(const BootTable&) const = default;
};

enum class EntryMode : u8 { Protected32, Long64 };

// The CPU state at the kernel's first instruction. Registers not listed here are zero.
struct EntryState {
  EntryMode mode = EntryMode::Protected32;
  u64 rip = 0, rsp = 0, rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rbp = 0;
  u64 rflags = 0x2;                        // IF=0: interrupts disabled in every protocol
  u64 cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
  BootSegment cs, ds, es, fs, gs, ss, tr;
  BootTable gdtr, idtr;
};

enum class BootProtocol : u8 { LinuxBzImage, Pvh, Multiboot };
const char* protocol_name(BootProtocol p);

// Which entry point of a bzImage to use. Auto: 64-bit when the kernel has one
// (xloadflags XLF_KERNEL_64), else the 32-bit protected-mode entry.
enum class LinuxEntry : u8 { Auto, Bits64, Bits32 };

struct BootRequest {
  std::span<const u8> kernel;
  std::string kernel_name = "kernel";
  bool has_initrd = false;
  std::span<const u8> initrd;
  std::string initrd_name = "initrd";
  std::string cmdline;
  // The board's memory map: RAM, reserved and ACPI ranges. Loaders place data only in
  // E820Type::Ram ranges and hand the map to the guest (e820 / PVH memmap / multiboot mmap).
  std::vector<E820Entry> memory_map;
  u64 rsdp_addr = 0;     // ACPI RSDP for PVH rsdp_paddr and boot_params.acpi_rsdp_addr; 0: none
  LinuxEntry linux_entry = LinuxEntry::Auto;
};

struct BootResult {
  BootProtocol protocol = BootProtocol::LinuxBzImage;
  EntryState entry;
  u64 boot_info = 0;                 // zero page, hvm_start_info or multiboot_info
  std::vector<Placement> placements; // in the order they were made
  const Placement* find(const std::string& what) const;
};

}  // namespace rv::boot
