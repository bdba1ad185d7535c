#include "machine/boot/pvh_boot.h"

#include "machine/boot/cpu_entry.h"

namespace rv::boot {

std::optional<u64> find_pvh_entry(const FileView& f, const ElfImage& elf) {
  std::optional<u64> entry;
  for_each_note(f, elf, [&](std::string_view name, u32 type, std::span<const u8> desc) {
    if (name != "Xen" || type != kXenElfnotePhys32Entry) return;
    // Linux emits the address with _ASM_PTR: 8 bytes in a 64-bit kernel, 4 in a 32-bit one.
    if (desc.size() == 4) entry = get_le<u32>(desc.data());
    else if (desc.size() == 8) entry = get_le<u64>(desc.data());
    else f.fail("the PVH entry note has a " + std::to_string(desc.size()) + "-byte value (4 or 8 expected)");
  });
  return entry;
}

BootResult load_pvh(PhysMemory& mem, const BootRequest& req) {
  const FileView f(req.kernel, req.kernel_name);
  const ElfImage elf = parse_elf(f);
  const std::optional<u64> entry = find_pvh_entry(f, elf);
  if (!entry) f.fail("the ELF file has no PVH entry note (Xen note XEN_ELFNOTE_PHYS32_ENTRY)");
  if (*entry >= kFourGiB) f.fail("the PVH entry point " + hex(*entry) + " is above 4 GiB");

  BootMemory bm(mem, req.memory_map, req.kernel_name);
  write_boot_gdt(bm, EntryMode::Protected32);
  bm.claim("start info", kBootInfoAddr, kBootInfoSize);
  load_elf_segments(bm, f, elf);
  bool inside = false;
  for (const ElfSegment& s : elf.segments)
    inside |= s.type == kPtLoad && *entry >= s.paddr && *entry - s.paddr < s.memsz;
  if (!inside) f.fail("the PVH entry point " + hex(*entry) + " is not inside a loaded segment");

  const u64 cmdline = place_cmdline(bm, req.cmdline, kMaxCmdline - 1);
  u64 initrd = 0;
  if (req.has_initrd) initrd = place_initrd(bm, req, kFourGiB);

  const auto& map = bm.map();
  if (map.size() > hvm::kMemmapMax) f.fail("the memory map has " + std::to_string(map.size()) + " entries (at most 128)");
  std::vector<u8> info(kBootInfoSize, 0);
  put_le<u32>(info, hvm::kMagic, kHvmStartMagic);
  put_le<u32>(info, hvm::kVersion, 1);
  put_le<u32>(info, hvm::kFlags, 0);
  put_le<u64>(info, hvm::kCmdlinePaddr, cmdline);
  put_le<u64>(info, hvm::kRsdpPaddr, req.rsdp_addr);
  if (req.has_initrd) {
    put_le<u32>(info, hvm::kNrModules, 1);
    put_le<u64>(info, hvm::kModlistPaddr, kBootInfoAddr + hvm::kModlistOffset);
    put_le<u64>(info, hvm::kModlistOffset + 0, initrd);              // paddr
    put_le<u64>(info, hvm::kModlistOffset + 8, req.initrd.size());   // size
    // cmdline_paddr 0 (no module command line), reserved 0
  }
  put_le<u64>(info, hvm::kMemmapPaddr, kBootInfoAddr + hvm::kMemmapOffset);
  put_le<u32>(info, hvm::kMemmapEntries, u32(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const u64 e = hvm::kMemmapOffset + i * 24;   // { u64 addr, size; u32 type, reserved; }
    put_le<u64>(info, e, map[i].base);
    put_le<u64>(info, e + 8, map[i].size);
    put_le<u32>(info, e + 16, u32(map[i].type));
  }
  info.resize(kBootInfoSize);
  bm.write(kBootInfoAddr, info);

  BootResult r;
  r.protocol = BootProtocol::Pvh;
  r.entry = protected32_entry(*entry);
  r.entry.rbx = kBootInfoAddr;
  r.boot_info = kBootInfoAddr;
  r.placements = bm.take_placements();
  return r;
}

}  // namespace rv::boot
