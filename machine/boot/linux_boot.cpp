#include "machine/boot/linux_boot.h"

#include <algorithm>

#include "machine/boot/cpu_entry.h"

namespace rv::boot {

using namespace bzhdr;

bool looks_like_bzimage(std::span<const u8> d) {
  return d.size() >= kHeader + 4 && get_le<u16>(&d[kBootFlag]) == 0xAA55 && get_le<u32>(&d[kHeader]) == kMagicHdrS;
}

BzImageHeader parse_bzimage(const FileView& f) {
  f.need(0, kHeader + 4, "the bzImage setup header");
  if (f.get<u16>(kBootFlag) != 0xAA55 || f.get<u32>(kHeader) != kMagicHdrS)
    f.fail("not a bzImage (no boot flag 0xAA55 and \"HdrS\" magic at 0x202)");
  BzImageHeader h;
  h.version = f.get<u16>(kVersion);
  if (h.version < 0x206)
    f.fail("Linux boot protocol " + std::to_string(h.version >> 8) + "." + std::to_string(h.version & 0xFF) +
           " is too old: 2.06 or later is required (kernel 2.6.22+)");
  f.need(0, kInitSize + 4, "the setup header");
  const u8 sects = f.get<u8>(kSetupSects);
  h.setup_size = (sects ? sects : 4) * 512u + 512u;
  h.header_end = kHeader + f.get<u8>(kJump + 1);
  if (h.header_end < kCmdlineSize + 4 || h.header_end > h.setup_size) f.fail("the setup header length " + hex(h.header_end) + " is invalid");
  h.header_end = std::min<u32>(h.header_end, zp::kSetupHeaderEnd);
  h.loadflags = f.get<u8>(kLoadFlags);
  if (!(h.loadflags & kLoadedHigh)) f.fail("a zImage (kernel loaded below 1 MiB) is not supported; use a bzImage");
  h.code32_start = f.get<u32>(kCode32Start);
  h.initrd_addr_max = f.get<u32>(kInitrdAddrMax);
  h.kernel_alignment = f.get<u32>(kKernelAlignment);
  h.relocatable = f.get<u8>(kRelocatable) != 0;
  h.cmdline_size = f.get<u32>(kCmdlineSize);
  if (h.version >= 0x208) {
    h.payload_offset = f.get<u32>(kPayloadOffset);
    h.payload_length = f.get<u32>(kPayloadLength);
  }
  if (h.version >= 0x20A) {
    h.pref_address = f.get<u64>(kPrefAddress);
    h.init_size = f.get<u32>(kInitSize);
  }
  if (h.version >= 0x20C) h.xloadflags = f.get<u16>(kXLoadFlags);
  if (h.relocatable && (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1)) || h.kernel_alignment > (1u << 30)))
    f.fail("kernel_alignment " + hex(h.kernel_alignment) + " is not a power of two up to 1 GiB");

  if (f.size() <= h.setup_size) f.fail("truncated: the file ends inside the " + std::to_string(h.setup_size) + "-byte setup code");
  h.kernel_size = f.size() - h.setup_size;
  // syssize: the protected-mode code in 16-byte units (2.04+); a shorter file was cut off.
  const u64 syssize = u64(f.get<u32>(kSysSize)) * 16;
  if (syssize > h.kernel_size)
    f.fail("truncated: the header says " + std::to_string(syssize) + " bytes of kernel, the file has " + std::to_string(h.kernel_size));
  if (h.payload_length && !in_bounds(h.kernel_size, h.payload_offset, h.payload_length))
    f.fail("truncated or corrupt: the compressed kernel [" + hex(h.payload_offset) + "+" + hex(h.payload_length) + "] lies outside the file");
  return h;
}

static u64 initrd_limit(const BzImageHeader& h) {
  // boot.rst: initrd_addr_max is the highest address the initrd may occupy; before 2.03 it
  // was 0x37FFFFFF. Keep below 4 GiB: ramdisk_image is 32 bits wide.
  u64 max = h.initrd_addr_max ? h.initrd_addr_max : 0x37FFFFFF;
  return std::min<u64>(max + 1, kFourGiB);
}

BootResult load_bzimage(PhysMemory& mem, const BootRequest& req) {
  const FileView f(req.kernel, req.kernel_name);
  const BzImageHeader h = parse_bzimage(f);
  bool entry64 = h.has_64bit_entry();
  if (req.linux_entry == LinuxEntry::Bits64 && !entry64) f.fail("the kernel has no 64-bit entry point (xloadflags bit 0)");
  if (req.linux_entry == LinuxEntry::Bits32) entry64 = false;

  BootMemory bm(mem, req.memory_map, req.kernel_name);
  write_boot_gdt(bm, entry64 ? EntryMode::Long64 : EntryMode::Protected32);
  bm.claim("zero page", kBootInfoAddr, kBootInfoSize);
  const u64 cr3 = entry64 ? write_identity_page_tables(bm) : 0;

  // A relocatable kernel runs at max(its load address aligned to kernel_alignment,
  // pref_address) (the decompressor, arch/x86/boot/compressed/head_64.S); load it there so
  // the image and the memory it decompresses into (init_size) are one range.
  const u64 pref = h.pref_address ? h.pref_address : kBzImageLowLoad;
  u64 load = kBzImageLowLoad, run = pref;
  if (h.relocatable) load = run = std::max(align_up(kBzImageLowLoad, h.kernel_alignment), pref);
  const u64 need = std::max<u64>(h.init_size, h.kernel_size);
  if (load + h.kernel_size > kFourGiB || run + need > kFourGiB) f.fail("the kernel's load address " + hex(load) + " is above 4 GiB");
  if (!bm.is_ram(run, need) || (load != run && !bm.is_ram(load, h.kernel_size)))
    f.fail("the machine's RAM is too small for this kernel: it needs " + mib(need) + " from " + hex(run) +
           " (" + mib(run + need) + " of RAM at least), the machine has " + mib(bm.total_ram()));
  if (load == run) {
    bm.claim("kernel", load, need);
  } else {
    bm.claim("kernel", load, h.kernel_size);
    if (h.init_size) bm.claim("kernel (decompressed)", run, h.init_size);
  }
  bm.write(load, f.sub(h.setup_size, h.kernel_size, "the protected-mode kernel"));

  const u64 cmdline = place_cmdline(bm, req.cmdline, h.cmdline_size);
  u64 initrd = 0;
  if (req.has_initrd) initrd = place_initrd(bm, req, initrd_limit(h));

  // The zero page: zeroed, the file's setup header copied in, then the loader's fields.
  std::vector<u8> zpage(kBootInfoSize, 0);
  const auto hdr = f.sub(zp::kSetupHeader, h.header_end - zp::kSetupHeader, "the setup header");
  std::copy(hdr.begin(), hdr.end(), zpage.begin() + zp::kSetupHeader);
  put_le<u8>(zpage, kTypeOfLoader, 0xFF);   // boot.rst: 0xFF, an undefined/unregistered loader
  put_le<u8>(zpage, kLoadFlags, h.loadflags | kCanUseHeap);
  put_le<u16>(zpage, kHeapEndPtr, 0xE000 - 0x200);
  put_le<u32>(zpage, kCode32Start, u32(load));
  put_le<u32>(zpage, kCmdLinePtr, u32(cmdline));
  put_le<u32>(zpage, kRamdiskImage, u32(initrd));
  put_le<u32>(zpage, kRamdiskSize, req.has_initrd ? u32(req.initrd.size()) : 0);
  if (h.version >= 0x20E && req.rsdp_addr) put_le<u64>(zpage, zp::kAcpiRsdpAddr, req.rsdp_addr);
  put_le<u32>(zpage, zp::kAltMemK, u32(std::min<u64>(bm.ram_run_from(0x100000) >> 10, 0xFFFFFFFF)));
  const auto& map = bm.map();
  if (map.size() > zp::kE820Max) f.fail("the memory map has " + std::to_string(map.size()) + " entries; the zero page holds 128");
  put_le<u8>(zpage, zp::kE820Entries, u8(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const u64 e = zp::kE820Table + i * 20;   // struct boot_e820_entry { u64 addr, size; u32 type; }
    put_le<u64>(zpage, e, map[i].base);
    put_le<u64>(zpage, e + 8, map[i].size);
    put_le<u32>(zpage, e + 16, u32(map[i].type));
  }
  bm.write(kBootInfoAddr, zpage);

  BootResult r;
  r.protocol = BootProtocol::LinuxBzImage;
  if (entry64) {
    r.entry = long64_entry(load + 0x200, cr3);   // boot.rst: startup_64 is 0x200 past the load address
  } else {
    r.entry = protected32_entry(load);           // code32_start
  }
  r.entry.rsi = kBootInfoAddr;                   // both entries: %rsi/%esi = boot_params
  r.boot_info = kBootInfoAddr;
  r.placements = bm.take_placements();
  return r;
}

}  // namespace rv::boot
