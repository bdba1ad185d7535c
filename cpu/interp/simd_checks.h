// The checks that come before executing x87, MMX and SSE instructions, in the SDM's order.
//   x87:  CR0.EM or CR0.TS -> #NM                                   (SDM Vol.3A §2.5, Table 12-8)
//   MMX:  CR0.EM -> #UD; CR0.TS -> #NM; a pending unmasked x87 exception -> #MF  (Table 12-1)
//   SSE:  CR0.EM -> #UD; CR4.OSFXSR = 0 -> #UD; CR0.TS -> #NM       (Table 13-? "SSE ... exceptions")
// CPUID feature absence is not checked here: CPUID advertises exactly what is implemented.
#pragma once
#include "cpu/cpu.h"

namespace rv::interp {

inline void x87_check(Cpu& c) {
  if (c.state().cr0 & (kCr0Em | kCr0Ts)) c.fault_no_error(kNM);
}

inline void sse_check(Cpu& c) {
  const CpuState& s = c.state();
  if ((s.cr0 & kCr0Em) || !(s.cr4 & kCr4Osfxsr)) c.fault_no_error(kUD);
  if (s.cr0 & kCr0Ts) c.fault_no_error(kNM);
}

// FXSAVE-layout storage of the FPU/SSE state in CpuState::fpu (SDM Vol.1 Table 10-2).
namespace fx {
constexpr unsigned kFcw = 0, kFsw = 2, kFtw = 4, kFop = 6, kFip = 8, kFdp = 16, kMxcsr = 24, kMxcsrMask = 28,
                   kSt0 = 32, kXmm0 = 160;
inline u8* xmm(Cpu& c, unsigned i) { return c.state().fpu.fxsave + kXmm0 + 16 * i; }
inline u8* st(Cpu& c, unsigned i) { return c.state().fpu.fxsave + kSt0 + 16 * i; }   // ST(i), ST order
inline u32 mxcsr(const Cpu& c) {
  u32 v;
  std::memcpy(&v, c.state().fpu.fxsave + kMxcsr, 4);
  return v;
}
inline void set_mxcsr(Cpu& c, u32 v) { std::memcpy(c.state().fpu.fxsave + kMxcsr, &v, 4); }
}  // namespace fx

}  // namespace rv::interp
