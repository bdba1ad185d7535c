// A small, bounds-checked reader for the ELF files the PVH and Multiboot loaders accept:
// 32- or 64-bit, little-endian, x86 (EM_386 or EM_X86_64). Only what loading needs: the
// entry point, the program headers, and the notes in PT_NOTE segments.
// (System V gABI, "ELF Header" and "Program Header"; "Note Section".)
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "machine/boot/byte_io.h"

namespace rv::boot {

constexpr u32 kPtLoad = 1;
constexpr u32 kPtNote = 4;

struct ElfSegment {
  u32 type = 0;
  u64 offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0, align = 0;
};

struct ElfImage {
  bool is64 = false;
  u64 entry = 0;
  std::vector<ElfSegment> segments;   // every program header, in file order
};

bool is_elf(std::span<const u8> data);

// Throws BootError for anything malformed: bad class/endianness/machine, program headers
// outside the file, a PT_LOAD whose file bytes lie outside the file, filesz > memsz, or an
// address range that wraps.
ElfImage parse_elf(const FileView& file);

// Calls fn(name, type, desc) for every note in the PT_NOTE segments (name without its NUL).
// Throws BootError on a note that runs past its segment.
void for_each_note(const FileView& file, const ElfImage& elf,
                   const std::function<void(std::string_view, u32, std::span<const u8>)>& fn);

// Loads every PT_LOAD segment at its physical address (p_paddr), zero-filling p_memsz past
// p_filesz. Each segment is claimed in `bm` as "kernel segment N".
class BootMemory;
void load_elf_segments(BootMemory& bm, const FileView& file, const ElfImage& elf);

// The physical address of `vaddr` if some PT_LOAD maps it (p_vaddr -> p_paddr), else vaddr.
u64 elf_virt_to_phys(const ElfImage& elf, u64 vaddr);

}  // namespace rv::boot
