#include "machine/boot/elf.h"

#include "machine/boot/boot_memory.h"

namespace rv::boot {

namespace {
constexpr u16 kEm386 = 3;
constexpr u16 kEmX8664 = 62;
constexpr u64 kMaxPhdrs = 4096;
}  // namespace

bool is_elf(std::span<const u8> d) {
  return d.size() >= 4 && d[0] == 0x7F && d[1] == 'E' && d[2] == 'L' && d[3] == 'F';
}

ElfImage parse_elf(const FileView& f) {
  if (!is_elf(f.bytes())) f.fail("not an ELF file");
  f.need(0, 52, "the ELF header");
  const u8 cls = f.get<u8>(4), data = f.get<u8>(5);
  if (cls != 1 && cls != 2) f.fail("bad ELF class " + std::to_string(cls));
  if (data != 1) f.fail("not a little-endian ELF file");
  ElfImage elf;
  elf.is64 = cls == 2;
  const u16 machine = f.get<u16>(18);
  if (machine != kEm386 && machine != kEmX8664) f.fail("ELF machine " + std::to_string(machine) + " is not x86");
  u64 phoff;
  u16 phentsize, phnum;
  if (elf.is64) {
    f.need(0, 64, "the ELF64 header");
    elf.entry = f.get<u64>(24);
    phoff = f.get<u64>(32);
    phentsize = f.get<u16>(54);
    phnum = f.get<u16>(56);
  } else {
    elf.entry = f.get<u32>(24);
    phoff = f.get<u32>(28);
    phentsize = f.get<u16>(42);
    phnum = f.get<u16>(44);
  }
  const u16 min_ent = elf.is64 ? 56 : 32;
  if (phnum == 0) f.fail("the ELF file has no program headers");
  if (phnum > kMaxPhdrs) f.fail("the ELF file has " + std::to_string(phnum) + " program headers (at most 4096)");
  if (phentsize < min_ent) f.fail("ELF program header size " + std::to_string(phentsize) + " is too small");
  f.need(phoff, u64(phentsize) * phnum, "the ELF program headers");
  for (u16 i = 0; i < phnum; ++i) {
    const u64 p = phoff + u64(i) * phentsize;
    ElfSegment s;
    s.type = f.get<u32>(p);
    if (elf.is64) {
      s.offset = f.get<u64>(p + 8); s.vaddr = f.get<u64>(p + 16); s.paddr = f.get<u64>(p + 24);
      s.filesz = f.get<u64>(p + 32); s.memsz = f.get<u64>(p + 40); s.align = f.get<u64>(p + 48);
    } else {
      s.offset = f.get<u32>(p + 4); s.vaddr = f.get<u32>(p + 8); s.paddr = f.get<u32>(p + 12);
      s.filesz = f.get<u32>(p + 16); s.memsz = f.get<u32>(p + 20); s.align = f.get<u32>(p + 28);
    }
    const std::string name = "ELF segment " + std::to_string(i);
    if (s.type == kPtLoad || s.type == kPtNote) {
      f.need(s.offset, s.filesz, name);
      u64 end;
      if (s.type == kPtLoad && (s.filesz > s.memsz || !add_ok(s.paddr, s.memsz, end) || !add_ok(s.vaddr, s.memsz, end)))
        f.fail(name + " is malformed (file size " + hex(s.filesz) + ", memory size " + hex(s.memsz) + " at " + hex(s.paddr) + ")");
    }
    elf.segments.push_back(s);
  }
  return elf;
}

void for_each_note(const FileView& f, const ElfImage& elf,
                   const std::function<void(std::string_view, u32, std::span<const u8>)>& fn) {
  for (const ElfSegment& s : elf.segments) {
    if (s.type != kPtNote) continue;
    // Notes are 4-byte aligned, or 8-byte aligned in a segment aligned to 8 (gABI "Note Section").
    const u64 al = s.align == 8 ? 8 : 4;
    std::span<const u8> seg = f.sub(s.offset, s.filesz, "an ELF note segment");
    u64 off = 0;
    while (seg.size() - off >= 12) {
      const u32 namesz = get_le<u32>(&seg[off]), descsz = get_le<u32>(&seg[off + 4]), type = get_le<u32>(&seg[off + 8]);
      const u64 name_off = off + 12, desc_off = name_off + align_up(namesz, al);
      if (!in_bounds(seg.size(), name_off, namesz) || !in_bounds(seg.size(), desc_off, descsz))
        f.fail("an ELF note at offset " + hex(s.offset + off) + " runs past its segment");
      std::string_view name(reinterpret_cast<const char*>(&seg[name_off]), namesz);
      if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
      fn(name, type, seg.subspan(desc_off, descsz));
      off = desc_off + align_up(descsz, al);
    }
  }
}

void load_elf_segments(BootMemory& bm, const FileView& f, const ElfImage& elf) {
  int n = 0;
  for (const ElfSegment& s : elf.segments) {
    if (s.type != kPtLoad || s.memsz == 0) continue;
    const std::string what = "kernel segment " + std::to_string(n++);
    bm.claim(what, s.paddr, s.memsz);
    bm.write(s.paddr, f.sub(s.offset, s.filesz, what));
    bm.zero(s.paddr + s.filesz, s.memsz - s.filesz);
  }
  if (n == 0) f.fail("the ELF file has nothing to load (no PT_LOAD segment)");
}

u64 elf_virt_to_phys(const ElfImage& elf, u64 vaddr) {
  for (const ElfSegment& s : elf.segments)
    if (s.type == kPtLoad && vaddr >= s.vaddr && vaddr - s.vaddr < s.memsz) return s.paddr + (vaddr - s.vaddr);
  return vaddr;
}

}  // namespace rv::boot
