// FNINIT, and the environment/state images of FLDENV, FNSTENV, FRSTOR and FNSAVE: 14 or 28
// bytes of environment (16- or 32-bit operand size; real/V86 or protected layout, SDM Vol.1
// §8.1.10, Figures 8-9..8-12), plus the eight registers in ST order for FRSTOR/FNSAVE.
//
// FCS and FDS are stored as 0 (CPUID.(EAX=7,ECX=0):EBX[13]). The real-mode layouts hold
// linear pointers; as only offsets are kept, they are formed with the current CS and DS bases.
// The reserved upper halves of the 32-bit layouts read as 1s, as hardware writes them.
#include "cpu/interp/x87_core.h"

namespace rv::interp::x87 {

namespace {

// Piece size for moving an n-byte operand at linear address `la` whose alignment (`align`,
// a power of two <= 8) was checked up front: the largest power of two <= 8 dividing la, and
// at least `align`. Each piece then starts on a multiple of its size (offsets wrap at 64 KiB
// or 4 GiB, multiples of 8), so no piece can raise #AC on its own: the memory formats are
// checked as a whole (SDM Vol.3A §6.15, Table 6-7), never per piece.
unsigned piece_size(u64 la, unsigned align) {
  const unsigned low = la & 7 ? static_cast<unsigned>(la & (~la + 1) & 7) : 8;
  return low > align ? low : align;
}

}  // namespace

void read_bytes(Cpu& c, const DecodedInsn& d, u64 off, u8* buf, unsigned n, unsigned align) {
  const u64 la = c.seg_linear(d.seg, off, n, Access::Read);
  c.check_alignment(la, align);
  const unsigned piece = piece_size(la, align);
  for (unsigned k = 0; k < n; k += piece) {
    const unsigned part = n - k < piece ? n - k : piece;
    const u64 v = c.read_mem(d.seg, (off + k) & kSizeMask[d.asize], part);
    std::memcpy(buf + k, &v, part);
  }
}

void probe_dest(Cpu& c, const DecodedInsn& d, u64 off, unsigned n, unsigned align) {
  const u64 la = c.seg_linear(d.seg, off, n, Access::Write);
  c.check_alignment(la, align);
  const bool user = c.cpl() == 3;
  c.translate(la, Access::Write, user);
  if ((la & 0xFFF) + n > kPageSize) {
    // A fault on the second page reports its first byte in CR2, as hardware does.
    const u64 la2 = (la | 0xFFF) + 1;
    c.translate(c.long64() ? la2 : la2 & 0xFFFFFFFF, Access::Write, user);
  }
}

void write_bytes(Cpu& c, const DecodedInsn& d, u64 off, const u8* buf, unsigned n, unsigned align) {
  const u64 la = c.seg_linear(d.seg, off, n, Access::Write);
  const unsigned piece = piece_size(la, align);
  for (unsigned k = 0; k < n; k += piece) {
    const unsigned part = n - k < piece ? n - k : piece;
    u64 v = 0;
    std::memcpy(&v, buf + k, part);
    c.write_mem(d.seg, (off + k) & kSizeMask[d.asize], part, v);
  }
}

void init_state(Cpu& c) {
  set_top(c, 0);
  u8* p = img(c);
  set_fcw(c, kFcwInit);
  set_fsw(c, 0);
  set_ftw(c, 0);
  wr16(p + fx::kFop, 0);
  wr64(p + fx::kFip, 0);
  wr64(p + fx::kFdp, 0);
}

namespace {

inline u32 rd32(const u8* p) { u32 v; std::memcpy(&v, p, 4); return v; }
inline void wr32(u8* p, u32 v) { std::memcpy(p, &v, 4); }

bool real_layout(const Cpu& c) { return !c.protected_mode() || c.v86(); }

}  // namespace

void store_env(Cpu& c, const DecodedInsn& d, bool with_regs) {
  const bool b16 = d.osize == 2, real = real_layout(c);
  const unsigned env = b16 ? 14 : 28, n = env + (with_regs ? 80 : 0);
  const unsigned align = b16 ? 2 : 4;   // SDM Vol.3A Table 6-7, whatever the image size
  const u64 ea = c.ea(d);
  probe_dest(c, d, ea, n, align);

  u8 b[108] = {};
  const u8* p = img(c);
  const u16 fop = rd16(p + fx::kFop) & 0x7FF;
  u64 fip = rd64(p + fx::kFip), fdp = rd64(p + fx::kFdp);
  if (real) {
    fip = (fip + c.state().seg[CS].base) & 0xFFFFFFFF;
    fdp = (fdp + c.state().seg[DS].base) & 0xFFFFFFFF;
  }
  if (b16) {
    wr16(b + 0, fcw(c));
    wr16(b + 2, fsw(c));
    wr16(b + 4, full_tag_word(c));
    wr16(b + 6, static_cast<u16>(fip));
    wr16(b + 10, static_cast<u16>(fdp));
    if (real) {   // Figure 8-12
      wr16(b + 8, static_cast<u16>(((fip >> 16) & 0xF) << 12 | fop));
      wr16(b + 12, static_cast<u16>(((fdp >> 16) & 0xF) << 12));
    }   // protected (Figure 8-11): FCS at 8 and FDS at 12 are 0
  } else {
    wr32(b + 0, 0xFFFF0000u | fcw(c));
    wr32(b + 4, 0xFFFF0000u | fsw(c));
    wr32(b + 8, 0xFFFF0000u | full_tag_word(c));
    if (real) {   // Figure 8-10
      wr32(b + 12, 0xFFFF0000u | (fip & 0xFFFF));
      wr32(b + 16, static_cast<u32>(((fip >> 16) & 0xFFFF) << 12 | fop));
      wr32(b + 20, 0xFFFF0000u | (fdp & 0xFFFF));
      wr32(b + 24, static_cast<u32>(((fdp >> 16) & 0xFFFF) << 12));
    } else {      // Figure 8-9
      wr32(b + 12, static_cast<u32>(fip));
      wr32(b + 16, static_cast<u32>(fop) << 16);
      wr32(b + 20, static_cast<u32>(fdp));
      wr32(b + 24, 0xFFFF0000u);
    }
  }
  if (with_regs)
    for (unsigned i = 0; i < 8; i++) std::memcpy(b + env + 10 * i, fx::st(c, i), 10);
  write_bytes(c, d, ea, b, n, align);

  if (with_regs) {
    init_state(c);   // FNSAVE reinitialises the FPU (SDM Vol.2A FSAVE)
  } else {
    const u16 cw = fcw(c) | kExcMask;   // FNSTENV masks all exceptions (SDM Vol.2A FSTENV)
    set_fcw(c, cw);
    set_fsw(c, with_summary(fsw(c), cw));
  }
}

void load_env(Cpu& c, const DecodedInsn& d, bool with_regs) {
  const bool b16 = d.osize == 2, real = real_layout(c);
  const unsigned env = b16 ? 14 : 28, n = env + (with_regs ? 80 : 0);
  const u64 ea = c.ea(d);
  u8 b[108] = {};
  read_bytes(c, d, ea, b, n, b16 ? 2 : 4);   // SDM Vol.3A Table 6-7

  u16 cw, sw, tw, fop = 0;
  u64 fip, fdp;
  if (b16) {
    cw = rd16(b + 0);
    sw = rd16(b + 2);
    tw = rd16(b + 4);
    fip = rd16(b + 6);
    fdp = rd16(b + 10);
    if (real) {
      fip |= static_cast<u64>(rd16(b + 8) >> 12) << 16;
      fop = rd16(b + 8) & 0x7FF;
      fdp |= static_cast<u64>(rd16(b + 12) >> 12) << 16;
    }
  } else {
    cw = rd16(b + 0);
    sw = rd16(b + 4);
    tw = rd16(b + 8);
    if (real) {
      fip = (rd32(b + 12) & 0xFFFF) | static_cast<u64>((rd32(b + 16) >> 12) & 0xFFFF) << 16;
      fop = rd32(b + 16) & 0x7FF;
      fdp = (rd32(b + 20) & 0xFFFF) | static_cast<u64>((rd32(b + 24) >> 12) & 0xFFFF) << 16;
    } else {
      fip = rd32(b + 12);
      fop = (rd32(b + 16) >> 16) & 0x7FF;
      fdp = rd32(b + 20);
    }
  }
  if (real) {
    fip = (fip - c.state().seg[CS].base) & 0xFFFFFFFF;
    fdp = (fdp - c.state().seg[DS].base) & 0xFFFFFFFF;
  }

  cw = static_cast<u16>((cw & 0x1F3F) | 0x40);
  if (with_regs) {
    set_fsw(c, sw);   // the registers below are already in the new ST order
    for (unsigned i = 0; i < 8; i++) {
      std::memcpy(fx::st(c, i), b + env + 10 * i, 10);
      std::memset(fx::st(c, i) + 10, 0, 6);
    }
  } else {
    set_top(c, (sw >> 11) & 7);   // physical registers keep their contents
  }
  set_fcw(c, cw);
  set_fsw(c, with_summary(sw, cw));
  set_ftw(c, abridged_from_full(tw));
  u8* p = img(c);
  wr16(p + fx::kFop, fop);
  wr64(p + fx::kFip, fip);
  wr64(p + fx::kFdp, fdp);
}

}  // namespace rv::interp::x87
