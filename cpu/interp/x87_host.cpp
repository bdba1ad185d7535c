// Runs one x87 computational instruction on the host's own x87 unit, so results, condition
// codes, exception flags, stack faults, tags, NaN propagation, precision/rounding control and
// transcendental results are bit for bit the hardware's.
//
// The guest's x87 state is loaded with FRSTOR (32-bit protected-mode image, SDM Vol.1
// Figure 8-10), the very instruction bytes run (register forms as they are; memory forms with
// ModRM rewritten to [rcx] pointing at a host copy of the operand), and FNSAVE reads the state
// back. The guest's own exception masks are in force, so an unmasked exception behaves as on
// hardware (no result, or the exponent-biased result of §8.5.3/§8.5.4, ES and B set); it is
// never delivered on the host because FNSAVE, the next x87 instruction, is a non-waiting one
// and reinitialises the host FPU. Exception flags already set in the guest FSW are cleared for
// the host run (else the instruction itself would fault on the host) and merged back after.
#include <array>
#include <utility>

#include "cpu/interp/x87_core.h"

namespace rv::interp::x87 {
namespace {

using Stub = void (*)(u8* area, u8* mem, u16& ax);

template <unsigned OP, unsigned MODRM>
void host_stub(u8* area, u8* mem, u16& ax) {
  asm volatile(
      "frstor (%[a])\n\t"
      "sahf\n\t"
      ".byte %c[op], %c[mr]\n\t"
      "lahf\n\t"
      "fnsave (%[a])\n\t"
      : "+a"(ax)
      : [a] "D"(area), "c"(mem), [op] "i"(OP), [mr] "i"(MODRM)
      : "memory", "cc");
}

template <size_t... I>
constexpr std::array<Stub, 512> make_reg_stubs(std::index_sequence<I...>) {
  return {&host_stub<0xD8 + (I >> 6), 0xC0 | (I & 63)>...};
}
template <size_t... I>
constexpr std::array<Stub, 64> make_mem_stubs(std::index_sequence<I...>) {
  return {&host_stub<0xD8 + (I >> 3), ((I & 7) << 3) | 1>...};   // mod 00, rm 001: [rcx]
}
constexpr std::array<Stub, 512> kRegStubs = make_reg_stubs(std::make_index_sequence<512>{});
constexpr std::array<Stub, 64> kMemStubs = make_mem_stubs(std::make_index_sequence<64>{});

}  // namespace

HostResult run_on_host(Cpu& c, unsigned opc, u8 modrm, u8* mem) {
  alignas(16) u8 area[108] = {};
  const u16 cw = fcw(c), sw = fsw(c);
  wr16(area + 0, cw);
  wr16(area + 4, sw & ~(kExcMask | kSF | kES | kB));
  wr16(area + 8, full_tag_word(c));
  for (unsigned i = 0; i < 8; i++) std::memcpy(area + 28 + 10 * i, fx::st(c, i), 10);

  // Carry the guest's CF/PF/ZF into the host for FCMOVcc (SAHF: SF ZF - AF - PF 1 CF).
  u16 ax = static_cast<u16>((2u | (c.cf() ? 1u : 0) | (c.pf() ? 4u : 0) | (c.zf() ? 0x40u : 0)) << 8);
  u16 host_cw;
  asm volatile("fnstcw %0" : "=m"(host_cw));
  const Stub s = (modrm >= 0xC0) ? kRegStubs[(opc & 7) * 64 + (modrm & 63)] : kMemStubs[(opc & 7) * 8 + ((modrm >> 3) & 7)];
  s(area, mem, ax);
  asm volatile("fldcw %0" : : "m"(host_cw));

  HostResult r;
  const u16 host_sw = rd16(area + 4);
  r.new_unmasked = host_sw & kExcMask & ~cw;
  set_fsw(c, with_summary(static_cast<u16>(host_sw | (sw & (kExcMask | kSF))), cw));
  set_ftw(c, abridged_from_full(rd16(area + 8)));
  for (unsigned i = 0; i < 8; i++) {
    u8* slot = fx::st(c, i);
    std::memcpy(slot, area + 28 + 10 * i, 10);
    std::memset(slot + 10, 0, 6);
  }
  r.eflags = static_cast<u8>(ax >> 8);
  return r;
}

}  // namespace rv::interp::x87
