#include "boot_test_util.h"

namespace rv::boot::test {

std::vector<u8> le_bytes(u64 v, unsigned n) {
  std::vector<u8> b(n);
  for (unsigned i = 0; i < n; ++i) b[i] = u8(v >> (8 * i));
  return b;
}

std::vector<u8> build_bzimage(const FakeBzImage& o) {
  const u64 setup = (o.setup_sects ? o.setup_sects : 4) * 512u + 512u;
  std::vector<u8> f(setup, 0);
  auto k = pattern(o.kernel_bytes, 3);
  f.insert(f.end(), k.begin(), k.end());
  put_le<u8>(f, 0x1F1, o.setup_sects);
  put_le<u32>(f, 0x1F4, o.kernel_bytes / 16);     // syssize
  put_le<u16>(f, 0x1FA, 0xFFFF);                  // vid_mode
  put_le<u16>(f, 0x1FE, 0xAA55);
  put_le<u8>(f, 0x200, 0xEB);
  put_le<u8>(f, 0x201, o.header_len);
  put_bytes(f, 0x202, "HdrS", 4);
  put_le<u16>(f, 0x206, o.version);
  put_le<u8>(f, 0x211, o.loadflags);
  put_le<u32>(f, 0x214, 0x100000);
  put_le<u32>(f, 0x22C, o.initrd_addr_max);
  put_le<u32>(f, 0x230, o.kernel_alignment);
  put_le<u8>(f, 0x234, o.relocatable);
  put_le<u16>(f, 0x236, o.xloadflags);
  put_le<u32>(f, 0x238, o.cmdline_size);
  put_le<u32>(f, 0x248, o.payload_offset);
  put_le<u32>(f, 0x24C, o.payload_length);
  put_le<u64>(f, 0x258, o.pref_address);
  put_le<u32>(f, 0x260, o.init_size);
  put_le<u8>(f, 0x290, 0xEE);                     // past the header: must not be copied
  return f;
}

std::vector<u8> elf_note(const std::string& name, u32 type, const std::vector<u8>& desc) {
  std::vector<u8> n;
  put_le<u32>(n, 0, u32(name.size() + 1));
  put_le<u32>(n, 4, u32(desc.size()));
  put_le<u32>(n, 8, type);
  put_bytes(n, 12, name.c_str(), name.size() + 1);
  n.resize(align_up(n.size(), 4), 0);
  n.insert(n.end(), desc.begin(), desc.end());
  n.resize(align_up(n.size(), 4), 0);
  return n;
}

std::vector<u8> build_elf(bool is64, u64 entry, const std::vector<ElfSeg>& segs, u16 machine) {
  const u64 eh = is64 ? 64 : 52, ph = is64 ? 56 : 32;
  std::vector<u8> f(eh + ph * segs.size(), 0);
  const u8 ident[] = {0x7F, 'E', 'L', 'F', u8(is64 ? 2 : 1), 1, 1};
  put_bytes(f, 0, ident, sizeof ident);
  put_le<u16>(f, 16, 2);                           // ET_EXEC
  put_le<u16>(f, 18, machine ? machine : (is64 ? 62 : 3));
  put_le<u32>(f, 20, 1);
  std::vector<u64> offsets;
  for (const ElfSeg& s : segs) {
    f.resize(align_up(f.size(), 16), 0);
    offsets.push_back(f.size());
    f.insert(f.end(), s.data.begin(), s.data.end());
  }
  if (is64) {
    put_le<u64>(f, 24, entry); put_le<u64>(f, 32, eh);
    put_le<u16>(f, 52, u16(eh)); put_le<u16>(f, 54, u16(ph)); put_le<u16>(f, 56, u16(segs.size()));
  } else {
    put_le<u32>(f, 24, u32(entry)); put_le<u32>(f, 28, u32(eh));
    put_le<u16>(f, 40, u16(eh)); put_le<u16>(f, 42, u16(ph)); put_le<u16>(f, 44, u16(segs.size()));
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    const ElfSeg& s = segs[i];
    const u64 p = eh + i * ph, memsz = s.memsz ? s.memsz : s.data.size();
    put_le<u32>(f, p, s.type);
    if (is64) {
      put_le<u32>(f, p + 4, 7);
      put_le<u64>(f, p + 8, offsets[i]); put_le<u64>(f, p + 16, s.vaddr); put_le<u64>(f, p + 24, s.paddr);
      put_le<u64>(f, p + 32, s.data.size()); put_le<u64>(f, p + 40, memsz); put_le<u64>(f, p + 48, s.align);
    } else {
      put_le<u32>(f, p + 4, u32(offsets[i])); put_le<u32>(f, p + 8, u32(s.vaddr)); put_le<u32>(f, p + 12, u32(s.paddr));
      put_le<u32>(f, p + 16, u32(s.data.size())); put_le<u32>(f, p + 20, u32(memsz)); put_le<u32>(f, p + 24, 7);
      put_le<u32>(f, p + 28, u32(s.align));
    }
  }
  return f;
}

std::vector<u8> multiboot_header(u32 flags, u32 header_addr, u32 load_addr, u32 load_end, u32 bss_end, u32 entry) {
  std::vector<u8> h;
  put_le<u32>(h, 0, 0x1BADB002);
  put_le<u32>(h, 4, flags);
  put_le<u32>(h, 8, u32(0u - 0x1BADB002u - flags));
  if (flags & (1u << 16)) {
    put_le<u32>(h, 12, header_addr); put_le<u32>(h, 16, load_addr); put_le<u32>(h, 20, load_end);
    put_le<u32>(h, 24, bss_end); put_le<u32>(h, 28, entry);
  }
  return h;
}

}  // namespace rv::boot::test
