// x87 state helpers: TOP rotation, tag words, pending-exception checks, MMX entry/exit.
#include "cpu/interp/x87_core.h"

#include "memory/log.h"

namespace rv::interp {
namespace x87 {

void set_top(Cpu& c, unsigned t) {
  t &= 7;
  const unsigned old = top(c);
  // Slot i holds physical register (old + i) & 7; afterwards it must hold (t + i) & 7.
  u8* const s0 = fx::st(c, 0);
  u8 tmp[16];
  if (t == ((old - 1) & 7)) {          // push: slots move up one, the old ST7 becomes ST0
    std::memcpy(tmp, s0 + 7 * 16, 16);
    std::memmove(s0 + 16, s0, 7 * 16);
    std::memcpy(s0, tmp, 16);
  } else if (t == ((old + 1) & 7)) {   // pop: slots move down one, the old ST0 becomes ST7
    std::memcpy(tmp, s0, 16);
    std::memmove(s0, s0 + 16, 7 * 16);
    std::memcpy(s0 + 7 * 16, tmp, 16);
  } else if (t != old) {
    u8 regs[8][16];
    std::memcpy(regs, s0, sizeof regs);
    for (unsigned i = 0; i < 8; i++) std::memcpy(fx::st(c, i), regs[(t + i - old) & 7], 16);
  }
  set_fsw(c, static_cast<u16>((fsw(c) & ~kTopMask) | (t << 11)));
}

// SDM Vol.1 §8.1.7 and the FXSAVE tag encoding rules (§10.5.1.1): for a non-empty register,
// exponent all ones -> special; exponent zero -> zero (fraction 0) or special (denormal,
// pseudo-denormal); otherwise J bit clear (unnormal) -> special, else valid.
u16 full_tag_word(const Cpu& c) {
  u16 tw = 0;
  const unsigned t = top(c);
  for (unsigned p = 0; p < 8; p++) {
    unsigned tag = 3;
    if (ftw(c) & (1u << p)) {
      const u8* r = img(c) + fx::kSt0 + 16 * ((p - t) & 7);
      const u64 m = rd64(r);
      const u16 e = rd16(r + 8) & 0x7FFF;
      if (e == 0x7FFF) tag = 2;
      else if (e == 0) tag = m == 0 ? 1 : 2;
      else tag = (m >> 63) ? 0 : 2;
    }
    tw |= static_cast<u16>(tag << (2 * p));
  }
  return tw;
}

}  // namespace x87

bool x87_pending_exception(const Cpu& c) {
  return (x87::fsw(c) & x87::kExcMask & ~x87::fcw(c)) != 0;
}

void x87_wait_check(Cpu& c) {
  if (!x87_pending_exception(c)) return;
  if (c.state().cr0 & kCr0Ne) c.fault_no_error(kMF);   // SDM Vol.1 §8.7, Vol.3A §6.15 (#MF)
  RV_UNIMPLEMENTED("x87 unmasked exception with CR0.NE=0 (FERR#/IRQ13): left pending");
}

void mmx_enter(Cpu& c) {
  x87::set_top(c, 0);
  x87::set_ftw(c, 0xFF);
}

void mmx_emms(Cpu& c) { x87::set_ftw(c, 0); }

}  // namespace rv::interp
