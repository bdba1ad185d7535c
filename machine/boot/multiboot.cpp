#include "machine/boot/multiboot.h"

#include <algorithm>

#include "machine/boot/cpu_entry.h"
#include "machine/boot/elf.h"

namespace rv::boot {

std::optional<MultibootHeader> find_multiboot_header(std::span<const u8> d, bool* bad_checksum) {
  const u64 end = std::min<u64>(d.size(), kMultibootSearch);
  for (u64 off = 0; off + 12 <= end; off += 4) {
    if (get_le<u32>(&d[off]) != kMultibootMagic) continue;
    const u32 flags = get_le<u32>(&d[off + 4]), sum = get_le<u32>(&d[off + 8]);
    if (u32(kMultibootMagic + flags + sum) != 0) {
      if (bad_checksum) *bad_checksum = true;
      continue;
    }
    MultibootHeader h;
    h.offset = off;
    h.flags = flags;
    if ((flags & kMbAoutKludge) && in_bounds(d.size(), off + 12, 20)) {
      h.header_addr = get_le<u32>(&d[off + 12]);
      h.load_addr = get_le<u32>(&d[off + 16]);
      h.load_end_addr = get_le<u32>(&d[off + 20]);
      h.bss_end_addr = get_le<u32>(&d[off + 24]);
      h.entry_addr = get_le<u32>(&d[off + 28]);
    }
    return h;
  }
  return std::nullopt;
}

// Loads an a.out-kludge image (spec §3.1.3): the byte at header_addr is the header, so the
// file offset of load_addr is header offset - (header_addr - load_addr).
static u64 load_kludge(BootMemory& bm, const FileView& f, const MultibootHeader& h) {
  f.need(h.offset + 12, 20, "the multiboot address fields");
  if (h.load_addr > h.header_addr) f.fail("multiboot load_addr " + hex(h.load_addr) + " is above header_addr " + hex(h.header_addr));
  const u64 back = u64(h.header_addr) - h.load_addr;
  if (back > h.offset) f.fail("multiboot header_addr - load_addr (" + hex(back) + ") reaches before the start of the file");
  const u64 file_off = h.offset - back;
  u64 load_len = f.size() - file_off;
  if (h.load_end_addr) {
    if (h.load_end_addr < h.load_addr) f.fail("multiboot load_end_addr " + hex(h.load_end_addr) + " is below load_addr");
    load_len = u64(h.load_end_addr) - h.load_addr;
  }
  f.need(file_off, load_len, "the multiboot image (load_addr to load_end_addr)");
  u64 mem_end = h.load_addr + load_len;
  if (h.bss_end_addr) {
    if (h.bss_end_addr < mem_end) f.fail("multiboot bss_end_addr " + hex(h.bss_end_addr) + " is below the end of the loaded image");
    mem_end = h.bss_end_addr;
  }
  bm.claim("kernel", h.load_addr, mem_end - h.load_addr);
  bm.write(h.load_addr, f.sub(file_off, load_len, "the multiboot image"));
  bm.zero(h.load_addr + load_len, mem_end - h.load_addr - load_len);
  if (h.entry_addr < h.load_addr || h.entry_addr >= mem_end)
    f.fail("multiboot entry_addr " + hex(h.entry_addr) + " is outside the loaded image");
  return h.entry_addr;
}

static u64 load_elf_kernel(BootMemory& bm, const FileView& f) {
  const ElfImage elf = parse_elf(f);
  load_elf_segments(bm, f, elf);
  // The entry is a virtual address; GRUB turns it into a physical one through the segment
  // that contains it, so kernels linked high with AT() load addresses work.
  const u64 entry = elf_virt_to_phys(elf, elf.entry);
  bool inside = false;
  for (const ElfSegment& s : elf.segments) inside |= s.type == kPtLoad && entry >= s.paddr && entry - s.paddr < s.memsz;
  if (!inside) f.fail("the ELF entry point " + hex(elf.entry) + " is not inside a loaded segment");
  return entry;
}

BootResult load_multiboot(PhysMemory& mem, const BootRequest& req) {
  const FileView f(req.kernel, req.kernel_name);
  bool bad = false;
  const auto h = find_multiboot_header(req.kernel, &bad);
  if (!h) f.fail(bad ? "the multiboot header has a bad checksum" : "no multiboot header in the first 8 KiB");
  // Bits 0-15 are requirements: a loader must refuse ones it does not know (spec §3.1.2).
  const u32 unknown = h->flags & 0xFFFF & ~(kMbPageAlign | kMbMemInfo | kMbVideoMode);
  if (unknown) f.fail("the multiboot header requires features this loader does not know (flags " + hex(unknown) + ")");

  BootMemory bm(mem, req.memory_map, req.kernel_name);
  write_boot_gdt(bm, EntryMode::Protected32);
  bm.claim("multiboot info", kBootInfoAddr, kBootInfoSize);
  u64 entry;
  if (h->flags & kMbAoutKludge) entry = load_kludge(bm, f, *h);
  else if (is_elf(req.kernel)) entry = load_elf_kernel(bm, f);
  else f.fail("the multiboot kernel is not ELF and has no address fields (flags bit 16)");
  if (entry >= kFourGiB) f.fail("the entry point " + hex(entry) + " is above 4 GiB");

  // As GRUB and QEMU pass it: the kernel's file name, then the command line (kernels take
  // argv[0] from it; issue 14 item 9).
  const std::string line = req.cmdline.empty() ? req.kernel_name : req.kernel_name + " " + req.cmdline;
  const u64 cmdline = place_cmdline(bm, line, kMaxCmdline - 1);
  u64 initrd = 0;
  if (req.has_initrd) initrd = place_initrd(bm, req, kFourGiB);   // always page-aligned (flags bit 0)

  const auto& map = bm.map();
  if (map.size() > 128) f.fail("the memory map has " + std::to_string(map.size()) + " entries (at most 128)");
  std::vector<u8> info(kBootInfoSize, 0);
  u32 flags = mbi::kHasMem | mbi::kHasCmdline | mbi::kHasMods | mbi::kHasMmap | mbi::kHasLoaderName;
  put_le<u32>(info, mbi::kFlags, flags);
  put_le<u32>(info, mbi::kMemLower, u32(std::min<u64>(bm.ram_run_from(0), 640 * 1024) >> 10));
  put_le<u32>(info, mbi::kMemUpper, u32(std::min<u64>(bm.ram_run_from(0x100000), kFourGiB - 0x100000) >> 10));
  put_le<u32>(info, mbi::kCmdline, u32(cmdline));
  put_le<u32>(info, mbi::kModsCount, req.has_initrd ? 1 : 0);
  put_le<u32>(info, mbi::kModsAddr, u32(kBootInfoAddr + mbi::kModsOffset));
  if (req.has_initrd) {
    // struct multiboot_mod_list { u32 mod_start, mod_end, cmdline, pad; }; mod_end is exclusive.
    put_le<u32>(info, mbi::kModsOffset + 0, u32(initrd));
    put_le<u32>(info, mbi::kModsOffset + 4, u32(initrd + req.initrd.size()));
    put_le<u32>(info, mbi::kModsOffset + 8, u32(kBootInfoAddr + mbi::kModNameOffset));
    const std::string name = req.initrd_name.substr(0, 255);
    put_bytes(info, mbi::kModNameOffset, name.c_str(), name.size() + 1);
  }
  // mmap entries: { u32 size (20: the bytes after this field), u64 base, u64 length, u32 type }.
  for (size_t i = 0; i < map.size(); ++i) {
    const u64 e = mbi::kMmapOffset + i * 24;
    put_le<u32>(info, e, 20);
    put_le<u64>(info, e + 4, map[i].base);
    put_le<u64>(info, e + 12, map[i].size);
    put_le<u32>(info, e + 20, u32(map[i].type));
  }
  put_le<u32>(info, mbi::kMmapLength, u32(map.size() * 24));
  put_le<u32>(info, mbi::kMmapAddr, u32(kBootInfoAddr + mbi::kMmapOffset));
  static const char kName[] = "Retrovisor";
  put_bytes(info, mbi::kLoaderNameOffset, kName, sizeof kName);
  put_le<u32>(info, mbi::kBootLoaderName, u32(kBootInfoAddr + mbi::kLoaderNameOffset));
  info.resize(kBootInfoSize);
  bm.write(kBootInfoAddr, info);

  BootResult r;
  r.protocol = BootProtocol::Multiboot;
  r.entry = protected32_entry(entry);
  r.entry.rax = kMultibootBootloaderMagic;
  r.entry.rbx = kBootInfoAddr;
  r.boot_info = kBootInfoAddr;
  r.placements = bm.take_placements();
  return r;
}

}  // namespace rv::boot
